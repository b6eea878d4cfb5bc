"""``trackline sweep`` (create or manage a sweep) and ``trackline agent`` (run its trials)."""

from __future__ import annotations

import os
from typing import Any

import click

from trackline.cli.common import PathError, echo_json, json_option, store_option

_STATE_FLAGS = {"stop": "FINISHED", "cancel": "CANCELED", "pause": "PAUSED", "resume": "RUNNING"}


def _use_store(store: str | None) -> None:
    if store:
        os.environ["TRACKLINE_STORE"] = store


def _load(path: str) -> dict[str, Any]:
    import yaml

    try:
        with open(path) as f:
            config = yaml.safe_load(f)
    except OSError as exc:
        raise click.BadParameter(f"cannot read {path}: {exc.strerror}", param_hint="CONFIG")
    except yaml.YAMLError as exc:
        raise click.BadParameter(f"{path} is not valid YAML: {exc}", param_hint="CONFIG")
    if not isinstance(config, dict):
        raise click.BadParameter(f"{path}: a sweep config is a mapping (method, metric, parameters, ...)",
                                 param_hint="CONFIG")
    return config


@click.command("sweep")
@click.argument("config_or_id", metavar="CONFIG.yaml|SWEEP_ID")
@click.option("--project", "-p", help="Project of a new sweep (default: the config's, then settings).")
@click.option("--entity", "-e", help="Entity of a new sweep (default: the config's, then settings).")
@click.option("--stop", "action", flag_value="stop", help="SWEEP_ID: start no more runs (state FINISHED).")
@click.option("--cancel", "action", flag_value="cancel", help="SWEEP_ID: start no more runs (state CANCELED).")
@click.option("--pause", "action", flag_value="pause", help="SWEEP_ID: agents wait for --resume (state PAUSED).")
@click.option("--resume", "action", flag_value="resume", help="SWEEP_ID: agents may start runs again.")
@json_option
@store_option
def sweep_cmd(config_or_id: str, project: str | None, entity: str | None, action: str | None, as_json: bool,
              store: str | None) -> None:
    """Create a sweep from a W&B sweep config (YAML), or change a sweep's state.

    \b
    trackline sweep sweep.yaml -p mnist       # prints the sweep id
    trackline agent mnist/<id> --count 10     # runs trials
    trackline sweep --pause mnist/<id>
    """
    from trackline.errors import UsageError
    from trackline.sweeps.agent import _open, _settings, find_sweep
    from trackline.sweeps.agent import sweep as create
    from trackline.sweeps.config import SweepConfigError

    _use_store(store)
    if action is None:
        config = _load(config_or_id)
        try:
            sweep_id = create(config, entity=entity, project=project)
        except SweepConfigError as exc:
            raise click.BadParameter(str(exc), param_hint="CONFIG")
        entity, project = os.environ["TRACKLINE_ENTITY"], os.environ["TRACKLINE_PROJECT"]
        path = f"{entity}/{project}/{sweep_id}"
        if as_json:
            echo_json({"id": sweep_id, "path": path, "state": "RUNNING"})
        else:
            click.echo(f"Run sweep agent with: trackline agent {path}")
        return
    from trackline.storage.sql.sweeps import SweepDB

    settings = _settings(entity, project)
    db_store = _open(settings)
    try:
        db = SweepDB(db_store)
        try:
            row = find_sweep(db, config_or_id, entity, project)
        except UsageError as exc:
            raise PathError(str(exc))
        state = _STATE_FLAGS[action]
        db.set_state(row["id"], state)
    finally:
        db_store.close()
    path = f"{row['entity']}/{row['project']}/{row['sweep_id']}"
    if as_json:
        echo_json({"id": row["sweep_id"], "path": path, "state": state})
    else:
        click.echo(f"Sweep {path}: {state}")


@click.command("agent")
@click.argument("sweep_id", metavar="SWEEP_ID")
@click.option("--project", "-p", help="Project of the sweep, when SWEEP_ID is a bare id.")
@click.option("--entity", "-e", help="Entity of the sweep, when SWEEP_ID is a bare id.")
@click.option("--count", type=click.IntRange(min=1), help="Run at most this many trials.")
@store_option
def agent_cmd(sweep_id: str, project: str | None, entity: str | None, count: int | None, store: str | None) -> None:
    """Run a sweep's trials: the config's `program` (or `command`) with each trial's parameters,
    until --count trials ran or the sweep has nothing more to run."""
    from trackline.errors import UsageError
    from trackline.sweeps.agent import agent

    _use_store(store)
    try:
        agent(sweep_id, entity=entity, project=project, count=count)
    except UsageError as exc:
        raise PathError(str(exc))

"""``trackline rm`` (delete runs) and ``trackline runs mv`` (move a run to another project)."""

from __future__ import annotations

import click

from trackline.cli.common import (
    PathError,
    echo_json,
    json_option,
    open_api,
    resolve_run,
    store_option,
)


@click.command("rm")
@click.argument("runs", nargs=-1, required=True, metavar="RUN...")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force", is_flag=True, help="Delete runs that are still running too.")
@json_option
@store_option
def rm_cmd(runs: tuple[str, ...], yes: bool, force: bool, as_json: bool, store: str | None) -> None:
    """Delete runs from the store: their rows, history and files.

    Every RUN is checked before anything is deleted: one wrong path deletes nothing.
    The record log in each run's folder stays, so `trackline sync` can bring a run back.
    """
    api = open_api(store)
    found = []
    seen: set[str] = set()
    for path in runs:
        run = resolve_run(api, path)
        key = "/".join(run.path)
        if key not in seen:
            seen.add(key)
            found.append(run)
    live = ["/".join(r.path) for r in found if r.state in ("running", "preempting")]
    if live and not force:
        raise PathError(f"still running: {', '.join(live)}; finish them first, or pass --force")
    if not yes:
        for run in found:
            click.echo(f"  {'/'.join(run.path)}  {run.name or ''}  ({run.state}, {run.lastHistoryStep + 1} steps)", err=True)
        what = "1 run with its" if len(found) == 1 else f"{len(found)} runs with their"
        click.confirm(f"Delete {what} history and files?", abort=True, err=True)
    for run in found:
        run.delete(force=force)
    paths = ["/".join(r.path) for r in found]
    if as_json:
        echo_json({"deleted": paths})
    else:
        for p in paths:
            click.echo(f"Deleted {p}")


@click.group("runs")
def runs_group() -> None:
    """Manage runs (move between projects)."""


@runs_group.command("mv")
@click.argument("run_path", metavar="RUN")
@click.argument("target", metavar="[ENTITY/]PROJECT")
@json_option
@store_option
def mv_cmd(run_path: str, target: str, as_json: bool, store: str | None) -> None:
    """Move a finished run, with its history and files' index, to another project.

    The project is created when it does not exist.
    """
    api = open_api(store)
    run = resolve_run(api, run_path)
    parts = [p for p in target.strip("/").split("/") if p]
    if not 1 <= len(parts) <= 2:
        raise PathError(f"target {target!r} is not a project: use PROJECT or ENTITY/PROJECT")
    entity = parts[0] if len(parts) == 2 else run.entity
    project = parts[-1]
    before = "/".join(run.path)
    try:
        run.move(project, entity)
    except ValueError as exc:
        raise PathError(str(exc))
    after = "/".join(run.path)
    if as_json:
        echo_json({"from": before, "to": after})
    else:
        click.echo(f"Moved {before} to {after}")

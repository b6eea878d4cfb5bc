"""``trackline.sweep()`` and ``trackline.agent()``: W&B's sweep API on the local store.

``sweep(config)`` checks the config against W&B's schema, stores it and returns its id.
``agent(sweep_id, function, count)`` runs trials until ``count`` ran or the search has
nothing more to propose. Each trial is claimed in the store first (``storage/sql/sweeps.py``),
so agents in other threads or processes on the same store share the sweep. Then, as W&B's
agent does:

* With ``function``: it runs in this process, in a thread, with ``TRACKLINE_SWEEP_ID``,
  ``TRACKLINE_RUN_ID`` and ``TRACKLINE_SWEEP_PARAM_PATH`` set. The parameter file,
  ``trackline/sweep-<id>/config-<run>.yaml`` (``{key: {value: v}}``), is what ``init()``
  merges into ``run.config``, locked against later edits. ``init()``'s own project, entity
  and id are ignored, with a warning. A run left open is finished when the function returns,
  as crashed if it raised.
* Without ``function``: the config's ``command`` (default ``${env} ${interpreter} ${program}
  ${args}``) runs as a subprocess with the same variables.

It stops after 5 failed trials when none has succeeded (W&B's
``WANDB_AGENT_MAX_INITIAL_FAILURES``). A trial's result is its run's summary value of the
config's ``metric.name``; bayes uses those of the trials before it.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from trackline.errors import UsageError
from trackline.sweeps.config import SweepConfigError

MAX_INITIAL_FAILURES = 5
_ENV_KEYS = ("TRACKLINE_SWEEP_ID", "TRACKLINE_RUN_ID", "TRACKLINE_SWEEP_PARAM_PATH", "TRACKLINE_PROJECT",
             "TRACKLINE_ENTITY")


def _settings(entity: str | None = None, project: str | None = None) -> Any:
    from trackline.settings import resolve

    return resolve(None, {"entity": entity, "project": project})


def _open(settings: Any) -> Any:
    from trackline.storage import open_store

    return open_store(settings.store_url, settings.blob_url)


def _default_entity() -> str:
    from trackline.sdk.init import _default_entity as default

    return default()


def _new_sweep_id() -> str:
    from trackline.sdk.naming import generate_id

    return generate_id(8)


def _plain(value: Any) -> Any:
    """numpy scalars and arrays in a config (``np.linspace(...)`` as ``values``) as plain JSON."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise SweepConfigError(
        f"sweep config: {type(value).__name__} value {value!r} cannot be stored; "
        "use numbers, strings, booleans, lists and dicts")


def sweep(sweep: Mapping[str, Any] | Callable[[], Mapping[str, Any]], entity: str | None = None,
          project: str | None = None, prior_runs: list[str] | None = None) -> str:
    """Create a sweep from a W&B sweep config (a dict, or a function returning one); its id.

    Raises ``SweepConfigError`` (a ``ValueError``) naming what the config gets wrong.
    ``prior_runs`` is accepted for W&B compatibility and not used.
    """
    from trackline.sdk.printer import termlog
    from trackline.storage.sql.sweeps import SweepDB
    from trackline.sweeps.config import validate

    config = sweep() if callable(sweep) else sweep
    if not isinstance(config, Mapping):
        raise TypeError(f"sweep: expected a dict (or a function returning one), got {type(config).__name__}")
    config = json.loads(json.dumps(dict(config), default=_plain))  # what is stored is what was validated
    validate(config)
    settings = _settings(entity or config.get("entity"), project or config.get("project"))
    entity = settings.entity or _default_entity()
    project = settings.project or "uncategorized"
    store = _open(settings)
    try:
        sweep_id = _new_sweep_id()
        SweepDB(store).create(entity, project, sweep_id, config, name=config.get("name"))
    finally:
        store.close()
    # As W&B: the agent and the runs of this process default to the sweep's project.
    os.environ["TRACKLINE_ENTITY"], os.environ["TRACKLINE_PROJECT"] = entity, project
    termlog(f"Create sweep with ID: {sweep_id}")
    termlog(f"Sweep URL: {settings.app_url}/{entity}/{project}/sweeps/{sweep_id}")
    return sweep_id


def find_sweep(db: Any, sweep_id: str, entity: str | None = None, project: str | None = None) -> dict[str, Any]:
    """A sweep by ``entity/project/id``, ``project/id`` or a bare id (searched everywhere)."""
    if not isinstance(sweep_id, str) or not sweep_id.strip("/ "):
        raise UsageError(f"sweep id must be ID, PROJECT/ID or ENTITY/PROJECT/ID, got {sweep_id!r}")
    parts = [p for p in sweep_id.strip("/").split("/") if p]
    if parts[-2:-1] == ["sweeps"]:
        parts = parts[:-2] + parts[-1:]
    if not parts or len(parts) > 3:
        raise UsageError(f"sweep id {sweep_id!r}: give ID, PROJECT/ID or ENTITY/PROJECT/ID")
    sid = parts[-1]
    project = parts[-2] if len(parts) >= 2 else project
    entity = parts[-3] if len(parts) == 3 else entity
    found = [s for s in db.find(sid) if (project is None or s["project"] == project)
             and (entity is None or s["entity"] == entity)]
    if not found:
        where = f" in {entity + '/' if entity else ''}{project}" if project else ""
        raise UsageError(f"no sweep {sid!r}{where}; create one with trackline.sweep(config) "
                         "or `trackline sweep CONFIG.yaml`")
    if len(found) > 1:
        places = ", ".join(f"{s['entity']}/{s['project']}/{sid}" for s in found)
        raise UsageError(f"sweep id {sid!r} is in several projects ({places}): give ENTITY/PROJECT/ID")
    return found[0]


def _lookup(summary: Any, name: str) -> Any:
    if not isinstance(summary, Mapping):
        return None
    if name in summary:
        return summary[name]
    node: Any = summary
    for part in name.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def metric_value(summary: Any, name: str, goal: str = "minimize") -> float | None:
    """The trial's result: its summary value of ``name`` (a ``define_metric`` summary dict
    gives its min or max by the goal, else its last), as a float; None if missing or not a number."""
    value = _lookup(summary, name)
    if isinstance(value, Mapping):
        value = value.get("min" if goal == "minimize" else "max", value.get("last"))
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _trial_state(state: str | None) -> str:
    return state or "pending"


def _proposer(config: dict[str, Any], rng: random.Random) -> Callable[..., tuple[str, dict[str, Any]] | None]:
    from trackline.sdk.naming import generate_id
    from trackline.sweeps.search import Trial, next_params

    metric = config.get("metric") or {}
    name, goal = metric.get("name"), metric.get("goal", "minimize")

    def propose(_sweep: dict[str, Any], rows: list[dict[str, Any]]) -> tuple[str, dict[str, Any]] | None:
        trials = [Trial(params=r["params"], metric=metric_value(r["summary"], name, goal) if name else None,
                        state=_trial_state(r["state"])) for r in rows]
        params = next_params(config, trials, rng)
        return None if params is None else (generate_id(8), params)

    return propose


def _param_file(root: str, sweep_id: str, run_id: str, params: dict[str, Any]) -> str:
    import yaml

    folder = os.path.join(root, "trackline", f"sweep-{sweep_id}")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"config-{run_id}.yaml")
    body = {"wandb_version": 1, **{k: {"value": v} for k, v in params.items()}}
    with open(path, "w") as f:
        yaml.safe_dump(body, f, sort_keys=False)
    return path


def _flat(params: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in params.items():
        if isinstance(v, Mapping):
            out += _flat(v, f"{prefix}{k}.")
        else:
            out.append((f"{prefix}{k}", v))
    return out


def _arg(v: Any) -> str:
    return json.dumps(v) if isinstance(v, (list, dict)) else str(v)


def command(config: Mapping[str, Any], params: Mapping[str, Any], param_path: str) -> list[str]:
    """The trial's command line from the config's ``command`` and W&B's macros."""
    tokens = config.get("command") or ["${env}", "${interpreter}", "${program}", "${args}"]
    program = config.get("program")
    flat = _flat(params)
    macros: dict[str, list[str]] = {
        "${env}": [] if os.name == "nt" else ["/usr/bin/env"],
        "${interpreter}": [sys.executable],
        "${program}": [str(program)] if program else [],
        "${args}": [f"--{k}={_arg(v)}" for k, v in flat],
        "${args_no_equals}": [x for k, v in flat for x in (f"--{k}", _arg(v))],
        "${args_no_hyphens}": [f"{k}={_arg(v)}" for k, v in flat],
        "${args_no_boolean_flags}": [f"--{k}" if v is True else f"--{k}={_arg(v)}" for k, v in flat if v is not False],
        "${args_json}": [json.dumps(dict(params))],
        "${args_json_file}": [param_path],
        "${args_append_hydra}": [f"+{k}={_arg(v)}" for k, v in flat],
        "${args_override_hydra}": [f"++{k}={_arg(v)}" for k, v in flat],
    }
    if "${program}" in tokens and not program:
        raise UsageError("the sweep config has no `program` to run: give `program: train.py` "
                         "(or a `command`), or call trackline.agent(sweep_id, function=train)")
    argv: list[str] = []
    for token in tokens:
        argv += macros.get(str(token), [str(token)])
    return argv


class _Env:
    """Set the trial's variables for the duration of a trial, then restore what was there."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.saved: dict[str, str | None] = {}

    def __enter__(self) -> None:
        for k, v in self.values.items():
            self.saved[k] = os.environ.get(k)
            os.environ[k] = v

    def __exit__(self, *exc: object) -> None:
        for k, old in self.saved.items():
            if old is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = old


Check = Callable[[], "int | None"]


def _stopper(store: Any, db: Any, sweep: dict[str, Any], config: dict[str, Any], run_id: str) -> Check | None:
    """With ``early_terminate``: a function telling at which bracket the trial ``run_id`` is
    stopped (``early_stop.stopped_at``), from the metric series in the store; else None."""
    from trackline.api.reader import StoreReader
    from trackline.sweeps.early_stop import stopped_at

    metric = config.get("metric") or {}
    early = config.get("early_terminate")
    if not early or not metric.get("name"):
        return None
    name, goal = metric["name"], metric.get("goal", "minimize")
    reader = StoreReader(store)
    ended: dict[str, list[float]] = {}  # series of runs that will not change any more

    def series(rows: list[dict[str, Any]]) -> list[list[float]]:
        out = []
        for cols in reader.columns_many(rows, [name]):
            col = cols.get(name)
            values = [] if col is None else list(col.values)
            out.append([float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)])
        return out

    def check() -> int | None:
        rows = []
        for trial in db.trials(sweep):
            if trial["run_id"] not in ended:
                row = reader.get_run(sweep["entity"], sweep["project"], trial["run_id"])
                if row is not None:
                    rows.append(row)
        current: list[float] = []
        others = list(ended.values())
        for row, values in zip(rows, series(rows), strict=True):
            if row["run_id"] == run_id:
                current = values
                continue
            others.append(values)
            if row["state"] not in ("running", "pending"):
                ended[row["run_id"]] = values
        return stopped_at(early, goal, current, others)

    return check


def _raise_in(thread: threading.Thread, exc: type[BaseException]) -> None:
    """Raise ``exc`` in ``thread`` at its next Python instruction (W&B's agent stops an
    in-process trial the same way)."""
    import ctypes

    if thread.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(exc))


def _run_function(function: Callable[[], Any], check: Check | None = None) -> bool:
    """Run one trial's function in a thread (as W&B's agent does), stopping it early when
    ``check`` says so; True unless it raised."""
    from trackline.sdk import lifecycle
    from trackline.sdk.printer import termerror, termlog
    from trackline.sweeps import early_stop

    failed: list[BaseException] = []

    def target() -> None:
        try:
            function()
        except early_stop.EarlyStop:
            pass  # stopped by hyperband: the run is finished below, as a normal end
        except BaseException as exc:  # reported below; the agent goes on with the next trial
            failed.append(exc)
            termerror("".join(traceback.format_exception(exc)).rstrip())

    thread = threading.Thread(target=target, name="trackline-sweep-trial")
    thread.start()
    stopped = None
    while thread.is_alive():
        thread.join(early_stop.POLL_S if check is not None and stopped is None else None)
        if check is not None and stopped is None and thread.is_alive():
            stopped = check()
            if stopped is not None:
                termlog(f"Hyperband stops this run at iteration {stopped}.")
                _raise_in(thread, early_stop.EarlyStop)
    lifecycle.finish_all(exit_code=1 if failed else None)  # a run the function left open
    return not failed


def _run_command(argv: list[str], check: Check | None, term_timeout: float | None) -> bool:
    """Run one trial's program, stopping it early (SIGTERM, then SIGKILL after ``term_timeout``
    seconds) when ``check`` says so; True if it exited 0 or was stopped early."""
    from trackline.sdk.printer import termlog
    from trackline.sweeps import early_stop

    proc = subprocess.Popen(argv, env=dict(os.environ))
    stopped = None
    while True:
        try:
            code = proc.wait(early_stop.POLL_S if check is not None and stopped is None else None)
            break
        except subprocess.TimeoutExpired:
            pass
        if check is not None and stopped is None:
            stopped = check()
            if stopped is not None:
                termlog(f"Hyperband stops this run at iteration {stopped}.")
                proc.terminate()
                try:
                    proc.wait(term_timeout if term_timeout is not None else 10)
                except subprocess.TimeoutExpired:
                    proc.kill()
    return code == 0 or stopped is not None


def _finish_if_complete(db: Any, sweep_pk: int, config: dict[str, Any]) -> None:
    """Mark a RUNNING sweep FINISHED once its grid (or ``run_cap``) is used up, though the
    agent stopped at ``count`` before asking for one more trial."""
    from trackline.sweeps.report import expected_run_count

    expected = expected_run_count(config)
    if expected is None:
        return
    for row in db.find_by_pk(sweep_pk):
        if row["state"] == "RUNNING" and int(row["run_count"]) >= expected:
            db.set_state(sweep_pk, "FINISHED")


def agent(sweep_id: str, function: Callable[[], Any] | None = None, entity: str | None = None,
          project: str | None = None, count: int | None = None, forward_signals: bool = False,
          term_timeout: float | None = None) -> None:
    """Run trials of a sweep: ``count`` of them, or until the search has nothing more to propose."""
    from trackline.sdk.printer import termlog, termwarn
    from trackline.storage.sql.sweeps import SweepDB
    from trackline.sweeps.config import validate

    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ValueError(f"agent: count must be a positive integer, got {count!r}")
    if function is not None and not callable(function):
        raise TypeError(f"agent: function must be callable, got {type(function).__name__}")
    settings = _settings(entity, project)
    store = _open(settings)
    try:
        db = SweepDB(store)
        row = find_sweep(db, sweep_id, entity, project if project else None)
        config = validate(row["config"])
        propose = _proposer(config, random.Random())
        done = succeeded = failed = 0
        termlog(f"Starting sweep agent: sweep {row['entity']}/{row['project']}/{row['sweep_id']}")
        while count is None or done < count:
            claimed = db.claim(row["id"], propose)
            if claimed is None:
                termlog("Sweep has nothing more to run: the agent stops.")
                break
            run_id, params = claimed
            termlog(f"Agent starting run {run_id} with config: "
                    + ", ".join(f"{k}: {v}" for k, v in _flat(params)))
            path = _param_file(os.getcwd(), row["sweep_id"], run_id, params)
            env = {"TRACKLINE_SWEEP_ID": row["sweep_id"], "TRACKLINE_RUN_ID": run_id,
                   "TRACKLINE_SWEEP_PARAM_PATH": path, "TRACKLINE_PROJECT": row["project"],
                   "TRACKLINE_ENTITY": row["entity"]}
            check = _stopper(store, db, row, config, run_id)
            with _Env(env):
                if function is not None:
                    ok = _run_function(function, check)
                else:
                    ok = _run_command(command(config, params, path), check, term_timeout)
            done += 1
            succeeded += ok
            failed += not ok
            if not succeeded and failed >= MAX_INITIAL_FAILURES:
                termwarn(f"Detected {failed} failed runs in the first {done}: the agent stops.")
                break
        _finish_if_complete(db, row["id"], config)
    finally:
        store.close()

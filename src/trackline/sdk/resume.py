"""Resuming, rewinding and forking runs (``resume=``, ``resume_from=``, ``fork_from=``).

* ``resume="allow"``: continue the run if it is in the store, else start it.
* ``resume="must"`` / ``"never"``: the run must (must not) exist, else init raises.
* ``resume="auto"``: the run id comes from ``trackline/trackline-resume.json``, written at
  init and deleted when the run finishes cleanly, so only a crashed or failed run on
  this machine is picked up again.
* ``resume_from="<id>?_step=N"``: same run, history after step N hidden (kept, not
  deleted), the next step is N + 1.
* ``fork_from="<id>?_step=N"``: a new run starting at step N + 1, linked to its parent.

On resume the stored config is merged under the new one, the summary is restored, the
step continues at the last ``_step`` + 1 and the runtime where it stopped; tags passed to
init replace the stored ones (none passed keeps them).

For preemptible clusters, :func:`requeue_run_id` (or the ``run_id_file`` setting) gives
a requeued job the same run id, so ``resume="allow"`` continues the same run.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from typing import Any

from trackline.errors import UsageError
from trackline.sdk import naming
from trackline.settings import Settings, validate_run_id


@dataclass
class ResumeState:
    resumed: bool = False
    starting_step: int = 0
    runtime_offset: float = 0.0
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    metric_defs: list[dict[str, Any]] = field(default_factory=list)
    tags: list[str] | None = None
    name: str | None = None
    notes: str | None = None
    group: str | None = None
    job_type: str | None = None
    rewind_step: int | None = None
    forked_from: str | None = None
    fork_step: int | None = None


def parse_moment(value: str, arg: str) -> tuple[str, int]:
    """``"<run_id>?_step=<n>"`` (W&B's RunMoment); only ``_step`` is supported."""
    if "?" not in value:
        raise ValueError(f"{arg}={value!r}: expected '<run_id>?_step=<n>'")
    run, query = value.split("?", 1)
    if "&" in query or "=" not in query:
        raise ValueError(f"{arg}={value!r}: expected exactly one query parameter, _step=<n>")
    metric, raw = query.split("=", 1)
    if metric != "_step":
        raise ValueError(f"{arg}={value!r}: only the metric _step is supported")
    try:
        number = float(raw)
    except ValueError:
        raise ValueError(f"{arg}={value!r}: the step {raw!r} is not a number") from None
    if not number.is_integer() or number < 0:
        raise ValueError(f"{arg}={value!r}: the step must be a non-negative whole number")
    return run, int(number)


def requeue_run_id(env_var: str | None = "SLURM_JOB_ID", path: str | os.PathLike[str] | None = None) -> str:
    """A run id that survives a requeue: read from (or first written to) ``path``, or
    derived from the job id in ``env_var``; otherwise a fresh id.

    Use it as ``trackline.init(id=trackline.requeue_run_id(path="ckpt/run_id"), resume="allow")``.
    """
    if path is not None:
        return read_or_create_id_file(os.fspath(path))
    if env_var and os.environ.get(env_var):
        raw = os.environ[env_var]
        cleaned = re.sub(r"[^A-Za-z0-9_.-]", "-", raw).strip("-") or naming.generate_id()
        return validate_run_id(cleaned[:128])
    return naming.generate_id()


def read_or_create_id_file(path: str) -> str:
    try:
        with open(path) as f:
            existing = f.read().strip()
        if existing:
            return validate_run_id(existing)
    except FileNotFoundError:
        pass
    new_id = naming.generate_id()
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".run_id.")
    with os.fdopen(fd, "w") as f:
        f.write(new_id + "\n")
    try:
        os.link(tmp, path)  # atomic create-if-absent: a concurrent writer's id wins
    except FileExistsError:
        pass
    finally:
        os.remove(tmp)
    with open(path) as f:
        return validate_run_id(f.read().strip())


def _store_run(s: Settings, run_id: str) -> tuple[Any, dict[str, Any] | None]:
    from trackline.storage import open_store
    from trackline.storage.base import RunKey

    store = open_store(s.store_url)
    return store, store.get_run(RunKey(s.entity or "", s.project or "", run_id))


def _last_values(store: Any, run_pk: int, max_step: int) -> dict[str, Any]:
    """Summary as of ``max_step``: the last value of every key at or before it."""
    from trackline.runstate.flatten import unflatten

    keys = store.run_keys(run_pk)
    flat: dict[str, Any] = {}
    for name, (steps, values) in store.numeric_history(run_pk, keys, max_step=max_step).items():
        if len(steps):
            flat[name] = values[-1].item()
    for name, pairs in store.value_history(run_pk, keys, max_step=max_step).items():
        if pairs:
            flat[name] = pairs[-1][1]
    flat["_step"] = max_step
    return unflatten(flat)


def prepare(s: Settings, tags_given: bool) -> ResumeState:
    """Decide how this run continues an earlier one; raises W&B's errors for must/never."""
    state = ResumeState()
    if s.fork_from:
        parent_id, step = parse_moment(s.fork_from, "fork_from")
        store, parent = _store_run(s, parent_id)
        if parent is None:
            raise UsageError(f"fork_from: run {parent_id!r} is not in the store ({s.entity}/{s.project})")
        state.starting_step = step + 1
        state.config = {k: v for k, v in (parent.get("config") or {}).items()}
        state.summary = _last_values(store, parent["pk"], step)
        state.metric_defs = store.metric_defs(parent["pk"])
        state.forked_from, state.fork_step = parent_id, step
        return state
    if s.resume_from:
        run_id, step = parse_moment(s.resume_from, "resume_from")
        store, row = _store_run(s, run_id)
        if row is None:
            raise UsageError(f"resume_from: run {run_id!r} is not in the store ({s.entity}/{s.project})")
        _restore(state, store, row, s, tags_given)
        state.starting_step = step + 1
        state.summary = _last_values(store, row["pk"], step)
        state.rewind_step = step
        return state
    if s.resume is None:
        return state
    assert s.run_id is not None
    store, row = _store_run(s, s.run_id)
    if s.resume == "must" and row is None:
        raise UsageError(
            f"You provided an invalid value for the `resume` argument. The value 'must' is not a "
            f"valid option for resuming a run ({s.run_id}) that has not been initialized. Please "
            "check your inputs and try again with a valid run ID. If you are trying to start a new "
            "run, please omit the `resume` argument or use `resume='allow'`."
        )
    if s.resume == "never" and row is not None:
        raise UsageError(
            f"You provided an invalid value for the `resume` argument. The value 'never' is not a "
            f"valid option for resuming a run ({s.run_id}) that already exists. Please check your "
            "inputs and try again with a valid run ID."
        )
    if row is not None:
        _restore(state, store, row, s, tags_given)
    return state


def _restore(state: ResumeState, store: Any, row: dict[str, Any], s: Settings, tags_given: bool) -> None:
    state.resumed = True
    last = row.get("last_step")
    state.starting_step = (int(last) + 1) if last is not None else int(row.get("starting_step") or 0)
    summary = dict(row.get("summary") or {})
    state.runtime_offset = float(row.get("runtime") or summary.get("_runtime") or 0.0)
    state.config = dict(row.get("config") or {})
    state.summary = summary
    state.metric_defs = store.metric_defs(row["pk"])
    state.tags = None if tags_given else list(row.get("tags") or [])
    state.name = row.get("name")
    state.notes = row.get("notes")
    state.group = row.get("group")
    state.job_type = row.get("job_type")

"""The Run object the query API returns (W&B: ``wandb.apis.public.Run``).

Its data is one row read from the store when the object is made; ``load(force=True)``
reads it again. Edits of ``name``, ``notes``, ``tags``, ``group``, ``job_type``,
``config`` and ``summary`` stay local until ``update()`` (W&B's rule).
"""

from __future__ import annotations

import datetime
import time
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from trackline.api import frames
from trackline.api.errors import RunNotFoundError
from trackline.api.files import File, Files
from trackline.api.history import (
    Column,
    build_rows,
    common_steps,
    restrict,
    sample_steps,
    union_steps,
    widen,
)
from trackline.api.scan import HistoryScan
from trackline.api.summary import RunSummary
from trackline.storage.base import run_duration

if TYPE_CHECKING:
    from trackline.api.api import Api

_EDITABLE = ("name", "notes", "tags", "group", "job_type")
_INTERNAL_CONFIG = ("_wandb",)
STREAMS = ("default", "system")


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_keys(keys: Any, where: str) -> list[str] | None:
    if keys is None:
        return None
    if isinstance(keys, str) or not isinstance(keys, (list, tuple)):
        raise ValueError(f"{where}: keys must be a list of metric names, like ['loss']; got {keys!r}")
    for k in keys:
        if not isinstance(k, str):
            raise ValueError(f"{where}: every key must be a metric name (text); got {k!r}")
    return list(keys)


class SweepRef:
    """The sweep a run belongs to (the full Sweep object comes with sweeps)."""

    def __init__(self, entity: str, project: str, sweep_id: str, base_url: str) -> None:
        self.id = self.name = sweep_id
        self.entity, self.project = entity, project
        self.url = f"{base_url}/{entity}/{project}/sweeps/{sweep_id}"

    @property
    def path(self) -> list[str]:
        return [self.entity, self.project, self.id]

    def __repr__(self) -> str:
        return f"<Sweep {'/'.join(self.path)}>"


class Run:
    """A stored run: identity, state, config, summary, history and files."""

    def __init__(self, api: Api, row: dict[str, Any]) -> None:
        self._api = api
        self._set_row(row)

    def _set_row(self, row: dict[str, Any]) -> None:
        self._row = row
        raw = dict(row.get("config") or {})
        self._config = {k: v for k, v in raw.items() if k not in _INTERNAL_CONFIG}
        self._summary = RunSummary(row.get("summary") or {}, self._save_summary, self._media)
        self._edits: dict[str, Any] = {}

    @property
    def _reader(self) -> Any:
        return self._api.reader

    # -- identity --------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return str(self._row["run_id"])

    @property
    def storage_id(self) -> str:
        return str(self._row.get("pk", self.id))

    @property
    def entity(self) -> str:
        return str(self._row["entity"])

    @property
    def project(self) -> str:
        return str(self._row["project"])

    @property
    def path(self) -> list[str]:
        return [self.entity, self.project, self.id]

    @property
    def url(self) -> str:
        return f"{self._api.settings.app_url}/{self.entity}/{self.project}/runs/{self.id}"

    # -- editable fields (saved by update()) -------------------------------------------------

    def _get(self, field: str) -> Any:
        return self._edits[field] if field in self._edits else self._row.get(field)

    @property
    def name(self) -> str | None:
        """The display name (W&B: ``run.name``); settable."""
        return self._get("name")

    @name.setter
    def name(self, value: str) -> None:
        self._edits["name"] = value

    display_name = name

    @property
    def notes(self) -> str | None:
        return self._get("notes")

    @notes.setter
    def notes(self, value: str | None) -> None:
        self._edits["notes"] = value

    description = notes

    @property
    def tags(self) -> list[str]:
        if "tags" not in self._edits:
            # Edits in place (run.tags.append("x")) are saved by update(), as in W&B.
            self._edits["tags"] = list(self._row.get("tags") or [])
        return self._edits["tags"]

    @tags.setter
    def tags(self, value: Sequence[str]) -> None:
        if isinstance(value, str):
            raise ValueError(f"tags must be a list of strings, like ['baseline']; got {value!r}")
        self._edits["tags"] = list(value)

    @property
    def group(self) -> str | None:
        return self._get("group")

    @group.setter
    def group(self, value: str | None) -> None:
        self._edits["group"] = value

    @property
    def job_type(self) -> str | None:
        return self._get("job_type")

    @job_type.setter
    def job_type(self, value: str | None) -> None:
        self._edits["job_type"] = value

    @property
    def config(self) -> dict[str, Any]:
        """The run's config, a plain dict; edit it, then ``update()``."""
        return self._config

    @config.setter
    def config(self, value: dict[str, Any]) -> None:
        self._config = dict(value)

    @property
    def rawconfig(self) -> dict[str, Any]:
        return dict(self._row.get("config") or {})

    @property
    def summary(self) -> RunSummary:
        """The summary (dict-like); edit it, then ``run.summary.update()`` or ``run.update()``."""
        return self._summary

    @property
    def summary_metrics(self) -> dict[str, Any]:
        return self._summary.as_dict()

    # -- state and times ---------------------------------------------------------------------

    @property
    def state(self) -> str:
        return str(self._row["state"])

    @property
    def reason(self) -> str | None:
        return self._row.get("reason")

    @property
    def exit_code(self) -> int | None:
        return self._row.get("exit_code")

    @property
    def created_at(self) -> str:
        return iso(self._row["created_at"]) or ""

    @property
    def heartbeat_at(self) -> str | None:
        return iso(self._row.get("heartbeat_at"))

    @property
    def updated_at(self) -> str | None:
        return iso(self._row.get("updated_at"))

    @property
    def finished_at(self) -> str | None:
        return iso(self._row.get("finished_at"))

    @property
    def runtime(self) -> float | None:
        """Seconds the run has run (so far, for a live run; until its last heartbeat, for a
        run marked crashed without a runtime of its own)."""
        return run_duration(self._row, now=self._row.get("heartbeat_at") or time.time())

    # -- the rest of W&B's fields -------------------------------------------------------------

    @property
    def metadata(self) -> dict[str, Any]:
        """Where and how the run ran (host, program, Python, git, ...)."""
        return dict(self._row.get("metadata") or {})

    @property
    def host(self) -> str | None:
        return self._row.get("host") or self.metadata.get("host")

    @property
    def user(self) -> str | None:
        return self.metadata.get("username")

    username = user

    @property
    def system_metrics(self) -> dict[str, Any]:
        """The latest system-metrics sample (``system.*`` keys), empty when none was taken."""
        keys = self._reader.system_keys(self._row)
        cols = self._reader.columns(self._row, keys, system=True) if keys else {}
        return {k: c.value_list()[-1] for k, c in cols.items() if len(c)}

    @property
    def pinned_keys(self) -> list[str]:
        """Config keys pinned with ``run.pin_config_keys`` (shown as References)."""
        internal = (self._row.get("config") or {}).get("_wandb")
        keys = internal.get("pinned_keys") if isinstance(internal, dict) else None
        return [str(k) for k in keys] if isinstance(keys, list) else []

    @property
    def sweep_name(self) -> str | None:
        return self._row.get("sweep_id")

    @property
    def sweep(self) -> Any:
        """The run's sweep (``api/sweeps.py``: config, state, runs, best run), or a reference
        (id, path, url) when the reader does not have it (a run given ``TRACKLINE_SWEEP_ID``
        by hand); None outside a sweep."""
        sid = self._row.get("sweep_id")
        if not sid:
            return None
        from trackline.api.sweeps import Sweep

        data = self._api.reader.sweep(self.entity, self.project, sid)
        if data is not None:
            return Sweep(self._api, data)
        return SweepRef(self.entity, self.project, sid, self._api.settings.app_url)

    @property
    def lastHistoryStep(self) -> int:  # W&B's name
        last = self._row.get("last_step")
        return -1 if last is None else int(last)

    @property
    def last_step(self) -> int | None:
        return self._row.get("last_step")

    @property
    def history_rows(self) -> int:
        return int(self._row.get("history_rows") or 0)

    @property
    def starting_step(self) -> int:
        return int(self._row.get("starting_step") or 0)

    @property
    def forked_from(self) -> str | None:
        return self._row.get("forked_from")

    def __repr__(self) -> str:
        return f"<Run {'/'.join(self.path)} ({self.state})>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and other.path == self.path

    def __hash__(self) -> int:
        return hash(tuple(self.path))

    def to_dict(self) -> dict[str, Any]:
        """Everything about the run as plain JSON-able data (what ``trackline show --json`` prints)."""
        return {
            "path": "/".join(self.path),
            "entity": self.entity,
            "project": self.project,
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "reason": self.reason,
            "exit_code": self.exit_code,
            "created_at": self.created_at,
            "heartbeat_at": self.heartbeat_at,
            "finished_at": self.finished_at,
            "runtime": self.runtime,
            "tags": list(self.tags),
            "group": self.group,
            "job_type": self.job_type,
            "notes": self.notes,
            "sweep": self.sweep_name,
            "url": self.url,
            "last_step": self.lastHistoryStep,
            "history_rows": self.history_rows,
            "pinned_keys": self.pinned_keys,
            "config": self.config,
            "summary": self.summary_metrics,
            "metadata": self.metadata,
        }

    # -- loading and saving ------------------------------------------------------------------

    def load(self, force: bool = False) -> dict[str, Any]:
        """Read the run again from the store (local edits not yet saved are dropped)."""
        if force or not self._row:
            fresh = self._reader.get_run(self.entity, self.project, self.id)
            if fresh is None:
                raise RunNotFoundError(f"Could not find run {'/'.join(self.path)} (deleted?)")
            self._set_row(fresh)
        return self._row

    def update(self) -> None:
        """Save edits of name, notes, tags, group, job_type, config and summary."""
        fields: dict[str, Any] = {k: v for k, v in self._edits.items() if k in _EDITABLE}
        if "tags" in fields:
            from trackline.settings import validate_tags

            fields["tags"] = list(validate_tags(fields["tags"]))
        hidden = {k: v for k, v in (self._row.get("config") or {}).items() if k in _INTERNAL_CONFIG}
        fields["config"] = {**self._config, **hidden}
        fields["summary"] = self._summary.as_dict()
        self._set_row(self._reader.update_run(self._row, fields))

    save = update

    def _save_summary(self) -> None:
        row = self._reader.update_run(self._row, {"summary": self._summary.as_dict()})
        edits, config = self._edits, self._config
        self._set_row(row)
        self._edits, self._config = edits, config

    def delete(self, delete_artifacts: bool = False, *, force: bool = False) -> None:
        """Delete the run from the store: its rows, history and files.

        ``delete_artifacts=True`` (W&B's meaning) also deletes the artifact versions the
        run logged, with their aliases and links; versions it only used stay. Their blobs
        are freed by ``trackline gc``. The record log in the run's folder stays, so
        ``trackline sync`` could add the run back. A run still running is refused unless
        ``force=True`` (its writer would go on writing to a run that no longer exists).
        """
        if self.state in ("running", "preempting") and not force:
            raise ValueError(
                f"run {'/'.join(self.path)} is still running; finish it first, or pass force=True "
                "(trackline rm --force)"
            )
        self._reader.delete_run(self._row, delete_artifacts=delete_artifacts)

    def move(self, project: str, entity: str | None = None) -> Run:
        """Move the run (history included) to another project of the store; returns it there."""
        from trackline.errors import UsageError
        from trackline.settings import validate_project

        try:
            validate_project(project)
        except UsageError as exc:
            raise ValueError(str(exc)) from None
        if self.state in ("running", "preempting"):
            raise ValueError(
                f"run {'/'.join(self.path)} is still running; move it after it finishes "
                "(its writer would keep writing to the old project)"
            )
        row = self._reader.move_run(self._row, entity or self.entity, project)
        self._set_row(row)
        return self

    def wait_until_finished(self, poll_seconds: float = 1.0, timeout: float | None = None) -> None:
        """Block until the run is no longer running."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.state in ("running", "preempting"):
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"run {'/'.join(self.path)} still running after {timeout} s")
            time.sleep(poll_seconds)
            self.load(force=True)

    # -- files ------------------------------------------------------------------------------

    @property
    def alerts(self) -> list[dict[str, Any]]:
        """Alerts sent by the run: title, text, level, ts, throttled, delivery outcome."""
        return [
            {k: a[k] for k in ("title", "text", "level", "ts", "wait_ms", "throttled", "delivery")}
            for a in self._reader.alerts(self._row)
        ]

    def logs(self, search: str | None = None) -> list[dict[str, Any]]:
        """Console output lines (stdout, stderr, write_logs) with timestamps, in order."""
        return self._reader.logs(self._row, search)

    def files(self, names: list[str] | None = None, pattern: str | None = None, per_page: int = 50) -> Files:
        """The run's files; ``pattern`` uses SQL LIKE syntax (``%`` any text, ``_`` one char)."""
        return Files(self, self._reader.files(self._row), names=names, pattern=pattern)

    def file(self, name: str) -> File:
        from trackline.api.files import check_name

        found = self.files(names=[check_name(name)])
        if not len(found):
            raise ValueError(
                f"run {'/'.join(self.path)} has no file {name!r}; run.files() lists its files"
            )
        return found[0]

    # -- artifacts (trackline.artifacts.public) ---------------------------------------------

    def logged_artifacts(self, per_page: int = 100) -> list[Any]:
        """The artifact versions this run logged, in the order it logged them."""
        from trackline.artifacts import public

        return public.run_artifacts(self, "output")

    def used_artifacts(self, per_page: int = 100) -> list[Any]:
        """The artifact versions this run used."""
        from trackline.artifacts import public

        return public.run_artifacts(self, "input")

    def use_artifact(self, artifact: Any, use_as: str | None = None) -> Any:
        """Record that this (stored) run used a logged artifact."""
        from trackline.artifacts import public

        return public.mark(self, artifact, "input")

    def log_artifact(self, artifact: Any, aliases: Any = None, tags: Any = None) -> Any:
        """Record that this (stored) run produced a logged artifact."""
        from trackline.artifacts import public

        return public.mark(self, artifact, "output")

    # -- history ----------------------------------------------------------------------------

    def history_keys(self) -> list[str]:
        """Every metric logged in this run (dotted for nested keys)."""
        return self._reader.history_keys(self._row)

    def _fetch_plan(self, keys: list[str] | None, x_axis: str, stream: str) -> list[str]:
        """The keys a history read fetches (``stream="system"``: every system metric)."""
        if stream not in STREAMS:
            raise ValueError(f"stream must be 'default' or 'system', got {stream!r}")
        if stream == "system":
            if keys is not None:
                raise ValueError("keys cannot be given with stream='system' (as in W&B); leave keys out")
            return self._reader.system_keys(self._row)
        wanted = keys if keys is not None else self.history_keys()
        fetch = [k for k in wanted if k != "_step"]
        if x_axis != "_step" and x_axis not in fetch:
            fetch.append(x_axis)
        return fetch

    def _shape(
        self, cols: dict[str, Column], fetch: list[str], keys: list[str] | None, x_axis: str, stream: str,
        intersect: bool,
    ) -> tuple[np.ndarray, dict[str, Column]]:
        """The steps a history read returns, and the columns cut down to them (W&B: with
        ``keys``, only rows holding all of them)."""
        if stream == "system":
            return union_steps(cols.values()), cols
        required = [k for k in fetch if not k.startswith("_")] if keys is not None and intersect else []
        if x_axis != "_step":
            required.append(x_axis)
        if required:
            missing = [k for k in required if k not in cols]
            if missing:
                self._warn_missing(missing, stacklevel=5)
                return np.empty(0, dtype=np.int64), {}
            steps = common_steps([cols[k] for k in dict.fromkeys(required)])
            return steps, restrict(cols, steps)
        return union_steps(cols.values()), cols

    def _warn_missing(self, missing: list[str], stacklevel: int) -> None:
        """Keys asked for that the run never logged: said once per read (the read then has
        no rows for them, as in W&B), so a typo is not taken for an empty metric."""
        warnings.warn(
            f"run {'/'.join(self.path)} has no history for {', '.join(map(repr, missing))}; "
            "run.history_keys() lists its metrics",
            stacklevel=stacklevel,
        )

    def _columns(
        self,
        keys: list[str] | None,
        x_axis: str,
        stream: str,
        intersect: bool,
        min_step: int | None = None,
        max_step: int | None = None,
        native: bool = False,
    ) -> tuple[np.ndarray, dict[str, Column]]:
        """The steps and columns a history read works on (before any sampling)."""
        fetch = self._fetch_plan(keys, x_axis, stream)
        cols = self._reader.columns(
            self._row, fetch, min_step, max_step, system=stream == "system", native=native
        ) if fetch else {}
        return self._shape(cols, fetch, keys, x_axis, stream, intersect)

    def history(
        self,
        samples: int = 500,
        keys: list[str] | None = None,
        x_axis: str = "_step",
        pandas: bool = True,
        stream: str = "default",
    ) -> Any:
        """About ``samples`` rows that keep each bucket's first and last rows and every key's
        min and max (spikes survive; see ``trackline.api.history``). A pandas DataFrame
        (columns named by dotted metric names) when ``pandas`` and pandas is installed,
        else a list of row dicts. With ``keys``, only rows holding all of them, as in W&B.
        """
        keys = _check_keys(keys, "history")
        if not isinstance(samples, int) or isinstance(samples, bool) or samples < 1:
            raise ValueError(f"history: samples must be a positive integer, got {samples!r}")
        # Values as stored (float32 mostly): sampling needs only comparisons, and only the
        # kept points are widened to float64.
        steps, cols = self._columns(keys, x_axis, stream, intersect=True, native=True)
        kept = sample_steps(steps, cols.values(), samples)
        cols = widen(restrict(cols, kept))
        system = stream == "system"
        if pandas:
            try:
                return frames.to_pandas(kept, cols) if not system else _system_frame(kept, cols)
            except ImportError:
                pass
        return build_rows(kept, cols, step_key=None if system else "_step", nest=not system)

    def _media(self, value: Any) -> Any:
        """A stored media reference as its object (``Image``, ``Table``...); other values unchanged."""
        from trackline.data_types.readback import from_json, is_media_ref

        return from_json(value, self._reader.files(self._row)) if is_media_ref(value) else value

    def media(self, key: str, min_step: int | None = None, max_step: int | None = None) -> list[tuple[int, Any]]:
        """The media logged under ``key`` as objects, ``[(step, Image), ...]`` (history keeps the JSON)."""
        files = self._reader.files(self._row)
        from trackline.data_types.readback import from_json

        return [
            (int(row["_step"]), from_json(row[key], files))
            for row in self.scan_history(keys=[key], min_step=min_step, max_step=max_step)
            if row.get(key) is not None
        ]

    def scan_history(
        self,
        keys: list[str] | None = None,
        page_size: int = 1000,
        min_step: int | None = None,
        max_step: int | None = None,
    ) -> HistoryScan:
        """Every row in ``[min_step, max_step)``, unsampled, in step order, streamed.

        Memory stays constant whatever the run's length. With ``keys``, only rows that
        hold all of them are returned (as in W&B); ``_step`` is always in the row.
        """
        keys = _check_keys(keys, "scan_history")
        if not isinstance(page_size, int) or page_size < 1:
            raise ValueError(f"scan_history: page_size must be a positive integer, got {page_size!r}")
        known = self.history_keys()
        wanted = keys if keys is not None else known
        fetch = [k for k in wanted if k != "_step"]
        required = [k for k in fetch if not k.startswith("_")] if keys is not None else []
        logged = set(known)
        missing = [k for k in required if k not in logged]
        if missing:
            self._warn_missing(missing, stacklevel=3)
        if max_step is not None and self.last_step is not None:
            max_step = min(max_step, self.last_step + 1)
        return HistoryScan(self._reader, self._row, fetch, required, page_size, min_step, max_step)

    def history_frame(
        self,
        keys: list[str] | None = None,
        engine: str = "pandas",
        min_step: int | None = None,
        max_step: int | None = None,
        stream: str = "default",
    ) -> Any:
        """Every point of ``keys`` (default: all) as one DataFrame, unsampled, built from
        columns (no rows in between). One row per step where any key was logged; a key
        missing at a step is NaN (pandas) or null (polars, Arrow). ``engine`` is
        ``"pandas"``, ``"polars"`` or ``"arrow"`` (a ``pyarrow.Table``). ``max_step`` is
        exclusive, as in ``scan_history``.
        """
        keys = _check_keys(keys, "history_frame")
        frames.check_engine(engine)
        hi = None if max_step is None else max_step - 1
        steps, cols = self._columns(keys, "_step", stream, intersect=False, min_step=min_step, max_step=hi)
        absent = [k for k in keys or () if k != "_step" and k not in cols]  # or no points in the range
        if absent:
            logged = set(self.history_keys())  # one query, only when a key came back empty
            if missing := [k for k in absent if k not in logged]:
                self._warn_missing(missing, stacklevel=3)
        return frames.to_frame(steps, cols, engine)


def _system_frame(steps: np.ndarray, cols: dict[str, Column]) -> Any:
    frame = frames.to_pandas(steps, cols)
    return frame.drop(columns=["_step"])

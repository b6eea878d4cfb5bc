"""``api.runs(...)``: a lazily paged list of runs; and projects.

``Runs`` loads one page (``per_page`` runs) when iteration or indexing reaches it, and
keeps what it loaded, so iterating twice does not query twice. ``len()`` is one
``COUNT``, no page loaded. Pages continue from a keyset cursor, so runs created while
you iterate never shift a page (no run is seen twice or skipped).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from trackline.api import frames
from trackline.api.history import build_rows, restrict, sample_steps, widen
from trackline.api.public_run import Run, _check_keys

if TYPE_CHECKING:
    from trackline.api.api import Api

HISTORY_FORMATS = ("default", "pandas", "polars", "arrow")
HISTORIES_BATCH = 64  # runs read together by histories(): one query each, bounded memory


class Runs:
    """The runs of one project matching a filter, in order (W&B: ``Runs``)."""

    def __init__(
        self,
        api: Api,
        entity: str,
        project: str,
        filters: Mapping[str, Any] | None = None,
        order: str = "-created_at",
        per_page: int = 50,
    ) -> None:
        if not isinstance(per_page, int) or isinstance(per_page, bool) or per_page < 1:
            raise ValueError(f"per_page must be a positive integer, got {per_page!r}")
        self._api = api
        self.entity = entity
        self.project = project
        self.filters = dict(filters or {})
        self.order = order
        self.per_page = per_page
        self.objects: list[Run] = []
        self._cursor: str | None = None
        self._done = False
        self._length: int | None = None

    # -- paging ----------------------------------------------------------------------------

    @property
    def more(self) -> bool:
        """True while pages remain to be loaded."""
        return not self._done

    @property
    def cursor(self) -> str | None:
        return self._cursor

    def next_page(self) -> list[Run]:
        """Load the next page (empty when none is left)."""
        if self._done:
            return []
        rows, cursor = self._api.reader.runs_page(
            self.entity, self.project, self.filters, self.order, self._cursor, self.per_page
        )
        page = [Run(self._api, row) for row in rows]
        self.objects.extend(page)
        self._cursor = cursor
        self._done = cursor is None
        return page

    def _load_until(self, index: int) -> None:
        while len(self.objects) <= index and not self._done:
            self.next_page()

    def __iter__(self) -> Iterator[Run]:
        i = 0
        while True:
            self._load_until(i)
            if i >= len(self.objects):
                return
            yield self.objects[i]
            i += 1

    def __len__(self) -> int:
        if self._length is None:
            if self._done:
                self._length = len(self.objects)
            else:
                self._length = self._api.reader.count_runs(self.entity, self.project, self.filters)
        return self._length

    length = property(__len__)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            if (index.start or 0) < 0 or (index.stop is not None and index.stop < 0):
                self._load_until(len(self) - 1)
            else:
                self._load_until((index.stop or len(self)) - 1)
            return self.objects[index]
        if index < 0:
            index += len(self)
        self._load_until(index)
        if not 0 <= index < len(self.objects):
            raise IndexError("run index out of range")
        return self.objects[index]

    def __bool__(self) -> bool:
        self._load_until(0)
        return bool(self.objects)

    def __repr__(self) -> str:
        return f"<Runs {self.entity}/{self.project}>"

    # -- many histories at once ----------------------------------------------------------------

    def histories(
        self,
        samples: int | None = 500,
        keys: list[str] | None = None,
        x_axis: str = "_step",
        format: str = "default",
        stream: str = "default",
    ) -> Any:
        """The history of every run, in one long table with a ``run_id`` column.

        ``format``: ``"default"`` (a list of row dicts), ``"pandas"``, ``"polars"`` or
        ``"arrow"``. Each run is sampled as ``Run.history(samples=...)`` does;
        ``samples=None`` keeps every point (beyond W&B).
        """
        if format not in HISTORY_FORMATS:
            raise ValueError(f"format must be one of {', '.join(HISTORY_FORMATS)}; got {format!r}")
        keys = _check_keys(keys, "histories")
        rows: list[dict[str, Any]] = []
        parts: list[Any] = []
        system = stream == "system"
        runs = list(self)
        # A batch of runs per read: one query for their chunks (and one for other values).
        for i in range(0, len(runs), HISTORIES_BATCH):
            batch = runs[i : i + HISTORIES_BATCH]
            plans = [run._fetch_plan(keys, x_axis, stream) for run in batch]
            fetch = list(dict.fromkeys(k for plan in plans for k in plan))
            # Sampled: values as stored, only the kept points widened (as Run.history does).
            native = samples is not None
            many = self._api.reader.columns_many([r._row for r in batch], fetch, system=system, native=native)
            for run, plan, got in zip(batch, plans, many, strict=True):
                cols = {k: c for k, c in got.items() if k in plan}
                steps, cols = run._shape(cols, plan, keys, x_axis, stream, intersect=True)
                if samples is not None:
                    steps = sample_steps(steps, cols.values(), samples)
                    cols = widen(restrict(cols, steps))
                if not len(steps):
                    continue
                if format == "default":
                    for row in build_rows(steps, cols):
                        row["run_id"] = run.id
                        rows.append(row)
                else:
                    parts.append(frames.to_frame(steps, cols, format, extra={"run_id": run.id}))
        if format == "default":
            return rows
        return frames.concat(parts, format)


class Project:
    """A project of the store (W&B: ``wandb.apis.public.Project``)."""

    def __init__(self, api: Api, row: dict[str, Any]) -> None:
        self._api = api
        self.entity: str = row["entity"]
        self.name: str = row["name"]
        self.id = str(row.get("id", self.name))
        self.run_count = int(row.get("run_count") or 0)
        self._created = row.get("created_at")

    @property
    def path(self) -> list[str]:
        return [self.entity, self.name]

    @property
    def url(self) -> str:
        return f"{self._api.settings.app_url}/{self.entity}/{self.name}"

    @property
    def created_at(self) -> str | None:
        from trackline.api.public_run import iso

        return iso(self._created)

    def runs(self, filters: Mapping[str, Any] | None = None, order: str = "-created_at", per_page: int = 50) -> Runs:
        return self._api.runs(f"{self.entity}/{self.name}", filters=filters, order=order, per_page=per_page)

    def sweeps(self) -> list[Any]:
        from trackline.api.sweeps import project_sweeps

        return project_sweeps(self._api, self.entity, self.name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "name": self.name,
            "path": f"{self.entity}/{self.name}",
            "run_count": self.run_count,
            "created_at": self.created_at,
            "url": self.url,
        }

    def __repr__(self) -> str:
        return f"<Project {self.entity}/{self.name}>"

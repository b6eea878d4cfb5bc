"""``trackline.Api``: read runs back (W&B: ``wandb.Api``), every point, no sampling unless asked.

Paths follow W&B's rules. A run is ``entity/project/run_id`` (also
``entity/project/runs/run_id``, ``entity/project:run_id``, ``project/run_id``,
``project:run_id`` or a bare ``run_id``, and a UI link ``http://host/entity/project/runs/id``);
a project is ``entity/project`` or ``project``. Missing parts come from ``overrides``,
then settings and the environment (``TRACKLINE_ENTITY``/``WANDB_ENTITY``,
``..._PROJECT``), and the entity defaults to your user name, as for ``init``. A bare run id
with no default project is looked for in every project of the store (``Api.run``).
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from trackline.api.errors import ProjectNotFoundError, RunNotFoundError
from trackline.settings import Settings, resolve

if TYPE_CHECKING:  # imported where used: ``Api`` alone (paths, settings) loads without numpy
    from trackline.api.public_run import Run
    from trackline.api.reader import Reader
    from trackline.api.runs import Project, Runs

# Overrides that map to settings; W&B's others are accepted and ignored.
_SETTING_OVERRIDES = ("entity", "project", "store", "base_url", "root_dir", "home")
_IGNORED_OVERRIDES = ("run", "api_key", "organization")


def _user_entity() -> str:
    # The same rule as init() (sdk/init.py); api does not import the SDK.
    try:
        user = getpass.getuser()
    except Exception:
        user = "local"
    return re.sub(r"[^A-Za-z0-9_.-]", "-", user) or "local"


def _strip_url(path: str) -> str:
    m = re.match(r"^[a-z][a-z0-9+.-]*://[^/]+(/.*)?$", path)
    return (m.group(1) or "") if m else path


class Api:
    """Query runs and projects (W&B: ``wandb.Api``).

    ``overrides`` may set ``entity`` and ``project`` (defaults for paths), ``store`` (a
    store path or URL; default the embedded store of your settings), ``base_url`` (the UI
    address used in URLs) and ``root_dir`` (where to look for runs' folders). ``timeout``
    and ``api_key`` are for the team server and are kept for it.
    """

    def __init__(
        self,
        overrides: Mapping[str, Any] | None = None,
        timeout: int | None = None,
        api_key: str | None = None,
        *,
        reader: Reader | None = None,
    ) -> None:
        overrides = dict(overrides or {})
        unknown = [k for k in overrides if k not in _SETTING_OVERRIDES + _IGNORED_OVERRIDES]
        if unknown:
            raise ValueError(
                f"Api(overrides=...): unknown key(s) {', '.join(map(repr, unknown))}; "
                f"use {', '.join(_SETTING_OVERRIDES)}"
            )
        init_args = {k: v for k, v in overrides.items() if k in _SETTING_OVERRIDES and v is not None}
        self.settings: Settings = resolve(None, init_args)
        self.overrides = overrides
        self.timeout = timeout
        self.api_key = api_key
        self._reader = reader

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def reader(self) -> Reader:
        """Where runs are read from (the embedded store unless another reader was given)."""
        if self._reader is None:
            from trackline.api.reader import StoreReader
            from trackline.storage import open_store

            roots = [self.settings.root_dir or os.getcwd()]
            store = open_store(self.settings.store_url, self.settings.blob_url)
            self._reader = StoreReader(store, file_roots=roots)
        return self._reader

    @property
    def store(self) -> Any:
        """The store itself (embedded reader only)."""
        return getattr(self.reader, "store", None)

    @property
    def location(self) -> str:
        return self.reader.location

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def flush(self) -> None:
        """Forget cached state (W&B: clears its caches); the next read sees the store anew."""
        return None

    @property
    def default_entity(self) -> str:
        return self.settings.entity or _user_entity()

    @property
    def viewer(self) -> dict[str, Any]:
        return {"entity": self.default_entity, "username": _user_entity()}

    # -- paths ------------------------------------------------------------------------------

    def _parse_path(self, path: str) -> tuple[str, str, str]:
        """``(entity, project, run_id)`` by W&B's rules; ValueError names what is missing."""
        if not isinstance(path, str) or not path.strip():
            raise ValueError(f"Invalid path: {path!r}; use 'entity/project/run_id' or 'project/run_id'")
        raw = _strip_url(path.strip()).strip("/")
        for prefix in ("runs/", "sweeps/"):
            if raw.startswith(prefix):
                raw = raw[len(prefix) :]
        parts = [p for p in raw.split("/") if p]
        if len(parts) >= 2 and parts[-2] in ("runs", "sweeps"):
            parts = parts[:-2] + parts[-1:]
        if len(parts) == 1 and ":" in parts[0]:
            parts = parts[0].split(":", 1)
        elif len(parts) == 2 and ":" in parts[1]:
            parts = [parts[0], *parts[1].split(":", 1)]
        if len(parts) > 3 or any(not p for p in parts):
            raise ValueError(
                f"Invalid path: {path!r}; use 'entity/project/run_id', 'project/run_id' or 'run_id'"
            )
        project = self.settings.project
        if len(parts) == 3:
            return parts[0], parts[1], parts[2]
        if len(parts) == 2:
            return self.default_entity, parts[0], parts[1]
        if not project:
            raise ValueError(
                f"Invalid path: {path!r} (missing project); use 'project/{parts[0]}' or set "
                "Api(overrides={'project': ...})"
            )
        return self.default_entity, project, parts[0]

    def _parse_project(self, path: str | None) -> tuple[str, str]:
        raw = _strip_url((path or "").strip()).strip("/")
        parts = [p for p in raw.split("/") if p]
        if len(parts) == 2:
            return parts[0], parts[1]
        if len(parts) == 1:
            return self.default_entity, parts[0]
        if not parts and self.settings.project:
            return self.default_entity, self.settings.project
        if not parts:
            raise ValueError(
                "Invalid path: no project given; use 'entity/project' or 'project', or set "
                "Api(overrides={'project': ...})"
            )
        raise ValueError(f"Invalid project path: {path!r}; use 'entity/project' or 'project'")

    # -- runs -------------------------------------------------------------------------------

    def run(self, path: str = "") -> Run:
        """One run by path (see the module docstring). With no default project, a bare run
        id is looked for in every project of the store (as ``trackline show ID`` does).
        Raises ``RunNotFoundError``."""
        from trackline.api.public_run import Run

        try:
            entity, project, run_id = self._parse_path(path)
        except ValueError:
            bare = path.strip().strip("/") if isinstance(path, str) else ""
            if not bare or "/" in bare or ":" in bare:
                raise
            return self.run_anywhere(bare)
        row = self.reader.get_run(entity, project, run_id)
        if row is None:
            raise RunNotFoundError(
                f"Could not find run {entity}/{project}/{run_id} in {self.location}; "
                f"`trackline ls {entity}/{project}` lists that project's runs"
            )
        return Run(self, row)

    def run_anywhere(self, run_id: str) -> Run:
        """The run with id ``run_id`` in whichever project of the store holds it. Raises
        ``RunNotFoundError`` when none does, ValueError (naming them) when several do."""
        from trackline.api.public_run import Run

        rows = self.reader.find_runs(run_id)
        if len(rows) == 1:
            return Run(self, rows[0])
        if not rows:
            raise RunNotFoundError(
                f"no run with id {run_id!r} in {self.location}; `trackline ls PROJECT` lists a project's runs"
            )
        where = ", ".join(f"{r['entity']}/{r['project']}/{r['run_id']}" for r in rows)
        raise ValueError(f"run id {run_id!r} is in several projects ({where}); give ENTITY/PROJECT/RUN_ID")

    def runs(
        self,
        path: str | None = None,
        filters: Mapping[str, Any] | None = None,
        order: str = "-created_at",
        per_page: int = 50,
        include_sweeps: bool = True,
        lazy: bool = True,
    ) -> Runs:
        """The runs of a project matching ``filters`` (MongoDB-style, evaluated in SQL), in
        ``order`` (``"-created_at"``: newest first), loaded ``per_page`` at a time.
        A malformed filter raises ValueError here; a missing project ``ProjectNotFoundError``.
        """
        from trackline.api.runs import Runs
        from trackline.storage.sql.query import validate

        entity, project = self._parse_project(path)
        if filters is not None and not isinstance(filters, Mapping):
            raise ValueError(f"filters must be a dict like {{'config.lr': 0.1}}, got {filters!r}")
        validate(filters, order)
        if self.reader.project(entity, project) is None:
            raise ProjectNotFoundError(
                f"Could not find project {entity}/{project} in {self.location}; "
                "`trackline ls` lists the projects"
            )
        return Runs(self, entity, project, filters, order, per_page)

    # -- projects ---------------------------------------------------------------------------

    def sweep(self, path: str = "") -> Any:
        """One sweep by ``entity/project/sweep_id`` (or ``project/sweep_id``, a bare id in the
        default project, or its URL). Raises ``ProjectNotFoundError`` when there is none."""
        from trackline.api.sweeps import Sweep

        entity, project, sweep_id = self._parse_path(path)
        return Sweep.get(self, entity, project, sweep_id)

    def projects(self, entity: str | None = None, per_page: int = 200) -> list[Project]:
        """Projects of ``entity``; every project in the store when no entity is given."""
        from trackline.api.runs import Project

        return [Project(self, row) for row in self.reader.projects(entity)]

    def project(self, name: str, entity: str | None = None) -> Project:
        from trackline.api.runs import Project

        if "/" in name and entity is None:
            entity, name = self._parse_project(name)
        entity = entity or self.default_entity
        row = self.reader.project(entity, name)
        if row is None:
            raise ProjectNotFoundError(
                f"Could not find project {entity}/{name} in {self.location}; `trackline ls` lists the projects"
            )
        return Project(self, row)

    def from_path(self, path: str) -> Run | Project:
        """A project (``entity/project``) or a run (any run path)."""
        parts = [p for p in _strip_url(path).strip("/").split("/") if p]
        if len(parts) == 2 and ":" not in parts[1] and self.reader.project(parts[0], parts[1]) is not None:
            return self.project(parts[1], parts[0])
        return self.run(path)

    # -- artifacts (the logic lives in trackline.artifacts.public) -----------------------

    def artifact(self, name: str, type: str | None = None) -> Any:
        """One artifact version: ``[[entity/]project/]name[:vN|:alias]`` (default ``latest``)."""
        from trackline.artifacts import public

        return public.artifact(self, name, type)

    def artifacts(self, type_name: str, name: str, per_page: int = 50, tags: Any = None,
                  order: str | None = None) -> list[Any]:
        """The versions of collection ``name`` of type ``type_name``, newest first."""
        from trackline.artifacts import public

        return public.artifacts(self, type_name, name, per_page, tags, order)

    def artifact_versions(self, type_name: str, name: str, per_page: int = 50) -> list[Any]:
        """Older name of :meth:`artifacts`."""
        return self.artifacts(type_name, name, per_page)

    def artifact_collections(self, project_name: str | None = None, type_name: str | None = None,
                             order: str | None = None, per_page: int = 50) -> list[Any]:
        from trackline.artifacts import public

        return public.artifact_collections(self, project_name, type_name, per_page)

    def artifact_collection(self, type_name: str, name: str) -> Any:
        from trackline.artifacts import public

        return public.artifact_collection(self, type_name, name)

    def artifact_types(self, project: str | None = None) -> list[Any]:
        from trackline.artifacts import public

        return public.artifact_types(self, project)

    def artifact_type(self, type_name: str, project: str | None = None) -> Any:
        from trackline.artifacts import public

        return public.artifact_type(self, type_name, project)

    def artifact_exists(self, name: str, type: str | None = None) -> bool:
        from trackline.artifacts import public

        return public.artifact_exists(self, name, type)

    def artifact_collection_exists(self, name: str, type: str) -> bool:
        from trackline.artifacts import public

        return public.artifact_collection_exists(self, name, type)

    def __iter__(self) -> Iterator[Run]:
        return iter(self.runs())

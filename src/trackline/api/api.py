"""``trackline.Api``: read runs back (W&B: ``wandb.Api``), every point, no sampling unless asked."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from trackline.api.public_run import PublicRun
from trackline.errors import CommError
from trackline.settings import Settings, resolve
from trackline.storage.base import RunKey


class Api:
    """Query the store.

    ``overrides`` may set ``entity``, ``project`` and ``store`` (a path or URL);
    otherwise they come from settings and the environment, as for ``init``.
    """

    def __init__(
        self,
        overrides: Mapping[str, Any] | None = None,
        timeout: int | None = None,
        api_key: str | None = None,
    ) -> None:
        overrides = dict(overrides or {})
        settings = resolve(None, {k: v for k, v in overrides.items() if k in ("entity", "project", "store", "base_url")})
        self.settings: Settings = settings
        self.timeout = timeout
        self._store: Any = None
        self._default_entity = settings.entity

    @property
    def store(self) -> Any:
        if self._store is None:
            from trackline.storage import open_store

            self._store = open_store(self.settings.store_url)
        return self._store

    @property
    def default_entity(self) -> str:
        if self._default_entity:
            return self._default_entity
        from trackline.sdk.init import _default_entity

        return _default_entity()

    def _parse_path(self, path: str) -> RunKey:
        parts = [p for p in path.strip("/").split("/") if p]
        if len(parts) >= 2 and parts[-2] == "runs":
            parts = parts[:-2] + parts[-1:]
        if len(parts) == 3:
            return RunKey(*parts)
        if len(parts) == 2:
            return RunKey(self.default_entity, parts[0], parts[1])
        if len(parts) == 1 and self.settings.project:
            return RunKey(self.default_entity, self.settings.project, parts[0])
        raise ValueError(
            f"run path {path!r} is not valid: use 'entity/project/run_id' or 'project/run_id'"
        )

    def run(self, path: str) -> PublicRun:
        """One run by ``entity/project/run_id`` (``project/run_id`` uses the default entity)."""
        key = self._parse_path(path)
        row = self.store.get_run(key)
        if row is None:
            raise CommError(f"Could not find run {key.path}")
        return PublicRun(self, row)

    def runs(self, path: str | None = None, **_: Any) -> list[PublicRun]:
        """Runs of a project (``entity/project`` or ``project``), newest first."""
        entity, project = self._parse_project(path)
        return [PublicRun(self, row) for row in self.store.list_runs(entity, project)]

    def _parse_project(self, path: str | None) -> tuple[str, str]:
        parts = [p for p in (path or "").strip("/").split("/") if p]
        if len(parts) == 2:
            return parts[0], parts[1]
        if len(parts) == 1:
            return self.default_entity, parts[0]
        if self.settings.project:
            return self.default_entity, self.settings.project
        raise ValueError("give a project path: 'entity/project' or 'project'")

    def projects(self, entity: str | None = None) -> list[dict[str, Any]]:
        return self.store.list_projects(entity)

    def __iter__(self) -> Iterator[PublicRun]:  # pragma: no cover - convenience
        return iter(self.runs())

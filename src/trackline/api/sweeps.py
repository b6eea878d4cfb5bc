"""The public Sweep object (W&B's ``wandb.apis.public.Sweep``): ``Api().sweep(path)``,
``Api().project(name).sweeps()`` and a run's ``.sweep``.

Built from the reader's sweep dict (``Reader.sweep``: the shape ``sweeps/report.py`` gives,
the server's ``/sweeps`` JSON), so it works on any reader: the embedded store now, HTTP later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trackline.api.errors import ProjectNotFoundError

if TYPE_CHECKING:
    from trackline.api.api import Api
    from trackline.api.public_run import Run


class Sweep:
    """One sweep: its config, state, runs and best run."""

    def __init__(self, api: Api, data: dict[str, Any]) -> None:
        self._api = api
        self._data = data
        self.id: str = data["id"]
        self.name: str = data.get("name") or data["id"]
        self.entity: str = data["entity"]
        self.project: str = data["project"]

    @classmethod
    def get(cls, api: Api, entity: str, project: str, sweep_id: str) -> Sweep:
        data = api.reader.sweep(entity, project, sweep_id)
        if data is None:
            raise ProjectNotFoundError(
                f"Could not find sweep {entity}/{project}/{sweep_id} in {api.location}; "
                "`trackline sweep CONFIG.yaml` creates one")
        return cls(api, data)

    def _fresh(self) -> dict[str, Any]:
        """The sweep as the reader has it now (its runs go on while this object lives)."""
        data = self._api.reader.sweep(self.entity, self.project, self.id)
        if data is not None:
            self._data = data
        return self._data

    @property
    def config(self) -> dict[str, Any]:
        return dict(self._data.get("config") or {})

    @property
    def state(self) -> str:
        return str(self._fresh()["state"])

    @property
    def path(self) -> list[str]:
        return [self.entity, self.project, self.id]

    @property
    def url(self) -> str:
        return f"{self._api.settings.app_url}/{self.entity}/{self.project}/sweeps/{self.id}"

    @property
    def expected_run_count(self) -> int | None:
        value = self._data.get("expected_run_count")
        return None if value is None else int(value)

    def _run(self, run_id: str) -> Run | None:
        from trackline.api.public_run import Run

        row = self._api.reader.get_run(self.entity, self.project, run_id)
        return None if row is None else Run(self._api, row)

    @property
    def runs(self) -> list[Run]:
        """The sweep's runs that reached the store, in the order their trials were claimed."""
        return [run for item in self._fresh().get("runs", []) if (run := self._run(item["id"])) is not None]

    def best_run(self, order: str | None = None) -> Run | None:
        """The run with the best ``metric`` (by its goal); ``order`` (``"-summary_metrics.acc"``
        style, or a key name; ``-`` for the largest) ranks by another summary key instead."""
        if order is None:
            best = self._fresh().get("best_run")
            return self._run(best) if best else None
        key = order.lstrip("+-").removeprefix("summary_metrics.")
        candidates = [r for r in self.runs if isinstance(r.summary.get(key), (int, float))]
        if not candidates:
            return None
        return (max if order.startswith("-") else min)(candidates, key=lambda r: r.summary[key])

    def to_dict(self) -> dict[str, Any]:
        return dict(self._fresh())

    def __repr__(self) -> str:
        return f"<Sweep {'/'.join(self.path)} ({self._data['state']})>"


def project_sweeps(api: Api, entity: str, project: str) -> list[Sweep]:
    return [Sweep(api, data) for data in api.reader.sweeps(entity, project)]

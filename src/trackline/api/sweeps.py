"""The public Sweep object (W&B's ``wandb.apis.public.Sweep``): ``Api().sweep(path)`` and
``Api().project(name).sweeps()``. Embedded store only, for now (read through ``Api.store``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trackline.api.errors import ProjectNotFoundError

if TYPE_CHECKING:
    from trackline.api.api import Api
    from trackline.api.public_run import Run


def _db(api: Api) -> Any:
    from trackline.storage.sql.sweeps import SweepDB

    store = api.store
    if store is None:
        raise NotImplementedError("sweeps are read from the embedded store; this Api reads over HTTP")
    return SweepDB(store)


class Sweep:
    """One sweep: its config, state, runs and best run."""

    def __init__(self, api: Api, row: dict[str, Any]) -> None:
        self._api = api
        self._row = row
        self.id = self.name = row["sweep_id"]
        if row.get("name"):
            self.name = row["name"]
        self.entity: str = row["entity"]
        self.project: str = row["project"]

    @classmethod
    def get(cls, api: Api, entity: str, project: str, sweep_id: str) -> Sweep:
        row = _db(api).get(entity, project, sweep_id)
        if row is None:
            raise ProjectNotFoundError(
                f"Could not find sweep {entity}/{project}/{sweep_id} in {api.location}; "
                "`trackline sweep CONFIG.yaml` creates one")
        return cls(api, row)

    @property
    def config(self) -> dict[str, Any]:
        return dict(self._row["config"] or {})

    @property
    def state(self) -> str:
        return str(self._row["state"])

    @property
    def path(self) -> list[str]:
        return [self.entity, self.project, self.id]

    @property
    def url(self) -> str:
        return f"{self._api.settings.app_url}/{self.entity}/{self.project}/sweeps/{self.id}"

    @property
    def expected_run_count(self) -> int | None:
        from trackline.sweeps.report import expected_run_count

        return expected_run_count(self.config)

    def _report(self) -> dict[str, Any]:
        from trackline.sweeps.report import describe

        db = _db(self._api)
        return describe(self._row, db.trials(self._row))

    @property
    def runs(self) -> list[Run]:
        """The sweep's runs that reached the store, in the order their trials were claimed."""
        from trackline.api.public_run import Run

        out = []
        for item in self._report()["runs"]:
            row = self._api.reader.get_run(self.entity, self.project, item["id"])
            if row is not None:
                out.append(Run(self._api, row))
        return out

    def best_run(self, order: str | None = None) -> Run | None:
        """The run with the best ``metric`` (by its goal); ``order`` (``"-summary_metrics.acc"``
        style, or a key name) ranks by another summary key instead."""
        from trackline.api.public_run import Run

        report = self._report()
        if order is None:
            best = report["best_run"]
            row = self._api.reader.get_run(self.entity, self.project, best) if best else None
            return None if row is None else Run(self._api, row)
        key = order.lstrip("+-").removeprefix("summary_metrics.")
        candidates = [r for r in self.runs if isinstance(r.summary.get(key), (int, float))]
        if not candidates:
            return None
        return (max if order.startswith("-") else min)(candidates, key=lambda r: r.summary[key])

    def to_dict(self) -> dict[str, Any]:
        return self._report()

    def __repr__(self) -> str:
        return f"<Sweep {'/'.join(self.path)} ({self.state})>"


def project_sweeps(api: Api, entity: str, project: str) -> list[Sweep]:
    return [Sweep(api, row) for row in _db(api).in_project(entity, project)]

"""The Run object the query API returns (W&B: ``wandb.apis.public.Run``)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from trackline.api.history import _window_rows, sample_steps, scan_rows

if TYPE_CHECKING:
    from trackline.api.api import Api


class PublicRun:
    """A stored run: its identity, state, config, summary and history."""

    def __init__(self, api: Api, row: dict[str, Any]) -> None:
        self._api = api
        self._row = row

    # -- identity and state ----------------------------------------------------------------

    @property
    def id(self) -> str:
        return str(self._row["run_id"])

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
    def name(self) -> str | None:
        return self._row.get("name")

    display_name = name

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
    def config(self) -> dict[str, Any]:
        return {k: v for k, v in (self._row.get("config") or {}).items() if not k.startswith("_")}

    @property
    def summary(self) -> dict[str, Any]:
        return dict(self._row.get("summary") or {})

    summary_metrics = summary

    @property
    def tags(self) -> list[str]:
        return list(self._row.get("tags") or [])

    @property
    def notes(self) -> str | None:
        return self._row.get("notes")

    @property
    def group(self) -> str | None:
        return self._row.get("group")

    @property
    def job_type(self) -> str | None:
        return self._row.get("job_type")

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self._row.get("metadata") or {})

    @property
    def created_at(self) -> str:
        return _iso(self._row["created_at"])

    @property
    def heartbeat_at(self) -> str | None:
        hb = self._row.get("heartbeat_at")
        return None if hb is None else _iso(hb)

    @property
    def runtime(self) -> float | None:
        return self._row.get("runtime")

    @property
    def last_step(self) -> int | None:
        return self._row.get("last_step")

    @property
    def url(self) -> str:
        base = self._api.settings.app_url
        return f"{base}/{self.entity}/{self.project}/runs/{self.id}"

    @property
    def _pk(self) -> int:
        return int(self._row["pk"])

    def __repr__(self) -> str:
        return f"<Run {'/'.join(self.path)} ({self.state})>"

    # -- history ---------------------------------------------------------------------------

    def history_keys(self) -> list[str]:
        """Every metric name logged in this run (dotted for nested keys)."""
        return self._api.store.run_keys(self._pk)

    def _keys(self, keys: list[str] | None) -> list[str]:
        if keys is None:
            return self.history_keys()
        if isinstance(keys, str):
            raise TypeError("keys must be a list of metric names, not a string")
        return list(keys)

    def scan_history(
        self,
        keys: list[str] | None = None,
        page_size: int = 1000,
        min_step: int | None = None,
        max_step: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every row, unsampled, streamed in step order in constant memory.

        With ``keys``, only rows holding all of them are returned (as in W&B).
        """
        wanted = self._keys(keys)
        yield from scan_rows(
            self._api.store,
            self._pk,
            wanted,
            min_step,
            max_step,
            window=max(page_size, 2048),
            require_all=keys is not None,
        )

    def history(
        self,
        samples: int = 500,
        keys: list[str] | None = None,
        x_axis: str = "_step",
        pandas: bool = True,
        stream: str = "default",
    ) -> Any:
        """About ``samples`` rows; each bucket keeps its first/last rows and every key's min and max."""
        wanted = self._keys(keys)
        store = self._api.store
        numeric = store.numeric_history(self._pk, wanted)
        steps_all = [s for s, _ in numeric.values()]
        others = store.value_history(self._pk, wanted)
        for pairs in others.values():
            steps_all.append(np.asarray([p[0] for p in pairs], dtype=np.int64))
        if not steps_all:
            return _frame([], pandas)
        steps = np.unique(np.concatenate(steps_all))
        kept = sample_steps(steps, numeric, samples)
        rows = []
        if len(kept):
            kept_set = set(kept.tolist())
            for row in _window_rows(store, self._pk, wanted, int(kept[0]), int(kept[-1]), keys is not None):
                if row["_step"] in kept_set:
                    rows.append(row)
        if x_axis != "_step":
            rows = [r for r in rows if x_axis in r]
        return _frame(rows, pandas)


def _frame(rows: list[dict[str, Any]], pandas: bool) -> Any:
    if not pandas:
        return rows
    try:
        import pandas as pd
    except ImportError:
        return rows
    return pd.json_normalize(rows) if rows else pd.DataFrame()


def _iso(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

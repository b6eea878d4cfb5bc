"""The Pump: replaying a record log through the handler, with the collector paused per batch."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest

from trackline.records import codec, kinds
from trackline.records.frames import RecordWriter
from trackline.sender.sender import Pump


def _log(path: Path, n: int) -> str:
    w = RecordWriter(str(path))
    w.append(codec.encode([kinds.RUN, {"entity": "e", "project": "p", "run_id": "r", "start_time": 1.0}]))
    for i in range(n):
        w.append(codec.encode([kinds.HISTORY, {"loss": 1.0 / (i + 1)}, None, None, 2.0 + i]))
    w.close()
    return str(path)


@pytest.mark.parametrize("pause", [True, False])
def test_the_collector_is_paused_only_while_a_batch_replays(tmp_path: Path, pause: bool, monkeypatch) -> None:
    pump = Pump(_log(tmp_path / "run.tlog", 50), pause_gc=pause)
    seen: list[bool] = []
    apply = pump.handler.apply

    def spy(seq: int, record: list[Any]) -> None:
        seen.append(gc.isenabled())
        apply(seq, record)

    monkeypatch.setattr(pump.handler, "apply", spy)
    assert gc.isenabled()
    assert pump.pump() == 51
    assert gc.isenabled()
    assert set(seen) == {not pause}
    assert pump.handler.summary["loss"] == 1.0 / 50

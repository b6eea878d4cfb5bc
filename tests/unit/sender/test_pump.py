"""The Pump: replaying a record log through the handler, with the collector paused per batch."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from trackline.records import codec, kinds
from trackline.records.frames import RecordWriter
from trackline.sender.sender import Pump


def _log(path: Path, n: int, tag: str | None = None) -> str:
    """A run of ``n`` log() records; with ``tag`` each also holds a string (rows the block path can't take)."""
    w = RecordWriter(str(path))
    w.append(codec.encode([kinds.RUN, {"entity": "e", "project": "p", "run_id": "r", "start_time": 1.0}]))
    for i in range(n):
        row: dict[str, Any] = {"loss": 1.0 / (i + 1)} if tag is None else {"loss": 1.0 / (i + 1), "tag": tag}
        w.append(codec.encode([kinds.HISTORY, row, None, None, 2.0 + i]))
    w.close()
    return str(path)


@pytest.mark.parametrize("pause", [True, False])
def test_the_collector_is_paused_only_while_a_batch_replays(tmp_path: Path, pause: bool, monkeypatch) -> None:
    pump = Pump(_log(tmp_path / "run.tlog", 50), dedicated=pause)
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


def test_the_sender_child_loads_neither_the_sdk_nor_the_postgresql_dialect(tmp_path: Path) -> None:
    # The child's start-up is on the critical path of finish() after a fast loop.
    import trackline
    from trackline.sender import process

    code = (
        process.BOOT_PACKAGE
        + "import trackline.sender.process\n"
        + "from trackline.sender.sender import Pump\n"
        + "from trackline.storage import open_store\n"
        + "open_store('sqlite:///' + sys.argv[2]).close()\n"
        + "print(' '.join(sorted(sys.modules)))\n"
    )
    pkg_dir = str(Path(trackline.__file__).parent)
    out = subprocess.run(
        [sys.executable, "-c", code, pkg_dir, str(tmp_path / "store.db")],
        capture_output=True, text=True, check=True,
    )
    modules = set(out.stdout.split())
    assert "trackline.storage.sql.writer" in modules and "trackline.runstate.handler" in modules
    unneeded = ("trackline.sdk", "trackline.storage.sql.artifacts", "sqlalchemy.dialects.postgresql")
    assert not {m for m in modules if m.startswith(unneeded)}


@pytest.mark.parametrize("dedicated", [True, False])
def test_only_a_sender_thread_yields_the_gil_during_a_batch(tmp_path: Path, dedicated: bool, monkeypatch) -> None:
    from trackline.sender import sender

    pump = Pump(_log(tmp_path / "run.tlog", 1000, tag="x"), dedicated=dedicated)
    sleeps: list[float] = []
    monkeypatch.setattr(sender.time, "sleep", lambda s: sleeps.append(s))
    assert pump.pump() == 1001
    # A thread yields at least every 256 records (and after each part of the batch's plan).
    assert (len(sleeps) == 0) if dedicated else (1000 // 256 <= len(sleeps) <= 1000 // 256 + 2)
    assert pump.handler.rows == 1000


def test_a_sender_thread_replays_a_loop_as_blocks_and_yields_between_them(tmp_path: Path, monkeypatch) -> None:
    from trackline.sender import sender

    pump = Pump(_log(tmp_path / "run.tlog", 1000))
    sleeps: list[float] = []
    monkeypatch.setattr(sender.time, "sleep", lambda s: sleeps.append(s))
    in_blocks: list[int] = []
    apply_block = pump.handler.apply_block
    monkeypatch.setattr(pump.handler, "apply_block", lambda seq, b: (in_blocks.append(b.rows), apply_block(seq, b)))
    assert pump.pump() == 1001
    assert sum(in_blocks) == 1000  # every log() row went through a block
    assert 2 <= len(sleeps) <= 3  # after the run record, after each block
    assert pump.handler.rows == 1000 and pump.handler.summary["loss"] == 1.0 / 1000


def test_the_child_waits_for_more_records_only_when_the_log_is_drained_and_nobody_waits() -> None:
    from trackline.sender import process

    assert process.next_wait(0, stopping=False) == 0.05  # idle: poll
    assert process.next_wait(3, stopping=False) == process.COALESCE_S  # a trickle: gather a bigger batch
    assert process.next_wait(5000, stopping=False) == 0.0  # a backlog: go on at once
    assert process.next_wait(3, stopping=True) == 0.0  # finish() is waiting: go on at once

"""A log that ends without an exit record (the process was killed): the run is crashed, and
ran until its last record."""

from __future__ import annotations

import pytest

from trackline.records import kinds
from trackline.runstate.handler import RunHandler
from trackline.storage.base import run_duration


def _handler(offset: float = 0.0) -> RunHandler:
    h = RunHandler(b"s")
    h.apply(1, [kinds.RUN, {"run_id": "r", "entity": "e", "project": "p", "start_time": 100.0,
                           "runtime_offset": offset}])
    return h


@pytest.mark.parametrize("offset", [0.0, 30.0])
def test_a_crashed_run_ran_until_its_last_record(offset: float) -> None:
    h = _handler(offset)
    for i in range(5):
        h.apply(2 + i, [kinds.HISTORY, {"loss": 1.0}, None, None, 100.0 + 2.5 * i])
    h.end_of_log()
    fields = h.take().run_fields
    assert fields["state"] == "crashed"
    assert fields["runtime"] == pytest.approx(10.0 + offset)  # the last record at 110.0
    assert "finished_at" not in fields  # nobody saw it end


def test_a_crashed_run_that_logged_nothing_ran_for_no_time() -> None:
    h = _handler()
    h.end_of_log()
    assert h.take().run_fields["runtime"] == 0.0


def test_run_duration_of_rows() -> None:
    base = {"created_at": 100.0, "heartbeat_at": 160.0}
    assert run_duration({**base, "state": "finished", "runtime": 42.0}) == 42.0
    # A run marked crashed without a runtime (a reader saw its process gone, or a store
    # written before crashed runs had one): until its last heartbeat.
    assert run_duration({**base, "state": "crashed", "runtime": None}) == 60.0
    assert run_duration({**base, "state": "crashed", "runtime": None, "finished_at": 130.0}) == 30.0
    # A live run: until now, whatever runtime it wrote last.
    assert run_duration({**base, "state": "running", "runtime": 5.0}, now=200.0) == 100.0
    assert run_duration({"state": "crashed"}) is None

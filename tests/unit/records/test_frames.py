"""Property tests of the record log: round trips, torn tails, corruption."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trackline.records import codec
from trackline.records.frames import (
    FILE_HEADER,
    FRAME_HEADER,
    RecordLogError,
    RecordReader,
    RecordWriter,
    read_all,
)

payloads = st.lists(st.binary(min_size=0, max_size=300), min_size=0, max_size=40)
fast = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def write_log(path: Path, items: list[bytes]) -> list[int]:
    w = RecordWriter(path)
    ends = []
    for item in items:
        w.append(item)
        ends.append(w.bytes_written)
    w.close()
    return ends


@fast
@given(items=payloads)
def test_any_sequence_round_trips(tmp_path: Path, items: list[bytes]) -> None:
    path = tmp_path / f"log-{uuid.uuid4().hex}.tlog"
    write_log(path, items)
    _, frames, dropped = read_all(path)
    assert [f.payload for f in frames] == items
    assert [f.seq for f in frames] == list(range(1, len(items) + 1))
    assert dropped == 0


@fast
@given(items=payloads.filter(bool), data=st.data())
def test_truncation_loses_only_the_torn_record(tmp_path: Path, items: list[bytes], data: st.DataObject) -> None:
    path = tmp_path / f"log-{uuid.uuid4().hex}.tlog"
    ends = write_log(path, items)
    size = data.draw(st.integers(min_value=FILE_HEADER.size, max_value=ends[-1]))
    os.truncate(path, size)
    _, frames, dropped = read_all(path)
    complete = sum(1 for e in ends if e <= size)
    assert [f.payload for f in frames] == items[:complete]
    last_good = ends[complete - 1] if complete else FILE_HEADER.size
    assert dropped == size - last_good


@fast
@given(items=payloads.filter(lambda x: len(x) >= 2), data=st.data())
def test_corruption_keeps_everything_before_it(tmp_path: Path, items: list[bytes], data: st.DataObject) -> None:
    path = tmp_path / f"log-{uuid.uuid4().hex}.tlog"
    ends = write_log(path, items)
    pos = data.draw(st.integers(min_value=FILE_HEADER.size, max_value=ends[-1] - 1))
    raw = bytearray(path.read_bytes())
    raw[pos] ^= 1 + data.draw(st.integers(0, 254))
    path.write_bytes(bytes(raw))
    _, frames, _ = read_all(path)
    # Every frame that ends before the flipped byte is intact and returned.
    intact = sum(1 for e in ends if e <= pos)
    assert [f.payload for f in frames][:intact] == items[:intact]
    # Nothing after the damaged frame is returned as if it were valid.
    assert len(frames) == intact


def test_tailing_sees_frames_as_they_are_written(tmp_path: Path) -> None:
    path = tmp_path / "live.tlog"
    w = RecordWriter(path)
    reader = RecordReader(path)
    assert reader.poll() == []
    w.append(b"one")
    w.append(b"two")
    assert [f.payload for f in reader.poll()] == [b"one", b"two"]
    # A half-written frame is not returned yet, and not reported as corrupt.
    frame = FRAME_HEADER.pack(5, 0, 3) + b"thr"
    with open(path, "ab") as f:
        f.write(frame)
    assert reader.poll() == []
    assert not reader.corrupt
    reader.close()


def test_rejects_files_that_are_not_record_logs(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tlog"
    bad.write_bytes(b"not a log at all, definitely not")
    with pytest.raises(RecordLogError, match="not a trackline record log"):
        RecordReader(bad)
    short = tmp_path / "short.tlog"
    short.write_bytes(b"TL")
    with pytest.raises(RecordLogError, match="too short"):
        RecordReader(short)


def test_writer_refuses_to_append_to_an_existing_log(tmp_path: Path) -> None:
    path = tmp_path / "x.tlog"
    RecordWriter(path).close()
    with pytest.raises(RecordLogError):
        RecordWriter(path)


def test_writer_survives_an_interrupt_after_the_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A KeyboardInterrupt landing right after os.write must not desynchronise seq numbers."""
    path = tmp_path / "k.tlog"
    w = RecordWriter(path)
    w.append(b"a")
    real_write = os.write
    calls = {"n": 0}

    def write_then_interrupt(fd: int, data: bytes) -> int:
        n = real_write(fd, data)
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt
        return n

    monkeypatch.setattr(os, "write", write_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        w.append(b"b")
    monkeypatch.setattr(os, "write", real_write)
    w.append(b"c")
    w.close()
    _, frames, dropped = read_all(path)
    assert [f.payload for f in frames] == [b"a", b"b", b"c"]
    assert dropped == 0


def test_writer_rolls_back_an_interrupted_partial_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "p.tlog"
    w = RecordWriter(path)
    w.append(b"a")
    real_write = os.write

    def partial_then_interrupt(fd: int, data: bytes) -> int:
        real_write(fd, data[:5])
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "write", partial_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        w.append(b"bbbbbbbbbb")
    monkeypatch.setattr(os, "write", real_write)
    w.append(b"c")
    w.close()
    _, frames, dropped = read_all(path)
    assert [f.payload for f in frames] == [b"a", b"c"]
    assert dropped == 0


def test_codec_keeps_nan_inf_ints_and_nesting() -> None:
    value = [2, {"a": float("nan"), "b": float("inf"), "c": -(2**62), "d": {"e": "ü\x00"}}, None, True, 1.5]
    out = codec.decode(codec.encode(value))
    assert out[1]["a"] != out[1]["a"]
    assert out[1]["b"] == float("inf")
    assert out[1]["c"] == -(2**62)
    assert out[1]["d"]["e"] == "ü\x00"
    assert out[2:] == [None, True, 1.5]


def _rows_as_payloads(items: list[Any]) -> list[bytes]:
    out: list[bytes] = []
    for item in items:
        out.extend([item] if isinstance(item, bytes) else [row.tobytes() for row in item])
    return out


# Runs of equal-size payloads (what a training loop writes), mixed with odd sizes.
_runs = st.lists(
    st.one_of(
        st.builds(lambda n, size, seed: [bytes([(seed + i + j) % 256 for j in range(size)]) for i in range(n)],
                  st.integers(1, 12), st.integers(0, 40), st.integers(0, 255)),
        st.lists(st.binary(max_size=50), max_size=3),
    ),
    max_size=8,
).map(lambda parts: [p for part in parts for p in part])


@fast
@given(items=_runs, data=st.data())
def test_poll_rows_gives_what_poll_payloads_gives(tmp_path: Path, items: list[bytes], data: st.DataObject) -> None:
    path = tmp_path / f"log-{uuid.uuid4().hex}.tlog"
    write_log(path, items)
    raw = bytearray(path.read_bytes())
    damage = data.draw(st.sampled_from(["none", "flip", "truncate"]))
    if items and damage == "flip":
        raw[data.draw(st.integers(FILE_HEADER.size, len(raw) - 1))] ^= 0x41
    elif items and damage == "truncate":
        raw = raw[: data.draw(st.integers(FILE_HEADER.size, len(raw)))]
    path.write_bytes(bytes(raw))
    min_run = data.draw(st.integers(2, 5))
    max_bytes = data.draw(st.sampled_from([64, 500, 1 << 20]))
    plain, rows = RecordReader(path), RecordReader(path)
    want: list[bytes] = []
    got: list[Any] = []
    while True:
        first_p, p = plain.poll_payloads(max_bytes)
        first_r, r = rows.poll_rows(max_bytes, min_run=min_run)
        assert first_p == first_r
        want += p
        got += r
        if not p and not r:
            break
    assert _rows_as_payloads(got) == want
    assert (rows.last_seq, rows.corrupt, rows.dropped_bytes) == (plain.last_seq, plain.corrupt, plain.dropped_bytes)
    assert all(len(g) >= min_run for g in got if not isinstance(g, bytes))
    plain.close()
    rows.close()
    if damage == "none":
        assert want == items


def test_poll_rows_gives_a_loop_as_one_array_and_stops_at_a_bad_crc(tmp_path: Path) -> None:
    path = tmp_path / "loop.tlog"
    items = [i.to_bytes(4, "little") * 8 for i in range(200)]
    ends = write_log(path, items)
    raw = bytearray(path.read_bytes())
    raw[ends[149] - 1] ^= 0xFF  # the last payload byte of frame 150
    path.write_bytes(bytes(raw))
    reader = RecordReader(path)
    first, got = reader.poll_rows()
    assert first == 1 and len(got) == 1 and got[0].shape == (149, 32)
    assert _rows_as_payloads(got) == items[:149]
    assert reader.corrupt and reader.last_seq == 149
    reader.close()

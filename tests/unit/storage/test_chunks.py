"""Chunk encoding is lossless for every int64/float64 value and any step order."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trackline.storage import chunks

steps_st = st.lists(st.integers(-(2**40), 2**40), min_size=1, max_size=200)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_round_trip(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 200))
    contiguous = data.draw(st.booleans())
    if contiguous:
        start = data.draw(st.integers(0, 2**40))
        steps = list(range(start, start + n))
    else:
        steps = data.draw(st.lists(st.integers(-(2**40), 2**40), min_size=n, max_size=n))
    kind = data.draw(st.sampled_from(["int", "float", "mixed"]))
    if kind == "int":
        values = data.draw(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n))
    elif kind == "float":
        values = data.draw(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=n, max_size=n))
    else:
        values = data.draw(st.lists(st.one_of(st.integers(-(2**52), 2**52), st.floats()), min_size=n, max_size=n))
    enc = chunks.encode(steps, values)
    s, v = chunks.decode(enc.step_min, enc.n, enc.dtype, enc.steps, enc.values)
    assert s.tolist() == steps
    expected = np.asarray(values, dtype=np.float64 if enc.dtype[0] == "f" else np.int64)
    assert np.array_equal(v, expected, equal_nan=True)
    if contiguous:
        assert enc.steps is None


def test_narrow_dtypes_are_chosen_only_when_exact() -> None:
    assert chunks.encode([0, 1], [1, 2]).dtype == "i4"
    assert chunks.encode([0, 1], [1, 2**40]).dtype == "i8"
    assert chunks.encode([0, 1], [0.5, 0.25]).dtype == "f4"
    assert chunks.encode([0, 1], [0.1, 0.25]).dtype == "f8"
    assert chunks.encode([0, 1], [float("nan"), 1.0]).dtype == "f4"


def test_merge_keeps_the_last_write_per_step() -> None:
    a = (np.array([0, 1, 2]), np.array([1.0, 2.0, 3.0]))
    b = (np.array([1, 3]), np.array([9.0, 4.0]))
    s, v = chunks.merge_series([a, b])
    assert s.tolist() == [0, 1, 2, 3]
    assert v.tolist() == [1.0, 9.0, 3.0, 4.0]


def test_contiguous_chunks_join_in_one_go_and_agree_with_decoding() -> None:
    parts = [chunks.encode(list(range(a, a + 3)), [float(a), a + 0.5, a + 1.0]) for a in (0, 3, 6)]
    rows = [(p.step_min, p.n, p.dtype, p.steps, p.values) for p in parts]
    joined = chunks.join_contiguous(rows)
    assert joined is not None
    s, v = chunks.merge_series([chunks.decode(*r) for r in rows])
    assert joined[0].tolist() == s.tolist() and joined[1].tolist() == v.tolist()
    gap = chunks.encode([10, 11], [1.0, 2.0])
    assert chunks.join_contiguous([*rows, (gap.step_min, gap.n, gap.dtype, gap.steps, gap.values)]) is None
    mixed = chunks.encode([9, 10], [1, 2])  # int chunk after float chunks
    assert chunks.join_contiguous([*rows, (mixed.step_min, mixed.n, mixed.dtype, mixed.steps, mixed.values)]) is None


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1), max_size=300))
def test_pages_keep_every_bit(bits: list[int]) -> None:
    """NaN payloads, -0.0, subnormals and infinities come back bit for bit."""
    v = np.array(bits, dtype=np.uint64).view(np.float64)
    out = chunks.unpack_f8(chunks.pack_f8(v), len(v))
    assert out.view(np.uint64).tolist() == bits


def test_a_page_is_a_byte_stream_split_zstd_frame() -> None:
    """The layout of Parquet's BYTE_STREAM_SPLIT pages, so export can copy it: byte 0 of
    every value, then byte 1 of every value, ..., as one zstd frame."""
    import zstandard

    v = np.array([1.5, -2.25, 1e300, 0.1])
    raw = zstandard.ZstdDecompressor().decompress(chunks.pack_f8(v))
    planes = np.frombuffer(raw, np.uint8).reshape(8, len(v))
    assert np.array_equal(planes.T.copy().view(np.float64).ravel(), v)


def test_pages_of_float32_curves_and_timestamps_are_small() -> None:
    x = np.arange(chunks.CHUNK_POINTS, dtype=np.float64)
    loss = (np.exp(-x / 500) + np.random.default_rng(0).normal(0, 0.02, len(x))).astype(np.float32).astype(float)
    assert len(chunks.pack_f8(loss)) < 4 * len(x)  # below float32's 4 bytes
    assert len(chunks.pack_f8(1.75e9 + x * 0.01)) < 0.5 * len(x)  # timestamps: well below a byte


def test_a_page_of_the_wrong_size_is_an_error() -> None:
    with pytest.raises(ValueError, match="expected 40"):
        chunks.unpack_f8(chunks.pack_f8(np.arange(4.0)), 5)


@settings(max_examples=200, deadline=None)
@given(first=st.integers(-(2**40), 2**40), d=st.integers(1, 1000), n=st.integers(2, 300), data=st.data())
def test_even_span_is_the_range_of_evenly_spaced_steps_only(first: int, d: int, n: int, data: st.DataObject) -> None:
    steps = np.arange(first, first + d * n, d, dtype=np.int64)
    assert chunks.even_span(steps) == (first, first + d * (n - 1))
    # Any change of one step (a gap, a repeat, out of order) makes them uneven.
    i = data.draw(st.integers(0, n - 1))
    delta = data.draw(st.integers(-3 * d, 3 * d).filter(lambda x: x != 0))
    bent = steps.copy()
    bent[i] += delta
    assert chunks.even_span(bent) is None or (i in (0, n - 1) and n == 2)
    assert chunks.even_span(steps[:1]) is None and chunks.even_span(steps[::-1]) is None


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.floats(allow_nan=True), max_size=3000), cut=st.integers(1, 12))
def test_a_frame_says_its_size_only_when_whole(values: list[float], cut: int) -> None:
    """``frame_size`` agrees with zstandard on a whole frame, and refuses one cut short or
    with bytes after it (the export would copy it into a file no reader can open)."""
    import zstandard

    blob = chunks.pack_f8(np.array(values, dtype=np.float64))
    assert chunks.frame_size(blob) == zstandard.frame_content_size(blob) == 8 * len(values)
    assert chunks.frame_size(blob[: max(0, len(blob) - cut)]) == -1
    assert chunks.frame_size(blob + b"\0" * cut) == -1
    checked = zstandard.ZstdCompressor(level=1, write_checksum=True).compress(b"x" * 100 * cut)
    assert chunks.frame_size(checked) == 100 * cut and chunks.frame_size(checked[:-1]) == -1
    assert chunks.frame_size(b"\x00\x11\x22\x33") == -1

"""The Parquet writer of ``trackline export`` (``cli/parquet_file.py``): files it writes read
back exactly in pyarrow and polars, values, nulls, schema, statistics and row-group pruning."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trackline.cli.parquet_file import DoublePage, ParquetFile, _bit_width, _v2_header, double_page
from trackline.cli.thrift_compact import BOOL, I32, STRUCT, encode_struct
from trackline.storage.chunks import CHUNK_POINTS, pack_f8

I64_MIN, I64_MAX = -(1 << 63), (1 << 63) - 1
SCHEMA = [("run_id", "run_id"), ("_step", "step"), ("loss", "double"), ("acc", "double"), ("lr", "double")]
SPECIAL = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 5e-324, -1.7976931348623157e308])


def splits(rng: np.random.Generator, n: int, max_page: int = 700) -> list[tuple[int, int]]:
    """``[0, n)`` cut into pages of 1 to ``max_page`` rows."""
    out, at = [], 0
    while at < n:
        size = int(rng.integers(1, max_page + 1))
        out.append((at, min(n, at + size)))
        at += size
    return out


def float_column(rng: np.random.Generator, n: int, pattern: str) -> tuple[np.ndarray, np.ndarray]:
    """(values for all n rows, defined mask) with ``pattern`` of nulls; special values
    (NaN with a payload, ±inf, -0.0, subnormal) sprinkled in."""
    values = rng.normal(size=n) * 10.0 ** rng.integers(-5, 5, size=n)
    pick = rng.random(n) < 0.08
    values[pick] = rng.choice(SPECIAL, size=int(pick.sum()))
    if n > 3:
        values.view(np.uint64)[3] = 0x7FF8_0000_DEAD_BEEF  # a NaN with a payload, kept bitwise
    if pattern == "all":
        mask = np.ones(n, bool)
    elif pattern == "none":
        mask = np.zeros(n, bool)
    elif pattern == "runs":  # long null and value runs
        mask = (np.arange(n) // 300) % 2 == 0
    else:
        mask = rng.random(n) < float(pattern)
    return values, mask


def double_pages(rng: np.random.Generator, values: np.ndarray, mask: np.ndarray) -> list[DoublePage]:
    pages = []
    for a, b in splits(rng, len(values)):
        m = mask[a:b]
        how = rng.integers(3)
        if how == 0:
            pages.append(double_page(values[a:b][m], m))
        elif how == 1 or not m.all():  # built by hand, as the exporter does from stored chunks
            pages.append(DoublePage(b - a, pack_f8(values[a:b][m]), int(m.sum()), m.copy()))
        else:
            pages.append(DoublePage(b - a, pack_f8(values[a:b]), b - a, None))
    return pages


def write_table(path: Path, seed: int = 0) -> dict[str, list]:
    """Several row groups of several runs; returns what each column should read back:
    run ids, steps, and (values, mask) per float column."""
    rng = np.random.default_rng(seed)
    patterns = {"loss": ["all", "0.5", "none", "runs"], "acc": ["0.9", "all", "0.02", "none"], "lr": ["none", "runs", "all", "0.3"]}
    expect: dict[str, list] = {name: [] for name, _ in SCHEMA}
    with path.open("wb") as raw:
        f = ParquetFile(raw, SCHEMA)
        run = 0
        for g in range(4):
            counts = [int(c) for c in rng.integers(1, 1500, size=int(rng.integers(1, 4)))]
            ids = [f"run-{run + i:03d}" for i in range(len(counts))]
            run += len(counts)
            n = sum(counts)
            steps = np.concatenate([np.arange(c, dtype=np.int64) + 1000 * g for c in counts])
            if g == 2:  # jumps and a negative step in one run
                steps[5:] += 7
                steps[0] = -3
            rg = f.row_group(n)
            rg.run_ids(ids, counts)
            step_pages: list[np.ndarray | range] = [steps[a:b] for a, b in splits(rng, n)]
            if g == 1:  # consecutive runs as ranges
                step_pages = []
                for c in counts:
                    step_pages += [range(1000 * g, 1000 * g + c // 2), range(1000 * g + c // 2, 1000 * g + c)]
            rg.steps(step_pages)
            expect["run_id"] += [i for i, c in zip(ids, counts, strict=True) for _ in range(c)]
            expect["_step"].append(steps)
            for name in ("loss", "acc", "lr"):
                values, mask = float_column(rng, n, patterns[name][g])
                rg.doubles(double_pages(rng, values, mask))
                expect[name].append((values, mask))
        f.close()
    return expect


def check_floats(name: str, values: np.ndarray, nulls: np.ndarray, expect: list) -> None:
    want_values = np.concatenate([v for v, _ in expect])
    want_mask = np.concatenate([m for _, m in expect])
    np.testing.assert_array_equal(~nulls, want_mask, err_msg=name)
    got = np.asarray(values, dtype=np.float64)[want_mask].view(np.uint64)
    np.testing.assert_array_equal(got, want_values[want_mask].view(np.uint64), err_msg=name)


def test_round_trip_in_pyarrow_and_polars(tmp_path: Path) -> None:
    path = tmp_path / "h.parquet"
    expect = write_table(path)
    table = pq.read_table(path)
    assert table.column("run_id").to_pylist() == expect["run_id"]
    np.testing.assert_array_equal(table.column("_step").to_numpy(), np.concatenate(expect["_step"]))
    for name in ("loss", "acc", "lr"):
        col = table.column(name).combine_chunks()
        check_floats(name, col.to_numpy(zero_copy_only=False), col.is_null().to_numpy(zero_copy_only=False), expect[name])

    df = pl.read_parquet(path)
    assert df["run_id"].to_list() == expect["run_id"]
    np.testing.assert_array_equal(df["_step"].to_numpy(), np.concatenate(expect["_step"]))
    for name in ("loss", "acc", "lr"):
        check_floats(name, df[name].to_numpy(), df[name].is_null().to_numpy(), expect[name])


def test_schema(tmp_path: Path) -> None:
    path = tmp_path / "h.parquet"
    write_table(path)
    assert pq.read_schema(path) == pa.schema(
        [
            pa.field("run_id", pa.string(), nullable=False),
            pa.field("_step", pa.int64(), nullable=False),
            pa.field("loss", pa.float64()),
            pa.field("acc", pa.float64()),
            pa.field("lr", pa.float64()),
        ]
    )
    assert pl.read_parquet_schema(path) == {"run_id": pl.String, "_step": pl.Int64, "loss": pl.Float64, "acc": pl.Float64, "lr": pl.Float64}
    md = pq.ParquetFile(path).metadata
    assert md.created_by == "trackline" and md.num_row_groups == 4
    assert md.schema.column(0).logical_type.type == "STRING"


def test_metadata_is_consistent(tmp_path: Path) -> None:
    """Column chunks follow each other, each where its metadata says, and the footer begins
    where the last one ends; every chunk is ZSTD with the encodings it uses."""
    path = tmp_path / "h.parquet"
    write_table(path)
    md = pq.ParquetFile(path).metadata
    at = 4
    encodings = {
        "run_id": {"PLAIN", "RLE", "RLE_DICTIONARY"},
        "_step": {"RLE", "DELTA_BINARY_PACKED"},
        "loss": {"RLE", "BYTE_STREAM_SPLIT"},
    }
    for g in range(md.num_row_groups):
        rg = md.row_group(g)
        sizes = 0
        for j in range(rg.num_columns):
            col = rg.column(j)
            assert col.compression == "ZSTD"
            assert set(col.encodings) == encodings.get(col.path_in_schema, encodings["loss"])
            start = col.dictionary_page_offset if col.has_dictionary_page else col.data_page_offset
            assert start == at
            assert col.has_dictionary_page == (j == 0)
            assert col.num_values == rg.num_rows
            assert col.total_uncompressed_size > 0
            at += col.total_compressed_size
            sizes += col.total_compressed_size
        assert rg.total_byte_size >= sizes * 0.5
    footer = path.stat().st_size - 8 - md.serialized_size
    assert at == footer


def test_a_page_straight_from_pack_f8(tmp_path: Path) -> None:
    """The point of the module: a stored chunk's bytes become a page as they are."""
    values = np.cumsum(np.random.default_rng(1).normal(size=CHUNK_POINTS)).astype(np.float32).astype(np.float64)
    blob = pack_f8(values)
    path = tmp_path / "h.parquet"
    with path.open("wb") as raw:
        f = ParquetFile(raw, [("run_id", "run_id"), ("_step", "step"), ("v", "double")])
        rg = f.row_group(CHUNK_POINTS + 3)
        rg.run_ids(["a"], [CHUNK_POINTS + 3])
        rg.steps([range(0, CHUNK_POINTS + 3)])
        rg.doubles([DoublePage(CHUNK_POINTS, blob, CHUNK_POINTS, None), DoublePage(3, pack_f8([]), 0, np.zeros(3, bool))])
        f.close()
    assert blob in path.read_bytes()
    got = pq.read_table(path).column("v").to_numpy(zero_copy_only=False)
    np.testing.assert_array_equal(got[:CHUNK_POINTS].view(np.uint64), values.view(np.uint64))
    assert np.isnan(got[CHUNK_POINTS:]).all() and pq.read_table(path).column("v").null_count == 3
    assert pl.read_parquet(path)["v"].null_count() == 3


def steps_file(pages: list[np.ndarray | range]) -> bytes:
    buf = io.BytesIO()
    f = ParquetFile(buf, [("_step", "step")])
    f.row_group(sum(len(p) for p in pages)).steps(pages)
    f.close()
    return buf.getvalue()


def read_steps(data: bytes) -> np.ndarray:
    return pq.read_table(pa.BufferReader(data)).column("_step").to_numpy()


STEP_CASES = {
    "consecutive": np.arange(5000, dtype=np.int64) + 10**12,
    "single": np.array([42], np.int64),
    "jumps": np.cumsum(np.random.default_rng(2).integers(1, 1000, size=3001)),
    "negative": -np.arange(129, dtype=np.int64) * 3,
    "unsorted": np.random.default_rng(3).integers(-(10**6), 10**6, size=161),
    "extremes": np.array([I64_MIN, I64_MAX, I64_MIN, 0, I64_MAX, -1, 1, I64_MIN + 1], np.int64),
    "wrapping ones": np.array([I64_MAX - 1, I64_MAX, I64_MIN, I64_MIN + 1], np.int64),
    "constant": np.full(33, -7, np.int64),
    "one jump": np.concatenate([np.arange(100), np.arange(10**15, 10**15 + 100)]).astype(np.int64),
}


@pytest.mark.parametrize("case", sorted(STEP_CASES))
@pytest.mark.parametrize("page", [1, 31, 32, 33, 127, 128, 129, 2048, 10**6])
def test_steps_read_back(case: str, page: int) -> None:
    steps = STEP_CASES[case]
    data = steps_file([steps[a : a + page] for a in range(0, len(steps), page)])
    np.testing.assert_array_equal(read_steps(data), steps)
    np.testing.assert_array_equal(pl.read_parquet(io.BytesIO(data))["_step"].to_numpy(), steps)
    stats = pq.ParquetFile(pa.BufferReader(data)).metadata.row_group(0).column(0).statistics
    assert (stats.min, stats.max, stats.null_count) == (steps.min(), steps.max(), 0)


def test_range_pages() -> None:
    pages: list[np.ndarray | range] = [range(5, 6), range(6, 300), range(I64_MAX - 40, I64_MAX + 1), range(-(2**40), -(2**40) + 3)]
    want = np.concatenate([np.array(list(p), np.int64) for p in pages])
    np.testing.assert_array_equal(read_steps(steps_file(pages)), want)
    with pytest.raises(ValueError, match="int64"):
        steps_file([range(I64_MAX, I64_MAX + 2)])


@pytest.mark.parametrize("step", [1, 2, 10, 1000, 2**40])
@pytest.mark.parametrize("n", [1, 2, 128, 129, 5000])
def test_a_range_of_every_nth_step_is_the_same_page_as_its_array(step: int, n: int) -> None:
    """Evenly spaced steps (a copied page's, every n-th) are encoded from the range, without
    numpy, to the bytes the general encoder writes for the same array."""
    page = range(-(10**12), -(10**12) + n * step, step)
    data = steps_file([page])
    assert data == steps_file([np.array(list(page), np.int64)])
    np.testing.assert_array_equal(read_steps(data), np.array(list(page), np.int64))


int64s = st.integers(min_value=I64_MIN, max_value=I64_MAX)


@st.composite
def step_arrays(draw: st.DrawFn) -> np.ndarray:
    kind = draw(st.sampled_from(["any", "small", "arith", "consecutive"]))
    n = draw(st.integers(1, 700))
    if kind == "any":
        return np.array(draw(st.lists(int64s, min_size=1, max_size=300)), np.int64)
    if kind == "small":
        start = draw(int64s)
        deltas = draw(st.lists(st.integers(-300, 300), min_size=n - 1, max_size=n - 1))
        with np.errstate(over="ignore"):
            return np.cumsum(np.array([start, *deltas], dtype=np.int64), dtype=np.int64)
    start = draw(st.integers(I64_MIN, I64_MAX - 700 * 1000))
    step = 1 if kind == "consecutive" else draw(st.integers(-1000, 1000))
    if step < 0:
        start = draw(st.integers(I64_MIN + 700 * 1000, I64_MAX))
    return start + np.arange(n, dtype=np.int64) * step


@settings(max_examples=150, deadline=None)
@given(steps=step_arrays(), cuts=st.lists(st.integers(0, 700), max_size=6))
def test_steps_property(steps: np.ndarray, cuts: list[int]) -> None:
    bounds = sorted({0, len(steps), *(c for c in cuts if c < len(steps))})
    pages: list[np.ndarray | range] = [steps[a:b] for a, b in itertools.pairwise(bounds)]
    np.testing.assert_array_equal(read_steps(steps_file(pages)), steps)


def test_statistics_and_pruning(tmp_path: Path) -> None:
    path = tmp_path / "h.parquet"
    with path.open("wb") as raw:
        f = ParquetFile(raw, [("run_id", "run_id"), ("_step", "step"), ("v", "double")])
        groups = [(["a", "c"], [100, 50], 0), (["b"], [200], 1000), (["c", "b", "d"], [10, 10, 10], -500)]
        for ids, counts, base in groups:
            n = sum(counts)
            rg = f.row_group(n)
            rg.run_ids(ids, counts)
            rg.steps([np.arange(base, base + n, dtype=np.int64)])
            rg.doubles([double_page(np.arange(n, dtype=np.float64))])
        f.close()
    md = pq.ParquetFile(path).metadata
    for g, (ids, counts, base) in enumerate(groups):
        run_stats = md.row_group(g).column(0).statistics
        assert (run_stats.min, run_stats.max, run_stats.null_count) == (min(ids), max(ids), 0)
        step_stats = md.row_group(g).column(1).statistics
        assert (step_stats.min, step_stats.max, step_stats.null_count) == (base, base + sum(counts) - 1, 0)
        assert md.row_group(g).column(2).statistics is None

    # Pruning: the row groups the statistics leave in, and the rows that match.
    frag = next(iter(ds.dataset(path).get_fragments()))
    kept = lambda expr: [f.row_groups[0].id for f in frag.split_by_row_group(expr)]  # noqa: E731
    assert kept(ds.field("_step") >= 1000) == [1]
    assert kept(ds.field("run_id") == "d") == [2]
    assert kept(ds.field("run_id") == "b") == [0, 1, 2]  # a..c covers b
    assert kept(ds.field("run_id") == "a") == [0]
    assert kept(ds.field("run_id") == "e") == []

    t = pq.read_table(path, filters=[("_step", ">=", 1100)])
    assert t.column("_step").to_pylist() == list(range(1100, 1200))
    assert set(t.column("run_id").to_pylist()) == {"b"}
    t = pq.read_table(path, filters=[("run_id", "==", "b")])
    assert t.column("_step").to_pylist() == list(range(1000, 1200)) + list(range(-490, -480))
    df = pl.scan_parquet(path).filter(pl.col("_step") < -495).collect()
    assert df["_step"].to_list() == list(range(-500, -495)) and df["run_id"].to_list() == ["c"] * 5


def test_many_run_ids() -> None:
    """Dictionary indices wider than a byte, ids that repeat out of order, non-ASCII and
    empty ids; min/max compare UTF-8 bytes."""
    ids = [f"r{i}" for i in range(300)] + ["é", "", "😀", "r5", "é"]
    counts = [1 + i % 3 for i in range(len(ids))]
    n = sum(counts)
    buf = io.BytesIO()
    f = ParquetFile(buf, [("run_id", "run_id"), ("_step", "step")])
    rg = f.row_group(n)
    rg.run_ids(ids, counts)
    rg.steps([range(n)])
    f.close()
    want = [i for i, c in zip(ids, counts, strict=True) for _ in range(c)]
    assert pq.read_table(pa.BufferReader(buf.getvalue())).column("run_id").to_pylist() == want
    assert pl.read_parquet(io.BytesIO(buf.getvalue()))["run_id"].to_list() == want
    stats = pq.ParquetFile(pa.BufferReader(buf.getvalue())).metadata.row_group(0).column(0).statistics
    assert (stats.min, stats.max) == ("", "😀")


def test_bit_width_is_exact() -> None:
    """The float-exponent bit length, where float64 rounds (above 2**53)."""
    values = [0, 1, 2**64 - 1] + [2**k + d for k in range(1, 64) for d in (-1, 0, 1)]
    values += np.random.default_rng(4).integers(0, 2**64, 1000, dtype=np.uint64).tolist()
    got = _bit_width(np.array(values, dtype=np.uint64)).tolist()
    assert got == [v.bit_length() for v in values]


def test_page_headers_match_the_generic_writer() -> None:
    for unc, comp, rows, nulls, enc, dl in [(0, 9, 1, 1, 9, 2), (16387, 9000, 2048, 0, 9, 3), (10**9, 3, 2**31 - 1, 5, 5, 0), (127, 128, 16383, 16384, 8, 2**21)]:
        generic = encode_struct(
            [
                (1, I32, 3),
                (2, I32, unc),
                (3, I32, comp),
                (8, STRUCT, [(1, I32, rows), (2, I32, nulls), (3, I32, rows), (4, I32, enc), (5, I32, dl), (6, I32, 0), (7, BOOL, True)]),
            ]
        )
        assert _v2_header(unc, comp, rows, nulls, enc, dl) == generic


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(["run_id", "step", "double"]), name=st.text(min_size=1, max_size=40),
       numbers=st.lists(st.integers(0, 2**62), min_size=6, max_size=6),
       stats=st.none() | st.tuples(st.binary(max_size=200), st.binary(max_size=200)))
def test_column_chunks_match_the_generic_writer(kind: str, name: str, numbers: list[int],
                                                stats: tuple[bytes, bytes] | None) -> None:
    from trackline.cli.parquet_file import _Chunk, column_chunk_fields

    start, page, values, unc, comp, pages = numbers
    chunk = _Chunk(kind, name, start, page, values, unc, comp, pages, stats)
    file = ParquetFile(io.BytesIO(), [(name, kind)])
    assert file._column_chunk(chunk) == encode_struct(column_chunk_fields(chunk))
    assert file._column_chunk(chunk) == encode_struct(column_chunk_fields(chunk))  # the cached head too


class Sink:
    """An output without tell() or seek(), like a pipe."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)


def small_file(raw: object) -> None:
    f = ParquetFile(raw, [("run_id", "run_id"), ("_step", "step"), ("v", "double")])
    rg = f.row_group(3)
    rg.run_ids(["x"], [3])
    rg.steps([np.array([1, 2, 3])])
    rg.doubles([double_page([1.0, 2.0], np.array([True, False, True]))])
    f.close()


def test_an_unseekable_output() -> None:
    sink, buf = Sink(), io.BytesIO()
    small_file(sink)
    small_file(buf)
    data = b"".join(sink.parts)
    assert data == buf.getvalue() and not buf.closed
    assert pq.read_table(pa.BufferReader(data)).column("v").to_pylist() == [1.0, None, 2.0]


def test_errors() -> None:
    buf = io.BytesIO()
    f = ParquetFile(buf, [("run_id", "run_id"), ("_step", "step"), ("loss", "double"), ("acc", "double")])
    rg = f.row_group(10)
    with pytest.raises(ValueError, match="'run_id'"):
        rg.run_ids(["a", "b"], [4, 5])
    with pytest.raises(ValueError, match=r"'run_id' \(run_id\) is next"):
        rg.steps([np.arange(10)])
    size = len(buf.getvalue())
    with pytest.raises(ValueError, match="'run_id'"):
        rg.run_ids(["a"], [11])
    assert len(buf.getvalue()) == size  # nothing of a rejected column is written
    rg.run_ids(["a", "b"], [4, 6])
    with pytest.raises(ValueError, match="'_step'"):
        rg.steps([np.arange(4), np.arange(5)])
    with pytest.raises(ValueError, match="'_step'"):
        rg.steps([range(0, 11)])
    with pytest.raises(ValueError, match=r"'_step' \(step\) is next"):
        rg.doubles([double_page(np.zeros(10))])
    with pytest.raises(ValueError, match="not complete"):
        f.row_group(5)
    with pytest.raises(ValueError, match="not complete"):
        f.close()
    rg.steps([np.arange(10)])
    with pytest.raises(ValueError, match="'loss'"):
        rg.doubles([double_page(np.zeros(4)), double_page(np.zeros(5))])
    with pytest.raises(ValueError, match="'loss': a page's values are not a zstd frame"):
        rg.doubles([DoublePage(10, b"not zstd", 10, None)])
    with pytest.raises(ValueError, match="'loss': a page's mask"):  # the mask and num_values disagree
        rg.doubles([DoublePage(10, pack_f8(np.zeros(3)), 3, np.ones(10, bool))])
    with pytest.raises(ValueError, match="frame holds"):  # the frame and num_values disagree
        rg.doubles([DoublePage(10, pack_f8(np.zeros(9)), 10, None)])
    rg.doubles([double_page(np.zeros(10))])
    with pytest.raises(ValueError, match="'acc'"):
        rg.doubles([double_page(np.zeros(3), np.array([True] * 3 + [False] * 6))])
    rg.doubles([double_page(np.zeros(3), np.array([True] * 3 + [False] * 7))])
    with pytest.raises(ValueError, match="complete"):
        rg.doubles([double_page(np.zeros(10))])
    with pytest.raises(ValueError, match="at least one row"):
        f.row_group(0)
    with pytest.raises(ValueError, match="defines 2 rows"):
        double_page(np.zeros(3), np.array([True, True, False]))
    f.close()
    assert pq.read_table(pa.BufferReader(buf.getvalue())).num_rows == 10
    with pytest.raises(ValueError, match="unknown kind"):
        ParquetFile(io.BytesIO(), [("x", "float")])


def test_a_struct_encoded_already_is_written_as_it_is() -> None:
    """Row groups are encoded as each ends; the footer splices the bytes in."""
    from trackline.cli.thrift_compact import I64, LIST

    inner = [(1, I32, 7), (3, I64, -5), (4, LIST, (STRUCT, [[(1, BOOL, True)]]))]
    whole = [(1, I32, 2), (4, LIST, (STRUCT, [inner, inner])), (5, STRUCT, inner)]
    spliced = [(1, I32, 2), (4, LIST, (STRUCT, [encode_struct(inner)] * 2)), (5, STRUCT, encode_struct(inner))]
    assert encode_struct(spliced) == encode_struct(whole)

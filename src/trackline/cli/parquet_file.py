"""A small Parquet file writer that takes float pages already compressed.

Beside its raw chunks, the store keeps float history as pages whose bytes are exactly the
values section of a Parquet ``BYTE_STREAM_SPLIT`` page compressed by ZSTD
(:func:`trackline.storage.chunks.pack_f8`, table ``history_pages``). ``trackline export``
(``cli/export_pages.py``) copies those blobs straight into ``DATA_PAGE_V2`` pages here
instead of encoding the values again with pyarrow, whose writer cannot take pre-compressed
pages.

The files hold one fixed kind of table: a dictionary-encoded ``run_id`` string, an int64
step (``DELTA_BINARY_PACKED``), and nullable float64 columns, every page ZSTD-compressed,
with min/max statistics on ``run_id`` and the step so readers prune row groups by either.
pyarrow and polars read them (``tests/unit/cli/test_parquet_file.py``).

What costs time is per-page Python work, so the headers of data pages are built from
cached bytes rather than through the generic Thrift writer (:mod:`trackline.cli.thrift_compact`,
used for the footer). Measured (2 cores, 2048-point pages packed beforehand, output
discarded) on 100 row groups of 100,000 rows, run_id + step + three all-defined float
columns, ~19,800 pages: 31 ms when consecutive steps come as ``range`` pages, 47 ms as
arrays (checking an array for consecutive steps is ~2 us); 1.2 us a float page, 2.1 us a
step page. With a 90% mask on every float page, 57 ms. Writing that file (97 MB) to /tmp
took 76-93 ms, a plain write of the same bytes 20-70 ms.

No pyarrow here: ``import pyarrow.parquet`` costs ~55 ms on top of numpy; this module ~4 ms.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

import zstandard

from trackline.cli.thrift_compact import (
    BINARY,
    BOOL,
    I16,
    I32,
    I64,
    LIST,
    STRUCT,
    Field,
    encode_struct,
    uvarint,
    zigzag,
)
from trackline.lazy import LazyModule
from trackline.storage.chunks import pack_f8

# numpy when a page is built from values here; a copied page needs none (``lazy``).
if TYPE_CHECKING:
    import numpy as np
else:
    np = LazyModule("numpy", globals(), "np")

MAGIC = b"PAR1"
KINDS = ("run_id", "step", "double")

# parquet.thrift enums.
_INT64, _DOUBLE, _BYTE_ARRAY = 2, 5, 6  # Type
_REQUIRED, _OPTIONAL = 0, 1  # FieldRepetitionType
_UTF8 = 0  # ConvertedType
_PLAIN, _RLE, _DELTA_BINARY_PACKED, _RLE_DICTIONARY, _BYTE_STREAM_SPLIT = 0, 3, 5, 8, 9  # Encoding
_ZSTD = 6  # CompressionCodec
_DICTIONARY_PAGE, _DATA_PAGE_V2 = 2, 3  # PageType

_compressor = zstandard.ZstdCompressor(level=1)
_frame_content_size = zstandard.frame_content_size
_ONE_BYTE = [bytes((i,)) for i in range(128)]
_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1
#: The DELTA_BINARY_PACKED header constants: 128 values a block, 4 miniblocks of 32.
_DELTA_HEAD = b"\x80\x01\x04"
#: A block's four miniblock bit widths when all its deltas are equal (its minimum): zero.
_DELTA_EVEN_WIDTHS = b"\x00\x00\x00\x00"


def _uv(n: int) -> bytes:
    """:func:`uvarint` without a loop up to 2**28 (page sizes, most steps): ~0.1 us instead
    of ~0.5."""
    if n < 0x80:
        return _ONE_BYTE[n]
    if n < 0x4000:
        return bytes(((n & 0x7F) | 0x80, n >> 7))
    if n < 0x200000:
        return bytes(((n & 0x7F) | 0x80, ((n >> 7) & 0x7F) | 0x80, n >> 14))
    if n < 0x10000000:
        return bytes(((n & 0x7F) | 0x80, ((n >> 7) & 0x7F) | 0x80, ((n >> 14) & 0x7F) | 0x80, n >> 21))
    return uvarint(n)


_v2_tails: dict[tuple[int, int, int, int], bytes] = {}


def _v2_header(
    uncompressed: int, compressed: int, num_rows: int, num_nulls: int, encoding: int, def_len: int
) -> bytes:
    """A ``PageHeader`` of a ``DATA_PAGE_V2``, Thrift compact, built by hand: ~0.5 us, where
    the generic :func:`encode_struct` takes ~3.6 us (measured). Only the two sizes change
    from page to page; the rest (the nested header, whose fields depend on the rows, nulls,
    encoding and levels length) is cached. ``test_page_headers_match_the_generic_writer``
    checks the bytes against :func:`encode_struct`.

    Fields: 1 type, 2 uncompressed_page_size, 3 compressed_page_size, then 8
    data_page_header_v2 (1 num_values, 2 num_nulls, 3 num_rows, 4 encoding,
    5 definition_levels_byte_length, 6 repetition_levels_byte_length = 0,
    7 is_compressed = true) and two stops."""
    key = (num_rows, num_nulls, encoding, def_len)
    tail = _v2_tails.get(key)
    if tail is None:
        tail = b"".join(
            (
                b"\x5c\x15",  # field 8, a struct; its field 1, an i32
                _uv(num_rows << 1),  # num_values (rows, nulls included: flat columns)
                b"\x15",
                _uv(num_nulls << 1),
                b"\x15",
                _uv(num_rows << 1),
                b"\x15",
                _uv(encoding << 1),
                b"\x15",
                _uv(def_len << 1),
                b"\x15\x00\x11\x00\x00",  # 6: 0; 7: true (in the field header); stop; stop
            )
        )
        if len(_v2_tails) < 4096:
            _v2_tails[key] = tail
    return b"\x15\x06\x15" + _uv(uncompressed << 1) + b"\x15" + _uv(compressed << 1) + tail


def _dictionary_header(uncompressed: int, compressed: int, num_values: int) -> bytes:
    return encode_struct(
        [
            (1, I32, _DICTIONARY_PAGE),
            (2, I32, uncompressed),
            (3, I32, compressed),
            (7, STRUCT, [(1, I32, num_values), (2, I32, _PLAIN)]),
        ]
    )


# ---------------------------------------------------------------------------- pages


@dataclass
class DoublePage:
    """One page of a float64 column, its values already encoded and compressed."""

    num_rows: int  #: rows the page covers
    #: zstd frame of the byte-stream-split float64 values of the defined rows only
    #: (:func:`trackline.storage.chunks.pack_f8` output)
    values: bytes
    num_values: int  #: how many defined values are in ``values``
    #: bool mask of length ``num_rows`` (True = has a value); None = all defined
    defined: np.ndarray | None = None


def double_page(values: np.ndarray, defined: np.ndarray | None = None) -> DoublePage:
    """Encode a page from an array: ``values`` are the defined values only (float64),
    ``defined`` the row mask (None: all rows defined)."""
    v = np.asarray(values, dtype=np.float64)
    if defined is None:
        return DoublePage(len(v), pack_f8(v), len(v), None)
    mask = np.asarray(defined, dtype=bool)
    n = int(np.count_nonzero(mask))
    if n != len(v):
        raise ValueError(f"the mask defines {n} rows but {len(v)} values were given")
    return DoublePage(len(mask), pack_f8(v), n, None if n == len(mask) else mask)


_all_defined: dict[int, bytes] = {}


def _definition_levels(page: DoublePage, column: str = "") -> tuple[bytes, int]:
    """The page's definition levels (max level 1, bit width 1) as the RLE/bit-packed hybrid
    without the length prefix (a V2 header holds the length), and its null count."""
    rows, defined = page.num_rows, page.defined
    if defined is None:
        if page.num_values != rows:
            raise ValueError(f"column {column!r}: a page without a mask holds {page.num_values} values for {rows} rows")
        levels = _all_defined.get(rows)
        if levels is None:  # one RLE run of 1s
            levels = _uv(rows << 1) + b"\x01"
            if len(_all_defined) < 4096:
                _all_defined[rows] = levels
        return levels, 0
    if len(defined) != rows:
        raise ValueError(f"column {column!r}: a page of {rows} rows has a mask of {len(defined)}")
    count = int(np.count_nonzero(defined))
    if count != page.num_values:
        raise ValueError(f"column {column!r}: a page's mask defines {count} rows but it holds {page.num_values} values")
    if count == rows:
        return _uv(rows << 1) + b"\x01", 0
    if count == 0:  # one RLE run of 0s
        return _uv(rows << 1) + b"\x00", rows
    # One bit-packed run: groups of 8 levels, the first in the lowest bit.
    bits = np.packbits(np.asarray(defined, dtype=bool), bitorder="little").tobytes()
    return _uv(len(bits) << 1 | 1) + bits, rows - count


def _bit_width(x: np.ndarray) -> np.ndarray:
    """Bits needed for each uint64 in ``x`` (0 for 0), from the float exponent: exact below
    2**53; above, the conversion may round up to the next power of two, which the shift
    test undoes. ~4 us for a page's 64 miniblocks, where a binary search on shifts took 20."""
    width = np.frexp(x.astype(np.float64))[1].astype(np.int64)
    np.minimum(width, 64, out=width)
    big = width > 53
    if big.any():
        w = width[big]
        width[big] = w - ((x[big] >> (w - 1).astype(np.uint64)) == 0)
    return width


def _bit_pack(mini: np.ndarray, widths: np.ndarray) -> bytes:
    """Miniblocks (rows of 32 uint64) bit-packed at their widths, one after another: the low
    ``width`` bits of each value, value after value, LSB first (32 x width bits: whole
    bytes). Vectorised by width, as a page's miniblocks share few: 20-45 us a 2048-value
    page (a boolean mask over all the bits at once took 1.5-2x that)."""
    top = int(widths.max())
    if not top:  # a constant delta in every block (steps logged every k): no bodies
        return b""
    low = mini.view(np.uint8).reshape(-1, 32, 8)[:, :, : (top + 7) // 8]  # little endian
    bits = np.unpackbits(low, axis=2, bitorder="little")
    sizes = widths * 4
    ends = np.cumsum(sizes)
    starts = ends - sizes
    out = np.empty(int(ends[-1]), np.uint8)
    for w in np.unique(widths).tolist():
        if w:
            idx = np.flatnonzero(widths == w)
            packed = np.packbits(bits[idx, :, :w].reshape(len(idx), 32 * w), axis=1, bitorder="little")
            out[(starts[idx][:, None] + np.arange(4 * w)).reshape(-1)] = packed.reshape(-1)
    return out.tobytes()


def _delta_even(first: int, n: int, step: int = 1) -> bytes:
    """DELTA_BINARY_PACKED of ``first, first + step, ...`` (``n`` values): every block's
    deltas are its minimum, so every miniblock has bit width 0 and no body."""
    blocks = (n + 126) // 128  # over the n - 1 deltas
    return _DELTA_HEAD + _uv(n) + _uv(zigzag(first)) + (_uv(zigzag(step)) + _DELTA_EVEN_WIDTHS) * blocks


def _delta_binary_packed(values: np.ndarray, deltas: np.ndarray) -> bytes:
    """DELTA_BINARY_PACKED of int64 ``values`` (``deltas`` = their differences, wrapped mod
    2**64 as readers add them back): each block of 128 deltas stores its minimum, then four
    miniblocks of 32 ``delta - minimum``, each bit-packed at the width its largest needs."""
    n = len(values)
    head = _DELTA_HEAD + _uv(n) + _uv(zigzag(int(values[0])))
    nd = n - 1
    if nd <= 0:
        return head
    nblocks = -(-nd // 128)
    flat = np.full(nblocks * 128, np.iinfo(np.int64).max, np.int64)  # padding: not a minimum
    flat[:nd] = deltas
    blocks = flat.reshape(nblocks, 128)
    mins = blocks.min(axis=1)
    with np.errstate(over="ignore"):
        rel = (blocks - mins[:, None]).view(np.uint64).reshape(-1)
    rel[nd:] = 0  # the last miniblock's padding; miniblocks past the values get width 0
    mini = rel.reshape(nblocks * 4, 32)
    widths = _bit_width(np.bitwise_or.reduce(mini, axis=1))
    body = _bit_pack(mini, widths)
    block_bytes = (widths.reshape(nblocks, 4).sum(axis=1) * 4).tolist()
    width_bytes = widths.astype(np.uint8).tobytes()
    parts = [head]
    at = 0
    for b, (lo, size) in enumerate(zip(mins.tolist(), block_bytes, strict=True)):
        parts += (_uv(zigzag(lo)), width_bytes[4 * b : 4 * b + 4], body[at : at + size])
        at += size
    return b"".join(parts)


# ---------------------------------------------------------------------------- the file


@dataclass
class _Chunk:
    """What the footer says of one column chunk."""

    kind: str
    name: str
    start: int
    data_page_offset: int
    num_values: int
    uncompressed: int
    compressed: int
    pages: int
    stats: tuple[bytes, bytes] | None


_COLUMN_TYPE = {"run_id": _BYTE_ARRAY, "step": _INT64, "double": _DOUBLE}
_ENCODINGS = {
    "run_id": [_PLAIN, _RLE, _RLE_DICTIONARY],
    "step": [_RLE, _DELTA_BINARY_PACKED],
    "double": [_RLE, _BYTE_STREAM_SPLIT],
}
_DATA_ENCODING = {"run_id": _RLE_DICTIONARY, "step": _DELTA_BINARY_PACKED, "double": _BYTE_STREAM_SPLIT}


class ParquetFile:
    """A Parquet file of ``columns``, ``(name, kind)`` with kind in :data:`KINDS`:

    * ``"run_id"``: REQUIRED BYTE_ARRAY, logical type STRING, dictionary-encoded;
    * ``"step"``: REQUIRED INT64, DELTA_BINARY_PACKED;
    * ``"double"``: OPTIONAL DOUBLE, BYTE_STREAM_SPLIT.

    Write row groups with :meth:`row_group`, then :meth:`close`. ``raw`` is any binary
    object with ``write``; offsets are counted here, so it need not be seekable (a pipe)."""

    def __init__(self, raw: IO[bytes] | Any, columns: list[tuple[str, str]], created_by: str = "trackline") -> None:
        for name, kind in columns:
            if kind not in KINDS:
                raise ValueError(f"column {name!r}: unknown kind {kind!r} (one of {', '.join(KINDS)})")
        if len({name for name, _ in columns}) != len(columns):
            raise ValueError("column names must be unique")
        self.raw, self.columns, self.created_by = raw, list(columns), created_by
        self.offset = 0
        # (num_rows, its RowGroup struct): encoded as each group ends, on the writing thread
        # while the next group is read, instead of all at once in close() (~17 ms of Thrift
        # in Python for 100 row groups, a sixth of a 10M-row export).
        self._row_groups: list[tuple[int, bytes]] = []
        self._chunk_heads: dict[str, bytes] = {}
        self._open: RowGroup | None = None
        self._closed = False
        self._write(MAGIC)

    def _write(self, data: bytes) -> None:
        self.raw.write(data)
        self.offset += len(data)

    def row_group(self, num_rows: int) -> RowGroup:
        """A row group of ``num_rows`` (>= 1) rows: write its columns in schema order."""
        if self._closed:
            raise ValueError("the Parquet file is closed")
        if self._open is not None:
            raise ValueError(f"row group {len(self._row_groups)} is not complete: column {self._open.next_column!r} is missing")
        if num_rows < 1:
            raise ValueError(f"a row group needs at least one row, not {num_rows}")
        self._open = RowGroup(self, num_rows)
        return self._open

    def _finish(self, group: RowGroup) -> None:
        chunks, ordinal = group.chunks, len(self._row_groups)
        encoded = encode_struct([
            (1, LIST, (STRUCT, [self._column_chunk(c) for c in chunks])),
            (2, I64, sum(c.uncompressed for c in chunks)),
            (3, I64, group.num_rows),
            (5, I64, group.start),
            (6, I64, sum(c.compressed for c in chunks)),
            (7, I16, ordinal if ordinal < 1 << 15 else None),
        ])
        self._row_groups.append((group.num_rows, encoded))
        self._open = None

    def close(self) -> None:
        """Write the footer: FileMetaData (Thrift compact), its length (4 bytes, little
        endian), ``PAR1``. Does not close ``raw``."""
        if self._closed:
            return
        if self._open is not None:
            raise ValueError(f"row group {len(self._row_groups)} is not complete: column {self._open.next_column!r} is missing")
        footer = encode_struct(self._file_metadata())
        self._write(footer + struct.pack("<I", len(footer)) + MAGIC)
        self._closed = True

    def _file_metadata(self) -> list[Field]:
        schema: list[Any] = [[(4, BINARY, "schema"), (5, I32, len(self.columns))]]
        for name, kind in self.columns:
            element: list[Field] = [
                (1, I32, _COLUMN_TYPE[kind]),
                (3, I32, _OPTIONAL if kind == "double" else _REQUIRED),
                (4, BINARY, name),
            ]
            if kind == "run_id":
                element += [(6, I32, _UTF8), (10, STRUCT, [(1, STRUCT, [])])]  # STRING
            schema.append(element)
        return [
            (1, I32, 2),
            (2, LIST, (STRUCT, schema)),
            (3, I64, sum(g[0] for g in self._row_groups)),
            (4, LIST, (STRUCT, [encoded for _, encoded in self._row_groups])),
            (6, BINARY, self.created_by),
            # TYPE_ORDER for every column: without column_orders, readers ignore min_value
            # and max_value (the statistics of run_id and the step).
            (7, LIST, (STRUCT, [[(1, STRUCT, [])]] * len(self.columns))),
        ]

    def _column_chunk(self, c: _Chunk) -> bytes:
        """A ``ColumnChunk`` (Thrift compact) built by hand: the generic :func:`encode_struct`
        of :func:`column_chunk_fields` spent ~17 ms on the 500 of a 10M-row export, on the
        writing thread. What depends only on the column is encoded once.
        ``test_column_chunks_match_the_generic_writer`` checks the bytes against it."""
        head = self._chunk_heads.get(c.name)
        if head is None:
            head = self._chunk_heads[c.name] = _chunk_head(c)
        out = [b"\x26", _uv(c.start << 1), b"\x1c", head,  # 2: file_offset; 3: meta_data, fields 1-4
               b"\x16", _uv(c.num_values << 1), b"\x16", _uv(c.uncompressed << 1),  # 5, 6
               b"\x16", _uv(c.compressed << 1), b"\x26", _uv(c.data_page_offset << 1)]  # 7, 9
        last = 9
        if c.kind == "run_id":
            out += (b"\x26", _uv(c.start << 1))  # 11: dictionary_page_offset
            last = 11
        if c.stats is not None:
            lo, hi = c.stats
            # 12: statistics: 3 null_count 0, 5 max_value, 6 min_value, 7 and 8 exact (true), stop
            out += (bytes(((12 - last) << 4 | STRUCT,)), b"\x36\x00\x28", _uv(len(hi)), hi,
                    b"\x18", _uv(len(lo)), lo, b"\x11\x11\x00")
            last = 12
        # 13: encoding_stats, up to the data pages' count; then the stops of its last entry,
        # of meta_data and of the ColumnChunk.
        out += (bytes(((13 - last) << 4 | LIST,)), _PAGE_STATS[c.kind], _uv(c.pages << 1), b"\x00\x00\x00")
        return b"".join(out)


def column_chunk_fields(c: _Chunk) -> list[Field]:
    """A column chunk's footer entry as Thrift fields (what :meth:`ParquetFile._column_chunk`
    writes by hand)."""
    stats = None
    if c.stats is not None:
        lo, hi = c.stats
        stats = [(3, I64, 0), (5, BINARY, hi), (6, BINARY, lo), (7, BOOL, True), (8, BOOL, True)]
    meta: list[Field] = [
        *_head_fields(c.kind, c.name),
        (5, I64, c.num_values),
        (6, I64, c.uncompressed),
        (7, I64, c.compressed),
        (9, I64, c.data_page_offset),
        (11, I64, c.start if c.kind == "run_id" else None),
        (12, STRUCT, stats),
        (13, LIST, (STRUCT, [*_dictionary_stats(c.kind), [*_data_stats(c.kind), (3, I32, c.pages)]])),
    ]
    # file_offset: the chunk's first page, as parquet-mr writes it (the field is
    # deprecated; readers locate pages by the offsets in meta_data).
    return [(2, I64, c.start), (3, STRUCT, meta)]


def _head_fields(kind: str, name: str) -> list[Field]:
    return [(1, I32, _COLUMN_TYPE[kind]), (2, LIST, (I32, _ENCODINGS[kind])), (3, LIST, (BINARY, [name])),
            (4, I32, _ZSTD)]


def _dictionary_stats(kind: str) -> list[list[Field]]:
    return [[(1, I32, _DICTIONARY_PAGE), (2, I32, _PLAIN), (3, I32, 1)]] if kind == "run_id" else []


def _data_stats(kind: str) -> list[Field]:
    return [(1, I32, _DATA_PAGE_V2), (2, I32, _DATA_ENCODING[kind])]


def _chunk_head(c: _Chunk) -> bytes:
    """Fields 1-4 of a column's ``ColumnMetaData``, without the struct's stop."""
    return encode_struct(_head_fields(c.kind, c.name))[:-1]


def _page_stats(kind: str) -> bytes:
    """Field 13's list header and entries, up to the data pages' count (an i32 field 3)."""
    entries = [*_dictionary_stats(kind), _data_stats(kind)]
    out = bytes((len(entries) << 4 | STRUCT,))
    for entry in entries[:-1]:
        out += encode_struct(entry)
    return out + encode_struct(entries[-1])[:-1] + b"\x15"


_PAGE_STATS = {kind: _page_stats(kind) for kind in _ENCODINGS}


class RowGroup:
    """One row group of a :class:`ParquetFile`. Write each column exactly once, in schema
    order, with the method of its kind; each column's pages must cover ``num_rows`` rows.
    A column is buffered whole and checked before any of it is written, so a ValueError
    leaves the file as it was."""

    def __init__(self, file: ParquetFile, num_rows: int) -> None:
        self.file, self.num_rows = file, num_rows
        self.start = file.offset
        self.chunks: list[_Chunk] = []

    @property
    def next_column(self) -> str | None:
        i = len(self.chunks)
        return self.file.columns[i][0] if i < len(self.file.columns) else None

    def _begin(self, kind: str) -> str:
        if self.file._open is not self:
            raise ValueError("this row group is complete")
        name, expected = self.file.columns[len(self.chunks)]
        if expected != kind:
            raise ValueError(f"column {name!r} ({expected}) is next in the schema, not a {kind} column")
        return name

    def _check_rows(self, name: str, rows: int) -> None:
        if rows != self.num_rows:
            raise ValueError(f"column {name!r}: its pages hold {rows} rows, the row group {self.num_rows}")

    def _end(self, chunk: _Chunk, parts: list[bytes]) -> None:
        # One write a column chunk: writing page by page through a BufferedWriter (8 KiB
        # flushes) measured 1.8x slower than joining first.
        self.file._write(b"".join(parts))
        self.chunks.append(chunk)
        if len(self.chunks) == len(self.file.columns):
            self.file._finish(self)

    def run_ids(self, ids: list[str], counts: Sequence[int]) -> None:
        """The run_id column: ``counts[i]`` rows of ``ids[i]``, in order. A PLAIN dictionary
        page of the distinct ids, then one page of their indices, one RLE run per entry.
        Statistics: min/max (UTF-8 bytes order), null count 0."""
        name = self._begin("run_id")
        if len(ids) != len(counts):
            raise ValueError(f"column {name!r}: {len(ids)} ids but {len(counts)} counts")
        index: dict[str, int] = {}
        runs: list[tuple[int, int]] = []
        for run, count in zip(ids, counts, strict=True):
            count = int(count)
            if count < 0:
                raise ValueError(f"column {name!r}: a negative count ({count}) for {run!r}")
            if count:
                runs.append((index.setdefault(run, len(index)), count))
        self._check_rows(name, sum(c for _, c in runs))
        entries = [run.encode() for run in index]
        plain = b"".join(struct.pack("<I", len(e)) + e for e in entries)
        width = max(1, (len(entries) - 1).bit_length())
        nbytes = (width + 7) // 8
        indices = bytes((width,)) + b"".join(uvarint(c << 1) + i.to_bytes(nbytes, "little") for i, c in runs)
        dict_body = _compressor.compress(plain)
        dict_header = _dictionary_header(len(plain), len(dict_body), len(entries))
        data_body = _compressor.compress(indices)
        data_header = _v2_header(len(indices), len(data_body), self.num_rows, 0, _RLE_DICTIONARY, 0)
        start = self.file.offset
        first_data = start + len(dict_header) + len(dict_body)
        headers = len(dict_header) + len(data_header)
        self._end(
            _Chunk(
                "run_id", name, start, first_data, self.num_rows,
                headers + len(plain) + len(indices), headers + len(dict_body) + len(data_body),
                1, (min(entries), max(entries)),
            ),
            [dict_header, dict_body, data_header, data_body],
        )  # fmt: skip

    def steps(self, pages: Iterable[np.ndarray | range]) -> None:
        """The step column: one DELTA_BINARY_PACKED page per int64 array. A ``range`` page
        (increasing: every step, or every n-th) is encoded without an array, or numpy: the
        store keeps evenly spaced steps implicitly, and checking an array for it costs ~2 us
        a 2048-step page.
        Statistics: min/max (signed), null count 0."""
        name = self._begin("step")
        parts: list[bytes] = []
        rows = unc = comp = npages = 0
        lo = hi = None
        for page in pages:
            if isinstance(page, range) and page.step >= 1:
                n = len(page)
                if not n:
                    continue
                pmin, pmax = page[0], page[-1]
                if pmin < _I64_MIN or pmax > _I64_MAX or page.step > _I64_MAX:
                    raise ValueError(f"column {name!r}: steps {page} do not fit in int64")
                data = _delta_even(pmin, n, page.step)
            else:
                a = np.asarray(page, dtype=np.int64)
                n = len(a)
                if not n:
                    continue
                if a.ndim != 1:
                    raise ValueError(f"column {name!r}: a page of steps must be one-dimensional")
                first, last = int(a[0]), int(a[-1])
                d = a[1:] - a[:-1]  # wraps mod 2**64, as readers add the deltas back
                # The span rules out deltas of 1 that wrapped (2**63 - 1, then -2**63).
                if last - first == n - 1 and np.count_nonzero(d == 1) == n - 1:
                    pmin, pmax = first, last
                    data = _delta_even(first, n)
                else:
                    pmin, pmax = int(a.min()), int(a.max())
                    data = _delta_binary_packed(a, d)
            lo = pmin if lo is None or pmin < lo else lo
            hi = pmax if hi is None or pmax > hi else hi
            body = _compressor.compress(data)
            header = _v2_header(len(data), len(body), n, 0, _DELTA_BINARY_PACKED, 0)
            parts += (header, body)
            rows += n
            unc += len(header) + len(data)
            comp += len(header) + len(body)
            npages += 1
        self._check_rows(name, rows)
        assert lo is not None and hi is not None  # num_rows >= 1
        start = self.file.offset
        stats = (struct.pack("<q", lo), struct.pack("<q", hi))
        self._end(_Chunk("step", name, start, start, rows, unc, comp, npages, stats), parts)

    def doubles(self, pages: Iterable[DoublePage]) -> None:
        """The next float64 column: one BYTE_STREAM_SPLIT page per :class:`DoublePage`, its
        values copied as they are, after the definition levels (uncompressed, as V2 pages
        keep them). A page may have no values (``values`` = ``pack_f8`` of an empty array).
        No statistics: they would need the values decoded, and prune little."""
        name = self._begin("double")
        parts: list[bytes] = []
        rows = unc = comp = npages = 0
        for page in pages:
            nrows = page.num_rows
            if not nrows:
                continue
            values, nv = page.values, page.num_values
            if page.defined is None and nv == nrows:
                levels = _all_defined.get(nrows) or _definition_levels(page, name)[0]
                nulls = 0
            else:
                levels, nulls = _definition_levels(page, name)
            try:
                size = _frame_content_size(values)
            except zstandard.ZstdError as e:
                raise ValueError(f"column {name!r}: a page's values are not a zstd frame ({e})")
            if size != 8 * nv and size != -1:  # -1: a frame without its size; trust num_values
                raise ValueError(f"column {name!r}: a page's frame holds {size} bytes, not 8 x {nv} values")
            nl = len(levels)
            header = _v2_header(nl + 8 * nv, nl + len(values), nrows, nulls, _BYTE_STREAM_SPLIT, nl)
            parts += (header, levels, values)
            rows += nrows
            unc += len(header) + nl + 8 * nv
            comp += len(header) + nl + len(values)
            npages += 1
        self._check_rows(name, rows)
        start = self.file.offset
        self._end(_Chunk("double", name, start, start, rows, unc, comp, npages, None), parts)

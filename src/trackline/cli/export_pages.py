"""``trackline export --format parquet`` by copying pages the store already holds.

Once 16 float chunks of history in a row are sealed (32,768 points; they never change
again), the store also keeps their values packed as a Parquet page holds them: float64,
byte-stream-split, one zstd frame (``storage/chunks.py``, table ``history_pages``). So the
export does not encode them (pyarrow spent ~0.25 CPU-s encoding 10M rows): it reads each
page's bytes and writes them as one ``DATA_PAGE_V2`` of the output (``cli/parquet_file.py``),
adding only what the page needs around them: the definition levels (which rows of the
output hold a value of this key) and a header. ``run_id`` and ``_step`` come from the
chunks' step ranges (consecutive steps encode to a few bytes per 128 rows). The file holds
what the pyarrow writer wrote: one row per (run, step) where any exported key was logged,
the same columns, types, statistics and values.

Row groups: small runs several to a group, a big run in windows of whole pages' steps,
each holding about ``EXPORT_WINDOW`` rows (memory stays bounded: one group's chunks at a
time). What has no page (a run's last chunks, fewer than 16; integer metrics; stores
written before pages existed) is packed here from the raw chunks, one page a chunk; so is
what a window's edge cuts out of a page. A run's window whose
chunks overlap (a step logged twice) or that was rewound (``resume_from``) is read through
the query API's reader, which applies the store's rules (the last write of a step wins,
rewinds hide steps), and packed here.

Used when every exported key is numeric, the compression is zstd and the store is the
SQL store in this process; otherwise ``export_writers.ParquetWriter`` (pyarrow).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import and_, bindparam, case, func, select

from trackline.api.history import aligned, union_steps
from trackline.cli.parquet_file import DoublePage, ParquetFile, double_page
from trackline.storage import chunks
from trackline.storage.sql import schema as t

#: Rows a page packed here holds at most (copied pages hold a chunk: up to 2048).
PAGE_ROWS = 65_536
_RUN_BATCH = 500  # runs per query of the planning step
_EMPTY = chunks.pack_f8(np.empty(0))


@dataclass
class Segment:
    """Steps ``lo..hi`` (both included) of one run, in one row group."""

    run: Any  # the query API's Run
    lo: int
    hi: int


@dataclass
class _Piece:
    """Points of one key in a segment, in step order: a stored chunk's bytes, or values to pack."""

    steps: np.ndarray | None  # None: consecutive from ``first``
    first: int
    n: int
    blob: bytes | None = None
    values: np.ndarray | None = None


@dataclass
class _Copied:
    """A segment whose chunks are copied: its rows' steps and each key's pieces."""

    steps: np.ndarray | range  # a range when consecutive (no array of 100k steps to build)
    pieces: dict[str, list[_Piece]] = field(default_factory=dict)
    consecutive: bool = False  # steps are first, first + 1, ...
    copied: int = 0  # pieces that are stored pages
    packed: int = 0  # pieces packed here


#: A segment ready to write: copied pieces, or the reader's (steps, columns).
_Prepared = _Copied | tuple[np.ndarray, dict[str, Any]]


def plan(conn: Any, runs: Sequence[Any], kids: dict[str, int], window: int) -> Iterator[list[Segment]]:
    """Row groups of about ``window`` rows: small runs together, big runs cut into windows
    of steps. Runs without any of the keys are left out (they have no rows)."""
    c = t.history_chunks.c
    q = (
        select(c.run_pk, c.key_id, func.min(c.step_min), func.max(c.step_max), func.sum(c.n))
        .where(and_(c.run_pk.in_(bindparam("pks", expanding=True)), c.key_id.in_(list(kids.values()))))
        .group_by(c.run_pk, c.key_id)
    )
    group: list[Segment] = []
    rows = 0
    for i in range(0, len(runs), _RUN_BATCH):
        batch = runs[i : i + _RUN_BATCH]
        spans: dict[int, tuple[int, int, int]] = {}
        for pk, _kid, lo, hi, n in conn.execute(q, {"pks": [r._row["pk"] for r in batch]}):
            a, b, m = spans.get(pk, (lo, hi, 0))
            spans[pk] = (min(a, lo), max(b, hi), max(m, int(n)))
        for run in batch:
            if run._row["pk"] not in spans:
                continue
            lo, hi, most = spans[run._row["pk"]]
            # Rows: at least the longest key's points, at most the step range.
            est = min(hi - lo + 1, most)
            if est <= window:
                if group and rows + est > window:
                    yield group
                    group, rows = [], 0
                group.append(Segment(run, lo, hi))
                rows += est
                continue
            if group:
                yield group
                group, rows = [], 0
            parts = -(-est // window)
            width = -(-(hi - lo + 1) // parts)
            # Windows of whole page groups (chunks of consecutive steps start at lo + k * 2048),
            # so the edges cut no page (the default window is 4 groups).
            whole = chunks.PAGE_GROUP * chunks.CHUNK_POINTS
            if width >= whole:
                width = -(-width // whole) * whole
            for a in range(lo, hi + 1, width):
                yield [Segment(run, a, min(hi, a + width - 1))]
    if group:
        yield group


class PageExport:
    """Writes the row groups of :func:`plan` to a Parquet file."""

    def __init__(self, store: Any, reader: Any, columns: list[str], with_run: bool, out: Any) -> None:
        self.store, self.reader, self.columns, self.with_run = store, reader, columns, with_run
        spec = [("run_id", "run_id")] if with_run else []
        spec += [("_step", "step"), *((k, "double") for k in columns)]
        self.file = ParquetFile(out, spec, created_by="trackline export")
        c, p = t.history_chunks.c, t.history_pages.c
        # Each chunk, and the first chunk of the page that holds it (null: none does). A page
        # holds at most PAGE_GROUP chunks, so the probe is a short range of its key.
        holder = (
            select(p.chunk_no)
            .where(and_(p.run_pk == c.run_pk, p.key_id == c.key_id, p.stream_pk == c.stream_pk,
                        p.chunk_no.between(c.chunk_no - (chunks.PAGE_GROUP - 1), c.chunk_no),
                        p.chunk_no + p.chunks > c.chunk_no))
            .order_by(p.chunk_no.desc()).limit(1).scalar_subquery()
        )
        self._rows_query = (
            # The raw values only of chunks no page holds (SQLite reads the others' not at all).
            select(c.run_pk, c.key_id, c.stream_pk, c.chunk_no, c.step_min, c.step_max, c.n, c.dtype, c.steps,
                   holder, case((holder.is_(None), c.vals), else_=None))
            .where(and_(c.run_pk.in_(bindparam("pks", expanding=True)),
                        c.key_id.in_(bindparam("kids", expanding=True)),
                        c.step_max >= bindparam("lo"), c.step_min <= bindparam("hi")))
            .order_by(c.run_pk, c.key_id, c.stream_pk, c.chunk_no)
        )
        self._pages_query = select(p.run_pk, p.key_id, p.stream_pk, p.chunk_no, p.chunks, p.page).where(
            and_(p.run_pk.in_(bindparam("pks", expanding=True)), p.key_id.in_(bindparam("kids", expanding=True)),
                 p.chunk_no.between(bindparam("first"), bindparam("last"))))
        # For tests and the bench: which path each segment took, and how many pieces of the
        # copied ones were stored pages.
        self.copied_segments = self.read_segments = self.copied_pages = self.packed_pages = 0

    def run(self, runs: Sequence[Any], window: int, advance: Callable[[int], None],
            failed: Callable[[list[str], Exception], Exception]) -> int:
        """Export ``runs``; returns the rows written. A thread reads each row group's chunks
        and pages and plans its pages while this one writes the group before: 0.12-0.125 s
        instead of 0.14-0.16 s one after the other, for 10M rows on two cores (both threads
        hold the GIL most of the time; SQLite lets go of it while it reads)."""
        from trackline.cli.export import read_ahead

        def prepared() -> Iterator[tuple[list[Segment], list[_Prepared]]]:
            with self.store.engine.connect() as conn:
                kids = self.store._lookup_key_ids(conn, self.columns)
                if not kids:
                    return
                for group in plan(conn, runs, kids, window):
                    try:
                        yield group, self._read_group(conn, group, kids)
                    except Exception as exc:
                        raise failed([s.run.id for s in group], exc) from exc

        total = 0
        for group, segments in read_ahead(prepared()):
            try:
                n = self._write_group(group, segments)
            except Exception as exc:
                raise failed([s.run.id for s in group], exc) from exc
            total += n
            advance(n)
        return total

    def close(self) -> None:
        self.file.close()

    # one row group

    def _read_group(self, conn: Any, group: list[Segment], kids: dict[str, int]) -> list[_Prepared]:
        """On the reading thread: each segment's pieces (copied) or columns (read)."""
        names = {v: k for k, v in kids.items()}
        by_run: dict[tuple[int, str], list[Any]] = {}
        params = {"pks": [s.run._row["pk"] for s in group], "kids": list(kids.values()),
                  "lo": min(s.lo for s in group), "hi": max(s.hi for s in group)}
        rows = self._fetch(conn, params)
        for row in rows:
            by_run.setdefault((row[0], names[row[1]]), []).append(row)
        pages = self._pages(conn, params, rows)
        segments: list[_Prepared] = []
        for seg in group:
            pk = seg.run._row["pk"]
            copied = None if seg.run._row.get("history_cutoffs") else _copy_plan(
                seg, {k: by_run.get((pk, k), []) for k in self.columns}, pages)
            if copied is not None:
                self.copied_segments += 1
                self.copied_pages += copied.copied
                self.packed_pages += copied.packed
                segments.append(copied)
            else:
                self.read_segments += 1
                cols = self.reader.columns(seg.run._row, self.columns, seg.lo, seg.hi)
                segments.append((union_steps(cols.values()), cols))
        return segments

    def _fetch(self, conn: Any, params: dict[str, Any]) -> list[Any]:
        """The group's chunk rows, with the raw values of those no page holds. On SQLite
        straight from the driver: SQLAlchemy's result rows cost ~1 us each (15k rows per 10M
        points), time the reading thread spent holding the GIL that the writing thread needs."""
        if conn.dialect.name != "sqlite":
            return list(conn.execute(self._rows_query, params))
        pks, kids = params["pks"], params["kids"]
        sql = _SQLITE_ROWS.format(pks=",".join("?" * len(pks)), kids=",".join("?" * len(kids)),
                                  group=chunks.PAGE_GROUP - 1)
        return conn.connection.driver_connection.execute(sql, (*pks, *kids, params["lo"], params["hi"])).fetchall()

    def _pages(self, conn: Any, params: dict[str, Any], rows: list[Any]) -> dict[Any, Any]:
        """The sound pages that hold the rows' chunks: ``(run, key, stream, first chunk) ->
        (chunks, page)``."""
        firsts = [r[9] for r in rows if r[9] is not None]
        pages: dict[Any, Any] = {}
        if firsts:
            got = conn.execute(self._pages_query, {"pks": params["pks"], "kids": params["kids"],
                                                   "first": min(firsts), "last": max(firsts)})
            # A page whose zstd frame does not say it holds its chunks' values is damaged: it
            # is left out, and its run's window is read from the raw chunks (the truth).
            pages = {(r[0], r[1], r[2], r[3]): (r[4], r[5]) for r in got
                     if chunks.frame_size(r[5]) == 8 * r[4] * chunks.CHUNK_POINTS}
        return pages

    def _write_group(self, group: list[Segment], segments: list[_Prepared]) -> int:
        """One row group: the segments with rows, one after another."""
        kept = [(seg, s) for seg, s in zip(group, segments, strict=True) if len(_steps_of(s))]
        rows = sum(len(_steps_of(s)) for _, s in kept)
        if not rows:
            return 0
        rg = self.file.row_group(rows)
        if self.with_run:
            rg.run_ids([seg.run.id for seg, _ in kept], [len(_steps_of(s)) for _, s in kept])
        rg.steps(_step_page(s) for _, s in kept)
        for key in self.columns:
            rg.doubles(page for _, s in kept for page in _pages(s, key))
        return rows


#: ``PageExport._rows_query`` as SQLite text, for the driver (checked against it in the tests).
_SQLITE_ROWS = (
    "SELECT c.run_pk, c.key_id, c.stream_pk, c.chunk_no, c.step_min, c.step_max, c.n, c.dtype, c.steps, "
    "(SELECT p.chunk_no FROM history_pages p WHERE p.run_pk = c.run_pk AND p.key_id = c.key_id "
    "AND p.stream_pk = c.stream_pk AND p.chunk_no BETWEEN c.chunk_no - {group} AND c.chunk_no "
    "AND p.chunk_no + p.chunks > c.chunk_no ORDER BY p.chunk_no DESC LIMIT 1), "
    "CASE WHEN (SELECT p.chunk_no FROM history_pages p WHERE p.run_pk = c.run_pk AND p.key_id = c.key_id "
    "AND p.stream_pk = c.stream_pk AND p.chunk_no BETWEEN c.chunk_no - {group} AND c.chunk_no "
    "AND p.chunk_no + p.chunks > c.chunk_no ORDER BY p.chunk_no DESC LIMIT 1) IS NULL THEN c.vals END "
    "FROM history_chunks c "
    "WHERE c.run_pk IN ({pks}) AND c.key_id IN ({kids}) AND c.step_max >= ? AND c.step_min <= ? "
    "ORDER BY c.run_pk, c.key_id, c.stream_pk, c.chunk_no"
)


def _steps_of(s: _Prepared) -> np.ndarray | range:
    return s.steps if isinstance(s, _Copied) else s[0]


def _step_page(s: _Prepared) -> np.ndarray | range:
    """A segment's steps for the ``_step`` column: a ``range`` when consecutive (the writer
    then skips checking ~2 us a page)."""
    return _steps_of(s)


def _copy_plan(seg: Segment, rows_by_key: dict[str, list[Any]], pages: dict[Any, Any]) -> _Copied | None:
    """The pieces of each key in ``seg``, or None when its chunks overlap (a step written
    twice: the reader's rules decide which value stays). Rows are ``(run_pk, key_id,
    stream_pk, chunk_no, step_min, step_max, n, dtype, steps, first chunk of its page, vals)``,
    ``vals`` only where no page holds the chunk.
    A page whose chunks are all inside the segment is copied as it is; anything else (the
    open chunk, integers, chunks cut by the segment's edge or whose page is, stores older
    than pages) is unpacked and packed here."""
    pieces: dict[str, list[_Piece]] = {}
    ranges: list[tuple[int, int]] = []  # each key's (first, last) when its steps are consecutive
    arrays: list[np.ndarray] = []
    copied = packed = 0
    for key, rows in rows_by_key.items():
        got: list[_Piece] = []
        last = None
        unpacked: dict[Any, np.ndarray] = {}
        i = 0
        while i < len(rows):
            run_pk, kid, stream, no, step_min, step_max, n, dtype, steps, first, vals = rows[i]
            if last is not None and step_min <= last:
                return None  # overlapping writes
            if first is not None and (run_pk, kid, stream, first) not in pages:
                return None  # a damaged page (left out by _pages): the raw chunks through the reader
            if first == no:  # the page's first chunk: copy the page if all of it is here
                count, blob = pages[(run_pk, kid, stream, first)]
                whole = _whole_page(rows, i, count, seg)
                if whole is not None:
                    got.append(_Piece(whole[0], step_min, whole[1], blob=blob))
                    copied += 1
                    last = rows[i + count - 1][5]
                    i += count
                    continue
            last = step_max
            s = chunks.decode_steps(step_min, n, steps)
            if len(s) > 1 and not bool(np.all(s[1:] > s[:-1])):
                return None  # a step written twice within the chunk
            if first is None:
                v = _floats(step_min, n, dtype, vals)
            else:
                page_key = (run_pk, kid, stream, first)
                if page_key not in unpacked:
                    count, blob = pages[page_key]
                    unpacked[page_key] = chunks.unpack_f8(blob, count * chunks.CHUNK_POINTS)
                at = (no - first) * chunks.CHUNK_POINTS  # pages hold full chunks only
                v = unpacked[page_key][at : at + n]
            keep = (s >= seg.lo) & (s <= seg.hi)
            if keep.all():
                got.append(_Piece(None if steps is None else s, step_min, n, values=v))
                packed += 1
            elif keep.any():
                got.append(_Piece(s[keep], int(s[keep][0]), int(keep.sum()), values=v[keep]))
                packed += 1
            i += 1
        pieces[key] = got
        if got and all(p.steps is None for p in got) and all(
            b.first == a.first + a.n for a, b in itertools.pairwise(got)
        ):
            ranges.append((got[0].first, got[-1].first + got[-1].n - 1))
        else:
            arrays.extend(_piece_steps(p) for p in got)
    union: np.ndarray | range
    if not arrays and len(set(ranges)) <= 1:
        union = range(ranges[0][0], ranges[0][1] + 1) if ranges else range(0)
    else:
        arrays.extend(np.arange(a, b + 1, dtype=np.int64) for a, b in ranges)
        union = np.unique(np.concatenate(arrays))
        if int(union[-1]) - int(union[0]) == len(union) - 1:
            union = range(int(union[0]), int(union[-1]) + 1)
    return _Copied(union, pieces, isinstance(union, range), copied, packed)


def _whole_page(rows: list[Any], i: int, count: int, seg: Segment) -> tuple[np.ndarray | None, int] | None:
    """``(steps, points)`` of the page whose chunks are ``rows[i : i + count]`` when all of
    them are there, inside ``seg`` and in increasing step order (steps None: consecutive
    from the first chunk's step_min); else None."""
    span = rows[i : i + count]
    if len(span) != count or span[0][4] < seg.lo or span[-1][5] > seg.hi:
        return None
    run_pk, kid, stream, no = span[0][:4]
    consecutive = True
    for j, r in enumerate(span):
        if r[0] != run_pk or r[1] != kid or r[2] != stream or r[3] != no + j:
            return None
        if j and r[4] <= span[j - 1][5]:
            return None  # overlapping chunks
        if r[8] is not None or (j and r[4] != span[j - 1][5] + 1):
            consecutive = False
    points = sum(r[6] for r in span)
    if consecutive:
        return None, points
    steps = np.concatenate([chunks.decode_steps(r[4], r[6], r[8]) for r in span])
    if not bool(np.all(steps[1:] > steps[:-1])):
        return None  # a step written twice within a chunk
    return steps, points


def _floats(step_min: int, n: int, dtype: str, vals: bytes) -> np.ndarray:
    """A stored chunk's values as float64 (integers too: the column is DOUBLE)."""
    return chunks.decode(step_min, n, dtype, None, vals)[1].astype(np.float64, copy=False)


def _piece_steps(p: _Piece) -> np.ndarray:
    return np.arange(p.first, p.first + p.n, dtype=np.int64) if p.steps is None else p.steps


def _null_page(rows: int) -> DoublePage:
    return DoublePage(num_rows=rows, values=_EMPTY, num_values=0, defined=np.zeros(rows, dtype=bool))


def _pages(s: _Prepared, key: str) -> Iterator[DoublePage]:
    if isinstance(s, _Copied):
        yield from _copied_pages(s, s.pieces.get(key, []))
        return
    steps, cols = s
    col = cols.get(key)
    if col is None or not len(col):
        yield _null_page(len(steps))
        return
    values, missing = aligned(steps, col)
    full = np.asarray(values, dtype=np.float64)
    for a in range(0, len(steps), PAGE_ROWS):
        b = min(len(steps), a + PAGE_ROWS)
        if missing is None:
            yield double_page(full[a:b])
        else:
            defined = ~missing[a:b]
            yield double_page(full[a:b][defined], defined)


def _copied_pages(s: _Copied, pieces: list[_Piece]) -> Iterator[DoublePage]:
    """One page per piece, plus pages of nulls for the rows between them."""
    steps = s.steps
    consecutive = s.consecutive
    first_step = int(steps[0]) if len(steps) else 0
    at = 0  # the next row without a page
    for p in pieces:
        if consecutive:
            start = p.first - first_step
            pos = None if p.steps is None else p.steps - first_step
        else:
            pos = np.searchsorted(steps, _piece_steps(p))
            start = int(pos[0])
        end = start + p.n if pos is None else int(pos[-1]) + 1
        if start > at:
            yield _null_page(start - at)
        defined = None
        if end - start != p.n:
            assert pos is not None
            defined = np.zeros(end - start, dtype=bool)
            defined[pos - start] = True
        if p.blob is not None:
            yield DoublePage(num_rows=end - start, values=p.blob, num_values=p.n, defined=defined)
        else:
            assert p.values is not None
            yield double_page(p.values, defined)
        at = end
    if at < len(steps):
        yield _null_page(len(steps) - at)

"""``trackline export --format parquet`` by copying pages the store already holds.

Once 16 float chunks of history in a row are sealed (32,768 points; they never change
again) and their steps are evenly spaced (every step, or every n-th), the store also keeps
their values packed as a Parquet page holds them: float64, byte-stream-split, one zstd
frame (``storage/chunks.py``, table ``history_pages``), with the page's first and last
step. When a run's stream ends, its last, incomplete group gets a page too, which says how
many points it holds (0008): so a finished run is copied whole. So the export does not
encode them (pyarrow spent ~0.25 CPU-s encoding 10M rows): it reads each page's bytes and
writes them as one ``DATA_PAGE_V2`` of the output (``cli/parquet_file.py``), adding only
what the page needs around them: the definition levels (which rows of the output hold a
value of this key) and a header. ``run_id`` and ``_step`` come from the pages' step ranges
(evenly spaced steps encode to a few bytes per 128 rows); a page's chunk rows are not read
at all. The file holds what the pyarrow writer wrote: one row per (run, step) where any
exported key was logged, the same columns, types, statistics and values.

Row groups: small runs several to a group, a big run in windows of whole pages' steps,
each holding about :func:`window_rows` (memory stays bounded: a few groups at a time).
What has no page (a live run's last chunks; integer metrics; unevenly spaced steps; stores
written before pages existed) is packed here from the raw chunks, one page a chunk; so is
what a window's edge cuts out of a page. A run's window whose steps overlap (a step logged
twice) or that was rewound (``resume_from``), or one of whose pages is damaged, is read
through the query API's reader, which applies the store's rules (the last write of a step
wins, rewinds hide steps), and packed here.

Used when every exported key is numeric, the compression is zstd and the store is the
SQL store in this process; otherwise ``export_writers.ParquetWriter`` (pyarrow). On a
SQLite store the export of a project reads it through the driver (``storage/sql/direct.py``):
the command then never imports SQLAlchemy unless a window is read on the reader's rules,
nor numpy unless something is packed here.
"""

from __future__ import annotations

import functools
import itertools
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trackline.cli.parquet_file import DoublePage, ParquetFile, double_page
from trackline.lazy import LazyModule
from trackline.storage import chunks
from trackline.storage.sql.direct import DirectReads

# numpy and the query API's history code when something is packed or read here: a
# finished project's pages are copied without them (``lazy``).
if TYPE_CHECKING:
    import numpy as np
else:
    np = LazyModule("numpy", globals(), "np")

#: Rows a page packed here holds at most (a copied page holds a group of chunks: 32,768).
PAGE_ROWS = 65_536
#: Values a row group holds at most, when all of it must be unpacked and packed here (what
#: bounds memory: 16 MB of float64 a group, three groups in flight).
GROUP_VALUES = 2 << 20
_RUN_BATCH = 500  # runs per query of the planning step


def window_rows(columns: Sequence[str]) -> int:
    """Rows a row group holds: ``GROUP_VALUES`` over the columns, from ``EXPORT_WINDOW``
    (pyarrow's windows, whose rows are all in memory) up to 1,048,576 rows. Copied pages
    stay compressed in memory, and fewer, larger groups cost fewer queries: 100 runs x 100k
    steps of three keys export in 0.058-0.065 s in groups of ~700k rows, 0.082 s in 131k."""
    from trackline.cli.export_writers import EXPORT_WINDOW

    return min(1 << 20, max(EXPORT_WINDOW, GROUP_VALUES // max(1, len(columns))))


@dataclass
class Segment:
    """Steps ``lo..hi`` (both included) of one run, in one row group."""

    run: Any  # the query API's Run
    lo: int
    hi: int
    #: The first number of a chunk no page holds with steps in ``lo..hi``; None: there is
    #: none, and the row group's chunks are not looked for (a finished run's windows, and a
    #: live run's but its last, are pages only). Chunks before it are not probed either (a
    #: live run's last chunks come after its pages).
    unheld_from: int | None = 0


@dataclass
class _Piece:
    """Points of one key in a segment, in step order: a stored chunk's bytes, or values to pack."""

    steps: np.ndarray | None  # None: evenly spaced, ``first``, ``first + stride``, ...
    first: int
    n: int
    blob: bytes | None = None
    values: np.ndarray | None = None
    stride: int = 1


@dataclass
class _Copied:
    """A segment whose chunks are copied: its rows' steps and each key's pieces."""

    steps: np.ndarray | range  # a range when evenly spaced (no array of 100k steps to build)
    pieces: dict[str, list[_Piece]] = field(default_factory=dict)
    copied: int = 0  # pieces that are stored pages
    packed: int = 0  # pieces packed here


#: A segment ready to write: copied pieces, or the reader's (steps, columns).
if TYPE_CHECKING:
    _Prepared = _Copied | tuple[np.ndarray, dict[str, Any]]


def plan(conn: Any, runs: Sequence[Any], kids: dict[str, int], window: int) -> Iterator[list[Segment]]:
    """Row groups of about ``window`` rows: small runs together, big runs cut into windows
    of steps. Runs without any of the keys are left out (they have no rows)."""
    group: list[Segment] = []
    rows = 0
    for i in range(0, len(runs), _RUN_BATCH):
        batch = runs[i : i + _RUN_BATCH]
        spans: dict[int, tuple[int, int, int]] = {}
        pks, ids = [r._row["pk"] for r in batch], list(kids.values())
        by_key: dict[tuple[int, int], tuple[int, int, int]] = {}
        unheld: dict[int, list[tuple[int, int, int]]] = {}  # each run's chunks no page holds: steps, number
        # A page's steps are its chunks' steps: so the pages and the chunks no page holds
        # give each key's steps and points without reading a held chunk's row.
        tiled: dict[tuple[int, int, int], int] = {}  # chunks 0 .. n - 1 held, per run, key and stream
        for pk, kid, stream, lo, hi, n, count, first, end, widest, off in _query(conn, _PAGE_SPANS, pks, ids):
            a, b, m = by_key.get((pk, kid), (lo, hi, 0))
            by_key[(pk, kid)] = (min(a, lo), max(b, hi), m + int(n))
            if first == 0 and count == end and widest <= chunks.PAGE_GROUP and off == 0:
                tiled[(pk, kid, stream)] = int(end)  # whole groups from chunk 0 on, none missing
        probe = _to_probe(conn, pks, ids, tiled)
        found = _query(conn, _UNHELD, sorted({pk for pk, _ in probe}), sorted({k for _, k in probe})) if probe else []
        for pk, kid, no, lo, hi, n in found:
            unheld.setdefault(pk, []).append((lo, hi, no))
            a, b, m = by_key.get((pk, kid), (lo, hi, 0))
            by_key[(pk, kid)] = (min(a, lo), max(b, hi), m + int(n))
        for (pk, _kid), (lo, hi, n) in by_key.items():
            a, b, m = spans.get(pk, (lo, hi, 0))
            spans[pk] = (min(a, lo), max(b, hi), max(m, n))
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
                group.append(Segment(run, lo, hi, _first_unheld(unheld.get(run._row["pk"], []), lo, hi)))
                rows += est
                continue
            if group:
                yield group
                group, rows = [], 0
            parts = -(-est // window)
            width = -(-(hi - lo + 1) // parts)
            # Windows of whole page groups (a page of steps logged every d-th from lo holds
            # steps lo + k * 32,768 * d on), so the edges cut no page (the default window is 4).
            stride = (hi - lo) // (most - 1) if most > 1 and (hi - lo) % (most - 1) == 0 else 1
            whole = chunks.PAGE_GROUP * chunks.CHUNK_POINTS * max(stride, 1)
            if width >= whole:
                width = -(-width // whole) * whole
            ranges = unheld.get(run._row["pk"], [])
            for a in range(lo, hi + 1, width):
                b = min(hi, a + width - 1)
                yield [Segment(run, a, b, _first_unheld(ranges, a, b))]
    if group:
        yield group


def _to_probe(conn: Any, pks: list[int], kids: list[int],
              tiled: dict[tuple[int, int, int], int]) -> set[tuple[int, int]]:
    """The (run, key) pairs whose chunks must each be asked "does a page hold you?"
    (``_UNHELD``: ~0.45 us a chunk, 6.6 of the plan's 9 ms for 100 runs x 100k steps).
    The others' chunks are all held, which needs no probe: in each of their streams, the
    chunks (numbers 0 .. n - 1, counted in the chunks' index) are those that pages tile
    from chunk 0 on (``tiled``), and no page of a run's last group is short of its last
    chunk (``_STALE``). Where no page tiles anything (a store written before pages, live
    runs only) every pair is probed, without those two queries."""
    if not tiled:
        return {(pk, kid) for pk in pks for kid in kids}
    stale = set(map(tuple, _query(conn, _STALE, pks, kids)))
    return {(pk, kid) for pk, kid, stream, count, last in _query(conn, _CHUNK_COUNTS, pks, kids)
            if tiled.get((pk, kid, stream)) != count or last != count - 1 or (pk, kid, stream) in stale}


def _first_unheld(chunks_: list[tuple[int, int, int]], lo: int, hi: int) -> int | None:
    """The least number of the chunks ``(step_min, step_max, chunk_no)`` with steps in
    ``lo..hi``; None when none has."""
    return min((no for a, b, no in chunks_ if a <= hi and lo <= b), default=None)


class PageExport:
    """Writes the row groups of :func:`plan` to a Parquet file."""

    def __init__(self, source: Any, reader: Callable[[], Any], columns: list[str], with_run: bool, out: Any) -> None:
        """``source``: the store's ``SQLStore``, or its ``DirectReads`` (SQLite through the
        driver); ``reader()``: the query API's reader, for the windows read on its rules
        (opened when one is: with ``DirectReads``, that is when SQLAlchemy is imported)."""
        self.source, self.reader, self.columns, self.with_run = source, reader, columns, with_run
        spec = [("run_id", "run_id")] if with_run else []
        spec += [("_step", "step"), *((k, "double") for k in columns)]
        self.file = ParquetFile(out, spec, created_by="trackline export")
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
            with _connection(self.source) as conn:
                kids = (DirectReads.key_ids(conn, self.columns) if isinstance(self.source, DirectReads)
                        else self.source._lookup_key_ids(conn, self.columns))
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
        """On the reading thread: each segment's pieces (copied) or columns (read). Two
        queries a row group: the pages in its steps, and the chunks no page holds."""
        names = {v: k for k, v in kids.items()}
        pks, ids = [s.run._row["pk"] for s in group], list(kids.values())
        lo, hi = min(s.lo for s in group), max(s.hi for s in group)
        stored: dict[tuple[int, str], list[_Stored]] = {}
        damaged: set[int] = set()
        # The chunks first, then the pages: a page a live run's writer adds in between holds
        # chunks read here too, and the overlap sends the window through the reader. (In the
        # other order its chunks would be left out as held, and the page not read.)
        # A long run's windows are found whole in pages, but where a chunk no page holds is
        # (a live run's last ones, an uneven group): the chunks' index is not walked once a
        # window (which made a 10M-step run's export spend 0.09 s on 77 walks of its 4,883
        # chunks).
        starts = [s.unheld_from for s in group if s.unheld_from is not None]
        for r in _query(conn, _CHUNKS, pks, ids, min(starts), lo, hi) if starts else ():
            stored.setdefault((r[0], names[r[1]]), []).append(
                _Stored(r[2], r[3], r[4], r[5], r[6], dtype=r[7], steps=r[8], vals=r[9]))
        for r in _query(conn, _PAGES, pks, ids, lo, hi):
            points = r[4]
            span = r[6] - r[5]
            if chunks.frame_size(r[7]) != 8 * points or points < 2 or span < points - 1 or span % (points - 1):
                # Not a frame of its chunks' values, or a step range that cannot space them
                # evenly: a damaged copy. Its chunks are not among the rows above, so the
                # run's window is read from them through the reader.
                damaged.add(r[0])
                continue
            stored.setdefault((r[0], names[r[1]]), []).append(
                _Stored(r[2], r[3], r[5], r[6], points, page=r[7]))
        segments: list[_Prepared] = []
        for seg in group:
            pk = seg.run._row["pk"]
            copied = None
            if pk not in damaged and not seg.run._row.get("history_cutoffs"):
                by_key = {}
                for k in self.columns:
                    items = stored.get((pk, k), [])
                    items.sort(key=lambda x: (x.stream, x.no))
                    by_key[k] = items
                copied = _copy_plan(seg, by_key)
            if copied is not None:
                self.copied_segments += 1
                self.copied_pages += copied.copied
                self.packed_pages += copied.packed
                segments.append(copied)
            else:
                from trackline.api.history import union_steps

                self.read_segments += 1
                cols = self.reader().columns(seg.run._row, self.columns, seg.lo, seg.hi)
                segments.append((union_steps(cols.values()), cols))
        return segments

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


# The statements, as text for the driver (SQLite or psycopg): SQLAlchemy compiled each anew
# (its expanding IN lists) for ~0.2 ms, twice a row group. ``{pks}``/``{kids}`` are the IN
# lists' placeholders, ``{p}`` one placeholder.

#: The points a page holds (SQL, on the pages' columns as ``p.`` or bare): ``points`` (0008),
#: or ``chunks`` full chunks for a page written before.
_POINTS = f"coalesce({{t}}points, {{t}}chunks * {chunks.CHUNK_POINTS})"

#: A page with a step range that can hold its points, which fill its chunks but the last (SQL,
#: as ``_POINTS``): one without (NULL, or damaged) is no page, and its chunks are read as they
#: are. Whether the range spaces them evenly is checked when the page is read (``_read_group``).
_SOUND = (f"{{t}}step_first IS NOT NULL AND {_POINTS} > ({{t}}chunks - 1) * {chunks.CHUNK_POINTS} "
          f"AND {_POINTS} <= {{t}}chunks * {chunks.CHUNK_POINTS} AND {{t}}step_last - {{t}}step_first >= {_POINTS} - 1")

#: The points a page of a run's last group (``p.points`` set) holds of its last chunk: what
#: that chunk must still hold for the page to stand for it (``_HELD``, ``_STALE``).
_LAST_CHUNK_POINTS = f"p.points - (p.chunks - 1) * {chunks.CHUNK_POINTS}"

#: Whether a page holds the chunk ``c``: a short probe (a page holds at most PAGE_GROUP
#: chunks) on columns of the chunks' primary key, so SQLite answers it from that index before
#: it reads the chunk's row: the rows of a page's 16 chunks are never read, which for a
#: project not in the page cache is most of its chunks' bytes. ``{chunks_pk}`` holds SQLite
#: to that index (its planner would take ``ix_history_chunks_range``, which lacks the columns).
#: The pages' side is answered from ``ix_history_pages_steps``, without a page's row. The last
#: chunk of a page of a run's last group (``points`` short of full) is held only while it has
#: the points the page has of it: should its stream write it again after the page (not
#: expected), it is read, and its overlap with the page sends the window through the reader.
_HELD = ("EXISTS (SELECT 1 FROM history_pages p WHERE p.run_pk = c.run_pk AND p.key_id = c.key_id "
         f"AND p.stream_pk = c.stream_pk AND p.chunk_no BETWEEN c.chunk_no - {chunks.PAGE_GROUP - 1} AND c.chunk_no "
         f"AND p.chunk_no + p.chunks > c.chunk_no AND {_SOUND.format(t='p.')} "
         f"AND (c.chunk_no < p.chunk_no + p.chunks - 1 OR {_POINTS.format(t='p.')} = p.chunks * {chunks.CHUNK_POINTS} "
         f"OR c.n = {_LAST_CHUNK_POINTS}))")

#: Per run, key and stream, from the pages' index ``ix_history_pages_steps``: their first
#: and last step and points, and which chunks they hold: how many, the first, one past the
#: last, the most in a page, and whether each starts a group (``plan``, ``_to_probe``; the
#: remainder by integer division: psycopg takes ``%`` for a placeholder).
_PAGE_SPANS = (f"SELECT run_pk, key_id, stream_pk, min(step_first), max(step_last), sum({_POINTS.format(t='')}), "
               "sum(chunks), min(chunk_no), max(chunk_no + chunks), max(chunks), "
               f"sum(chunk_no - chunk_no / {chunks.PAGE_GROUP} * {chunks.PAGE_GROUP}) "
               f"FROM history_pages WHERE run_pk IN ({{pks}}) AND key_id IN ({{kids}}) AND {_SOUND.format(t='')} "
               "GROUP BY run_pk, key_id, stream_pk")
#: Per run, key and stream, the chunks' count and last number, from their primary key.
_CHUNK_COUNTS = ("SELECT run_pk, key_id, stream_pk, count(*), max(chunk_no) FROM history_chunks{chunks_pk} "
                 "WHERE run_pk IN ({pks}) AND key_id IN ({kids}) GROUP BY run_pk, key_id, stream_pk")
#: The pages of a run's last group whose last chunk no longer has the points they hold of it
#: (written again after the page; see ``_HELD``).
_STALE = ("SELECT p.run_pk, p.key_id, p.stream_pk FROM history_pages p{pages_steps} JOIN history_chunks c "
          "ON c.run_pk = p.run_pk AND c.key_id = p.key_id AND c.stream_pk = p.stream_pk "
          "AND c.chunk_no = p.chunk_no + p.chunks - 1 "
          f"WHERE p.run_pk IN ({{pks}}) AND p.key_id IN ({{kids}}) AND p.points < p.chunks * {chunks.CHUNK_POINTS} "
          f"AND c.n <> {_LAST_CHUNK_POINTS}")
#: Each chunk no page holds, of the (run, key) pairs ``_to_probe`` names.
_UNHELD = ("SELECT c.run_pk, c.key_id, c.chunk_no, c.step_min, c.step_max, c.n FROM history_chunks c{chunks_pk} "
           f"WHERE c.run_pk IN ({{pks}}) AND c.key_id IN ({{kids}}) AND NOT {_HELD}")

#: The pages with steps in ``lo .. hi``, found in ``ix_history_pages_steps`` (``{pages_steps}``
#: holds SQLite to it: a page row's range columns sit after its bytes): a big run's window
#: reads its own pages' rows only. In no order: sorting would copy every page's bytes into
#: SQLite's sorter (the export read 33 MB of pages in 65 ms instead of 32); they are put in
#: order in ``_read_group``.
_PAGES = (f"SELECT run_pk, key_id, stream_pk, chunk_no, {_POINTS.format(t='')}, step_first, step_last, page "
          "FROM history_pages{pages_steps} "
          f"WHERE run_pk IN ({{pks}}) AND key_id IN ({{kids}}) AND {_SOUND.format(t='')} "
          "AND step_last >= {p} AND step_first <= {p}")

#: The chunks with steps in ``lo .. hi`` that no page holds, from a chunk number on (a term
#: on the index's columns, so the held chunks before it are not probed).
_CHUNKS = (
    "SELECT c.run_pk, c.key_id, c.stream_pk, c.chunk_no, c.step_min, c.step_max, c.n, c.dtype, c.steps, c.vals "
    f"FROM history_chunks c{{chunks_pk}} WHERE c.run_pk IN ({{pks}}) AND c.key_id IN ({{kids}}) "
    f"AND c.chunk_no >= {{p}} AND NOT {_HELD} "
    "AND c.step_max >= {p} AND c.step_min <= {p} ORDER BY c.run_pk, c.key_id, c.stream_pk, c.chunk_no"
)


@contextmanager
def _connection(source: Any) -> Iterator[Any]:
    """A connection of ``source``: ``sqlite3``'s for ``DirectReads``, else the engine's."""
    if isinstance(source, DirectReads):
        conn = source.connect()
        try:
            yield conn
        finally:
            conn.close()
    else:
        with source.engine.connect() as conn:
            yield conn


def _query(conn: Any, sql: str, pks: list[int], kids: list[int], *more: int) -> list[Any]:
    """``sql``'s rows for these runs and keys (and ``more`` parameters, in order), on a
    ``sqlite3`` connection or a SQLAlchemy one (SQLite or PostgreSQL)."""
    direct = isinstance(conn, sqlite3.Connection)
    sqlite = direct or conn.dialect.name == "sqlite"
    p = "?" if sqlite else "%s"
    text = sql.format(pks=",".join([p] * len(pks)), kids=",".join([p] * len(kids)), p=p,
                      chunks_pk=" INDEXED BY sqlite_autoindex_history_chunks_1" if sqlite else "",
                      pages_steps=" INDEXED BY ix_history_pages_steps" if sqlite else "")
    params = (*pks, *kids, *more)
    return list(conn.execute(text, params) if direct else conn.exec_driver_sql(text, params))


def _steps_of(s: _Prepared) -> np.ndarray | range:
    return s.steps if isinstance(s, _Copied) else s[0]


def _step_page(s: _Prepared) -> np.ndarray | range:
    """A segment's steps for the ``_step`` column: a ``range`` when evenly spaced (with
    stride 1, the writer then skips checking ~2 us a page)."""
    return _steps_of(s)


@dataclass
class _Stored:
    """A stored page, or a chunk no page holds, of one key in a row group's steps."""

    stream: int
    no: int  # the chunk number (a page's first)
    step_min: int
    step_max: int
    n: int  # points
    page: bytes | None = None  # a page: values packed, steps evenly spaced step_min .. step_max
    dtype: str = ""  # a chunk: its raw steps and values
    steps: bytes | None = None
    vals: bytes | None = None

    @property
    def stride(self) -> int:
        """A page's step spacing."""
        return (self.step_max - self.step_min) // (self.n - 1)


def _copy_plan(seg: Segment, stored_by_key: dict[str, list[_Stored]]) -> _Copied | None:
    """The pieces of each key in ``seg``, or None when its steps overlap (a step written
    twice, in two chunks, two streams or a chunk: the reader's rules decide which value
    stays). ``stored_by_key``: each key's pages and other chunks, in stream and chunk order.
    A page all of whose steps are inside the segment is copied as it is; anything else (a
    live run's last chunks, integers, chunks whose steps are not evenly spaced, a page the
    segment's edge cuts, stores older than pages) is unpacked and packed here."""
    pieces: dict[str, list[_Piece]] = {}
    ranges: list[tuple[int, int, int]] = []  # each key's (first, last, stride) when evenly spaced
    arrays: list[np.ndarray] = []
    copied = packed = 0
    for key, items in stored_by_key.items():
        got: list[_Piece] = []
        last = None
        for it in items:
            if last is not None and it.step_min <= last:
                return None  # overlapping writes
            last = it.step_max
            if it.page is not None:
                d = it.stride
                if seg.lo <= it.step_min and it.step_max <= seg.hi:
                    got.append(_Piece(None, it.step_min, it.n, blob=it.page, stride=d))
                    copied += 1
                    continue
                s = np.arange(it.step_min, it.step_max + 1, d, dtype=np.int64)
                v = chunks.unpack_f8(it.page, it.n)
                whole = None
            else:
                assert it.vals is not None
                s = chunks.decode_steps(it.step_min, it.n, it.steps)
                if len(s) > 1 and not bool(np.all(s[1:] > s[:-1])):
                    return None  # a step written twice within the chunk
                v = _floats(it.step_min, it.n, it.dtype, it.vals)
                whole = None if it.steps is None else s
            keep = (s >= seg.lo) & (s <= seg.hi)
            if keep.all():
                got.append(_Piece(whole, it.step_min, it.n, values=v))
                packed += 1
            elif keep.any():
                got.append(_Piece(s[keep], int(s[keep][0]), int(keep.sum()), values=v[keep]))
                packed += 1
        pieces[key] = got
        if got and all(p.steps is None for p in got) and len({p.stride for p in got}) == 1 and all(
            b.first == a.first + a.n * a.stride for a, b in itertools.pairwise(got)
        ):
            ranges.append((got[0].first, got[-1].first + (got[-1].n - 1) * got[-1].stride, got[0].stride))
        else:
            arrays.extend(_piece_steps(p) for p in got)
    union: np.ndarray | range
    if not arrays and len(set(ranges)) <= 1:
        union = range(ranges[0][0], ranges[0][1] + 1, ranges[0][2]) if ranges else range(0)
    else:
        arrays.extend(np.arange(a, b + 1, d, dtype=np.int64) for a, b, d in ranges)
        union = np.unique(np.concatenate(arrays))
        if int(union[-1]) - int(union[0]) == len(union) - 1:
            union = range(int(union[0]), int(union[-1]) + 1)
    return _Copied(union, pieces, copied, packed)


def _floats(step_min: int, n: int, dtype: str, vals: bytes) -> np.ndarray:
    """A stored chunk's values as float64 (integers too: the column is DOUBLE)."""
    return chunks.decode(step_min, n, dtype, None, vals)[1].astype(np.float64, copy=False)


def _piece_steps(p: _Piece) -> np.ndarray:
    return np.arange(p.first, p.first + p.n * p.stride, p.stride, dtype=np.int64) if p.steps is None else p.steps


@functools.cache
def _empty() -> bytes:
    return chunks.pack_f8(np.empty(0))


def _null_page(rows: int) -> DoublePage:
    return DoublePage(num_rows=rows, values=_empty(), num_values=0, defined=np.zeros(rows, dtype=bool))


def _pages(s: _Prepared, key: str) -> Iterator[DoublePage]:
    if isinstance(s, _Copied):
        yield from _copied_pages(s, s.pieces.get(key, []))
        return
    steps, cols = s
    col = cols.get(key)
    if col is None or not len(col):
        yield _null_page(len(steps))
        return
    from trackline.api.history import aligned

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
    stride = steps.step if isinstance(steps, range) else 0  # 0: an array of steps, searched
    first_step = int(steps[0]) if len(steps) else 0
    at = 0  # the next row without a page
    for p in pieces:
        if stride:
            start = (p.first - first_step) // stride
            pos = None if p.steps is None and p.stride == stride else (_piece_steps(p) - first_step) // stride
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

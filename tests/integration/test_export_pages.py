"""trackline export to Parquet by copying the store's pages (``cli/export_pages.py``).

The file must hold what the pyarrow writer writes from the same store (same schema, every
value bit for bit, the same nulls) whichever way each run's window goes: copied chunk by
chunk, or read through the query API's rules (rewinds, steps written twice, integers)."""

from __future__ import annotations

import json
import math
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import trackline
from tests.conftest import PYTHON, child_env
from tests.integration.write_behind import WAYS, SyncSpy
from tests.unit.api.seeding import isolated_env, make_run, store_path
from trackline.cli import export_pages, export_writers
from trackline.cli.export import export_cmd
from trackline.runstate.changes import Changes
from trackline.storage import open_store
from trackline.storage.base import RunKey
from trackline.storage.sql.direct import DirectReads

pq = pytest.importorskip("pyarrow.parquet")
N = 35_000  # a full group of chunks (32,768 points: one stored page) and a tail


def curve_rows(i: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(i)
    loss = (np.exp(-np.arange(N) / 800) + rng.normal(0, 0.02, N)).astype(np.float32).astype(float)
    rows: list[dict[str, Any]] = []
    for s in range(N):
        row: dict[str, Any] = {"loss": float(loss[s]), "noise": float(rng.normal())}
        if s % 100 == 0:
            row["val"] = s / N  # sparse: nulls between
        if s >= 1000 + 500 * i:
            row["late_key"] = -float(s)  # starts after the others
        if s == 7:
            row["noise"] = math.nan
        if s == 8:
            row["noise"] = -0.0
        if s == 9:
            row["noise"] = math.inf
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("export-pages")
    with isolated_env(root):
        for i in range(3):
            make_run("curves", f"c{i}", rows=curve_rows(i))
        make_run("curves", "none")  # no history: no rows
        make_run("mixed", "ints", rows=[{"epoch": s // 100, "loss": 1.0 / (s + 1)} for s in range(3000)])
        make_run("mixed", "floats", rows=[{"loss": 0.5 * s} for s in range(3000)])
        # A step logged again later: the last write wins, on the reader's rules.
        make_run("mixed", "again", rows=[*({"loss": float(s)} for s in range(2500)), ({"loss": -1.0}, 10)])
        for i in range(40):
            make_run("small", f"s{i:02d}", rows=[({"x": float(i * 1000 + s)}, s * (i + 1)) for s in range(50)])
        first = make_run("rewind", "r", rows=[{"loss": float(s)} for s in range(3000)])
        # A second writer resumes from step 1999 (resume_from): what the first logged after it is hidden.
        store = open_store(str(store_path(root)))
        ch = Changes(stream_id=(99).to_bytes(16, "big"), first_seq=1, last_seq=1)
        ch.run = {"name": "r", "start_time": 1.0, "metadata": {}, "resumed": True, "rewind_step": 1999}
        steps = np.arange(2000, 2600)
        ch.points = {"loss": (steps, -steps.astype(np.float64))}
        ch.rows = 1
        store.stream_writer(RunKey(first.entity, "rewind", "r"), ch.stream_id).apply(ch)
        store.close()
    yield root


def run_export(mp: pytest.MonkeyPatch, args: list[str], *, pyarrow: bool = False,
               window: int | None = None) -> export_pages.PageExport | None:
    """``trackline export ARGS`` in this process; the page exporter it made, if any."""
    made: list[export_pages.PageExport] = []
    init = export_pages.PageExport.__init__

    def spy(self: export_pages.PageExport, *a: Any, **kw: Any) -> None:
        made.append(self)
        init(self, *a, **kw)

    with mp.context() as m:
        m.setattr(export_pages.PageExport, "__init__", spy)
        if pyarrow:
            m.setenv("TRACKLINE_EXPORT_PYARROW", "1")  # after isolated_env, which clears TRACKLINE_*
        if window is not None:
            m.setattr(export_writers, "EXPORT_WINDOW", window)
            m.setattr(export_pages, "window_rows", lambda columns: window)
        export_cmd.main([*args, "--no-progress"], standalone_mode=False)
    return made[0] if made else None


def export(root: Path, mp: pytest.MonkeyPatch, target: str, name: str, *, pyarrow: bool = False,
           window: int | None = None) -> tuple[Path, export_pages.PageExport | None]:
    out = root / "work" / f"{name}.parquet"
    with isolated_env(root):
        made = run_export(mp, [target, "-o", str(out), "--store", str(store_path(root))], pyarrow=pyarrow,
                          window=window)
    return out, made


def assert_same_file_contents(a: Path, b: Path) -> None:
    """Same schema, same rows, every float bit for bit (NaN and -0.0 included), same nulls."""
    ta, tb = pq.read_table(a), pq.read_table(b)
    assert [(f.name, str(f.type), f.nullable) for f in ta.schema] == [
        (f.name, str(f.type), f.nullable) for f in tb.schema]
    assert ta.num_rows == tb.num_rows
    for name in ta.column_names:
        ca, cb = ta.column(name).combine_chunks(), tb.column(name).combine_chunks()
        if str(ca.type) == "double":
            assert ca.is_null().to_pylist() == cb.is_null().to_pylist(), name
            va = ca.fill_null(0.0).to_numpy(zero_copy_only=False).view(np.uint64)
            vb = cb.fill_null(0.0).to_numpy(zero_copy_only=False).view(np.uint64)
            assert np.array_equal(va, vb), name
        else:
            assert ca.to_pylist() == cb.to_pylist(), name


def test_training_curves_are_copied_page_for_page(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pages, made = export(root, monkeypatch, "curves", "curves")
    arrow, none = export(root, monkeypatch, "curves", "curves-arrow", pyarrow=True)
    assert none is None and made is not None
    assert isinstance(made.source, DirectReads)  # a SQLite store: through the driver
    assert made.copied_segments == 3 and made.read_segments == 0  # every run copied; "none" has no rows
    # Per run, the first 16 chunks of loss, noise, _runtime, _timestamp and late_key are one
    # stored page each, and the chunks after them another, written when the run finished; so
    # are val's 350 points (every 100th step). Nothing is packed here.
    stored, _ = _counts(root, "curves")
    assert stored == 3 * (5 + 6) and (made.copied_pages, made.packed_pages) == (stored, 0)
    assert_same_file_contents(pages, arrow)
    table = pq.read_table(pages)
    assert table.num_rows == 3 * N
    assert table.column_names == ["run_id", "_step", "_runtime", "_timestamp", "late_key", "loss", "noise", "val"]
    noise = table.column("noise").to_numpy()
    assert math.isnan(noise[7]) and math.copysign(1, noise[8]) == -1 and noise[9] == math.inf
    assert table.column("val").null_count == 3 * (N - N // 100)
    meta = pq.ParquetFile(pages).metadata
    assert meta.num_row_groups == 1  # 15,000 rows: one window
    assert {meta.row_group(0).column(i).compression for i in range(meta.num_columns)} == {"ZSTD"}


def test_a_run_by_path_is_read_through_the_driver_too(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``entity/project/run_id`` and ``project/run_id``: one run, no run_id column, pages
    copied; the same file as pyarrow's. A bare run id goes through the query API."""
    with isolated_env(root):
        entity = trackline.Api().default_entity
    for target, name in ((f"{entity}/curves/c1", "full"), ("curves/c1", "short"), ("c1", "bare")):
        pages, made = export(root, monkeypatch, target, f"run-{name}")
        arrow, _ = export(root, monkeypatch, target, f"run-{name}-arrow", pyarrow=True)
        assert made is not None and made.copied_segments == 1 and made.copied_pages == 11
        assert isinstance(made.source, DirectReads) == (name != "bare"), name
        assert_same_file_contents(pages, arrow)
        assert pq.read_table(pages).column_names[:2] == ["_step", "_runtime"]


def test_the_file_reads_back_as_scan_history(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out, _ = export(root, monkeypatch, "curves", "curves-scan")
    table = pq.read_table(out).to_pydict()
    with isolated_env(root):
        for run in trackline.Api().runs("curves", order="+created_at"):
            want = list(run.scan_history())
            got = [i for i, r in enumerate(table["run_id"]) if r == run.id]
            assert len(got) == len(want)
            for i, row in zip(got, want, strict=True):
                for key in ("_step", "loss", "val", "late_key"):
                    a, b = table[key][i], row.get(key)
                    assert a == b or (a is None and b is None), (run.id, key, row["_step"])


def test_windows_cut_chunks_and_each_has_its_statistics(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows of 1,500 rows cut 2,048-point chunks: the halves are packed again."""
    pages, made = export(root, monkeypatch, "curves", "curves-windows", window=1500)
    arrow, _ = export(root, monkeypatch, "curves", "curves-windows-arrow", pyarrow=True, window=1500)
    assert made is not None and made.read_segments == 0
    assert_same_file_contents(pages, arrow)
    meta = pq.ParquetFile(pages).metadata
    assert meta.num_row_groups == made.copied_segments >= 3 * 4
    steps_seen = []
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        cols = {group.column(i).path_in_schema: group.column(i) for i in range(group.num_columns)}
        assert {n for n, c in cols.items() if c.is_stats_set} == {"run_id", "_step"}
        stats = cols["_step"].statistics
        steps_seen.append((cols["run_id"].statistics.min, stats.min, stats.max))
        assert cols["run_id"].statistics.min == cols["run_id"].statistics.max
    table = pq.read_table(pages, filters=[("run_id", "==", "c1"), ("_step", ">=", 4000)])
    assert table.column("_step").to_pylist() == list(range(4000, N))
    assert sorted(steps_seen) == steps_seen or len({r for r, _, _ in steps_seen}) == 3


def test_what_is_not_plain_floats_goes_through_the_reader(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A step written twice and a rewound run are read on the query API's rules; integers
    are packed as floats. The same file as pyarrow's."""
    for project, read in (("mixed", 1), ("rewind", 1)):
        pages, made = export(root, monkeypatch, project, f"{project}-pages")
        arrow, _ = export(root, monkeypatch, project, f"{project}-arrow", pyarrow=True)
        assert made is not None and made.read_segments == read, project
        assert isinstance(made.source, DirectReads)  # its reader opened for the window read
        assert_same_file_contents(pages, arrow)
    mixed = pq.read_table(root / "work" / "mixed-pages.parquet").to_pydict()
    again = [v for r, s, v in zip(mixed["run_id"], mixed["_step"], mixed["loss"], strict=True) if r == "again"]
    assert len(again) == 2500 and again[10] == -1.0 and again[11] == 11.0
    ints = [v for r, v in zip(mixed["run_id"], mixed["epoch"], strict=True) if r == "ints"]
    assert ints[:3] == [0.0, 0.0, 0.0] and ints[-1] == 29.0
    rewound = pq.read_table(root / "work" / "rewind-pages.parquet").to_pydict()
    assert len(rewound["_step"]) == 2600 and rewound["loss"][1999] == 1999.0 and rewound["loss"][2000] == -2000.0


def test_small_runs_share_a_row_group(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pages, made = export(root, monkeypatch, "small", "small")
    arrow, _ = export(root, monkeypatch, "small", "small-arrow", pyarrow=True)
    assert made is not None and made.copied_segments == 40
    assert_same_file_contents(pages, arrow)
    meta = pq.ParquetFile(pages).metadata
    assert meta.num_row_groups == 1
    run_id = meta.row_group(0).column(0).statistics
    assert (run_id.min, run_id.max) == ("s00", "s39")
    s07 = pq.read_table(pages, filters=[("run_id", "==", "s07")]).to_pydict()
    assert s07["_step"] == [s * 8 for s in range(50)] and s07["x"] == [7000.0 + s for s in range(50)]


def exported_by_a_command(root: Path, project: str, out: Path, modules: list[str]) -> list[str]:
    """``trackline export PROJECT -o OUT`` in a new process, as a user runs it: which of
    ``modules`` it imported."""
    code = (
        "import json, sys; from trackline.cli.main import main; "
        f"sys.argv = ['trackline', 'export', {project!r}, '-o', {str(out)!r}, '--no-progress', '--json']; "
        "import contextlib\n"
        "with contextlib.suppress(SystemExit): main()\n"
        f"print(json.dumps([m for m in {modules!r} if m in sys.modules]))"
    )
    p = subprocess.run([PYTHON, "-c", code], cwd=root / "work", env=child_env(root), capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return list(json.loads(p.stdout.strip().splitlines()[-1]))


def test_a_numeric_export_runs_without_pyarrow_or_sqlalchemy(root: Path) -> None:
    """The command as a user runs it: the page path never imports pyarrow (~0.13 s), and a
    project of a SQLite store is read through the driver, without SQLAlchemy (~0.15 s)."""
    out = root / "work" / "cli.parquet"
    assert exported_by_a_command(root, "curves", out, ["pyarrow", "sqlalchemy"]) == []
    assert pq.read_table(out).num_rows == 3 * N


def test_a_finished_project_is_copied_without_numpy(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every run finished, every key logged at every step (or every n-th): each row group
    is stored pages only, and the command copies them without importing numpy (~0.06 s of
    it), the query API's history code or the Run objects; the file is pyarrow's."""
    with isolated_env(root):
        make_run("plain", "p0", rows=[{"loss": 1 / (s + 1), "acc": s / 40_000} for s in range(40_000)])
        make_run("plain", "p1", rows=[({"loss": 2 / (s + 1), "acc": -s / 3}, 5 * s) for s in range(700)])
    out = root / "work" / "plain-cli.parquet"
    heavy = ["numpy", "pyarrow", "sqlalchemy", "trackline.api.public_run", "trackline.api.history"]
    assert exported_by_a_command(root, "plain", out, heavy) == []
    arrow, _ = export(root, monkeypatch, "plain", "plain-arrow", pyarrow=True)
    assert_same_file_contents(out, arrow)
    _, made = export(root, monkeypatch, "plain", "plain-pages")
    assert made is not None and made.packed_pages == 0 and made.copied_pages == 2 * 4 + 4


@pytest.mark.parametrize("kick", WAYS)
def test_row_groups_go_to_disk_while_the_next_are_read(root: Path, monkeypatch: pytest.MonkeyPatch, kick: bool) -> None:
    """As with pyarrow's writer: each row group written is handed to the disk (see
    ``write_behind``), and the fsync before the rename is on this thread."""
    spy = SyncSpy(monkeypatch, kick)
    monkeypatch.setattr(export_pages.PageExport, "_write_group", spy.after_a_sync(export_pages.PageExport._write_group))
    out, made = export(root, monkeypatch, "curves", "behind", window=1500)
    assert made is not None and made.copied_segments == spy.writes > 3
    spy.check(out)


def test_an_error_names_the_row_groups_runs_and_leaves_no_file(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from trackline.cli.export import ExportError

    real = export_pages._copy_plan

    def failing(seg: export_pages.Segment, *a: Any) -> Any:
        if seg.run.id == "c1":
            raise OSError("disk I/O error")
        return real(seg, *a)

    monkeypatch.setattr(export_pages, "_copy_plan", failing)
    with pytest.raises(ExportError) as caught:
        export(root, monkeypatch, "curves", "failed")
    assert re.fullmatch(r"reading runs c0, c1, c2 of [\w.-]+/curves failed: OSError: disk I/O error",
                        caught.value.format_message())
    assert not list((root / "work").glob("failed.parquet*"))


def test_a_store_without_pages_exports_the_same_file(root: Path, monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    """A store written before ``history_pages`` existed: every chunk is packed at export."""
    import shutil
    import sqlite3

    pages, _ = export(root, monkeypatch, "curves", "with-pages")
    copy = tmp_path / "root"
    shutil.copytree(root, copy)
    with sqlite3.connect(store_path(copy)) as db:
        db.execute("DELETE FROM history_pages")
    old, made = export(copy, monkeypatch, "curves", "without-pages")
    assert made is not None and made.copied_pages == 0 and made.packed_pages == _counts(root, "curves")[1]
    assert_same_file_contents(pages, old)


def test_pages_are_written_when_a_group_of_float_chunks_fills_and_deleted_with_the_run(root: Path) -> None:
    import sqlite3

    with isolated_env(root):
        run = make_run("gone", "g", rows=[{"f": s / 3, "i": s} for s in range(16 * 2048 + 5)])
        with sqlite3.connect(store_path(root)) as db:
            count = "SELECT count(*) FROM history_pages p JOIN runs r ON r.pk = p.run_pk WHERE r.run_id = 'g'"
            # f, _runtime, _timestamp: a full group and the last 5 points each; not the integers.
            assert db.execute(count).fetchone()[0] == 6
            trackline.Api().run(f"{run.entity}/gone/g").delete()
            assert db.execute("SELECT count(*) FROM history_pages p LEFT JOIN runs r ON r.pk = p.run_pk "
                              "WHERE r.pk IS NULL").fetchone()[0] == 0
            assert db.execute(count).fetchone()[0] == 0


def test_both_stores_export_the_same_file_as_pyarrow(isolated: Path, store_url: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite and PostgreSQL: pages written by the sender are copied, and the file equals
    pyarrow's from the same store."""
    for i in range(2):
        make_run("both", f"b{i}", rows=[{"loss": 1.0 / (s + 1), "n": s, **({"v": -s / 2} if s % 7 else {})}
                                        for s in range(33_000 + 100 * i)])
    outs = []
    for pyarrow in (False, True):
        out = isolated / f"both-{pyarrow}.parquet"
        made = run_export(monkeypatch, ["both", "-o", str(out), "--store", store_url], pyarrow=pyarrow)
        if not pyarrow:
            # Per run, a full group and the rest: loss, _runtime and _timestamp; not v (6 in 7
            # steps), nor the integers n.
            # v's 14 chunks and n's 17 are packed, in each run.
            assert made is not None and made.copied_pages == 2 * 3 * 2 and made.packed_pages == 2 * (14 + 17)
        outs.append(out)
    assert_same_file_contents(*outs)
    assert pq.read_table(outs[0]).num_rows == 33_000 + 33_100


def _counts(root: Path, project: str) -> tuple[int, int]:
    """The project's stored pages and history chunks."""
    import sqlite3

    with sqlite3.connect(store_path(root)) as db:
        runs = "SELECT r.pk FROM runs r JOIN projects p ON p.id = r.project_id WHERE p.name = ?"
        pages = db.execute(f"SELECT count(*) FROM history_pages WHERE run_pk IN ({runs})", (project,)).fetchone()[0]
        rows = db.execute(f"SELECT count(*) FROM history_chunks WHERE run_pk IN ({runs})", (project,)).fetchone()[0]
    return int(pages), int(rows)


def _pages_of(db_path: Path, run_id: str, key: str) -> list[tuple[int, int, bytes]]:
    import sqlite3

    with sqlite3.connect(db_path) as db:
        return db.execute(
            "SELECT p.chunk_no, p.chunks, p.page FROM history_pages p JOIN runs r ON r.pk = p.run_pk "
            "JOIN metric_keys k ON k.id = p.key_id WHERE r.run_id = ? AND k.name = ? ORDER BY p.chunk_no",
            (run_id, key)).fetchall()


def test_a_filled_group_of_chunks_becomes_one_page(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """16 sealed chunks (32,768 points) of a float key become one page; the chunks after
    them have none. Written batch by batch, as the sender does: the group's chunks from
    earlier batches are read back from the store."""
    from trackline.storage import chunks

    steps = np.arange(40_000)
    a = steps * 0.5
    with isolated_env(root):
        run = make_run("groups", "g")  # an empty run; history comes in batches below
    store = open_store(str(store_path(root)))
    try:
        writer = store.stream_writer(RunKey(run.entity, "groups", "g"), (7).to_bytes(16, "big"))
        for i, lo in enumerate(range(0, len(steps), 3000)):  # 3,000 steps a batch
            ch = Changes(stream_id=(7).to_bytes(16, "big"), first_seq=i + 1, last_seq=i + 1)
            s = steps[lo : lo + 3000]
            third = s[s % 3 == 0]
            ch.points = {"a": (s, a[lo : lo + 3000]), "n": (s, s.copy()), "c": (third, -third / 4)}
            ch.rows = len(s)
            writer.apply(ch)
    finally:
        store.close()
    pages = _pages_of(store_path(root), "g", "a")
    assert [(no, count) for no, count, _ in pages] == [(0, 16)]
    assert np.array_equal(chunks.unpack_f8(pages[0][2], 16 * 2048), a[: 16 * 2048])
    assert _pages_of(store_path(root), "g", "c") == []  # 13,334 points: 6 chunks, no full group
    assert _pages_of(store_path(root), "g", "n") == []  # integers: no pages

    whole, made = export(root, monkeypatch, "groups", "groups")
    arrow, _ = export(root, monkeypatch, "groups", "groups-arrow", pyarrow=True)
    assert made is not None and made.read_segments == 0
    # a: its page, then 4 chunks packed (3 sealed, 1 open); c: 7 chunks, n: 20, all packed.
    assert (made.copied_pages, made.packed_pages) == (1, 4 + 7 + 20)
    assert_same_file_contents(whole, arrow)
    # Windows of 10,000 steps cut the group's page: it is unpacked and its parts packed again.
    cut, made = export(root, monkeypatch, "groups", "groups-cut", window=10_000)
    assert made is not None and made.copied_segments == 4 and made.read_segments == 0
    assert_same_file_contents(cut, arrow)
    table = pq.read_table(cut)
    assert table.column("a").to_pylist() == a.tolist() and table.column("_step").to_pylist() == steps.tolist()


@pytest.mark.parametrize("ints", [True, False])
def test_when_a_stream_ends_its_last_groups_get_pages(root: Path, monkeypatch: pytest.MonkeyPatch,
                                                      ints: bool) -> None:
    """A run's last, incomplete group of float chunks gets its page when its stream ends, so a
    finished run is copied whole. A write after that (not expected: the exit is a stream's
    last record) leaves the page short of its last chunk, which is then read, and the file
    is still pyarrow's: the later points are not lost. With only floats every chunk count
    still matches the pages, so only the last chunk's points tell (``_STALE``); an integer
    metric's chunks, which the plan asks about one by one, would have hidden that."""
    from trackline.storage import chunks

    sid = (8).to_bytes(16, "big")
    steps = np.arange(40_000)
    a = steps * 0.25
    project, run_id = f"ends-{ints}", f"e-{ints}"
    with isolated_env(root):
        run = make_run(project, run_id)  # an empty run; history comes in batches below
    store = open_store(str(store_path(root)))

    def batch(seq: int, lo: int, hi: int, *, ended: bool = False) -> None:
        ch = Changes(stream_id=sid, first_seq=seq, last_seq=seq, ended=ended)
        s = steps[lo:hi]
        third = s[s % 3 == 0]
        ch.points = {"a": (s, a[lo:hi]), "c": (third, -third / 4), **({"n": (s, s.copy())} if ints else {})}
        ch.rows = len(s)
        writer.apply(ch)

    try:
        writer = store.stream_writer(RunKey(run.entity, project, run_id), sid)
        for i, lo in enumerate(range(0, 39_000, 3000)):
            batch(i + 1, lo, min(lo + 3000, 39_000), ended=lo + 3000 >= 39_000)
    finally:
        store.close()
    db = store_path(root)
    # a: its full group, then chunks 16..19 (6,232 points); c: 13,000 points every 3rd step,
    # chunks 0..6; n: integers, no pages.
    assert [(no, count) for no, count, _ in _pages_of(db, run_id, "a")] == [(0, 16), (16, 4)]
    assert [(no, count) for no, count, _ in _pages_of(db, run_id, "c")] == [(0, 7)]
    tail = _pages_of(db, run_id, "a")[1][2]
    assert np.array_equal(chunks.unpack_f8(tail, 39_000 - 16 * 2048), a[16 * 2048 : 39_000])
    whole, made = export(root, monkeypatch, project, f"{project}")
    arrow, _ = export(root, monkeypatch, project, f"{project}-arrow", pyarrow=True)
    assert made is not None and made.read_segments == 0
    assert (made.copied_pages, made.packed_pages) == (3, 20 if ints else 0)  # n's 20 chunks are packed
    assert_same_file_contents(whole, arrow)

    store = open_store(str(store_path(root)))
    try:
        writer = store.stream_writer(RunKey(run.entity, project, run_id), sid)
        batch(100, 39_000, 40_000)  # a and c's last chunks are written again, with more points
    finally:
        store.close()
    later, made = export(root, monkeypatch, project, f"{project}-later")
    arrow, _ = export(root, monkeypatch, project, f"{project}-later-arrow", pyarrow=True)
    assert made is not None and made.read_segments == 1
    assert_same_file_contents(later, arrow)
    assert pq.read_table(later).column("a").to_pylist() == a.tolist()


def test_a_resumed_runs_second_stream_is_exported_beside_the_pages_of_its_first(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run resumed by a second process (its own record stream) that is still running: the
    first stream's chunks are all held by pages, the second's by none, and the plan must
    find those although the key's first stream needs no question asked of its chunks."""
    steps = np.arange(50_000)
    with isolated_env(root):
        run = make_run("resumed", "r2")  # an empty run; its streams come below
    store = open_store(str(store_path(root)))
    try:
        for n, (lo, hi, ended) in enumerate([(0, 40_000, True), (40_000, 50_000, False)]):
            sid = (20 + n).to_bytes(16, "big")
            ch = Changes(stream_id=sid, first_seq=1, last_seq=1, ended=ended)
            ch.points = {"y": (steps[lo:hi], steps[lo:hi] / 7)}
            ch.rows = hi - lo
            store.stream_writer(RunKey(run.entity, "resumed", "r2"), sid).apply(ch)
    finally:
        store.close()
    out, made = export(root, monkeypatch, "resumed", "resumed")
    arrow, _ = export(root, monkeypatch, "resumed", "resumed-arrow", pyarrow=True)
    assert made is not None and made.copied_pages == 2 and made.packed_pages == 5  # the second stream's 5 chunks
    assert_same_file_contents(out, arrow)
    assert pq.read_table(out).column("y").to_pylist() == (steps / 7).tolist()


def test_a_damaged_page_is_read_from_the_raw_chunks(root: Path, monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    """Pages are a copy: when one is not a frame of its chunks' size, that run's window is
    read from the raw chunks (the reader's path) and the export is still whole."""
    import shutil
    import sqlite3

    good, _ = export(root, monkeypatch, "curves", "undamaged")
    copy = tmp_path / "root"
    shutil.copytree(root, copy)
    with sqlite3.connect(store_path(copy)) as db:
        db.execute("UPDATE history_pages SET page = x'00112233' WHERE rowid = (SELECT min(rowid) FROM history_pages "
                   "WHERE run_pk = (SELECT pk FROM runs WHERE run_id = 'c1'))")
    damaged, made = export(copy, monkeypatch, "curves", "damaged")
    assert made is not None and made.read_segments == 1 and made.copied_segments == 2
    assert_same_file_contents(good, damaged)


@pytest.mark.parametrize(("steps", "read"), [
    ("step_last = step_first", 0), ("step_last = step_first - 5", 0), ("step_first = step_last", 0),
    ("step_first = NULL", 0), ("step_last = step_last + 1", 1), ("step_last = step_last + 40000", 1),
    ("chunk_no = chunk_no + 1", 1), ("chunks = 17", 0)])
def test_a_page_whose_step_range_cannot_be_its_points_is_damaged_too(
        root: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, steps: str, read: int) -> None:
    """A page's range must space its 32,768 points evenly (a step of at least 1). A range
    too short for them makes it no page: its chunks are packed as they are. One that does
    not divide evenly is left out like a bad frame, and the run's window is read from the
    raw chunks. So is a page moved off its group's first chunk (its chunk 0 is then held by
    none, and the plan asks each chunk); one that claims more chunks than its points fill
    is no page. Either way the file is whole."""
    import shutil
    import sqlite3

    good, was = export(root, monkeypatch, "curves", "range-undamaged")
    copy = tmp_path / "root"
    shutil.copytree(root, copy)
    with sqlite3.connect(store_path(copy)) as db:
        db.execute(f"UPDATE history_pages SET {steps} WHERE rowid = (SELECT min(rowid) FROM history_pages "
                   "WHERE run_pk = (SELECT pk FROM runs WHERE run_id = 'c1'))")
    damaged, made = export(copy, monkeypatch, "curves", "range-damaged")
    assert made is not None and was is not None and made.read_segments == read
    assert made.copied_pages < was.copied_pages  # the damaged page was not copied
    assert_same_file_contents(good, damaged)


def test_pages_say_their_evenly_spaced_steps_and_only_those_groups_have_one(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A page holds a group whose steps are evenly spaced (every step, or every n-th) and
    says the first and last; the export copies it without reading its chunk rows. A group
    with uneven steps has no page. A page whose steps a later write repeats is read through
    the reader (the last write wins)."""
    import sqlite3

    n = 16 * 2048 + 300
    with isolated_env(root):
        make_run("spaced", "every10", rows=[({"x": s / 7}, 10 * s) for s in range(n)])
        uneven = [s + (s >= 5000) for s in range(n)]  # one step skipped in the first group
        make_run("spaced", "uneven", rows=[({"x": s / 7}, step) for s, step in enumerate(uneven)])
        make_run("spaced", "again", rows=[*(({"x": s / 7}, s) for s in range(n)), ({"x": -1.0}, 100)])
    with sqlite3.connect(store_path(root)) as db:
        got = dict(db.execute(
            "SELECT r.run_id, group_concat(p.chunk_no || ':' || p.step_first || ':' || p.step_last) "
            "FROM history_pages p JOIN runs r ON r.pk = p.run_pk JOIN metric_keys k ON k.id = p.key_id "
            "JOIN projects j ON j.id = r.project_id WHERE k.name = 'x' AND j.name = 'spaced' "
            "GROUP BY r.run_id").fetchall())
    last = 16 * 2048  # the last group's first step, and its first chunk (its page: when the run ended)
    assert got == {"every10": f"0:0:{10 * (last - 1)},16:{10 * last}:{10 * (n - 1)}",
                   "uneven": f"16:{last + 1}:{n}",  # the first group is uneven, the rest is not
                   "again": f"0:0:{last - 1}"}  # its last group holds step 100 again: no page
    pages, made = export(root, monkeypatch, "spaced", "spaced")
    arrow, _ = export(root, monkeypatch, "spaced", "spaced-arrow", pyarrow=True)
    assert made is not None and made.read_segments == 1 and made.copied_segments == 2  # "again" is read
    # every10's x, _runtime and _timestamp (two pages each), uneven's last group of each.
    assert made.copied_pages == 3 * 2 + 3
    assert_same_file_contents(pages, arrow)
    table = pq.read_table(pages, filters=[("run_id", "==", "every10")])
    assert table.column("_step").to_pylist() == [10 * s for s in range(n)]
    again = pq.read_table(pages, filters=[("run_id", "==", "again")]).to_pydict()
    assert len(again["x"]) == n and again["x"][100] == -1.0 and again["x"][101] == 101 / 7
    # Windows of 20,000 rows cut every10's pages (32,768 points, 327,680 steps): packed again.
    cut, made = export(root, monkeypatch, "spaced", "spaced-cut", window=20_000)
    assert made is not None and made.read_segments >= 1
    assert_same_file_contents(cut, arrow)


def test_the_statements_never_read_a_held_chunks_row(root: Path) -> None:
    """For a project not in the page cache, the chunk rows a page holds are most of the bytes
    the export could read: SQLite finds chunks through their primary key, whose columns
    answer "does a page hold it?" before the row is read, and plans from the pages' index."""
    import sqlite3

    from trackline.cli.export_pages import (
        _CHUNK_COUNTS,
        _CHUNKS,
        _PAGE_SPANS,
        _PAGES,
        _STALE,
        _UNHELD,
    )

    hints = {"pks": "?", "kids": "?", "p": "?", "chunks_pk": " INDEXED BY sqlite_autoindex_history_chunks_1",
             "pages_steps": " INDEXED BY ix_history_pages_steps"}
    with sqlite3.connect(store_path(root)) as db:
        def plan(sql: str, *more: int) -> str:
            rows = db.execute("EXPLAIN QUERY PLAN " + sql.format(**hints), (1, 1, *more)).fetchall()
            return " | ".join(r[-1] for r in rows)

        assert "USING INDEX sqlite_autoindex_history_chunks_1" in plan(_CHUNKS, 0, 0, 10)
        unheld = plan(_UNHELD)
        assert "USING INDEX sqlite_autoindex_history_chunks_1" in unheld
        assert "COVERING INDEX ix_history_pages_steps" in unheld  # the probe reads no page row
        assert "COVERING INDEX ix_history_pages_steps" in plan(_PAGE_SPANS)
        assert "COVERING INDEX sqlite_autoindex_history_chunks_1" in plan(_CHUNK_COUNTS)  # counts, no rows
        stale = plan(_STALE)  # the pages' index, then a last chunk's row by its key
        assert "COVERING INDEX ix_history_pages_steps" in stale and "sqlite_autoindex_history_chunks_1" in stale
        pages = plan(_PAGES, 0, 10)
        assert "USING INDEX ix_history_pages_steps" in pages and "TEMP B-TREE" not in pages  # no sorter


def test_a_long_runs_windows_look_for_chunks_only_where_pages_leave_some(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows of a long run that pages cover whole do not walk the chunks' index; the
    windows with a chunk no page holds (an uneven group in the middle, the last chunks) do,
    and the file is still pyarrow's."""
    group = 16 * 2048
    steps = [s for s in range(8 * group + 1000) if s != 2 * group + 7]  # group 2 is uneven: no page
    with isolated_env(root):
        make_run("long", "l", rows=[({"y": s / 3}, s) for s in steps])
    walks: list[tuple[int, int]] = []
    real = export_pages._query

    def spy(conn: Any, sql: str, pks: list[int], kids: list[int], *more: int) -> list[Any]:
        if sql is export_pages._CHUNKS:
            walks.append((more[1], more[2]))
        return real(conn, sql, pks, kids, *more)

    monkeypatch.setattr(export_pages, "_query", spy)
    pages, made = export(root, monkeypatch, "long", "long", window=2 * group)
    arrow, _ = export(root, monkeypatch, "long", "long-arrow", pyarrow=True, window=2 * group)
    assert made is not None and made.copied_segments == 5 and made.read_segments == 0
    # Windows of two groups. y's third group has no page: one window of five looks for chunks
    # (the last 1,000 steps of every key have theirs, written when the run finished).
    assert walks == [(2 * group, 4 * group - 1)]
    assert_same_file_contents(pages, arrow)
    assert pq.read_table(pages).column("_step").to_pylist() == steps


def test_row_groups_hold_a_bounded_number_of_values() -> None:
    """Groups as large as memory allows when every value must be unpacked: 2M values,
    between pyarrow's window of rows and 1M rows."""
    assert export_pages.window_rows(["a", "b", "c"]) == (2 << 20) // 3
    assert export_pages.window_rows(["x"]) == 1 << 20
    assert export_pages.window_rows([f"k{i}" for i in range(100)]) == export_writers.EXPORT_WINDOW


def test_a_page_written_while_a_row_group_is_read_loses_nothing(root: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    """A live run's writer can add a page between the row group's two queries: the chunks
    are read first, so the new page's chunks are there too, and the window goes through the
    reader (in the other order they would be left out as held, and the page not read)."""
    import shutil
    import sqlite3

    good, _ = export(root, monkeypatch, "curves", "before-the-race")
    copy = tmp_path / "root"
    shutil.copytree(root, copy)
    with sqlite3.connect(store_path(copy)) as db:
        saved = db.execute("SELECT * FROM history_pages").fetchall()
        db.execute("DELETE FROM history_pages")
    real = export_pages._query
    written = []

    def writer_between(conn: Any, sql: str, *a: Any) -> list[Any]:
        got = real(conn, sql, *a)
        if sql is export_pages._CHUNKS and not written:
            with sqlite3.connect(store_path(copy)) as db:  # the pages come back: "sealed" now
                db.executemany(f"INSERT INTO history_pages VALUES ({','.join('?' * len(saved[0]))})", saved)
            written.append(True)
        return got

    monkeypatch.setattr(export_pages, "_query", writer_between)
    raced, made = export(copy, monkeypatch, "curves", "raced")
    assert written and made is not None and made.read_segments == 3  # each run's window overlaps a new page
    assert_same_file_contents(good, raced)

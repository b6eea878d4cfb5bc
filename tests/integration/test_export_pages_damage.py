"""The export copies stored pages only where they are sound: a property test.

Pages are a copy of chunks, and the export trusts a page only after checks (its frame's
size, its step range, its place among the chunks, its points against its last chunk's;
``cli/export_pages.py``), and skips asking about chunks one by one where the pages tile
them. Whatever is deleted or damaged among the pages, the file must hold what pyarrow's
writer writes from the chunks alone. Damage a check cannot see (a range shifted by a whole
stride, another page's frame of the same size, a page moved to another metric's chunks) is
left out: no copy can tell it without decompressing every page.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.test_export_pages import assert_same_file_contents, export
from tests.unit.api.seeding import isolated_env, make_run, store_path
from trackline.runstate.changes import Changes
from trackline.storage import open_store
from trackline.storage.base import RunKey

pytest.importorskip("pyarrow.parquet")


def _write(root: Path, run_id: str, streams: list[tuple[int, int, bool]], every: int = 1, after: int = 0) -> None:
    """Run ``run_id`` of project "damage": each stream ``(first step, last step + 1, ended)``
    logs float ``x`` (every ``every``-th step) and integer ``n``, in batches of 5,000; the
    last stream then logs ``after`` steps more after its end (its last pages go stale)."""
    with isolated_env(root):
        run = make_run("damage", run_id)
    store = open_store(str(store_path(root)))
    try:
        for s, (lo, hi, ended) in enumerate(streams):
            sid = (100 + s).to_bytes(16, "big")
            writer = store.stream_writer(RunKey(run.entity, "damage", run_id), sid)
            starts = [*range(lo, hi, 5000), *([hi] if s == len(streams) - 1 and after else [])]
            for i, a in enumerate(starts):
                steps = np.arange(a, min(a + 5000, hi if a < hi else hi + after))
                steps = steps[steps % every == 0]
                ch = Changes(stream_id=sid, first_seq=i + 1, last_seq=i + 1, ended=ended and a < hi <= a + 5000)
                ch.points = {"x": (steps, np.sin(steps / 77.0)), "n": (steps, steps // 10)}
                ch.rows = len(steps)
                writer.apply(ch)
    finally:
        store.close()


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("export-damage")
    _write(root, "finished", [(0, 70_000, True)])  # two full groups and a last one: 3 pages
    _write(root, "thirds", [(0, 120_000, True)], every=3)  # 40,000 points: 2 pages
    _write(root, "resumed", [(0, 36_000, True), (36_000, 45_000, False)])  # 2 pages; a live stream
    _write(root, "live", [(0, 34_000, False)])  # 1 page; its last chunks have none
    _write(root, "late", [(0, 20_000, True)], after=300)  # 1 page, stale: read through the reader
    yield root


def _damage(db: Path, changes: list[tuple[str, int]]) -> None:
    """Apply ``(what, which page)``; a change that breaks the pages' key is skipped."""
    with sqlite3.connect(db) as conn:
        rowids = [r for (r,) in conn.execute("SELECT rowid FROM history_pages ORDER BY rowid")]
        for what, i in changes:
            if not rowids:
                return
            rowid = rowids[i % len(rowids)]
            points = conn.execute("SELECT coalesce(points, chunks * 2048) FROM history_pages WHERE rowid = ?",
                                  (rowid,)).fetchone()
            if points is None:
                continue  # deleted by an earlier change
            if what.startswith("step") and points[0] < 3:
                continue  # 2 points: a range one step longer is still even (a stride of 2)
            statement = {
                "delete": "DELETE FROM history_pages WHERE rowid = ?",
                "move": "UPDATE history_pages SET chunk_no = chunk_no + 1 WHERE rowid = ?",
                "more chunks": "UPDATE history_pages SET chunks = chunks + 1 WHERE rowid = ?",
                "fewer chunks": "UPDATE history_pages SET chunks = chunks - 1 WHERE rowid = ?",
                "more points": "UPDATE history_pages SET points = coalesce(points, chunks * 2048) + 1 WHERE rowid = ?",
                "no points": "UPDATE history_pages SET points = NULL WHERE rowid = ?",
                "step_first": "UPDATE history_pages SET step_first = step_first + 1 WHERE rowid = ?",
                "step_last": "UPDATE history_pages SET step_last = step_last - 1 WHERE rowid = ?",
                "no steps": "UPDATE history_pages SET step_first = NULL WHERE rowid = ?",
                "cut frame": "UPDATE history_pages SET page = substr(page, 1, length(page) - 5) WHERE rowid = ?",
                "longer frame": "UPDATE history_pages SET page = CAST(page || x'00' AS BLOB) WHERE rowid = ?",
                "other stream": "UPDATE history_pages SET stream_pk = stream_pk + 1 WHERE rowid = ?",
            }[what]
            try:
                conn.execute(statement, (rowid,))
            except sqlite3.IntegrityError:
                continue


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(st.tuples(st.sampled_from([
    "delete", "move", "more chunks", "fewer chunks", "more points", "no points", "step_first", "step_last",
    "no steps", "cut frame", "longer frame", "other stream"]), st.integers(0, 100)), max_size=4))
def test_damaged_or_missing_pages_never_change_the_file(root: Path, tmp_path_factory: pytest.TempPathFactory,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        changes: list[tuple[str, int]]) -> None:
    copy = tmp_path_factory.mktemp("damaged")
    shutil.copytree(root / "home", copy / "home")
    _damage(store_path(copy), changes)
    pages, made = export(copy, monkeypatch, "damage", "pages")
    arrow, _ = export(copy, monkeypatch, "damage", "arrow", pyarrow=True)
    assert made is not None
    assert_same_file_contents(pages, arrow)


def test_the_undamaged_store_is_copied_where_it_can_be(root: Path, tmp_path_factory: pytest.TempPathFactory,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The property's starting point copies pages (3 + 2 + 2 + 1 of x) and packs the rest:
    the integers, the live stream's and the live run's last chunks. The run written after
    its end is read through the reader: its last page is short of its last chunk."""
    copy = tmp_path_factory.mktemp("whole")
    shutil.copytree(root / "home", copy / "home")
    pages, made = export(copy, monkeypatch, "damage", "pages")
    arrow, _ = export(copy, monkeypatch, "damage", "arrow", pyarrow=True)
    assert made is not None and made.read_segments == 1 and made.copied_pages == 8
    assert_same_file_contents(pages, arrow)

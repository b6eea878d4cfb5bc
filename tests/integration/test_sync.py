"""Invariant 2: replay is idempotent (sync twice, or after a partial sync, changes nothing)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import trackline
from trackline.records.frames import FILE_HEADER, read_all
from trackline.sender.sync import sync_log
from trackline.storage import open_store


def make_offline_run(steps: int = 3000) -> trackline.Run:
    run = trackline.init(project="sync", mode="offline", config={"lr": 0.1})
    run.define_metric("loss", summary="min,max,mean")
    for i in range(steps):
        run.log({"loss": (i % 97) / 97, "acc": i / steps, "tag": f"t{i % 5}", "nested": {"x": i}})
        if i == 100:
            run.log({"late": 1}, step=5)
        if i % 700 == 0:
            run.config.update({f"c{i}": i})
            run.summary["manual"] = i
    run.finish()
    return run


def dump(db: Path) -> dict[str, list]:
    con = sqlite3.connect(db)
    out = {}
    for table in ("projects", "runs", "history_chunks", "history_values", "metric_defs", "run_keys", "run_streams"):
        rows = con.execute(f"SELECT * FROM {table}").fetchall()
        cols = [d[0] for d in con.execute(f"SELECT * FROM {table}").description]
        drop = {"updated_at", "heartbeat_at", "created_at"} if table in ("runs", "run_streams", "projects") else set()
        out[table] = sorted(
            tuple(v for c, v in zip(cols, r, strict=True) if c not in drop) for r in rows
        )
    con.close()
    return out


def pages(db: Path) -> list[tuple[str, int]]:
    """The store's export pages (metric name, points), each checked against the chunks it
    holds: a page that holds fewer points than they do is a stale copy."""
    with sqlite3.connect(db) as con:
        got = con.execute(
            "SELECT k.name, p.points, (SELECT sum(c.n) FROM history_chunks c WHERE c.run_pk = p.run_pk "
            "AND c.key_id = p.key_id AND c.stream_pk = p.stream_pk "
            "AND c.chunk_no BETWEEN p.chunk_no AND p.chunk_no + p.chunks - 1) "
            "FROM history_pages p JOIN metric_keys k ON k.id = p.key_id").fetchall()
    assert all(points == held for _, points, held in got), got
    return sorted((name, points) for name, points, _ in got)


def test_sync_twice_equals_sync_once(tmp_path: Path) -> None:
    run = make_offline_run()
    log = run.settings.sync_file
    db = tmp_path / "a.db"
    store = open_store(str(db))
    first = sync_log(log, store)
    assert first.state == "finished"
    once = dump(db)
    again = sync_log(log, store)
    assert dump(db) == once
    assert again.records == first.records
    api_run = trackline.Api({"store": str(db)}).run(f"sync/{run.id}")
    assert len(list(api_run.scan_history(keys=["loss"]))) == 3000
    assert api_run.summary["loss"]["max"] == 96 / 97


def test_sync_after_a_partial_sync_equals_one_full_sync(tmp_path: Path) -> None:
    run = make_offline_run()
    log = Path(run.settings.sync_file)
    full_db = tmp_path / "full.db"
    sync_log(str(log), open_store(str(full_db)))
    expected = dump(full_db)

    _, frames, _ = read_all(log)
    for cut in (1, 2, len(frames) // 3, len(frames) - 1):
        partial = tmp_path / f"partial-{cut}.tlog"
        shutil.copy(log, partial)
        with open(partial, "r+b") as f:
            f.truncate(frames[cut - 1].end)
        db = tmp_path / f"p{cut}.db"
        store = open_store(str(db))
        # The partial log looks like a crashed run: sync it, then sync the full log.
        crashed = sync_log(str(partial), store)
        if crashed.state == "crashed" and cut > 2:
            # Its end gave each float metric's points their page, for export.
            assert {name for name, _ in pages(db)} >= {"loss", "acc"}
        result = sync_log(str(log), store)
        assert result.state == "finished"
        got = dump(db)
        # The full log writes the crashed part's points again (which the chunks then hold
        # twice, so unevenly: no page), or only what came after: the pages of the crash were
        # written again or deleted at the real end, never left short.
        assert set(pages(db)) <= set(pages(full_db)) and pages(full_db) != []
        # Rows written while the partial log looked crashed stay (nothing is lost);
        # apart from that the store equals a single full sync.
        assert got["history_values"] == expected["history_values"]
        assert got["metric_defs"] == expected["metric_defs"]
        api_full = trackline.Api({"store": str(full_db)}).run(f"sync/{run.id}")
        api_part = trackline.Api({"store": str(db)}).run(f"sync/{run.id}")
        assert list(api_part.scan_history()) == list(api_full.scan_history())
        assert api_part.summary == api_full.summary and api_part.config == api_full.config
        assert api_part.state == "finished"


def test_header_only_log_is_reported(tmp_path: Path) -> None:
    run = make_offline_run(10)
    log = Path(run.settings.sync_file)
    broken = tmp_path / "broken.tlog"
    broken.write_bytes(log.read_bytes()[: FILE_HEADER.size + 3])
    import pytest

    from trackline.records.frames import RecordLogError

    with pytest.raises(RecordLogError, match="no run record"):
        sync_log(str(broken), open_store(str(tmp_path / "x.db")))


def test_sync_all_skips_runs_already_in_the_store(tmp_path: Path) -> None:
    import subprocess
    import sys

    online = trackline.init(project="sync")
    online.log({"a": 1})
    online.finish()
    offline = trackline.init(project="sync", mode="offline")
    offline.log({"a": 2})
    offline.finish()
    res = subprocess.run([sys.executable, "-m", "trackline.cli.main", "sync", "--all"],
                         capture_output=True, text=True, check=True)
    assert offline.id in res.stdout and online.id not in res.stdout
    assert res.stdout.count("Synced") == 1  # the latest-run link is not a second run
    res = subprocess.run([sys.executable, "-m", "trackline.cli.main", "sync", "--all"],
                         capture_output=True, text=True, check=True)
    assert "Nothing to sync" in res.stderr

"""trackline query on SQLite and on PostgreSQL: the same views give the same rows, and
nothing that writes gets through (on a real PostgreSQL server when one is available)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import PYTHON, child_env
from tests.unit.api.seeding import make_run


def query(tmp: Path, store: str, sql: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "trackline.cli.main", "query", sql, "--store", store, *flags],
                          cwd=tmp / "work", env=child_env(tmp), capture_output=True, text=True, timeout=120)


def rows(tmp: Path, store: str, sql: str) -> list[dict[str, Any]]:
    p = query(tmp, store, sql, "--json")
    assert p.returncode == 0, p.stderr
    out: list[dict[str, Any]] = json.loads(p.stdout)
    return out


def test_views_and_read_only_on_both_stores(isolated: Path, store_url: str) -> None:
    make_run("q", "r1", tags=["b", "a"], config={"lr": 0.1, "batch_size": 32, "opt": {"name": "adam"},
                                                "layers": [64, 32]},
             rows=[{"loss": 1.0, "note": "x"}, {"loss": 0.5}], summary={"best": {"acc": 0.9}})
    make_run("q", "r2", config={"lr": 0.01}, rows=[{"loss": 2.0}])

    config = rows(isolated, store_url, "SELECT run_id, key, value FROM v_config ORDER BY run_id, key")
    assert config == [
        {"run_id": "r1", "key": "batch_size", "value": 32},  # a key with _ (json_tree quotes it)
        {"run_id": "r1", "key": "layers[0]", "value": 64},
        {"run_id": "r1", "key": "layers[1]", "value": 32},
        {"run_id": "r1", "key": "lr", "value": 0.1},
        {"run_id": "r1", "key": "opt.name", "value": "adam"},
        {"run_id": "r2", "key": "lr", "value": 0.01},
    ]  # no _wandb (internal)
    assert rows(isolated, store_url, "SELECT run_id, value FROM v_summary WHERE key = 'best.acc'") == [
        {"run_id": "r1", "value": 0.9}
    ]
    assert rows(isolated, store_url, "SELECT run_id, tag FROM v_tags ORDER BY run_id, tag") == [
        {"run_id": "r1", "tag": "a"}, {"run_id": "r1", "tag": "b"}
    ]
    runs = rows(isolated, store_url, "SELECT run_id, path, state, created_at, tags FROM v_runs ORDER BY run_id")
    assert [(r["run_id"], r["path"], r["state"]) for r in runs] == [
        ("r1", f"{runs[0]['path'].split('/')[0]}/q/r1", "finished"), ("r2", f"{runs[1]['path'].split('/')[0]}/q/r2",
                                                                     "finished")]
    assert all(len(r["created_at"]) == 20 and r["created_at"].endswith("Z") for r in runs)
    assert json.loads(runs[0]["tags"]) == ["b", "a"]  # JSON text on both
    assert rows(isolated, store_url, "SELECT run_id, key, points FROM v_metrics WHERE key = 'loss' "
                                     "ORDER BY run_id") == [
        {"run_id": "r1", "key": "loss", "points": 2}, {"run_id": "r2", "key": "loss", "points": 1}
    ]
    assert rows(isolated, store_url, "SELECT run_id, key, step, value FROM v_history_values") == [
        {"run_id": "r1", "key": "note", "step": 0, "value": '"x"'}
    ]
    assert rows(isolated, store_url, "SELECT count(*) AS n FROM v_projects WHERE project LIKE 'q%'") == [{"n": 1}]

    for sql in ["DELETE FROM runs", "UPDATE runs SET name = 'x'", "CREATE TABLE t (a int)",
                "SELECT 1; DELETE FROM runs", "DROP VIEW v_runs"]:
        p = query(isolated, store_url, sql)
        assert p.returncode == 2, (sql, p.stdout, p.stderr)
    assert rows(isolated, store_url, "SELECT count(*) AS n FROM runs") == [{"n": 2}]
    assert rows(isolated, store_url, "SELECT name FROM v_runs WHERE run_id = 'r1'")[0]["name"] != "x"

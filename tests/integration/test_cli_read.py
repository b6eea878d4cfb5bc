"""trackline ls / show / export / status / query, run as real subprocesses on a real store."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PYTHON, REPO, child_env
from tests.unit.api.seeding import isolated_env, make_run, store_path

N = 50


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("cli")
    with isolated_env(root):
        make_run("cli", "a1", name="first", tags=["x"], config={"lr": 0.1, "opt": {"name": "adam"}},
                 rows=[{"loss": 1.0 / (i + 1), "acc": i, **({"note": f"n{i}"} if i % 10 == 0 else {})}
                       for i in range(N)],
                 files={"model.bin": b"\x01\x02"}, local_files={"output.log": b"hello\n"})
        make_run("cli", "a2", name="second", config={"lr": 0.01}, rows=[{"loss": 5.0}, {"loss": 4.0}],
                 exit_code=1)
        make_run("other", "b1", rows=[{"x": 1}])
        # An offline run that was never synced: `status` must list it.
        import trackline

        pending = trackline.init(project="cli", id="offline1", mode="offline")
        pending.log({"loss": 1.0})
        pending.finish()
    yield root


def cli(root: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "trackline.cli.main", *args],
        cwd=root / "work", env=child_env(root), capture_output=True, text=True, input=input, timeout=120,
    )


def ok(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    p = cli(root, *args)
    assert p.returncode == 0, p.stderr
    return p


def store_snapshot(root: Path) -> list[tuple]:
    con = sqlite3.connect(store_path(root))
    try:
        return [tuple(r) for t in ("projects", "runs", "history_chunks", "run_files")
                for r in con.execute(f"SELECT * FROM {t}")]
    finally:
        con.close()


# -- ls ---------------------------------------------------------------------------------------


def test_ls_projects(root: Path) -> None:
    table = ok(root, "ls").stdout
    assert re.search(r"/cli\s+2\s", table) and re.search(r"/other\s+1\s", table)
    projects = json.loads(ok(root, "ls", "--json").stdout)
    assert [(p["name"], p["run_count"]) for p in projects] == [("cli", 2), ("other", 1)]


def test_ls_runs_json_filter_sort_limit(root: Path) -> None:
    runs = json.loads(ok(root, "ls", "cli", "--json").stdout)
    assert [r["id"] for r in runs] == ["a2", "a1"]  # newest first
    a1 = runs[1]
    assert a1["name"] == "first" and a1["state"] == "finished" and a1["tags"] == ["x"]
    assert a1["config"] == {"lr": 0.1, "opt": {"name": "adam"}} and a1["last_step"] == N - 1
    assert runs[0]["state"] == "failed"
    got = json.loads(ok(root, "ls", "cli", "--json", "-f", '{"config.lr": {"$gt": 0.05}}').stdout)
    assert [r["id"] for r in got] == ["a1"]
    got = json.loads(ok(root, "ls", "cli", "--json", "-s", "+summary_metrics.loss").stdout)
    assert [r["id"] for r in got] == ["a1", "a2"]
    p = ok(root, "ls", "cli", "--json", "-n", "1", "-s", "+created_at")
    assert [r["id"] for r in json.loads(p.stdout)] == ["a1"]
    assert "showing 1 of 2 runs" in p.stderr
    table = ok(root, "ls", "cli", "-c", "config.lr,summary.loss").stdout
    assert "a1" in table and "first" in table and "failed" in table and "0.01" in table


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ls", "nope"], "no project"),
        (["ls", "a/b/c"], "is a run path"),
        (["ls", "cli", "-f", "{not json"], "not JSON"),
        (["ls", "cli", "-f", '{"config.lr": {"$gtt": 1}}'], "unknown operator '$gtt'"),
        (["ls", "cli", "-s", "+colour"], "Invalid value for --sort: order: unknown field 'colour'"),
        (["ls", "cli", "-f", '{"colour": 1}'], "Invalid value for --filter: filters: unknown field 'colour'"),
        (["show", "nope"], "no run with id 'nope'"),
        (["show", "cli/nope"], "Could not find run"),
        (["show", "a/b/c/d/e"], "Invalid path"),
        (["show", ""], "give a run: ENTITY/PROJECT/RUN_ID"),
        (["show", " / "], "give a run: ENTITY/PROJECT/RUN_ID"),
        (["export", "cli/nope", "-o", "x.csv"], "not a project"),
        (["export", "cli/a1", "-o", "x.csv", "-k", "nope"], "no history for 'nope'"),
        (["export", "cli/a1", "-o", "x.txt"], "give --format"),
        (["query", "DELETE FROM runs"], "read-only"),
        (["query", "ATTACH DATABASE 'evil.db' AS e"], "read-only"),
        (["query", "SELECT * FROM nowhere"], "no such table"),
    ],
)
def test_wrong_input_exits_2_and_changes_nothing(root: Path, args: list[str], message: str) -> None:
    before = store_snapshot(root)
    p = cli(root, *args)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert message in p.stderr
    assert store_snapshot(root) == before
    assert not (root / "work" / "x.csv").exists() and not (root / "work" / "evil.db").exists()


@pytest.mark.parametrize(
    "args",
    [["ls", "cli"], ["show", "a1"], ["export", "cli", "-o", "x.csv"], ["query", "SELECT 1"],
     ["artifact", "ls"], ["rm", "cli/a1", "--yes"], ["gc"]],
)
def test_a_store_that_is_not_there_is_an_error_and_is_not_made(root: Path, tmp_path: Path, args: list[str]) -> None:
    """A mistyped --store names no store: said with exit code 2, and no empty store is
    left at that path (read commands used to create one and report nothing found)."""
    typo = tmp_path / "typo" / "store.db"
    p = cli(root, *args, "--store", str(typo))
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert f"no store at {typo} yet" in p.stderr
    assert not typo.parent.exists()


def test_ls_of_no_store_says_no_projects_yet(root: Path, tmp_path: Path) -> None:
    typo = tmp_path / "typo" / "store.db"
    p = ok(root, "ls", "--store", str(typo))
    assert "No projects yet" in p.stdout and str(typo) in p.stdout
    assert json.loads(ok(root, "ls", "--json", "--store", str(typo)).stdout) == []
    assert not typo.parent.exists()


# -- show -------------------------------------------------------------------------------------


def test_show(root: Path) -> None:
    shown = json.loads(ok(root, "show", "cli/a1", "--json").stdout)
    assert shown["id"] == "a1" and shown["name"] == "first" and shown["state"] == "finished"
    assert shown["config"] == {"lr": 0.1, "opt": {"name": "adam"}}
    assert shown["summary"]["loss"] == 1.0 / N and shown["summary"]["acc"] == N - 1
    assert shown["history_keys"] == ["_runtime", "_timestamp", "acc", "loss", "note"]
    assert shown["files"] == [{"name": "model.bin", "size": 2}, {"name": "output.log", "size": 6}]
    assert shown["pinned_keys"] == []
    # when it ended, as the query API and the REST API say
    assert shown["finished_at"] and shown["finished_at"] >= shown["created_at"]
    assert shown["runtime"] is not None
    # a bare run id and the run's folder find it too
    assert json.loads(ok(root, "show", "a1", "--json").stdout)["path"] == shown["path"]
    run_dir = next((root / "work" / "trackline").glob("offline-run-*-a1"))
    assert json.loads(ok(root, "show", str(run_dir), "--json").stdout)["path"] == shown["path"]
    text = ok(root, "show", "a2").stdout
    assert "failed" in text and "Config" in text and "lr" in text and "Summary" in text
    assert "finished" in text.split("Config")[0]  # the head's "finished" row (the state is "failed")


# -- export -----------------------------------------------------------------------------------


def test_export_run_csv_every_point(root: Path) -> None:
    out = root / "work" / "a1.csv"
    p = ok(root, "export", "cli/a1", "-o", str(out), "-k", "loss,note", "--no-progress")
    assert f"Exported {N} rows" in p.stderr
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["_step", "loss", "note"]
    assert [int(r["_step"]) for r in rows] == list(range(N))
    assert [float(r["loss"]) for r in rows] == [1.0 / (i + 1) for i in range(N)]
    assert [r["note"] for r in rows] == [f"n{i}" if i % 10 == 0 else "" for i in range(N)]


def test_export_project_parquet_with_run_ids_and_filter(root: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out = root / "work" / "cli.parquet"
    p = ok(root, "export", "cli", "-o", str(out), "--json")
    summary = json.loads(p.stdout)
    assert summary["runs"] == 2 and summary["rows"] == N + 2
    table = pq.read_table(out)
    assert table.column_names == ["run_id", "_step", "_runtime", "_timestamp", "acc", "loss", "note"]
    data = table.to_pydict()
    assert data["run_id"] == ["a1"] * N + ["a2", "a2"]
    assert data["loss"] == [1.0 / (i + 1) for i in range(N)] + [5.0, 4.0]
    assert data["acc"][:N] == [float(i) for i in range(N)] and data["acc"][N:] == [None, None]
    assert data["note"][:11] == ["n0"] + [None] * 9 + ["n10"]
    ok(root, "export", "cli", "-o", str(out), "-f", '{"state": "failed"}', "-k", "loss")
    assert pq.read_table(out).to_pydict() == {"run_id": ["a2", "a2"], "_step": [0, 1], "loss": [5.0, 4.0]}


def test_export_jsonl_to_stdout_and_progress(root: Path) -> None:
    p = ok(root, "export", "cli/a2", "-F", "jsonl", "-o", "-", "-k", "loss", "--progress")
    lines = [json.loads(line) for line in p.stdout.splitlines()]
    assert lines == [{"_step": 0, "loss": 5.0}, {"_step": 1, "loss": 4.0}]
    assert "export" in p.stderr and "2/2" in p.stderr  # the progress bar, on stderr
    # The keys in the columns' order: run_id, _step, then the metrics (as CSV and Parquet).
    p = ok(root, "export", "cli", "-F", "jsonl", "-o", "-", "-k", "acc,loss", "--no-progress")
    assert [list(json.loads(line)) for line in p.stdout.splitlines()[:2]] == [["run_id", "_step", "acc", "loss"]] * 2


# -- status -----------------------------------------------------------------------------------


def test_status(root: Path) -> None:
    info = json.loads(ok(root, "status", "--json").stdout)
    store = info["store"]
    assert store["path"] == str(store_path(root))
    assert store["size_bytes"] >= os.path.getsize(store_path(root)) > 0
    assert store["projects"] == 2 and store["runs"] == 3
    assert store["runs_by_state"] == {"failed": 1, "finished": 2}
    assert info["mode"]["mode"] == "online"
    pending = info["pending"]
    # the seeded runs were synced; only the offline run that never was is pending
    assert [(p["run_id"], p["reason"]) for p in pending] == [("offline1", "offline")]
    text = ok(root, "status").stdout
    assert str(store_path(root)) in text and "offline1" in text and "trackline sync --all" in text


# -- query ------------------------------------------------------------------------------------


def test_query(root: Path) -> None:
    rows = json.loads(ok(root, "query", "SELECT run_id, value FROM v_config WHERE key = 'lr' ORDER BY run_id",
                         "--json").stdout)
    assert rows == [{"run_id": "a1", "value": 0.1}, {"run_id": "a2", "value": 0.01}]
    rows = json.loads(ok(root, "query", "SELECT state, count(*) AS n FROM v_runs GROUP BY state ORDER BY state",
                         "--json").stdout)
    assert rows == [{"state": "failed", "n": 1}, {"state": "finished", "n": 2}]
    rows = json.loads(ok(root, "query", "SELECT key, points FROM v_metrics WHERE run_id = 'a1' ORDER BY key",
                         "--json").stdout)
    assert {"key": "loss", "points": N} in rows
    out = ok(root, "query", "SELECT run_id, tag FROM v_tags", "--csv").stdout
    assert list(csv.reader(io.StringIO(out)))[1][1] == "x"


def test_query_on_sqlite_reads_through_the_driver_alone(root: Path) -> None:
    """No SQLAlchemy (~0.15 s) for a read-only statement on the embedded store."""
    code = ("import runpy, sys; sys.argv = ['trackline', 'query', 'SELECT count(*) AS n FROM runs', '--json']\n"
            "try:\n    runpy.run_module('trackline.cli.main', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "print('sqlalchemy' in sys.modules)")
    p = subprocess.run([PYTHON, "-c", code], cwd=root / "work", env=child_env(root), capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().splitlines()[-1] == "False"
    assert '"n": 3' in p.stdout


def test_every_view_works_and_is_documented(root: Path) -> None:
    from trackline.cli.sql import VIEWS

    docs = (REPO / "docs" / "cli.md").read_text()
    listed = ok(root, "query", "--views").stdout
    for name in VIEWS:
        ok(root, "query", f"SELECT * FROM {name} LIMIT 1", "--json")
        assert f"`{name}`" in docs, f"docs/cli.md does not document the view {name}"
        assert name in listed

"""trackline rm and trackline runs mv, as subprocesses: confirmations, --json, wrong paths."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import trackline
from tests.conftest import PYTHON, child_env
from tests.unit.api.seeding import make_run


def cli(tmp: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "trackline.cli.main", *args],
        cwd=tmp / "work", env=child_env(tmp), capture_output=True, text=True, input=input, timeout=120,
    )


def run_ids(project: str) -> list[str]:
    return [r.id for r in trackline.Api().runs(project, order="+created_at")]


def test_rm_asks_and_no_keeps_the_run(isolated: Path) -> None:
    make_run("p", "r1", rows=[{"loss": 1.0}])
    p = cli(isolated, "rm", "p/r1", input="n\n")
    assert p.returncode == 1 and "Delete 1 run with its history" in p.stderr and "Aborted" in p.stderr
    assert run_ids("p") == ["r1"]
    p = cli(isolated, "rm", "p/r1", input="y\n")
    assert p.returncode == 0 and "Deleted" in p.stdout
    assert run_ids("p") == []


def test_rm_without_a_terminal_and_without_yes_deletes_nothing(isolated: Path) -> None:
    make_run("p", "r1")
    p = cli(isolated, "rm", "r1", input="")
    assert p.returncode == 1
    assert run_ids("p") == ["r1"]


def test_rm_yes_json_several_runs(isolated: Path) -> None:
    for rid in ("r1", "r2", "r3"):
        make_run("p", rid, files={"f.txt": b"x"})
    p = cli(isolated, "rm", "--yes", "--json", "p/r1", "r3", "p/r1")
    assert p.returncode == 0, p.stderr
    entity = trackline.Api().default_entity
    assert json.loads(p.stdout) == {"deleted": [f"{entity}/p/r1", f"{entity}/p/r3"]}
    assert run_ids("p") == ["r2"]


def test_rm_with_one_wrong_path_deletes_nothing(isolated: Path) -> None:
    make_run("p", "r1")
    make_run("p", "r2")
    p = cli(isolated, "rm", "--yes", "p/r1", "p/nope", "p/r2")
    assert p.returncode == 2 and "Could not find run" in p.stderr and "p/nope" in p.stderr
    assert run_ids("p") == ["r1", "r2"]


def test_rm_an_ambiguous_bare_id_names_the_candidates(isolated: Path) -> None:
    make_run("a", "same")
    make_run("b", "same")
    p = cli(isolated, "rm", "--yes", "same")
    assert p.returncode == 2 and "in several projects" in p.stderr and "/a/same" in p.stderr
    assert run_ids("a") == ["same"] and run_ids("b") == ["same"]


def test_runs_mv(isolated: Path) -> None:
    make_run("src", "r1", rows=[{"loss": 1.0}, {"loss": 0.5}])
    make_run("dst", "r2")
    p = cli(isolated, "runs", "mv", "src/r1", "dst", "--json")
    assert p.returncode == 0, p.stderr
    entity = trackline.Api().default_entity
    assert json.loads(p.stdout) == {"from": f"{entity}/src/r1", "to": f"{entity}/dst/r1"}
    assert run_ids("src") == [] and run_ids("dst") == ["r1", "r2"]
    moved = trackline.Api().run("dst/r1")
    assert [r["loss"] for r in moved.scan_history()] == [1.0, 0.5]
    # to a new project, named with its entity
    p = cli(isolated, "runs", "mv", "dst/r1", f"{entity}/fresh")
    assert p.returncode == 0 and f"Moved {entity}/dst/r1 to {entity}/fresh/r1" in p.stdout
    assert run_ids("fresh") == ["r1"]


def test_runs_mv_errors_exit_2_and_change_nothing(isolated: Path) -> None:
    make_run("src", "r1")
    make_run("dst", "r1")
    for args, message in (
        (["runs", "mv", "src/r1", "dst"], "already has a run with id 'r1'"),
        (["runs", "mv", "src/nope", "dst"], "Could not find run"),
        (["runs", "mv", "src/r1", "a/b/c"], "is not a project"),
        (["runs", "mv", "src/r1", "bad#name"], "Invalid project name"),
    ):
        p = cli(isolated, *args)
        assert p.returncode == 2, (args, p.stderr)
        assert message in p.stderr
    assert run_ids("src") == ["r1"] and run_ids("dst") == ["r1"]


def test_rm_refuses_a_running_run_unless_forced(isolated: Path) -> None:
    live = trackline.init(project="p", id="live")
    live.log({"loss": 1.0})
    make_run("p", "done")
    deadline = time.monotonic() + 30
    while "live" not in run_ids("p") and time.monotonic() < deadline:
        time.sleep(0.05)  # the sender creates the run in the store
    p = cli(isolated, "rm", "--yes", "p/done", "p/live")
    assert p.returncode == 2 and "still running" in p.stderr and "/p/live" in p.stderr
    assert sorted(run_ids("p")) == ["done", "live"]
    p = cli(isolated, "rm", "--yes", "--force", "p/live")
    assert p.returncode == 0, p.stderr
    assert run_ids("p") == ["done"]
    live.finish()

"""Sweeps end to end on a real store: trackline.sweep / agent in-process, agents in several
processes sharing one grid, the CLI (sweep, agent with a program, state changes, errors),
the public Api and the REST endpoints the UI reads."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

import trackline
from tests.conftest import PYTHON, child_env
from tests.unit.server.conftest import Client
from trackline.server import create_app
from trackline.storage import open_store

GRID = {
    "method": "grid",
    "metric": {"name": "loss", "goal": "minimize"},
    "parameters": {"lr": {"values": [0.001, 0.01, 0.1]}, "depth": {"values": [2, 4]}},
}


def train() -> None:
    run = trackline.init(project="elsewhere", id="ignored-id", config={"lr": 99, "extra": 1})
    run.config.update({"lr": 5}, allow_val_change=True)  # locked by the sweep: ignored, with a warning
    run.log({"loss": (run.config.lr - 0.01) ** 2 + run.config.depth})
    run.finish()


def test_a_grid_sweep_runs_every_point_once_in_the_sweeps_project(isolated: Path) -> None:
    sweep_id = trackline.sweep(GRID, project="sw")
    assert len(sweep_id) == 8
    trackline.agent(sweep_id, function=train, count=2)
    sweep = trackline.Api().sweep(f"sw/{sweep_id}")
    assert sweep.state == "RUNNING" and len(sweep.runs) == 2 and sweep.expected_run_count == 6
    trackline.agent(f"sw/{sweep_id}", function=train, count=4)  # a second agent takes the rest
    sweep = trackline.Api().sweep(f"sw/{sweep_id}")
    assert sweep.state == "FINISHED"  # the grid is used up, though the agent stopped at its count
    runs = sweep.runs
    points = sorted((r.config["lr"], r.config["depth"]) for r in runs)
    assert points == sorted((lr, d) for lr in (0.001, 0.01, 0.1) for d in (2, 4))
    for run in runs:
        assert run.project == "sw" and run.id != "ignored-id" and run.sweep_name == sweep_id
        assert run.config["extra"] == 1  # the function's own config is kept next to the sweep's
        assert run.summary["loss"] == pytest.approx((run.config["lr"] - 0.01) ** 2 + run.config["depth"])
    best = sweep.best_run()
    assert best is not None and (best.config["lr"], best.config["depth"]) == (0.01, 2)
    assert best.sweep.id == sweep_id and best.sweep.state == "FINISHED"  # W&B's run.sweep: the Sweep itself
    assert sweep.best_run(order="-summary_metrics.loss").config["depth"] == 4  # the worst, by another order
    assert [s.id for s in trackline.Api().project("sw").sweeps()] == [sweep_id]
    assert sweep.url.endswith(f"/sw/sweeps/{sweep_id}")


def test_a_failing_trial_is_marked_failed_and_the_agent_goes_on(isolated: Path) -> None:
    calls = []

    def flaky() -> None:
        run = trackline.init()
        calls.append(run.id)
        if len(calls) == 1:
            raise RuntimeError("diverged")
        run.log({"loss": 1.0})

    sweep_id = trackline.sweep({**GRID, "method": "random"}, project="sw")
    trackline.agent(sweep_id, function=flaky, count=3)
    runs = {r.id: r for r in trackline.Api().sweep(f"sw/{sweep_id}").runs}
    assert list(runs) != [] and runs[calls[0]].state == "failed"  # finished with exit code 1
    assert [runs[c].state for c in calls[1:]] == ["finished", "finished"]  # left open: finished by the agent


def test_five_failures_without_a_success_stop_the_agent(isolated: Path) -> None:
    def broken() -> None:
        raise ValueError("bad")

    sweep_id = trackline.sweep({**GRID, "method": "random"}, project="sw")
    trackline.agent(sweep_id, function=broken, count=50)
    assert trackline.Api().sweep(f"sw/{sweep_id}").to_dict()["run_count"] == 5


def test_bad_configs_and_arguments_are_clear_errors(isolated: Path) -> None:
    from trackline.sweeps.config import SweepConfigError

    with pytest.raises(SweepConfigError, match="method"):
        trackline.sweep({"parameters": {"lr": {"values": [1]}}})
    with pytest.raises(TypeError, match="expected a dict"):
        trackline.sweep("grid")  # type: ignore[arg-type]
    sweep_id = trackline.sweep(GRID, project="sw")
    with pytest.raises(ValueError, match="count must be a positive integer"):
        trackline.agent(sweep_id, function=train, count=0)
    with pytest.raises(trackline.UsageError, match="no sweep 'nope0000'"):
        trackline.agent("sw/nope0000", function=train)
    with pytest.raises(trackline.UsageError, match="sweep id must be"):
        trackline.agent(None, function=train)  # type: ignore[arg-type]
    with pytest.raises(trackline.UsageError, match=r"no sweep '\.\.'"):
        trackline.agent("sw/..", function=train)  # a path, not an id: nothing is found, nothing written
    with pytest.raises(SweepConfigError, match=r"object value .* cannot be stored"):
        trackline.sweep({**GRID, "parameters": {"lr": {"values": [object()]}}})
    import numpy as np

    numpy_grid = {**GRID, "parameters": {"lr": {"values": np.array([0.1, 0.2])}, "depth": {"value": np.int64(2)}}}
    made = trackline.Api().sweep(f"sw/{trackline.sweep(numpy_grid, project='sw')}")
    assert made.config["parameters"]["lr"]["values"] == [0.1, 0.2] and made.expected_run_count == 2


PROGRAM = r"""
import argparse, trackline
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float)
p.add_argument("--depth", type=int)
args = p.parse_args()
run = trackline.init()
assert run.config.lr == args.lr and run.config.depth == args.depth, (dict(run.config), args)
run.log({"loss": (args.lr - 0.01) ** 2 + args.depth})
run.finish()
"""


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "trackline.cli.main", *args], cwd=root / "work", env=child_env(root),
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_the_cli_and_two_agent_processes_share_one_grid(tmp_path: Path) -> None:
    (tmp_path / "work").mkdir(exist_ok=True)
    (tmp_path / "work" / "train.py").write_text(PROGRAM)
    import yaml

    (tmp_path / "work" / "sweep.yaml").write_text(yaml.safe_dump({**GRID, "program": "train.py"}))
    made = cli(tmp_path, "sweep", "sweep.yaml", "-p", "clisw", "--json")
    assert made.returncode == 0, made.stderr
    path = json.loads(made.stdout)["path"]
    assert path.endswith("/clisw/" + json.loads(made.stdout)["id"])
    agents = [subprocess.Popen([PYTHON, "-m", "trackline.cli.main", "agent", path], cwd=tmp_path / "work",
                               env=child_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for _ in range(2)]
    for a in agents:
        _, err = a.communicate(timeout=300)
        assert a.returncode == 0, err
    store = open_store(str(tmp_path / "home" / "trackline.db"))
    from trackline.storage.sql.sweeps import SweepDB

    db = SweepDB(store)
    row = db.find(path.rsplit("/", 1)[1])[0]
    trials = db.trials(row)
    assert len(trials) == 6 and row["state"] == "FINISHED"
    assert len({json.dumps(t["params"], sort_keys=True) for t in trials}) == 6  # no grid point twice
    assert {t["state"] for t in trials} == {"finished"}

    paused = cli(tmp_path, "sweep", "--pause", path, "--json")
    assert paused.returncode == 0 and json.loads(paused.stdout)["state"] == "PAUSED"
    bad = cli(tmp_path, "sweep", "--resume", "clisw/zzzzzzzz")
    assert bad.returncode == 2 and "no sweep 'zzzzzzzz'" in bad.stderr
    (tmp_path / "work" / "bad.yaml").write_text("method: annealing\nparameters: {lr: {values: [1]}}\n")
    refused = cli(tmp_path, "sweep", "bad.yaml")
    assert refused.returncode == 2 and "method" in refused.stderr


def test_the_rest_endpoints_the_ui_reads(isolated: Path, tmp_path: Path) -> None:
    sweep_id = trackline.sweep(GRID, project="sw")
    trackline.agent(sweep_id, function=train, count=4)
    store = open_store(str(isolated / "home" / "trackline.db"))
    static = tmp_path / "static-empty"
    static.mkdir()
    client = Client(create_app(store, static_dir=static))
    entity = trackline.Api().sweep(f"sw/{sweep_id}").entity
    listing = client.get(f"/api/v1/projects/{entity}/sw/sweeps").json()["sweeps"]
    assert [(s["id"], s["state"], s["method"], s["run_count"], s["expected_run_count"]) for s in listing] == [
        (sweep_id, "RUNNING", "grid", 4, 6)]
    assert listing[0]["metric"] == {"name": "loss", "goal": "minimize"}
    one: dict[str, Any] = client.get(f"/api/v1/projects/{entity}/sw/sweeps/{sweep_id}").json()
    assert one["parameters"] == ["lr", "depth"] and len(one["runs"]) == 4
    best = min(one["runs"], key=lambda r: r["metric"])
    assert one["best_run"] == best["id"] == listing[0]["best"]["run_id"]
    assert set(one["runs"][0]["params"]) == {"lr", "depth"} and one["config"]["method"] == "grid"
    missing = client.get(f"/api/v1/projects/{entity}/sw/sweeps/nope")
    assert missing.status_code == 404 and "sweep" in missing.json()["error"]["message"]
    assert "/api/v1/projects/{entity}/{project}/sweeps/{sweep_id}" in client.get("/api/v1/openapi.json").json()["paths"]


def test_concurrent_claims_never_take_one_grid_point_twice(store_url: str) -> None:
    """Eight threads claim trials of one 24-point grid at once, on SQLite and PostgreSQL:
    every point exactly once, then the sweep is FINISHED."""
    import random
    import threading

    from trackline.storage.sql.sweeps import SweepDB
    from trackline.sweeps.agent import _proposer
    from trackline.sweeps.config import validate

    config = {"method": "grid", "parameters": {"a": {"values": list(range(6))}, "b": {"values": list("wxyz")}}}
    store = open_store(store_url)
    try:
        db = SweepDB(store)
        row = db.create("e", "p", "grid0001", config)
        propose = _proposer(validate(config), random.Random(0))
        claimed: list[dict[str, Any]] = []
        errors: list[BaseException] = []

        def claimer() -> None:
            try:
                while (got := db.claim(row["id"], propose)) is not None:
                    claimed.append(got[1])
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=claimer) for _ in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert not errors, errors[0]
        assert sorted((c["a"], c["b"]) for c in claimed) == sorted((a, b) for a in range(6) for b in "wxyz")
        assert db.get("e", "p", "grid0001")["state"] == "FINISHED"  # type: ignore[index]
        assert len(db.trials(row)) == 24
    finally:
        store.close()


def test_hyperband_stops_bad_trials_while_they_run(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A grid whose first point is best: every later trial is worse at the first bracket and
    is stopped there (its thread gets EarlyStop), finished, with fewer steps than it would log."""
    import time

    from trackline.sweeps import early_stop

    monkeypatch.setattr(early_stop, "POLL_S", 0.05)
    steps = 150

    def slow_train() -> None:
        run = trackline.init()
        for i in range(steps):
            run.log({"loss": run.config.q + 1.0 / (i + 1)})
            time.sleep(0.02)

    config = {"method": "grid", "metric": {"name": "loss", "goal": "minimize"},
              "parameters": {"q": {"values": [1, 2, 3]}},
              "early_terminate": {"type": "hyperband", "min_iter": 3, "eta": 2}}
    sweep_id = trackline.sweep(config, project="hb")
    trackline.agent(sweep_id, function=slow_train)
    runs = sorted(trackline.Api().sweep(f"hb/{sweep_id}").runs, key=lambda r: r.config["q"])
    rows = [len(list(r.scan_history(keys=["loss"]))) for r in runs]
    assert [r.state for r in runs] == ["finished"] * 3
    assert rows[0] == steps  # the first (and best) run had no one to lose to
    assert all(3 <= n < steps for n in rows[1:]), rows  # the others stopped after the first bracket


SLOW_PROGRAM = r"""
import time, trackline
run = trackline.init()
for i in range(150):
    run.log({"loss": run.config.q + 1.0 / (i + 1)})
    time.sleep(0.02)
run.finish()
"""


@pytest.mark.slow
def test_hyperband_stops_a_trial_program_with_sigterm(tmp_path: Path) -> None:
    import yaml

    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    (work / "slow.py").write_text(SLOW_PROGRAM)
    config = {"method": "grid", "program": "slow.py", "metric": {"name": "loss", "goal": "minimize"},
              "parameters": {"q": {"values": [1, 2]}},
              "early_terminate": {"type": "hyperband", "min_iter": 3, "eta": 2}}
    (work / "sweep.yaml").write_text(yaml.safe_dump(config))
    made = cli(tmp_path, "sweep", "sweep.yaml", "-p", "hbcli", "--json")
    assert made.returncode == 0, made.stderr
    ran = cli(tmp_path, "agent", json.loads(made.stdout)["path"])
    assert ran.returncode == 0, ran.stderr
    api = trackline.Api(overrides={"store": str(tmp_path / "home" / "trackline.db")})
    runs = sorted(api.sweep(json.loads(made.stdout)["path"]).runs, key=lambda r: r.config["q"])
    rows = [len(list(r.scan_history(keys=["loss"]))) for r in runs]
    assert rows[0] == 150 and 3 <= rows[1] < 150, rows
    assert runs[1].state == "killed"  # SIGTERM: trackline's handler records it as killed


class _OnlyTheInterface:
    """A reader with nothing but the Reader methods (no ``store``), as an HTTP reader will be."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.location = "elsewhere"

    def __getattr__(self, name: str) -> Any:
        if name == "store":
            raise AttributeError(name)
        return getattr(self._inner, name)


def test_sweeps_are_read_through_the_reader_interface_only(isolated: Path) -> None:
    from trackline.api.reader import StoreReader

    sweep_id = trackline.sweep(GRID, project="sw")
    trackline.agent(sweep_id, function=train, count=3)
    store = open_store(str(isolated / "home" / "trackline.db"))
    api = trackline.Api(reader=_OnlyTheInterface(StoreReader(store)))  # type: ignore[arg-type]
    assert api.store is None
    sweep = api.sweep(f"sw/{sweep_id}")
    assert sweep.state == "RUNNING" and sweep.expected_run_count == 6 and sweep.config["method"] == "grid"
    assert len(sweep.runs) == 3 and sweep.best_run() is not None
    assert sweep.runs[0].sweep.id == sweep_id
    assert [s.id for s in api.project("sw").sweeps()] == [sweep_id]
    with pytest.raises(trackline.Error, match="Could not find sweep"):
        api.sweep("sw/zzzzzzzz")

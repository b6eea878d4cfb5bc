"""Console capture, system metrics, status(), preemption, pinned keys, display, shared mode."""

from __future__ import annotations

import multiprocessing
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import trackline
from tests.conftest import PYTHON, child_env
from trackline.storage import open_store
from trackline.storage.base import RunKey


def store_row(run: Any) -> tuple[Any, dict[str, Any]]:
    store = open_store(run.settings.store_url) if hasattr(run, "settings") else open_store(run)
    row = store.get_run(RunKey(run.entity, run.project, run.id))
    assert row is not None
    return store, row


PRINTER = r"""
import sys, trackline
run = trackline.init(project="console", id="cons0001", settings={"console": sys.argv[1]})
print("first line")
print("to stderr", file=sys.stderr)
sys.stdout.write("partial ")
sys.stdout.write("line\n")
print("progress 50%", end="\r", flush=True)
print("last")
run.write_logs("from write_logs")
run.finish()
"""


def test_console_capture_keeps_order_and_timestamps(isolated: Path) -> None:
    res = subprocess.run([PYTHON, "-c", PRINTER, "wrap"], cwd=isolated / "work", env=child_env(isolated),
                         capture_output=True, timeout=120)
    assert res.returncode == 0, res.stderr
    # The terminal got everything, unchanged (bytes: no newline translation).
    assert res.stdout == b"first line\npartial line\nprogress 50%\rlast\n"
    assert b"to stderr" in res.stderr
    run = trackline.Api().run("console/cons0001")
    store = open_store(trackline.Api().settings.store_url)
    pk = store.get_run(RunKey(run.entity, run.project, run.id))["pk"]
    lines = store.logs(pk)
    texts = [(line["source"], line["text"]) for line in lines]
    assert texts == [
        ("stdout", "first line\n"),
        ("stderr", "to stderr\n"),
        ("stdout", "partial line\n"),
        ("stdout", "progress 50%\rlast\n"),
        ("log", "from write_logs\n"),
    ]
    assert all(line["ts"] > 0 for line in lines)
    assert [x["text"] for x in store.logs(pk, search="stderr")] == ["to stderr\n"]
    sync_dir = Path(run.metadata["sync_dir"])
    assert (sync_dir / "files" / "output.log").read_bytes().decode() == (
        "first line\nto stderr\npartial line\nprogress 50%\rlast\nfrom write_logs\n"
    )


def test_console_off_captures_nothing(isolated: Path) -> None:
    res = subprocess.run([PYTHON, "-c", PRINTER, "off"], cwd=isolated / "work", env=child_env(isolated),
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    store = open_store(trackline.Api().settings.store_url)
    run = trackline.Api().run("console/cons0001")
    pk = store.get_run(RunKey(run.entity, run.project, run.id))["pk"]
    assert [x["source"] for x in store.logs(pk)] == ["log"]  # only write_logs


def test_system_metrics_on_a_cpu_only_machine() -> None:
    run = trackline.init(project="sys", settings={"x_stats_sampling_interval": 0.1})
    deadline = time.time() + 20
    while True:
        time.sleep(0.3)
        if run.status().records_written > 4 or time.time() > deadline:
            break
    run.finish()
    store, row = store_row(run)
    keys = store.system_keys(row["pk"])
    for name in ("system.cpu", "system.proc.memory.rssMB", "system.proc.memory.percent",
                 "system.proc.memory.availableMB", "system.memory_percent", "system.proc.cpu.threads",
                 "system.disk./.usagePercent", "system.disk./.usageGB", "system.network.sent",
                 "system.network.recv", "_timestamp", "_runtime"):
        assert name in keys, (name, keys)
    assert not any(k.startswith("system.gpu") for k in keys)
    series = store.numeric_history(row["pk"], ["system.proc.memory.rssMB"], system=True)
    steps, values = series["system.proc.memory.rssMB"]
    assert len(steps) >= 1 and np.all(values > 1)
    assert "system.cpu" not in store.run_keys(row["pk"])  # a separate stream from history


def test_status_reports_sync_progress() -> None:
    run = trackline.init(project="st")
    for i in range(100):
        run.log({"x": i})
    _ = run.summary["x"]  # waits for the store
    status = run.status()
    assert status.records_written >= 101 and status.sync_items_total == status.records_written
    assert status.records_in_store == status.records_written and status.sync_items_pending == 0
    assert status.last_synced_step == 99 and status.sync_time is not None
    run.finish()


def test_pin_config_keys_is_stored_and_replaced() -> None:
    run = trackline.init(project="pin", config={"lr": 0.1, "bs": 4})
    run.pin_config_keys(["lr"])
    run.pin_config_keys(["bs", "lr"])
    with pytest.raises(TypeError, match="not a string"):
        run.pin_config_keys("lr")  # type: ignore[arg-type]
    run.finish()
    _, row = store_row(run)
    assert row["config"]["_wandb"]["pinned_keys"] == ["bs", "lr"]
    assert trackline.Api().run(run.path).config == {"lr": 0.1, "bs": 4}


def test_to_html_is_an_iframe_when_the_ui_is_up_else_a_static_card() -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    port = sock.getsockname()[1]
    run = trackline.init(project="nb", entity="e", config={"lr": 0.5},
                         settings={"base_url": f"http://127.0.0.1:{port}"})
    html = run.to_html(height=300)
    assert html == (f"<iframe src='http://127.0.0.1:{port}/e/nb/runs/{run.id}?jupyter=true' "
                    "style='border:none;width:100%;height:300px;'></iframe>")
    assert "display:none" in run.to_html(hidden=True) and "<button" in run.to_html(hidden=True)
    assert run._repr_mimebundle_()["text/html"].startswith("<button")
    sock.close()
    card = run.to_html()
    assert "<iframe" not in card and "trackline ui" in card and "lr" in card
    assert run.display() is False  # not in a notebook
    run.finish()


PREEMPTED = r"""
import sys, time, trackline
run = trackline.init(project="pre", id="preempt1")
run.log({"a": 1})
run.mark_preempting()
_ = run.summary["a"]
print("ready", flush=True)
time.sleep(60)
"""


def test_preempting_then_killed_is_preempted_and_resumable(isolated: Path) -> None:
    proc = subprocess.Popen([PYTHON, "-c", PREEMPTED], cwd=isolated / "work", env=child_env(isolated),
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    assert trackline.Api().run("pre/preempt1").state == "preempting"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert trackline.Api().run("pre/preempt1").state == "preempted"
    again = trackline.init(project="pre", id="preempt1", resume="must")
    assert again.resumed and again.step == 1
    again.finish()
    assert trackline.Api().run("pre/preempt1").state == "finished"


def _shared_worker(rank: int, home: str, n: int) -> None:
    import os

    os.environ["TRACKLINE_HOME"] = home
    os.environ["TRACKLINE_SILENT"] = "true"
    import trackline as tl

    run = tl.init(project="shared", id="shared01", mode="shared",
                  settings={"x_label": f"rank{rank}", "x_primary": rank == 0,
                            "x_update_finish_state": rank == 0, "x_disable_stats": True})
    for i in range(n):
        run.log({"loss": rank * 1000 + i, "rank": rank}, step=i)
    run.finish()


@pytest.mark.slow
def test_shared_mode_keeps_every_row_of_every_writer(isolated: Path) -> None:
    n = 500
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_shared_worker, args=(r, str(isolated / "home"), n)) for r in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    store = open_store(trackline.Api().settings.store_url)
    row = store.get_run(RunKey(trackline.Api().default_entity, "shared", "shared01"))
    assert row is not None and row["state"] == "finished"
    labels = store.stream_labels(row["pk"])
    assert sorted(labels.values()) == ["rank0", "rank1", "rank2", "rank3"]
    per_writer = store.numeric_history(row["pk"], ["loss", "rank"], by_stream=True)
    seen: dict[int, list[int]] = {}
    for (name, stream_pk), (steps, values) in per_writer.items():
        if name == "loss":
            rank = int(values[0]) // 1000
            assert labels[stream_pk] == f"rank{rank}"
            seen[rank] = (values - rank * 1000).astype(int).tolist()
            assert steps.tolist() == list(range(n))
    assert seen == {r: list(range(n)) for r in range(4)}


def test_forked_child_never_writes_the_parents_log() -> None:
    import os

    from trackline.records.frames import read_all

    run = trackline.init(project="fork", settings={"console": "off"})
    run.log({"parent": 1})
    pid = os.fork()
    if pid == 0:  # the child: a DataLoader worker that (wrongly) logs
        code = 0
        try:
            for i in range(100):
                run.log({"child": i})
        except BaseException:
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0  # logging in the child was a quiet no-op
    run.log({"parent": 2})
    run.finish()
    _, _frames, dropped = read_all(run.settings.sync_file)
    assert dropped == 0
    rows = list(trackline.Api().run(run.path).scan_history())
    assert [r.get("parent") for r in rows] == [1, 2] and not any("child" in r for r in rows)

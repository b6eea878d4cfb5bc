"""Resume (allow/must/never/auto), rewind (resume_from), fork (fork_from), requeue ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import trackline
from trackline.errors import UsageError
from trackline.storage import open_store
from trackline.storage.base import RunKey


def first_run(run_id: str = "res00001", steps: int = 5, **kw) -> trackline.Run:
    run = trackline.init(project="r", entity="e", id=run_id, config={"lr": 0.1, "bs": 8}, tags=["t0"], **kw)
    for i in range(steps):
        run.log({"loss": 10.0 - i, "acc": i / 10})
    run.summary["best"] = 7
    return run


def rows(path: str, key: str = "loss") -> list[tuple[int, float]]:
    return [(r["_step"], r[key]) for r in trackline.Api().run(path).scan_history(keys=[key])]


def test_resume_allow_continues_the_run() -> None:
    run = first_run()
    run.finish(exit_code=1)
    again = trackline.init(project="r", entity="e", id="res00001", resume="allow", config={"epochs": 3})
    assert again.resumed
    assert again.step == 5 and again.starting_step == 5
    assert again.config.lr == 0.1 and again.config.epochs == 3
    assert again.summary["best"] == 7 and again.summary["loss"] == 6.0
    assert again.tags == ("t0",)  # no tags passed: the stored ones stay
    again.log({"loss": 5.0})
    again.finish()
    assert rows("e/r/res00001") == [(0, 10.0), (1, 9.0), (2, 8.0), (3, 7.0), (4, 6.0), (5, 5.0)]
    stored = trackline.Api().run("e/r/res00001")
    assert stored.state == "finished"
    assert stored.config == {"lr": 0.1, "bs": 8, "epochs": 3}
    assert (stored.runtime or 0) >= (stored.summary["_runtime"] or 0) > 0


def test_resume_replaces_tags_when_given_and_runtime_continues() -> None:
    run = first_run("res00002")
    run.finish()
    runtime_before = trackline.Api().run("e/r/res00002").runtime
    again = trackline.init(project="r", entity="e", id="res00002", resume="allow", tags=["new"])
    assert again.tags == ("new",)
    again.finish()
    stored = trackline.Api().run("e/r/res00002")
    assert stored.tags == ["new"]
    assert stored.runtime > runtime_before


def test_resume_allow_creates_a_missing_run() -> None:
    run = trackline.init(project="r", entity="e", id="fresh001", resume="allow")
    assert not run.resumed and run.step == 0
    run.finish()


def test_resume_must_and_never_errors() -> None:
    with pytest.raises(UsageError, match="'must' is not a valid option for resuming a run \\(nothere1\\)"):
        trackline.init(project="r", entity="e", id="nothere1", resume="must")
    run = first_run("exists01")
    run.finish()
    with pytest.raises(UsageError, match="'never' is not a valid option for resuming a run \\(exists01\\) that already exists"):
        trackline.init(project="r", entity="e", id="exists01", resume="never")


def test_resume_auto_uses_the_resume_file_until_a_clean_exit(isolated: Path) -> None:
    run = trackline.init(project="r", entity="e", resume="auto")
    resume_file = Path(run.settings.resume_fname)
    assert json.loads(resume_file.read_text()) == {"run_id": run.id}
    run.log({"loss": 1.0})
    run.finish(exit_code=2)  # failed: the file stays
    assert resume_file.exists()
    again = trackline.init(project="r", entity="e", resume="auto")
    assert again.id == run.id and again.resumed and again.step == 1
    again.finish()  # clean exit: the file goes
    assert not resume_file.exists()
    fresh = trackline.init(project="r", entity="e", resume="auto")
    assert fresh.id != run.id
    fresh.finish()


def test_resume_from_rewinds_and_keeps_the_hidden_rows() -> None:
    run = first_run("rewind01", steps=10)
    run.finish()
    again = trackline.init(project="r", entity="e", resume_from="rewind01?_step=4")
    assert again.id == "rewind01" and again.step == 5
    assert again.summary["loss"] == 6.0  # the summary as of step 4
    again.log({"loss": 100.0})
    again.finish()
    assert rows("e/r/rewind01") == [(0, 10.0), (1, 9.0), (2, 8.0), (3, 7.0), (4, 6.0), (5, 100.0)]
    # The rows logged after step 4 before the rewind are hidden, not deleted.
    store = open_store(run.settings.store_url)
    row = store.get_run(RunKey("e", "r", "rewind01"))
    per_stream = store.numeric_history(row["pk"], ["loss"], by_stream=True)
    assert sum(len(s) for s, _ in per_stream.values()) == 6
    from sqlalchemy import func, select

    from trackline.storage.sql import schema as t

    with store.engine.connect() as conn:
        stored_points = conn.execute(select(func.sum(t.history_chunks.c.n)).where(t.history_chunks.c.run_pk == row["pk"])).scalar()
    assert stored_points >= 11 * 2  # loss and acc of the first 10 steps, plus the new row


def test_resume_from_with_another_id_is_an_error() -> None:
    with pytest.raises(ValueError, match="differs from the run id"):
        trackline.init(project="r", entity="e", id="other", resume_from="abc?_step=3")


def test_fork_from_starts_a_new_linked_run() -> None:
    parent = first_run("parent01", steps=10)
    parent.finish()
    child = trackline.init(project="r", entity="e", fork_from="parent01?_step=3", config={"lr": 0.01})
    assert child.id != "parent01" and child.step == 4
    assert child.config.lr == 0.01 and child.config.bs == 8
    child.log({"loss": 0.5})
    child.finish()
    stored = trackline.Api().run(f"e/r/{child.id}")
    assert stored._row["forked_from"] == "parent01" and stored._row["fork_step"] == 3
    assert rows(f"e/r/{child.id}") == [(4, 0.5)]
    with pytest.raises(ValueError, match="another run"):
        trackline.init(project="r", entity="e", id="parent01", fork_from="parent01?_step=1")


def test_requeued_job_resumes_the_same_run(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    id_file = isolated / "ckpt" / "run_id"
    monkeypatch.setenv("TRACKLINE_RUN_ID_FILE", str(id_file))
    first = trackline.init(project="r", entity="e")
    first.log({"loss": 1.0})
    first_id = first.id
    first.finish(exit_code=143)
    assert id_file.read_text().strip() == first_id
    second = trackline.init(project="r", entity="e")  # the requeued job
    assert second.id == first_id and second.resumed and second.step == 1
    second.finish()
    monkeypatch.setenv("SLURM_JOB_ID", "4242_7")
    assert trackline.requeue_run_id() == "4242_7"
    assert trackline.requeue_run_id(path=id_file) == first_id


def test_offline_resume_is_ignored_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    run = trackline.init(project="r", mode="offline", resume="must", id="offl0001")
    assert not run.resumed
    assert any("`resume` will be ignored" in r.getMessage() for r in caplog.records)
    run.finish()

"""run.save (policies now/live/end, base_path rules), restore, log_code and save_code."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

import trackline
from trackline.storage import open_store
from trackline.storage.base import RunKey


def stored(run: trackline.Run) -> dict[str, str]:
    """path -> content of the run's files in the store (through its blob store)."""
    store = open_store(run.settings.store_url)
    row = store.get_run(RunKey(run.entity, run.project, run.id))
    out: dict[str, str] = {}
    if row is None:  # the sender has not stored the run yet
        return out
    assert store.blobs is not None
    for f in store.run_files(row["pk"]):
        with store.blobs.open(f["sha256"]) as fh:
            out[f["path"]] = fh.read().decode()
    return out


def wait_until(cond, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.05)


def test_save_now_keeps_structure_below_the_cwd(isolated: Path) -> None:
    Path("ckpt/deep").mkdir(parents=True)
    Path("ckpt/a.pt").write_text("a")
    Path("ckpt/deep/b.pt").write_text("b")
    Path("ckpt/skip.txt").write_text("s")
    run = trackline.init(project="save")
    paths = run.save("ckpt/*.pt", policy="now")
    assert paths == [os.path.join(run.dir, "ckpt", "a.pt")]
    assert run.save("ckpt/**/*.pt", policy="now") == [os.path.join(run.dir, "ckpt", "deep", "b.pt")]
    run.finish()
    files = stored(run)
    assert files["ckpt/a.pt"] == "a" and files["ckpt/deep/b.pt"] == "b"
    assert "ckpt/skip.txt" not in files


def test_base_path_rules(isolated: Path, tmp_path: Path) -> None:
    data = tmp_path / "mnt" / "exp" / "models"
    data.mkdir(parents=True)
    (data / "m.h5").write_text("m")
    run = trackline.init(project="save")
    assert run.save(str(data / "m.h5"), policy="now") == [os.path.join(run.dir, "models", "m.h5")]
    assert run.save(str(data / "m.h5"), base_path=str(tmp_path / "mnt"), policy="now") == [
        os.path.join(run.dir, "exp", "models", "m.h5")]
    with pytest.raises(ValueError, match="may not walk above the base path"):
        run.save(str(data / "m.h5"), base_path=str(tmp_path / "elsewhere"))
    with pytest.raises(ValueError, match="cannot be the same as the base path"):
        run.save(str(data), base_path=str(data))
    with pytest.raises(ValueError, match="may not start with"):
        run.save(str(tmp_path / "mnt" / "*" / "models" / "m.h5"), base_path=str(tmp_path / "mnt"))
    with pytest.raises(ValueError, match='policy must be "live", "end" or "now"'):
        run.save("x", policy="sometimes")
    assert run.save("s3://bucket/key") == []
    run.finish()


def test_glob_false_saves_a_literal_name(isolated: Path) -> None:
    Path("weird[1].txt").write_text("w")
    run = trackline.init(project="save")
    assert run.save("weird[1].txt", policy="now") == []  # as a glob it matches nothing...
    assert run.save("weird[1].txt", policy="now", glob=False) == [os.path.join(run.dir, "weird[1].txt")]
    run.finish()
    assert stored(run)["weird[1].txt"] == "w"


def test_live_files_are_stored_again_when_they_change(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKLINE_LIVE_POLL_SECONDS", "0.05")
    Path("log.txt").write_text("first")
    run = trackline.init(project="save")
    run.save("log.txt")  # policy "live" by default
    wait_until(lambda: stored(run).get("log.txt") == "first")
    tmp = Path("log.txt.new")
    tmp.write_text("second, written by rename")
    os.replace(tmp, "log.txt")  # editors and checkpoint writers replace files like this
    wait_until(lambda: stored(run).get("log.txt") == "second, written by rename")
    with open("log.txt", "a") as f:
        f.write(" + appended")
    run.finish()
    assert stored(run)["log.txt"] == "second, written by rename + appended"


def test_end_files_are_stored_at_finish(isolated: Path) -> None:
    Path("final.json").write_text("{}")
    run = trackline.init(project="save")
    run.save("final.json", policy="end")
    Path("final.json").write_text('{"done": true}')
    run.log({"x": 1})
    run.summary["x"]  # the store has caught up with every record so far
    assert "final.json" not in stored(run)
    run.finish()
    assert stored(run)["final.json"] == '{"done": true}'


def test_restore(isolated: Path, tmp_path: Path) -> None:
    Path("config.yaml").write_text("lr: 0.1")
    run = trackline.init(project="save", reinit="create_new")
    run.save("config.yaml", policy="now")
    run.finish()
    root = tmp_path / "restored"
    f = trackline.restore("config.yaml", run_path=f"{run.entity}/save/{run.id}", root=str(root))
    assert f is not None and f.read() == "lr: 0.1"
    f.close()
    assert trackline.restore("missing.yaml", run_path=f"save/{run.id}", root=str(root)) is None
    with pytest.raises(ValueError, match="run_path is required"):
        trackline.restore("not-here.yaml")
    with pytest.raises(ValueError, match="invalid name"):
        trackline.restore("../escape.yaml", run_path=f"save/{run.id}", root=str(root))
    (root / "config.yaml").write_text("local edit")
    f = trackline.restore("config.yaml", run_path=f"save/{run.id}", root=str(root))
    assert f is not None and f.read() == "local edit"  # an existing file is returned as it is
    f.close()
    f = trackline.restore("config.yaml", run_path=f"save/{run.id}", root=str(root), replace=True)
    assert f is not None and f.read() == "lr: 0.1"
    f.close()
    second = trackline.init(project="save", reinit="create_new")
    got = second.restore("config.yaml", run_path=f"save/{run.id}")
    assert got is not None and Path(got.name).parent == Path(second.dir)
    got.close()
    second.finish()


def test_log_code_include_and_exclude(isolated: Path) -> None:
    Path("pkg").mkdir()
    Path("pkg/model.py").write_text("class M: ...")
    Path("train.py").write_text("print('train')")
    Path("Dockerfile").write_text("FROM python")
    Path("requirements.txt").write_text("numpy")
    Path("notes.md").write_text("not code")
    Path("wandb").mkdir()
    Path("wandb/old.py").write_text("old run files")
    run = trackline.init(project="code")
    art = run.log_code(".")
    assert art is not None
    logged = art.wait()
    assert logged.type == "code"
    assert logged.name.startswith("source-code-")
    assert sorted(logged.manifest.entries) == ["Dockerfile", "pkg/model.py", "requirements.txt", "train.py"]
    custom = run.log_code(".", name="only-md", include_fn=lambda p: p.endswith(".md"),
                          exclude_fn=lambda p, root: False).wait()
    assert sorted(custom.manifest.entries) == ["notes.md"]
    none = run.log_code(".", name="nothing", include_fn=lambda p: False)
    assert none is None
    assert run.config["_wandb"]["code_path"].startswith("code/code-")
    run.finish()


def test_save_code_captures_the_program_and_diff(isolated: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    script = repo / "train.py"
    script.write_text(
        "import trackline\n"
        "run = trackline.init(project='sc', save_code=True)\n"
        "run.finish()\n"
        "print(run.id)\n"
    )
    subprocess.run([*git, "add", "train.py"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], cwd=repo, check=True)
    script.write_text(script.read_text() + "# an uncommitted change\n")
    from tests.conftest import PYTHON, child_env

    out = subprocess.run([PYTHON, str(script)], cwd=repo, env=child_env(tmp_path), capture_output=True,
                         text=True, check=True).stdout.strip().splitlines()[-1]
    store = open_store(str(tmp_path / "home" / "trackline.db"))
    row = store.find_runs(out)[0]
    files = {f["path"]: f for f in store.run_files(row["pk"])}
    assert "code/train.py" in files and "diff.patch" in files
    assert store.blobs is not None
    with store.blobs.open(files["diff.patch"]["sha256"]) as f:
        assert b"+# an uncommitted change" in f.read()

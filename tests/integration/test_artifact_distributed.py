"""Distributed writers: 3 processes upsert files into one version that is committed once."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import trackline
from tests.conftest import PYTHON, child_env
from trackline.artifacts.client import ArtifactClient
from trackline.storage import open_store

WORKER = r"""
import sys, trackline
rank, group, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
run = trackline.init(project="dist", group=group, job_type=f"worker{rank}")
art = trackline.Artifact("shards", "dataset")
with art.new_file(f"shard-{rank}.txt") as f:
    f.write(f"rows of shard {rank}\n" * (rank + 1))
if mode == "finish":
    run.finish_artifact(art, aliases=["complete"])
else:
    run.upsert_artifact(art, aliases=[f"from-{rank}"]).wait()
run.finish()
print(run.id)
"""


def run_worker(tmp_path: Path, rank: int, group: str, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen([PYTHON, "-c", WORKER, str(rank), group, mode], cwd=tmp_path / "work",
                            env=child_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_three_processes_commit_one_version(tmp_path: Path) -> None:
    workers = [run_worker(tmp_path, r, "g1", "upsert") for r in (0, 1)]
    ids = []
    for w in workers:
        out, err = w.communicate(timeout=120)
        assert w.returncode == 0, err
        ids.append(out.strip())
    store = open_store(str(tmp_path / "home" / "trackline.db"))
    client = ArtifactClient(store)
    entity = store.find_runs(ids[0])[0]["entity"]
    with pytest.raises(trackline.artifacts.ArtifactNotFoundError):
        client.artifact("shards:latest", entity, "dist")  # not committed until finish_artifact
    last = run_worker(tmp_path, 2, "g1", "finish")
    out, err = last.communicate(timeout=120)
    assert last.returncode == 0, err
    ids.append(out.strip())
    art = client.artifact("shards:complete", entity, "dist")
    assert art.version == "v0"
    assert sorted(art.manifest.entries) == ["shard-0.txt", "shard-1.txt", "shard-2.txt"]
    assert sorted(art.aliases) == ["complete", "from-0", "from-1", "latest"]
    assert sorted(r.id for r in [*_writers(client, art)]) == sorted(ids)
    root = Path(art.download(str(tmp_path / "o")))
    assert (root / "shard-2.txt").read_text() == "rows of shard 2\n" * 3
    # The next upsert with the same id starts a new version (with only its own files)...
    again = run_worker(tmp_path, 0, "g1", "finish")
    assert again.wait(timeout=120) == 0
    v1 = client.artifact("shards:latest", entity, "dist")
    assert v1.version == "v1"
    assert sorted(v1.manifest.entries) == ["shard-0.txt"]
    assert client.artifact("shards:from-1", entity, "dist").version == "v0"  # "complete" moved to v1
    # ...and a commit whose content equals the latest version's makes none.
    same = run_worker(tmp_path, 0, "g1", "finish")
    assert same.wait(timeout=120) == 0
    assert client.artifact("shards:latest", entity, "dist").version == "v1"
    assert [a.version for a in client.from_row(v1._row).collection.versions()] == ["v1", "v0"]  # type: ignore[arg-type]


def _writers(client: ArtifactClient, art: trackline.Artifact) -> list:
    return client.public_runs(client.db.lineage(int(art._row["id"]), "output"))  # type: ignore[index]


def test_upsert_needs_a_group_or_id(tmp_path: Path) -> None:
    run = trackline.init(project="dist")
    art = trackline.Artifact("x", "dataset")
    with pytest.raises(TypeError, match="Cannot upsert artifact unless run is in a group or distributed_id"):
        run.upsert_artifact(art)
    with pytest.raises(TypeError, match="Cannot upsert"):
        run.finish_artifact(art)
    with art.new_file("a.txt") as f:
        f.write("a")
    run.upsert_artifact(art, distributed_id="explicit").wait()
    done = trackline.Artifact("x", "dataset")
    run.finish_artifact(done, distributed_id="explicit").wait()
    assert done.version == "v0"
    assert sorted(done.manifest.entries) == ["a.txt"]
    run.finish()

"""trackline artifact put/get/ls/rm, artifact cache cleanup and trackline gc, as real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from tests.conftest import PYTHON, child_env


def tl(tmp_path: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([PYTHON, "-m", "trackline.cli.main", *args], env=child_env(tmp_path),
                          cwd=tmp_path / "work", capture_output=True, text=True, timeout=120)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_put_get_ls_rm_gc(tmp_path: Path) -> None:
    data = tmp_path / "work" / "data"
    (data / "sub").mkdir(parents=True)
    (data / "a.txt").write_text("alpha")
    (data / "sub" / "b.txt").write_text("beta")
    put = json.loads(tl(tmp_path, "artifact", "put", str(data), "--name", "proj/ds", "--alias", "first",
                        "--json").stdout)
    assert (put["version"], put["files"], put["size"], put["aliases"]) == ("v0", 2, 9, ["first", "latest"])
    same = json.loads(tl(tmp_path, "artifact", "put", str(data), "--name", "proj/ds", "--json").stdout)
    assert same["version"] == "v0"  # unchanged content: no new version
    (data / "a.txt").write_text("ALPHA, changed")
    v1 = json.loads(tl(tmp_path, "artifact", "put", str(data), "--name", "proj/ds", "--json").stdout)
    assert v1["version"] == "v1"
    tl(tmp_path, "artifact", "put", str(data / "a.txt"), "-n", "proj/model", "-t", "model")

    colls = json.loads(tl(tmp_path, "artifact", "ls", "proj", "--json").stdout)
    assert sorted((c["name"], c["type"], c["versions"]) for c in colls) == [("ds", "dataset", 2), ("model", "model", 1)]
    listed = tl(tmp_path, "artifact", "ls", "proj").stdout
    assert "2 versions" in listed and "1 version " in listed and "1 versions" not in listed
    only_models = json.loads(tl(tmp_path, "artifact", "ls", "proj", "--type", "model", "--json").stdout)
    assert [c["name"] for c in only_models] == ["model"]
    versions = json.loads(tl(tmp_path, "artifact", "ls", "proj/ds", "--json").stdout)
    assert [v["version"] for v in versions] == ["v1", "v0"]

    out = tmp_path / "dl"
    got = tl(tmp_path, "artifact", "get", "proj/ds:first", "--root", str(out)).stdout.strip()
    assert got == str(out) and (out / "a.txt").read_text() == "alpha"
    missing = tl(tmp_path, "artifact", "get", "proj/ds:v9", ok=False)
    assert missing.returncode == 2 and "not found" in missing.stderr

    refused = tl(tmp_path, "artifact", "rm", "proj/ds:v0", "-y", ok=False)
    assert refused.returncode == 2 and "--delete-aliases" in refused.stderr
    assert json.loads(tl(tmp_path, "artifact", "ls", "proj/ds", "--json").stdout)[1]["version"] == "v0"
    rm = json.loads(tl(tmp_path, "artifact", "rm", "proj/ds:v0", "-y", "--delete-aliases", "--json").stdout)
    assert rm["deleted"][0].endswith("proj/ds:v0")
    assert rm["unreferenced_bytes"] == 5  # "alpha"; sub/b.txt is still in v1

    dry = json.loads(tl(tmp_path, "gc", "--grace", "0", "--dry-run", "--json").stdout)
    assert dry["blobs_deleted"] >= 1 and dry["dry_run"]
    report = json.loads(tl(tmp_path, "gc", "--grace", "0", "--json").stdout)
    assert report["bytes_freed"] == dry["bytes_freed"] >= 5
    assert json.loads(tl(tmp_path, "gc", "--grace", "0", "--json").stdout)["blobs_deleted"] == 0
    again = tmp_path / "again"
    tl(tmp_path, "artifact", "get", "proj/ds:latest", "--root", str(again))
    assert (again / "sub" / "b.txt").read_text() == "beta"
    bad = tl(tmp_path, "gc", "--grace", "soon", ok=False)
    assert bad.returncode == 2 and "duration" in bad.stderr


def test_rm_keep_last(tmp_path: Path) -> None:
    f = tmp_path / "work" / "w.bin"
    f.parent.mkdir(parents=True, exist_ok=True)
    for i in range(4):
        f.write_bytes(bytes([i]) * 10)
        args = ["artifact", "put", str(f), "-n", "p/ckpt", "-t", "model"]
        tl(tmp_path, *args, *(["-a", "best"] if i == 0 else []))
    plan = json.loads(tl(tmp_path, "artifact", "rm", "p/ckpt", "--keep-last", "1", "--dry-run", "--json").stdout)
    assert sorted(v.rsplit(":", 1)[1] for v in plan["would_delete"]) == ["v1", "v2"]  # v0 has "best"
    done = json.loads(tl(tmp_path, "artifact", "rm", "p/ckpt", "--keep-last", "1", "-y", "--json").stdout)
    assert len(done["deleted"]) == 2 and done["unreferenced_bytes"] == 20
    left = json.loads(tl(tmp_path, "artifact", "ls", "p/ckpt", "--json").stdout)
    assert [v["version"] for v in left] == ["v3", "v0"]


def test_cache_cleanup(tmp_path: Path) -> None:
    cache = tmp_path / "home" / "cache" / "artifacts" / "refs" / "ab"
    cache.mkdir(parents=True)
    (cache / "old").write_bytes(b"o" * 2000)
    past = time.time() - 1000
    os.utime(cache / "old", (past, past))
    (cache / "new").write_bytes(b"n" * 1000)
    out = json.loads(tl(tmp_path, "artifact", "cache", "cleanup", "1KB", "--json").stdout)
    assert out == {"bytes_freed": 2000, "size": 1000}
    assert not (cache / "old").exists()

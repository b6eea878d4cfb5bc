"""Projects, runs (filters, order, pages), one run, edits, logs and files through the REST API."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import insert, update

from tests.unit.server.conftest import PROJECT, Client, Seeded, assert_error
from trackline.storage.sql import schema as t


def test_health_and_openapi(client: Client) -> None:
    h = client.get("/api/v1/health").json()
    assert h["ok"] is True and h["ui"] is False
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/projects/{entity}/{project}/series" in spec["paths"]


def test_projects_list_counts_runs(client: Client, seeded: Seeded) -> None:
    projects = client.get("/api/v1/projects").json()["projects"]
    assert [(p["name"], p["run_count"]) for p in projects] == [(PROJECT, 4)]
    assert projects[0]["url"] == f"/{seeded.entity}/{PROJECT}"
    assert client.get("/api/v1/projects", params={"entity": "nobody"}).json()["projects"] == []
    one = client.get(seeded.base).json()
    assert one["run_count"] == 4
    assert_error(client.get(f"/api/v1/projects/{seeded.entity}/nope"), 404, "project", "nope")


def test_keys_are_numeric_history_keys_with_step_metrics(client: Client, seeded: Seeded) -> None:
    body = client.get(seeded.base + "/keys").json()
    keys = {k["name"]: k for k in body["keys"]}
    assert {"train/loss", "train/acc", "lr", "val/loss", "epoch", "_runtime", "_timestamp"} <= set(keys)
    assert keys["train/loss"]["runs"] == 4
    assert keys["val/loss"]["step_metric"] == "epoch"
    assert keys["train/loss"]["step_metric"] is None
    assert body["system_keys"] == []


def test_runs_listing_newest_first_with_config_summary_and_paths(client: Client, seeded: Seeded) -> None:
    body = client.get(seeded.base + "/runs").json()
    assert body["total"] == 4 and body["next_cursor"] is None
    names = [r["name"] for r in body["runs"]]
    assert names == ["run-3", "run-2", "run-1", "run-0"]
    r0 = body["runs"][-1]
    assert r0["config"]["lr"] == 0.1 and r0["config"]["model"] == {"depth": 10}
    assert r0["summary"]["best"] == 0.0 and r0["summary"]["train/loss"] > 0
    assert r0["state"] == "finished" and r0["group"] == "a" and r0["tags"] == ["base"]
    assert r0["url"] == f"/{seeded.entity}/{PROJECT}/runs/{seeded.runs[0].id}"
    assert r0["duration"] is not None and r0["duration"] >= 0
    assert "metadata" not in r0


def test_runs_pages_follow_cursors(client: Client, seeded: Seeded) -> None:
    seen: list[str] = []
    cursor = None
    for _ in range(3):
        params = {"per_page": "3", "order": "+config.lr"}
        if cursor:
            params["cursor"] = cursor
        body = client.get(seeded.base + "/runs", params=params).json()
        seen += [r["name"] for r in body["runs"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ["run-3", "run-2", "run-1", "run-0"]


def test_runs_filters_and_search(client: Client, seeded: Seeded) -> None:
    def names(**params: str) -> list[str]:
        resp = client.get(seeded.base + "/runs", params=params)
        assert resp.status_code == 200, resp.text
        return sorted(r["name"] for r in resp.json()["runs"])

    assert names(filters=json.dumps({"config.lr": {"$gte": 0.01}})) == ["run-0", "run-1"]
    assert names(filters=json.dumps({"tags": "exp"})) == ["run-2", "run-3"]
    assert names(filters=json.dumps({"summary_metrics.best": {"$lt": 1}})) == ["run-0"]
    assert names(search="RUN-[12]") == ["run-1", "run-2"]
    assert names(search="run", filters=json.dumps({"group": "b"})) == ["run-2", "run-3"]


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"filters": "{nope"}, ["filters", "not valid JSON"]),
        ({"filters": "[1]"}, ["filters", "JSON object"]),
        ({"per_page": "0"}, ["per_page", "whole number"]),
        ({"per_page": "many"}, ["per_page"]),
        ({"filters": json.dumps({"config.lr": {"$bogus": 1}})}, ["$bogus"]),
    ],
)
def test_runs_bad_parameters_are_400_with_a_message(
    client: Client, seeded: Seeded, params: dict[str, str], words: list[str]
) -> None:
    assert_error(client.get(seeded.base + "/runs", params=params), 400, *words)


def test_one_run_has_everything_the_run_page_shows(client: Client, seeded: Seeded) -> None:
    run = seeded.runs[1]
    row = seeded.store.list_runs(seeded.entity, PROJECT)[2]
    assert row["run_id"] == run.id
    config = dict(row["config"])
    config["_wandb"] = {"pinned_keys": ["lr", "model.depth"]}
    seeded.store.set_run_fields(row["pk"], {"config": config})
    body = client.get(f"{seeded.base}/runs/{run.id}").json()
    assert body["id"] == run.id and body["name"] == "run-1"
    assert body["pinned_keys"] == ["lr", "model.depth"]
    assert "_wandb" not in body["config"]
    assert body["metadata"]["python"] and body["metadata"]["host"]
    assert "train/loss" in body["keys"] and "val/loss" in body["keys"]
    assert body["system_keys"] == [] and body["alerts"] == []
    assert body["has_run_dir"] is True  # the SDK records the run folder (metadata.sync_dir)
    assert body["metadata"]["sync_dir"]
    assert body["job_type"] == "train" and body["state"] == "finished"
    assert_error(client.get(f"{seeded.base}/runs/nope"), 404, "run", "nope")


def test_patch_edits_notes_tags_name_and_rejects_the_rest(client: Client, seeded: Seeded) -> None:
    url = f"{seeded.base}/runs/{seeded.runs[0].id}"
    body = client.patch(url, json={"notes": "tried warmup", "tags": ["best", " best ", "x"], "name": " good "}).json()
    assert body["notes"] == "tried warmup" and body["tags"] == ["best", "x"] and body["name"] == "good"
    again = client.get(url).json()
    assert again["notes"] == "tried warmup" and again["tags"] == ["best", "x"]
    assert body == again  # the answer is the run as GET shows it
    assert_error(client.patch(url, json={"state": "finished"}), 400, "'state'", "only name, notes, tags")
    assert_error(client.patch(url, json={"tags": "x"}), 400, "tags", "list")
    assert_error(client.patch(url, json={"name": ""}), 400, "name", "empty")
    assert_error(client.patch(url, json={"notes": 5}), 400, "notes", "text")
    assert_error(client.patch(url, content=b"notes=x", headers={"content-type": "text/plain"}), 415, "JSON")
    assert_error(client.patch(url, content=b"{", headers={"content-type": "application/json"}), 400, "not valid JSON")
    assert_error(client.patch(f"{seeded.base}/runs/nope", json={"notes": "x"}), 404, "nope")


def _set_metadata(seeded: Seeded, run_id: str, **extra: str) -> int:
    row = next(r for r in seeded.store.list_runs(seeded.entity, PROJECT) if r["run_id"] == run_id)
    meta = dict(row["metadata"] or {}, **extra)
    with seeded.store.engine.begin() as conn:
        conn.execute(update(t.runs).where(t.runs.c.pk == row["pk"]).values(metadata=meta))
    return int(row["pk"])


def test_logs_come_from_the_store_with_search(client: Client, seeded: Seeded) -> None:
    run_id = seeded.runs[0].id
    pk = _set_metadata(seeded, run_id)
    with seeded.store.engine.begin() as conn:
        conn.execute(insert(t.run_logs), [
            {"run_pk": pk, "stream_pk": 1, "seq": i, "ts": 100.0 + i, "source": "stdout", "text": f"epoch {i} loss {i / 10}"}
            for i in range(5)
        ] + [{"run_pk": pk, "stream_pk": 1, "seq": 9, "ts": 200.0, "source": "stderr", "text": "Warning: slow"}])
    url = f"{seeded.base}/runs/{run_id}/logs"
    body = client.get(url).json()
    assert body["source"] == "store" and body["total"] == 6
    assert body["lines"][0] == {"ts": 100.0, "source": "stdout", "text": "epoch 0 loss 0.0"}
    assert [x["text"] for x in client.get(url, params={"search": "slow"}).json()["lines"]] == ["Warning: slow"]
    tail = client.get(url, params={"limit": "2"}).json()
    assert tail["truncated"] is True and [x["text"] for x in tail["lines"]] == ["epoch 4 loss 0.4", "Warning: slow"]


def test_logs_fall_back_to_output_log_and_say_when_there_are_none(
    client: Client, seeded: Seeded, tmp_path: Path
) -> None:
    run_id = seeded.runs[1].id
    url = f"{seeded.base}/runs/{run_id}/logs"
    _set_metadata(seeded, run_id, sync_dir=str(tmp_path / "gone"))
    assert client.get(url).json() == {"lines": [], "total": 0, "truncated": False, "source": None}
    run_dir = tmp_path / "rundir"
    (run_dir / "files").mkdir(parents=True)
    (run_dir / "files" / "output.log").write_text("hello\nTraceback: boom\n")
    _set_metadata(seeded, run_id, sync_dir=str(run_dir))
    body = client.get(url).json()
    assert body["source"] == "file" and [x["text"] for x in body["lines"]] == ["hello", "Traceback: boom"]
    assert [x["text"] for x in client.get(url, params={"search": "traceback"}).json()["lines"]] == ["Traceback: boom"]


def test_files_list_and_download_never_leave_the_run_folder(
    client: Client, seeded: Seeded, tmp_path: Path
) -> None:
    run_id = seeded.runs[2].id
    run_dir = tmp_path / "rundir2"
    (run_dir / "files" / "sub").mkdir(parents=True)
    (run_dir / "files" / "model.txt").write_text("weights")
    (run_dir / "files" / "sub" / "a.json").write_text("{}")
    (tmp_path / "secret.txt").write_text("TOPSECRET")
    os.symlink(tmp_path / "secret.txt", run_dir / "files" / "link.txt")
    _set_metadata(seeded, run_id, sync_dir=str(run_dir))
    base = f"{seeded.base}/runs/{run_id}/files"
    listed = client.get(base).json()
    assert listed["has_run_dir"] is True
    assert [f["path"] for f in listed["files"]] == ["link.txt", "model.txt", "sub/a.json"]
    assert listed["files"][1]["size"] == 7
    got = client.get(base + "/model.txt")
    assert got.status_code == 200 and got.text == "weights"
    assert "attachment" in got.headers["content-disposition"]
    assert client.get(base + "/sub/a.json").text == "{}"
    for bad in ("../../secret.txt", "..%2F..%2Fsecret.txt", "link.txt", "nope.txt", "sub"):
        resp = client.get(base + "/" + bad)
        assert resp.status_code == 404 and "TOPSECRET" not in resp.text, bad


def test_files_the_store_holds_download_from_the_blob_store(client: Client, seeded: Seeded, tmp_path: Path) -> None:
    run_id = seeded.runs[3].id
    pk = _set_metadata(seeded, run_id, sync_dir=str(tmp_path / "elsewhere"))
    assert seeded.store.blobs is not None
    info = seeded.store.blobs.put_bytes(b"checkpoint bytes")
    with seeded.store.engine.begin() as conn:
        conn.execute(insert(t.run_files), [{
            "run_pk": pk, "path": "ckpt/model.pt", "sha256": info.sha256, "md5": info.md5_b64,
            "size": info.size, "policy": "now", "updated_at": 1.0,
        }])
    base = f"{seeded.base}/runs/{run_id}/files"
    listed = client.get(base).json()["files"]
    assert [(f["path"], f["size"], f["stored"]) for f in listed] == [("ckpt/model.pt", 16, True)]
    got = client.get(base + "/ckpt/model.pt")
    assert got.status_code == 200 and got.content == b"checkpoint bytes"
    assert "model.pt" in got.headers["content-disposition"]
    assert_error(client.get(base + "/ckpt/other.pt"), 404, "other.pt")

"""The series endpoint: buckets that keep spikes and ends, any x-axis, windows, smoothing, since."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.server.conftest import Client, Seeded, assert_error
from trackline.storage import series as ds


def _series(client: Client, seeded: Seeded, **body: object) -> dict:
    resp = client.post(seeded.base + "/series", json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _one(answer: dict, run: str, key: str) -> dict:
    return next(s for s in answer["series"] if s["run"] == run and s["key"] == key)


def test_many_runs_and_keys_in_one_request_share_a_width_per_key(client: Client, seeded: Seeded) -> None:
    ids = [r.id for r in seeded.runs]
    ans = _series(client, seeded, runs=ids, keys=["train/loss", "val/loss"], buckets=20)
    assert ans["x"] == "_step" and ans["missing_runs"] == []
    assert len(ans["series"]) == 8
    assert ans["widths"]["train/loss"] == 16.0  # 300 steps / 20 buckets -> next power of two
    s0 = _one(ans, ids[0], "train/loss")
    assert s0["width"] == 16.0 and s0["points"] == 300 and s0["exact"] is False
    assert len(s0["x"]) <= 22 and s0["x"][0] == 0 and s0["x"][-1] == 299
    assert s0["cursor"] == 299
    # the spike at step 123 survives as a bucket max, though `last` misses it
    assert max(s0["max"]) > 5.0 and max(s0["last"]) < 5.0
    assert len(s0["x"]) == len(s0["last"]) == len(s0["min"]) == len(s0["max"])
    val = _one(ans, ids[0], "val/loss")
    assert val["x"] == [100, 200, 300] and val["exact"] is True and val["min"] == []  # commit=False: next row


def test_buckets_equal_the_pure_downsampling_of_the_stored_series(client: Client, seeded: Seeded) -> None:
    run = seeded.runs[2]
    ans = _series(client, seeded, runs=[run.id], keys=["train/acc"], buckets=7)
    pk = next(r["pk"] for r in seeded.store.list_runs(seeded.entity, "vision") if r["run_id"] == run.id)
    steps, vals = seeded.store.numeric_history(pk, ["train/acc"])["train/acc"]
    b = ds.downsample(steps.astype(float), vals, ans["widths"]["train/acc"])
    s = ans["series"][0]
    assert s["x"] == b.x.astype(int).tolist()
    assert s["last"] == b.last.tolist() and s["min"] == b.min.tolist() and s["max"] == b.max.tolist()


def test_get_takes_the_same_request_as_query_parameters(client: Client, seeded: Seeded) -> None:
    run = seeded.runs[0].id
    got = client.get(seeded.base + "/series", params={"runs": run, "keys": "train/loss,lr", "buckets": "10"}).json()
    posted = _series(client, seeded, runs=[run], keys=["train/loss", "lr"], buckets=10)
    assert got == posted


def test_a_window_is_at_full_resolution_with_a_neighbour_each_side(client: Client, seeded: Seeded) -> None:
    run = seeded.runs[0].id
    ans = _series(client, seeded, runs=[run], keys=["train/loss"], buckets=1000, x_min=120, x_max=130)
    s = ans["series"][0]
    assert s["x"] == list(range(119, 132)) and s["exact"] is True
    assert max(s["last"]) > 5.0  # step 123, the spike, at full resolution
    coarse = _series(client, seeded, runs=[run], keys=["train/loss"], buckets=4, x_min=100, x_max=200)
    assert coarse["widths"]["train/loss"] == 32.0
    assert coarse["series"][0]["x"][0] == 99 and coarse["series"][0]["x"][-1] == 201


@pytest.mark.parametrize("x", ["_runtime", "_timestamp", "epoch", "lr"])
def test_any_numeric_key_can_be_the_x_axis(client: Client, seeded: Seeded, x: str) -> None:
    run = seeded.runs[1].id
    s = _series(client, seeded, runs=[run], keys=["train/loss", "val/loss"], x=x, buckets=50)["series"]
    loss, val = s
    assert loss["points"] > 0 and loss["x"] == sorted(loss["x"])
    if x == "epoch":
        assert val["x"] == [0.0, 1.0, 2.0]
        assert loss["points"] == 200  # steps before the first epoch value (100) have no x: dropped
    if x == "_timestamp":
        assert loss["x"][0] > 1e9


def test_smoothing_is_computed_on_the_whole_series_so_zoom_does_not_change_it(
    client: Client, seeded: Seeded
) -> None:
    run = seeded.runs[0].id
    full = _series(client, seeded, runs=[run], keys=["train/loss"], buckets=1000, smoothing=0.9)["series"][0]
    zoom = _series(client, seeded, runs=[run], keys=["train/loss"], buckets=1000, smoothing=0.9,
                   x_min=200, x_max=210)["series"][0]
    assert full["exact"] and len(full["smooth"]) == 300
    by_x = dict(zip(full["x"], full["smooth"], strict=True))
    assert zoom["smooth"] == [by_x[x] for x in zoom["x"]]
    expected = ds.ema(np.arange(300), np.asarray(full["last"]), 0.9)
    assert np.allclose(full["smooth"], expected)
    assert "smooth" not in _series(client, seeded, runs=[run], keys=["train/loss"])["series"][0]


def test_since_returns_only_the_buckets_from_the_first_new_point(client: Client, seeded: Seeded) -> None:
    run = seeded.runs[0].id
    full = _series(client, seeded, runs=[run], keys=["train/loss"], buckets=20)["series"][0]
    w = full["width"]
    part = _series(client, seeded, runs=[run], keys=["train/loss"], buckets=20,
                   since={run: 250}, width={"train/loss": w})["series"][0]
    assert part["from"] == 240 and part["cursor"] == 299  # 251 lies in bucket [240, 256)
    keep = [i for i, x in enumerate(full["x"]) if x >= part["from"]]
    assert part["x"] == [full["x"][i] for i in keep]
    assert part["max"] == [full["max"][i] for i in keep]
    # a client that drops its entries at x >= from and appends these has the full answer
    merged = [x for x in full["x"] if x < part["from"]] + part["x"]
    assert merged == full["x"]
    nothing = _series(client, seeded, runs=[run], keys=["train/loss"], since={run: 299},
                      width={"train/loss": w})["series"][0]
    assert nothing["from"] is None and nothing["x"] == [] and nothing["cursor"] == 299
    everything = _series(client, seeded, runs=[run], keys=["train/loss"], buckets=20,
                         since={run: -1}, width={"train/loss": w})["series"][0]
    assert everything["x"] == full["x"] and everything["from"] == 0


def test_missing_runs_and_keys_give_empty_series(client: Client, seeded: Seeded) -> None:
    ans = _series(client, seeded, runs=[seeded.runs[0].id, "ghost"], keys=["nope"])
    assert ans["missing_runs"] == ["ghost"]
    assert [(s["run"], s["x"], s["points"]) for s in ans["series"]] == [
        (seeded.runs[0].id, [], 0), ("ghost", [], 0)
    ]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"keys": ["a"]}, ["'runs'", "list of strings"]),
        ({"runs": ["a"], "keys": []}, ["'keys'"]),
        ({"runs": ["a"], "keys": ["k"], "buckets": 0}, ["'buckets'", "1 to"]),
        ({"runs": ["a"], "keys": ["k"], "buckets": 2.5}, ["'buckets'"]),
        ({"runs": ["a"], "keys": ["k"], "smoothing": 1}, ["'smoothing'", "[0, 1)"]),
        ({"runs": ["a"], "keys": ["k"], "x_min": 5, "x_max": 1}, ["'x_min'", "above"]),
        ({"runs": ["a"], "keys": ["k"], "x_min": "soon"}, ["'x_min'", "number"]),
        ({"runs": ["a"], "keys": ["k"], "since": {"a": "x"}}, ["'since'"]),
        ({"runs": ["a"], "keys": ["k"], "width": {"k": -1}}, ["'width'"]),
        ({"runs": ["a"], "keys": ["k"], "x": 3}, ["'x'"]),
    ],
)
def test_bad_series_requests_say_what_is_wrong(
    client: Client, seeded: Seeded, body: dict, words: list[str]
) -> None:
    assert_error(client.post(seeded.base + "/series", json=body), 400, *words)


def test_series_of_an_unknown_project_is_404(client: Client, seeded: Seeded) -> None:
    assert_error(client.post(f"/api/v1/projects/{seeded.entity}/nope/series", json={"runs": ["a"], "keys": ["k"]}),
                 404, "nope")
    assert_error(client.post(seeded.base + "/series", content=b"[1]"), 400, "JSON object")

"""The chart reader (many runs, one query) agrees with SQLStore.numeric_history, rewinds included."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
from sqlalchemy import update

import trackline
from tests.unit.server.conftest import Client, Seeded
from trackline.server import history_read
from trackline.storage import open_store
from trackline.storage.sql import schema as t


def _same(store, pks: list[int], keys: list[str]) -> None:  # type: ignore[no-untyped-def]
    many = history_read.read_many(store, pks, keys)
    for pk in pks:
        one = store.numeric_history(pk, keys)
        for key in keys:
            if key not in one:
                assert (pk, key) not in many
                continue
            s, v = many[(pk, key)]
            assert np.array_equal(s, one[key][0])
            assert np.array_equal(v.astype(np.float64), one[key][1].astype(np.float64), equal_nan=True)


def test_agrees_with_numeric_history_for_many_runs(seeded: Seeded) -> None:
    pks = [r["pk"] for r in seeded.store.list_runs(seeded.entity, "vision")]
    _same(seeded.store, pks, ["train/loss", "val/loss", "epoch", "_runtime", "nope"])
    window = history_read.read_many(seeded.store, pks[:1], ["train/loss"], 100, 150)
    (steps, _), = window.values()
    assert steps[0] == 100 and steps[-1] == 150


def test_late_steps_and_rewind_cutoffs_are_respected(store_path: Path) -> None:
    run = trackline.init(project="late", name="r")
    for s in range(300):
        run.log({"m": float(s)})
    run.log({"m": -1.0}, step=50)  # a late step: the last write wins
    run.finish()
    store = open_store(str(store_path))
    pk = store.list_runs(store.list_projects()[0]["entity"], "late")[0]["pk"]
    _same(store, [pk], ["m"])
    s, v = history_read.read_many(store, [pk], ["m"])[(pk, "m")]
    assert v[50] == -1.0 and len(s) == 300
    with store.engine.begin() as conn:  # as resume_from would: hide steps after 120
        conn.execute(update(t.runs).where(t.runs.c.pk == pk).values(history_cutoffs=[[10**6, 120]]))
    _same(store, [pk], ["m"])
    assert history_read.read_many(store, [pk], ["m"])[(pk, "m")][0][-1] == 120
    store.close()


def test_b64_columns_carry_the_same_numbers_as_json(client: Client, seeded: Seeded) -> None:
    body = {"runs": [r.id for r in seeded.runs], "keys": ["train/loss", "epoch"], "buckets": 37, "smoothing": 0.5}
    plain = client.post(seeded.base + "/series", json=body).json()
    packed = client.post(seeded.base + "/series", json={**body, "encoding": "b64"}).json()
    assert packed["encoding"] == "b64" and plain["encoding"] == "json"
    for a, b in zip(plain["series"], packed["series"], strict=True):
        for col in ("x", "last", "min", "max", "smooth"):
            if col not in a:
                assert col not in b
                continue
            enc = b[col]
            arr = np.frombuffer(base64.b64decode(enc["b64"]), dtype="<" + enc["dtype"])
            assert np.allclose(arr.astype(float), np.asarray(a[col], dtype=float), rtol=1e-6, equal_nan=True), col
        assert b["x"]["dtype"] == "i4"  # steps


def test_float32_values_come_back_as_short_decimals(store_path: Path) -> None:
    run = trackline.init(project="f32", name="r")
    for s in range(10):
        run.log({"m": np.float32(0.1) * s})
    run.finish()
    store = open_store(str(store_path))
    entity = store.list_projects()[0]["entity"]
    from trackline.server import create_app

    c = Client(create_app(store, static_dir=store_path.parent / "nothing"))
    ans = c.post(f"/api/v1/projects/{entity}/f32/series", json={"runs": [run.id], "keys": ["m"]}).json()
    last = ans["series"][0]["last"]
    assert last[1] == 0.1 and last[3] == 0.3  # not 0.10000000149011612
    store.close()

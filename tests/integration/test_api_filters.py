"""api.runs(): every filter operator and order against hand-computed expectations, on a
store seeded through the SDK; lazy pagination and len() by COUNT."""

from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import trackline
from tests.conftest import postgres_database
from tests.unit.api.seeding import isolated_env, make_run

P = "filters"

# id: (name, config, summary, tags, group, job_type, exit code)
SEED: dict[str, tuple[str, dict[str, Any], dict[str, Any], list[str], str | None, str | None, int]] = {
    "r1": ("alpha", {"lr": 0.1, "opt": {"name": "adam", "beta": 0.9}, "layers": [64, 64], "flag": True,
                     "arch": "resnet"}, {"acc": 0.9}, ["baseline", "gpu"], "g1", "train", 0),
    "r2": ("beta", {"lr": 0.01, "opt": {"name": "sgd"}, "flag": False, "arch": "vit"}, {"acc": 0.95},
           ["gpu"], "g1", "eval", 0),
    "r3": ("gamma", {"lr": 0.001, "arch": "ResNet-50", "dotted.key": 5}, {"acc": 0.5}, [], "g2", "train", 1),
    "r4": ("delta", {"lr": "auto"}, {"acc": "n/a"}, ["baseline"], None, None, 0),
    "r5": ("epsilon", {}, {"acc": 0.7, "nested": {"x": 3}}, ["other"], "g2", "eval", 0),
    "r6": ("zeta", {"lr": 0.1, "batch": 32}, {"acc": 0.9}, ["gpu", "baseline"], None, None, 0),
}
ALL = list(SEED)


# PostgreSQL runs the same expectations when a server is given (scripts/test starts one).
_STORES = ["sqlite"] + (["postgresql"] if os.environ.get("TRACKLINE_TEST_POSTGRES_URL") else [])


@pytest.fixture(scope="module", params=_STORES)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[trackline.Api]:
    """The seeded store: SQLite always; PostgreSQL (JSONB) when a server URL is given."""
    root = tmp_path_factory.mktemp("filters")
    with contextlib.ExitStack() as stack:
        store = stack.enter_context(postgres_database()) if request.param == "postgresql" else None
        stack.enter_context(isolated_env(root))
        if store is not None:
            os.environ["TRACKLINE_STORE"] = store  # isolated_env restores the environment
        for rid, (name, config, summary, tags, group, job_type, code) in SEED.items():
            make_run(P, rid, name=name, config=config, summary=summary, tags=tags, group=group,
                     job_type=job_type, exit_code=code, rows=[{"loss": 1.0}])
        client = trackline.Api()
        yield client
        client.close()


def ids(api: trackline.Api, filters: dict[str, Any] | None = None, order: str = "+created_at") -> list[str]:
    return [r.id for r in api.runs(P, filters, order=order)]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        # $eq (implicit and explicit), numbers, strings, bools, lists, nested and dotted keys
        ({"config.lr": 0.1}, ["r1", "r6"]),
        ({"config.lr": {"$eq": 0.01}}, ["r2"]),
        ({"config.lr": "auto"}, ["r4"]),
        ({"config.flag": True}, ["r1"]),
        ({"config.flag": False}, ["r2"]),
        ({"config.flag": 1}, []),  # types are bracketed: True is not 1
        ({"config.layers": [64, 64]}, ["r1"]),
        ({"config.opt.name": "adam"}, ["r1"]),
        ({"config.opt": {"name": "sgd"}}, ["r2"]),
        ({"config.dotted.key": 5}, ["r3"]),  # a key with a dot in it
        ({"config.dotted\\.key": 5}, ["r3"]),  # ... written with an escaped dot
        ({"config.opt\\.name": "adam"}, []),  # an escaped dot is not a level
        ({"config.lr.value": 0.1}, ["r1", "r6"]),  # W&B's spelling
        ({"summary_metrics.nested.x": 3}, ["r5"]),
        ({"config.lr": None}, ["r5"]),  # missing counts as null
        # $ne matches runs without the key, and other types
        ({"config.lr": {"$ne": 0.1}}, ["r2", "r3", "r4", "r5"]),
        # ordering operators compare numbers with numbers only
        ({"config.lr": {"$gt": 0.005}}, ["r1", "r2", "r6"]),
        ({"config.lr": {"$gte": 0.01}}, ["r1", "r2", "r6"]),
        ({"config.lr": {"$lt": 0.01}}, ["r3"]),
        ({"config.lr": {"$lte": 0.01}}, ["r2", "r3"]),
        ({"config.lr": {"$gt": 0.001, "$lt": 0.1}}, ["r2"]),
        ({"config.arch": {"$gt": "s"}}, ["r2"]),  # text compares with text: "vit"
        ({"summary_metrics.acc": {"$gte": 0.9}}, ["r1", "r2", "r6"]),
        ({"summary.acc": {"$lt": 0.9}}, ["r3", "r5"]),
        # $in / $nin
        ({"config.lr": {"$in": [0.1, "auto"]}}, ["r1", "r4", "r6"]),
        ({"config.lr": {"$nin": [0.1, "auto"]}}, ["r2", "r3", "r5"]),
        ({"config.lr": {"$in": [None, 0.001]}}, ["r3", "r5"]),
        # $exists
        ({"config.lr": {"$exists": True}}, ["r1", "r2", "r3", "r4", "r6"]),
        ({"config.lr": {"$exists": False}}, ["r5"]),
        ({"summary_metrics.nested": {"$exists": True}}, ["r5"]),
        # $regex (search, as MongoDB), with $options
        ({"config.arch": {"$regex": "^res"}}, ["r1"]),
        ({"config.arch": {"$regex": "^res", "$options": "i"}}, ["r1", "r3"]),
        ({"config.arch": {"$regex": "es"}}, ["r1", "r3"]),  # unanchored
        ({"config.arch": {"$regex": "net"}}, ["r1"]),  # case-sensitive
        ({"config.lr": {"$regex": "a"}}, ["r4"]),  # numbers never match a regex
        # $not on a field: the negation, missing keys included
        ({"config.lr": {"$not": {"$gt": 0.005}}}, ["r3", "r4", "r5"]),
        ({"config.arch": {"$not": "^res"}}, ["r2", "r3", "r4", "r5", "r6"]),
        # logic
        ({"$and": [{"config.lr": {"$gt": 0.005}}, {"tags": "baseline"}]}, ["r1", "r6"]),
        ({"$or": [{"config.lr": 0.01}, {"config.lr": "auto"}]}, ["r2", "r4"]),
        ({"$nor": [{"group": "g1"}, {"group": "g2"}]}, ["r4", "r6"]),
        ({"$not": {"tags": "gpu"}}, ["r3", "r4", "r5"]),
        ({"tags": "gpu", "group": "g1"}, ["r1", "r2"]),  # several keys: all must hold
        # tags: a list, matched element-wise
        ({"tags": "gpu"}, ["r1", "r2", "r6"]),
        ({"tags": {"$in": ["other", "baseline"]}}, ["r1", "r4", "r5", "r6"]),
        ({"tags": {"$nin": ["gpu"]}}, ["r3", "r4", "r5"]),
        ({"tags": {"$ne": "gpu"}}, ["r3", "r4", "r5"]),
        ({"tags": {"$regex": "^base"}}, ["r1", "r4", "r6"]),
        ({"tags": {"$exists": False}}, ["r3"]),
        ({"tags": {"$exists": True}}, ["r1", "r2", "r4", "r5", "r6"]),
        ({"tags": ["gpu", "baseline"]}, ["r1", "r6"]),  # the same set of tags
        # run columns
        ({"state": "failed"}, ["r3"]),
        ({"state": {"$in": ["finished"]}}, ["r1", "r2", "r4", "r5", "r6"]),
        ({"group": "g1"}, ["r1", "r2"]),
        ({"group": None}, ["r4", "r6"]),
        ({"group": {"$exists": False}}, ["r4", "r6"]),
        ({"group": {"$ne": "g1"}}, ["r3", "r4", "r5", "r6"]),
        ({"job_type": "eval"}, ["r2", "r5"]),
        ({"jobType": {"$in": ["train", None]}}, ["r1", "r3", "r4", "r6"]),
        ({"display_name": "beta"}, ["r2"]),
        ({"displayName": {"$regex": "^(al|be)"}}, ["r1", "r2"]),
        ({"display_name": {"$gte": "epsilon"}}, ["r3", "r5", "r6"]),
        ({"name": "r3"}, ["r3"]),  # W&B: name is the run id
        ({"id": {"$in": ["r2", "r5", "nope"]}}, ["r2", "r5"]),
    ],
)
def test_filter(api: trackline.Api, filters: dict[str, Any], expected: list[str]) -> None:
    assert ids(api, filters) == expected
    assert len(api.runs(P, filters)) == len(expected)


def test_created_at_filters_take_iso_text_datetimes_and_epochs(api: trackline.Api) -> None:
    runs = list(api.runs(P, order="+created_at"))
    assert [r.id for r in runs] == ALL  # seeded in this order
    t3, t4 = runs[2]._row["created_at"], runs[3]._row["created_at"]
    between = datetime.datetime.fromtimestamp((t3 + t4) / 2, tz=datetime.timezone.utc)
    assert ids(api, {"created_at": {"$gt": between.isoformat()}}) == ["r4", "r5", "r6"]
    naive_utc = between.replace(tzinfo=None).isoformat()  # no offset: UTC, as in W&B
    assert ids(api, {"created_at": {"$gt": naive_utc}}) == ["r4", "r5", "r6"]
    assert ids(api, {"createdAt": {"$lte": between}}) == ["r1", "r2", "r3"]
    assert ids(api, {"created_at": {"$gte": t3, "$lt": runs[4]._row["created_at"]}}) == ["r3", "r4"]
    assert ids(api, {"created_at": {"$lt": "2000-01-01"}}) == []
    assert ids(api, {"created_at": {"$gt": "2000-01-01T00:00:00Z"}}) == ALL


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("+created_at", ALL),
        ("-created_at", ALL[::-1]),
        # numbers (ties by creation), then text, then runs without the key, in both directions
        ("+config.lr", ["r3", "r2", "r1", "r6", "r4", "r5"]),
        ("-config.lr", ["r6", "r1", "r2", "r3", "r4", "r5"]),
        ("-config.lr.value", ["r6", "r1", "r2", "r3", "r4", "r5"]),
        ("-summary_metrics.acc", ["r2", "r6", "r1", "r5", "r3", "r4"]),
        ("summary_metrics.acc", ["r3", "r5", "r1", "r6", "r2", "r4"]),
        ("+display_name", ["r1", "r2", "r4", "r5", "r3", "r6"]),
        ("-group", ["r5", "r3", "r2", "r1", "r6", "r4"]),  # runs without a group last
        ("+state", ["r3", "r1", "r2", "r4", "r5", "r6"]),
    ],
)
def test_order(api: trackline.Api, order: str, expected: list[str]) -> None:
    assert ids(api, order=order) == expected


def test_order_with_filter(api: trackline.Api) -> None:
    assert ids(api, {"tags": "gpu"}, "-summary_metrics.acc") == ["r2", "r6", "r1"]


@pytest.mark.parametrize("per_page", [1, 2, 3, 5, 6, 7, 100])
def test_pagination_boundaries(api: trackline.Api, per_page: int) -> None:
    runs = api.runs(P, order="-config.lr", per_page=per_page)
    assert len(runs) == 6 and runs.objects == []  # COUNT, no page loaded
    seen = []
    pages = 0
    while runs.more:
        page = runs.next_page()
        pages += 1
        assert len(page) <= per_page
        seen += [r.id for r in page]
    assert seen == ["r6", "r1", "r2", "r3", "r4", "r5"]
    # the last page knows it is the last: no extra empty round trip
    assert pages == -(-6 // per_page)
    assert [r.id for r in runs] == seen  # iterating again reads the cache


def test_indexing_loads_only_the_pages_it_needs(api: trackline.Api) -> None:
    runs = api.runs(P, order="+created_at", per_page=2)
    assert runs[2].id == "r3"
    assert len(runs.objects) == 4
    assert [r.id for r in runs[1:3]] == ["r2", "r3"]
    assert runs[-1].id == "r6"
    with pytest.raises(IndexError):
        runs[6]


def test_a_missing_project_and_bad_filters_fail_at_the_call(api: trackline.Api) -> None:
    with pytest.raises(trackline.api.ProjectNotFoundError, match=r"Could not find project .*/nope"):
        api.runs("nope")
    with pytest.raises(ValueError, match="unknown operator '\\$gtt'"):
        api.runs(P, {"config.lr": {"$gtt": 1}})
    with pytest.raises(ValueError, match="per_page must be a positive integer"):
        api.runs(P, per_page=0)


def test_projects_and_project(api: trackline.Api) -> None:
    projects = api.projects()
    assert [(p.name, p.run_count) for p in projects] == [(P, 6)]
    project = api.project(P)
    assert project.path == [api.default_entity, P]
    assert [r.id for r in project.runs(order="+created_at")] == ALL
    with pytest.raises(ValueError, match="Could not find project"):
        api.project("nope")


def test_pages_do_not_shift_when_runs_arrive_mid_iteration(isolated: Path) -> None:
    for rid in ("a", "b", "c"):
        make_run("live", rid)
    api = trackline.Api()
    runs = api.runs("live", order="-created_at", per_page=2)
    first = runs.next_page()
    assert [r.id for r in first] == ["c", "b"]
    make_run("live", "d")  # newer than every run: it sorts before the cursor
    assert [r.id for r in runs] == ["c", "b", "a"]  # no run seen twice, none skipped

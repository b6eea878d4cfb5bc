"""The public objects reach runs only through the Reader interface, so an HTTP reader (the
team server) can replace the store reader with nothing above it changing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trackline
from tests.unit.api.seeding import make_run
from trackline.api.reader import Reader, StoreReader

READER_METHODS = [name for name in Reader.__dict__ if not name.startswith("_") and callable(Reader.__dict__[name])]


class ForwardingReader:
    """Only the Reader methods, forwarded; no store in sight. Records what was called."""

    def __init__(self, inner: StoreReader) -> None:
        self._inner = inner
        self.location = "remote://test"
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        if name not in READER_METHODS:
            raise AttributeError(f"{name} is not part of the Reader interface")
        self.calls.append(name)
        return getattr(self._inner, name)


def test_everything_goes_through_the_reader(isolated: Path, tmp_path: Path) -> None:
    make_run("p", "a", rows=[{"loss": float(i)} for i in range(100)], config={"lr": 0.1},
             files={"model.bin": b"x"})
    make_run("p", "b", rows=[{"loss": 1.0}], config={"lr": 0.2})
    inner = trackline.Api().reader
    assert isinstance(inner, StoreReader)
    reader = ForwardingReader(inner)
    api = trackline.Api(reader=reader)  # type: ignore[arg-type]
    assert api.store is None and api.location == "remote://test"

    runs = api.runs("p", {"config.lr": {"$gt": 0.05}}, order="+config.lr", per_page=1)
    assert len(runs) == 2 and [r.id for r in runs] == ["a", "b"]
    run = api.run("p/a")
    assert len(run.history(samples=10)) <= 10 + 2
    assert len(list(run.scan_history(keys=["loss"]))) == 100
    assert run.history_frame(["loss"]).shape == (100, 2)
    assert [f.name for f in run.files()] == ["model.bin"]
    run.file("model.bin").download(root=str(tmp_path)).close()
    assert runs.histories(keys=["loss"], samples=None)[-1]["run_id"] == "b"
    run.notes = "via the reader"
    run.update()
    assert api.run("p/a").notes == "via the reader"
    run.move("q")
    api.run("q/a").delete()
    assert [p.name for p in api.projects()] == ["p", "q"] and api.project("q").run_count == 0
    assert set(reader.calls) >= {
        "runs_page", "count_runs", "project", "get_run", "columns", "next_step", "history_keys",
        "files", "update_run", "move_run", "delete_run", "projects",
    }


def test_keys_of_runs_is_history_keys_and_value_keys_of_each_run_in_two_queries(isolated: Path) -> None:
    from sqlalchemy import event

    make_run("p", "a", rows=[{"loss": 1.0, "note": "x"}, {"loss": 0.5, "acc": 0.1}])
    make_run("p", "b", rows=[{"lr": 0.1, "flag": True}])
    make_run("p", "c", rows=[{"loss": 2.0}])
    reader = trackline.Api().reader
    assert isinstance(reader, StoreReader)
    runs = [r._row for r in trackline.Api().runs("p")]
    statements: list[str] = []
    event.listen(reader.store.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    keys, text = reader.keys_of_runs(runs)
    assert len([s for s in statements if s.startswith("SELECT")]) == 2  # not two per run
    assert keys == sorted({k for r in runs for k in reader.history_keys(r)})
    assert text == set().union(*(reader.value_keys(r) for r in runs)) == {"note", "flag"}
    assert reader.keys_of_runs([]) == ([], set())


def test_reading_a_sqlite_store_loads_no_postgresql_dialect(isolated: Path) -> None:
    # Its catalog is ~18 ms of every API or CLI start-up on SQLite; it loads only on PostgreSQL.
    import subprocess
    import sys

    make_run("p", "a", rows=[{"loss": 1.0}], config={"lr": 0.1})
    code = (
        "import sys, trackline\n"
        "api = trackline.Api()\n"
        "assert len(api.runs('p', {'config.lr': {'$gt': 0.05}}, order='-summary_metrics.loss')) == 1\n"
        "print(any(m.startswith('sqlalchemy.dialects.postgresql') for m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

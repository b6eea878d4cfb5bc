"""trackline export to Parquet: compressions and encodings read back the same data; numeric
columns go to Arrow without pandas; the reading thread hands errors over; the file is
flushed to disk before it gets its name."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PYTHON, child_env
from tests.unit.api.seeding import isolated_env, make_run, store_path
from trackline.cli.export import read_ahead

pq = pytest.importorskip("pyarrow.parquet")
N = 3000  # two windows' worth of chunks per run, gaps and all


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("export")
    with isolated_env(root):
        make_run("p", "r1", rows=[{"loss": 1.0 / (i + 1), "n": i, **({"odd": 0.5} if i % 2 else {})}
                                  for i in range(N)])
        make_run("p", "r2", rows=[({"loss": float(i), "note": f"t{i}"}, i * 7) for i in range(10)])
        make_run("q", "nums", rows=[{"a": float(i), "b": i} for i in range(100)])
    yield root


def export(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    p = subprocess.run([PYTHON, "-m", "trackline.cli.main", "export", *args, "--no-progress"],
                       cwd=root / "work", env=child_env(root), capture_output=True, text=True, timeout=120)
    return p


def expected() -> dict[str, list[Any]]:
    steps = list(range(N)) + [i * 7 for i in range(10)]
    return {
        "run_id": ["r1"] * N + ["r2"] * 10,
        "_step": steps,
        "loss": [1.0 / (i + 1) for i in range(N)] + [float(i) for i in range(10)],
        "n": [float(i) for i in range(N)] + [None] * 10,
        "note": [None] * N + [f"t{i}" for i in range(10)],
        "odd": [0.5 if i % 2 else None for i in range(N)] + [None] * 10,
    }


@pytest.mark.parametrize("options", [[], ["--compression", "lz4"], ["--compression", "snappy"],
                                     ["--compression", "none"], ["--plain-encoding"]])
def test_every_compression_and_encoding_reads_back_the_same(root: Path, options: list[str]) -> None:
    out = root / "work" / f"p{'-'.join(options)}.parquet"
    p = export(root, "p", "-o", str(out), "-k", "loss,n,note,odd", *options)
    assert p.returncode == 0, p.stderr
    table = pq.read_table(out)
    assert [str(t) for t in table.schema.types] == ["string", "int64", "double", "double", "string", "double"]
    assert table.to_pydict() == expected()
    meta = pq.ParquetFile(out).metadata
    col = {meta.schema.column(i).name: i for i in range(meta.num_columns)}
    group = meta.row_group(0)
    codec = {"--compression": options[1].upper() if options[:1] == ["--compression"] else "ZSTD"}["--compression"]
    assert group.column(col["loss"]).compression == ("UNCOMPRESSED" if codec == "NONE" else codec)
    encodings = set(group.column(col["loss"]).encodings) | set(group.column(col["_step"]).encodings)
    if "--plain-encoding" in options:
        assert {"BYTE_STREAM_SPLIT", "DELTA_BINARY_PACKED"}.isdisjoint(encodings)
    else:
        assert {"BYTE_STREAM_SPLIT", "DELTA_BINARY_PACKED"} <= encodings
    assert "RLE_DICTIONARY" not in group.column(col["loss"]).encodings  # no dictionary for floats


def test_compression_options_are_for_parquet_only(root: Path) -> None:
    p = export(root, "p", "-o", str(root / "work" / "x.csv"), "--compression", "lz4")
    assert p.returncode == 2 and "apply to --format parquet" in p.stderr


def test_numeric_export_does_not_import_pandas(root: Path) -> None:
    out = root / "work" / "nums.parquet"
    code = (
        "import sys; from trackline.cli.export import export_cmd; "
        f"export_cmd.main(['q', '-o', {str(out)!r}, '-k', 'a,b', '--no-progress'], standalone_mode=False); "
        "print(json.dumps('pandas' in sys.modules))"
    )
    p = subprocess.run([PYTHON, "-c", "import json; " + code], cwd=root / "work", env=child_env(root),
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout.strip().splitlines()[-1]) is False
    assert pq.read_table(out).to_pydict() == {
        "run_id": ["nums"] * 100, "_step": list(range(100)), "a": [float(i) for i in range(100)],
        "b": [float(i) for i in range(100)],
    }


def test_read_ahead_keeps_order_and_hands_over_errors() -> None:
    assert list(read_ahead(iter(range(1000)), depth=2)) == list(range(1000))

    def failing() -> Iterator[int]:
        yield 1
        raise RuntimeError("store went away")

    got = []
    with pytest.raises(RuntimeError, match="store went away"):
        for x in read_ahead(failing()):
            got.append(x)
    assert got == [1]
    # The consumer stops early: the reading thread is stopped and joined, not left blocked.
    it = read_ahead(iter(range(10**9)), depth=1)
    assert next(it) == 0
    it.close()


def test_the_file_is_on_disk_before_it_is_renamed(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from trackline.cli.export import export_cmd

    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    with isolated_env(root):
        out = root / "work" / "synced.parquet"
        export_cmd.main(["q", "-o", str(out), "--no-progress", "--store", str(store_path(root))],
                        standalone_mode=False)
    assert events == ["fsync", "replace"] and out.exists()

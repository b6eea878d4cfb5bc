"""Table: constructors, type inference and enforcement, methods, log modes, Parquet round trip."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trackline
from tests.unit.data_types.conftest import last_row
from trackline.data_types.table import Table
from trackline.errors import Error


def test_default_columns_and_rows() -> None:
    t = trackline.Table()
    assert t.columns == ["Input", "Output", "Expected"]
    t.add_data(1, "a", True)
    assert t.data == [[1, "a", True]] and t.get_index() == [0]
    assert trackline.Table(columns=["a"], rows=[[1], [2]]).data == [[1], [2]]


def test_columns_must_be_a_list_of_str_or_int() -> None:
    with pytest.raises(TypeError, match="columns argument expects a `list` object"):
        trackline.Table(columns="abc")
    with pytest.raises(TypeError, match="list of strings or ints"):
        trackline.Table(columns=["a", 1.5])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="unique"):
        trackline.Table(columns=["a", "a"])


def test_wrong_row_length_is_wandbs_value_error() -> None:
    t = trackline.Table(columns=["a", "b"])
    with pytest.raises(ValueError, match=r"This table expects 2 columns: \['a', 'b'\], found 3"):
        t.add_data(1, 2, 3)
    with pytest.raises(ValueError, match="expects 2 columns"):
        trackline.Table(columns=["a", "b"], data=[[1, 2], [1]])


def test_types_are_inferred_then_enforced() -> None:
    t = trackline.Table(columns=["n", "s"])
    t.add_data(None, "x")  # None first: the type is not fixed yet
    t.add_data(1.5, "y")
    with pytest.raises(TypeError, match="incompatible types"):
        t.add_data("oops", "z")
    assert len(t.data) == 2  # the bad row was not added
    t.add_data(2, None)  # ints and floats are both numbers; None is allowed (optional)
    assert t.column_types == {"n": "number", "s": "string"}


def test_allow_mixed_types_and_not_optional() -> None:
    mixed = trackline.Table(columns=["v"], allow_mixed_types=True)
    mixed.add_data(1)
    mixed.add_data("a")
    assert mixed.column_types == {"v": "mixed"}
    strict = trackline.Table(columns=["v"], optional=False)
    with pytest.raises(TypeError, match="not optional"):
        strict.add_data(None)


def test_dtype_fixes_column_types() -> None:
    t = trackline.Table(columns=["a", "b"], dtype=[int, str])
    with pytest.raises(TypeError, match="incompatible"):
        t.add_data("x", "y")
    img_col = trackline.Table(columns=["img"], dtype=trackline.Image)
    with pytest.raises(TypeError, match="image-file"):
        img_col.add_data(3)


def test_numpy_and_dataframe_inputs() -> None:
    t = trackline.Table(columns=["a", "b"], data=np.arange(6).reshape(3, 2))
    assert t.data == [[0, 1], [2, 3], [4, 5]]
    with pytest.raises(ValueError, match="2-D"):
        trackline.Table(data=np.arange(3))
    df = pd.DataFrame({"x": [1, 2], "y": ["a", "b"]})
    ft = trackline.Table(dataframe=df, columns=["ignored"])
    assert ft.columns == ["x", "y"] and ft.data == [[1, "a"], [2, "b"]]
    assert trackline.Table(data=df).columns == ["x", "y"]


def test_add_column_get_column_get_dataframe_iterrows_cast() -> None:
    t = trackline.Table(columns=["a"], data=[[1], [2]])
    t.add_column("b", ["x", "y"])
    assert t.get_column("b") == ["x", "y"]
    np.testing.assert_array_equal(t.get_column("a", convert_to="numpy"), [1, 2])
    with pytest.raises(ValueError, match="already has a column"):
        t.add_column("a", [1, 2])
    with pytest.raises(ValueError, match="has 2 rows, but data has 1"):
        t.add_column("c", [1])
    with pytest.raises(ValueError, match="no column named 'zz'"):
        t.get_column("zz")
    assert list(t.iterrows()) == [(0, [1, "x"]), (1, [2, "y"])]
    frame = t.get_dataframe()
    assert list(frame.columns) == ["a", "b"] and frame["b"].tolist() == ["x", "y"]
    t.cast("a", float)
    with pytest.raises(TypeError, match="cannot be cast to string"):
        t.cast("a", str)
    t.add_computed_columns(lambda i, row: {"twice": row["a"] * 2})
    assert t.get_column("twice") == [2, 4]


def test_invalid_log_mode() -> None:
    with pytest.raises(ValueError, match="Invalid log_mode: SOMETIMES"):
        trackline.Table(log_mode="SOMETIMES")


def test_parquet_round_trip_keeps_columns_types_and_values() -> None:
    t = trackline.Table(columns=["n", "s", "b", "l", "d", 7])
    t.add_data(1.5, "x", True, [1, 2], {"k": np.int64(3)}, None)
    t.add_data(None, "y", False, [3], {"k": 4}, None)
    back = Table.from_parquet(t.to_parquet_bytes())
    assert back.columns == ["n", "s", "b", "l", "d", 7]
    assert back.data == [[1.5, "x", True, [1, 2], {"k": 3}, None], [None, "y", False, [3], {"k": 4}, None]]
    assert back.column_types["n"] == "number" and back.column_types["l"] == "list"


def test_a_dataframe_stays_columnar_until_rows_are_needed() -> None:
    n = 250_000  # beyond W&B's 200k cap: no cap here
    df = pd.DataFrame({"i": np.arange(n), "f": np.linspace(0, 1, n), "s": ["a", "b"] * (n // 2)})
    t = trackline.Table(dataframe=df)
    assert t._rows is None and t.nrows == n
    back = Table.from_parquet(t.to_parquet_bytes())
    assert back.nrows == n
    pd.testing.assert_frame_equal(back.get_dataframe(), df)
    assert t.column_types == {"i": "number", "f": "number", "s": "string"}


def test_immutable_table_warns_on_mutation_and_resends_the_first_version(
    run: trackline.Run, caplog: pytest.LogCaptureFixture
) -> None:
    t = trackline.Table(columns=["a"], data=[[1]])
    run.log({"t": t})
    first = last_row(run)["t"]
    with caplog.at_level(logging.WARNING, logger="trackline"):
        t.add_data(2)
    assert any("log_mode='IMMUTABLE'" in r.getMessage() for r in caplog.records)
    run.log({"t": t})
    second = last_row(run)["t"]
    assert second["sha256"] == first["sha256"] and second["nrows"] == 1


def test_mutable_table_writes_a_new_file_after_a_change(run: trackline.Run) -> None:
    t = trackline.Table(columns=["a"], data=[[1]], log_mode="MUTABLE")
    run.log({"t": t})
    first = last_row(run)["t"]
    t.add_data(2)
    run.log({"t": t})
    second = last_row(run)["t"]
    assert second["sha256"] != first["sha256"] and second["nrows"] == 2
    assert Table.from_parquet(str(Path(run.dir) / second["path"])).data == [[1], [2]]


def test_incremental_table_logs_only_new_rows(run: trackline.Run) -> None:
    t = trackline.Table(columns=["a"], log_mode="INCREMENTAL")
    t.add_data(1)
    run.log({"t": t})
    t.add_data(2)
    t.add_data(3)
    run.log({"t": t})
    first, second = (r[1]["t"] for r in __import__("tests.unit.data_types.conftest", fromlist=["x"]).records(run, 2))
    assert first["_type"] == second["_type"] == "incremental-table-file"
    assert (first["increment_num"], second["increment_num"]) == (0, 1)
    assert second["previous_increments_paths"] == [first["path"]]
    assert Table.from_parquet(str(Path(run.dir) / second["path"])).data == [[2], [3]]
    with pytest.raises(Error, match="not supported for tables with log_mode='INCREMENTAL'"):
        t.add_column("b", [1, 2, 3])
    other = trackline.init(project="media", mode="offline", reinit="create_new")
    other.log({"t": t})  # one run only: dropped with a warning, training goes on
    assert "t" not in __import__("tests.unit.data_types.conftest", fromlist=["x"]).last_row(other)
    other.finish()


def test_table_with_image_cells_writes_the_images_and_keeps_references(run: trackline.Run) -> None:
    img = trackline.Image(np.full((4, 4, 3), 200, dtype=np.uint8))
    t = trackline.Table(columns=["id", "img"], data=[[1, img], [2, None]])
    assert t.column_types["img"] == "image-file"
    run.log({"preds": t})
    ref = last_row(run)["preds"]
    back = Table.from_parquet(str(Path(run.dir) / ref["path"]))
    cell = back.data[0][1]
    assert cell["_type"] == "image-file" and cell["path"].startswith("media/images/preds_0_")
    assert (Path(run.dir) / cell["path"]).read_bytes() == img._read_bytes()
    assert back.data[1][1] is None


def test_a_list_of_tables_is_kept_as_a_list_of_table_references(run: trackline.Run) -> None:
    # W&B's Media.seq_to_json has no implementation for tables: there the whole call is lost.
    a = trackline.Table(columns=["x"], data=[[1]])
    b = trackline.Table(columns=["x"], data=[[2], [3]])
    run.log({"tables": [a, b], "loss": 0.5})
    row = last_row(run)
    assert row["loss"] == 0.5
    refs = row["tables"]
    assert [r["_type"] for r in refs] == ["table-file", "table-file"]
    assert [r["nrows"] for r in refs] == [1, 2]
    assert Table.from_parquet(str(Path(run.dir) / refs[1]["path"])).data == [[2], [3]]

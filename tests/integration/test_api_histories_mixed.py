"""Runs.histories() when one key is a number in one run and text in another."""

from __future__ import annotations

import pytest

import trackline


@pytest.mark.parametrize("engine", ["pandas", "polars", "arrow"])
def test_a_key_that_is_text_in_one_run_and_numeric_in_another(engine: str) -> None:
    pytest.importorskip({"pandas": "pandas", "polars": "polars", "arrow": "pyarrow"}[engine])
    ids = []
    for value in (1.5, "text"):
        run = trackline.init(project="mixed", reinit="create_new")
        run.log({"k": value, "n": 1})
        run.finish()
        ids.append(run.id)
    frame = trackline.Api().runs("mixed").histories(keys=["k", "n"], format=engine)
    if engine == "arrow":
        rows = frame.to_pylist()
    elif engine == "polars":
        rows = frame.to_dicts()
    else:
        rows = frame.to_dict("records")
    by_run = {r["run_id"]: r for r in rows}
    assert set(by_run) == set(ids)
    assert str(by_run[ids[1]]["k"]) == "text"
    assert float(by_run[ids[0]]["k"]) == 1.5  # kept as its text in arrow/polars, a number in pandas
    assert all(int(r["n"]) == 1 for r in rows)


def test_arrow_frames_with_nested_or_boolean_values_against_text() -> None:
    pa = pytest.importorskip("pyarrow")
    from trackline.api.frames import concat

    out = concat([pa.table({"k": [1.5, None]}), pa.table({"k": ["x"]}), pa.table({"k": [{"a": 1}]}),
                  pa.table({"k": [True]})], "arrow")
    assert out.column("k").to_pylist() == ["1.5", None, "x", '{"a": 1}', "true"]
    assert concat([pa.table({"k": [1]}), pa.table({"k": [2.5]})], "arrow").column("k").type == pa.float64()

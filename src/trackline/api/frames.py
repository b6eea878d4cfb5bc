"""History columns -> DataFrames (pandas, polars) or Arrow tables, without building rows.

Columns are named by their dotted metric names (``grads.layer1``), with ``_step`` first.
A missing value is NaN in pandas (as in W&B's ``history()``; an integer column with gaps
becomes float) and a null in polars and Arrow (integers stay integers).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trackline.api.history import Column, aligned

ENGINES = ("pandas", "polars", "arrow")


def _missing_module(engine: str, package: str) -> ImportError:
    return ImportError(
        f"engine={engine!r} needs the {package} package: pip install {package} "
        f"(or choose another engine: {', '.join(ENGINES)})"
    )


def check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")


def _object_array(values: list[Any]) -> list[Any]:
    """Arrow needs one type per column: mixed values are kept as their text."""
    kinds = {type(v) for v in values if v is not None}
    if len(kinds) <= 1 and not (kinds & {dict, list}):
        return values
    import json

    return [None if v is None else (v if isinstance(v, str) else json.dumps(v, default=str)) for v in values]


def to_arrow(steps: np.ndarray, cols: dict[str, Column], extra: dict[str, Any] | None = None) -> Any:
    try:
        import pyarrow as pa
    except ImportError:
        raise _missing_module("arrow", "pyarrow")
    arrays: dict[str, Any] = {}
    for name, value in (extra or {}).items():
        arrays[name] = pa.array([value] * len(steps))
    arrays["_step"] = pa.array(steps)
    for name in sorted(cols):
        if name == "_step":
            continue
        values, missing = aligned(steps, cols[name])
        if isinstance(values, np.ndarray):
            arrays[name] = pa.array(values, mask=missing)
        else:
            arrays[name] = pa.array(_object_array(list(values)))
    return pa.table(arrays)


def to_pandas(steps: np.ndarray, cols: dict[str, Column], extra: dict[str, Any] | None = None) -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise _missing_module("pandas", "pandas")
    data: dict[str, Any] = {}
    for name, value in (extra or {}).items():
        data[name] = [value] * len(steps)
    data["_step"] = steps
    for name in sorted(cols):
        if name == "_step":
            continue
        values, missing = aligned(steps, cols[name])
        if isinstance(values, np.ndarray) and missing is not None:
            values = values.astype(np.float64)
            values[missing] = np.nan
        data[name] = values
    return pd.DataFrame(data)


def to_polars(steps: np.ndarray, cols: dict[str, Column], extra: dict[str, Any] | None = None) -> Any:
    try:
        import polars as pl
    except ImportError:
        raise _missing_module("polars", "polars")
    return pl.from_arrow(to_arrow(steps, cols, extra))


def to_frame(
    steps: np.ndarray, cols: dict[str, Column], engine: str = "pandas", extra: dict[str, Any] | None = None
) -> Any:
    check_engine(engine)
    if engine == "pandas":
        return to_pandas(steps, cols, extra)
    if engine == "polars":
        return to_polars(steps, cols, extra)
    return to_arrow(steps, cols, extra)


def concat(frames: list[Any], engine: str) -> Any:
    """One long frame from per-run frames (columns missing in some runs are filled)."""
    check_engine(engine)
    if engine == "pandas":
        import pandas as pd

        frames = [f for f in frames if len(f)]
        return pd.concat(frames, ignore_index=True, sort=False) if frames else pd.DataFrame()
    if engine == "polars":
        import polars as pl

        return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
    import pyarrow as pa

    if not frames:
        return pa.table({})
    try:
        return pa.concat_tables(frames, promote_options="permissive")
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        # A key that is text in one run and numeric in another: its column becomes text
        # in every run (polars' "diagonal_relaxed" does the same).
        return pa.concat_tables(_text_where_types_differ(frames), promote_options="permissive")


def _text_where_types_differ(tables: list[Any]) -> list[Any]:
    import json

    import pyarrow as pa

    types: dict[str, set[Any]] = {}
    for t in tables:
        for field in t.schema:
            if not pa.types.is_null(field.type):
                types.setdefault(field.name, set()).add(field.type)
    mixed = {name for name, ts in types.items() if len(ts) > 1 and not all(_numeric(x) for x in ts)}
    out = []
    for t in tables:
        for name in mixed & set(t.column_names):
            col = t.column(name)
            if pa.types.is_string(col.type):
                continue
            if pa.types.is_integer(col.type) or pa.types.is_floating(col.type) or pa.types.is_boolean(col.type):
                text = col.cast(pa.string())
            else:  # lists, structs, bytes: their JSON text
                text = pa.array([None if v is None else json.dumps(v, default=str) for v in col.to_pylist()],
                                pa.string())
            t = t.set_column(t.column_names.index(name), name, text)
        out.append(t)
    return out


def _numeric(t: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_integer(t) or pa.types.is_floating(t))

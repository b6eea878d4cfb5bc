"""``Table`` (W&B: ``wandb.Table``): rows of typed columns, stored columnar as Parquet.

Beyond W&B: no row cap, and a table built from a DataFrame stays an Arrow table until
someone touches ``table.data``, so a million-row frame is written (and read back) in one
columnar pass. Column types are inferred from the first non-None value and enforced
(``allow_mixed_types=True`` lets a column hold several types). Media cells (``Image``,
``Audio``...) are written as run files and stored in the table as their JSON references.

Log modes (W&B's): ``IMMUTABLE`` (the first logged version is what every later ``log``
sends), ``MUTABLE`` (a change makes the next ``log`` write a new file), ``INCREMENTAL``
(each ``log`` writes only the rows added since the previous one).
"""

from __future__ import annotations

import io
import json
import numbers
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from trackline.data_types.base import Media, WBValue, full_typename, is_numpy_array, warn
from trackline.errors import Error

if TYPE_CHECKING:
    from trackline.data_types.binding import Binder

LOG_MODES = ("IMMUTABLE", "MUTABLE", "INCREMENTAL")
DEFAULT_COLUMNS = ["Input", "Output", "Expected"]
_PRIMITIVE = ("number", "string", "boolean")
META_KEY = b"trackline"


def type_of(value: Any) -> str:
    """The column type name of one cell."""
    if value is None:
        return "none"
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "boolean"
    if isinstance(value, numbers.Number):
        if isinstance(value, complex):
            return "object"
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, WBValue):
        return type(value)._log_type or "object"
    if isinstance(value, (list, tuple)) or is_numpy_array(value):
        return "list"
    return "object"


def _dtype_name(dtype: Any) -> str:
    """A ``dtype=`` / ``cast()`` argument -> a column type name."""
    if isinstance(dtype, str):
        return {"int": "number", "float": "number", "str": "string", "bool": "boolean"}.get(dtype, dtype)
    if dtype is bool:
        return "boolean"
    if dtype in (int, float):
        return "number"
    if dtype is str:
        return "string"
    if dtype in (list, tuple):
        return "list"
    if dtype is dict:
        return "object"
    if isinstance(dtype, type) and issubclass(dtype, WBValue):
        return dtype._log_type
    kind = getattr(dtype, "kind", None)
    if kind is None:
        try:
            import numpy as np

            kind = np.dtype(dtype).kind
        except TypeError:
            kind = None
    if kind in ("i", "u", "f"):
        return "number"
    if kind == "b":
        return "boolean"
    if kind in ("U", "S"):
        return "string"
    raise TypeError(f"dtype: cannot make a column type from {dtype!r}; use int, float, str, bool, list, dict or a data type")


def _accepts(col_type: str, cell_type: str) -> bool:
    return col_type in ("mixed", "unknown") or col_type == cell_type


def _arrow_type_name(arrow_type: Any) -> str:
    import pyarrow as pa

    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return "number"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "string"
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type) or pa.types.is_fixed_size_list(arrow_type):
        return "list"
    if pa.types.is_null(arrow_type):
        return "unknown"
    if pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type):
        return "timestamp"
    return "mixed"


def _plain(value: Any) -> Any:
    from trackline.sdk.values import to_plain

    if value is None or type(value) in (int, float, str, bool):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return float(value)
    if is_numpy_array(value):
        return _plain(value.tolist())
    return _plain(to_plain(value, "table"))


class Table(Media):
    """A table of rows (W&B: ``wandb.Table``).

    ``Table(columns=[...], data=[[...], ...])``, ``Table(dataframe=df)``, or empty then
    ``add_data(*row)``. No row limit.
    """

    SUBDIR = "media/table"
    MAX_ROWS: ClassVar[int | None] = None  # W&B caps at 10,000 / 200,000; trackline does not
    MAX_ARTIFACT_ROWS: ClassVar[int | None] = None
    _log_type = "table-file"

    def __init__(
        self,
        columns: Sequence[str | int] | None = None,
        data: Any = None,
        rows: Any = None,
        dataframe: Any = None,
        dtype: Any = None,
        optional: bool | Sequence[bool] = True,
        allow_mixed_types: bool = False,
        log_mode: str | None = "IMMUTABLE",
    ) -> None:
        super().__init__()
        log_mode = log_mode or "IMMUTABLE"
        if log_mode not in LOG_MODES:
            raise ValueError(f"Invalid log_mode: {log_mode}. Must be one of {list(LOG_MODES)}")
        self.log_mode = log_mode
        self._allow_mixed = bool(allow_mixed_types)
        self._rows: list[list[Any]] | None = []
        self._arrow: Any = None
        self._logged: tuple[bytes, int] | None = None  # (Parquet, rows) until a MUTABLE change
        self._mutated_after_log = False
        self._increment_num: int | None = None
        self._increment_start = 0
        self._previous_increments: list[str] = []
        self._incr_run: Any = None
        if data is None and rows is not None:
            data = rows
        if dataframe is None and _is_frame(data):
            dataframe, data = data, None
        if dataframe is not None:
            self._init_from_frame(dataframe, dtype, optional)
            return
        cols = list(DEFAULT_COLUMNS) if columns is None else columns
        if is_numpy_array(data):
            if data.ndim != 2:
                raise ValueError(f"data: a numpy array must be 2-D (rows x columns), got shape {list(data.shape)}")
            if columns is None:
                cols = list(range(data.shape[1])) if data.shape[1] != 3 else list(DEFAULT_COLUMNS)
            data = data.tolist()
        self._set_columns(cols)
        self._init_types(dtype, optional)
        if data is not None:
            if not isinstance(data, (list, tuple)):
                raise TypeError(f"data: expected a list of rows, a numpy array or a DataFrame, got {full_typename(data)}")
            for row in data:
                if not isinstance(row, (list, tuple)) and not is_numpy_array(row):
                    raise TypeError(f"data: every row must be a list, got {full_typename(row)}")
                self._append(list(row))

    # -- construction -------------------------------------------------------------------

    def _set_columns(self, columns: Any) -> None:
        if isinstance(columns, (str, bytes)) or not isinstance(columns, Sequence):
            raise TypeError("columns argument expects a `list` object")
        cols = list(columns)
        for c in cols:
            if type(c) not in (str, int):
                raise TypeError(f"columns argument expects list of strings or ints, got {c!r}")
        if len(set(cols)) != len(cols):
            raise ValueError(f"columns: names must be unique, got {cols}")
        self.columns: list[Any] = cols

    def _init_types(self, dtype: Any, optional: bool | Sequence[bool]) -> None:
        n = len(self.columns)
        if isinstance(optional, bool):
            self._optional = [optional] * n
        else:
            opts = list(optional)
            if len(opts) != n:
                raise ValueError(f"optional: expected {n} values (one per column), got {len(opts)}")
            self._optional = [bool(o) for o in opts]
        if dtype is None:
            self._types = ["unknown"] * n
        elif isinstance(dtype, (list, tuple)):
            if len(dtype) != n:
                raise ValueError(f"dtype: expected {n} types (one per column), got {len(dtype)}")
            self._types = ["unknown" if d is None else _dtype_name(d) for d in dtype]
        else:
            self._types = [_dtype_name(dtype)] * n

    def _init_from_frame(self, frame: Any, dtype: Any, optional: Any) -> None:
        mod = type(frame).__module__ or ""
        if mod.startswith("polars"):
            frame = frame.to_pandas()
        self._set_columns([c if type(c) in (str, int) else str(c) for c in frame.columns])
        self._init_types(dtype, optional)
        arrow = None
        if dtype is None:
            try:
                import pyarrow as pa

                arrow = pa.Table.from_pandas(frame, preserve_index=False)
            except Exception:
                arrow = None
        if arrow is not None:
            types = [_arrow_type_name(f.type) for f in arrow.schema]
            if "mixed" not in types:
                self._arrow = arrow.rename_columns([str(c) for c in self.columns])
                self._rows = None
                self._types = types
                return
        for row in frame.itertuples(index=False, name=None):
            self._append([_unbox(v) for v in row])

    # -- rows ---------------------------------------------------------------------------

    @property
    def data(self) -> list[list[Any]]:
        """The rows, as lists (W&B's attribute); built on first use for a DataFrame-backed table."""
        if self._rows is None:
            cols = [c.to_pylist() for c in self._arrow.columns]
            self._rows = [list(r) for r in zip(*cols, strict=False)] if cols else []
            self._arrow = None
        return self._rows

    @data.setter
    def data(self, rows: list[list[Any]]) -> None:
        self._rows = [list(r) for r in rows]
        self._arrow = None
        self._changed()

    @property
    def nrows(self) -> int:
        return self._arrow.num_rows if self._rows is None else len(self._rows)

    def _check_row(self, row: list[Any]) -> list[str]:
        if len(row) != len(self.columns):
            raise ValueError(f"This table expects {len(self.columns)} columns: {self.columns}, found {len(row)}")
        new = list(self._types)
        for i, v in enumerate(row):
            t = type_of(v)
            if t == "none":
                if not self._optional[i] and new[i] != "mixed":
                    raise TypeError(
                        f"Data row contained incompatible types:\ncolumn {self.columns[i]!r} is not optional "
                        "and got None"
                    )
                continue
            if new[i] == "unknown":
                new[i] = t
            elif not _accepts(new[i], t):
                if self._allow_mixed:
                    new[i] = "mixed"
                else:
                    raise TypeError(
                        f"Data row contained incompatible types:\ncolumn {self.columns[i]!r} holds {new[i]}, "
                        f"got {t} {v!r:.80}; use allow_mixed_types=True to allow both"
                    )
        return new

    def _append(self, row: list[Any]) -> None:
        self._types = self._check_row(row)
        self.data.append(row)

    def _changed(self) -> None:
        if self.log_mode == "MUTABLE":
            self._logged = None
        elif self.log_mode == "IMMUTABLE" and self._logged is not None and not self._mutated_after_log:
            self._mutated_after_log = True
            warn(
                "You are mutating a Table with log_mode='IMMUTABLE' that has been logged already. "
                "Subsequent log() calls will have no effect. Set log_mode='MUTABLE' to enable "
                "re-logging after mutations"
            )

    def add_data(self, *data: Any) -> None:
        """Add one row: ``table.add_data(a, b, c)``."""
        self._changed()
        self._append(list(data))

    add_row = add_data

    def _not_incremental(self, method: str) -> None:
        if self.log_mode == "INCREMENTAL":
            raise Error(
                f"Operation '{method}' is not supported for tables with log_mode='INCREMENTAL'. "
                "Use a different log mode like 'MUTABLE' or 'IMMUTABLE'."
            )

    def add_column(self, name: str | int, data: Any, optional: bool = False) -> None:
        """Add a column of values, one per existing row."""
        self._not_incremental("add_column")
        if type(name) not in (str, int):
            raise TypeError(f"add_column: name must be a string, got {name!r}")
        if name in self.columns:
            raise ValueError(f"add_column: the table already has a column named {name!r}")
        if is_numpy_array(data):
            data = list(data)
        if not isinstance(data, (list, tuple)):
            raise TypeError(f"add_column: data must be a list or a numpy array, got {full_typename(data)}")
        rows = self.data
        if self.columns and len(data) != len(rows):
            raise ValueError(f"add_column: the table has {len(rows)} rows, but data has {len(data)} values")
        col_type = "unknown"
        for v in data:
            t = type_of(v)
            if t == "none":
                if not optional:
                    raise TypeError(f"add_column: column {name!r} is not optional and got None")
                continue
            if col_type == "unknown":
                col_type = t
            elif not _accepts(col_type, t):
                if not self._allow_mixed:
                    raise TypeError(f"add_column: column {name!r} holds {col_type}, got {t} {v!r:.80}")
                col_type = "mixed"
        self._changed()
        if not self.columns:
            self._rows = [[v] for v in data]
        else:
            for row, v in zip(rows, data, strict=False):
                row.append(v)
        self.columns.append(name)
        self._types.append(col_type)
        self._optional.append(bool(optional))

    def add_computed_columns(self, fn: Callable[[int, dict[Any, Any]], dict[Any, Any]]) -> None:
        """Add columns computed per row: ``fn(index, row_dict) -> {new column: value}``."""
        self._not_incremental("add_computed_columns")
        new_cols: dict[Any, list[Any]] = {}
        for ndx, row in self.iterrows():
            res = fn(ndx, dict(zip(self.columns, row, strict=False)))
            for k, v in res.items():
                new_cols.setdefault(k, []).append(v)
        for k, vals in new_cols.items():
            self.add_column(k, vals, optional=True)

    def _col_index(self, name: Any, where: str) -> int:
        try:
            return self.columns.index(name)
        except ValueError:
            raise ValueError(f"{where}: no column named {name!r}; the columns are {self.columns}") from None

    def get_column(self, name: str | int, convert_to: str | None = None) -> Any:
        """One column's values (``convert_to="numpy"`` gives an array)."""
        if convert_to not in (None, "numpy"):
            raise ValueError(f"get_column: convert_to must be None or 'numpy', got {convert_to!r}")
        i = self._col_index(name, "get_column")
        if self._rows is None:
            col = self._arrow.column(i)
            if convert_to == "numpy":
                return col.to_numpy(zero_copy_only=False)
            return col.to_pylist()
        values = [row[i] for row in self._rows]
        if convert_to == "numpy":
            import numpy as np

            return np.array([v.to_data_array() if hasattr(v, "to_data_array") else v for v in values])
        return values

    def get_index(self) -> list[int]:
        """The row indexes (0..n-1)."""
        return list(range(self.nrows))

    def get_dataframe(self) -> Any:
        """The table as a pandas DataFrame."""
        import pandas as pd

        if self._rows is None:
            frame = self._arrow.to_pandas()
            frame.columns = list(self.columns)
            return frame
        return pd.DataFrame.from_records(self._rows, columns=self.columns)

    def iterrows(self) -> Iterator[tuple[int, list[Any]]]:
        """``(index, row)`` for every row."""
        yield from enumerate(self.data)

    def cast(self, col_name: str | int, dtype: Any, optional: bool = False) -> None:
        """Fix a column's type; existing values must fit it."""
        i = self._col_index(col_name, "cast")
        want = _dtype_name(dtype)
        for v in self.get_column(col_name):
            t = type_of(v)
            if t == "none":
                if not optional:
                    raise TypeError(f"Existing data {v}, of type none cannot be cast to {want} (optional=False)")
                continue
            if want not in ("mixed", t):
                raise TypeError(f"Existing data {v!r:.80}, of type {t} cannot be cast to {want}")
        self._changed()
        self._types[i] = want
        self._optional[i] = bool(optional)

    @property
    def column_types(self) -> dict[str, str]:
        return {str(c): t for c, t in zip(self.columns, self._types, strict=False)}

    def __len__(self) -> int:
        return self.nrows

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Table) and self.columns == other.columns and self.data == other.data

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<Table {self.nrows} rows x {len(self.columns)} columns>"

    # -- serialisation ------------------------------------------------------------------

    def _arrow_table(self, binder: Binder | None, key: str, step: int | str, start: int = 0) -> Any:
        import pyarrow as pa

        names = [str(c) for c in self.columns]
        json_cols: list[str] = []
        if self._rows is None:
            table = self._arrow if start == 0 else self._arrow.slice(start)
        else:
            rows = self._rows[start:]
            columns = list(zip(*rows, strict=False)) if rows else [() for _ in names]
            arrays = []
            for name, col_type, values in zip(names, self._types, columns, strict=False):
                arr = None
                if col_type in _PRIMITIVE or col_type == "unknown":
                    try:
                        arr = pa.array(values, type=pa.null() if col_type == "unknown" else None)
                    except (pa.ArrowException, TypeError, ValueError):
                        arr = None
                if arr is None:
                    arr = pa.array([self._cell_json(binder, key, step, v) for v in values], type=pa.string())
                    json_cols.append(name)
                arrays.append(arr)
            table = pa.Table.from_arrays(arrays, names=names)
        meta = {
            "columns": list(self.columns),
            "column_types": self.column_types,
            "json_columns": json_cols,
            "log_mode": self.log_mode,
        }
        return table.replace_schema_metadata({META_KEY: json.dumps(meta).encode()})

    @staticmethod
    def _cell_json(binder: Binder | None, key: str, step: int | str, value: Any) -> str | None:
        if value is None:
            return None
        if binder is not None:
            from trackline.data_types.binding import convert

            value = convert(binder, key, value, step)
        elif isinstance(value, WBValue):
            value = value.to_json()
        return json.dumps(_plain(value), separators=(",", ":"), allow_nan=True)

    def _serialize(self, binder: Binder | None, key: str, step: int | str, start: int = 0) -> bytes:
        import pyarrow.parquet as pq

        buf = io.BytesIO()
        pq.write_table(self._arrow_table(binder, key, step, start), buf, compression="zstd")
        return buf.getvalue()

    def to_parquet_bytes(self) -> bytes:
        """The table as Parquet (media cells need the table to have been logged)."""
        return self._serialize(None, "", 0)

    @classmethod
    def seq_to_json(cls, seq: Sequence[Media], binder: Binder, key: str, step: int | str) -> Any:
        """A list of tables stays a list of table references, each kept for its artifact."""
        return [binder.table(key, t, step) for t in seq if isinstance(t, Table)]

    def _bind_json(self, binder: Binder, key: str, step: int | str) -> dict[str, Any]:
        if self.log_mode == "INCREMENTAL":
            return self._bind_increment(binder, key, step)
        if self._logged is not None:
            payload, nrows = self._logged
        else:
            payload, nrows = self._serialize(binder, key, step), self.nrows
            self._logged = (payload, nrows)
        self._set_bytes(payload, ".table.parquet")
        self._bind(binder, key, step)
        return self._ref_json(nrows=nrows)

    def _bind_increment(self, binder: Binder, key: str, step: int | str) -> dict[str, Any]:
        if self._incr_run is None:
            self._incr_run = binder.run
        elif self._incr_run is not binder.run:
            raise Error("An incremental Table can only be logged to one Run.")
        if self._increment_num is not None and self._path is not None:
            self._previous_increments.append(self._path)
        self._increment_num = 0 if self._increment_num is None else self._increment_num + 1
        if self._increment_num > 99:
            binder.run._warn(
                "You have exceeded 100 increments for this table. Only the latest 100 increments will "
                "be visualized in the run workspace.",
                once_key=f"table-increments:{key}",
            )
        start = self._increment_start
        payload = self._serialize(binder, key, step, start)
        self._increment_start = self.nrows
        self._set_bytes(payload, ".table.parquet")
        self._bind(binder, key, step)
        out = self._ref_json(nrows=self.nrows - start)
        out["_type"] = "incremental-table-file"
        out["increment_num"] = self._increment_num
        out["previous_increments_paths"] = list(self._previous_increments)
        return out

    def _ref_json(self, nrows: int | None = None) -> dict[str, Any]:
        out = super()._ref_json()
        out["ncols"] = len(self.columns)
        out["nrows"] = self.nrows if nrows is None else nrows
        out["log_mode"] = self.log_mode
        out["format"] = "parquet"
        return out

    # -- reading ------------------------------------------------------------------------

    @classmethod
    def from_parquet(cls, source: Any) -> Table:
        """A table from Parquet bytes, a path or a file object (media cells stay JSON references)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if isinstance(source, (bytes, bytearray)):
            source = pa.BufferReader(source)
        arrow = pq.read_table(source)
        meta_raw = (arrow.schema.metadata or {}).get(META_KEY)
        meta = json.loads(meta_raw) if meta_raw else {}
        columns = meta.get("columns") or arrow.column_names
        json_cols = set(meta.get("json_columns") or [])
        out = cls.__new__(cls)
        Media.__init__(out)
        out.log_mode = meta.get("log_mode", "IMMUTABLE")
        out._allow_mixed = True
        out._logged = None
        out._mutated_after_log = False
        out._increment_num = None
        out._increment_start = 0
        out._previous_increments = []
        out._incr_run = None
        out.columns = list(columns)
        types = meta.get("column_types") or {}
        out._types = [types.get(str(c), _arrow_type_name(arrow.schema.field(i).type)) for i, c in enumerate(columns)]
        out._optional = [True] * len(columns)
        arrow = arrow.replace_schema_metadata(None)
        if json_cols:
            out._rows = None
            out._arrow = arrow
            rows = out.data
            idx = [i for i, c in enumerate(arrow.column_names) if c in json_cols]
            for row in rows:
                for i in idx:
                    if row[i] is not None:
                        row[i] = json.loads(row[i])
        else:
            out._rows = None
            out._arrow = arrow
        return out

    @classmethod
    def concat(cls, parts: Sequence[Table]) -> Table:
        """Increments of an INCREMENTAL table, in order, as one table."""
        if not parts:
            return cls(columns=[])
        first = parts[0]
        out = cls(columns=list(first.columns), allow_mixed_types=True, log_mode=first.log_mode)
        for p in parts:
            for row in p.data:
                out._rows.append(list(row))  # type: ignore[union-attr]
        out._types = list(first._types)
        return out


def _is_frame(value: Any) -> bool:
    t = type(value)
    return t.__name__ == "DataFrame" and (t.__module__ or "").startswith(("pandas", "polars"))


def _unbox(value: Any) -> Any:
    """numpy scalars from a DataFrame row -> Python values (NaN stays a float)."""
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return value.item()
    return value

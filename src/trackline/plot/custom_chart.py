"""``CustomChart``: a table plus a Vega spec name (W&B: ``wandb.plot.CustomChart``).

Logging ``{"key": chart}`` stores the table in history as ``<key>_table`` (or
``Custom Chart Tables/<key>_table`` with ``split_table``) and the panel definition in the
run config under ``_wandb.visualize.<key>``, as W&B does; the UI draws it from the table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from trackline.data_types.base import MediaNeedsRun, WBValue
from trackline.data_types.table import Table
from trackline.errors import Error

if TYPE_CHECKING:
    from trackline.data_types.binding import Binder


class CustomChart(WBValue):
    """What every ``trackline.plot.*`` function returns."""

    _log_type = "custom-chart"

    def __init__(
        self,
        table: Table,
        spec_name: str,
        fields: Mapping[str, Any],
        string_fields: Mapping[str, Any] | None = None,
        split_table: bool = False,
    ) -> None:
        if not isinstance(table, Table):
            raise Error(f"Expected `data_table` to be `trackline.Table` type, instead got {type(table).__name__}")
        self.table = table
        self.spec_name = spec_name
        self.fields = dict(fields)
        self.string_fields = dict(string_fields or {})
        self.split_table = split_table

    def table_key(self, key: str) -> str:
        return f"Custom Chart Tables/{key}_table" if self.split_table else f"{key}_table"

    def config_value(self, table_key: str) -> dict[str, Any]:
        return {
            "panel_type": "Vega2",
            "panel_config": {
                "panelDefId": self.spec_name,
                "fieldSettings": self.fields,
                "stringSettings": self.string_fields,
                "transform": {"name": "tableWithLeafColNames"},
                "userQuery": {
                    "queryFields": [
                        {
                            "name": "runSets",
                            "args": [{"name": "runSets", "value": "${runSets}"}],
                            "fields": [
                                {"name": "id", "fields": []},
                                {"name": "name", "fields": []},
                                {"name": "_defaultColorIndex", "fields": []},
                                {"name": "summaryTable", "args": [{"name": "tableKey", "value": table_key}], "fields": []},
                            ],
                        }
                    ]
                },
            },
        }

    def to_json(self, run: Any = None) -> dict[str, Any]:
        raise MediaNeedsRun("a trackline.plot chart is logged with run.log({key: chart}) at the top level")

    def _bind_json(self, binder: Binder, key: str, step: int | str) -> dict[str, Any]:
        raise ValueError("a trackline.plot chart must be logged at the top level of log(), not inside a dict or list")

    def __repr__(self) -> str:
        return f"<CustomChart {self.spec_name} ({self.table.nrows} rows)>"

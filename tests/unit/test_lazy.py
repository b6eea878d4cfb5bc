"""``trackline.lazy`` and the lazily loaded ``trackline.api`` package."""

from __future__ import annotations

import subprocess
import sys
import types
from typing import Any

import pytest

from tests.conftest import PYTHON
from trackline.lazy import LazyModule


def test_the_first_attribute_imports_the_module_and_puts_it_in_place() -> None:
    space: dict[str, Any] = {}
    space["j"] = LazyModule("json", space, "j")
    assert "imported when first used" in repr(space["j"])
    assert space["j"].dumps([1]) == "[1]"
    assert isinstance(space["j"], types.ModuleType) and space["j"] is sys.modules["json"]


def test_a_missing_module_fails_where_it_is_used() -> None:
    space: dict[str, Any] = {}
    space["m"] = LazyModule("trackline_no_such_module", space, "m")
    with pytest.raises(ModuleNotFoundError, match="trackline_no_such_module"):
        _ = space["m"].anything


def test_every_name_of_the_api_package_resolves() -> None:
    import trackline.api as api

    for name in api.__all__:
        assert getattr(api, name) is not None, name
    assert api.PublicRun is api.Run and "Run" in dir(api)
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = api.no_such_name  # type: ignore[attr-defined]


def test_the_api_class_alone_loads_without_numpy() -> None:
    """Paths and settings (what ``trackline export`` needs before it reads pages) come
    without the query API's objects, numpy among their imports."""
    code = ("import sys; from trackline.api.api import Api; Api()._parse_project('e/p'); "
            "print('numpy' in sys.modules, 'trackline.api.public_run' in sys.modules)")
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["False", "False"]

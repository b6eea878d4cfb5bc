"""run.log(): values, conversions, bad input, late steps, calls after finish."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pytest

import trackline
from trackline.errors import StepOrderError, UsageError
from trackline.records import codec, kinds
from trackline.records.frames import read_all


def history_records(run: trackline.Run) -> list[list]:
    _, frames, _ = read_all(run.settings.sync_file)
    return [r for r in (codec.decode(f.payload) for f in frames) if r[0] == kinds.HISTORY]


def test_log_writes_a_record_before_returning() -> None:
    run = trackline.init(project="p", mode="offline")
    run.log({"a": 1})
    recs = history_records(run)
    assert recs[-1][1] == {"a": 1}
    run.finish()


def test_values_are_converted_per_wandb_table() -> None:
    run = trackline.init(project="p", mode="offline")
    run.log(
        {
            "np_scalar": np.float32(0.5),
            "np_int": np.int64(3),
            "one": np.array([7.0]),
            "small": np.arange(4),
            "big": np.arange(100, dtype=np.float64),
            "nan": float("nan"),
            "inf": float("-inf"),
            "nested": {"x": np.float64(1.5)},
        }
    )
    data = history_records(run)[-1][1]
    assert data["np_scalar"] == 0.5 and data["np_int"] == 3 and data["one"] == 7.0
    assert data["small"] == [0, 1, 2, 3]
    assert data["big"]["_type"] == "histogram" and len(data["big"]["values"]) == 32
    assert math.isnan(data["nan"]) and data["inf"] == -math.inf
    assert data["nested"] == {"x": 1.5}
    run.finish()


def test_torch_values_follow_the_numpy_rules() -> None:
    torch = pytest.importorskip("torch")
    run = trackline.init(project="p", mode="offline")
    run.log({"t0": torch.tensor(2.5), "t": torch.arange(3), "big": torch.randn(64)})
    data = history_records(run)[-1][1]
    assert data["t0"] == 2.5 and data["t"] == [0, 1, 2] and data["big"]["_type"] == "histogram"
    run.finish()


def test_non_dict_and_non_str_keys_raise_wandb_errors() -> None:
    run = trackline.init(project="p", mode="offline")
    with pytest.raises(TypeError, match="must be passed a dictionary"):
        run.log([1, 2])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be strings"):
        run.log({1: 2})  # type: ignore[dict-item]
    run.finish()


def test_unserializable_value_is_dropped_with_one_warning_naming_the_key(caplog: pytest.LogCaptureFixture) -> None:
    class Opaque:
        pass

    run = trackline.init(project="p", mode="offline")
    with caplog.at_level(logging.WARNING, logger="trackline"):
        run.log({"good": 1, "bad": Opaque(), "deep": {"ok": 2, "worse": Opaque()}})
        run.log({"good": 2, "bad": Opaque()})
    data = [r[1] for r in history_records(run)]
    assert data[0] == {"good": 1, "deep": {"ok": 2}}
    assert data[1] == {"good": 2}
    warnings = [r.getMessage() for r in caplog.records if "Dropped" in r.getMessage()]
    assert len([w for w in warnings if "'bad'" in w]) == 1
    assert any("'deep.worse'" in w for w in warnings)
    run.finish()


def test_huge_strings_deep_nesting_nul_and_unicode_keys_round_trip(store_path: Path) -> None:
    run = trackline.init(project="p")
    deep: dict = {"leaf": 1}
    for _ in range(40):
        deep = {"d": deep}
    run.log({"big": "x" * 2_000_000, "deep": deep, "nul\x00key": 1.0, "ключ/μ": 2.0})
    run.finish()
    api_run = trackline.Api().run(run.path)
    row = next(api_run.scan_history())
    assert len(row["big"]) == 2_000_000
    assert row["nul\x00key"] == 1.0 and row["ключ/μ"] == 2.0
    node = row["deep"]
    for _ in range(40):
        node = node["d"]
    assert node == {"leaf": 1}


def test_absurdly_deep_nesting_is_dropped_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    run = trackline.init(project="p", mode="offline")
    deep: dict = {}
    node = deep
    for _ in range(5000):
        node["d"] = {}
        node = node["d"]
    with caplog.at_level(logging.WARNING, logger="trackline"):
        run.log({"ok": 1, "deep": deep})
    assert history_records(run)[-1][1]["ok"] == 1
    run.finish()


def test_late_step_is_kept_warned_once_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    run = trackline.init(project="p")
    with caplog.at_level(logging.WARNING, logger="trackline"):
        run.log({"a": 1}, step=5)
        run.log({"a": 2}, step=2)
        run.log({"a": 3}, step=1)
    assert run.late_steps == 2
    assert sum("less than the current step" in r.getMessage() for r in caplog.records) == 1
    run.finish()
    rows = {r["_step"]: r["a"] for r in trackline.Api().run(run.path).scan_history(keys=["a"])}
    assert rows == {1: 3, 2: 2, 5: 1}


def test_strict_steps_raises() -> None:
    run = trackline.init(project="p", mode="offline", settings=trackline.Settings(strict_steps=True))
    run.log({"a": 1}, step=5)
    with pytest.raises(StepOrderError, match="less than the current step 5"):
        run.log({"a": 1}, step=1)
    run.finish()


def test_step_property_follows_the_rules() -> None:
    run = trackline.init(project="p", mode="offline")
    run.log({"x": 1})
    run.log({"x": 1}, step=3)
    assert run.step == 3
    run.log({"x": 1}, commit=True)
    assert run.step == 4
    run.log({"x": 1}, commit=False)
    assert run.step == 4
    with pytest.raises(TypeError, match="step must be an int"):
        run.log({"x": 1}, step="7")  # type: ignore[arg-type]
    run.log({"x": 1}, step=np.int64(9))
    assert run.step == 9
    run.finish()


def test_calls_after_finish_raise_usage_error() -> None:
    run = trackline.init(project="p", mode="offline")
    run.finish()
    run.finish()  # silently fine
    with pytest.raises(UsageError, match=r"Run \(.*\) is finished. The call to `log` will be ignored"):
        run.log({"a": 1})
    with pytest.raises(UsageError, match="is finished"):
        run.config.x = 1
    with pytest.raises(UsageError, match="is finished"):
        run.summary["x"] = 1
    with pytest.raises(UsageError, match="is finished"):
        run.define_metric("x")


def test_a_big_array_is_numpys_32_bin_histogram_of_its_finite_values() -> None:
    from trackline.sdk.values import histogram_json

    x = np.random.default_rng(3).normal(size=200_000)
    x[::1000] = np.nan
    x[5] = np.inf
    counts, edges = np.histogram(x[np.isfinite(x)], bins=32)
    h = histogram_json(x, 32)
    assert h["values"] == counts.tolist() and h["bins"] == edges.tolist()
    assert histogram_json(np.full(40, np.nan), 32) == {"_type": "histogram", "values": [], "bins": []}


def test_arrays_numpy_cannot_bin_still_log_every_value() -> None:
    """W&B's log fails on these (numpy.histogram raises); they used to become empty histograms."""
    from trackline.sdk.values import histogram_json

    cases = {
        "diverged": np.array([-1e308, 1e308] * 20),  # max - min overflows float64
        "diverged32": np.array([-3e38, 3e38] * 20, dtype=np.float32),  # ... and float32
        "ulp32": np.array([1.0, np.nextafter(np.float32(1), np.float32(2))] * 20, dtype=np.float32),
        "ulp": np.array([1.0, np.nextafter(1.0, 2.0)] * 20),  # no two bins fit in one ulp
    }
    for name, x in cases.items():
        h = histogram_json(x, 32)
        assert sum(h["values"]) == x.size, name
        assert h["bins"][0] == float(x.min()) and h["bins"][-1] == float(x.max()), name
        assert all(a < b for a, b in zip(h["bins"], h["bins"][1:], strict=False)), name
    assert len(histogram_json(cases["diverged"], 32)["values"]) == 32
    assert histogram_json(cases["diverged"], 32)["values"][0] == 20
    assert len(histogram_json(cases["ulp32"], 32)["values"]) == 32  # float64 edges fit 32 bins
    assert len(histogram_json(cases["ulp"], 32)["values"]) == 1


def test_a_float32_array_is_binned_in_float32_edges_as_w_and_b_does() -> None:
    from trackline.sdk.values import to_plain

    x = np.random.default_rng(4).normal(size=(300, 70)).astype(np.float32)  # a weight matrix
    counts, edges = np.histogram(x, bins=32)  # W&B: Histogram(x, num_bins=32) on the array as is
    assert edges.dtype == np.float32
    assert to_plain(x) == {"_type": "histogram", "values": counts.tolist(), "bins": edges.tolist()}
    assert to_plain(x.astype(np.int32))["bins"] == np.histogram(x.astype(np.int32), bins=32)[1].tolist()

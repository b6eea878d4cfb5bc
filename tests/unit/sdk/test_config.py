"""run.config: W&B's access, update, locking and source rules; every change is a record."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import pytest

import trackline
from trackline.errors import ConfigError
from trackline.records import codec, kinds
from trackline.records.frames import read_all


def config_records(run) -> list:
    _, frames, _ = read_all(run.settings.sync_file)
    return [r[1] for r in (codec.decode(f.payload) for f in frames) if r[0] == kinds.CONFIG]


def test_access_and_update() -> None:
    run = trackline.init(project="p", mode="offline", config={"lr": 0.1, "--batch": 32})
    cfg = run.config
    assert cfg.lr == 0.1 and cfg["batch"] == 32 and cfg.get("nope", 5) == 5
    cfg.epochs = 3
    cfg["wd"] = 0.01
    cfg.update({"opt": "adam"})
    cfg.setdefaults({"opt": "sgd", "momentum": 0.9})
    assert cfg.opt == "adam" and cfg.momentum == 0.9
    with pytest.raises(AttributeError):
        _ = cfg.missing
    with pytest.raises(KeyError):
        _ = cfg["missing"]
    assert set(cfg.keys()) == {"lr", "batch", "epochs", "wd", "opt", "momentum"}
    assert config_records(run) == [{"epochs": 3}, {"wd": 0.01}, {"opt": "adam"}, {"momentum": 0.9}]
    run.finish()


def test_changing_a_value_needs_allow_val_change() -> None:
    run = trackline.init(project="p", mode="offline", config={"lr": 0.1})
    run.config.lr = 0.1  # same value: fine
    with pytest.raises(ConfigError, match=r'Attempted to change value of key "lr" from 0\.1 to 0\.2'):
        run.config.lr = 0.2
    run.config.update({"lr": 0.2}, allow_val_change=True)
    assert run.config.lr == 0.2
    run.finish()


def test_an_update_that_raises_changes_nothing() -> None:
    # As W&B: every key is checked before any is set, so the local config and the record log agree.
    run = trackline.init(project="p", mode="offline", config={"lr": 0.1})
    with pytest.raises(ConfigError, match='key "lr"'):
        run.config.update({"batch": 32, "lr": 0.5})
    assert "batch" not in run.config and run.config.lr == 0.1
    assert config_records(run) == []
    run.finish()


def test_values_are_made_json_friendly() -> None:
    @dataclasses.dataclass
    class Opt:
        name: str = "adam"
        betas: tuple = (0.9, 0.99)

    class Thing:
        def __str__(self) -> str:
            return "thing!"

    run = trackline.init(project="p", mode="offline")
    run.config.update({"np": np.float32(0.5), "arr": np.arange(3), "opt": Opt(), "obj": Thing(), "sl": slice(1, 5, 2)})
    assert run.config.np == 0.5 and run.config.arr == [0, 1, 2]
    assert run.config.opt == {"name": "adam", "betas": [0.9, 0.99]}
    assert run.config.obj == "thing!"
    assert run.config.sl == {"slice_start": 1, "slice_step": 2, "slice_stop": 5}
    run.finish()


def test_sources_namespace_yaml_and_defaults_file(isolated: Path) -> None:
    Path("config-defaults.yaml").write_text("wandb_version: 1\nlr:\n  value: 0.5\n  desc: learning rate\nbs:\n  value: 8\n")
    Path("extra.yaml").write_text("epochs:\n  value: 4\n")
    ns = argparse.Namespace(lr=0.01, layers=2)
    run = trackline.init(project="p", mode="offline", config=ns)
    assert run.config.lr == 0.01 and run.config.bs == 8 and run.config.layers == 2
    run.config.update("extra.yaml")
    assert run.config.epochs == 4
    run.finish()
    with pytest.raises(TypeError, match="config must be a dict or have a __dict__ attribute"):
        trackline.init(project="p", mode="offline", config=42)


def test_config_file_with_unknown_version_is_an_error(isolated: Path) -> None:
    Path("c.yaml").write_text("wandb_version: 2\nlr:\n  value: 1\n")
    with pytest.raises(ConfigError, match="wandb_version"):
        trackline.init(project="p", mode="offline", config="c.yaml")


def test_locked_keys_ignore_user_writes(caplog: pytest.LogCaptureFixture) -> None:
    run = trackline.init(project="p", mode="offline")
    run.config.update_locked({"lr": 0.3}, user="sweep")
    run.config.update({"lr": 0.9, "other": 1})
    assert run.config.lr == 0.3 and run.config.other == 1
    assert any("was locked by 'sweep' (ignored update)" in r.getMessage() for r in caplog.records)
    run.finish()


def test_config_static_is_read_only() -> None:
    run = trackline.init(project="p", mode="offline", config={"a": 1})
    static = run.config_static
    assert static.a == 1 and static["a"] == 1
    with pytest.raises(AttributeError):
        static.a = 2
    with pytest.raises(AttributeError):
        static["a"] = 2
    run.finish()


def test_media_cannot_go_into_the_config() -> None:
    class FakeMedia:
        _trackline_value = True

    run = trackline.init(project="p", mode="offline")
    with pytest.raises(TypeError, match="cannot be added to the run config"):
        run.config.update({"img": FakeMedia()})
    run.finish()


def test_config_reaches_the_store() -> None:
    run = trackline.init(project="p", config={"lr": 0.1})
    run.config.update({"bs": 4})
    run.finish()
    assert trackline.Api().run(run.path).config == {"lr": 0.1, "bs": 4}

"""``run.config``: W&B's Config, where every change is a record."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from trackline.errors import ConfigError, UsageError
from trackline.sdk.values import json_friendly

CONFIG_DEFAULTS_FILE = "config-defaults.yaml"
ARTIFACT_URI = "wandb-artifact://"


def _clean_key(key: Any) -> str:
    if not isinstance(key, str):
        key = str(key)
    return key.strip("-")


def config_from_yaml(path: str) -> dict[str, Any]:
    """Read W&B's config YAML: ``key: {value: v, desc: ...}`` (plain values accepted too)."""
    import yaml

    with open(path) as f:
        loaded = yaml.safe_load(f)
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: a config file must be a mapping of keys to {{value: ...}}")
    version = loaded.pop("wandb_version", None)
    if version is not None and version != 1:
        raise ConfigError(f"{path}: unknown wandb_version {version!r} (only 1 is supported)")
    out: dict[str, Any] = {}
    for key, value in loaded.items():
        if key == "_wandb":
            continue
        if isinstance(value, dict) and "value" in value:
            out[str(key)] = value["value"]
        else:
            out[str(key)] = value
    return out


def config_source_to_dict(source: Any) -> dict[str, Any]:
    """A dict, argparse Namespace, absl FLAGS, YAML path or object with ``__dict__``."""
    if source is None:
        return {}
    if isinstance(source, Mapping):
        return dict(source)
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not os.path.isfile(path):
            raise ConfigError(f"config file {path!r} does not exist")
        return config_from_yaml(path)
    if hasattr(source, "flag_values_dict"):  # absl.flags.FLAGS
        return dict(source.flag_values_dict())
    if type(source).__name__ == "FlagValues" or "absl" in (type(source).__module__ or ""):
        return {name: source[name].value for name in source}
    if hasattr(source, "__dict__"):
        return {k: v for k, v in vars(source).items() if not k.startswith("__")}
    raise TypeError("config must be a dict or have a __dict__ attribute.")


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class Config:
    """Run configuration (W&B: ``wandb.Config``): attribute and item access.

    Changing a key to a different value raises ConfigError unless
    ``update(..., allow_val_change=True)`` (or in a notebook). Keys locked by a sweep
    ignore later writes with a warning.
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_items", {})
        object.__setattr__(self, "_locked", {})
        object.__setattr__(self, "_callback", None)
        object.__setattr__(self, "_warn", None)
        object.__setattr__(self, "_check_open", None)
        object.__setattr__(self, "_use_artifact", None)

    _items: dict[str, Any]
    _locked: dict[str, str]
    _callback: Callable[[dict[str, Any]], None] | None
    _warn: Callable[[str], None] | None
    _check_open: Callable[[str], None] | None
    # (key, artifact representation) -> (what config[key] returns, the JSON recorded)
    _use_artifact: Callable[[str, Any], tuple[Any, dict[str, Any]]] | None

    def _bind(
        self,
        callback: Callable[[dict[str, Any]], None],
        warn: Callable[[str], None],
        check_open: Callable[[str], None],
        use_artifact: Callable[[str, Any], tuple[Any, dict[str, Any]]] | None = None,
    ) -> None:
        object.__setattr__(self, "_callback", callback)
        object.__setattr__(self, "_warn", warn)
        object.__setattr__(self, "_check_open", check_open)
        object.__setattr__(self, "_use_artifact", use_artifact)

    # -- reads ---------------------------------------------------------------------------

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        try:
            return self._items[key]
        except KeyError:
            raise AttributeError(f"config has no key {key!r}") from None

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._items.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> list[str]:
        return [k for k in self._items if not k.startswith("_")]

    def values(self) -> list[Any]:
        return [v for k, v in self._items.items() if not k.startswith("_")]

    def items(self) -> list[tuple[str, Any]]:
        return [(k, v) for k, v in self._items.items() if not k.startswith("_")]

    def as_dict(self) -> dict[str, Any]:
        return dict(self._items)

    def __repr__(self) -> str:
        return f"Config({self._items!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Config):
            return self._items == other._items
        if isinstance(other, Mapping):
            return self._items == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    # -- writes --------------------------------------------------------------------------

    def __setattr__(self, key: str, value: Any) -> None:
        self._apply({key: value}, allow_val_change=False, source="setattr")

    def __setitem__(self, key: str, value: Any) -> None:
        self._apply({key: value}, allow_val_change=False, source="setitem")

    def update(self, d: Any, allow_val_change: bool | None = None) -> None:
        self._apply(config_source_to_dict(d), allow_val_change=allow_val_change, source="update")

    def setdefaults(self, d: Any) -> None:
        src = config_source_to_dict(d)
        missing = {k: v for k, v in src.items() if _clean_key(k) not in self._items}
        self._apply(missing, allow_val_change=False, source="setdefaults")

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self._items:
            self[key] = default
        return self._items[key]

    def persist(self) -> None:
        """Write the whole config again (W&B: resend it)."""
        if self._callback is not None:
            self._callback({k: _artifact_json(v) for k, v in self._items.items()})

    def update_locked(self, d: Mapping[str, Any], user: str = "sweep") -> None:
        """Set keys on behalf of a sweep or launch; later user writes to them are ignored."""
        changed = {}
        for key, value in d.items():
            k = _clean_key(key)
            self._locked[k] = user
            v = json_friendly(value)
            self._items[k] = v
            changed[k] = v
        if changed and self._callback is not None:
            self._callback(changed)

    merge_locked = update_locked

    def _apply(self, d: Mapping[str, Any], allow_val_change: bool | None, source: str) -> None:
        """Check every key, then set them all (as W&B: a call that raises changes nothing)."""
        if self._check_open is not None:
            self._check_open("config." + source)
        allow = bool(allow_val_change) or (allow_val_change is None and _in_notebook())
        values: dict[str, Any] = {}
        artifacts: dict[str, Any] = {}
        for key, value in d.items():
            k = _clean_key(key)
            _reject_media(k, value)
            if k in self._locked:
                if self._warn is not None:
                    self._warn(f"Config item '{k}' was locked by '{self._locked[k]}' (ignored update).")
                continue
            if self._use_artifact is not None and is_artifact_value(value):
                artifacts[k] = value  # used below, once every key has passed its checks
                continue
            _reject_nested_artifact(k, value)
            v = json_friendly(value)
            if (
                k in self._items
                and not allow
                and self._items[k] != v
                and not (_is_nan(self._items[k]) and _is_nan(v))
            ):
                raise ConfigError(
                    f'Attempted to change value of key "{k}" from {self._items[k]} to {v}\n'
                    "If you really want to do this, pass allow_val_change=True to config.update()"
                )
            if not (k in self._items and self._items[k] == v):
                values[k] = v
        changed = dict(values)
        used: dict[str, Any] = {}
        for k, value in artifacts.items():
            assert self._use_artifact is not None
            used[k], changed[k] = self._use_artifact(k, value)  # may raise (not found): nothing is set yet
        self._items.update(values)
        self._items.update(used)
        if changed and self._callback is not None:
            self._callback(changed)


def is_artifact_value(value: Any) -> bool:
    """An Artifact, a ``wandb-artifact://`` string or an ``artifactVersion`` dict (W&B: use_artifact in config)."""
    if isinstance(value, str):
        return value.startswith(ARTIFACT_URI)
    if isinstance(value, dict):
        return value.get("_type") == "artifactVersion"
    return type(value).__name__ == "Artifact" and type(value).__module__.startswith("trackline.artifacts")


def _reject_nested_artifact(key: str, value: Any) -> None:
    """W&B takes an artifact only as a top-level config value (nested, it raises ValueError too)."""
    inside = _children(value)
    while inside:
        v = inside.pop()
        if is_artifact_value(v):
            raise ValueError(
                f"config[{key!r}]: an artifact can only be a top-level config value; give it a key of its own, "
                f"e.g. config.update({{'{key}_data': artifact}})"
            )
        inside.extend(_children(v))


def _children(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, (list, tuple)):
        return list(value)
    return []


def _artifact_json(value: Any) -> Any:
    return value.json_encode() if is_artifact_value(value) and not isinstance(value, (str, dict)) else value


def _is_nan(v: Any) -> bool:
    return isinstance(v, float) and v != v


def _reject_media(key: str, value: Any) -> None:
    if getattr(value, "_trackline_value", False):
        raise TypeError(
            f"config[{key!r}]: WBValue objects cannot be added to the run config; "
            "log media with run.log() instead"
        )


class ConfigStatic:
    """A read-only snapshot of the config (``run.config_static``)."""

    def __init__(self, items: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_items", dict(items))

    _items: dict[str, Any]

    def __getattr__(self, key: str) -> Any:
        try:
            return self._items[key]
        except KeyError:
            raise AttributeError(key) from None

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError("Error: run.config_static is a readonly object")

    def __setitem__(self, key: str, value: Any) -> None:
        raise AttributeError("Error: run.config_static is a readonly object")

    def keys(self) -> list[str]:
        return [k for k in self._items if not k.startswith("_")]

    def items(self) -> list[tuple[str, Any]]:
        return [(k, v) for k, v in self._items.items() if not k.startswith("_")]

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)


def load_config_defaults(cwd: str | None = None, warn: Callable[[str], None] | None = None) -> dict[str, Any]:
    path = os.path.join(cwd or os.getcwd(), CONFIG_DEFAULTS_FILE)
    if not os.path.isfile(path):
        return {}
    data = config_from_yaml(path)
    if not data and warn is not None:
        warn(f"{CONFIG_DEFAULTS_FILE} is empty; no config defaults were loaded")
    return data


def check_finished_message(run_id: str, method: str) -> str:
    return (
        f"Run ({run_id}) is finished. The call to `{method}` will be ignored. "
        "Please make sure that you are using an active run."
    )


__all__ = ["Config", "ConfigError", "ConfigStatic", "UsageError"]

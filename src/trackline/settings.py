"""Settings: one typed object, resolved in a documented order, frozen once a run starts.

Precedence, lowest first (each layer overrides the ones before it):

1. defaults (below);
2. settings files, INI with a ``[default]`` section: the user file
   ``$TRACKLINE_CONFIG_DIR/settings`` (default ``~/.config/trackline/settings``), then the
   workspace file ``<root_dir>/trackline/settings`` (what ``trackline offline`` writes);
3. environment: ``WANDB_*`` variables, then ``TRACKLINE_*`` ones (``TRACKLINE_*`` wins);
4. the ``settings=`` argument of ``init`` (a :class:`Settings` or a dict);
5. the explicit arguments of ``init`` (``project=``, ``mode=``, ...).

The environment is read when ``init()`` (or ``Api()``) runs, never at import time.
Field names follow W&B's ``wandb.Settings``; W&B fields trackline does not use are
accepted and ignored, so ``wandb.Settings(...)`` calls keep working; a name that is
neither raises :class:`UsageError`. A leading ``_`` maps to ``x_`` as in W&B.
"""

from __future__ import annotations

import configparser
import copy
import datetime
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote

from trackline.errors import UsageError

MODES = ("online", "offline", "disabled", "shared")
MODE_ALIASES = {"dryrun": "offline", "run": "online"}
RESUME_CHOICES = ("allow", "must", "never", "auto")
REINIT_CHOICES = ("default", "return_previous", "finish_previous", "create_new")
CONSOLE_CHOICES = ("auto", "off", "wrap", "redirect", "wrap_raw", "wrap_emu")
PROJECT_FORBIDDEN = "/\\#?%:"
RUN_ID_FORBIDDEN = ":;,#?/'"
DEFAULT_UI_PORT = 7878


def _to_bool(v: Any) -> bool:
    if isinstance(v, str):
        s = v.strip().lower()
        if s in ("1", "true", "yes", "on", "y", "t"):
            return True
        if s in ("0", "false", "no", "off", "n", "f", ""):
            return False
        raise ValueError(f"not a boolean: {v!r}")
    return bool(v)


def _to_opt_bool(v: Any) -> bool | None:
    return None if v is None else _to_bool(v)


def _to_str(v: Any) -> str | None:
    return None if v is None else str(v)


def _to_path(v: Any) -> str | None:
    return None if v is None else os.fspath(v)


def _to_float(v: Any) -> float:
    return float(v)


def _to_int(v: Any) -> int:
    return int(v)


def _to_tuple(v: Any) -> tuple[str, ...] | None:
    if v is None:
        return None
    if isinstance(v, str):
        return tuple(p.strip() for p in v.split(",") if p.strip())
    return tuple(str(x) for x in v)


def _to_mode(v: Any) -> str:
    m = str(v).strip().lower()
    m = MODE_ALIASES.get(m, m)
    if m not in MODES:
        raise UsageError(f"Settings field `mode`: {v!r} is invalid; use one of {', '.join(MODES)}")
    return m


def _to_resume(v: Any) -> str | None:
    if v is None or v is False:
        return None
    if v is True:
        return "auto"
    s = str(v).strip().lower()
    if s in ("true", "1"):
        return "auto"
    if s in ("false", "0", ""):
        return None
    if s not in RESUME_CHOICES:
        raise UsageError(
            f"resume={v!r} is invalid; use one of {', '.join(RESUME_CHOICES)} (or True/False)"
        )
    return s


def _to_reinit(v: Any) -> str:
    if v is True:
        return "finish_previous"
    if v is False:
        return "return_previous"
    s = str(v).strip().lower()
    if s in ("true",):
        return "finish_previous"
    if s in ("false",):
        return "return_previous"
    if s not in REINIT_CHOICES:
        raise UsageError(f"reinit={v!r} is invalid; use one of {', '.join(REINIT_CHOICES)}")
    return s


def _to_console(v: Any) -> str:
    s = str(v).strip().lower()
    if s not in CONSOLE_CHOICES:
        raise UsageError(f"console={v!r} is invalid; use one of {', '.join(CONSOLE_CHOICES)}")
    return s


def _choice(name: str, v: Any, choices: tuple[str, ...]) -> str:
    s = str(v).strip().lower()
    if s not in choices:
        raise UsageError(f"{name}={v!r} is invalid; use one of {', '.join(choices)}")
    return s


def _to_interval(v: Any) -> float:
    f = float(v)
    if f < 0.1:
        raise UsageError(f"x_stats_sampling_interval must be at least 0.1 seconds, got {v!r}")
    return f


def validate_project(project: str) -> str:
    if len(project) > 128:
        raise UsageError(f"Invalid project name {project!r}: exceeds 128 characters")
    bad = [c for c in PROJECT_FORBIDDEN if c in project]
    if bad:
        raise UsageError(
            f"Invalid project name {project!r}: cannot contain characters {', '.join(map(repr, bad))}"
        )
    if not project.strip():
        raise UsageError("Invalid project name: it is empty")
    return project


def validate_run_id(run_id: str) -> str:
    if not run_id:
        raise UsageError("Run ID cannot be empty")
    if run_id != run_id.strip():
        raise UsageError(f"Run ID {run_id!r} cannot start or end with whitespace")
    bad = [c for c in RUN_ID_FORBIDDEN if c in run_id]
    if bad:
        raise UsageError(
            f"Run ID {run_id!r} cannot contain the characters {' '.join(bad)}; "
            "use letters, digits, '-', '_' or '.'"
        )
    if len(run_id) > 128:
        raise UsageError(f"Run ID {run_id!r} is longer than 128 characters")
    return run_id


def validate_tags(tags: Iterable[Any]) -> tuple[str, ...]:
    out = []
    for tag in tags:
        if not isinstance(tag, str):
            raise ValueError(f"Tags must be strings: {tag!r} is a {type(tag).__name__}")
        if not 1 <= len(tag) <= 64:
            raise ValueError(f"Invalid tag {tag!r}: tags must be between 1 and 64 characters")
        out.append(tag)
    return tuple(out)


def _to_project(v: Any) -> str | None:
    return None if v is None else validate_project(str(v))


def _to_run_id(v: Any) -> str | None:
    return None if v is None else validate_run_id(str(v))


def _to_tags(v: Any) -> tuple[str, ...] | None:
    if v is None:
        return None
    if isinstance(v, str):
        v = [p.strip() for p in v.split(",") if p.strip()]
    return validate_tags(v)


# name: (default, coerce)
FIELDS: dict[str, tuple[Any, Callable[[Any], Any]]] = {
    "mode": ("online", _to_mode),
    "entity": (None, _to_str),
    "project": (None, _to_project),
    "root_dir": (None, _to_path),
    "run_id": (None, _to_run_id),
    "run_name": (None, _to_str),
    "run_notes": (None, _to_str),
    "run_tags": (None, _to_tags),
    "run_group": (None, _to_str),
    "run_job_type": (None, _to_str),
    "resume": (None, _to_resume),
    "resume_from": (None, _to_str),
    "fork_from": (None, _to_str),
    "reinit": ("default", _to_reinit),
    "console": ("auto", _to_console),
    "silent": (False, _to_bool),
    "quiet": (False, _to_bool),
    "show_info": (True, _to_bool),
    "show_warnings": (True, _to_bool),
    "show_errors": (True, _to_bool),
    "save_code": (None, _to_opt_bool),
    "code_dir": (None, _to_path),
    "disable_code": (False, _to_bool),
    "disable_git": (False, _to_bool),
    "disable_meta": (False, _to_bool),
    "symlink": (True, _to_bool),
    "init_timeout": (90.0, _to_float),
    "finish_timeout": (60.0, _to_float),
    "finish_timeout_raises": (False, _to_bool),
    "heartbeat_seconds": (10.0, _to_float),
    "fsync_seconds": (2.0, _to_float),
    "base_url": (f"http://127.0.0.1:{DEFAULT_UI_PORT}", _to_str),
    "store": (None, _to_str),
    "blobs": (None, _to_str),
    "home": (None, _to_path),
    "strict_steps": (False, _to_bool),
    "sweep_id": (None, _to_str),
    "sweep_param_path": (None, _to_path),
    "config_paths": (None, _to_tuple),
    "program": (None, _to_str),
    "allow_val_change": (None, _to_opt_bool),
    "api_key": (None, _to_str),
    "ignore_globs": ((), _to_tuple),
    "max_end_of_run_history_metrics": (10, _to_int),
    "max_end_of_run_summary_metrics": (10, _to_int),
    "x_label": (None, _to_str),
    "x_primary": (True, _to_bool),
    "x_update_finish_state": (True, _to_bool),
    "x_stats_sampling_interval": (15.0, _to_interval),
    "x_disable_stats": (False, _to_bool),
    "x_start_time": (None, lambda v: None if v is None else float(v)),
    "x_stats_per_core": (False, _to_bool),
    "x_sender": ("process", lambda v: _choice("x_sender", v, ("process", "thread"))),
    "x_stats_disk_paths": (("/",), _to_tuple),
    "run_id_file": (None, _to_path),
    "alert_webhook_url": (None, _to_str),
    "alert_email_to": (None, _to_tuple),
    "alert_email_from": (None, _to_str),
    "alert_smtp_host": (None, _to_str),
    "alert_smtp_port": (25, _to_int),
}

# W&B Settings fields that trackline accepts and ignores (so wandb.Settings(...) keeps working).
WANDB_IGNORED = frozenset(
    ["anonymous", "azure_account_url_to_access_key", "base_url_override", "console_multipart", "console_chunk_max_bytes", "console_chunk_max_seconds", "capture_loggers", "credentials_file", "docker", "email", "force", "host", "http_proxy", "https_proxy", "identity_token_file", "insecure_disable_ssl", "job_name", "job_source", "label_disable", "launch", "launch_config_path", "login_timeout", "notebook_name", "org", "show_emoji", "start_method", "summary_timeout", "sync_tensorboard", "table_raise_on_max_row_limit_exceeded", "username", "use_dot_wandb", "x_disable_machine_info", "x_disable_meta", "x_disable_service", "x_disable_setproctitle", "x_file_stream_timeout_seconds", "x_graphql_timeout_seconds", "x_internal_check_process", "x_jupyter", "x_network_buffer", "x_save_requirements", "x_service_wait", "x_show_operation_stats", "x_stats_buffer_size", "x_stats_gpu_device_ids", "x_stats_pid", "x_stats_track_process_tree", "x_sync", "x_skip_transaction_log", "x_server_side_expand_glob_metrics", "x_shared_mode", "x_require_legacy_service", "app_url", "allow_offline_artifacts", "api_key_file", "disable_job_creation", "git_commit", "git_remote", "git_remote_url", "git_root", "ignore_globs_override", "monitor_gym", "program_abspath", "program_relpath", "root_dir_override", "tensorboard", "x_executable", "x_files_dir", "x_log_level", "mode_override"]
)

# Environment variables with names that differ from the setting they set.
ENV_SPECIAL = {
    "DIR": "root_dir",
    "NAME": "run_name",
    "NOTES": "run_notes",
    "TAGS": "run_tags",
    "JOB_TYPE": "run_job_type",
    "RUN_GROUP": "run_group",
    "RUN_ID": "run_id",
    "BASE_URL": "base_url",
    "UI_URL": "base_url",
    "STORE": "store",
    "BLOBS": "blobs",
    "HOME": "home",
    "CONFIG_PATHS": "config_paths",
}


def _canonical(name: str) -> str:
    if name.startswith("_") and not name.startswith("__"):
        name = "x" + name
    return name


class Settings:
    """trackline's settings (W&B: ``wandb.Settings``). Unknown names raise UsageError."""

    # Every field of FIELDS, typed (tests/unit/test_settings.py keeps the two in step).
    mode: str
    entity: str | None
    project: str | None
    root_dir: str | None
    run_id: str | None
    run_name: str | None
    run_notes: str | None
    run_tags: tuple[str, ...] | None
    run_group: str | None
    run_job_type: str | None
    resume: str | None
    resume_from: str | None
    fork_from: str | None
    reinit: str
    console: str
    silent: bool
    quiet: bool
    show_info: bool
    show_warnings: bool
    show_errors: bool
    save_code: bool | None
    code_dir: str | None
    disable_code: bool
    disable_git: bool
    disable_meta: bool
    symlink: bool
    init_timeout: float
    finish_timeout: float
    finish_timeout_raises: bool
    heartbeat_seconds: float
    fsync_seconds: float
    base_url: str
    store: str | None
    blobs: str | None
    home: str | None
    strict_steps: bool
    sweep_id: str | None
    sweep_param_path: str | None
    config_paths: tuple[str, ...] | None
    program: str | None
    allow_val_change: bool | None
    api_key: str | None
    ignore_globs: tuple[str, ...]
    max_end_of_run_history_metrics: int
    max_end_of_run_summary_metrics: int
    x_label: str | None
    x_primary: bool
    x_update_finish_state: bool
    x_stats_sampling_interval: float
    x_disable_stats: bool
    x_start_time: float | None
    x_stats_per_core: bool
    x_sender: str
    x_stats_disk_paths: tuple[str, ...]
    run_id_file: str | None
    alert_webhook_url: str | None
    alert_email_to: tuple[str, ...] | None
    alert_email_from: str | None
    alert_smtp_host: str | None
    alert_smtp_port: int


    def __init__(self, **kwargs: Any) -> None:
        object.__setattr__(self, "_frozen", False)
        object.__setattr__(self, "_sources", {})
        for name, (default, _) in FIELDS.items():
            self.__dict__[name] = copy.copy(default)
        self.update(kwargs, source="settings")

    # -- updating ------------------------------------------------------------------------

    def update(self, values: Mapping[str, Any] | None = None, source: str = "user", **kw: Any) -> None:
        for raw, value in {**(values or {}), **kw}.items():
            name = _canonical(raw)
            if name in FIELDS:
                setattr(self, name, value)
                self._sources[name] = source
            elif name in WANDB_IGNORED or raw in WANDB_IGNORED:
                continue
            else:
                raise UsageError(
                    f"Unknown setting {raw!r}. See trackline.settings.FIELDS for the supported "
                    "names (W&B setting names are accepted too)."
                )

    def __setattr__(self, name: str, value: Any) -> None:
        if self._frozen:
            raise UsageError(f"Settings are frozen once the run starts; cannot set {name!r}")
        name = _canonical(name)
        if name not in FIELDS:
            if name in WANDB_IGNORED:
                return
            raise UsageError(f"Unknown setting {name!r}")
        coerce = FIELDS[name][1]
        try:
            self.__dict__[name] = coerce(value)
        except UsageError:
            raise
        except (TypeError, ValueError) as exc:
            raise UsageError(f"Settings field `{name}`: {value!r} is invalid ({exc})") from exc

    _frozen: bool
    _sources: dict[str, str]

    def freeze(self) -> None:
        object.__setattr__(self, "_frozen", True)

    def set_sync_dir(self, path: str) -> None:
        """Pin the run directory (init adds a -1, -2 suffix when the name is taken)."""
        object.__setattr__(self, "_sync_dir", path)

    @property
    def frozen(self) -> bool:
        return self._frozen

    def copy(self) -> Settings:
        new = Settings()
        new.__dict__.update(copy.deepcopy(self.__dict__))
        new._sources.update(self._sources)
        return new

    def to_dict(self) -> dict[str, Any]:
        return {name: self.__dict__[name] for name in FIELDS}

    def source(self, name: str) -> str:
        """Which layer set ``name``: default, file, env, settings or init."""
        return self._sources.get(name, "default")

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.to_dict().items() if v != FIELDS[k][0]}
        return f"Settings({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Settings) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    # -- computed ------------------------------------------------------------------------

    @property
    def trackline_home(self) -> str:
        return os.path.expanduser(self.home or os.path.join("~", ".trackline"))

    @property
    def store_url(self) -> str:
        store = self.store or os.path.join(self.trackline_home, "trackline.db")
        if "://" not in store:
            store = "sqlite:///" + os.path.abspath(os.path.expanduser(store))
        return store

    @property
    def blob_url(self) -> str:
        """Where blobs (run files, media, artifact contents) live: a folder or a URL.

        Default: the folder ``blobs`` next to a SQLite store (``~/.trackline/blobs``).
        """
        blobs = self.blobs
        if not blobs:
            store = self.store_url
            if store.startswith("sqlite:///"):
                blobs = os.path.join(os.path.dirname(store[len("sqlite:///") :]), "blobs")
            else:
                blobs = os.path.join(self.trackline_home, "blobs")
        if "://" not in blobs:
            blobs = os.path.abspath(os.path.expanduser(blobs))
        return blobs

    @property
    def trackline_dir(self) -> str:
        root = self.root_dir or os.getcwd()
        return os.path.join(os.path.abspath(os.path.expanduser(root)), "trackline")

    @property
    def timespec(self) -> str:
        start = self.x_start_time or 0.0
        return datetime.datetime.fromtimestamp(start).strftime("%Y%m%d_%H%M%S")

    @property
    def run_mode(self) -> str:
        return "offline-run" if self.mode == "offline" else "run"

    @property
    def sync_dir(self) -> str:
        return self.__dict__.get("_sync_dir") or os.path.join(
            self.trackline_dir, f"{self.run_mode}-{self.timespec}-{self.run_id}"
        )

    @property
    def files_dir(self) -> str:
        return os.path.join(self.sync_dir, "files")

    @property
    def log_dir(self) -> str:
        return os.path.join(self.sync_dir, "logs")

    @property
    def sync_file(self) -> str:
        return os.path.join(self.sync_dir, f"run-{self.run_id}.tlog")

    @property
    def resume_fname(self) -> str:
        return os.path.join(self.trackline_dir, "trackline-resume.json")

    @property
    def app_url(self) -> str:
        return (self.base_url or "").rstrip("/")

    @property
    def is_offline(self) -> bool:
        return self.mode == "offline"

    @property
    def project_url(self) -> str | None:
        if self.mode != "online" and self.mode != "shared":
            return None
        return f"{self.app_url}/{quote(self.entity or '')}/{quote(self.project or '')}"

    @property
    def run_url(self) -> str | None:
        base = self.project_url
        if base is None:
            return None
        return f"{base}/runs/{quote(self.run_id or '', safe='=+&$@')}"

    @property
    def sweep_url(self) -> str | None:
        base = self.project_url
        if base is None:
            return None
        return f"{base}/sweeps/{self.sweep_id}" if self.sweep_id else ""


# -- resolution ---------------------------------------------------------------------------


def _read_ini(path: str) -> dict[str, str]:
    if not os.path.isfile(path):
        return {}
    parser = configparser.ConfigParser()
    try:
        parser.read(path)
    except configparser.Error:
        return {}
    return dict(parser["default"]) if parser.has_section("default") else {}


def user_settings_path(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    base = env.get("TRACKLINE_CONFIG_DIR") or os.path.join(os.path.expanduser("~"), ".config", "trackline")
    return os.path.join(base, "settings")


def workspace_settings_path(root_dir: str | None = None) -> str:
    root = os.path.abspath(root_dir or os.getcwd())
    return os.path.join(root, "trackline", "settings")


def write_setting(path: str, key: str, value: str) -> None:
    """Set ``key = value`` in an INI settings file's [default] section."""
    parser = configparser.ConfigParser()
    if os.path.isfile(path):
        parser.read(path)
    if not parser.has_section("default"):
        parser.add_section("default")
    parser.set("default", key, value)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        parser.write(f)


def env_settings(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Settings from WANDB_* and TRACKLINE_* variables (TRACKLINE_* wins)."""
    env = os.environ if environ is None else environ
    out: dict[str, str] = {}
    for prefix in ("WANDB_", "TRACKLINE_"):
        for var, value in env.items():
            if not var.startswith(prefix):
                continue
            rest = var[len(prefix) :]
            if rest.startswith("_"):
                name = "x_" + rest[1:].lower()
            else:
                name = ENV_SPECIAL.get(rest, rest.lower())
            if name in FIELDS:
                out[name] = value
    return out


def resolve(
    settings: Settings | Mapping[str, Any] | None = None,
    init_args: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build the run's Settings: defaults < files < environment < settings= < init args."""
    s = Settings()
    s.update(_read_ini(user_settings_path(environ)), source="file")
    env = env_settings(environ)
    # The workspace file lives under root_dir, which the later layers may set.
    root = (init_args or {}).get("root_dir") or (
        settings.root_dir if isinstance(settings, Settings) else (settings or {}).get("root_dir")
    ) or env.get("root_dir")
    s.update(_read_ini(workspace_settings_path(root)), source="file")
    s.update(env, source="env")
    if isinstance(settings, Settings):
        s.update({k: v for k, v in settings.to_dict().items() if settings.source(k) != "default"}, source="settings")
    elif settings:
        s.update(dict(settings), source="settings")
    if init_args:
        s.update({k: v for k, v in init_args.items() if v is not None}, source="init")
    return s

"""``trackline.init()``: resolve settings, pick the run's id and folder, start the run."""

from __future__ import annotations

import getpass
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from typing import Any

from trackline.errors import UsageError
from trackline.sdk import lifecycle, metadata, naming
from trackline.sdk import resume as resumption
from trackline.sdk.config import config_source_to_dict, is_artifact_value, load_config_defaults
from trackline.sdk.disabled import DisabledRun
from trackline.sdk.printer import Printer
from trackline.sdk.run import Run
from trackline.sdk.values import json_friendly
from trackline.settings import Settings, resolve

__version__ = "0.1.0"


def _default_entity() -> str:
    try:
        user = getpass.getuser()
    except Exception:
        user = "local"
    return re.sub(r"[^A-Za-z0-9_.-]", "-", user) or "local"


def _emoji(sym: str) -> str:
    enc = (getattr(sys.stdout, "encoding", None) or "").lower()
    return sym + " " if "utf" in enc and os.name != "nt" else ""


def init(
    entity: str | None = None,
    project: str | None = None,
    dir: str | os.PathLike[str] | None = None,
    id: str | None = None,
    name: str | None = None,
    notes: str | None = None,
    tags: Sequence[str] | None = None,
    config: Any = None,
    config_exclude_keys: list[str] | None = None,
    config_include_keys: list[str] | None = None,
    allow_val_change: bool | None = None,
    group: str | None = None,
    job_type: str | None = None,
    mode: str | None = None,
    force: bool | None = None,
    anonymous: str | None = None,
    reinit: bool | str | None = None,
    resume: bool | str | None = None,
    resume_from: str | None = None,
    fork_from: str | None = None,
    save_code: bool | None = None,
    tensorboard: bool | None = None,
    sync_tensorboard: bool | None = None,
    monitor_gym: bool | None = None,
    settings: Settings | Mapping[str, Any] | None = None,
) -> Any:
    """Start a run (W&B: ``wandb.init``); returns a :class:`Run`.

    Nothing to set up: runs go to the embedded store (``~/.trackline/trackline.db``)
    and their record logs to ``<dir>/trackline/``. See :mod:`trackline.settings` for
    every setting and the order in which they are resolved.
    """
    warnings: list[str] = []
    if anonymous is not None:
        warnings.append("The anonymous setting has no effect and will be removed in a future version.")
    if tensorboard is not None:
        warnings.append("init(tensorboard=...) is deprecated; use sync_tensorboard=")
        sync_tensorboard = tensorboard if sync_tensorboard is None else sync_tensorboard
    if sync_tensorboard:
        warnings.append("sync_tensorboard is not supported by trackline yet; TensorBoard logs are not copied")
    if monitor_gym:
        warnings.append("monitor_gym is not supported by trackline yet; gym videos are not recorded")
    if config_exclude_keys is not None and config_include_keys is not None:
        raise UsageError("Expected at most only one of config_exclude_keys or config_include_keys")
    if isinstance(reinit, bool):
        warnings.append("Using a boolean value for 'reinit' is deprecated. Use 'return_previous' or 'finish_previous' instead.")

    init_args = {
        "entity": entity,
        "project": project,
        "root_dir": os.fspath(dir) if dir is not None else None,
        "run_id": id,
        "run_name": name,
        "run_notes": notes,
        "run_tags": tags,
        "run_group": group,
        "run_job_type": job_type,
        "mode": mode,
        "reinit": reinit,
        "resume": resume,
        "resume_from": resume_from,
        "fork_from": fork_from,
        "save_code": save_code,
        "allow_val_change": allow_val_change,
    }
    s = resolve(settings, init_args)
    printer = Printer(s.silent, s.quiet, s.show_warnings, s.show_info, s.show_errors)
    for w in warnings:
        printer.warn(w, once_key=w)

    if sum(x is not None for x in (s.resume, s.resume_from, s.fork_from)) > 1:
        raise ValueError("You cannot specify more than one of `resume`, `resume_from`, or `fork_from`")
    if s.sweep_id:
        # As W&B: a sweep's trial goes to the sweep's project under the agent's run id.
        dropped = [f for f in ("project", "entity", "run_id") if s.source(f) == "init"]
        for field, label in (("project", "project"), ("entity", "entity"), ("run_id", "run ID")):
            if field in dropped:
                printer.warn(f"Ignoring {label} {getattr(s, field)!r} when running a sweep.")
        if dropped:
            base = resolve(settings, {k: v for k, v in init_args.items() if k not in dropped})
            for field in dropped:
                setattr(s, field, getattr(base, field))

    # Reinit: another run is active in this process.
    previous = [r for r in lifecycle.active_runs() if not getattr(r, "_finished", False)]
    policy = s.reinit if s.reinit != "default" else ("finish_previous" if _in_notebook() else "return_previous")
    if previous:
        if s.resume == "must":
            raise UsageError("Cannot resume a run while another run is active. Call run.finish() first.")
        if policy == "return_previous":
            printer.info(f"trackline.init() called while a run is active and reinit is set to {s.reinit!r}, so returning the previous run.")
            return previous[-1]
        if policy == "finish_previous":
            for run in reversed(previous):
                run.finish()
        elif policy == "create_new" and s.run_id and any(r.id == s.run_id for r in previous):
            raise UsageError(f"run ID {s.run_id} is in use")

    start_time = time.time()
    s.x_start_time = start_time
    program = s.program or metadata.program_path()
    if s.project is None:
        s.project = metadata.auto_project_name(program)
    if s.entity is None and s.mode != "disabled":
        s.entity = _default_entity()

    # The run id: explicit / env, then the auto-resume file, then resume_from, then fresh.
    if s.resume == "auto":
        auto_id = _read_resume_file(s)
        if auto_id and s.run_id and auto_id != s.run_id:
            printer.warn(f"Ignoring ID {auto_id} loaded due to resume='auto' because the run ID is set to {s.run_id}.")
        elif auto_id and not s.run_id:
            s.run_id = auto_id
    if s.run_id_file and not s.run_id:
        # Preemptible clusters: a requeued job reads the same id and continues the run.
        s.run_id = resumption.read_or_create_id_file(s.run_id_file)
        if s.resume is None:
            s.resume = "allow"
    if s.resume_from:
        moment_run, _ = resumption.parse_moment(s.resume_from, "resume_from")
        if s.run_id and s.run_id != moment_run:
            raise ValueError(f"resume_from run {moment_run!r} differs from the run id {s.run_id!r}")
        s.run_id = moment_run
    if s.fork_from:
        moment_run, _ = resumption.parse_moment(s.fork_from, "fork_from")
        if s.run_id == moment_run:
            raise ValueError("fork_from must name another run than the new run's id")
    if not s.run_id:
        s.run_id = naming.generate_id()
    if s.mode == "shared" and not s.x_label:
        s.x_label = f"{metadata.socket.gethostname()}-{naming.generate_id()}"
    if s.mode == "offline" and (s.resume or s.resume_from or s.fork_from):
        printer.warn("`resume` will be ignored since trackline is offline: an offline run is "
                     "resumed when its log is synced into the store.")
        s.resume = s.resume_from = s.fork_from = None

    # Config: config-defaults.yaml < (config_paths, then config=: first writer wins).
    merged: dict[str, Any] = {}
    for path in s.config_paths or ():
        for k, v in config_source_to_dict(path).items():
            merged.setdefault(k, v)
    for k, v in config_source_to_dict(config).items():
        merged.setdefault(k, v)
    if config_include_keys is not None:
        merged = {k: v for k, v in merged.items() if k in config_include_keys}
    if config_exclude_keys is not None:
        merged = {k: v for k, v in merged.items() if k not in config_exclude_keys}
    run_config = load_config_defaults(warn=printer.warn)
    run_config.update(merged)
    run_config = {str(k).strip("-"): v if is_artifact_value(v) else json_friendly(v) for k, v in run_config.items()}
    sweep_config = _read_sweep_config(s)

    if s.mode == "disabled":
        s.freeze()
        disabled = DisabledRun(s, run_config)
        lifecycle.register(disabled, make_global=policy != "create_new")
        return disabled

    state = resumption.prepare(s, tags_given=s.run_tags is not None)
    if state.resumed:
        run_config = {**state.config, **run_config}
        s.run_name = s.run_name or state.name
        s.run_notes = s.run_notes or state.notes
        s.run_group = s.run_group or state.group
        s.run_job_type = s.run_job_type or state.job_type
        if state.tags is not None:
            s.run_tags = tuple(state.tags)
    elif state.forked_from:
        run_config = {**state.config, **run_config}

    _make_dirs(s, printer)
    meta = {} if s.disable_meta else metadata.collect(program, s.disable_git)
    if s.run_name is None:
        s.run_name = naming.generate_name()
    s.freeze()

    run = Run(s, run_config, sweep_config=sweep_config, _metadata=meta, _printer=printer, _resume=state)
    run._start()
    if s.resume == "auto":
        _write_resume_file(s)
    _print_header(run, s, printer)
    lifecycle.register(run, make_global=policy != "create_new")
    return run


def _in_notebook() -> bool:
    from trackline.sdk.config import _in_notebook as check

    return check()


def _read_sweep_config(s: Settings) -> dict[str, Any] | None:
    if not s.sweep_param_path or not os.path.isfile(s.sweep_param_path):
        return None
    from trackline.sdk.config import config_from_yaml

    return config_from_yaml(s.sweep_param_path)


def _read_resume_file(s: Settings) -> str | None:
    try:
        with open(s.resume_fname) as f:
            return json.load(f).get("run_id")
    except (OSError, ValueError, AttributeError):
        return None


def _write_resume_file(s: Settings) -> None:
    try:
        with open(s.resume_fname, "w") as f:
            json.dump({"run_id": s.run_id}, f)
    except OSError:
        pass


def _make_dirs(s: Settings, printer: Printer) -> None:
    """Create ``<root>/trackline/run-<time>-<id>[-N]/{files,logs}`` and ``latest-run``."""
    base = s.trackline_dir
    try:
        os.makedirs(base, exist_ok=True)
        if not os.access(base, os.W_OK | os.R_OK):
            raise PermissionError(base)
    except OSError as exc:
        fallback = tempfile.gettempdir()
        printer.warn(f"Path {base} wasn't writable ({exc}); using the temporary directory {fallback}")
        s.root_dir = fallback
        base = s.trackline_dir
        os.makedirs(base, exist_ok=True)
    sync_dir = s.sync_dir
    candidate, n = sync_dir, 0
    while True:
        try:
            os.mkdir(candidate)
            break
        except FileExistsError:
            n += 1
            candidate = f"{sync_dir}-{n}"
    s.set_sync_dir(candidate)
    os.makedirs(s.files_dir, exist_ok=True)
    os.makedirs(s.log_dir, exist_ok=True)
    if s.symlink:
        link = os.path.join(base, "latest-run")
        tmp = f"{link}.{os.getpid()}.tmp"
        try:
            if os.path.lexists(tmp):
                os.remove(tmp)
            os.symlink(os.path.basename(candidate), tmp)
            os.replace(tmp, link)
        except OSError:
            pass


def _print_header(run: Run, s: Settings, printer: Printer) -> None:
    printer.info(f"Tracking run with trackline version {__version__}", essential=False)
    printer.info(f"Run data is saved locally in {s.sync_dir}")
    if s.mode == "offline":
        printer.info(
            "Tracking run in offline mode: data is kept only in the run's record log.\n"
            f"Add it to the store with `trackline sync {s.sync_dir}`, or track live with `trackline online`."
        )
        return
    printer.info("Run `trackline offline` to keep new runs out of the store until `trackline sync`.", essential=False)
    resuming = run.resumed or s.resume_from is not None
    printer.info(f"{'Resuming' if resuming else 'Syncing'} run {run.name}")
    printer.info(f"{_emoji('⭐️')}View project at {s.project_url}", essential=False)
    printer.info(f"{_emoji('🚀')}View run at {s.run_url}")

"""``Run``: a thin object that turns W&B's run API into records.

Every public call encodes one record and appends it to the run's record log before
returning; the sender thread (online) replays the log into the store. Cross-cutting
rules live in one place: ``_check_open`` (calls after finish).
"""

from __future__ import annotations

import copy
import os
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from trackline.errors import StepOrderError, UsageError
from trackline.records import codec, kinds
from trackline.records.frames import RecordWriter
from trackline.runstate import steps as step_rules
from trackline.sdk import display as display_html
from trackline.sdk import values
from trackline.sdk.alerts import AlertDispatcher, AlertLevel, Throttle, normalize_level, wait_ms
from trackline.sdk.config import Config, ConfigStatic, check_finished_message, is_artifact_value
from trackline.sdk.console import ConsoleCapture
from trackline.sdk.metric import Metric, build_definition
from trackline.sdk.printer import Printer, footer_panels, preload_footer
from trackline.sdk.resume import ResumeState
from trackline.sdk.status import RunStatus
from trackline.sdk.summary import Summary
from trackline.sdk.system import SystemSampler
from trackline.sender.snapshot import Snapshot
from trackline.settings import Settings, validate_tags

if TYPE_CHECKING:
    from trackline.sender.sender import Pump

_encode_history = codec.make_encoder(values.enc_hook)
_encode_summary = codec.make_encoder(values.summary_enc_hook)
_HISTORY = kinds.HISTORY


class Run:
    """A unit of computation tracked by trackline (W&B: ``wandb.Run``).

    Create it with :func:`trackline.init`. ``log`` writes history rows, ``config`` and
    ``summary`` hold the run's parameters and final metrics, ``finish`` ends it.
    """

    def __init__(
        self,
        settings: Settings,
        config: Mapping[str, Any] | None = None,
        sweep_config: Mapping[str, Any] | None = None,
        launch_config: Mapping[str, Any] | None = None,
        *,
        _metadata: dict[str, Any] | None = None,
        _printer: Printer | None = None,
        _resume: ResumeState | None = None,
    ) -> None:
        resume = _resume or ResumeState()
        self._settings = settings
        self._printer = _printer or Printer(
            settings.silent, settings.quiet, settings.show_warnings, settings.show_info, settings.show_errors
        )
        self._id: str = settings.run_id or ""
        self._entity: str = settings.entity or ""
        self._project: str = settings.project or ""
        self._name: str | None = settings.run_name
        self._notes: str | None = settings.run_notes
        self._tags: tuple[str, ...] = tuple(settings.run_tags or ())
        self._group: str = settings.run_group or ""
        self._job_type: str = settings.run_job_type or ""
        self._sweep_id: str | None = settings.sweep_id
        self._start_time: float = settings.x_start_time or time.time()
        self._starting_step = resume.starting_step
        self._step = resume.starting_step
        self._resume = resume
        self._resumed = resume.resumed
        self._finished = False
        self._finish_lock = threading.Lock()
        self._late_steps = 0
        self._late_warned = False
        self._strict_steps = settings.strict_steps
        self._metadata = _metadata or {}
        self._metrics: dict[str, Metric] = {}
        self._exit_code: int | None = None
        self._state: str = "running"
        self._final_summary: dict[str, Any] | None = None
        self._pid = os.getpid()
        self._encode = _encode_history
        self._writer: RecordWriter | None = None
        self._sender: Any = None  # sender.process.ProcessSender or sender.sender.Sender
        self._pump: Pump | None = None
        self._console: ConsoleCapture | None = None
        self._sampler: SystemSampler | None = None
        self._alerts: AlertDispatcher | None = None
        self._throttle = Throttle()
        self._shared = settings.mode == "shared"
        self._forked = False
        self._saved_files: Any = None  # trackline.artifacts.run_files.SavedFiles, made by save()
        self._spares: Any = None  # trackline.data_types.spare_files.SpareFiles, made by the first media file
        self._watcher: Any = None  # trackline.integrations.torch_watch.Watcher, made by watch()

        self._config = Config()
        if resume.config:
            self._config._items.update(resume.config)
        # Artifacts given in init's config are used once the run has started (W&B does the same).
        self._config_artifacts = {k: v for k, v in (config or {}).items() if is_artifact_value(v)}
        if config:
            self._config._items.update(
                {k.strip("-"): values.json_friendly(v) for k, v in config.items() if k not in self._config_artifacts}
            )
        if sweep_config:
            self._config.update_locked(sweep_config, user="sweep")
        if launch_config:
            self._config.update_locked(launch_config, user="launch")
        self._config._bind(self._config_changed, self._warn, self._check_open, self._config_artifact)
        self.summary = Summary(self._read_summary, self._write_summary)

    # -- lifecycle plumbing (used by init) --------------------------------------------------

    def _start(self) -> None:
        """Create the record log, write the RUN record, start the sender (online)."""
        s = self._settings
        r = self._resume
        self._writer = RecordWriter(s.sync_file)
        self._metadata.setdefault("sync_dir", s.sync_dir)
        run_record: dict[str, Any] = {
            "run_id": self._id,
            "entity": self._entity,
            "project": self._project,
            "name": self._name,
            "notes": self._notes,
            "tags": list(self._tags),
            "group": self._group,
            "job_type": self._job_type,
            "sweep_id": self._sweep_id,
            "config": self._config.as_dict(),
            "summary": r.summary,
            "metric_defs": r.metric_defs,
            "start_time": self._start_time,
            "starting_step": self._starting_step,
            "runtime_offset": r.runtime_offset,
            "resumed": r.resumed,
            "mode": s.mode,
            "metadata": self._metadata,
            "label": s.x_label,
            "owns_state": bool(s.x_primary and s.x_update_finish_state),
        }
        if r.rewind_step is not None:
            run_record["rewind_step"] = r.rewind_step
        if r.forked_from is not None:
            run_record.update(forked_from=r.forked_from, fork_step=r.fork_step)
        self._write([kinds.RUN, run_record])
        os.register_at_fork(after_in_child=self._after_fork_in_child)
        self._start_services()
        if s.mode in ("online", "shared"):
            self._sender = self._make_sender()
            self._sender.start()
        if s.save_code:
            from trackline.artifacts.code import capture_at_start

            capture_at_start(self)
        if self._config_artifacts:
            self._config.update(self._config_artifacts, allow_val_change=True)

    @property
    def _wants_footer(self) -> bool:
        return not (self._settings.silent or self._settings.quiet)

    def _make_sender(self) -> Any:
        s = self._settings
        if s.x_sender == "thread":
            from trackline.sender.sender import Sender
            from trackline.storage import open_store

            url, blob_url = s.store_url, s.blob_url
            assert self._writer is not None
            return Sender(
                s.sync_file,
                lambda: open_store(url, blob_url),
                heartbeat_seconds=s.heartbeat_seconds,
                fsync=self._writer.sync,
                fsync_seconds=s.fsync_seconds,
                sparklines=self._wants_footer,
            )
        from trackline.sender.process import ProcessSender

        return ProcessSender(
            s.sync_file,
            s.store_url,
            s.blob_url,
            heartbeat_seconds=s.heartbeat_seconds,
            fsync_seconds=s.fsync_seconds,
            sparklines=self._wants_footer,
        )

    def _start_services(self) -> None:
        """Console capture, system metrics and alert delivery, as the settings ask."""
        s = self._settings
        if s.console != "off":
            self._console = ConsoleCapture(self._record_output)
            self._console.start()
        if not s.x_disable_stats:
            self._sampler = SystemSampler(
                self._record_stats,
                s.x_stats_sampling_interval,
                disk_paths=s.x_stats_disk_paths,
                per_core=s.x_stats_per_core,
                label=s.x_label if (self._shared or s.x_label) else None,
            )
            self._sampler.start()
        self._alerts = AlertDispatcher(
            webhook_url=s.alert_webhook_url,
            email_to=list(s.alert_email_to or ()),
            email_from=s.alert_email_from,
            smtp_host=s.alert_smtp_host,
            smtp_port=s.alert_smtp_port,
            report=self._record_alert_status,
        )

    def _stop_services(self) -> None:
        if self._watcher is not None:
            self._watcher.unwatch()  # no hook logs to a finished run
        if self._console is not None:
            self._console.stop()
        if self._sampler is not None:
            self._sampler.stop()
        if self._alerts is not None:
            self._alerts.close()
        if self._saved_files is not None:
            self._saved_files.finish()  # live files that changed, then the policy="end" ones
        if self._spares is not None:
            self._spares.close()
            self._spares = None

    def _spare_files(self) -> Any:
        """Empty files for media files to be written into (``data_types/spare_files.py``); None once finished."""
        if self._spares is None and not self._finished and not self._forked:
            from trackline.data_types.spare_files import SpareFiles

            self._spares = SpareFiles(os.path.join(self._settings.sync_dir, "tmp"))
        return self._spares

    def _record_output(self, source: str, text: str, ts: float) -> None:
        writer = self._writer
        if writer is None or writer.closed:
            return
        writer.append(codec.encode([kinds.OUTPUT, source, text, ts]))
        try:
            with open(os.path.join(self._settings.files_dir, "output.log"), "a", encoding="utf-8") as f:
                f.write(text)
        except OSError:
            pass

    def _add_files(self, paths: Sequence[str], policy: str = "now", own: bool = False) -> None:
        """Record files under ``run.dir`` (POSIX paths relative to it) as run files.

        The sender copies them into the blob store by content (so identical files are
        stored once); ``trackline sync`` does the same for offline runs. Used by media
        types and ``save``. Paths that could escape ``run.dir`` are refused. ``own``: files
        trackline wrote itself and never rewrites (media), which the blob store may hard-link
        instead of copying.
        """
        from trackline.storage.paths import safe_relpath

        ts = time.time()
        entries = [{"path": safe_relpath(p), "policy": policy, "ts": ts} for p in paths]
        if own:
            for e in entries:
                e["own"] = True
        if entries:
            self._write([kinds.FILES, entries])

    def _record_stats(self, sample: dict[str, float], ts: float) -> None:
        writer = self._writer
        if writer is not None and not writer.closed:
            writer.append(codec.encode([kinds.STATS, sample, ts]))

    def _record_alert_status(self, seq: int, delivery: dict[str, Any]) -> None:
        writer = self._writer
        if writer is not None and not writer.closed:
            writer.append(codec.encode([kinds.ALERT_STATUS, seq, delivery]))

    def _after_fork_in_child(self) -> None:
        # A forked child (DataLoader worker, multiprocessing) must never write the
        # parent's log: the child's copy of the run goes quiet.
        self._spares = None  # the parent's spare files are the parent's
        if self._writer is not None and os.getpid() != self._pid:
            self._forked = True
            self._writer.abandon()
            self._writer = None
            close = getattr(self._sender, "close", None)
            if close is not None:
                close()
            self._sender = None
            self._finished = True

    def _write(self, record: list[Any]) -> int:
        writer = self._writer
        if writer is None:
            raise UsageError("this run has no record log (it was finished, or this is a forked child)")
        try:
            payload = self._encode(record)
        except Exception:
            payload = codec.encode(values.json_friendly(record))
        return writer.append(payload)

    def _warn(self, text: str, once_key: str | None = None) -> None:
        self._printer.warn(text, once_key=None if once_key is None else f"{self._id}:{once_key}")

    def _check_open(self, method: str) -> None:
        if self._finished:
            if self._forked:
                raise UsageError(f"`{method}` was called in a forked child process; the run belongs to its parent")
            raise UsageError(check_finished_message(self._id, method))

    # -- log ---------------------------------------------------------------------------

    def log(self, data: dict[str, Any], step: int | None = None, commit: bool | None = None) -> None:
        """Log a dict of values to the run's history (W&B's step and commit rules).

        ``log(d)`` writes a row at the current step and advances it; ``commit=False``
        keeps adding to the current row; ``step=s`` moves to step ``s``. A step lower
        than the current one is kept at that step (W&B drops it), with one warning.
        """
        if self._finished:
            if self._forked:
                self._warn("log() in a forked child process (a DataLoader worker?) is ignored: the run "
                           "belongs to the parent. Log from the parent, or init a run in the child.",
                           once_key="forked-log")
                return
            raise UsageError(check_finished_message(self._id, "log"))
        if type(data) is not dict:
            if not isinstance(data, Mapping):
                raise TypeError("trackline.log must be passed a dictionary")
            data = dict(data)
        for key in data:
            if type(key) is not str:
                raise TypeError("Key values passed to `trackline.log` must be strings.")
        if step is not None and type(step) is not int:
            step = self._coerce_step(step)
        if step is not None and self._shared:
            self._warn("In shared mode the step argument of log() is ignored; use define_metric "
                       "to log against your own x-axis.", once_key="shared-step")
            step = None
        if commit is not None and type(commit) is not bool:
            commit = bool(commit)
        ts = time.time()
        if step is not None and step < self._step:
            self._late_step(step)
        try:
            payload = self._encode((_HISTORY, data, step, commit, ts))
        except Exception:
            # Slow path: media (files + JSON references), DataFrames, figures, charts, bad values.
            from trackline.data_types.binding import prepare_row

            data = prepare_row(self, data, self._step if step is None else step)
            payload = self._encode((_HISTORY, data, step, commit, ts))
        writer = self._writer
        if writer is None:
            raise UsageError(check_finished_message(self._id, "log"))
        writer.append(payload)
        if step is None and commit is None:
            self._step += 1
        else:
            self._step = step_rules.plan_log(self._step, step, commit).new_cur

    def _coerce_step(self, step: Any) -> int:
        if isinstance(step, bool):
            raise TypeError(f"step must be an int, got bool {step!r}")
        try:
            import numbers

            if isinstance(step, numbers.Integral):
                return int(step)
            if isinstance(step, float) and step.is_integer():
                return int(step)
            if hasattr(step, "item"):
                return self._coerce_step(step.item())
        except (TypeError, ValueError):
            pass
        raise TypeError(f"step must be an int, got {type(step).__name__} {step!r}")

    def _late_step(self, step: int) -> None:
        if self._strict_steps:
            raise StepOrderError(
                f"Tried to log to step {step} that is less than the current step {self._step} "
                "(Settings(strict_steps=True)); pass a step >= run.step or drop strict_steps"
            )
        self._late_steps += 1
        if not self._late_warned:
            self._late_warned = True
            self._printer.warn(step_rules.late_step_message(step, self._step))

    def _warn_key(self, key: str, text: str) -> None:
        self._warn(text, once_key=f"log:{key}")

    # -- config / summary ----------------------------------------------------------------

    def _config_changed(self, changed: dict[str, Any]) -> None:
        if self._writer is not None:
            self._write([kinds.CONFIG, changed, []])

    def _config_artifact(self, key: str, value: Any) -> tuple[Any, dict[str, Any]]:
        from trackline.artifacts import run_artifacts

        return run_artifacts.use_in_config(self, key, value)

    def _offline_summary(self) -> dict[str, Any]:
        """Offline: replay the log written so far (in this thread) to get the summary."""
        writer = self._writer
        if self._pump is None and writer is not None:
            from trackline.sender.sender import Pump

            self._pump = Pump(writer.path, store=None, sparklines=self._wants_footer)
        if self._pump is None:
            return {}
        while self._pump.pump():
            pass
        return self._pump.snapshot().summary

    def _read_summary(self) -> dict[str, Any]:
        if self._final_summary is not None:
            return self._final_summary
        if self._finished:
            handler = self._replay_finished_log()
            self._final_summary = {} if handler is None else copy.deepcopy(handler.summary)
            return self._final_summary
        if self._sender is None:
            return self._offline_summary()
        seq = self._writer.seq if self._writer is not None else 0
        snap = self._sender.snapshot(seq, timeout=60.0)
        if snap is None:
            self._warn(
                "the store did not catch up within 60 s; the summary may be incomplete"
                + (f" ({self._sender.error})" if self._sender.error else ""),
                once_key="summary-timeout",
            )
            return self._offline_summary()
        return snap.summary

    def _write_summary(self, updates: list[tuple[list[str], Any]], removes: list[list[str]]) -> None:
        self._check_open("summary")
        clean_updates: list[list[Any]] = []
        for path, value in updates:
            try:
                _encode_summary(value)
                clean_updates.append([path, value])
            except Exception:
                try:  # media and other data types: files + JSON references
                    from trackline.data_types.binding import prepare_summary

                    value = prepare_summary(self, path, value)
                    _encode_summary(value)
                    clean_updates.append([path, value])
                except Exception as exc:
                    self._warn(f"Dropped summary key {'.'.join(path)!r}: {exc}")
        if clean_updates or removes:
            record = [kinds.SUMMARY, clean_updates, removes]
            writer = self._writer
            if writer is None:
                raise UsageError(check_finished_message(self._id, "summary"))
            writer.append(_encode_summary(record))

    # -- define_metric -------------------------------------------------------------------

    def define_metric(
        self,
        name: str,
        step_metric: str | Metric | None = None,
        step_sync: bool | None = None,
        hidden: bool | None = None,
        summary: str | None = None,
        goal: str | None = None,
        overwrite: bool | None = None,
    ) -> Metric:
        """Customise a metric: its x-axis (``step_metric``), summary aggregates, goal."""
        self._check_open("define_metric")
        definition, warnings = build_definition(name, step_metric, step_sync, hidden, summary, goal, overwrite)
        for w in warnings:
            self._warn(w, once_key=w)
        sm = definition["step_metric"]
        if sm and sm not in self._metrics:
            self._write([kinds.METRIC, {"name": sm, "summary": [], "overwrite": False}])
            self._metrics[sm] = Metric(sm)
        self._write([kinds.METRIC, definition])
        metric = Metric(
            definition["name"],
            step_metric=sm,
            step_sync=definition["step_sync"],
            hidden=definition["hidden"],
            summary=tuple(definition["summary"]) or None,
            goal=definition["goal"],
        )
        self._metrics[definition["name"]] = metric
        return metric

    # -- alerts, status, preemption, pinned keys, logs ------------------------------------

    def alert(
        self,
        title: str,
        text: str,
        level: str | AlertLevel | None = None,
        wait_duration: int | float | Any = None,
    ) -> None:
        """Send an alert (stored with the run; delivered to the configured webhook/e-mail).

        The same title is not delivered again within ``wait_duration`` (seconds or a
        timedelta; one minute by default); such repeats are still stored, as throttled.
        """
        self._check_open("alert")
        lvl = normalize_level(level)
        window = wait_ms(wait_duration)
        alert = {
            "title": str(title),
            "text": str(text),
            "level": lvl,
            "wait_ms": window,
            "ts": time.time(),
            "throttled": not self._throttle.allow(str(title), window),
        }
        seq = self._write([kinds.ALERT, alert])
        if not alert["throttled"] and self._alerts is not None:
            url = self._settings.run_url
            self._alerts.submit(seq, alert, self._name, url)

    def status(self) -> RunStatus:
        """How far the store has caught up with this run's record log."""
        writer = self._writer
        written = writer.seq if writer is not None else 0
        snap = self._sender.progress() if self._sender is not None else Snapshot()
        return RunStatus(
            sync_items_total=written,
            sync_items_pending=max(0, written - snap.stored_seq),
            sync_time=snap.sync_time,
            records_written=written,
            records_in_store=snap.stored_seq,
            last_synced_step=snap.last_step,
        )

    def watch(
        self,
        models: Any,
        criterion: Any = None,
        log: str | None = "gradients",
        log_freq: int = 1000,
        idx: int | None = None,
        log_graph: bool = False,
    ) -> None:
        """Log histograms of PyTorch models' gradients and/or parameters every ``log_freq`` steps.

        ``log`` is ``"gradients"``, ``"parameters"``, ``"all"`` or None. The histograms go to
        ``gradients/<name>`` and ``parameters/<name>`` with ``commit=False``, so they join the
        next ``log`` step (see ``integrations/torch_watch.py``).
        """
        self._check_open("watch")
        if self._watcher is None:
            from trackline.integrations.torch_watch import Watcher

            self._watcher = Watcher(self.log, self._warn)
        self._watcher.watch(models, criterion, log, log_freq, idx, log_graph)

    def unwatch(self, models: Any = None) -> None:
        """Remove the hooks ``watch`` put on ``models`` (every watched model when None)."""
        if self._watcher is not None:
            self._watcher.unwatch(models)
        elif models is not None:
            self._warn("no model has been watched")

    def mark_preempting(self) -> None:
        """Mark the run as about to be preempted: if it then stops, it is ``preempted``, not crashed."""
        self._check_open("mark_preempting")
        self._write([kinds.PREEMPTING, time.time()])

    def pin_config_keys(self, keys: Sequence[str] = ()) -> None:
        """Pin config keys shown as "References" above the notes (replaces earlier pins)."""
        self._check_open("pin_config_keys")
        if isinstance(keys, str):
            raise TypeError("pin_config_keys expects a list of config keys, not a string")
        internal = dict(self._config._items.get("_wandb") or {})
        internal["pinned_keys"] = [str(k) for k in keys]
        self._config._items["_wandb"] = internal
        self._write([kinds.CONFIG, {"_wandb": internal}, []])

    def write_logs(self, text: str) -> None:
        """Write text to the run's logs (a newline is added when missing)."""
        if self._finished or self._writer is None:
            return
        text = str(text)
        if not text.endswith("\n"):
            text += "\n"
        self._record_output("log", text, time.time())

    # -- notebooks ------------------------------------------------------------------------

    def to_html(self, height: int = 420, hidden: bool = False) -> str:
        """An iframe of the run's page in the local UI (a static summary when no UI runs)."""
        return display_html.run_html(self, height, hidden)

    def display(self, height: int = 420, hidden: bool = False) -> bool:
        """Show the run in Jupyter; False outside a notebook or when silent."""
        if self._settings.silent:
            return False
        return display_html.show(self.to_html(height, hidden))

    def _repr_html_(self) -> str:
        return self.to_html()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/html": self.to_html(hidden=True)}

    # -- files and artifacts (the logic lives in trackline.artifacts) -----------------------

    def save(
        self,
        glob_str: str | os.PathLike[str] | None = None,
        base_path: str | os.PathLike[str] | None = None,
        policy: str = "live",
        glob: bool = True,
    ) -> list[str] | bool:
        """Keep files matching ``glob_str`` with the run (W&B's rules; ``policy`` live|now|end).

        The structure below ``base_path`` (default: the cwd for a relative glob) is kept
        under ``run.dir``; returns the saved paths there.
        """
        self._check_open("save")
        if glob_str is None:
            self._warn("Calling run.save without any arguments is deprecated. Changes to attributes are "
                       "saved automatically.", once_key="save-no-args")
            return True
        from trackline.artifacts.run_files import saved_files

        return saved_files(self).save(glob_str, base_path, policy, glob)

    def restore(
        self, name: str, run_path: str | None = None, replace: bool = False, root: str | None = None
    ) -> Any:
        """Fetch a saved file of this run (or ``run_path``) into ``root`` and open it; None if missing."""
        from trackline.artifacts.run_files import restore

        return restore(name, run_path, replace, root, run=self)

    def log_code(
        self,
        root: str | None = ".",
        name: str | None = None,
        include_fn: Any = None,
        exclude_fn: Any = None,
    ) -> Any:
        """Log source files under ``root`` as a ``code`` artifact (``*.py``, Dockerfiles, requirements.txt)."""
        from trackline.artifacts import code

        return code.log_code(self, root, name, include_fn or code.is_code_file, exclude_fn or code.is_run_folder)

    def log_artifact(
        self,
        artifact_or_path: Any,
        name: str | None = None,
        type: str | None = None,
        aliases: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
    ) -> Any:
        """Log an Artifact (or a file, folder or URI) as this run's output; ``latest`` is always added."""
        from trackline.artifacts import run_artifacts

        return run_artifacts.log(self, artifact_or_path, name, type, aliases, tags)

    def use_artifact(
        self,
        artifact_or_name: Any,
        type: str | None = None,
        aliases: Sequence[str] | None = None,
        use_as: str | None = None,
    ) -> Any:
        """Declare an artifact (``name:alias``, ``project/name:vN``, or an Artifact) as this run's input.

        Works offline: names are resolved in the local store.
        """
        from trackline.artifacts import run_artifacts

        return run_artifacts.use(self, artifact_or_name, type, aliases, use_as)

    def link_artifact(self, artifact: Any, target_path: str, aliases: Sequence[str] | None = None) -> Any:
        """Link an artifact into a portfolio (``[entity/][project/]collection``)."""
        from trackline.artifacts import run_artifacts

        return run_artifacts.link(self, artifact, target_path, aliases)

    def upsert_artifact(
        self,
        artifact_or_path: Any,
        name: str | None = None,
        type: str | None = None,
        aliases: Sequence[str] | None = None,
        distributed_id: str | None = None,
    ) -> Any:
        """Add files to the version shared by every run with this ``distributed_id`` (default: the group)."""
        from trackline.artifacts import run_artifacts

        dist = run_artifacts.distributed(self, distributed_id)
        return run_artifacts.log(self, artifact_or_path, name, type, aliases, mode="upsert", distributed_id=dist)

    def finish_artifact(
        self,
        artifact_or_path: Any,
        name: str | None = None,
        type: str | None = None,
        aliases: Sequence[str] | None = None,
        distributed_id: str | None = None,
    ) -> Any:
        """Commit the distributed version (with this call's files too)."""
        from trackline.artifacts import run_artifacts

        dist = run_artifacts.distributed(self, distributed_id)
        return run_artifacts.log(self, artifact_or_path, name, type, aliases, mode="finish", distributed_id=dist)

    def log_model(self, path: Any, name: str | None = None, aliases: Sequence[str] | None = None) -> None:
        """Log a model file or folder as a ``model`` artifact."""
        from trackline.artifacts import run_artifacts

        run_artifacts.log_model(self, path, name, aliases)

    def use_model(self, name: str) -> str:
        """Use and download a model artifact; returns the file (single-file models) or the folder."""
        from trackline.artifacts import run_artifacts

        return run_artifacts.use_model(self, name)

    def link_model(
        self,
        path: Any,
        registered_model_name: str,
        name: str | None = None,
        aliases: Sequence[str] | None = None,
    ) -> Any:
        """Log a model and link it to ``model-registry/<registered_model_name>`` (created when missing)."""
        from trackline.artifacts import run_artifacts

        return run_artifacts.link_model(self, path, registered_model_name, name, aliases)

    # -- finish --------------------------------------------------------------------------

    def finish(self, exit_code: int | None = None, quiet: bool | None = None) -> None:
        """End the run: flush everything, record its state, print the summary.

        ``exit_code`` 0 (or None) marks the run finished, anything else failed.
        """
        if quiet is not None:
            self._warn("finish(quiet=...) is deprecated; use Settings(quiet=True)", once_key="quiet")
        self._finish(exit_code)

    def _finish(self, exit_code: int | None = None, state: str | None = None, reason: str | None = None) -> None:
        with self._finish_lock:
            if self._finished:
                return
            self._finished = True
        from trackline.sdk import lifecycle

        code = exit_code or 0
        if state is None:
            state = "finished" if code == 0 else "failed"
        if reason is None and state == "failed":
            reason = f"exit code {code}"
        self._exit_code = code
        self._state = state
        self._stop_services()
        writer = self._writer
        snap: Snapshot | None = None
        if writer is not None:
            seq = writer.append(
                codec.encode([kinds.EXIT, {"exit_code": code, "state": state, "reason": reason, "ts": time.time()}])
            )
            if self._sender is not None:
                self._sender.stop_after(seq)  # the sender's last batch overlaps the fsync below
            writer.close()
            if self._sender is not None:
                preload = None
                if self._wants_footer and not self._printer.silent and "rich.table" not in sys.modules:
                    preload = threading.Thread(target=preload_footer, name="trackline-footer", daemon=True)
                    preload.start()
                snap = self._sender.snapshot(seq, timeout=self._settings.finish_timeout or None, stop=True)
                if preload is not None:
                    preload.join()
                if snap is not None:
                    _mark_synced(writer.path, seq)
                if snap is None:
                    err = self._sender.error
                    self._printer.warn(
                        "the store did not take every record in time"
                        + (f" ({err})" if err else "")
                        + f"; nothing is lost: run `trackline sync {self._settings.sync_dir}`"
                    )
                    if self._settings.finish_timeout_raises:
                        raise TimeoutError("Timed out finishing run.")
        if snap is None and self._wants_footer:
            # Offline (or the store lagged): the footer needs the run replayed here;
            # silent runs skip this (and replay lazily if the summary is read later).
            handler = self._replay_finished_log()
            if handler is not None:
                snap = Snapshot(summary=copy.deepcopy(handler.summary), sparklines=handler.sparkline_series())
        if snap is not None:
            self._final_summary = snap.summary
        if code == 0:
            lifecycle.remove_resume_file(self._settings)
        self._print_footer(snap)
        lifecycle.run_finished(self)

    def _replay_finished_log(self) -> Any:
        if self._writer is None:
            return None
        if self._pump is None:
            from trackline.sender.sender import Pump

            self._pump = Pump(self._writer.path, store=None, sparklines=self._wants_footer)
        while self._pump.pump():
            pass
        self._pump.close()
        return self._pump.handler

    def _print_footer(self, snap: Snapshot | None) -> None:
        p = self._printer
        if p.silent:
            return
        if snap is not None and not self._settings.quiet:
            try:
                text = footer_panels(
                    snap.sparklines,
                    snap.summary,
                    self._settings.max_end_of_run_history_metrics,
                    self._settings.max_end_of_run_summary_metrics,
                )
            except Exception:  # printing must never break finish
                text = ""
            if text:
                p.info(text)
        if self._late_steps:
            p.info(f"{self._late_steps} log() call(s) used a step lower than the current one; their data was kept.")
        s = self._settings
        if s.mode == "offline":
            p.info(f"You can add this run to the store by running:\ntrackline sync {s.sync_dir}")
        else:
            p.info(f"🚀 View run {self._name} at: {self.url}")
        logs = s.log_dir
        cwd = os.getcwd()
        if logs.startswith(cwd + os.sep):
            logs = "." + logs[len(cwd) :]
        p.info(f"Find logs at: {logs}", essential=False)

    # -- context manager -----------------------------------------------------------------

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Literal[False]:
        from trackline.sdk import lifecycle

        if exc_type is None:
            self._finish(0)
        else:
            state, reason = lifecycle.state_for_exception(exc_type, exc)
            self._finish(1, state=state, reason=reason)
        return False

    # -- properties ----------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """A copy of the run's (frozen) settings."""
        return self._settings.copy()

    @property
    def dir(self) -> str:
        """The folder of the run's files (``<sync_dir>/files``)."""
        return self._settings.files_dir

    @property
    def sync_dir(self) -> str:
        return self._settings.sync_dir

    @property
    def config(self) -> Config:
        return self._config

    @property
    def config_static(self) -> ConfigStatic:
        return ConfigStatic(self._config.as_dict())

    @property
    def id(self) -> str:
        return self._id

    @property
    def name(self) -> str | None:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._check_open("name")
        self._name = str(value)
        self._write([kinds.RUN_UPDATE, {"name": self._name}])

    @property
    def notes(self) -> str | None:
        return self._notes

    @notes.setter
    def notes(self, value: str) -> None:
        self._check_open("notes")
        self._notes = str(value)
        self._write([kinds.RUN_UPDATE, {"notes": self._notes}])

    @property
    def tags(self) -> tuple[str, ...]:
        return self._tags

    @tags.setter
    def tags(self, value: Sequence[str]) -> None:
        self._check_open("tags")
        try:
            tags = validate_tags(value)
        except ValueError as exc:
            self._warn(f"Invalid tag detected: {exc} Tags not updated.")
            return
        self._tags = tags
        self._write([kinds.RUN_UPDATE, {"tags": list(tags)}])

    @property
    def sweep_id(self) -> str | None:
        return self._sweep_id

    @property
    def path(self) -> str:
        return "/".join(p for p in (self._entity, self._project, self._id) if p)

    @property
    def start_time(self) -> float:
        return self._start_time

    @property
    def starting_step(self) -> int:
        return self._starting_step

    @property
    def step(self) -> int:
        """The step the next ``log()`` will use."""
        if self._shared:
            raise UsageError("Cannot read the step in shared mode")
        return self._step

    @property
    def resumed(self) -> bool:
        return self._resumed

    @property
    def offline(self) -> bool:
        return self._settings.mode == "offline"

    @property
    def disabled(self) -> bool:
        return False

    @property
    def group(self) -> str:
        return self._group

    @property
    def job_type(self) -> str:
        return self._job_type

    @property
    def entity(self) -> str:
        return self._entity

    @property
    def project(self) -> str:
        return self._project

    def project_name(self) -> str:
        return self._project

    def _offline_url(self) -> None:
        self._warn("URL not available in offline run", once_key="offline-url")

    @property
    def project_url(self) -> str | None:
        url = self._settings.project_url
        if url is None:
            self._offline_url()
        return url

    @property
    def url(self) -> str | None:
        url = self._settings.run_url
        if url is None:
            self._offline_url()
        return url

    @property
    def sweep_url(self) -> str | None:
        url = self._settings.sweep_url
        if url is None:
            self._offline_url()
        return url

    def get_url(self) -> str | None:
        return self.url

    def get_project_url(self) -> str | None:
        return self.project_url

    def get_sweep_url(self) -> str | None:
        return self.sweep_url

    @property
    def late_steps(self) -> int:
        """How many ``log(step=s)`` calls used a step lower than the current one."""
        return self._late_steps

    def __repr__(self) -> str:
        return f"<Run {self.path} ({self._state})>"

    def __deepcopy__(self, memo: dict[int, Any]) -> Run:
        return self

    def __copy__(self) -> Run:
        return self


def _mark_synced(log_path: str, seq: int) -> None:
    """Tell `trackline sync --all` this log is already in the store (see sender/sync.py)."""
    try:
        with open(log_path + ".synced", "w") as f:
            f.write(f"{seq}\n")
    except OSError:
        pass

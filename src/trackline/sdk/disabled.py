"""``mode="disabled"``: a run that records nothing but keeps user code working (W&B's NoopRun).

No directories, no files, no threads. ``config`` is a real Config; ``summary`` is a
dict with attribute access that ``log(d)`` updates. Every public attribute is
callable with no arguments.
"""

from __future__ import annotations

import tempfile
from typing import Any, Literal

from trackline.sdk import lifecycle
from trackline.sdk.config import Config, ConfigStatic
from trackline.sdk.metric import Metric
from trackline.sdk.summary import DictSummary
from trackline.settings import Settings


class _SelfReturning:
    """Returned by artifact methods of a disabled run: every attribute and call returns itself."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> _SelfReturning:
        return self

    def __bool__(self) -> bool:
        return False


def _returns(value: Any, name: str) -> Any:
    def method(self: DisabledRun, *args: Any, **kwargs: Any) -> Any:
        return value() if callable(value) else value

    method.__name__ = name
    method.__doc__ = f"Does nothing in a disabled run (returns {value!r})."
    return method


class DisabledRun:
    """The run returned by ``init(mode="disabled")``."""

    def __init__(self, settings: Settings, config: dict[str, Any] | None = None) -> None:
        self._settings = settings
        self._id = settings.run_id or ""
        self._config = Config()
        if config:
            self._config._items.update(config)
        self.summary = DictSummary()
        self._finished = False

    # -- the parts that do something ---------------------------------------------------

    def log(self, data: dict[str, Any] | None = None, step: int | None = None, commit: bool | None = None) -> None:
        if data:
            self.summary.update(data)

    def finish(self, exit_code: int | None = None, quiet: bool | None = None) -> None:
        self._finished = True
        lifecycle.run_finished(self)

    def _finish(self, exit_code: int | None = None, state: str | None = None, reason: str | None = None) -> None:
        self.finish(exit_code)

    def define_metric(self, name: str = "dummy", *args: Any, **kwargs: Any) -> Metric:
        return Metric("dummy")

    def __enter__(self) -> DisabledRun:
        return self

    def __exit__(self, *exc: Any) -> Literal[False]:
        self.finish()
        return False

    # -- no-ops with W&B's return values -----------------------------------------------

    save = _returns(False, "save")
    log_artifact = _returns(_SelfReturning, "log_artifact")
    alert = _returns(None, "alert")
    finish_artifact = _returns(None, "finish_artifact")
    link_artifact = _returns(None, "link_artifact")
    link_model = _returns(None, "link_model")
    use_artifact = _returns(None, "use_artifact")
    log_code = _returns(None, "log_code")
    log_model = _returns(None, "log_model")
    use_model = _returns(None, "use_model")
    mark_preempting = _returns(None, "mark_preempting")
    restore = _returns(None, "restore")
    status = _returns(None, "status")
    watch = _returns(None, "watch")
    unwatch = _returns(None, "unwatch")
    write_logs = _returns(None, "write_logs")
    upsert_artifact = _returns(None, "upsert_artifact")
    pin_config_keys = _returns(None, "pin_config_keys")
    display = _returns(False, "display")
    to_html = _returns("", "to_html")
    get_url = _returns(None, "get_url")
    get_project_url = _returns(None, "get_project_url")
    get_sweep_url = _returns(None, "get_sweep_url")

    def project_name(self) -> str:
        return self.project

    # -- properties --------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return self._settings.copy()

    @property
    def dir(self) -> str:
        return tempfile.gettempdir()

    @property
    def sync_dir(self) -> str:
        return tempfile.gettempdir()

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
    def name(self) -> str:
        return self._settings.run_name or f"dummy-{self._id}"

    @name.setter
    def name(self, value: str) -> None:
        pass

    @property
    def notes(self) -> str | None:
        return self._settings.run_notes

    @notes.setter
    def notes(self, value: str) -> None:
        pass

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(self._settings.run_tags or ())

    @tags.setter
    def tags(self, value: Any) -> None:
        pass

    @property
    def sweep_id(self) -> str | None:
        return None

    @property
    def path(self) -> str:
        return f"{self.entity}/{self.project}/{self._id}"

    @property
    def start_time(self) -> float:
        return self._settings.x_start_time or 0.0

    @property
    def starting_step(self) -> int:
        return 0

    @property
    def step(self) -> int:
        return 0

    @property
    def resumed(self) -> bool:
        return False

    @property
    def offline(self) -> bool:
        return False

    @property
    def disabled(self) -> bool:
        return True

    @property
    def group(self) -> str:
        return self._settings.run_group or ""

    @property
    def job_type(self) -> str:
        return self._settings.run_job_type or ""

    @property
    def entity(self) -> str:
        return self._settings.entity or "dummy"

    @property
    def project(self) -> str:
        project = self._settings.project
        return "dummy" if project in (None, "uncategorized") else project

    @property
    def project_url(self) -> None:
        return None

    @property
    def url(self) -> None:
        return None

    @property
    def sweep_url(self) -> None:
        return None

    @property
    def late_steps(self) -> int:
        return 0

    def __repr__(self) -> str:
        return f"<DisabledRun {self._id}>"

    def __getstate__(self) -> dict[str, Any]:
        return {"settings": self._settings.to_dict(), "config": self._config.as_dict()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        s = Settings()
        s.update({k: v for k, v in state["settings"].items() if v is not None})
        self.__init__(s, state["config"])  # type: ignore[misc]

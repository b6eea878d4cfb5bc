"""trackline: a local-first, crash-proof experiment tracker that speaks the W&B run API.

    import trackline as wandb

    run = wandb.init(project="demo", config={"lr": 1e-3})
    for step in range(100):
        run.log({"loss": 1 / (step + 1)})
    run.finish()

Everything heavy (the store, numpy, rich) is imported lazily, so ``import trackline``
stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trackline.errors import CommError, ConfigError, Error, UsageError
from trackline.sdk.preinit import PreInitObject as _PreInitObject
from trackline.sdk.preinit import preinit_callable as _preinit_callable
from trackline.settings import Settings

if TYPE_CHECKING:
    from trackline.api.api import Api
    from trackline.artifacts.artifact import Artifact
    from trackline.sdk.alerts import AlertLevel
    from trackline.sdk.init import __version__, init
    from trackline.sdk.printer import termerror, termlog, termwarn
    from trackline.sdk.resume import requeue_run_id
    from trackline.sdk.run import Run
    from trackline.sdk.status import RunStatus

#: Imported on first use (``__getattr__``): the SDK's ``init`` and what comes with it cost
#: ~50 ms, which every ``trackline`` command paid before it did anything (the command line
#: is a subpackage, so Python imports this module first).
_LAZY = {
    "init": "trackline.sdk.init",
    "__version__": "trackline.sdk.init",
    "AlertLevel": "trackline.sdk.alerts",
    "termerror": "trackline.sdk.printer",
    "termlog": "trackline.sdk.printer",
    "termwarn": "trackline.sdk.printer",
    "requeue_run_id": "trackline.sdk.resume",
    "RunStatus": "trackline.sdk.status",
}

__all__ = [
    "AlertLevel",
    "Api",
    "Artifact",
    "Audio",
    "Classes",
    "CommError",
    "ConfigError",
    "Error",
    "Histogram",
    "Html",
    "Image",
    "Object3D",
    "Plotly",
    "Run",
    "RunStatus",
    "Settings",
    "Table",
    "UsageError",
    "Video",
    "__version__",
    "agent",
    "alert",
    "config",
    "define_metric",
    "finish",
    "init",
    "join",
    "link_model",
    "log",
    "log_artifact",
    "log_model",
    "login",
    "mark_preempting",
    "plot",
    "plot_table",
    "requeue_run_id",
    "restore",
    "run",
    "save",
    "setup",
    "summary",
    "sweep",
    "teardown",
    "termerror",
    "termlog",
    "termwarn",
    "unwatch",
    "use_artifact",
    "use_model",
    "watch",
]

# The active run and its bound methods; placeholders raise until init() (W&B's preinit).
run: Any = None
config: Any = _PreInitObject("trackline.config")
summary: Any = _PreInitObject("trackline.summary")
log: Any = _preinit_callable("log")
save: Any = _preinit_callable("save")
use_artifact: Any = _preinit_callable("use_artifact")
log_artifact: Any = _preinit_callable("log_artifact")
define_metric: Any = _preinit_callable("define_metric")
alert: Any = _preinit_callable("alert")
watch: Any = _preinit_callable("watch")
unwatch: Any = _preinit_callable("unwatch")
mark_preempting: Any = _preinit_callable("mark_preempting")
log_model: Any = _preinit_callable("log_model")
use_model: Any = _preinit_callable("use_model")
link_model: Any = _preinit_callable("link_model")


def finish(exit_code: int | None = None, quiet: bool | None = None) -> None:
    """Finish the global run (``trackline.run``), if any."""
    if run is not None:
        run.finish(exit_code=exit_code, quiet=quiet)


join = finish


def setup(settings: Settings | None = None) -> None:
    """Accepted for W&B compatibility: trackline needs no service process."""
    return None


def teardown(exit_code: int | None = None) -> None:
    """Finish every active run in this process."""
    from trackline.sdk import lifecycle

    lifecycle.finish_all(exit_code)


def login(key: str | None = None, relogin: bool | None = None, host: str | None = None,
          force: bool | None = None, timeout: int | None = None, verify: bool = False,
          referrer: str | None = None, anonymous: str | None = None) -> bool:
    """Accepted for W&B compatibility: the embedded store needs no login; returns True."""
    return True


_DATA_TYPES = frozenset({"Audio", "Classes", "Histogram", "Html", "Image", "Object3D", "Plotly", "Table", "Video"})


def __dir__() -> list[str]:
    """Every public name, the lazily imported ones too (tab completion in notebooks)."""
    return sorted({*globals(), *__all__})


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # found directly from now on
        return value
    if name == "Api":
        from trackline.api.api import Api

        return Api
    if name == "Artifact":
        from trackline.artifacts.artifact import Artifact

        return Artifact
    if name == "restore":  # W&B's wandb.restore: works without a run when given run_path
        from trackline.artifacts.run_files import restore as restore_file

        return lambda name, run_path=None, replace=False, root=None: restore_file(
            name, run_path, replace, root, run=run
        )
    if name == "Run":
        from trackline.sdk.run import Run

        return Run
    if name in _DATA_TYPES:  # numpy/Pillow load only when a data type is first used
        from trackline import data_types

        return getattr(data_types, name)
    if name in ("sweep", "agent"):  # W&B's sweeps, on the local store (trackline/sweeps/)
        from trackline.sweeps import agent as sweeps

        return getattr(sweeps, name)
    if name in ("plot", "plot_table"):
        import trackline.plot as plot_module

        return plot_module if name == "plot" else plot_module.plot_table
    raise AttributeError(f"module 'trackline' has no attribute {name!r}")

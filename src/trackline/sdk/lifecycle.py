"""Process-wide run bookkeeping: active runs, module globals, exit hooks, signals.

How a run ends when the program does not call ``finish()``:

* normal interpreter exit (``atexit``): ``finished`` (or ``failed`` for ``sys.exit(n)``,
  n != 0; ``sys.exit`` is wrapped to learn the code, as W&B does);
* an uncaught exception (``sys.excepthook``): ``failed``, with the exception's text
  as the reason; KeyboardInterrupt: ``killed``;
* SIGTERM: ``killed``. The handler raises ``SystemExit(143)`` in the main thread so
  the program unwinds and ``atexit`` finishes the runs. It is installed only when
  SIGTERM has no handler of the user's.

The hooks never swallow the user's exception: the previous excepthook always runs.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import traceback
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trackline.settings import Settings

_lock = threading.RLock()
_active: list[Any] = []
_installed = False
_exit_code: int | None = None
_exit_state: tuple[str, str] | None = None  # (state, reason) from an exception or a signal
_orig_excepthook: Any = None
_orig_exit: Any = None

# Names set on the ``trackline`` module while a run is the global run.
GLOBAL_METHODS = (
    "log",
    "save",
    "use_artifact",
    "log_artifact",
    "define_metric",
    "alert",
    "watch",
    "unwatch",
    "mark_preempting",
    "log_model",
    "use_model",
    "link_model",
)


def active_runs() -> list[Any]:
    with _lock:
        return list(_active)


def register(run: Any, make_global: bool) -> None:
    with _lock:
        _active.append(run)
    install_hooks()
    if make_global:
        set_globals(run)


def run_finished(run: Any) -> None:
    with _lock:
        if run in _active:
            _active.remove(run)
    import trackline

    if getattr(trackline, "run", None) is run:
        unset_globals()


def set_globals(run: Any) -> None:
    import trackline

    trackline.run = run
    trackline.config = run.config
    trackline.summary = run.summary
    for name in GLOBAL_METHODS:
        method = getattr(run, name, None)
        if method is not None:
            setattr(trackline, name, method)


def unset_globals() -> None:
    import trackline
    from trackline.sdk import preinit

    trackline.run = None
    trackline.config = preinit.PreInitObject("trackline.config")
    trackline.summary = preinit.PreInitObject("trackline.summary")
    for name in GLOBAL_METHODS:
        setattr(trackline, name, preinit.preinit_callable(name))


def state_for_exception(exc_type: Any, exc: Any) -> tuple[str, str]:
    if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
        return "killed", "KeyboardInterrupt"
    if exc_type is not None and issubclass(exc_type, SystemExit):
        code = getattr(exc, "code", 0)
        if code == 128 + signal.SIGTERM:
            return "killed", "SIGTERM"
        return ("finished", "") if not code else ("failed", f"exit code {code}")
    text = "".join(traceback.format_exception_only(exc_type, exc)).strip()
    return "failed", text


# -- hooks ----------------------------------------------------------------------------------


def install_hooks() -> None:
    global _installed, _orig_excepthook, _orig_exit
    with _lock:
        if _installed:
            return
        _installed = True
    atexit.register(_atexit)
    _orig_excepthook = sys.excepthook
    sys.excepthook = _excepthook
    _orig_exit = sys.exit
    sys.exit = _exit  # type: ignore[assignment]
    if threading.current_thread() is threading.main_thread():
        try:
            if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
                signal.signal(signal.SIGTERM, _on_sigterm)
        except (ValueError, OSError):
            pass


def _exit(code: Any = None) -> None:
    global _exit_code
    if code is None or code == 0:
        _exit_code = 0
    elif isinstance(code, int):
        _exit_code = code
    else:
        _exit_code = 1
    _orig_exit(code)


def _excepthook(exc_type: Any, exc: Any, tb: Any) -> None:
    global _exit_state, _exit_code
    try:
        _exit_state = state_for_exception(exc_type, exc)
        _exit_code = 255 if issubclass(exc_type, KeyboardInterrupt) else 1
    finally:
        (_orig_excepthook or sys.__excepthook__)(exc_type, exc, tb)


def _on_sigterm(signum: int, frame: Any) -> None:
    global _exit_state, _exit_code
    _exit_state = ("killed", "SIGTERM")
    _exit_code = 128 + signum
    raise SystemExit(128 + signum)


def _atexit() -> None:
    code = _exit_code or 0
    state, reason = _exit_state if _exit_state else (None, None)
    for run in reversed(active_runs()):
        try:
            run._finish(code, state=state if state else None, reason=reason or None)
        except Exception as exc:  # never turn a clean exit into a traceback
            try:
                sys.stderr.write(f"trackline: ERROR finishing run {getattr(run, 'id', '?')}: {exc}\n")
            except Exception:
                pass


def reset_for_tests() -> None:
    """Forget the recorded exit status (tests run many runs in one process)."""
    global _exit_code, _exit_state
    _exit_code = None
    _exit_state = None


# -- the auto-resume file ---------------------------------------------------------------------


def remove_resume_file(settings: Settings) -> None:
    try:
        os.remove(settings.resume_fname)
    except OSError:
        pass


def finish_all(exit_code: int | None = None) -> None:
    for run in reversed(active_runs()):
        run._finish(exit_code)


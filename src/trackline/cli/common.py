"""What the ``trackline`` commands share: opening the store, finding runs and projects by
path (exit code 2 and a clear message when a path is wrong), and output (rich tables for
people, ``--json`` for scripts)."""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from trackline.api.api import Api
    from trackline.api.public_run import Run

F = TypeVar("F", bound=Callable[..., Any])


class PathError(click.ClickException):
    """A run or project path that names nothing in the store: exit code 2, nothing changed."""

    exit_code = 2


def store_option(fn: F) -> F:
    return click.option(
        "--store", "store", metavar="PATH|URL",
        help="Store to read (default: settings / TRACKLINE_STORE, ~/.trackline/trackline.db).",
    )(fn)


def json_option(fn: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON (for scripts) instead of a table.")(fn)


def missing_store(url: str) -> str | None:
    """The path of an embedded store ``url`` names that does not exist yet; else None."""
    from trackline.storage.sql.direct import sqlite_path

    if not url.startswith("sqlite"):
        return None
    path = sqlite_path(url)
    return None if path in ("", ":memory:") or os.path.isfile(path) else path


def no_store(path: str) -> PathError:
    return PathError(f"no store at {path} yet; it is created by the first run (or give --store)")


def open_api(store: str | None) -> Api:
    """The query API on the store, for a command that reads it (or deletes from it). An
    embedded store that does not exist is an error (exit code 2), not made empty: a
    mistyped ``--store`` would otherwise leave a new store there and report nothing."""
    from trackline.api.api import Api

    api = Api({"store": store} if store else None)
    path = missing_store(api.settings.store_url)
    if path is not None:
        raise no_store(path)
    return api


# -- finding things -----------------------------------------------------------------------------


def _run_id_from_dir(path: str) -> str | None:
    """A run folder (``trackline/run-...-<id>``, ``trackline/latest-run``) -> its run id."""
    if not os.path.isdir(path):
        return None
    for name in sorted(os.listdir(path)):
        if name.startswith("run-") and name.endswith(".tlog"):
            return name[len("run-") : -len(".tlog")]
    return None


def resolve_run(api: Api, path: str) -> Run:
    """A run by W&B path, bare run id (searched in every project) or run folder."""
    from trackline.api.errors import RunNotFoundError
    from trackline.api.public_run import Run

    from_dir = _run_id_from_dir(path) if ("/" in path or path.startswith(".")) else None
    text = (from_dir or path).strip()
    bare = bool(from_dir) or ("/" not in text.strip("/") and ":" not in text)
    if not bare:
        try:
            return api.run(text)
        except RunNotFoundError as exc:
            raise PathError(str(exc))
        except ValueError as exc:
            raise PathError(str(exc))
    run_id = text.strip("/")
    if not run_id:
        raise PathError("give a run: ENTITY/PROJECT/RUN_ID, PROJECT/RUN_ID, a run id or a run folder")
    if api.settings.project and not from_dir:
        row = api.reader.get_run(api.default_entity, api.settings.project, run_id)
        if row is not None:
            return Run(api, row)
    try:
        return api.run_anywhere(run_id)
    except ValueError as exc:  # RunNotFoundError too
        raise PathError(str(exc))


def resolve_project(api: Api, path: str) -> tuple[str, str]:
    try:
        entity, project = api._parse_project(path)
    except ValueError as exc:
        raise PathError(str(exc))
    if api.reader.project(entity, project) is None:
        known = [f"{p['entity']}/{p['name']}" for p in api.reader.projects(None)]
        hint = f"; projects: {', '.join(known[:10])}" if known else "; the store has no projects yet"
        raise PathError(f"no project {entity}/{project} in {api.location}{hint}")
    return entity, project


def project_path(api: Api, path: str) -> tuple[str, str] | None:
    """``(entity, project)`` when ``path`` reads as a project (``entity/project`` or
    ``project``), whether or not it exists; None when it can only be a run."""
    parts = [p for p in path.strip("/").split("/") if p]
    if not 1 <= len(parts) <= 2 or ":" in path:
        return None
    try:
        return api._parse_project(path)
    except ValueError:
        return None


def is_project(api: Api, path: str) -> bool:
    named = project_path(api, path)
    return named is not None and api.reader.project(*named) is not None


def parse_filters(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(
            f"not JSON ({exc}); write it like '{{\"config.lr\": {{\"$gt\": 0.01}}}}'", param_hint="--filter"
        )
    if not isinstance(value, dict):
        raise click.BadParameter("must be a JSON object like '{\"state\": \"finished\"}'", param_hint="--filter")
    return value


# -- output -------------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """Strict JSON: NaN and infinities become null (JSON has no such numbers)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if hasattr(value, "item"):  # numpy scalars
        return jsonable(value.item())
    return str(value)


def dumps(value: Any, indent: int | None = None) -> str:
    return json.dumps(jsonable(value), indent=indent, ensure_ascii=False, allow_nan=False)


def echo_json(value: Any) -> None:
    click.echo(dumps(value, indent=2))


def console(stderr: bool = False) -> Any:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Piped output is not cut at 80 columns: scripts and pagers get whole rows.
    width = None if is_tty(stream) else 200
    return Console(stderr=stderr, highlight=False, soft_wrap=False, width=width)


def fmt_value(value: Any, width: int = 60) -> str:
    """``value`` for a table cell: floats to 6 significant digits, but whole numbers up to
    1e15 (a ``_timestamp``, a count kept as a float) to the millisecond, not as 1.79582e+09."""
    if isinstance(value, float):
        text = f"{value:.6g}"
        if 1e6 <= abs(value) < 1e15:
            text = f"{value:.3f}".rstrip("0").rstrip(".")
    elif isinstance(value, (dict, list)):
        text = dumps(value)
    else:
        text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = int(seconds)
    if s < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def fmt_size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


STATE_STYLE = {
    "running": "bold blue",
    "finished": "green",
    "failed": "red",
    "crashed": "red",
    "killed": "yellow",
    "preempting": "yellow",
    "preempted": "yellow",
}


def flat_items(tree: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Nested dicts as dotted keys (media references and empty dicts are values)."""
    out: list[tuple[str, Any]] = []
    for k, v in tree.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict) and v and "_type" not in v:
            out += flat_items(v, name + ".")
        else:
            out.append((name, v))
    return out


def is_tty(stream: Any = None) -> bool:
    s = stream or sys.stderr
    return bool(getattr(s, "isatty", lambda: False)())

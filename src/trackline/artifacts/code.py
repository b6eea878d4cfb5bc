"""``run.log_code`` (a ``code`` artifact) and ``save_code=True`` (the main program + git diff).

``log_code`` walks ``root`` and keeps files that ``include_fn`` accepts and
``exclude_fn`` does not (defaults: ``*.py``, ``Dockerfile*``, ``requirements.txt``;
skipping ``wandb/``, ``.wandb/`` and ``trackline/`` run folders). Like W&B it does not
read ``.gitignore``. ``save_code=True`` copies the main program to
``files/code/<path relative to the repository>`` and writes ``diff.patch`` (``git diff
HEAD``) as run files; with ``settings.code_dir`` it also logs that folder with
``log_code``.
"""

from __future__ import annotations

import inspect
import os
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

from trackline.artifacts import naming
from trackline.artifacts.artifact import Artifact

_RUN_DIRS = ("wandb", ".wandb", "trackline")


def is_code_file(path: str, root: str | None = None) -> bool:
    base = os.path.basename(path)
    return base.endswith(".py") or base.startswith("Dockerfile") or base == "requirements.txt"


def is_run_folder(path: str, root: str | None = None) -> bool:
    rel = os.path.relpath(path, root) if root else path
    return any(rel.startswith(d + os.sep) for d in _RUN_DIRS)


def _call(fn: Callable[..., Any], path: str, root: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
        positional = [p for p in params.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
        takes_two = len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in positional)
    except (TypeError, ValueError):
        takes_two = False
    return bool(fn(path, root) if takes_two else fn(path))


def program_relpath(program: str | None) -> str | None:
    """The main program relative to its git repository (else to the cwd, else its name)."""
    if not program:
        return None
    from trackline.sdk.metadata import find_git_root

    path = os.path.abspath(program)
    git_root = find_git_root(os.path.dirname(path))
    for base in (git_root, os.getcwd()):
        if base and (path + os.sep).startswith(os.path.abspath(base) + os.sep):
            return os.path.relpath(path, base).replace(os.sep, "/")
    return os.path.basename(path)


def log_code(
    run: Any,
    root: str | None = ".",
    name: str | None = None,
    include_fn: Callable[..., bool] = is_code_file,
    exclude_fn: Callable[..., bool] = is_run_folder,
) -> Artifact | None:
    run._check_open("log_code")
    root = os.path.abspath(root or ".")
    if not os.path.isdir(root):
        raise ValueError(f"log_code: root {root!r} is not a folder")
    program = run._metadata.get("program") or run._settings.program
    name_string = naming.safe_artifact_name(f"{run.project}-{program_relpath(program) or 'code'}")
    art_name = naming.safe_artifact_name(name) if name else naming.safe_artifact_name(f"source-{name_string}")
    art = Artifact(art_name, "code", _internal=True)
    found = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for fn in sorted(filenames):
            full = os.path.join(dirpath, fn)
            if not os.path.isfile(full):
                continue
            if _call(include_fn, full, root) and not _call(exclude_fn, full, root):
                art.add_file(full, name=os.path.relpath(full, root).replace(os.sep, "/"))
                found += 1
    if not found:
        run._warn("No relevant files were detected in the specified directory. No code will be logged to your run.")
        return None
    internal = dict(run._config._items.get("_wandb") or {})
    internal["code_path"] = f"code/{name_string}"
    run._config._items["_wandb"] = internal
    from trackline.records import kinds

    run._write([kinds.CONFIG, {"_wandb": internal}, []])
    logged: Artifact = run.log_artifact(art)
    return logged


def capture_at_start(run: Any) -> None:
    """``save_code=True``: copy the main program and the git diff into ``run.dir`` as run files."""
    s = run._settings
    if s.disable_code:
        return
    saved: list[str] = []
    program = run._metadata.get("program") or s.program
    rel = program_relpath(program)
    if program and rel and os.path.isfile(program):
        dest_rel = f"code/{rel}"
        dest = os.path.join(run.dir, *dest_rel.split("/"))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copy2(program, dest)
        saved.append(dest_rel)
    if not s.disable_git:
        diff = git_diff(os.path.dirname(os.path.abspath(program)) if program else os.getcwd())
        if diff:
            with open(os.path.join(run.dir, "diff.patch"), "w", encoding="utf-8") as f:
                f.write(diff)
            saved.append("diff.patch")
    if saved:
        run._add_files(saved, "now")
    if s.code_dir:
        log_code(run, s.code_dir)


def git_diff(start: str) -> str | None:
    """``git diff HEAD`` of the repository holding ``start`` (None outside one, or without git)."""
    from trackline.sdk.metadata import find_git_root

    root = find_git_root(start)
    if root is None or shutil.which("git") is None:
        return None
    try:
        out = subprocess.run(["git", "diff", "HEAD", "--no-color"], cwd=root, capture_output=True,
                             text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout if out.returncode == 0 and out.stdout.strip() else None

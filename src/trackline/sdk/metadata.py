"""What a run records about where it ran: host, program, Python, git. Cheap: no subprocesses."""

from __future__ import annotations

import getpass
import os
import platform
import socket
import sys
import time
from typing import Any


def process_start_time(pid: int | None = None) -> float | None:
    """Epoch seconds when a process started (to tell a live pid from a reused one)."""
    pid = pid or os.getpid()
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = int(fields[19])
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith("btime"):
                    boot = int(line.split()[1])
                    break
            else:
                return None
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        try:
            import psutil

            return float(psutil.Process(pid).create_time())
        except Exception:
            return None


def find_git_root(start: str) -> str | None:
    path = os.path.abspath(start)
    while True:
        if os.path.exists(os.path.join(path, ".git")):
            return path
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent


def _git_dir(root: str) -> str:
    dot_git = os.path.join(root, ".git")
    if os.path.isfile(dot_git):  # worktrees and submodules: "gitdir: <path>"
        with open(dot_git) as f:
            line = f.read().strip()
        if line.startswith("gitdir:"):
            return os.path.normpath(os.path.join(root, line[len("gitdir:") :].strip()))
    return dot_git


def git_info(root: str) -> dict[str, Any]:
    """Commit, branch and remote of the repository at ``root``, read from .git directly."""
    info: dict[str, Any] = {"root": root}
    gd = _git_dir(root)
    try:
        with open(os.path.join(gd, "HEAD")) as f:
            head = f.read().strip()
    except OSError:
        return info
    commit = None
    if head.startswith("ref:"):
        ref = head[4:].strip()
        info["branch"] = ref.removeprefix("refs/heads/")
        common = gd
        commondir = os.path.join(gd, "commondir")
        if os.path.isfile(commondir):
            with open(commondir) as f:
                common = os.path.normpath(os.path.join(gd, f.read().strip()))
        for base in (gd, common):
            try:
                with open(os.path.join(base, ref)) as f:
                    commit = f.read().strip()
                    break
            except OSError:
                pass
        if commit is None:
            try:
                with open(os.path.join(common, "packed-refs")) as f:
                    for line in f:
                        parts = line.strip().split(" ")
                        if len(parts) == 2 and parts[1] == ref:
                            commit = parts[0]
            except OSError:
                pass
    else:
        commit = head
    if commit:
        info["commit"] = commit
    try:
        with open(os.path.join(gd, "config")) as f:
            section = None
            for line in f:
                line = line.strip()
                if line.startswith("["):
                    section = line
                elif section == '[remote "origin"]' and line.startswith("url"):
                    url = line.split("=", 1)[1].strip()
                    if "@" in url and "://" in url:  # never record credentials
                        scheme, rest = url.split("://", 1)
                        url = scheme + "://" + rest.split("@", 1)[1]
                    info["remote"] = url
    except OSError:
        pass
    return info


def program_path() -> str | None:
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path:
        return os.path.abspath(path)
    return sys.argv[0] if sys.argv and sys.argv[0] else None


def collect(program: str | None = None, disable_git: bool = False) -> dict[str, Any]:
    prog = program or program_path()
    meta: dict[str, Any] = {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "pid_start": process_start_time(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "executable": sys.executable,
        "program": prog,
        "args": sys.argv[1:],
        "cwd": os.getcwd(),
        "cpu_count": os.cpu_count(),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    try:
        meta["username"] = getpass.getuser()
    except Exception:
        pass
    if not disable_git:
        root = find_git_root(os.path.dirname(prog) if prog and os.path.isabs(prog) else os.getcwd())
        if root:
            meta["git"] = git_info(root)
    return meta


def auto_project_name(program: str | None) -> str:
    """W&B's rule: the git repository's name (+ "-subdir"), else "uncategorized"."""
    start = os.path.dirname(program) if program and os.path.isabs(program) else os.getcwd()
    root = find_git_root(start)
    if root is None:
        return "uncategorized"
    name = os.path.basename(root)
    rel = os.path.relpath(os.path.abspath(start), root)
    if rel not in (".", ""):
        name += "-" + rel.replace(os.sep, "_")
    return name.replace("/", "_")[:128]

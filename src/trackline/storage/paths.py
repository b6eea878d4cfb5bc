"""Path safety: file and artifact entry names must stay inside their folder.

An entry name is a relative POSIX path: no empty name, no absolute path (``/x``), no
drive letter (``C:``), no backslash, no NUL or other control character, no ``.`` or
``..`` segment, no empty segment (``a//b``, ``a/``). Anything that could read or write
outside its root is rejected with a clear error instead of being "fixed": MLflow's
path-traversal CVEs (CVE-2023-1177, CVE-2024-1560, ...) came from fixing up names.

Writers go through :func:`join_inside` (the resolved target, symlinks included, must
lie under the root) and :func:`open_inside_for_write` (never follows a symlink at the
last component, so a planted link cannot redirect a download).
"""

from __future__ import annotations

import os
import posixpath
import re
from typing import BinaryIO

_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BAD_SEGMENT = re.compile(r"(^|/)(\.{1,2})?(/|$)")  # "", "." or ".." as a segment
MAX_PATH_BYTES = 4096


class UnsafePathError(ValueError):
    """A file or entry name that could escape its folder."""


def safe_relpath(name: str, what: str = "path") -> str:
    """Return ``name`` unchanged if it is a safe relative POSIX path, else raise.

    ``what`` names the argument in the error (``"name"``, ``"entry"``, ...).
    """
    if not isinstance(name, str) or not name:
        raise UnsafePathError(f"invalid {what} {name!r}: give a non-empty relative path such as 'dir/file.txt'")
    if _CONTROL.search(name):
        if "\x00" in name:
            raise UnsafePathError(f"invalid {what} {name!r}: it contains a NUL character")
        raise UnsafePathError(f"invalid {what} {name!r}: it contains a control character")
    if "\\" in name:
        raise UnsafePathError(f"invalid {what} {name!r}: use '/' as the separator, not '\\'")
    if name.startswith("/") or _DRIVE.match(name):
        raise UnsafePathError(f"invalid {what} {name!r}: it must be relative (no leading '/' or drive letter)")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        raise UnsafePathError(f"invalid {what}: longer than {MAX_PATH_BYTES} bytes")
    if _BAD_SEGMENT.search(name):
        raise UnsafePathError(
            f"invalid {what} {name!r}: empty, '.' and '..' segments are not allowed; "
            "give a normalised relative path"
        )
    return name


def _inside(base: str, target: str) -> bool:
    return target == base or target.startswith(base + os.sep)


def join_inside(root: str, name: str, folders: dict[str, str] | None = None) -> str:
    """``root/name`` for a safe ``name``, refusing symlinks that lead outside ``root``.

    ``folders``: a cache of resolved folders (``root`` and the parents of names) for a
    caller that joins many names at once; with it, a name whose last part is not a
    symlink costs one ``lstat`` instead of one per path component.
    """
    rel = safe_relpath(name)
    if folders is None:
        base = os.path.realpath(root)
        target = os.path.realpath(os.path.join(base, *rel.split("/")))
    else:
        base = folders.get("") or folders.setdefault("", os.path.realpath(root))
        parent_rel, _, last = rel.rpartition("/")
        parent = folders.get(parent_rel)
        if parent is None:
            parent = folders[parent_rel] = os.path.realpath(os.path.join(base, *parent_rel.split("/")))
        target = os.path.join(parent, last)
        if os.path.islink(target):
            target = os.path.realpath(target)
    if target == base or not _inside(base, target):
        raise UnsafePathError(f"invalid path {name!r}: it resolves outside {root} (a symlink?)")
    return target


def target_inside(root: str, name: str, base: str | None = None) -> str:
    """Where ``name`` is written under ``root``: parents resolved (and checked), last part not.

    A symlink at the last component is not followed, so a writer replaces the link
    instead of writing through it; a symlinked parent that leads outside is refused.
    ``base``: ``os.path.realpath(root)``, when the caller writes many files under one root.
    """
    rel = safe_relpath(name)
    if base is None:
        base = os.path.realpath(root)
    parts = rel.split("/")
    parent = os.path.realpath(os.path.join(base, *parts[:-1])) if len(parts) > 1 else base
    if not _inside(base, parent):
        raise UnsafePathError(f"invalid path {name!r}: its folder resolves outside {root} (a symlink?)")
    return os.path.join(parent, parts[-1])


def open_inside_for_write(
    root: str, name: str, base: str | None = None, target: str | None = None
) -> tuple[str, BinaryIO]:
    """``(temporary path, open file)`` next to ``root/name``, to write and then rename.

    Call :func:`commit_inside` with the temporary path when done. Parents are created
    inside ``root``. ``base`` as for :func:`target_inside`; ``target``: what
    :func:`target_inside` just returned for ``name`` (saves resolving it again).
    """
    if target is None:
        target = target_inside(root, name, base)
    parent = os.path.dirname(target)
    if not os.path.isdir(parent):
        os.makedirs(parent, exist_ok=True)
        # makedirs may have followed a link created meanwhile: check again.
        target = target_inside(root, name, base)
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".tl-", suffix=".part")
    return tmp, os.fdopen(fd, "wb")


def commit_inside(root: str, name: str, tmp_path: str, base: str | None = None) -> str:
    """Rename a finished temporary file onto ``root/name`` (replacing a link, never following it)."""
    target = target_inside(root, name, base)
    if os.path.isdir(target) and not os.path.islink(target):
        os.remove(tmp_path)
        raise UnsafePathError(f"cannot write {name!r} under {root}: a folder of that name is there")
    os.replace(tmp_path, target)
    return target


def move_into(src: str, dest: str) -> None:
    """``os.replace(src, dest)``, making ``dest``'s folder when it is missing (tried once first:
    the folder is usually there); if the move fails, ``src`` is removed and the error raised."""
    try:
        try:
            os.replace(src, dest)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            os.replace(src, dest)
    except BaseException:
        try:
            os.remove(src)
        except OSError:
            pass
        raise


def relpath_inside(root: str, path: str) -> str:
    """The POSIX path of ``path`` relative to ``root``; raises if it is not inside."""
    base = os.path.abspath(root)
    full = os.path.abspath(path)
    if not _inside(base, full) or full == base:
        raise UnsafePathError(f"{path} is not inside {root}")
    return to_posix(os.path.relpath(full, base))


def link_stays_inside(root: str, path: str) -> bool:
    """True if ``path`` (perhaps a symlink, or under one) resolves inside ``root``."""
    return _inside(os.path.realpath(root), os.path.realpath(path))


def to_posix(path: str) -> str:
    return posixpath.join(*path.split(os.sep)) if os.sep != "/" else path

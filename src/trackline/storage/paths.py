"""Path safety: file and artifact entry names must stay inside their folder.

An entry name is a relative POSIX path: no empty name, no absolute path (``/x``), no
drive letter (``C:``), no backslash, no NUL, no ``.`` or ``..`` segment. Anything that
could write outside its root is rejected with a clear error instead of being "fixed".
"""

from __future__ import annotations

import os
import posixpath


class UnsafePathError(ValueError):
    """A file or entry name that could escape its folder."""


def safe_relpath(name: str) -> str:
    """Return ``name`` unchanged if it is a safe relative POSIX path, else raise."""
    if not isinstance(name, str) or not name:
        raise UnsafePathError(f"invalid path {name!r}: give a non-empty relative path such as 'dir/file.txt'")
    if "\x00" in name:
        raise UnsafePathError(f"invalid path {name!r}: it contains a NUL character")
    if "\\" in name:
        raise UnsafePathError(f"invalid path {name!r}: use '/' as the separator, not '\\'")
    if name.startswith("/") or (len(name) >= 2 and name[1] == ":" and name[0].isalpha()):
        raise UnsafePathError(f"invalid path {name!r}: it must be relative (no leading '/' or drive letter)")
    parts = name.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise UnsafePathError(
            f"invalid path {name!r}: empty, '.' and '..' segments are not allowed; "
            "give a normalised relative path"
        )
    return name


def join_inside(root: str, name: str) -> str:
    """``root/name`` for a safe ``name``, refusing symlinks that lead outside ``root``."""
    rel = safe_relpath(name)
    base = os.path.realpath(root)
    target = os.path.realpath(os.path.join(base, *rel.split("/")))
    if target != base and not target.startswith(base + os.sep):
        raise UnsafePathError(f"invalid path {name!r}: it resolves outside {root} (a symlink?)")
    return target


def to_posix(path: str) -> str:
    return posixpath.join(*path.split(os.sep)) if os.sep != "/" else path

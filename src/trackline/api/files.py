"""A run's files (W&B: ``run.files()``, ``run.file(name)``, ``File.download``).

Where the bytes live is behind :class:`FileSource`: the store's index of run files
(contents in the blob store, see ``trackline.api.reader.StoredFiles``) and the run's own
folder (``<run dir>/files``, what ``run.dir`` points to, found from the run's metadata)
for files written there but never indexed. A server-side source is a third one, with
no change above it.
"""

from __future__ import annotations

import glob
import hashlib
import mimetypes
import os
import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from trackline.api.public_run import Run


@dataclass(frozen=True)
class FileInfo:
    name: str  # relative POSIX path inside the run's files
    size: int
    updated_at: float
    md5: str | None = None  # base64 MD5 when the source knows it


class FileSource(Protocol):
    """Where one run's files are: list, read, delete."""

    location: str | None  # a folder or URL, for messages

    def list(self) -> list[FileInfo]: ...

    def open(self, name: str) -> IO[bytes]: ...

    def local_path(self, name: str) -> str | None: ...

    def delete(self, name: str) -> None: ...

    def delete_all(self) -> None: ...


def check_name(name: str) -> str:
    """A file name must stay inside the run's files: a relative POSIX path, no ``..``."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"file name must be a non-empty relative path, got {name!r}")
    if "\\" in name or "\x00" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise ValueError(f"file name {name!r} must be a relative POSIX path inside the run's files")
    if any(part in ("..", "") for part in name.split("/")):
        raise ValueError(f"file name {name!r} may not contain '..' or empty parts")
    return name


class LocalFolderSource:
    """Files in a folder on this machine (a run's ``files/``)."""

    def __init__(self, root: str | None) -> None:
        self.root = root
        self.location = root

    def _path(self, name: str) -> str:
        if self.root is None:
            raise FileNotFoundError(name)
        path = os.path.realpath(os.path.join(self.root, check_name(name)))
        base = os.path.realpath(self.root)
        if os.path.commonpath([path, base]) != base:
            raise ValueError(f"file name {name!r} leads outside the run's files")
        return path

    def list(self) -> list[FileInfo]:
        if self.root is None or not os.path.isdir(self.root):
            return []
        out = []
        base = os.path.realpath(self.root)
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames.sort()
            for fn in sorted(filenames):
                full = os.path.join(dirpath, fn)
                real = os.path.realpath(full)
                if os.path.commonpath([real, base]) != base or not os.path.isfile(real):
                    continue  # a link that leads outside: not the run's file
                st = os.stat(real)
                rel = os.path.relpath(full, self.root).replace(os.sep, "/")
                out.append(FileInfo(rel, st.st_size, st.st_mtime))
        return out

    def open(self, name: str) -> IO[bytes]:
        return open(self._path(name), "rb")

    def local_path(self, name: str) -> str | None:
        path = self._path(name)
        return path if os.path.isfile(path) else None

    def delete(self, name: str) -> None:
        os.remove(self._path(name))

    def delete_all(self) -> None:
        if self.root is not None and os.path.isdir(self.root):
            shutil.rmtree(self.root)
            os.makedirs(self.root, exist_ok=True)


def find_run_dir(run: dict[str, Any], roots: Sequence[str] = ()) -> str | None:
    """The run's directory (``.../trackline/run-<time>-<id>``) on this machine, if any.

    The run's metadata names it (``sync_dir``) when the SDK recorded it; otherwise the
    ``trackline/`` folders under the run's working directory and ``roots`` are searched
    for a directory holding this run's record log ``run-<id>.tlog``.
    """
    meta = run.get("metadata") or {}
    run_id = str(run["run_id"])
    for key in ("sync_dir", "run_dir"):
        d = meta.get(key)
        if d and os.path.isdir(d):
            return str(d)
    bases = [os.path.join(meta["cwd"], "trackline")] if meta.get("cwd") else []
    for r in roots:
        bases += [r, os.path.join(r, "trackline")]
    seen: set[str] = set()
    found = []
    for base in bases:
        if base in seen or not os.path.isdir(base):
            continue
        seen.add(base)
        for pattern in (f"*-{glob.escape(run_id)}", f"*-{glob.escape(run_id)}-[0-9]*"):
            for d in glob.glob(os.path.join(base, pattern)):
                if os.path.isfile(os.path.join(d, f"run-{run_id}.tlog")):
                    found.append(d)
    if not found:
        return None
    # A resumed run can have several folders; the files of the latest one win.
    return max(found, key=lambda d: os.path.getmtime(d))


def local_source(run: dict[str, Any], roots: Sequence[str] = ()) -> LocalFolderSource:
    d = find_run_dir(run, roots)
    return LocalFolderSource(None if d is None else os.path.join(d, "files"))


# -- public objects ----------------------------------------------------------------------------


class File:
    """One file of a run (W&B: ``wandb.apis.public.File``)."""

    def __init__(self, run: Run, source: FileSource, info: FileInfo) -> None:
        self._run = run
        self._source = source
        self.name = info.name
        self.size = info.size
        self.updated_at = info.updated_at
        self._md5: str | None = info.md5

    @property
    def mimetype(self) -> str:
        return mimetypes.guess_type(self.name)[0] or "application/octet-stream"

    @property
    def md5(self) -> str:
        """Base64 MD5 of the content, as W&B reports it."""
        if self._md5 is None:
            import base64

            h = hashlib.md5()
            with self._source.open(self.name) as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            self._md5 = base64.b64encode(h.digest()).decode()
        return self._md5

    @property
    def url(self) -> str:
        path = self._source.local_path(self.name)
        if path is not None:
            return Path(path).as_uri()
        return f"{self._run.url}/files/{self.name}"

    @property
    def path_uri(self) -> str:
        return self.url

    def download(
        self, root: str = ".", replace: bool = False, exist_ok: bool = False, api: Any = None
    ) -> IO[str]:
        """Copy the file to ``root/name`` and return it opened for reading (as W&B does)."""
        base = os.path.abspath(root)
        target = os.path.abspath(os.path.join(base, check_name(self.name)))
        if os.path.commonpath([target, base]) != base:
            raise ValueError(f"file name {self.name!r} leads outside {root!r}")
        if os.path.exists(target) and not replace:
            if exist_ok:
                return open(target)
            raise ValueError(
                f"File already exists at {target}, pass replace=True to overwrite or "
                "exist_ok=True to leave it as is and don't error."
            )
        os.makedirs(os.path.dirname(target), exist_ok=True)
        tmp = f"{target}.{os.getpid()}.part"
        with self._source.open(self.name) as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        os.replace(tmp, target)
        return open(target)

    def delete(self) -> None:
        self._source.delete(self.name)

    def __repr__(self) -> str:
        return f"<File {self.name} ({self.mimetype}) {self.size} bytes>"


def like_to_regex(pattern: str) -> re.Pattern[str]:
    """SQL LIKE (``%`` any run, ``_`` one character), as W&B's ``files(pattern=)`` takes."""
    out = []
    for ch in pattern:
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
    return re.compile("^" + "".join(out) + "$", re.DOTALL)


class Files(Sequence[File]):
    """The files of a run, sorted by name (W&B: ``Files``; ``len()`` works)."""

    def __init__(
        self, run: Run, source: FileSource, names: Sequence[str] | None = None, pattern: str | None = None
    ) -> None:
        infos = source.list()
        if names is not None:
            if isinstance(names, str):
                raise ValueError("names must be a list of file names, like ['model.pt']")
            wanted = set(names)
            infos = [i for i in infos if i.name in wanted]
        if pattern is not None:
            rx = like_to_regex(pattern)
            infos = [i for i in infos if rx.match(i.name)]
        self._files = [File(run, source, i) for i in infos]

    def __len__(self) -> int:
        return len(self._files)

    def __getitem__(self, i: Any) -> Any:
        return self._files[i]

    def __iter__(self) -> Iterator[File]:
        return iter(self._files)

    def __repr__(self) -> str:
        return f"<Files {len(self)}>"

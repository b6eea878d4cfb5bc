"""``run.save`` and ``trackline.restore``: files that belong to a run, kept in the blob store.

``save(glob_str, base_path=None, policy="live")`` follows W&B: the glob is expanded now,
the structure below ``base_path`` is kept under ``run.dir``, and each file is placed
there as a hard link (a copy across filesystems). trackline does not symlink into
``run.dir``: the sender refuses links that lead outside the run folder (path safety),
and a watcher re-publishes changed files instead, so ``live`` works for copies and for
editors that replace a file by renaming a new one over it.

* ``now``: recorded once, now. ``live``: now, and again whenever the source changes
  (checked every ``TRACKLINE_LIVE_POLL_SECONDS``, 2 s by default, and at finish).
  ``end``: recorded at finish.
"""

from __future__ import annotations

import glob as globlib
import os
import shutil
import threading
from typing import IO, Any

from trackline.storage.paths import UnsafePathError, safe_relpath, target_inside

POLICIES = ("live", "now", "end")


def _poll_seconds() -> float:
    try:
        return max(0.05, float(os.environ.get("TRACKLINE_LIVE_POLL_SECONDS", "2")))
    except ValueError:
        return 2.0


def _stat_key(path: str) -> tuple[int, int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class SavedFiles:
    """The files a run saved: where they come from, and the live watcher."""

    def __init__(self, run: Any) -> None:
        self.run = run
        self.live: dict[str, tuple[str, Any]] = {}  # rel -> (source, last stat key)
        self.end: dict[str, str] = {}  # rel -> source
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- save -------------------------------------------------------------------------------

    def save(self, glob_str: Any, base_path: Any = None, policy: str = "live", glob: bool = True) -> list[str]:
        run = self.run
        if isinstance(glob_str, bytes):
            glob_str = glob_str.decode("utf-8")
        if not isinstance(glob_str, (str, os.PathLike)):
            raise TypeError(f"save: glob_str must be a path or glob string, got {type(glob_str).__name__}")
        glob_str = os.fspath(glob_str)
        if glob_str.startswith(("gs://", "s3://")):
            run._printer.info(f"{glob_str} is a cloud storage URL, can't save file to trackline "
                              "(track it with an artifact's add_reference instead)")
            return []
        if policy not in POLICIES:
            raise ValueError(f'save: policy must be "live", "end" or "now", got {policy!r}')
        if base_path is not None:
            base = os.path.abspath(os.fspath(base_path))
        elif not os.path.isabs(glob_str):
            base = os.path.abspath(".")
        else:
            run._warn(
                "Saving files without folders. If you want to preserve subdirectories pass base_path to "
                'trackline.save, i.e. trackline.save("/mnt/folder/file.h5", base_path="/mnt")',
                once_key="save-base-path",
            )
            base = os.path.dirname(os.path.dirname(os.path.abspath(glob_str)))
        full = os.path.abspath(os.path.join(base, glob_str))
        if not (full + os.sep).startswith(base + os.sep):
            raise ValueError(f"save: glob {glob_str!r} may not walk above the base path {base!r}")
        if full == base:
            raise ValueError(f"save: the glob {glob_str!r} cannot be the same as the base path")
        rel_glob = os.path.relpath(full, base)
        if glob and rel_glob.split(os.sep)[0] == "*":
            raise ValueError(f"save: glob {glob_str!r} may not start with '*' relative to the base path; "
                             "pass a base_path above the folders to match")
        base_parts = len(base.rstrip(os.sep).split(os.sep))
        if glob:  # the base path may itself be a glob (W&B): match, then drop its parts
            matches = sorted(p for p in globlib.glob(full) if os.path.isfile(p))
        else:
            matches = [full] if os.path.isfile(full) else []
        self._warn_glob(glob_str, glob, matches)
        files_dir = run.dir
        published: dict[str, str | None] = {}
        # Files already in run.dir that match are published again (W&B).
        in_dir = os.path.join(globlib.escape(files_dir), rel_glob if glob else globlib.escape(rel_glob))
        for p in sorted(globlib.glob(in_dir)):
            if os.path.isfile(p):
                published[os.path.relpath(p, files_dir).replace(os.sep, "/")] = None
        for src in matches:
            rel = "/".join(os.path.abspath(src).split(os.sep)[base_parts:])
            try:
                safe_relpath(rel, "saved file")
            except UnsafePathError as exc:
                raise ValueError(f"save: {src} would be saved outside the run folder ({exc})") from exc
            published[rel] = src
        for rel, src in published.items():
            if src is not None:
                self._place(src, rel)
        with self._lock:
            for rel, src in published.items():
                source = src or os.path.join(files_dir, *rel.split("/"))
                if policy == "live":
                    self.live[rel] = (source, _stat_key(source))
                elif policy == "end":
                    self.end[rel] = source
        if policy in ("live", "now") and published:
            run._add_files(sorted(published), policy)
        if policy == "live" and published:
            self._start_watcher()
        return sorted(os.path.join(files_dir, *rel.split("/")) for rel in published)

    def _warn_glob(self, glob_str: str, glob: bool, matches: list[str]) -> None:
        literal = os.path.abspath(glob_str)
        if glob and not matches and os.path.isfile(literal):
            self.run._warn(f"save: the glob {glob_str!r} matched nothing, but a file of that literal name "
                           "exists; pass glob=False to save it")
        elif not glob and not matches and globlib.glob(glob_str):
            self.run._warn(f"save: {glob_str!r} does not exist as a literal path but matches as a glob; "
                           "pass glob=True to expand it")

    def _place(self, src: str, rel: str) -> None:
        """Put ``src`` at ``run.dir/rel``: a hard link, else a copy (never a symlink)."""
        files_dir = self.run.dir
        dest = target_inside(files_dir, rel)
        if os.path.exists(dest) and os.path.samefile(src, dest):
            return
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        target_inside(files_dir, rel)  # the folders just made must not lead outside either
        tmp = f"{dest}.{os.getpid()}.tmp"
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copy2(src, tmp)
        os.replace(tmp, dest)

    # -- live and end -----------------------------------------------------------------------

    def _start_watcher(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._watch, name="trackline-live-files", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        interval = _poll_seconds()
        while not self._stop.wait(interval):
            try:
                self.poll()
            except Exception as exc:  # the watcher must never take the run down
                self.run._warn(f"live file watcher: {exc}", once_key="live-watch")

    def poll(self) -> list[str]:
        """Re-publish live files whose source changed; returns their paths."""
        changed: list[str] = []
        with self._lock:
            items = list(self.live.items())
        for rel, (src, key) in items:
            now = _stat_key(src)
            if now is None or now == key:
                continue
            try:
                self._place(src, rel)
            except OSError:
                continue
            with self._lock:
                self.live[rel] = (src, now)
            changed.append(rel)
        writer = getattr(self.run, "_writer", None)
        if changed and writer is not None and not writer.closed:
            self.run._add_files(sorted(changed), "live")
        return changed

    def finish(self) -> None:
        """At finish: stop watching, publish what changed, then the ``end`` files."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.poll()
        with self._lock:
            end = dict(self.end)
        rels = []
        for rel, src in end.items():
            if os.path.isfile(src):
                try:
                    self._place(src, rel)
                except OSError:
                    continue
                rels.append(rel)
        if rels:
            self.run._add_files(sorted(rels), "end")


def saved_files(run: Any) -> SavedFiles:
    files = getattr(run, "_saved_files", None)
    if files is None:
        files = run._saved_files = SavedFiles(run)
    return files


def restore(
    name: str,
    run_path: str | None = None,
    replace: bool = False,
    root: str | None = None,
    run: Any = None,
) -> IO[str] | None:
    """Fetch a run's saved file into ``root`` (default ``run.dir``, or the cwd) and open it.

    An existing file is returned as it is unless ``replace=True``; a file the run does not
    have gives None.
    """
    if run is not None and getattr(run, "disabled", False):
        return None
    safe_relpath(name, "name")
    if root is None:
        root = run.dir if run is not None else os.getcwd()
    target = target_inside(root, name)
    if os.path.isfile(target) and not replace:
        return open(target)
    if run_path is None:
        if run is None:
            raise ValueError("restore: run_path is required when no run is active; pass 'entity/project/run_id'")
        run_path = run.path
    from trackline.api.api import Api

    overrides: dict[str, Any] = {}
    if run is not None:
        overrides = {"store": run._settings.store, "home": run._settings.home}
        overrides = {k: v for k, v in overrides.items() if v}
    api = Api(overrides=overrides)
    try:
        stored = api.run(run_path)
        found = stored.files(names=[name])
    finally:
        pass
    if not len(found):
        return None
    found[0].download(root=root, replace=True)
    return open(target)

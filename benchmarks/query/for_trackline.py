"""trackline: seeding through the store's stream writer, reads through ``trackline.Api``.

Seeding writes each run as the sender's ``Pump`` does after a run (one ``Changes`` batch
through ``store.stream_writer(...).apply``): the same chunks, keys and run rows that logging
through the SDK and ``trackline sync`` produce, without the 20M ``log()`` calls.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from query import data
from query.timing import timed

DISTS = ("trackline", "numpy", "pyarrow", "pandas")


def configure(work: Path) -> None:
    home = work / "home"
    home.mkdir(parents=True, exist_ok=True)
    os.environ["TRACKLINE_HOME"] = str(home)
    os.environ["TRACKLINE_STORE"] = str(store_path(work))
    os.environ["TRACKLINE_SILENT"] = "true"
    os.environ["TRACKLINE_MODE"] = "offline"


def store_path(work: Path) -> Path:
    return work / "home" / "store.db"


# -- seeding ---------------------------------------------------------------------------------


def _apply(store: Any, project: str, rid: str, index: int, steps: int, points: dict[str, Any],
           config: dict[str, Any], summary: dict[str, Any]) -> None:
    from trackline.runstate.changes import Changes
    from trackline.storage.base import RunKey

    start = data.T0 + index * 60.0
    if steps:
        s = np.arange(steps, dtype=np.int64)
        points = {k: (s, v) for k, v in points.items()}
        # What the SDK logs with every row.
        points["_timestamp"] = (s, start + s * data.STEP_SECONDS)
        points["_runtime"] = (s, (s * data.STEP_SECONDS).astype(np.float32).astype(np.float64))
        summary = {**summary, "_step": steps - 1}
    # ended: the run's exit is in this batch (its last groups of chunks get their pages).
    ch = Changes(stream_id=(index + 1).to_bytes(16, "big"), first_seq=1, last_seq=1, ended=True)
    ch.run = {"name": rid, "start_time": start, "tags": ["bench"], "group": project,
              "job_type": "train", "config": config, "metadata": {"host": "bench"}}
    ch.summary = summary
    ch.points = points
    ch.rows = steps
    ch.run_fields = {"state": "finished", "exit_code": 0, "runtime": steps * data.STEP_SECONDS,
                     "finished_at": start + steps * data.STEP_SECONDS}
    store.stream_writer(RunKey(data.ENTITY, project, rid), ch.stream_id).apply(ch)


def seed(ds: dict[str, Any], work: Path) -> dict[str, Any]:
    from trackline.storage import open_store

    store = open_store(str(store_path(work)))
    name, steps = ds["name"], ds["steps"]
    try:
        if ds["kind"] == "list":
            tab = data.run_table(ds["runs"])
            for i in range(ds["runs"]):
                cfg = {k: tab[k][i] for k in ("lr", "batch_size", "optimizer")}
                summ = {"acc": tab["acc"][i], "loss": tab["loss"][i]}
                # the two metrics with one point each, as MLflow and trackio hold them
                pts = {k: np.array([v]) for k, v in summ.items()}
                _apply(store, name, data.run_id(name, i), i, 1, pts, cfg, summ)
        else:
            keys = data.SCAN_KEYS if ds["kind"] == "scan" else [data.HIST_KEY]
            for r in range(ds["runs"]):
                vals = {k: data.series(steps, ki, r) for ki, k in enumerate(keys)}
                summ = {k: float(v[-1]) for k, v in vals.items()}
                _apply(store, name, data.run_id(name, r), r, steps, vals, {"lr": 1e-3, "seed": r}, summ)
    finally:
        store.close()
    return {"store_bytes": _size(store_path(work))}


def _size(db: Path) -> int:
    return sum(p.stat().st_size for p in (db, Path(f"{db}-wal")) if p.exists())


# -- measuring -------------------------------------------------------------------------------


def _api(work: Path) -> Any:
    import trackline

    return trackline.Api(overrides={"store": str(store_path(work)), "entity": data.ENTITY})


def measure(task: str, ds: dict[str, Any], work: Path, repeats: int, warmup: int) -> dict[str, Any]:
    api = _api(work)
    name = ds["name"]
    path = f"{data.ENTITY}/{name}"
    out: dict[str, Any] = {"dataset": ds}
    if task == "scan":
        rid = data.run_id(name, 0)
        want = ds["steps"]

        def scan() -> int:
            n = 0
            for row in api.run(f"{path}/{rid}").scan_history(keys=data.SCAN_KEYS):
                n += len(row) - 1  # every key but _step
            return n

        def frame() -> int:
            tab = api.run(f"{path}/{rid}").history_frame(keys=data.SCAN_KEYS, engine="arrow")
            return int(tab.num_rows * (tab.num_columns - 1))

        out["scan_history"] = timed(scan, repeats, warmup, expect=want * len(data.SCAN_KEYS))
        out["history_frame_arrow"] = timed(frame, repeats, warmup, expect=want * len(data.SCAN_KEYS))
    elif task == "hist":
        # As a user writes it: list the project's runs (one query, timed too), read each one.
        def runs() -> Any:
            return api.runs(path, order="+created_at", per_page=ds["runs"])

        def sampled(pandas: bool) -> int:
            return sum(len(r.history(samples=500, keys=[data.HIST_KEY], pandas=pandas)) for r in runs())

        def full() -> int:
            return sum(sum(1 for _ in r.scan_history(keys=[data.HIST_KEY])) for r in runs())

        def together() -> int:
            # Runs.histories: the same sampling, the runs read 64 per query.
            return len(runs().histories(samples=500, keys=[data.HIST_KEY], format="pandas"))

        try:
            import pandas  # noqa: F401

            has_pandas = True
        except ImportError:
            has_pandas = False
        # The headline is the call as documented (a DataFrame when pandas is installed).
        out["sampled"] = timed(lambda: sampled(has_pandas), repeats, warmup)
        out["sampled"]["pandas"] = has_pandas
        out["sampled_rows"] = timed(lambda: sampled(False), repeats, warmup)
        out["histories"] = timed(together, repeats, warmup, expect=out["sampled"]["count"])
        out["full"] = timed(full, repeats, warmup, expect=ds["runs"] * ds["steps"])
    elif task == "list":
        exp = data.expected_listing(ds["runs"])

        def first_page() -> int:
            page = api.runs(path, filters=data.TL_FILTER, order=data.TL_ORDER)[: data.PAGE]
            got = [r.summary["acc"] for r in page]
            if got != exp["first_page_acc"]:
                raise RuntimeError(f"wrong first page: {got[:3]}... != {exp['first_page_acc'][:3]}...")
            return len(page)

        def count() -> int:
            n = len(api.runs(path, filters=data.TL_FILTER))
            if n != exp["matches"]:
                raise RuntimeError(f"len() = {n}, expected {exp['matches']}")
            return n

        def all_matches() -> int:
            return sum(1 for _ in api.runs(path, filters=data.TL_FILTER, order=data.TL_ORDER, per_page=1000))

        def first_page_plain() -> int:
            return len(api.runs(path)[: data.PAGE])

        def all_runs() -> int:
            return sum(1 for _ in api.runs(path, per_page=1000))

        out["filtered_first_page"] = timed(first_page, repeats, warmup)
        out["filtered_count"] = timed(count, repeats, warmup)
        out["filtered_all"] = timed(all_matches, repeats, warmup, expect=exp["matches"])
        out["plain_first_page"] = timed(first_page_plain, repeats, warmup, expect=data.PAGE)
        out["plain_all"] = timed(all_runs, repeats, warmup, expect=ds["runs"])
        out["matches"] = exp["matches"]
    elif task == "export":
        out.update(_export(ds, work, repeats, warmup))
    else:
        raise ValueError(f"unknown task {task}")
    return out


def _export(ds: dict[str, Any], work: Path, repeats: int, warmup: int) -> dict[str, Any]:
    """``trackline export PROJECT -o FILE.parquet`` as a user runs it (a fresh process, so its
    start-up and imports count), and the same command called in this process (comparable with
    a peer's in-process export call)."""
    import json

    import pyarrow.parquet as pq

    exe = Path(sys.executable).with_name("trackline")
    target = work / f"export-{ds['name']}.parquet"
    db = store_path(work)
    args = [f"{data.ENTITY}/{ds['name']}", "-o", str(target), "--store", str(db), "--no-progress", "--json"]
    info: dict[str, Any] = {}
    child_cpu: list[float] = []
    child_read: list[float] = []
    # As installed: the command's modules from cached bytecode (a wheel's are compiled when it
    # is installed; the warm-up run writes this editable checkout's). With
    # PYTHONDONTWRITEBYTECODE set, as on this VM, every run compiled ~30 modules (~50 ms).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

    # Before each timed export (outside the clock, as for the plain write it is compared
    # with): the last export's file is deleted; the store evicted for the cold runs.
    def clear() -> None:
        target.unlink(missing_ok=True)

    def clear_cold() -> None:
        clear()
        evict(db)

    def cli() -> int:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.run([str(exe), "export", *args], capture_output=True, text=True, timeout=1800, env=env)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        child_cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        child_read.append((after.ru_inblock - before.ru_inblock) * 512)  # bytes read from the disk
        if proc.returncode != 0:
            raise RuntimeError(f"trackline export failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
        info.update(json.loads(proc.stdout))
        return int(info["rows"])

    def inproc() -> None:
        from trackline.cli.export import export_cmd

        export_cmd.main(args, standalone_mode=False)

    def rows_written(_: Any) -> int:  # read back after the clock stops
        return pq.ParquetFile(target).metadata.num_rows

    rows = ds["runs"] * ds["steps"]
    # The default export takes ~0.03 s in-process and ~0.1 s as a command, and two runs of
    # it swing by 20% on this shared VM: medians of 9 (the options below keep ``repeats``).
    quick = max(repeats, 9)
    res: dict[str, Any] = {"cli": timed(cli, quick, warmup, expect=rows, before=clear)}
    # timed()'s cpu_s is this process's; the command's own CPU time is its child's.
    res["cli"]["child_cpu_s"] = statistics.median(child_cpu[warmup:])
    res["cli"]["raw_child_cpu_s"] = child_cpu[warmup:]
    # The store not in the page cache (a project logged yesterday): its files are evicted
    # before each run (the program's own files stay cached). What the command then reads
    # from the disk, and how fast this disk reads a file from start to end.
    done = len(child_read)
    res["cli_cold_store"] = timed(cli, repeats, 0, expect=rows, before=clear_cold)
    res["cli_cold_store"]["disk_read_bytes"] = statistics.median(child_read[done:])
    res["cli_cold_store"]["store_bytes"] = sum(f.stat().st_size for f in db.parent.glob(db.name + "*"))
    res["disk_read"] = cold_read_speed(db)
    res["in_process"] = timed(inproc, quick, warmup, expect=rows, before=clear, count_of=rows_written)
    res["threads"] = _busy(inproc, rows_written, clear, rows)
    size = target.stat().st_size
    # The columns' own bytes (int64 steps, float64 metrics; run_id left out): what an
    # export writes with no encoding or compression at all.
    raw_bytes = rows * 8 * (len(info.get("columns") or []) - 1)
    # The bars, timed in turn with the export in-process (the same minutes of the disk): a
    # plain write + fsync of as many bytes, from memory, and copies of the exported file
    # (in the page cache, as the export's store is) by the kernel and through this process:
    # what any export from a store does at least, reading the bytes and writing them.
    src, dst = work / "export-copy-src.bin", work / "export-copy-dst.bin"
    shutil.copyfile(target, src)
    buf = os.urandom(8 << 20)  # incompressible, like a zstd file

    def clear_all() -> None:
        clear()
        dst.unlink(missing_ok=True)

    side = interleaved({"export_s": inproc, "write_fsync_s": lambda: _write_fsync(dst, size, buf),
                        "kernel_copy_s": lambda: _copy_kernel(src, dst), "user_copy_s": lambda: _copy_user(src, dst)},
                       quick, clear_all)
    inproc()
    if rows_written(None) != rows:
        raise RuntimeError("the interleaved export wrote the wrong number of rows")
    src.unlink()
    res.update(rows=rows, metric_points=rows, columns=info.get("columns"), bytes=size, raw_bytes=raw_bytes,
               side_by_side=side, disk=disk_speed(work, size, quick), disk_raw=disk_speed(work, raw_bytes),
               store=_history_bytes(store_path(work), ds["name"]))
    # Each --compression, in-process, timed as the default was (one run alone swung by +-20%
    # on the shared 2-core VM): time and size.
    res["compressions"] = {}
    base = list(args)
    for option in (["--compression", "lz4"], ["--compression", "snappy"], ["--compression", "none"],
                   ["--plain-encoding"]):
        args[:] = [*base, *option]
        t = timed(inproc, repeats, warmup, expect=rows, before=clear, count_of=rows_written)
        res["compressions"][" ".join(option)] = {"wall_s": t["wall_s"], "cpu_s": t["cpu_s"],
                                                 "bytes": target.stat().st_size}
    args[:] = base
    # The same default export through pyarrow's writer (what every export used before pages
    # were copied; still the writer for text columns and the options above).
    os.environ["TRACKLINE_EXPORT_PYARROW"] = "1"
    try:
        t = timed(inproc, repeats, warmup, expect=rows, before=clear, count_of=rows_written)
    finally:
        del os.environ["TRACKLINE_EXPORT_PYARROW"]
    res["compressions"]["zstd, pyarrow's writer"] = {"wall_s": t["wall_s"], "cpu_s": t["cpu_s"],
                                                     "bytes": target.stat().st_size}
    res["compressions"]["zstd (default)"] = {"wall_s": res["in_process"]["wall_s"],
                                             "cpu_s": res["in_process"]["cpu_s"], "bytes": size}
    target.unlink(missing_ok=True)
    return res


def _busy(inproc: Any, rows_written: Any, clear: Any, rows: int) -> dict[str, float]:
    """One more in-process export, with the time each of its threads spent working: the
    reading thread reading row groups' chunks and pages from the store and planning their
    pages, the main thread writing them (``cli/export_pages.py``). The larger is the floor
    of the pipeline on this data; wall minus it is set-up, filling and draining the
    pipeline, and waiting for the disk."""
    from trackline.cli.export_pages import PageExport

    busy = {"read_s": 0.0, "write_s": 0.0}
    real_read, real_write = PageExport._read_group, PageExport._write_group

    def read(self: Any, *a: Any) -> Any:
        t = time.perf_counter()
        try:
            return real_read(self, *a)
        finally:
            busy["read_s"] += time.perf_counter() - t

    def write(self: Any, *a: Any) -> Any:
        t = time.perf_counter()
        try:
            return real_write(self, *a)
        finally:
            busy["write_s"] += time.perf_counter() - t

    PageExport._read_group, PageExport._write_group = read, write  # type: ignore[method-assign]
    try:
        clear()
        t = time.perf_counter()
        inproc()
        wall = time.perf_counter() - t
        if rows_written(None) != rows:
            raise RuntimeError("instrumented export wrote the wrong number of rows")
    finally:
        PageExport._read_group, PageExport._write_group = real_read, real_write  # type: ignore[method-assign]
    return {"wall_s": wall, "reading_thread_s": busy["read_s"], **busy}


def _history_bytes(db: Path, project: str) -> dict[str, int]:
    """The project's history in the store: raw chunk values (what reads use) and the
    Parquet pages kept beside them for export."""
    import sqlite3

    with sqlite3.connect(db) as conn:
        pks = "SELECT r.pk FROM runs r JOIN projects p ON p.id = r.project_id WHERE p.name = ?"
        vals = conn.execute(f"SELECT coalesce(sum(length(vals)), 0) FROM history_chunks WHERE run_pk IN ({pks})",
                            (project,)).fetchone()[0]
        pages = conn.execute(f"SELECT coalesce(sum(length(page)), 0) FROM history_pages WHERE run_pk IN ({pks})",
                             (project,)).fetchone()[0]
    return {"chunk_bytes": int(vals), "page_bytes": int(pages)}


def evict(db: Path) -> None:
    """Drop the store's files from the page cache (written back first), so the next read of
    them comes from the disk. ``posix_fadvise`` needs no privileges, unlike drop_caches."""
    for f in db.parent.glob(db.name + "*"):
        fd = os.open(f, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def cold_read_speed(db: Path, repeats: int = 3) -> dict[str, Any]:
    """The disk's sequential read rate: the store file, evicted, read from start to end in
    4 MB reads (median of ``repeats``)."""
    times = []
    size = db.stat().st_size
    for _ in range(repeats):
        evict(db)
        t = time.perf_counter()
        with open(db, "rb", buffering=0) as f:
            while f.read(4 << 20):
                pass
        times.append(time.perf_counter() - t)
    med = statistics.median(times)
    return {"bytes": size, "raw_s": times, "read_s": med, "read_bytes_per_s": size / med}


def _write_fsync(path: Path, size: int, buf: bytes, sync: bool = True) -> None:
    """A plain write of ``size`` bytes (8 MB blocks of ``buf``) to ``path``, with fsync."""
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(left, len(buf))
            f.write(buf[:n] if n < len(buf) else buf)
            left -= n
        if sync:
            f.flush()
            os.fsync(f.fileno())


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_kernel(src: Path, dst: Path) -> None:
    """``shutil.copyfile``: ``copy_file_range``/``sendfile``, no copy through this process."""
    shutil.copyfile(src, dst)
    _fsync_path(dst)


def _copy_user(src: Path, dst: Path) -> None:
    """8 MB reads and writes through this process."""
    with open(src, "rb") as f, open(dst, "wb") as g:
        while block := f.read(8 << 20):
            g.write(block)
    _fsync_path(dst)


def interleaved(fns: dict[str, Any], repeats: int, before: Any) -> dict[str, Any]:
    """Each of ``fns`` timed ``repeats`` times, one after another in turn (this VM's disk
    drifts by 20-40% within minutes, so what is compared is timed in the same minutes);
    ``before`` runs before each, outside the clock. Medians, and the raw times."""
    raw: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for label, fn in fns.items():
            before()
            t = time.perf_counter()
            fn()
            raw[label].append(time.perf_counter() - t)
    before()
    return {"raw": raw, **{k: statistics.median(v) for k, v in raw.items()}}


def disk_speed(work: Path, size: int, repeats: int = 3) -> dict[str, Any]:
    """Plain writes of ``size`` bytes to the same folder, page cache only and with fsync
    (medians of ``repeats``, interleaved)."""
    buf = os.urandom(8 << 20)  # incompressible, like a zstd file
    p = work / "disk-speed.bin"
    out = interleaved({"write_s": lambda: _write_fsync(p, size, buf, sync=False),
                       "write_fsync_s": lambda: _write_fsync(p, size, buf)},
                      repeats, lambda: p.unlink(missing_ok=True))
    out["bytes"] = size
    for label in ("write_s", "write_fsync_s"):
        out[label[:-2] + "_bytes_per_s"] = size / out[label] if out[label] > 0 else None
    return out

"""System metrics: a background sampler writing ``STATS`` records (W&B's names).

Every ``x_stats_sampling_interval`` seconds (15 by default, like W&B; 0.1 at least) one
sample of CPU, memory, disk, network and, when NVML is available, NVIDIA GPU metrics
becomes a row of the run's "system" stream, read back with
``Api().run(...).history(stream="system")``. Names follow W&B: ``system.cpu``,
``system.proc.memory.rssMB``, ``system.gpu.0.gpu``, ... (in shared mode each name gets
``/l:<label>``). A machine without GPUs, or without nvidia-ml-py, just skips those.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("trackline.system")

_MB = 1024 * 1024
_GB = 1024**3
# psutil and NVML load this long after start (or at the first sample if that is sooner).
# A script that ends, or is interrupted, right after init() never loads them; and a module
# imported in this thread while the interpreter shuts down after an unhandled
# KeyboardInterrupt makes Python exit with status 1 instead of dying by SIGINT.
_SETUP_DELAY = 1.0


class SystemSampler:
    def __init__(
        self,
        emit: Callable[[dict[str, float], float], None],
        interval: float,
        pid: int | None = None,
        disk_paths: tuple[str, ...] = ("/",),
        per_core: bool = False,
        label: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.emit = emit
        self.interval = interval
        self.pid = pid or os.getpid()
        self.disk_paths = disk_paths
        self.per_core = per_core
        self.suffix = f"/l:{label}" if label else ""
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._psutil: Any = None
        self._proc: Any = None
        self._io0: Any = None
        self._net0: Any = None
        self._nvml: Any = None
        self._gpus: list[Any] = []

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="trackline-system", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        if self._stop.wait(min(self.interval, _SETUP_DELAY)):
            return
        try:
            self._setup()
        except Exception as exc:
            log.debug("system metrics unavailable: %s", exc)
            return
        while not self._stop.wait(self.interval):
            try:
                self.emit(self.sample(), self.clock())
            except Exception as exc:  # a failed sample is skipped, never fatal
                log.debug("system metrics sample failed: %s", exc)
        self._shutdown_nvml()

    # -- sampling --------------------------------------------------------------------------

    def _setup(self) -> None:
        import psutil

        self._psutil = psutil
        self._proc = psutil.Process(self.pid)
        self._proc.cpu_percent(None)  # the first call only sets the baseline
        if self.per_core:
            psutil.cpu_percent(None, percpu=True)
        try:
            self._io0 = psutil.disk_io_counters(perdisk=True)
        except Exception:
            self._io0 = None
        self._net0 = psutil.net_io_counters()
        self._gpus = self._init_nvml()

    def sample(self) -> dict[str, float]:
        """One sample, keyed by W&B's metric names (with the ``system.`` prefix)."""
        if self._psutil is None:
            self._setup()
        ps = self._psutil
        out: dict[str, float] = {}
        ncpu = ps.cpu_count() or 1
        with self._proc.oneshot():
            out["cpu"] = self._proc.cpu_percent(None) / ncpu
            out["proc.cpu.threads"] = float(self._proc.num_threads())
            rss = self._proc.memory_info().rss
            out["proc.memory.rssMB"] = rss / _MB
            out["proc.memory.percent"] = self._proc.memory_percent()
        vm = ps.virtual_memory()
        out["proc.memory.availableMB"] = vm.available / _MB
        out["memory_percent"] = vm.percent
        if self.per_core:
            for i, pct in enumerate(ps.cpu_percent(None, percpu=True)):
                out[f"cpu.{i}.cpu_percent"] = pct
        for path in self.disk_paths:
            try:
                du = ps.disk_usage(path)
            except OSError:
                continue
            out[f"disk.{path}.usagePercent"] = du.percent
            out[f"disk.{path}.usageGB"] = du.used / _GB
        if self._io0:
            try:
                now = ps.disk_io_counters(perdisk=True)
                for dev, c in now.items():
                    base = self._io0.get(dev)
                    if base is None:
                        continue
                    out[f"disk.{dev}.in"] = (c.read_bytes - base.read_bytes) / _MB
                    out[f"disk.{dev}.out"] = (c.write_bytes - base.write_bytes) / _MB
            except Exception:
                pass
        net = ps.net_io_counters()
        out["network.sent"] = float(net.bytes_sent - self._net0.bytes_sent)
        out["network.recv"] = float(net.bytes_recv - self._net0.bytes_recv)
        out.update(self._gpu_sample())
        return {f"system.{k}{self.suffix}": float(v) for k, v in out.items()}

    # -- NVIDIA GPUs through NVML ------------------------------------------------------------

    def _init_nvml(self) -> list[Any]:
        try:
            import pynvml  # from nvidia-ml-py
        except ImportError:
            return []
        try:
            pynvml.nvmlInit()
            count = pynvml.nvmlDeviceGetCount()
        except Exception:
            return []
        self._nvml = pynvml
        return [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]

    def _shutdown_nvml(self) -> None:
        if self._nvml is not None:
            try:
                self._nvml.nvmlShutdown()
            except Exception:
                pass

    def gpu_inventory(self) -> list[dict[str, Any]]:
        """Static facts per GPU (W&B's ``_gpu.<i>.{name,uuid,memoryTotal}``) for the metadata."""
        nv = self._nvml
        out = []
        for i, h in enumerate(self._gpus):
            info: dict[str, Any] = {"index": i}
            for key, fn in (("name", nv.nvmlDeviceGetName), ("uuid", nv.nvmlDeviceGetUUID)):
                try:
                    v = fn(h)
                    info[key] = v.decode() if isinstance(v, bytes) else v
                except Exception:
                    pass
            try:
                info["memoryTotal"] = int(nv.nvmlDeviceGetMemoryInfo(h).total)
            except Exception:
                pass
            out.append(info)
        return out

    def _gpu_sample(self) -> dict[str, float]:
        nv = self._nvml
        if nv is None:
            return {}
        out: dict[str, float] = {}
        for i, h in enumerate(self._gpus):
            g: dict[str, float] = {}

            def read(name: str, fn: Callable[..., Any], *args: Any, g: dict[str, float] = g) -> None:
                try:
                    g[name] = float(fn(*args))
                except Exception:
                    pass

            try:
                util = nv.nvmlDeviceGetUtilizationRates(h)
                g["gpu"], g["memory"] = float(util.gpu), float(util.memory)
            except Exception:
                pass
            try:
                mem = nv.nvmlDeviceGetMemoryInfo(h)
                g["memoryAllocatedBytes"] = float(mem.used)
                g["memoryAllocated"] = 100.0 * mem.used / mem.total if mem.total else 0.0
            except Exception:
                pass
            read("temp", nv.nvmlDeviceGetTemperature, h, nv.NVML_TEMPERATURE_GPU)
            read("powerWatts", nv.nvmlDeviceGetPowerUsage, h)
            read("enforcedPowerLimitWatts", nv.nvmlDeviceGetEnforcedPowerLimit, h)
            for key in ("powerWatts", "enforcedPowerLimitWatts"):  # NVML reports milliwatts
                if key in g:
                    g[key] /= 1000.0
            if "powerWatts" in g and g.get("enforcedPowerLimitWatts"):
                g["powerPercent"] = 100.0 * g["powerWatts"] / g["enforcedPowerLimitWatts"]
            read("smClock", nv.nvmlDeviceGetClockInfo, h, nv.NVML_CLOCK_SM)
            read("memoryClock", nv.nvmlDeviceGetClockInfo, h, nv.NVML_CLOCK_MEM)
            read("graphicsClock", nv.nvmlDeviceGetClockInfo, h, nv.NVML_CLOCK_GRAPHICS)
            read("fanSpeed", nv.nvmlDeviceGetFanSpeed, h)
            for k, v in g.items():
                out[f"gpu.{i}.{k}"] = v
            try:
                procs = nv.nvmlDeviceGetComputeRunningProcesses(h)
                if any(p.pid == self.pid for p in procs):
                    for k in ("gpu", "memory", "memoryAllocated", "memoryAllocatedBytes", "temp",
                              "powerWatts", "powerPercent", "enforcedPowerLimitWatts"):
                        if k in g:
                            out[f"gpu.process.{i}.{k}"] = g[k]
            except Exception:
                pass
        return out

"""``run.watch(model)``: histograms of a PyTorch model's parameters and gradients (W&B's ``watch``).

W&B's rules (reference section 3.11), which this follows:

* ``log`` is ``"gradients"`` (the default), ``"parameters"``, ``"all"`` or None; each model a
  ``torch.nn.Module``.
* Keys are ``parameters/<prefix><name>`` and ``gradients/<prefix><name>``, where the prefix
  of the model at position ``g = idx + i`` is ``graph_<g>`` for ``g > 0`` (no separator
  before the name) and empty for the first model; ``idx`` defaults to a counter of the
  models the run has watched.
* Parameters are read by a forward hook on the model, gradients by a hook on each parameter
  tensor. Each hook counts its calls and logs every ``log_freq``-th one (the first at call
  ``log_freq``), with ``commit=False``, so the histograms join the user's next ``log`` step.
* A histogram is 64 bins over [min, max] of the finite values; a constant tensor is one
  bin; a sparse tensor counts its implicit zeros in the bin that holds 0; no finite value,
  no histogram. A dense float tensor on the CPU is counted by trackline's own histogram
  code (the C extension, on two threads); any other tensor by ``torch.histc`` on its device,
  so only 64 counts cross to the host.
* ``unwatch()`` removes every hook; ``unwatch(model)`` that model's, or warns that it was
  not watched. ``finish()`` removes them all.

``log_graph=True`` (W&B's model graph in the summary) is not drawn by trackline's UI; it is
accepted and ignored, with a warning.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

BINS = 64
LOG_CHOICES = ("gradients", "parameters", "all", None)


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ImportError("watch() works with PyTorch models: pip install torch") from None
    return torch


def tensor_histogram(tensor: Any, bins: int = BINS) -> tuple[list[int], list[float]] | None:
    """(counts, edges) of the finite values of ``tensor`` (W&B's rules above), or None."""
    torch = _torch()
    t = tensor.detach()
    zeros = 0
    if t.is_sparse:
        t = t.coalesce()
        zeros = t.numel() - t._nnz()
        t = t._values()
    if t.device.type == "cpu" and not zeros and t.dtype in (torch.float32, torch.float64):
        return _cpu_histogram(t, bins)
    finite = t.reshape(-1).float()
    bounds = _min_max(torch, finite)  # one pass and one device sync in the common case
    if bounds is None or not all(map(math.isfinite, bounds)):  # NaN or inf among the values
        finite = finite[torch.isfinite(finite)]
        bounds = _min_max(torch, finite)
    if bounds is None and zeros == 0:
        return None
    lo, hi = bounds if bounds is not None else (0.0, 0.0)
    if zeros:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if lo == hi:
        return [int(finite.numel()) + zeros], [lo, hi]
    counts = torch.histc(finite, bins=bins, min=lo, max=hi).to(torch.int64).cpu()
    edges = torch.linspace(lo, hi, bins + 1)
    if zeros:
        at = int(torch.searchsorted(edges, torch.tensor([0.0]), right=True)[0]) - 1
        counts[min(max(at, 0), bins - 1)] += zeros
    return counts.tolist(), edges.tolist()


def _min_max(torch: Any, values: Any) -> tuple[float, float] | None:
    """(min, max) of a 1-D tensor as Python floats (NaN if it holds one), or None if it is empty."""
    if values.numel() == 0:
        return None
    lo, hi = torch.stack(torch.aminmax(values)).tolist()
    return float(lo), float(hi)


def _cpu_histogram(t: Any, bins: int) -> tuple[list[int], list[float]] | None:
    """A CPU tensor's histogram by trackline's own counter (``data_types/histogram.py``: the
    C extension on two threads, ~8x ``torch.histc`` here), on the tensor's memory as numpy.

    Edges are numpy's ``linspace`` over [min, max] in the tensor's dtype; W&B's ``histc``
    bins differ from them only for values within rounding of an edge.
    """
    from trackline.data_types.histogram import histogram_of_any

    values = t.contiguous().reshape(-1).numpy()
    try:
        counts, edges = histogram_of_any(values, bins)
    except ValueError:  # no finite value
        return None
    if bins > 1 and int((counts > 0).sum()) == 1:  # one distinct value: W&B's single bin
        import numpy as np

        value = float(values[np.isfinite(values)][0])
        return [int(counts.sum())], [value, value]
    return counts.tolist(), edges.tolist()


class _Watched:
    """One model's hooks."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.handles: list[Any] = []

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles.clear()


class Watcher:
    """The hooks of one run's watched models."""

    def __init__(self, log: Callable[..., None], warn: Callable[[str], None]) -> None:
        self._log = log
        self._warn = warn
        self._count = 0  # models watched so far: the default idx
        self._models: dict[int, _Watched] = {}

    def watch(
        self,
        models: Any,
        criterion: Any = None,
        log: str | None = "gradients",
        log_freq: int = 1000,
        idx: int | None = None,
        log_graph: bool = False,
    ) -> None:
        torch = _torch()
        if log not in LOG_CHOICES:
            raise ValueError(f"log must be one of 'gradients', 'parameters', 'all' or None, got {log!r}")
        if isinstance(log_freq, bool) or not isinstance(log_freq, int) or log_freq < 1:
            raise ValueError(f"log_freq must be a positive integer, got {log_freq!r}")
        listed: Sequence[Any] = models if isinstance(models, (list, tuple)) else [models]
        for model in listed:
            if not isinstance(model, torch.nn.Module):
                raise TypeError(f"watch() expects torch.nn.Module models, got {type(model).__name__}")
        if log_graph:
            self._warn("watch(log_graph=True): trackline does not record the model graph; ignored")
        first = self._count if idx is None else idx
        for i, model in enumerate(listed):
            g = first + i
            prefix = f"graph_{g}" if g > 0 else ""
            watched = self._models.pop(id(model), None)
            if watched is not None:
                watched.remove()  # watching a model again replaces its hooks
            watched = _Watched(model)
            if log in ("parameters", "all"):
                watched.handles.append(self._hook_parameters(model, prefix, log_freq))
            if log in ("gradients", "all"):
                watched.handles.extend(self._hook_gradients(model, prefix, log_freq))
            self._models[id(model)] = watched
        self._count += len(listed)

    def unwatch(self, models: Any = None) -> None:
        if models is None:
            for watched in self._models.values():
                watched.remove()
            self._models.clear()
            return
        for model in models if isinstance(models, (list, tuple)) else [models]:
            found = self._models.pop(id(model), None)
            if found is None:
                self._warn(f"{type(model).__name__} model has not been watched")
            else:
                found.remove()

    def _hook_parameters(self, model: Any, prefix: str, log_freq: int) -> Any:
        calls = [0]

        def after_forward(module: Any, inputs: Any, outputs: Any) -> None:
            calls[0] += 1
            if calls[0] % log_freq:
                return
            row = {}
            for name, param in module.named_parameters():
                hist = tensor_histogram(param)
                if hist is not None:
                    row[f"parameters/{prefix}{name}"] = hist
            self._emit(row)

        return model.register_forward_hook(after_forward)

    def _hook_gradients(self, model: Any, prefix: str, log_freq: int) -> list[Any]:
        handles = []
        for name, param in model.named_parameters():
            if not param.requires_grad:
                continue
            handles.append(param.register_hook(self._gradient_hook(f"gradients/{prefix}{name}", log_freq)))
        return handles

    def _gradient_hook(self, key: str, log_freq: int) -> Callable[[Any], None]:
        calls = [0]

        def on_gradient(grad: Any) -> None:
            calls[0] += 1
            if calls[0] % log_freq:
                return
            hist = tensor_histogram(grad)
            if hist is not None:
                self._emit({key: hist})

        return on_gradient

    def _emit(self, row: dict[str, tuple[list[int], list[float]]]) -> None:
        if not row:
            return
        from trackline.data_types.histogram import Histogram

        self._log({key: Histogram(np_histogram=hist) for key, hist in row.items()}, commit=False)

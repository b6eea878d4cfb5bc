"""run.watch(model): W&B's keys, hooks, log_freq and histogram rules, on real PyTorch models."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pytest

import trackline
from trackline.integrations.torch_watch import tensor_histogram
from trackline.records import codec, kinds
from trackline.records.frames import read_all

torch = pytest.importorskip("torch")


def _history(run: trackline.Run) -> list[tuple[dict[str, Any], bool | None]]:
    """(row, commit) of every history record in the run's log."""
    _, frames, _ = read_all(run.settings.sync_file)
    records = (codec.decode(f.payload) for f in frames)
    return [(r[1], r[3]) for r in records if r[0] == kinds.HISTORY]


def _model() -> Any:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))


def _train(run: trackline.Run, model: Any, steps: int) -> None:
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(steps):
        loss = model(torch.randn(16, 4)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        run.log({"loss": loss.item()})


@pytest.fixture
def run() -> Any:
    r = trackline.init(project="watch", mode="offline", settings=trackline.Settings(silent=True))
    yield r
    r.finish()


def test_gradients_every_log_freq_steps_join_the_next_step(run: trackline.Run) -> None:
    model = _model()
    run.watch(model, log_freq=3)
    _train(run, model, 7)
    rows = _history(run)
    grads = [row for row, commit in rows if any(k.startswith("gradients/") for k in row)]
    assert all(commit is False for row, commit in rows if row in grads)  # commit=False: next step
    keys = {k for row in grads for k in row}
    assert keys == {"gradients/0.weight", "gradients/0.bias", "gradients/2.weight", "gradients/2.bias"}
    assert len(grads) == 2 * 4  # calls 3 and 6 of each parameter's hook, not call 1
    assert not any(k.startswith("parameters/") for row, _ in rows for k in row)  # the default is gradients
    first = next(i for i, (row, _) in enumerate(rows) if "gradients/0.weight" in row)
    assert sum("loss" in row for row, _ in rows[:first]) == 2  # after steps 0 and 1: during step 2
    hist = grads[0][next(iter(grads[0]))]
    assert hist["_type"] == "histogram" and len(hist["bins"]) == len(hist["values"]) + 1


def test_parameters_all_and_none(run: trackline.Run) -> None:
    a, b, c = _model(), _model(), _model()
    weights = dict(a.named_parameters())["0.weight"].detach().numpy().copy()  # as the first forward sees them
    run.watch(a, log="parameters", log_freq=1)
    run.watch(b, log="all", log_freq=1)
    run.watch(c, log=None, log_freq=1)
    _train(run, a, 1)
    _train(run, b, 1)
    _train(run, c, 1)
    keys = {k for row, _ in _history(run) for k in row}
    # prefixes: the first watched model has none, then graph_1, graph_2 (no separator)
    assert "parameters/0.weight" in keys and "gradients/0.weight" not in keys
    assert {"parameters/graph_10.weight", "gradients/graph_10.weight"} <= keys
    assert not any("graph_2" in k for k in keys)
    logged = next(row["parameters/0.weight"] for row, _ in _history(run) if "parameters/0.weight" in row)
    assert sum(logged["values"]) == weights.size
    assert logged["bins"][0] == pytest.approx(float(weights.min())) and logged["bins"][-1] == pytest.approx(
        float(weights.max())
    )


def test_a_list_of_models_and_an_explicit_idx(run: trackline.Run) -> None:
    a, b = _model(), _model()
    run.watch([a, b], log="parameters", log_freq=1, idx=5)
    _train(run, a, 1)
    _train(run, b, 1)
    keys = {k for row, _ in _history(run) for k in row}
    assert "parameters/graph_50.weight" in keys and "parameters/graph_60.weight" in keys


def test_bad_arguments_are_refused_before_any_hook(run: trackline.Run) -> None:
    model = _model()
    with pytest.raises(ValueError, match="log must be one of"):
        run.watch(model, log="weights")
    with pytest.raises(TypeError, match=r"torch\.nn\.Module"):
        run.watch([model, "not a model"])
    with pytest.raises(ValueError, match="log_freq"):
        run.watch(model, log_freq=0)
    _train(run, model, 2)
    assert not any(k.startswith("gradients/") for row, _ in _history(run) for k in row)


def test_unwatch_removes_hooks_and_warns_for_a_model_never_watched(
    run: trackline.Run, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = _model(), _model()
    run.watch([a, b], log="all", log_freq=1)
    run.unwatch(a)
    _train(run, a, 1)
    assert not any(k.startswith(("gradients/", "parameters/")) for row, _ in _history(run) for k in row)
    run.unwatch(_model())
    run.unwatch()
    _train(run, b, 1)
    assert not any(k.startswith(("gradients/", "parameters/")) for row, _ in _history(run) for k in row)
    assert "Sequential model has not been watched" in caplog.text


def test_finish_removes_the_hooks_and_the_global_watch_is_the_runs() -> None:
    run = trackline.init(project="watch", mode="offline", settings=trackline.Settings(silent=True))
    model = _model()
    trackline.watch(model, log_freq=1)  # the module-level name, as W&B scripts call it
    run.finish()
    _train_after = model(torch.randn(2, 4)).sum()
    _train_after.backward()  # hooks gone: nothing logs into the finished run, nothing raises
    assert not [h for p in model.parameters() for h in getattr(p, "_backward_hooks", None) or {}]
    assert not model._forward_hooks


def test_the_histogram_rules() -> None:
    t = torch.tensor([0.0, 1.0, 2.0, 3.0, float("nan"), float("inf")])
    counts, edges = tensor_histogram(t)  # type: ignore[misc]
    assert sum(counts) == 4 and edges[0] == 0.0 and edges[-1] == 3.0 and len(edges) == 65
    assert tensor_histogram(torch.full((5,), 2.5)) == ([5], [2.5, 2.5])  # constant: one bin
    assert tensor_histogram(torch.tensor([float("nan")])) is None
    sparse = torch.sparse_coo_tensor([[0, 3]], [1.0, 2.0], (10,), check_invariants=True)
    counts, edges = tensor_histogram(sparse)  # type: ignore[misc]
    assert sum(counts) == 10 and counts[0] == 8  # the eight implicit zeros, in the bin holding 0
    x = torch.randn(300_000)  # a dense CPU tensor: trackline's counter, numpy's counts exactly
    counts, edges = tensor_histogram(x)  # type: ignore[misc]
    want, want_edges = np.histogram(x.numpy(), bins=64)
    assert counts == want.tolist() and edges == want_edges.tolist()
    counts, edges = tensor_histogram(x.to(torch.bfloat16))  # other tensors: torch.histc on their device
    want, _ = np.histogram(x.to(torch.bfloat16).float().numpy(), bins=64)
    assert sum(counts) == 300_000 and len(edges) == 65 and np.abs(np.asarray(counts) - want).sum() < 3000
    half = torch.tensor([1.0, float("nan"), 3.0, float("-inf")], dtype=torch.bfloat16)  # the torch path's filter
    counts, edges = tensor_histogram(half)  # type: ignore[misc]
    assert sum(counts) == 2 and (edges[0], edges[-1]) == (1.0, 3.0)
    assert tensor_histogram(torch.full((3,), float("nan"), dtype=torch.bfloat16)) is None
    # A float32 bias a few ulps wide (numpy: "too many bins") and diverged weights (max - min
    # overflows): every value is still counted, where the histogram used to be dropped.
    narrow = torch.tensor([1.0, float(np.nextafter(np.float32(1), np.float32(2)))] * 4)
    diverged = torch.tensor([-3e38, 3e38, 0.0], dtype=torch.float32)
    for t in (narrow, diverged):
        counts, edges = tensor_histogram(t)  # type: ignore[misc]
        assert sum(counts) == t.numel() and (edges[0], edges[-1]) == (t.min().item(), t.max().item())


def test_without_pytorch_watch_says_how_to_get_it(run: trackline.Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match="pip install torch"):
        run.watch(object())

"""The public surface is pinned, W&B's names are present, and the layers import one way."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import trackline

SRC = Path(__file__).resolve().parents[2] / "src" / "trackline"

WANDB_NAMES = {
    "init", "log", "finish", "join", "config", "summary", "run", "define_metric", "alert", "save",
    "use_artifact", "log_artifact", "watch", "unwatch", "mark_preempting", "log_model", "use_model",
    "link_model", "Api", "Settings", "Error", "UsageError", "CommError", "AlertLevel", "setup",
    "teardown", "login", "termlog", "termwarn", "termerror",
}


def test_wandb_names_are_exported() -> None:
    missing = sorted(n for n in WANDB_NAMES if not hasattr(trackline, n))
    assert not missing, missing
    assert set(trackline.__all__) >= WANDB_NAMES


def test_everything_in_all_resolves() -> None:
    for name in trackline.__all__:
        assert hasattr(trackline, name), name


def test_run_has_the_wandb_methods_and_properties() -> None:
    from trackline.sdk.run import Run

    for name in (
        "log", "config", "summary", "define_metric", "finish", "alert", "status", "mark_preempting", "watch", "unwatch",
        "pin_config_keys", "display", "to_html", "write_logs", "settings", "dir", "config_static",
        "name", "notes", "tags", "id", "sweep_id", "path", "start_time", "resumed", "offline",
        "disabled", "group", "job_type", "project", "project_url", "sweep_url", "url", "entity", "step",
    ):
        assert hasattr(Run, name) or name in ("summary",), name


def test_import_is_light() -> None:
    code = "import sys, trackline; print(','.join(m for m in ('numpy','sqlalchemy','rich','pandas','PIL') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_the_command_line_does_not_import_the_sdk() -> None:
    """``trackline.cli`` is a subpackage, so every command imports ``trackline`` first: the
    SDK (``init`` and what it needs, ~50 ms) comes only when a name of it is used."""
    code = ("import sys, trackline.cli.main; print(sorted(m for m in sys.modules if m.startswith('trackline.sdk')))\n"
            "import trackline; trackline.init; print(sorted(m for m in ('trackline.sdk.init', 'trackline.sdk.run') "
            "if m in sys.modules)); print(trackline.__version__, 'init' in dir(trackline))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "['trackline.sdk', 'trackline.sdk.preinit']"
    assert out[1] == "['trackline.sdk.init', 'trackline.sdk.run']"
    assert out[2] == f"{trackline.__version__} True"


def test_star_import_gives_the_lazy_names() -> None:
    namespace: dict[str, object] = {}
    exec("from trackline import *", namespace)
    assert callable(namespace["init"]) and namespace["AlertLevel"] is trackline.AlertLevel


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return {n for n in names if n.startswith("trackline")}


def test_layers_import_one_way() -> None:
    """storage/runstate/records never import sdk; nothing but cli imports server or cli."""
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        imported = _imports(path)
        if rel.startswith(("storage/", "runstate/", "records/")):
            assert not any(m.startswith("trackline.sdk") for m in imported), (rel, imported)
        if not rel.startswith(("cli/", "server/")):
            assert not any(m.startswith(("trackline.server", "trackline.cli")) for m in imported), (rel, imported)


def test_torch_is_imported_only_by_watch() -> None:
    """DESIGN: torch only inside integrations, imported lazily."""
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        tree = ast.parse(path.read_text())
        top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        names = {a.name for n in top if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module for n in top if isinstance(n, ast.ImportFrom) and n.module}
        assert not any(m == "torch" or m.startswith("torch.") for m in names), rel

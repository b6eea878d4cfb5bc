"""The front end's own checks, run from pytest so CI runs them: Vitest and svelte-check."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.ui.conftest import REPO

UI_DIR = REPO / "ui"


@pytest.fixture(scope="module")
def node_modules(ui_built: None) -> None:
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    if not (UI_DIR / "node_modules").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=UI_DIR, check=True, capture_output=True, timeout=600)


def test_vitest_unit_tests_pass(node_modules: None) -> None:
    proc = subprocess.run(["npx", "vitest", "run"], cwd=UI_DIR, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout


def test_svelte_check_finds_no_type_errors_or_warnings(node_modules: None) -> None:
    proc = subprocess.run(
        ["npx", "svelte-check", "--tsconfig", "./tsconfig.json", "--fail-on-warnings", "--output", "machine"],
        cwd=UI_DIR, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]

"""The README's main job: examples/demo_train.py tracks a run into the embedded store."""

from __future__ import annotations

import subprocess
from pathlib import Path

import trackline
from tests.conftest import PYTHON, REPO, child_env


def test_the_demo_tracks_metrics_and_media_into_the_store(tmp_path: Path) -> None:
    res = subprocess.run([PYTHON, str(REPO / "examples" / "demo_train.py")], cwd=tmp_path / "work",
                         env=child_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "is in the store: http://127.0.0.1:" in res.stdout
    run = trackline.Api().runs("trackline-demo")[0]
    assert run.state == "finished"
    assert sum(1 for _ in run.scan_history(keys=["train/loss"])) == 2000
    assert run.summary["val/loss"]["min"] <= run.summary["val/loss"]["last"]
    rows = [r for r in run.scan_history(keys=["val/prediction", "val/weights"])]
    assert len(rows) == 5
    assert all(r["val/prediction"]["_type"] == "image-file" for r in rows)
    assert all(r["val/weights"]["_type"] == "histogram" and len(r["val/weights"]["values"]) == 64 for r in rows)
    assert {f.name for f in run.files()} >= {r["val/prediction"]["path"] for r in rows}

"""Media read back through trackline.Api: objects from summary and media(), JSON in history()."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import trackline


def logged_run() -> trackline.Run:
    run = trackline.init(project="media-api")
    for step in range(3):
        run.log({"img": trackline.Image(np.full((6, 4, 3), step * 50, dtype=np.uint8), caption=f"s{step}")})
    cells = trackline.Table(columns=["id", "img"])
    cells.add_data(1, trackline.Image(np.full((2, 2, 3), 77, dtype=np.uint8)))
    incr = trackline.Table(columns=["i"], log_mode="INCREMENTAL")
    for i in range(3):
        incr.add_data(i)
        run.log({"incr": incr})
    run.log({
        "cells": cells,
        "frame": pd.DataFrame({"x": np.arange(1000), "y": np.linspace(0, 1, 1000)}),
        "clip": trackline.Audio(np.zeros(800), sample_rate=8000),
        "batch": [trackline.Image(np.zeros((2, 2)), caption="a"), trackline.Image(np.ones((2, 2)), caption="b")],
        "page": trackline.Html("<p>hello</p>"),
        "hist": trackline.Histogram([1, 2, 3]),
    })
    run.finish()
    return run


def test_summary_returns_media_objects_and_history_keeps_references(tmp_path: Path) -> None:
    run = logged_run()
    api_run = trackline.Api().run(run.path)
    img = api_run.summary["img"]
    assert isinstance(img, trackline.Image) and img.caption == "s2"
    assert np.asarray(img.image).tolist() == np.full((6, 4, 3), 100, dtype=np.uint8).tolist()
    written = img.download(str(tmp_path))
    assert Path(written) == tmp_path / img._path and Path(written).read_bytes() == img._read_bytes()
    assert api_run.summary_metrics["img"]["_type"] == "image-file"  # the raw JSON stays available
    assert api_run.summary["hist"]["_type"] == "histogram"  # inline values are unchanged
    rows = list(api_run.scan_history(keys=["img"]))
    assert [r["img"]["_type"] for r in rows] == ["image-file"] * 3
    frame = api_run.history(keys=["img"])
    assert isinstance(frame["img"].iloc[0], dict)


def test_media_lists_every_step_as_objects() -> None:
    run = logged_run()
    api_run = trackline.Api().run(run.path)
    steps = api_run.media("img")
    assert [s for s, _ in steps] == [0, 1, 2]
    assert [np.asarray(i.image)[0, 0, 0] for _, i in steps] == [0, 50, 100]
    batch = api_run.summary["batch"]
    assert [b.caption for b in batch] == ["a", "b"] and all(isinstance(b, trackline.Image) for b in batch)
    audio = api_run.summary["clip"]
    assert isinstance(audio, trackline.Audio) and audio.sample_rate == 8000
    assert api_run.summary["page"].html.endswith("<p>hello</p>")


def test_tables_read_back_with_dataframes_and_media_cells() -> None:
    run = logged_run()
    api_run = trackline.Api().run(run.path)
    frame = api_run.summary["frame"].get_dataframe()
    assert frame.shape == (1000, 2) and frame["x"].iloc[-1] == 999
    cells = api_run.summary["cells"]
    cell = cells.data[0][1]
    assert isinstance(cell, trackline.Image) and np.asarray(cell.image)[0, 0, 0] == 77
    incr = api_run.summary["incr"]
    assert incr.get_column("i") == [0, 1, 2]  # every increment, in order

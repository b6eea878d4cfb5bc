"""run.log / run.summary with data types: file naming, run files, JSON references, bad input."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trackline
from tests.unit.data_types.conftest import last_row, records
from trackline.data_types.base import media_filename
from trackline.records import kinds


def pixels(value: int, shape: tuple[int, ...] = (4, 4, 3)) -> np.ndarray:
    return np.full(shape, value, dtype=np.uint8)


def test_file_name_is_key_step_sha20(run: trackline.Run) -> None:
    img = trackline.Image(pixels(7), caption="seven")
    run.log({"loss": 0.5})
    run.log({"sample": img})
    ref = last_row(run)["sample"]
    assert ref == {
        "_type": "image-file",
        "path": f"media/images/sample_1_{img.sha256[:20]}.png",  # type: ignore[index]
        "sha256": img.sha256,
        "size": len(img._read_bytes()),
        "caption": "seven",
        "format": "png",
        "width": 4,
        "height": 4,
    }
    assert (Path(run.dir) / ref["path"]).read_bytes() == img._read_bytes()


def test_explicit_step_names_the_file(run: trackline.Run) -> None:
    run.log({"img": trackline.Image(pixels(1))}, step=41)
    assert "_41_" in last_row(run)["img"]["path"]


def test_keys_with_slashes_make_folders_and_dots_are_neutralised() -> None:
    assert media_filename("val/pred", 3, "abc", ".png") == "val/pred_3_abc.png"
    assert media_filename("/../x/./y", 0, "i", ".png") == "_/x/_/y_0_i.png"
    assert media_filename("a//b", 0, "i", ".png") == "a/b_0_i.png"


def test_files_record_comes_before_the_history_record(run: trackline.Run) -> None:
    run.log({"a/b": trackline.Image(pixels(3))})
    files = records(run, kinds.FILES)[-1][1]
    path = last_row(run)["a/b"]["path"]
    assert path.startswith("media/images/a/b_0_")
    assert [f["path"] for f in files] == [path] and files[0]["policy"] == "now"
    from trackline.records import codec
    from trackline.records.frames import read_all

    _, frames, _ = read_all(run.settings.sync_file)
    kinds_in_order = [codec.decode(f.payload)[0] for f in frames]
    assert kinds_in_order.index(kinds.FILES) < len(kinds_in_order) - 1 - kinds_in_order[::-1].index(kinds.HISTORY)


def test_nested_media_use_the_innermost_key(run: trackline.Run) -> None:
    run.log({"outer": {"inner": trackline.Image(pixels(9)), "x": 1}})
    row = last_row(run)
    assert row["outer"]["x"] == 1 and row["outer"]["inner"]["path"].startswith("media/images/inner_0_")


def test_list_of_images_is_one_images_separated_value(run: trackline.Run) -> None:
    imgs = [trackline.Image(pixels(i), caption=f"c{i}") for i in range(3)]
    run.log({"batch": imgs})
    ref = last_row(run)["batch"]
    assert ref["_type"] == "images/separated"
    assert (ref["count"], ref["width"], ref["height"], ref["format"]) == (3, 4, 4, "png")
    assert ref["captions"] == ["c0", "c1", "c2"]
    assert all((Path(run.dir) / p).is_file() for p in ref["filenames"])


def test_more_than_108_images_are_capped_with_a_warning(run: trackline.Run, caplog: pytest.LogCaptureFixture) -> None:
    imgs = [trackline.Image(pixels(i % 256, (2, 2))) for i in range(110)]
    with caplog.at_level(logging.WARNING, logger="trackline"):
        run.log({"many": imgs})
    assert last_row(run)["many"]["count"] == 108
    assert any("Only 108 Image will be uploaded" in r.getMessage() for r in caplog.records)


def test_masks_and_boxes_are_written_with_the_image(run: trackline.Run) -> None:
    img = trackline.Image(
        pixels(0),
        masks={"pred": {"mask_data": np.eye(4, dtype=int), "class_labels": {0: "bg", 1: "fg"}}},
        boxes={"gt": {"box_data": [{"position": {"minX": 0, "maxX": 2, "minY": 0, "maxY": 2}, "class_id": 1}],
                      "class_labels": {1: "fg"}}},
    )
    run.log({"seg": img})
    ref = last_row(run)["seg"]
    mask, box = ref["masks"]["pred"], ref["boxes"]["gt"]
    assert mask["_type"] == "mask" and mask["path"].startswith("media/images/mask/seg_0_") and mask["path"].endswith(".mask.png")
    assert mask["class_labels"] == {"0": "bg", "1": "fg"}
    assert box["_type"] == "boxes2D" and box["path"].startswith("media/metadata/boxes2D/seg_0_")
    assert ref["classes"]["class_set"] == [{"id": 0, "name": "bg"}, {"id": 1, "name": "fg"}]
    for p in (ref["path"], mask["path"], box["path"]):
        assert (Path(run.dir) / p).is_file()


def test_identical_images_share_one_file_name_per_step(run: trackline.Run) -> None:
    run.log({"same": [trackline.Image(pixels(5)), trackline.Image(pixels(5))]})
    ref = last_row(run)["same"]
    assert ref["filenames"][0] == ref["filenames"][1]
    assert len(list((Path(run.dir) / "media" / "images").glob("same_*"))) == 1


def test_relogging_one_image_at_a_new_step_gives_a_new_name(run: trackline.Run) -> None:
    img = trackline.Image(pixels(8))
    run.log({"img": img})
    run.log({"img": img})
    paths = [r[1]["img"]["path"] for r in records(run, kinds.HISTORY)]
    assert paths[0].startswith("media/images/img_0_") and paths[1].startswith("media/images/img_1_")


def test_summary_media_are_named_summary(run: trackline.Run) -> None:
    run.summary["best"] = trackline.Image(pixels(4))
    run.summary.update({"nested": {"pic": trackline.Image(pixels(6))}})
    updates = [u for r in records(run, kinds.SUMMARY) for u in r[1]]
    best = next(v for p, v in updates if p == ["best"])
    assert best["path"].startswith("media/images/best_summary_")
    nested = next(v for p, v in updates if p == ["nested"])
    assert nested["pic"]["path"].startswith("media/images/pic_summary_")


def test_dataframe_logged_directly_becomes_a_table(run: trackline.Run) -> None:
    run.log({"df": pd.DataFrame({"a": [1, 2, 3]})})
    ref = last_row(run)["df"]
    assert ref["_type"] == "table-file" and (ref["nrows"], ref["ncols"]) == (3, 1)
    assert ref["path"].endswith(".table.parquet")


def test_bad_media_in_log_warns_names_the_key_and_keeps_the_rest(
    run: trackline.Run, caplog: pytest.LogCaptureFixture
) -> None:
    class Exploding(trackline.Image):  # type: ignore[misc,valid-type]
        def _bind_json(self, binder, key, step):  # type: ignore[no-untyped-def]
            raise OSError("disk full")

    with caplog.at_level(logging.WARNING, logger="trackline"):
        run.log({"good": trackline.Image(pixels(1)), "bad": Exploding(pixels(2)), "loss": 0.1, "obj": object()})
    row = last_row(run)
    assert set(row) == {"good", "loss"}
    text = " ".join(r.getMessage() for r in caplog.records)
    assert "'bad'" in text and "disk full" in text and "'obj'" in text


def test_plot_chart_logs_its_table_and_config(run: trackline.Run) -> None:
    table = trackline.Table(columns=["x", "y"], data=[[1, 2], [2, 4]])
    run.log({"curve": trackline.plot.line(table, "x", "y", title="T")})
    row = last_row(run)
    assert "curve" not in row and row["curve_table"]["_type"] == "table-file"
    config = records(run, kinds.CONFIG)[-1][1]
    panel = config["_wandb"]["visualize"]["curve"]
    assert panel["panel_type"] == "Vega2"
    assert panel["panel_config"]["panelDefId"] == "wandb/line/v0"
    assert panel["panel_config"]["fieldSettings"] == {"x": "x", "y": "y", "stroke": None}
    query = panel["panel_config"]["userQuery"]["queryFields"][0]["fields"][3]
    assert query["args"] == [{"name": "tableKey", "value": "curve_table"}]


def test_split_table_goes_under_custom_chart_tables(run: trackline.Run) -> None:
    table = trackline.Table(columns=["l", "v"], data=[["a", 1]])
    run.log({"b": trackline.plot.bar(table, "l", "v", split_table=True)})
    assert "Custom Chart Tables/b_table" in last_row(run)


def test_plain_scalar_rows_never_import_the_media_package() -> None:
    import subprocess
    import sys

    code = (
        "import sys, trackline\n"
        "run = trackline.init(project='p', mode='offline')\n"
        "run.log({'a': 1, 'b': 2.5, 's': 'x'})\n"
        "run.finish()\n"
        "print('trackline.data_types.binding' in sys.modules, 'PIL' in sys.modules)\n"
    )
    from tests.conftest import child_env

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=child_env(Path.cwd()), cwd=Path.cwd())
    assert out.stdout.split() == ["False", "False"]

"""Artifact pages in real Chromium: collections, versions, the file tree with preview and
download, the manifest, the lineage graph, and the model registry."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ui.conftest import Page, serve_seeded

SEED = r"""
import os, trackline
os.makedirs("data/images", exist_ok=True)
for i in range(3):
    with open(f"data/images/img{i}.txt", "w") as f:
        f.write(f"image {i}\n")
with open("data/labels.csv", "w") as f:
    f.write("id,label\n0,cat\n1,dog\n")
prep = trackline.init(project="pets", name="prepare", job_type="prep")
ds = trackline.Artifact("pets-data", "dataset", description="three pets", metadata={"rows": 3, "source": "camera"})
ds.add_dir("data")
prep.log_artifact(ds, aliases=["raw"]).wait()
prep.finish()
train = trackline.init(project="pets", name="train", job_type="train")
train.config.update({"data": "wandb-artifact://pets/pets-data:raw"})  # W&B's config artifact: used by the run
with open("model.bin", "wb") as f:
    f.write(b"\x00weights")
train.link_model("model.bin", "pet-classifier", name="pet-model", aliases=["staging"])
train.finish()
print(prep.entity)
"""


@dataclass
class ArtUI:
    url: str
    entity: str

    def page_url(self, path: str) -> str:
        return f"{self.url}/{self.entity}/pets/{path}"


@pytest.fixture(scope="module")
def art_ui(ui_built: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArtUI]:
    with serve_seeded(tmp_path_factory.mktemp("art-ui"), SEED) as (url, entity):
        yield ArtUI(url=url, entity=entity)


def test_collections_collection_and_version_overview(art_ui: ArtUI, page: Page) -> None:
    p: Any = page.page
    p.goto(art_ui.page_url("artifacts"))
    table = p.get_by_test_id("artifact-collections")
    table.wait_for()
    assert "pets-data" in table.inner_text() and "dataset" in table.inner_text()
    assert "pet-model" in table.inner_text() and "model" in table.inner_text()
    p.get_by_label("Artifact type").select_option("model")
    p.wait_for_function("() => !document.querySelector('[data-collection=\"pets-data\"]')")
    p.get_by_label("Artifact type").select_option("")
    p.locator('[data-collection="pets-data"] a').click()
    p.get_by_test_id("artifact-versions").wait_for()
    assert p.get_by_test_id("collection-name").inner_text() == "pets-data"
    row = p.locator('[data-version="v0"]')
    assert "raw" in row.inner_text() and "latest" in row.inner_text() and "prepare" in row.inner_text()
    row.locator("a").first.click()
    p.get_by_test_id("version-overview").wait_for()
    overview = p.get_by_test_id("version-overview").inner_text()
    for text in ("pets-data:v0", "three pets", "rows", "camera", "prepare", "4 files"):
        assert text in overview, text
    assert p.get_by_test_id("used-by").inner_text().strip() == "train"
    page.shot("artifact-version-overview")


def test_file_tree_preview_and_download(art_ui: ArtUI, page: Page) -> None:
    p: Any = page.page
    p.goto(art_ui.page_url("artifacts/dataset/pets-data/v0?tab=files"))
    files = p.get_by_test_id("version-files")
    files.wait_for()
    assert files.locator('[data-folder="images"]').count() == 1
    assert files.locator('[data-path="images/img0.txt"]').count() == 0  # folders start closed
    files.locator('[data-folder="images"]').click()
    files.locator('[data-path="images/img2.txt"]').click()
    p.wait_for_function("() => document.querySelector('[data-testid=preview-text]')?.textContent === 'image 2\\n'")
    assert "img2.txt" in p.url  # the selected file is in the URL
    files.locator('[data-path="labels.csv"]').click()
    p.wait_for_function("() => document.querySelector('[data-testid=preview-text]')?.textContent.includes('0,cat')")
    href = p.get_by_test_id("download").get_attribute("href")
    got = httpx.get(art_ui.url + href, timeout=30)
    assert got.status_code == 200 and got.text == "id,label\n0,cat\n1,dog\n"
    assert "attachment" in got.headers["content-disposition"]
    page.shot("artifact-files")
    p.reload()
    p.wait_for_function("() => document.querySelector('[data-testid=preview-text]')?.textContent.includes('0,cat')")


def test_manifest_tab(art_ui: ArtUI, page: Page) -> None:
    p: Any = page.page
    p.goto(art_ui.page_url("artifacts/dataset/pets-data/raw"))
    p.get_by_role("tab", name="Manifest").click()
    p.wait_for_function("() => document.querySelector('[data-testid=manifest]')?.textContent.includes('storagePolicy')")
    text = p.get_by_test_id("manifest").inner_text()
    assert '"images/img1.txt"' in text and '"digest"' in text and '"version": 1' in text


def test_lineage_graph(art_ui: ArtUI, page: Page) -> None:
    p: Any = page.page
    p.goto(art_ui.page_url("artifacts/dataset/pets-data/v0?tab=lineage"))
    graph = p.get_by_test_id("lineage-graph")
    graph.wait_for()
    kinds = {graph.locator(f'[data-kind="{k}"]').count() for k in ("run", "artifact")}
    assert kinds and min(kinds) >= 1
    labels = graph.inner_text()
    for text in ("prepare", "pets-data:v0", "train", "pet-model:v0"):
        assert text in labels, text
    assert graph.locator("path.edge").count() >= 3
    page.shot("artifact-lineage")
    graph.locator('[data-kind="run"]', has_text="train").click()
    p.wait_for_selector('[data-testid="run-name"]')
    assert p.get_by_test_id("run-name").inner_text() == "train"


def test_model_registry(art_ui: ArtUI, page: Page) -> None:
    p: Any = page.page
    p.goto(art_ui.url + "/registry")
    model = p.locator('[data-model="pet-classifier"]')
    model.wait_for()
    row = model.locator('[data-version="v0"]')
    assert "staging" in row.inner_text() and "pet-model:v0" in row.inner_text()
    page.shot("model-registry")
    row.locator("a", has_text="pet-model:v0").click()
    p.get_by_test_id("version-overview").wait_for()
    assert "pet-model:v0" in p.get_by_test_id("version-name").inner_text()
    assert Path(p.url).name.startswith("v0")


def test_run_page_artifacts_tab(art_ui: ArtUI, page: Page) -> None:
    p: Any = page.page
    version = httpx.get(f"{art_ui.url}/api/v1/projects/{art_ui.entity}/pets/artifacts/pets-data/v0", timeout=30).json()
    train = version["used_by"][0]["run_id"]
    p.goto(art_ui.page_url(f"runs/{train}"))
    config = p.get_by_test_id("config")
    config.wait_for()
    assert "pets-data:v0" in config.inner_text()  # the config's artifact reference, by name and version
    p.get_by_role("tab", name="Artifacts").click()
    used = p.get_by_test_id("run-artifacts-used")
    used.wait_for()
    assert "?tab=artifacts" in p.url
    row = used.locator('[data-artifact="pets-data:v0"]')
    assert "dataset" in row.inner_text() and "raw" in row.inner_text() and "latest" in row.inner_text()
    logged = p.get_by_test_id("run-artifacts-logged")
    assert logged.locator('[data-artifact="pet-model:v0"]').count() == 1
    assert used.locator("[data-artifact]").count() == 1 and logged.locator("[data-artifact]").count() == 1
    page.shot("run-artifacts")
    row.locator("a").click()
    p.get_by_test_id("version-overview").wait_for()
    assert p.url.endswith("/pets/artifacts/dataset/pets-data/v0")
    p.goto(art_ui.page_url(f"runs/{version['logged_by']['run_id']}?tab=artifacts"))
    p.get_by_test_id("run-artifacts-logged").locator('[data-artifact="pets-data:v0"]').wait_for()
    assert "used no artifacts" in p.get_by_test_id("run-artifacts-used").inner_text()

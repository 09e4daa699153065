"""Notebook conventions: no outputs, kernelspec, the Colab setup cell, the table of contents."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO_URL = CONFIG["repository"]["url"]


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(toc.get("parts", []))
    walk(toc.get("chapters", []))
    return files


def test_there_are_lessons():
    assert len(NOTEBOOKS) >= 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_outputs_or_execution_counts(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_valid_and_kernelspec_kept(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.metadata["kernelspec"]["language"] == "python"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_name_pattern(path):
    assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name), "lessons are named NN_name.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_cell_is_the_colab_setup_cell(path):
    nb = nbformat.read(path, as_version=4)
    cell = nb.cells[0]
    src = cell.source
    assert cell.cell_type == "code"
    assert "remove-cell" in cell.metadata.get("tags", []), "the setup cell is hidden in the book"
    assert '"google.colab" in sys.modules' in src, "it only installs inside Colab"
    assert f"git+{REPO_URL}@main" in src, f"it installs from the repository in _config.yml ({REPO_URL})"
    assert "%pip install" in src
    install_lines = [ln for ln in src.splitlines() if "pip install" in ln]
    assert not any(re.search(r"\btorch(vision)?\b", ln) for ln in install_lines), "never reinstall torch in Colab"
    assert not any("--upgrade" in ln or "-U " in ln for ln in install_lines)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_title_then_the_imports_cell_that_sets_device_and_seed(path):
    """After the hidden setup cell the reader sees the lesson's title, then the imports cell."""
    nb = nbformat.read(path, as_version=4)
    title = nb.cells[1]
    assert title.cell_type == "markdown" and re.match(rf"# {int(path.name[:2])}\. \S", title.source), \
        "the second cell is the title, '# N. Title'"
    src = nb.cells[2].source
    assert nb.cells[2].cell_type == "code"
    assert "import gan_tutor as gt" in src
    assert "device = gt.get_device()" in src
    assert "gt.seed_everything(0)" in src


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_colab_asks_for_a_gpu(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.get("accelerator") == "GPU"
    assert "colab" in nb.metadata


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_myst_directives_in_notebooks(path):
    """Directives do not render in Colab; notebooks use plain Markdown and $-math only."""
    nb = nbformat.read(path, as_version=4)
    for c in nb.cells:
        if c.cell_type == "markdown":
            assert not re.search(r"^(```|:::)\{", c.source, re.M), f"MyST directive in {path.name}: {c.source[:80]}"
            assert "{cite}" not in c.source and "{prf:ref}" not in c.source


def test_every_notebook_is_in_the_toc_and_every_toc_entry_exists():
    listed = toc_files()
    for entry in listed:
        matches = [p for p in (ROOT / f"{entry}.md", ROOT / f"{entry}.ipynb", ROOT / entry) if p.is_file()]
        assert matches, f"_toc.yml lists {entry!r}, which does not exist"
    for nb in NOTEBOOKS:
        assert f"notebooks/{nb.stem}" in listed, f"{nb.name} is missing from _toc.yml"
    pages = sorted((ROOT / "book").glob("*.md"))
    for page in pages:
        assert f"book/{page.stem}" in listed, f"{page.name} is missing from _toc.yml"


def test_config_has_what_the_book_needs():
    assert CONFIG["execute"]["execute_notebooks"] == "cache"
    assert CONFIG["execute"]["allow_errors"] is False
    assert CONFIG["execute"]["timeout"] > 0
    assert {"dollarmath", "amsmath", "colon_fence"} <= set(CONFIG["parse"]["myst_enable_extensions"])
    assert {"sphinx_proof", "sphinx_exercise"} <= set(CONFIG["sphinx"]["extra_extensions"])
    assert CONFIG["repository"]["branch"] == "main"
    assert CONFIG["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    for bib in CONFIG["bibtex_bibfiles"]:
        assert (ROOT / bib).is_file()

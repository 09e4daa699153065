"""The book builds strictly, and the strict build really fails when a lesson cell raises."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
JB = str(Path(sys.executable).parent / "jupyter-book")
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

pytestmark = pytest.mark.slow


def build(source: Path, out: Path, config: Path | None = None, toc: Path | None = None) -> subprocess.CompletedProcess:
    cmd = [JB, "build", str(source), "--path-output", str(out), "--warningiserror", "--keep-going", "--all"]
    if config is not None:
        cmd += ["--config", str(config)]
    if toc is not None:
        cmd += ["--toc", str(toc)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def unexecuted_book(tmp_path_factory) -> Path:
    """The whole book built with Sphinx, notebooks not executed, warnings as errors."""
    tmp = tmp_path_factory.mktemp("book")
    cfg = json.loads(json.dumps(CONFIG))
    cfg["execute"]["execute_notebooks"] = "off"
    (tmp / "_config.yml").write_text(yaml.safe_dump(cfg))
    res = build(ROOT, tmp / "out", config=tmp / "_config.yml")
    assert res.returncode == 0, f"strict Sphinx build failed:\n{res.stdout[-4000:]}\n{res.stderr[-4000:]}"
    return tmp / "out" / "_build" / "html"


def test_book_builds_without_warnings(unexecuted_book):
    assert (unexecuted_book / "index.html").is_file()
    for page in ("book/intro", "book/how-to-run", "book/proofs", "book/api"):
        if (ROOT / f"{page}.md").exists():
            assert (unexecuted_book / f"{page}.html").is_file()


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_each_lesson_has_a_page_with_a_colab_button(unexecuted_book, nb):
    html = (unexecuted_book / "notebooks" / f"{nb.stem}.html").read_text()
    repo = CONFIG["repository"]["url"].removeprefix("https://github.com/")
    colab = f"https://colab.research.google.com/github/{repo}/blob/main/notebooks/{nb.name}"
    assert colab in html
    assert "```{" not in html and ":::{" not in html, "raw MyST directive text on the page"


def test_api_page_documents_the_package(unexecuted_book):
    html = (unexecuted_book / "book" / "api.html").read_text()
    for name in ("exact_w1", "train_gan", "gradient_penalty", "power_iteration", "get_device"):
        assert f'id="gan_tutor.' in html and name in html


def _throwaway_book(tmp: Path, cell_source: str) -> Path:
    """A copy of the book's configuration with one intro page and one lesson."""
    (tmp / "book").mkdir(parents=True)
    shutil.copy(ROOT / "_config.yml", tmp / "_config.yml")
    for bib in CONFIG["bibtex_bibfiles"]:
        shutil.copy(ROOT / bib, tmp / bib)
    (tmp / "book" / "intro.md").write_text("# Throwaway\n\nA copy of the book's configuration.\n")
    (tmp / "notebooks").mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A lesson"), nbformat.v4.new_code_cell(cell_source)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp / "notebooks" / "lesson.ipynb")
    (tmp / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n  - file: notebooks/lesson\n")
    return tmp


def test_strict_build_fails_when_a_cell_raises(tmp_path):
    book = _throwaway_book(tmp_path / "bad", 'raise RuntimeError("a lesson check failed")')
    res = build(book, book)
    assert res.returncode != 0, "a cell that raises must fail `make book`"
    assert "RuntimeError" in res.stdout + res.stderr or "Executing notebook failed" in res.stdout + res.stderr


def test_same_throwaway_book_builds_when_the_cell_is_fine(tmp_path):
    book = _throwaway_book(tmp_path / "good", 'print("fine")')
    res = build(book, book)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "fine" in (book / "_build" / "html" / "notebooks" / "lesson.html").read_text()


def test_bibliography_is_author_year_with_one_link_per_entry(unexecuted_book):
    """Issue 20, item 8: labels like [Lin, 1991], never alpha labels ([GAA+17]), and no entry
    repeats its URL next to its DOI or arXiv identifier."""
    html = (unexecuted_book / "book" / "references.html").read_text()
    entries = re.findall(r'<div class="citation"[^>]*>(.*?)</div>', html, re.DOTALL)
    assert len(entries) >= 40
    for entry in entries:
        text = re.sub(r"<[^>]+>", "", entry)
        assert re.match(r"\s*\[[^\]]+, (\d{4}[a-z]?|n\.d\.)\]", text), text[:80]
        links = re.findall(r'<a class="reference external" href="([^"]+)"', entry)
        assert len(links) <= 1, links

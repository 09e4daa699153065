"""The browser reader's path, checked on the built book (run `make book` first).

Run with `make browser-check`. Needs Debian's Chromium (`apt-get install chromium`). For every
lesson page it takes a full-page screenshot with headless Chromium into `_build/screenshots/`,
and checks in the DOM that Chromium rendered: the page has its figures, its Colab launch button
points at the notebook on branch main, the maths is marked up for MathJax (which loads from a
CDN, so it typesets only online), and no raw MyST directive text leaked through. Not part of `make test`, which builds the book without executing the lessons.
"""

from __future__ import annotations

import html as htmllib
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--virtual-time-budget=8000"]

pytestmark = [
    pytest.mark.skipif(not (HTML / "index.html").exists(), reason="run `make book` first"),
    pytest.mark.skipif(CHROMIUM is None, reason="install Chromium: apt-get install chromium"),
]


def chromium(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def visible_text(dom: str) -> str:
    dom = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.S | re.I)
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", dom))


@pytest.mark.parametrize("nb", LESSONS, ids=lambda p: p.stem)
def test_lesson_page_in_chromium(nb, tmp_path):
    page = HTML / "notebooks" / f"{nb.stem}.html"
    assert page.exists(), f"{page} missing: did `make book` finish?"
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / f"{nb.stem}.png"
    res = chromium([f"--screenshot={shot}", "--window-size=1280,4000", page.as_uri()], tmp_path)
    assert shot.exists() and shot.stat().st_size > 20_000, res.stderr[-2000:]
    dom = chromium(["--dump-dom", page.as_uri()], tmp_path).stdout
    assert dom, "Chromium returned an empty DOM"
    # figures: PNG outputs of the executed lesson
    figures = re.findall(r'<img[^>]+src="[^"]*(?:_images/|data:image/png)[^"]*"', dom)
    assert figures, f"{nb.stem}: no figures on the page"
    # the Colab launch button
    repo = CONFIG["repository"]["url"].removeprefix("https://github.com/")
    assert f"https://colab.research.google.com/github/{repo}/blob/main/notebooks/{nb.name}" in dom
    # maths: marked up for MathJax, and MathJax loaded by the page. MathJax itself comes from a
    # CDN, so offline it cannot typeset; online, typesetting shows as mjx-container elements.
    if "$" in nb.read_text():
        assert 'class="math notranslate nohighlight"' in dom, f"{nb.stem}: no maths markup"
        assert re.search(r'<script[^>]+mathjax', dom, re.I), f"{nb.stem}: the page does not load MathJax"
    text = visible_text(dom)
    for raw in ("```{", ":::{", "{prf:", "{cite}", "{math}"):
        assert raw not in text, f"{nb.stem}: raw MyST text {raw!r} on the page"
    assert "Traceback (most recent call last)" not in text, f"{nb.stem}: a traceback was rendered"


@pytest.mark.parametrize("page", ["book/intro", "book/proofs", "book/results"])
def test_book_page_in_chromium(page, tmp_path):
    path = HTML / f"{page}.html"
    if not path.exists():
        pytest.skip(f"{page} not built")
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / f"{page.replace('/', '_')}.png"
    chromium([f"--screenshot={shot}", "--window-size=1280,3000", path.as_uri()], tmp_path)
    assert shot.exists() and shot.stat().st_size > 20_000
    text = visible_text(chromium(["--dump-dom", path.as_uri()], tmp_path).stdout)
    for raw in ("```{", ":::{", "{prf:", "{cite}"):
        assert raw not in text, f"{page}: raw MyST text {raw!r} on the page"

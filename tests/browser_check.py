"""The browser reader's path, checked on the built book (run `make book` first, then `make browser-check`).

Headless Chromium (Debian's `chromium`, or Playwright's own build) drives every page of
`_build/html` through Playwright. MathJax 3 is installed from npm into `.browser/` by the Makefile
and served in place of the CDN copy, so the maths typesets with no network; every other request
that leaves the machine is blocked and reported (a page must not need a CDN: Font Awesome, ...).

Per page, at 1280 px (desktop) and 390 px (phone):

* MathJax typeset the page and reported no error (no `mjx-merror`);
* no raw TeX in the visible text outside maths (`$...$`, `\\mathbb`, `\\frac`, ...);
* nothing scrolls the page sideways at 390 px (document.scrollingElement.scrollWidth <= clientWidth),
  and no inline formula runs past the column where the reader cannot reach it;
* no display equation, code cell or printed output scrolls sideways in the column at 1280 px;
* no output of a worked solution is visible before its toggle is opened, and opening it shows it;
* no raw MyST directive text, no rendered traceback; lessons have figures and their Colab button;
* full-page screenshots in `_build/screenshots/<page>_1280.png` and `<page>_390.png`.

And on one lesson: at 390 px tapping the sidebar button opens the sidebar and the contents button
opens the page's contents; at 1280 px the sidebar button collapses the sidebar.

Measurements (counts, widths) are written to `_build/screenshots/report.json`.
Not part of `make test`: it needs the built book, a browser and MathJax from npm.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HTML = Path(os.environ.get("GAN_TUTOR_BOOK_HTML", ROOT / "_build" / "html"))
SHOTS = Path(os.environ.get("GAN_TUTOR_SHOTS", ROOT / "_build" / "screenshots"))
MATHJAX = Path(os.environ.get("GAN_TUTOR_MATHJAX", ROOT / ".browser" / "node_modules" / "mathjax"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))
BOOK_PAGES = sorted(p.stem for p in (ROOT / "book").glob("*.md"))
PAGES = [f"notebooks/{p.stem}" for p in LESSONS] + [f"book/{p}" for p in BOOK_PAGES]
CHROMIUM = os.environ.get("CHROMIUM") or next(
    (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None
)
DESKTOP, PHONE = 1280, 390

playwright = pytest.importorskip("playwright.sync_api", reason="make browser-check installs playwright")
pytestmark = [
    pytest.mark.skipif(not (HTML / "index.html").exists(), reason="run `make book` first"),
    pytest.mark.skipif(not (MATHJAX / "es5" / "tex-mml-chtml.js").exists(),
                       reason="MathJax from npm: npm install --prefix .browser mathjax@3"),
]
REPORT: dict[str, dict] = {}


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        kw = {"executable_path": CHROMIUM} if CHROMIUM else {}
        b = p.chromium.launch(args=["--no-sandbox", "--disable-gpu", "--hide-scrollbars"], **kw)
        yield b
        b.close()
    SHOTS.mkdir(parents=True, exist_ok=True)
    old = json.loads((SHOTS / "report.json").read_text()) if (SHOTS / "report.json").exists() else {}
    old.update(REPORT)
    (SHOTS / "report.json").write_text(json.dumps(old, indent=1, sort_keys=True))


def open_page(browser, page_name: str, width: int, blocked: list[str]):
    """A fresh page at `width` px, MathJax served from disk, every other remote request blocked."""
    ctx = browser.new_context(viewport={"width": width, "height": 900}, device_scale_factor=1,
                              has_touch=width < 600, is_mobile=width < 600)

    def route(r):
        url = r.request.url
        m = re.search(r"/mathjax@3[^/]*/(.*?)(?:\?.*)?$", url)
        if m and (MATHJAX / m.group(1)).is_file():
            return r.fulfill(path=str(MATHJAX / m.group(1)))
        blocked.append(url)
        return r.abort()

    ctx.route(re.compile(r"^https?://"), route)
    page = ctx.new_page()
    page.goto((HTML / f"{page_name}.html").as_uri(), wait_until="load")
    if page.locator("script[src*='mathjax']").count():
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=30_000)
        page.evaluate("() => MathJax.startup.promise")
    page.wait_for_timeout(300)
    return ctx, page


MEASURE = r"""
() => {
  const visible = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  // what a reader sees: Chromium >= 131 lays out the content of a closed <details> (content-visibility:
  // hidden), so it has client rects; checkVisibility() is false for it
  const shown = el => visible(el) && (!el.checkVisibility || el.checkVisibility({contentVisibilityAuto: true}));
  const skip = 'mjx-container, script, style, pre, code, textarea, .highlight, .MathJax, mjx-assistive-mml';
  const raw = [];
  const walker = document.createTreeWalker(document.querySelector('article') || document.body, NodeFilter.SHOW_TEXT);
  const tex = /\$[^$\s][^$]*\$|\$\$|\\(mathbb|mathrm|mathcal|frac|tfrac|sigma|nabla|Vert|lVert|rVert|sum|int|log|begin|end|hat|tilde|le|ge)\b/;
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest(skip) || !visible(el)) continue;
    const m = n.textContent.match(tex);
    if (m) raw.push(n.textContent.trim().slice(0, 100));
  }
  const se = document.scrollingElement;
  const wide = [];
  if (se.scrollWidth > se.clientWidth) {
    for (const el of document.querySelectorAll('article *')) {
      const r = el.getBoundingClientRect();
      if (r.right > se.clientWidth + 1 && visible(el) && !el.closest('mjx-container, .highlight, .cell_output, table'))
        wide.push({tag: el.tagName.toLowerCase(), cls: el.className && el.className.baseVal === undefined ? el.className : '',
                   right: Math.round(r.right), text: (el.textContent || '').trim().slice(0, 60)});
      if (wide.length > 8) break;
    }
  }
  const scrolls = sel => [...document.querySelectorAll(sel)].filter(el => visible(el) && el.scrollWidth > el.clientWidth + 1)
      .map(el => ({px: el.scrollWidth - el.clientWidth, text: el.textContent.trim().slice(0, 60)}));
  // inline formulas that run past the column (the article clips them: nothing to swipe)
  const col = (document.querySelector('article') || document.body).getBoundingClientRect();
  const cutMath = [...document.querySelectorAll('article mjx-container:not([display="true"])')]
      .filter(el => shown(el) && !el.closest('table, .pst-scrollable-table-container')
              && el.getBoundingClientRect().right > col.right + 1
              && !['auto', 'scroll'].includes(getComputedStyle(el).overflowX))
      .map(el => ({px: Math.round(el.getBoundingClientRect().right - col.right), text: el.textContent.slice(0, 60)}));
  const solutions = [...document.querySelectorAll('div.cell')].filter(c => /Solution to exercise/.test(c.textContent));
  const shownSolutionOutputs = solutions.filter(c => [...c.querySelectorAll('.cell_output')].some(shown))
      .map(c => c.textContent.trim().slice(0, 60));
  return {
    width: se.clientWidth, scrollWidth: se.scrollWidth, wide,
    math: document.querySelectorAll('mjx-container').length,
    mathErrors: [...document.querySelectorAll('mjx-merror, [data-mjx-error]')].map(e => (e.getAttribute('data-mjx-error') || e.textContent).slice(0, 80)),
    raw,
    wideEquations: scrolls('mjx-container[display="true"]'),
    wideCode: scrolls('.cell_input pre, div.highlight-python pre, div.highlight-ipython3 pre'),
    wideOutputs: scrolls('.cell_output pre'),
    solutions: solutions.length, shownSolutionOutputs, cutMath,
    figures: document.querySelectorAll('.cell_output img').length,
    text: document.body.innerText,
    html: document.documentElement.outerHTML.length,
  };
}
"""


@pytest.mark.parametrize("page_name", PAGES)
def test_page(browser, page_name):
    if not (HTML / f"{page_name}.html").exists():
        pytest.fail(f"{page_name}.html missing: did `make book` finish?")
    SHOTS.mkdir(parents=True, exist_ok=True)
    failures, out = [], {}
    for width in (DESKTOP, PHONE):
        blocked: list[str] = []
        ctx, page = open_page(browser, page_name, width, blocked)
        m = page.evaluate(MEASURE)
        page.screenshot(path=str(SHOTS / f"{page_name.replace('/', '_')}_{width}.png"), full_page=True)
        tag = f"{width}px"
        if m["mathErrors"]:
            failures.append(f"{tag}: {len(m['mathErrors'])} MathJax errors: {m['mathErrors'][:5]}")
        if m["raw"]:
            failures.append(f"{tag}: raw TeX outside maths ({len(m['raw'])}): {m['raw'][:5]}")
        if m["shownSolutionOutputs"]:
            failures.append(f"{tag}: solution output visible before its toggle opens: {m['shownSolutionOutputs']}")
        if m["cutMath"]:
            failures.append(f"{tag}: {len(m['cutMath'])} inline formulas cut at the column edge, e.g. {m['cutMath'][:3]}")
        if width == PHONE and m["scrollWidth"] > m["width"]:
            failures.append(f"{tag}: the page scrolls sideways ({m['scrollWidth']} > {m['width']} px): {m['wide'][:5]}")
        if width == DESKTOP:
            for key in ("wideEquations", "wideCode", "wideOutputs"):
                if m[key]:
                    failures.append(f"{tag}: {len(m[key])} {key} scroll sideways, e.g. {m[key][:3]}")
        if blocked:
            failures.append(f"{tag}: the page asks the network for {sorted(set(blocked))[:5]}")
        for raw in ("```{", ":::{", "{prf:", "{cite}", "{math}", "Traceback (most recent call last)"):
            if raw in m["text"]:
                failures.append(f"{tag}: {raw!r} on the page")
        if width == DESKTOP and m["solutions"]:
            # opening every toggle shows the solution outputs
            page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
            if not page.evaluate("() => [...document.querySelectorAll('div.cell')].filter(c => /Solution to exercise/"
                                 ".test(c.textContent)).every(c => !c.querySelector('.cell_output') || "
                                 "[...c.querySelectorAll('.cell_output')].some(o => o.checkVisibility ? o.checkVisibility() : "
                                 "o.getClientRects().length))"):
                failures.append(f"{tag}: an opened solution does not show its output")
        if page_name.startswith("notebooks/") and width == DESKTOP:
            nb = page_name.split("/")[1]
            if "$" in (ROOT / "notebooks" / f"{nb}.ipynb").read_text() and not m["math"]:
                failures.append("no typeset maths on the page")
            repo = CONFIG["repository"]["url"].removeprefix("https://github.com/")
            colab = f"https://colab.research.google.com/github/{repo}/blob/main/notebooks/{nb}.ipynb"
            if colab not in page.content():
                failures.append("no Colab button")
            if not m["figures"]:
                failures.append("no figures on the page")
        out[tag] = {k: (len(v) if isinstance(v, list) else v) for k, v in m.items() if k not in ("text", "wide")}
        ctx.close()
    REPORT[page_name] = out
    assert not failures, f"{page_name}:\n" + "\n".join(failures)


def _box(page, selector):
    return page.evaluate(
        "s => { const el = document.querySelector(s); if (!el) return null; const r = el.getBoundingClientRect();"
        " const st = getComputedStyle(el); return {x: r.x, right: r.right, width: r.width,"
        " visible: r.width > 0 && st.visibility !== 'hidden' && st.display !== 'none'}; }",
        selector,
    )


LESSON = "notebooks/" + (LESSONS[2].stem if len(LESSONS) > 2 else LESSONS[0].stem)


def test_phone_sidebar_and_contents_buttons_open(browser):
    blocked: list[str] = []
    ctx, page = open_page(browser, LESSON, PHONE, blocked)
    before = _box(page, ".bd-sidebar-primary")
    assert before and (not before["visible"] or before["right"] <= 0), f"sidebar open before the tap: {before}"
    page.locator("button.primary-toggle").first.tap()
    page.wait_for_timeout(600)
    after = _box(page, ".bd-sidebar-primary")
    page.screenshot(path=str(SHOTS / "phone_sidebar_open.png"))
    assert after["visible"] and after["x"] >= -1 and after["width"] > 150, f"tapping the sidebar button: {after}"
    page.keyboard.press("Escape")
    page.goto(page.url)
    page.wait_for_timeout(300)
    page.locator("button.secondary-toggle").first.tap()
    page.wait_for_timeout(600)
    toc = _box(page, ".bd-sidebar-secondary")
    page.screenshot(path=str(SHOTS / "phone_contents_open.png"))
    assert toc and toc["visible"] and toc["right"] > 100 and toc["x"] < PHONE, f"tapping the contents button: {toc}"
    REPORT["phone_buttons"] = {"sidebar": after, "contents": toc}
    ctx.close()


def test_desktop_sidebar_collapses(browser):
    blocked: list[str] = []
    ctx, page = open_page(browser, LESSON, DESKTOP, blocked)
    before = _box(page, ".bd-sidebar-primary")
    assert before["visible"] and before["width"] > 150, f"sidebar shown on desktop: {before}"
    article_before = _box(page, "article.bd-article")
    page.locator("button.primary-toggle").first.click()
    page.wait_for_timeout(600)
    after = _box(page, ".bd-sidebar-primary")
    article_after = _box(page, "article.bd-article")
    page.screenshot(path=str(SHOTS / "desktop_sidebar_collapsed.png"))
    collapsed = (not after["visible"]) or after["right"] <= 1
    assert collapsed, f"the sidebar button did not collapse the sidebar: {before} -> {after}"
    REPORT["desktop_collapse"] = {"sidebar": [before, after], "article": [article_before, article_after]}
    ctx.close()

"""The book's conventions, read from the sources (no build, no browser; issue 20).

Over every lesson and every book/*.md page: display maths stands on its own lines, code cells are
ruff-formatted at 88 columns and no code line is longer, every worked solution stays hidden
(input and output) until the reader opens it, and references to the proofs appendix are links to
anchors that exist there. The checks live in tools/book_pass.py, which also applies the
mechanical part of them to the notebooks (`.venv/bin/python -m tools.book_pass notebooks/*.ipynb`).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools import book_pass as bp  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PAGES = sorted((ROOT / "book").glob("*.md"))


def markdown_cells(path: Path):
    nb = nbformat.read(path, as_version=4)
    return [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "markdown"]


# --- (a) display maths -----------------------------------------------------------------------


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_display_math_not_glued_in_lessons(path):
    problems = [f"cell {i}: {m}" for i, src in markdown_cells(path) for m in bp.glued_math(src)]
    assert not problems, f"{path.name}: a $$ block needs a blank line above and below:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_display_math_not_glued_in_pages(path):
    problems = bp.glued_math(path.read_text())
    assert not problems, f"{path.name}: a $$ block needs a blank line above and below:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    "text, n",
    [
        ("Text\n\n$$\nx\n$$\n\nmore", 0),
        ("Text\n$$\nx\n$$\n\nmore", 1),  # glued above: lesson 08's broken \mathbb{E}
        ("Text\n\n$$\nx\n$$\nmore", 1),  # glued below
        ("Text\n\n$$x = 1$$\n\nmore", 0),
        ("Text\n$$x = 1$$\nmore", 2),
        ("- item\n\n  $$\n  x\n  $$\n\n- next", 0),
        ("We have $$x$$ here.", 1),
        ("```python\nprint('$$')\nx\n```", 0),  # code is not maths
        ("```{prf:proof}\nText\n$$\nx\n$$\n```", 1),  # but a directive's body is read
        ("```{prf:theorem} T\n:label: t\n\n$$\nx\n$$ (eq-x)\n\n```", 0),
    ],
)
def test_the_glued_math_rule_itself(text, n):
    assert len(bp.glued_math(text)) == n, bp.glued_math(text)
    if n and "here" not in text and "Text\n$$x" not in text:
        assert not bp.glued_math(bp.unglue_math(text))


# --- (b) code width --------------------------------------------------------------------------


def test_lessons_are_ruff_formatted_at_88_columns():
    res = bp.ruff(NOTEBOOKS, check=True)
    assert res.returncode == 0, (
        "run `.venv/bin/python -m tools.book_pass notebooks/*.ipynb` (or `ruff format notebooks`):\n"
        + (res.stdout + res.stderr)[-4000:]
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_code_line_exceeds_88_columns(path):
    long = bp.long_code_lines(nbformat.read(path, as_version=4))
    assert not long, f"{path.name}: split these lines (long strings, comments):\n" + "\n".join(long)


def test_the_code_width_rule_reads_markdown_code_blocks_but_not_directives():
    long = "x = " + "1 + " * 30 + "1"
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(f"Text {long}\n\n```python\n{long}\nshort = 1\n```\n"),
        nbformat.v4.new_markdown_cell(f"```{{prf:theorem}} T\n{long}\n```\n~~~\n{long}\n~~~"),
        nbformat.v4.new_code_cell(f"short = 1\n{long}"),
        nbformat.v4.new_markdown_cell(f"```{{note}}\n````{{code-block}} python\n{long}\n````\n```"),
    ])
    found = bp.long_code_lines(nb)
    expected = ["cell 0 line 4", "cell 1 line 5", "cell 2 line 2", "cell 3 line 3"]
    assert [f.split(":")[0] for f in found] == expected, found


def test_ruff_is_configured_at_88_columns():
    import tomllib

    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert cfg["tool"]["ruff"]["line-length"] == bp.LINE_LENGTH == 88
    assert any(r.startswith("ruff") for r in cfg["project"]["optional-dependencies"]["test"])


# --- (c) hidden solutions --------------------------------------------------------------------


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_solution_is_hidden_input_and_output(path):
    problems = bp.solution_problems(nbformat.read(path, as_version=4))
    assert not problems, f"{path.name}: solutions out of convention (tools/book_pass.py):\n" + "\n".join(problems)


def test_the_solution_convention_itself():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("**Exercise 1.** Q?\n\n<details>\n<summary>Solution</summary>\n\nA.\n\n</details>"),
        nbformat.v4.new_code_cell("# Solution to exercise 1\nprint(42)", metadata={"tags": ["hide-input"]}),
        nbformat.v4.new_markdown_cell("**Solution.** given in the open"),
    ]
    problems = bp.solution_problems(nb)
    assert any("hide-cell" in p for p in problems) and any("outside <details>" in p for p in problems)
    assert bp.apply_solution_convention(nb) == 1
    nb.cells.pop()
    assert bp.solution_problems(nb) == []
    cell = nb.cells[1]
    assert cell.source.startswith("# @title Solution to exercise 1\n")
    assert cell.metadata["tags"] == ["hide-cell"] and cell.metadata["cellView"] == "form"
    nbformat.validate(nb)


# --- (d) links into the proofs appendix ------------------------------------------------------


ANCHORS = bp.proof_anchors()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_appendix_references_are_links_to_existing_anchors(path):
    problems = [f"cell {i}: {m}" for i, src in markdown_cells(path) for m in bp.appendix_problems(src, ANCHORS)]
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", [p for p in PAGES if p.name != "proofs.md"], ids=lambda p: p.name)
def test_pages_link_into_the_appendix_by_anchor(path):
    problems = bp.appendix_problems(path.read_text(), ANCHORS, require_anchor=False)
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


def test_every_appendix_result_has_a_unique_label():
    text = (ROOT / "book" / "proofs.md").read_text()
    import re

    directives = re.findall(r"```\{prf:(\w+)\}", text)
    labelled = [k for k in directives if k != "proof"]
    results = bp.proof_results()
    assert len(results) == len(labelled), "every definition, lemma, theorem and proposition has a :label:"
    assert len(set(results.values())) == len(results)


def test_the_appendix_link_rule_itself():
    results = {"Optimal discriminator": "thm-optimal-discriminator"}
    text = 'See the appendix, Theorem "Optimal\ndiscriminator".'
    assert bp.appendix_problems(text, ANCHORS)
    fixed = bp.link_titles(text, results)
    assert fixed == 'See the appendix, Theorem ["Optimal\ndiscriminator"](../book/proofs.md#thm-optimal-discriminator).'
    assert not bp.appendix_problems(fixed, ANCHORS)
    assert bp.appendix_problems("[the appendix](../book/proofs.md)", ANCHORS)
    assert bp.appendix_problems("[x](../book/proofs.md#no-such-anchor)", ANCHORS)
    assert bp.unknown_titles("Theorem 'Parallel lines'", bp.proof_results())


# --- the pass itself, on a copy --------------------------------------------------------------


@pytest.mark.skipif(shutil.which("ruff") is None and not (Path(sys.executable).parent / "ruff").exists(),
                    reason="ruff is in the [test] extra")
def test_book_pass_applies_the_mechanical_part(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell('# 1. T\n\nBy Theorem "Optimal discriminator",\n$$\nx\n$$\nso.'),
        nbformat.v4.new_code_cell("# Solution to exercise 1\nx = dict(a=1,b=2)"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "01_t.ipynb"
    nbformat.write(nb, path)
    bp.main([str(path)])
    out = nbformat.read(path, as_version=4)
    assert not bp.glued_math(out.cells[0].source)
    assert "(../book/proofs.md#thm-optimal-discriminator)" in out.cells[0].source
    assert out.cells[1].source == "# @title Solution to exercise 1\nx = dict(a=1, b=2)"
    assert bp.solution_problems(out) == []
    assert bp.ruff([path], check=True).returncode == 0
    assert json.loads(path.read_text())["nbformat"] == 4


# --- figures ---------------------------------------------------------------------------------


def test_one_figure_style_that_fits_the_column():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gan_tutor import plotting

    plt.rcdefaults()
    plotting.use_style()
    width_px = plt.rcParams["figure.figsize"][0] * plt.rcParams["figure.dpi"]
    assert 650 <= width_px <= 752, "figures are drawn at the column width (752 px at 1280 px)"
    for key in ("font.size", "axes.labelsize", "xtick.labelsize", "ytick.labelsize", "legend.fontsize"):
        size = plt.rcParams[key]
        assert isinstance(size, (int, float)) and size >= 11, f"{key} = {size}: text >= 11 pt at display size"
    assert plotting.figsize(2, 2)[0] == plotting.COLUMN_WIDTH
    with pytest.raises(ValueError):
        plotting.figsize(1, 4)


def test_animation_controls_need_no_cdn():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gan_tutor import plotting

    fig, ax = plt.subplots()
    (line,) = ax.plot([0, 1], [0, 1])
    html = plotting.animate(fig, lambda i: line.set_ydata([0, i]), 2).data
    assert "font-awesome" not in html and "https://" not in html.split("<img")[0]
    assert 'class="fa ' not in html

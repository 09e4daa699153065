"""The book conventions of issue 20, checked and (where it is mechanical) applied to the lessons.

Usage (maintainer tool)::

    .venv/bin/python -m tools.book_pass notebooks/*.ipynb          # apply, then report what is left
    .venv/bin/python -m tools.book_pass --check notebooks/*.ipynb  # report only, change nothing

What it applies, in this order:

1. ``ruff format`` at 88 columns (the ``[tool.ruff]`` section of pyproject.toml).
2. Worked solutions: every code cell whose first line is ``# Solution to exercise N`` (or already
   ``# @title Solution to exercise N``) becomes a *solution cell* (see ``SOLUTION`` below).
3. Display maths: a blank line is inserted above every ``$$`` block glued to the line above it and
   below every block glued to the line below it.
4. Appendix references: a quoted title of a result in book/proofs.md (``Theorem "Optimal
   discriminator"``) becomes a link to its anchor, ``Theorem ["Optimal
   discriminator"](../book/proofs.md#thm-optimal-discriminator)``.

What it reports and leaves to a person: code lines still over 88 columns (long strings and
comments, which ruff does not split), ``$$`` inside a line of text, links to the appendix without
an anchor, quoted titles that are not in the appendix (with the closest existing title), solution
cells out of convention. tests/test_static_book.py runs the same checks.

The solution convention (book and Colab). An exercise is a Markdown cell that starts with
``**Exercise N.**``. Its worked solution is

* prose, if any, inside ``<details><summary>Solution</summary> ... </details>`` in Markdown (HTML
  that both Colab and the book fold), and
* code cells whose first line is ``# @title Solution to exercise N``, tagged ``hide-cell`` (the
  book folds input *and* output behind one button, labelled by the ``mystnb`` metadata), with
  ``"cellView": "form"`` (Colab shows only the title until the reader clicks "Show code"; the
  cells are stored without outputs, so nothing is printed before the reader runs it) and
  ``"jupyter": {"source_hidden": true, "outputs_hidden": true}`` (JupyterLab folds both).

MyST directives (``{exercise}``, ``{solution}``) are not used in lessons: Colab shows them as raw
text. They remain available in book/ pages.
"""

from __future__ import annotations

import argparse
import difflib
import re
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
PROOFS = ROOT / "book" / "proofs.md"
LINE_LENGTH = 88

SOLUTION_FIRST_LINE = re.compile(r"#\s*(?:@title\s+)?Solution to exercise (\d+)\s*$", re.I)
SOLUTION_TAG = "hide-cell"


def solution_metadata(n: int) -> dict:
    """The cell metadata of a solution cell (tags are handled separately)."""
    return {
        "cellView": "form",
        "jupyter": {"source_hidden": True, "outputs_hidden": True},
        "mystnb": {
            "code_prompt_show": f"Show the solution to exercise {n}",
            "code_prompt_hide": f"Hide the solution to exercise {n}",
        },
    }


# ---------------------------------------------------------------------------------------------
# Display maths


FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*(\{[^}]*\})?\s*(\S*)")
CLOSE = re.compile(r"\$\$\s*(\([^)]*\))?\s*$")
OPTION = re.compile(r"^\s*:[\w-]+:")


def _is_text(line: str) -> bool:
    """A line that is neither blank nor markup framing a block (a fence or a directive option)."""
    s = line.strip()
    return bool(s) and not s.startswith(("```", "~~~", ":::")) and not OPTION.match(line)


CODE_DIRECTIVES = {"code-cell", "code-block", "code", "literalinclude", "sourcecode"}


def _fence_step(stack: list[tuple[str, bool]], line: str) -> bool:
    """If ``line`` opens or closes a fenced block, update ``stack`` (fence, is_code) and return
    True. Plain fences and code directives hold code; other MyST directives hold Markdown."""
    m = FENCE.match(line)
    if not m:
        return False
    fence, directive, info = m.group(1), m.group(2), m.group(3)
    in_code = bool(stack) and stack[-1][1]
    closes = (
        stack
        and not directive
        and not info
        and fence[0] == stack[-1][0][0]
        and len(fence) >= len(stack[-1][0])
    )
    if closes:
        stack.pop()
    elif not in_code:
        stack.append((fence, directive is None or directive.strip("{}") in CODE_DIRECTIVES))
    return True


def math_blocks(text: str) -> tuple[list[tuple[int, int]], list[int]]:
    """Display-maths blocks as (first line, last line), 0-based, and lines with `$$` inside text.

    Fenced code is skipped; the Markdown inside MyST directives ({prf:proof}, {note}, ...) is read.
    """
    lines = text.split("\n")
    blocks: list[tuple[int, int]] = []
    inline: list[int] = []
    stack: list[tuple[str, bool]] = []  # (fence, is_code)
    start = None
    for j, line in enumerate(lines):
        s = line.strip()
        if start is None:
            if _fence_step(stack, line):
                continue
            if stack and stack[-1][1]:
                continue
            if s.startswith("$$"):
                if CLOSE.search(s[2:]):
                    blocks.append((j, j))
                else:
                    start = j
            elif "$$" in s:
                inline.append(j)
        elif CLOSE.search(s):
            blocks.append((start, j))
            start = None
    if start is not None:
        blocks.append((start, len(lines) - 1))
    return blocks, inline


def glued_math(text: str) -> list[str]:
    """Every `$$` block glued to a line of text above or below it, and every `$$` inside text."""
    lines = text.split("\n")
    blocks, inline = math_blocks(text)
    out = []
    for a, b in blocks:
        if a > 0 and _is_text(lines[a - 1]):
            out.append(f"line {a + 1}: $$ glued to the text above: {lines[a - 1].strip()[:60]!r}")
        if b + 1 < len(lines) and _is_text(lines[b + 1]):
            out.append(f"line {b + 1}: $$ glued to the text below: {lines[b + 1].strip()[:60]!r}")
    for j in inline:
        out.append(f"line {j + 1}: $$ inside a line of text: {lines[j].strip()[:60]!r}")
    return out


def unglue_math(text: str) -> str:
    """Insert the blank lines that `glued_math` asks for (only those)."""
    lines = text.split("\n")
    blocks, _ = math_blocks(text)
    above = {a for a, _ in blocks if a > 0 and _is_text(lines[a - 1])}
    below = {b for _, b in blocks if b + 1 < len(lines) and _is_text(lines[b + 1])}
    out = []
    for j, line in enumerate(lines):
        if j in above:
            out.append("")
        out.append(line)
        if j in below:
            out.append("")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# Appendix anchors


def myst_slug(title: str) -> str:
    """MyST-Parser's default heading slug (myst_heading_anchors)."""
    return re.sub(r"[^\w\u4e00-\u9fff\- ]", "", title.strip().lower().replace(" ", "-"))


def proof_results(path: Path = PROOFS) -> dict[str, str]:
    """Title of every labelled result in the appendix -> its label."""
    text = path.read_text()
    found = re.findall(r"```\{prf:\w+\}[ \t]*([^\n]*)\n:label:[ \t]*(\S+)", text)
    return {title.strip(): label for title, label in found}


def proof_anchors(path: Path = PROOFS) -> set[str]:
    """Every anchor a link into the appendix may use: result labels, targets, heading slugs."""
    text = path.read_text()
    anchors = set(re.findall(r"^:label:[ \t]*(\S+)", text, re.M))
    anchors |= set(re.findall(r"^\(([\w-]+)\)=\s*$", text, re.M))
    for h in re.findall(r"^#{1,3}\s+(.+?)\s*$", text, re.M):
        anchors.add(myst_slug(h))
    return anchors


LINK = re.compile(r"\[((?:[^\[\]]|\[[^\]]*\])*)\]\(([^)\s]*)\)")
KIND = r"(?:Theorem|Lemma|Proposition|Definition|Corollary)s?"
QUOTED = re.compile(r'(")([^"]{3,}?)(")|(“)([^”]{3,}?)(”)|(\')([^\'\n]{3,}?)(\')')


def _quoted(m: re.Match) -> tuple[str, str, str]:
    """(opening quote, title, closing quote) of a QUOTED match."""
    g = [x for x in m.groups() if x is not None]
    return g[0], g[1], g[2]


def _norm(title: str) -> str:
    return " ".join(title.split()).lower()


def appendix_problems(
    text: str, anchors: set[str], link_prefix: str = "proofs.md", require_anchor: bool = True
) -> list[str]:
    """Links into the appendix without an existing anchor, and results cited by a bare title.

    In a lesson every link into the appendix names a result or a section (``require_anchor``);
    a book page may also link to the appendix as a whole.
    """
    out = []
    for m in LINK.finditer(text):
        target = m.group(2)
        path, _, frag = target.partition("#")
        if path.endswith(link_prefix):
            if not frag:
                if require_anchor:
                    out.append(f"link without an anchor: [{m.group(1)[:40]}]({target})")
            elif frag not in anchors:
                out.append(f"anchor not in book/proofs.md: [{m.group(1)[:40]}]({target})")
    bare = LINK.sub(" ", text)
    for m in re.finditer(rf"\b{KIND}\s+[\"“'‘][^\"”'’\n]+", bare):
        out.append(f"appendix result cited by its title, not a link: {m.group(0)[:70]!r}")
    return out


def link_titles(text: str, results: dict[str, str], prefix: str = "../book/proofs.md") -> str:
    """Turn each quoted appendix title (outside links) into a link to its anchor."""
    by_key = {_norm(t): lab for t, lab in results.items()}
    spans = [m.span() for m in LINK.finditer(text)]

    def repl(m):
        if any(a <= m.start() < b for a, b in spans):
            return m.group(0)
        opening, title, closing = _quoted(m)
        label = by_key.get(_norm(title))
        if label is None:
            return m.group(0)
        return f"[{opening}{title}{closing}]({prefix}#{label})"

    return QUOTED.sub(repl, text)


def unknown_titles(text: str, results: dict[str, str]) -> list[str]:
    """Quoted titles after Theorem/Lemma/... that are not in the appendix, with the nearest one."""
    keys = {_norm(t): t for t in results}
    out = []
    bare = LINK.sub(" ", text)
    quoted = QUOTED.pattern.replace("(", "(?:").replace("(?:?:", "(?:")
    for m in re.finditer(rf"\b{KIND}\s+((?:(?:{quoted})(?:,\s*|\s+and\s+)?)+)", bare):
        for q in QUOTED.finditer(m.group(1)):
            title = " ".join(_quoted(q)[1].split())
            if _norm(title) not in keys:
                near = difflib.get_close_matches(_norm(title), list(keys), n=1, cutoff=0.3)
                hint = f" (closest: {keys[near[0]]!r} -> #{results[keys[near[0]]]})" if near else ""
                out.append(f"title not in book/proofs.md: {title!r}{hint}")
    return out


# ---------------------------------------------------------------------------------------------
# Solutions


def solution_number(cell) -> int | None:
    if cell.cell_type != "code" or not cell.source.strip():
        return None
    first = cell.source.strip().split("\n", 1)[0]
    m = SOLUTION_FIRST_LINE.match(first)
    return int(m.group(1)) if m else None


def solution_problems(nb) -> list[str]:
    """Solution cells out of convention, and Markdown solutions not folded in <details>."""
    out = []
    for i, c in enumerate(nb.cells):
        n = solution_number(c)
        if n is not None:
            tags = c.metadata.get("tags", [])
            first = c.source.strip().split("\n", 1)[0]
            if SOLUTION_TAG not in tags:
                out.append(f"cell {i}: solution code not tagged {SOLUTION_TAG} (tags {tags})")
            if "hide-input" in tags or "hide-output" in tags:
                out.append(f"cell {i}: hide-input/hide-output leave part of a solution visible")
            if first != f"# @title Solution to exercise {n}":
                out.append(f"cell {i}: first line should be '# @title Solution to exercise {n}'")
            if c.metadata.get("cellView") != "form":
                out.append(f"cell {i}: no \"cellView\": \"form\" (Colab would show the code)")
            jup = c.metadata.get("jupyter", {})
            if not (jup.get("source_hidden") and jup.get("outputs_hidden")):
                out.append(f"cell {i}: jupyter.source_hidden/outputs_hidden not set")
        elif c.cell_type == "code" and re.search(r"(?im)^#.*\bsolution\b", c.source[:200]):
            out.append(f"cell {i}: looks like a solution but its first line is not "
                       "'# @title Solution to exercise N'")
        if c.cell_type == "markdown":
            src = c.source
            opened = len(re.findall(r"<details\b", src))
            closed = len(re.findall(r"</details>", src))
            if opened != closed:
                out.append(f"cell {i}: {opened} <details> but {closed} </details>")
            bare = re.sub(r"<details\b.*?</details>", " ", src, flags=re.S)
            if re.search(r"(?im)^\s*(\*\*|_)?Solution\b", bare):
                out.append(f"cell {i}: a Markdown solution outside <details>")
    return out


def apply_solution_convention(nb) -> int:
    changed = 0
    for c in nb.cells:
        n = solution_number(c)
        if n is None:
            continue
        first, _, rest = c.source.strip("\n").partition("\n")
        c.source = f"# @title Solution to exercise {n}" + (f"\n{rest}" if rest else "")
        tags = [t for t in c.metadata.get("tags", []) if t not in ("hide-input", "hide-output")]
        if SOLUTION_TAG not in tags:
            tags.append(SOLUTION_TAG)
        c.metadata["tags"] = tags
        for k, v in solution_metadata(n).items():
            c.metadata[k] = v
        changed += 1
    return changed


# ---------------------------------------------------------------------------------------------
# Code width


def fenced_code_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) of every code line of Markdown text: in fenced code (```python, ~~~)
    and code directives, not in other MyST directives, whose body is prose (as math_blocks reads it)."""
    out, stack = [], []
    for k, line in enumerate(text.split("\n"), 1):
        if not _fence_step(stack, line) and stack and stack[-1][1]:
            out.append((k, line))
    return out


def long_code_lines(nb, limit: int = LINE_LENGTH) -> list[str]:
    """Lines over ``limit`` columns in code cells and in code blocks of Markdown cells."""
    out = []
    for i, c in enumerate(nb.cells):
        if c.cell_type == "code":
            lines = list(enumerate(c.source.split("\n"), 1))
        elif c.cell_type == "markdown":
            lines = fenced_code_lines(c.source)
        else:
            continue
        for k, line in lines:
            if len(line) > limit:
                out.append(f"cell {i} line {k}: {len(line)} columns: {line.strip()[:60]!r}")
    return out


def ruff(paths: list[Path], check: bool) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "ruff"
    cmd = [str(exe) if exe.exists() else "ruff", "format", "--config", str(ROOT / "pyproject.toml")]
    if check:
        cmd.append("--check")
    return subprocess.run(cmd + [str(p) for p in paths], capture_output=True, text=True)


# ---------------------------------------------------------------------------------------------


def report(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    anchors, results = proof_anchors(), proof_results()
    out = long_code_lines(nb) + solution_problems(nb)
    for i, c in enumerate(nb.cells):
        if c.cell_type == "markdown":
            for msg in glued_math(c.source) + appendix_problems(c.source, anchors) + unknown_titles(
                c.source, results
            ):
                out.append(f"cell {i}: {msg}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="+", type=Path)
    ap.add_argument("--check", action="store_true", help="report only; change nothing")
    args = ap.parse_args(argv)
    results = proof_results()
    if not args.check:
        res = ruff(args.notebooks, check=False)
        if res.returncode != 0:
            print(res.stdout + res.stderr, file=sys.stderr)
            return 2
        for path in args.notebooks:
            nb = nbformat.read(path, as_version=4)
            n_sol = apply_solution_convention(nb)
            n_md = 0
            for c in nb.cells:
                if c.cell_type == "markdown":
                    new = link_titles(unglue_math(c.source), results)
                    n_md += new != c.source
                    c.source = new
            nbformat.write(nb, path)
            print(f"{path.name}: {n_sol} solution cells, {n_md} Markdown cells changed")
    left = 0
    for path in args.notebooks:
        for msg in report(path):
            print(f"{path.name}: {msg}")
            left += 1
    res = ruff(args.notebooks, check=True)
    if res.returncode != 0:
        print(res.stdout[-3000:] + res.stderr[-3000:])
        left += 1
    print(f"{left} problems left for a person" if left else "all conventions hold")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())

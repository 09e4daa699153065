"""The bibliography covers every work the lessons and pages link to, and every entry can be found.

Rules checked here:

* every arXiv identifier (``arxiv.org/abs/<id>``, ``arxiv.org/pdf/<id>`` or ``arXiv:<id>``) and
  every DOI (``doi.org/<doi>`` or ``doi:<doi>``) in a lesson (any cell of ``notebooks/*.ipynb``) or
  a book page (``book/*.md``) belongs to an entry of ``book/references.bib`` (its ``eprint``, its
  arXiv ``url`` or its ``doi``);
* every entry has an arXiv ``eprint`` (with ``archivePrefix = {arXiv}``), a ``doi`` or a ``url``;
  a ``@book`` may instead have only an ``isbn`` (textbooks have no arXiv id and not always a DOI);
* identifiers are well formed and no two entries share one;
* the references page lists the whole file (``{bibliography}`` with ``:all:``).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from pybtex.database import parse_file

ROOT = Path(__file__).resolve().parents[1]
BIB = ROOT / "book" / "references.bib"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PAGES = sorted((ROOT / "book").glob("*.md"))

ARXIV_ID = r"(?:\d{4}\.\d{4,5}|[a-z\-]+(?:\.[A-Z]{2})?/\d{7})"
ARXIV_RE = re.compile(rf"(?:arxiv\.org/(?:abs|pdf)/|arXiv:\s?)({ARXIV_ID})(?:v\d+)?", re.IGNORECASE)
DOI_RE = re.compile(r"(?:doi\.org/|\bdoi:\s?)(10\.\d{4,9}/[^\s)\]>\"'`,;]+)", re.IGNORECASE)


def _strip(doi: str) -> str:
    return doi.rstrip(".").lower()


def arxiv_ids(text: str) -> set[str]:
    return {m.group(1) for m in ARXIV_RE.finditer(text)}


def dois(text: str) -> set[str]:
    return {_strip(m.group(1)) for m in DOI_RE.finditer(text)}


def documents() -> dict[str, str]:
    """The text of every lesson (all cells) and every book page, by path."""
    docs = {}
    for nb_path in NOTEBOOKS:
        nb = nbformat.read(nb_path, as_version=4)
        docs[str(nb_path.relative_to(ROOT))] = "\n".join(cell.source for cell in nb.cells)
    for page in PAGES:
        docs[str(page.relative_to(ROOT))] = page.read_text(encoding="utf-8")
    return docs


@pytest.fixture(scope="module")
def bib():
    return parse_file(str(BIB), bib_format="bibtex")


@pytest.fixture(scope="module")
def bib_ids(bib) -> tuple[set[str], set[str]]:
    """(arXiv identifiers, lower-cased DOIs) that the bibliography holds."""
    arxiv, doi = set(), set()
    for entry in bib.entries.values():
        f = entry.fields
        if f.get("archivePrefix", "").lower() == "arxiv" and f.get("eprint"):
            arxiv.add(f["eprint"])
        arxiv |= arxiv_ids(f.get("url", ""))
        if f.get("doi"):
            doi.add(_strip(f["doi"]))
        doi |= dois(f.get("url", ""))
    return arxiv, doi


def test_the_patterns_find_identifiers():
    text = (
        "[arXiv:1406.2661](https://arxiv.org/abs/1406.2661), https://arxiv.org/pdf/1701.07875v3.pdf, "
        "arXiv:math/0310210, [doi:10.1109/18.61115](https://doi.org/10.1109/18.61115)."
    )
    assert arxiv_ids(text) == {"1406.2661", "1701.07875", "math/0310210"}
    assert dois(text) == {"10.1109/18.61115"}


def test_the_lessons_link_to_papers():
    found = set().union(*(arxiv_ids(t) for t in documents().values()))
    assert len(found) >= 10, "the link patterns no longer match the lessons' references"


@pytest.mark.parametrize("name", sorted(documents()))
def test_every_linked_paper_is_in_the_bibliography(name, bib_ids):
    text = documents()[name]
    known_arxiv, known_doi = bib_ids
    missing = sorted(arxiv_ids(text) - known_arxiv) + sorted(dois(text) - known_doi)
    assert not missing, f"{name} links to works missing from book/references.bib: {missing}"


def test_every_entry_can_be_found(bib):
    bad = []
    for key, entry in bib.entries.items():
        f = entry.fields
        has_arxiv = bool(f.get("eprint")) and f.get("archivePrefix", "").lower() == "arxiv"
        has_id = has_arxiv or bool(f.get("doi")) or bool(f.get("url"))
        if not has_id and not (entry.type.lower() == "book" and f.get("isbn")):
            bad.append(key)
    assert not bad, f"entries with no arXiv eprint, DOI, URL (or, for a book, ISBN): {bad}"


def test_identifiers_are_well_formed_and_consistent(bib):
    problems = []
    for key, entry in bib.entries.items():
        f = entry.fields
        if "eprint" in f:
            if f.get("archivePrefix", "").lower() != "arxiv":
                problems.append(f"{key}: eprint without archivePrefix = {{arXiv}}")
            if not re.fullmatch(ARXIV_ID, f["eprint"]):
                problems.append(f"{key}: malformed arXiv id {f['eprint']!r}")
            url_ids = arxiv_ids(f.get("url", ""))
            if url_ids and url_ids != {f["eprint"]}:
                problems.append(f"{key}: url {f['url']!r} disagrees with eprint {f['eprint']!r}")
        if "doi" in f and not re.fullmatch(r"10\.\d{4,9}/\S+", f["doi"]):
            problems.append(f"{key}: malformed DOI {f['doi']!r}")
        if "url" in f and not f["url"].startswith("https://"):
            problems.append(f"{key}: url is not https: {f['url']!r}")
        if "isbn" in f and len(re.sub(r"[^0-9X]", "", f["isbn"])) not in (10, 13):
            problems.append(f"{key}: malformed ISBN {f['isbn']!r}")
    assert not problems, "\n".join(problems)


def test_no_two_entries_share_an_identifier(bib):
    seen: dict[str, str] = {}
    dupes = []
    for key, entry in bib.entries.items():
        f = entry.fields
        for ident in filter(None, (f.get("eprint"), _strip(f["doi"]) if f.get("doi") else None)):
            if ident in seen:
                dupes.append(f"{ident}: {seen[ident]} and {key}")
            seen[ident] = key
    assert not dupes, dupes


def test_the_references_page_lists_every_entry():
    page = (ROOT / "book" / "references.md").read_text(encoding="utf-8")
    block = re.search(r"```\{bibliography\}[^\n]*\n(.*?)```", page, re.DOTALL)
    assert block, "book/references.md has no {bibliography} directive"
    assert re.search(r"^:all:\s*$", block.group(1), re.MULTILINE), "the {bibliography} directive lacks :all:"

"""A Sphinx extension used only by the book build (_config.yml; issue 20): proof boxes.

sphinx-proof gives every ``{prf:proof}`` the id ``proof`` and every result's body the id
``proof-content``; a page with many of them repeats the same id. Each repeat gets a numbered id.

Lessons link to a theorem with a plain Markdown link, ``[...](../book/proofs.md#thm-kr-duality)``
(it works in Colab too). MyST resolves ``doc.md#id`` only against heading anchors and warns
(``myst.xref_missing``, an error in the strict build) for any other id, although the link works;
each labelled sphinx-proof result is registered as an anchor of its page, so a link to a label
that exists resolves silently and a link to one that does not still fails the build.

The bibliography (``bibtex_default_style: gan_tutor``) is labelled author-year, like the in-text
citations (``bibtex_reference_style: author_year``): ``[Lin, 1991]``, ``[Arjovsky and Bottou,
2017]``, ``[Goodfellow et al., 2014]`` (a letter is added to the year where two labels would
coincide); and each entry shows one link, not its URL and its identifier both: the DOI if it has
one, else its arXiv identifier, else its URL.
"""

from __future__ import annotations

import re

from docutils import nodes
from pybtex.plugin import register_plugin
from pybtex.style.formatting.alpha import Style as AlphaStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.template import first_of, optional, sentence

SHARED = {"proof", "proof-content"}


def unique_ids(app, doctree, docname):
    counts: dict[str, int] = {}
    for node in doctree.findall(nodes.Element):
        ids = node.get("ids") or []
        if not any(i in SHARED for i in ids):
            continue
        new = []
        for i in ids:
            if i in SHARED:
                counts[i] = counts.get(i, 0) + 1
                i = f"{i}-{counts[i]}"
            new.append(i)
        node["ids"] = new


def register_proof_anchors(app, doctree):
    """Add each labelled result of the page to MyST's anchors (``myst_slugs``) of that page."""
    slugs = app.env.metadata[app.env.docname].setdefault("myst_slugs", {})
    for node in doctree.findall(nodes.Element):
        label = node.get("label")
        if not label or not type(node).__module__.startswith("sphinx_proof"):
            continue
        if label in node.get("ids", []) and label not in slugs:
            slugs[label] = (node.line or 0, label, node.get("title", label))


def _surname(person) -> str:
    return re.sub(r"[{}]", "", " ".join(person.prelast_names + person.last_names))


class AuthorYearLabels(BaseLabelStyle):
    """Labels ``Lin, 1991``, ``Arjovsky and Bottou, 2017``, ``Goodfellow et al., 2014``."""

    def format_labels(self, sorted_entries):
        labels = []
        for entry in sorted_entries:
            people = entry.persons.get("author") or entry.persons.get("editor") or []
            names = [_surname(p) for p in people]
            if not names:
                who = entry.fields.get("key", entry.key)
            elif len(names) == 1:
                who = names[0]
            elif len(names) == 2:
                who = f"{names[0]} and {names[1]}"
            else:
                who = f"{names[0]} et al."
            labels.append(f"{who}, {entry.fields.get('year', 'n.d.')}")
        for label in set(labels):
            if labels.count(label) > 1:
                letters = iter("abcdefghijklmnopqrstuvwxyz")
                labels = [
                    lab + next(letters) if lab == label else lab for lab in labels
                ]
        yield from labels


class BookStyle(AlphaStyle):
    """pybtex's alpha style (sorted by author, year, title), author-year labels, one web link."""

    default_label_style = AuthorYearLabels

    def format_web_refs(self, e):
        return sentence[
            first_of[
                optional[self.format_doi(e)],
                optional[self.format_eprint(e)],
                optional[self.format_url(e)],
            ]
        ]


register_plugin("pybtex.style.formatting", "gan_tutor", BookStyle)


def setup(app):
    app.connect("doctree-read", register_proof_anchors)
    app.connect("doctree-resolved", unique_ids)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""A Sphinx extension used only by the book build (_config.yml; issue 20): proof boxes.

sphinx-proof gives every ``{prf:proof}`` the id ``proof`` and every result's body the id
``proof-content``; a page with many of them repeats the same id. Each repeat gets a numbered id.

Lessons link to a theorem with a plain Markdown link, ``[...](../book/proofs.md#thm-kr-duality)``
(it works in Colab too). MyST resolves ``doc.md#id`` only against heading anchors and warns
(``myst.xref_missing``, an error in the strict build) for any other id, although the link works;
each labelled sphinx-proof result is registered as an anchor of its page, so a link to a label
that exists resolves silently and a link to one that does not still fails the build.
"""

from __future__ import annotations

from docutils import nodes

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


def setup(app):
    app.connect("doctree-read", register_proof_anchors)
    app.connect("doctree-resolved", unique_ids)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

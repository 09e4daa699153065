"""A Sphinx extension used only by the book build (_config.yml; issue 20): unique ids for proof boxes.

sphinx-proof gives every ``{prf:proof}`` the id ``proof`` and every result's body the id
``proof-content``; a page with many of them repeats the same id. Each repeat gets a numbered id.
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


def setup(app):
    app.connect("doctree-resolved", unique_ids)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""Write lesson notebooks from a compact Python description (maintainer tool, not for readers).

Usage from a build script::

    from tools.nbtemplate import md, code, write_lesson
    write_lesson("notebooks/01_mle_is_kl.ipynb", [md("# Title"), code("x = 1"), ...])

``write_lesson`` prepends the standard Colab setup cell and the standard imports cell, sets the
kernelspec and the Colab metadata (GPU runtime), and stores no outputs.
"""

from __future__ import annotations

import textwrap

import nbformat

REPO_URL = "https://github.com/gan-tutor/gan-tutor"

# ruff-formatted at 88 columns, as every code cell is (tests/test_static_book.py)
SETUP_SOURCE = f'''\
# Colab setup (hidden in the book): install gan-tutor; Colab's own torch is left alone.
import os, sys

if "google.colab" in sys.modules or os.environ.get("GAN_TUTOR_FORCE_SETUP"):
    _source = os.environ.get(
        "GAN_TUTOR_SOURCE",
        "gan-tutor @ git+{REPO_URL}@main",
    )
    %pip install --quiet "{{_source}}"'''


def md(text: str):
    return nbformat.v4.new_markdown_cell(textwrap.dedent(text).strip("\n"))


def code(text: str, tags: list[str] | None = None):
    cell = nbformat.v4.new_code_cell(textwrap.dedent(text).strip("\n"))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def imports_cell(extra: str = ""):
    src = "import gan_tutor as gt\nimport matplotlib.pyplot as plt\nimport numpy as np\nimport torch\n"
    if extra:
        src += textwrap.dedent(extra).strip("\n") + "\n"
    src += "\ndevice = gt.get_device()\ngt.seed_everything(0)\nprint(f\"device: {device}, quick mode: {gt.quick_mode()}\")"
    return code(src)


def write_lesson(path: str, cells: list, extra_imports: str = "") -> None:
    nb = nbformat.v4.new_notebook()
    setup = code(SETUP_SOURCE, tags=["remove-cell"])
    # the reader sees the title before any code: setup (hidden in the book), title, imports, rest
    title = [cells[0]] if cells and cells[0].cell_type == "markdown" and cells[0].source.startswith("# ") else []
    nb.cells = [setup, *title, imports_cell(extra_imports), *cells[len(title):]]
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "accelerator": "GPU",
        "colab": {"provenance": [], "gpuType": "T4", "toc_visible": True},
    }
    for i, c in enumerate(nb.cells):
        c["id"] = f"cell-{i:02d}"
    nbformat.validate(nb)
    nbformat.write(nb, path)

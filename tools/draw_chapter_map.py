"""Draw book/images/chapter_map.png, the map of the course on the intro page.

Run from the repository root: ``.venv/bin/python tools/draw_chapter_map.py``.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

PARTS = [
    ("Part I: divergences", "#dbe9f6", [
        ("1", "MLE is KL", "max likelihood\n= min KL"),
        ("2", "GAN game\nand JS", "optimal D*;\nmax V = −log 4\n+ 2 JS"),
        ("3", "When JS\nfails", "disjoint supports:\nJS = log 2,\nno gradient"),
    ]),
    ("Part II: Wasserstein", "#e3f1dc", [
        ("4", "Wasserstein\ndistance", "earth mover;\nexact W1 (POT);\nKR duality"),
        ("5", "WGAN\n(clipping)", "critic ≈ K·W1;\nclipping's\nfailures"),
    ]),
    ("Part III: enforcing the Lipschitz constraint", "#fbe5d6", [
        ("6", "WGAN-GP", "‖∇f‖ → 1\non interpolates"),
        ("7", "SNGAN", "σ_max by\npower iteration"),
        ("8", "Comparison", "clip vs GP\nvs SN,\nmeasured"),
    ]),
]

fig, ax = plt.subplots(figsize=(11, 3.6), dpi=150)
ax.set_xlim(0, 8.75)
ax.set_ylim(0, 3.2)
ax.axis("off")
x = 0.1
centres = []
for title, colour, chapters in PARTS:
    width = len(chapters) * 1.05
    ax.add_patch(FancyBboxPatch((x - 0.05, 0.15), width - 0.05, 2.9, boxstyle="round,pad=0.02",
                                fc=colour, ec="0.6", lw=0.8))
    ax.text(x + width / 2 - 0.07, 2.85, title, ha="center", va="center", fontsize=10, weight="bold")
    for num, name, gist in chapters:
        ax.add_patch(FancyBboxPatch((x + 0.02, 0.45), 0.86, 2.0, boxstyle="round,pad=0.03",
                                    fc="white", ec="0.3", lw=1.0))
        ax.text(x + 0.45, 2.2, f"Ch. {num}", ha="center", fontsize=9, color="0.35")
        ax.text(x + 0.45, 1.75, name, ha="center", va="center", fontsize=9, weight="bold")
        ax.text(x + 0.45, 0.95, gist, ha="center", va="center", fontsize=7.5)
        centres.append(x + 0.45)
        x += 1.05
    x += 0.1
for a, b in zip(centres[:-1], centres[1:]):
    ax.annotate("", xy=(b - 0.45, 1.45), xytext=(a + 0.45, 1.45),
                arrowprops=dict(arrowstyle="->", color="0.25", lw=1.2))
ax.set_title("The course at a glance: from likelihood to Lipschitz critics", fontsize=11)
fig.savefig("book/images/chapter_map.png", bbox_inches="tight")
print("wrote book/images/chapter_map.png")

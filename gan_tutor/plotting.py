"""Figures the lessons share: densities with D, samples over critic contours, image grids,
training curves and animations (HTML/JavaScript, so they play in the book and in Colab).

One style for every figure of the book (``STYLE``, applied when this module is imported, and
again by ``use_style()``): drawn at the width of the book's column (7.2 in at 100 dpi = 720 px;
the column is 752 px wide at a 1280 px window), so figures are shown at their drawn size and
11 pt text stays 11 pt (about 15 px) on screen. Use ``figsize(rows, cols)`` for panels: four
panels go in a 2x2 grid, not a 1x4 strip."""

from __future__ import annotations

from typing import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import animation
from torch import nn

from .lipschitz import _measuring, _to_module

__all__ = [
    "STYLE",
    "COLUMN_WIDTH",
    "use_style",
    "figsize",
    "plot_density_1d",
    "plot_samples_2d",
    "image_grid",
    "show_images",
    "plot_history",
    "animate",
]


COLUMN_WIDTH = 7.2
"""Width in inches of a figure that fills the book's column at 100 dpi (720 px of 752 px)."""

STYLE: dict[str, object] = {
    "figure.figsize": (COLUMN_WIDTH, 4.0),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
    "legend.title_fontsize": 11,
    "figure.titlesize": 12,
    "lines.linewidth": 1.8,
    "axes.grid": False,
    "image.cmap": "viridis",
}


def use_style() -> None:
    """Apply the book's figure style (``STYLE``) to matplotlib's rcParams."""
    plt.rcParams.update(STYLE)


def figsize(rows: int = 1, cols: int = 1, panel_aspect: float = 0.75) -> tuple[float, float]:
    """A (width, height) in inches for ``rows`` x ``cols`` panels filling the column width.

    At most two panels per row read at book width: four panels are ``figsize(2, 2)``, not
    ``figsize(1, 4)``. ``panel_aspect`` is each panel's height over its width."""
    if cols > 2:
        raise ValueError(f"{cols} panels in a row are too small at book width: use at most 2 columns")
    return COLUMN_WIDTH, round(COLUMN_WIDTH / cols * panel_aspect * rows, 2)


use_style()


def plot_density_1d(ax: plt.Axes, x: np.ndarray, p_data: np.ndarray, p_g: np.ndarray | None = None,
                    d: np.ndarray | None = None, title: str | None = None) -> plt.Axes:
    """The classic GAN figure: data density (black dots), generator density (green), D(x) (blue
    dashes, right-hand scale from 0 to 1)."""
    ax.plot(x, p_data, "k:", lw=2, label=r"$p_{data}$")
    if p_g is not None:
        ax.plot(x, p_g, "g-", lw=2, label=r"$p_g$")
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    handles, labels = ax.get_legend_handles_labels()
    if d is not None:
        ax2 = ax.twinx()
        ax2.plot(x, d, "b--", lw=1.5, label="D(x)")
        ax2.set_ylim(-0.02, 1.02)
        ax2.set_ylabel("D(x)")
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, loc="upper left")
    if title:
        ax.set_title(title)
    return ax


@torch.no_grad()
def plot_samples_2d(ax: plt.Axes, fake: torch.Tensor, real: torch.Tensor | None = None,
                    critic: nn.Module | None = None, lim: float = 2.0, title: str | None = None,
                    n_grid: int = 100) -> plt.Axes:
    """Generator samples (orange) over real samples (grey) and the critic's contours.

    The grid goes to the critic's device and dtype; the critic is evaluated in evaluation mode
    and every submodule's mode is restored. Samples may live on any device."""
    if critic is not None:
        g = torch.linspace(-lim, lim, n_grid)
        xx, yy = torch.meshgrid(g, g, indexing="xy")
        pts = _to_module(torch.stack([xx.ravel(), yy.ravel()], 1), critic, "the contour grid")
        with _measuring(critic):
            zz = critic(pts).reshape(n_grid, n_grid).cpu()
        cs = ax.contourf(xx, yy, zz, levels=20, cmap="Blues", alpha=0.6)
        plt.colorbar(cs, ax=ax, fraction=0.046, label="critic score")
    if real is not None:
        real = real.detach().cpu()
        ax.scatter(real[:, 0], real[:, 1], s=4, c="0.3", alpha=0.5, label="real")
    fake = fake.detach().cpu()
    ax.scatter(fake[:, 0], fake[:, 1], s=4, c="tab:orange", alpha=0.6, label="generated")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(loc="upper right", markerscale=3)
    if title:
        ax.set_title(title)
    return ax


def image_grid(images: torch.Tensor, nrow: int = 8) -> np.ndarray:
    """Tile ``(n, 1, 28, 28)`` images in ``[-1, 1]`` into one ``(H, W)`` array in ``[0, 1]``."""
    from torchvision.utils import make_grid

    grid = make_grid(images.detach().cpu().clamp(-1, 1), nrow=nrow, padding=2, normalize=True,
                     value_range=(-1, 1), pad_value=1.0)
    return grid[0].numpy()


def show_images(ax: plt.Axes, images: torch.Tensor, nrow: int = 8, title: str | None = None) -> plt.Axes:
    """Draw an image grid on ``ax`` without ticks."""
    ax.imshow(image_grid(images, nrow), cmap="gray", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return ax


def plot_history(history, keys: Sequence[str] = ("d_loss", "g_loss"), ax: plt.Axes | None = None,
                 x: str = "step", logy: bool = False, title: str | None = None) -> plt.Axes:
    """Plot per-step (``d_loss``, ``g_loss``, ``w_estimate``, ``penalty``) or per-evaluation
    (``exact_w1``, ``critic_w1``, ``grad_norm``, ``modes``, ``high_quality``) curves of a
    :class:`~gan_tutor.training.History` against ``step`` or ``time`` (seconds)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    per_eval = {"exact_w1", "critic_w1", "grad_norm", "modes", "high_quality"}
    for k in keys:
        vals = getattr(history, k)
        if k in per_eval:
            xs = history.eval_step if x == "step" else history.eval_time
            ax.plot(xs, vals, "o-", ms=3, label=k)
        else:
            xs = history.step if x == "step" else history.time
            ax.plot(xs, vals, lw=1, label=k)
    ax.set_xlabel("generator step" if x == "step" else "seconds")
    if logy:
        ax.set_yscale("log")
    ax.legend()
    if title:
        ax.set_title(title)
    return ax


def animate(fig: plt.Figure, update: Callable[[int], object], n_frames: int, interval: int = 200):
    """An HTML/JavaScript animation (``IPython.display.HTML``) that plays in Jupyter, Colab and
    the book; ``update(i)`` redraws frame ``i``. The figure is closed so it is not shown twice."""
    from IPython.display import HTML

    anim = animation.FuncAnimation(fig, update, frames=n_frames, interval=interval)
    html = HTML(offline_controls(anim.to_jshtml(default_mode="once")))
    plt.close(fig)
    return html


# matplotlib's player loads Font Awesome 4 from a CDN for its buttons: without network (or where the
# CDN is blocked) the buttons are blank. Plain Unicode symbols need no font download.
_CONTROL_SYMBOLS = {
    "fa-fast-backward": "|&#9664;&#9664;",
    "fa-step-backward": "|&#9664;",
    "fa-play fa-flip-horizontal": "&#9664;",
    "fa-pause": "&#10074;&#10074;",
    "fa-play": "&#9654;",
    "fa-step-forward": "&#9654;|",
    "fa-fast-forward": "&#9654;&#9654;|",
    "fa-minus": "&minus;",
    "fa-plus": "+",
}


def offline_controls(html: str) -> str:
    """matplotlib's JavaScript animation HTML without its Font Awesome CDN stylesheet: the
    button icons become Unicode symbols."""
    import re

    html = re.sub(r"<link[^>]*font-awesome[^>]*>", "", html)
    for cls, symbol in _CONTROL_SYMBOLS.items():
        html = html.replace(f'<i class="fa {cls}"></i>', symbol)
    return html

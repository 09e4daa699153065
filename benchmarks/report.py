"""Turn the JSON in benchmarks/results/ into figures (PNG) and markdown tables.

``python -m benchmarks.report [DIR]`` (``benchmarks.run`` calls it at the end). Every output is
written even when its JSON is missing (a placeholder saying so), so that ``book/results.md``
always builds.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from .common import RESULTS, read_json

METHOD_LABEL = {"standard": "standard GAN", "wgan_clip": "WGAN-clip", "wgan_gp": "WGAN-GP", "sngan": "SNGAN"}
METHOD_COLOR = {"standard": "tab:gray", "wgan_clip": "tab:orange", "wgan_gp": "tab:blue", "sngan": "tab:green"}
DATA_LABEL = {"grid25": "25-Gaussian grid", "ring8": "8-Gaussian ring"}
CONSTRAINT_LABEL = {"none": "none", "clip": "weight clipping", "gp": "gradient penalty", "sn": "spectral norm"}
PAIR_LABEL = {"translation_2d": "2D translation", "gaussians_1d": "two 1D Gaussians", "parallel_lines": "parallel lines"}
MISSING = "_Not measured yet: run `make bench` (or `python -m benchmarks.run --only {name}`)._\n"


# ---------------------------------------------------------------- formatting helpers
def _f(x: float | None, fmt: str = "{:.3g}") -> str:
    return "–" if x is None or (isinstance(x, float) and not math.isfinite(x)) else fmt.format(x)


def _ms(s: dict[str, Any] | None, fmt: str = "{:.3g}", scale: float = 1.0, spread: str = "range") -> str:
    """'median [min–max]' (or IQR) of a median_spread block."""
    if not s or s.get("median") is None:
        return "–"
    lo, hi = (s["min"], s["max"]) if spread == "range" else (s["q25"], s["q75"])
    med = fmt.format(scale * s["median"])
    if s.get("n", 1) > 1 and lo is not None and hi is not None:
        return f"{med} [{fmt.format(scale * lo)}–{fmt.format(scale * hi)}]"
    return med


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _placeholder_png(path: Path, title: str) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 2))
    ax.axis("off")
    ax.text(0.5, 0.5, f"{title}\nnot measured yet: run `make bench`", ha="center", va="center", fontsize=12)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _quick_note(d: dict[str, Any]) -> str:
    return " (quick smoke run: tiny budgets, not meaningful)" if d.get("quick") else ""


# ---------------------------------------------------------------- machine
def machine_table(results: dict[str, dict[str, Any] | None]) -> str:
    rows = []
    for name, d in results.items():
        if not d:
            rows.append([name, "not measured yet", "", "", "", "", ""])
            continue
        m = d.get("machine", {})
        dev = m.get("device", "?") + (f" ({m['gpu']})" if m.get("gpu") else "")
        load = m.get("load_avg_start"), m.get("load_avg_end")
        load_s = " → ".join(_f(x[0], "{:.1f}") if x else "–" for x in load)
        rows.append([name + ("" if not d.get("quick") else " (quick)"), m.get("date", "?")[:16].replace("T", " "),
                     f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores ({m.get('torch_threads', '?')} torch threads)",
                     f"torch {m.get('torch', '?')}, POT {m.get('pot', '?')}", dev, load_s,
                     _f(d.get("total_s"), "{:.0f}")])
    return _table(["benchmark", "date", "CPU", "software", "device", "load average (1 min, start → end)",
                   "run time (s)"], rows)


# ---------------------------------------------------------------- convergence
def _curves(runs: list[dict[str, Any]], key: str, x: str):
    ok = [r for r in runs if r.get("error") is None and r.get(key)]
    if not ok:
        return None
    n = min(len(r[key]) for r in ok)
    ys = np.array([r[key][:n] for r in ok], dtype=float)
    xs = np.median(np.array([r[x][:n] for r in ok], dtype=float), axis=0)
    return xs, np.median(ys, axis=0), ys.min(axis=0), ys.max(axis=0)


def convergence_figure(d: dict[str, Any], path: Path, x: str) -> None:
    import matplotlib.pyplot as plt

    datasets = [ds for ds in ("grid25", "ring8") if any(r["dataset"] == ds for r in d["runs"])]
    fig, axes = plt.subplots(len(datasets), 2, figsize=(7.2, 3.2 * len(datasets)), squeeze=False)
    target_t = d["targets"]["time_s"]
    for row, ds in enumerate(datasets):
        n_modes = next(r["n_modes"] for r in d["runs"] if r["dataset"] == ds)
        for col, (key, ylabel) in enumerate((("modes", "modes captured"), ("high_quality", "high-quality samples (%)"))):
            ax = axes[row, col]
            for m in METHOD_LABEL:
                c = _curves([r for r in d["runs"] if r["dataset"] == ds and r["method"] == m], key, x)
                if c is None:
                    continue
                xs, med, lo, hi = c
                scale = 100.0 if key == "high_quality" else 1.0
                ax.plot(xs, scale * med, "-o", ms=2.5, color=METHOD_COLOR[m], label=METHOD_LABEL[m])
                ax.fill_between(xs, scale * lo, scale * hi, color=METHOD_COLOR[m], alpha=0.15, lw=0)
            if key == "modes":
                ax.axhline(n_modes, color="k", ls=":", lw=1)
                ax.set_ylim(0, n_modes + 1)
            else:
                ax.axhline(100 * d["targets"]["high_quality"], color="k", ls=":", lw=1)
                ax.set_ylim(0, 101)
            if x == "seconds" and ds == "grid25":
                ax.axvline(target_t, color="crimson", ls="--", lw=1)
                ax.text(target_t, ax.get_ylim()[0] + 0.03 * (ax.get_ylim()[1] - ax.get_ylim()[0]), " 3 min",
                        color="crimson")
            ax.set_xlabel("wall-clock seconds (evaluation excluded)" if x == "seconds" else "generator steps")
            ax.set_ylabel(ylabel)
            ax.set_title(DATA_LABEL[ds])  # the y label names the measure
            ax.grid(alpha=0.3)
            if row == 0 and col == 0:
                ax.legend(loc="lower right")
    seeds = d.get("seeds")
    fig.suptitle(f"Convergence of the presets: median over {seeds} seeds, band = min–max"
                 f"{_quick_note(d)}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def convergence_tables(d: dict[str, Any]) -> tuple[str, str]:
    rows = []
    t = d["targets"]
    for key, s in d["summary"].items():
        n_modes = next(r["n_modes"] for r in d["runs"] if r["dataset"] == s["dataset"])
        rows.append([
            DATA_LABEL[s["dataset"]], METHOD_LABEL[s["method"]],
            f"{_ms(s['final_modes'], '{:.0f}')} / {n_modes}",
            _ms(s["final_high_quality"], "{:.1f}", 100),
            f"{s['reached_target']}/{s['runs']}" + (f" ({s['diverged']} diverged)" if s["diverged"] else ""),
            _ms(s["target_step"], "{:.0f}"),
            _ms(s["target_seconds"], "{:.0f}"),
            _ms(s["seconds_per_step"], "{:.0f}", 1000),
            f"{s['steps']:.0f}" if s["steps"] is not None else "–",
        ])
    table = _table(["data", "method", "modes at the end", "high quality at the end (%)",
                    f"runs reaching all modes and ≥ {100 * t['high_quality']:.0f}% HQ", "steps to target",
                    "seconds to target", "ms per step", "steps run"], rows)
    table += ("\nMedian [min–max] over seeds; the target is met at the first evaluation with every mode "
              "captured and at least 95% high-quality samples. Reference on the same grid (Lin et al., 2018, "
              "Table 1): " + ", ".join(f"{k} {v['modes']} modes / {100 * v['high_quality']:.1f}%"
                                        for k, v in d["reference_grid25"].items()) + ".\n")
    crow = []
    for m, c in d["configs"].items():
        extra = {"wgan_clip": f"clip c = {c['clip_value']}", "wgan_gp": f"λ = {c['gp_weight']:g}",
                 "sngan": "spectral norm (1 power-iteration step per critic forward pass, 2 per critic step)", "standard": "–"}[m]
        crow.append([METHOD_LABEL[m], c["loss"], extra, c["optimizer"] + (f" β = {tuple(c['betas'])}"
                     if c["optimizer"] == "adam" else ""),
                     f"{c['lr_d']:g} / {c['lr_g']:g}", str(c["n_critic"]), str(c["batch_size"]),
                     _f(c.get("ema"), "{:g}") if c.get("ema") else "off"])
    configs = _table(["preset", "loss", "constraint", "optimiser", "lr critic / generator", "n_critic", "batch",
                      "generator EMA"], crow)
    configs += f"\nNetworks: generator `{_oneline(d['models']['generator'])}`, critic `{_oneline(d['models']['critic'])}`.\n"
    return table, configs


def _oneline(r: str) -> str:
    import re

    layers = re.findall(r"Linear\(in_features=(\d+), out_features=(\d+)", r)
    if layers:
        return " → ".join([layers[0][0]] + [o for _, o in layers]) + " (ReLU MLP)"
    return r.splitlines()[0]


# ---------------------------------------------------------------- critic accuracy
def _critic_label(d: dict[str, Any], c: str) -> str:
    """A critic's label in the critic-accuracy results; gradient-penalty critics name the lambda they ran with."""
    lam = next((r["config"]["gp_weight"] for r in d.get("runs", []) if r["constraint"] == c), None)
    if c.startswith("gp") and lam is not None:
        return f"gradient penalty, λ = {lam:g}"
    return CONSTRAINT_LABEL.get(c, c)


def critic_figure(d: dict[str, Any], path: Path) -> None:
    import matplotlib.pyplot as plt

    pairs = list(d["pairs"])
    colors = {"clip": "tab:orange", "gp": "tab:blue", "gp30": "tab:purple", "sn": "tab:green"}
    estimators = tuple(c for c in ("gp", "gp30", "sn") if f"{pairs[0]}/{c}" in d["summary"])
    # 2x2 at the book's column width (gan_tutor.plotting.STYLE): the fourth panel holds the legend
    # of the training curves, which was unreadable inside a 1x3 strip
    fig, ((ax, axk), (ax2, axleg)) = plt.subplots(2, 2, figsize=(7.2, 8.4))

    def bars(axis, critics, width, values=True):
        for i, c in enumerate(critics):
            med, lo, hi = [], [], []
            for p in pairs:
                s = d["summary"][f"{p}/{c}"]["ratio_exact"]
                med.append(s["median"])
                lo.append(s["median"] - s["min"])
                hi.append(s["max"] - s["median"])
            xs = np.arange(len(pairs)) + (i - (len(critics) - 1) / 2) * width
            axis.bar(xs, med, width, yerr=[lo, hi], color=colors[c], capsize=3, label=_critic_label(d, c))
            for xx, v, h in zip(xs, med, hi) if values else ():
                axis.text(xx, v + h, f"{v:.3g}", ha="center", va="bottom")
        axis.set_xticks(np.arange(len(pairs)), [PAIR_LABEL[p].replace(" ", "\n") for p in pairs])

    bars(ax, estimators, 0.8 / len(estimators), values=False)  # the table below gives the numbers
    ax.axhline(1.0, color="k", lw=1)
    ax.axhspan(0.95, 1.05, color="k", alpha=0.1, lw=0, label="±5% of exact")
    top = max(1.25, max(d["summary"][f"{p}/{c}"]["ratio_exact"]["max"] or 0 for p in pairs for c in estimators) * 1.12)
    ax.set_ylim(min(0.0, min(d["summary"][f"{p}/{c}"]["ratio_exact"]["min"] or 0 for p in pairs for c in estimators)), top)
    ax.set_ylabel("critic estimate / exact W1")
    ax.set_title("Gradient penalty and spectral norm\n(1 = exact W1)")
    bars(axk, ("clip",), 0.5)
    axk.set_ylabel("learned scale K = estimate / exact W1")
    axk.set_title("Weight clipping (c = 0.01):\nthe critic estimates K·W1")
    styles = {"translation_2d": "-", "gaussians_1d": "--", "parallel_lines": ":"}
    for r in d["runs"]:
        if r["seed"] != 0 or r["constraint"] == "clip":
            continue
        cv = r["curve"]
        ratio = np.array(cv["critic_w1"]) / np.array(cv["exact_w1"])
        ax2.plot(cv["step"], ratio, styles[r["pair"]], color=colors[r["constraint"]], marker="o", ms=2.5,
                 label=f"{_critic_label(d, r['constraint'])}, {PAIR_LABEL[r['pair']]}")
    ax2.axhline(1.0, color="k", lw=1)
    ax2.axhspan(0.95, 1.05, color="k", alpha=0.1, lw=0)
    ax2.set_xlabel("critic steps")
    ax2.set_ylabel("estimate / POT W1 of the same samples")
    ax2.set_title("During training (seed 0)")
    axleg.axis("off")
    top_legend = axleg.legend(*ax.get_legend_handles_labels(), loc="upper left", frameon=False,
                              title="bars and curves: colour")
    axleg.add_artist(top_legend)
    # the curves: colour = method (the legend above), line style = pair of distributions
    from matplotlib.lines import Line2D

    pair_handles = [Line2D([], [], color="k", ls=styles[p], marker="o", ms=2.5) for p in pairs if p in styles]
    axleg.legend(pair_handles, [PAIR_LABEL[p] for p in pairs if p in styles], loc="lower left", frameon=False,
                 title="curves: line style")
    ax2.grid(alpha=0.3)
    fig.suptitle(f"Critic estimates of W1 against exact values{_quick_note(d)}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def critic_table(d: dict[str, Any]) -> str:
    rows = []
    for key, s in d["summary"].items():
        c = s["constraint"]
        rows.append([PAIR_LABEL[s["pair"]], _f(s["exact"], "{:.4f}"), _critic_label(d, c),
                     _ms(s["estimate"], "{:.4g}"), _ms(s.get("estimate_same_samples"), "{:.4g}"),
                     _ms(s["pot_same_samples"], "{:.4f}"),
                     _ms(s["ratio_exact"], "{:.3g}"), _ms(s["ratio_pot"], "{:.3g}"),
                     _ms(s["rel_error_exact"], "{:+.1f}", 100) if c.startswith("gp") else "–",
                     _ms(s["max_grad_norm"], "{:.3g}"), _ms(s.get("grad_norm_interpolates"), "{:.3g}"),
                     _ms(s.get("grad_norm_transport"), "{:.3g}")])
    b = d["budget"]
    pop, fin = b.get("population_samples", b["final_samples"]), b["final_samples"]
    t = _table(["pair", "exact W1", "critic", f"estimate ({pop:,} samples)", f"estimate ({fin:,} samples)",
                f"POT W1 (same {fin:,} samples)", "estimate / exact", "estimate / POT", "GP error vs exact (%)",
                "max gradient norm", "mean gradient norm: interpolates", "mean gradient norm: transport segments"],
               rows)
    t += (f"\nMedian [min–max] over {d['seeds']} seeds; {b['steps']} critic steps each. Estimate / exact uses "
          f"{pop:,} fresh samples per side (so that sampling noise does not hide the critic's error); "
          f"estimate / POT uses {fin:,} other fresh samples per side and POT's exact W1 of those same samples "
          "(above the true W1 by the empirical W1's sample-size bias). For clipping, estimate / exact is the scale K of "
          "the K-Lipschitz critic it learns; for spectral normalisation (Wasserstein loss) it is at most 1. "
          "Max gradient norm: largest input-gradient norm at interpolates (a lower bound on the critic's "
          "Lipschitz constant). Mean gradient norm at interpolates of random real-fake pairs (where the gradient "
          "penalty acts) and at random points on the segments of POT's optimal plan (where the estimate is earned: "
          "estimate / POT is the critic's average slope along them).")
    opt = d.get("gp_optimum_1d")
    if opt and "gaussians_1d" in d["pairs"]:
        w1 = d["pairs"]["gaussians_1d"]["exact"]
        t += (" For the two 1D Gaussians the best *penalised* critic is known (lesson 6): its estimate is "
              + ", ".join(f"{opt[c]:.4f} ({100 * (opt[c] / w1 - 1):+.1f}%) with {_critic_label(d, c)}" for c in opt)
              + ", so no amount of training brings a critic with that λ closer to W1.")
    return t + "\n"


# ---------------------------------------------------------------- cost
def cost_figure(d: dict[str, Any], path: Path) -> None:
    import matplotlib.pyplot as plt

    settings = list(d["settings"])
    cons = ("clip", "gp", "sn")
    fig, ax = plt.subplots(figsize=(7.2, 3.8))
    w = 0.8 / len(settings)
    colors = ["tab:blue", "tab:purple"]
    for i, st in enumerate(settings):
        r = d["settings"][st]["ratio"]
        med = [r[c]["median"] for c in cons]
        err = [[r[c]["median"] - r[c]["q25"] for c in cons], [r[c]["q75"] - r[c]["median"] for c in cons]]
        xs = np.arange(len(cons)) + (i - (len(settings) - 1) / 2) * w
        label = {"mlp_grid25": "MLP, 25-Gaussian grid", "dcgan_mnist": "DCGAN, MNIST"}.get(st, st)
        ax.bar(xs, med, w, yerr=err, capsize=3, color=colors[i % 2], label=label)
        for xx, v, e in zip(xs, med, err[1]):
            ax.text(xx, v + e + 0.03, f"{v:.2f}×", ha="center", va="bottom")
    ax.axhline(1.0, color="k", lw=1, ls="--")
    tops = [d["settings"][st]["ratio"][c]["q75"] or 0 for st in settings for c in cons]
    ax.set_ylim(0, max(tops + [1.0]) * 1.15 + 0.1)
    ax.set_xticks(np.arange(len(cons)), [CONSTRAINT_LABEL[c] for c in cons])
    ax.set_ylabel("time per generator step / unconstrained")
    ax.set_xlabel("Lipschitz constraint of the critic (n_critic = 5)")
    ax.set_title("Cost of each constraint relative to an unconstrained critic")
    if d.get("quick"):
        fig.suptitle(_quick_note(d).strip(" ()"))
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def cost_table(d: dict[str, Any]) -> str:
    rows = []
    for st, r in d["settings"].items():
        label = {"mlp_grid25": "MLP, 25-Gaussian grid", "dcgan_mnist": "DCGAN, MNIST"}.get(st, st)
        for c in ("none", "clip", "gp", "sn"):
            rows.append([label, CONSTRAINT_LABEL[c], _ms(r["seconds_per_step_summary"][c], "{:.1f}", 1000),
                         "1" if c == "none" else _ms(r["ratio"][c], "{:.2f}", spread="iqr")])
    t = _table(["networks and data", "constraint", "ms per generator step", "ratio to none (median [IQR])"], rows)
    b = {k: v["budget"] for k, v in d["settings"].items()}
    t += ("\nRuns interleaved in rounds (" + "; ".join(f"{k}: {v['rounds']} rounds of {v['steps']} generator steps, "
                                               f"batch {v['batch_size']}" for k, v in b.items())
          + "); the ratio is taken within each round. Data: "
          + "; ".join(f"{k}: {v['data']}" for k, v in d["settings"].items()) + ".\n")
    return t


# ---------------------------------------------------------------- POT
def pot_figure(d: dict[str, Any], path: Path) -> None:
    import matplotlib.pyplot as plt

    rows = d["rows"]
    n = np.array([r["n"] for r in rows], dtype=float)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(7.2, 3.6))
    ax.loglog(n, [r["exact_s"] for r in rows], "o-", color="tab:red", label="exact W1 (POT, network simplex)")
    ns = list(n) + [r["n"] for r in d["sliced_only"]]
    ts = [r["sliced_s"] for r in rows] + [r["sliced_s"] for r in d["sliced_only"]]
    ax.loglog(ns, ts, "s-", color="tab:blue", label=f"sliced W1 ({d['setting']['n_projections']} directions)")
    if len(n) >= 2:
        ref = np.array([n[0], n[-1]])
        ax.loglog(ref, rows[0]["exact_s"] * (ref / n[0]) ** 2, "k:", lw=1, label="∝ n² (for reference)")
    ax.set_xlabel("points per side n")
    ax.set_ylabel("seconds")
    ax.set_title("Time of one W1 computation")
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    ax2.loglog(n, [r["cost_matrix_bytes"] / 1e6 for r in rows], "k--", label="cost matrix, 8 n² bytes")
    rss = [(r["n"], r["rss_increase_bytes"]) for r in rows if r.get("rss_increase_bytes")]
    if rss:
        ax2.loglog([a for a, _ in rss], [b / 1e6 for _, b in rss], "o-", color="tab:red",
                   label="measured peak RSS increase (exact W1)")
    ax2.set_xlabel("points per side n")
    ax2.set_ylabel("memory (MB)")
    ax2.set_title("Memory of exact W1")
    ax2.legend()
    ax2.grid(alpha=0.3, which="both")
    fig.suptitle(f"Exact W1 with POT vs sliced W1{_quick_note(d)}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def pot_table(d: dict[str, Any]) -> str:
    rows = []
    for r in d["rows"]:
        rows.append([f"{r['n']:,}", _f(r["exact_s"], "{:.3g}"), _f(r["cost_matrix_bytes"] / 1e6, "{:.3g}"),
                     _f((r["rss_increase_bytes"] or 0) / 1e6 if r.get("rss_increase_bytes") is not None else None, "{:.3g}"),
                     _f(r["exact_w1"], "{:.4f}"), _f(r["sliced_s"], "{:.3g}"), _f(r["sliced_w1"], "{:.4f}"),
                     _f(r["sliced_over_exact"], "{:.3f}")])
    for r in d["sliced_only"]:
        rows.append([f"{r['n']:,}", "not run", "", "", "", _f(r["sliced_s"], "{:.3g}"), _f(r["sliced_w1"], "{:.4f}"), ""])
    s = d["setting"]
    t = _table(["n", "exact W1 time (s)", "cost matrix (MB)", "peak RSS increase (MB)", "exact W1",
                "sliced W1 time (s)", "sliced W1", "sliced / exact"], rows)
    t += (f"\nData: {s['data']}; W1 of the distributions = {s['true_w1']:g}. Sliced / exact is expected near "
          f"2/π ≈ {s['sliced_expected_ratio']:.3f} for a translation in 2D (a different quantity, not an error). "
          + (d["stopped"] + "." if d.get("stopped") else "") + "\n")
    return t


# ---------------------------------------------------------------- course
def course_table(d: dict[str, Any]) -> str:
    rows = []
    for r in d["notebooks"]:
        q = r["quick_nbval"]
        f = r.get("full_execute")
        rows.append([f"`{Path(r['notebook']).name}`", _f(q["seconds"], "{:.0f}") + ("" if q["ok"] else " (failed)"),
                     (_f(f["seconds"], "{:.0f}") + ("" if f["ok"] else " (failed)")) if f else "–"])
    rows.append(["**total**", _f(d["nbval_quick_total_s"], "{:.0f}"), _f(d.get("full_execute_total_s"), "{:.0f}")])
    t = _table(["notebook", "quick mode under nbval (s)", "full mode, jupyter execute (s)"], rows)
    b = d.get("book_build")
    if b:
        t += (f"\nFresh `jupyter-book build` (full mode, warnings as errors): {b['seconds']:.0f} s"
              + ("" if b["ok"] else " (the build failed)") + ".")
    tg = d["targets"]
    t += (f"\nTargets: quick-mode nbval in total under {tg['nbval_quick_total_s'] / 60:.0f} min on 2 CPU cores; "
          f"the full book under {tg['book_cpu_s'] / 60:.0f} min on 2 CPU cores and under "
          f"{tg['book_gpu_s'] / 60:.0f} min on one GPU.\n")
    return t


# ---------------------------------------------------------------- lesson 08's grid experiment
def comparison_table(d: dict[str, Any]) -> str:
    """Per tuned preset: steps, modes, high-quality share and W1 per seed (median [range])."""
    def mr(v: list[float], fmt: str) -> str:
        a = np.asarray(v, float)
        return f"{fmt.format(np.median(a))} [{fmt.format(a.min())}-{fmt.format(a.max())}]"

    rows = [[m, mr(r["steps"], "{:.0f}"), mr(r["modes"], "{:.0f}"), mr([100 * q for q in r["high_quality"]], "{:.1f}"),
             mr(r["exact_w1"], "{:.3f}")] for m, r in d["methods"].items()]
    head = (f"Lesson 08's grid experiment: width {d['width']}, each configuration for the time of {d['budget_steps']} "
            f"steps of the standard GAN under the course recipe ({d['budget_s']:.1f} s of one core), seeds "
            f"{d['seeds']}, measured on {d['machine']['device']} ({d['machine'].get('cpu', '')}, "
            f"{d['machine']['date'][:10]}). Median [lowest-highest] over the seeds.{_quick_note(d)}\n\n")
    return head + _table(["preset", "generator steps", "modes (of 25)", "high quality %", "exact W1"], rows)


# ---------------------------------------------------------------- engine and book on each device
def engine_table(d: dict[str, Any]) -> str:
    """Syncs per generator step, batched seeds, and GPU vs CPU (when measured)."""
    t = _table(["preset", "evaluation", "device reads per generator step", "by call"],
               [[s["preset"], f"every {s['eval_every']} steps" if s["eval_every"] else "off",
                 f"{s['per_step']:.3f}", ", ".join(f"{k} {v}" for k, v in sorted(s["by_call"].items()))]
                for s in d["syncs"]])
    t += (f"\nReads counted over {d['syncs'][0]['steps']} generator steps of each preset on `{d['device']}` "
          f"(target: at most {d['targets']['syncs_per_step']} per step with evaluation off). Batched seeds "
          f"(`gt.train_seeds`, preset `{d['seeds']['preset']}`, {d['seeds']['steps']} steps, median of "
          f"{d['seeds']['rounds']} rounds):\n\n")
    t += _table(["K seeds", "batched, ms per step", "K sequential runs, ms per step", "batched / one seed",
                 "batched / sequential"],
                [[str(r["k"]), _ms(r["batched_s"], "{:.1f}", 1000), _ms(r["sequential_s"], "{:.1f}", 1000),
                  f"{r['batched_over_one_seed']:.2f}x", f"{r['batched_over_sequential']:.2f}x"]
                 for r in d["seeds"]["rows"]])
    dev = d.get("devices")
    if dev:
        t += f"\nGPU ({dev['gpu']}) against the same machine's CPU with 2 threads, {dev['steps']} steps:\n\n"
        t += _table(["preset", "GPU, ms per step", "CPU (2 threads), ms per step", "GPU speed-up"],
                    [[r["preset"], f"{1e3 * r['cuda_s']:.2f}", f"{1e3 * r['cpu2_s']:.2f}", f"{r['speedup']:.1f}x"]
                     for r in dev["rows"]])
    else:
        t += "\nGPU against CPU: not measured (no CUDA device on the machine that ran this benchmark).\n"
    return t + _quick_note(d) + "\n"


def book_table(cpu: dict[str, Any] | None, gpu: dict[str, Any] | None) -> str:
    """Seconds per lesson in full mode, CPU and GPU columns (``make gpu-check`` on each machine)."""
    runs = [("CPU", cpu), ("GPU", gpu)]
    names: list[str] = []
    for _, r in runs:
        for row in (r or {}).get("notebooks", []):
            if row["notebook"] not in names:
                names.append(row["notebook"])
    if not names:
        return "_Not measured yet: run `make gpu-check` on a CPU machine and on a GPU machine._\n"

    def cell(r: dict[str, Any] | None, name: str) -> str:
        row = next((x for x in (r or {}).get("notebooks", []) if x["notebook"] == name), None)
        if row is None:
            return "not measured"
        return f"{row['seconds']:.0f} s" + ("" if row["ok"] else " (FAILED)")

    rows = [[n] + [cell(r, n) for _, r in runs] for n in sorted(names)]
    rows.append(["**all lessons**"] + [f"**{r['total_s'] / 60:.1f} min**" if r else "not measured" for _, r in runs])
    head = [f"{label} ({r['machine'].get('gpu') or r['machine'].get('cpu', '?')}, {r['machine'].get('date', '')[:10]})"
            if r else f"{label} (not measured)" for label, r in runs]
    return _table(["lesson (full mode)"] + head, rows)


# ---------------------------------------------------------------- targets
def targets_table(res: dict[str, dict[str, Any] | None]) -> str:
    rows = []
    conv = res.get("convergence")
    if conv:
        for m in ("wgan_gp", "sngan"):
            s = conv["summary"].get(f"grid25/{m}")
            if not s:
                continue
            t = s["target_seconds"]
            ok = s["reached_target"] == s["runs"] and t["max"] is not None and t["max"] <= conv["targets"]["time_s"]
            reached = (f"median {_ms(t, '{:.0f}')} s, {_ms(s['target_step'], '{:.0f}')} steps"
                       if s["reached_target"] else
                       f"at {conv['targets']['time_s']:.0f} s: {_ms(s['modes_at_time_target'], '{:.0f}')} modes, "
                       f"{_ms(s['high_quality_at_time_target'], '{:.1f}', 100)}% high quality")
            rows.append([f"{METHOD_LABEL[m]}: 25/25 modes and ≥ 95% high quality on the grid within 3 min",
                         f"{s['reached_target']}/{s['runs']} seeds reach it; {reached}",
                         "met" if ok else "missed"])
    ca = res.get("critic_accuracy")
    if ca:
        for c in ("gp", "gp30"):
            if f"{next(iter(ca['pairs']))}/{c}" not in ca["summary"]:
                continue
            label = _critic_label(ca, c).replace("gradient penalty, ", "")
            errs = [ca["summary"][f"{p}/{c}"]["rel_error_exact"]["median"] for p in ca["pairs"]]
            worst = max(abs(e) for e in errs if e is not None)
            rows.append([f"WGAN-GP critic ({label}) within 5% of the exact W1 (each pair, median over seeds)",
                         ", ".join(f"{PAIR_LABEL[p]} {100 * e:+.1f}%" for p, e in zip(ca["pairs"], errs)),
                         "met" if worst <= ca["targets"]["gp_rel_error"] else "missed"])
    co = res.get("cost")
    if co:
        for st, r in co["settings"].items():
            rows.append([f"cost per step relative to no constraint ({st})",
                         ", ".join(f"{c} {r['ratio'][c]['median']:.2f}×" for c in ("clip", "gp", "sn")), "reported"])
    cs = res.get("course")
    if cs:
        rows.append(["quick-mode nbval, all notebooks, under 10 min (2 CPU cores)",
                     f"{cs['nbval_quick_total_s'] / 60:.1f} min ({len(cs['notebooks'])} notebooks)",
                     "met" if cs["nbval_quick_total_s"] <= cs["targets"]["nbval_quick_total_s"] else "missed"])
        if cs.get("book_build"):
            gpu = cs["machine"].get("gpu")
            cap = cs["targets"]["book_gpu_s" if gpu else "book_cpu_s"]
            rows.append([f"full book under {cap / 60:.0f} min ({'GPU' if gpu else 'CPU'})",
                         f"{cs['book_build']['seconds'] / 60:.1f} min", "met" if cs["book_build"]["seconds"] <= cap else "missed"])
    en = res.get("engine")
    if en and not en.get("quick"):
        worst = max(x["per_step"] for x in en["syncs"] if not x["eval_every"])
        rows.append([f"at most {en['targets']['syncs_per_step']} device reads per generator step (evaluation off)",
                     f"{worst:.3f} (worst preset)", "met" if worst <= en["targets"]["syncs_per_step"] else "missed"])
        k8 = next((r for r in en["seeds"]["rows"] if r["k"] == 8), None)
        if k8 and en["device"].startswith("cuda"):
            rows.append(["8 batched seeds ≤ 2x one seed (GPU)", f"{k8['batched_over_one_seed']:.2f}x",
                         "met" if k8["batched_over_one_seed"] <= 2 else "missed"])
        elif k8:
            rows.append(["8 batched seeds ≤ 8 sequential runs (CPU)", f"{k8['batched_over_sequential']:.2f}x",
                         "met" if k8["batched_over_sequential"] <= 1 else "missed"])
        if en.get("devices"):
            worst = min(r["speedup"] for r in en["devices"]["rows"])
            rows.append(["GPU ≥ 3x the same machine's CPU (2 threads) per generator step",
                         f"{worst:.1f}x (slowest preset)", "met" if worst >= 3 else "missed"])
        else:
            rows.append(["GPU ≥ 3x the same machine's CPU (2 threads) per generator step", "no GPU measured",
                         "not measured"])
    for key, label, cap_key in (("book_cpu", "CPU", "cpu_total_s"), ("book_cuda", "GPU", "gpu_total_s")):
        bk = res.get(key)
        if not bk:
            rows.append([f"full course execution on {label}", "not measured (make gpu-check)", "not measured"])
            continue
        cap = bk["targets"][cap_key]
        ok = bk["total_s"] <= cap and not bk["failures"]
        rows.append([f"full course execution on {label} under {cap / 60:.0f} min, no failure",
                     f"{bk['total_s'] / 60:.1f} min, {len(bk['failures'])} failed", "met" if ok else "missed"])
    if not rows:
        return MISSING.format(name="...")
    return _table(["target", "measured", "status"], rows)


# ---------------------------------------------------------------- main
def main(out: Path | str = RESULTS) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    from gan_tutor.plotting import use_style

    use_style()  # the book's one figure style: column width, text >= 11 pt
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names = ("convergence", "critic_accuracy", "cost", "pot_scaling", "course", "engine", "book_cpu", "book_cuda",
             "comparison")
    res = {n: read_json(n, out) for n in names}
    written: list[Path] = []

    def text(name: str, body: str) -> None:
        p = out / name
        p.write_text(body)
        written.append(p)

    def figure(name: str, draw, title: str = "") -> None:
        p = out / name
        if draw is None:
            _placeholder_png(p, title)
        else:
            draw(p)
        written.append(p)

    text("machine.md", machine_table(res))
    text("targets.md", targets_table(res))
    conv = res["convergence"]
    if conv:
        figure("convergence.png", lambda p: convergence_figure(conv, p, "seconds"))
        figure("convergence_steps.png", lambda p: convergence_figure(conv, p, "steps"))
        table, configs = convergence_tables(conv)
        text("convergence.md", table)
        text("presets.md", configs)
    else:
        for f, t in (("convergence.png", "Convergence"), ("convergence_steps.png", "Convergence")):
            figure(f, None, title=t)
        text("convergence.md", MISSING.format(name="convergence"))
        text("presets.md", MISSING.format(name="convergence"))
    ca = res["critic_accuracy"]
    if ca:
        figure("critic_accuracy.png", lambda p: critic_figure(ca, p))
        text("critic_accuracy.md", critic_table(ca))
    else:
        figure("critic_accuracy.png", None, title="Critic accuracy")
        text("critic_accuracy.md", MISSING.format(name="critic_accuracy"))
    co = res["cost"]
    if co:
        figure("cost.png", lambda p: cost_figure(co, p))
        text("cost.md", cost_table(co))
    else:
        figure("cost.png", None, title="Cost per step")
        text("cost.md", MISSING.format(name="cost"))
    po = res["pot_scaling"]
    if po:
        figure("pot_scaling.png", lambda p: pot_figure(po, p))
        text("pot_scaling.md", pot_table(po))
    else:
        figure("pot_scaling.png", None, title="POT scaling")
        text("pot_scaling.md", MISSING.format(name="pot_scaling"))
    cs = res["course"]
    text("course.md", course_table(cs) if cs else MISSING.format(name="course"))
    text("engine.md", engine_table(res["engine"]) if res["engine"] else MISSING.format(name="engine"))
    text("book_devices.md", book_table(res["book_cpu"], res["book_cuda"]))
    cm = res["comparison"]
    text("comparison.md", comparison_table(cm) if cm else MISSING.format(name="comparison"))
    return written


if __name__ == "__main__":
    for p in main(Path(sys.argv[1]) if len(sys.argv) > 1 else RESULTS):
        print(p)

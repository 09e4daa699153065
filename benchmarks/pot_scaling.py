"""Exact W1 with POT: time and memory against the number of points, and sliced W1 beside it.

For n points per side (the 8-Gaussian ring vs the same ring shifted by (0.3, 0.4), so that
W1 = 0.5 for the distributions) we time ``gt.exact_w1`` (the Euclidean cost matrix, 8 n^2
bytes in float64, plus POT's network simplex, which also returns a dense n x n plan) and
``gt.sliced_w1`` (500 random directions), and record the peak increase of the resident set size
during the exact solve (sampled every few milliseconds from /proc). The exact solver is stopped
once the next size is predicted to exceed the time cap or the memory cap; sliced W1 goes on to
larger n because it never builds an n x n matrix.

Sliced W1 is a different quantity: for a translation by t in 2D it equals |t| E|cos U| =
(2 / pi) |t|, about 0.64 |t|. We report sliced / exact so that this ratio can be checked.
"""

from __future__ import annotations

import math
import os
import threading
import time
from typing import Any

from .common import finish_machine, log, machine_info

NAME = "pot_scaling"

FULL = dict(ns=[250, 500, 1000, 2000, 4000, 8000, 11314, 16000], sliced_ns=[32000, 64000, 128000],
            time_cap_s=120.0, repeats_small=3, n_projections=500)
QUICK = dict(ns=[100, 200, 400], sliced_ns=[1000], time_cap_s=2.0, repeats_small=1, n_projections=50)
SHIFT = (0.3, 0.4)


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class PeakRSS:
    """Sample the resident set size in a background thread; ``increase`` = peak - start (bytes)."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.start = self.peak = _rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            v = _rss_bytes()
            if v is not None and self.peak is not None:
                self.peak = max(self.peak, v)
            time.sleep(self.interval)

    def __enter__(self) -> "PeakRSS":
        if self.start is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        v = _rss_bytes()
        if v is not None and self.peak is not None:
            self.peak = max(self.peak, v)

    @property
    def increase(self) -> int | None:
        return None if self.start is None else self.peak - self.start


def _samples(n: int, seed: int):
    import torch

    import gan_tutor as gt

    g = torch.Generator().manual_seed(seed)
    x = gt.ring8().sample(n, generator=g)
    y = gt.Translated(gt.ring8(), SHIFT).sample(n, generator=g)
    return x.numpy(), y.numpy()


def run(quick: bool = False, seeds: int = 1) -> dict[str, Any]:
    import gc

    import gan_tutor as gt

    machine = machine_info()
    b = QUICK if quick else FULL
    t_all = time.perf_counter()
    exact_true = math.hypot(*SHIFT)
    rows: list[dict[str, Any]] = []
    stopped = None
    last_t = None
    last_n = None
    for n in b["ns"]:
        # POT's solver is roughly quadratic-to-cubic in n; predict with exponent 2.5
        if last_t is not None and last_t * (n / last_n) ** 2.5 > b["time_cap_s"]:
            stopped = f"stopped before n = {n:,}: predicted time over the {b['time_cap_s']:.0f} s cap"
            break
        need = gt.wasserstein.exact_w1_peak_bytes(n, n, d=2)  # the same estimate exact_w1's guard uses
        if need > gt.wasserstein.MEMORY_FRACTION * gt.wasserstein._available_memory_bytes():
            stopped = f"stopped before n = {n:,}: the exact solver would need about {need / 1024**3:.1f} GB"
            break
        x, y = _samples(n, seed=n)
        reps = b["repeats_small"] if n <= 1000 else 1
        times = []
        for _ in range(reps):
            gc.collect()
            with PeakRSS() as mem:
                t0 = time.perf_counter()
                w1 = gt.exact_w1(x, y)
                times.append(time.perf_counter() - t0)
        t_exact = min(times)
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            sw = gt.sliced_w1(x, y, n_projections=b["n_projections"], seed=0)
            ts.append(time.perf_counter() - t0)
        t_sliced = min(ts)
        row = {
            "n": n, "exact_w1": w1, "exact_s": t_exact, "cost_matrix_bytes": 8 * n * n,
            "rss_increase_bytes": mem.increase, "sliced_w1": sw, "sliced_s": t_sliced,
            "sliced_over_exact": sw / w1, "exact_over_true": w1 / exact_true,
        }
        rows.append(row)
        log(f"  n = {n:6,d}: exact W1 {w1:.4f} in {t_exact:.3f} s (peak RSS +{(mem.increase or 0) / 1e6:.0f} MB, "
            f"cost matrix {8 * n * n / 1e6:.0f} MB); sliced {sw:.4f} in {t_sliced:.3f} s")
        last_t, last_n = t_exact, n
        del x, y
    sliced_only = []
    for n in b["sliced_ns"]:
        x, y = _samples(n, seed=n)
        t0 = time.perf_counter()
        sw = gt.sliced_w1(x, y, n_projections=b["n_projections"], seed=0)
        dt = time.perf_counter() - t0
        sliced_only.append({"n": n, "sliced_w1": sw, "sliced_s": dt, "sliced_over_true": sw / exact_true})
        log(f"  n = {n:6,d}: sliced W1 {sw:.4f} in {dt:.3f} s (exact not attempted)")
    return {
        "benchmark": NAME,
        "quick": quick,
        "machine": finish_machine(machine),
        "total_s": time.perf_counter() - t_all,
        "setting": {"data": "ring8 vs ring8 shifted by (0.3, 0.4)", "shift": SHIFT, "true_w1": exact_true,
                    "sliced_expected_ratio": 2 / math.pi, "n_projections": b["n_projections"],
                    "time_cap_s": b["time_cap_s"],
                    "memory_fraction": gt.wasserstein.MEMORY_FRACTION},
        "stopped": stopped,
        "rows": rows,
        "sliced_only": sliced_only,
    }

"""The training engine: host-device synchronisations, batched seeds, and GPU against CPU.

Three measurements of ``gt.train_gan`` with the course's presets on the 25-Gaussian grid
(``gt.MLPGenerator(depth=4)``, ``gt.MLPCritic()``, as in the convergence benchmark):

* **syncs**: reads from the training device to the host per generator step, with evaluation
  off. Counted by intercepting every torch call that must wait for the device to return a value
  (``item``, ``float()``, ``int()``, ``bool()``, ``tolist``, ``numpy``, ``cpu``, ``nonzero``), so
  the count is the same on a CPU and a GPU. Reads that torch's optimisers make of their step
  counters are not counted: those counters live on the host (CPU tensors) unless the optimiser
  is fused or capturable. Target: <= 0.25 per generator step.
* **seeds**: seconds per generator step of K seeds trained as one batched run
  (``gt.train_seeds``) against K runs one after another, K = 1, 2, 4, 8, measured in rounds that
  interleave the two. Targets: on a GPU, K = 8 batched costs <= 2x one seed; on a CPU, no more
  than 8 sequential runs.
* **devices**: seconds per generator step on the GPU and on the same machine's CPU limited to
  2 threads, side by side in one run (only where CUDA is present). Target: GPU >= 3x faster.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from .common import finish_machine, log, machine_info, median_spread

NAME = "engine"
PRESETS = ("standard", "wgan_clip", "wgan_gp", "sngan")
SYNC_TARGET = 0.25
SYNC_CALLS = ("item", "__float__", "__int__", "__bool__", "__index__", "tolist", "numpy", "cpu", "nonzero")
FULL = dict(sync_steps=200, seed_ks=(1, 2, 4, 8), seed_steps=60, rounds=3, device_steps=200)
QUICK = dict(sync_steps=20, seed_ks=(1, 2), seed_steps=5, rounds=1, device_steps=10)


def _models():
    import gan_tutor as gt

    return gt.MLPGenerator(depth=4), gt.MLPCritic()


def _config(preset: str, **kw):
    import gan_tutor as gt

    return getattr(gt.GANConfig, preset)(**{**dict(progress=False), **kw})


def count_syncs(preset: str, steps: int, device: str | None = None, eval_every: int = 0) -> dict[str, Any]:
    """Device-to-host reads per generator step of one preset, by torch call."""
    from torch.overrides import TorchFunctionMode

    import gan_tutor as gt

    class Count(TorchFunctionMode):
        def __init__(self) -> None:
            super().__init__()
            self.calls: dict[str, int] = {}

        def __torch_function__(self, func, types, args=(), kwargs=None):
            name = getattr(func, "__name__", "")
            caller = sys._getframe(1).f_globals.get("__name__", "")
            # torch's optimisers read their step counters, which stay on the host (CPU tensors)
            # unless the optimiser is fused or capturable: no device read, not counted
            if name in SYNC_CALLS and not caller.startswith("torch.optim"):
                self.calls[name] = self.calls.get(name, 0) + 1
            return func(*args, **(kwargs or {}))

    gt.seed_everything(0)
    generator, critic = _models()
    cfg = _config(preset, steps=steps, seed=0, device=device, eval_every=eval_every,
                  w1_samples=200, eval_samples=500)
    with Count() as counter:
        gt.train_gan(generator, critic, gt.grid25(), cfg)
    total = sum(counter.calls.values())
    return {"preset": preset, "steps": steps, "eval_every": eval_every, "reads": total,
            "per_step": total / steps, "by_call": counter.calls}


def _seconds_per_step(preset: str, steps: int, seeds: list[int], batched: bool, device: str | None) -> float:
    import gan_tutor as gt

    cfg = _config(preset, steps=steps, device=device)
    data = gt.grid25()
    t0 = time.perf_counter()
    if batched:
        gt.train_seeds(_models, data, cfg, seeds)
    else:
        for s in seeds:
            gt.seed_everything(s)
            g, c = _models()
            gt.train_gan(g, c, data, cfg.replace(seed=s))
    return (time.perf_counter() - t0) / steps


def batched_seeds(preset: str, ks: tuple[int, ...], steps: int, rounds: int, device: str | None) -> dict[str, Any]:
    """Seconds per generator step, batched vs sequential, for each K (median over rounds)."""
    _seconds_per_step(preset, 2, [0, 1], True, device)  # warm-up (allocations, kernel choice)
    rows = []
    for k in ks:
        seeds = list(range(k))
        batched, sequential = [], []
        for _ in range(rounds):
            batched.append(_seconds_per_step(preset, steps, seeds, True, device))
            sequential.append(_seconds_per_step(preset, steps, seeds, False, device))
        rows.append({"k": k, "batched_s": median_spread(batched), "sequential_s": median_spread(sequential)})
    one = rows[0]["batched_s"]["median"]
    for r in rows:
        r["batched_over_one_seed"] = r["batched_s"]["median"] / one
        r["batched_over_sequential"] = r["batched_s"]["median"] / r["sequential_s"]["median"]
    return {"preset": preset, "steps": steps, "rounds": rounds, "rows": rows}


def gpu_vs_cpu(steps: int) -> dict[str, Any] | None:
    """Seconds per generator step of each preset on CUDA and on the CPU with 2 threads."""
    import torch

    import gan_tutor as gt

    if not torch.cuda.is_available():
        return None
    threads = torch.get_num_threads()
    rows = []
    for preset in PRESETS:
        per = {}
        for device in ("cuda", "cpu"):
            torch.set_num_threads(2 if device == "cpu" else threads)
            gt.seed_everything(0)
            g, c = _models()
            gt.train_gan(g, c, gt.grid25(), _config(preset, steps=5, device=device))  # warm-up
            g, c = _models()
            per[device] = gt.train_gan(g, c, gt.grid25(), _config(preset, steps=steps, device=device)
                                       ).seconds_per_step()
        torch.set_num_threads(threads)
        rows.append({"preset": preset, "cuda_s": per["cuda"], "cpu2_s": per["cpu"],
                     "speedup": per["cpu"] / per["cuda"]})
    return {"steps": steps, "gpu": torch.cuda.get_device_name(), "rows": rows}


def run(quick: bool = False, seeds: int = 1) -> dict[str, Any]:
    import gan_tutor as gt

    machine = machine_info()
    b = QUICK if quick else FULL
    t0 = time.perf_counter()
    device = str(gt.get_device())
    syncs = [count_syncs(p, b["sync_steps"]) for p in PRESETS]
    syncs.append(count_syncs("wgan_gp", b["sync_steps"], eval_every=max(1, b["sync_steps"] // 2)))
    for s in syncs:
        log(f"  syncs {s['preset']} (eval every {s['eval_every']}): {s['per_step']:.3f} per generator step")
    seeds_result = batched_seeds("wgan_gp", b["seed_ks"], b["seed_steps"], b["rounds"], None)
    for r in seeds_result["rows"]:
        log(f"  seeds K={r['k']}: batched {1e3 * r['batched_s']['median']:.1f} ms/step "
            f"({r['batched_over_one_seed']:.2f}x one seed, {r['batched_over_sequential']:.2f}x sequential)")
    devices = gpu_vs_cpu(b["device_steps"])
    return {
        "benchmark": NAME,
        "quick": quick,
        "machine": finish_machine(machine),
        "device": device,
        "total_s": time.perf_counter() - t0,
        "targets": {"syncs_per_step": SYNC_TARGET, "gpu_speedup": 3.0, "batched8_over_one_gpu": 2.0,
                    "batched8_over_sequential_cpu": 1.0},
        "syncs": syncs,
        "seeds": seeds_result,
        "devices": devices,
    }

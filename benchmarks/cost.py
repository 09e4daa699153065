"""Cost per generator step of each Lipschitz constraint, relative to an unconstrained critic.

The four critics differ only in the constraint (``none``, ``clip``, ``gp``, ``sn``): same loss
(Wasserstein), optimiser (Adam), ``n_critic`` = 5, batch and networks, so that the ratio
isolates the constraint. (The presets' other differences, RMSProp for clipping or the hinge loss
for SNGAN, cost the same per step.) Two settings:

* ``mlp_grid25``: the package's default MLPs on the 25-Gaussian grid, batch 256.
* ``dcgan_mnist``: ``gt.DCGANGenerator`` / ``gt.DCGANCritic`` on MNIST, batch 64.

Timings on a shared machine are noisy, so the runs are interleaved: each *round* runs the four
constraints once (in a rotated order) for a few generator steps, and the ratio
``seconds_per_step(c) / seconds_per_step(none)`` is taken within the round. We report the
median ratio over rounds and its interquartile range.

For comparison: Miyato et al. (2018) note that the gradient penalty needs one more forward and
backward pass through the critic (the double back-propagation at the interpolates), whereas
spectral normalisation adds one power-iteration step per layer, which is cheap.
"""

from __future__ import annotations

import time
from typing import Any

from .common import finish_machine, log, machine_info, median_spread

NAME = "cost"

CONSTRAINTS = ("none", "clip", "gp", "sn")
FULL = {"mlp_grid25": dict(rounds=7, steps=25, batch_size=256),
        "dcgan_mnist": dict(rounds=5, steps=4, batch_size=64)}
QUICK = {"mlp_grid25": dict(rounds=2, steps=3, batch_size=64),
         "dcgan_mnist": dict(rounds=2, steps=1, batch_size=16)}


def _models(setting: str):
    import gan_tutor as gt

    if setting == "mlp_grid25":
        return gt.MLPGenerator(), gt.MLPCritic()
    return gt.DCGANGenerator(), gt.DCGANCritic()


def _config(constraint: str, steps: int, batch_size: int, seed: int):
    import gan_tutor as gt

    return gt.GANConfig(loss="wasserstein", constraint=constraint, n_critic=5, optimizer="adam",
                        lr_d=1e-4, lr_g=1e-4, betas=(0.5, 0.9), clip_value=0.01, steps=steps,
                        batch_size=batch_size, seed=seed, progress=False)


def time_one(setting: str, constraint: str, data, steps: int, batch_size: int, seed: int) -> float:
    import gan_tutor as gt

    gt.seed_everything(seed)
    generator, critic = _models(setting)
    hist = gt.train_gan(generator, critic, data, _config(constraint, steps, batch_size, seed))
    return hist.seconds_per_step()


def run(quick: bool = False, seeds: int = 1) -> dict[str, Any]:
    import gan_tutor as gt

    machine = machine_info()
    budgets = QUICK if quick else FULL
    t0 = time.perf_counter()
    results: dict[str, Any] = {}
    device = gt.get_device()
    for setting, b in budgets.items():
        if setting == "mlp_grid25":
            data, data_note = gt.grid25(), "25-Gaussian grid"
        else:
            mnist = gt.load_mnist(limit=512 if quick else None)
            data, data_note = mnist.to(device), f"MNIST ({mnist.source}, {len(mnist):,} images)"
        # warm-up: one short run of each constraint (allocations, kernel selection), discarded
        for c in CONSTRAINTS:
            time_one(setting, c, data, 1, b["batch_size"], seed=0)
        per_round: list[dict[str, float]] = []
        for r in range(b["rounds"]):
            order = CONSTRAINTS[r % len(CONSTRAINTS):] + CONSTRAINTS[:r % len(CONSTRAINTS)]
            sps = {c: time_one(setting, c, data, b["steps"], b["batch_size"], seed=r) for c in order}
            per_round.append(sps)
            log(f"  {setting} round {r + 1}/{b['rounds']}: "
                + ", ".join(f"{c} {1000 * sps[c]:.1f} ms" for c in CONSTRAINTS))
        ratios = {c: [p[c] / p["none"] for p in per_round] for c in CONSTRAINTS}
        results[setting] = {
            "data": data_note,
            "budget": b,
            "seconds_per_step": {c: [p[c] for p in per_round] for c in CONSTRAINTS},
            "seconds_per_step_summary": {c: median_spread(p[c] for p in per_round) for c in CONSTRAINTS},
            "ratio": {c: median_spread(v) for c, v in ratios.items()},
            "ratio_rounds": ratios,
        }
    return {
        "benchmark": NAME,
        "quick": quick,
        "machine": finish_machine(machine),
        "total_s": time.perf_counter() - t0,
        "n_critic": 5,
        "settings": results,
        "reference": "Miyato et al. (2018): the gradient penalty costs one extra forward-backward "
                     "pass of the critic; spectral normalisation one power-iteration step per layer.",
    }

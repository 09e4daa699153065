"""Lesson 08's grid experiment for the tuned presets, recorded for the results page.

Lesson 08 trains eight configurations on the 25-Gaussian grid for the same wall-clock budget,
five seeds each, and checks that its numbers for the course configurations of WGAN-GP and SNGAN
(the tuned presets ``gt.GANConfig.wgan_gp()`` and ``sngan()``) agree with this record within the
seed spread. So this benchmark runs exactly the lesson's experiment for those two: the same
networks (``WIDTH``), budget (``BUDGET_S``), seeds (``SEEDS``) and ``gt.train_configs`` call (one
configuration per CPU core, one thread each), and records per seed the generator steps, modes
captured, high-quality share and exact W1 at the end of the budget, with the configurations'
fields so that the lesson can check that it ran the same settings.
"""

from __future__ import annotations

from typing import Any

from .common import finish_machine, machine_info

NAME = "comparison"
WIDTH = 64  #: hidden units of both MLPs (lesson 08's WIDTH)
BUDGET_S = 20.0  #: training seconds per configuration (lesson 08's GRID_S)
SEEDS = [0, 1, 2, 3, 4]  #: lesson 08's SEEDS
METHODS = ("wgan_gp", "sngan")
#: the configuration fields the lesson compares with its own
FIELDS = ("loss", "constraint", "n_critic", "batch_size", "optimizer", "lr_d", "lr_g", "betas",
          "gp_weight", "lr_schedule", "ema")


def run(quick: bool = False, seeds: int = 5) -> dict[str, Any]:
    """``seeds`` is ignored: the record always holds the lesson's five seeds."""
    import torch

    import gan_tutor as gt

    machine = machine_info()
    budget = 0.5 if quick else BUDGET_S
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the lesson: one thread where the runs share this process
    try:
        presets = {m: getattr(gt.GANConfig, m)() for m in METHODS}
        runs = gt.train_configs(
            lambda: (gt.MLPGenerator(width=WIDTH, depth=4), gt.MLPCritic(width=WIDTH)), gt.grid25(),
            {m: cfg.replace(steps=10**6, time_budget_s=budget, progress=False, eval_every=10**6)
             for m, cfg in presets.items()}, SEEDS)
    finally:
        torch.set_num_threads(threads)
    methods = {}
    for m, r in runs.items():
        config = {k: getattr(presets[m], k) for k in FIELDS}
        config["betas"] = list(config["betas"])
        methods[m] = {
            "config": config,
            "steps": [h.eval_step[-1] for h in r.histories],
            "modes": [h.modes[-1] for h in r.histories],
            "high_quality": [h.high_quality[-1] for h in r.histories],
            "exact_w1": [h.exact_w1[-1] for h in r.histories],
        }
    return {"benchmark": NAME, "quick": quick, "machine": finish_machine(machine), "width": WIDTH,
            "budget_s": budget, "seeds": SEEDS, "methods": methods}

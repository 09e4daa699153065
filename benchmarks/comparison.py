"""Lesson 08's grid experiment for the tuned presets, recorded for the results page.

Lesson 08 trains eight configurations on the 25-Gaussian grid for the same wall-clock budget,
five seeds each, and checks that its numbers for the course configurations of WGAN-GP and SNGAN
(the tuned presets ``gt.GANConfig.wgan_gp()`` and ``sngan()``) agree with this record within the
seed spread. So this benchmark runs exactly the lesson's experiment for those two: the same
networks (``WIDTH``), seeds (``SEEDS``) and budget: ``gt.step_seconds`` times the two presets
and the lesson's reference configuration (the standard GAN under the course recipe) and
``gt.equal_time_steps`` gives each preset the time of ``BUDGET_STEPS`` reference steps; then the
same ``gt.train_configs`` call (one configuration per CPU core, one thread each). It records per
seed the generator steps, modes captured, high-quality share and exact W1 at the end, with the
configurations' fields so that the lesson can check that it ran the same settings.
"""

from __future__ import annotations

from typing import Any

from .common import finish_machine, machine_info

NAME = "comparison"
WIDTH = 64  #: hidden units of both MLPs (lesson 08's WIDTH)
BUDGET_STEPS = 8000  #: the time of this many reference steps (lesson 08's GRID_BUDGET)
TIMING = dict(steps=40, rounds=5)  #: gt.step_seconds settings (lesson 08's TIMING, full mode)
#: the reference configuration: the standard GAN under the course recipe (lesson 08's RECIPE)
RECIPE = dict(n_critic=2, batch_size=64, optimizer="adam", lr_d=1e-3, lr_g=1e-3, betas=(0.0, 0.9),
              lr_schedule="linear", ema=0.99)
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
    budget = 20 if quick else BUDGET_STEPS
    timing = dict(steps=2, rounds=1) if quick else TIMING

    def nets():
        return gt.MLPGenerator(width=WIDTH, depth=4), gt.MLPCritic(width=WIDTH)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the lesson: one thread where the runs share this process
    try:
        presets = {m: getattr(gt.GANConfig, m)() for m in METHODS}
        cost = gt.step_seconds(nets, gt.grid25(), {"reference": gt.GANConfig.standard(**RECIPE), **presets},
                               SEEDS, **timing)
        steps = gt.equal_time_steps(cost, "reference", budget)
        runs = gt.train_configs(nets, gt.grid25(), {m: cfg.replace(steps=steps[m], progress=False, eval_every=steps[m])
                                                    for m, cfg in presets.items()}, SEEDS)
    finally:
        torch.set_num_threads(threads)
    methods = {}
    for m, r in runs.items():
        config = {k: getattr(presets[m], k) for k in FIELDS}
        config["betas"] = list(config["betas"])
        methods[m] = {
            "config": config,
            "seconds_per_step": cost[m],
            "steps": [h.eval_step[-1] for h in r.histories],
            "modes": [h.modes[-1] for h in r.histories],
            "high_quality": [h.high_quality[-1] for h in r.histories],
            "exact_w1": [h.exact_w1[-1] for h in r.histories],
        }
    return {"benchmark": NAME, "quick": quick, "machine": finish_machine(machine), "width": WIDTH,
            "budget_steps": budget, "timing": timing, "reference_seconds_per_step": cost["reference"],
            "budget_s": budget * cost["reference"], "seeds": SEEDS, "methods": methods}

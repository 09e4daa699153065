"""gt.train_seeds: K seeds of one configuration as one batched run agree with K separate runs."""

import numpy as np
import pytest
import torch

import gan_tutor as gt


def build():
    return gt.MLPGenerator(width=32, depth=2), gt.MLPCritic(width=32, depth=2)


@pytest.mark.parametrize("preset", ["standard", "wgan_clip", "wgan_gp", "sngan"])
def test_one_seed_batched_is_identical_to_train_gan(preset):
    cfg = getattr(gt.GANConfig, preset)(steps=25, progress=False, eval_every=25, w1_samples=200,
                                        eval_samples=300)
    runs = gt.train_seeds(build, gt.grid25(), cfg, [4])
    gt.seed_everything(4)
    G, D = build()
    h = gt.train_gan(G, D, gt.grid25(), cfg.replace(seed=4))
    (hb,) = runs.histories
    assert hb.d_loss == h.d_loss and hb.g_loss == h.g_loss and hb.penalty == h.penalty
    assert hb.w_estimate == h.w_estimate and hb.exact_w1 == h.exact_w1 and hb.modes == h.modes
    assert all(torch.equal(a, b) for a, b in zip(runs.generators[0].parameters(), G.parameters()))


def test_several_seeds_batched_have_the_distribution_of_separate_runs():
    """Final exact W1 of 4 seeds trained as one batched run vs the same 4 seeds run one by one.

    The batched copies see other batches than the separate runs (one stream feeds all copies), so
    the runs differ, but each is a run of the same algorithm from the same initialisation: the
    two groups of final W1 values must be alike. Measured (one Gaussian blob, W1 2.72 before
    training, 150 steps): batched 0.55, 0.91, 0.71, 1.43; separate 0.51, 0.96, 0.72, 1.38.
    """
    seeds = [0, 1, 2, 3]
    data = gt.Mixture2D([[2.0, 2.0]], std=0.3)
    cfg = gt.GANConfig.wgan_gp(steps=150, batch_size=128, eval_every=150, w1_samples=500, progress=False)
    batched = [h.exact_w1[-1] for h in gt.train_seeds(build, data, cfg, seeds).histories]
    separate = []
    for s in seeds:
        gt.seed_everything(s)
        G, D = build()
        separate.append(gt.train_gan(G, D, data, cfg.replace(seed=s)).exact_w1[-1])
    gt.seed_everything(0)
    G0, _ = build()
    untrained = gt.exact_w1(G0.sample(500), data.sample(500))
    assert untrained > 2.0
    assert max(batched) < 0.6 * untrained and max(separate) < 0.6 * untrained, (batched, separate)
    spread = np.std(batched + separate, ddof=1)
    assert abs(np.mean(batched) - np.mean(separate)) < 2 * spread / np.sqrt(len(seeds)) + 0.05, (batched, separate)


def test_copies_train_independently():
    """Copy k of a batched run depends only on its own initialisation and rows: changing copy 1's
    initial weights leaves copy 0's whole trajectory unchanged."""
    cfg = gt.GANConfig.wgan_gp(steps=10, progress=False)
    first = gt.train_seeds(build, gt.ring8(), cfg, [0, 1])
    other = gt.train_seeds(build, gt.ring8(), cfg, [0, 7])
    assert first.histories[0].d_loss == other.histories[0].d_loss
    assert first.histories[1].d_loss != other.histories[1].d_loss


def test_results_are_plain_modules_per_seed():
    runs = gt.train_seeds(build, gt.ring8(), gt.GANConfig.sngan(steps=3, progress=False), [5, 6, 7])
    assert runs.seeds == [5, 6, 7] and len(runs.generators) == len(runs.critics) == len(runs.histories) == 3
    assert all(isinstance(g, gt.MLPGenerator) and isinstance(c, gt.MLPCritic)
               for g, c in zip(runs.generators, runs.critics))
    assert runs.generators[0].sample(10).shape == (10, 2)


@pytest.mark.parametrize("seeds,match", [([], "seeds is empty"), ([1, 1], "seeds repeat")])
def test_bad_seed_lists(seeds, match):
    with pytest.raises(ValueError, match=match):
        gt.train_seeds(build, gt.ring8(), gt.GANConfig.wgan_gp(steps=1, progress=False), seeds)


def test_train_configs_in_worker_processes_equals_one_after_the_other():
    """Two configurations trained in two forked processes give the numbers of train_seeds here.

    Both ways compute on one thread, so the runs are the same computations, bit for bit."""
    configs = {("gp", 1): gt.GANConfig.wgan_gp(steps=20, progress=False, eval_every=20, w1_samples=200),
               ("sn", 2): gt.GANConfig.sngan(steps=20, progress=False, eval_every=20, w1_samples=200)}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        here = {key: gt.train_seeds(build, gt.grid25(), cfg, [0, 1]) for key, cfg in configs.items()}
    finally:
        torch.set_num_threads(threads)
    forked = gt.train_configs(build, gt.grid25(), configs, [0, 1], processes=2)
    assert list(forked) == list(configs)
    for key in configs:
        for a, b in zip(here[key].histories, forked[key].histories):
            assert a.d_loss == b.d_loss and a.exact_w1 == b.exact_w1 and a.modes == b.modes
        for g_here, g_forked in zip(here[key].generators, forked[key].generators):
            assert all(torch.equal(p, q.to(p.device)) for p, q in zip(g_here.parameters(), g_forked.parameters()))
    assert forked[("gp", 1)].histories[0].d_loss != forked[("sn", 2)].histories[0].d_loss


@pytest.mark.parametrize("processes", [0, -1, 1.5, True])
def test_train_configs_rejects_bad_process_counts(processes):
    with pytest.raises(ValueError, match="processes must be a positive integer"):
        gt.train_configs(build, gt.grid25(), {"a": gt.GANConfig.wgan_gp(steps=1)}, [0], processes=processes)


def test_train_configs_needs_configurations():
    with pytest.raises(ValueError, match="configs is empty"):
        gt.train_configs(build, gt.grid25(), {}, [0])


def test_step_seconds_interleaves_configurations_and_equal_time_steps_share_the_budget(monkeypatch):
    """A fake clock makes every step of "slow" cost 3 units and of "fast" 1 unit."""
    from gan_tutor import training

    configs = {"fast": gt.GANConfig.wgan_gp(), "slow": gt.GANConfig.wgan_gp(n_critic=5)}
    order, clock = [], {"t": 0.0}
    real_train_seeds = training.train_seeds

    def fake_train_seeds(build_, data, cfg, seeds):
        key = "slow" if cfg.n_critic == 5 else "fast"
        order.append(key)
        unit = 3.0 if key == "slow" else 1.0
        h = gt.History()
        h.time = [unit * (i + 1) for i in range(cfg.steps)]
        return gt.SeedRuns(seeds=list(seeds), generators=[], critics=[], histories=[h])

    monkeypatch.setattr(training, "train_seeds", fake_train_seeds)
    seconds = gt.step_seconds(build, gt.grid25(), configs, [0], steps=4, rounds=3, warmup=2)
    assert seconds == {"fast": 1.0, "slow": 3.0}
    assert order == ["fast", "slow", "slow", "fast", "fast", "slow"]  # rotated rounds
    assert gt.equal_time_steps(seconds, "fast", 300) == {"fast": 300, "slow": 100}
    with pytest.raises(ValueError, match="reference"):
        gt.equal_time_steps(seconds, "medium", 300)
    with pytest.raises(ValueError, match="steps must be"):
        gt.step_seconds(build, gt.grid25(), configs, [0], steps=0)
    assert real_train_seeds is not fake_train_seeds

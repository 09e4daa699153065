"""The benchmark harness runs (tiny budgets) and writes well-formed JSON, figures and tables.

Benchmarks are measurements, not tests: nothing here checks a timing. What is checked are the
numbers a benchmark reports against what is known independently of it: closed-form W1 values,
Kantorovich-Rubinstein duality, and counts that do not depend on the machine's speed.
"""

import json
import math

import numpy as np

import pytest

from benchmarks import report, run


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    assert run.main(["--quick", "--seeds", "1", "--threads", "1", "--only", "pot_scaling,critic_accuracy,engine",
                     "--out", str(out)]) == 0
    return out


def _machine_ok(m):
    for key in ("cpu", "cores", "torch", "device", "date"):
        assert m.get(key) not in (None, ""), key


def test_pot_scaling_json(results):
    d = json.loads((results / "pot_scaling.json").read_text())
    assert d["benchmark"] == "pot_scaling" and d["quick"] is True
    _machine_ok(d["machine"])
    assert len(d["rows"]) >= 2
    for r in d["rows"]:
        assert r["cost_matrix_bytes"] == 8 * r["n"] ** 2
        assert r["exact_s"] > 0 and r["sliced_s"] > 0
        assert 0.3 < r["exact_w1"] < 1.0  # W1 of the distributions is 0.5; small samples add noise
        assert 0.3 < r["sliced_over_exact"] < 1.0  # sliced W1 < W1 (about 2 / pi here)
    ns = [r["n"] for r in d["rows"]]
    assert ns == sorted(ns)


def test_critic_accuracy_json(results):
    d = json.loads((results / "critic_accuracy.json").read_text())
    assert d["benchmark"] == "critic_accuracy"
    _machine_ok(d["machine"])
    assert set(d["pairs"]) == {"translation_2d", "gaussians_1d", "parallel_lines"}
    assert d["pairs"]["parallel_lines"]["exact"] == pytest.approx(0.5)
    assert d["pairs"]["translation_2d"]["exact"] == pytest.approx(0.5)  # |(0.3, 0.4)|
    # N(0, 1) vs N(1.5, 0.5^2)-type pair: W1 = integral |F^-1 - G^-1|, by quadrature here
    from scipy.stats import norm

    from benchmarks.critic_accuracy import GAUSSIANS

    (m0, s0), (m1, s1) = GAUSSIANS
    u = (np.arange(200_000) + 0.5) / 200_000
    assert d["pairs"]["gaussians_1d"]["exact"] == pytest.approx(
        np.abs(norm.ppf(u, m0, s0) - norm.ppf(u, m1, s1)).mean(), rel=1e-4)
    for pair in d["pairs"]:
        for c in ("clip", "gp", "gp30", "sn"):
            s = d["summary"][f"{pair}/{c}"]
            for key in ("estimate", "estimate_same_samples", "pot_same_samples", "ratio_exact", "rel_error_exact",
                        "rel_error_pot", "grad_norm_interpolates", "grad_norm_transport"):
                assert s[key]["median"] is not None and math.isfinite(s[key]["median"]), (pair, c, key)
            assert s["pot_same_samples"]["median"] > 0
    for r in d["runs"]:
        assert r["curve"]["step"] and len(r["curve"]["critic_w1"]) == len(r["curve"]["step"])
        # Kantorovich-Rubinstein: no 1-Lipschitz critic estimates more than the W1 of the same
        # samples; a spectrally normalised critic is (up to its power iteration) 1-Lipschitz
        if r["constraint"] == "sn":
            assert r["estimate_same_samples"] <= r["pot_same_samples"] * 1.02
        # the mean and the largest gradient norm are taken over the same interpolates
        assert 0 < r["grad_norm_interpolates"] <= r["max_grad_norm"] * (1 + 1e-6)
        assert math.isfinite(r["grad_norm_transport"]) and r["grad_norm_transport"] > 0
        if r["constraint"] == "clip":  # a clipped critic is tiny-Lipschitz: K << 1
            assert abs(r["ratio_exact"]) < 0.5


def test_engine_json(results):
    d = json.loads((results / "engine.json").read_text())
    _machine_ok(d["machine"])
    off = {s["preset"]: s for s in d["syncs"] if not s["eval_every"]}
    on = next(s for s in d["syncs"] if s["eval_every"])
    assert set(off) == {"standard", "wgan_clip", "wgan_gp", "sngan"}
    # statistics reach the host in one read per sync_every (50) steps and at the end, whatever the
    # machine: with 20 steps that is one read, plus the denormal-flush probe on the CPU
    assert all(s["per_step"] <= d["targets"]["syncs_per_step"] for s in off.values())
    assert on["reads"] > off["wgan_gp"]["reads"] + 2  # evaluations read W1, modes, ... back
    assert [r["k"] for r in d["seeds"]["rows"]] == [1, 2]
    assert all(r["batched_s"]["median"] > 0 and r["sequential_s"]["median"] > 0 for r in d["seeds"]["rows"])


def test_gpu_check_times_each_lesson_and_reports_failures(tmp_path, monkeypatch):
    import nbformat

    from benchmarks import course, gpu_check

    for name, src in (("01_fine", "x = 1 + 1"), ("02_broken", "assert False, 'a failing lesson'")):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(src)]
        nbformat.write(nb, tmp_path / f"{name}.ipynb")
    monkeypatch.setattr(gpu_check, "notebooks", lambda: sorted(tmp_path.glob("*.ipynb")))
    d = gpu_check.run(benchmarks=False, timeout=120)
    assert d["benchmark"] == "book_cpu" and [r["notebook"] for r in d["notebooks"]] == ["01_fine", "02_broken"]
    assert d["failures"] == ["02_broken"] and "a failing lesson" in " ".join(d["notebooks"][1]["error"])
    table = report.book_table(d, None)
    assert "01_fine" in table and "FAILED" in table and "GPU (not measured)" in table
    assert course.notebooks()  # the real course is found by the default


def test_seeds_reruns_lessons_under_shifted_seeds_and_names_the_failures(tmp_path, monkeypatch):
    import nbformat
    import torch

    import gan_tutor as gt
    from benchmarks import seeds

    gt.seed_everything(0)
    at_seed_0 = torch.rand(1).item()  # a "claim" tuned to seed 0 and one that holds for every seed
    for name, src in (("01_robust", "import gan_tutor as gt, torch\ngt.seed_everything(0)\nassert 0 <= torch.rand(1).item() < 1"),
                      ("02_seed_0_only", f"import gan_tutor as gt, torch\ngt.seed_everything(0)\nassert torch.rand(1).item() == {at_seed_0!r}, 'tuned to seed 0'")):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(src)]
        nbformat.write(nb, tmp_path / f"{name}.ipynb")
    monkeypatch.setattr(seeds, "notebooks", lambda: sorted(tmp_path.glob("*.ipynb")))
    d = seeds.run(None, [0, 1], ["quick", "full"], timeout=300, keep=tmp_path / "keep")
    ok = {(r["notebook"], r["offset"], r["mode"]): r["ok"] for r in d["runs"]}
    assert all(ok[("01_robust", o, m)] for o in (0, 1) for m in ("quick", "full"))
    assert ok[("02_seed_0_only", 0, "quick")] and ok[("02_seed_0_only", 0, "full")]
    assert d["failures"] == ["02_seed_0_only offset 1 quick", "02_seed_0_only offset 1 full"]
    assert (tmp_path / "keep" / "1" / "01_robust.ipynb").exists()  # executed copies are kept
    assert "AssertionError: tuned to seed 0" in d["runs"][-1]["error"][-1]  # without terminal colours


def test_report_writes_every_output(results):
    written = {p.name for p in report.main(results)}
    for name in ("machine.md", "targets.md", "convergence.md", "presets.md", "critic_accuracy.md", "cost.md",
                 "pot_scaling.md", "course.md", "engine.md", "book_devices.md", "comparison.md", "convergence.png", "convergence_steps.png", "critic_accuracy.png",
                 "cost.png", "pot_scaling.png"):
        assert name in written and (results / name).stat().st_size > 0, name
    assert "Not measured yet" in (results / "convergence.md").read_text()
    assert "| n |" in (results / "pot_scaling.md").read_text()


def test_comparison_records_the_lessons_experiment_for_the_tuned_presets(tmp_path):
    import gan_tutor as gt
    from benchmarks import comparison

    d = comparison.run(quick=True)
    assert d["width"] == 64 and d["seeds"] == [0, 1, 2, 3, 4] and d["budget_steps"] == 20
    assert d["timing"] == {"steps": 2, "rounds": 1} and comparison.TIMING == {"steps": 40, "rounds": 5}
    for m in ("wgan_gp", "sngan"):
        r, preset = d["methods"][m], getattr(gt.GANConfig, m)()
        assert r["config"]["constraint"] == preset.constraint and r["config"]["lr_d"] == preset.lr_d
        assert all(len(r[k]) == 5 for k in ("steps", "modes", "high_quality", "exact_w1"))
        assert all(s >= 1 for s in r["steps"]) and all(0 <= q <= 1 for q in r["high_quality"])
        # equal time: steps x seconds per step equals the reference's budget (to rounding)
        assert abs(r["steps"][0] * r["seconds_per_step"] - d["budget_s"]) <= r["seconds_per_step"]
        assert all(0 <= n <= 25 for n in r["modes"]) and all(w > 0 for w in r["exact_w1"])
    table = report.comparison_table(d)
    assert "wgan_gp" in table and "quick smoke run" in table


def test_cli_rejects_unknown_benchmark(capsys):
    with pytest.raises(SystemExit):
        run.parse_args(["--only", "nonsense"])
    assert "unknown benchmark" in capsys.readouterr().err


def test_course_full_mode_executes_a_notebook_and_reports_failures(tmp_path):
    # the full-mode step of `--only course` must run with what `make` installs (no nbconvert)
    import nbformat

    from benchmarks import course

    good, bad = tmp_path / "good.ipynb", tmp_path / "bad.ipynb"
    for path, src in ((good, "x = 1 + 1"), (bad, "assert False, 'a failing lesson'")):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(src)]
        nbformat.write(nb, path)
    ok = course.execute_full(good, tmp_path / "out", timeout=120)
    assert ok["ok"] and ok["seconds"] > 0, ok["tail"]
    assert (tmp_path / "out" / "good.ipynb").exists()
    failed = course.execute_full(bad, tmp_path / "out", timeout=120)
    assert not failed["ok"] and failed["returncode"] not in (0, None)


def test_penalised_optimum_1d_is_w1_plus_a_bias_of_order_one_over_lambda():
    import gan_tutor as gt
    from benchmarks.critic_accuracy import make_pair, penalised_optimum_1d

    w1 = make_pair("gaussians_1d")[2]                                         # the benchmark's 1D pair
    assert penalised_optimum_1d(1e12) == pytest.approx(w1, abs=1e-6)        # no penalty slack: W1 itself
    bias10, bias30 = penalised_optimum_1d(10.0) - w1, penalised_optimum_1d(30.0) - w1
    assert bias10 > 0.05 * w1 and bias30 < 0.05 * w1                        # the 5% target needs lambda > 10
    assert bias10 / bias30 == pytest.approx(3.0, rel=1e-4)                   # exactly 1 / (2 lambda) * integral
    # lesson 6's pair, N(0, 1) vs N(1.5, 0.5^2): about 8% above W1 at lambda = 10
    assert penalised_optimum_1d(10.0, (0.0, 1.5), (1.0, 0.5)) / gt.gaussian_w1_1d(0.0, 1.0, 1.5, 0.5) - 1 == \
        pytest.approx(0.084, abs=0.002)

"""gan_tutor.batched: K stacked MLPs must behave exactly like the K separate modules they came from.

The truth in every test is the K separate ``nn.Module`` s, run one by one.
"""

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

import gan_tutor as gt
from gan_tutor.batched import (BatchedLinear, BatchedSpectralNorm, apply_batched_spectral_norm, stack,
                               unstack)

ACTIVATIONS = ["relu", "leaky_relu", "tanh", "elu"]
CLOSE = dict(rtol=1e-6, atol=1e-6)  # float32 rounding of a different summation order


def seeded(make, k: int) -> list[nn.Module]:
    """k modules built by ``make()``, each from its own seed."""
    models = []
    for seed in range(k):
        torch.manual_seed(100 + seed)
        models.append(make())
    return models


def separate(models: list[nn.Module], x: torch.Tensor) -> torch.Tensor:
    """The truth: copy k applied to its own block of rows."""
    return torch.cat([m(xk) for m, xk in zip(models, x.chunk(len(models)))])


def torch_sn(model: nn.Module) -> nn.Module:
    for layer in model.modules():
        if isinstance(layer, nn.Linear):
            torch.nn.utils.parametrizations.spectral_norm(layer)
    return model


def sn_vectors(model: nn.Module, name: str) -> list[torch.Tensor]:
    """u (or v) of every spectrally normalised layer, separate (torch) or batched."""
    out = []
    for layer in model.modules():
        if parametrize.is_parametrized(layer, "weight"):
            sn = layer.parametrizations["weight"][0]
            out.append(getattr(sn, name) if isinstance(sn, BatchedSpectralNorm) else getattr(sn, "_" + name))
    return out


def penalised_grads(critic: nn.Module, x: torch.Tensor, params: list[torch.Tensor]) -> list[torch.Tensor]:
    """Gradients of ``sum f(x) + sum (|grad_x f| - 1)^2``: a critic loss with a WGAN-GP penalty."""
    x = x.clone().requires_grad_(True)
    out = critic(x)
    (gx,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    loss = out.sum() + ((gx.norm(dim=1) - 1) ** 2).sum()
    return list(torch.autograd.grad(loss, params))


KINDS = {
    "critic": lambda act: gt.MLPCritic(in_dim=3, width=32, depth=2, activation=act),
    "critic_layer_norm": lambda act: gt.MLPCritic(in_dim=3, width=32, depth=2, activation=act, norm="layer"),
    "generator": lambda act: gt.MLPGenerator(latent_dim=4, out_dim=3, width=32, depth=3, activation=act),
}


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("kind", list(KINDS))
def test_forward_equals_the_separate_modules(kind, activation):
    models = seeded(lambda: KINDS[kind](activation), 3)
    batched = stack(models)
    x = torch.randn(3 * 5, 4 if kind == "generator" else 3)
    y = batched(x)
    assert batched.copies == 3
    assert y.shape == ((15, 3) if kind == "generator" else (15,))
    torch.testing.assert_close(y, separate(models, x), **CLOSE)


def test_stacking_copies_weights_without_drawing_random_numbers_or_changing_the_sources():
    models = seeded(lambda: torch_sn(gt.MLPCritic(width=16, depth=2)), 2)
    before = [p.clone() for m in models for p in m.state_dict().values()]
    state = torch.get_rng_state()
    stack(models)
    assert torch.equal(torch.get_rng_state(), state)  # K = 1 runs keep the same random stream
    after = [p for m in models for p in m.state_dict().values()]
    assert all(torch.equal(a, b) for a, b in zip(before, after))
    x = torch.randn(4, 2)
    assert models[0](x).shape == (4,)  # the sources still work


def test_one_copy_is_bitwise_identical_on_the_cpu():
    """K = 1 must reproduce the plain module exactly: forward, input gradient, penalised gradients."""
    x = torch.randn(64, 2)
    for make in (lambda: gt.MLPCritic(width=256, depth=2),
                 lambda: gt.MLPCritic(width=256, depth=2, activation="leaky_relu", norm="layer"),
                 lambda: torch_sn(gt.MLPCritic(width=256, depth=2))):
        (model,) = seeded(make, 1)
        batched = stack([model])
        for _ in range(2):  # with spectral norm, two power-iteration steps
            assert torch.equal(batched(x), model(x))
        g_sep = penalised_grads(model, x, list(model.parameters()))
        g_bat = penalised_grads(batched, x, list(batched.parameters()))
        assert all(torch.equal(a.reshape(b.shape), b) for a, b in zip(g_bat, g_sep))
        assert all(torch.equal(a[0], b) for a, b in zip(sn_vectors(batched, "u"), sn_vectors(model, "u")))
    (gen,) = seeded(lambda: gt.MLPGenerator(latent_dim=2, out_dim=2, width=256, depth=3), 1)
    z = torch.randn(64, 2)
    assert torch.equal(stack([gen])(z), gen(z))


@pytest.mark.parametrize("norm", [None, "layer"])
def test_gradients_of_a_sum_over_copies_are_each_copys_own(norm):
    models = seeded(lambda: gt.MLPCritic(in_dim=2, width=32, depth=2, activation="elu", norm=norm), 3)
    batched = stack(models)
    x = torch.randn(3 * 8, 2)
    # parameter and input gradients of sum f(x): block k is copy k's own
    xb = x.clone().requires_grad_(True)
    grads = torch.autograd.grad((batched(xb) ** 2).sum(), [xb, *batched.parameters()])
    blocks = x.chunk(3)
    for k, model in enumerate(models):
        xk = blocks[k].clone().requires_grad_(True)
        own = torch.autograd.grad((model(xk) ** 2).sum(), [xk, *model.parameters()])
        torch.testing.assert_close(grads[0].chunk(3)[k], own[0], **CLOSE)
        for g, g_own in zip(grads[1:], own[1:]):
            torch.testing.assert_close(g[k].reshape(g_own.shape), g_own, **CLOSE)
    # double backward: the gradient penalty's gradients, as WGAN-GP needs them
    g_bat = penalised_grads(batched, x, list(batched.parameters()))
    for k, model in enumerate(models):
        g_own = penalised_grads(model, blocks[k], list(model.parameters()))
        for g, g_k in zip(g_bat, g_own):
            torch.testing.assert_close(g[k].reshape(g_k.shape), g_k, rtol=1e-5, atol=1e-6)


def test_generator_gradients_and_sample():
    models = seeded(lambda: gt.MLPGenerator(latent_dim=2, out_dim=2, width=32, depth=2, activation="tanh"), 3)
    batched = stack(models)
    assert batched.latent_dim == 2
    z = torch.randn(3 * 6, 2)
    grads = torch.autograd.grad(batched(z).pow(2).sum(), list(batched.parameters()))
    for k, model in enumerate(models):
        own = torch.autograd.grad(model(z.chunk(3)[k]).pow(2).sum(), list(model.parameters()))
        for g, g_own in zip(grads, own):
            torch.testing.assert_close(g[k].reshape(g_own.shape), g_own, **CLOSE)
    torch.manual_seed(5)
    samples = batched.sample(7)
    torch.manual_seed(5)
    assert samples.shape == (21, 2) and not samples.requires_grad
    torch.testing.assert_close(samples, separate(models, torch.randn(21, 2)), **CLOSE)


def test_stacked_spectral_norm_follows_torch_per_copy():
    models = seeded(lambda: torch_sn(gt.MLPCritic(width=32, depth=2)), 3)
    batched = stack(models)
    x = torch.randn(3 * 10, 2)
    for _ in range(4):  # training mode: each pass is one power-iteration step per layer and copy
        y = batched(x)
        torch.testing.assert_close(y, separate(models, x), rtol=1e-5, atol=1e-6)
        for name in ("u", "v"):
            for u_bat, *u_sep in zip(sn_vectors(batched, name), *(sn_vectors(m, name) for m in models)):
                torch.testing.assert_close(u_bat, torch.stack(u_sep), rtol=1e-5, atol=1e-6)
    # two passes before one backward, as in critic(real) - critic(fake); gradients flow through sigma
    (batched(x).sum() - batched(x.flip(0)).sum()).backward()
    for m, xk, xk_flipped in zip(models, x.chunk(3), x.flip(0).chunk(3)):
        (m(xk).sum() - m(xk_flipped).sum()).backward()
    for p_b, *p_sep in zip(batched.parameters(), *(m.parameters() for m in models)):
        torch.testing.assert_close(p_b.grad, torch.stack([p.grad for p in p_sep]).reshape(p_b.shape),
                                   rtol=1e-4, atol=1e-6)
    batched.eval()
    for m in models:
        m.eval()
    u_before = [u.clone() for u in sn_vectors(batched, "u")]
    torch.testing.assert_close(batched(x), separate(models, x), rtol=1e-5, atol=1e-6)
    assert all(torch.equal(a, b) for a, b in zip(u_before, sn_vectors(batched, "u")))


def test_hand_written_spectral_norm_sources_agree_in_eval_mode():
    models = seeded(lambda: gt.apply_spectral_norm(gt.MLPCritic(width=32, depth=2), method="hand"), 2)
    for m in models:
        m.eval()
    batched = stack(models).eval()
    x = torch.randn(2 * 10, 2)
    torch.testing.assert_close(batched(x), separate(models, x), rtol=1e-5, atol=1e-6)


def test_fresh_batched_spectral_norm_with_one_copy_starts_where_torchs_starts():
    (model,) = seeded(lambda: gt.MLPCritic(width=32, depth=2), 1)
    batched = stack([model])
    torch.manual_seed(7)
    torch_sn(model)
    torch.manual_seed(7)
    apply_batched_spectral_norm(batched)
    for name in ("u", "v"):
        assert all(torch.equal(a[0], b) for a, b in zip(sn_vectors(batched, name), sn_vectors(model, name)))


def test_fresh_batched_spectral_norm_finds_each_copys_largest_singular_value():
    batched = stack(seeded(lambda: gt.MLPCritic(width=16, depth=2), 3))
    apply_batched_spectral_norm(batched)
    layers = [m for m in batched.modules() if isinstance(m, BatchedLinear)]
    assert all(parametrize.is_parametrized(m, "weight") for m in layers)
    u_once = [u.clone() for u in sn_vectors(batched, "u")]
    apply_batched_spectral_norm(batched)  # idempotent: nothing changes the second time
    assert all(len(m.parametrizations["weight"]) == 1 for m in layers)
    assert all(torch.equal(a, b) for a, b in zip(u_once, sn_vectors(batched, "u")))
    x = torch.randn(3, 2)
    for _ in range(300):
        batched(x)
    for layer in layers:
        sn = layer.parametrizations["weight"][0]
        w = layer.parametrizations["weight"].original.detach()
        sigma = torch.einsum("ko,koi,ki->k", sn.u, w, sn.v)
        torch.testing.assert_close(sigma, torch.linalg.svdvals(w)[:, 0], rtol=1e-3, atol=1e-6)
    for model in unstack(batched):  # the normalised weights have spectral norm 1
        torch.testing.assert_close(torch.tensor(gt.layer_sigmas(model)), torch.ones(3), rtol=1e-3, atol=0)


def test_unstack_round_trip_and_after_an_optimiser_step():
    models = seeded(lambda: gt.MLPCritic(width=32, depth=2, norm="layer"), 3)
    batched = stack(models)
    x = torch.randn(3 * 10, 2)
    back = unstack(batched)
    assert [type(m) for m in back] == [gt.MLPCritic] * 3
    for m, m_back, xk in zip(models, back, x.chunk(3)):
        assert torch.equal(m_back(xk), m(xk))
    opt = torch.optim.Adam(batched.parameters(), lr=1e-2)
    batched(x).pow(2).sum().backward()
    opt.step()
    torch.testing.assert_close(separate(unstack(batched), x), batched(x), **CLOSE)
    gen = stack(seeded(lambda: gt.MLPGenerator(latent_dim=3, width=16, depth=2), 2))
    assert [m.latent_dim for m in unstack(gen)] == [3, 3]


def test_unstack_of_spectral_norm_gives_plain_modules_with_the_normalised_weights():
    batched = stack(seeded(lambda: torch_sn(gt.MLPCritic(width=16, depth=2)), 2))
    x = torch.randn(2 * 5, 2)
    batched(x)  # one training-mode pass
    back = unstack(batched)
    assert batched.training and all(m.training for m in back)
    assert not any(parametrize.is_parametrized(layer) for m in back for layer in m.modules())
    u = [u.clone() for u in sn_vectors(batched, "u")]
    torch.testing.assert_close(separate(back, x), batched.eval()(x), **CLOSE)
    assert all(torch.equal(a, b) for a, b in zip(u, sn_vectors(batched, "u")))  # unstack ran no step


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop", "sgd"])
def test_one_optimiser_step_equals_k_separate_steps(optimizer):
    make = {"adam": lambda p: torch.optim.Adam(p, lr=1e-2, betas=(0.5, 0.9)),
            "rmsprop": lambda p: torch.optim.RMSprop(p, lr=1e-2),
            "sgd": lambda p: torch.optim.SGD(p, lr=1e-2)}[optimizer]
    models = seeded(lambda: gt.MLPCritic(width=32, depth=2), 3)
    batched = stack(models)
    opt_b = make(batched.parameters())
    opts = [make(m.parameters()) for m in models]
    for _ in range(3):
        x = torch.randn(3 * 8, 2)
        opt_b.zero_grad()
        batched(x).pow(2).mean(dim=0).mul(3).backward()  # 3 x the mean = the sum of the per-copy means
        opt_b.step()
        for m, opt, xk in zip(models, opts, x.chunk(3)):
            opt.zero_grad()
            m(xk).pow(2).mean().backward()
            opt.step()
    for p_b, *p_sep in zip(batched.parameters(), *(m.parameters() for m in models)):
        torch.testing.assert_close(p_b, torch.stack(p_sep).reshape(p_b.shape), rtol=1e-5, atol=1e-6)


def test_clip_weights_clamps_every_stacked_parameter():
    batched = stack(seeded(lambda: torch_sn(gt.MLPCritic(width=16, depth=2, norm="layer")), 2))
    with torch.no_grad():
        for p in batched.parameters():
            p.mul_(100)
    gt.clip_weights_(batched, 0.01)
    params = list(batched.parameters())
    assert len(params) == 10 and all(p.abs().max() <= 0.01 for p in params)


def test_errors():
    with pytest.raises(ValueError, match="at least one"):
        stack([])
    with pytest.raises(ValueError, match="differs from model 0"):
        stack([gt.MLPCritic(width=16), gt.MLPCritic(width=32)])
    with pytest.raises(ValueError, match="differs from model 0"):
        stack([gt.MLPCritic(activation="relu"), gt.MLPCritic(activation="tanh")])
    with pytest.raises(ValueError, match="differs from model 0"):
        stack([gt.MLPGenerator(latent_dim=2), gt.MLPGenerator(latent_dim=3)])
    with pytest.raises(ValueError, match="one class"):
        stack([gt.MLPGenerator(), gt.MLPCritic()])
    with pytest.raises(ValueError, match="norm='layer'"):
        stack([gt.MLPCritic(norm="batch")])
    with pytest.raises(ValueError, match="MLP models only"):
        stack([gt.DCGANCritic(width=4)])
    with pytest.raises(ValueError, match="K >= 1"):
        BatchedLinear(torch.zeros(0, 2, 2), torch.zeros(0, 2))
    batched = stack([gt.MLPCritic(width=8), gt.MLPCritic(width=8)])
    with pytest.raises(ValueError, match="not a multiple"):
        batched(torch.randn(5, 2))
    with pytest.raises(TypeError, match="built by stack"):
        unstack(gt.MLPCritic())

"""Three ways to keep a critic Lipschitz, and two ways to measure how Lipschitz it is.

* Weight clipping (WGAN): :func:`clip_weights_` after every critic step.
* Gradient penalty (WGAN-GP): :func:`gradient_penalty` on random interpolates.
* Spectral normalisation (SNGAN): divide each weight by its largest singular value, found by
  power iteration. :class:`PowerIterationSN` is written out for the lesson;
  :func:`apply_spectral_norm` uses it or torch's ``spectral_norm`` parametrisation.
* Measurement: :func:`lipschitz_estimate` (largest gradient norm over given points, a lower
  bound) and :func:`layerwise_bound` (product of per-layer spectral norms, an upper bound for
  1-Lipschitz activations).

Device contract: the module decides device and dtype. Every function that takes a module and
tensors moves the tensors to the module's device and dtype. Measuring functions run the module in
evaluation mode (no power-iteration step, no batch statistics) and restore every submodule's
previous mode; :func:`gradient_penalty` is part of the training loss and leaves the mode alone.
"""

from __future__ import annotations

import itertools
import math
import time
from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

__all__ = [
    "clip_weights_",
    "interpolates",
    "gradient_penalty",
    "grad_norms",
    "power_iteration",
    "PowerIterationSN",
    "apply_spectral_norm",
    "lipschitz_estimate",
    "layer_sigmas",
    "layerwise_bound",
    "conv_operator_norm",
    "CONSTRAINT_KINDS",
    "critic_update",
    "critic_update_seconds",
]


def _module_device_dtype(module: nn.Module) -> tuple[torch.device, torch.dtype] | None:
    """Device and dtype of ``module``'s first floating-point parameter or buffer; ``None`` for a
    module without one (then the inputs stay where they are, in their own dtype)."""
    for t in itertools.chain(module.parameters(), module.buffers()):
        if t.is_floating_point():
            return t.device, t.dtype
    return None


def _to_module(x: torch.Tensor, module: nn.Module, name: str = "x") -> torch.Tensor:
    """``x`` on ``module``'s device, in its dtype (see :func:`_module_device_dtype`)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}; "
                        "wrap it with torch.as_tensor")
    where = _module_device_dtype(module)
    return x if where is None else x.to(device=where[0], dtype=where[1])


def _check_finite(x: torch.Tensor, name: str) -> None:
    """Raise ValueError if ``x`` holds NaN or inf."""
    if x.is_floating_point() and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or inf; drop or fix those points before measuring")


@contextmanager
def _measuring(module: nn.Module) -> Iterator[nn.Module]:
    """Run the block with every submodule of ``module`` in evaluation mode (spectral norm makes no
    power-iteration step, batch norm uses its running statistics); afterwards each submodule gets
    back its own previous ``training`` flag, even where they differed."""
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield module
    finally:
        for m, flag in modes:
            m.training = flag


@torch.no_grad()
def clip_weights_(module: nn.Module, c: float) -> None:
    """Clamp every parameter of ``module`` to ``[-c, c]`` in place (WGAN's constraint)."""
    if not c > 0:
        raise ValueError(f"clip value c must be > 0, got {c}")
    for p in module.parameters():
        p.clamp_(-c, c)


def interpolates(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """x_hat = eps * real + (1 - eps) * fake with eps ~ U[0, 1] per sample (same shape as real).

    ``fake`` is moved to ``real``'s device and dtype; eps is drawn there, and the result lives
    there too.
    """
    if not isinstance(real, torch.Tensor) or not isinstance(fake, torch.Tensor):
        raise TypeError(f"real and fake must be torch.Tensors, got {type(real).__name__} and "
                        f"{type(fake).__name__}; wrap them with torch.as_tensor")
    if real.shape != fake.shape:
        raise ValueError(f"real and fake batches differ in shape: {tuple(real.shape)} vs "
                         f"{tuple(fake.shape)}; pass one fake sample per real sample")
    fake = fake.to(device=real.device, dtype=real.dtype)
    eps = torch.rand(real.shape[0], *([1] * (real.ndim - 1)), device=real.device, dtype=real.dtype)
    return eps * real + (1 - eps) * fake


def _input_grad_norms(critic: nn.Module, x: torch.Tensor, create_graph: bool) -> torch.Tensor:
    """Per-sample norm of ``critic``'s input gradient at ``x`` (moved to the critic's device and
    dtype), in whatever mode the critic is in; the result lives on the critic's device."""
    x = _to_module(x, critic)
    if x.ndim < 1:
        raise ValueError("x must be a batch of points with shape (n, ...), got a scalar; "
                         "use x.reshape(1, -1)")
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():  # works inside torch.no_grad() too
        out = critic(x)
        (g,) = torch.autograd.grad(out.sum(), x, create_graph=create_graph)
    return g.reshape(g.shape[0], -1).norm(dim=1)


def grad_norms(critic: nn.Module, x: torch.Tensor, create_graph: bool = False) -> torch.Tensor:
    """Per-sample Euclidean norm of the critic's input gradient, shape ``(n,)``.

    ``x`` is moved to the critic's device and dtype; the critic is measured in evaluation mode
    (its previous mode is restored). The result is a tensor on the critic's device (call
    ``.cpu()`` before ``.numpy()``).

    Raises:
        ValueError: ``x`` contains NaN or inf.
    """
    x = _to_module(x, critic)
    _check_finite(x, "x (the points where the gradient is measured)")
    with _measuring(critic):
        return _input_grad_norms(critic, x, create_graph)


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     one_sided: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """WGAN-GP's penalty at random interpolates of real and fake samples.

    Two-sided: ``mean((||grad f(x_hat)|| - 1)^2)``; one-sided: ``mean(relu(||grad f|| - 1)^2)``.
    Multiply by lambda (10 in the paper) and add to the critic loss.

    ``real`` and ``fake`` are moved to the critic's device and dtype before the interpolates are
    drawn. The penalty is part of the training loss, so the critic's mode is left as it is.

    Returns:
        ``(penalty, norms)``: the scalar penalty (differentiable w.r.t. the critic's
        parameters) and the detached per-sample gradient norms ``(n,)``, both on the critic's
        device.
    """
    real, fake = _to_module(real, critic, "real"), _to_module(fake, critic, "fake")
    norms = _input_grad_norms(critic, interpolates(real, fake.detach()), create_graph=True)
    gap = F.relu(norms - 1) if one_sided else norms - 1
    return (gap**2).mean(), norms.detach()


def _unit(v: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    return v / (v.norm() + eps)


@torch.no_grad()
def power_iteration(W: torch.Tensor, u: torch.Tensor | None = None, n_iter: int = 1
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Estimate the largest singular value of a matrix ``W`` (out x in) by power iteration.

    Each step: ``v = W^T u / |W^T u|``, ``u = W v / |W v|``; estimate ``sigma = u^T W v``.

    Args:
        W: 2D weight matrix (reshape conv kernels to ``(out, -1)`` first).
        u: starting left vector of length ``out`` (random when omitted); pass the returned
           ``u`` back in to continue the iteration (the persistent-u scheme of SNGAN). It is
           moved to ``W``'s device and dtype.
        n_iter: number of steps.

    Returns:
        ``(sigma, u, v)``: 0-dim tensor and vectors, on ``W``'s device in its dtype.
    """
    if W.ndim != 2:
        raise ValueError(f"power_iteration needs a 2D matrix, got shape {tuple(W.shape)}")
    if n_iter < 1:
        raise ValueError(f"n_iter must be >= 1, got {n_iter}")
    if u is None:
        u = _unit(torch.randn(W.shape[0], device=W.device, dtype=W.dtype))
    elif tuple(u.shape) != (W.shape[0],):
        raise ValueError(f"u must be a vector of length {W.shape[0]} (W's rows), got shape {tuple(u.shape)}")
    else:
        u = u.to(device=W.device, dtype=W.dtype)
    for _ in range(n_iter):
        v = _unit(W.t() @ u)
        u = _unit(W @ v)
    return u @ W @ v, u, v


class PowerIterationSN(nn.Module):
    """A parametrisation ``W -> W / sigma(W)``, sigma by power iteration with a persistent u.

    In training mode each forward pass runs ``n_power_iterations`` steps and stores u (one step
    per training step is enough because W changes slowly); in eval mode u is reused unchanged.
    Register with ``torch.nn.utils.parametrize.register_parametrization(layer, "weight", ...)``.
    """

    def __init__(self, weight: torch.Tensor, n_power_iterations: int = 1) -> None:
        super().__init__()
        w2 = weight.detach().reshape(weight.shape[0], -1)
        self.n_power_iterations = n_power_iterations
        self.register_buffer("u", _unit(torch.randn(w2.shape[0], dtype=w2.dtype, device=w2.device)))
        self.register_buffer("v", _unit(torch.randn(w2.shape[1], dtype=w2.dtype, device=w2.device)))
        if n_power_iterations > 0:
            _, u, v = power_iteration(w2, self.u, n_iter=15)  # warm start, as torch does
            self.u.copy_(u)
            self.v.copy_(v)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        w2 = weight.reshape(weight.shape[0], -1)
        if self.training and self.n_power_iterations > 0:
            _, u, v = power_iteration(w2.detach(), self.u, n_iter=self.n_power_iterations)
            self.u.copy_(u)
            self.v.copy_(v)
        sigma = self.u @ w2 @ self.v  # differentiable in W, u and v held fixed
        return weight / sigma


def apply_spectral_norm(module: nn.Module, method: str = "torch",
                        n_power_iterations: int = 1) -> nn.Module:
    """Spectrally normalise every Linear, Conv2d and ConvTranspose2d weight in ``module``.

    Args:
        method: ``"torch"`` (``torch.nn.utils.parametrizations.spectral_norm``) or ``"hand"``
            (:class:`PowerIterationSN`).
    Returns:
        the same module, modified in place.
    """
    if method not in ("torch", "hand"):
        raise ValueError(f"method must be 'torch' or 'hand', got {method!r}")
    for layer in list(module.modules()):
        if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            if parametrize.is_parametrized(layer, "weight"):
                continue
            if method == "torch":
                torch.nn.utils.parametrizations.spectral_norm(layer, n_power_iterations=n_power_iterations)
            else:
                sn = PowerIterationSN(layer.weight, n_power_iterations)
                parametrize.register_parametrization(layer, "weight", sn)
    return module


def lipschitz_estimate(critic: nn.Module, x: torch.Tensor) -> float:
    """Largest input-gradient norm of ``critic`` over the points ``x``: a lower bound on its
    Lipschitz constant (for a differentiable critic), as a Python float.

    Measured as :func:`grad_norms` does: ``x`` on the critic's device and dtype, evaluation mode.

    Raises:
        ValueError: ``x`` is empty or contains NaN or inf.
    """
    if isinstance(x, torch.Tensor) and (x.ndim == 0 or x.shape[0] == 0):
        raise ValueError(f"x must hold at least one point (shape (n, ...) with n >= 1), "
                         f"got shape {tuple(x.shape)}")
    return float(grad_norms(critic, x).max())


@torch.no_grad()
def layer_sigmas(module: nn.Module) -> list[float]:
    """Largest singular value of every Linear / Conv weight, in order (conv kernels reshaped to
    ``(out, in * k * k)``), as Python floats.

    The module is read in evaluation mode, so that reading a spectrally normalised weight does
    not run another power-iteration step; every submodule's mode is restored afterwards.
    """
    with _measuring(module):
        return [float(torch.linalg.svdvals(m.weight.reshape(m.weight.shape[0], -1))[0])
                for m in module.modules() if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d))]


def layerwise_bound(module: nn.Module) -> float:
    """Product of :func:`layer_sigmas`: the largest singular values of every Linear / Conv weight.

    For 1-Lipschitz activations (ReLU, LeakyReLU, tanh) and Linear layers this bounds the
    network's Lipschitz constant from above. For convolutions the reshaped-kernel norm is not
    the operator norm (see :func:`conv_operator_norm`). Normalisation layers are not counted.
    """
    return math.prod(layer_sigmas(module))


def conv_operator_norm(conv: nn.Conv2d, input_shape: tuple[int, int, int], n_iter: int = 200) -> float:
    """Operator norm (largest singular value) of the linear map x -> conv(x) without bias,
    on inputs of shape ``input_shape = (C, H, W)``, by power iteration on the operator itself
    using the convolution and its adjoint (the transposed convolution). Computed on the
    weight's device and dtype; returns a Python float."""
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (C, H, W), got {tuple(input_shape)}")
    if n_iter < 1:
        raise ValueError(f"n_iter must be >= 1, got {n_iter}")
    weight = conv.weight.detach()
    x = torch.randn(1, *input_shape, dtype=weight.dtype, device=weight.device)
    x = x / x.norm()

    def op(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, weight, stride=conv.stride, padding=conv.padding, dilation=conv.dilation,
                        groups=conv.groups)

    sigma = torch.tensor(0.0)
    for _ in range(n_iter):
        x = x.detach().requires_grad_(True)
        y = op(x)
        # adjoint applied to y: gradient of <op(x), y> w.r.t. x
        (xt,) = torch.autograd.grad((y * y.detach()).sum(), x)
        sigma = y.norm()
        x = xt / xt.norm()
    return float(sigma.detach())


#: the critic updates :func:`critic_update_seconds` times, in this order (``"none"`` is the reference)
CONSTRAINT_KINDS = ("none", "clip", "GP", "SN, 1 pass", "SN, 2 passes")


def critic_update(critic: nn.Module, opt: torch.optim.Optimizer, real: torch.Tensor, fake: torch.Tensor,
                  kind: str) -> None:
    """One Wasserstein critic update under the constraint ``kind`` (one of ``CONSTRAINT_KINDS``).

    ``"none"``, ``"clip"``, ``"GP"`` and ``"SN, 1 pass"`` evaluate the critic once on the real
    and fake batches together; ``"SN, 2 passes"`` evaluates them apart, as ``gt.train_gan`` runs
    a spectrally normalised critic (two power-iteration steps per layer). ``"GP"`` adds the
    penalty (lambda = 10) with its pass at the interpolates and its double backward; ``"clip"``
    clamps the weights to [-0.01, 0.01] after the step. The critic must already be spectrally
    normalised for the SN kinds.
    """
    if kind not in CONSTRAINT_KINDS:
        raise ValueError(f"kind must be one of {CONSTRAINT_KINDS}, got {kind!r}")
    if kind == "SN, 2 passes":
        r, f = critic(real), critic(fake)
    else:
        r, f = critic(torch.cat([real, fake])).chunk(2)
    loss = f.mean() - r.mean()
    if kind == "GP":
        loss = loss + 10.0 * gradient_penalty(critic, real, fake)[0]
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    if kind == "clip":
        clip_weights_(critic, 0.01)


def critic_update_seconds(real: torch.Tensor, fake: torch.Tensor, width: int = 256, rounds: int = 5,
                          updates: int = 10) -> dict[str, list[float]]:
    """Seconds per critic update for every kind of ``CONSTRAINT_KINDS``, one value per round.

    Each kind gets its own ``gt.MLPCritic(width=width)`` (seed 0; spectrally normalised for the
    SN kinds) on ``real``'s device, with Adam (1e-4, betas (0, 0.9)), and one warm-up update.
    Each round then times ``updates`` updates of every kind in a rotated order, waiting for
    the device before and after, so that a slow patch of a shared machine hits all kinds: a
    ratio to ``"none"`` taken within a round is much steadier than the seconds themselves.
    """
    from .models import MLPCritic
    from .runtime import seed_everything

    if rounds < 1 or updates < 1:
        raise ValueError(f"rounds and updates must be >= 1, got {rounds} and {updates}")
    fake = fake.to(real.device, real.dtype)
    sync = torch.cuda.synchronize if real.device.type == "cuda" else (lambda: None)
    timed = {}
    for kind in CONSTRAINT_KINDS:
        seed_everything(0)
        critic = MLPCritic(in_dim=real.shape[1], width=width).to(real.device)
        if kind.startswith("SN"):
            apply_spectral_norm(critic)
        timed[kind] = (critic, torch.optim.Adam(critic.parameters(), lr=1e-4, betas=(0.0, 0.9)))
        critic_update(*timed[kind], real, fake, kind)  # warm-up
    seconds: dict[str, list[float]] = {kind: [] for kind in CONSTRAINT_KINDS}
    n = len(CONSTRAINT_KINDS)
    for rnd in range(rounds):
        for kind in CONSTRAINT_KINDS[rnd % n:] + CONSTRAINT_KINDS[: rnd % n]:
            sync()
            t0 = time.perf_counter()
            for _ in range(updates):
                critic_update(*timed[kind], real, fake, kind)
            sync()
            seconds[kind].append((time.perf_counter() - t0) / updates)
    return seconds

"""Three ways to keep a critic Lipschitz, and two ways to measure how Lipschitz it is.

* Weight clipping (WGAN): :func:`clip_weights_` after every critic step.
* Gradient penalty (WGAN-GP): :func:`gradient_penalty` on random interpolates.
* Spectral normalisation (SNGAN): divide each weight by its largest singular value, found by
  power iteration. :class:`PowerIterationSN` is written out for the lesson;
  :func:`apply_spectral_norm` uses it or torch's ``spectral_norm`` parametrisation.
* Measurement: :func:`lipschitz_estimate` (largest gradient norm over given points, a lower
  bound) and :func:`layerwise_bound` (product of per-layer spectral norms, an upper bound for
  1-Lipschitz activations).
"""

from __future__ import annotations

import math

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
]


@torch.no_grad()
def clip_weights_(module: nn.Module, c: float) -> None:
    """Clamp every parameter of ``module`` to ``[-c, c]`` in place (WGAN's constraint)."""
    if not c > 0:
        raise ValueError(f"clip value c must be > 0, got {c}")
    for p in module.parameters():
        p.clamp_(-c, c)


def interpolates(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """x_hat = eps * real + (1 - eps) * fake with eps ~ U[0, 1] per sample (same shape as real)."""
    if real.shape != fake.shape:
        raise ValueError(f"real and fake batches differ in shape: {tuple(real.shape)} vs {tuple(fake.shape)}")
    eps = torch.rand(real.shape[0], *([1] * (real.ndim - 1)), device=real.device, dtype=real.dtype)
    return eps * real + (1 - eps) * fake


def grad_norms(critic: nn.Module, x: torch.Tensor, create_graph: bool = False) -> torch.Tensor:
    """Per-sample Euclidean norm of the critic's input gradient, shape ``(n,)``."""
    x = x.detach().requires_grad_(True)
    out = critic(x)
    (g,) = torch.autograd.grad(out.sum(), x, create_graph=create_graph)
    return g.reshape(g.shape[0], -1).norm(dim=1)


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     one_sided: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """WGAN-GP's penalty at random interpolates of real and fake samples.

    Two-sided: ``mean((||grad f(x_hat)|| - 1)^2)``; one-sided: ``mean(relu(||grad f|| - 1)^2)``.
    Multiply by lambda (10 in the paper) and add to the critic loss.

    Returns:
        ``(penalty, norms)``: the scalar penalty (differentiable w.r.t. the critic's
        parameters) and the detached per-sample gradient norms ``(n,)``.
    """
    norms = grad_norms(critic, interpolates(real, fake.detach()), create_graph=True)
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
           ``u`` back in to continue the iteration (the persistent-u scheme of SNGAN).
        n_iter: number of steps.

    Returns:
        ``(sigma, u, v)``.
    """
    if W.ndim != 2:
        raise ValueError(f"power_iteration needs a 2D matrix, got shape {tuple(W.shape)}")
    if n_iter < 1:
        raise ValueError("n_iter must be >= 1")
    u = _unit(torch.randn(W.shape[0], device=W.device, dtype=W.dtype)) if u is None else u
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


def apply_spectral_norm(module: nn.Module, method: str = "torch", n_power_iterations: int = 1) -> nn.Module:
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
                parametrize.register_parametrization(layer, "weight", PowerIterationSN(layer.weight, n_power_iterations))
    return module


def lipschitz_estimate(critic: nn.Module, x: torch.Tensor) -> float:
    """Largest input-gradient norm of ``critic`` over the points ``x``: a lower bound on its
    Lipschitz constant (for a differentiable critic)."""
    return float(grad_norms(critic, x).max())


@torch.no_grad()
def layer_sigmas(module: nn.Module) -> list[float]:
    """Largest singular value of every Linear / Conv weight, in order (conv kernels reshaped to
    ``(out, in * k * k)``).

    The module is read in evaluation mode, so that reading a spectrally normalised weight does
    not run another power-iteration step; its training mode is restored afterwards.
    """
    was_training = module.training
    module.eval()
    try:
        return [float(torch.linalg.svdvals(m.weight.reshape(m.weight.shape[0], -1))[0])
                for m in module.modules() if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d))]
    finally:
        module.train(was_training)


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
    using the convolution and its adjoint (the transposed convolution)."""
    weight = conv.weight.detach()
    x = torch.randn(1, *input_shape, dtype=weight.dtype, device=weight.device)
    x = x / x.norm()

    def op(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, weight, stride=conv.stride, padding=conv.padding, dilation=conv.dilation, groups=conv.groups)

    sigma = torch.tensor(0.0)
    for _ in range(n_iter):
        x = x.detach().requires_grad_(True)
        y = op(x)
        # adjoint applied to y: gradient of <op(x), y> w.r.t. x
        (xt,) = torch.autograd.grad((y * y.detach()).sum(), x)
        sigma = y.norm()
        x = xt / xt.norm()
    return float(sigma.detach())

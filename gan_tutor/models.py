"""Generators and critics: MLPs for the toy sets, DCGAN-style convnets for 28x28 images.

Critics output a raw score (no sigmoid): the standard GAN's losses apply the sigmoid inside
``losses`` (numerically stable), and Wasserstein critics need an unbounded score. A critic's
optional normalisation may be ``"layer"`` or ``"batch"``; ``train_gan`` refuses batch norm with
a gradient penalty, because the penalty is defined per sample and batch norm couples samples.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["MLPGenerator", "MLPCritic", "DCGANGenerator", "DCGANCritic", "has_batch_norm"]

_ACTIVATIONS = {
    "relu": lambda: nn.ReLU(),
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "tanh": lambda: nn.Tanh(),
    "elu": lambda: nn.ELU(),
}
_NORMS = (None, "layer", "batch")


def _activation(name: str) -> nn.Module:
    if name not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(_ACTIVATIONS)}")
    return _ACTIVATIONS[name]()


def _check_norm(norm: str | None) -> None:
    if norm not in _NORMS:
        raise ValueError(f"unknown normalisation {norm!r}; choose None, 'layer' or 'batch'")


def _mlp(in_dim: int, out_dim: int, width: int, depth: int, activation: str, norm: str | None) -> nn.Sequential:
    if depth < 1 or width < 1:
        raise ValueError(f"depth and width must be >= 1, got depth={depth}, width={width}")
    _check_norm(norm)
    layers: list[nn.Module] = []
    d = in_dim
    for _ in range(depth):
        layers.append(nn.Linear(d, width))
        if norm == "layer":
            layers.append(nn.LayerNorm(width))
        elif norm == "batch":
            layers.append(nn.BatchNorm1d(width))
        layers.append(_activation(activation))
        d = width
    layers.append(nn.Linear(d, out_dim))
    return nn.Sequential(*layers)


class _Generator(nn.Module):
    latent_dim: int

    def sample(self, n: int, device=None) -> torch.Tensor:
        """Draw ``n`` samples G(z), z ~ N(0, I), without gradient tracking."""
        device = device if device is not None else next(self.parameters()).device
        with torch.no_grad():
            return self(torch.randn(n, self.latent_dim, device=device))


class MLPGenerator(_Generator):
    """G: R^latent_dim -> R^out_dim, ``depth`` hidden layers of ``width`` units.

    Input ``(n, latent_dim)``, output ``(n, out_dim)``, no output activation.
    """

    def __init__(self, latent_dim: int = 2, out_dim: int = 2, width: int = 256, depth: int = 3,
                 activation: str = "relu") -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.net = _mlp(latent_dim, out_dim, width, depth, activation, None)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class MLPCritic(nn.Module):
    """f: R^in_dim -> R, a raw score ``(n, 1)`` -> returned as ``(n,)``; no sigmoid."""

    def __init__(self, in_dim: int = 2, width: int = 256, depth: int = 3, activation: str = "relu",
                 norm: str | None = None) -> None:
        super().__init__()
        self.net = _mlp(in_dim, 1, width, depth, activation, norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


class DCGANGenerator(_Generator):
    """DCGAN-style generator for 28x28 images: z -> (2w, 7, 7) -> (w, 14, 14) -> (1, 28, 28).

    Batch norm in the generator is harmless for every constraint (the penalty concerns the
    critic). The output passes through tanh, matching data scaled to ``[-1, 1]``.
    """

    def __init__(self, latent_dim: int = 64, width: int = 64) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.fc = nn.Sequential(nn.Linear(latent_dim, 2 * width * 7 * 7), nn.BatchNorm1d(2 * width * 7 * 7), nn.ReLU())
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.ConvTranspose2d(width, 1, 4, stride=2, padding=1),
            nn.Tanh(),
        )
        self.width = width

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.fc(z).view(-1, 2 * self.width, 7, 7)
        return self.deconv(h)


class DCGANCritic(nn.Module):
    """DCGAN-style critic for ``(n, 1, 28, 28)`` images, raw score ``(n,)``.

    Two stride-2 convolutions (28 -> 14 -> 7) with LeakyReLU(0.2), then a linear layer.
    ``norm``: None, ``"layer"`` (per-sample, GP-safe) or ``"batch"``.
    """

    def __init__(self, width: int = 64, norm: str | None = None) -> None:
        super().__init__()
        _check_norm(norm)
        layers: list[nn.Module] = [nn.Conv2d(1, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
                                   nn.Conv2d(width, 2 * width, 4, stride=2, padding=1)]
        if norm == "layer":
            layers.append(nn.GroupNorm(1, 2 * width))  # layer norm over (C, H, W)
        elif norm == "batch":
            layers.append(nn.BatchNorm2d(2 * width))
        layers += [nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(2 * width * 7 * 7, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or tuple(x.shape[1:]) != (1, 28, 28):
            raise ValueError(f"DCGANCritic expects images of shape (n, 1, 28, 28), got {tuple(x.shape)}")
        return self.net(x).squeeze(-1)


def has_batch_norm(module: nn.Module) -> bool:
    """True if any submodule is a batch-norm layer."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())

"""Many seeds in one run: K independent MLPs computed at once with batched matrix products.

:func:`stack` turns K generators (or K critics) of one architecture, for example the same
configuration built with K seeds, into one module whose layers hold all K weight sets in single
stacked tensors. One forward pass computes all K networks with ``torch.baddbmm``, and one
optimiser step updates all K: Adam, RMSProp, SGD and :func:`~gan_tutor.lipschitz.clip_weights_`
act element by element, so the copies never mix as long as the loss is a *sum* over copies.

The layout: a batched module of K copies takes a flat batch of ``K * n`` rows, rows
``k * n : (k + 1) * n`` belonging to copy k, and returns ``K * n`` rows (generators
``(K * n, out_dim)``, critics ``(K * n,)``). Inside, the rows are viewed as ``(K, n, d)``.

With K = 1 the batched module computes the same numbers, bit for bit, as the module it was
stacked from: its layers call torch's own single-network kernels (``F.linear``, a fused layer
norm, ``mv`` in the power iteration), because the batched products round differently for some
batch sizes. With K > 1 each copy agrees with its separate module to float32 rounding, not bit
for bit.

:func:`unstack` gives the K networks back as plain modules, for evaluation and plots per seed.
:func:`apply_batched_spectral_norm` is the batched counterpart of
:func:`~gan_tutor.lipschitz.apply_spectral_norm` (torch's power iteration, per copy).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from .lipschitz import PowerIterationSN
from .models import MLPCritic, MLPGenerator

__all__ = [
    "BatchedLinear",
    "BatchedLayerNorm",
    "BatchedSpectralNorm",
    "BatchedGenerator",
    "BatchedCritic",
    "stack",
    "unstack",
    "apply_batched_spectral_norm",
]

_ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.ELU)
_SN_SOURCES = (torch.nn.utils.parametrizations._SpectralNorm, PowerIterationSN)
_MLP_ONLY = ("batched training supports the MLP models only (MLPGenerator, MLPCritic); "
             "train image models (DCGAN, convolutions) one seed at a time")


class BatchedLinear(nn.Module):
    """K independent ``nn.Linear`` layers, built from their stacked weights and biases.

    Args:
        weight: ``(K, out, in)``; copy k's matrix ``weight[k]`` is laid out like ``nn.Linear.weight``.
        bias: ``(K, out)``; stored as ``(K, 1, out)`` so that it broadcasts over the rows.

    Input ``(K, n, in)``, output ``(K, n, out)``. The tensors are copied into new parameters.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        super().__init__()
        if weight.ndim != 3 or weight.shape[0] < 1 or bias.shape != (weight.shape[0], weight.shape[1]):
            raise ValueError(f"BatchedLinear needs weight (K, out, in) and bias (K, out) with K >= 1, got "
                             f"{tuple(weight.shape)} and {tuple(bias.shape)}")
        self.copies, self.out_features, self.in_features = weight.shape
        self.weight = nn.Parameter(weight.detach().clone())
        self.bias = nn.Parameter(bias.detach()[:, None, :].clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.copies == 1:  # one copy needs no batching: nn.Linear's own kernel, bit for bit
            return F.linear(x[0], self.weight[0], self.bias[0, 0])[None]
        # bias + x @ W^T for every copy k at once
        return torch.baddbmm(self.bias, x, self.weight.transpose(1, 2))

    def extra_repr(self) -> str:
        return f"copies={self.copies}, in_features={self.in_features}, out_features={self.out_features}"


class BatchedLayerNorm(nn.Module):
    """K independent ``nn.LayerNorm(width)`` layers, built from their stacked affine parameters
    ``weight`` and ``bias``, each ``(K, width)`` (copied). Input and output ``(K, n, width)``."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, eps: float = 1e-5) -> None:
        super().__init__()
        if weight.ndim != 2 or weight.shape[0] < 1 or bias.shape != weight.shape:
            raise ValueError(f"BatchedLayerNorm needs weight and bias of one shape (K, width), K >= 1, got "
                             f"{tuple(weight.shape)} and {tuple(bias.shape)}")
        self.copies, self.width = weight.shape
        self.eps = eps
        self.weight = nn.Parameter(weight.detach().clone())
        self.bias = nn.Parameter(bias.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.copies == 1:  # one fused call, bit for bit what nn.LayerNorm computes
            return F.layer_norm(x, (self.width,), self.weight[0], self.bias[0], self.eps)
        normalised = F.layer_norm(x, (self.width,), None, None, self.eps)
        return torch.addcmul(self.bias[:, None, :], normalised, self.weight[:, None, :])

    def extra_repr(self) -> str:
        return f"copies={self.copies}, width={self.width}, eps={self.eps}"


# With one copy the two helpers below call torch's own mv and vdot, as spectral_norm does, so that
# K = 1 reproduces it bit for bit (the batched products round differently for some shapes).
def _bmv(matrices: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
    """K matrix-vector products: ``(K, a, b)`` times ``(K, b)`` -> ``(K, a)``."""
    if matrices.shape[0] == 1:
        return torch.mv(matrices[0], vectors[0])[None]
    return torch.bmm(matrices, vectors[:, :, None])[:, :, 0]


def _bdot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """K dot products: ``(K, d)`` and ``(K, d)`` -> ``(K,)``."""
    if a.shape[0] == 1:
        return torch.vdot(a[0], b[0])[None]
    return (a * b).sum(dim=1)


class BatchedSpectralNorm(nn.Module):
    """The parametrisation ``W_k -> W_k / sigma_k`` for a ``(K, out, in)`` weight, one power
    iteration per copy, step for step torch's ``spectral_norm``.

    Buffers ``u`` ``(K, out)`` and ``v`` ``(K, in)``. In training mode each forward pass runs
    ``n_power_iterations`` steps without gradient, ``u = normalize(W v)`` then
    ``v = normalize(W^T u)``; in eval mode u and v stay as they are. Then
    ``sigma = u^T W v`` with u and v held fixed (the gradient flows through W only).

    Args:
        weight: the ``(K, out, in)`` weight to be normalised.
        n_power_iterations: steps per training-mode forward pass.
        u, v: starting vectors (for example copied from spectrally normalised modules). When
            omitted they are started as torch does: standard normal from torch's global
            generator (u for all copies, then v: not the numbers K separate ``spectral_norm``
            calls would draw), normalised, then 15 warm-up steps of the power iteration.
    """

    def __init__(self, weight: torch.Tensor, n_power_iterations: int = 1, eps: float = 1e-12,
                 u: torch.Tensor | None = None, v: torch.Tensor | None = None) -> None:
        super().__init__()
        if weight.ndim != 3:
            raise ValueError(f"BatchedSpectralNorm needs a (K, out, in) weight, got {tuple(weight.shape)}")
        if n_power_iterations < 1:
            raise ValueError(f"n_power_iterations must be >= 1, got {n_power_iterations}")
        if (u is None) != (v is None):
            raise ValueError("give both u and v (to continue a power iteration) or neither (to start one)")
        self.n_power_iterations, self.eps = n_power_iterations, eps
        k, out_dim, in_dim = weight.shape
        warm_up = 0
        if u is None or v is None:  # a fresh start, as torch's spectral_norm makes it
            u = F.normalize(weight.new_empty(k, out_dim).normal_(0, 1), dim=1, eps=eps)
            v = F.normalize(weight.new_empty(k, in_dim).normal_(0, 1), dim=1, eps=eps)
            warm_up = 15
        if u.shape != (k, out_dim) or v.shape != (k, in_dim):
            raise ValueError(f"u and v must have shapes {(k, out_dim)} and {(k, in_dim)}, "
                             f"got {tuple(u.shape)} and {tuple(v.shape)}")
        self.register_buffer("u", u.detach().clone())
        self.register_buffer("v", v.detach().clone())
        self._power_method(weight.detach(), warm_up)

    @torch.no_grad()
    def _power_method(self, weight: torch.Tensor, n_steps: int) -> None:
        for _ in range(n_steps):
            self.u.copy_(F.normalize(_bmv(weight, self.v), dim=1, eps=self.eps))
            self.v.copy_(F.normalize(_bmv(weight.transpose(1, 2), self.u), dim=1, eps=self.eps))

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        if self.training:
            self._power_method(weight, self.n_power_iterations)
        # clones: a later forward pass updates u, v in place while this graph may still need them
        u, v = self.u.clone(), self.v.clone()
        sigma = _bdot(u, _bmv(weight, v))  # u_k . (W_k v_k), shape (K,)
        return weight / sigma[:, None, None]

    def right_inverse(self, value: torch.Tensor) -> torch.Tensor:
        return value


class _Batched(nn.Module):
    """K copies of one MLP as one module: flat ``(K * n, d)`` rows in, ``(K * n, out)`` rows out."""

    def __init__(self, net: nn.Sequential, copies: int, template: nn.Module) -> None:
        super().__init__()
        self.copies = copies
        self.net = net
        # kept outside parameters(), so that optimisers and clip_weights_ never see it
        object.__setattr__(self, "template", template)

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2:
            raise ValueError(f"a batched module takes a flat (K * n, features) batch, got {tuple(x.shape)}")
        if x.shape[0] % self.copies:
            raise ValueError(f"the batch has {x.shape[0]} rows, not a multiple of the {self.copies} copies; "
                             f"give n rows per copy, rows k*n:(k+1)*n for copy k")
        n = x.shape[0] // self.copies
        y = self.net(x.reshape(self.copies, n, x.shape[1]))  # (K, n, out)
        return y.reshape(self.copies * n, y.shape[2])


class BatchedGenerator(_Batched):
    """K generators in one: ``(K * n, latent_dim)`` noise -> ``(K * n, out_dim)`` samples."""

    def __init__(self, net: nn.Sequential, copies: int, template: nn.Module, latent_dim: int) -> None:
        super().__init__(net, copies, template)
        self.latent_dim = latent_dim

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self._run(z)

    def sample(self, n: int, device=None) -> torch.Tensor:
        """Draw ``n`` samples per copy, ``K * n`` rows in the batched layout, without gradient."""
        device = device if device is not None else next(self.parameters()).device
        with torch.no_grad():
            return self(torch.randn(self.copies * n, self.latent_dim, device=device))


class BatchedCritic(_Batched):
    """K critics in one: ``(K * n, in_dim)`` -> raw scores ``(K * n,)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x).squeeze(-1)


def _sn_state(layer: nn.Linear) -> tuple[torch.Tensor, nn.Module | None]:
    """(the weight before normalisation, the spectral-norm parametrisation or None) of a Linear."""
    if not parametrize.is_parametrized(layer, "weight"):
        return layer.weight, None
    plist = layer.parametrizations["weight"]
    if len(plist) != 1 or not isinstance(plist[0], _SN_SOURCES):
        raise ValueError("stack understands one parametrisation per weight, torch's spectral_norm or "
                         "PowerIterationSN; remove any other before stacking")
    return plist.original, plist[0]


def _sn_vectors(sn: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    if isinstance(sn, PowerIterationSN):
        return sn.u, sn.v
    if sn.dim != 0:
        raise ValueError(f"stack needs torch's spectral_norm with dim=0 on a Linear weight, got dim={sn.dim}")
    return sn._u, sn._v


def _describe(layer: nn.Module) -> tuple:
    """What must agree between the K sources, layer by layer."""
    if isinstance(layer, nn.Linear):
        _, sn = _sn_state(layer)
        sn_kind = None if sn is None else (type(sn).__name__, sn.n_power_iterations, getattr(sn, "eps", None))
        return ("Linear", layer.in_features, layer.out_features, layer.bias is not None, sn_kind)
    if isinstance(layer, nn.LayerNorm):
        return ("LayerNorm", tuple(layer.normalized_shape), layer.eps, layer.elementwise_affine,
                layer.bias is not None)
    return (type(layer).__name__, layer.extra_repr())


def _stack_layer(layers: list[nn.Module]) -> nn.Module:
    """One batched layer from the K corresponding layers of the sources, weights copied."""
    first = layers[0]
    if isinstance(first, nn.modules.batchnorm._BatchNorm):
        raise ValueError("stack refuses batch norm (its batch statistics are not per copy here); "
                         "build the critics with norm=None or norm='layer'")
    if isinstance(first, _ACTIVATIONS):
        return copy.deepcopy(first)
    with torch.no_grad():
        if isinstance(first, nn.Linear):
            if first.bias is None:
                raise ValueError("stack needs Linear layers with a bias (as gan_tutor.models builds them)")
            states = [_sn_state(layer) for layer in layers]
            biases = torch.stack([layer.bias for layer in layers])
            out = BatchedLinear(torch.stack([w for w, _ in states]), biases)
            sn = states[0][1]
            if sn is not None:
                u, v = zip(*(_sn_vectors(s) for _, s in states))
                eps = getattr(sn, "eps", 1e-12)  # PowerIterationSN has no eps attribute
                batched_sn = BatchedSpectralNorm(out.weight, sn.n_power_iterations, eps,
                                                 torch.stack(u), torch.stack(v))
                # unsafe=True skips the trial forward pass, which would run a power-iteration step
                parametrize.register_parametrization(out, "weight", batched_sn, unsafe=True)
            return out
        if isinstance(first, nn.LayerNorm):
            if len(first.normalized_shape) != 1 or not first.elementwise_affine or first.bias is None:
                raise ValueError("stack needs LayerNorm(width) with its affine weight and bias "
                                 "(as gan_tutor.models builds it)")
            return BatchedLayerNorm(torch.stack([layer.weight for layer in layers]),
                                    torch.stack([layer.bias for layer in layers]), first.eps)
    raise ValueError(f"{_MLP_ONLY}; found a {type(first).__name__} layer")


def _plain_copy(model: nn.Module) -> nn.Module:
    """A deep copy of an MLP whose spectrally normalised Linear layers are replaced by plain ones
    (uninitialised: only the architecture matters). Not ``remove_parametrizations`` on a deep copy:
    the copy shares its parametrised class with the source, and removing would break the source."""
    template = copy.deepcopy(model)
    for i, layer in enumerate(template.net):
        if isinstance(layer, nn.Linear) and parametrize.is_parametrized(layer, "weight"):
            template.net[i] = torch.nn.utils.skip_init(nn.Linear, layer.in_features, layer.out_features,
                                                       device=layer.bias.device, dtype=layer.bias.dtype)
    return template


def stack(models: list[nn.Module]) -> BatchedGenerator | BatchedCritic:
    """One batched module computing the K given MLPs at once, starting from their current weights.

    Args:
        models: K >= 1 modules of one class (:class:`~gan_tutor.models.MLPGenerator` or
            :class:`~gan_tutor.models.MLPCritic`) and one architecture; Linear layers may carry
            torch's ``spectral_norm`` or :class:`~gan_tutor.lipschitz.PowerIterationSN`, whose
            weights before normalisation and u, v vectors are copied into a
            :class:`BatchedSpectralNorm` (which always iterates in torch's order, u then v, so
            PowerIterationSN sources agree in eval mode, and in training mode only once the
            iteration has converged).

    Returns:
        a :class:`BatchedGenerator` or :class:`BatchedCritic` with ``copies = K``, on the
        sources' device, in the first source's training mode. The sources are not changed.

    Raises:
        ValueError: no models, models that differ in class or architecture, batch norm, or
            layers other than Linear, LayerNorm, ReLU, LeakyReLU, Tanh and ELU.
    """
    models = list(models)
    if not models:
        raise ValueError("stack needs at least one model; pass a list of K >= 1 modules")
    first = models[0]
    if not isinstance(first, (MLPGenerator, MLPCritic)):
        raise ValueError(f"{_MLP_ONLY}; got a {type(first).__name__}")
    if any(type(m) is not type(first) for m in models):
        names = sorted({type(m).__name__ for m in models})
        raise ValueError(f"stack needs K modules of one class, got {names}")
    arch = [_describe(layer) for layer in first.net]
    for i, m in enumerate(models[1:], start=1):
        other = [_describe(layer) for layer in m.net]
        if other != arch:
            j = next((j for j, (a, b) in enumerate(zip(other, arch)) if a != b), min(len(other), len(arch)))
            raise ValueError(f"model {i} differs from model 0 ({other[j:j + 1]} vs {arch[j:j + 1]}); "
                             "stack copies of one configuration that differ only in their seed")
    net = nn.Sequential(*[_stack_layer(list(layers)) for layers in zip(*(m.net for m in models))])
    template = _plain_copy(first)
    if isinstance(first, MLPGenerator):
        batched: _Batched = BatchedGenerator(net, len(models), template, first.latent_dim)
    else:
        batched = BatchedCritic(net, len(models), template)
    return batched.train(first.training)


@torch.no_grad()
def unstack(batched: BatchedGenerator | BatchedCritic) -> list[nn.Module]:
    """The K networks of ``batched`` as K separate plain modules (class and architecture of the
    sources), each holding its copy's current *effective* weights.

    A spectrally normalised layer is read in eval mode, without another power-iteration step:
    copy k gets ``W_k / sigma_k`` as a plain Linear weight, so the returned modules are not
    parametrised (their outputs equal the batched module's in eval mode). They are new modules
    on ``batched``'s device, in its training mode; changing them does not change ``batched``.
    """
    if not isinstance(batched, _Batched):
        raise TypeError(f"unstack takes a module built by stack, got a {type(batched).__name__}")
    was_training = batched.training
    batched.eval()
    try:
        models = []
        like = next(batched.parameters())  # device and dtype
        for k in range(batched.copies):
            model = copy.deepcopy(batched.template).to(like)
            for plain, layer in zip(model.net, batched.net):
                if isinstance(layer, BatchedLinear):
                    plain.weight.copy_(layer.weight[k])
                    plain.bias.copy_(layer.bias[k, 0])
                elif isinstance(layer, BatchedLayerNorm):
                    plain.weight.copy_(layer.weight[k])
                    plain.bias.copy_(layer.bias[k])
            models.append(model.train(was_training))
        return models
    finally:
        batched.train(was_training)


def apply_batched_spectral_norm(batched: nn.Module, n_power_iterations: int = 1) -> nn.Module:
    """Spectrally normalise every :class:`BatchedLinear` weight in ``batched``, copy by copy
    (:class:`BatchedSpectralNorm`, torch's scheme); layers already normalised are skipped, so a
    second call changes nothing. Fresh u, v vectors come from torch's global generator; as with
    torch's ``spectral_norm``, registering in training mode runs one more power-iteration step.
    (:func:`~gan_tutor.lipschitz.apply_spectral_norm` does not see BatchedLinear layers.)

    Returns:
        the same module, modified in place.
    """
    for layer in list(batched.modules()):
        if isinstance(layer, BatchedLinear) and not parametrize.is_parametrized(layer, "weight"):
            parametrize.register_parametrization(layer, "weight",
                                                 BatchedSpectralNorm(layer.weight, n_power_iterations))
    return batched

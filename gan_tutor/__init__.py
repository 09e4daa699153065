"""gan_tutor: the shared engine of the gan-tutor course.

Import as ``import gan_tutor as gt``. Modules, one concept each: ``runtime`` (device, seeds,
quick mode), ``data``, ``divergences``, ``wasserstein`` (exact W1 with POT), ``models``,
``lipschitz`` (clipping, gradient penalty, spectral norm), ``losses``, ``config`` (what
distinguishes one GAN from another, and the presets), ``training`` (one ``train_gan``, and
``train_seeds`` for several seeds in one run), ``batched`` (K networks as one module),
``metrics``, ``classifier`` (a digit classifier that scores MNIST samples) and ``plotting``.
"""

from .data import (
    Flattened,
    GaussianMixture1D,
    Mixture2D,
    MNISTData,
    ParallelLines,
    SwissRoll,
    Translated,
    grid25,
    load_mnist,
    ring8,
    swissroll,
)
from .divergences import entropy, js, kl, tv
from .lipschitz import (
    CONSTRAINT_KINDS,
    PowerIterationSN,
    apply_spectral_norm,
    clip_weights_,
    conv_operator_norm,
    critic_update,
    critic_update_seconds,
    grad_norms,
    gradient_penalty,
    interpolates,
    layer_sigmas,
    layerwise_bound,
    lipschitz_estimate,
    power_iteration,
)
from .losses import LOSSES, d_loss, g_loss
from .metrics import ModeReport, critic_vs_exact, critic_w1_estimate, mode_metrics
from .models import DCGANCritic, DCGANGenerator, MLPCritic, MLPGenerator, has_batch_norm
from .runtime import budget, flush_denormals, get_device, quick_mode, seed_everything, seed_offset
from .classifier import DigitClassifier, DigitReport, digit_metrics, split_digits, train_digit_classifier
from .config import GANConfig
from .training import (History, SeedRuns, TrainingDiverged, equal_time_steps, step_seconds, train_configs,
                       train_critic, train_gan, train_seeds)
from .wasserstein import (
    exact_w1,
    gaussian_w1_1d,
    kantorovich_potential,
    sliced_w1,
    transport_plan,
    w1_1d,
)
from . import plotting

__version__ = "0.1.0"

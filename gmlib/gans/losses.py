"""Adversarial losses, kept apart from the networks (any discriminator returning logits works).

Every function takes the discriminator's raw outputs (logits, or a critic's scores) and
returns a scalar to *minimise*; the discriminator's D(x) = sigmoid(logit) where it is a
probability. With real logits r and fake logits f = D-logits of G(z):

* minimax (Goodfellow et al. 2014): D minimises -log D(x) - log(1 - D(G(z))) =
  softplus(-r) + softplus(f); G minimises log(1 - D(G(z))) = -softplus(f), whose gradient
  vanishes when D confidently rejects the fakes, early in training;
* non-saturating: G minimises -log D(G(z)) = softplus(-f) instead (same fixed point, strong
  gradients early);
* wasserstein (Arjovsky et al. 2017): a critic maximises E[r] - E[f]; the gradient penalty of
  Gulrajani et al. 2017 keeps it near 1-Lipschitz;
* hinge (Lim & Ye 2017; Miyato et al. 2018): D minimises relu(1 - r) + relu(1 + f), G -f;
* least-squares (Mao et al. 2017), the loss of CycleGAN: D (r - 1)^2 / 2 + f^2 / 2,
  G (f - 1)^2 / 2.

References:
    Goodfellow et al. 2014, https://arxiv.org/abs/1406.2661
    Arjovsky et al. 2017, https://arxiv.org/abs/1701.07875
    Gulrajani et al. 2017, https://arxiv.org/abs/1704.00028
    Mao et al. 2017, https://arxiv.org/abs/1611.04076
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn.functional import relu, softplus

__all__ = ["LOSSES", "AdversarialLoss", "get_loss", "gradient_penalty", "hinge_discriminator",
           "hinge_generator", "least_squares_discriminator", "least_squares_generator",
           "minimax_discriminator", "minimax_generator", "non_saturating_generator",
           "optimal_discriminator", "wasserstein_critic", "wasserstein_generator"]


def minimax_discriminator(real: Tensor, fake: Tensor) -> Tensor:
    """-E[log D(x)] - E[log(1 - D(G(z)))], the binary cross-entropy of real vs fake."""
    return softplus(-real).mean() + softplus(fake).mean()


def minimax_generator(fake: Tensor) -> Tensor:
    """E[log(1 - D(G(z)))]: the generator's side of the original minimax game (saturates)."""
    return -softplus(fake).mean()


def non_saturating_generator(fake: Tensor) -> Tensor:
    """-E[log D(G(z))]: the generator's loss Goodfellow et al. recommend in practice."""
    return softplus(-fake).mean()


def wasserstein_critic(real: Tensor, fake: Tensor) -> Tensor:
    """E[f(G(z))] - E[f(x)]: minus the critic's estimate of the Wasserstein-1 distance."""
    return fake.mean() - real.mean()


def wasserstein_generator(fake: Tensor) -> Tensor:
    """-E[f(G(z))]."""
    return -fake.mean()


def hinge_discriminator(real: Tensor, fake: Tensor) -> Tensor:
    """E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]."""
    return relu(1 - real).mean() + relu(1 + fake).mean()


def hinge_generator(fake: Tensor) -> Tensor:
    """-E[D(G(z))]."""
    return -fake.mean()


def least_squares_discriminator(real: Tensor, fake: Tensor) -> Tensor:
    """E[(D(x) - 1)^2] / 2 + E[D(G(z))^2] / 2 (LSGAN)."""
    return 0.5 * (real - 1).square().mean() + 0.5 * fake.square().mean()


def least_squares_generator(fake: Tensor) -> Tensor:
    """E[(D(G(z)) - 1)^2] / 2."""
    return 0.5 * (fake - 1).square().mean()


@dataclass(frozen=True)
class AdversarialLoss:
    """A pair of losses: `discriminator(real, fake)` and `generator(fake)`, both minimised."""

    name: str
    discriminator: Callable[[Tensor, Tensor], Tensor]
    generator: Callable[[Tensor], Tensor]


LOSSES = {
    "minimax": AdversarialLoss("minimax", minimax_discriminator, minimax_generator),
    "non-saturating": AdversarialLoss("non-saturating", minimax_discriminator,
                                      non_saturating_generator),
    "wasserstein": AdversarialLoss("wasserstein", wasserstein_critic, wasserstein_generator),
    "hinge": AdversarialLoss("hinge", hinge_discriminator, hinge_generator),
    "least-squares": AdversarialLoss("least-squares", least_squares_discriminator,
                                     least_squares_generator),
}


def get_loss(loss: str | AdversarialLoss) -> AdversarialLoss:
    """An `AdversarialLoss` by name (one of `LOSSES`), or the one given."""
    if isinstance(loss, AdversarialLoss):
        return loss
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)} or an AdversarialLoss; got "
                         f"{loss!r}")
    return LOSSES[loss]


def gradient_penalty(critic: Callable[..., Tensor], real: Tensor, fake: Tensor,
                     **kwargs: Tensor) -> Tensor:
    """WGAN-GP's penalty E[(|grad_x f(x_hat)|_2 - 1)^2] at random interpolates.

    x_hat = e x + (1 - e) G(z) with e ~ U[0, 1] per example (Gulrajani et al. 2017, Alg. 1);
    the graph is kept so the penalty trains the critic.

    Shapes:
        real, fake: (B, *event_shape); extra `kwargs` (e.g. a context) go to the critic
    """
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must have the same shape; got {tuple(real.shape)} and "
                         f"{tuple(fake.shape)}")
    e = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), device=real.device,
                   dtype=real.dtype)
    mixed = (e * real.detach() + (1 - e) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed, **kwargs).sum(), mixed, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1).square().mean()


def optimal_discriminator(p_data: Tensor, p_model: Tensor) -> Tensor:
    """D*(x) = p_data(x) / (p_data(x) + p_model(x)), the best response to a fixed generator
    (Goodfellow et al. 2014, Prop. 1); inputs are densities at the same points."""
    total = p_data + p_model
    if bool((p_data < 0).any() or (p_model < 0).any() or (total <= 0).any()):
        raise ValueError("p_data and p_model must be non-negative densities with a positive "
                         "sum at every point")
    return p_data / total

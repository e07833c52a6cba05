"""`CycleGAN`: translation between two image domains learned from unpaired examples.

Two generators, G: A -> B and F: B -> A, each with a discriminator in its target domain. The
adversarial losses make G(a) look like a B and F(b) like an A; the *cycle-consistency* loss
|F(G(a)) - a| + |G(F(b)) - b| forbids mapping every a to the same plausible b, so the content
of the image must survive the round trip (Zhu et al. 2017). The images of the two domains
are never paired: `train_gan` shuffles them independently (`unpaired_data = True`).

References:
    Zhu et al. 2017, Unpaired image-to-image translation using cycle-consistent adversarial
    networks, https://arxiv.org/abs/1703.10593
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain

import torch
from torch import Tensor, nn

from gmlib.gans.losses import AdversarialLoss, get_loss
from gmlib.validation import check_finite, check_nonnegative, check_tensor

__all__ = ["CycleGAN"]

# the paper's images live in [-1, 1]; ours in [0, 16]: divide L1 errors by 8 so that the
# paper's weights (cycle 10, identity 5) keep their meaning
_L1_SCALE = 8.0


class CycleGAN(nn.Module):
    """Two generators and two discriminators trained with adversarial and cycle losses.

    Args:
        a_to_b, b_to_a: image-to-image generators (e.g. `ImageTranslator`).
        discriminator_a, discriminator_b: score images of domain A and B.
        loss: the adversarial loss, least squares by default as in the paper.
        cycle_weight: lambda of the cycle loss (10 in the paper).
        identity_weight: weight of |G(b) - b| + |F(a) - a|, which keeps a generator from
            changing an image that is already in its target domain (0 by default).

    Shapes:
        a: (B, *event_shape) of domain A, b: (B', *event_shape) of domain B
    """

    unpaired_data = True

    def __init__(self, a_to_b: nn.Module, b_to_a: nn.Module, discriminator_a: nn.Module,
                 discriminator_b: nn.Module, *, loss: str | AdversarialLoss = "least-squares",
                 cycle_weight: float = 10.0, identity_weight: float = 0.0) -> None:
        super().__init__()
        self.a_to_b, self.b_to_a = a_to_b, b_to_a
        self.discriminator_a, self.discriminator_b = discriminator_a, discriminator_b
        self.adversarial = get_loss(loss)
        self.cycle_weight = check_nonnegative(cycle_weight, "cycle_weight")
        self.identity_weight = check_nonnegative(identity_weight, "identity_weight")

    def generator_parameters(self) -> Iterator[nn.Parameter]:
        return chain(self.a_to_b.parameters(), self.b_to_a.parameters())

    def discriminator_parameters(self) -> Iterator[nn.Parameter]:
        return chain(self.discriminator_a.parameters(), self.discriminator_b.parameters())

    @staticmethod
    def _check(a: Tensor, b: Tensor) -> None:
        for value, name in ((a, "a"), (b, "b")):
            check_finite(check_tensor(value, name), name)
        if a.shape[1:] != b.shape[1:]:
            raise ValueError(f"a and b must hold images of the same shape; got "
                             f"{tuple(a.shape[1:])} and {tuple(b.shape[1:])}")

    def discriminator_loss(self, a: Tensor, b: Tensor) -> Tensor:
        """Each discriminator separates its real domain from the other generator's output."""
        self._check(a, b)
        fake_b, fake_a = self.a_to_b(a).detach(), self.b_to_a(b).detach()
        d = self.adversarial.discriminator
        return (d(self.discriminator_b(b), self.discriminator_b(fake_b))
                + d(self.discriminator_a(a), self.discriminator_a(fake_a)))

    def generator_loss(self, a: Tensor, b: Tensor) -> Tensor:
        """Adversarial losses of both translations + lambda * cycle (+ identity) L1 losses."""
        self._check(a, b)
        fake_b, fake_a = self.a_to_b(a), self.b_to_a(b)
        g = self.adversarial.generator
        loss = g(self.discriminator_b(fake_b)) + g(self.discriminator_a(fake_a))
        cycle = (self.b_to_a(fake_b) - a).abs().mean() + (self.a_to_b(fake_a) - b).abs().mean()
        loss = loss + self.cycle_weight * cycle / _L1_SCALE
        if self.identity_weight > 0:
            identity = (self.a_to_b(b) - b).abs().mean() + (self.b_to_a(a) - a).abs().mean()
            loss = loss + self.identity_weight * identity / _L1_SCALE
        return loss

    @torch.no_grad()
    def translate(self, x: Tensor, direction: str) -> Tensor:
        """Map a batch across domains: direction "a->b" or "b->a"."""
        if direction not in ("a->b", "b->a"):
            raise ValueError(f"direction must be 'a->b' or 'b->a'; got {direction!r}")
        net = self.a_to_b if direction == "a->b" else self.b_to_a
        device = next(net.parameters()).device
        return net(check_finite(check_tensor(x, "x"), "x").to(device))

    @torch.no_grad()
    def cycle_error(self, a: Tensor, b: Tensor) -> tuple[float, float]:
        """Mean absolute round-trip error per pixel, in grey levels: (A->B->A, B->A->B)."""
        self._check(a, b)
        back_a = self.translate(self.translate(a, "a->b"), "b->a")
        back_b = self.translate(self.translate(b, "b->a"), "a->b")
        return (float((back_a.cpu() - a.cpu()).abs().mean()),
                float((back_b.cpu() - b.cpu()).abs().mean()))

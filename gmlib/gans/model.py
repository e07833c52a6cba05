"""`GAN` and `ConditionalGAN`: a generator, a discriminator and the game between them.

The model computes the two players' losses; `gmlib.gans.train_gan` alternates their steps and
knows nothing else about it. A GAN is an implicit model: `sample(n)` pushes noise through the
generator, and `log_prob` refuses (there is no density to evaluate).

References:
    Goodfellow et al. 2014, Generative adversarial nets, https://arxiv.org/abs/1406.2661
    Mirza & Osindero 2014, Conditional generative adversarial nets,
    https://arxiv.org/abs/1411.1784
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import Tensor, nn

from gmlib.base import ImplicitModel, Support
from gmlib.exceptions import ConditionError
from gmlib.gans.losses import AdversarialLoss, get_loss, gradient_penalty
from gmlib.validation import as_labels, check_int, check_nonnegative

__all__ = ["GAN", "ConditionalGAN"]


class GAN(ImplicitModel):
    """x = G(z), z ~ N(0, I), trained against a discriminator D.

    Args:
        generator: (B, latent_dim) [, context] -> (B, *event_shape).
        discriminator: (B, *event_shape) [, context] -> (B,) scores.
        latent_dim: size of z.
        event_shape: shape of one sample.
        loss: "non-saturating" (default), "minimax", "wasserstein", "hinge", "least-squares",
            or an `AdversarialLoss`.
        gradient_penalty: weight of WGAN-GP's penalty in the discriminator loss (10 in
            Gulrajani et al. 2017); 0 turns it off.
        support: the values a sample takes (real by default; digit generators give [0, 16]).
        pack: PacGAN's packing degree m: the discriminator judges m samples at once,
            concatenated along the first event axis, so a generator that repeats itself is
            easy to spot (Lin et al. 2018). The discriminator's input is then m times wider;
            batch sizes must be multiples of m.

    Shapes:
        sample(n) -> (n, *event_shape)
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, latent_dim: int,
                 event_shape: Sequence[int], *, loss: str | AdversarialLoss = "non-saturating",
                 gradient_penalty: float = 0.0, support: Support | None = None,
                 pack: int = 1) -> None:
        super().__init__(event_shape, Support.real() if support is None else support)
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim = check_int(latent_dim, "latent_dim", minimum=1)
        self.adversarial = get_loss(loss)
        self.gradient_penalty = check_nonnegative(gradient_penalty, "gradient_penalty")
        self.pack = check_int(pack, "pack", minimum=1)

    # the two players, for the trainer's two optimisers
    def generator_parameters(self) -> Iterator[nn.Parameter]:
        return self.generator.parameters()

    def discriminator_parameters(self) -> Iterator[nn.Parameter]:
        return self.discriminator.parameters()

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """z ~ N(0, I), shape (n, latent_dim), on the model's device."""
        return torch.randn(n, self.latent_dim, device=self.device, generator=generator)

    def _context(self, c: Tensor | None) -> Tensor | None:
        """The conditioning vector of labels `c` (none for an unconditional GAN)."""
        self.check_condition(c)
        return None

    def _generate(self, n: int, context: Tensor | None,
                  generator: torch.Generator | None = None) -> Tensor:
        return self.generator(self.sample_latent(n, generator), context)

    def _sample(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        return self._generate(n, None, generator)

    def _packed(self, x: Tensor) -> Tensor:
        """(B, E0, ...) -> (B / m, m * E0, ...): m samples side by side for the discriminator."""
        if self.pack == 1:
            return x
        if len(x) % self.pack:
            raise ValueError(f"the batch size ({len(x)}) must be a multiple of pack={self.pack}")
        return x.reshape(len(x) // self.pack, self.pack * x.shape[1], *x.shape[2:])

    def _discriminate(self, x: Tensor, context: Tensor | None) -> Tensor:
        if self.pack > 1 and context is not None:
            raise ValueError("packing (pack > 1) is for unconditional GANs")
        return self.discriminator(self._packed(x), context)

    def discriminator_loss(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        """The discriminator's loss on a real batch and as many fresh fakes (a scalar)."""
        x = self.validate_input(x)
        context = self._context(c)
        fake = self._generate(len(x), context).detach()
        loss = self.adversarial.discriminator(self._discriminate(x, context),
                                              self._discriminate(fake, context))
        if self.gradient_penalty > 0:
            penalty = gradient_penalty(self.discriminator, self._packed(x), self._packed(fake),
                                       context=context)
            loss = loss + self.gradient_penalty * penalty
        return loss

    def generator_loss(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        """The generator's loss on as many fakes as `x` has examples (a scalar); `c` draws
        the fakes for the real batch's labels."""
        context = self._context(c)
        return self.adversarial.generator(self._discriminate(self._generate(len(x), context),
                                                             context))

    def loss(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        """Refused: a GAN has two losses, one per player; train it with `train_gan`."""
        raise NotImplementedError(
            f"{type(self).__name__} is trained as a two-player game: use "
            "gmlib.gans.train_gan(model, data), which alternates discriminator_loss and "
            "generator_loss steps (gmlib.train.fit minimises a single loss)")


class ConditionalGAN(GAN):
    """A GAN whose generator and discriminator both see the class label as a one-hot vector.

    G(z, c) learns p(x | c); D(x, c) judges whether x is a real example *of class c*. The
    networks must be built with `context_dim=n_classes`. `sample(n, c=...)` takes one label
    for all samples, or (n,) labels; by default labels are drawn uniformly.
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, latent_dim: int,
                 event_shape: Sequence[int], n_classes: int, **kwargs: object) -> None:
        super().__init__(generator, discriminator, latent_dim, event_shape, **kwargs)
        self.n_classes = check_int(n_classes, "n_classes", minimum=2)

    @property
    def is_conditional(self) -> bool:
        return True

    def _context(self, c: Tensor | int | None, n: int | None = None) -> Tensor:
        if c is None:
            raise ConditionError(f"{type(self).__name__} needs labels c of shape (B,) in "
                             f"0..{self.n_classes - 1}")
        labels = as_labels(c, self.n_classes, n, self.device)
        return nn.functional.one_hot(labels, self.n_classes).to(torch.float32)

    def _sample(self, n: int, c: Tensor | int | None = None, *,  # type: ignore[override]
                generator: torch.Generator | None = None) -> Tensor:
        """n samples of class `c` (one label, or (n,) labels); uniform labels by default."""
        if c is None:
            c = torch.randint(self.n_classes, (n,), device=self.device, generator=generator)
        return self._generate(n, self._context(c, n), generator)

"""`InfoGAN`: a GAN whose latent codes are made interpretable by a mutual-information term.

The generator's input is noise z and a code c: one categorical variable (n_categories values)
and a few continuous ones, U(-1, 1). A head Q on the discriminator's features predicts c from
G(z, c); maximising the variational lower bound on the mutual information,
I(c; G(z, c)) >= H(c) + E[log Q(c | G(z, c))], forces the code to control something visible.
With 10 categories on digits, the categorical code tends to pick the digit class, without a
single label (Chen et al. 2016). Here log Q is a categorical log-likelihood for the discrete
code and a unit-variance Gaussian one (a squared error) for the continuous codes.

Q shares the discriminator's body, and, as in the authors' code, the information term enters
*both* players' losses: the discriminator step trains the body and Q to read the code off
fakes the generator made (held fixed), the generator step trains G to make the code readable.
Q is therefore a discriminator parameter; the generator step's gradient on it is discarded.

References:
    Chen et al. 2016, InfoGAN: interpretable representation learning by information maximizing
    generative adversarial nets, https://arxiv.org/abs/1606.03657
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import chain

import torch
from torch import Tensor, nn

from gmlib.gans.model import GAN
from gmlib.nn import MLP
from gmlib.validation import check_int, check_labels, check_nonnegative, check_tensor

__all__ = ["InfoGAN"]


class InfoGAN(GAN):
    """A GAN with latent (z, categorical code, continuous codes) and a Q head on D.

    Args:
        generator: takes the concatenated latent of size noise_dim + n_categories +
            n_continuous (build it with that `latent_dim`).
        discriminator: has `features(x)` and `feature_dim`, as the gmlib networks do.
        noise_dim: size of the incompressible noise z.
        event_shape: shape of one sample.
        n_categories: values of the categorical code.
        n_continuous: number of continuous codes, each U(-1, 1).
        info_weight: lambda, the weight of the information term (1 in Chen et al.).
        q_hidden: width of Q's hidden layer.
        **kwargs: passed to `GAN` (loss, gradient_penalty, support).

    Shapes:
        sample(n, category=None, continuous=None) -> (n, *event_shape)
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, noise_dim: int,
                 event_shape: Sequence[int], *, n_categories: int = 10, n_continuous: int = 2,
                 info_weight: float = 1.0, q_hidden: int = 128, **kwargs: object) -> None:
        self.noise_dim = check_int(noise_dim, "noise_dim", minimum=1)
        n_categories = check_int(n_categories, "n_categories", minimum=2)
        n_continuous = check_int(n_continuous, "n_continuous", minimum=0)
        super().__init__(generator, discriminator, noise_dim + n_categories + n_continuous,
                         event_shape, **kwargs)
        self.n_categories, self.n_continuous = n_categories, n_continuous
        self.info_weight = check_nonnegative(info_weight, "info_weight")
        if not hasattr(discriminator, "features") or not hasattr(discriminator, "feature_dim"):
            raise TypeError("InfoGAN's discriminator must expose features(x) and feature_dim "
                            "(gmlib.gans.MLPDiscriminator and DCGANDiscriminator do)")
        self.q_head = MLP(discriminator.feature_dim, (q_hidden,), n_categories + n_continuous,
                          activation=lambda: nn.LeakyReLU(0.2))

    def discriminator_parameters(self) -> Iterator[nn.Parameter]:
        """D's body and head, and Q on top of the body: the discriminator step trains Q."""
        return chain(self.discriminator.parameters(), self.q_head.parameters())

    def _latent(self, n: int, category: Tensor, continuous: Tensor,
                generator: torch.Generator | None = None) -> Tensor:
        noise = torch.randn(n, self.noise_dim, device=self.device, generator=generator)
        one_hot = nn.functional.one_hot(category, self.n_categories).float()
        return torch.cat([noise, one_hot, continuous], 1)

    def sample_codes(self, n: int, generator: torch.Generator | None = None
                     ) -> tuple[Tensor, Tensor]:
        """Random codes: categories (n,) uniform, continuous (n, n_continuous) U(-1, 1)."""
        like = {"device": self.device, "generator": generator}
        category = torch.randint(self.n_categories, (n,), **like)
        return category, 2 * torch.rand(n, self.n_continuous, **like) - 1

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return self._latent(n, *self.sample_codes(n, generator), generator)

    def _sample(self, n: int, *, category: Tensor | int | None = None,
                continuous: Tensor | None = None,
                generator: torch.Generator | None = None) -> Tensor:
        """Samples with the given codes: `category` (one, or (n,)) and `continuous`
        (n, n_continuous); codes not given are drawn."""
        drawn_category, drawn_continuous = self.sample_codes(n, generator)
        chosen, values = category, continuous
        category, continuous = drawn_category, drawn_continuous
        if chosen is not None:
            if isinstance(chosen, int) and not isinstance(chosen, bool):
                chosen = torch.full((n,), chosen, device=self.device)
            category = check_labels(check_tensor(chosen, "category"), self.n_categories, n,
                                    "category").to(self.device)
        if values is not None:
            check_tensor(values, "continuous")
            if values.shape != (n, self.n_continuous):
                raise ValueError(f"continuous must have shape ({n}, {self.n_continuous}); got "
                                 f"{tuple(values.shape)}")
            continuous = values.to(self.device, torch.float32)
        return self.generator(self._latent(n, category, continuous, generator), None)

    def q_predict(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Q's prediction of the code of x: category logits (B, K), continuous means (B, C)."""
        out = self.q_head(self.discriminator.features(x))
        return out[:, :self.n_categories], out[:, self.n_categories:]

    @torch.no_grad()
    def infer_category(self, x: Tensor) -> Tensor:
        """The most probable categorical code of each image (a clustering of real data)."""
        return self.q_predict(self.validate_input(x).to(self.device))[0].argmax(1)

    def information_loss(self, n: int, *, fixed_generator: bool = False) -> Tensor:
        """-E[log Q(c | G(z, c))] up to constants: the cross-entropy of the categorical code
        plus half the squared error of the continuous ones (a scalar). With
        `fixed_generator` the fakes are detached (the discriminator step)."""
        category, continuous = self.sample_codes(n)
        fake = self.generator(self._latent(n, category, continuous), None)
        logits, means = self.q_predict(fake.detach() if fixed_generator else fake)
        loss = nn.functional.cross_entropy(logits, category)
        if self.n_continuous:
            loss = loss + 0.5 * (means - continuous).square().sum(1).mean()
        return loss

    def discriminator_loss(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        """The adversarial loss plus lambda times the information loss on fixed fakes (it
        trains Q and the body they share)."""
        information = self.information_loss(len(x), fixed_generator=True)
        return super().discriminator_loss(x, c) + self.info_weight * information

    def generator_loss(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        """The adversarial loss plus lambda times the information loss."""
        return super().generator_loss(x, c) + self.info_weight * self.information_loss(len(x))

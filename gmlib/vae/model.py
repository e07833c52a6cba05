"""The variational autoencoder (Kingma & Welling 2014; Rezende et al. 2014) and its
conditional form (Sohn et al. 2015).

For an encoder q(z | x), a decoder p(x | z) and a prior p(z),

    log p(x) >= E_q[log p(x | z)] - KL(q(z | x) || p(z))                       (ELBO)
    log p(x) >= E[log (1/k) sum_j p(x, z_j) / q(z_j | x)],  z_j ~ q(z | x)     (IWAE, Burda)

The ELBO is the EM bound of lecture 03 with q restricted to the encoder's family: the gap is
KL(q(z | x) || p(z | x)). The expectation over a Gaussian q is estimated with the
reparameterised sample z = mu + sigma * eps, so gradients flow through it; a q with finite
support (a categorical code) is summed exactly instead. The KL is analytic when torch knows
it for the pair (Gaussian q, Gaussian prior) and a one-sample Monte Carlo estimate otherwise
(mixture priors).

References:
    Kingma, Welling (2014), Auto-Encoding Variational Bayes, https://arxiv.org/abs/1312.6114
    Rezende, Mohamed, Wierstra (2014), Stochastic Backpropagation and Approximate Inference
        in Deep Generative Models, https://arxiv.org/abs/1401.4082
    Burda, Grosse, Salakhutdinov (2016), Importance Weighted Autoencoders,
        https://arxiv.org/abs/1509.00519
    Higgins et al. (2017), beta-VAE, https://openreview.net/forum?id=Sy2fzU9gl
    Bowman et al. (2016), Generating Sentences from a Continuous Space (KL warm-up),
        https://arxiv.org/abs/1511.06349
    Sohn, Lee, Yan (2015), Learning Structured Output Representation using Deep Conditional
        Generative Models, NeurIPS
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import Distribution, kl_divergence

from gmlib.base import LatentVariableModel
from gmlib.draws import seeded_by
from gmlib.exceptions import ConditionError
from gmlib.vae.decoders import Decoder, expected_value
from gmlib.vae.encoders import Encoder
from gmlib.vae.priors import StandardNormalPrior, VampPrior
from gmlib.validation import as_labels, check_int, check_nonnegative, check_positive_int

__all__ = ["VAE", "ConditionalVAE"]

# values of log w held at once by iwae_bound: k * B is split into chunks below this
_IWAE_CHUNK = 2 ** 14


class VAE(LatentVariableModel):
    """A latent-variable model p(x) = ∫ p(x | z) p(z) dz trained by its ELBO.

    Args:
        encoder: q(z | x), e.g. `GaussianEncoder` (or `CategoricalEncoder`).
        decoder: p(x | z), e.g. `CategoricalDecoder`; it fixes the event shape and support.
        prior: p(z); N(0, I) by default.
        beta: weight of the KL term in `loss` (beta-VAE, Higgins et al. 2017); 1 is the ELBO.
        warmup_steps: the KL weight grows linearly from 0 to `beta` over this many training
            steps (Bowman et al. 2016), which keeps the latent code in use early on.
        train_k: when > 1, `loss` is minus the importance-weighted bound with this many
            samples (the IWAE of Burda et al. 2016) instead of minus the ELBO.

    Shapes:
        x: (B, *event_shape) -> elbo, iwae_bound, loss: (B,); sample(n): (n, *event_shape)
    """

    n_classes: int | None = None

    def __init__(self, encoder: Encoder, decoder: Decoder, prior: nn.Module | None = None, *,
                 beta: float = 1.0, warmup_steps: int = 0, train_k: int = 1) -> None:
        super().__init__(decoder.event_shape, decoder.support)
        check_nonnegative(beta, "beta")
        check_int(warmup_steps, "warmup_steps", 0)
        check_positive_int(train_k, "train_k")
        if train_k > 1 and (beta != 1.0 or warmup_steps):
            raise ValueError("train_k > 1 trains on the importance-weighted bound, which has no "
                             f"KL weight; use beta=1 and warmup_steps=0 (got beta={beta}, "
                             f"warmup_steps={warmup_steps})")
        self.encoder, self.decoder = encoder, decoder
        self.prior = StandardNormalPrior(encoder.latent_dim) if prior is None else prior
        self.beta, self.warmup_steps, self.train_k = float(beta), warmup_steps, train_k
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))

    @property
    def latent_dim(self) -> int:
        return self.encoder.latent_dim

    # ------------------------------------------------------------ the three distributions

    @property
    def is_conditional(self) -> bool:
        return self.n_classes is not None

    def _context(self, c: Tensor | int | None, n: int) -> Tensor | None:
        self.check_condition(c)
        return None

    def encode(self, x: Tensor, c: Tensor | None = None) -> Distribution:
        """q(z | x) (and c), batch shape (B,)."""
        x = self.validate_input(x)
        return self.encoder(x, self._context(c, len(x)))

    def decode(self, z: Tensor, c: Tensor | int | None = None) -> Distribution:
        """p(x | z) (and c), batch shape z.shape[:-1].

        Shapes:
            z: (..., B, latent_dim)
        """
        if not isinstance(z, Tensor) or z.dim() < 2 or z.shape[-1] != self.latent_dim:
            got = tuple(z.shape) if isinstance(z, Tensor) else type(z).__name__
            raise ValueError(f"z must be a tensor of shape (..., B, {self.latent_dim}); got {got}")
        return self.decoder(z, self._context(c, z.shape[-2]))

    def reconstruct(self, x: Tensor, c: Tensor | None = None, *, sample: bool = False) -> Tensor:
        """Decode the posterior mean of each x: the mean of p(x | z = E_q[z]), or a draw.

        Shapes:
            x: (B, *event_shape) -> (B, *event_shape)
        """
        with torch.no_grad():
            q = self.encode(x, c)
            p = self.decode(q.mean, c)
            return p.sample() if sample else expected_value(p)

    # ------------------------------------------------------------ bounds

    def _kl(self, q: Distribution, prior: Distribution, z: Tensor | None) -> Tensor:
        """KL(q || p) per example: analytic when torch knows the pair, else log q(z) - log p(z)
        at the given sample."""
        try:
            return kl_divergence(q, prior)
        except NotImplementedError:
            if z is None:
                raise
            return q.log_prob(z) - prior.log_prob(z)

    def _terms(self, x: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        """(E_q[log p(x | z)], KL(q || p)) per example, for a validated batch."""
        q, prior = self.encoder(x, context), self.prior()
        if q.has_rsample:
            z = q.rsample()  # z = mu + sigma * eps: differentiable in mu and sigma
            return self.decoder(z, context).log_prob(x), self._kl(q, prior, z)
        if q.has_enumerate_support:
            codes = q.enumerate_support()  # (S, B, L): every value of z, exact expectation
            weights = q.log_prob(codes).exp()  # (S, B)
            reconstruction = (weights * self.decoder(codes, context).log_prob(x)).sum(0)
            try:
                kl = kl_divergence(q, prior)
            except NotImplementedError:
                kl = (weights * (q.log_prob(codes) - prior.log_prob(codes))).sum(0)
            return reconstruction, kl
        raise TypeError(f"the encoder's {type(q).__name__} has neither rsample nor a finite "
                        "support; the ELBO needs one of them")

    def elbo_terms(self, x: Tensor, c: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """The two terms of the ELBO per example: E_q[log p(x | z)] (minus the distortion)
        and KL(q(z | x) || p(z)) (the rate), both (B,)."""
        x = self.validate_input(x)
        return self._terms(x, self._context(c, len(x)))

    def _elbo(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        reconstruction, kl = self._terms(x, self._context(c, len(x)))
        return reconstruction - kl

    def _iwae_bound(self, x: Tensor, k: int, c: Tensor | None = None) -> Tensor:
        context = self._context(c, len(x))
        q, prior = self.encoder(x, context), self.prior()
        chunk = max(1, _IWAE_CHUNK // len(x))
        pieces = []
        for start in range(0, k, chunk):
            size = min(chunk, k - start)
            z = q.rsample((size,)) if q.has_rsample else q.sample((size,))  # (size, B, L)
            log_w = self.decoder(z, context).log_prob(x) + prior.log_prob(z) - q.log_prob(z)
            pieces.append(torch.logsumexp(log_w, dim=0))  # (B,)
        return torch.logsumexp(torch.stack(pieces), dim=0) - math.log(k)

    # ------------------------------------------------------------ training and sampling

    def kl_weight(self) -> float:
        """The KL weight `loss` uses now: beta, ramped up during the warm-up steps."""
        if self.training and self.warmup_steps:
            return self.beta * min(1.0, (int(self.steps) + 1) / self.warmup_steps)
        return self.beta

    def loss(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        """Per-example training loss: -(E_q[log p(x|z)] - beta_t KL), or minus the IWAE bound
        with `train_k` samples. Each call in training mode counts one warm-up step."""
        x = self.validate_input(x)
        if len(x) == 0:
            return self._empty_result(x)
        if self.train_k > 1:
            value = -self._iwae_bound(x, self.train_k, c)
        else:
            reconstruction, kl = self._terms(x, self._context(c, len(x)))
            value = -(reconstruction - self.kl_weight() * kl)
        if self.training:
            self.steps += 1
        return value

    def _sample(self, n: int, c: Tensor | int | None = None, *, mean: bool = False,
                generator: torch.Generator | None = None) -> Tensor:
        """z ~ p(z), then x ~ p(x | z); with `mean=True` the decoder's mean instead of a draw
        (smoother pictures, but not samples of the model)."""
        with seeded_by(generator, self.device):
            z = self.prior().sample((n,))
            p = self.decoder(z, self._context(c, n))
            return expected_value(p) if mean else p.sample().to(z.dtype)

    @torch.no_grad()
    def active_units(self, x: Tensor, threshold: float = 0.01,
                     c: Tensor | None = None) -> Tensor:
        """Which latent dimensions the model uses: Cov_x(E_q[z_j | x]) > threshold (Burda et
        al. 2016, section 5.2). A collapsed dimension has q(z_j | x) = p(z_j) for every x.

        Shapes:
            x: (B, *event_shape) -> (latent_dim,) booleans
        """
        means = self.encode(x, c).mean
        return means.var(dim=0) > threshold


class ConditionalVAE(VAE):
    """p(x | c) = ∫ p(x | z, c) p(z) dz for class labels c (Sohn et al. 2015).

    The encoder sees [x, onehot(c)] and the decoder [z, onehot(c)], so their nets take
    `n_classes` extra inputs. Every method takes the labels as `c=`; `sample(n, c=3)` draws
    n images of class 3, `sample(n, c=labels)` one per label.
    """

    def __init__(self, encoder: Encoder, decoder: Decoder, n_classes: int,
                 prior: nn.Module | None = None, **kwargs: float | int) -> None:
        check_int(n_classes, "n_classes", 2)
        if isinstance(prior, VampPrior):
            raise ValueError("a VampPrior encodes pseudo-inputs without labels; use it with "
                             "VAE, or give ConditionalVAE a prior that does not need c")
        super().__init__(encoder, decoder, prior, **kwargs)  # type: ignore[arg-type]
        self.n_classes = n_classes

    def _context(self, c: Tensor | int | None, n: int) -> Tensor:
        if c is None:
            raise ConditionError("ConditionalVAE needs the labels: pass c= (ints "
                            f"0..{self.n_classes - 1})")
        return F.one_hot(as_labels(c, self.n_classes, n, self.device), self.n_classes).float()

"""`GaussianDiffusion`: the denoising diffusion probabilistic model (DDPM) and its DDIM sampler.

The forward process adds Gaussian noise in T steps, q(x_t | x_0) = N(sqrt(a_t) x_0,
(1 - a_t) I) with a_t = alpha_bar_t; the reverse process p(x_{t-1} | x_t) is a Gaussian whose
mean comes from a denoiser's guess of x_0. Training regresses the noise (Ho et al. 2020);
the variational bound sums one KL per step, and a decoder turns x_1 into grey levels so the
bound is a bound on the discrete likelihood of the data.

Two parameterisations of the denoiser:

* `"eps"`: the network predicts the noise eps, x0_hat = (x_t - sqrt(1 - a_t) eps_hat) / sqrt(a_t);
  the decoder is DDPM's discretised Gaussian N(x0_hat, beta_1) over the level bins.
* `"levels"`: for data on K grey levels, the network gives per-pixel logits over the levels
  and x0_hat is the mean of the categorical posterior. The logits add the exact Gaussian
  log-likelihood of each level given the pixel's own noisy value, so near t = 0 the prediction
  snaps to the right level without the network having to learn it, the error that dominates
  the bound of an eps-network on discrete data. The decoder is that categorical.

Either way `loss` is the noise-prediction error (eps_hat follows from x0_hat), and the model
never depends on the network's architecture: any `denoiser(x_t, t, c)` with t in (0, 1] works.

References:
    Sohl-Dickstein et al. 2015, Deep unsupervised learning using nonequilibrium
    thermodynamics, https://arxiv.org/abs/1503.03585
    Ho et al. 2020, Denoising diffusion probabilistic models, https://arxiv.org/abs/2006.11239
    Song et al. 2021, Denoising diffusion implicit models, https://arxiv.org/abs/2010.02502
    Ho & Salimans 2022, Classifier-free diffusion guidance, https://arxiv.org/abs/2207.12598
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from gmlib.base import GenerativeModel, Support
from gmlib.data.digits import levels_to_signed, signed_to_levels
from gmlib.densities import LOG_2PI
from gmlib.diffusion.labels import as_labels, check_p_uncond, drop_labels
from gmlib.diffusion.likelihood import discretized_gaussian_log_likelihood, normal_kl
from gmlib.diffusion.schedules import NoiseSchedule, make_schedule
from gmlib.validation import check_int, check_nonnegative, check_tensor

__all__ = ["DiffusionStep", "ElboTerms", "GaussianDiffusion"]

PREDICTIONS = ("eps", "levels")
VARIANCES = ("posterior", "beta")
WEIGHTINGS = ("simple", "elbo")


@dataclass
class ElboTerms:
    """The negative bound, term by term, in nats per example: prior KL(q(x_T|x_0) || N(0, I)),
    the T - 1 denoising KLs (column t - 2 is step t = 2..T) and the decoder's -log p(x_0|x_1).
    """

    prior: Tensor
    diffusion: Tensor
    decoder: Tensor

    def total(self) -> Tensor:
        """-ELBO per example, shape (B,)."""
        return self.prior + self.diffusion.sum(-1) + self.decoder


@dataclass
class DiffusionStep:
    """One state of a reverse chain: the step t, the noisy x_t and the denoiser's x0_hat."""

    t: int
    x_t: Tensor
    x0_hat: Tensor


class GaussianDiffusion(GenerativeModel):
    """DDPM with a DDIM sampler, a variational bound and classifier-free guidance.

    Args:
        denoiser: `net(x_t, t, c)` with t (B,) in (0, 1]; it returns the noise (B, *event) for
            prediction "eps", or logits (B, event[0] * n_levels, *event[1:]) for "levels".
        event_shape: shape of one example, e.g. (1, 8, 8).
        schedule: "linear", "cosine", "log-snr" or a `NoiseSchedule`.
        timesteps: T.
        prediction: "eps" or "levels" (see the module docstring).
        n_levels: data on grey levels 0..n_levels-1 (scaled to [-1, 1] inside); None for
            real-valued data used as they are.
        variance: the reverse step's variance, "posterior" (beta_tilde_t, the optimum for a
            single data point) or "beta" (beta_t); Ho et al. found both sample alike.
        loss_weighting: "simple" (plain noise error, Ho et al.'s L_simple) or "elbo" (a
            one-step unbiased estimate of the negative bound).
        n_classes: number of labels for a class-conditional model (None: unconditional).
        p_uncond: the share of training labels dropped to "no label", so one network learns
            both the conditional and the unconditional model (guidance needs both).

    Shapes:
        loss(x) -> (B,); elbo(x) -> (B,); sample(n) -> (n, *event_shape)
    """

    def __init__(self, denoiser: nn.Module, event_shape: Sequence[int], *,
                 schedule: str | NoiseSchedule = "linear", timesteps: int = 1000,
                 prediction: str = "eps", n_levels: int | None = None,
                 variance: str = "posterior", loss_weighting: str = "simple",
                 n_classes: int | None = None, p_uncond: float = 0.1) -> None:
        support = Support.real() if n_levels is None else Support.levels(n_levels)
        super().__init__(event_shape, support)
        for name, value, options in (("prediction", prediction, PREDICTIONS),
                                     ("variance", variance, VARIANCES),
                                     ("loss_weighting", loss_weighting, WEIGHTINGS)):
            if value not in options:
                raise ValueError(f"{name} must be one of {options}; got {value!r}")
        if prediction == "levels" and n_levels is None:
            raise ValueError("prediction='levels' needs n_levels, the number of grey levels")
        self.denoiser = denoiser
        self.schedule = make_schedule(schedule, timesteps)
        self.prediction, self.variance, self.loss_weighting = prediction, variance, loss_weighting
        self.n_levels = None if n_levels is None else check_int(n_levels, "n_levels", minimum=2)
        self.n_classes = None if n_classes is None else check_int(n_classes, "n_classes", 1)
        self.p_uncond = check_p_uncond(p_uncond)
        # follows .double() / .to(dtype), so samples come out in the model's working dtype
        self.register_buffer("dtype_anchor", torch.zeros(()), persistent=False)
        if self.n_levels is not None:
            self.register_buffer("level_values", torch.linspace(-1, 1, self.n_levels))


    @property
    def is_conditional(self) -> bool:
        return self.n_classes is not None
    @property
    def timesteps(self) -> int:
        return self.schedule.timesteps

    # ---- data <-> diffusion space --------------------------------------------------------
    def to_model_space(self, x: Tensor) -> Tensor:
        """Grey levels 0..K-1 -> [-1, 1] (real-valued data are used as they are)."""
        return levels_to_signed(x, self.n_levels)

    def to_data_space(self, x: Tensor) -> Tensor:
        """[-1, 1] -> the nearest grey level 0..K-1 (real-valued data: unchanged)."""
        return signed_to_levels(x, self.n_levels)

    # ---- the forward process -------------------------------------------------------------
    def _check_t(self, t: Tensor, batch: int) -> Tensor:
        t = check_tensor(t, "t")
        if t.shape != (batch,) or t.is_floating_point():
            raise ValueError(f"t must be an integer tensor of shape ({batch},); got "
                             f"{t.dtype} of shape {tuple(t.shape)}")
        if bool(((t < 1) | (t > self.timesteps)).any()):
            raise ValueError(f"t must hold steps 1..{self.timesteps}")
        return t

    def q_sample(self, x0: Tensor, t: Tensor, noise: Tensor | None = None) -> Tensor:
        """x_t = sqrt(a_t) x0 + sqrt(1 - a_t) noise, a draw of q(x_t | x_0) (model space).

        Shapes:
            x0: (B, *event), t: (B,) ints 1..T -> (B, *event)
        """
        t = self._check_t(t, x0.shape[0])
        noise = torch.randn_like(x0) if noise is None else noise
        a = self.schedule.gather("alphas_cumprod", t, x0)
        return a.sqrt() * x0 + (1 - a).sqrt() * noise

    def q_posterior(self, x0: Tensor, x_t: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        """Mean and variance of q(x_{t-1} | x_t, x_0) (Bayes' rule on two Gaussians):
        mean = sqrt(a_{t-1}) beta_t / (1 - a_t) x0 + sqrt(alpha_t) (1 - a_{t-1}) / (1 - a_t) x_t,
        variance = beta_tilde_t.

        Shapes:
            x0, x_t: (B, *event), t: (B,) -> mean (B, *event), variance (B, 1, ...)
        """
        t = self._check_t(t, x0.shape[0])
        s = self.schedule
        a, a_prev = s.gather("alphas_cumprod", t, x0), s.gather("alphas_cumprod_prev", t, x0)
        beta, alpha = s.gather("betas", t, x0), s.gather("alphas", t, x0)
        mean = (a_prev.sqrt() * beta * x0 + alpha.sqrt() * (1 - a_prev) * x_t) / (1 - a)
        return mean, s.gather("posterior_variance", t, x0)

    # ---- the denoiser ----------------------------------------------------------------------
    def _network(self, x_t: Tensor, t: Tensor, c: Tensor | None) -> Tensor:
        return self.denoiser(x_t, t.to(x_t.dtype) / self.timesteps, c)

    def _level_logits(self, out: Tensor, x_t: Tensor, t: Tensor) -> Tensor:
        """Per-pixel logits over the levels (B, *event, K): the network's plus the exact
        log N(x_t; sqrt(a_t) v_k, 1 - a_t) of each level value v_k."""
        k = self.n_levels
        logits = out.view(out.shape[0], self.event_shape[0], k, *self.event_shape[1:])
        logits = logits.movedim(2, -1)
        a = self.schedule.gather("alphas_cumprod", t, x_t)[..., None]
        levels = self.level_values.to(x_t.dtype)
        return logits - (x_t[..., None] - a.sqrt() * levels) ** 2 / (2 * (1 - a))

    def predict(self, x_t: Tensor, t: Tensor, c: Tensor | int | None = None, *,
                guidance: float = 0.0) -> tuple[Tensor, Tensor]:
        """The denoiser's noise and clean-data predictions (eps_hat, x0_hat), model space.

        With labels and `guidance` w > 0, eps_hat = (1 + w) eps(x_t, c) - w eps(x_t, no label)
        (classifier-free guidance); x0_hat follows from it.

        Shapes:
            x_t: (B, *event), t: (B,) ints 1..T -> two (B, *event)
        """
        t = self._check_t(t, x_t.shape[0])
        labels = as_labels(c, self.n_classes, x_t.shape[0], x_t.device)
        eps, x0 = self._predict(x_t, t, labels)
        if guidance and labels is not None:
            eps_free, _ = self._predict(x_t, t, None)
            a = self.schedule.gather("alphas_cumprod", t, x_t)
            eps = (1 + guidance) * eps - guidance * eps_free
            x0 = (x_t - (1 - a).sqrt() * eps) / a.sqrt()
        return eps, x0

    def _predict(self, x_t: Tensor, t: Tensor, c: Tensor | None) -> tuple[Tensor, Tensor]:
        out = self._network(x_t, t, c)
        a = self.schedule.gather("alphas_cumprod", t, x_t)
        if self.prediction == "eps":
            return out, (x_t - (1 - a).sqrt() * out) / a.sqrt()
        probs = self._level_logits(out, x_t, t).softmax(-1)
        x0 = probs @ self.level_values.to(x_t.dtype)
        return (x_t - a.sqrt() * x0) / (1 - a).sqrt(), x0

    def score(self, x_t: Tensor, t: Tensor, c: Tensor | int | None = None) -> Tensor:
        """The score the denoiser implies, grad log q(x_t) ~ -eps_hat / sqrt(1 - a_t)
        (Vincent 2011; Song et al. 2021), the link to lecture 10's score models."""
        eps, _ = self.predict(x_t, t, c)
        a = self.schedule.gather("alphas_cumprod", t, x_t)
        return -eps / (1 - a).sqrt()

    # ---- training ----------------------------------------------------------------------------
    def loss(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        """Noise-prediction loss per example at a random step t ~ U{1..T}: the summed
        ||eps - eps_hat||^2 ("simple"), or the one-step estimate of the negative bound
        T * L_{t-1} + L_T ("elbo"). Labels are dropped with probability p_uncond."""
        x0 = self.to_model_space(self.validate_input(x))
        labels = as_labels(c, self.n_classes, x0.shape[0], x0.device)
        labels = drop_labels(labels, self.n_classes, self.p_uncond)
        t = torch.randint(1, self.timesteps + 1, (x0.shape[0],), device=x0.device)
        noise = torch.randn_like(x0)
        x_t = self.q_sample(x0, t, noise)
        if self.loss_weighting == "simple":
            eps, _ = self._predict(x_t, t, labels)
            return (noise - eps).pow(2).flatten(1).sum(-1)
        return self.timesteps * self._step_term(x0, x_t, t, labels) + self._prior_term(x0)

    # ---- the variational bound ---------------------------------------------------------------
    def _prior_term(self, x0: Tensor) -> Tensor:
        last = torch.full((x0.shape[0],), self.timesteps, device=x0.device)
        a = self.schedule.gather("alphas_cumprod", last, x0)
        return normal_kl(a.sqrt() * x0, 1 - a, torch.zeros_like(x0),
                         torch.ones_like(a)).flatten(1).sum(-1)

    def _reverse_variance(self, t: Tensor, like: Tensor) -> Tensor:
        name = "posterior_variance" if self.variance == "posterior" else "betas"
        return self.schedule.gather(name, t, like)

    def _decoder_nll(self, x0: Tensor, x_1: Tensor, labels: Tensor | None) -> Tensor:
        one = torch.ones(x0.shape[0], dtype=torch.long, device=x0.device)
        if self.prediction == "levels":
            logits = self._level_logits(self._network(x_1, one, labels), x_1, one)
            index = signed_to_levels(x0, self.n_levels).long()
            log_p = logits.log_softmax(-1).gather(-1, index[..., None])[..., 0]
            return -log_p.flatten(1).sum(-1)
        _, x0_hat = self._predict(x_1, one, labels)
        std = self.schedule.gather("betas", one, x0).sqrt()
        if self.n_levels is not None:
            log_p = discretized_gaussian_log_likelihood(x0, x0_hat, std, self.n_levels)
        else:
            log_p = -0.5 * (((x0 - x0_hat) / std) ** 2 + LOG_2PI) - std.log()
        return -log_p.flatten(1).sum(-1)

    def _step_term(self, x0: Tensor, x_t: Tensor, t: Tensor, labels: Tensor | None) -> Tensor:
        """L_{t-1} per example: KL(q(x_{t-1}|x_t,x_0) || p(x_{t-1}|x_t)) for t >= 2 and the
        decoder's -log p(x_0 | x_1) for t = 1."""
        _, x0_hat = self._predict(x_t, t, labels)
        mean_q, var_q = self.q_posterior(x0, x_t, t)
        mean_p, _ = self.q_posterior(x0_hat, x_t, t)
        var_p = self._reverse_variance(t, x0)
        # at t = 1 the posterior variance is 0: the KL is replaced by the decoder below
        safe_var_q = torch.where(t.view_as(var_q) > 1, var_q, torch.ones_like(var_q))
        kl = normal_kl(mean_q, safe_var_q, mean_p, var_p.clamp_min(1e-20)).flatten(1).sum(-1)
        first = t == 1
        if bool(first.any()):
            decoder = self._decoder_nll(x0, x_t, labels)
            kl = torch.where(first, decoder, kl)
        return kl

    def elbo_terms(self, x: Tensor, c: Tensor | int | None = None) -> ElboTerms:
        """Every term of the negative bound, one noise draw per step and example (T network
        calls on the batch). The sum is an unbiased estimate of -ELBO in nats, and for data
        on grey levels it bounds -log P(x) of the discrete data."""
        x0 = self.to_model_space(self.validate_input(x))
        labels = as_labels(c, self.n_classes, x0.shape[0], x0.device)
        batch = x0.shape[0]
        steps = []
        for step in range(1, self.timesteps + 1):
            t = torch.full((batch,), step, dtype=torch.long, device=x0.device)
            x_t = self.q_sample(x0, t)
            steps.append(self._step_term(x0, x_t, t, labels))
        return ElboTerms(prior=self._prior_term(x0), diffusion=torch.stack(steps[1:], -1),
                         decoder=steps[0])

    def elbo(self, x: Tensor, c: Tensor | int | None = None) -> Tensor:
        """The variational lower bound on log p(x) per example, in nats (see `elbo_terms`).

        Shapes:
            x: (B, *event_shape) -> (B,)
        """
        with torch.no_grad():
            return -self.elbo_terms(x, c).total()

    def log_prob(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        """Refuses: a diffusion model gives a bound on log p(x), not log p(x) itself."""
        raise NotImplementedError(
            "a diffusion model has no tractable log p(x); elbo(x) is a lower bound on it "
            "(an exact likelihood needs the probability-flow ODE)")

    # ---- sampling -------------------------------------------------------------------------------
    def timestep_sequence(self, steps: int | None) -> list[int]:
        """The steps a sampler visits, T first: all of them, or `steps` evenly spaced ones."""
        if steps is None:
            return list(range(self.timesteps, 0, -1))
        check_int(steps, "steps", minimum=1)
        if steps > self.timesteps:
            raise ValueError(f"steps must be at most T = {self.timesteps}; got {steps}")
        grid = torch.linspace(self.timesteps, 1, steps).round().long().tolist()
        return list(dict.fromkeys(grid))

    def sample_chain(self, n: int, c: Tensor | int | None = None, *, steps: int | None = None,
                     eta: float | None = None, guidance: float = 0.0,
                     generator: torch.Generator | None = None) -> Iterator[DiffusionStep]:
        """Run the reverse process from x_T ~ N(0, I), yielding every state.

        `steps=None` with `eta=None` is DDPM's ancestral sampler (all T steps, variance from
        `variance`). Otherwise it is DDIM (Song et al. 2021) over `steps` evenly spaced steps
        (all T when None) with noise scale `eta` (0: deterministic; 1 with all steps and the
        posterior variance is DDPM again).
        """
        device = self.device
        shape = (n, *self.event_shape)
        dtype = self.dtype_anchor.dtype
        x = torch.randn(shape, generator=generator, device=device, dtype=dtype)
        labels = as_labels(c, self.n_classes, n, device)
        ddim = eta is not None or steps is not None
        eta = 0.0 if eta is None else check_nonnegative(eta, "eta")
        sequence = self.timestep_sequence(steps)
        for i, step in enumerate(sequence):
            t = torch.full((n,), step, dtype=torch.long, device=device)
            eps, x0, a = self.sampling_prediction(x, t, labels, guidance=guidance)
            yield DiffusionStep(step, x, x0)
            following = sequence[i + 1] if i + 1 < len(sequence) else 0
            if following == 0:
                x = x0
                break
            noise = torch.randn(shape, generator=generator, device=device, dtype=dtype)
            if ddim:
                a_next = self.schedule.gather(
                    "alphas_cumprod", torch.full_like(t, following), x)
                x = self.ddim_update(x0, eps, a, a_next, eta, noise)
            else:
                mean, _ = self.q_posterior(x0, x, t)
                x = mean + self._reverse_variance(t, x).sqrt() * noise
        yield DiffusionStep(0, x, x)

    def sampling_prediction(self, x: Tensor, t: Tensor, c: Tensor | int | None = None, *,
                            guidance: float = 0.0) -> tuple[Tensor, Tensor, Tensor]:
        """`predict` as the samplers use it: for data on levels x0_hat is clamped to the data's
        range [-1, 1] (Ho et al. 2020) and eps_hat recomputed from it. Returns
        (eps_hat, x0_hat, alpha_bar_t), the last broadcastable to x."""
        eps, x0 = self.predict(x, t, c, guidance=guidance)
        a = self.schedule.gather("alphas_cumprod", t, x)
        if self.n_levels is not None:
            x0 = x0.clamp(-1, 1)
            eps = (x - a.sqrt() * x0) / (1 - a).sqrt()
        return eps, x0, a

    @staticmethod
    def ddim_update(x0: Tensor, eps: Tensor, a: Tensor, a_next: Tensor, eta: float,
                    noise: Tensor) -> Tensor:
        """One DDIM step from x_t to an earlier x_s (Song et al. 2021, eq. 12), given the
        predictions and alpha_bar at both steps: sqrt(a_s) x0 + sqrt(1 - a_s - sigma^2) eps +
        sigma noise, sigma = eta sqrt((1 - a_s) / (1 - a_t) (1 - a_t / a_s)); eta = 1 with
        s = t - 1 is DDPM's step with the posterior variance."""
        sigma = eta * ((1 - a_next) / (1 - a) * (1 - a / a_next)).sqrt()
        return (a_next.sqrt() * x0 + (1 - a_next - sigma ** 2).clamp_min(0).sqrt() * eps
                + sigma * noise)

    def _sample(self, n: int, c: Tensor | int | None = None, *, steps: int | None = None,
                eta: float | None = None, guidance: float = 0.0,
                generator: torch.Generator | None = None) -> Tensor:
        """Samples in data space: the last state of `sample_chain`, rounded to the nearest
        grey level for data on levels (the decoder's most likely value)."""
        *_, last = self.sample_chain(n, c, steps=steps, eta=eta, guidance=guidance,
                                     generator=generator)
        return self.to_data_space(last.x_t)

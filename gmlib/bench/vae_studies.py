"""Lecture 07's studies: KL warm-up, the prior, the pixel likelihood; three seeds each.

Every arm trains the same VAE recipe (16 latents, MLPs of 256 units, dropout 0.1, Adam at
1e-3 for at most 50 epochs with early stopping on the validation digits) and changes one
thing: the KL warm-up (over the first 200 steps, a quarter of the run), the KL weight (beta),
the prior, or the pixel likelihood. Arms that share every setting share their runs.
"""

from __future__ import annotations

import math
from functools import cache

import torch
from torch import nn

from gmlib.bench.studies import Study, register_study
from gmlib.data import DIGITS_LEVELS, digits
from gmlib.train import fit
from gmlib.utils import seed_everything
from gmlib.vae import build_vae

__all__ = ["aggregate_kl_split"]

WARMUP_STEPS = 200  # 200 of the 800 steps of 50 epochs of 16 mini-batches
IWAE_SAMPLES = 100


def aggregate_kl_split(model: nn.Module, x: torch.Tensor, *,
                       samples: int = 10) -> tuple[float, float]:
    """(I(x; z), KL(q(z) || p(z))): the data-averaged KL term split in two (Hoffman &
    Johnson 2016), with q(z) = (1/N) sum_n q(z | x_n) evaluated exactly at z ~ q(z | x_n).

    Shapes:
        x: (N, ...) the data whose codes define q(z)
    """
    with torch.no_grad():
        q = model.encode(x)  # N Gaussians
        gaps = []
        for _ in range(samples):  # one z per point at a time: (N, N) log-densities
            z = q.sample()  # (N, d)
            log_q = torch.logsumexp(q.log_prob(z[:, None, :]), -1) - math.log(len(x))
            gaps.append(log_q - model.prior().log_prob(z))
        mismatch = float(torch.stack(gaps).mean())
        mean_kl = float(torch.stack([model.elbo_terms(x)[1] for _ in range(samples)]).mean())
    return mean_kl - mismatch, mismatch


@cache
def _trained(likelihood: str, prior: str, warmup: bool, beta: float, seed: int) -> nn.Module:
    """One training run of the common recipe (cached: arms that agree share it)."""
    seed_everything(seed)
    options = {"prior": prior} if prior == "normal" else {"prior": prior, "n_components": 10}
    model = build_vae((1, 8, 8), likelihood=likelihood, n_levels=DIGITS_LEVELS, latent_dim=16,
                      dropout=0.1, beta=beta, warmup_steps=WARMUP_STEPS if warmup else 0,
                      **options)
    fit(model, digits("train"), val_data=digits("val"), epochs=50, lr=1e-3, batch_size=64,
        patience=15, device="cpu", seed=seed, progress=False)
    return model.eval()


def _metrics(model: nn.Module, seed: int, *, split_kl: bool = False) -> dict[str, float]:
    """The measurements of one run; reseeded, so a run shared by two arms measures the same."""
    seed_everything(seed)
    train, test = digits("train"), digits("test")
    with torch.no_grad():
        metrics = {
            "test_neg_elbo": float(-torch.stack([model.elbo(test) for _ in range(10)]).mean()),
            "train_neg_elbo": float(-torch.stack([model.elbo(train)
                                                  for _ in range(10)]).mean()),
            "test_nll_bound": float(-model.iwae_bound(test, IWAE_SAMPLES).mean()),
            "active_units": float(model.active_units(test).sum()),
        }
    if split_kl:
        metrics["information"], metrics["mismatch"] = aggregate_kl_split(model, train)
    return metrics


def _warmup(arm: str, seed: int) -> dict[str, float]:
    warmup, beta = {"warm-up": (True, 1.0), "no warm-up": (False, 1.0),
                    "beta = 2": (True, 2.0)}[arm]
    return _metrics(_trained("logistic", "normal", warmup, beta, seed), seed)


def _prior(arm: str, seed: int) -> dict[str, float]:
    prior = {"N(0, I)": "normal", "mixture of 10": "mog", "VampPrior": "vamp"}[arm]
    return _metrics(_trained("logistic", prior, True, 1.0, seed), seed, split_kl=True)


def _likelihood(arm: str, seed: int) -> dict[str, float]:
    likelihood = {"discretised logistic": "logistic", "categorical": "categorical"}[arm]
    return _metrics(_trained(likelihood, "normal", True, 1.0, seed), seed)


register_study(Study(
    name="vae-warmup", lecture="07",
    question="does KL warm-up keep more latent units alive, and what does beta = 2 cost?",
    arms=("warm-up", "no warm-up", "beta = 2"), run=_warmup))
register_study(Study(
    name="vae-prior", lecture="07",
    question="does a learned prior close the gap between the aggregate posterior and the "
             "prior, and improve the bound?",
    arms=("N(0, I)", "mixture of 10", "VampPrior"), run=_prior))
register_study(Study(
    name="vae-likelihood", lecture="07",
    question="discretised logistic or 17-way categorical pixels, the rest equal?",
    arms=("discretised logistic", "categorical"), run=_likelihood))

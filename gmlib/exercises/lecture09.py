"""Checks for the exercises of lecture 09 (generative adversarial networks)."""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.nn.functional import softplus

from gmlib.exercises.answers import expect_tensor
from gmlib.exercises.core import Incorrect, exercise
from gmlib.metrics import frechet_distance

F64 = torch.float64


def _gen() -> torch.Generator:
    return torch.Generator().manual_seed(0)


def _scalar(got: object, what: str) -> float:
    if isinstance(got, Tensor) and got.numel() == 1:
        return float(got.detach())
    if isinstance(got, int | float) and not isinstance(got, bool):
        return float(got)
    raise Incorrect(f"return {what} as a single number (a 0-d tensor or a float); got "
                    f"{type(got).__name__}"
                    + (f" of shape {tuple(got.shape)}" if isinstance(got, Tensor) else ""))


@exercise("09.1", "The optimal discriminator")
def _optimal_discriminator(answer: object) -> str:
    p_data = torch.rand(30, generator=_gen(), dtype=F64) + 0.01
    p_model = torch.rand(30, generator=_gen().manual_seed(1), dtype=F64) + 0.01
    got = expect_tensor(answer(p_data, p_model), (30,), "(n,)")
    want = p_data / (p_data + p_model)
    if torch.allclose(got, want, atol=1e-10):
        return ("D*(x) = p_data / (p_data + p_model): the posterior probability that x is "
                "real when real and fake examples are equally likely a priori.")
    if torch.allclose(got, 1 - want, atol=1e-10):
        raise Incorrect("that is the probability that x is *fake*; D outputs the probability "
                        "of real")
    if torch.allclose(got, p_data / p_model, atol=1e-10):
        raise Incorrect("p_data / p_model is a density ratio, not a probability: divide by "
                        "the sum instead")
    raise Incorrect("maximise p_data log D + p_model log(1 - D) pointwise in D")


def _minimax_d(real: Tensor, fake: Tensor) -> Tensor:
    return softplus(-real).mean() + softplus(fake).mean()


@exercise("09.2", "The discriminator loss from logits")
def _discriminator_loss(answer: object) -> str:
    real = torch.randn(64, generator=_gen(), dtype=F64) * 3
    fake = torch.randn(64, generator=_gen().manual_seed(1), dtype=F64) * 3 - 1
    want = float(_minimax_d(real, fake))
    got = _scalar(answer(real, fake), "the mean loss")
    if abs(got - want) < 1e-8:
        # a confidently wrong discriminator: the loss is 1600, but sigmoid(-800) = 0 in float64
        extreme = _scalar(answer(torch.tensor([-800.0], dtype=F64),
                                 torch.tensor([800.0], dtype=F64)), "the mean loss")
        if not abs(extreme - 1600.0) < 1e-6:
            raise Incorrect(f"right for moderate logits, but logits of -+800 give {extreme}: "
                            "log(sigmoid(l)) underflows; write it with softplus, "
                            "-log sigmoid(l) = softplus(-l)")
        return ("-E[log D(x)] - E[log(1 - D(G(z)))] = mean softplus(-real) + mean "
                "softplus(fake): binary cross-entropy with 'real' as the positive class.")
    if abs(got - float(_minimax_d(fake, real))) < 1e-8:
        raise Incorrect("real and fake are swapped: the real logits should be pushed up "
                        "(softplus(-real)), the fake ones down (softplus(fake))")
    if abs(got - float(softplus(-real).sum() + softplus(fake).sum())) < 1e-6:
        raise Incorrect("average over the batch instead of summing")
    if abs(got + want) < 1e-8:
        raise Incorrect("the sign is flipped: the discriminator *minimises* the "
                        "cross-entropy (it maximises V)")
    raise Incorrect("the loss is -E[log sigmoid(real)] - E[log(1 - sigmoid(fake))]")


@exercise("09.3", "The non-saturating generator loss")
def _generator_loss(answer: object) -> str:
    fake = torch.randn(64, generator=_gen(), dtype=F64) * 3
    got = _scalar(answer(fake), "the mean loss")
    want = float(softplus(-fake).mean())
    if abs(got - want) < 1e-8:
        return ("-E[log D(G(z))] = mean softplus(-fake): its gradient is largest where D "
                "rejects the fakes, exactly when the minimax loss saturates.")
    if abs(got + float(softplus(fake).mean())) < 1e-8:
        raise Incorrect("that is the minimax generator loss E[log(1 - D(G(z)))], which "
                        "saturates: the exercise asks for -E[log D(G(z))]")
    if abs(got - float(softplus(fake).mean())) < 1e-8:
        raise Incorrect("softplus(fake) = -log(1 - D): the generator wants D(G(z)) -> 1, so "
                        "minimise -log D = softplus(-fake)")
    raise Incorrect("the loss is -E[log sigmoid(fake)]")


@exercise("09.4", "The Frechet distance")
def _frechet(answer: object) -> str:
    gen = _gen()
    a = torch.randn(400, 3, generator=gen, dtype=F64) @ torch.randn(3, 3, generator=gen,
                                                                    dtype=F64)
    b = torch.randn(300, 3, generator=gen, dtype=F64) * 0.7 + 0.4
    fits = []
    for f in (a, b):
        centred = f - f.mean(0)
        fits += [f.mean(0), centred.T @ centred / (len(f) - 1)]
    got = _scalar(answer(*fits), "the squared distance")
    want = frechet_distance(a, b)
    if abs(got - want) < 1e-6 * max(1.0, want):
        return ("|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2): the FDD "
                "of gmlib.metrics is this formula on classifier features.")
    elementwise = (fits[0] - fits[2]).square().sum() + torch.trace(
        fits[1] + fits[3] - 2 * (fits[1] * fits[3]).abs().sqrt())
    if abs(got - float(elementwise)) < 1e-6 * max(1.0, want):
        raise Incorrect("the square root of S_a S_b is a *matrix* square root, not an "
                        "elementwise one: use an eigendecomposition")
    means_only = float((fits[0] - fits[2]).square().sum())
    if abs(got - means_only) < 1e-8:
        raise Incorrect("the covariance term is missing: two Gaussians with the same mean can "
                        "still be far apart")
    raise Incorrect("d^2 = |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a^1/2 S_b "
                    "S_a^1/2)^1/2)")


def _critic_network() -> torch.nn.Module:
    """The critic the checker hands over: a 1 -> 64 -> 64 -> 1 LeakyReLU MLP, seeded."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Linear(1, 64), torch.nn.LeakyReLU(0.2),
                                   torch.nn.Linear(64, 64), torch.nn.LeakyReLU(0.2),
                                   torch.nn.Linear(64, 1))


def _slope_at_interpolates(critic: torch.nn.Module, real: Tensor, fake: Tensor) -> float:
    """The mean |f'(x)| of the trained critic on points between the two samples."""
    e = torch.rand(len(real), 1, generator=_gen())
    mixed = (e * real + (1 - e) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed)
    return float(grad.abs().mean())


@exercise("09.7", "A Wasserstein critic with a gradient penalty")
def _wasserstein_critic(answer: object) -> str:
    gen = _gen()
    real = torch.randn(1000, 1, generator=gen)
    fake = 2.5 + 0.5 * torch.randn(1000, 1, generator=gen)
    # in one dimension W1 is the mean distance between the sorted samples (the
    # monotone coupling is optimal)
    exact = float((real.sort(0).values - fake.sort(0).values).abs().mean())
    # first a few steps without the penalty: the adversarial term alone must raise the
    # estimate. (The full run cannot show a wrong sign: with weight 10 the penalty holds the
    # critic's slope at +-1 in whichever direction it starts, a local optimum.)
    probe = _critic_network()
    with torch.no_grad():
        before = float(probe(real).mean() - probe(fake).mean())
    with torch.random.fork_rng():
        torch.manual_seed(0)
        after = _scalar(answer(probe, real, fake, steps=5, weight=0.0),
                        "the estimate E f(real) - E f(fake)")
    if after < before:
        raise Incorrect(f"five steps without the penalty lowered E f(real) - E f(fake) "
                        f"from {before:.3f} to {after:.3f}: the critic maximises it, so its "
                        "loss is E f(fake) - E f(real) + weight * penalty")
    critic = _critic_network()
    with torch.random.fork_rng():
        torch.manual_seed(0)
        got = _scalar(answer(critic, real, fake), "the estimate E f(real) - E f(fake)")
    if not math.isfinite(got):
        raise Incorrect(f"the estimate is {got}: check the loss and the step size")
    slope = _slope_at_interpolates(critic, real, fake)
    if got > 1.15 * exact:
        raise Incorrect(f"the estimate {got:.3g} exceeds W1 = {exact:.3f} and the critic's "
                        f"slope between the samples is {slope:.3g}, not about 1: the penalty "
                        "does not hold it 1-Lipschitz. Is the penalty in the loss, and is "
                        "the gradient taken with create_graph=True so that the penalty's "
                        "own gradient reaches the critic's weights?")
    if slope < 0.5:
        raise Incorrect(f"the critic is nearly flat (slope {slope:.3f}) and the estimate "
                        f"{got:.3f} is far below W1 = {exact:.3f}: either the penalty pulls "
                        "the gradient norm to 0 (penalise (|grad| - 1)^2, not |grad|^2) or "
                        "the critic has barely trained (take a few hundred Adam steps)")
    if got < 0.85 * exact:
        raise Incorrect(f"the estimate {got:.3f} is well below W1 = {exact:.3f}: train the "
                        "critic longer or with a larger step (300 Adam steps at 1e-2 on the "
                        "full samples suffice), and evaluate on all the points")
    return (f"E f(real) - E f(fake) = {got:.3f} against the exact W1 = {exact:.3f} (sorted "
            f"samples), with a slope of {slope:.2f} between the samples: the penalty holds "
            "the critic near 1-Lipschitz only where it is evaluated, so the estimate can sit "
            "a little above W1.")

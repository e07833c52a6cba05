"""Checks for the exercises of lecture 13 (conditional generative models)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from gmlib.exercises.answers import expect_tensor
from gmlib.exercises.core import Incorrect, exercise

F64 = torch.float64


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@exercise("13.1", "Thumbnails")
def _thumbnail(answer: object) -> str:
    x = torch.randint(17, (5, 1, 8, 6), generator=_gen()).to(F64)
    got = expect_tensor(answer(x), (5, 1, 4, 3), "(B, 1, H/2, W/2)")
    want = F.avg_pool2d(x, 2)
    if torch.allclose(got, want, atol=1e-12):
        return ("each output pixel is the mean of one 2x2 block: the reshape to "
                "(B, 1, H/2, 2, W/2, 2) puts each block's four pixels on two axes.")
    if torch.allclose(got, x[..., ::2, ::2], atol=1e-12):
        raise Incorrect("that keeps one pixel of each block; average all four")
    if torch.allclose(got, 4 * want, atol=1e-12):
        raise Incorrect("that is the block sum: divide by 4 for the mean")
    raise Incorrect("reshape to (B, 1, H/2, 2, W/2, 2) and average over the two block axes "
                    "(mind the order: reshaping a row-major image keeps rows together)")


@exercise("13.2", "A generative classifier")
def _posterior(answer: object) -> str:
    log_lik = torch.randn(6, 10, generator=_gen(), dtype=F64) * 5 - 800
    log_prior = torch.log_softmax(torch.randn(10, generator=_gen(1), dtype=F64), 0)
    got = expect_tensor(answer(log_lik, log_prior), (6, 10), "(B, C)")
    want = torch.softmax(log_lik + log_prior, 1)
    if torch.allclose(got, want, atol=1e-10):
        return ("p(c | x) = softmax_c(log p(x | c) + log p(c)): Bayes' rule, normalised "
                "over the classes; softmax subtracts the maximum, so e^-800 never underflows.")
    if torch.allclose(got, torch.softmax(log_lik, 1), atol=1e-10):
        raise Incorrect("the prior is missing: add log p(c) before normalising")
    if not torch.isfinite(got).all():
        raise Incorrect("exp(-800) underflows to 0: normalise in log space "
                        "(torch.softmax or logsumexp)")
    if torch.allclose(got, torch.softmax(log_lik + log_prior, 0), atol=1e-10):
        raise Incorrect("normalise over the classes (dim 1), not over the examples")
    raise Incorrect("p(c | x) is proportional to p(x | c) p(c); normalise over c")


@exercise("13.3", "One replacement step")
def _replace(answer: object) -> str:
    x_prev = torch.randn(4, 1, 8, 8, generator=_gen(), dtype=F64)
    x0 = torch.rand(4, 1, 8, 8, generator=_gen(1), dtype=F64) * 2 - 1
    noise = torch.randn(4, 1, 8, 8, generator=_gen(2), dtype=F64)
    mask = (torch.rand(4, 1, 8, 8, generator=_gen(3)) < 0.5).to(F64)
    a = 0.36
    got = expect_tensor(answer(x_prev, x0, mask, a, noise), (4, 1, 8, 8), "like x_prev")
    known = math.sqrt(a) * x0 + math.sqrt(1 - a) * noise
    want = mask * known + (1 - mask) * x_prev
    if torch.allclose(got, want, atol=1e-10):
        return ("observed pixels are re-noised to the current level from the clean image, "
                "the rest is the model's: both halves then sit at the same noise level.")
    if torch.allclose(got, mask * x0 + (1 - mask) * x_prev, atol=1e-10):
        raise Incorrect("x_{t-1} is noisy: put the observed pixels at the same noise level "
                        "with sqrt(alpha_bar) x0 + sqrt(1 - alpha_bar) noise")
    if torch.allclose(got, (1 - mask) * known + mask * x_prev, atol=1e-10):
        raise Incorrect("the mask is 1 where the pixel is observed: take the forward sample "
                        "there")
    raise Incorrect("mask * (sqrt(a) x0 + sqrt(1 - a) noise) + (1 - mask) * x_prev")


def _point_mass(s: torch.Tensor, a: torch.Tensor, generator: object = None) -> torch.Tensor:
    return s + 0.15 * a.clamp(-1, 1)


@exercise("13.5", "A planner with the cross-entropy method")
def _cem(answer: object) -> str:
    from gmlib.planning import SwampCrossing

    world = SwampCrossing()
    start = world.start_states(4)
    plan = answer(_point_mass, world.reward, start, torch.zeros(4, 10, 2), population=64,
                  elites=8, iterations=3, generator=_gen())
    if isinstance(plan, torch.Tensor) and plan.shape == (4, 2):
        raise Incorrect("return the whole refined mean plan, (B, H, 2): the caller executes "
                        "its first action and shifts the rest to start the next step's search")
    plan = expect_tensor(plan, (4, 10, 2), "(B, H, 2)")
    if bool((plan.abs() > 1 + 1e-6).any()):
        raise Incorrect("actions must lie in [-1, 1]: clip the candidates before rolling "
                        "them out (then the elites' mean stays inside)")
    if float(plan[:, 0, 0].mean()) < -0.3:
        raise Incorrect("the plan walks away from the goal: keep the candidates with the "
                        "*largest* summed reward (topk, not the smallest)")
    if float(plan[:, 0, 0].mean()) < 0.6:
        raise Incorrect("on a free plane the first action should point at the goal (about "
                        "(1, 0)); check that the elites are refitted in every iteration and "
                        "that each candidate's reward is summed along its own rollout")
    # model-predictive control in the swamp: act, shift the plan, plan again
    gen, state, plan = _gen(1), start, torch.zeros(4, 15, 2)
    for _ in range(25):
        plan = answer(world.step, world.reward, state, plan, population=100, elites=10,
                      iterations=3, generator=gen)
        state = world.step(state, plan[:, 0], gen)
        plan = torch.cat([plan[:, 1:], torch.zeros(4, 1, 2)], 1)
    final = float((state - torch.tensor(world.goal)).norm(dim=1).mean())
    if final > 0.3:  # planners that wade through the swamp end about 1 from the goal
        raise Incorrect(f"in the swamp the agents end {final:.2f} from the goal on average "
                        "(they waded in instead of walking round): start the search from the "
                        "given mean plan, roll the candidates out with step() from each "
                        "state in s (repeat_interleave keeps each state's candidates "
                        "together) and sum the reward over the whole horizon")
    return ("the planner walks round the swamp: CEM concentrates its Gaussian on the action "
            "sequences the dynamics say reach the goal fastest, the shifted plan carries "
            "that search from one step to the next, and re-planning corrects for the noise.")

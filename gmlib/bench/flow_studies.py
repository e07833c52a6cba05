"""Lecture 08's study: uniform against variational dequantisation, three seeds.

Both arms train the lecture's multi-scale RealNVP (2 scales, 3 couplings per scale, residual
conv conditioners, dropout 0.2, Adam at 2e-3 for 8 epochs) and differ only in q(u | x). Each
trained flow is scored twice: under its own q, and under uniform noise. Both are upper
bounds on the flow's -log P(x) with different proposals, so their difference does not split
the gain into "a tighter bound" and "a better flow"; lecture 08 explains why.
"""

from __future__ import annotations

import torch

from gmlib.bench.studies import Study, register_study
from gmlib.data import DIGITS_LEVELS, digits
from gmlib.flows import DequantizedFlow, RealNVP, VariationalDequantizer
from gmlib.train import fit
from gmlib.utils import seed_everything

__all__ = ["DIGIT_FLOW_EPOCHS", "digit_flow", "digit_model"]

DIGIT_FLOW_EPOCHS = 8
IWAE_SAMPLES = 16


def digit_flow() -> RealNVP:
    """Lecture 08's RealNVP for the 17-level digits (its first layer is Logit(17))."""
    return RealNVP((1, 8, 8), n_layers=3, n_scales=2, hidden=32, n_blocks=1, dropout=0.2,
                   logit_bound=DIGITS_LEVELS)


def digit_model(arm: str) -> DequantizedFlow:
    """The dequantised flow of an arm, "uniform" or "variational", built in one fixed order
    (flow, then noise model), so a seed gives the same initial weights everywhere."""
    if arm not in ("uniform", "variational"):
        raise ValueError(f"arm must be 'uniform' or 'variational'; got {arm!r}")
    flow = digit_flow()
    dequantizer = (VariationalDequantizer((1, 8, 8), DIGITS_LEVELS, hidden=32)
                   if arm == "variational" else None)
    return DequantizedFlow(flow, DIGITS_LEVELS, dequantizer=dequantizer)


def _bounds(model: DequantizedFlow, test: torch.Tensor, prefix: str) -> dict[str, float]:
    with torch.no_grad():
        elbo = torch.stack([model.elbo(test) for _ in range(4)]).mean(0)
        iwae = model.iwae_bound(test, IWAE_SAMPLES)
    return {f"{prefix}_neg_elbo": float(-elbo.mean()), f"{prefix}_neg_iwae": float(-iwae.mean())}


def _train(arm: str, seed: int) -> DequantizedFlow:
    seed_everything(seed)
    model = digit_model(arm)
    train = digits("train")
    model.initialize(train[:512])
    fit(model, train, val_data=digits("val"), epochs=DIGIT_FLOW_EPOCHS, lr=2e-3,
        batch_size=64, device="cpu", seed=seed, progress=False)
    return model.eval()


def _score(arm: str, model: DequantizedFlow) -> dict[str, float]:
    # called right after seed_everything(seed): the same noise draws for every arm
    test = digits("test")
    metrics = _bounds(model, test, "own_q")
    uniform = DequantizedFlow(model.flow, DIGITS_LEVELS).eval()  # the same flow, q uniform
    metrics.update(_bounds(uniform, test, "uniform_q"))
    return metrics


register_study(Study(
    name="flow-dequantisation", lecture="08",
    question="uniform or variational dequantisation of the same RealNVP: the bounds under "
             "each model's own noise and under uniform noise",
    arms=("uniform", "variational"), train=_train, score=_score, build=digit_model))

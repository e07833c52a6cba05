"""Each checker of lecture 09 recognises the typical mistakes and says what is wrong."""

import pytest
import torch
from torch.nn.functional import softplus

from gmlib.exercises import check


def _verdict(exercise_id, answer):
    return check(exercise_id, answer, quiet=True)


def _sqrtm(m):
    values, vectors = torch.linalg.eigh(m)
    return (vectors * values.clamp_min(0).sqrt()) @ vectors.T


def test_optimal_discriminator():
    assert _verdict("09.1", lambda p, q: p / (p + q)).passed
    for answer, hint in [(lambda p, q: q / (p + q), "*fake*"), (lambda p, q: p / q, "ratio"),
                         (lambda p, q: p, "pointwise"), (lambda p, q: p.sum(), "shape (n,)")]:
        verdict = _verdict("09.1", answer)
        assert verdict.status == "incorrect" and hint in verdict.message


def test_discriminator_loss():
    assert _verdict("09.2", lambda r, f: softplus(-r).mean() + softplus(f).mean()).passed

    def naive(r, f):
        return -torch.log(torch.sigmoid(r)).mean() - torch.log(1 - torch.sigmoid(f)).mean()

    for answer, hint in [
        (naive, "underflows"),
        (lambda r, f: softplus(-f).mean() + softplus(r).mean(), "swapped"),
        (lambda r, f: softplus(-r).sum() + softplus(f).sum(), "average"),
        (lambda r, f: -(softplus(-r).mean() + softplus(f).mean()), "sign is flipped"),
        (lambda r, f: softplus(-r), "single number"),
    ]:
        verdict = _verdict("09.2", answer)
        assert verdict.status == "incorrect" and hint in verdict.message


def test_generator_loss():
    assert _verdict("09.3", lambda f: softplus(-f).mean()).passed
    for answer, hint in [(lambda f: -softplus(f).mean(), "saturates"),
                         (lambda f: softplus(f).mean(), "D(G(z)) -> 1"),
                         (lambda f: f.mean(), "sigmoid")]:
        verdict = _verdict("09.3", answer)
        assert verdict.status == "incorrect" and hint in verdict.message


def test_frechet_distance():
    def right(ma, sa, mb, sb):
        root = _sqrtm(sa)
        cross = _sqrtm(root @ sb @ root)
        return (ma - mb).square().sum() + torch.trace(sa + sb - 2 * cross)

    assert _verdict("09.4", right).passed
    for answer, hint in [
        (lambda ma, sa, mb, sb: (ma - mb).square().sum()
         + torch.trace(sa + sb - 2 * (sa * sb).abs().sqrt()), "*matrix* square root"),
        (lambda ma, sa, mb, sb: (ma - mb).square().sum(), "covariance term is missing"),
        (lambda ma, sa, mb, sb: (ma - mb).abs().sum(), "d^2 ="),
    ]:
        verdict = _verdict("09.4", answer)
        assert verdict.status == "incorrect" and hint in verdict.message


def _critic_answer(*, create_graph=True, penalty="one", use_weight=True, sign=1.0,
                   train_steps=None):
    """A WGAN-GP critic loop, right by default; each keyword plants one usual mistake."""
    def answer(critic, real, fake, *, steps=300, weight=10.0):
        steps = steps if train_steps is None else train_steps
        weight = weight if use_weight else 0.0
        opt = torch.optim.Adam(critic.parameters(), lr=1e-2, betas=(0.5, 0.9))
        for _ in range(steps):
            e = torch.rand(len(real), 1)
            mixed = (e * real + (1 - e) * fake).requires_grad_(True)
            (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed,
                                          create_graph=create_graph)
            norm = grad.norm(dim=1)
            gp = (norm - 1).square().mean() if penalty == "one" else norm.square().mean()
            loss = sign * (critic(fake).mean() - critic(real).mean()) + weight * gp
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            return critic(real).mean() - critic(fake).mean()
    return answer


@pytest.mark.slow
def test_wasserstein_critic():
    assert _verdict("09.7", _critic_answer()).passed
    for answer, hint in [
        (_critic_answer(create_graph=False), "create_graph=True"),
        (_critic_answer(use_weight=False), "1-Lipschitz"),
        (_critic_answer(penalty="zero"), "(|grad| - 1)^2"),
        (_critic_answer(sign=-1.0), "lowered"),
        (_critic_answer(train_steps=1), "longer"),
        (lambda critic, real, fake, **options: torch.zeros(2), "single number"),
    ]:
        verdict = _verdict("09.7", answer)
        assert verdict.status == "incorrect" and hint in verdict.message, verdict.message

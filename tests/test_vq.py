"""Vector quantisation, the VQ-VAE and the two-stage model's bound.

The two-stage model is checked where its likelihood can be enumerated: on 2x2 binary images
with one token of 3 codes (p(x) sums 3 terms; all 16 images sum to 1) and on 4x4 images with
4 tokens of 2 codes (16 token grids), where the bound must lie below the exact log p(x).
"""

from __future__ import annotations

import itertools

import pytest
import torch

from gmlib.autoregressive import CausalTransformer
from gmlib.vq import VQVAE, TwoStageModel, VectorQuantizer, perplexity


def test_quantize_picks_the_nearest_code(seed):
    vq = VectorQuantizer(10, 4)
    z = torch.randn(3, 7, 4)
    expected = torch.cdist(z.reshape(-1, 4), vq.codebook.detach()).argmin(-1).view(3, 7)
    assert torch.equal(vq.quantize(z), expected)
    assert torch.equal(vq.lookup(expected), vq.codebook.detach()[expected])


def test_the_straight_through_gradient_is_the_identity(seed):
    vq = VectorQuantizer(10, 4).eval()
    z = torch.randn(2, 5, 4, requires_grad=True)
    weights = torch.randn(2, 5, 4)
    out = vq(z)
    (out.z_q * weights).sum().backward()
    assert torch.equal(z.grad, weights)  # d z_q / d z_e = I: the arg-min is skipped
    assert torch.allclose(out.z_q, vq.codebook[out.indices])


def test_the_losses_reach_the_right_parameters(seed):
    vq = VectorQuantizer(6, 3, ema_decay=None, restart_after=None).eval()
    z = torch.randn(4, 5, 3, requires_grad=True)
    out = vq(z)
    out.codebook_loss.sum().backward()
    assert z.grad is None and vq.codebook.grad.abs().sum() > 0
    vq.codebook.grad = None
    out = vq(z)
    out.commitment_loss.sum().backward()
    assert vq.codebook.grad is None and z.grad.abs().sum() > 0
    expected = (z - vq.codebook[out.indices]).pow(2).flatten(1).sum(-1)
    assert torch.allclose(out.commitment_loss, expected)


def test_ema_updates_move_each_code_to_the_mean_of_its_vectors(seed):
    vq = VectorQuantizer(2, 2, ema_decay=0.5, restart_after=None)
    with torch.no_grad():
        vq.codebook.copy_(torch.tensor([[0.0, 0.0], [10.0, 10.0]]))
        vq.ema_sum.copy_(vq.codebook)
    z = torch.tensor([[[1.0, 1.0], [3.0, 1.0], [9.0, 9.0], [11.0, 9.0]]])
    for _ in range(60):
        out = vq(z)
    assert torch.equal(out.indices, torch.tensor([[0, 0, 1, 1]]))
    assert torch.allclose(vq.codebook, torch.tensor([[2.0, 1.0], [10.0, 9.0]]), atol=1e-4)
    assert (out.codebook_loss == 0).all()  # EMA replaces the codebook loss


def test_no_update_in_eval_mode(seed):
    vq = VectorQuantizer(4, 2).eval()
    before = vq.codebook.detach().clone()
    vq(torch.randn(3, 5, 2) + 5)
    assert torch.equal(vq.codebook, before)


def test_dead_codes_are_restarted_at_encoder_outputs(seed):
    vq = VectorQuantizer(4, 2, ema_decay=0.9, restart_after=2.0)
    with torch.no_grad():
        vq.codebook.copy_(torch.tensor([[0.0, 0.0], [100.0, 100.0], [0.1, 0.0], [0.0, 0.1]]))
        vq.ema_sum.copy_(vq.codebook)
    z = torch.randn(8, 16, 2) * 0.1
    for _ in range(200):  # the usage of the far code decays below 1/(2K) first
        vq(z)
    assert int(vq.restarts) >= 1
    assert vq.codebook.detach().norm(dim=-1).max() < 10  # code 1 came back to the data


def test_perplexity_counts_codes_in_use():
    assert perplexity(torch.arange(8).repeat(5), 8) == pytest.approx(8.0)
    assert perplexity(torch.zeros(20, dtype=torch.long), 8) == pytest.approx(1.0)
    for bad in (torch.tensor([0, 8]), torch.tensor([0.5]), torch.tensor([], dtype=torch.long)):
        with pytest.raises(ValueError, match=r"integers in 0..7"):
            perplexity(bad, 8)


def test_quantizer_misuse_is_refused():
    vq = VectorQuantizer(4, 3)
    with pytest.raises(ValueError, match="code dimension 3"):
        vq.quantize(torch.randn(2, 4))
    with pytest.raises(ValueError, match=r"integers in 0..3"):
        vq.lookup(torch.tensor([4]))
    with pytest.raises(ValueError, match="ema_decay"):
        VectorQuantizer(4, 3, ema_decay=1.5)
    with pytest.raises(ValueError, match="restart_after"):
        VectorQuantizer(4, 3, restart_after=0)
    with pytest.raises(ValueError, match="n_codes"):
        VectorQuantizer(1, 3)


def test_vqvae_shapes_and_loss_decomposition(seed):
    model = VQVAE((1, 8, 8), 17, n_codes=8, code_dim=4, hidden=8)
    x = torch.randint(0, 17, (5, 1, 8, 8)).float()
    tokens = model.encode(x)
    assert tokens.shape == (5, 16) and model.n_tokens == 16
    assert model.decoder_logits(tokens).shape == (5, 1, 8, 8, 17)
    assert model.decode(tokens).shape == (5, 1, 8, 8)
    assert model.decode(tokens, mode=False).max() <= 16
    model.eval()
    _, out = model.quantize(x)
    reconstruction = -model.log_likelihood(x, out.indices)
    expected = reconstruction + out.codebook_loss + model.beta * out.commitment_loss
    assert torch.allclose(model.loss(x), expected, atol=1e-5)


def test_vqvae_misuse_is_refused():
    with pytest.raises(ValueError, match="divisible by 2\\^n_down"):
        VQVAE((1, 6, 6), 17, n_down=2)
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        VQVAE((64,), 17)
    model = VQVAE((1, 8, 8), 17, n_codes=8, code_dim=4, hidden=8)
    with pytest.raises(ValueError, match="shape"):
        model.loss(torch.zeros(2, 64))
    with pytest.raises(ValueError, match="levels|0..16"):
        model.loss(torch.full((2, 1, 8, 8), 17.0))
    with pytest.raises(ValueError, match=r"tokens must have shape \(B, 16\)"):
        model.decode(torch.zeros(2, 15, dtype=torch.long))


def _two_stage(shape: tuple[int, int, int], levels: int, n_codes: int) -> TwoStageModel:
    vqvae = VQVAE(shape, levels, n_codes=n_codes, code_dim=2, hidden=4)
    prior = CausalTransformer((vqvae.n_tokens,), n_codes, width=8, n_layers=1, n_heads=2)
    return TwoStageModel(vqvae, prior).double()


def _exact_log_prob(model: TwoStageModel, x: torch.Tensor) -> torch.Tensor:
    grids = torch.tensor(list(itertools.product(range(model.vqvae.n_codes),
                                                repeat=model.vqvae.n_tokens)))
    terms = []
    with torch.no_grad():
        for z in grids:
            zs = z.expand(len(x), -1)
            terms.append(model.prior.log_prob(zs) + model.vqvae.log_likelihood(x, zs))
    return torch.logsumexp(torch.stack(terms), 0)


def test_the_two_stage_model_is_normalised(seed):
    model = _two_stage((1, 2, 2), 2, 3)  # one token of 3 codes; 16 binary images
    images = torch.tensor(list(itertools.product((0, 1), repeat=4))).view(16, 1, 2, 2)
    assert _exact_log_prob(model, images.double()).exp().sum().item() == pytest.approx(1.0)


def test_the_bound_is_below_the_exact_likelihood(seed):
    model = _two_stage((1, 4, 4), 3, 2)  # 4 tokens of 2 codes: 16 grids
    x = torch.randint(0, 3, (6, 1, 4, 4)).double()
    exact, bound = _exact_log_prob(model, x), model.elbo(x)
    assert (bound <= exact + 1e-9).all() and (exact - bound).max() > 1e-3
    prior, decoder = model.elbo_terms(x)
    assert torch.allclose(prior + decoder, bound)


def test_only_the_prior_learns(seed):
    model = _two_stage((1, 4, 4), 3, 3)
    model.train()
    assert not model.vqvae.training and model.prior.training
    model.loss(torch.randint(0, 3, (4, 1, 4, 4)).double()).sum().backward()
    assert all(p.grad is None for p in model.vqvae.parameters())
    assert any(p.grad is not None for p in model.prior.parameters())
    assert model.sample(3).shape == (3, 1, 4, 4)


def test_two_stage_misuse_is_refused(seed):
    vqvae = VQVAE((1, 4, 4), 3, n_codes=3, code_dim=2, hidden=4)
    with pytest.raises(ValueError, match="the prior must model 4 tokens with 3 values"):
        TwoStageModel(vqvae, CausalTransformer((4,), 5, width=8, n_layers=1, n_heads=2))
    model = TwoStageModel(vqvae, CausalTransformer((4,), 3, width=8, n_layers=1, n_heads=2))
    with pytest.raises(NotImplementedError, match="lower bound"):
        model.log_prob(torch.zeros(1, 1, 4, 4))

"""Checks for the exercises of lecture 16 (discrete latents and latent generative models)."""

from __future__ import annotations

import torch

from gmlib.exercises.answers import expect_tensor, expect_tuple
from gmlib.exercises.core import Incorrect, exercise


def _vq_case() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    z_e = torch.randn(3, 5, 4, generator=gen, dtype=torch.float64)
    codebook = torch.randn(6, 4, generator=gen, dtype=torch.float64) * 0.8
    weights = torch.randn(3, 5, 4, generator=gen, dtype=torch.float64)
    return z_e, codebook, weights


@exercise("16.1", "Vector quantisation with a straight-through gradient")
def _vector_quantize(answer: object) -> str:
    z_e, codebook, weights = _vq_case()
    beta = 0.25
    z_in = z_e.clone().requires_grad_(True)
    book = codebook.clone().requires_grad_(True)
    z_q, indices, loss = expect_tuple(answer(z_in, book, beta), ("z_q", "indices", "loss"))
    want = torch.cdist(z_e.reshape(-1, 4), codebook).argmin(-1).view(3, 5)
    got_idx = expect_tensor(indices, (3, 5), "(B, N)").long()
    if not torch.equal(got_idx, want):
        far = torch.cdist(z_e.reshape(-1, 4), codebook).argmax(-1).view(3, 5)
        dots = (z_e @ codebook.T).argmax(-1)
        if torch.equal(got_idx, far):
            raise Incorrect("those are the farthest codes: take the arg-min of the distances")
        if torch.equal(got_idx, dots):
            raise Incorrect("the largest dot product is not the nearest code unless all codes "
                            "have the same length: use ||z - e||^2 = ||z||^2 - 2 z.e + ||e||^2")
        raise Incorrect("indices[b, n] must be the code nearest to z_e[b, n] in Euclidean "
                        "distance")
    codes = codebook[want]
    got_zq = expect_tensor(z_q, (3, 5, 4), "(B, N, d)")
    if not torch.allclose(got_zq, codes, atol=1e-10):
        raise Incorrect("z_q must have the values of the chosen codes, codebook[indices]")
    if not z_q.requires_grad:
        raise Incorrect("z_q carries no gradient: the decoder's gradient must reach the "
                        "encoder; write z_q = z_e + (e - z_e).detach()")
    grad_st, grad_codes = torch.autograd.grad((z_q * weights).sum(), (z_in, book),
                                              retain_graph=True, allow_unused=True)
    if grad_st is None or not torch.allclose(grad_st, weights, atol=1e-10):
        raise Incorrect("the gradient of z_q with respect to z_e must be the identity (the "
                        "straight-through estimator): z_q = z_e + (e - z_e).detach()")
    if grad_codes is not None and grad_codes.abs().max() > 0:
        raise Incorrect("the decoder's gradient must not reach the codebook through z_q "
                        "(the codes learn from the codebook loss only): put e inside the "
                        "detach, z_q = z_e + (e - z_e).detach()")
    got_loss = expect_tensor(loss, (3,), "(B,)")
    want_loss = (1 + beta) * (z_e - codes).pow(2).sum((1, 2))
    if not torch.allclose(got_loss, want_loss, rtol=1e-8):
        if torch.allclose(got_loss, (z_e - codes).pow(2).sum((1, 2)), rtol=1e-8):
            raise Incorrect("the loss must hold both terms: codebook loss + beta x commitment "
                            "loss (their values are equal; their gradients are not)")
        raise Incorrect("loss[b] = sum over positions of ||sg[z_e] - e||^2 + beta ||z_e - "
                        "sg[e]||^2")
    grad_z, grad_book = torch.autograd.grad(loss.sum(), (z_in, book), allow_unused=True)
    want_z = 2 * beta * (z_e - codes)
    if grad_z is None or not torch.allclose(grad_z, want_z, atol=1e-9):
        raise Incorrect("the loss's gradient with respect to z_e should be 2 beta (z_e - e), "
                        "the commitment term's only: detach z_e in the codebook loss")
    want_book = torch.zeros_like(codebook).index_add_(
        0, want.flatten(), 2 * (codes - z_e).reshape(-1, 4))
    if grad_book is None or not torch.allclose(grad_book, want_book, atol=1e-9):
        raise Incorrect("the codebook should learn from the codebook loss only: detach e in "
                        "the commitment term")
    return ("nearest codes, the straight-through gradient (identity to the encoder), and "
            "the two losses, each reaching only its own side: the codebook moves to the "
            "encoder outputs, the encoder commits to its codes.")


@exercise("16.2", "An EMA codebook step")
def _ema_step(answer: object) -> str:
    gen = torch.Generator().manual_seed(1)
    codebook = torch.randn(4, 2, generator=gen, dtype=torch.float64)
    counts = torch.rand(4, generator=gen, dtype=torch.float64) * 10 + 1
    sums = codebook * counts[:, None]
    z = torch.randn(30, 2, generator=gen, dtype=torch.float64)
    decay = 0.9
    got = expect_tuple(answer(codebook.clone(), counts.clone(), sums.clone(), z, decay),
                       ("codebook", "counts", "sums"))
    new_book = expect_tensor(got[0], (4, 2), "(K, d)")
    new_counts = expect_tensor(got[1], (4,), "(K,)")
    new_sums = expect_tensor(got[2], (4, 2), "(K, d)")
    assign = torch.cdist(z, codebook).argmin(-1)
    one_hot = torch.nn.functional.one_hot(assign, 4).double()
    want_counts = decay * counts + (1 - decay) * one_hot.sum(0)
    want_sums = decay * sums + (1 - decay) * one_hot.T @ z
    if not torch.allclose(new_counts, want_counts, rtol=1e-9):
        if torch.allclose(new_counts, one_hot.sum(0)):
            raise Incorrect("counts are the batch's counts: keep a moving average, decay x "
                            "old + (1 - decay) x new")
        raise Incorrect("counts_k <- decay counts_k + (1 - decay) n_k, with n_k the number "
                        "of vectors whose nearest code is k (nearest to the *old* codebook)")
    if not torch.allclose(new_sums, want_sums, rtol=1e-9):
        raise Incorrect("sums_k <- decay sums_k + (1 - decay) (sum of the vectors assigned "
                        "to code k)")
    if not torch.allclose(new_book, want_sums / want_counts[:, None], rtol=1e-9):
        raise Incorrect("each code is its running sum over its running count, sums_k / "
                        "counts_k: the running mean of the vectors it quantises")
    return ("a k-means step smoothed over batches: each code is the running mean of the "
            "encoder outputs it quantises, so it needs no gradient and no learning rate.")

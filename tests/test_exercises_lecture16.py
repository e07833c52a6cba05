"""Each checker of lecture 16 recognises the typical mistakes and says what is wrong."""

import torch

from gmlib.exercises import check


def _verdict(exercise_id, answer):
    return check(exercise_id, answer, quiet=True)


def _quantize(z_e, codebook, beta, *, straight_through=True, detach_codebook_term=True,
              detach_commitment=True, nearest=True, both_terms=True):
    distances = torch.cdist(z_e.reshape(-1, z_e.shape[-1]), codebook)
    pick = distances.argmin(-1) if nearest else distances.argmax(-1)
    indices = pick.view(z_e.shape[:-1])
    codes = codebook[indices]
    codebook_term = ((z_e.detach() if detach_codebook_term else z_e) - codes).pow(2)
    commitment = (z_e - (codes.detach() if detach_commitment else codes)).pow(2)
    loss = codebook_term.sum((1, 2)) + (beta * commitment.sum((1, 2)) if both_terms else 0)
    z_q = z_e + (codes - z_e).detach() if straight_through else codes
    return z_q, indices, loss


def test_vector_quantisation():
    assert _verdict("16.1", _quantize).passed
    for options, hint in [({"nearest": False}, "farthest"),
                          ({"straight_through": False}, "straight-through"),
                          ({"both_terms": False}, "both terms"),
                          ({"detach_codebook_term": False}, "detach z_e"),
                          ({"detach_commitment": False}, "detach e")]:
        verdict = _verdict("16.1", lambda z, c, b, o=options: _quantize(z, c, b, **o))
        assert verdict.status == "incorrect" and hint in verdict.message, (options, verdict)
    def leaky(z, c, b):  # z_q carries the decoder's gradient into the codebook too
        _, indices, loss = _quantize(z, c, b)
        return c[indices] + (z - z.detach()), indices, loss

    verdict = _verdict("16.1", leaky)
    assert verdict.status == "incorrect" and "must not reach the codebook" in verdict.message
    verdict = _verdict("16.1", lambda z, c, b: _quantize(z.detach(), c, b))
    assert verdict.status == "incorrect" and "gradient" in verdict.message
    assert _verdict("16.1", lambda z, c, b: 3).status == "incorrect"


def _ema(codebook, counts, sums, z, decay, *, running=True, mean=True):
    assign = torch.cdist(z, codebook).argmin(-1)
    one_hot = torch.nn.functional.one_hot(assign, len(codebook)).double()
    new_counts = decay * counts + (1 - decay) * one_hot.sum(0) if running else one_hot.sum(0)
    new_sums = decay * sums + (1 - decay) * one_hot.T @ z
    book = new_sums / new_counts[:, None] if mean else new_sums
    return book, new_counts, new_sums


def test_ema_codebook_step():
    assert _verdict("16.2", _ema).passed
    for options, hint in [({"running": False}, "moving average"),
                          ({"mean": False}, "running mean")]:
        verdict = _verdict("16.2", lambda *a, o=options: _ema(*a, **o))
        assert verdict.status == "incorrect" and hint in verdict.message
    assert _verdict("16.2", lambda *a: None).status == "incorrect"

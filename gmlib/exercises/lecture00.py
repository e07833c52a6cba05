"""Checks for the exercises of lecture 00 (Introduction)."""

from __future__ import annotations

import math

import numpy as np
import torch

from gmlib.exercises.answers import expect_tensor, expect_tuple
from gmlib.exercises.core import Incorrect, exercise
from gmlib.independent import IndependentBernoulli
from gmlib.testing import chi_square_pvalue


def _close(got: object, want: float, rel: float = 1e-9) -> bool:
    try:
        return math.isclose(float(got), want, rel_tol=rel, abs_tol=1e-12)
    except (TypeError, ValueError):
        return False


@exercise("00.1", "Bits per dimension")
def _bits_per_dim(answer: object) -> str:
    cases = [(106.4, 64), (181.3, 64), (1.0, 1), (math.log(2) * 784, 784)]
    for nats, dims in cases:
        want = nats / (dims * math.log(2))
        got = answer(nats, dims)
        if _close(got, want):
            continue
        if _close(got, nats / dims):
            raise Incorrect(f"bits_per_dim({nats}, {dims}) returned {got}: that is nats per "
                            "dimension. One bit is ln 2 nats, so also divide by ln 2.")
        if _close(got, nats / math.log(2)):
            raise Incorrect(f"bits_per_dim({nats}, {dims}) returned {got}: that is bits per "
                            "image. Divide by the number of dimensions too.")
        raise Incorrect(f"bits_per_dim({nats}, {dims}) returned {got}; expected "
                        f"{want:.6f} = nats / (dims · ln 2).")
    return "nats per image / (D · ln 2) is bits per dimension; 106.4 nats on the digits is " \
           f"{106.4 / (64 * math.log(2)):.3f} bits per pixel."


@exercise("00.2", "Counting the parameters of a joint distribution")
def _parameter_counts(answer: object) -> str:
    for n, k in [(1, 2), (3, 2), (10, 2), (3, 256), (64, 17)]:
        got = answer(n, k)
        if not isinstance(got, tuple) or len(got) != 2:
            raise Incorrect(f"return a pair (full_joint, independent); got {got!r}")
        full, independent = got
        if full == k**n:
            raise Incorrect(f"for n={n}, k={k} the full joint has {k}^{n} states, but the "
                            "probabilities must sum to one, so one of them is not free.")
        if full != k**n - 1:
            raise Incorrect(f"for n={n}, k={k} the full joint needs k^n - 1 = {k**n - 1} "
                            f"numbers; got {full}.")
        if independent == n * k:
            raise Incorrect(f"for n={n}, k={k}: each of the n independent variables has k "
                            "probabilities summing to one, so k - 1 free numbers each.")
        if independent != n * (k - 1):
            raise Incorrect(f"for n={n}, k={k} the independent model needs n (k - 1) = "
                            f"{n * (k - 1)} numbers; got {independent}.")
    return f"17^64 - 1 ≈ 10^{64 * math.log10(17):.0f} numbers for the full joint of an 8x8 " \
           "digit, 1024 with independent pixels: the models of this course live in between."


@exercise("00.3", "Fitting independent Bernoulli pixels by counting")
def _fit_bernoulli(answer: object) -> str:
    gen = torch.Generator().manual_seed(1)
    x = (torch.rand(50, 6, generator=gen) < torch.tensor([0.1, 0.5, 0.9, 0.3, 0.0, 1.0])).float()
    x[:, 4], x[:, 5] = 0.0, 1.0  # a pixel that is never on and one that is always on
    for alpha in (0.5, 1.0, 0.0):
        got = expect_tensor(answer(x, alpha), (6,), "(D,) for data of shape (50, 6)")
        want = IndependentBernoulli(6, alpha=alpha).fit(x).mean
        if torch.allclose(got.double(), x.mean(0).double()) and alpha > 0:
            raise Incorrect(f"with alpha={alpha} you returned the plain frequencies; add alpha "
                            "to the count of ones and of zeros: (n1 + alpha) / (n + 2 alpha).")
        if not torch.allclose(got.double(), want.double(), atol=1e-6):
            raise Incorrect(f"with alpha={alpha} expected {want.numpy().round(4)}; got "
                            f"{got.detach().cpu().numpy().round(4)}")
    return "(count of ones + alpha) / (n + 2 alpha): with alpha > 0 no pixel gets probability " \
           "exactly 0 or 1, so no test image gets log-likelihood -inf."


@exercise("00.4", "Sampling independent categoricals by inverting the CDF")
def _sample_categorical(answer: object) -> str:
    probs = torch.tensor([[0.2, 0.3, 0.5, 0.0], [0.0, 0.0, 1.0, 0.0], [0.25, 0.25, 0.25, 0.25]])
    n = 20000
    samples = answer(probs, n, torch.Generator().manual_seed(0))
    values = expect_tensor(samples, (n, 3), "(n, D)").double()
    if bool(((values < 0) | (values > 3) | (values != values.round())).any()):
        raise Incorrect("samples must be integer levels 0..K-1")
    if bool((values[:, 1] != 2).any()):
        raise Incorrect("pixel 1 has probability 1 on level 2 but your sampler returned other "
                        "levels: compare u with the cumulative sum, not with the probabilities")
    for d in range(3):
        counts = np.bincount(values[:, d].long().cpu().numpy(), minlength=4)
        if counts[probs[d].numpy() == 0].sum() > 0:
            raise Incorrect(f"pixel {d} got a level whose probability is 0")
        p_value = chi_square_pvalue(counts, probs[d].numpy())
        if p_value < 1e-4:
            raise Incorrect(f"pixel {d}: the frequencies {np.round(counts / n, 3)} do not match "
                            f"the probabilities {probs[d].numpy()} (chi-square p = {p_value:.1e})")
    return "one uniform number per pixel, compared with the cumulative probabilities: the " \
           "same idea samples every discrete autoregressive model of lectures 05-06."


@exercise("00.5", "An outlier threshold with a chosen false-alarm rate")
def _threshold(answer: object) -> str:
    gen = torch.Generator().manual_seed(3)
    for fpr in (0.01, 0.05, 0.2):
        scores = -100 - 10 * torch.randn(1000, generator=gen, dtype=torch.float64)
        t = float(answer(scores, fpr))
        rate = float((scores < t).double().mean())
        if rate > 1 - fpr - 0.01 and fpr < 0.5:
            raise Incorrect(f"with fpr={fpr} your threshold flags {rate:.1%} of normal data: "
                            "outliers have LOW log-likelihood, so take the lower quantile.")
        if abs(rate - fpr) > 2 / len(scores):
            raise Incorrect(f"with fpr={fpr} your threshold {t:.2f} flags {rate:.1%} of the "
                            f"normal data; it should flag {fpr:.0%}.")
    return "the fpr-quantile of the normal data's log-likelihoods: everything below it is " \
           "flagged, so a fraction fpr of normal data raises a false alarm."


_TAXONOMY = {
    "GaussianMixture": "exact",
    "PixelCNN": "exact",
    "RealNVP": "exact",
    "VAE": "bound",
    "DDPM": "bound",
    "EBM": "unnormalised",
    "GAN": "none",
}


@exercise("00.6", "Which likelihood does each model give?")
def _taxonomy(answer: object) -> str:
    if callable(answer):  # the exercise asks for a function returning the dict
        answer = answer()
    if not isinstance(answer, dict):
        raise Incorrect(f"answer with a dict model -> kind; got {type(answer).__name__}")
    missing = sorted(set(_TAXONOMY) - set(answer))
    if missing:
        raise Incorrect(f"classify these models too: {', '.join(missing)}")
    wrong = [m for m, kind in _TAXONOMY.items() if str(answer[m]).strip().lower() != kind]
    if wrong:
        model = wrong[0]
        hints = {
            "exact": "it defines p(x) in closed form (or by change of variables), normalised.",
            "bound": "it has latent variables to integrate out; its log-likelihood is "
                     "available only as a variational lower bound (the ELBO).",
            "unnormalised": "it gives exp(-E(x)) but not the partition function Z.",
            "none": "it only maps noise to samples: there is no density to evaluate.",
        }
        raise Incorrect(f"{len(wrong)} of {len(_TAXONOMY)} wrong; look again at {model}: "
                        f"{hints[_TAXONOMY[model]]}")
    return "exact: mixtures, autoregressive models, flows; bounds: VAEs and diffusion; " \
           "unnormalised: EBMs; none: GANs."


def _categorical_variant(train: torch.Tensor, test: torch.Tensor, n_levels: int, alpha: float,
                         *, numerator_only: bool = False, binary_denominator: bool = False,
                         bits: bool = False, per_pixel: bool = False
                         ) -> tuple[torch.Tensor, float]:
    """Fit independent categoricals by counting and score the test set, right or with one of
    the usual mistakes switched on (the checker names a mistake by matching its variant)."""
    counts = torch.nn.functional.one_hot(train.long(), n_levels).sum(0).double()  # (D, K)
    k_alpha = 2 * alpha if binary_denominator else n_levels * alpha
    probs = (counts + alpha) / (len(train) + (0.0 if numerator_only else k_alpha))
    log_p = probs.log().gather(1, test.long().T).T  # (N_test, D)
    per_image = log_p.mean(1) if per_pixel else log_p.sum(1)
    nll = -float(per_image.mean()) / (math.log(2) if bits else 1.0)
    return probs, nll


def _same_fit(probs: torch.Tensor, nll: float, want_probs: torch.Tensor, want_nll: float) -> bool:
    """Equal up to float32 rounding: 1e-6 on probabilities, 1e-5 relative on the NLL."""
    return (torch.allclose(probs.double(), want_probs, atol=1e-6)
            and math.isclose(nll, want_nll, rel_tol=1e-5))


@exercise("00.8", "The independent-pixel model, whole")
def _fit_and_score(answer: object) -> str:
    gen = torch.Generator().manual_seed(8)
    levels = 5
    skew = torch.tensor([[8.0, 4, 2, 1, 0.01]] * 3 + [[1.0, 1, 1, 1, 1]] * 3)  # (D, K)
    draw = torch.multinomial(skew, 250, replacement=True, generator=gen).T  # (250, D)
    train, test = draw[:200], draw[200:]
    train[train[:, 0] == levels - 1, 0] = 0  # pixel 0 never shows the top level in training
    test[0, 0] = levels - 1  # but one test image has it
    mistakes = {
        "numerator_only": "your probabilities do not sum to one over the levels: adding alpha "
                          "to each of the K counts adds K alpha to the total, so divide by "
                          "N + K alpha",
        "binary_denominator": "divide by N + K alpha (K = n_levels pseudo-counts), not N + 2 "
                              "alpha: that is the two-outcome (Bernoulli) formula",
        "bits": "report nats (natural logarithm), not bits",
        "per_pixel": "the NLL is per *image*: sum the log-probabilities over the D pixels, "
                     "then average over test images",
    }
    for alpha in (0.5, 1.0):
        got = expect_tuple(answer(train.clone(), test.clone(), levels, alpha), ("probs", "nll"))
        probs = expect_tensor(got[0], (6, levels), "(D, K)")
        try:
            nll = float(got[1])
        except (TypeError, ValueError):
            raise Incorrect("nll must be a number: the mean over test images of "
                            "-sum_d log p(x_d)") from None
        want_probs, want_nll = _categorical_variant(train, test, levels, alpha)
        if not math.isfinite(nll):
            raise Incorrect("your test NLL is infinite: a level unseen in training got "
                            "probability 0. Add alpha to every count, including the zeros.")
        # tolerances a float32 answer meets (float32 carries about 7 significant digits)
        if _same_fit(probs, nll, want_probs, want_nll):
            continue
        for flag, message in mistakes.items():
            v_probs, v_nll = _categorical_variant(train, test, levels, alpha, **{flag: True})
            if _same_fit(probs, nll, v_probs, v_nll):
                raise Incorrect(message)
        if not torch.allclose(probs.double(), want_probs, atol=1e-6):
            raise Incorrect(f"with alpha = {alpha}, probs[d, k] should be (n_dk + alpha) / (N + "
                            f"K alpha); yours are off by up to "
                            f"{float((probs - want_probs).abs().max()):.3g}")
        raise Incorrect(f"the probabilities are right but the test NLL is {nll:.4f}, expected "
                        f"{want_nll:.4f} nats per image")
    return "counting with pseudo-counts, then a sum of log-probabilities per image: the " \
           "independent-categorical baseline of the leaderboard, in a dozen lines."

"""The arithmetic coder: round trips on random streams and random (also very skewed)
models, the code-length bound, and clear errors for invalid tables and truncated streams."""

from __future__ import annotations

import math
import random

import pytest
import torch

from gmlib.autoregressive import MADE, NADE, CausalTransformer, PixelCNN, WaveNet
from gmlib.coding import (
    MAX_TOTAL,
    ANSStack,
    ArithmeticDecoder,
    ArithmeticEncoder,
    bits_back_compress,
    bits_back_decompress,
    compress,
    decompress,
    ideal_code_length,
    probabilities_to_cdf,
)
from gmlib.coding.bitsback import latent_buckets
from gmlib.coding.envelope import envelope_bytes
from gmlib.data import digits
from gmlib.exceptions import IntegrityError
from gmlib.independent import IndependentCategorical
from gmlib.mixtures import BernoulliMixture
from gmlib.train import fit
from gmlib.vae import build_vae


def round_trip(symbols, tables):
    encoder = ArithmeticEncoder()
    for s, cdf in zip(symbols, tables, strict=True):
        encoder.encode(int(s), cdf)
    data = encoder.finish()
    decoder = ArithmeticDecoder(data)
    return data, [decoder.decode(cdf) for cdf in tables]


@pytest.mark.parametrize("seed", range(5))
def test_round_trip_with_a_different_random_model_per_symbol(seed):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    n, k = 3000, 17
    probs = torch.distributions.Dirichlet(torch.full((k,), 0.3)).sample((n,))
    symbols = torch.multinomial(probs, 1, generator=gen)[:, 0]
    tables = probabilities_to_cdf(probs).tolist()
    data, decoded = round_trip(symbols.tolist(), tables)
    assert decoded == symbols.tolist()
    ideal = ideal_code_length(symbols, torch.tensor(tables))
    # within 2 bits of termination, the byte padding and a tiny rounding loss
    assert 8 * len(data) <= ideal + 2 + 8 + 1e-3 * n
    assert 8 * len(data) >= ideal - 1


def test_round_trip_with_very_skewed_models():
    # probabilities near 1 and near 0 (the smallest frequency is 1 in 2^16)
    n = 5000
    p_common = torch.full((n, 1), 1 - 1e-6)
    probs = torch.cat([p_common, (1 - p_common).expand(n, 3) / 3], dim=1)
    rng = random.Random(0)
    symbols = [0 if rng.random() < 0.999 else rng.randrange(1, 4) for _ in range(n)]
    tables = probabilities_to_cdf(probs).tolist()
    data, decoded = round_trip(symbols, tables)
    assert decoded == symbols
    assert 8 * len(data) <= ideal_code_length(torch.tensor(symbols), torch.tensor(tables)) + 10


def test_round_trip_of_random_integer_tables_up_to_the_largest_total():
    rng = random.Random(1)
    tables, symbols = [], []
    for _ in range(2000):
        k = rng.randrange(2, 40)
        cuts = sorted(rng.sample(range(1, MAX_TOTAL), k - 1))
        tables.append([0, *cuts, MAX_TOTAL])
        symbols.append(rng.randrange(k))
    _, decoded = round_trip(symbols, tables)
    assert decoded == symbols


def test_short_and_empty_messages():
    for symbols in ([], [1], [0, 0]):
        tables = [[0, 1, 2]] * len(symbols)
        _, decoded = round_trip(symbols, tables)
        assert decoded == symbols


def test_probabilities_to_cdf_sums_exactly_and_keeps_every_symbol():
    probs = torch.tensor([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0], [0.2, 0.3, 0.5]])
    cdf = probabilities_to_cdf(probs, bits=12)
    assert cdf[:, 0].eq(0).all() and cdf[:, -1].eq(4096).all()
    assert bool((cdf.diff(dim=-1) >= 1).all())


def test_invalid_tables_raise_clear_errors():
    encoder = ArithmeticEncoder()
    with pytest.raises(ValueError, match="strictly increasing"):
        encoder.encode(0, [0, 5, 5, 9])
    with pytest.raises(ValueError, match=r"cdf\[0\] must be 0"):
        encoder.encode(0, [1, 5, 9])
    with pytest.raises(ValueError, match=r"at most 2\^24"):
        encoder.encode(0, [0, 1, MAX_TOTAL + 1])
    with pytest.raises(ValueError, match=r"K \+ 1 >= 2"):
        encoder.encode(0, [0])
    with pytest.raises(ValueError, match=r"symbol must be in 0..1"):
        encoder.encode(2, [0, 3, 4])
    with pytest.raises(ValueError, match="sum to 1"):
        probabilities_to_cdf(torch.tensor([0.5, 0.6]))
    with pytest.raises(ValueError, match="non-negative"):
        probabilities_to_cdf(torch.tensor([1.5, -0.5]))
    with pytest.raises(TypeError, match="bytes"):
        ArithmeticDecoder("not bytes")


def test_a_truncated_stream_raises():
    gen = torch.Generator().manual_seed(0)
    probs = torch.full((400, 17), 1 / 17)
    symbols = torch.randint(17, (400,), generator=gen).tolist()
    tables = probabilities_to_cdf(probs).tolist()
    encoder = ArithmeticEncoder()
    for s, cdf in zip(symbols, tables, strict=True):
        encoder.encode(s, cdf)
    data = encoder.finish()
    decoder = ArithmeticDecoder(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated"):
        for cdf in tables:
            decoder.decode(cdf)


# ---- compress / decompress with models -------------------------------------------------------
def _nll_bits(model, x):
    with torch.no_grad():
        return float(-model.log_prob(x).double().sum()) / math.log(2)


def _trained_pixelcnn():
    torch.manual_seed(0)
    model = PixelCNN((1, 8, 8), 17, channels=16, n_layers=2)
    fit(model, digits("train")[:300], epochs=2, batch_size=64, lr=3e-3, device="cpu",
        seed=0, progress=False)
    return model.eval()


@pytest.mark.parametrize("name", ["pixelcnn", "made-binary", "independent", "wavenet-cached",
                                  "transformer-cached"])
def test_compress_round_trips_and_costs_the_models_nll(name):
    if name == "pixelcnn":
        model, x = _trained_pixelcnn(), digits("test")[:40]
    elif name.endswith("cached"):  # coded through the sampler's cache, one step per pixel
        torch.manual_seed(0)
        model = (WaveNet((1, 8, 8), 17, channels=16) if name.startswith("wavenet") else
                 CausalTransformer((1, 8, 8), 17, width=16, n_layers=1, n_heads=2))
        fit(model, digits("train")[:300], epochs=2, batch_size=64, lr=3e-3, device="cpu",
            seed=0, progress=False)
        model, x = model.eval(), digits("test")[:40]
        assert model.has_cache
    elif name == "made-binary":
        torch.manual_seed(0)
        model, x = MADE(64, 2, hidden_sizes=(32,)).eval(), digits("test", binarize=True,
                                                                  flatten=True)[:40]
    else:
        model = IndependentCategorical((1, 8, 8), 17).fit(digits("train"))
        x = digits("test")[:40]
    data = compress(model, x)
    torch.testing.assert_close(decompress(model, data), x.float())
    payload_bits = 8 * (len(data) - envelope_bytes(data))
    nll = _nll_bits(model, x)
    assert payload_bits <= 1.01 * nll + 16
    assert payload_bits >= 0.99 * nll - 16


def test_compress_rejects_what_it_cannot_code():
    model = IndependentCategorical((1, 8, 8), 17).fit(digits("train"))
    data = compress(model, digits("test")[:5])
    with pytest.raises(IntegrityError, match="truncated"):
        decompress(model, data[:-3])
    with pytest.raises(IntegrityError, match="not a compress stream"):
        decompress(model, b"XXXX" + data[4:])


def test_decompress_refuses_another_model_other_bits_and_corruption():
    model = IndependentCategorical((1, 8, 8), 17).fit(digits("train"))
    x = digits("test")[:5]
    data = compress(model, x)
    # one flipped bit anywhere (header or payload) fails the checksum
    for position in (len(data) // 2, 30, len(data) - 6):
        flipped = bytearray(data)
        flipped[position] ^= 0x04
        with pytest.raises(IntegrityError, match="CRC-32"):
            decompress(model, bytes(flipped))
    other_weights = IndependentCategorical((1, 8, 8), 17).fit(digits("val"))
    with pytest.raises(IntegrityError, match="another IndependentCategorical"):
        decompress(other_weights, data)
    with pytest.raises(IntegrityError, match="n_levels=17; the decoder has n_levels=9"):
        decompress(IndependentCategorical((1, 8, 8), 9), data)
    with pytest.raises(IntegrityError, match="coded with a IndependentCategorical; got a NADE"):
        decompress(NADE(64, hidden=8), data)
    with pytest.raises(IntegrityError, match="bits=16; the decoder has bits=12"):
        decompress(model, data, bits=12)
    old = bytearray(data)
    old[4] = 1
    with pytest.raises(IntegrityError, match="format version 1; this gmlib reads version 2"):
        decompress(model, bytes(old))
    torch.testing.assert_close(decompress(model, data), x.float())  # the right one decodes
    with pytest.raises(TypeError, match="AutoregressiveModel or an IndependentCategorical"):
        compress(torch.nn.Linear(2, 2), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="levels"):
        compress(model, torch.full((2, 1, 8, 8), 0.5))


# ---------------------------------------------------------------- ANS and bits-back coding


@pytest.mark.parametrize("seed", range(3))
def test_ans_stack_returns_symbols_last_in_first_out_at_the_ideal_length(seed):
    rng = random.Random(seed)
    stack = ANSStack(rng.getrandbits(32) | 1 << 31)
    start = stack.state
    tables, symbols = [], []
    for _ in range(500):
        probs = torch.distributions.Dirichlet(torch.full((rng.randint(2, 20),), 0.3)).sample()
        cdf = probabilities_to_cdf(probs, bits=rng.choice((8, 12, 16, 24)))
        symbol = rng.randrange(len(cdf) - 1)
        stack.push(symbol, cdf.tolist())
        tables.append(cdf)
        symbols.append(symbol)
    ideal = sum(ideal_code_length(torch.tensor([s]), t[None])
                for s, t in zip(symbols, tables, strict=True))
    # each push adds log2(M / f) bits up to the rounding of the integer division
    assert abs(stack.n_bits - 32 - ideal) < 2 + 1e-3 * len(symbols)
    restored = ANSStack.from_bytes(stack.to_bytes())
    popped = [restored.pop(t.tolist()) for t in reversed(tables)]
    assert popped[::-1] == symbols and restored.state == start


@pytest.mark.parametrize("state", [0, 1, 7, 2**40 + 12345])
def test_ans_pop_then_push_gives_back_every_bit(state):
    """Bits-back rests on this: reading a symbol out of any state and pushing it back with
    the same table restores the state exactly."""
    cdf = [0, 5, 6, 100, 256]
    stack = ANSStack(state)
    symbol = stack.pop(cdf)
    stack.push(symbol, cdf)
    assert stack.state == state


def test_ans_errors():
    with pytest.raises(ValueError, match="non-negative int"):
        ANSStack(-1)
    with pytest.raises(ValueError, match="symbol must be in 0..1"):
        ANSStack(5).push(2, [0, 1, 2])
    with pytest.raises(ValueError, match="strictly increasing"):
        ANSStack(5).push(0, [0, 1, 1])
    with pytest.raises(TypeError, match="bytes"):
        ANSStack.from_bytes("abc")


@pytest.fixture(scope="module")
def mixture_and_digits():
    train = digits("train", binarize=True, flatten=True, dtype=torch.float64)
    test = digits("test", binarize=True, flatten=True, dtype=torch.float64)[:150]
    return BernoulliMixture(8, random_state=0).fit(train), test


def test_bits_back_round_trip_costs_the_marginal_likelihood(mixture_and_digits):
    model, x = mixture_and_digits
    data = bits_back_compress(model, x, initial_bits=64, seed=3)
    decoded, state = bits_back_decompress(model, data)
    assert torch.equal(decoded, x)
    assert state == random.Random(3).getrandbits(64) | 1 << 63  # every borrowed bit returned
    net = 8 * (len(data) - envelope_bytes(data)) - 64
    nll_bits = float(-model.log_prob(x).sum()) / math.log(2)
    # with the exact posterior the net rate is -log2 p(x): within 1% + the stack's rounding
    assert abs(net - nll_bits) < 0.01 * nll_bits + 8
    # ... and below the two-part code that sends the most probable component, then x
    z = model.predict(x)
    joint = model._log_joint(x).gather(1, z[:, None]).sum()
    assert net < float(-joint) / math.log(2)


def test_bits_back_errors(mixture_and_digits):
    model, x = mixture_and_digits
    with pytest.raises(TypeError, match="BernoulliMixture and for a VAE"):
        bits_back_compress(IndependentCategorical((64,), 2), x)
    with pytest.raises(ValueError, match=r"\(N, 64\)"):
        bits_back_compress(model, x[:, :10])
    with pytest.raises(ValueError, match="binary values"):
        bits_back_compress(model, x * 2)
    data = bits_back_compress(model, x[:20])
    with pytest.raises(IntegrityError, match="not a bits_back_compress stream"):
        bits_back_decompress(model, b"GMLZ" + data[4:])
    with pytest.raises(IntegrityError, match="truncated"):
        bits_back_decompress(model, data[:5])
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x01
    with pytest.raises(IntegrityError, match="CRC-32"):
        bits_back_decompress(model, bytes(flipped))
    other = BernoulliMixture(3, random_state=1).fit(x)
    with pytest.raises(IntegrityError, match="another BernoulliMixture"):
        bits_back_decompress(other, data)
    with pytest.raises(IntegrityError, match="bits=16; the decoder has bits=20"):
        bits_back_decompress(model, data, bits=20)


@pytest.fixture(scope="module")
def grey_vae():
    x_train, x_val = digits("train"), digits("val")
    vae = build_vae((1, 8, 8), likelihood="categorical", n_levels=17, latent_dim=8,
                    hidden=(64,))
    fit(vae, x_train, val_data=x_val, epochs=10, lr=2e-3, device="cpu", seed=0,
        progress=False)
    return vae.eval()


def test_latent_buckets_have_equal_prior_mass():
    edges, centres = latent_buckets(3)
    assert edges.shape == (9,) and centres.shape == (8,)
    assert edges[0] == -math.inf and edges[-1] == math.inf
    mass = torch.special.ndtr(edges[1:]) - torch.special.ndtr(edges[:-1])
    assert torch.allclose(mass, torch.full((8,), 1 / 8, dtype=torch.float64))
    assert torch.all((edges[:-1] < centres) & (centres < edges[1:]))


def test_bits_back_with_a_vae_round_trips_at_its_negative_elbo(grey_vae):
    x = digits("test")[:60]
    data = bits_back_compress(grey_vae, x, latent_bits=8, bits=20, initial_bits=256, seed=1)
    decoded, state = bits_back_decompress(grey_vae, data, bits=20)
    assert torch.equal(decoded, x) and state == random.Random(1).getrandbits(256) | 1 << 255
    net = (8 * (len(data) - envelope_bytes(data)) - 256) / len(x)
    with torch.no_grad():
        elbo_bits = float(-grey_vae.elbo(x).mean()) / math.log(2)
        # the two-part code: the bucket of the posterior mean at 8 bits a coordinate, then x
        edges, centres = latent_buckets(8)
        index = torch.bucketize(grey_vae.encode(x).mean.double(), edges[1:-1])
        given_z = -grey_vae.decode(centres[index].float()).log_prob(x).mean()
    two_part = 8 * grey_vae.latent_dim + float(given_z) / math.log(2)
    # BB-ANS costs the -ELBO up to the discretisation and the first image's initial bits
    assert abs(net - elbo_bits) < 0.03 * elbo_bits
    assert net < two_part - 20  # the latent's bits come back


def test_bits_back_with_a_binary_vae_round_trips():
    x = digits("test", binarize=True)[:20]
    vae = build_vae((1, 8, 8), likelihood="bernoulli", latent_dim=4, hidden=(32,)).eval()
    data = bits_back_compress(vae, x, latent_bits=4, initial_bits=64)
    assert torch.equal(bits_back_decompress(vae, data)[0], x)


def test_bits_back_refuses_what_it_cannot_code(grey_vae, mixture_and_digits):
    mixture, xb = mixture_and_digits
    x = digits("test")[:5]
    with pytest.raises(TypeError, match="discrete pixels"):
        bits_back_compress(build_vae((1, 8, 8), likelihood="gaussian"), x)
    with pytest.raises(TypeError, match=r"N\(0, I\) prior"):
        bits_back_compress(build_vae((1, 8, 8), likelihood="categorical", prior="vamp"), x)
    with pytest.raises(ValueError, match=r"latent_bits must be an int in 1..16"):
        bits_back_compress(grey_vae, x, latent_bits=17)
    with pytest.raises(ValueError, match=r"integer levels \{0, ..., 16\}"):
        bits_back_compress(grey_vae, x + 1)
    with pytest.raises(ValueError, match="coded with a BernoulliMixture; got a VAE"):
        bits_back_decompress(grey_vae, bits_back_compress(mixture, xb[:3]))


def test_a_conditional_model_compresses_with_its_condition():
    """compress walks the model's public conditionals, so a ConditionalPixelCNN codes
    p(x | c); decoding needs the same c, and the stream refuses another."""
    from gmlib.autoregressive import ConditionalPixelCNN
    from gmlib.exceptions import ConditionError

    torch.manual_seed(0)
    model = ConditionalPixelCNN((1, 4, 4), 2, cond_channels=1, channels=8, n_layers=2).eval()
    x = (torch.rand(6, 1, 4, 4) > 0.5).float()
    c = torch.rand(6, 1, 4, 4)
    data = compress(model, x, c=c)
    assert torch.equal(decompress(model, data, c=c), x)
    with pytest.raises(IntegrityError, match="condition_crc"):
        decompress(model, data, c=c + 1)
    with torch.no_grad():
        nll_bits = float(-model.log_prob(x, c).sum()) / math.log(2)
    assert 8 * (len(data) - envelope_bytes(data)) <= nll_bits + 16
    unconditional = IndependentCategorical((1, 4, 4), 2).fit(x)
    with pytest.raises(ConditionError, match="unconditional"):
        compress(unconditional, x, c=c)

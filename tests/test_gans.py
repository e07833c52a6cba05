"""GANs: losses by hand, the optimal discriminator and Jensen-Shannon, the gradient penalty,
gradient play on the bilinear game, every model's shapes and devices, and the trainer."""

import math

import pytest
import torch
from torch import nn

from gmlib.gans import (
    GAN,
    LOSSES,
    ConditionalGAN,
    CycleGAN,
    DCGANDiscriminator,
    DCGANGenerator,
    ImageTranslator,
    InfoGAN,
    MLPDiscriminator,
    MLPGenerator,
    ProgressiveGAN,
    get_loss,
    gradient_penalty,
    gradient_play,
    train_gan,
    train_progressive,
)
from gmlib.gans.losses import optimal_discriminator
from gmlib.gans.progressive import fade_in_alpha

REAL = torch.tensor([0.0, 2.0])
FAKE = torch.tensor([-1.0, 1.0])


def sp(v):  # softplus by hand
    return math.log1p(math.exp(v))


HAND = {  # (discriminator(REAL, FAKE), generator(FAKE)) computed by hand
    "minimax": ((sp(0) + sp(-2)) / 2 + (sp(-1) + sp(1)) / 2, -(sp(-1) + sp(1)) / 2),
    "non-saturating": ((sp(0) + sp(-2)) / 2 + (sp(-1) + sp(1)) / 2, (sp(1) + sp(-1)) / 2),
    "wasserstein": (0.0 - 1.0, -0.0),
    "hinge": ((1 + 0) / 2 + (0 + 2) / 2, -0.0),
    "least-squares": (0.5 * (1 + 1) / 2 + 0.5 * (1 + 1) / 2, 0.5 * (4 + 0) / 2),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_losses_equal_hand_computed_values(name):
    loss = get_loss(name)
    d_value, g_value = HAND[name]
    assert float(loss.discriminator(REAL, FAKE)) == pytest.approx(d_value, rel=1e-6)
    assert float(loss.generator(FAKE)) == pytest.approx(g_value, abs=1e-7)


def test_minimax_generator_saturates_where_non_saturating_does_not():
    fake = torch.tensor([-8.0], requires_grad=True)  # D is sure this fake is fake
    (g_minimax,) = torch.autograd.grad(LOSSES["minimax"].generator(fake), fake)
    (g_ns,) = torch.autograd.grad(LOSSES["non-saturating"].generator(fake), fake)
    assert abs(float(g_minimax)) < 1e-3 < 0.99 < abs(float(g_ns))


def _normal_pdf(x, mean):
    return torch.exp(-0.5 * (x - mean) ** 2) / math.sqrt(2 * math.pi)


def test_optimal_discriminator_and_jensen_shannon_on_two_gaussians():
    x = torch.linspace(-12, 13, 200_001, dtype=torch.float64)
    dx = float(x[1] - x[0])
    p_data, p_model = _normal_pdf(x, 0.0), _normal_pdf(x, 1.0)
    d_star = optimal_discriminator(p_data, p_model)
    # log p_data/p_model = 1/2 - x for unit Gaussians at 0 and 1
    assert torch.allclose(d_star, torch.sigmoid(0.5 - x), atol=1e-12)
    value = float(((p_data * d_star.log() + p_model * (1 - d_star).log()) * dx).sum())
    mix = (p_data + p_model) / 2
    js = 0.5 * float(((p_data * (p_data / mix).log() + p_model * (p_model / mix).log())
                      * dx).sum())
    assert value == pytest.approx(-math.log(4) + 2 * js, abs=1e-8)  # Goodfellow et al., Thm 1
    assert 0 < js < math.log(2)


def test_a_discriminator_trained_with_the_minimax_loss_reaches_the_optimum(seed):
    real, fake = torch.randn(20_000, 1), torch.randn(20_000, 1) + 1
    disc = nn.Linear(1, 1)  # the log-ratio 1/2 - x is linear: the optimum is representable
    opt = torch.optim.LBFGS(disc.parameters(), max_iter=200)

    def closure():
        opt.zero_grad()
        loss = LOSSES["minimax"].discriminator(disc(real), disc(fake))
        loss.backward()
        return loss

    opt.step(closure)
    assert float(disc.weight.detach()) == pytest.approx(-1.0, abs=0.05)
    assert float(disc.bias.detach()) == pytest.approx(0.5, abs=0.05)


def test_gradient_penalty_of_a_linear_critic_is_its_definition(device):
    critic = nn.Linear(3, 1).to(device)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[2.0, -2.0, 1.0]]))  # |w| = 3 everywhere
    real, fake = torch.randn(16, 3, device=device), torch.randn(16, 3, device=device)
    penalty = gradient_penalty(lambda x: critic(x).squeeze(1), real, fake)
    assert float(penalty.detach()) == pytest.approx((3.0 - 1.0) ** 2, rel=1e-6)
    penalty.backward()  # the graph is kept, so the penalty trains the critic
    assert critic.weight.grad is not None
    # on images the norm is over all pixels
    image_critic = nn.Sequential(nn.Flatten(), nn.Linear(64, 1, bias=False)).to(device)
    with torch.no_grad():
        image_critic[1].weight.fill_(0.25)  # |w| = sqrt(64 * 1/16) = 2
    value = gradient_penalty(lambda x: image_critic(x).squeeze(1),
                             torch.rand(4, 1, 8, 8, device=device),
                             torch.rand(4, 1, 8, 8, device=device))
    assert float(value.detach()) == pytest.approx(1.0, rel=1e-6)


def test_simultaneous_play_spirals_out_and_alternating_play_cycles():
    lr, steps = 0.1, 500
    simultaneous = gradient_play(lambda x, y: x * y, 1.0, 0.5, lr=lr, steps=steps)
    radius = simultaneous.norm(dim=1)
    t = torch.arange(steps + 1, dtype=torch.float64)
    assert torch.allclose(radius, radius[0] * (1 + lr**2) ** (t / 2), rtol=1e-10)
    alternating = gradient_play(lambda x, y: x * y, 1.0, 0.5, lr=lr, steps=steps,
                                mode="alternating")
    x, y = alternating[:, 0], alternating[:, 1]
    invariant = x**2 + y**2 - lr * x * y  # conserved: the iterates circle, never converge
    assert torch.allclose(invariant, invariant[0], rtol=1e-10)
    assert alternating.norm(dim=1).max() < 1.2 * alternating.norm(dim=1)[0]


def _digit_gan(**kwargs):
    return GAN(DCGANGenerator(8, width=8), DCGANDiscriminator(width=8), 8, (1, 8, 8), **kwargs)


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_gan_losses_are_finite_scalars_that_reach_their_players(loss, device, seed):
    model = _digit_gan(loss=loss, gradient_penalty=10.0 if loss == "wasserstein" else 0.0)
    model.to(device)
    x = 16 * torch.rand(6, 1, 8, 8, device=device)
    d_loss = model.discriminator_loss(x)
    assert d_loss.shape == () and torch.isfinite(d_loss)
    d_loss.backward()
    assert all(p.grad is None for p in model.generator.parameters())  # fakes are detached
    assert all(p.grad is not None for p in model.discriminator.parameters())
    g_loss = model.generator_loss(x)
    assert g_loss.shape == () and torch.isfinite(g_loss)


def test_gan_samples_and_refuses_likelihoods(device, seed):
    model = _digit_gan().to(device).eval()
    samples = model.sample(5)
    assert samples.shape == (5, 1, 8, 8) and samples.device.type == device.type
    assert float(samples.min()) >= 0 and float(samples.max()) <= 16
    with pytest.raises(NotImplementedError, match="implicit model"):
        model.log_prob(samples)
    with pytest.raises(NotImplementedError, match="train_gan"):
        model.loss(samples)
    toy = GAN(MLPGenerator(2, (2,)), MLPDiscriminator(2), 2, (2,)).to(device)
    assert toy.sample(7).shape == (7, 2)


def test_packing_shows_the_discriminator_m_samples_at_once(seed):
    model = GAN(MLPGenerator(2, (2,)), MLPDiscriminator(8), 2, (2,), pack=4)
    x = torch.randn(16, 2)
    assert model._packed(x).shape == (4, 8)
    assert torch.equal(model._packed(x)[1], x[4:8].flatten())
    assert torch.isfinite(model.discriminator_loss(x))
    with pytest.raises(ValueError, match="multiple of pack=4"):
        model.discriminator_loss(torch.randn(10, 2))


def test_conditional_gan_takes_labels(device, seed):
    model = ConditionalGAN(DCGANGenerator(8, width=8, context_dim=10),
                           DCGANDiscriminator(width=8, context_dim=10), 8, (1, 8, 8), 10)
    model.to(device)
    x, c = 16 * torch.rand(6, 1, 8, 8, device=device), torch.arange(6, device=device)
    assert torch.isfinite(model.discriminator_loss(x, c) + model.generator_loss(x, c))
    model.eval()
    assert model.sample(4, c=3).shape == (4, 1, 8, 8)
    assert model.sample(3, c=torch.tensor([0, 1, 2])).shape == (3, 1, 8, 8)
    assert model.sample(2).shape == (2, 1, 8, 8)
    with pytest.raises(ValueError, match="needs labels c"):
        model.discriminator_loss(x)
    with pytest.raises(ValueError, match="class labels 0..9"):
        model.sample(2, c=torch.tensor([0, 10]))


def test_infogan_codes_and_information_term(device, seed):
    noise, k, n_cont = 6, 10, 2
    model = InfoGAN(DCGANGenerator(noise + k + n_cont, width=8), DCGANDiscriminator(width=8),
                    noise, (1, 8, 8), n_categories=k, n_continuous=n_cont).to(device)
    assert model.latent_dim == noise + k + n_cont
    assert model.sample_latent(5).shape == (5, noise + k + n_cont)
    x = 16 * torch.rand(6, 1, 8, 8, device=device)
    logits, means = model.q_predict(x)
    assert logits.shape == (6, k) and means.shape == (6, n_cont)
    info = model.information_loss(64)
    assert math.log(k) * 0.5 < float(info.detach()) < math.log(k) * 3  # ~log K at initialisation
    model.eval()
    assert model.sample(4, category=3).shape == (4, 1, 8, 8)
    fixed = model.sample(3, category=torch.tensor([0, 1, 2]), continuous=torch.zeros(3, 2))
    assert fixed.shape == (3, 1, 8, 8)
    assert model.infer_category(x).shape == (6,)
    # Q is trained in the discriminator step, with the body it shares (as in the authors'
    # code): the information term reaches the body there, and the generator step moves G only
    q_params = {id(p) for p in model.q_head.parameters()}
    assert q_params <= {id(p) for p in model.discriminator_parameters()}
    assert not q_params & {id(p) for p in model.generator_parameters()}
    model.zero_grad()
    model.information_loss(8, fixed_generator=True).backward()
    assert all(p.grad is None for p in model.generator.parameters())  # G held fixed
    assert all(p.grad.abs().sum() > 0 for p in model.q_head.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.discriminator.body.parameters())  # the shared body learns too
    with pytest.raises(ValueError, match=r"continuous must have shape \(3, 2\)"):
        model.sample(3, continuous=torch.zeros(3, 1))
    with pytest.raises(TypeError, match="features"):
        InfoGAN(DCGANGenerator(20, width=8), nn.Linear(64, 1), 8, (1, 8, 8))


def test_cyclegan_losses_translation_and_cycle_error(device, seed):
    model = CycleGAN(ImageTranslator(width=8), ImageTranslator(width=8),
                     DCGANDiscriminator(width=8), DCGANDiscriminator(width=8),
                     identity_weight=5.0).to(device)
    a, b = 16 * torch.rand(6, 1, 8, 8, device=device), 16 * torch.rand(4, 1, 8, 8, device=device)
    assert torch.isfinite(model.discriminator_loss(a, b))
    assert torch.isfinite(model.generator_loss(a, b))
    assert model.translate(a, "a->b").shape == a.shape
    errors = model.cycle_error(a, b)
    assert len(errors) == 2 and all(0 <= e <= 16 for e in errors)
    with pytest.raises(ValueError, match="direction must be"):
        model.translate(a, "b->c")
    with pytest.raises(ValueError, match="same shape"):
        model.generator_loss(a, torch.rand(4, 1, 4, 4, device=device))


@pytest.mark.slow
def test_train_gan_learns_a_one_dimensional_gaussian(seed):
    data = 3.0 + 0.5 * torch.randn(4000, 1)
    # a linear generator a z + b can match N(3, 0.5^2) exactly
    model = GAN(MLPGenerator(1, (1,), hidden=()), MLPDiscriminator(1, hidden=(64,)), 1, (1,))
    history = train_gan(model, data, steps=2000, batch_size=512, lr=1e-2, device="cpu", seed=0,
                        progress=False, lr_decay=True)
    assert history.steps_run == 2000 and len(history.discriminator_loss) == 2000
    assert len(history.generator_loss) == 2000 and history.seconds > 0
    samples = model.sample(5000)
    assert float(samples.mean()) == pytest.approx(3.0, abs=0.1)
    assert float(samples.std()) == pytest.approx(0.5, abs=0.1)


def test_train_gan_on_every_device_with_labels_and_unpaired_domains(device, seed):
    cgan = ConditionalGAN(MLPGenerator(2, (2,), context_dim=3),
                          MLPDiscriminator(2, context_dim=3), 2, (2,), 3)
    x, c = torch.randn(50, 2), torch.randint(3, (50,))
    seen = []
    history = train_gan(cgan, (x, c), steps=6, batch_size=16, device=device, seed=0,
                        progress=False, n_critic=2,
                        callback=lambda step, m, h: seen.append(step), callback_every=3)
    assert seen == [3, 6] and history.steps_run == 6
    assert next(cgan.parameters()).device.type == device.type
    cycle = CycleGAN(ImageTranslator(width=4), ImageTranslator(width=4),
                     DCGANDiscriminator(width=4), DCGANDiscriminator(width=4))
    a, b = 16 * torch.rand(30, 1, 8, 8), 16 * torch.rand(20, 1, 8, 8)  # unequal: unpaired
    assert train_gan(cycle, (a, b), steps=3, batch_size=8, device=device,
                     progress=False).steps_run == 3


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: get_loss("wgan"), ValueError, "loss must be one of"),
    (lambda: train_gan(nn.Linear(2, 2), torch.randn(4, 2)), TypeError, "no discriminator_loss"),
    (lambda: train_gan(_digit_gan(), torch.rand(4, 1, 8, 8), steps=0), ValueError,
     "steps must be a positive int"),
    (lambda: train_gan(ConditionalGAN(MLPGenerator(2, (2,), context_dim=3),
                                      MLPDiscriminator(2, context_dim=3), 2, (2,), 3),
                       (torch.randn(5, 2), torch.zeros(4))), ValueError, "same length"),
    (lambda: train_gan(_digit_gan(), torch.empty(0, 1, 8, 8)), ValueError, "at least one"),
    (lambda: _digit_gan().discriminator_loss(torch.rand(3, 1, 8, 8), c=torch.zeros(3)),
     ValueError, "GAN is unconditional, so it cannot use the condition c"),
    (lambda: _digit_gan().discriminator_loss(torch.rand(3, 64)), ValueError, "shape"),
    (lambda: MLPGenerator(2, (2,), context_dim=3)(torch.randn(4, 2)), ValueError,
     r"context must have shape \(4, 3\)"),
    (lambda: MLPGenerator(2, (2,))(torch.randn(4, 2), torch.randn(4, 3)), ValueError,
     "takes no context"),
    (lambda: gradient_penalty(lambda x: x.sum(1), torch.randn(3, 2), torch.randn(4, 2)),
     ValueError, "same shape"),
    (lambda: optimal_discriminator(torch.tensor([0.0]), torch.tensor([0.0])), ValueError,
     "positive sum"),
    (lambda: gradient_play(lambda x, y: x * y, 1, 1, lr=0.1, steps=3, mode="both"), ValueError,
     "mode must be one of"),
    (lambda: GAN(MLPGenerator(2, (2,)), MLPDiscriminator(2), 0, (2,)), ValueError,
     "latent_dim must be an int >= 1"),
    (lambda: _digit_gan(gradient_penalty=-1.0), ValueError, "gradient_penalty"),
])
def test_errors_name_what_was_expected(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize(("shape", "levels", "features"), [
    ((1, 8, 8), 17, 8 * 4),       # the digits: 4x4 seed, one upsampling; 2w x 2 x 2 features
    ((1, 28, 28), 256, 36 * 4),   # MNIST: 7x7 seed, two upsamplings; 4w x 3 x 3 features
    ((3, 32, 32), 256, 32 * 4),   # colour 32x32: 4x4 seed, three upsamplings; 8w x 2 x 2
])
def test_dcgan_networks_take_the_image_shape_and_levels_of_the_data(shape, levels, features,
                                                                    device, seed):
    generator = DCGANGenerator(6, width=4, image_shape=shape, n_levels=levels).to(device)
    critic = DCGANDiscriminator(width=4, image_shape=shape, n_levels=levels).to(device)
    x = generator(torch.randn(5, 6, device=device))
    assert x.shape == (5, *shape) and x.device.type == device.type
    assert 0 <= x.min() and x.max() <= levels - 1
    assert critic.feature_dim == features and critic(x).shape == (5,)


def test_dcgan_networks_refuse_shapes_they_cannot_build():
    with pytest.raises(ValueError, match=r"image_shape must be \(C, H, W\)"):
        DCGANGenerator(4, image_shape=(8, 8))
    with pytest.raises(ValueError, match="even image side above 4"):
        DCGANDiscriminator(image_shape=(1, 7, 7))


def test_progressive_gan_is_a_4x4_gan_before_growing(device, seed):
    model = ProgressiveGAN(8, width=4).to(device).eval()
    assert model.alpha == 0.0
    z = torch.randn(5, 8, device=device)
    with torch.no_grad():
        image = model.generator(z)
        low = model.generator.low_resolution(z)
    assert image.shape == (5, 1, 8, 8) and low.shape == (5, 1, 4, 4)
    # nearest-neighbour upsampling, undone exactly by the discriminator's 2x2 pooling
    assert torch.allclose(torch.nn.functional.avg_pool2d(image, 2), low, atol=1e-5)
    x = 16 * torch.rand(5, 1, 8, 8, device=device)
    shuffled = x.clone()  # a different 8x8 image with the same 2x2 block averages
    shuffled[..., 0::2, :], shuffled[..., 1::2, :] = x[..., 1::2, :], x[..., 0::2, :]
    with torch.no_grad():
        assert torch.allclose(model.discriminator(x), model.discriminator(shuffled), atol=1e-5)
    # the layers that are not grown yet get no gradient
    model.train()
    model.generator_loss(x).backward()
    assert all(p.grad is None for p in model.generator.grow.parameters())
    model.set_alpha(1.0)
    with torch.no_grad():
        assert not torch.allclose(model.discriminator(x), model.discriminator(shuffled))
    with pytest.raises(ValueError, match=r"alpha must lie in \[0, 1\]"):
        model.set_alpha(1.5)
    with pytest.raises(ValueError, match=r"shape \(B, 1, 8, 8\)"):
        model.discriminator(torch.zeros(2, 1, 4, 4, device=device))


def test_fade_in_schedule_and_training(seed):
    assert [fade_in_alpha(s, 2, 4) for s in (0, 1, 2, 3, 5, 6, 9)] == [0, 0, 0, 0.25, 0.75,
                                                                      1, 1]
    assert fade_in_alpha(0, 0, 0) == 1.0  # no stages: grown from the start
    seen = []
    model = ProgressiveGAN(8, width=4)
    train_progressive(model, 16 * torch.rand(64, 1, 8, 8), low_steps=2, fade_steps=2,
                      high_steps=2, batch_size=16, device="cpu", progress=False,
                      callback=lambda step, m, h: seen.append((step, m.alpha)),
                      callback_every=1)
    assert seen == [(1, 0.0), (2, 0.0), (3, 0.5), (4, 1.0), (5, 1.0), (6, 1.0)]
    with pytest.raises(TypeError, match="needs a ProgressiveGAN"):
        train_progressive(GAN(MLPGenerator(2, (2,)), MLPDiscriminator(2), 2, (2,)),
                          torch.zeros(4, 2), low_steps=1, fade_steps=1, high_steps=1)

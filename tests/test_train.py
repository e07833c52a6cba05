import math

import pytest
import torch
from torch import Tensor

from gmlib.exceptions import IntegrityError
from gmlib.train import History, fit, load_checkpoint, save_checkpoint

from .conftest import DiagonalGaussian


def _data(n: int = 512) -> Tensor:
    return torch.randn(n, 2) * torch.tensor([0.5, 2.0]) + torch.tensor([1.0, -3.0])


def test_fit_learns_a_gaussian_by_maximum_likelihood(device, seed):
    model = DiagonalGaussian(2)
    data = _data()
    # full-batch Adam on the training set, validated on the same set: converges to the MLE
    history = fit(model, data, val_data=data, epochs=300, lr=0.05, batch_size=512,
                  device=device, seed=0)
    assert isinstance(history, History)
    assert history.epochs_run == 300 and len(history.val_loss) == 300
    assert history.train_loss[-1] < history.train_loss[0]
    # maximum likelihood for a Gaussian: the sample mean and (biased) standard deviation
    assert torch.allclose(model.mu.cpu(), data.mean(0), atol=1e-2)
    assert torch.allclose(model.log_sigma.exp().cpu(), data.std(0, correction=0), rtol=1e-2)
    assert model.mu.device.type == device.type and not model.training


def test_fit_is_reproducible_with_a_seed():
    runs, data = [], _data()
    for _ in range(2):
        model = DiagonalGaussian(2)
        fit(model, data, epochs=3, seed=7, device="cpu")
        runs.append(model.mu.detach().clone())
    assert torch.equal(runs[0], runs[1])


def test_early_stopping_restores_the_best_weights(seed):
    model = DiagonalGaussian(2)
    snapshots = {}

    def remember(epoch, m, history):
        snapshots[epoch] = m.mu.detach().clone()

    # a huge learning rate makes validation loss bounce, so early stopping must kick in
    history = fit(model, _data(), val_data=_data(128), epochs=200, lr=3.0, patience=3,
                  callback=remember, device="cpu", seed=0)
    assert history.stopped_early and history.epochs_run < 200
    assert history.best_val_loss == min(history.val_loss)
    assert torch.equal(model.mu.detach(), snapshots[history.best_epoch])


def test_max_steps_and_conditional_batches(seed):
    class Conditional(DiagonalGaussian):
        is_conditional = True  # a model that takes c says so (the contract's rule)

        def loss(self, x, c=None):
            assert c is not None and c.shape == (x.shape[0],)
            return -self.log_prob(x)

    history = fit(Conditional(2), (_data(100), torch.arange(100)), epochs=10, max_steps=5,
                  batch_size=10, device="cpu")
    assert history.steps_run == 5 and len(history.step_loss) == 5


def test_history_is_plain_data():
    history = History(train_loss=[1.0], best_epoch=0)
    assert history.as_dict()["train_loss"] == [1.0]


def test_a_diverging_loss_is_reported_with_its_step():
    model = DiagonalGaussian(2)
    with torch.no_grad():
        model.log_sigma.fill_(-1e4)  # sigma underflows to 0: the loss is infinite
    with pytest.raises(ValueError, match=r"training loss became (inf|nan) at step 0"):
        fit(model, _data(), epochs=1, device="cpu")


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"epochs": 0}, ValueError, "epochs must be a positive int"),
    ({"lr": -1.0}, ValueError, "lr must be a positive number"),
    ({"patience": 2}, ValueError, "patience .early stopping. needs val_data"),
    ({"batch_size": 0}, ValueError, "batch_size must be a positive int"),
    ({"lr_schedule": "linear"}, ValueError, "lr_schedule must be one of"),
])
def test_fit_argument_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        fit(DiagonalGaussian(2), _data(), **kwargs)


def test_cosine_schedule_decays_the_learning_rate_to_zero_over_the_planned_steps(seed):
    optimisers: list[torch.optim.Optimizer] = []

    def adam(params):
        optimisers.append(torch.optim.Adam(params, lr=0.1))
        return optimisers[-1]

    history = fit(DiagonalGaussian(2), _data(), epochs=3, batch_size=100, optimizer=adam,
                  lr_schedule="cosine", device="cpu", seed=0)
    assert history.steps_run == 3 * math.ceil(len(_data()) / 100)
    assert optimisers[0].param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)
    fit(DiagonalGaussian(2), _data(), epochs=4, max_steps=2, batch_size=100, optimizer=adam,
        lr_schedule="cosine", device="cpu")
    assert optimisers[1].param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_fit_needs_a_loss_and_parameters():
    with pytest.raises(TypeError, match="has no loss"):
        fit(torch.nn.Linear(2, 2), _data())

    class Frozen(DiagonalGaussian):
        def __init__(self):
            super().__init__(2)
            self.requires_grad_(False)

    with pytest.raises(ValueError, match="has no trainable parameters"):
        fit(Frozen(), _data(), device="cpu")


def test_fit_checks_the_loss_shape():
    class Scalar(DiagonalGaussian):
        def loss(self, x):
            return -self.log_prob(x).mean()

    with pytest.raises(ValueError, match=r"loss must return one value per example"):
        fit(Scalar(2), _data(), epochs=1, device="cpu")


def test_checkpoint_round_trip(tmp_path, seed):
    model = DiagonalGaussian(2)
    opt = torch.optim.Adam(model.parameters())
    fit(model, _data(), epochs=2, device="cpu")
    path = save_checkpoint(tmp_path / "run" / "model.pt", model, hparams={"dim": 2},
                           step=17, optimizer=opt, extra={"history": {"loss": [1.0, 0.5]}})
    other = DiagonalGaussian(2)
    payload = load_checkpoint(path, other, optimizer=torch.optim.Adam(other.parameters()))
    assert torch.equal(other.mu, model.mu)
    assert payload["hparams"] == {"dim": 2} and payload["step"] == 17
    assert payload["model_class"] == "DiagonalGaussian"
    assert payload["extra"]["history"]["loss"] == [1.0, 0.5]


def test_checkpoint_errors(tmp_path):
    model = DiagonalGaussian(2)
    with pytest.raises(TypeError, match=r"hparams\['f'\] must hold plain values"):
        save_checkpoint(tmp_path / "a.pt", model, hparams={"f": math.sin})
    with pytest.raises(ValueError, match="step must be a non-negative int"):
        save_checkpoint(tmp_path / "a.pt", model, step=-1)
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "missing.pt")
    torch.save({"weights": 1}, tmp_path / "foreign.pt")
    with pytest.raises(ValueError, match="is not a gmlib checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")
    path = save_checkpoint(tmp_path / "b.pt", model)
    with pytest.raises(ValueError, match="holds a DiagonalGaussian; got a Linear"):
        load_checkpoint(path, torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="holds no optimizer state"):
        load_checkpoint(path, optimizer=torch.optim.Adam(model.parameters()))
    (tmp_path / "junk.pt").write_bytes(b"not a zip file")
    with pytest.raises(IntegrityError, match="not a checkpoint that loads safely"):
        load_checkpoint(tmp_path / "junk.pt")


def test_fit_accepts_a_dataloader_and_rejects_odd_batches(seed):
    from torch.utils.data import DataLoader

    model = DiagonalGaussian(2)
    history = fit(model, DataLoader(_data(64), batch_size=16), epochs=1, device="cpu")
    assert history.steps_run == 4
    triples = DataLoader(list(zip(_data(8), _data(8), _data(8), strict=True)), batch_size=4)
    with pytest.raises(TypeError, match="each batch must be a Tensor x or a pair"):
        fit(model, triples, epochs=1, device="cpu")


def test_checkpoint_format_and_version_checks(tmp_path):
    model = DiagonalGaussian(2)
    with pytest.raises(TypeError, match="hparams keys must be strings"):
        save_checkpoint(tmp_path / "a.pt", model, hparams={1: "x"})
    path = save_checkpoint(tmp_path / "a.pt", model)
    payload = torch.load(path, weights_only=True)
    torch.save({**payload, "format": 99}, tmp_path / "future.pt")
    with pytest.raises(ValueError, match="checkpoint format 99; this gmlib"):
        load_checkpoint(tmp_path / "future.pt")
    torch.save({**payload, "gmlib_version": "99.0.0"}, tmp_path / "old.pt")
    with pytest.warns(UserWarning, match="was saved by gmlib 99.0.0"):
        load_checkpoint(tmp_path / "old.pt", model)


def test_checkpoint_detects_corruption_and_misuse(tmp_path):
    """Format 2: a content hash checked on load, and named errors for a missing entry,
    another format version and parameters of another shape."""
    model = DiagonalGaussian(3)
    with torch.no_grad():
        model.mu.copy_(torch.arange(3.0))
    path = save_checkpoint(tmp_path / "c.pt", model, hparams={"dim": 3})
    raw = path.read_bytes()
    start = raw.find(torch.arange(3.0).numpy().tobytes())  # the weights' bytes in the zip
    assert start > 0
    for offset, size in ((start, 4), (start + 4, 64)):
        corrupted = bytearray(raw)
        corrupted[offset:offset + size] = b"\x7f" * min(size, len(raw) - offset)
        bad = tmp_path / f"bad{offset}.pt"
        bad.write_bytes(bytes(corrupted))
        with pytest.raises(IntegrityError, match="content hash|loads safely"):
            load_checkpoint(bad, DiagonalGaussian(3))
    payload = torch.load(path, weights_only=True)
    for key, value, message in (
            ("format", 99, r"format 99; this gmlib .* reads formats \[1, 2\]: upgrade"),
            ("format", "2", "format '2'")):
        edited = dict(payload, **{key: value})
        torch.save(edited, tmp_path / "edited.pt")
        with pytest.raises(ValueError, match=message):
            load_checkpoint(tmp_path / "edited.pt")
    torch.save({k: v for k, v in payload.items() if k != "hparams"}, tmp_path / "lacks.pt")
    with pytest.raises(ValueError, match=r"lacks \['hparams'\]"):
        load_checkpoint(tmp_path / "lacks.pt")
    with pytest.raises(ValueError, match=r"mu: \(3,\) in the file, \(4,\) in the model"):
        load_checkpoint(path, DiagonalGaussian(4))
    old = dict(payload, format=1)
    del old["sha256"]
    torch.save(old, tmp_path / "old.pt")
    with pytest.warns(UserWarning, match="format-1 checkpoint"):
        load_checkpoint(tmp_path / "old.pt", DiagonalGaussian(3))


def test_upgrade_checkpoint_adds_the_hash(tmp_path):
    from gmlib.train.checkpoint import upgrade_checkpoint

    model = DiagonalGaussian(2)
    path = save_checkpoint(tmp_path / "m.pt", model, hparams={"dim": 2})
    old = dict(torch.load(path, weights_only=True), format=1, gmlib_version="0.1.0")
    del old["sha256"]
    torch.save(old, path)
    upgrade_checkpoint(path)
    payload = load_checkpoint(path, DiagonalGaussian(2))  # no warning: format 2, hashed
    assert payload["format"] == 2 and payload["extra"]["upgraded_from"] == "0.1.0"


def test_load_model_rebuilds_from_the_recorded_configuration(tmp_path):
    """Models record their constructor's arguments (gmlib.config), so a checkpoint alone
    rebuilds them, without the benchmark registry."""
    from gmlib.autoregressive import MADE
    from gmlib.train import load_model
    from gmlib.vae import build_vae

    torch.manual_seed(0)
    model = MADE((1, 4, 4), 3, hidden_sizes=(8,), n_masks=2)
    assert model.init_config["args"]["hidden_sizes"] == [8] and model.init_config["rebuildable"]
    path = save_checkpoint(tmp_path / "made.pt", model)
    again = load_model(path)
    assert type(again) is MADE and again.init_config == model.init_config
    x = torch.randint(3, (5, 1, 4, 4)).float()
    assert torch.equal(again.log_prob(x), model.eval().log_prob(x))
    vae = build_vae((1, 4, 4), likelihood="bernoulli")
    assert not vae.init_config["rebuildable"]  # built from an encoder and a decoder
    with pytest.raises(ValueError, match="records no configuration to rebuild its VAE"):
        load_model(save_checkpoint(tmp_path / "vae.pt", vae))

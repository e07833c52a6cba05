"""LatentFlowMatching: the frozen autoencoder, the standardised codes, and its refusals."""

from __future__ import annotations

import pytest
import torch

from gmlib.diffusion import FlowMatching, LatentFlowMatching
from gmlib.exceptions import NotFittedError
from gmlib.nn import MLP
from gmlib.nn.unet import ConditionedMLP
from gmlib.vae import Autoencoder


def _model(code_dim: int = 3) -> LatentFlowMatching:
    autoencoder = Autoencoder(MLP(64, (16,), code_dim), MLP(code_dim, (16,), 64), (1, 8, 8),
                              input_scale=1 / 16)
    flow = FlowMatching(ConditionedMLP(code_dim, hidden=16, n_layers=1), (code_dim,))
    return LatentFlowMatching(autoencoder, flow, 17)


def test_codes_are_standardised_and_samples_are_grey_levels(seed):
    model = _model()
    x = torch.randint(0, 17, (40, 1, 8, 8)).float()
    model.fit_scaling(x)
    z = model.encode(x)
    assert torch.allclose(z.mean(0), torch.zeros(3), atol=1e-5)
    assert torch.allclose(z.std(0), torch.ones(3), atol=1e-5)
    samples = model.sample(5, steps=2)
    assert samples.shape == (5, 1, 8, 8)
    assert torch.equal(samples, samples.round()) and samples.min() >= 0 and samples.max() <= 16


def test_only_the_flow_learns(seed):
    model = _model().fit_scaling(torch.randint(0, 17, (10, 1, 8, 8)).float())
    model.train()
    assert not model.autoencoder.training
    model.loss(torch.randint(0, 17, (4, 1, 8, 8)).float()).sum().backward()
    assert all(p.grad is None for p in model.autoencoder.parameters())
    assert all(p.grad is not None for p in model.flow.parameters())


def test_misuse_is_refused(seed):
    model = _model()
    x = torch.randint(0, 17, (4, 1, 8, 8)).float()
    with pytest.raises(NotFittedError, match="fit_scaling"):
        model.loss(x)
    with pytest.raises(NotFittedError, match="fit_scaling"):
        model.sample(2)
    with pytest.raises(NotImplementedError, match="no p\\(x\\)"):
        model.log_prob(x)
    with pytest.raises(ValueError, match="levels|0..16"):
        model.fit_scaling(x + 17)
    with pytest.raises(ValueError, match="real-valued"):
        LatentFlowMatching(model.autoencoder, FlowMatching(ConditionedMLP(3), (3,),
                                                           n_levels=17), 17)
    wrong = _model()
    wrong.flow = FlowMatching(ConditionedMLP(5), (5,))
    with pytest.raises(ValueError, match="3-dimensional codes; the flow models"):
        LatentFlowMatching(wrong.autoencoder, FlowMatching(ConditionedMLP(5), (5,)),
                           17).fit_scaling(x)

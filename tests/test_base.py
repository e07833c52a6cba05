import pytest
import torch
from torch import Tensor

from gmlib.base import DensityModel, ImplicitModel, LatentVariableModel
from gmlib.utils import logmeanexp
from gmlib.validation import Support


class _Latent(LatentVariableModel):
    """p(z) = N(0,1), p(x|z) = N(z,1) so p(x) = N(0, 2); q(z|x) = N(x/2, 1/2) is exact."""

    def __init__(self) -> None:
        super().__init__((1,), Support.real())

    def _joint_minus_q(self, x: Tensor, k: int) -> Tensor:
        normal = torch.distributions.Normal
        q = normal(x / 2, 0.5**0.5)
        z = q.sample((k,))
        return (normal(0, 1).log_prob(z) + normal(z, 1).log_prob(x) - q.log_prob(z)).sum(-1)

    def _elbo(self, x: Tensor) -> Tensor:
        return self._joint_minus_q(x, 1)[0]

    def _iwae_bound(self, x: Tensor, k: int) -> Tensor:
        return logmeanexp(self._joint_minus_q(x, k), dim=0)

    def _sample(self, n: int) -> Tensor:
        return torch.randn(n, 1) * 2**0.5


class _Implicit(ImplicitModel):
    def __init__(self) -> None:
        super().__init__((2,), Support.real())

    def _sample(self, n: int) -> Tensor:
        return torch.zeros(n, 2)

    def loss(self, x: Tensor) -> Tensor:
        return x.sum(1)


def test_density_model_contract(gaussian_model, seed):
    x = torch.randn(5, 2)
    assert gaussian_model.log_prob(x).shape == (5,)
    assert torch.allclose(gaussian_model.loss(x), -gaussian_model.log_prob(x))
    samples = gaussian_model.sample(7)
    assert samples.shape == (7, 2) and not samples.requires_grad


def test_density_model_validates_its_input(gaussian_model):
    with pytest.raises(ValueError, match=r"x must have shape \(batch, 2\); got \(2,\)"):
        gaussian_model.log_prob(torch.zeros(2))
    with pytest.raises(ValueError, match="x must hold finite values"):
        gaussian_model.log_prob(torch.tensor([[0.0, float("nan")]]))
    with pytest.raises(TypeError, match=r"x must be a torch.Tensor \(or a numpy array"):
        gaussian_model.log_prob({"x": 0.0})
    # the input rule: lists and numpy arrays are converted, like tensors of the same values
    as_list = gaussian_model.log_prob([[0.0, 0.5]])
    assert torch.equal(as_list, gaussian_model.log_prob(torch.tensor([[0.0, 0.5]])))
    for bad in (-3, 2.5, True):
        with pytest.raises(ValueError, match="n must be an int >= 0"):
            gaussian_model.sample(bad)
    assert gaussian_model.sample(0).shape == (0, 2)


def test_model_device_follows_its_parameters(gaussian_model, device):
    assert gaussian_model.to(device).device.type == device.type
    assert gaussian_model.sample(3).device.type == device.type


def test_latent_variable_model_bounds(seed):
    model = _Latent()
    x = torch.tensor([[0.3], [-1.2]])
    exact = torch.distributions.Normal(0, 2**0.5).log_prob(x).squeeze(1)
    # q is the exact posterior here, so every bound is tight (up to Monte Carlo noise: none)
    assert torch.allclose(model.elbo(x), exact, atol=1e-5)
    assert torch.allclose(model.iwae_bound(x, 10), exact, atol=1e-5)
    assert torch.allclose(model.loss(x), -model.elbo(x), atol=1e-5)
    with pytest.raises(NotImplementedError, match="has no tractable log_prob.*iwae_bound"):
        model.log_prob(x)
    with pytest.raises(ValueError, match="k must be a positive int; got 0"):
        model.iwae_bound(x, 0)


def test_implicit_model_refuses_log_prob_with_the_reason():
    model = _Implicit()
    assert model.sample(4).shape == (4, 2)
    with pytest.raises(NotImplementedError, match="implicit model.*defines no density"):
        model.log_prob(torch.zeros(1, 2))


def test_abstract_interfaces_cannot_be_instantiated():
    with pytest.raises(TypeError):
        DensityModel((2,), Support.real())

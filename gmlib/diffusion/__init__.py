"""Diffusion models and flow matching (lecture 11).

* `schedules`: linear, cosine and log-SNR noise schedules as float64 buffers.
* `gaussian`: `GaussianDiffusion`, DDPM with the DDIM sampler, its variational bound with a
  discretised decoder, and classifier-free guidance.
* `flow_matching`: `FlowMatching`, conditional flow matching with an ODE sampler.
* `likelihood`: the Gaussian KL and the discretised Gaussian decoder.
* `analytic`: the exact denoiser and velocity for Gaussian data (the known optimum).
* `latent`: `LatentFlowMatching`, flow matching on an autoencoder's code (lecture 16).
* `masked`: `MaskedDiffusion`, absorbing-state diffusion on discrete data (lecture 17).
* `fast`: few-step sampling, DPM-Solver++(2M) and rectified flow (lecture 17).
"""

from __future__ import annotations

from gmlib.diffusion.analytic import (
    GaussianDataDenoiser,
    GaussianDataVelocity,
    gaussian_posterior_variance,
)
from gmlib.diffusion.fast import Reflow, dpm_solver_sample, reflow_pairs
from gmlib.diffusion.flow_matching import ODE_METHODS, FlowMatching
from gmlib.diffusion.gaussian import DiffusionStep, ElboTerms, GaussianDiffusion
from gmlib.diffusion.latent import LatentFlowMatching
from gmlib.diffusion.likelihood import discretized_gaussian_log_likelihood, normal_kl
from gmlib.diffusion.masked import MaskedConvDenoiser, MaskedDiffusion
from gmlib.diffusion.schedules import (
    SCHEDULES,
    NoiseSchedule,
    cosine_betas,
    linear_betas,
    log_snr_betas,
    make_schedule,
)

__all__ = ["ODE_METHODS", "SCHEDULES", "DiffusionStep", "ElboTerms", "FlowMatching",
           "GaussianDataDenoiser", "GaussianDataVelocity", "GaussianDiffusion",
           "LatentFlowMatching", "MaskedConvDenoiser", "MaskedDiffusion", "NoiseSchedule",
           "Reflow", "cosine_betas", "discretized_gaussian_log_likelihood", "dpm_solver_sample",
           "gaussian_posterior_variance", "linear_betas", "log_snr_betas", "make_schedule",
           "normal_kl", "reflow_pairs"]

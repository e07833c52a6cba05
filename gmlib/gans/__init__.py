"""Generative adversarial networks (lecture 09): networks, losses, models and their trainer.

* `losses`: minimax, non-saturating, Wasserstein (+ gradient penalty), hinge, least squares.
* `networks`: MLP and DCGAN-style generators and discriminators, and an image translator.
* `model`: `GAN` and `ConditionalGAN`; `infogan`: `InfoGAN`; `cyclegan`: `CycleGAN`.
* `progressive`: `ProgressiveGAN`, a 4x4 GAN grown to 8x8 with a fade-in.
* `trainer`: `train_gan`, the alternating two-player loop with both losses in its history.
* `games`: gradient play on small two-player games (the bilinear saddle point).
"""

from __future__ import annotations

from gmlib.gans.cyclegan import CycleGAN
from gmlib.gans.games import gradient_play
from gmlib.gans.infogan import InfoGAN
from gmlib.gans.losses import LOSSES, AdversarialLoss, get_loss, gradient_penalty
from gmlib.gans.model import GAN, ConditionalGAN
from gmlib.gans.networks import (
    DCGANDiscriminator,
    DCGANGenerator,
    ImageTranslator,
    MLPDiscriminator,
    MLPGenerator,
)
from gmlib.gans.progressive import ProgressiveGAN, train_progressive
from gmlib.gans.trainer import GANHistory, train_gan

__all__ = ["GAN", "LOSSES", "AdversarialLoss", "ConditionalGAN", "CycleGAN", "DCGANDiscriminator",
           "DCGANGenerator", "GANHistory", "ImageTranslator", "InfoGAN", "MLPDiscriminator",
           "MLPGenerator", "ProgressiveGAN", "get_loss", "gradient_penalty", "gradient_play",
           "train_gan", "train_progressive"]

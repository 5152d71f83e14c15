"""Training losses on [0, 1] RGB images: MS-SSIM, VGG feature and the papers' combinations."""

from lsid_keras.losses.joint import JointLoss
from lsid_keras.losses.ms_ssim import MSSSIMLoss, ms_ssim
from lsid_keras.losses.multi_criterion import MultiCriterionLoss
from lsid_keras.losses.terms import CompositeLoss, LossTerm, loss_term_metrics
from lsid_keras.losses.vgg_feature import VGGFeatureLoss, VGGWeightsUnavailableError

__all__ = [
    "CompositeLoss",
    "JointLoss",
    "LossTerm",
    "MSSSIMLoss",
    "MultiCriterionLoss",
    "VGGFeatureLoss",
    "VGGWeightsUnavailableError",
    "loss_term_metrics",
    "ms_ssim",
]

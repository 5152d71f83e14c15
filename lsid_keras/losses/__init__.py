"""Training losses on [0, 1] RGB images: MS-SSIM, VGG feature and the papers' combinations."""

from lsid_keras.losses.joint import JointLoss
from lsid_keras.losses.ms_ssim import MSSSIMLoss
from lsid_keras.losses.multi_criterion import MultiCriterionLoss
from lsid_keras.losses.vgg_feature import VGGFeatureLoss, VGGWeightsUnavailableError

__all__ = [
    "JointLoss",
    "MSSSIMLoss",
    "MultiCriterionLoss",
    "VGGFeatureLoss",
    "VGGWeightsUnavailableError",
]

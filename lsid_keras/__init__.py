"""lsid-keras: learned extreme low-light photography in Keras.

Short-exposure camera RAW in, clean sRGB out. Implements the SID U-Net (Chen et al., 2018),
Zamir et al.'s multi-criterion training and GIA-Net (Meng et al., 2020) with its ablations.
"""

__version__ = "0.1.0"

"""lsid-keras: learned extreme low-light photography in Keras.

Short-exposure camera RAW in, clean sRGB out. Implements the SID U-Net (Chen et al., 2018),
Zamir et al.'s multi-criterion training and GIA-Net (Meng et al., 2020) with its ablations.

`import lsid_keras` is enough for `keras.models.load_model("model.keras")` to rebuild the
package's layers and losses: they are registered with Keras as soon as Keras is imported (at
once if it already is), without importing TensorFlow here, so `lsid --help` stays fast.
"""

from lsid_keras.import_hooks import after_import

__version__ = "0.2.0"


def _register_keras_objects():
    import lsid_keras.layers  # noqa: F401 - registers the custom layers
    import lsid_keras.losses  # noqa: F401 - registers the custom losses


after_import("keras", _register_keras_objects)

"""Mobile export: fixed-shape TFLite models with an embedded model card, verified.

`export_model` (behind `lsid export` and `export/convert.py`) converts a trained `.keras`
model to fp32 / fp16 / dynamic-range / int8 `.tflite` files using builtin operators only,
embeds one JSON model card in each (`card`), verifies each against the Keras model
(`verify`) and writes only the variants that pass. `read_card` reads a card back without
TensorFlow; `LiteRTPredictor` runs an export inside the one tiler (`lsid_keras.tiling`), so
`lsid enhance --model x.tflite` works like a `.keras` model. A global model (GIA-Net,
SE-UNet) is exported as two files per variant, the main file (its decoder) and
`<stem>_<quant>_encoder`, run with one encoder pass per tile so that its tiles pool over the
whole frame (`exporter`, `lsid_keras.tiling.run_tiled_split`).
"""

from lsid_keras.export.card import CARD_NAME, card_path, read_card
from lsid_keras.export.errors import ExportError
from lsid_keras.export.exporter import DEFAULT_QUANTIZATIONS, export_model
from lsid_keras.export.tflite_file import operator_names

__all__ = [
    "CARD_NAME",
    "DEFAULT_QUANTIZATIONS",
    "ExportError",
    "card_path",
    "export_model",
    "operator_names",
    "read_card",
]

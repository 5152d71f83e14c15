"""The error every export step raises for bad input: one line that starts with the file."""

from lsid_keras.errors import LsidError


class ExportError(LsidError, ValueError):
    """A model, card, data set or output folder that cannot be exported, read or verified.

    The message starts with the path it is about and says what was expected, e.g.
    `"model.tflite: no lsid_card metadata, ..."`.
    """

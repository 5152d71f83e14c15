"""The pretrained model that ships with the package, used when no `--model` is given.

`gia_net_sony_w16.keras`: a GIA-Net of width 16 (2.07 M parameters, float32, uncompiled) for
the Sony alpha 7S II as `lsid synth --camera sony` emulates it: trained on synthetic RAW pairs,
not on the SID dataset. Its recipe is `gia_net_sony_w16.toml` (run by
`scripts/train_shipped_model.sh`); `gia_net_sony_w16.json` records how long it trained, its
training curve and its figures on unseen photos (`scripts/ship_pretrained.py` writes both
files from a run folder). It takes Bayer frames only: there is no shipped X-Trans model.
"""

import json
import os

from lsid_keras.errors import LsidError

#: The shipped model's stem: `<stem>.keras`, `<stem>.json` (provenance), `<stem>.toml` (recipe).
SHIPPED_STEM = "gia_net_sony_w16"
#: The camera the shipped model learned (a `lsid_keras.raw.cameras.CAMERA_SPECS` name).
SHIPPED_CAMERA = "sony"
#: The CFA kind the shipped model takes.
SHIPPED_CFA_KIND = "bayer"

_FOLDER = os.path.dirname(os.path.abspath(__file__))


class PretrainedError(LsidError, ValueError):
    """No shipped model for the request (e.g. an X-Trans frame), or its file is missing."""


def shipped_path(extension=".keras"):
    """Path of the shipped model's file with `extension` (".keras", ".json", ".toml")."""
    return os.path.join(_FOLDER, SHIPPED_STEM + extension)


def shipped_model_path():
    """The shipped `.keras` model's path.

    Raises:
        PretrainedError: the file is missing (an install that left out package data).
    """
    path = shipped_path()
    if not os.path.isfile(path):
        raise PretrainedError(f"{path}: the shipped pretrained model is missing from this "
                              "install; reinstall lsid-keras or pass --model")
    return path


def shipped_provenance():
    """The shipped model's provenance (`<stem>.json`: epochs, curve, figures) as a dict, or
    an empty dict when absent."""
    try:
        with open(shipped_path(".json"), encoding="utf-8") as file:
            return json.load(file)
    except (OSError, ValueError):
        return {}

"""Every Python snippet in README.md and docs/*.md runs, each in a fresh interpreter, as a reader
would run it (a snippet that appears on several pages runs once).

The snippets name files a reader has (`night.dng`, a prepared cache `sid-cache/sony-train`, a
saved `gia_net.keras`); the fixture makes small ones in the working folder. Only sizes are
shrunk, by the substitutions below, each of which must still match the README (so a snippet
that changes is re-checked here, not silently skipped). A fresh interpreter per snippet is what
catches a promise such as "`keras.models.load_model` works after `import lsid_keras`".
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from raw_fixtures import random_mosaic, write_test_dng
from sid_fixtures import write_sid_dataset

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]
#: (text in a README snippet, what the test runs instead): full-size models and paper-length
#: training shrunk to test size; nothing else is changed.
SHRINK = (
    ('get_model("gia_net", camera="sony")', 'get_model("gia_net", camera="sony", width=4)'),
    ("crop_size=512", "crop_size=16"),
    ("epochs=4000", "epochs=1"),
)


def python_snippets(text):
    """The ```python blocks of a Markdown text, in order."""
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


@pytest.fixture(scope="module")
def reader_folder(tmp_path_factory):
    from lsid_keras.data.cache import prepare_cache
    from lsid_keras.data.sid_list import read_pair_list
    from lsid_keras.models import get_model

    folder = tmp_path_factory.mktemp("reader")
    write_test_dng(folder, "night.dng", random_mosaic((64, 96), 16383), "RGGB", 512, 16383)
    pairs = read_pair_list(write_sid_dataset(folder / "SID", scenes=1))
    prepare_cache(pairs, folder / "sid-cache" / "sony-train", workers=0, progress=False)
    get_model("gia_net", camera="sony", width=4).save(folder / "gia_net.keras")
    return folder


def doc_snippets():
    """{snippet: "page:index" where it first appears} over README.md and docs/*.md."""
    snippets = {}
    for document in DOCUMENTS:
        for index, code in enumerate(python_snippets(document.read_text(encoding="utf-8"))):
            snippets.setdefault(code, f"{document.relative_to(ROOT)}:{index + 1}")
    return snippets


SNIPPETS = doc_snippets()


def test_readme_has_the_snippets_this_test_expects():
    assert python_snippets(README.read_text())  # the front page shows code too
    assert len(SNIPPETS) >= 4
    joined = "\n".join(SNIPPETS)
    for text, _ in SHRINK:
        assert text in joined, f"README and docs no longer contain {text!r}; update SHRINK"


@pytest.mark.parametrize("code", list(SNIPPETS), ids=list(SNIPPETS.values()))
def test_readme_snippet_runs(reader_folder, code):
    where = SNIPPETS[code]
    for text, replacement in SHRINK:
        code = code.replace(text, replacement)
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", code], cwd=reader_folder, env=environment,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"snippet {where} failed:\n{code}\n" \
        f"{result.stderr[-3000:]}"

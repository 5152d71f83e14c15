"""The Android demo's README export step works as written, on the shipped model.

android_demo/README.md tells a reader to export a model and copy its files into the app's
assets. This test takes that ```bash block, runs its `lsid export` command from the
repository root as the README says (the one substitution: the output folder goes under
tmp_path instead of the working tree), and requires every file its `cp` lines copy to exist,
copied under names the app looks for: the main pair as model.tflite / model.card.json, and a
global model's encoder file and card under the names the main card records.
"""

import hashlib
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "android_demo" / "README.md"
ASSETS = "android_demo/app/src/main/assets"
#: Gradle's published sha256 of the 8.13 wrapper jar (gradle.org/release-checksums).
WRAPPER_JAR_SHA256 = "81a82aaea5abcc8ff68b3dfcb58b3c3c429378efd98e7433460610fecd7ae45f"


def export_block(text):
    """The README's ```bash block that runs `lsid export`, as a list of shell commands."""
    blocks = [b for b in _bash_blocks(text) if "lsid export" in b]
    assert len(blocks) == 1, "android_demo/README.md should have one bash block with lsid export"
    joined = blocks[0].replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            commands.append(shlex.split(line))
    return commands


def _bash_blocks(text):
    return re.findall(r"^\s*```bash\n(.*?)^\s*```", text, flags=re.DOTALL | re.MULTILINE)


def test_readme_export_block_is_what_this_test_expects():
    commands = export_block(README.read_text())
    export, *copies = commands
    assert export[:2] == ["lsid", "export"]
    assert export[export.index("--model") + 1] == "lsid_keras/pretrained/gia_net_sony_w16.keras"
    assert "--representative" not in export, "fp16 needs no calibration data a reader lacks"
    assert copies and all(c[0] == "cp" and len(c) == 3 for c in copies)


def test_readme_export_command_runs_and_writes_what_cp_copies(tmp_path):
    export, *copies = export_block(README.read_text())
    out = export[export.index("--out") + 1]
    argv = list(export)
    argv[argv.index("--out") + 1] = str(tmp_path / "mobile")
    # `lsid` is the package's console script; run it with this interpreter.
    result = subprocess.run([sys.executable, "-m", "lsid_keras", *argv[1:]], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr

    copied = {}
    for _, source, destination in copies:
        assert source.startswith(out.rstrip("/") + "/"), f"cp {source}: not from {out}"
        local = tmp_path / "mobile" / source[len(out.rstrip("/")) + 1:]
        assert local.is_file(), f"README copies {source}, the export did not write it: " + \
            ", ".join(sorted(p.name for p in (tmp_path / "mobile").iterdir()))
        assert destination.startswith(ASSETS), destination
        name = destination[len(ASSETS):].strip("/") or local.name
        copied[name] = local
    assert (ROOT / ASSETS).is_dir()

    assert {"model.tflite", "model.card.json"} <= set(copied)
    card = json.loads(copied["model.card.json"].read_text())
    branch = card.get("global_branch")
    if branch:  # the shipped GIA-Net is global: its encoder pair, under the card's names
        encoder = branch["encoder_file"]
        assert encoder in copied
        assert encoder.removesuffix(".tflite") + ".card.json" in copied


@pytest.mark.parametrize("script", ["gradlew", "gradlew.bat"])
def test_gradle_wrapper_is_committed(script):
    """The README's ./gradlew works: script, jar and the pinned Gradle version."""
    demo = ROOT / "android_demo"
    assert (demo / script).is_file()
    jar = (demo / "gradle" / "wrapper" / "gradle-wrapper.jar").read_bytes()
    assert hashlib.sha256(jar).hexdigest() == WRAPPER_JAR_SHA256
    properties = (demo / "gradle" / "wrapper" / "gradle-wrapper.properties").read_text()
    assert "gradle-8.13-bin.zip" in properties

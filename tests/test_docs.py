"""The docs' shell commands are real: every `lsid` line parses, and the runnable ones run.

Every fenced shell block (```bash, ```sh, ```console, ```shell, indented ones included) of
README.md, docs/*.md and android_demo/README.md is collected. Each `lsid` line must parse with
the real parser (`lsid_keras.cli.build_parser`): the command exists, every option is spelled
exactly as the parser has it (argparse would otherwise accept an abbreviation) and every value
passes its type and choices.

The lines that can run on small synthetic data (`enhance`, `evaluate`, `synth`, `prepare`,
`export`) then run, block by block and in order, in a sandbox folder: every path a line names
is moved under the sandbox (so `mobile/` written by an export line is what the next line's
`--model mobile/....tflite` reads), and inputs the block does not make itself are fixtures
(a small dark DNG for a RAW file, a tiny model saved under the file's name for a `.keras`,
a small SID-style dataset with Sony and Fuji lists for a dataset root, a prepared cache for a
cache, a few photos for an `--images` folder, an export of the tiny model for a `.tflite`).
Only sizes shrink: `--scenes` and `--size` for `synth`, `--tile` for `export` (its full-frame
default would verify 784-pixel tiles). Other `lsid` commands (`train`, `quickstart`, `photos`,
`models`) are checked by the parser only.
"""

import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest
from sid_fixtures import write_sid_dataset

from lsid_keras.tiling import DEFAULT_HALO

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
             ROOT / "android_demo" / "README.md"]
SHELL_FENCES = ("bash", "sh", "shell", "console")
RUNNABLE = ("enhance", "evaluate", "synth", "prepare", "export")
#: Options whose value is a file or folder the command reads (made as fixtures when missing).
INPUT_OPTIONS = ("--model", "--data", "--representative", "--images", "--init-model")
#: Options whose value is a file or folder the command writes.
OUTPUT_OPTIONS = ("--out", "-o", "--output", "--cache", "--save-outputs")
SYNTH_SCENES = 8  # at most this many scenes: the 0.7 / 0.2 / 0.1 split still has test pairs
#: The smallest tile the default halo allows on the 16-pixel grid (144 at halo 64).
EXPORT_TILE = str(2 * DEFAULT_HALO + 16)


def shell_blocks(text):
    """The fenced shell blocks of a Markdown text, dedented, as (first line number, text)."""
    blocks = []
    pattern = re.compile(r"^( *)```(\w+)[^\n]*\n(.*?)^\1```", re.DOTALL | re.MULTILINE)
    for match in pattern.finditer(text):
        if match[2] not in SHELL_FENCES:
            continue
        indent = len(match[1])
        body = "\n".join(line[indent:] for line in match[3].splitlines())
        blocks.append((text[:match.start()].count("\n") + 1, body))
    return blocks


def shell_commands(block):
    """The commands of a block: continuation lines joined, comments dropped, split by shlex."""
    commands = []
    for line in block.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if words and words[0] == "$":  # a console prompt
            words = words[1:]
        if words:
            commands.append(words)
    return commands


def lsid_lines():
    """(document, line number, argv) of every `lsid` command in the docs."""
    found = []
    for document in DOCUMENTS:
        for line, block in shell_blocks(document.read_text(encoding="utf-8")):
            for words in shell_commands(block):
                if words[0] == "lsid":
                    found.append((document, line, words[1:]))
    return found


def runnable_blocks():
    """(document, line number, [argv, ...]) of the blocks with a command this test runs."""
    found = []
    for document in DOCUMENTS:
        for line, block in shell_blocks(document.read_text(encoding="utf-8")):
            commands = [w[1:] for w in shell_commands(block) if w[0] == "lsid"]
            commands = [argv for argv in commands if _command(argv) in RUNNABLE]
            if commands:
                found.append((document, line, commands))
    return found


def _label(document, line):
    return f"{document.relative_to(ROOT)}:{line}"


def _command(argv):
    """The subcommand of an `lsid` argv (after global options such as --verbose)."""
    return next((word for word in argv if not word.startswith("-")), None)


def _subparsers(parser):
    import argparse

    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


def check_lsid_line(argv):
    """Raises AssertionError unless `lsid ARGV` parses exactly as written."""
    from lsid_keras.cli import build_parser

    parser = build_parser()
    command = _command(argv)
    commands = _subparsers(parser)
    known = {s for a in parser._actions for s in a.option_strings}
    if command is not None or not {"--help", "-h", "--version"} & set(argv):
        assert command in commands, f"no command {command!r}; the parser has {sorted(commands)}"
        known |= {s for a in commands[command]._actions for s in a.option_strings}
    for word in argv:
        if word == "--":
            break
        option = word.split("=", 1)[0]
        if option.startswith("-") and not re.fullmatch(r"-\d.*", option):
            assert option in known, f"lsid {command} has no option {option}"
    try:
        parser.parse_args(argv)
    except SystemExit as stop:
        if stop.code == 0:  # --help, --version
            return
        raise AssertionError(f"lsid {' '.join(argv)} does not parse (exit {stop.code})") from None


LSID_LINES = lsid_lines()


def test_the_docs_have_the_commands_this_test_expects():
    commands = {_command(argv) for _, _, argv in LSID_LINES}
    assert set(RUNNABLE) | {"train", "quickstart"} <= commands
    documents = {document for document, _, _ in LSID_LINES}
    assert ROOT / "README.md" in documents and ROOT / "android_demo" / "README.md" in documents


@pytest.mark.parametrize("document, line, argv", LSID_LINES,
                         ids=[_label(d, n) + " " + " ".join(a[:1]) for d, n, a in LSID_LINES])
def test_lsid_line_parses(document, line, argv, capsys):
    check_lsid_line(argv)


@pytest.mark.parametrize("argv, message", [
    (["enhance", "x.dng", "--ouptut", "y.jpg"], "has no option --ouptut"),
    (["enhance", "x.dng", "--rat", "2", "-o", "y.jpg"], "has no option --rat"),  # abbreviation
    (["synth", "out", "--camera", "canon"], "does not parse"),
    (["enhanse", "x.dng"], "no command"),
])
def test_a_wrong_line_fails(argv, message, capsys):
    with pytest.raises(AssertionError, match=message):
        check_lsid_line(argv)


def test_blocks_are_found_indented_and_with_continuations():
    text = ("x\n\n   ```bash\n   lsid enhance a.dng \\\n       -o b.jpg  # c\n   ```\n"
            "```python\nx\n```\n")
    blocks = shell_blocks(text)
    assert [line for line, _ in blocks] == [3]
    assert shell_commands(blocks[0][1]) == [["lsid", "enhance", "a.dng", "-o", "b.jpg"]]


class Sandbox:
    """Runs one block's commands with every path moved under `root`, fixtures made on demand."""

    def __init__(self, root, fixtures):
        self.root = Path(root)
        self.fixtures = fixtures

    def path(self, text):
        """Where a path of the docs lives in the sandbox (absolute ones too)."""
        relative = text.lstrip("/")
        moved = self.root / relative
        return str(moved) + ("/" if text.endswith("/") else "")

    def materialise(self, command, option, value):
        """Makes the input `value` (already moved) if the block has not made it."""
        target = Path(value)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        if option == "--model" and value.endswith(".tflite"):
            self.fixtures.tflite(target)
        elif option in ("--model", "--init-model"):
            shutil.copyfile(self.fixtures.model, target)
        elif option == "--representative":
            shutil.copytree(self.fixtures.cache, target)
        elif option == "--images":
            shutil.copytree(self.fixtures.photos, target)
        elif option in ("--data", "root"):
            shutil.copytree(self.fixtures.dataset, target)
        elif option == "inputs":
            shutil.copyfile(self.fixtures.raw, target)

    def argv(self, argv):
        """`argv` with paths moved, inputs made and sizes shrunk."""
        from lsid_keras.cli import build_parser

        command = _command(argv)
        sub = _subparsers(build_parser())[command]
        takes_value = {s for a in sub._actions if a.option_strings and a.nargs != 0
                       for s in a.option_strings}
        out, words, positional, index = [], list(argv), [], 0
        while index < len(words):
            word = words[index]
            if word in takes_value:
                count = 2 if word == "--ratio-range" else 1
                values = words[index + 1:index + 1 + count]
                if word in INPUT_OPTIONS:
                    values = [self.path(v) for v in values]
                    self.materialise(command, word, values[0])
                elif word in OUTPUT_OPTIONS:
                    values = [self.path(v) for v in values]
                    if values[0].endswith("/"):
                        Path(values[0]).mkdir(parents=True, exist_ok=True)
                elif word == "--scenes" and command == "synth":
                    values = [str(min(int(values[0]), SYNTH_SCENES))]
                elif (word, command) in (("--size", "synth"), ("--tile", "export")):
                    index += 1 + count  # replaced by a small size below
                    continue
                out += [word, *values]
                index += 1 + count
                continue
            if word.startswith("-") or word == command:
                out.append(word)
            else:
                positional.append(len(out))
                out.append(word)
            index += 1
        for at in positional:  # enhance: RAW inputs; prepare: the dataset root; synth: out
            out[at] = self.path(out[at])
            if command == "enhance":
                self.materialise(command, "inputs", out[at])
            elif command == "prepare":
                self.materialise(command, "root", out[at])
        if command == "synth":
            fuji = "fuji" in out
            out += ["--size", "96x96" if fuji else "64x96", "--quiet"]
            if "--scenes" not in out:
                out += ["--scenes", str(SYNTH_SCENES)]
        if command == "export":
            out += ["--tile", EXPORT_TILE, "--quiet"]
        if command == "evaluate" and "--out" not in out:  # its default is ./runs/evaluate
            out += ["--out", str(self.root / "runs" / "evaluate")]
        if command in ("enhance", "evaluate", "prepare") and "--quiet" not in out:
            out.append("--quiet")
        return out


class Fixtures:
    """Small inputs, made once per module: a dark DNG, a tiny model, a dataset and its cache,
    photos, and one export of the tiny model."""

    def __init__(self, root):
        from lsid_keras.data.cache import prepare_cache
        from lsid_keras.data.sid_list import read_pair_list
        from lsid_keras.data.synth import synthesize_dataset
        from lsid_keras.image_io import write_image
        from lsid_keras.models import get_model

        root = Path(root)
        self.root = root
        self.dataset = root / "sid"
        listing = write_sid_dataset(self.dataset, scenes=2)
        for split in ("test", "val"):
            shutil.copyfile(listing, self.dataset / f"Sony_{split}_list.txt")
        self.raw = next((self.dataset / "Sony" / "short").glob("*.dng"))
        synthesize_dataset(self.dataset, camera="fuji", scenes=4, size=(96, 96), progress=False)
        self.cache = root / "cache"
        prepare_cache(read_pair_list(listing), self.cache, workers=0, progress=False)
        # A local U-Net (no global branch): one file per export variant, half the conversions.
        self.model = root / "tiny.keras"
        get_model("sid", camera="sony", width=4).save(self.model)
        self.photos = root / "photos"
        self.photos.mkdir()
        rng = np.random.default_rng(0)
        for index in range(3):
            write_image(self.photos / f"photo{index}.png", rng.random((80, 120, 3)), bits=8)
        self._export = None

    def tflite(self, target):
        """Writes an fp32 export of the tiny model as `target` (with its card)."""
        from lsid_keras.cli import main

        if self._export is None:
            out = self.root / "export"
            assert main(["export", "--model", str(self.model), "--out", str(out), "--quant",
                         "fp32", "--tile", EXPORT_TILE, "--quiet"]) == 0
            self._export = out / "tiny_fp32.tflite"
        shutil.copyfile(self._export, target)
        shutil.copyfile(self._export.with_suffix(".card.json"),
                        target.with_name(target.stem + ".card.json"))


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    return Fixtures(tmp_path_factory.mktemp("doc-fixtures"))


RUNNABLE_BLOCKS = runnable_blocks()


@pytest.mark.parametrize("document, line, commands", RUNNABLE_BLOCKS,
                         ids=[_label(d, n) for d, n, _ in RUNNABLE_BLOCKS])
def test_block_runs(document, line, commands, fixtures, tmp_path, capsys):
    from lsid_keras.cli import main

    sandbox = Sandbox(tmp_path, fixtures)
    for argv in commands:
        run = sandbox.argv(argv)
        code = main(run)
        captured = capsys.readouterr()
        assert code == 0, (f"{_label(document, line)}: lsid {' '.join(argv)}\nran as: lsid "
                           f"{' '.join(run)}\n{captured.err[-2000:]}")


def _slug(heading):
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def test_links_between_pages_resolve():
    """Every relative link of README.md and docs/ names a file that exists and, with a
    #fragment, one of its headings."""
    broken = []
    for document in DOCUMENTS[:-1]:
        text = document.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, fragment = target.partition("#")
            linked = (document.parent / path).resolve() if path else document
            if not linked.exists():
                broken.append(f"{_label(document, 0)}: {target}")
            elif fragment and linked.suffix == ".md":
                headings = re.findall(r"^#+ (.+)$", linked.read_text(encoding="utf-8"),
                                      flags=re.MULTILINE)
                if fragment not in {_slug(h) for h in headings}:
                    broken.append(f"{_label(document, 0)}: {target}")
    assert not broken, broken


def test_readme_is_a_short_front_door():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200
    first_block = re.search(r"^```bash\n(.*?)^```", readme, flags=re.DOTALL | re.MULTILINE)[1]
    assert first_block.splitlines() == ['pip install -e ".[dev]" && lsid quickstart',
                                        "python -m pytest"]  # what .ci/run executes
    picture = re.search(r"!\[[^\]]*\]\(([^)]+)\)", readme)[1]
    assert picture.startswith("docs/") and (ROOT / picture).stat().st_size < 1.5 * 2**20
    assert readme.index(picture) < readme.index("```bash")  # the picture comes first
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert f"(docs/{page.name})" in readme, f"README.md does not link docs/{page.name}"

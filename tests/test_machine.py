"""`lsid_keras.machine`: the CPU features behind every figure, and `lsid info`."""

import json
import subprocess
import sys

from lsid_keras import machine


def _fake(monkeypatch, flags):
    monkeypatch.setattr(machine, "_cpuinfo_flags", lambda: frozenset(flags))


def test_features_decide_bfloat16_and_int8(monkeypatch):
    _fake(monkeypatch, ["sse2", "avx2", "fma"])  # the AVX2-only EPYC
    assert machine.cpu_features() == ["avx2", "fma"]
    assert not machine.has_native_bfloat16() and not machine.has_int8_dot_product()
    assert "no native bfloat16, no int8 dot product" in machine.describe()
    _fake(monkeypatch, ["avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16"])
    assert machine.cpu_features() == ["avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16"]
    assert machine.has_native_bfloat16() and machine.has_int8_dot_product()
    assert "(" not in machine.describe().split(":", 1)[1]
    _fake(monkeypatch, ["fp", "asimd", "asimddp", "i8mm"])  # an Arm phone core
    assert machine.has_int8_dot_product() and not machine.has_native_bfloat16()


def test_lsid_info_prints_the_features_without_tensorflow():
    code = ("import sys, json; from lsid_keras.cli import main; rc = main(['info', '--json']);"
            "assert 'tensorflow' not in sys.modules; sys.exit(rc)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["cpu_features"] == machine.cpu_features()
    assert set(info) == {"cpu_model", "cpu_features", "native_bfloat16", "int8_dot_product"}

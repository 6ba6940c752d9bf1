"""Packaging promises: a light core import, the quickstart's result, and the CLI's errors."""

from __future__ import annotations

import re
import subprocess
import sys

from enc2dec import cli

HEAVY = ("yaml", "sacrebleu", "matplotlib", "tqdm", "sklearn", "sentencepiece", "safetensors", "torch")


def test_core_import_loads_numpy_only():
    code = (
        "import sys, enc2dec.nn, enc2dec.layers, enc2dec.losses, enc2dec.optim, enc2dec.models.dense;"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_quickstart_beats_pca(tmp_path, capsys):
    assert cli.main(["quickstart", "--out", str(tmp_path), "--quiet", "--skip-dates", "--epochs", "150"]) == 0
    out = capsys.readouterr().out
    ours, pca = map(float, re.search(r"encoder-decoder ([0-9.]+), PCA ([0-9.]+)", out).groups())
    assert ours < pca
    assert (tmp_path / "codes.png").is_file() and (tmp_path / "loss.png").is_file()


def test_cli_reports_bad_arguments(capsys, tmp_path):
    assert cli.main(["quickstart", "--out", str(tmp_path), "--epochs", "0", "--quiet"]) == 2
    assert "enc2dec quickstart: error:" in capsys.readouterr().err

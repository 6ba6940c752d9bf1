"""Packaging promises: a light core import, the quickstart's result, the CLI's grammar and errors."""

from __future__ import annotations

import subprocess
import sys

from enc2dec import cli

HEAVY = ("yaml", "sacrebleu", "matplotlib", "tqdm", "sklearn", "sentencepiece", "safetensors", "torch",
         "ctranslate2", "onnx", "onnxruntime")  # fmt: skip


def test_core_import_loads_numpy_only():
    code = (
        "import sys, enc2dec.nn, enc2dec.layers, enc2dec.losses, enc2dec.optim, enc2dec.models.dense;"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_quickstart_digits_beats_pca(tmp_path):
    from enc2dec.quickstart import run_digits

    result = run_digits(tmp_path, overrides=["training.max_epochs=60", "training.eval_every_steps=200"])
    assert result.test_mse < result.pca_test_mse
    assert result.codes_png.is_file() and result.loss_png.is_file()


def test_help_lists_the_verbs_by_task(capsys):
    parser = cli.build_parser()
    text = parser.format_help()
    for group, verbs in cli.GROUPS.items():
        assert f"  {group}: {', '.join(verbs)}" in text
    listed = {v for verbs in cli.GROUPS.values() for v in verbs}
    assert listed == set(parser._subparsers._group_actions[0].choices)


def test_use_verbs_take_model(capsys):
    for verb in (
        "translate",
        "plot-attention",
        "average",
        "encode",
        "decode",
        "sample",
        "sweep",
        "forecast",
        "evaluate",
    ):
        assert cli.main([verb, "--model", "/nonexistent", *_required(verb)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"enc2dec {verb}: error: /nonexistent") and err.count("\n") == 1, err


def _required(verb: str) -> list[str]:
    return {"plot-attention": ["--src", "x"], "average": ["--out", "/tmp/enc2dec-avg-none"],
            "encode": ["--input", "x.npy", "--output", "y.npy"], "decode": ["--input", "x.npy", "--output", "y.npy"],
            "sample": ["--output", "s.npy"]}.get(verb, [])  # fmt: skip

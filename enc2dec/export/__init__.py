"""Export trained models to other inference engines: one function per format, behind `export`.

    export("runs/t", "ctranslate2", "ct2/t", quantization="int8")   # a CTranslate2 model folder (Transformer)
    export("runs/ae", "onnx", "onnx/ae")                              # ONNX graphs (every family)

The engines are optional (`pip install "enc2dec[export]"`); each format imports its engine inside its function,
so importing enc2dec never loads them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def _ctranslate2(model_dir: str | Path, out_dir: str | Path, **options: Any) -> Path:
    from enc2dec.export.ctranslate2 import export_ctranslate2

    return export_ctranslate2(model_dir, out_dir, **options)


def _onnx(model_dir: str | Path, out_dir: str | Path, **options: Any) -> Path:
    from enc2dec.export.onnx import export_onnx

    if options:
        raise ValueError(f"export: --format onnx takes no options, got {sorted(options)}")
    export_onnx(model_dir, out_dir)
    return Path(out_dir)


FORMATS: dict[str, Callable[..., Path]] = {"ctranslate2": _ctranslate2, "onnx": _onnx}


def check_out_dir(out_dir: str | Path, marker: str) -> Path:
    """An export's --out: absent, an empty folder or an earlier export (it holds `marker`), replaced as a whole."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / marker).is_file():
        raise ValueError(f"--out {out}: a folder that holds other files (not an enc2dec export); give a new folder")
    return out


def export(model_dir: str | Path, fmt: str, out_dir: str | Path, **options: Any) -> Path:
    """Write the model of `model_dir` (a run folder or a checkpoint folder) in format `fmt` to folder `out_dir`;
    options go to that format's function (ctranslate2: quantization). Returns out_dir."""
    if fmt not in FORMATS:
        raise ValueError(f"export: --format must be one of {sorted(FORMATS)}, got {fmt!r}")
    return FORMATS[fmt](model_dir, out_dir, **options)

"""What every benchmark writes: benchmarks/results/NAME.json with the exact command, date, versions, config and
flat metrics."""

from __future__ import annotations

import datetime
import importlib
import json
import os
import platform
import shlex
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def versions(*libraries: str) -> dict[str, str]:
    """python, numpy, enc2dec and each named library's __version__."""
    found = {"python": platform.python_version()}
    for name in ("numpy", "enc2dec", *libraries):
        found[name] = getattr(importlib.import_module(name), "__version__", "unknown")
    return found


def command() -> str:
    """The command line that is running, as one rerunnable string."""
    return " ".join(shlex.quote(a) for a in ["python", os.path.relpath(sys.argv[0]), *sys.argv[1:]])


def write_results(name: str, config: dict[str, Any], metrics: dict[str, Any], libraries: tuple[str, ...] = (),
                  directory: str | Path = RESULTS, **extra: Any) -> Path:  # fmt: skip
    """Write directory/NAME.json atomically: command, date, versions (python, numpy, enc2dec, libraries), config,
    metrics, then any extra sections."""
    record = {
        "command": command(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(*libraries),
        "config": config,
        "metrics": metrics,
        **extra,
    }
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path

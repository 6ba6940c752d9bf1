"""What every benchmark writes: benchmarks/results/NAME.json with the exact command, the commit it ran from, date,
versions, the machine's load and BLAS threads, config and flat metrics; only the script writes it.

The state at the start (commit, whether the code was changed, load average) is taken when this module is imported,
which every benchmark does first; write_results adds the state at the end.
"""

from __future__ import annotations

import datetime
import importlib
import json
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CODE_PATHS = ("enc2dec", "benchmarks", "configs")  # a change here (results excepted) marks a results file dirty


def git_state(root: Path = ROOT) -> dict[str, Any]:
    """{"commit": HEAD, "dirty": True if tracked files under enc2dec/, benchmarks/ (results excepted) or configs/
    differ from it}; {"commit": None, "dirty": None} outside a git work tree."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        spec = [*CODE_PATHS, ":(exclude)benchmarks/results"]
        changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", *spec], cwd=root,
                                 capture_output=True, text=True, check=True)  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        print("results_file: not a git work tree; the results file records no commit", file=sys.stderr)
        return {"commit": None, "dirty": None}
    return {"commit": head.stdout.strip(), "dirty": bool(changed.stdout.strip())}


def load_average() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


STARTED = {**git_state(), "load_average": load_average()}  # when the benchmark started (it imports this first)


def blas_threads() -> int | None:
    """The BLAS threads numpy uses in this process (threadpoolctl), None if it reports no BLAS."""
    from threadpoolctl import threadpool_info

    found = [lib["num_threads"] for lib in threadpool_info() if lib.get("user_api") == "blas"]
    return max(found) if found else None


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
                  directory: str | Path = RESULTS, *, note: str | None = None, threads: Any = None,
                  **extra: Any) -> Path:  # fmt: skip
    """Write directory/NAME.json atomically: command, commit and dirty (at the start), date, versions (python,
    numpy, enc2dec, libraries), machine (cpus, platform, load average at start and end, BLAS threads: `threads`
    as the script used them, e.g. {"training": 1, "evaluation": 2}, else this process's), config, metrics, any
    extra sections, and `notes` only from `note` (the script's --note argument)."""
    machine = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "load_average_at_start": STARTED["load_average"],
        "load_average_at_end": load_average(),
        "blas_threads": blas_threads() if threads is None else threads,
        **extra.pop("machine", {}),
    }
    record = {
        "command": command(),
        "commit": STARTED["commit"],
        "dirty": STARTED["dirty"],
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(*libraries),
        "machine": machine,
        "config": config,
        "metrics": metrics,
        **extra,
    }
    if note:
        record["notes"] = note
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path

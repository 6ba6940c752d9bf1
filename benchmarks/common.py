"""What the benchmark scripts share: their common options, the smoke mode, training runs in child processes, a
run's training summary and BLEU by source length.

Every benchmark trains through enc2dec.run (in process with run.train, or in a child process with `enc2dec
train`, which calls it), chooses on validation data only, and scores the test split at its end, through
run.evaluate (`enc2dec evaluate`'s function), after every choice is made.

--smoke: the same code on little data (a few hundred training pairs or images, a few dozen validation and test
ones) and two training steps (SMOKE_SET, before the user's --set), written to --results-dir; seconds to a minute.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from results_file import RESULTS  # first: it records the state at the start (commit, load)

ROOT = Path(__file__).resolve().parents[1]
SMOKE_SET = ["training.max_steps=2"]
EDGES = (1, 8, 11, 14, 17, 21)  # source-length buckets (tokens): 1-7, 8-10, 11-13, 14-16, 17-20, 21+


def add_arguments(parser: argparse.ArgumentParser, *, runs: str, data_dir: bool = True) -> None:
    """--set, --data-dir, --runs, --results-dir, --note, --smoke, --quiet."""
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override")
    if data_dir:
        parser.add_argument("--data-dir", default=None, help="data folder (else $ENC2DEC_DATA or ~/.cache/enc2dec)")
    parser.add_argument("--runs", default=str(ROOT / runs), help="folder for the run folders")
    parser.add_argument("--results-dir", default=str(RESULTS), help="folder for the results file and pictures")
    parser.add_argument("--note", default=None, help="text recorded as the results file's notes")
    parser.add_argument("--smoke", action="store_true", help="little data, 2 training steps: checks the script")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def overrides(args: argparse.Namespace, smoke: list[str] = ()) -> list[str]:
    """The --set overrides, after the smoke mode's own (so that --set can change them)."""
    return [*SMOKE_SET, *smoke, *args.set] if args.smoke else list(args.set)


def relative(path: Path) -> str:
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


# -- the smoke mode's data ----------------------------------------------------------------------------------------
def smoke_multi30k(data_dir: str | None, folder: Path, n_train: int = 300, n_eval: int = 40) -> str:
    """A Multi30k folder holding the first n_train training pairs and n_eval validation and test pairs of the real
    one (de, en), for --smoke; returns it as a --data-dir."""
    from enc2dec.data.datasets.multi30k import SPLITS, multi30k_file

    (folder / "multi30k").mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        for lang in ("de", "en"):
            source = multi30k_file(split, lang, data_dir)
            with gzip.open(source, "rt", encoding="utf-8") as f:
                lines = [line for _, line in zip(range(n_train if split == "train" else n_eval), f)]
            with gzip.open(folder / "multi30k" / source.name, "wt", encoding="utf-8") as f:
                f.writelines(lines)
    return str(folder)


# -- training in child processes ------------------------------------------------------------------------------------
def start_training(config: str, out: Path, sets: list[str], *, data_dir: str | None, threads: int,
                   workers: int = 1) -> subprocess.Popen:  # fmt: skip
    """`enc2dec train CONFIG --out OUT --overwrite [--workers N]` in a child process with `threads` BLAS threads
    (each); its output goes to OUT.log."""
    cmd = [sys.executable, "-m", "enc2dec.cli", "-v", "train", config, "--out", str(out), "--overwrite", "--quiet"]
    cmd += [a for s in sets for a in ("--set", s)] + (["--data-dir", data_dir] if data_dir else [])
    cmd += ["--workers", str(workers)] if workers > 1 else []
    env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{out}.log", "w") as log:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def training_command(config: str, out: Path, sets: list[str], data_dir: str | None, threads: int,
                     workers: int = 1) -> str:  # fmt: skip
    sets_text = "".join(f" --set {s}" for s in sets)
    data = f" --data-dir {data_dir}" if data_dir else ""
    more = f" --workers {workers}" if workers > 1 else ""
    return f"OPENBLAS_NUM_THREADS={threads} enc2dec train {config} --out {out} --overwrite{data}{sets_text}{more}"


def wait_all(jobs: dict[str, tuple[Path, subprocess.Popen]]) -> None:
    """Wait for every child; a failed one stops the benchmark, naming its log."""
    failed = [name for name, (_, proc) in jobs.items() if proc.wait() != 0]
    if failed:
        raise SystemExit(f"training failed: {', '.join(f'{n} (see {jobs[n][0]}.log)' for n in failed)}")


def summary(run_dir: Path, metric: str) -> dict[str, Any]:
    """A finished run's training: minutes, steps, epochs, and the step, epoch and validation `metric` of its best
    checkpoint (the one every use of the run folder loads)."""
    from enc2dec.training import checkpoint

    state = checkpoint.load_json(Path(run_dir) / "last" / checkpoint.STATE_FILE)
    best = checkpoint.load_json(Path(run_dir) / "best" / checkpoint.STATE_FILE)
    evals = state["history"]["evals"]
    best_eval = best["history"]["evals"][-1]
    return {"train_minutes": state["elapsed_seconds"] / 60, "steps": state["step"], "epochs": evals[-1]["epoch"],
            "best_step": best_eval["step"], "best_epoch": best_eval["epoch"],
            f"best_{metric}": best_eval.get(metric)}  # fmt: skip


# -- BLEU by source length ------------------------------------------------------------------------------------------
def bucket_names(edges: tuple[int, ...] = EDGES) -> list[str]:
    return [f"{a}-{b - 1}" for a, b in zip(edges, edges[1:])] + [f"{edges[-1]}+"]


def bleu_by_length(translator: Any, sources: list[str], references: list[str],
                   edges: tuple[int, ...] = EDGES) -> dict[str, Any]:  # fmt: skip
    """Decode `sources` once (the translator's configured search) -> corpus BLEU, and BLEU per source-length
    bucket (source tokens as the model reads them)."""
    import numpy as np

    from enc2dec.training.metrics import translation_scores

    hyps = [t.text for t in translator.translate(sources)]
    lengths = [len(translator.src_tokenizer.tokenize(s)) for s in sources]
    bucket = np.searchsorted(np.asarray(edges), lengths, side="right") - 1  # (N,)
    rows = []
    for k, name in enumerate(bucket_names(edges)):
        idx = np.flatnonzero(bucket == k)
        bleu = translation_scores([hyps[i] for i in idx], [references[i] for i in idx]).bleu if len(idx) else None
        rows.append({"bucket": name, "n": int(len(idx)), "bleu": bleu})
    return {"bleu": translation_scores(hyps, references).bleu, "by_length": rows}


def save_json(path: Path, obj: Any) -> None:
    Path(path).write_text(json.dumps(obj, indent=2) + "\n", encoding="utf-8")

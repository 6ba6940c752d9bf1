"""Sutskever-style seq2seq on Multi30k German -> English, with the paper's ablation: the same model and budget
with the source reversed and not reversed, scored on test_2016_flickr with beam search. The two runs train side by
side (one process and one BLAS thread each, sharing the 2 cores equally), or with --sequential one after the
other, each with --threads BLAS threads (default 2: the whole machine).

    python benchmarks/seq2seq_multi30k.py [--config configs/m30k_de_en_seq2seq.yaml] [--minutes 60] [--sequential]

Writes benchmarks/results/seq2seq_multi30k.json; runs go to runs/seq2seq_multi30k/{reversed,not_reversed}.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_file import write_results  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="configs/m30k_de_en_seq2seq.yaml")
    parser.add_argument("--minutes", type=float, default=60.0, help="wall-clock training budget of each run")
    parser.add_argument("--out", default="runs/seq2seq_multi30k")
    parser.add_argument("--set", action="append", default=[], help="extra config overrides for both runs")
    parser.add_argument("--data-dir", default=None, help="data folder (else $ENC2DEC_DATA or ~/.cache/enc2dec)")
    parser.add_argument("--sequential", action="store_true", help="one run after the other (default: side by side)")
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads per run (default 2 sequential, else 1)")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    threads = str(args.threads or (2 if args.sequential else 1))
    env = {**os.environ, "OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads}
    runs = {}
    for name, reverse in (("reversed", "true"), ("not_reversed", "false")):
        out = Path(args.out) / name
        overrides = [f"training.max_minutes={args.minutes}", f"model.reverse_source={reverse}", *args.set]
        cmd = [sys.executable, "-m", "enc2dec.cli", "train", args.config, "--out", str(out), "--quiet"]
        cmd += [a for o in overrides for a in ("--set", o)] + (["--data-dir", args.data_dir] if args.data_dir else [])
        out.parent.mkdir(parents=True, exist_ok=True)
        log = open(f"{out}.log", "w")
        runs[name] = (out, subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        if args.sequential and runs[name][1].wait() != 0:
            break
    for name, (_, proc) in runs.items():
        if proc.wait() != 0:
            print(f"the {name} run failed; see {runs[name][0]}.log", file=sys.stderr)
            return 1

    from enc2dec import translation
    from enc2dec.training.checkpoint import load_json

    scores = {name: load_json(out / "test_scores.json") for name, (out, _) in runs.items()}
    state = {name: load_json(out / "last" / "trainer_state.json") for name, (out, _) in runs.items()}
    best = scores["reversed"]
    metrics = {
        "test_bleu": best["test_bleu"],
        "test_bleu_lc": best["test_bleu_lc"],
        "test_chrf": best["test_chrf"],
        "test_ppl": best["test_ppl"],
        "train_minutes": state["reversed"]["elapsed_seconds"] / 60,
        "epochs": max((e["epoch"] for e in state["reversed"]["history"]["evals"]), default=0),
        "test_bleu_not_reversed": scores["not_reversed"]["test_bleu"],
        "test_bleu_lc_not_reversed": scores["not_reversed"]["test_bleu_lc"],
        "test_chrf_not_reversed": scores["not_reversed"]["test_chrf"],
        "test_ppl_not_reversed": scores["not_reversed"]["test_ppl"],
        "train_minutes_not_reversed": state["not_reversed"]["elapsed_seconds"] / 60,
        "epochs_not_reversed": max((e["epoch"] for e in state["not_reversed"]["history"]["evals"]), default=0),
    }
    cfg = translation.load_config(ROOT / args.config, [f"training.max_minutes={args.minutes}", *args.set])
    from enc2dec import config as config_io

    path = write_results(
        "seq2seq_multi30k",
        config_io.to_dict(cfg),
        metrics,
        ("sacrebleu",),
        bleu_signature=best["bleu_signature"],
        notes=("The runs trained one after the other, " if args.sequential else "Both runs trained at the same time, ")
        + f"one process and {threads} BLAS thread(s) each, on a 2-core machine (1-minute load average "
        f"{load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end).",
    )
    print(json.dumps(metrics, indent=2))
    print(f"BLEU signature: {best['bleu_signature']}\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Sutskever-style seq2seq on Multi30k German -> English, with the paper's ablation: the same model and budget
with the source reversed and not reversed (configs/m30k_de_en_seq2seq.yaml). Each run keeps the checkpoint with
the best greedy validation BLEU; when both have trained, each is scored once on test_2016_flickr (run.evaluate,
beam search as configured). The two runs train side by side (one process and one BLAS thread each, sharing the 2
cores), or with --sequential one after the other, each with --threads BLAS threads (default 2).

    python benchmarks/seq2seq_multi30k.py --data-dir ../shared/data [--sequential] [--set training.max_minutes=60]
    python benchmarks/seq2seq_multi30k.py --data-dir ../shared/data --smoke --results-dir /tmp/results

Writes seq2seq_multi30k.json into --results-dir; runs go to --runs/{reversed,not_reversed}.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from results_file import blas_threads, write_results  # noqa: E402

RUNS = {"reversed": "model.reverse_source=true", "not_reversed": "model.reverse_source=false"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="configs/m30k_de_en_seq2seq.yaml")
    parser.add_argument("--sequential", action="store_true", help="one run after the other (default: side by side)")
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads per run (default 2 sequential, else 1)")
    common.add_arguments(parser, runs="runs/seq2seq_multi30k")
    args = parser.parse_args(argv)
    runs, results_dir = Path(args.runs), Path(args.results_dir)
    threads = args.threads or (2 if args.sequential else 1)
    sets = common.overrides(args)
    data_dir = common.smoke_multi30k(args.data_dir, runs / "smoke_data") if args.smoke else args.data_dir

    from enc2dec import config as config_io
    from enc2dec import run

    cfg = run.with_data_dir(run.load_config(common.ROOT / args.config, sets), data_dir)  # checked before training
    jobs = {}
    for name, reverse in RUNS.items():
        jobs[name] = (runs / name, common.start_training(args.config, runs / name, [reverse, *sets],
                                                         data_dir=data_dir, threads=threads))  # fmt: skip
        if args.sequential:
            common.wait_all({name: jobs[name]})
    common.wait_all(jobs)

    # every choice is made (each run's best checkpoint, by validation BLEU): the test split, once per model
    metrics: dict[str, object] = {}
    signature = None
    for name, (out, _) in jobs.items():
        suffix = "" if name == "reversed" else f"_{name}"
        scores = run.evaluate(out, "test", out_dir=out / "test")
        signature = scores["bleu_signature"]
        for key in ("test_bleu", "test_bleu_lc", "test_chrf", "test_ppl"):
            metrics[f"{key}{suffix}"] = scores[key]
        for key, value in common.summary(out, cfg.training.best_metric).items():
            metrics[f"{key}{suffix}"] = value
    path = write_results(
        "seq2seq_multi30k",
        config_io.to_dict(cfg),
        metrics,
        ("sacrebleu",),
        results_dir,
        note=args.note,
        threads={
            "training": threads,
            "runs_at_a_time": 1 if args.sequential else len(RUNS),
            "evaluation": blas_threads(),
        },  # fmt: skip
        training_commands={
            n: common.training_command(args.config, runs / n, [RUNS[n], *sets], data_dir, threads) for n in RUNS
        },  # fmt: skip
        bleu_signature=signature,
        smoke=args.smoke,
    )
    print(json.dumps(metrics, indent=2))
    print(f"BLEU signature: {signature}\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Does data-parallel training learn as one process does? The Transformer of configs/m30k_de_en_transformer.yaml
trained for the same steps on the same global batches three times: one process (seed 0), two processes (`enc2dec
train --workers 2`, seed 0: rank 1 draws its own dropout masks) and one process with another seed (seed 1: the
noise to compare with). Validation BLEU (greedy, as in training) and validation loss at every evaluation of each
run.

    python benchmarks/scaling_curve.py --data-dir ../shared/data [--set training.max_steps=750]

The three runs train side by side, one BLAS thread per process: the comparison is at equal steps, not equal time.
Writes scaling_curve.json (metrics: max_bleu_gap_2proc, max |2 processes - 1 process| over the evaluations,
beside max_bleu_gap_seed, max |seed 1 - seed 0|, and the same for the validation loss; the curves in `curves`
and `loss_curves`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from results_file import write_results  # noqa: E402

RUNS = {"one_process": (1, []), "two_processes": (2, []), "one_process_seed1": (1, ["training.seed=1"])}
BUDGET = ["training.max_steps=750", "training.max_minutes=null", "training.max_epochs=null"]


def curve(run_dir: Path, key: str) -> dict[int, float]:
    """step -> the validation metric `key` at each evaluation of a run."""
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return {r["step"]: r[key] for r in records if key in r}


def max_gap(curves: dict[str, dict[int, float]], other: str, steps: list[int]) -> float:
    return max(abs(curves[other][s] - curves["one_process"][s]) for s in steps)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="configs/m30k_de_en_transformer.yaml")
    common.add_arguments(parser, runs="runs/scaling_curve")
    args = parser.parse_args(argv)
    runs, results_dir = Path(args.runs), Path(args.results_dir)
    sets = [*BUDGET, *common.overrides(args, ["training.eval_every_steps=1", "data.sp_vocab_size=250"])]
    data_dir = common.smoke_multi30k(args.data_dir, runs / "smoke_data") if args.smoke else args.data_dir

    from enc2dec import config as config_io
    from enc2dec import run

    cfg = run.with_data_dir(run.load_config(common.ROOT / args.config, sets), data_dir)  # checked before training
    jobs = {name: (runs / name, common.start_training(args.config, runs / name, [*sets, *extra], data_dir=data_dir,
                                                      threads=1, workers=workers))
            for name, (workers, extra) in RUNS.items()}  # fmt: skip
    common.wait_all(jobs)

    curves = {name: curve(out, "valid_bleu") for name, (out, _) in jobs.items()}
    losses = {name: curve(out, "valid_loss") for name, (out, _) in jobs.items()}
    steps = sorted(set.intersection(*(set(c) for c in curves.values())))
    metrics = {
        "max_bleu_gap_2proc": max_gap(curves, "two_processes", steps),
        "max_bleu_gap_seed": max_gap(curves, "one_process_seed1", steps),
        "max_loss_gap_2proc": max_gap(losses, "two_processes", steps),
        "max_loss_gap_seed": max_gap(losses, "one_process_seed1", steps),
        "final_valid_bleu": {name: c[steps[-1]] for name, c in curves.items()},
        "final_valid_loss": {name: c[steps[-1]] for name, c in losses.items()},
        "steps": steps[-1],
    }
    path = write_results(
        "scaling_curve",
        config_io.to_dict(cfg),
        metrics,
        ("sacrebleu", "mpi4py"),
        results_dir,
        note=args.note,
        threads={"training": 1, "processes_at_a_time": 4},
        training_commands={
            n: common.training_command(args.config, runs / n, [*sets, *extra], data_dir, 1, workers)
            for n, (workers, extra) in RUNS.items()
        },  # fmt: skip
        curves={name: [[s, c[s]] for s in steps] for name, c in curves.items()},
        loss_curves={name: [[s, c[s]] for s in steps] for name, c in losses.items()},
        smoke=args.smoke,
    )
    print(json.dumps(metrics, indent=2))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

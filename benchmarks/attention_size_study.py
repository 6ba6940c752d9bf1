"""The context-size study for sentences: the model without attention (configs/m30k_de_en_seq2seq.yaml) and the
model with attention (configs/m30k_de_en_attention.yaml) at hidden sizes 64, 128, 256 and 512, each trained on
Multi30k German -> English under the same wall-clock budget (--minutes), compared on the VALIDATION split with
beam search: BLEU against the hidden size, and BLEU against the source-sentence length in buckets (as Sutskever et
al. 2014, figure 3, do for length). Then, every choice made, the size with the best validation BLEU of each model
is scored once on test_2016_flickr (run.evaluate).

    python benchmarks/attention_size_study.py --data-dir ../shared/data [--minutes 15] [--sizes 64 128 256 512]
    python benchmarks/attention_size_study.py --data-dir ../shared/data --smoke --results-dir /tmp/results

`hidden_size` is the decoder's state in both models: the whole context of the model without attention (its final
encoder states), and the attention model's decoder state and attentional vector (its bidirectional encoder has
hidden_size / 2 per direction, so the memory it attends to is hidden_size wide at every source position).
Runs go `--parallel` at a time, each `enc2dec train` in its own process with one BLAS thread, so they share the 2
cores equally. Writes attention_size_study.json, attention_bleu_by_size.png and attention_bleu_by_length.png into
--results-dir; runs go to --runs/<model>_<size>.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from results_file import blas_threads, write_results  # noqa: E402

MODELS = {"seq2seq": "configs/m30k_de_en_seq2seq.yaml", "attention": "configs/m30k_de_en_attention.yaml"}
LABELS = {"seq2seq": "without attention", "attention": "with attention"}
SIZES, SMOKE_SIZES = [64, 128, 256, 512], [16, 32]


def train_all(jobs: list[tuple[str, int]], sets: list[str], args: argparse.Namespace, data_dir: str | None) -> None:
    """Train every (model, size) in its own process, at most args.parallel at a time, one BLAS thread each."""
    pending, running = list(jobs), {}
    while pending or running:
        while pending and len(running) < args.parallel:
            model, size = pending.pop(0)
            out = Path(args.runs) / f"{model}_{size}"
            job_sets = [f"model.hidden_size={size}", f"training.max_minutes={args.minutes}", *sets]
            running[f"{model}_{size}"] = (out, common.start_training(MODELS[model], out, job_sets, data_dir=data_dir,
                                                                     threads=1))  # fmt: skip
            print(f"started {model} {size}", flush=True)
        time.sleep(1)
        for name in [n for n, (_, proc) in running.items() if proc.poll() is not None]:
            try:
                common.wait_all({name: running.pop(name)})
            except SystemExit:
                for _, proc in running.values():  # one failed: stop the others (their logs say how far they got)
                    proc.terminate()
                raise
            print(f"finished {name}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=15.0, help="wall-clock training budget of each run")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help=f"hidden sizes (default {SIZES})")
    parser.add_argument("--parallel", type=int, default=2, help="runs at a time (one BLAS thread each)")
    common.add_arguments(parser, runs="runs/attention_size_study")
    args = parser.parse_args(argv)
    sizes = sorted(args.sizes or (SMOKE_SIZES if args.smoke else SIZES))
    runs, results_dir = Path(args.runs), Path(args.results_dir)
    sets = common.overrides(args)
    data_dir = common.smoke_multi30k(args.data_dir, runs / "smoke_data") if args.smoke else args.data_dir

    from enc2dec import run
    from enc2dec.tasks.translation import split_pairs

    configs = {m: run.with_data_dir(run.load_config(common.ROOT / path, sets), data_dir) for m, path in MODELS.items()}
    train_all([(m, s) for s in reversed(sizes) for m in MODELS], sets, args, data_dir)

    # the study, on the validation split
    table = []
    for model, cfg in configs.items():
        sources, references = split_pairs(cfg.data, "valid")
        for size in sizes:
            out = runs / f"{model}_{size}"
            result = common.bleu_by_length(run.load(out, data_dir=data_dir).trained, sources, references)
            table.append({"model": model, "hidden_size": size, "valid_bleu": result["bleu"],
                          **common.summary(out, cfg.training.best_metric), "valid_by_length": result["by_length"]})  # fmt: skip
    metrics: dict[str, Any] = {f"valid_bleu_{r['model']}_{r['hidden_size']}": r["valid_bleu"] for r in table}
    metrics.update({f"epochs_{r['model']}_{r['hidden_size']}": r["epochs"] for r in table})

    # every choice is made (each model's size, by validation BLEU): the test split, once per model
    signature = None
    for model in MODELS:
        best = max((r for r in table if r["model"] == model), key=lambda r: r["valid_bleu"])
        scores = run.evaluate(runs / f"{model}_{best['hidden_size']}", "test", data_dir=data_dir)
        signature = scores["bleu_signature"]
        metrics[f"selected_size_{model}"] = best["hidden_size"]
        metrics.update({f"{k}_{model}_selected": scores[k] for k in ("test_bleu", "test_bleu_lc", "test_chrf",
                                                                      "test_ppl")})  # fmt: skip
    pictures = plot(table, sizes, results_dir)
    path = write_results(
        "attention_size_study",
        {
            "minutes": args.minutes,
            "sizes": sizes,
            "configs": MODELS,
            "set": sets,
            "edges": common.EDGES,
            "parallel": args.parallel,
            "data_dir": data_dir,
        },  # fmt: skip
        metrics,
        ("sacrebleu",),
        results_dir,
        note=args.note,
        threads={"training": 1, "runs_at_a_time": args.parallel, "evaluation": blas_threads()},
        table=table,
        length_buckets=common.bucket_names(),
        bleu_signature=signature,
        pictures=[common.relative(p) for p in pictures],
        smoke=args.smoke,
    )
    for r in table:
        by_length = "  ".join(f"{b['bucket']}: {b['bleu'] if b['bleu'] is None else round(b['bleu'], 1)}"
                              for b in r["valid_by_length"])  # fmt: skip
        print(f"{r['model']:>9} {r['hidden_size']:>4}: valid BLEU {r['valid_bleu']:5.2f}  {by_length}")
    print(json.dumps({k: v for k, v in metrics.items() if "selected" in k}, indent=1))
    print(f"wrote {path}")
    return 0


def plot(table: list[dict[str, Any]], sizes: list[int], results_dir: Path) -> list[Path]:
    from enc2dec.plots import _pyplot, _save

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for i, model in enumerate(MODELS):
        rows = [r for r in table if r["model"] == model]
        ax.plot([r["hidden_size"] for r in rows], [r["valid_bleu"] for r in rows], "o-", color=f"C{i}",
                label=LABELS[model])  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(s) for s in sizes])
    ax.set_xlabel("hidden size (the context of the model without attention)")
    ax.set_ylabel("validation BLEU (beam)")
    ax.set_title("Multi30k de-en, same budget per run", fontsize=9)
    ax.legend()
    paths = [_save(fig, results_dir / "attention_bleu_by_size.png")]

    fig, ax = plt.subplots(figsize=(6.5, 4))
    names = common.bucket_names()
    for i, model in enumerate(MODELS):
        for j, r in enumerate(r for r in table if r["model"] == model):
            alpha = 0.35 + 0.65 * (j + 1) / len(sizes)
            ax.plot(range(len(names)), [b["bleu"] for b in r["valid_by_length"]], "-" if model == "attention" else "--",
                    marker="o", color=f"C{i}", alpha=alpha, label=f"{LABELS[model]}, {r['hidden_size']}")  # fmt: skip
    counts = [b["n"] for b in table[0]["valid_by_length"]]
    ax.set_xticks(range(len(names)), [f"{n}\n({c})" for n, c in zip(names, counts)], fontsize=8)
    ax.set_xlabel("source length in words (validation sentences)")
    ax.set_ylabel("validation BLEU (beam)")
    ax.set_title("BLEU by source-sentence length", fontsize=9)
    ax.legend(fontsize=7, ncol=2)
    paths.append(_save(fig, results_dir / "attention_bleu_by_length.png"))
    return paths


if __name__ == "__main__":
    sys.exit(main())

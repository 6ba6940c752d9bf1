"""Attention seq2seq on Multi30k German -> English (configs/m30k_de_en_attention.yaml): train for the config's
wall-clock budget in a child process with --threads BLAS threads, keep the checkpoint with the best greedy
validation BLEU, then, every choice made, score test_2016_flickr once (run.evaluate: beam search as configured,
sacrebleu cased 13a) with its BLEU by source length, against the model without attention of the seq2seq benchmark
(--compare, its run folder, when present), and draw the alignment of one sentence (--sentence).

    python benchmarks/attention_multi30k.py --data-dir ../shared/data [--set training.max_minutes=60]
    python benchmarks/attention_multi30k.py --data-dir ../shared/data --smoke --results-dir /tmp/results

Writes attention_multi30k.json, attention_alignment.png and attention_bleu_by_length_60min.png into
--results-dir; the run goes to --runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from results_file import blas_threads, write_results  # noqa: E402

SENTENCE = "Ein kleines Mädchen in einem rosa Kleid klettert eine Treppe hinauf."  # for the alignment picture
ATTENTION, NO_ATTENTION = "with attention", "without attention (seq2seq benchmark)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="configs/m30k_de_en_attention.yaml")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads for training")
    parser.add_argument("--compare", default="runs/seq2seq_multi30k/reversed", help="a run without attention")
    parser.add_argument("--sentence", default=SENTENCE, help="source sentence of the alignment picture")
    common.add_arguments(parser, runs="runs/attention_m30k")
    args = parser.parse_args(argv)
    out, results_dir = Path(args.runs), Path(args.results_dir)
    sets = common.overrides(args)
    data_dir = common.smoke_multi30k(args.data_dir, out.parent / "smoke_data") if args.smoke else args.data_dir

    from enc2dec import config as config_io
    from enc2dec import plots, run
    from enc2dec.tasks.alignment import align
    from enc2dec.tasks.translation import split_pairs

    cfg = run.with_data_dir(run.load_config(common.ROOT / args.config, sets), data_dir)  # checked before training
    common.wait_all({"attention": (out, common.start_training(args.config, out, sets, data_dir=data_dir,
                                                              threads=args.threads))})  # fmt: skip
    metrics = common.summary(out, cfg.training.best_metric)

    # every choice is made: the test split, once
    scores = run.evaluate(out, "test", out_dir=out / "test")
    metrics.update({k: scores[k] for k in ("test_bleu", "test_bleu_lc", "test_chrf", "test_ppl")})
    sources, references = split_pairs(cfg.data, "test")
    models = {ATTENTION: out}
    if (Path(args.compare) / "best").is_dir():
        models[NO_ATTENTION] = Path(args.compare)
    by_length = {name: common.bleu_by_length(run.load(d, data_dir=data_dir).trained, sources, references)
                 for name, d in models.items()}  # fmt: skip
    for name, result in by_length.items():
        key = "attention" if name == ATTENTION else "no_attention"
        if name == NO_ATTENTION:
            metrics["test_bleu_no_attention"] = result["bleu"]
        for row in result["by_length"]:
            metrics[f"bleu_len_{row['bucket']}_{key}"] = row["bleu"]
    alignment = align(run.load(out, data_dir=data_dir).trained, args.sentence)
    pictures = [
        plots.plot_attention(alignment.weights, alignment.src_tokens, alignment.out_tokens,
                             results_dir / "attention_alignment.png"),
        _plot_by_length(by_length, cfg.training.max_minutes, results_dir / "attention_bleu_by_length_60min.png"),
    ]  # fmt: skip
    path = write_results(
        "attention_multi30k",
        config_io.to_dict(cfg),
        metrics,
        ("sacrebleu",),
        results_dir,
        note=args.note,
        threads={"training": args.threads, "evaluation": blas_threads()},
        training_command=common.training_command(args.config, out, sets, data_dir, args.threads),
        bleu_signature=scores["bleu_signature"],
        compared_with=str(models.get(NO_ATTENTION)) if NO_ATTENTION in models else None,
        by_length={name: r["by_length"] for name, r in by_length.items()},
        length_buckets=common.bucket_names(),
        alignment={"source": args.sentence, "output": alignment.translation},
        pictures=[common.relative(p) for p in pictures],
        smoke=args.smoke,
    )
    print(json.dumps(metrics, indent=2))
    print(f"BLEU signature: {scores['bleu_signature']}\nwrote {path}")
    return 0


def _plot_by_length(by_length: dict, minutes: float | None, path: Path) -> Path:
    from enc2dec.plots import _pyplot, _save

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    names = common.bucket_names()
    for i, (name, r) in enumerate(by_length.items()):
        ax.plot(range(len(names)), [b["bleu"] for b in r["by_length"]], "o-", color=f"C{1 - i}",
                label=f"{name}: {r['bleu']:.1f} overall")  # fmt: skip
    counts = [b["n"] for b in next(iter(by_length.values()))["by_length"]]
    ax.set_xticks(range(len(names)), [f"{n}\n({c})" for n, c in zip(names, counts)], fontsize=8)
    ax.set_xlabel("source length in words (sentences)")
    ax.set_ylabel("test BLEU (beam as configured)")
    budget = f", {minutes:g}-minute budget" if minutes else ""
    ax.set_title(f"Multi30k de-en test_2016_flickr{budget}", fontsize=9)
    ax.legend(fontsize=8)
    return _save(fig, path)


if __name__ == "__main__":
    sys.exit(main())

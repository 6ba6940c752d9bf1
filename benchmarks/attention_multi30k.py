"""Attention seq2seq on Multi30k German -> English (configs/m30k_de_en_attention.yaml): train for a wall-clock
budget with one BLAS thread, score test_2016_flickr with beam search (sacrebleu, cased, 13a), BLEU by source
length, and an alignment picture; the table of the context-size study (attention_size_study.py) is merged in
when its results exist.

    python benchmarks/attention_multi30k.py [--minutes 60] [--data-dir ../shared/data]
    python benchmarks/attention_multi30k.py --reuse        # assemble from a finished run in --out

`--compare RUN` (default runs/seq2seq_multi30k/reversed, the seq2seq benchmark's 60-minute model without
attention, used when present) adds that model's BLEU by source length to the same plot. Writes
benchmarks/results/attention_multi30k.json, attention_alignment.png and attention_bleu_by_length_60min.png.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from attention_size_study import bleu_by_length, bucket_names  # noqa: E402
from results_file import RESULTS, write_results  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SENTENCE = "Ein kleines Mädchen in einem rosa Kleid klettert eine Treppe hinauf."  # for the alignment picture


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="configs/m30k_de_en_attention.yaml")
    parser.add_argument("--minutes", type=float, default=60.0, help="wall-clock training budget")
    parser.add_argument("--out", default="runs/attention_m30k")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--set", action="append", default=[], help="extra config overrides")
    parser.add_argument("--reuse", action="store_true", help="assemble from the finished run in --out, no training")
    parser.add_argument("--compare", default="runs/seq2seq_multi30k/reversed", help="a model without attention")
    parser.add_argument("--sentence", default=SENTENCE, help="source sentence of the alignment picture")
    args = parser.parse_args()

    from enc2dec import config as config_io
    from enc2dec import translation
    from enc2dec.alignment import plot_alignment
    from enc2dec.training.checkpoint import load_json

    out = Path(args.out)
    overrides = [f"training.max_minutes={args.minutes}", *args.set]
    if args.data_dir:
        overrides.append(f"data.data_dir={args.data_dir}")
    load_before = os.getloadavg()[0]
    if not args.reuse:
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
        cmd = [sys.executable, "-m", "enc2dec.cli", "-v", "train", args.config, "--out", str(out), "--quiet"]
        cmd += [a for o in overrides for a in ("--set", o)]
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(f"{out}.log", "w") as log:
            if subprocess.run(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT).returncode != 0:
                print(f"training failed; see {out}.log", file=sys.stderr)
                return 1

    scores = load_json(out / "test_scores.json")
    state = load_json(out / "last" / "trainer_state.json")
    cfg = translation.load_config(ROOT / args.config, overrides)
    data = translation.load_data(cfg.data)
    best = out / "best" if (out / "best").is_dir() else out / "last"
    models = {"with attention": best}
    compare = Path(args.compare) / "best"
    if compare.is_dir():
        models["without attention (seq2seq benchmark)"] = compare
    by_length = {}
    for name, model_dir in models.items():
        result = bleu_by_length(translation.load_translator(model_dir), data.test)
        by_length[name] = {"test_bleu": result["test_bleu"], "by_length": result["by_length"]}

    alignment = plot_alignment(best, args.sentence, RESULTS / "attention_alignment.png")
    length_png = _plot_by_length(by_length, RESULTS / "attention_bleu_by_length_60min.png")
    evals = state["history"]["evals"]
    metrics = {
        "test_bleu": scores["test_bleu"],
        "test_bleu_lc": scores["test_bleu_lc"],
        "test_chrf": scores["test_chrf"],
        "test_ppl": scores["test_ppl"],
        "train_minutes": state["elapsed_seconds"] / 60,
        "epochs": evals[-1]["epoch"] if evals else None,
        "steps": state["step"],
        "best_valid_bleu_greedy": max((e["valid_bleu"] for e in evals if "valid_bleu" in e), default=None),
    }
    for name, r in by_length.items():
        key = "attention" if name == "with attention" else "no_attention"
        for b in r["by_length"]:
            metrics[f"bleu_len_{b['bucket']}_{key}"] = b["bleu"]
    study_path = RESULTS / "attention_size_study.json"
    study = json.loads(study_path.read_text()) if study_path.is_file() else None
    if study:
        metrics.update({f"size_study_{k}": v for k, v in study["metrics"].items()})
    path = write_results(
        "attention_multi30k",
        config_io.to_dict(cfg),
        metrics,
        ("sacrebleu",),
        bleu_signature=scores["bleu_signature"],
        train_command=f"OPENBLAS_NUM_THREADS=1 enc2dec -v train {args.config} --out {out} --quiet "
        + " ".join(f"--set {o}" for o in overrides),
        by_length={name: r["by_length"] for name, r in by_length.items()},
        length_buckets=bucket_names(),
        alignment={"source": args.sentence, "output": alignment.translation},
        size_study={"table": study["table"], "config": study["config"], "notes": study.get("notes")} if study else None,
        pictures=[str(p.relative_to(ROOT)) for p in (RESULTS / "attention_alignment.png", length_png)],
        notes="Trained with one BLAS thread on a 2-core machine shared with other jobs (1-minute load average "
        f"{load_before:.1f} when this script started, {os.getloadavg()[0]:.1f} at the end); the budget is wall-clock "
        "time. test_bleu: beam 5 on test_2016_flickr, the checkpoint with the best greedy validation BLEU.",
    )
    print(json.dumps(metrics, indent=2))
    print(f"BLEU signature: {scores['bleu_signature']}\nwrote {path}")
    return 0


def _plot_by_length(by_length: dict, path: Path) -> Path:
    from enc2dec.plots import _pyplot, _save

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    names = bucket_names()
    for i, (name, r) in enumerate(by_length.items()):
        ax.plot(range(len(names)), [b["bleu"] for b in r["by_length"]], "o-", color=f"C{1 - i}",
                label=f"{name}: {r['test_bleu']:.1f} overall")  # fmt: skip
    counts = [b["n"] for b in next(iter(by_length.values()))["by_length"]]
    ax.set_xticks(range(len(names)), [f"{n}\n({c})" for n, c in zip(names, counts)], fontsize=8)
    ax.set_xlabel("source length in words (sentences)")
    ax.set_ylabel("test BLEU (beam 5)")
    ax.set_title("Multi30k de-en test_2016_flickr, 60-minute budget", fontsize=9)
    ax.legend(fontsize=8)
    return _save(fig, path)


if __name__ == "__main__":
    sys.exit(main())

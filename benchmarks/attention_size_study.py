"""The context-size study for sentences: the model without attention (configs/m30k_de_en_seq2seq.yaml) and the
model with attention (configs/m30k_de_en_attention.yaml) at hidden sizes 64, 128, 256 and 512, each trained on
Multi30k German -> English under the same fixed wall-clock budget, scored on test_2016_flickr with beam search:
test BLEU against the hidden size, and BLEU against the source-sentence length in buckets (as Sutskever et al.
2014, figure 3, do for length).

    python benchmarks/attention_size_study.py [--minutes 15] [--sizes 64 128 256 512] [--parallel 2]

`hidden_size` is the decoder's state in both models: the whole context of the model without attention (its final
encoder states), and the attention model's decoder state and attentional vector (its bidirectional encoder has
hidden_size / 2 per direction, so the memory it attends to is hidden_size wide at every source position).
Runs go `--parallel` at a time, one process and one BLAS thread each, so they share the 2 cores equally; each run
trains, then scores itself (BLEU per length bucket) in its own process. Writes
benchmarks/results/attention_size_study.json, attention_bleu_by_size.png and attention_bleu_by_length.png;
runs go to runs/attention_size_study/<model>_<size>.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_file import RESULTS, write_results  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODELS = {"seq2seq": "configs/m30k_de_en_seq2seq.yaml", "attention": "configs/m30k_de_en_attention.yaml"}
LABELS = {"seq2seq": "without attention", "attention": "with attention"}
EDGES = (1, 8, 11, 14, 17, 21)  # source-length buckets (tokens): 1-7, 8-10, 11-13, 14-16, 17-20, 21+


def bucket_names(edges: tuple[int, ...] = EDGES) -> list[str]:
    return [f"{a}-{b - 1}" for a, b in zip(edges, edges[1:])] + [f"{edges[-1]}+"]


def bleu_by_length(translator: Any, test: Any, edges: tuple[int, ...] = EDGES) -> dict[str, Any]:
    """Beam-search the test split once -> corpus BLEU, and BLEU per source-length bucket (word tokens)."""
    import numpy as np

    from enc2dec.training.metrics import translation_scores

    hyps = translator.translate(test.src_text)
    bucket = np.searchsorted(np.asarray(edges), [len(s) for s in test.src], side="right") - 1  # (N,)
    rows = []
    for k, name in enumerate(bucket_names(edges)):
        idx = np.flatnonzero(bucket == k)
        bleu = translation_scores([hyps[i] for i in idx], [test.tgt_text[i] for i in idx]).bleu if len(idx) else None
        rows.append({"bucket": name, "n": int(len(idx)), "bleu": bleu})
    return {"test_bleu": translation_scores(hyps, test.tgt_text).bleu, "by_length": rows, "hypotheses": hyps}


def run_job(model: str, size: int, minutes: float, out: Path, data_dir: str | None, extra: list[str]) -> None:
    """One run, in this process: train, then score by length; writes out/length_scores.json."""
    from enc2dec import translation
    from enc2dec.training.checkpoint import save_json

    overrides = [f"model.hidden_size={size}", f"training.max_minutes={minutes}", *extra]
    if data_dir:
        overrides.append(f"data.data_dir={data_dir}")
    cfg = translation.load_config(ROOT / MODELS[model], overrides)
    data = translation.load_data(cfg.data)
    result = translation.train(cfg, out, data=data)
    best = out / "best" if (out / "best").is_dir() else out / "last"
    scores = bleu_by_length(translation.load_translator(best), data.test)
    hyps = scores.pop("hypotheses")
    (out / "test_hypotheses.txt").write_text("\n".join(hyps) + "\n", encoding="utf-8")
    save_json(out / "length_scores.json", {**scores, **result.test, "train_minutes": result.train_minutes})


def train_all(jobs: list[tuple[str, int]], args: argparse.Namespace) -> None:
    """Start every job as `--job MODEL SIZE` in its own process, at most args.parallel at a time."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    pending, running = list(jobs), []
    while pending or running:
        while pending and len(running) < args.parallel:
            model, size = pending.pop(0)
            out = Path(args.out) / f"{model}_{size}"
            out.mkdir(parents=True, exist_ok=True)
            cmd = [
                sys.executable,
                __file__,
                "--job",
                model,
                str(size),
                "--minutes",
                str(args.minutes),
                "--out",
                args.out,
            ]
            cmd += (["--data-dir", args.data_dir] if args.data_dir else []) + [
                a for o in args.set for a in ("--set", o)
            ]
            log = open(f"{out}.log", "w")
            running.append(
                (model, size, subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
            )
            print(f"started {model} {size}", flush=True)
        time.sleep(5)
        for job in [j for j in running if j[2].poll() is not None]:
            running.remove(job)
            print(f"finished {job[0]} {job[1]}: exit code {job[2].returncode}", flush=True)


def plot(table: list[dict[str, Any]], sizes: list[int]) -> list[Path]:
    from enc2dec.plots import _pyplot, _save

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for i, model in enumerate(MODELS):
        rows = [r for r in table if r["model"] == model]
        ax.plot(
            [r["hidden_size"] for r in rows], [r["test_bleu"] for r in rows], "o-", color=f"C{i}", label=LABELS[model]
        )
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(s) for s in sizes])
    ax.set_xlabel("hidden size (the context of the model without attention)")
    ax.set_ylabel("test BLEU (beam 5)")
    ax.set_title("Multi30k de-en, same budget per run", fontsize=9)
    ax.legend()
    paths = [_save(fig, RESULTS / "attention_bleu_by_size.png")]

    fig, ax = plt.subplots(figsize=(6.5, 4))
    names = bucket_names()
    for i, model in enumerate(MODELS):
        for j, r in enumerate(r for r in table if r["model"] == model):
            style = "-" if model == "attention" else "--"
            alpha = 0.35 + 0.65 * (j + 1) / len(sizes)
            bleus = [b["bleu"] for b in r["by_length"]]
            ax.plot(
                names,
                bleus,
                style,
                marker="o",
                color=f"C{i}",
                alpha=alpha,
                label=f"{LABELS[model]}, {r['hidden_size']}",
            )
    counts = [b["n"] for b in table[0]["by_length"]]
    ax.set_xticks(range(len(names)), [f"{n}\n({c})" for n, c in zip(names, counts)], fontsize=8)
    ax.set_xlabel("source length in words (sentences)")
    ax.set_ylabel("test BLEU (beam 5)")
    ax.set_title("BLEU by source-sentence length", fontsize=9)
    ax.legend(fontsize=7, ncol=2)
    paths.append(_save(fig, RESULTS / "attention_bleu_by_length.png"))
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=15.0, help="wall-clock training budget of each run")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256, 512])
    parser.add_argument("--parallel", type=int, default=2, help="runs at a time (one BLAS thread each)")
    parser.add_argument("--out", default="runs/attention_size_study")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--set", action="append", default=[], help="extra config overrides for every run")
    parser.add_argument("--reuse", action="store_true", help="skip runs whose length_scores.json exists")
    parser.add_argument("--job", nargs=2, metavar=("MODEL", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.job:
        model, size = args.job[0], int(args.job[1])
        run_job(model, size, args.minutes, Path(args.out) / f"{model}_{size}", args.data_dir, args.set)
        return 0

    load_before = os.getloadavg()[0]
    jobs = [(m, s) for s in sorted(args.sizes, reverse=True) for m in MODELS]
    todo = [
        j for j in jobs if not (args.reuse and (Path(args.out) / f"{j[0]}_{j[1]}" / "length_scores.json").is_file())
    ]
    train_all(todo, args)
    table = []
    for model, size in sorted(jobs, key=lambda j: (list(MODELS).index(j[0]), j[1])):
        path = Path(args.out) / f"{model}_{size}" / "length_scores.json"
        if not path.is_file():
            print(f"missing {path}; see {path.parent}.log", file=sys.stderr)
            return 1
        s = json.loads(path.read_text())
        table.append({"model": model, "hidden_size": size, "test_bleu": s["test_bleu"], "test_bleu_lc": s["test_bleu_lc"],
                      "test_ppl": s["test_ppl"], "train_minutes": s["train_minutes"], "by_length": s["by_length"]})  # fmt: skip
    pictures = plot(table, sorted(args.sizes))
    metrics = {f"test_bleu_{r['model']}_{r['hidden_size']}": r["test_bleu"] for r in table}
    path = write_results(
        "attention_size_study",
        {"minutes": args.minutes, "sizes": sorted(args.sizes), "configs": MODELS, "set": args.set, "edges": EDGES},
        metrics,
        ("sacrebleu",),
        table=table,
        pictures=[str(p.relative_to(ROOT)) for p in pictures],
        notes=f"{args.parallel} runs at a time, one process and one BLAS thread each, on a 2-core machine shared with "
        f"other jobs (1-minute load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end).",
    )
    for r in table:
        print(f"{r['model']:>9} {r['hidden_size']:>4}: BLEU {r['test_bleu']:5.2f}  " +
              "  ".join(f"{b['bucket']}: {b['bleu'] if b['bleu'] is None else round(b['bleu'], 1)}" for b in r["by_length"]))  # fmt: skip
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

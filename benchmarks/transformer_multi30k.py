"""A small Transformer on Multi30k German -> English (configs/m30k_de_en_transformer.yaml: joint vocabulary,
three-way tying), scored on test_2016_flickr with beam search (sacrebleu, cased, 13a), and the key/value cache's
speed-up for beam decoding.

    python benchmarks/transformer_multi30k.py --data-dir ../shared/data [--workers 2] [--threads 1]
    python benchmarks/transformer_multi30k.py --data-dir ../shared/data --smoke --results-dir /tmp/results

1. trains `enc2dec train CONFIG --workers N` in child processes, with --threads BLAS threads each (2 processes of
   1 thread: the faster use of the 2 cores, benchmarks/results/scaling.json); --trained takes the finished run in
   --runs instead (trained by the command this script records; its config must be this one);
2. averages the last --average numbered checkpoints (training.keep_checkpoints) into RUN/averaged, and keeps
   whichever of best/, averaged/ and the ensemble of those checkpoints (decoding.Ensemble) has the higher BLEU on
   the validation split (run.evaluate, beam search as configured);
3. decodes the validation sources with beam 5 with and without the cache (`Uncached` re-runs the whole prefix each
   step), checks both give the same hypotheses, and records the time ratio as cache_speedup;
4. every choice made, scores the kept model once on test_2016_flickr (run.evaluate), and the ensemble beside it
   (test_bleu_ensemble; chosen or not).

Writes transformer_multi30k.json into --results-dir; the run goes to --runs. benchmarks/transformer_directions.py
runs steps 1, 2 and 4 for other language pairs.
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

# the smoke mode: SentencePiece fitted on 300 sentences, an evaluation and a numbered checkpoint at every step
SMOKE = ["data.sp_vocab_size=250", "training.max_steps=3", "training.eval_every_steps=1"]


def _decode(model, translator, src: list[list[int]], **options) -> tuple[list, float]:
    """decode_all as Translator.decode_ids runs it (same settings), on any StepModel; (n-best lists, seconds)."""
    from enc2dec.decoding import decode_all

    d = translator.decoding
    settings = dict(max_len_a=d.max_len_a, max_len_b=d.max_len_b, batch_size=d.batch_size, **options)
    start = time.perf_counter()
    out = decode_all(model, src, **settings)
    return out, time.perf_counter() - start


def add_recipe_arguments(parser: argparse.ArgumentParser, runs: str) -> None:
    parser.add_argument("--config", default="configs/m30k_de_en_transformer.yaml")
    parser.add_argument("--average", type=int, default=5, help="average (and ensemble) the last N checkpoints")
    parser.add_argument("--workers", type=int, default=2, help="training processes (MPI, --workers of enc2dec train)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads per training process")
    common.add_arguments(parser, runs=runs)


def train_choose_score(args: argparse.Namespace, out: Path, sets: list[str], data_dir: str | None,
                       trained: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:  # fmt: skip
    """Steps 1, 2 and 4 for the recipe with `sets` (over --config and --set) into run folder `out` -> (metrics,
    extra sections for the results file). trained: take the finished run in `out` (its config must be this)."""
    from enc2dec import run
    from enc2dec.training import checkpoint

    cfg = run.with_data_dir(run.load_config(common.ROOT / args.config, sets), data_dir)  # checked before training
    command = common.training_command(args.config, out, sets, data_dir, args.threads, args.workers)
    if trained:
        if run.load(out, data_dir=data_dir).config != cfg:
            raise SystemExit(f"--trained: {out} was not trained with this recipe ({command})")
    else:
        common.wait_all({out.name: (out, common.start_training(args.config, out, sets, data_dir=data_dir,
                                                                threads=args.threads, workers=args.workers))})  # fmt: skip
    metrics = common.summary(out, cfg.training.best_metric)

    # the model: best/, the average of the last checkpoints or their ensemble, by BLEU on the validation split
    candidates: dict[str, Any] = {"best": out / "best"}
    numbered = checkpoint.numbered_checkpoints(out)
    last = numbered[-args.average :] if args.average > 1 and len(numbered) >= 2 else []
    if last:
        candidates["averaged"] = checkpoint.average_checkpoints(last, out / "averaged")
        candidates["ensemble"] = last
    valid = {name: run.evaluate(d, "valid", data_dir=data_dir) for name, d in candidates.items()}
    selected = max(valid, key=lambda name: valid[name]["valid_bleu"])
    for name, scores in valid.items():
        metrics[f"valid_bleu_{name}"] = scores["valid_bleu"]
        print(f"{out.name} {name}: valid BLEU {scores['valid_bleu']:.2f}", flush=True)

    # every choice is made: the test split, once (and the ensemble beside the kept model)
    scores = run.evaluate(candidates[selected], "test", data_dir=data_dir)
    keys = ("test_bleu", "test_bleu_lc", "test_bleu_lc_intl", "test_chrf")
    metrics.update({k: scores[k] for k in (*keys, "test_ppl") if k in scores})
    if "ensemble" in candidates:
        ensemble = scores if selected == "ensemble" else run.evaluate(candidates["ensemble"], "test", data_dir=data_dir)
        metrics.update({k.replace("test_bleu", "test_bleu_ensemble"): ensemble[k] for k in keys[:3]})
    extra = dict(config=cfg, training_command=command, model=selected, bleu_signature=scores["bleu_signature"],
                 checkpoints=[common.relative(p) for p in last])  # fmt: skip
    return metrics, extra


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_recipe_arguments(parser, runs="runs/transformer")
    parser.add_argument("--trained", action="store_true", help="use the finished run in --runs: do not train")
    args = parser.parse_args(argv)
    out, results_dir = Path(args.runs), Path(args.results_dir)
    sets = common.overrides(args, SMOKE)
    data_dir = common.smoke_multi30k(args.data_dir, out.parent / "smoke_data") if args.smoke else args.data_dir

    from enc2dec import config as config_io
    from enc2dec import run
    from enc2dec.models.transformer import Uncached
    from enc2dec.tasks.translation import split_pairs

    metrics, extra = train_choose_score(args, out, sets, data_dir, args.trained)
    cfg = extra.pop("config")

    # the cache's speed-up: beam 5 over the validation sources, with and without the cache
    translator = run.load(out / "best", data_dir=data_dir).trained
    sources, _ = split_pairs(cfg.data, "valid")
    src = [translator.encode(s) for s in sources[: 8 if args.smoke else None]]  # smoke: an untrained model is slow
    beam5 = dict(method="beam", beam_size=5, length_penalty=cfg.decoding.length_penalty)
    with5, with_seconds = _decode(translator.model, translator, src, **beam5)
    without5, without_seconds = _decode(Uncached(translator.model), translator, src, **beam5)
    metrics.update(
        cache_speedup=without_seconds / with_seconds,
        beam5_seconds_cached=with_seconds,
        beam5_seconds_uncached=without_seconds,
        cache_outputs_identical=[[h.tokens for h in hs] for hs in with5] == [[h.tokens for h in hs] for hs in without5],
        cache_sentences=len(src),
    )
    path = write_results(
        "transformer_multi30k",
        config_io.to_dict(cfg),
        metrics,
        ("sacrebleu", "sentencepiece"),
        results_dir,
        note=args.note,
        threads={"training": args.threads, "training_processes": args.workers, "evaluation": blas_threads()},
        smoke=args.smoke,
        **extra,
    )
    print(json.dumps(metrics, indent=2))
    print(f"BLEU signature: {extra['bleu_signature']}\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A small Transformer on Multi30k German -> English (configs/m30k_de_en_transformer.yaml), scored on
test_2016_flickr with beam search (sacrebleu, cased, 13a), and the key/value cache's speed-up for beam decoding.

    python benchmarks/transformer_multi30k.py --data-dir ../shared/data [--threads 2]
    python benchmarks/transformer_multi30k.py --data-dir ../shared/data --smoke --results-dir /tmp/results

1. trains `enc2dec train CONFIG` in a child process with --threads BLAS threads (2: both cores of the machine;
   use 1 when other jobs share it, where a second thread busy-waits);
2. averages the last --average numbered checkpoints (training.keep_checkpoints) into RUN/averaged and keeps
   whichever of the run's best/ and averaged/ has the higher BLEU on the validation split (run.evaluate, beam
   search as configured);
3. decodes the validation sources with beam 5 with and without the cache (`Uncached` re-runs the whole prefix each
   step), checks both give the same hypotheses, and records the time ratio as cache_speedup;
4. every choice made, scores the kept model once on test_2016_flickr (run.evaluate).

Writes transformer_multi30k.json into --results-dir; the run goes to --runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="configs/m30k_de_en_transformer.yaml")
    parser.add_argument("--average", type=int, default=3, help="average the last N numbered checkpoints")
    parser.add_argument("--threads", type=int, default=2, help="BLAS threads for training")
    common.add_arguments(parser, runs="runs/transformer")
    args = parser.parse_args(argv)
    out, results_dir = Path(args.runs), Path(args.results_dir)
    sets = common.overrides(args, SMOKE)
    data_dir = common.smoke_multi30k(args.data_dir, out.parent / "smoke_data") if args.smoke else args.data_dir

    from enc2dec import config as config_io
    from enc2dec import run
    from enc2dec.models.transformer import Uncached
    from enc2dec.tasks.translation import split_pairs
    from enc2dec.training import checkpoint

    cfg = run.with_data_dir(run.load_config(common.ROOT / args.config, sets), data_dir)  # checked before training
    common.wait_all({"transformer": (out, common.start_training(args.config, out, sets, data_dir=data_dir,
                                                                threads=args.threads))})  # fmt: skip
    metrics = common.summary(out, cfg.training.best_metric)

    # the model: best/ or the average of the last checkpoints, by BLEU on the validation split
    candidates = {"best": out / "best"}
    numbered = checkpoint.numbered_checkpoints(out)
    averaged_from = numbered[-args.average :] if args.average > 1 and len(numbered) >= 2 else []
    if averaged_from:
        candidates["averaged"] = checkpoint.average_checkpoints(averaged_from, out / "averaged")
    valid = {name: run.evaluate(d, "valid", data_dir=data_dir) for name, d in candidates.items()}
    selected = max(valid, key=lambda name: valid[name]["valid_bleu"])
    for name, scores in valid.items():
        metrics[f"valid_bleu_{name}"] = scores["valid_bleu"]
        print(f"{name}: valid BLEU {scores['valid_bleu']:.2f}", flush=True)

    # the cache's speed-up: beam 5 over the validation sources, with and without the cache
    translator = run.load(candidates[selected], data_dir=data_dir).trained
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

    # every choice is made: the test split, once
    scores = run.evaluate(candidates[selected], "test", data_dir=data_dir)
    metrics.update({k: scores[k] for k in ("test_bleu", "test_bleu_lc", "test_chrf", "test_ppl")})
    path = write_results(
        "transformer_multi30k",
        config_io.to_dict(cfg),
        metrics,
        ("sacrebleu", "sentencepiece"),
        results_dir,
        note=args.note,
        threads={"training": args.threads, "evaluation": blas_threads()},
        training_command=common.training_command(args.config, out, sets, data_dir, args.threads),
        model=selected,
        averaged_from=[common.relative(p) for p in averaged_from],
        bleu_signature=scores["bleu_signature"],
        smoke=args.smoke,
    )
    print(json.dumps(metrics, indent=2))
    print(f"BLEU signature: {scores['bleu_signature']}\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A small Transformer on Multi30k German -> English: trained for at most 60 minutes on 2 CPU cores, scored on
test_2016_flickr with beam search (sacrebleu, cased, 13a), and the key/value cache's speed-up for beam decoding.

    python benchmarks/transformer_multi30k.py --data-dir ../shared/data [--config configs/m30k_de_en_transformer.yaml]

1. trains `enc2dec train CONFIG --out runs/transformer` with --threads BLAS threads (2: both cores of the machine;
   use 1 when other jobs share it, where a second thread busy-waits), unless --skip-train reuses a finished run;
2. averages the last --average numbered checkpoints (training.keep_checkpoints) into runs/transformer/averaged and
   keeps whichever of best/ and averaged/ has the higher greedy BLEU on the whole validation set (never the test);
3. scores it on test_2016_flickr (beam search as configured, BLEU, chrF, perplexity);
4. decodes test_2016_flickr with beam 5 with and without the cache (`Uncached` re-runs the whole prefix each step),
   checks both give the same hypotheses, and records the time ratio as cache_speedup.

Writes benchmarks/results/transformer_multi30k.json and prints the sacrebleu signature.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_file import write_results  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _train(args: argparse.Namespace) -> None:
    cmd = [sys.executable, "-m", "enc2dec.cli", "-v", "train", args.config, "--out", args.out, "--quiet"]
    cmd += (["--data-dir", args.data_dir] if args.data_dir else []) + [a for o in args.set for a in ("--set", o)]
    threads = str(args.threads)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(f"{args.out}.log", "w") as log:
        if subprocess.run(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT).returncode != 0:
            raise SystemExit(f"training failed; see {args.out}.log")


def _encode(translator, sentences: list[str]) -> list[list[int]]:
    return [translator.src_vocab.encode(translator.src_tokenizer.tokenize(s)) for s in sentences]


def _decode(model, translator, src: list[list[int]], **options) -> tuple[list, float]:
    """decode_all as Translator.decode_ids runs it (same settings), on any StepModel; (n-best lists, seconds)."""
    from enc2dec.decoding import decode_all

    d = translator.decoding
    settings = dict(max_len_a=d.max_len_a, max_len_b=d.max_len_b, batch_size=d.batch_size, **options)
    start = time.perf_counter()
    out = decode_all(model, src, **settings)
    return out, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="configs/m30k_de_en_transformer.yaml")
    parser.add_argument("--out", default="runs/transformer")
    parser.add_argument("--data-dir", default=None, help="data folder (else $ENC2DEC_DATA or ~/.cache/enc2dec)")
    parser.add_argument("--average", type=int, default=3, help="average the last N numbered checkpoints")
    parser.add_argument("--skip-train", action="store_true", help="reuse the finished run in --out")
    parser.add_argument("--threads", type=int, default=2, help="BLAS threads for training")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="training config override")
    parser.add_argument("--limit", type=int, default=None, help="smoke test: only the first N valid/test sentences")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    if not args.skip_train:
        _train(args)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

    from enc2dec import config as config_io
    from enc2dec import translation
    from enc2dec.data.datasets.multi30k import read_multi30k
    from enc2dec.data.text import ParallelText
    from enc2dec.models.transformer import Uncached
    from enc2dec.training import checkpoint
    from enc2dec.training.metrics import perplexity, translation_scores

    out = Path(args.out)
    cfg = translation.load_config(ROOT / args.config, args.set)
    state = checkpoint.load_json(out / "last" / checkpoint.STATE_FILE)
    valid = read_multi30k("val", cfg.data.src_lang, cfg.data.tgt_lang, args.data_dir)
    test = read_multi30k("test_2016_flickr", cfg.data.src_lang, cfg.data.tgt_lang, args.data_dir)
    if args.limit is not None:
        valid, test = valid.subset(range(args.limit)), test.subset(range(args.limit))

    candidates = {"best": out / "best"}
    numbered = checkpoint.numbered_checkpoints(out)
    if args.average > 1 and len(numbered) >= 2:
        averaged_from = numbered[-args.average :]
        candidates["averaged"] = checkpoint.average_checkpoints(averaged_from, out / "averaged")
    valid_bleu = {}
    for name, directory in candidates.items():
        t = translation.load_translator(directory)
        valid_bleu[name] = t.score(valid.src, valid.tgt, method="greedy").bleu
        print(f"{name}: greedy valid BLEU {valid_bleu[name]:.2f}", flush=True)
    selected = max(valid_bleu, key=valid_bleu.get)
    translator = translation.load_translator(candidates[selected])
    model = translator.model

    # test scores: beam search as configured, on the cached model (the pipeline's path)
    src = _encode(translator, test.src)
    d = cfg.decoding
    beam = dict(method="beam", beam_size=d.beam_size, length_penalty=d.length_penalty)
    cached, cached_seconds = _decode(model, translator, src, **beam)
    hyps = [translator.detokenize(h[0].tokens) if h else "" for h in cached]
    scores = translation_scores(hyps, test.tgt)
    tgt = [translator.tgt_vocab.encode(translator.tgt_tokenizer.tokenize(s)) for s in test.tgt]
    test_loss = translation.test_nll(model, ParallelText(src, tgt, test.src, test.tgt), d.batch_size)

    # the cache's speed-up: beam 5 over test_2016_flickr, without and with the cache
    beam5 = dict(method="beam", beam_size=5, length_penalty=d.length_penalty)
    with5, with_seconds = (cached, cached_seconds) if d.beam_size == 5 else _decode(model, translator, src, **beam5)
    without5, without_seconds = _decode(Uncached(model), translator, src, **beam5)
    identical = [[h.tokens for h in hs] for hs in with5] == [[h.tokens for h in hs] for hs in without5]

    metrics = {
        "test_bleu": scores.bleu,
        "test_bleu_lc": scores.bleu_lc,
        "test_chrf": scores.chrf,
        "test_ppl": perplexity(test_loss),
        "train_minutes": state["elapsed_seconds"] / 60,
        "cache_speedup": without_seconds / with_seconds,
        "steps": state["step"],
        "epochs": state["history"]["evals"][-1]["epoch"] if state["history"]["evals"] else None,
        "beam5_seconds_cached": with_seconds,
        "beam5_seconds_uncached": without_seconds,
        "cache_outputs_identical": identical,
        "valid_bleu_greedy": valid_bleu,
    }
    path = write_results(
        "transformer_multi30k",
        config_io.to_dict(cfg),
        metrics,
        ("sacrebleu", "sentencepiece"),
        model=selected,
        averaged_from=[str(p) for p in averaged_from] if "averaged" in candidates else [],
        bleu_signature=scores.bleu_signature,
        training_command=f"OPENBLAS_NUM_THREADS={args.threads} enc2dec train {args.config} --out {args.out}"
        + (f" --data-dir {args.data_dir}" if args.data_dir else "")
        + "".join(f" --set {o}" for o in args.set),
        notes=f"Training with {args.threads} BLAS thread(s), decoding with one, on a 2-core machine (1-minute load "
        f"average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end). Model: the {selected} "
        "checkpoint, chosen by greedy BLEU on the whole validation set.",
    )
    print(json.dumps(metrics, indent=2))
    print(f"BLEU signature: {scores.bleu_signature}\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The decoding race of the performance benchmark: a trained enc2dec model against the same weights exported to
ONNX Runtime (every sequence model) and CTranslate2 (the Transformer, float32 and int8), on test_2016_flickr.

Same rules on every side: greedy and beam search (beam 5, the model's length penalty), the maximum length
int(a * src_len + b) of the model's decoding settings, batches of the model's decoding batch size; enc2dec and
ONNX Runtime run enc2dec's own search (enc2dec.decoding, on an OnnxStepModel for ONNX Runtime); CTranslate2 runs
its own, given one source length at a time (its maximum length is per batch: enc2dec.export.ctranslate2.
translate_options). Threads: numpy's BLAS and enc2dec's element-wise threads and onnxruntime's intra-op threads
are set to the harness's --threads; CTranslate2 gets the number of intra_threads up to --threads that decodes its
warm-up sentences fastest (on this 2-core machine 1 thread ran 2-4x faster than 2: its OpenMP threads wait on
each other), recorded per engine. Each repeat decodes the whole test set on every
engine (the order flips every repeat); throughput is sentences/s and target tokens/s (tokens + eos where emitted);
a ratio is enc2dec's throughput over the engine's in the same repeat, reported as min / median / max. Each
engine's outputs of its first repeat are scored (sacrebleu BLEU, cased, 13a), and compared with enc2dec's: the
share of identical outputs is the export parity. enc2dec also decodes with its lexical shortlist (enc2dec shortlist's
defaults, built from the training pairs): its speed-up and BLEU cost against enc2dec without it; and without sorting
across batches (`enc2dec_unsorted`: each run of batch_size input lines decoded as it comes): the gain of sorting.
Dropping finished sentences from the batch is measured as work: the decoder row-steps greedy search would compute
if every sentence stayed in its batch until the batch's longest one ended, over the row-steps it computes.

    race("transformer", "runs/transformer", threads=2, repeats=3) -> {"engines": ..., "metrics": ...}
"""

from __future__ import annotations

import dataclasses
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BEAM = 5
TASKS = ("greedy", "beam")
WARMUP_SENTENCES = 64  # decoded once by every engine before the timed repeats


def _summary(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


Engine = Callable[[str, int], list[list[int]]]  # (task, n) -> the target ids of the first n sentences


def _enc2dec_engine(translator: Any, src: list[list[int]], **more: Any) -> Engine:
    """enc2dec's decoding (or ONNX Runtime's through an OnnxTranslator); more: decoding options (shortlist=)."""

    def decode(task: str, n: int) -> list[list[int]]:
        options = {"method": task} | ({"beam_size": BEAM} if task == "beam" else {}) | more
        return [h[0].tokens if h else [] for h in translator.decode_ids(src[:n], **options)]

    return decode


def _unsorted_engine(translator: Any, src: list[list[int]]) -> Engine:
    """enc2dec's decoding of the input in runs of batch_size lines as they come: no sorting across batches."""
    size = translator.decoding.batch_size

    def decode(task: str, n: int) -> list[list[int]]:
        options = {"method": task} | ({"beam_size": BEAM} if task == "beam" else {})
        runs = (translator.decode_ids(src[k : min(k + size, n)], **options) for k in range(0, n, size))
        return [h[0].tokens if h else [] for hyps in runs for h in hyps]

    return decode


def greedy_work_ratio(translator: Any, src: list[list[int]], outputs: list[list[int]]) -> float:
    """Decoder row-steps of greedy search if finished sentences stayed in their batch until its longest ended, over
    the row-steps with them dropped (what enc2dec does). A sentence takes len(output) + 1 steps (eos), or its
    maximum length if it ended there without eos."""
    import numpy as np

    from enc2dec.decoding.batch import batch_order
    from enc2dec.decoding.state import length_limits, max_lengths

    d = translator.decoding
    todo = [i for i, s in enumerate(src) if s]  # decode_all's: empty sources take no step
    lengths = np.array([len(src[i]) for i in todo])
    limits = max_lengths(lengths, d.max_len_a, d.max_len_b, length_limits(translator.model)[1])
    steps = [min(len(outputs[i]) + 1, int(limit)) for i, limit in zip(todo, limits)]
    kept = sum(len(b) * max(steps[k] for k in b) for b in batch_order(list(lengths), d.batch_size))
    return kept / sum(steps)


def gemm_race(model: Any, threads: int, repeats: int = 7, calls: int = 200) -> dict:
    """numpy's product (enc2dec's) against ONNX Runtime's MatMul on a Transformer decoder step's products: (rows, D)
    x (D, n) for n in 3D, D, ff and V, and (rows, ff) x (ff, D), with rows 64 (a greedy batch) and 320 (beam 5).
    Microseconds per product, the median of `repeats` alternating timings of `calls` products; ORT's includes its
    session.run call, as in decoding. -> {"rows x k x n": {"numpy_us", "onnxruntime_us", "numpy_over_onnxruntime"}}."""
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    c = model.config
    D, ff, V = c.model_size, c.ff_size, model.output.n_out
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    rng = np.random.default_rng(0)
    out: dict = {}
    for rows in (64, 320):
        for k, n in ((D, 3 * D), (D, D), (D, ff), (ff, D), (D, V)):
            x, w = rng.standard_normal((rows, k), dtype=np.float32), rng.standard_normal((k, n), dtype=np.float32)
            graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "gemm",
                                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", k])],
                                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", n])],
                                      [numpy_helper.from_array(w, "w")])  # fmt: skip
            model_proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
            session = ort.InferenceSession(model_proto.SerializeToString(), options,
                                           providers=["CPUExecutionProvider"])  # fmt: skip
            sides = {"numpy": lambda x=x, w=w: x @ w, "onnxruntime": lambda x=x, s=session: s.run(None, {"x": x})}
            times: dict[str, list[float]] = {name: [] for name in sides}
            for _ in range(repeats):
                for name, fn in sides.items():
                    fn()
                    start = time.perf_counter()
                    for _ in range(calls):
                        fn()
                    times[name].append((time.perf_counter() - start) / calls * 1e6)
            a, b = statistics.median(times["numpy"]), statistics.median(times["onnxruntime"])
            out[f"{rows} x {k} x {n}"] = {"numpy_us": a, "onnxruntime_us": b, "numpy_over_onnxruntime": a / b}
    return out


def _ct2_engine(folder: Path, translator: Any, src: list[list[int]], threads: int, compute_type: str,
                chosen: dict) -> Engine:  # fmt: skip
    """CTranslate2 on the exported folder: the sources as pieces, grouped by length (its maximum length is per
    batch), batches of the model's decoding batch size; outputs mapped back to enc2dec's target ids. The number of
    intra_threads (1..threads) that decodes the warm-up sentences fastest (greedy) is used, and put in `chosen`."""
    import ctranslate2

    from enc2dec.export.ctranslate2 import translate_options

    def make(n: int) -> Any:
        return ctranslate2.Translator(str(folder), device="cpu", compute_type=compute_type, intra_threads=n,
                                      inter_threads=1)  # fmt: skip

    pieces = [translator.src_vocab.decode(s, strip_specials=False) for s in src]
    by_length: dict[int, list[int]] = {}
    for i, s in enumerate(src):
        by_length.setdefault(len(s), []).append(i)
    stoi = translator.tgt_vocab.stoi
    decoding = translator.decoding  # beam 5: race() set it
    limit = getattr(translator.model, "max_target_length", None)

    def decode(task: str, n: int) -> list[list[int]]:
        out: list[list[int]] = [[] for _ in src[:n]]
        for length, rows in by_length.items():
            rows = [i for i in rows if i < n]
            if not rows:
                continue
            options = translate_options(decoding, length, method=task, max_target_length=limit)
            results = engine.translate_batch([pieces[i] for i in rows], max_batch_size=decoding.batch_size,
                                             **options)  # fmt: skip
            for i, r in zip(rows, results):
                out[i] = [stoi.get(t, translator.tgt_vocab.UNK) for t in r.hypotheses[0]]
        return out

    seconds = {}
    for n_threads in range(1, threads + 1):
        engine = make(n_threads)
        decode("greedy", WARMUP_SENTENCES)  # the first call pays for lazy initialisations
        start = time.perf_counter()
        decode("greedy", WARMUP_SENTENCES)
        seconds[n_threads] = time.perf_counter() - start
    chosen["intra_threads"] = min(seconds, key=seconds.get)
    chosen["warmup_seconds_by_threads"] = seconds
    engine = make(chosen["intra_threads"])
    return decode


def race(name: str, run_dir: str | Path, *, threads: int, repeats: int, data_dir: str | None = None) -> dict:
    """Race enc2dec's decoding of the model in run_dir against its exports; details and the metrics of `name`."""
    from enc2dec import run
    from enc2dec.export import export, onnx_runtime
    from enc2dec.tasks.translation import split_pairs
    from enc2dec.training.metrics import translation_scores

    loaded = run.load(run_dir, data_dir=data_dir)
    translator = loaded.trained
    translator.decoding = dataclasses.replace(translator.decoding, beam_size=BEAM)
    sources, references = split_pairs(loaded.config.data, "test")
    src = [translator.encode(s) for s in sources]
    shortlist = translator.build_shortlist(*split_pairs(loaded.config.data, "train"))  # enc2dec shortlist's default
    with tempfile.TemporaryDirectory() as tmp:
        export(run_dir, "onnx", Path(tmp) / "onnx")
        ort = onnx_runtime.load_translator(Path(tmp) / "onnx", threads=threads)
        ort.decoding = translator.decoding
        engines = {"enc2dec": _enc2dec_engine(translator, src), "onnxruntime": _enc2dec_engine(ort, src),
                   "enc2dec_shortlist": _enc2dec_engine(translator, src, shortlist=shortlist),
                   "enc2dec_unsorted": _unsorted_engine(translator, src)}  # fmt: skip
        chosen: dict = {}
        if type(translator.model).__name__ == "Transformer":
            for quantization, compute_type in ((None, "float32"), ("int8", "int8")):
                folder = Path(tmp) / f"ct2_{compute_type}"
                export(run_dir, "ctranslate2", folder, quantization=quantization)
                chosen[f"ctranslate2_{compute_type}"] = {}
                engines[f"ctranslate2_{compute_type}"] = _ct2_engine(folder, translator, src, threads, compute_type,
                                                                     chosen[f"ctranslate2_{compute_type}"])  # fmt: skip
        result: dict = {"model": str(run_dir), "sentences": len(src), "engines": list(engines), "tasks": {},
                        "ctranslate2_threads": chosen}  # fmt: skip
        for task in TASKS:
            result["tasks"][task] = _time_engines(engines, task, repeats, translator, references,
                                                  translation_scores)  # fmt: skip
    result["greedy_work_ratio"] = greedy_work_ratio(translator, src, engines["enc2dec"]("greedy", len(src)))
    if type(translator.model).__name__ == "Transformer":
        result["gemm"] = gemm_race(translator.model, threads)
    return result | {"metrics": _metrics(name, result)}


def _time_engines(engines: dict, task: str, repeats: int, translator: Any, references: list[str],
                  scores: Callable) -> dict:  # fmt: skip
    names = list(engines)
    n = len(references)
    for fn in engines.values():  # warm-up: caches, allocations, lazy initialisations
        fn(task, WARMUP_SENTENCES)
    per_second: dict[str, list[float]] = {n: [] for n in names}
    tokens_per_second: dict[str, list[float]] = {n: [] for n in names}
    outputs: dict[str, list[list[int]]] = {}
    for r in range(repeats):
        for name in names if r % 2 == 0 else names[::-1]:
            start = time.perf_counter()
            out = engines[name](task, n)
            seconds = time.perf_counter() - start
            outputs.setdefault(name, out)
            per_second[name].append(len(out) / seconds)
            tokens_per_second[name].append(sum(len(t) + 1 for t in out) / seconds)
    reference = outputs["enc2dec"]
    detail: dict = {}
    for name in names:
        texts = [translator.detokenize(t) for t in outputs[name]]
        s = scores(texts, references)
        ratios = [e / o for e, o in zip(per_second["enc2dec"], per_second[name])]  # paired: the same repeat
        detail[name] = {
            "sentences_per_s": _summary(per_second[name]),
            "target_tokens_per_s": _summary(tokens_per_second[name]),
            "bleu": s.bleu,
            "bleu_lc": s.bleu_lc,
            "chrf": s.chrf,
            "bleu_signature": s.bleu_signature,
            "identical_to_enc2dec": sum(a == b for a, b in zip(outputs[name], reference)) / len(reference),
            "ratio_enc2dec_over_this": _summary(ratios),
            "ratio_by_repeat": ratios,
            "sentences_per_s_by_repeat": per_second[name],
        }
    return detail


def _metrics(name: str, result: dict) -> dict:
    """The keys of perf.json: decode_ratio_ort_{task}_{name}, decode_ratio_ct2_{task}_transformer,
    ct2_int8_speedup_{task}, shortlist_speedup_{task}_{name}, shortlist_bleu_cost_{task}_{name} (BLEU points lost),
    sort_speedup_{task}_{name} (sorted over unsorted), drop_finished_work_ratio_greedy_{name} (greedy_work_ratio),
    export_parity_{name} (the lower of greedy's and beam's share of identical outputs)."""
    metrics: dict = {}
    tasks = result["tasks"]
    for task in TASKS:
        d = tasks[task]
        metrics[f"decode_ratio_ort_{task}_{name}"] = d["onnxruntime"]["ratio_enc2dec_over_this"]
        if "ctranslate2_float32" in d:
            metrics[f"decode_ratio_ct2_{task}_{name}"] = d["ctranslate2_float32"]["ratio_enc2dec_over_this"]
            f32, int8 = (d[e]["sentences_per_s_by_repeat"] for e in ("ctranslate2_float32", "ctranslate2_int8"))
            metrics[f"ct2_int8_speedup_{task}"] = _summary([i / f for i, f in zip(int8, f32)])
        short = d["enc2dec_shortlist"]
        metrics[f"shortlist_speedup_{task}_{name}"] = _summary([1 / r for r in short["ratio_by_repeat"]])
        metrics[f"shortlist_bleu_cost_{task}_{name}"] = d["enc2dec"]["bleu"] - short["bleu"]
        metrics[f"sort_speedup_{task}_{name}"] = d["enc2dec_unsorted"]["ratio_enc2dec_over_this"]
    metrics[f"drop_finished_work_ratio_greedy_{name}"] = result["greedy_work_ratio"]
    metrics[f"export_parity_{name}"] = min(tasks[t]["onnxruntime"]["identical_to_enc2dec"] for t in TASKS)
    return metrics


def autoencoder_parity(run_dir: str | Path, *, threads: int, data_dir: str | None = None, atol: float = 1e-4) -> dict:
    """The share of test images whose ONNX Runtime reconstruction (encoder graph, then decoder graph) is within
    atol of enc2dec's in every pixel; and the largest difference."""
    import numpy as np

    from enc2dec import run
    from enc2dec.export import export, onnx_runtime
    from enc2dec.tasks.autoencoder import load_images

    loaded = run.load(run_dir, data_dir=data_dir)
    model = loaded.trained
    x = load_images(loaded.config.data).x["test"]
    ours = model.reconstruct(x)
    with tempfile.TemporaryDirectory() as tmp:
        export(run_dir, "onnx", Path(tmp) / "onnx")
        ae = onnx_runtime.load(Path(tmp) / "onnx", threads=threads)
        theirs = ae.reconstruct(x)
    diff = np.abs(theirs - ours).max(axis=1)  # (N,)
    return {"model": str(run_dir), "images": len(x), "max_abs_difference": float(diff.max()), "atol": atol,
            "metrics": {"export_parity_autoencoder": float(np.mean(diff <= atol))}}  # fmt: skip

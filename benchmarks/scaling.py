"""Data-parallel scaling on this machine: enc2dec's training and decoding on 1 process x 1 thread, 2 processes x 1
thread (mpiexec -n 2) and 1 process x 2 threads, for the LSTM seq2seq, the Transformer and the MNIST autoencoder of
the shipped configs; the all-reduce's share of a step and its bandwidth; the equivalence of 2 processes and 1; and
from those, the efficiency a cluster should expect (a ring all-reduce over a stated network).

    python benchmarks/scaling.py --data-dir ../shared/data --decode-model runs/seq2seq_multi30k/reversed
    python benchmarks/scaling.py --table       # the README's tables from the results file

Method, in one run:
- Training: each setting is a fresh job (mpiexec for 2 processes) with BLAS and element-wise threads set through
  the environment. It loads the config's data, builds the model and the Trainer (the code `enc2dec train` runs,
  without validation), takes --warmup steps, then --windows windows of the model's steps; the throughput of a
  window is the global batch's target tokens (images for the autoencoder) over its wall time, and a setting's
  throughput is the median window. Every setting takes the same global batches in the same order (one seed):
  speed-ups are ratios over the same work. Time spent in the gradient all-reduce and the loss all-reduce
  (waiting for the slower rank included) is summed per window: allreduce_fraction; so is the optimizer's step
  (each rank takes the whole step). The ceiling of data parallelism on this machine, whatever the communication:
  the 2 x 1 job again with the gradient all-reduce skipped (each rank steps on its own share, the loss all-reduce
  kept), train_ceiling_2proc over 1 x 1; what it lacks from 2 is the two processes' contention for the cores'
  caches and memory and the half-size products, plus the optimizer step every rank repeats.
- Decoding: beam search (beam 5) of test_2016_flickr's sources with --decode-model, one process or shared among
  two (Translator.decode_ids with the communicator), timed after a warm-up batch; the best of --decode-repeats.
- Equivalence: each model, dropout off, trains its warm-up steps and --equivalence-steps more on 1 and on 2
  processes from the same weights on the same global batches, with the configured optimizer; max over tensors of
  max|w2 - w1| / max|w1|. In float64 (weights, gradients and their reduction; the project's exactness checks are
  float64) it is max_weight_rel_diff_2proc: what is left of the difference is rounding. In float32 it is
  max_weight_rel_diff_2proc_float32, larger at full size: the two sums of a gradient round differently, a ReLU
  input near 0 can flip, and Adam divides each gradient by its running magnitude, so rounding in a near-zero
  gradient becomes a step of up to +-lr; details also give float32 with SGD.
- All-reduce bandwidth: Allreduce of a float32 buffer the size of each model's gradients (and 64 MB) between 2
  processes on this machine, median of 10: algorithm bandwidth, bytes of the buffer over seconds.
- Efficiency model: a step on N workers, each with the measured 1-process batch (the global batch grows N-fold),
  takes t_compute + t_allreduce with t_allreduce = 2 (N - 1) / N * gradient bytes / network bandwidth (ring
  all-reduce, bandwidth term only; no overlap with the backward pass assumed), t_compute the measured 1 x 1 step;
  efficiency = t_compute / (t_compute + t_allreduce).

Writes benchmarks/results/scaling.json (keys: train_speedup_2proc_{lstm,transformer,autoencoder},
train_speedup_2threads_*, train_ceiling_2proc_*, decode_speedup_2proc, allreduce_fraction_{lstm,transformer}, allreduce_gbytes_per_s,
max_weight_rel_diff_2proc, max_weight_rel_diff_2proc_float32).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import results_file  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODELS = {  # name -> (config, steps per window, warm-up steps, overrides that switch dropout off)
    "lstm": ("configs/m30k_de_en_seq2seq.yaml", 12, 3, ["model.dropout=0.0"]),
    "transformer": ("configs/m30k_de_en_transformer.yaml", 12, 3, ["model.dropout=0.0"]),
    "autoencoder": ("configs/autoencoder_mnist.yaml", 200, 20, []),
}
SETTINGS = {"1x1": (1, 1), "2x1": (2, 1), "1x2": (1, 2), "2x1_uncoupled": (2, 1)}  # processes x threads each
NETWORKS_GBIT = (10, 25, 100)
WORKERS = (4, 16, 64, 256)


def mpiexec() -> str:
    beside = Path(sys.executable).parent / "mpiexec"
    found = str(beside) if beside.is_file() else shutil.which("mpiexec")
    if found is None:
        raise SystemExit("scaling.py needs mpiexec and mpi4py: pip install -e '.[mpi]'")
    return found


def launch(processes: int, threads: int, argv: list[str]) -> dict:
    """Run this script's worker mode on `processes` processes with `threads` threads each; its JSON report."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        command = [sys.executable, __file__, *argv, "--report", str(report)]
        if processes > 1:
            command = [mpiexec(), "-n", str(processes), *command]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.update({k: str(threads) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "ENC2DEC_THREADS")})
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"worker {' '.join(argv)} on {processes} x {threads} failed:\n{done.stderr[-3000:]}")
        return json.loads(report.read_text())


# -- the workers (under mpiexec) --------------------------------------------------------------------------------
def training_worker(args: argparse.Namespace) -> dict:
    """Warm-up, then timed windows of the Trainer's steps; rank 0 reports (and with --weights saves them)."""
    import dataclasses

    import numpy as np

    from enc2dec import run
    from enc2dec.training import Trainer, checkpoint, distributed

    comm = distributed.world()
    config, per_window, warmup, _ = MODELS[args.model]
    cfg = run.with_data_dir(run.load_config(ROOT / config, args.set), args.data_dir)
    task = run.make_task(cfg)
    data = task.load_data()
    model = task.build_model(data)
    if args.float64:  # the equivalence in float64: weights, gradients and their reduction; images too
        model.astype(np.float64)
        if hasattr(data, "x"):
            data.x = {split: x.astype(np.float64) for split, x in data.x.items()}
    batches, _ = task.batches(data)
    train_cfg = dataclasses.replace(cfg.training, max_steps=warmup, max_minutes=None, max_epochs=None,
                                    eval_every_steps=None, progress=False, log_every_steps=10**9)  # fmt: skip
    trainer = Trainer(model, train_cfg, comm=comm)

    counters = {"items": 0.0, "allreduce": 0.0, "optimizer": 0.0}
    compute_loss = model.compute_loss

    def counted(batch):  # the rows of this rank
        loss, n = compute_loss(batch)
        counters["items"] += n
        return loss, n

    def timed(fn, counter):
        def call(*a, **k):
            start = time.perf_counter()
            out = fn(*a, **k)
            counters[counter] += time.perf_counter() - start
            return out

        return call

    def scale_only(scale):  # --uncoupled: each rank keeps its own gradient
        for buf in trainer._reducer.buckets:
            buf *= buf.dtype.type(scale)

    model.compute_loss = counted
    if trainer._reducer is not None:
        trainer._reducer.reduce = timed(scale_only if args.uncoupled else trainer._reducer.reduce, "allreduce")
    allreduce_sum = comm.allreduce_sum
    comm.allreduce_sum = timed(allreduce_sum, "allreduce")
    trainer.optimizer.step = timed(trainer.optimizer.step, "optimizer")

    trainer.fit(batches)  # warm-up: the first steps allocate caches and the optimizer's state
    windows = []
    steps = args.steps if args.steps is not None else per_window
    for _ in range(args.windows if args.steps is None else 1):
        counters.update(items=0.0, allreduce=0.0, optimizer=0.0)
        trainer.config = dataclasses.replace(train_cfg, max_steps=trainer.step + steps)
        comm.barrier()
        start = time.perf_counter()
        trainer.fit(batches)
        seconds = time.perf_counter() - start
        items = float(allreduce_sum(np.array([counters["items"]]))[0])
        windows.append({"seconds": seconds, "items": items, "steps": steps, "allreduce_seconds": counters["allreduce"],
                        "optimizer_seconds": counters["optimizer"]})  # fmt: skip
    if args.weights and comm.rank == 0:
        checkpoint.save_arrays(Path(args.weights), model.state_dict())
    n_params = sum(p.value.size for p in model.parameters())
    return {"windows": windows, "parameters": int(n_params), "processes": comm.size}


def decoding_worker(args: argparse.Namespace) -> dict:
    from enc2dec import run
    from enc2dec.tasks.translation import split_pairs
    from enc2dec.training import distributed

    comm = distributed.world()
    loaded = run.load(args.decode_model, data_dir=args.data_dir)
    translator = loaded.trained
    sources, _ = split_pairs(loaded.config.data, "test")
    src = [translator.encode(s) for s in sources]
    options = {"method": "beam", "beam_size": 5}
    translator.decode_ids(src[:50], **options)  # warm-up, each rank alone
    times, tokens = [], 0
    for _ in range(args.decode_repeats):
        comm.barrier()
        start = time.perf_counter()
        hyps = translator.decode_ids(src, comm=comm, **options)
        times.append(time.perf_counter() - start)
        if hyps is not None:
            tokens = sum(len(h[0].tokens) for h in hyps)
    return {"sentences": len(src), "target_tokens": tokens, "seconds": times, "processes": comm.size}


def allreduce_worker(args: argparse.Namespace) -> dict:
    import numpy as np

    from enc2dec.training import distributed

    comm = distributed.world()
    mpi = comm._mpi
    out = {}
    for elements in args.elements:
        buf = np.ones(elements, dtype=np.float32)
        times = []
        for _ in range(12):
            comm.barrier()
            start = time.perf_counter()
            comm.comm.Allreduce(mpi.IN_PLACE, buf, op=mpi.SUM)
            times.append(time.perf_counter() - start)
        out[str(elements)] = statistics.median(times[2:])
    return {"seconds": out}


def worker_main(args: argparse.Namespace) -> None:
    from enc2dec.training import distributed

    report = {"train": training_worker, "decode": decoding_worker, "allreduce": allreduce_worker}[args.worker](args)
    if distributed.world().rank == 0:
        Path(args.report).write_text(json.dumps(report), encoding="utf-8")


# -- the orchestrator --------------------------------------------------------------------------------------------
def throughput(report: dict) -> float:
    return statistics.median(w["items"] / w["seconds"] for w in report["windows"])


def efficiency_model(step_seconds: float, gradient_bytes: float) -> dict:
    """Weak scaling (each worker keeps the measured batch): efficiency at N workers over each network."""
    table = {}
    for gbit in NETWORKS_GBIT:
        bandwidth = gbit * 1e9 / 8  # bytes/s
        for n in WORKERS:
            allreduce = 2 * (n - 1) / n * gradient_bytes / bandwidth
            table[f"{n}_workers_{gbit}gbit"] = step_seconds / (step_seconds + allreduce)
    return table


def equivalence(name: str, args: argparse.Namespace, sets: list[str], dtype: str) -> dict:
    """Train `name` --equivalence-steps steps on 1 and on 2 processes (with `sets`) in `dtype` (float32 or
    float64); max over tensors of max|w2 - w1| / max|w1|, and the three tensors that differ most."""
    import numpy as np

    from enc2dec.training import checkpoint

    weights = {}
    with tempfile.TemporaryDirectory() as tmp:
        for procs in (1, 2):
            path = str(Path(tmp) / f"{procs}.safetensors")
            argv = ["--worker", "train", "--model", name, "--steps", str(args.equivalence_steps), "--weights", path,
                    *(["--float64"] if dtype == "float64" else []),
                    *(["--data-dir", args.data_dir] if args.data_dir else []),
                    *[a for s in [*args.set, *sets] for a in ("--set", s)]]  # fmt: skip
            launch(procs, 1, argv)
            weights[procs] = checkpoint.load_arrays(path)
    one, two = weights[1], weights[2]
    diffs = {k: float(np.abs(two[k] - one[k]).max() / max(np.abs(one[k]).max(), 1e-30)) for k in one}
    worst = sorted(diffs, key=diffs.get, reverse=True)[:3]
    return {"max": max(diffs.values()), "largest": {k: diffs[k] for k in worst}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--decode-model", default=None, help="a translation run folder for the decoding test")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--steps", type=int, default=None, help="steps per window (default: the model's)")
    parser.add_argument("--equivalence-steps", type=int, default=20)
    parser.add_argument("--decode-repeats", type=int, default=2)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--results-dir", default=str(results_file.RESULTS))
    parser.add_argument("--note", default=None)
    parser.add_argument("--table", action="store_true", help="print the README's tables from the results file")
    # worker mode (this script under mpiexec)
    parser.add_argument("--worker", choices=("train", "decode", "allreduce"), help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--weights", help=argparse.SUPPRESS)
    parser.add_argument("--float64", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--uncoupled", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--elements", type=int, nargs="*", default=[], help=argparse.SUPPRESS)
    parser.add_argument("--report", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker_main(args)
        return 0
    if args.table:
        print(table(Path(args.results_dir) / "scaling.json"))
        return 0

    data = ["--data-dir", args.data_dir] if args.data_dir else []
    sets = [a for s in args.set for a in ("--set", s)]
    metrics: dict = {}
    details: dict = {"training": {}, "decoding": {}, "allreduce": {}, "equivalence": {}, "efficiency_model": {}}
    names = args.models.split(",")
    gradient_bytes = {}
    for name in names:
        reports = {}
        for setting, (procs, threads) in SETTINGS.items():
            extra = [] if args.steps is None else ["--steps", str(args.steps)]
            argv = ["--worker", "train", "--model", name, "--windows", str(args.windows), *extra, *data, *sets,
                    *(["--uncoupled"] if setting.endswith("uncoupled") else [])]  # fmt: skip
            reports[setting] = launch(procs, threads, argv)
            print(f"{name} {setting}: {throughput(reports[setting]):.1f} items/s", flush=True)
        one = throughput(reports["1x1"])
        metrics[f"train_speedup_2proc_{name}"] = throughput(reports["2x1"]) / one
        metrics[f"train_speedup_2threads_{name}"] = throughput(reports["1x2"]) / one
        metrics[f"train_ceiling_2proc_{name}"] = throughput(reports["2x1_uncoupled"]) / one
        two = reports["2x1"]["windows"]
        fraction = statistics.median(w["allreduce_seconds"] / w["seconds"] for w in two)
        if name != "autoencoder":
            metrics[f"allreduce_fraction_{name}"] = fraction
        else:
            details["training"]["allreduce_fraction_autoencoder"] = fraction
        gradient_bytes[name] = 4 * reports["1x1"]["parameters"]
        w1 = reports["1x1"]["windows"]
        step_seconds = statistics.median(w["seconds"] / w["steps"] for w in w1)
        details["training"][name] = {"unit": "images" if name == "autoencoder" else "target tokens",
                                     "config": MODELS[name][0], "parameters": reports["1x1"]["parameters"],
                                     "step_seconds_1x1": step_seconds,
                                     "optimizer_fraction_2x1": statistics.median(w["optimizer_seconds"] / w["seconds"]
                                                                                 for w in two),
                                     "items_per_step": statistics.median(w["items"] / w["steps"] for w in w1),
                                     **{s: r["windows"] for s, r in reports.items()}}  # fmt: skip
        details["efficiency_model"][name] = efficiency_model(step_seconds, gradient_bytes[name])

    # equivalence: dropout off, same global batches, 1 process against 2; float64 and float32 with the configured
    # optimizer, float32 with SGD
    for key, dtype, extra in (("float64", "float64", []), ("configured", "float32", []),
                              ("sgd", "float32", ["training.optimizer=sgd"])):  # fmt: skip
        diffs = {name: equivalence(name, args, [*MODELS[name][3], *extra], dtype) for name in names}
        details["equivalence"][key] = diffs
        print(f"max relative weight difference, 2 processes vs 1, {key}: {diffs}", flush=True)
    metrics["max_weight_rel_diff_2proc"] = max(d["max"] for d in details["equivalence"]["float64"].values())
    metrics["max_weight_rel_diff_2proc_float32"] = max(d["max"] for d in details["equivalence"]["configured"].values())

    # the all-reduce's bandwidth between 2 processes here
    sizes = {name: b // 4 for name, b in gradient_bytes.items()} | {"64MB": 1 << 24}
    seconds = launch(2, 1, ["--worker", "allreduce", "--elements", *map(str, sizes.values())])["seconds"]
    for name, elements in sizes.items():
        details["allreduce"][name] = {"bytes": 4 * elements, "seconds": seconds[str(elements)],
                                      "gbytes_per_s": 4 * elements / seconds[str(elements)] / 1e9}  # fmt: skip
    metrics["allreduce_gbytes_per_s"] = details["allreduce"]["64MB"]["gbytes_per_s"]

    if args.decode_model:
        runs = {}
        for setting in ("1x1", "2x1", "1x2"):
            procs, threads = SETTINGS[setting]
            argv = ["--worker", "decode", "--decode-model", args.decode_model,
                    "--decode-repeats", str(args.decode_repeats), *data]  # fmt: skip
            runs[setting] = launch(procs, threads, argv)
            print(f"beam-5 decoding {setting}: {min(runs[setting]['seconds']):.1f} s", flush=True)
        best = {s: min(r["seconds"]) for s, r in runs.items()}
        metrics["decode_speedup_2proc"] = best["1x1"] / best["2x1"]
        details["decoding"] = {"model": args.decode_model, "sentences": runs["1x1"]["sentences"],
                               "target_tokens": runs["1x1"]["target_tokens"],
                               "speedup_2threads": best["1x1"] / best["1x2"],
                               **{s: r["seconds"] for s, r in runs.items()}}  # fmt: skip

    path = results_file.write_results(
        "scaling",
        {"models": {n: MODELS[n][0] for n in names}, "settings": SETTINGS, "windows": args.windows,
         "steps_per_window": {n: args.steps or MODELS[n][1] for n in names}, "set": args.set,
         "equivalence_steps": args.equivalence_steps, "networks_gbit": NETWORKS_GBIT, "workers": WORKERS},
        metrics,
        ("mpi4py",),
        args.results_dir,
        note=args.note,
        threads="per setting: see config.settings (processes x BLAS threads)",
        details=details,
    )  # fmt: skip
    print(json.dumps(metrics, indent=2))
    print(f"wrote {path}")
    return 0


def table(path: Path) -> str:
    """Markdown: the measured speed-ups, then the modelled efficiency at 4..256 workers."""
    record = json.loads(path.read_text())
    m, d = record["metrics"], record["details"]
    lines = ["| model | 2 processes x 1 thread | 1 process x 2 threads | 2 processes, no all-reduce (ceiling) "
             "| all-reduce share (2 processes) | optimizer share (2 processes) |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for name in d["training"]:
        if name.startswith("allreduce"):
            continue
        t = d["training"][name]
        share = m.get(f"allreduce_fraction_{name}", d["training"].get(f"allreduce_fraction_{name}"))
        ceiling = m.get(f"train_ceiling_2proc_{name}")
        optimizer = t.get("optimizer_fraction_2x1")
        lines.append(f"| {name} | {m[f'train_speedup_2proc_{name}']:.2f}x | {m[f'train_speedup_2threads_{name}']:.2f}x"
                     f" | {'-' if ceiling is None else f'{ceiling:.2f}x'} | {100 * share:.0f} %"
                     f" | {'-' if optimizer is None else f'{100 * optimizer:.0f} %'} |")  # fmt: skip
    lines += ["", "| model (gradient MB, step s) | network | " + " | ".join(f"{n} workers" for n in WORKERS) + " |",
              "|---|---|" + "---|" * len(WORKERS)]  # fmt: skip
    for name, eff in d["efficiency_model"].items():
        t = d["training"][name]
        for gbit in NETWORKS_GBIT:
            cells = " | ".join(f"{100 * eff[f'{n}_workers_{gbit}gbit']:.0f} %" for n in WORKERS)
            lines.append(f"| {name} ({4 * t['parameters'] / 1e6:.0f} MB, {t['step_seconds_1x1']:.2f} s) | {gbit} Gb/s"
                         f" | {cells} |")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

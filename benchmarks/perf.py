"""enc2dec against PyTorch (CPU, float32, same threads): training and decoding throughput, memory, GEMM fraction.

    python benchmarks/perf.py [--models autoencoder,lstm,attention,transformer] [--repeats N] [--data-dir DIR]
    python benchmarks/perf.py --table            # print the README's Markdown tables from the results file
    python benchmarks/perf.py --race transformer=runs/transformer --race lstm=runs/s2s --race autoencoder=runs/ae

Method, in one run:
- Threads: numpy's BLAS limited with threadpoolctl, torch.set_num_threads, both to --threads (2); recorded.
- Peak: the best GFLOP/s of large float32 GEMMs (2048^3), numpy and torch, measured here; the larger is the peak.
- Time: per model, each framework builds the same architecture on the same real batches; after warm-up the
  frameworks alternate (the order flips every repeat), each running `steps` training steps (or decoding the test
  batches) per repeat. A repeat's ratio is enc2dec throughput / PyTorch throughput over the same batches; the
  results give min / median / max of those paired ratios, so load from other processes hits both sides alike.
- Memory: each framework's training runs alone in a fresh subprocess, which loads the prepared batches (no
  parsing), resets the kernel's peak-RSS mark (/proc/self/clear_refs), records its resident set size, builds
  model and optimizer, runs the steps, and reports the growth of the peak RSS (VmHWM) over that baseline: parameters, gradients, optimizer state, activations and the
  framework's workspace. mem_ratio = enc2dec growth / PyTorch growth.
- GFLOP/s: analytic FLOPs of a step (perf_models.py) over its median time; gemm_fraction = enc2dec's / peak.
- The decoding race (--race NAME=RUN, perf_race.py): a trained model's decoding of test_2016_flickr in enc2dec
  against the same weights in ONNX Runtime and CTranslate2 (float32, int8), with each side's BLEU; and the share of
  outputs the ONNX export reproduces (export_parity_*; the autoencoder's reconstructions within 1e-4).

Writes benchmarks/results/perf.json through benchmarks/results_file.py (command, date, versions, config, metrics),
with the machine, load, peak, per-model details and notes as extra sections.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # before numpy loads its BLAS
    os.environ.setdefault(_var, "2")

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import perf_models  # noqa: E402
import perf_race  # noqa: E402
import results_file  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FRAMEWORKS = ("enc2dec", "torch")
PROBE_STEPS = 2  # training steps in a memory probe: the first allocates torch's Adam state, the second is steady
TASKS = ("train", "greedy", "beam")


def summary(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def set_threads(threads: int) -> dict:
    """Limit numpy's BLAS (threadpoolctl), enc2dec's element-wise threads and torch to `threads`; return what each
    library reports."""
    import threadpoolctl

    from enc2dec.nn import parallel

    threadpoolctl.threadpool_limits(threads)
    parallel.set_threads(threads)
    info: dict = {"requested": threads, "enc2dec": parallel.n_threads()}
    try:
        import torch

        torch.set_num_threads(threads)
        info["torch"] = torch.get_num_threads()
    except ImportError:
        pass
    info["threadpoolctl"] = [
        {k: lib.get(k) for k in ("internal_api", "num_threads", "version", "filepath")}
        for lib in threadpoolctl.threadpool_info()
    ]
    return info


# -- the peak --------------------------------------------------------------------------------------------------
def gemm_peak(n: int = 2048, repeats: int = 7) -> dict:
    """Best and median GFLOP/s of (n, n) @ (n, n) float32 in numpy and in torch."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    out = np.empty_like(a)
    flops = 2.0 * n**3
    result: dict = {"size": n}
    import torch

    at, bt, outt = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(out)
    runs: dict[str, Callable[[], None]] = {
        "numpy": lambda: np.matmul(a, b, out=out),
        "torch": lambda: torch.matmul(at, bt, out=outt),
    }
    times: dict[str, list[float]] = {k: [] for k in runs}
    for fn in runs.values():
        fn()
    for _ in range(repeats):  # alternate, as everywhere
        for name, fn in runs.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    for name, ts in times.items():
        result[f"{name}_gflops_best"] = flops / min(ts) / 1e9
        result[f"{name}_gflops_median"] = flops / statistics.median(ts) / 1e9
    result["peak_gflops"] = max(result["numpy_gflops_best"], result["torch_gflops_best"])
    return result


# -- timing ----------------------------------------------------------------------------------------------------
def time_task(
    fns: dict[str, Callable[[int], int | None]],
    items: Callable[[int, int | None], int],
    n_calls: int,
    repeats: int,
    warmup: int,
) -> dict:
    """fns: framework -> fn(i). Per repeat each framework calls fn(0..n_calls-1) (order flips every repeat).
    items(i, returned) counts the work of call i. Returns per-framework throughputs and seconds, paired ratios."""
    for fn in fns.values():
        for i in range(warmup):
            fn(i % max(n_calls, 1))
    throughput: dict[str, list[float]] = {k: [] for k in fns}
    seconds: dict[str, list[float]] = {k: [] for k in fns}
    names = list(fns)
    for r in range(repeats):
        for name in names if r % 2 == 0 else names[::-1]:
            fn = fns[name]
            gc.collect()
            done = 0
            t = time.perf_counter()
            for i in range(n_calls):
                done += items(i, fn(i))
            dt = time.perf_counter() - t
            throughput[name].append(done / dt)
            seconds[name].append(dt)
    ratios = [e / t for e, t in zip(throughput["enc2dec"], throughput["torch"])]
    return {
        "ratio": summary(ratios),
        "ratios": ratios,
        **{name: {"throughput": summary(throughput[name]), "seconds": summary(seconds[name])} for name in names},
    }


def measure_model(workload: perf_models.Workload, args: argparse.Namespace, peak: float) -> dict:
    steps = args.steps or workload.steps_per_repeat
    warmup = workload.warmup if args.warmup is None else args.warmup
    runners = {fw: workload.build(fw) for fw in FRAMEWORKS}
    n_train = len(workload.train_items)
    losses: dict[str, list[float]] = {fw: [] for fw in FRAMEWORKS}
    result: dict = {
        "status": "measured",
        "unit": workload.unit,
        "config": workload.config,
        "steps": steps,
        "warmup": warmup,
    }

    def train_fn(fw: str) -> Callable[[int], None]:
        return lambda i: losses[fw].append(runners[fw].train_step(i % n_train))

    train = time_task(
        {fw: train_fn(fw) for fw in FRAMEWORKS},
        lambda i, _: workload.train_items[i % n_train],
        steps,
        args.repeats,
        warmup,
    )
    flops = sum(workload.train_flops[i % n_train] for i in range(steps))
    for fw in FRAMEWORKS:
        train[fw]["gflops"] = flops / train[fw]["seconds"]["median"] / 1e9
        train[fw]["gemm_fraction"] = train[fw]["gflops"] / peak
    result["train"] = train
    if workload.copy_weights is not None:  # decode with the same (enc2dec's trained) weights on both sides
        workload.copy_weights(runners["enc2dec"], runners["torch"])
    n_calls = args.decode_batches or workload.n_test_batches
    for task in ("greedy", "beam"):
        fns = {fw: getattr(r, task) for fw, r in runners.items()}
        if any(fn is None for fn in fns.values()):
            continue
        result[task] = time_task(fns, lambda i, produced: produced, n_calls, max(args.repeats // 2, 2), 1)
    result["agreement"] = agreement(losses, runners)
    result["profile"] = profile(lambda i: runners["enc2dec"].train_step(i % n_train), max(2, min(steps, 5)))
    for task in ("greedy", "beam"):
        fn = getattr(runners["enc2dec"], task)
        if fn is not None and task in result:
            result[f"profile_{task}"] = profile(fn, 1)
    runners.clear()  # free both models before the memory probes
    gc.collect()
    result["memory"] = measure_memory(workload.name, args)
    return result


def agreement(losses: dict[str, list[float]], runners: dict[str, perf_models.Runner]) -> dict:
    """Do the two sides compute the same thing? The first training losses (both start from the same weights on
    the same batches: step 0 must agree to float32 rounding, later steps drift apart slowly), and the share of
    test sentences that greedy and beam search decode to the same tokens (the same weights on both sides)."""
    n = min(len(losses["enc2dec"]), len(losses["torch"]), 3)
    out: dict = {
        "train_losses": {fw: losses[fw][:n] for fw in FRAMEWORKS},
        "step0_relative_difference": (
            abs(losses["enc2dec"][0] - losses["torch"][0]) / abs(losses["torch"][0]) if n else None
        ),
    }
    for task in ("greedy", "beam"):
        ours, theirs = runners["enc2dec"].outputs.get(task, {}), runners["torch"].outputs.get(task, {})
        pairs = [(a, b) for i in sorted(set(ours) & set(theirs)) for a, b in zip(ours[i], theirs[i])]
        if pairs:
            out[f"{task}_same_tokens"] = sum(a == b for a, b in pairs) / len(pairs)
            out[f"{task}_sentences"] = len(pairs)
    return out


def profile(fn: Callable[[int], object], calls: int = 5, top: int = 8) -> list[dict]:
    """Where enc2dec spends its time in fn(0..calls-1) (a training step, or decoding a test batch): cProfile's
    self time of the top functions (numpy's kernels are charged to the Python function that calls them), as a
    share of the total and milliseconds per call."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(calls):
        fn(i)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # (file, line, function) -> (calls, ncalls, self, cumulative, callers)
    total = sum(v[2] for v in stats.values())
    rows = sorted(stats.items(), key=lambda kv: -kv[1][2])[:top]
    return [
        {
            "function": f"{Path(file).name}:{line}({name})" if line else name,
            "share": tt / total,
            "ms_per_call": 1e3 * tt / calls,
        }
        for (file, line, name), (_, _, tt, _, _) in rows
    ]


# -- memory ----------------------------------------------------------------------------------------------------
def _status_mb(field: str) -> float:
    """A memory line of /proc/self/status (VmRSS: resident now; VmHWM: its high-water mark), in MiB."""
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith(field + ":"))
    return int(line.split()[1]) / 1024  # kB


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where not permitted."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def memory_probe(model: str, framework: str, arrays_path: str, steps: int, threads: int) -> dict:
    """In a fresh process: peak RSS growth of building `model` in `framework` and training it `steps` steps."""
    with np.load(arrays_path) as f:
        arrays = {k: f[k] for k in f.files}
    if framework == "torch":
        perf_models.torch_setup(threads)
    import threadpoolctl

    threadpoolctl.threadpool_limits(threads)
    workload = perf_models.REGISTRY[model][1](arrays)
    gc.collect()
    # VmHWM, not ru_maxrss: after a vfork+exec the latter starts from the parent's peak
    reset = reset_peak_rss()
    baseline = _status_mb("VmRSS")
    runner = workload.build(framework, False)  # PyTorch's own initial weights: no enc2dec model in its process
    for i in range(steps):
        runner.train_step(i % len(workload.train_items))
    peak = _status_mb("VmHWM")
    return {"baseline_mb": baseline, "peak_mb": peak, "growth_mb": max(peak - baseline, 0.0), "hwm_reset": reset}


def measure_memory(model: str, args: argparse.Namespace) -> dict:
    growth: dict[str, list[float]] = {fw: [] for fw in FRAMEWORKS}
    for _ in range(args.memory_repeats):
        for fw in FRAMEWORKS:
            cmd = [
                sys.executable,
                __file__,
                "--memory-probe",
                f"{model}:{fw}",
                "--arrays",
                args.arrays[model],
                "--threads",
                str(args.threads),
            ]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            growth[fw].append(json.loads(out.strip().splitlines()[-1])["growth_mb"])
    ratios = [e / t for e, t in zip(growth["enc2dec"], growth["torch"])]
    return {"ratio": summary(ratios), **{fw: {"growth_mb": summary(v)} for fw, v in growth.items()}}


# -- results ----------------------------------------------------------------------------------------------------
def machine() -> dict:
    """What results_file.versions does not say: numpy's BLAS and the CPU."""
    blas = "unknown"
    try:
        config = np.show_config(mode="dicts")
        dep = config["Build Dependencies"]["blas"]
        blas = f"{dep.get('name')} {dep.get('version')}"
    except Exception:  # show_config's layout is not an API; the name is a courtesy
        pass
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"numpy_blas": blas, "cpu": cpu, "cpu_count": os.cpu_count()}


def metrics_of(details: dict) -> dict:
    """The flat metrics block: train/greedy/beam/mem ratios (min, median, max) and gemm_fraction per model."""
    metrics: dict = {}
    for model in perf_models.REGISTRY:
        d = details.get(model, {})
        measured = d.get("status") == "measured"
        for task in TASKS:
            metrics[f"{task}_ratio_{model}"] = d[task]["ratio"] if measured and task in d else None
        metrics[f"mem_ratio_{model}"] = d["memory"]["ratio"] if measured else None
        metrics[f"gemm_fraction_{model}"] = d["train"]["enc2dec"]["gemm_fraction"] if measured else None
    for raced in details.get("race", {}).values():
        metrics.update(raced.get("metrics", {}))
    return metrics


TARGETS = {  # the "done when": metric prefix -> (bound, ">=" or "<=", models it applies to)
    "train_ratio": (1.0, ">=", ("autoencoder", "lstm", "attention", "transformer")),
    "greedy_ratio": (1.0, ">=", ("lstm", "attention", "transformer")),
    "beam_ratio": (1.0, ">=", ("lstm", "attention", "transformer")),
    "mem_ratio": (1.0, "<=", ("autoencoder", "lstm", "attention", "transformer")),
    "gemm_fraction": (0.5, ">=", ("lstm", "transformer")),
}


def notes_of(metrics: dict, details: dict) -> dict:
    """Per model: the targets missed (on the median), the profile's top entries, and the workload's own notes."""
    notes: dict = {}
    for model, d in details.items():
        if model == "race":
            continue
        if d.get("status") != "measured":
            notes[model] = d.get("reason", d.get("status"))
            continue
        missed = []
        for prefix, (bound, op, models) in TARGETS.items():
            value = metrics.get(f"{prefix}_{model}")
            if model not in models or value is None:
                continue
            value = value["median"] if isinstance(value, dict) else value
            if (value < bound) if op == ">=" else (value > bound):
                missed.append(f"{prefix} {value:.2f} (target {op} {bound})")
        profile = ", ".join(f"{p['function']} {100 * p['share']:.0f}%" for p in d["profile"][:5])
        notes[model] = {
            "missed": missed,
            "profile_top": f"enc2dec train step, self time: {profile}",
            "analysis": d["config"].get("notes", ""),
        }
        for task in ("greedy", "beam"):
            if f"profile_{task}" in d:
                top = ", ".join(f"{p['function']} {100 * p['share']:.0f}%" for p in d[f"profile_{task}"][:5])
                notes[model][f"profile_top_{task}"] = f"enc2dec {task} search, self time: {top}"
    return notes


def _cell(ratio: dict | None) -> str:
    if ratio is None:
        return "–"

    def fmt(v: float) -> str:  # three decimals where two would round a near-parity ratio to 1.00
        return f"{v:.3f}" if round(v, 2) == 1.0 else f"{v:.2f}"

    return f"**{fmt(ratio['median'])}** ({fmt(ratio['min'])}–{fmt(ratio['max'])})"


def _load_note(results: dict) -> str:
    load = results.get("load_average")
    if not load:
        return ""
    return (
        f" 1-minute load average on the {load['cpus']} CPUs: {load['before']:.1f} before the run (other work) and "
        f"{load['after']:.1f} at its end (its own threads included)."
    )


def markdown_table(results: dict) -> str:
    """One row per model: ratios as median (min–max), memory growth, GFLOP/s and the fraction of the GEMM peak."""
    peak = results["peak"]["peak_gflops"]
    rows = [
        f"Ratios are enc2dec / PyTorch {results['versions']['torch']} throughput (> 1: enc2dec faster), median "
        f"(min–max) over {results['config']['repeats']} paired repeats; memory ratio is enc2dec / PyTorch peak RSS "
        f"growth (< 1: enc2dec smaller); GEMM peak {peak:.0f} GFLOP/s float32 on {results['config']['threads']} "
        "threads, measured in the same run." + _load_note(results),
        "",
        "| model | unit | train | greedy | beam 5 | memory | enc2dec / PyTorch GFLOP/s (train) | GEMM fraction |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for model in perf_models.REGISTRY:
        d = results["details"].get(model, {})
        if d.get("status") != "measured":
            rows.append(f"| {model} | – | {d.get('status', 'not run')} | | | | | |")
            continue
        m = results["metrics"]
        mem = d["memory"]
        rows.append(
            f"| {model} | {d['unit']}/s | {_cell(m[f'train_ratio_{model}'])} | {_cell(m[f'greedy_ratio_{model}'])} "
            f"| {_cell(m[f'beam_ratio_{model}'])} | {_cell(m[f'mem_ratio_{model}'])}: "
            f"{mem['enc2dec']['growth_mb']['median']:.0f} / {mem['torch']['growth_mb']['median']:.0f} MB "
            f"| {d['train']['enc2dec']['gflops']:.1f} / {d['train']['torch']['gflops']:.1f} "
            f"| {m[f'gemm_fraction_{model}']:.2f} |"
        )
    agree = [_agreement_note(model, results["details"].get(model, {})) for model in perf_models.REGISTRY]
    agree = [a for a in agree if a]
    if agree:
        rows += [
            "",
            "Both sides start from the same weights, and the sequence models decode with the same weights: "
            + "; ".join(agree)
            + ".",
        ]
    return "\n".join(rows)


def race_table(results: dict) -> str:
    """The decoding race: per model, task and engine, sentences/s (median), enc2dec's ratio over it, BLEU."""
    raced = results["details"].get("race", {})
    rows = ["| model | search | engine | sentences/s | enc2dec / engine | BLEU | identical to enc2dec |",
            "|---|---|---|---|---|---|---|"]  # fmt: skip
    for name, r in raced.items():
        if "tasks" not in r:
            continue
        for task, engines in r["tasks"].items():
            for engine, d in engines.items():
                rows.append(f"| {name} | {task} | {engine} | {d['sentences_per_s']['median']:.1f} | "
                            f"{_cell(d['ratio_enc2dec_over_this'])} | {d['bleu']:.1f} | "
                            f"{100 * d['identical_to_enc2dec']:.1f} % |")  # fmt: skip
    return "\n".join(rows)


def _agreement_note(model: str, d: dict) -> str:
    a = d.get("agreement")
    if d.get("status") != "measured" or not a or a.get("step0_relative_difference") is None:
        return ""
    parts = [f"{model}: step-0 training loss {a['train_losses']['enc2dec'][0]:.4f} vs "
             f"{a['train_losses']['torch'][0]:.4f} (relative difference {a['step0_relative_difference']:.1e})"]  # fmt: skip
    for task in ("greedy", "beam"):
        if f"{task}_same_tokens" in a:
            parts.append(
                f"{task} outputs identical for {100 * a[f'{task}_same_tokens']:.0f}% of {a[f'{task}_sentences']}"
            )
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default=",".join(perf_models.REGISTRY))
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--steps", type=int, default=None, help="training steps per repeat (default: per model)")
    p.add_argument("--warmup", type=int, default=None, help="untimed calls first (default: per model)")
    p.add_argument("--decode-batches", type=int, default=None, help="test batches per repeat (default: all)")
    p.add_argument("--memory-repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data-dir", default=os.environ.get("ENC2DEC_DATA", str(ROOT.parent / "shared" / "data")))
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "perf.json"))
    p.add_argument("--table", action="store_true", help="print the Markdown table of --out and exit")
    p.add_argument("--race", action="append", default=[], metavar="NAME=RUN",
                   help="race a trained run's decoding against its exports (NAME: transformer, lstm, attention, "
                        "autoencoder)")  # fmt: skip
    p.add_argument("--race-repeats", type=int, default=3)
    p.add_argument("--memory-probe", help=argparse.SUPPRESS)  # MODEL:FRAMEWORK, internal
    p.add_argument("--arrays", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.memory_probe:
        model, framework = args.memory_probe.split(":")
        print(json.dumps(memory_probe(model, framework, args.arrays, PROBE_STEPS, args.threads)))
        return 0
    if args.table:
        results = json.loads(Path(args.out).read_text(encoding="utf-8"))
        print(markdown_table(results))
        print(race_table(results))
        return 0
    models = [m for m in args.models.split(",") if m]
    unknown = sorted(set(models) - set(perf_models.REGISTRY))
    if unknown:
        p.error(f"unknown models {unknown}; expected some of {list(perf_models.REGISTRY)}")

    threads = set_threads(args.threads)
    load_before = os.getloadavg()
    peak = gemm_peak()
    print(
        f"GEMM peak {peak['peak_gflops']:.1f} GFLOP/s (numpy {peak['numpy_gflops_best']:.1f}, "
        f"torch {peak['torch_gflops_best']:.1f})",
        flush=True,
    )
    config = {
        "repeats": args.repeats,
        "steps": args.steps,
        "warmup": args.warmup,
        "decode_batches": args.decode_batches,
        "memory_repeats": args.memory_repeats,
        "threads": args.threads,
        "thread_info": threads,
        "dtype": "float32",
        "models": models,
        "race": args.race,
        "race_repeats": args.race_repeats,
    }
    details: dict = {}

    def write() -> Path:  # after every model, so an interrupted run keeps the models measured so far
        metrics = metrics_of(details)
        out = Path(args.out)
        return results_file.write_results(
            out.stem,
            config,
            metrics,
            libraries=("torch",),
            directory=out.parent,
            machine=machine(),
            # the 1-minute load average before the run says how busy the machine was
            load_average={"before": load_before[0], "after": os.getloadavg()[0], "cpus": os.cpu_count()},
            peak=peak,
            details=details,
            notes=notes_of(metrics, details),
        )

    with tempfile.TemporaryDirectory() as tmp:
        args.arrays = {}
        for model in models:
            prepare, make_workload = perf_models.REGISTRY[model]
            try:
                arrays = prepare(Path(args.data_dir))
                workload = make_workload(arrays)
            except perf_models.NotAvailable as err:
                details[model] = {"status": "not available", "reason": str(err)}
                print(f"{model}: not available ({err})", flush=True)
                continue
            args.arrays[model] = str(Path(tmp) / f"{model}.npz")
            np.savez(args.arrays[model], **arrays)
            t = time.perf_counter()
            try:
                details[model] = measure_model(workload, args, peak["peak_gflops"])
            except Exception as err:  # one broken entry must not lose the others' results
                details[model] = {"status": "failed", "reason": f"{model}: {type(err).__name__}: {err}"}
                print(details[model]["reason"], flush=True)
                continue
            finally:
                path = write()
            print(
                f"{model}: train ratio {details[model]['train']['ratio']}, {time.perf_counter() - t:.0f} s", flush=True
            )
    for spec in args.race:
        name, _, run_dir = spec.partition("=")
        t = time.perf_counter()
        try:
            if name == "autoencoder":
                raced = perf_race.autoencoder_parity(run_dir, threads=args.threads, data_dir=args.data_dir)
            else:
                raced = perf_race.race(name, run_dir, threads=args.threads, repeats=args.race_repeats,
                                       data_dir=args.data_dir)  # fmt: skip
        except Exception as err:  # one broken entry must not lose the others' results
            raced = {"status": "failed", "reason": f"race {name}: {type(err).__name__}: {err}"}
        details.setdefault("race", {})[name] = raced
        path = write()
        print(f"race {name}: {raced.get('metrics', raced.get('reason'))}, {time.perf_counter() - t:.0f} s", flush=True)
    path = write()
    results = json.loads(path.read_text(encoding="utf-8"))
    print(markdown_table(results))
    print(race_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

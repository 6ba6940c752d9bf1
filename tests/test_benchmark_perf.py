"""The performance harness's bookkeeping (benchmarks/perf.py): FLOP counts, targets, results file, table.
Nothing here times anything; speed belongs to the benchmark itself."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
perf = pytest.importorskip("perf")
perf_models = pytest.importorskip("perf_models")


def test_mlp_flops_counts_every_gemm_but_the_first_input_gradient():
    forward, backward = perf_models.mlp_flops([3, 4, 2], batch=5)
    assert forward == 2 * 5 * 3 * 4 + 2 * 5 * 4 * 2  # two (B, n_in) @ (n_in, n_out) products
    assert backward == 2 * forward - 2 * 5 * 3 * 4  # weight and input gradients, no input gradient for the data


def _measured(train: float, mem: float) -> dict:
    ratio = lambda r: {"min": r / 2, "median": r, "max": 2 * r}  # noqa: E731
    return {
        "status": "measured",
        "unit": "samples",
        "config": {"notes": "why"},
        "train": {
            "ratio": ratio(train),
            "enc2dec": {"gflops": 2.0, "gemm_fraction": 0.25},
            "torch": {"gflops": 1.0, "gemm_fraction": 0.125},
        },
        "memory": {
            "ratio": ratio(mem),
            "enc2dec": {"growth_mb": ratio(10.0)},
            "torch": {"growth_mb": ratio(20.0)},
        },
        "profile": [{"function": "linear.py:29(backward)", "share": 0.75, "ms_per_step": 3.0}],
    }


def test_results_file_metrics_notes_and_table(tmp_path):
    details = {"autoencoder": _measured(train=1.5, mem=2.0), "lstm": {"status": "not available", "reason": "no LSTM"}}
    metrics = perf.metrics_of(details)
    assert metrics["train_ratio_autoencoder"]["median"] == 1.5 and metrics["gemm_fraction_autoencoder"] == 0.25
    assert metrics["train_ratio_lstm"] is None and metrics["greedy_ratio_autoencoder"] is None
    notes = perf.notes_of(metrics, details)
    assert notes["autoencoder"]["missed"] == ["mem_ratio 2.00 (target <= 1.0)"]
    assert "linear.py:29(backward) 75%" in notes["autoencoder"]["profile_top"] and notes["lstm"] == "no LSTM"

    results = {
        "metrics": metrics,
        "details": details,
        "peak": {"peak_gflops": 8.0},
        "versions": {"torch": "2.13.0"},
        "config": {"repeats": 3, "threads": 2},
    }
    path = tmp_path / "results" / "perf.json"
    perf.write_json(path, results)
    assert json.loads(path.read_text()) == results
    table = perf.markdown_table(results)
    assert "| autoencoder | samples/s | **1.50** (0.75–3.00) |" in table
    assert "| lstm | – | not available |" in table

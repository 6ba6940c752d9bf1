"""The performance harness's bookkeeping (benchmarks/perf.py): FLOP counts, targets, results file, table.
Nothing here times anything; speed belongs to the benchmark itself."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import perf  # noqa: E402
import perf_models  # noqa: E402
import perf_search  # noqa: E402
import results_file  # noqa: E402


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
        "profile": [{"function": "linear.py:29(backward)", "share": 0.75, "ms_per_call": 3.0}],
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
    path = results_file.write_results(
        "perf", results["config"], metrics, directory=tmp_path / "results", details=details, peak=results["peak"]
    )
    written = json.loads(path.read_text())
    assert written["metrics"] == metrics and written["details"] == details and "numpy" in written["versions"]
    table = perf.markdown_table(results)
    assert "| autoencoder | samples/s | **1.50** (0.75–3.00) |" in table
    assert "| lstm | – | not available |" in table


def test_race_metrics_and_table():
    import perf_race

    def engine(per_second, identical):
        return {
            "sentences_per_s": {"median": per_second[0]},
            "sentences_per_s_by_repeat": per_second,
            "bleu": 30.0,
            "identical_to_enc2dec": identical,
            "ratio_enc2dec_over_this": {"min": 1.0, "median": 1.0, "max": 1.0},
            "ratio_by_repeat": [10.0 / p for p in per_second],
        }

    tasks = {t: {"enc2dec": engine([10.0, 10.0], 1.0), "onnxruntime": engine([8.0, 8.0], 0.99 if t == "beam" else 1.0),
                 "ctranslate2_float32": engine([20.0, 10.0], 1.0), "ctranslate2_int8": engine([40.0, 30.0], 0.9),
                 "enc2dec_shortlist": engine([12.0, 15.0], 0.8) | {"bleu": 29.5},
                 "enc2dec_unsorted": engine([9.0, 9.0], 1.0)}
             for t in perf_race.TASKS}  # fmt: skip
    metrics = perf_race._metrics("transformer", {"tasks": tasks, "greedy_work_ratio": 1.5})
    assert metrics["drop_finished_work_ratio_greedy_transformer"] == 1.5
    assert metrics["sort_speedup_beam_transformer"] == tasks["beam"]["enc2dec_unsorted"]["ratio_enc2dec_over_this"]
    assert metrics["export_parity_transformer"] == 0.99  # the lower of greedy's and beam's
    assert metrics["ct2_int8_speedup_beam"] == {"min": 2.0, "median": 2.5, "max": 3.0}  # paired, repeat by repeat
    assert metrics["shortlist_speedup_greedy_transformer"] == {"min": 1.2, "median": 1.35, "max": 1.5}
    assert metrics["shortlist_bleu_cost_beam_transformer"] == 0.5
    assert {"decode_ratio_ort_greedy_transformer", "decode_ratio_ct2_beam_transformer"} <= set(metrics)
    table = perf.race_table({"details": {"race": {"transformer": {"tasks": tasks}}}})
    assert "| transformer | beam | onnxruntime | 8.0 | **1.000** (1.000–1.000) | 30.0 | 99.0 % |" in table


def test_greedy_work_ratio_counts_the_row_steps_of_finished_sentences():
    import types

    import perf_race

    from enc2dec.tasks.translation import DecodeConfig

    decoding = DecodeConfig(batch_size=2, max_len_a=1.0, max_len_b=1)  # at most len(src) + 1 steps
    translator = types.SimpleNamespace(decoding=decoding, model=object())
    src = [[5], [5, 5, 5], [], [5, 5]]  # batches, longest first: sentences (1, 3), then (0); the empty one takes none
    outputs = [[7], [7, 7, 7, 7], [], [7]]  # steps: 2 (eos), 4 (the limit, no eos), -, 2 (eos)
    # kept until the batch's longest ends: 2 x 4 + 1 x 2 = 10 row-steps; dropped: 2 + 4 + 2 = 8
    assert perf_race.greedy_work_ratio(translator, src, outputs) == 10 / 8


class _TorchToy:
    """The decoding tests' toy StepModel behind perf_search's tensor interface."""

    def __init__(self, toy, torch):
        self.toy, self.torch = toy, torch

    def encode(self, src, src_len):
        return {k: self.torch.from_numpy(v) for k, v in self.toy.encode(src.numpy(), src_len.numpy()).items()}

    def step(self, prev, state):
        log_probs, new = self.toy.step(prev.numpy(), {k: v.numpy() for k, v in state.items()})
        return self.torch.from_numpy(log_probs), {k: self.torch.from_numpy(v) for k, v in new.items()}


@pytest.mark.parametrize("eos_bias", [0.0, 2.0])
def test_torch_searches_follow_enc2dec_decoding(eos_bias):
    """perf_search's PyTorch greedy and beam search give enc2dec.decoding's tokens and token counts."""
    torch = pytest.importorskip("torch")
    from tests.decoding.toy import ToyModel

    toy = ToyModel(vocab_size=7, seed=1, eos_bias=eos_bias)
    rng = np.random.default_rng(0)
    src_len = rng.integers(1, 6, size=9)
    src = rng.integers(4, 7, size=(9, 5))
    twin = _TorchToy(toy, torch)
    for ours, theirs in (
        (perf_search.enc2dec_greedy, perf_search.greedy),
        (perf_search.enc2dec_beam, perf_search.beam),
    ):
        expected = ours(toy, src, src_len)
        assert theirs(twin, torch.from_numpy(src), torch.from_numpy(src_len)) == expected

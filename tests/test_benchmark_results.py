"""What a benchmark's results file records (benchmarks/results_file.py) and the helpers the benchmarks share
(benchmarks/common.py): commit and dirty code, load and threads, notes only from the script's argument."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import common  # noqa: E402
import results_file  # noqa: E402


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=root, check=True,
                   capture_output=True)  # fmt: skip


def test_git_state_flags_changed_code_but_not_results(tmp_path):
    for name in ("enc2dec/a.py", "benchmarks/results/r.json", "configs/c.yaml", "notes.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("1\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "first")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True).stdout.strip()
    assert results_file.git_state(tmp_path) == {"commit": head, "dirty": False}
    (tmp_path / "benchmarks/results/r.json").write_text("2\n")  # a rerun's results: not a code change
    (tmp_path / "notes.md").write_text("2\n")  # outside enc2dec/, benchmarks/, configs/
    (tmp_path / "untracked.py").write_text("")
    assert results_file.git_state(tmp_path)["dirty"] is False
    (tmp_path / "configs/c.yaml").write_text("2\n")
    assert results_file.git_state(tmp_path) == {"commit": head, "dirty": True}


def test_git_state_outside_a_work_tree_records_no_commit(tmp_path, capsys):
    assert results_file.git_state(tmp_path) == {"commit": None, "dirty": None}
    assert "no commit" in capsys.readouterr().err


def test_results_file_records_commit_machine_and_notes_only_from_the_note(tmp_path):
    path = results_file.write_results("x", {"lr": 1}, {"bleu": 2.0}, directory=tmp_path, note="two runs at once",
                                      threads={"training": 1}, machine={"cpu": "test"}, table=[1])  # fmt: skip
    written = json.loads(path.read_text())
    assert written["commit"] == results_file.STARTED["commit"] and written["dirty"] == results_file.STARTED["dirty"]
    machine = written["machine"]
    assert machine["blas_threads"] == {"training": 1} and machine["cpu"] == "test"
    assert len(machine["load_average_at_start"]) == 3 and len(machine["load_average_at_end"]) == 3
    assert written["notes"] == "two runs at once" and written["table"] == [1] and written["metrics"] == {"bleu": 2.0}
    written = json.loads(results_file.write_results("y", {}, {}, directory=tmp_path).read_text())
    assert "notes" not in written and written["machine"]["blas_threads"] == results_file.blas_threads()


def test_smoke_overrides_come_before_the_users():
    parser = argparse.ArgumentParser()
    common.add_arguments(parser, runs="runs/x")
    args = parser.parse_args(["--smoke", "--set", "training.max_steps=5", "--note", "n"])
    assert common.overrides(args, ["data.n_train=9"]) == ["training.max_steps=2", "data.n_train=9",
                                                          "training.max_steps=5"]  # fmt: skip
    assert common.overrides(parser.parse_args(["--set", "a.b=1"]), ["data.n_train=9"]) == ["a.b=1"]


class _Echo:
    """A translator that outputs its source: BLEU 100 where the reference is the source, else 0."""

    class src_tokenizer:  # noqa: N801
        tokenize = staticmethod(str.split)

    def translate(self, sentences):
        from enc2dec.tasks.translation import Translation

        return [Translation(s, 0.0, []) for s in sentences]


def test_bleu_by_length_buckets_sources_by_their_tokens():
    sources = ["a b c d e f", "a b c d e f g h", "one two three four five six seven eight nine"]
    references = [sources[0], "x y z w v u t s", sources[2]]
    result = common.bleu_by_length(_Echo(), sources, references)
    rows = {r["bucket"]: r for r in result["by_length"]}
    assert [r["bucket"] for r in result["by_length"]] == common.bucket_names() == ["1-7", "8-10", "11-13", "14-16",
                                                                                  "17-20", "21+"]  # fmt: skip
    assert rows["1-7"]["n"] == 1 and rows["1-7"]["bleu"] == pytest.approx(100.0)
    assert rows["8-10"]["n"] == 2 and 0.0 < rows["8-10"]["bleu"] < 100.0
    assert rows["21+"] == {"bucket": "21+", "n": 0, "bleu": None}


def test_summary_reads_the_run_and_its_best_checkpoint(tmp_path):
    evals = [{"step": 10, "epoch": 1, "valid_bleu": 5.0}, {"step": 20, "epoch": 2, "valid_bleu": 7.0},
             {"step": 30, "epoch": 3, "valid_bleu": 6.0}]  # fmt: skip
    for name, upto in (("last", 3), ("best", 2)):
        (tmp_path / name).mkdir()
        state = {"step": evals[upto - 1]["step"], "elapsed_seconds": 60.0 * upto, "history": {"evals": evals[:upto]}}
        (tmp_path / name / "trainer_state.json").write_text(json.dumps(state))
    assert common.summary(tmp_path, "valid_bleu") == {"train_minutes": 3.0, "steps": 30, "epochs": 3, "best_step": 20,
                                                      "best_epoch": 2, "best_valid_bleu": 7.0}  # fmt: skip

"""The autoencoder task through the CLI: train on the bundled digits, encode, decode, sample, sweep."""

from __future__ import annotations

import json

import numpy as np
import pytest

from enc2dec import cli, run
from enc2dec.tasks import autoencoder

CONFIG = "configs/autoencoder_digits.yaml"
SMALL = ["--set", "data.n_train=300", "--set", "data.n_valid=100", "--set", "data.n_test=100",
         "--set", "training.max_epochs=3"]  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("ae") / "run"
    assert cli.main(["train", CONFIG, "--out", str(out), "--quiet", *SMALL]) == 0
    return out


def test_train_selects_on_validation_and_draws_pictures(trained, capsys):
    records = [json.loads(line) for line in (trained / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in records if "valid_mse" in r]
    assert len(evals) == 3
    best = min(evals, key=lambda r: r["valid_mse"])
    assert json.loads((trained / "best" / "trainer_state.json").read_text())["step"] == best["step"]
    for name in ("reconstructions.png", "latent.png", "latent_epochs.png", "loss.png"):
        assert (trained / name).stat().st_size > 1000, name


def test_split_is_seeded_and_disjoint():
    cfg = autoencoder.ImageDataConfig(dataset="digits", n_train=300, n_valid=100, n_test=100, seed=0)
    a, b = autoencoder.load_images(cfg), autoencoder.load_images(cfg)
    np.testing.assert_array_equal(a.x["valid"], b.x["valid"])
    rows = {split: {x.tobytes() for x in a.x[split]} for split in a.x}
    assert not rows["train"] & rows["valid"] and not rows["valid"] & rows["test"]


def test_evaluate_scores_valid_and_test_apart(trained):
    valid, test = run.evaluate(trained, "valid"), run.evaluate(trained, "test")
    assert valid["n"] == 100 and test["n"] == 100 and valid["valid_mse"] != test["test_mse"]
    model = run.load(trained).trained
    x = autoencoder.load_images(run.load(trained).config.data).x["test"]
    assert test["test_mse"] == pytest.approx(float(np.mean((model.reconstruct(x) - x) ** 2)), rel=1e-6)


def test_encode_decode_round_trip_through_files(trained, tmp_path, capsys):
    x = autoencoder.load_images(run.load(trained).config.data).x["valid"][:5]
    np.save(tmp_path / "x.npy", x)
    args = ["--model", str(trained), "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "z.npy")]
    assert cli.main(["encode", *args]) == 0
    codes = np.load(tmp_path / "z.npy")
    assert codes.shape == (5, 2)
    args = ["--model", str(trained), "--input", str(tmp_path / "z.npy"), "--output", str(tmp_path / "y.npy")]
    assert cli.main(["decode", *args, "--png", str(tmp_path / "y.png")]) == 0
    model = run.load(trained).trained
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), model.reconstruct(x), rtol=1e-5, atol=1e-6)


def test_non_finite_inputs_are_refused(trained, tmp_path, capsys):
    x = np.zeros((3, 64), np.float32)
    x[1, 7] = np.nan
    np.save(tmp_path / "x.npy", x)
    args = ["--model", str(trained), "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "z.npy")]
    assert cli.main(["encode", *args]) == 2
    assert "encode: input: row 1, column 7 is nan; values must be finite" in capsys.readouterr().err
    assert not (tmp_path / "z.npy").exists()


def test_vae_sample_and_verbs_for_other_tasks(tmp_path, capsys):
    out = tmp_path / "vae"
    sets = [*SMALL, "--set", "model.type=vae", "--set", "training.max_epochs=1"]
    assert cli.main(["train", CONFIG, "--out", str(out), "--quiet", *sets]) == 0
    assert cli.main(["sample", "--model", str(out), "--n", "8", "--output", str(tmp_path / "s.npy")]) == 0
    samples = np.load(tmp_path / "s.npy")
    assert samples.shape == (8, 64) and 0 <= samples.min() and samples.max() <= 1
    assert cli.main(["translate", "--model", str(out)]) == 2
    assert "holds a autoencoder model; translate needs a translation model" in capsys.readouterr().err


def test_sample_needs_a_vae(trained, tmp_path, capsys):
    assert cli.main(["sample", "--model", str(trained), "--output", str(tmp_path / "s.npy")]) == 2
    assert "sample: needs a VAE (model.type vae), got Autoencoder" in capsys.readouterr().err


def test_sweep_against_pca_on_validation(trained, tmp_path, capsys):
    out = tmp_path / "sweep"
    assert cli.main(["sweep", "--model", str(trained), "--sizes", "2", "4", "--out", str(out), "--quiet"]) == 0
    table = json.loads((out / "sweep.json").read_text())
    assert table["split"] == "valid" and [r["context_size"] for r in table["rows"]] == [2, 4]
    assert (out / "sweep.png").is_file() and (out / "c4" / "best").is_dir()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["model.contxt_size=3"], "model.contxt_size is not a AutoencoderConfig field (did you mean context_size?)"),
        (["model.beta=4"], "model.beta is not a AutoencoderConfig field"),
        (["model.type=pca"], "model.type must be one of"),
        (["model.input_size=63"], "model.input_size must match the data: digits has 64 features, got 63"),
        (["data.n_train=2000"], "n_train + n_valid + n_test must be at most 1797"),
    ],
)
def test_train_reports_bad_config(extra, message, tmp_path, capsys):
    assert cli.main(["train", CONFIG, "--out", str(tmp_path / "r"), "--quiet", "--set", *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("enc2dec train: error:") and message in err and err.count("\n") == 1, err


def test_mnist_5k_split_from_the_shared_data():
    from tests.helpers import SHARED_DATA

    cfg = autoencoder.ImageDataConfig(dataset="mnist_5k", data_dir=str(SHARED_DATA))
    data = autoencoder.load_images(cfg)
    assert [len(data.x[s]) for s in ("train", "valid", "test")] == [3500, 500, 1000]
    assert data.x["train"].dtype == np.float32 and 0 <= data.x["train"].min() and data.x["train"].max() <= 1


def test_missing_data_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="mnist_5k.csv.gz not found at"):
        autoencoder.load_images(autoencoder.ImageDataConfig(dataset="mnist_5k", data_dir=str(tmp_path)))

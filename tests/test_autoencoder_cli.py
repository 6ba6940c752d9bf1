"""`enc2dec autoencoder train | encode | decode | sample | sweep` and the Python API behind it, on the bundled 8x8
digits (no download, seconds)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from enc2dec import autoencoder as api
from enc2dec import cli

CONFIG = "configs/autoencoder_digits.yaml"
SMALL = ["--set", "data.n_train=300", "--set", "data.n_test=100", "--set", "training.max_epochs=3"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("ae")
    assert cli.main(["autoencoder", "train", "--config", CONFIG, "--out", str(out), "--quiet", *SMALL]) == 0
    return out


def test_train_writes_checkpoint_and_pictures(trained, capsys):
    for name in ("last/model.safetensors", "last/config.yaml", "loss.png", "reconstructions.png"):
        assert (trained / name).is_file(), name
    assert (trained / "latent.png").is_file() and (trained / "latent_epochs.png").is_file()  # 2-D code
    records = [json.loads(line) for line in (trained / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records if "valid_loss" in r] == [1, 2, 3]


def test_encode_decode_round_trip_through_files(trained, tmp_path, capsys):
    x = api.load_data(api.load_config(CONFIG).data).x_test[:5]
    np.save(tmp_path / "x.npy", x)
    args = ["--checkpoint", str(trained), "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "z.npy")]
    assert cli.main(["autoencoder", "encode", *args]) == 0
    codes = np.load(tmp_path / "z.npy")
    assert codes.shape == (5, 2)
    args = ["--checkpoint", str(trained), "--input", str(tmp_path / "z.npy"), "--output", str(tmp_path / "y.npy")]
    assert cli.main(["autoencoder", "decode", *args, "--png", str(tmp_path / "y.png")]) == 0
    images = np.load(tmp_path / "y.npy")
    assert images.shape == (5, 64) and (tmp_path / "y.png").is_file()
    # the API gives the same, from the loaded checkpoint and from the path
    model, cfg = api.load_model(trained / "last")
    np.testing.assert_array_equal(api.encode(model, x), codes)
    np.testing.assert_allclose(api.decode(trained, codes), images, rtol=1e-6)
    assert cfg.model.context_size == 2


def test_vae_sample_to_png_and_npy(tmp_path, capsys):
    out = tmp_path / "vae"
    assert (
        cli.main(
            [
                "autoencoder",
                "train",
                "--config",
                CONFIG,
                "--out",
                str(out),
                "--quiet",
                *SMALL,
                "--set",
                "model.kind=vae",
            ]
        )
        == 0
    )
    assert (
        cli.main(["autoencoder", "sample", "--checkpoint", str(out), "--n", "8", "--output", str(tmp_path / "s.png")])
        == 0
    )
    assert (tmp_path / "s.png").is_file()
    assert (
        cli.main(["autoencoder", "sample", "--checkpoint", str(out), "--n", "8", "--output", str(tmp_path / "s.npy")])
        == 0
    )
    samples = np.load(tmp_path / "s.npy")
    assert samples.shape == (8, 64) and 0 <= samples.min() and samples.max() <= 1
    np.testing.assert_array_equal(api.sample(out, 8, seed=0), samples)


def test_sweep_writes_table_and_plot(tmp_path, capsys):
    args = ["autoencoder", "sweep", "--config", CONFIG, "--out", str(tmp_path), "--quiet", *SMALL, "--sizes", "2", "4"]
    assert cli.main(args) == 0
    rows = json.loads((tmp_path / "sweep.json").read_text())
    assert [r["context_size"] for r in rows] == [2, 4]
    assert all(r["ratio"] == pytest.approx(r["ae_mse"] / r["pca_mse"]) for r in rows)
    assert (tmp_path / "sweep.png").is_file() and "ratio" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--set", "model.input_size=784"], "model.input_size must match the data: digits has 64 features, got 784"),
        (
            ["--set", "model.contxt_size=3"],
            "model.contxt_size is not a AutoencoderConfig field (did you mean context_size?)",
        ),
        (["--set", "data.n_train=5000"], "n_train + n_test must be at most 1797 for digits, got 5000 + 100"),
        (["--set", "data.dataset=cifar"], "DataConfig.dataset must be one of"),
        (["--set", "model.kind=pca"], "AutoencoderConfig.kind must be one of"),
    ],
)
def test_train_reports_bad_config(extra, message, tmp_path, capsys):
    args = ["autoencoder", "train", "--config", CONFIG, "--out", str(tmp_path), "--quiet", *SMALL, *extra]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert "enc2dec autoencoder: error:" in err and message in err, err


def test_use_errors_name_what_was_wrong(trained, tmp_path, capsys):
    with pytest.raises(ValueError, match=r"sample: needs a VAE \(model.kind 'vae'\), got Autoencoder"):
        api.sample(trained, 4)
    with pytest.raises(ValueError, match=r"encode: x must have shape \(N, 64\), got \(3, 5\)"):
        api.encode(trained, np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"decode: codes must have shape \(N, 2\), got \(4,\)"):
        api.decode(trained, np.zeros(4))
    with pytest.raises(FileNotFoundError, match="not an autoencoder checkpoint"):
        api.load_model(tmp_path)
    with pytest.raises(ValueError, match=r"sweep: sizes must be positive integers, got \[0\]"):
        api.sweep(api.load_config(CONFIG), [0])
    np.save(tmp_path / "x.npy", np.zeros((2, 64), np.float32))
    args = ["--checkpoint", str(trained), "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "z.txt")]
    assert cli.main(["autoencoder", "encode", *args]) == 2
    assert "--output must name a .npy file" in capsys.readouterr().err


def test_mnist_5k_split_when_the_shared_data_is_there():
    from tests.helpers import SHARED_DATA

    if not (SHARED_DATA / "mnist" / "mnist_5k.csv.gz").is_file():
        pytest.skip("no ../shared/data/mnist")
    cfg = api.DataConfig(dataset="mnist_5k", data_dir=str(SHARED_DATA), n_train=4000, n_test=1000, seed=0)
    data = api.load_data(cfg)
    assert data.x_train.shape == (4000, 784) and data.x_test.shape == (1000, 784)
    assert data.x_train.dtype == np.float32 and 0 <= data.x_train.min() and data.x_train.max() <= 1
    np.testing.assert_array_equal(api.load_data(cfg).y_test, data.y_test)  # the seed fixes the split


def test_missing_data_is_a_clear_error(tmp_path):
    cfg = api.DataConfig(dataset="mnist_5k", data_dir=str(tmp_path))
    with pytest.raises(FileNotFoundError, match="mnist_5k.csv.gz not found at"):
        api.load_data(cfg)

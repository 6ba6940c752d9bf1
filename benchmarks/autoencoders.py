"""The autoencoder benchmark on MNIST 5k (3,500 train / 500 validation / 1,000 test, seed 0; the configs' data
section): one command, one results file.

    python benchmarks/autoencoders.py --data-dir ../shared/data
    python benchmarks/autoencoders.py --data-dir ../shared/data --smoke --results-dir /tmp/results

Training (every model keeps its checkpoint with the best validation MSE; nothing here sees the test split):
1. the context-size study: the autoencoder of configs/autoencoder_mnist.yaml at C = 2, 4, 8, 16, 32, 64 against
   PCA with C components fitted on the training digits, reconstruction MSE on the validation digits;
2. denoising: configs/autoencoder_mnist_denoising.yaml;
3. the VAE: configs/autoencoder_mnist_vae.yaml, and a second VAE with a 2-D code (40 epochs) for the manifold.
Then, every choice made, the test split, once (run.evaluate, and from the same final step): the study's test
columns; k-NN (k = 5) fit on the training codes of the 2-D autoencoder and of PCA, scored on the test codes;
denoising PSNR on test digits with Gaussian noise sigma = 0.3 (pixels in [0, 1]; the noisy input as is, and
clipped); the VAEs' negative ELBO; the pictures of test digits and codes.

Writes autoencoders.json and the PNGs into --results-dir; runs go to --runs.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from results_file import write_results  # noqa: E402

CONFIGS = {"autoencoder": "autoencoder_mnist.yaml", "denoising": "autoencoder_mnist_denoising.yaml",
           "vae": "autoencoder_mnist_vae.yaml"}  # fmt: skip
SIZES, SMOKE_SIZES = [2, 4, 8, 16, 32, 64], [2, 8]
SMOKE = ["data.n_train=200", "data.n_valid=50", "data.n_test=50"]
SIGMA = 0.3
VAE2 = ["model.context_size=2", "training.max_epochs=40"]  # the 2-D VAE drawn as a manifold


def psnr(x: np.ndarray, clean: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB for pixels in [0, 1]: 10 log10(1 / MSE)."""
    return 10.0 * math.log10(1.0 / float(np.mean((x - clean) ** 2)))


def main(argv: list[str] | None = None) -> int:
    from sklearn.decomposition import PCA
    from sklearn.neighbors import KNeighborsClassifier

    from enc2dec import config, plots, run
    from enc2dec.tasks.autoencoder import codes_of, sweep
    from enc2dec.training import History, checkpoint

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    common.add_arguments(parser, runs="runs/benchmark_autoencoders")
    args = parser.parse_args(argv)
    runs, out = Path(args.runs), Path(args.results_dir)
    sizes = SMOKE_SIZES if args.smoke else SIZES
    sets = common.overrides(args, SMOKE)
    cfgs = {name: run.with_data_dir(run.load_config(common.ROOT / "configs" / path, sets), args.data_dir)
            for name, path in CONFIGS.items()}  # fmt: skip
    cfgs["vae_2d"] = run.with_overrides(cfgs["vae"], VAE2)
    progress = not args.quiet
    start = time.perf_counter()
    seconds: dict[str, float] = {}
    metrics: dict[str, float] = {}

    # 1-3. training and the study, on the validation split
    t = time.perf_counter()
    rows = sweep(cfgs["autoencoder"], sizes, runs / "sweep", split="valid", progress=progress, overwrite=True)
    seconds["sweep"] = time.perf_counter() - t
    results = {}
    for name in ("denoising", "vae", "vae_2d"):
        t = time.perf_counter()
        results[name] = run.train(cfgs[name], runs / name, overwrite=True, progress=progress)
        seconds[name] = time.perf_counter() - t
        metrics[f"valid_mse_{name}"] = results[name].best["valid_mse"]
    for row in rows:
        c = row["context_size"]
        metrics.update({f"ae_valid_mse_{c}": row["ae_mse"], f"pca_valid_mse_{c}": row["pca_mse"],
                        f"mse_ratio_valid_{c}": row["ratio"]})  # fmt: skip
    plots.plot_sweep(rows, out / "ae_sweep.png")
    shutil.copyfile(runs / "sweep" / "c2" / "latent_epochs.png", out / "ae_latent_epochs.png")  # validation codes
    samples = results["vae"].model.sample(64, rng=np.random.default_rng(0))
    plots.plot_image_grid(samples, out / "vae_samples.png", title=f"VAE samples (C={cfgs['vae'].model.context_size})")
    plots.plot_manifold(results["vae_2d"].model.decode_mean, out / "vae_manifold.png")
    c2_state = checkpoint.load_json(runs / "sweep" / "c2" / "last" / checkpoint.STATE_FILE)["history"]
    plots.plot_loss_curves({"autoencoder C=2": History(**c2_state), "denoising": results["denoising"].history,
                            f"VAE C={cfgs['vae'].model.context_size}": results["vae"].history},
                           out / "ae_loss_curves.png")  # fmt: skip

    # every choice is made: the test split, once
    t = time.perf_counter()
    data = run.make_task(cfgs["autoencoder"]).load_data()
    x_train, y_train, x_test, y_test = data.x["train"], data.y["train"], data.x["test"], data.y["test"]
    for row in rows:
        c = row["context_size"]
        pca = PCA(n_components=c, random_state=cfgs["autoencoder"].data.seed).fit(x_train)
        row["ae_test_mse"] = run.evaluate(runs / "sweep" / f"c{c}", "test")["test_mse"]
        row["pca_test_mse"] = float(np.mean((pca.inverse_transform(pca.transform(x_test)) - x_test) ** 2))
        row["test_ratio"] = row["ae_test_mse"] / row["pca_test_mse"]
        metrics.update({f"ae_test_mse_{c}": row["ae_test_mse"], f"pca_test_mse_{c}": row["pca_test_mse"],
                        f"mse_ratio_test_{c}": row["test_ratio"]})  # fmt: skip
    ae2, ae8 = (run.load(runs / "sweep" / f"c{c}").trained for c in (2, 8))
    pca2 = PCA(n_components=2, random_state=0).fit(x_train)
    pca8 = PCA(n_components=8, random_state=0).fit(x_train)

    def knn(train_codes: np.ndarray, test_codes: np.ndarray) -> float:
        return float(KNeighborsClassifier(n_neighbors=5).fit(train_codes, y_train).score(test_codes, y_test))

    metrics["test_knn_acc_ae_2d"] = knn(codes_of(ae2, x_train), codes_of(ae2, x_test))
    metrics["test_knn_acc_pca_2d"] = knn(pca2.transform(x_train), pca2.transform(x_test))
    plots.plot_codes(codes_of(ae2, x_test), y_test, out / "ae_latent_2d.png", "autoencoder: test 2-D codes")
    plots.plot_codes(pca2.transform(x_test), y_test, out / "pca_latent_2d.png", "PCA: test 2 components")
    plots.plot_image_rows({"original": x_test[:10], "AE, C=2": ae2.reconstruct(x_test[:10]),
                           "AE, C=8": ae8.reconstruct(x_test[:10]),
                           "PCA, 8": pca8.inverse_transform(pca8.transform(x_test[:10]))},
                          out / "ae_reconstructions.png", "test digits and their reconstructions")  # fmt: skip
    dae = run.load(runs / "denoising").trained
    noisy = x_test + SIGMA * np.random.default_rng(1).standard_normal(x_test.shape, dtype=np.float32)
    clipped = np.clip(noisy, 0.0, 1.0)
    metrics["test_denoise_psnr_noisy_db"] = psnr(noisy, x_test)
    metrics["test_denoise_psnr_denoised_db"] = psnr(dae.reconstruct(noisy), x_test)
    metrics["test_denoise_psnr_gain_db"] = metrics["test_denoise_psnr_denoised_db"] - psnr(noisy, x_test)
    metrics["test_denoise_psnr_gain_clipped_db"] = psnr(dae.reconstruct(clipped), x_test) - psnr(clipped, x_test)
    plots.plot_denoising(noisy[:10], dae.reconstruct(noisy[:10]), x_test[:10], out / "dae_denoising.png")
    for name in ("denoising", "vae", "vae_2d"):
        scores = run.evaluate(runs / name, "test")
        metrics[f"test_mse_{name}"] = scores["test_mse"]
        if "test_neg_elbo" in scores:
            metrics[f"test_neg_elbo_{name}"] = scores["test_neg_elbo"]
    seconds["test"] = time.perf_counter() - t

    seconds["total"] = time.perf_counter() - start
    seconds["cpu_process"] = time.process_time()  # CPU seconds of this process (all its threads)
    metrics["seconds_total"] = seconds["total"]
    path = write_results(
        "autoencoders",
        {"sizes": sizes, "noise_sigma": SIGMA, "knn_k": 5, **{k: config.to_dict(c) for k, c in cfgs.items()}},
        {k: round(v, 5) for k, v in metrics.items()},
        ("sklearn", "matplotlib"),
        out,
        note=args.note,
        seconds={k: round(v, 1) for k, v in seconds.items()},
        sweep=rows,
        smoke=args.smoke,
    )
    print(json.dumps({k: round(v, 5) for k, v in metrics.items()}, indent=1))
    print(f"wrote {path} in {seconds['total'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())

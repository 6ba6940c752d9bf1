"""The autoencoder benchmark on MNIST 5k (4,000 train / 1,000 held out, seed 0): one command, one results file.

    python benchmarks/autoencoders.py [--data-dir ../shared/data] [--out benchmarks/results]

1. The context-size study: the autoencoder of configs/autoencoder_mnist.yaml at C = 2, 4, 8, 16, 32, 64 against
   PCA with C components (held-out reconstruction MSE); mse_ratio_C = autoencoder / PCA.
2. The 2-D codes: k-NN (k = 5) fit on the training codes, scored on the held-out codes, autoencoder and PCA.
3. Denoising (configs/autoencoder_mnist_denoising.yaml): PSNR gain on held-out digits with Gaussian noise
   sigma = 0.3 (pixels in [0, 1]; the noisy input as is, and clipped to [0, 1]).
4. The VAE (configs/autoencoder_mnist_vae.yaml): held-out negative ELBO, prior samples, and, from a second VAE
   with a 2-D code (40 epochs), the latent manifold.

Writes autoencoders.json (metrics, command, date, versions, config) and the PNGs into --out; checkpoints go to
runs/benchmark_autoencoders.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_file import write_results  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SIZES = [2, 4, 8, 16, 32, 64]
SIGMA = 0.3
VAE2_EPOCHS = 40  # the 2-D VAE drawn as a manifold


def psnr(x: np.ndarray, clean: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB for pixels in [0, 1]: 10 log10(1 / MSE)."""
    return 10.0 * math.log10(1.0 / float(np.mean((x - clean) ** 2)))


def main(argv: list[str] | None = None) -> int:
    from sklearn.decomposition import PCA
    from sklearn.neighbors import KNeighborsClassifier

    from enc2dec import config, plots
    from enc2dec.autoencoder import load_config, load_data, sweep, train

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=None, help="folder holding mnist/mnist_5k.csv.gz")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    parser.add_argument("--runs", default=str(ROOT / "runs" / "benchmark_autoencoders"))
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    out, runs = Path(args.out), Path(args.runs)
    start = time.perf_counter()
    load_start = os.getloadavg()  # other processes share the CPU; recorded with the timings

    def configured(name: str):
        cfg = load_config(ROOT / "configs" / name)
        return replace(cfg, data=replace(cfg.data, data_dir=args.data_dir))

    ae_cfg = configured("autoencoder_mnist.yaml")
    dae_cfg = configured("autoencoder_mnist_denoising.yaml")
    vae_cfg = configured("autoencoder_mnist_vae.yaml")
    data = load_data(ae_cfg.data)
    metrics: dict[str, float] = {}
    seconds: dict[str, float] = {}

    # 1. the context-size study
    t = time.perf_counter()
    study = sweep(ae_cfg, SIZES, runs / "sweep", data=data, progress=not args.quiet)
    seconds["sweep"] = time.perf_counter() - t
    for row in study["rows"]:
        metrics[f"ae_mse_{row['context_size']}"] = row["ae_mse"]
        metrics[f"pca_mse_{row['context_size']}"] = row["pca_mse"]
        metrics[f"mse_ratio_{row['context_size']}"] = row["ratio"]
    plots.plot_sweep(study["rows"], out / "ae_sweep.png")

    # 2. the 2-D codes, by k-NN
    ae2 = study["runs"][2]
    model2 = ae2.model
    pca2 = PCA(n_components=2, random_state=0).fit(data.x_train)

    def knn(train_codes: np.ndarray, test_codes: np.ndarray) -> float:
        return float(KNeighborsClassifier(n_neighbors=5).fit(train_codes, data.y_train).score(test_codes, data.y_test))

    metrics["knn_acc_ae_2d"] = knn(model2.encode(data.x_train), model2.encode(data.x_test))
    metrics["knn_acc_pca_2d"] = knn(pca2.transform(data.x_train), pca2.transform(data.x_test))
    model2.clear_cache()
    plots.plot_codes(
        model2.encode(data.x_test), data.y_test, out / "ae_latent_2d.png", "autoencoder: held-out 2-D codes"
    )
    plots.plot_codes(pca2.transform(data.x_test), data.y_test, out / "pca_latent_2d.png", "PCA: held-out 2 components")
    plots.plot_latent_epochs(ae2.latent_by_epoch, data.y_test, out / "ae_latent_epochs.png")
    ae8 = study["runs"][8].model
    plots.plot_image_rows(
        {
            "original": data.x_test[:10],
            "AE, C=2": model2.reconstruct(data.x_test[:10]),
            "AE, C=8": ae8.reconstruct(data.x_test[:10]),
            "PCA, 8": PCA(8, random_state=0)
            .fit(data.x_train)
            .inverse_transform(PCA(8, random_state=0).fit(data.x_train).transform(data.x_test[:10])),
        },
        out / "ae_reconstructions.png",
        "held-out digits and their reconstructions",
    )

    # 3. denoising
    t = time.perf_counter()
    dae = train(dae_cfg, runs / "denoising", data=data, progress=not args.quiet)
    seconds["denoising"] = time.perf_counter() - t
    noise = np.random.default_rng(1).standard_normal(data.x_test.shape, dtype=np.float32)
    noisy = data.x_test + SIGMA * noise
    clean = data.x_test
    metrics["denoise_psnr_noisy_db"] = psnr(noisy, clean)
    metrics["denoise_psnr_denoised_db"] = psnr(dae.model.reconstruct(noisy), clean)
    metrics["denoise_psnr_gain_db"] = metrics["denoise_psnr_denoised_db"] - metrics["denoise_psnr_noisy_db"]
    clipped = np.clip(noisy, 0.0, 1.0)
    metrics["denoise_psnr_gain_clipped_db"] = psnr(dae.model.reconstruct(clipped), clean) - psnr(clipped, clean)
    plots.plot_denoising(noisy[:10], dae.model.reconstruct(noisy[:10]), clean[:10], out / "dae_denoising.png")

    # 4. the VAE: negative ELBO and samples; a 2-D VAE for the manifold
    t = time.perf_counter()
    vae = train(vae_cfg, runs / "vae", data=data, progress=not args.quiet)
    vae2_cfg = replace(
        vae_cfg,
        model=replace(vae_cfg.model, context_size=2),
        training=replace(vae_cfg.training, max_epochs=VAE2_EPOCHS),
    )
    vae2 = train(vae2_cfg, runs / "vae2", data=data, progress=not args.quiet)
    seconds["vae"] = time.perf_counter() - t
    metrics["vae_neg_elbo"] = vae.model.neg_elbo(data.x_test, seed=0)
    metrics["vae_neg_elbo_2d"] = vae2.model.neg_elbo(data.x_test, seed=0)
    metrics["vae_test_mse"] = vae.test_mse
    samples = vae.model.sample(64, rng=np.random.default_rng(0))
    plots.plot_image_grid(samples, out / "vae_samples.png", title=f"VAE samples (C={vae_cfg.model.context_size})")
    plots.plot_manifold(vae2.model.decode_mean, out / "vae_manifold.png")
    plots.plot_loss_curves(
        {"autoencoder C=2": ae2.history, "denoising": dae.history, f"VAE C={vae_cfg.model.context_size}": vae.history},
        out / "ae_loss_curves.png",
    )

    seconds["total"] = time.perf_counter() - start
    seconds["cpu_process"] = time.process_time()  # CPU seconds of this process (all its threads)
    metrics["seconds_total"] = seconds["total"]
    path = write_results(
        "autoencoders",
        {
            "data": config.to_dict(ae_cfg.data),
            "sizes": SIZES,
            "noise_sigma": SIGMA,
            "knn_k": 5,
            "autoencoder": config.to_dict(ae_cfg),
            "denoising": config.to_dict(dae_cfg),
            "vae": config.to_dict(vae_cfg),
            "vae_2d": config.to_dict(vae2_cfg),
        },
        {k: round(v, 5) for k, v in metrics.items()},
        ("sklearn", "matplotlib"),
        directory=out,
        machine={
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_at_start": [round(v, 2) for v in load_start],
            "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
        },
        seconds={k: round(v, 1) for k, v in seconds.items()},
        sweep=study["rows"],
    )
    print(json.dumps({k: round(v, 5) for k, v in metrics.items()}, indent=1))
    print(f"wrote {path} in {seconds['total'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The models of the performance benchmark (benchmarks/perf.py), each built the same way in enc2dec and PyTorch.

A registry entry is two functions:
    prepare(data_dir) -> dict of arrays            # the real batches, made once in the parent process
    workload(arrays) -> Workload                   # sizes, analytic FLOPs, and one runner per framework
`workload` raises NotAvailable when enc2dec does not implement the model yet; the harness records that and goes
on. Both frameworks get the same batches and, where the layouts allow, the same initial weights. PyTorch is
imported inside the builders, so a memory probe of enc2dec never loads it.

FLOPs are analytic and count only useful work: 2 m n k for every GEMM of the forward pass on real (non-padding)
rows, twice that for the backward pass (input and weight gradients), without the input gradient of the first
layer, which nobody needs.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


class NotAvailable(Exception):
    """The enc2dec side of a model does not exist (yet)."""


@dataclass
class Runner:
    """One framework's side. train_step(i): forward, loss, backward and optimizer step on training batch i.
    greedy(i) / beam(i): decode test batch i, returning the number of target tokens produced."""

    train_step: Callable[[int], None]
    greedy: Callable[[int], int] | None = None
    beam: Callable[[int], int] | None = None


@dataclass
class Workload:
    name: str
    unit: str  # what the throughput counts: "samples" or "target tokens"
    train_items: list[int]  # per training batch
    train_flops: list[float]  # per training batch, forward + backward
    build: Callable[[str], Runner]  # "enc2dec" | "torch" -> a fresh model, optimizer and runner
    n_test_batches: int = 0
    steps_per_repeat: int = 10
    config: dict = field(default_factory=dict)


def gemm_flops(m: int, n: int, k: int) -> float:
    """(m, k) @ (k, n): m n k multiply-adds."""
    return 2.0 * m * n * k


def mlp_flops(sizes: list[int], batch: int) -> tuple[float, float]:
    """(forward, backward) FLOPs of a chain of Linear layers sizes[0] -> ... -> sizes[-1] on `batch` rows."""
    forward = sum(gemm_flops(batch, b, a) for a, b in zip(sizes[:-1], sizes[1:]))
    first_dx = gemm_flops(batch, sizes[0], sizes[1])
    return forward, 2.0 * forward - first_dx


def torch_setup(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


# -- the MLP autoencoder on MNIST ---------------------------------------------------------------------------------
AE_SIZES = [784, 256, 64, 2]
AE_BATCH = 256
AE_N_BATCHES = 8


def read_mnist_5k(data_dir: Path) -> np.ndarray:
    """<data_dir>/mnist/mnist_5k.csv.gz -> (5000, 784) float32 in [0, 1] (the project loader's format)."""
    with gzip.open(data_dir / "mnist" / "mnist_5k.csv.gz", "rb") as f:
        values = np.loadtxt(f, delimiter=",", dtype=np.int64, ndmin=2)  # (N, 785): pixels then label
    return values[:, :-1].astype(np.float32) / np.float32(255)


def prepare_autoencoder(data_dir: Path) -> dict[str, np.ndarray]:
    x = read_mnist_5k(data_dir)[: AE_BATCH * AE_N_BATCHES]
    return {"x": x.reshape(AE_N_BATCHES, AE_BATCH, -1)}  # (n_batches, B, 784)


def workload_autoencoder(arrays: dict[str, np.ndarray]) -> Workload:
    x = arrays["x"]
    sizes = AE_SIZES + AE_SIZES[-2::-1]  # 784-256-64-2-64-256-784
    forward, backward = mlp_flops(sizes, AE_BATCH)

    def build(framework: str) -> Runner:
        from enc2dec.models.dense import DenseConfig, EncoderDecoder
        from enc2dec.optim import Adam

        config = DenseConfig(784, AE_SIZES[-1], tuple(AE_SIZES[1:-1]), activation="relu", loss="bce")
        model = EncoderDecoder.from_config(config, rng=np.random.default_rng(0))
        if framework == "enc2dec":
            opt = Adam(model.parameters(), lr=1e-3)

            def step(i: int) -> None:
                opt.zero_grad()
                model.compute_loss((x[i], x[i]))
                model.backward_loss()
                opt.step()

            return Runner(step)
        import torch

        layers: list[torch.nn.Module] = []
        weights = [p for _, p in model.named_parameters()]  # weight, bias per Linear, in order
        for j, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            linear = torch.nn.Linear(a, b)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(weights[2 * j].value.T.copy()))  # ours is (n_in, n_out)
                linear.bias.copy_(torch.from_numpy(weights[2 * j + 1].value))
            layers.append(linear)
            if j not in (len(sizes) // 2 - 1, len(sizes) - 2):  # linear code, logits out
                layers.append(torch.nn.ReLU())
        net = torch.nn.Sequential(*layers)
        loss_fn = torch.nn.BCEWithLogitsLoss()
        opt_t = torch.optim.Adam(net.parameters(), lr=1e-3)
        xt = [torch.from_numpy(b) for b in x]

        def step_t(i: int) -> None:
            opt_t.zero_grad()
            loss_fn(net(xt[i]), xt[i]).backward()
            opt_t.step()

        return Runner(step_t)

    return Workload(
        name="autoencoder",
        unit="samples",
        train_items=[AE_BATCH] * len(x),
        train_flops=[forward + backward] * len(x),
        build=build,
        steps_per_repeat=20,
        config={
            "sizes": sizes,
            "activation": "relu",
            "loss": "bce_with_logits",
            "optimizer": "adam lr 1e-3",
            "batch_size": AE_BATCH,
            "data": "mnist_5k, first 2048 digits",
        },
    )


# -- sequence models: waiting for their enc2dec implementations ----------------------------------------------------
def _unavailable(name: str, what: str) -> Callable[[dict[str, np.ndarray]], Workload]:
    def workload(arrays: dict[str, np.ndarray]) -> Workload:
        raise NotAvailable(f"{name}: {what}")

    return workload


def _no_data(data_dir: Path) -> dict[str, np.ndarray]:
    return {}


REGISTRY: dict[str, tuple[Callable[[Path], dict[str, np.ndarray]], Callable[[dict[str, np.ndarray]], Workload]]] = {
    "autoencoder": (prepare_autoencoder, workload_autoencoder),
    "lstm": (_no_data, _unavailable("lstm", "enc2dec.recurrent (LSTM) is not implemented yet")),
    "attention": (_no_data, _unavailable("attention", "enc2dec has no attention GRU model yet")),
    "transformer": (_no_data, _unavailable("transformer", "enc2dec has no Transformer model yet")),
}

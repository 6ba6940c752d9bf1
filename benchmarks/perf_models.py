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
    warmup: int = 3  # untimed calls per framework before timing
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


AE_NOTES = (
    "The step is GEMM-bound: Linear forward and backward take ~98% of its self time; with B = 256 and widths <= 784 "
    "the products are small, so neither framework gets near the GEMM peak (no target here). Fixed: BCEWithLogits "
    "used numpy's float32 log1p, scalar code (1.0 -> 0.4 ms per step). On 2 threads of the shared machine PyTorch "
    "suffers more than enc2dec (it opens an OpenMP parallel region for most ops, and each waits for its second "
    "thread to be scheduled; numpy's elementwise work is single-threaded); the 1-thread control run "
    "(results/perf_1thread.json) shows parity instead, ratio 0.99 at 40 GFLOP/s, 0.81 of the 1-thread peak. Left to close: the first Linear computes the "
    "input gradient of the data, a (256, 256) x (256, 784) product, ~15% of the step's FLOPs, which PyTorch skips; "
    "a needs_input_grad flag on Linear, cleared by models for the layer that reads data, would remove it."
)


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
            "notes": AE_NOTES,
        },
    )


# -- Multi30k batches, shared by the sequence models -------------------------------------------------------------
PAD, UNK, BOS, EOS = 0, 1, 2, 3  # enc2dec.decoding.state's ids
SEQ_BATCH = 128
SEQ_N_BATCHES = 8
VOCAB_CAP = 10_000


def _tokens(path: Path) -> list[list[str]]:
    """Lower-cased words and punctuation: the benchmark's own regex split, independent of enc2dec.data."""
    import re

    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [re.findall(r"\w+|[^\w\s]", line.lower()) for line in f]


def _vocab(sentences: list[list[str]]) -> dict[str, int]:
    """The VOCAB_CAP - 4 most frequent tokens after the 4 special ids; the rest map to UNK."""
    from collections import Counter

    counts = Counter(tok for sent in sentences for tok in sent)
    return {tok: i + 4 for i, (tok, _) in enumerate(counts.most_common(VOCAB_CAP - 4))}


def _pad(seqs: list[list[int]], width: int) -> tuple[np.ndarray, np.ndarray]:
    ids = np.full((len(seqs), width), PAD, dtype=np.int64)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = s
    return ids, np.array([len(s) for s in seqs], dtype=np.int64)


def prepare_multi30k(data_dir: Path) -> dict[str, np.ndarray]:
    """German -> English: SEQ_N_BATCHES training batches of SEQ_BATCH pairs (shuffled, seed 0) and the
    test_2016_flickr sources in batches of SEQ_BATCH. Targets are BOS ... EOS. Arrays are padded to the longest
    sentence overall; each batch is cut to its own longest when used."""
    root = data_dir / "multi30k"
    src, tgt = _tokens(root / "train.de.gz"), _tokens(root / "train.en.gz")
    src_vocab, tgt_vocab = _vocab(src), _vocab(tgt)
    order = np.random.default_rng(0).permutation(len(src))[: SEQ_BATCH * SEQ_N_BATCHES]
    src_ids = [[src_vocab.get(t, UNK) for t in src[i]] or [UNK] for i in order]
    tgt_ids = [[BOS, *(tgt_vocab.get(t, UNK) for t in tgt[i]), EOS] for i in order]
    test = [[src_vocab.get(t, UNK) for t in sent] or [UNK] for sent in _tokens(root / "test_2016_flickr.de.gz")]
    s, s_len = _pad(src_ids, max(map(len, src_ids)))
    t, t_len = _pad(tgt_ids, max(map(len, tgt_ids)))
    n_test = len(test) // SEQ_BATCH * SEQ_BATCH  # whole batches
    ts, ts_len = _pad(test[:n_test], max(map(len, test)))
    shape = (SEQ_N_BATCHES, SEQ_BATCH)
    return {
        "src": s.reshape(*shape, -1),
        "src_len": s_len.reshape(shape),
        "tgt": t.reshape(*shape, -1),
        "tgt_len": t_len.reshape(shape),
        "test_src": ts.reshape(n_test // SEQ_BATCH, SEQ_BATCH, -1),
        "test_len": ts_len.reshape(n_test // SEQ_BATCH, SEQ_BATCH),
        "vocab_sizes": np.array([len(src_vocab) + 4, len(tgt_vocab) + 4]),
    }


def seq_batch(arrays: dict[str, np.ndarray], i: int) -> tuple[np.ndarray, ...]:
    """Training batch i cut to its longest sentences: src (B, S), src_len (B,), tgt (B, T), tgt_len (B,)."""
    s_len, t_len = arrays["src_len"][i], arrays["tgt_len"][i]
    return arrays["src"][i, :, : s_len.max()], s_len, arrays["tgt"][i, :, : t_len.max()], t_len


def lstm_flops(n_tokens: int, input_size: int, hidden_size: int, n_layers: int, n_gates: int = 4) -> float:
    """Forward FLOPs of a stacked RNN over n_tokens real positions: input and recurrent projections per layer."""
    per_token = sum(
        gemm_flops(1, n_gates * hidden_size, (input_size if layer == 0 else hidden_size) + hidden_size)
        for layer in range(n_layers)
    )
    return n_tokens * per_token


# -- the Sutskever LSTM ------------------------------------------------------------------------------------------
LSTM_EMBED, LSTM_HIDDEN, LSTM_LAYERS, CLIP = 256, 512, 2, 5.0


LSTM_NOTES = (
    "Missed: gemm_fraction (0.10 at 2 threads). Where the time goes (profile_top): the two time loops, "
    "lstm.py _backprop ~50% and _run ~24% of self time; each step of each layer makes one (B, H) x (H, 4H) product "
    "(128 x 512 x 2048, 0.27 GFLOP) and 10-15 elementwise passes over (B, H) arrays, in numpy's single-threaded "
    "kernels. The one-shot products (weight gradients ~10%, input projections ~4%, output layer and loss ~9%) are "
    "large GEMMs. On this shared 2-core machine (load average ~5) a 2-thread BLAS call inside the loop "
    "waits for its second thread to be scheduled, roughly a fixed cost per call, so the loop's ~280 calls per step "
    "dominate; PyTorch pays the same and more (ratio > 1). What would close the gap: fuse the per-step gate math "
    "(sigmoid as tanh costs 4 passes; one fused cell kernel, e.g. an optional numba path tested for identical "
    "results, would make ~15 passes 1), run the loop's small products single-threaded while a second thread does "
    "the other direction or layer (a wavefront over layers), and larger batches (B = 128 makes each product small). "
    "The 1-thread control run (results/perf_1thread.json) shows the contention: one thread reached 21.7 GFLOP/s, "
    "0.44 of the 1-thread peak, twice the 2-thread run's 9.9 (train ratio 1.05 there). "
    "Not measured yet: greedy and beam decoding (the harness's Runner has the hooks; an enc2dec Seq2Seq model with "
    "encode/step and a matching PyTorch decoder are needed)."
)


def workload_lstm(arrays: dict[str, np.ndarray]) -> Workload:
    try:
        from enc2dec.recurrent import Stacked  # noqa: F401
    except ImportError as err:
        raise NotAvailable(f"lstm: enc2dec.recurrent is not importable ({err})") from err
    src_vocab, tgt_vocab = (int(v) for v in arrays["vocab_sizes"])
    batches = [seq_batch(arrays, i) for i in range(len(arrays["src"]))]
    items, flops = [], []
    for _, s_len, _, t_len in batches:
        n_src, n_tgt = int(s_len.sum()), int((t_len - 1).sum())
        forward = lstm_flops(n_src + n_tgt, LSTM_EMBED, LSTM_HIDDEN, LSTM_LAYERS)
        forward += gemm_flops(n_tgt, tgt_vocab, LSTM_HIDDEN)  # the output projection, real positions only
        items.append(n_tgt)
        flops.append(3.0 * forward)  # backward: input and weight gradients (embeddings need no GEMM)

    def build(framework: str) -> Runner:
        return (_lstm_enc2dec if framework == "enc2dec" else _lstm_torch)(batches, src_vocab, tgt_vocab)

    return Workload(
        name="lstm",
        unit="target tokens",
        train_items=items,
        train_flops=flops,
        build=build,
        steps_per_repeat=1,
        warmup=1,
        config={
            "embed_size": LSTM_EMBED,
            "hidden_size": LSTM_HIDDEN,
            "n_layers": LSTM_LAYERS,
            "vocab_sizes": [src_vocab, tgt_vocab],
            "batch_size": SEQ_BATCH,
            "optimizer": f"adam lr 1e-3, global-norm clipping at {CLIP}",
            "data": "multi30k train de->en, 8 shuffled batches (seed 0), regex tokens, vocab capped at 10k",
            "model": "embeddings -> 2-layer LSTM encoder (final states) -> 2-layer LSTM decoder -> Linear -> "
            "softmax cross-entropy on real target positions; source not reversed",
            "notes": LSTM_NOTES,
        },
    )


def _lstm_enc2dec(batches: list, src_vocab: int, tgt_vocab: int) -> Runner:
    from enc2dec.layers import Embedding, Linear
    from enc2dec.losses import CrossEntropy
    from enc2dec.optim import Adam, clip_grad_norm
    from enc2dec.recurrent import Stacked

    rng = np.random.default_rng(0)
    src_embed = Embedding(src_vocab, LSTM_EMBED, rng=rng, padding_idx=PAD)
    tgt_embed = Embedding(tgt_vocab, LSTM_EMBED, rng=rng, padding_idx=PAD)
    encoder = Stacked("lstm", LSTM_EMBED, LSTM_HIDDEN, LSTM_LAYERS, rng=rng)
    decoder = Stacked("lstm", LSTM_EMBED, LSTM_HIDDEN, LSTM_LAYERS, rng=rng)
    output = Linear(LSTM_HIDDEN, tgt_vocab, rng=rng)
    loss = CrossEntropy()
    params = [p for m in (src_embed, tgt_embed, encoder, decoder, output) for p in m.parameters()]
    opt = Adam(params, lr=1e-3)

    def step(i: int) -> None:
        src, src_len, tgt, tgt_len = batches[i]
        opt.zero_grad()
        _, context = encoder.forward(src_embed.forward(src.T), src_len)  # (S, B, E) -> final (h, c)
        h_seq, _ = decoder.forward(tgt_embed.forward(tgt[:, :-1].T), tgt_len - 1, context)  # (T, B, H)
        real = tgt[:, 1:].T != PAD  # (T, B)
        loss.forward(output.forward(h_seq[real]), tgt[:, 1:].T[real])  # (N, H) -> (N, V)
        dh_seq = np.zeros_like(h_seq)
        dh_seq[real] = output.backward(loss.backward())
        dy, d_context = decoder.backward(dh_seq)
        tgt_embed.backward(dy)
        src_embed.backward(encoder.backward(None, d_context))
        clip_grad_norm(params, CLIP)
        opt.step()

    return Runner(step)


def _lstm_torch(batches: list, src_vocab: int, tgt_vocab: int) -> Runner:
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence

    torch.manual_seed(0)
    src_embed = torch.nn.Embedding(src_vocab, LSTM_EMBED, padding_idx=PAD)
    tgt_embed = torch.nn.Embedding(tgt_vocab, LSTM_EMBED, padding_idx=PAD)
    encoder = torch.nn.LSTM(LSTM_EMBED, LSTM_HIDDEN, LSTM_LAYERS)
    decoder = torch.nn.LSTM(LSTM_EMBED, LSTM_HIDDEN, LSTM_LAYERS)
    output = torch.nn.Linear(LSTM_HIDDEN, tgt_vocab)
    modules = torch.nn.ModuleList([src_embed, tgt_embed, encoder, decoder, output])
    opt = torch.optim.Adam(modules.parameters(), lr=1e-3)
    data = [tuple(torch.from_numpy(a) for a in b) for b in batches]

    def step(i: int) -> None:
        src, src_len, tgt, tgt_len = data[i]
        opt.zero_grad()
        packed = pack_padded_sequence(src_embed(src.T), src_len, enforce_sorted=False)
        _, context = encoder(packed)
        h_seq, _ = decoder(tgt_embed(tgt[:, :-1].T), context)  # (T, B, H); padding comes after the real steps
        real = tgt[:, 1:].T != PAD
        torch.nn.functional.cross_entropy(output(h_seq[real]), tgt[:, 1:].T[real]).backward()
        torch.nn.utils.clip_grad_norm_(modules.parameters(), CLIP)
        opt.step()

    return Runner(step)


# -- models still waiting for their enc2dec implementations -------------------------------------------------------
def _unavailable(name: str, what: str) -> Callable[[dict[str, np.ndarray]], Workload]:
    def workload(arrays: dict[str, np.ndarray]) -> Workload:
        raise NotAvailable(f"{name}: {what}")

    return workload


def _no_data(data_dir: Path) -> dict[str, np.ndarray]:
    return {}


REGISTRY: dict[str, tuple[Callable[[Path], dict[str, np.ndarray]], Callable[[dict[str, np.ndarray]], Workload]]] = {
    "autoencoder": (prepare_autoencoder, workload_autoencoder),
    "lstm": (prepare_multi30k, workload_lstm),
    "attention": (_no_data, _unavailable("attention", "enc2dec has no attention GRU model yet")),
    "transformer": (_no_data, _unavailable("transformer", "enc2dec has no Transformer model yet")),
}

"""The models of the performance benchmark (benchmarks/perf.py), each built the same way in enc2dec and PyTorch.

A registry entry is two functions:
    prepare(data_dir) -> dict of arrays            # the real batches, made once in the parent process
    workload(arrays) -> Workload                   # sizes, analytic FLOPs, and one runner per framework
`workload` may raise NotAvailable when enc2dec lacks the model; the harness records that and goes on. Both
frameworks get the same batches and the same initial weights (enc2dec's, copied into PyTorch); the sequence models
also decode with the same weights. The enc2dec side uses the library's own models (compute_loss, backward_loss)
and decoders (enc2dec.decoding); the PyTorch side is perf_torch.py (the twins, imported only by the PyTorch
builders, so a memory probe of enc2dec never loads torch) and perf_search.py (greedy and beam search in torch).

FLOPs are analytic and count only useful work: 2 m n k for every GEMM of the forward pass on real (non-padding)
rows, twice that for the backward pass (input and weight gradients), without the input gradient of the first
layer, which nobody needs.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


class NotAvailable(Exception):
    """The enc2dec side of a model does not exist (yet)."""


@dataclass
class Runner:
    """One framework's side. train_step(i): forward, loss, backward and optimizer step on training batch i, returning
    the loss. greedy(i) / beam(i): decode test batch i, returning the number of target tokens produced (eos
    included where emitted); the tokens of each sentence go to outputs[task][i], for the agreement check.
    model: what copy_weights reads or writes."""

    train_step: Callable[[int], float]
    greedy: Callable[[int], int] | None = None
    beam: Callable[[int], int] | None = None
    model: Any = None
    outputs: dict[str, dict[int, list[list[int]]]] = field(default_factory=dict)

    def add_decoding(self, greedy: Callable, beam: Callable, model: Any, tests: list[tuple]) -> None:
        """greedy, beam: (model, src, src_len) -> (tokens per sentence, target tokens); tests: (src, src_len) pairs."""

        def hook(task: str, search: Callable) -> Callable[[int], int]:
            def decode(i: int) -> int:
                tokens, produced = search(model, *tests[i])
                self.outputs.setdefault(task, {})[i] = tokens
                return produced

            return decode

        self.greedy, self.beam = hook("greedy", greedy), hook("beam", beam)


@dataclass
class Workload:
    name: str
    unit: str  # what the throughput counts: "samples" or "target tokens"
    train_items: list[int]  # per training batch
    train_flops: list[float]  # per training batch, forward + backward
    # build(framework, same_weights): "enc2dec" | "torch" -> a fresh model, optimizer and runner; with same_weights
    # the PyTorch model starts from enc2dec's initial weights (memory probes pass False: no enc2dec model in torch's)
    build: Callable[[str, bool], Runner]
    n_test_batches: int = 0
    steps_per_repeat: int = 10
    warmup: int = 3  # untimed calls per framework before timing
    config: dict = field(default_factory=dict)
    # copy_weights(enc2dec runner, torch runner): enc2dec's current weights into the PyTorch model, before decoding
    copy_weights: Callable[[Runner, Runner], None] | None = None


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
    "(of an earlier harness) showed parity instead, ratio 0.99 at 40 GFLOP/s, 0.81 of the 1-thread peak. Left to close: the first Linear computes the "
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

    def build(framework: str, same_weights: bool = True) -> Runner:
        from enc2dec.models.dense import DenseConfig, EncoderDecoder
        from enc2dec.optim import Adam

        if framework == "enc2dec" or same_weights:
            config = DenseConfig(784, AE_SIZES[-1], tuple(AE_SIZES[1:-1]), activation="relu", loss="bce")
            model = EncoderDecoder.from_config(config, rng=np.random.default_rng(0))
        if framework == "enc2dec":
            opt = Adam(model.parameters(), lr=1e-3)

            def step(i: int) -> float:
                opt.zero_grad()
                loss, _ = model.compute_loss((x[i], x[i]))
                model.backward_loss()
                opt.step()
                return loss

            return Runner(step, model=model)
        import torch

        torch.manual_seed(0)
        layers: list[torch.nn.Module] = []
        weights = [p for _, p in model.named_parameters()] if same_weights else []  # weight, bias per Linear
        for j, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            linear = torch.nn.Linear(a, b)
            if weights:
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

        def step_t(i: int) -> float:
            opt_t.zero_grad()
            loss = loss_fn(net(xt[i]), xt[i])
            loss.backward()
            opt_t.step()
            return loss.item()

        return Runner(step_t, model=net)

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


def test_batch(arrays: dict[str, np.ndarray], i: int) -> tuple[np.ndarray, np.ndarray]:
    """Test batch i cut to its longest source: src (B, S), src_len (B,)."""
    s_len = arrays["test_len"][i]
    return arrays["test_src"][i, :, : s_len.max()], s_len


def lstm_flops(n_tokens: int, input_size: int, hidden_size: int, n_layers: int, n_gates: int = 4) -> float:
    """Forward FLOPs of a stacked RNN over n_tokens real positions: input and recurrent projections per layer."""
    per_token = sum(
        gemm_flops(1, n_gates * hidden_size, (input_size if layer == 0 else hidden_size) + hidden_size)
        for layer in range(n_layers)
    )
    return n_tokens * per_token


@dataclass
class SeqModel:
    """What a sequence workload needs to know about one model: how to build each side and its forward FLOPs."""

    name: str
    make_enc2dec: Callable[[int, int], Any]  # (src_vocab, tgt_vocab) -> an enc2dec model (compute_loss, encode, step)
    make_torch: Callable[[int, int], Any]  # (src_vocab, tgt_vocab) -> a perf_torch twin
    forward_flops: Callable[[np.ndarray, np.ndarray, int], float]  # (src_len, tgt_len, tgt_vocab) -> FLOPs
    config: dict
    notes: str


def seq_workload(arrays: dict[str, np.ndarray], spec: SeqModel) -> Workload:
    """Training on the Multi30k batches, greedy and beam-5 decoding of the test batches, on both sides: enc2dec's
    model with its compute_loss / backward_loss and enc2dec.decoding; its PyTorch twin from perf_torch, given
    enc2dec's initial weights, and perf_search's searches."""
    src_vocab, tgt_vocab = (int(v) for v in arrays["vocab_sizes"])
    batches = [seq_batch(arrays, i) for i in range(len(arrays["src"]))]
    tests = [test_batch(arrays, i) for i in range(len(arrays["test_src"]))]
    items = [int((t_len - 1).sum()) for _, _, _, t_len in batches]
    # backward: input and weight gradients, twice the forward (embeddings need no GEMM)
    flops = [3.0 * spec.forward_flops(s_len, t_len, tgt_vocab) for _, s_len, _, t_len in batches]

    def build(framework: str, same_weights: bool = True) -> Runner:
        import perf_search

        if framework == "enc2dec":
            model = spec.make_enc2dec(src_vocab, tgt_vocab)
            run = _enc2dec_runner(model, batches)
            run.add_decoding(perf_search.enc2dec_greedy, perf_search.enc2dec_beam, model, tests)
            return run
        import perf_torch
        import torch

        torch.manual_seed(0)
        twin = spec.make_torch(src_vocab, tgt_vocab)
        if same_weights:
            twin.copy_from(spec.make_enc2dec(src_vocab, tgt_vocab))
        return perf_torch.runner(twin, batches, tests, CLIP, LR)

    def copy_weights(ours: Runner, theirs: Runner) -> None:
        theirs.model.copy_from(ours.model)

    return Workload(
        name=spec.name,
        unit="target tokens",
        train_items=items,
        train_flops=flops,
        build=build,
        n_test_batches=len(tests),
        steps_per_repeat=1,
        warmup=1,
        copy_weights=copy_weights,
        config={
            **spec.config,
            "vocab_sizes": [src_vocab, tgt_vocab],
            "batch_size": SEQ_BATCH,
            "optimizer": f"adam lr {LR}, global-norm clipping at {CLIP}",
            "data": "multi30k train de->en, 8 shuffled batches (seed 0), regex tokens, vocab capped at 10k; "
            f"decoding: test_2016_flickr in {len(tests)} batches of {SEQ_BATCH} (the first {len(tests) * SEQ_BATCH} "
            "sentences)",
            "decoding": "greedy and beam 5 (n_best 1, length penalty 1.0: score / n_emitted), at most "
            "int(1.5 src_len + 10) tokens, finished sentences leave the batch; PyTorch: benchmarks/perf_search.py, "
            "the same rules; both decode with the same weights (enc2dec's after the timed training steps, copied "
            "into PyTorch)",
            "notes": spec.notes,
        },
    )


def _enc2dec_runner(model: Any, batches: list) -> Runner:
    from enc2dec.data.batching import Batch
    from enc2dec.optim import Adam, clip_grad_norm

    params = model.parameters()
    opt = Adam(params, lr=LR)
    data = [Batch(s, s_len, t, t_len, np.arange(len(s))) for s, s_len, t, t_len in batches]

    def step(i: int) -> float:
        opt.zero_grad()
        loss, _ = model.compute_loss(data[i])
        model.backward_loss()
        clip_grad_norm(params, CLIP)
        opt.step()
        return loss

    return Runner(step, model=model)


CLIP, LR = 5.0, 1e-3


# -- the Sutskever LSTM ------------------------------------------------------------------------------------------
LSTM_EMBED, LSTM_HIDDEN, LSTM_LAYERS = 256, 512, 2

LSTM_NOTES = (
    "Training: enc2dec's Seq2Seq (compute_loss / backward_loss) against nn.LSTM with packed sources, from the "
    "same weights. The batches are 128 random sentence pairs, so about half of a padded (T, B) grid is "
    "padding. enc2dec's recurrent layers skip it (the batch ordered longest first, each step computes only "
    "the first live[t] rows; the input projections and weight gradients gather the real rows), in the decoder "
    "too, where nn.LSTM runs the padded targets; Adam and the softmax cross-entropy run in pieces on both "
    "threads (enc2dec.nn.parallel, results identical to one thread). Where enc2dec's time goes (profile_top): "
    "the input projections (base.py _project: one product over the real rows, scattered into the (T, B, 4H) "
    "step layout), the weight-gradient products (base.py _weight_grads), the output layer (linear.py), the "
    "time loops (lstm.py _backprop, _run: per step one (n_t, H) x (H, 4H) product and about 15 "
    "single-threaded elementwise passes) and the loss. What would speed it further: a packed step layout "
    "(each step's rows contiguous in one (N, 4H) array, as PyTorch's PackedSequence) instead of the scatter "
    "into a fresh (T, B, 4H) array, and the time loops' elementwise math on both threads. Decoding: per step "
    "the decoder's 2 layers (4 products (N, E or H) x (., 4H)) and the output projection (N, H) x (H, V), V = "
    "10k, the largest product, with N = 128 rows greedy and up to 640 in beam search; both frameworks run the "
    "same products, so the difference is the work around them. enc2dec's decoding step: LSTM.step runs its "
    "two products and the cell's elementwise math without the time loop's bookkeeping (no per-step (T+1, B, "
    "H) state arrays, output copies or padding logic), the cell's math, the log-softmax over the vocabulary "
    "and the beam's per-row choice of the 2K best tokens in row blocks on both threads (identical results, "
    "tested). Earlier fixes: beam search added the float64 beam scores to all (B, K * V) candidates and ran "
    "argpartition over them (~20% of beam time); it picks each beam's 2K best tokens in float32 (chunk "
    "maxima, then argpartition within the best chunks) and ranks K * 2K sums per sentence; the log-softmax "
    "works in place."
)


def _lstm_flops(src_len: np.ndarray, tgt_len: np.ndarray, tgt_vocab: int) -> float:
    n_src, n_tgt = int(src_len.sum()), int((tgt_len - 1).sum())
    forward = lstm_flops(n_src + n_tgt, LSTM_EMBED, LSTM_HIDDEN, LSTM_LAYERS)
    return forward + gemm_flops(n_tgt, tgt_vocab, LSTM_HIDDEN)  # the output projection, real positions only


def workload_lstm(arrays: dict[str, np.ndarray]) -> Workload:
    from enc2dec.models.seq2seq import Seq2Seq, Seq2SeqConfig

    config = Seq2SeqConfig(cell="lstm", embed_size=LSTM_EMBED, hidden_size=LSTM_HIDDEN, n_layers=LSTM_LAYERS,
                           reverse_source=False, init_scale=None)  # fmt: skip

    def make_torch(src_vocab: int, tgt_vocab: int) -> Any:
        import perf_torch

        return perf_torch.LSTMSeq2Seq(src_vocab, tgt_vocab, LSTM_EMBED, LSTM_HIDDEN, LSTM_LAYERS)

    return seq_workload(
        arrays,
        SeqModel(
            name="lstm",
            make_enc2dec=lambda v_src, v_tgt: Seq2Seq(config, v_src, v_tgt, rng=np.random.default_rng(0)),
            make_torch=make_torch,
            forward_flops=_lstm_flops,
            config={
                "embed_size": LSTM_EMBED,
                "hidden_size": LSTM_HIDDEN,
                "n_layers": LSTM_LAYERS,
                "model": "enc2dec.models.seq2seq.Seq2Seq(cell lstm, source not reversed, layer-default init, no "
                "dropout): embeddings -> 2-layer LSTM encoder (final states) -> 2-layer LSTM decoder -> Linear -> "
                "softmax cross-entropy on real target positions; PyTorch: nn.LSTM with packed sources",
            },
            notes=LSTM_NOTES,
        ),
    )


# -- the attention GRU -------------------------------------------------------------------------------------------
ATT_EMBED, ATT_HIDDEN, ATT_ENCODER, ATT_SMOOTHING = 256, 512, 512, 0.1

ATTENTION_NOTES = (
    "Training: enc2dec's AttentionSeq2Seq against perf_torch.AttentionGRU (nn.GRU, bidirectional and packed),"
    " from the same weights (step-0 losses agree, see agreement). enc2dec is ahead: its bidirectional GRU "
    "encoder and its GRU decoder skip the padding of the random 128-sentence batches (PyTorch packs the "
    "encoder only), and Adam's dozen passes over 15M parameters and their moments run on both threads "
    "(enc2dec.nn.parallel, identical results). Where enc2dec's time goes (profile_top): the output layers "
    "(linear.py; half of the FLOPs are the output projection (N, 512) x (512, 10k)), the GRU time loops "
    "(gru.py _backprop, _run: one (n_t, H) x (H, 3H) product and ~17 elementwise passes per step and "
    "direction), the weight-gradient products (base.py _weight_grads) and Adam; attention itself (Luong "
    "general without input feeding: two batched products over (B, T, S) for all steps) is a small share. "
    "Decoding: per step one GRU step, attention over the memory, h~ and the output projection. enc2dec holds "
    "the memory, keys and mask once per sentence, shared by its beams, which attend to them together "
    "(enc2dec.specials.share_rows), while the PyTorch side reorders its (N, S, 1024) and (N, S, 512) arrays "
    "with the beams each step."
)


def _attention_flops(src_len: np.ndarray, tgt_len: np.ndarray, tgt_vocab: int) -> float:
    E, H, He = ATT_EMBED, ATT_HIDDEN, ATT_ENCODER
    M = 2 * He
    n_src, n_tgt = int(src_len.sum()), int((tgt_len - 1).sum())
    pairs = int((src_len * (tgt_len - 1)).sum())  # (query, key) pairs of real positions
    return (
        2 * n_src * gemm_flops(1, 3 * He, E + He)  # bidirectional GRU encoder
        + len(src_len) * gemm_flops(1, H, M)  # bridge
        + n_src * gemm_flops(1, H, M)  # keys = memory W_a, once per source
        + n_tgt * gemm_flops(1, 3 * H, E + H)  # GRU decoder
        + pairs * 2.0 * (H + M)  # scores and weighted sums
        + n_tgt * (gemm_flops(1, H, M + H) + gemm_flops(1, tgt_vocab, H))  # h~ and the output projection
    )


def workload_attention(arrays: dict[str, np.ndarray]) -> Workload:
    from enc2dec.models.attention_seq2seq import AttentionSeq2Seq, AttentionSeq2SeqConfig

    config = AttentionSeq2SeqConfig(
        cell="gru",
        embed_size=ATT_EMBED,
        hidden_size=ATT_HIDDEN,
        encoder_size=ATT_ENCODER,
        bidirectional=True,
        attention="luong",
        score="general",
        input_feeding=False,
        dropout=0.0,
        label_smoothing=ATT_SMOOTHING,
    )

    def make_torch(src_vocab: int, tgt_vocab: int) -> Any:
        import perf_torch

        return perf_torch.AttentionGRU(src_vocab, tgt_vocab, ATT_EMBED, ATT_HIDDEN, ATT_ENCODER, ATT_SMOOTHING)

    return seq_workload(
        arrays,
        SeqModel(
            name="attention",
            make_enc2dec=lambda v_src, v_tgt: AttentionSeq2Seq(config, v_src, v_tgt, rng=np.random.default_rng(0)),
            make_torch=make_torch,
            forward_flops=_attention_flops,
            config={
                "embed_size": ATT_EMBED,
                "hidden_size": ATT_HIDDEN,
                "encoder_size": f"{ATT_ENCODER} per direction (memory {2 * ATT_ENCODER})",
                "model": "enc2dec.models.attention_seq2seq.AttentionSeq2Seq(cell gru, bidirectional, attention luong, "
                "score general, no input feeding, no dropout, label smoothing 0.1; the library's default attention "
                "and that of configs/m30k_de_en_attention.yaml): bidirectional GRU encoder -> memory; tanh(Linear) "
                "bridge from both final states to the decoder; GRU decoder; attention over the memory after each "
                "step; h~ = tanh(W_c [c; s]) -> Linear -> cross-entropy on real targets; PyTorch: "
                "benchmarks/perf_torch.py AttentionGRU, the same",
            },
            notes=ATTENTION_NOTES,
        ),
    )


# -- the Transformer ---------------------------------------------------------------------------------------------
TF_SIZE, TF_HEADS, TF_FF, TF_LAYERS, TF_SMOOTHING = 256, 8, 512, 3, 0.1

TRANSFORMER_NOTES = (
    "Training: enc2dec's Transformer against torch.nn.Transformer (pre-LN) with the same embeddings, "
    "positions and tied output, from the same weights (step-0 losses agree, see agreement). The batches are "
    "128 random sentence pairs, about half of their padded (B, T) grids padding. enc2dec runs every "
    "position-wise layer (the qkv, output and FFN projections, LayerNorm, residuals) on the real positions "
    "only, packed (N, D) (attention.masks.Packing); attention pads them back to (B, nh, T, S) for its batched "
    "score products, so only those see the padding; nn.Transformer runs every layer over the padded grid (its "
    "fast path for nested tensors is for inference). The FLOP count (gflops) is the useful work on real "
    "positions for both. What remains in enc2dec's step (profile_top): Linear forward and backward and the "
    "tied output projection (N, D) x (D, V), products of about 1700 rows (N) by 256 to 10k columns that stay "
    "below the large-matrix peak on both sides; outside them LayerNorm, softmax, ReLU, residual adds and the "
    "bias-gradient and LayerNorm reductions (numpy 'reduce'), single-threaded numpy passes over arrays too "
    "small (~0.4M elements) for row blocks on threads to pay, where PyTorch runs fused kernels. What would "
    "raise the GEMM fraction further: fewer such passes (LayerNorm fused with the residual add, in place) and "
    "larger products per call (the encoder's and decoder's position-wise layers are separate calls). "
    "Decoding: enc2dec's KV cache computes only the newest position each step (source keys and values "
    "projected once), while nn.Transformer re-runs the decoder over the whole prefix, O(T^2) work, so enc2dec "
    "is several times faster and the gap grows with output length. The source keys, values and mask are held "
    "once per sentence, shared by its beams (enc2dec.specials.share_rows), and a sentence's beams attend to "
    "them together, so beam search neither copies nor reorders them (an A/B run: beam search 24 % faster than "
    "with a copy per beam). Left in enc2dec's beam search (state.py select_rows in profile_top_beam): the "
    "self-attention cache grows by np.concatenate each step and reordering beams copies it; a preallocated "
    "cache would remove the growth copies. Fixed earlier: "
    "the decoding projections ran as stacked (B, 1, D) @ (D, n) products, which numpy executes as B one-row "
    "products; now one 2-D product each."
)


def _transformer_flops(src_len: np.ndarray, tgt_len: np.ndarray, tgt_vocab: int) -> float:
    D, F = TF_SIZE, TF_FF
    t_len = tgt_len - 1
    n_src, n_tgt = int(src_len.sum()), int(t_len.sum())
    dense = gemm_flops(1, 4 * D, D) + 2 * gemm_flops(1, F, D)  # qkv and out projections, the FFN
    encoder = n_src * dense + int((src_len * src_len).sum()) * 4.0 * D  # scores and weighted sums
    decoder = n_tgt * (dense + gemm_flops(1, 2 * D, D)) + n_src * gemm_flops(1, 2 * D, D)  # + cross q, out; kv
    decoder += int((t_len * (t_len + 1) // 2).sum()) * 4.0 * D + int((src_len * t_len).sum()) * 4.0 * D
    return TF_LAYERS * (encoder + decoder) + n_tgt * gemm_flops(1, tgt_vocab, D)


def workload_transformer(arrays: dict[str, np.ndarray]) -> Workload:
    from enc2dec.attention.transformer_layers import sinusoid_table
    from enc2dec.models.transformer import Transformer, TransformerConfig

    config = TransformerConfig(
        model_size=TF_SIZE,
        n_heads=TF_HEADS,
        ff_size=TF_FF,
        n_encoder_layers=TF_LAYERS,
        n_decoder_layers=TF_LAYERS,
        dropout=0.0,
        pre_norm=True,
        positions="sinusoidal",
        tie_output=True,
        label_smoothing=TF_SMOOTHING,
    )

    def make_torch(src_vocab: int, tgt_vocab: int) -> Any:
        import perf_torch

        table = sinusoid_table(config.max_positions, TF_SIZE)
        return perf_torch.TransformerSeq2Seq(src_vocab, tgt_vocab, TF_SIZE, TF_HEADS, TF_FF, (TF_LAYERS, TF_LAYERS),
                                             TF_SMOOTHING, table)  # fmt: skip

    return seq_workload(
        arrays,
        SeqModel(
            name="transformer",
            make_enc2dec=lambda v_src, v_tgt: Transformer(config, v_src, v_tgt, rng=np.random.default_rng(0)),
            make_torch=make_torch,
            forward_flops=_transformer_flops,
            config={
                "model_size": TF_SIZE,
                "n_heads": TF_HEADS,
                "ff_size": TF_FF,
                "n_layers": [TF_LAYERS, TF_LAYERS],
                "model": "enc2dec.models.transformer.Transformer (pre-LN, sinusoidal positions, embeddings * sqrt(D), "
                "output tied to the target embedding, no dropout, label smoothing 0.1) vs torch.nn.Transformer("
                "norm_first=True, batch_first=True, dropout 0) with the same embeddings, positions and tied output "
                "(benchmarks/perf_torch.py). Decoding: enc2dec's KV cache (one new position per step, source keys "
                "and values projected once) vs PyTorch re-running nn.Transformer's decoder over the whole prefix "
                "each step, what nn.Transformer offers and most users write",
            },
            notes=TRANSFORMER_NOTES,
        ),
    )


REGISTRY: dict[str, tuple[Callable[[Path], dict[str, np.ndarray]], Callable[[dict[str, np.ndarray]], Workload]]] = {
    "autoencoder": (prepare_autoencoder, workload_autoencoder),
    "lstm": (prepare_multi30k, workload_lstm),
    "attention": (prepare_multi30k, workload_attention),
    "transformer": (prepare_multi30k, workload_transformer),
}

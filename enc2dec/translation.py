"""Translation as one pipeline for every sequence model: data from a config, a registered model, training with
validation BLEU, then translation and evaluation from a saved model directory.

A model type is registered in `model_types()` as (config dataclass, model class); the model class is built as
`Model(config, src_vocab_size, tgt_vocab_size, rng=...)` and implements the trainer's protocol
(`compute_loss(batch)`, `backward_loss()`) and the decoding protocol (`encode`, `step`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from enc2dec import config as config_io
from enc2dec.data.batching import BucketBatcher, batches_in_order
from enc2dec.data.text import ParallelText, TranslationData
from enc2dec.data.tokenize import Tokenizer, tokenizer_from_config
from enc2dec.data.vocab import Vocab
from enc2dec.nn.module import Module
from enc2dec.training import TrainConfig, Trainer, checkpoint
from enc2dec.training.metrics import TranslationScores, perplexity, translation_scores

log = logging.getLogger(__name__)

TASKS = ("multi30k", "tatoeba", "files", "dates", "reverse")


@dataclass(frozen=True)
class DataConfig:
    task: str = "multi30k"  # multi30k | tatoeba | files | dates | reverse
    src_lang: str = "de"
    tgt_lang: str = "en"
    data_dir: str | None = None  # default: ENC2DEC_DATA, else a cache folder in the home directory
    files: dict[str, str] = field(default_factory=dict)  # task "files": train_src, train_tgt, valid_src, ...
    tokenizer: str = "word"  # word | sentencepiece
    lowercase: bool = False
    min_freq: int = 2
    max_vocab: int | None = None
    sp_vocab_size: int = 8000
    max_train: int | None = None  # keep the first pairs of train only
    n_train: int = 20000  # generated tasks
    max_train_len: int | None = 60  # drop training pairs with a side longer than this (tokens)
    max_tokens: int = 3000  # batch budget: max(S, T) * B; Sutskever et al. batch sentences of similar length
    max_batch_size: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"DataConfig.task must be one of {TASKS}, got {self.task!r}")


@dataclass(frozen=True)
class DecodeConfig:
    method: str = "beam"  # beam | greedy
    beam_size: int = 5
    length_penalty: float = 1.0
    max_len_a: float = 1.5  # at most max_len_a * source length + max_len_b output tokens
    max_len_b: int = 10
    batch_size: int = 64
    valid_bleu_sentences: int = 500  # validation BLEU each evaluation: greedy on the first N valid sentences


@dataclass(frozen=True)
class TranslationConfig:
    model: dict[str, Any]  # {"type": "seq2seq", <fields of that model's config>}
    data: DataConfig = field(default_factory=DataConfig)
    training: TrainConfig = field(default_factory=lambda: TrainConfig(max_epochs=10))
    decoding: DecodeConfig = field(default_factory=DecodeConfig)


def model_types() -> dict[str, tuple[type, type]]:
    from enc2dec.models.attention_seq2seq import AttentionSeq2Seq, AttentionSeq2SeqConfig
    from enc2dec.models.seq2seq import Seq2Seq, Seq2SeqConfig
    from enc2dec.models.transformer import Transformer, TransformerConfig

    return {
        "seq2seq": (Seq2SeqConfig, Seq2Seq),
        "attention": (AttentionSeq2SeqConfig, AttentionSeq2Seq),
        "transformer": (TransformerConfig, Transformer),
    }


def model_config(section: dict[str, Any], where: str = "<config>") -> tuple[str, Any]:
    """The model section -> (type name, its config dataclass), unknown types and fields named."""
    section = dict(section)
    kind = section.pop("type", None)
    types = model_types()
    if kind not in types:
        raise ValueError(f"{where}: model.type must be one of {sorted(types)}, got {kind!r}")
    return kind, config_io.from_dict(types[kind][0], section, where, "model")


def load_config(path: str | Path, overrides: list[str] | None = None) -> TranslationConfig:
    cfg = config_io.load(path, TranslationConfig, overrides)
    model_config(cfg.model, str(path))  # validated now, not at the end of data loading
    return cfg


def build_model(cfg: TranslationConfig, src_vocab_size: int, tgt_vocab_size: int, where: str = "<config>") -> Module:
    kind, model_cfg = model_config(cfg.model, where)
    model_cls = model_types()[kind][1]
    return model_cls(model_cfg, src_vocab_size, tgt_vocab_size, rng=np.random.default_rng(cfg.training.seed))


def load_data(cfg: DataConfig) -> TranslationData:
    from enc2dec.data import synthetic

    if cfg.task == "dates":
        return synthetic.dates(cfg.n_train, 500, cfg.seed)
    if cfg.task == "reverse":
        return synthetic.reverse(cfg.n_train, 500, vocab_size=20, max_len=12, seed=cfg.seed)
    common = dict(tokenizer=cfg.tokenizer, lowercase=cfg.lowercase, min_freq=cfg.min_freq, max_size=cfg.max_vocab)
    if cfg.task == "multi30k":
        from enc2dec.data.datasets.multi30k import load_multi30k

        return load_multi30k(
            cfg.src_lang, cfg.tgt_lang, cfg.data_dir, max_train=cfg.max_train, sp_vocab_size=cfg.sp_vocab_size, **common
        )
    if cfg.task == "tatoeba":
        from enc2dec.data.datasets.tatoeba import load_tatoeba

        return load_tatoeba(cfg.data_dir, **common)
    from enc2dec.data.text import build_translation_data, read_aligned

    needed = [f"{split}_{side}" for split in ("train", "valid", "test") for side in ("src", "tgt")]
    missing = [k for k in needed if k not in cfg.files]
    if missing:
        raise ValueError(f"data.files needs {', '.join(missing)} for task 'files'")
    train, valid, test = (
        read_aligned(cfg.files[f"{s}_src"], cfg.files[f"{s}_tgt"]) for s in ("train", "valid", "test")
    )
    return build_translation_data(train, valid, test, cfg.tokenizer, src_lang=cfg.src_lang, tgt_lang=cfg.tgt_lang,
                                  lowercase=cfg.lowercase, min_freq=cfg.min_freq, max_size=cfg.max_vocab,
                                  sp_vocab_size=cfg.sp_vocab_size)  # fmt: skip


def _short_enough(data: ParallelText, max_len: int | None) -> ParallelText:
    if max_len is None:
        return data
    keep = [i for i in range(len(data)) if 0 < len(data.src[i]) <= max_len and len(data.tgt[i]) <= max_len]
    log.info("training pairs kept with both sides in 1..%d tokens: %d of %d", max_len, len(keep), len(data))
    pick = lambda xs: [xs[i] for i in keep]  # noqa: E731
    return ParallelText(pick(data.src), pick(data.tgt), pick(data.src_text), pick(data.tgt_text))


# -- a trained model with its vocabularies and tokenizers ----------------------------------------------------------
@dataclass
class Translator:
    model: Module
    src_vocab: Vocab
    tgt_vocab: Vocab
    src_tokenizer: Tokenizer
    tgt_tokenizer: Tokenizer
    decoding: DecodeConfig

    def decode_ids(self, src: list[list[int]], **options: Any) -> list[Any]:
        """Token-id sentences -> Hypothesis lists (n-best, best first) in input order; empty sources give []."""
        from enc2dec.decoding import decode_all

        d = self.decoding
        method = options.pop("method", d.method)
        settings = dict(max_len_a=d.max_len_a, max_len_b=d.max_len_b)
        if method == "beam":
            settings.update(beam_size=d.beam_size, length_penalty=d.length_penalty)
        settings.update(options)
        self.model.eval()
        nonempty = [i for i, s in enumerate(src) if s]
        results: list[Any] = [[] for _ in src]
        if nonempty:
            out = decode_all(self.model, [src[i] for i in nonempty], method=method, batch_size=d.batch_size, **settings)
            for i, hyps in zip(nonempty, out):
                results[i] = hyps if isinstance(hyps, list) else [hyps]
        return results

    def detokenize(self, tokens: list[int]) -> str:
        return self.tgt_tokenizer.detokenize(self.tgt_vocab.decode(tokens))

    def translate(self, sentences: list[str], **options: Any) -> list[str]:
        """Raw source sentences -> detokenized best translations."""
        src = [self.src_vocab.encode(self.src_tokenizer.tokenize(s)) for s in sentences]
        return [self.detokenize(h[0].tokens) if h else "" for h in self.decode_ids(src, **options)]

    def score(self, sentences: list[str], references: list[str], **options: Any) -> TranslationScores:
        return translation_scores(self.translate(sentences, **options), references)

    def checkpoint_files(self) -> dict[str, Any]:
        tokenizers = {"src": self.src_tokenizer.to_config(), "tgt": self.tgt_tokenizer.to_config()}
        return {
            "src_vocab.json": lambda tmp: tmp.write_text(_json(self.src_vocab.to_dict()), encoding="utf-8"),
            "tgt_vocab.json": lambda tmp: tmp.write_text(_json(self.tgt_vocab.to_dict()), encoding="utf-8"),
            "tokenizers.json": lambda tmp: tmp.write_text(_json(tokenizers), encoding="utf-8"),
        }


def _json(obj: Any) -> str:
    import json

    return json.dumps(obj, ensure_ascii=False)


def load_translator(model_dir: str | Path) -> Translator:
    """A checkpoint directory (best/ or last/ of a run, or the run folder itself, which means its best/)."""
    model_dir = Path(model_dir)
    if not (model_dir / checkpoint.CONFIG_FILE).is_file() and (model_dir / "best" / checkpoint.CONFIG_FILE).is_file():
        model_dir = model_dir / "best"
    config_path = model_dir / checkpoint.CONFIG_FILE
    if not config_path.is_file():
        raise FileNotFoundError(f"{model_dir}: not a model directory (no {checkpoint.CONFIG_FILE})")
    cfg = config_io.from_dict(TranslationConfig, checkpoint.load_yaml(config_path), str(config_path))
    src_vocab = Vocab.load(model_dir / "src_vocab.json")
    tgt_vocab = Vocab.load(model_dir / "tgt_vocab.json")
    tokenizers = checkpoint.load_json(model_dir / "tokenizers.json")
    model = build_model(cfg, len(src_vocab), len(tgt_vocab), str(config_path))
    checkpoint.load_weights(model_dir, model)
    model.eval()
    return Translator(
        model,
        src_vocab,
        tgt_vocab,
        tokenizer_from_config(tokenizers["src"]),
        tokenizer_from_config(tokenizers["tgt"]),
        cfg.decoding,
    )


# -- training -----------------------------------------------------------------------------------------------------
@dataclass
class TrainResult:
    out_dir: Path
    history: Any
    test: dict[str, float]
    bleu_signature: str
    train_minutes: float


def train(
    cfg: TranslationConfig,
    out_dir: str | Path,
    *,
    data: TranslationData | None = None,
    resume: str | Path | None = None,
    progress: bool = False,
) -> TrainResult:
    """Train cfg's model on cfg's data; write checkpoints to out_dir/{last,best}; score the best on the test split
    (BLEU, chrF, perplexity with cfg.decoding) and write out_dir/test_scores.json."""
    import dataclasses

    out_dir = Path(out_dir)
    if data is None:
        data = load_data(cfg.data)
    log.info("data: %r", data)
    model = build_model(cfg, len(data.src_vocab), len(data.tgt_vocab))
    translator = Translator(model, data.src_vocab, data.tgt_vocab, data.src_tokenizer, data.tgt_tokenizer, cfg.decoding)
    train_batches = BucketBatcher(
        _short_enough(data.train, cfg.data.max_train_len),
        cfg.data.max_tokens,
        seed=cfg.training.seed,
        max_batch_size=cfg.data.max_batch_size,
    )
    valid_batches = batches_in_order(data.valid, cfg.decoding.batch_size)
    n_bleu = min(cfg.decoding.valid_bleu_sentences, len(data.valid))

    def evaluate(_: Module) -> dict[str, float]:
        hyps = translator.decode_ids(data.valid.src[:n_bleu], method="greedy")
        texts = [translator.detokenize(h[0].tokens) if h else "" for h in hyps]
        return {"valid_bleu": translation_scores(texts, data.valid.tgt_text[:n_bleu]).bleu}

    trainer = Trainer(
        model,
        dataclasses.replace(cfg.training, progress=progress or cfg.training.progress),
        out_dir=out_dir,
        evaluate=evaluate if n_bleu else None,
        run_config=config_io.to_dict(cfg),
        checkpoint_files=translator.checkpoint_files,
    )
    history = trainer.fit(train_batches, valid_batches, resume=resume)
    best = load_translator(out_dir / "best") if (out_dir / "best").is_dir() else translator
    test_loss = test_nll(best.model, data.test, cfg.decoding.batch_size)
    scores = best.score(data.test.src_text, data.test.tgt_text)
    test = {**scores.as_dict("test_"), "test_ppl": perplexity(test_loss)}
    checkpoint.save_json(out_dir / "test_scores.json", {**test, "bleu_signature": scores.bleu_signature})
    return TrainResult(out_dir, history, test, scores.bleu_signature, trainer.elapsed / 60)


def test_nll(model: Module, data: ParallelText, batch_size: int) -> float:
    """Mean negative log-likelihood per target token (the exponent of perplexity): the model's loss with label
    smoothing switched off, which would otherwise add its own term."""
    from enc2dec.training.trainer import evaluate_loss

    smoothing = model.loss.smoothing
    model.loss.smoothing = 0.0
    try:
        return evaluate_loss(model, batches_in_order(data, batch_size))
    finally:
        model.loss.smoothing = smoothing


def evaluate_files(
    model_dir: str | Path, src_file: str | Path, ref_file: str | Path, **options: Any
) -> TranslationScores:
    """BLEU / chrF of a saved model on aligned source and reference files (raw text, one sentence a line)."""
    from enc2dec.data.text import read_aligned

    pairs = read_aligned(src_file, ref_file)
    return load_translator(model_dir).score(pairs.src, pairs.tgt, **options)

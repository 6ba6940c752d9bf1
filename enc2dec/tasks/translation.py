"""Translation: sentence pairs -> a sequence model (seq2seq, attention_seq2seq, transformer) -> translations.

Validation each evaluation: the loss, and greedy BLEU on the first `decoding.valid_bleu_sentences` validation
pairs (valid_bleu). `evaluate` scores a split with the configured decoding: sacrebleu's corpus BLEU on detokenized
output against the raw references (cased, 13a) with its signature, lowercased BLEU, chrF, and the perplexity of
the references.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np

from enc2dec.data.batching import BucketBatcher, batches_in_order
from enc2dec.data.text import ParallelText, TextPairs, TranslationData, encode_pairs
from enc2dec.data.tokenize import Tokenizer, load_tokenizers, tokenizers_to_dict
from enc2dec.data.vocab import Vocab
from enc2dec.nn.checks import check_flags, check_float_field, check_int_field
from enc2dec.nn.module import Module
from enc2dec.tasks.base import Task, Writer
from enc2dec.tasks.registry import model_choice, model_type_of
from enc2dec.training import TrainConfig, checkpoint
from enc2dec.training.metrics import TranslationScores, perplexity, translation_scores

log = logging.getLogger(__name__)

DATASETS = ("multi30k", "tatoeba", "files", "dates", "reverse")
SPLIT_FILES = ("train_src", "train_tgt", "valid_src", "valid_tgt", "test_src", "test_tgt")
VOCAB_FILES = ("src_vocab.json", "tgt_vocab.json", "tokenizers.json")


@dataclass(frozen=True)
class TextDataConfig:
    dataset: str = "multi30k"  # multi30k | tatoeba (en, fr) | files | dates | reverse (generated)
    src_lang: str = "de"
    tgt_lang: str = "en"
    data_dir: str | None = None  # default: $ENC2DEC_DATA, else a cache folder in the home directory
    files: dict[str, str] = field(default_factory=dict)  # dataset "files": train_src, train_tgt, valid_src, ...
    tokenizer: str = "word"  # word | sentencepiece (one model per language, trained on train only)
    lowercase: bool = False
    min_freq: int = 2
    max_vocab: int | None = None
    sp_vocab_size: int = 8000
    joint_vocab: bool = False  # one vocabulary (and sentencepiece model) for both sides: for tied embeddings
    max_train: int | None = None  # keep the first pairs of train only
    n_train: int = 20000  # generated datasets: pairs drawn for train; 500 each for valid and test
    max_train_len: int | None = 60  # drop training pairs with a side longer than this (tokens)
    max_tokens: int = 3000  # batch budget: max(S, T) * B; Sutskever et al. batch sentences of similar length
    max_batch_size: int | None = None
    seed: int = 0  # the batch order; tatoeba's split and the generated datasets

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise ValueError(f"TextDataConfig.dataset must be one of {DATASETS}, got {self.dataset!r}")
        if self.tokenizer not in ("word", "sentencepiece"):
            raise ValueError(f"TextDataConfig.tokenizer must be 'word' or 'sentencepiece', got {self.tokenizer!r}")
        if self.joint_vocab and self.dataset in ("dates", "reverse"):
            raise ValueError(
                f"TextDataConfig.joint_vocab is for text read from files, not the generated {self.dataset!r}"
            )
        if self.src_lang == self.tgt_lang:
            raise ValueError(f"TextDataConfig: src_lang and tgt_lang must differ, got {self.src_lang!r} twice")
        if self.dataset == "tatoeba" and {self.src_lang, self.tgt_lang} != {"en", "fr"}:
            raise ValueError(
                f"TextDataConfig: dataset 'tatoeba' is English-French: src_lang and tgt_lang must be 'en' and 'fr' "
                f"(either way), got {self.src_lang!r}, {self.tgt_lang!r}"
            )
        if self.dataset == "files":
            missing = [k for k in SPLIT_FILES if k not in self.files]
            if missing:
                raise ValueError(f"TextDataConfig: dataset 'files' needs data.files.{', '.join(missing)}")
            unknown = sorted(set(self.files) - set(SPLIT_FILES))
            if unknown:
                raise ValueError(f"TextDataConfig.files: unknown keys {unknown}; expected {list(SPLIT_FILES)}")
        elif self.files:
            raise ValueError(f"TextDataConfig.files is for dataset 'files', got dataset {self.dataset!r}")
        for name in ("min_freq", "sp_vocab_size", "n_train", "max_tokens"):
            check_int_field("TextDataConfig", name, getattr(self, name), 1)
        for name in ("max_vocab", "max_train", "max_train_len", "max_batch_size"):
            check_int_field("TextDataConfig", name, getattr(self, name), 1, optional=True)
        check_int_field("TextDataConfig", "seed", self.seed, 0)
        check_flags(self)


@dataclass(frozen=True)
class DecodeConfig:
    method: Literal["beam", "greedy", "sample"] = "beam"
    beam_size: int = 5
    length_penalty: float = 1.0  # beam: scores divided by length ** length_penalty (style avg)
    length_penalty_style: Literal["avg", "gnmt"] = "avg"  # gnmt: by ((5 + length) / 6) ** length_penalty
    min_length: int = 0  # no eos before this many tokens
    no_repeat_ngram: int = 0  # n >= 2: no n-gram twice in one output; 0: off
    temperature: float = 1.0  # sample: below 1 sharpens, above 1 flattens
    top_k: int | None = None  # sample: draw from the k most likely tokens
    top_p: float | None = None  # sample: draw from the smallest set of most likely tokens whose mass reaches p
    seed: int = 0  # sample: the random stream
    max_len_a: float = 1.5  # at most max_len_a * source length + max_len_b output tokens
    max_len_b: int = 10
    batch_size: int = 64
    valid_bleu_sentences: int = 500  # validation BLEU at each evaluation: greedy on the first N valid pairs; 0: off

    def __post_init__(self) -> None:
        for name in ("beam_size", "batch_size"):
            check_int_field("DecodeConfig", name, getattr(self, name), 1)
        for name in ("max_len_b", "valid_bleu_sentences", "min_length", "no_repeat_ngram"):
            check_int_field("DecodeConfig", name, getattr(self, name), 0)
        for name in ("length_penalty", "max_len_a"):
            check_float_field("DecodeConfig", name, getattr(self, name), 0.0)
        check_float_field("DecodeConfig", "temperature", self.temperature, 0.0, bounds="(]")
        check_int_field("DecodeConfig", "top_k", self.top_k, 1, optional=True, note="null: every token")
        check_float_field("DecodeConfig", "top_p", self.top_p, 0.0, 1.0, "(]", optional=True)
        check_int_field("DecodeConfig", "seed", self.seed, 0)
        if self.max_len_a == 0 and self.max_len_b == 0:
            raise ValueError("DecodeConfig: max_len_a and max_len_b are both 0: no output token allowed")
        if self.no_repeat_ngram == 1:
            raise ValueError("DecodeConfig.no_repeat_ngram must be 0 (off) or >= 2, got 1")


@dataclass(frozen=True)
class TranslationConfig:
    task: Literal["translation"]
    model: Annotated[Any, model_choice("translation")]  # {type: seq2seq | attention_seq2seq | transformer, ...}
    training: TrainConfig
    data: TextDataConfig = field(default_factory=TextDataConfig)
    decoding: DecodeConfig = field(default_factory=DecodeConfig)


# -- data -----------------------------------------------------------------------------------------------------------
def _generated(cfg: TextDataConfig) -> TranslationData:
    from enc2dec.data import synthetic

    if cfg.dataset == "dates":
        return synthetic.dates(cfg.n_train, 500, cfg.seed)
    return synthetic.reverse(cfg.n_train, 500, vocab_size=20, max_len=12, seed=cfg.seed)


def raw_splits(cfg: TextDataConfig) -> tuple[TextPairs, TextPairs, TextPairs]:
    """The raw (untokenized) train, valid and test pairs of a dataset read from files."""
    if cfg.dataset == "multi30k":
        from enc2dec.data.datasets.multi30k import SPLITS, read_multi30k

        return tuple(read_multi30k(s, cfg.src_lang, cfg.tgt_lang, cfg.data_dir) for s in SPLITS)
    if cfg.dataset == "tatoeba":
        from enc2dec.data.datasets.tatoeba import read_tatoeba, split_groups

        pairs = read_tatoeba(cfg.data_dir)  # English, French
        parts = [pairs.subset(ix) for ix in split_groups(pairs.src, 500, 500, cfg.seed)]
        if cfg.src_lang == "fr":
            parts = [TextPairs(p.tgt, p.src, p.line_numbers) for p in parts]
        return tuple(parts)
    from enc2dec.data.text import read_aligned

    return tuple(read_aligned(cfg.files[f"{s}_src"], cfg.files[f"{s}_tgt"]) for s in ("train", "valid", "test"))


def load_data(cfg: TextDataConfig) -> TranslationData:
    """Train, valid and test pairs, tokenizers and vocabularies (built on train only), every split encoded."""
    if cfg.dataset in ("dates", "reverse"):
        return _generated(cfg)
    from enc2dec.data.text import build_translation_data

    train, valid, test = raw_splits(cfg)
    if cfg.max_train is not None:
        train = train.subset(range(min(cfg.max_train, len(train))))
    return build_translation_data(train, valid, test, cfg.tokenizer, src_lang=cfg.src_lang, tgt_lang=cfg.tgt_lang,
                                  lowercase=cfg.lowercase, min_freq=cfg.min_freq, max_size=cfg.max_vocab,
                                  sp_vocab_size=cfg.sp_vocab_size, joint_vocab=cfg.joint_vocab,
                                  name=f"{cfg.dataset}-{cfg.src_lang}-{cfg.tgt_lang}")  # fmt: skip


def split_pairs(cfg: TextDataConfig, split: str) -> tuple[list[str], list[str]]:
    """(sources, references) of one split, raw."""
    if cfg.dataset in ("dates", "reverse"):
        part = getattr(_generated(cfg), split)
        return list(part.src_text), list(part.tgt_text)
    part = raw_splits(cfg)[("train", "valid", "test").index(split)]
    return list(part.src), list(part.tgt)


def _short_enough(data: ParallelText, max_len: int | None) -> ParallelText:
    if max_len is None:
        return data
    keep = [i for i in range(len(data)) if 0 < len(data.src[i]) <= max_len and len(data.tgt[i]) <= max_len]
    log.info("training pairs kept with both sides in 1..%d tokens: %d of %d", max_len, len(keep), len(data))
    pick = lambda xs: [xs[i] for i in keep]  # noqa: E731
    return ParallelText(pick(data.src), pick(data.tgt), pick(data.src_text), pick(data.tgt_text))


# -- a trained model with its vocabularies and tokenizers ----------------------------------------------------------
@dataclass(frozen=True)
class Translation:
    """One output of Translator.translate: the detokenized text, the model's log-probability of it (summed over
    its tokens, eos included when emitted) and its target token ids."""

    text: str
    score: float
    tokens: list[int]

    def __str__(self) -> str:
        return self.text


@dataclass
class Translator:
    model: Module  # or a decoding.Ensemble of them
    src_vocab: Vocab
    tgt_vocab: Vocab
    src_tokenizer: Tokenizer
    tgt_tokenizer: Tokenizer
    decoding: DecodeConfig

    def encode(self, sentence: str) -> list[int]:
        return self.src_vocab.encode(self.src_tokenizer.tokenize(sentence))

    def encode_target(self, text: str) -> list[int]:
        """Target text (a forced prefix) -> target token ids."""
        return self.tgt_vocab.encode(self.tgt_tokenizer.tokenize(text))

    def decode_ids(self, src: list[list[int]], *, comm: Any = None, **options: Any) -> list[list[Any]] | None:
        """Token-id sentences -> Hypothesis lists (n-best or samples, best first) in input order; an empty source
        gives []. Over-long sources: decoding.SourcesTooLongError after the others are decoded, with its
        `results` in this form. comm (enc2dec.training.distributed): several processes share the sentences in
        whole decoding batches, the ones one process would form, so the results are identical; rank 0 gets them,
        the other ranks None."""
        from enc2dec.decoding.batch import SourcesTooLongError

        d = self.decoding
        method = options.pop("method", d.method)
        settings = dict(max_len_a=d.max_len_a, max_len_b=d.max_len_b, min_length=d.min_length,
                        no_repeat_ngram=d.no_repeat_ngram)  # fmt: skip
        if method == "beam":
            settings.update(beam_size=d.beam_size, length_penalty=d.length_penalty,
                            length_penalty_style=d.length_penalty_style)  # fmt: skip
        elif method == "sample":
            settings.update(temperature=d.temperature, top_k=d.top_k, top_p=d.top_p, seed=d.seed)
        settings.update(options, method=method)
        shortlist = settings.get("shortlist")
        if shortlist is not None and shortlist.fingerprint != self.vocab_fingerprint():
            raise ValueError("the shortlist was built for a model with other vocabularies (enc2dec shortlist --model)")
        self.model.eval()
        if comm is not None and comm.size > 1:
            return self._decode_sharded(src, comm, settings)
        try:
            out = self._decode(src, settings)
        except SourcesTooLongError as err:
            err.results = [_as_list(r) for r in err.results]
            raise
        return [_as_list(r) for r in out]

    def _decode(self, src: list[list[int]], settings: dict[str, Any]) -> list[Any]:
        from enc2dec.decoding import decode_all

        return decode_all(self.model, src, batch_size=self.decoding.batch_size, **settings)

    def build_shortlist(self, sources: list[str], targets: list[str], **options: Any) -> Any:
        """A decoding.shortlist.Shortlist for this model from aligned training sentences (build_shortlist's
        options: n_frequent, per_source); decode with it through the option shortlist=."""
        from enc2dec.decoding.shortlist import build_shortlist

        pairs = encode_pairs(TextPairs(sources, targets), self.src_tokenizer, self.tgt_tokenizer, self.src_vocab,
                             self.tgt_vocab)  # fmt: skip
        return build_shortlist(pairs.src, pairs.tgt, len(self.src_vocab), len(self.tgt_vocab),
                               fingerprint=self.vocab_fingerprint(), **options)  # fmt: skip

    def vocab_fingerprint(self) -> str:
        from enc2dec.decoding.shortlist import vocab_fingerprint

        return vocab_fingerprint(self.src_vocab.itos, self.tgt_vocab.itos)

    def _decode_sharded(self, src: list[list[int]], comm: Any, settings: dict[str, Any]) -> list[list[Any]] | None:
        from enc2dec.decoding.batch import SourcesTooLongError, TooLong
        from enc2dec.decoding.state import Hypothesis
        from enc2dec.training import distributed

        prefix = settings.pop("prefix", None)  # travels with its sentence
        items = list(zip(src, prefix)) if prefix is not None else [(s, None) for s in src]

        def share(part: list[tuple[list[int], Any]]) -> list[Any]:  # JSON: [[tokens, score, eos], ...] or a TooLong
            mine = dict(settings, prefix=[p for _, p in part]) if prefix is not None else settings
            try:
                hyps, too_long = [_as_list(r) for r in self._decode([s for s, _ in part], mine)], []
            except SourcesTooLongError as err:
                hyps, too_long = [_as_list(r) for r in err.results], err.too_long
            out: list[Any] = [[[[int(t) for t in h.tokens], float(h.score), bool(h.reached_eos)] for h in r]
                              for r in hyps]  # fmt: skip
            for t in too_long:
                out[t.index] = {"length": t.length, "limit": t.limit}
            return out

        blocks, weights = self._decode_blocks(src, settings["method"])
        results = distributed.shard_map(comm, items, share, blocks=blocks, weights=weights)
        if results is None:
            return None
        too_long = [TooLong(i, r["length"], r["limit"]) for i, r in enumerate(results) if isinstance(r, dict)]
        hyps = [[] if isinstance(r, dict) else [Hypothesis(t, score, reached_eos=eos) for t, score, eos in r]
                for r in results]  # fmt: skip
        if too_long:
            raise SourcesTooLongError(too_long, hyps)
        return hyps

    def _decode_blocks(self, src: list[list[int]], method: str) -> tuple[list[list[int]], list[int]]:
        """The batches one process decodes (decode_all's batch_order over the decodable sentences), then the rest
        (empty or over-long) as one block; and each sentence's weight (its length; 0 for the rest). Sampling
        draws from one random stream for the whole input: one block."""
        from enc2dec.decoding.batch import batch_order
        from enc2dec.decoding.state import length_limits

        if method == "sample":
            return [list(range(len(src)))], [1] * len(src)
        limit = length_limits(self.model)[0]
        weights = [len(s) if limit is None or len(s) <= limit else 0 for s in src]
        todo = [i for i, w in enumerate(weights) if w]
        batches = [[todo[k] for k in b] for b in batch_order([weights[i] for i in todo], self.decoding.batch_size)]
        rest = [i for i, w in enumerate(weights) if not w]
        return batches + ([rest] if rest else []), weights

    def detokenize(self, tokens: list[int]) -> str:
        return self.tgt_tokenizer.detokenize(self.tgt_vocab.decode(tokens))

    def translate(self, sentences: list[str], *, n_best: int | None = None, prefix: list[str] | None = None,
                  **options: Any) -> list[Translation] | list[list[Translation]] | None:  # fmt: skip
        """Raw source sentences -> the best Translation of each (n_best None), or lists of the n_best best, best
        first (method "sample": n_best draws). prefix: one target text per sentence that its translations start
        with (forced). options: decoding options over the model's configured ones (method, beam_size,
        length_penalty, min_length, ..., and comm to share the work among processes: None on the ranks other
        than 0). A model configured for greedy decoding answers n_best > 1 with beam search."""
        options = dict(options)
        if prefix is not None:
            options["prefix"] = [self.encode_target(p) for p in prefix]
        if n_best is not None:
            if not (isinstance(n_best, int) and n_best >= 1):
                raise ValueError(f"translate: n_best must be an int >= 1, got {n_best!r}")
            method = options.get("method", self.decoding.method)
            if method == "greedy" and n_best > 1:
                if "method" in options:
                    raise ValueError(f"translate: n_best={n_best} needs method 'beam' or 'sample', got 'greedy'")
                options["method"] = method = "beam"
            if method == "beam":
                options.update(n_best=n_best, beam_size=options.get("beam_size", max(self.decoding.beam_size, n_best)))
            elif method == "sample" and n_best > 1:
                options["num_samples"] = n_best
        hyps = self.decode_ids([self.encode(s) for s in sentences], **options)
        if hyps is None:
            return None
        found = [[Translation(self.detokenize(h.tokens), h.score, list(h.tokens)) for h in r] for r in hyps]
        if n_best is not None:
            return found
        return [r[0] if r else Translation("", float("-inf"), []) for r in found]  # an empty source: no output

    def score(self, sentences: list[str], references: list[str], **options: Any) -> TranslationScores | None:
        translations = self.translate(sentences, **options)
        return None if translations is None else translation_scores([t.text for t in translations], references)

    def files(self) -> dict[str, Writer]:
        """The vocabularies and tokenizers, as checkpoint files."""
        tokenizers = tokenizers_to_dict(self.src_tokenizer, self.tgt_tokenizer)
        texts = [self.src_vocab.to_dict(), self.tgt_vocab.to_dict(), tokenizers]
        return {name: _json_writer(obj) for name, obj in zip(VOCAB_FILES, texts)}


def ensemble(translators: Sequence[Translator]) -> Translator:
    """One Translator that decodes with the mean distribution of several (decoding.Ensemble), any mix of the
    sequence model types, with the first one's decoding settings. They must share their vocabularies and
    tokenizers (models of one run, or of runs on the same data config): a ValueError names what differs."""
    from enc2dec.decoding.ensemble import Ensemble

    first = translators[0]
    for i, t in enumerate(translators[1:], start=1):
        for what, mine, theirs in (
            ("target vocabulary", t.tgt_vocab.to_dict(), first.tgt_vocab.to_dict()),
            ("source vocabulary", t.src_vocab.to_dict(), first.src_vocab.to_dict()),
            ("tokenizers", tokenizers_to_dict(t.src_tokenizer, t.tgt_tokenizer),
             tokenizers_to_dict(first.src_tokenizer, first.tgt_tokenizer)),
        ):  # fmt: skip
            if mine != theirs:
                raise ValueError(f"ensemble: model {i + 1} has another {what} than model 1; an ensemble needs one")
    model = Ensemble([t.model for t in translators])
    return Translator(model, first.src_vocab, first.tgt_vocab, first.src_tokenizer, first.tgt_tokenizer,
                      first.decoding)  # fmt: skip


def _as_list(result: Any) -> list[Any]:
    """One sentence's decode_all result (a Hypothesis, a list of them, or None) as a list."""
    return [] if result is None else result if isinstance(result, list) else [result]


def _json_writer(obj: Any) -> Writer:
    return lambda path: path.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")


def test_nll(model: Module, data: ParallelText, batch_size: int, comm: Any = None) -> float:
    """Mean negative log-likelihood per target token (the exponent of perplexity): the model's loss with label
    smoothing switched off, which would otherwise add its own term."""
    from enc2dec.training.trainer import evaluate_loss

    smoothing = model.loss.smoothing
    model.loss.smoothing = 0.0
    try:
        return evaluate_loss(model, batches_in_order(data, batch_size), comm)
    finally:
        model.loss.smoothing = smoothing


# -- the task ---------------------------------------------------------------------------------------------------------
class TranslationTask(Task):
    name = "translation"
    config_class = TranslationConfig

    def metrics(self) -> dict[str, str]:
        return {"valid_bleu": "max"} if self.config.decoding.valid_bleu_sentences else {}

    def load_data(self) -> TranslationData:
        return load_data(self.config.data)

    def split_sizes(self, data: TranslationData) -> dict[str, Any]:
        return {"train": len(data.train), "valid": len(data.valid), "test": len(data.test),
                "src_vocab": len(data.src_vocab), "tgt_vocab": len(data.tgt_vocab)}  # fmt: skip

    def build_model(self, data: TranslationData) -> Module:
        if getattr(self.config.model, "share_embeddings", False) and data.src_vocab.itos != data.tgt_vocab.itos:
            raise ValueError("model.share_embeddings needs one vocabulary for both sides: set data.joint_vocab: true")
        return self._build(len(data.src_vocab), len(data.tgt_vocab))

    def _build(self, src_vocab_size: int, tgt_vocab_size: int) -> Module:
        cfg = self.config
        cls = model_type_of(cfg.model).model
        return cls(cfg.model, src_vocab_size, tgt_vocab_size, rng=np.random.default_rng(cfg.training.seed))

    def batches(self, data: TranslationData) -> tuple[Any, Any]:
        d = self.config.data
        train = BucketBatcher(_short_enough(data.train, d.max_train_len), d.max_tokens, seed=d.seed,
                              max_batch_size=d.max_batch_size)  # fmt: skip
        return train, batches_in_order(data.valid, self.config.decoding.batch_size)

    def _translator(self, model: Module, data: TranslationData) -> Translator:
        return Translator(model, data.src_vocab, data.tgt_vocab, data.src_tokenizer, data.tgt_tokenizer,
                          self.config.decoding)  # fmt: skip

    def validate(self, model: Module, data: TranslationData, comm: Any) -> dict[str, float]:
        n = min(self.config.decoding.valid_bleu_sentences, len(data.valid))
        if not n:
            return {}
        translator = self._translator(model, data)
        hyps = translator.decode_ids(data.valid.src[:n], comm=comm, method="greedy")
        if hyps is None:  # a rank other than 0: rank 0 scores
            return {}
        texts = [translator.detokenize(h[0].tokens) if h else "" for h in hyps]
        return {"valid_bleu": translation_scores(texts, data.valid.tgt_text[:n]).bleu}

    def model_files(self, data: TranslationData) -> dict[str, Writer]:
        return self._translator(None, data).files()

    def load(self, model_dir: Path) -> Translator:
        src_vocab = Vocab.load(model_dir / VOCAB_FILES[0])
        tgt_vocab = Vocab.load(model_dir / VOCAB_FILES[1])
        src_tok, tgt_tok = load_tokenizers(model_dir / VOCAB_FILES[2])
        model = self._build(len(src_vocab), len(tgt_vocab))
        checkpoint.load_weights(model_dir, model)
        model.eval()
        return Translator(model, src_vocab, tgt_vocab, src_tok, tgt_tok, self.config.decoding)

    def evaluate(self, trained: Translator, split: str, out_dir: Path | None, comm: Any,
                 **options: Any) -> dict[str, Any] | None:  # fmt: skip
        """options: decoding options; the processes of comm share the decoding (the scores on rank 0)."""
        sources, references = split_pairs(self.config.data, split)
        return score_translator(trained, sources, references, prefix=f"{split}_", comm=comm, **options)


def score_translator(trained: Translator, sources: list[str], references: list[str], *, prefix: str = "",
                     comm: Any = None, **options: Any) -> dict[str, Any] | None:  # fmt: skip
    """BLEU (cased, 13a), lowercased BLEU (13a and intl), chrF and reference perplexity (not for an ensemble) of
    `trained` on aligned sentences. With comm, the processes share the decoding and the loss; rank 0 gets the
    scores, the others None."""
    from enc2dec.decoding.ensemble import Ensemble

    scores = trained.score(sources, references, comm=comm, **options)
    if isinstance(trained.model, Ensemble):  # its loss would need a teacher-forced pass of every member
        return None if scores is None else {**scores.as_dict(prefix), "bleu_signature": scores.bleu_signature,
                                            "sentences": len(sources)}  # fmt: skip
    tgt_tok, tgt_vocab = trained.tgt_tokenizer, trained.tgt_vocab
    pairs = encode_pairs(TextPairs(sources, references), trained.src_tokenizer, tgt_tok, trained.src_vocab, tgt_vocab)
    keep = [i for i in range(len(pairs)) if pairs.src[i] and pairs.tgt[i]]
    pick = lambda xs: [xs[i] for i in keep]  # noqa: E731
    kept = ParallelText(pick(pairs.src), pick(pairs.tgt), pick(pairs.src_text), pick(pairs.tgt_text))
    nll = test_nll(trained.model, kept, trained.decoding.batch_size, comm)
    if scores is None:
        return None
    return {**scores.as_dict(prefix), f"{prefix}ppl": perplexity(nll), "bleu_signature": scores.bleu_signature,
            "sentences": len(sources)}  # fmt: skip

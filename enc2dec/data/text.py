"""Parallel text: reading aligned files, encoding with tokenizer + vocabulary, and `TranslationData`, the one
structure every translation task returns (Multi30k, Tatoeba, the generated reverse and dates tasks).

Reading rules (`read_aligned`, `read_eval_pairs`, `read_tsv_pairs`): lines are read by `enc2dec.data.lines`
(`read_lines`, re-exported here: UTF-8, BOM and CR/CRLF line ends dropped, gzip'd when the name ends in .gz,
invalid UTF-8 a ValueError naming file and line); each line is stripped of surrounding whitespace. For training,
a pair with an empty side, or a side longer than `max_len_chars`, is skipped; the counts are logged (logging,
INFO) and recorded in `TextPairs.n_empty` / `n_too_long`. For evaluation (`read_eval_pairs`) every pair is kept.
Aligned files with different line counts, an empty file, or nothing left after skipping raise ValueError naming
the files.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from enc2dec.data.lines import iter_lines, read_lines  # noqa: F401  (the one way to read lines, re-exported)
from enc2dec.data.tokenize import SentencePieceTokenizer, Tokenizer, WordTokenizer
from enc2dec.data.vocab import Vocab

log = logging.getLogger(__name__)


@dataclass
class TextPairs:
    """Raw sentence pairs as read; line_numbers are the 1-based lines they came from."""

    src: list[str]
    tgt: list[str]
    line_numbers: list[int] = field(default_factory=list)
    n_empty: int = 0  # pairs skipped because a side was empty
    n_too_long: int = 0  # pairs skipped because a side was longer than max_len_chars

    def __len__(self) -> int:
        return len(self.src)

    def subset(self, index: Sequence[int]) -> TextPairs:
        """The pairs at `index` (skip counts are not carried over)."""
        return TextPairs(
            [self.src[i] for i in index],
            [self.tgt[i] for i in index],
            [self.line_numbers[i] for i in index] if self.line_numbers else [],
        )


@dataclass
class ParallelText:
    """Encoded pairs: src[i], tgt[i] are token-id lists without specials; src_text/tgt_text the raw sentences
    (tgt_text is the reference for BLEU). Batch it with batching.BucketBatcher or batching.batches_in_order."""

    src: list[list[int]]
    tgt: list[list[int]]
    src_text: list[str]
    tgt_text: list[str]

    def __post_init__(self) -> None:
        n = len(self.src)
        if not len(self.tgt) == len(self.src_text) == len(self.tgt_text) == n:
            raise ValueError(
                f"ParallelText: lengths differ: src {n}, tgt {len(self.tgt)}, src_text {len(self.src_text)}, "
                f"tgt_text {len(self.tgt_text)}"
            )

    def __len__(self) -> int:
        return len(self.src)

    def __getitem__(self, i: int) -> tuple[list[int], list[int]]:
        return self.src[i], self.tgt[i]


class Vocabs(NamedTuple):
    src: Vocab
    tgt: Vocab


@dataclass
class TranslationData:
    """What a translation task returns: three encoded splits, the vocabularies (built on train only) and the
    tokenizers, so that every model, the trainer, decoding and BLEU take one path."""

    train: ParallelText
    valid: ParallelText
    test: ParallelText
    src_vocab: Vocab
    tgt_vocab: Vocab
    src_tokenizer: Tokenizer
    tgt_tokenizer: Tokenizer
    name: str = ""

    @property
    def vocabs(self) -> Vocabs:
        """(src_vocab, tgt_vocab), also as .src / .tgt."""
        return Vocabs(self.src_vocab, self.tgt_vocab)

    def encode_src(self, text: str) -> list[int]:
        """A raw source sentence -> token ids (no specials), as the splits hold them."""
        return self.src_vocab.encode(self.src_tokenizer.tokenize(text))

    def decode_tgt(self, ids: Sequence[int] | np.ndarray) -> str:
        """ids: (T,) target ids (may start with BOS; stops at EOS) -> detokenized text, for BLEU."""
        return self.tgt_tokenizer.detokenize(self.tgt_vocab.decode(ids))

    def __repr__(self) -> str:
        return (
            f"TranslationData({self.name!r}: train {len(self.train)}, valid {len(self.valid)}, test "
            f"{len(self.test)}; V_src {len(self.src_vocab)}, V_tgt {len(self.tgt_vocab)})"
        )


# -- reading ----------------------------------------------------------------------------------------------------
def _read_file_lines(path: Path) -> list[str]:
    lines = read_lines(path)
    if not lines:
        raise ValueError(f"{path}: no sentences (the file is empty)")
    return lines


def _keep(pairs: TextPairs, number: int, src: str, tgt: str, max_len_chars: int | None, keep_empty: bool) -> None:
    src, tgt = src.strip(), tgt.strip()
    if (not src or not tgt) and not keep_empty:
        pairs.n_empty += 1
    elif max_len_chars is not None and (len(src) > max_len_chars or len(tgt) > max_len_chars):
        pairs.n_too_long += 1
    else:
        pairs.src.append(src)
        pairs.tgt.append(tgt)
        pairs.line_numbers.append(number)


def _report_skips(pairs: TextPairs, where: str, max_len_chars: int | None) -> None:
    if pairs.n_empty or pairs.n_too_long:
        log.info(
            "%s: kept %d pairs; skipped %d with an empty side and %d with a side over %s characters",
            where,
            len(pairs),
            pairs.n_empty,
            pairs.n_too_long,
            max_len_chars,
        )
    if not pairs.src:
        raise ValueError(f"{where}: no pairs left after skipping {pairs.n_empty + pairs.n_too_long}")


def read_aligned(
    src_path: str | Path, tgt_path: str | Path, max_len_chars: int | None = 1000, *, keep_empty: bool = False
) -> TextPairs:
    """Two files aligned line by line (line i of one translates line i of the other) -> TextPairs.

    For training: pairs with an empty side (unless keep_empty) or a side over max_len_chars (unless None) are
    skipped, counted and logged. For evaluation use `read_eval_pairs`, which keeps every pair. Either way, files
    with different line counts or an empty file raise ValueError naming the files."""
    src_path, tgt_path = Path(src_path), Path(tgt_path)
    src_lines, tgt_lines = _read_file_lines(src_path), _read_file_lines(tgt_path)
    if len(src_lines) != len(tgt_lines):
        raise ValueError(
            f"read_aligned: {src_path} has {len(src_lines)} lines but {tgt_path} has {len(tgt_lines)}; "
            f"the files must be aligned line by line"
        )
    pairs = TextPairs([], [])
    for number, (s, t) in enumerate(zip(src_lines, tgt_lines), start=1):
        _keep(pairs, number, s, t, max_len_chars, keep_empty)
    _report_skips(pairs, f"read_aligned({src_path}, {tgt_path})", max_len_chars)
    return pairs


def read_eval_pairs(src_path: str | Path, ref_path: str | Path) -> TextPairs:
    """Source and reference files for scoring: every pair kept, in order (an empty side is scored as it is: an
    empty source translates to an empty hypothesis); only surrounding whitespace is stripped. Different line
    counts or an empty file raise ValueError naming the files."""
    return read_aligned(src_path, ref_path, max_len_chars=None, keep_empty=True)


def read_tsv_pairs(
    path: str | Path, src_column: int = 0, tgt_column: int = 1, max_len_chars: int | None = 1000
) -> TextPairs:
    """Tab-separated lines (e.g. `english<TAB>french<TAB>attribution`) -> TextPairs of two columns.

    A blank line counts as empty; a non-blank line with too few columns raises ValueError naming file and line.
    """
    path = Path(path)
    need = max(src_column, tgt_column) + 1
    pairs = TextPairs([], [])
    for number, line in enumerate(_read_file_lines(path), start=1):
        if not line.strip():
            pairs.n_empty += 1
            continue
        cols = line.split("\t")
        if len(cols) < need:
            raise ValueError(f"{path}: line {number}: expected at least {need} tab-separated columns, got {len(cols)}")
        _keep(pairs, number, cols[src_column], cols[tgt_column], max_len_chars, keep_empty=False)
    _report_skips(pairs, f"read_tsv_pairs({path})", max_len_chars)
    return pairs


# -- encoding ---------------------------------------------------------------------------------------------------
def encode_pairs(
    pairs: TextPairs, src_tokenizer: Tokenizer, tgt_tokenizer: Tokenizer, src_vocab: Vocab, tgt_vocab: Vocab
) -> ParallelText:
    """Tokenize and map to ids (unknown tokens -> UNK); the raw strings are kept beside the ids."""
    src = [src_vocab.encode(src_tokenizer.tokenize(s)) for s in pairs.src]
    tgt = [tgt_vocab.encode(tgt_tokenizer.tokenize(t)) for t in pairs.tgt]
    return ParallelText(src, tgt, list(pairs.src), list(pairs.tgt))


def make_tokenizers(
    spec: str | Tokenizer | tuple[Tokenizer, Tokenizer],
    src_lang: str | None,
    tgt_lang: str | None,
    train: TextPairs,
    *,
    lowercase: bool = False,
    sp_vocab_size: int = 8000,
    sp_model_type: str = "bpe",
    joint: bool = False,
) -> tuple[Tokenizer, Tokenizer]:
    """(src, tgt) tokenizers from a loader's `tokenizer=` argument: "word" (a WordTokenizer per language),
    "sentencepiece" (one model per side, trained on `train` only; joint: one model trained on both sides, for
    both), one Tokenizer for both sides, or a pair."""
    if isinstance(spec, str):
        if spec == "word":
            return WordTokenizer(lowercase, src_lang), WordTokenizer(lowercase, tgt_lang)
        if spec == "sentencepiece":
            kw = {"vocab_size": sp_vocab_size, "model_type": sp_model_type, "lowercase": lowercase}
            if joint:
                both = SentencePieceTokenizer.train([*train.src, *train.tgt], **kw)
                return both, both
            return SentencePieceTokenizer.train(train.src, **kw), SentencePieceTokenizer.train(train.tgt, **kw)
    elif isinstance(spec, tuple) and len(spec) == 2 and all(isinstance(t, Tokenizer) for t in spec):
        return spec
    elif isinstance(spec, Tokenizer):
        return spec, spec
    raise ValueError(f"tokenizer must be 'word', 'sentencepiece', a Tokenizer or a (src, tgt) pair, got {spec!r}")


def build_translation_data(
    train: TextPairs,
    valid: TextPairs,
    test: TextPairs,
    tokenizer: str | Tokenizer | tuple[Tokenizer, Tokenizer] = "word",
    *,
    src_lang: str | None = None,
    tgt_lang: str | None = None,
    lowercase: bool = False,
    min_freq: int = 1,
    max_size: int | None = None,
    sp_vocab_size: int = 8000,
    sp_model_type: str = "bpe",
    joint_vocab: bool = False,
    name: str = "",
) -> TranslationData:
    """Make the tokenizers (`make_tokenizers`: sentencepiece models learn from train only), tokenize the three
    splits, build both vocabularies on train only (min_freq, max_size as in Vocab.build), encode every split.
    joint_vocab: one vocabulary for both sides, built on both (and one sentencepiece model trained on both), as
    tied source and target embeddings need."""
    src_tokenizer, tgt_tokenizer = make_tokenizers(
        tokenizer, src_lang, tgt_lang, train, lowercase=lowercase, sp_vocab_size=sp_vocab_size,
        sp_model_type=sp_model_type, joint=joint_vocab,
    )  # fmt: skip
    src_tokens = [src_tokenizer.tokenize(s) for s in train.src]
    tgt_tokens = [tgt_tokenizer.tokenize(t) for t in train.tgt]
    if joint_vocab:
        src_vocab = tgt_vocab = Vocab.build([*src_tokens, *tgt_tokens], min_freq=min_freq, max_size=max_size)
    else:
        src_vocab = Vocab.build(src_tokens, min_freq=min_freq, max_size=max_size)
        tgt_vocab = Vocab.build(tgt_tokens, min_freq=min_freq, max_size=max_size)
    train_text = ParallelText(
        [src_vocab.encode(t) for t in src_tokens],
        [tgt_vocab.encode(t) for t in tgt_tokens],
        list(train.src),
        list(train.tgt),
    )
    return TranslationData(
        train=train_text,
        valid=encode_pairs(valid, src_tokenizer, tgt_tokenizer, src_vocab, tgt_vocab),
        test=encode_pairs(test, src_tokenizer, tgt_tokenizer, src_vocab, tgt_vocab),
        src_vocab=src_vocab,
        tgt_vocab=tgt_vocab,
        src_tokenizer=src_tokenizer,
        tgt_tokenizer=tgt_tokenizer,
        name=name,
    )

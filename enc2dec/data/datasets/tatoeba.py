"""Tatoeba English-French pairs (CC-BY 2.0 France; attribution kept on each line of the file).

`tatoeba/eng-fra-5k.txt.gz`: the first 5,000 lines (shortest first) of the tab-separated `fra.txt` that
manythings.org publishes for Anki (fra-eng.zip): `english<TAB>french<TAB>attribution`. The list upstream grows
over time, so this subset has no download URL of its own: it is read from the data folder (its sha256 is checked
when the file is the known one), and `filename=` points the loader at another list of the same format.

The split is deterministic and grouped by English sentence: all translations of one English sentence land in
the same split (the list has many, e.g. "Go." -> "Va !", "Marche.", "Bouge !"), so nothing tested was trained on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from enc2dec.data.paths import check_sha256, ensure_file
from enc2dec.data.text import TextPairs, TranslationData, build_translation_data, read_tsv_pairs
from enc2dec.data.tokenize import Tokenizer

FILENAME = "eng-fra-5k.txt.gz"
SHA256 = "a7a310c044e1a3bda3589f80dd26e89704552b8a89eec17f0790d4b06c1f8eb8"
HINT = (
    "It is the first 5,000 lines of fra.txt from https://www.manythings.org/anki/fra-eng.zip, gzip'd "
    "(english<TAB>french<TAB>attribution)"
)


def split_groups(keys: list[str], valid_size: int, test_size: int, seed: int) -> tuple[list[int], list[int], list[int]]:
    """Indices (train, valid, test): whole groups of equal keys, in random group order, go to test first, then
    valid, until each holds at least its size; the rest is train. Each list is sorted."""
    groups: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    order = np.random.default_rng(seed).permutation(len(groups))
    members = list(groups.values())
    test: list[int] = []
    valid: list[int] = []
    train: list[int] = []
    for g in order.tolist():
        target = test if len(test) < test_size else valid if len(valid) < valid_size else train
        target.extend(members[g])
    return sorted(train), sorted(valid), sorted(test)


def read_tatoeba(data_dir: str | Path | None = None, filename: str = FILENAME, max_len_chars: int = 1000) -> TextPairs:
    """English -> French raw pairs from `tatoeba/<filename>` in the data folder."""
    path = ensure_file("tatoeba", filename, None, None, data_dir, hint=HINT)
    if filename == FILENAME:
        check_sha256(path, SHA256)
    return read_tsv_pairs(path, 0, 1, max_len_chars=max_len_chars)


def load_tatoeba(
    data_dir: str | Path | None = None,
    *,
    reverse: bool = False,
    filename: str = FILENAME,
    tokenizer: str | Tokenizer | tuple[Tokenizer, Tokenizer] = "word",
    lowercase: bool = False,
    min_freq: int = 1,
    max_size: int | None = None,
    valid_size: int = 500,
    test_size: int = 500,
    seed: int = 0,
    sp_vocab_size: int = 4000,
    sp_model_type: str = "bpe",
) -> TranslationData:
    """Tatoeba as TranslationData, English -> French (French -> English with reverse=True).

    valid_size / test_size: at least that many pairs each (whole English-sentence groups, see the module
    docstring); the split depends only on the file and seed. Vocabularies are built on train only.
    """
    pairs = read_tatoeba(data_dir, filename)
    train, valid, test = (pairs.subset(ix) for ix in split_groups(pairs.src, valid_size, test_size, seed))
    if reverse:
        train, valid, test = (TextPairs(p.tgt, p.src, p.line_numbers) for p in (train, valid, test))
    src_lang, tgt_lang = ("fr", "en") if reverse else ("en", "fr")
    return build_translation_data(
        train,
        valid,
        test,
        tokenizer,
        src_lang=src_lang,
        tgt_lang=tgt_lang,
        lowercase=lowercase,
        min_freq=min_freq,
        max_size=max_size,
        sp_vocab_size=sp_vocab_size,
        sp_model_type=sp_model_type,
        name=f"tatoeba-{src_lang}-{tgt_lang}",
    )

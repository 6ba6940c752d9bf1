"""Multi30k task 1 (Elliott et al., 2016): English image captions with German and French translations.

train 29,000 pairs, val 1,014, test_2016_flickr 1,000; raw, cased, untokenised, one gzip'd file per split and
language, aligned line by line. Fetched from the multi30k/dataset repository's data/task1/raw/ on first use.
"""

from __future__ import annotations

from pathlib import Path

from enc2dec.data.paths import ensure_file
from enc2dec.data.text import TextPairs, TranslationData, build_translation_data, read_aligned
from enc2dec.data.tokenize import Tokenizer

URL = "https://raw.githubusercontent.com/multi30k/dataset/master/data/task1/raw/{name}"
LANGS = ("de", "en", "fr")
SPLITS = ("train", "val", "test_2016_flickr")
SHA256 = {
    "train.de.gz": "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6",
    "train.en.gz": "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f",
    "train.fr.gz": "622e75069e9f4c577425c4f277116ce66e63a2401c0a2312d90073cb12379a3c",
    "val.de.gz": "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a",
    "val.en.gz": "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28",
    "val.fr.gz": "ca3106f1a72390591d25f6c45cb4cd39dec4cd3f123e099748a3ce5256c160e9",
    "test_2016_flickr.de.gz": "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8",
    "test_2016_flickr.en.gz": "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9",
    "test_2016_flickr.fr.gz": "6d326e188d259fb1d04ac19eae3af956559b3a0b93d7635e56c90987c40c8b90",
}


def multi30k_file(split: str, lang: str, data_dir: str | Path | None = None) -> Path:
    """Path of `multi30k/<split>.<lang>.gz`, downloaded (sha256-checked) if missing."""
    if split not in SPLITS or lang not in LANGS:
        raise ValueError(
            f"multi30k_file: split must be one of {SPLITS} and lang one of {LANGS}, got {split!r}, {lang!r}"
        )
    name = f"{split}.{lang}.gz"
    return ensure_file("multi30k", name, URL.format(name=name), SHA256[name], data_dir)


def read_multi30k(
    split: str,
    src_lang: str = "de",
    tgt_lang: str = "en",
    data_dir: str | Path | None = None,
    max_len_chars: int = 1000,
) -> TextPairs:
    """The raw sentence pairs of one split."""
    return read_aligned(
        multi30k_file(split, src_lang, data_dir), multi30k_file(split, tgt_lang, data_dir), max_len_chars=max_len_chars
    )


def load_multi30k(
    src_lang: str = "de",
    tgt_lang: str = "en",
    data_dir: str | Path | None = None,
    *,
    tokenizer: str | Tokenizer | tuple[Tokenizer, Tokenizer] = "word",
    lowercase: bool = False,
    min_freq: int = 2,
    max_size: int | None = None,
    max_len_chars: int = 1000,
    max_train: int | None = None,
    sp_vocab_size: int = 8000,
    sp_model_type: str = "bpe",
) -> TranslationData:
    """Multi30k as TranslationData: train / valid (val) / test (test_2016_flickr), vocabularies built on train.

    tokenizer: "word" (WordTokenizer per language), "sentencepiece" (one model per language trained on train,
    sp_vocab_size, sp_model_type), a Tokenizer for both sides, or a (src, tgt) pair. lowercase applies to the
    built-in tokenizers; raw references (tgt_text) stay cased. max_train keeps the first pairs of train only.
    """
    if src_lang == tgt_lang:
        raise ValueError(f"load_multi30k: src_lang and tgt_lang must differ, got {src_lang!r} twice")
    train, valid, test = (read_multi30k(s, src_lang, tgt_lang, data_dir, max_len_chars) for s in SPLITS)
    if max_train is not None:
        train = train.subset(range(min(max_train, len(train))))
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
        name=f"multi30k-{src_lang}-{tgt_lang}",
    )

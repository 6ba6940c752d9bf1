"""Token <-> id mapping with four fixed specials: <pad>=0, <unk>=1, <s>=2, </s>=3.

Saved as JSON ({"format": "enc2dec.vocab", "version": 1, "tokens": [...]}, the specials first), written to a
temporary name and renamed (enc2dec.files.atomic_write), so a crash never leaves half a file.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from enc2dec.data.lines import read_json
from enc2dec.files import atomic_write
from enc2dec.specials import BOS_ID, EOS_ID, PAD_ID, SPECIAL_TOKENS, UNK_ID

_FORMAT = "enc2dec.vocab"
_VERSION = 1


class Vocab:
    """tokens: the non-special tokens in id order; ids 0-3 are the specials, so token i has id i + 4."""

    PAD, UNK, BOS, EOS = PAD_ID, UNK_ID, BOS_ID, EOS_ID
    SPECIALS = SPECIAL_TOKENS

    def __init__(self, tokens: Iterable[str] = ()):
        self.itos: list[str] = list(self.SPECIALS)
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.itos)}
        for tok in tokens:
            if not isinstance(tok, str):
                raise TypeError(f"Vocab: tokens must be str, got {type(tok).__name__} ({tok!r})")
            if tok in self.stoi:
                raise ValueError(f"Vocab: token {tok!r} given twice (or it is a special)")
            self.stoi[tok] = len(self.itos)
            self.itos.append(tok)

    @classmethod
    def build(cls, token_lists: Iterable[Sequence[str]], min_freq: int = 1, max_size: int | None = None) -> Vocab:
        """Count tokens; keep those seen >= min_freq times, most frequent first, ties by token string.

        max_size caps len(vocab), the 4 specials included (so it is the model's V). Deterministic.
        """
        if min_freq < 1:
            raise ValueError(f"Vocab.build: min_freq must be >= 1, got {min_freq}")
        if max_size is not None and max_size < len(cls.SPECIALS):
            raise ValueError(f"Vocab.build: max_size must be >= {len(cls.SPECIALS)} (the specials), got {max_size}")
        counts: Counter[str] = Counter()
        for tokens in token_lists:
            counts.update(tokens)
        for special in cls.SPECIALS:  # a literal "<unk>" in the text maps to the special, not to a second entry
            counts.pop(special, None)
        kept = sorted((t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[: max_size - len(cls.SPECIALS)]
        return cls(kept)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        """The id of `token`, UNK if unknown."""
        return self.stoi.get(token, self.UNK)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.itos == other.itos

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)})"

    def encode(self, tokens: Sequence[str], add_bos: bool = False, add_eos: bool = False) -> list[int]:
        """tokens -> ids (unknown tokens -> UNK), optionally framed by BOS ... EOS."""
        ids = [self.stoi.get(t, self.UNK) for t in tokens]
        return ([self.BOS] if add_bos else []) + ids + ([self.EOS] if add_eos else [])

    def decode(self, ids: Sequence[int] | np.ndarray, strip_specials: bool = True) -> list[str]:
        """ids: (T,) -> tokens, stopping at the first EOS. strip_specials drops <pad>, <s> and the </s>
        (an <unk> stays: it is a real prediction). Raises ValueError for an id outside [0, len)."""
        out = []
        for i in np.asarray(ids, dtype=np.int64).reshape(-1).tolist():
            if not 0 <= i < len(self.itos):
                raise ValueError(f"Vocab.decode: id {i} is outside [0, {len(self.itos)})")
            if i == self.EOS:
                if not strip_specials:
                    out.append(self.itos[i])
                break
            if strip_specials and i in (self.PAD, self.BOS):
                continue
            out.append(self.itos[i])
        return out

    # -- files ----------------------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"format": _FORMAT, "version": _VERSION, "tokens": self.itos}

    @classmethod
    def from_dict(cls, data: object, where: str = "Vocab.from_dict") -> Vocab:
        if not isinstance(data, dict) or data.get("format") != _FORMAT or not isinstance(data.get("tokens"), list):
            raise ValueError(f"{where}: expected a JSON object with format {_FORMAT!r} and a 'tokens' list")
        version = data.get("version")
        if type(version) is not int or version != _VERSION:  # not True, not 1.0
            raise ValueError(f"{where}: unsupported version {version!r}, expected {_VERSION}")
        tokens = data["tokens"]
        if tuple(tokens[: len(cls.SPECIALS)]) != cls.SPECIALS:
            raise ValueError(f"{where}: the first tokens must be {list(cls.SPECIALS)}, got {tokens[:4]}")
        try:
            return cls(tokens[len(cls.SPECIALS) :])
        except (TypeError, ValueError) as e:
            raise ValueError(f"{where}: {e}") from e

    def save(self, path: str | Path) -> None:
        """Write JSON atomically (enc2dec.files.atomic_write): a temporary file in the same folder, then renamed."""
        text = json.dumps(self.to_dict(), ensure_ascii=False)
        atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))

    @classmethod
    def load(cls, path: str | Path) -> Vocab:
        """Read a file written by `save`. A missing file raises FileNotFoundError, invalid UTF-8 or JSON and a
        malformed vocabulary ValueError, each naming the file and the problem."""
        return cls.from_dict(read_json(path), where=f"Vocab.load: {path}")

"""Generated translation tasks with exact answers: no download, seconds to learn, same TranslationData as the
real loaders (JoeyNMT's reverse task; the date-normalisation task of many seq2seq tutorials).

- `reverse`: a sequence of symbols "3 1 4" -> "4 1 3"; word tokens, the same vocabulary on both sides.
- `dates`: a human-written date in one of 15 formats -> ISO "YYYY-MM-DD"; character tokens.

Valid and test examples are drawn first; training examples equal to one of them are redrawn, so the held-out
splits are unseen. Everything is fixed by `seed` (one np.random.Generator, no global state).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np

from enc2dec.data.text import ParallelText, TranslationData
from enc2dec.data.tokenize import CharTokenizer, Tokenizer, WordTokenizer
from enc2dec.data.vocab import Vocab

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
FIRST_DAY, LAST_DAY = dt.date(1950, 1, 1), dt.date(2049, 12, 31)  # two-digit years: 50-99 -> 19yy, 00-49 -> 20yy


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _month(d: dt.date) -> str:
    return MONTHS[d.month - 1]


def _weekday(d: dt.date) -> str:
    return WEEKDAYS[d.weekday()]


# Slashes and dots are day first (03/04/99 is 3 April 1999): one convention, so every answer is exact.
DATE_FORMATS: tuple[Callable[[dt.date], str], ...] = (
    lambda d: f"{d.day} {_month(d)} {d.year}",  # 3 March 1999
    lambda d: f"{d.day:02d}/{d.month:02d}/{d.year % 100:02d}",  # 03/03/99
    lambda d: f"{d.day:02d}/{d.month:02d}/{d.year}",  # 03/03/1999
    lambda d: f"{_month(d)} {_ordinal(d.day)}, {d.year}",  # March 3rd, 1999
    lambda d: f"{_weekday(d)[:3]} {d.day} {_month(d)[:3]} {d.year}",  # Wed 3 Mar 1999
    lambda d: f"{d.year}-{d.month}-{d.day}",  # 1999-3-3
    lambda d: f"{d.day}.{d.month}.{d.year}",  # 3.3.1999
    lambda d: f"{_weekday(d)}, {_month(d)} {d.day}, {d.year}",  # Wednesday, March 3, 1999
    lambda d: f"the {_ordinal(d.day)} of {_month(d)} {d.year}",  # the 3rd of March 1999
    lambda d: f"{_month(d)[:3]} {d.day}, {d.year}",  # Mar 3, 1999
    lambda d: f"{d.day} {_month(d)[:3].lower()} {d.year % 100:02d}",  # 3 mar 99
    lambda d: f"{d.year}/{d.month:02d}/{d.day:02d}",  # 1999/03/03
    lambda d: f"{d.day:02d}{_month(d)[:3].upper()}{d.year}",  # 03MAR1999
    lambda d: f"{_weekday(d).upper()} {d.day} {_month(d).upper()} {d.year}",  # WEDNESDAY 3 MARCH 1999
    lambda d: f"{_month(d).lower()} {d.day} {d.year}",  # march 3 1999
)


def format_date(date: dt.date, style: int) -> str:
    """The date written in DATE_FORMATS[style]."""
    return DATE_FORMATS[style](date)


_Splits = tuple[list[tuple[str, str]], list[tuple[str, str]], list[tuple[str, str]]]  # train, valid, test


def _draw_splits(draw: Callable[[], tuple[str, str]], n_train: int, n_valid: int, n_test: int, where: str) -> _Splits:
    """Held-out pairs first, then training pairs whose source is not held out (duplicates within train allowed)."""
    for name, n in (("n_train", n_train), ("n_valid", n_valid), ("n_test", n_test)):
        if n < 0:
            raise ValueError(f"{where}: {name} must be >= 0, got {n}")
    held = [draw() for _ in range(n_valid + n_test)]
    held_src = {s for s, _ in held}
    train: list[tuple[str, str]] = []
    tries = 0
    while len(train) < n_train:
        tries += 1
        if tries > 100 * n_train + 1000:
            raise ValueError(
                f"{where}: too few distinct examples to draw {n_train} unseen training pairs; make the task larger"
            )
        pair = draw()
        if pair[0] not in held_src:
            train.append(pair)
    return train, held[:n_valid], held[n_valid:]


def _encode(pairs: list[tuple[str, str]], tok: tuple[Tokenizer, Tokenizer], vocab: tuple[Vocab, Vocab]) -> ParallelText:
    src = [vocab[0].encode(tok[0].tokenize(s)) for s, _ in pairs]
    tgt = [vocab[1].encode(tok[1].tokenize(t)) for _, t in pairs]
    return ParallelText(src, tgt, [s for s, _ in pairs], [t for _, t in pairs])


def _assemble(
    splits: _Splits, tokenizers: tuple[Tokenizer, Tokenizer], vocabs: tuple[Vocab, Vocab], name: str
) -> TranslationData:
    train, valid, test = (_encode(s, tokenizers, vocabs) for s in splits)
    return TranslationData(train, valid, test, vocabs[0], vocabs[1], tokenizers[0], tokenizers[1], name=name)


def reverse(
    n_train: int, n_test: int, vocab_size: int, max_len: int, seed: int, *, n_valid: int | None = None, min_len: int = 1
) -> TranslationData:
    """Sequences of symbols "0" ... str(vocab_size - 1), lengths uniform in [min_len, max_len] -> the same reversed.

    vocab_size counts the symbols; each Vocab has vocab_size + 4 entries (the specials first), the same on both
    sides. n_valid defaults to n_test.
    """
    if vocab_size < 1 or not 1 <= min_len <= max_len:
        raise ValueError(
            f"reverse: need vocab_size >= 1 and 1 <= min_len <= max_len, got vocab_size={vocab_size}, "
            f"min_len={min_len}, max_len={max_len}"
        )
    rng = np.random.default_rng(seed)

    def draw() -> tuple[str, str]:
        symbols = rng.integers(0, vocab_size, size=int(rng.integers(min_len, max_len + 1))).tolist()
        return " ".join(map(str, symbols)), " ".join(map(str, symbols[::-1]))

    splits = _draw_splits(draw, n_train, n_test if n_valid is None else n_valid, n_test, "reverse")
    vocab = Vocab(str(i) for i in range(vocab_size))
    tok = WordTokenizer()
    return _assemble(splits, (tok, tok), (vocab, vocab), "reverse")


def _date_alphabet() -> list[str]:
    """Every character any format can write (one leap year covers all days, months and weekdays)."""
    chars = set("0123456789")
    for k in range(366):
        day = dt.date(2000, 1, 1) + dt.timedelta(days=k)
        for fmt in DATE_FORMATS:
            chars.update(fmt(day))
    return sorted(chars)


def dates(n_train: int, n_test: int, seed: int, *, n_valid: int | None = None) -> TranslationData:
    """Dates between 1950-01-01 and 2049-12-31 in one of DATE_FORMATS (drawn uniformly) -> ISO "1999-03-03".

    Character tokens (spaces included); the source vocabulary is every character the formats use, the target one
    the digits and "-", both fixed whatever the sample. n_valid defaults to n_test.
    """
    rng = np.random.default_rng(seed)
    first, span = FIRST_DAY.toordinal(), LAST_DAY.toordinal() - FIRST_DAY.toordinal() + 1

    def draw() -> tuple[str, str]:
        day = dt.date.fromordinal(first + int(rng.integers(span)))
        return format_date(day, int(rng.integers(len(DATE_FORMATS)))), day.isoformat()

    splits = _draw_splits(draw, n_train, n_test if n_valid is None else n_valid, n_test, "dates")
    tok = CharTokenizer()
    vocabs = (Vocab(_date_alphabet()), Vocab(list("-0123456789")))
    return _assemble(splits, (tok, tok), vocabs, "dates")

"""Tokenizers behind one small interface: words (reversible), characters, and SentencePiece subwords.

`WordTokenizer` splits punctuation from words and keeps numbers (3.5, 1,000, 10:30), hyphenated words (T-shirt),
initialisms (U.S., e.g.) and a few abbreviations (Mr., Dr., etc.) whole. Apostrophes follow two conventions:
French elision splits after the apostrophe (l'homme -> l' homme, qu'il -> qu' il) and English clitics split
before it, Penn-Treebank style (don't -> do n't, man's -> man 's, we'll -> we 'll). Other apostrophes stay inside
the word (aujourd'hui, O'Brien).

Reversibility: `detokenize` glues tokens by fixed default rules (closing punctuation and clitics attach to the
left, opening brackets, currency signs and elided articles to the right, straight quotes alternate open/close).
Wherever the original spacing differs from that default, `tokenize` prefixes the token with MARK ("\uffed"):
a marked token has the *opposite* spacing before it from the default. So detokenize(tokenize(s)) == s for any
s with single spaces and no leading or trailing space (other whitespace, such as the narrow no-break space of
French typography, "Va\u202f!", is kept inside the next token). `lang="fr"` or `"de"` only changes the
defaults, so fewer tokens need a mark (French spaces before ! ? ; : », German quotes „ ... “).

`SentencePieceTokenizer` wraps a trained sentencepiece model (BPE or unigram) held as bytes, so `to_config()` is
self-contained JSON that can be saved beside a model. `tokenizer_from_config` rebuilds any of them.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from enc2dec.data.lines import iter_lines, open_binary, read_bytes, read_json

MARK = "\uffed"  # ￭: "the spacing before this token is the opposite of the default"

ELISIONS = frozenset("l d j m n s t c qu jusqu lorsqu puisqu quoiqu presqu".split())
CLITICS = frozenset("'s 're 've 'll 'd 'm n't".split())  # compared after mapping ’ to '
ABBREVIATIONS = tuple("mrs mr ms dr prof st jr sr vs etc mt ca bzw usw nr mme mlle".split())  # kept with their "."
_APOSTROPHES = "'’"
_QUOTES = frozenset({'"', "'"})  # straight quotes: open and close alternate

_PIECE = re.compile(
    r"(?P<ws>[^\S ]*)(?:"  # non-space whitespace (no-break spaces) stays with the token it precedes
    r"(?P<init>(?<![^\W_])(?:[^\W\d_]\.){2,})"  # initialisms: U.S., e.g., z.B.
    rf"|(?P<abbr>(?<![^\W_])(?i:{'|'.join(ABBREVIATIONS)})\.)"
    r"|(?P<word>[^\W_]+(?:(?:[-‐'’]|(?<=\d)[.,:](?=\d))[^\W_]+)*)"  # words, numbers, hyphenated, apostrophes
    r"|(?P<punct>(?P<p>[^\uffed])(?P=p)*|.))"  # a run of one punctuation character ("...", "!!"); MARK alone
    r"|[^\S ]+",  # trailing whitespace in a chunk
    re.DOTALL,
)


@runtime_checkable
class Tokenizer(Protocol):
    """What the rest of enc2dec uses: text <-> tokens, and a JSON-able config to rebuild the tokenizer."""

    def tokenize(self, text: str) -> list[str]: ...

    def detokenize(self, tokens: Sequence[str]) -> str: ...

    def to_config(self) -> dict[str, Any]: ...


def tokenizer_from_config(config: dict[str, Any], where: str = "tokenizer_from_config") -> Tokenizer:
    """Rebuild a tokenizer from its `to_config()` dict (dispatch on config["type"]).

    where: the file (and key) the dict came from, for messages. A malformed config raises ValueError naming it:
    not an object, an unknown type, a field of the wrong type, or a sentencepiece model that does not load."""
    kinds = {"word": WordTokenizer, "char": CharTokenizer, "sentencepiece": SentencePieceTokenizer}
    if not isinstance(config, dict):
        raise ValueError(f"{where}: expected a JSON object with a 'type', got {type(config).__name__}")
    kind = config.get("type")
    if not isinstance(kind, str) or kind not in kinds:
        raise ValueError(f"{where}: 'type' must be one of {sorted(kinds)}, got {kind!r}")
    if not isinstance(config.get("lowercase", False), bool):
        raise ValueError(f"{where}: 'lowercase' must be true or false, got {config['lowercase']!r}")
    return kinds[kind].from_config(config, where)


def load_tokenizers(path: str | Path) -> tuple[Tokenizer, Tokenizer]:
    """(src, tgt) tokenizers from a model folder's tokenizers.json ({"src": config, "tgt": config}); any problem
    (unreadable, invalid UTF-8 or JSON, a missing side, a bad config) raises an error naming the file."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object with 'src' and 'tgt', got {type(data).__name__}")
    missing = [side for side in ("src", "tgt") if side not in data]
    if missing:
        raise ValueError(f"{path}: no {' or '.join(repr(m) for m in missing)} tokenizer (keys: {sorted(data)})")
    return tokenizer_from_config(data["src"], f"{path}: src"), tokenizer_from_config(data["tgt"], f"{path}: tgt")


def tokenizers_to_dict(src: Tokenizer, tgt: Tokenizer) -> dict[str, Any]:
    """What load_tokenizers reads back: {"src": src.to_config(), "tgt": tgt.to_config()}."""
    return {"src": src.to_config(), "tgt": tgt.to_config()}


# -- words ------------------------------------------------------------------------------------------------------
def _split_apostrophes(word: str) -> list[str]:
    """l'homme -> [l', homme]; don't -> [do, n't]; man's -> [man, 's]; aujourd'hui stays whole."""
    out = []
    while True:  # French elision, possibly repeated: jusqu'à l'aube
        m = re.match(r"([^\W_]+)['’](?=[^\W_])", word)
        if not (m and m.group(1).lower() in ELISIONS):
            break
        out.append(word[: m.end()])
        word = word[m.end() :]
    low = word.lower().replace("’", "'")
    if len(word) > 3 and low.endswith("n't"):
        out += [word[:-3], word[-3:]]
        return out
    i = max(word.rfind("'"), word.rfind("’"))
    if i > 0 and "'" + low[i + 1 :] in CLITICS:
        out += [word[:i], word[i:]]
    else:
        out.append(word)
    return out


def _is_elision(tok: str) -> bool:
    return len(tok) > 1 and tok[-1] in _APOSTROPHES and tok[:-1].lower() in ELISIONS


class _Spacer:
    """The default spacing rules, applied token by token; tokenize and detokenize run the same sequence."""

    def __init__(self, lang: str | None):
        self.close = set(".,;:!?)]}%…»”’")  # no space before
        self.open = set("([{¿¡«„“‘‚$€£¥#")  # no space after
        if lang == "de":  # „Hallo“ and ‚Hallo‘
            self.open -= {"“", "‘"}
            self.close |= {"“", "‘"}
        elif lang == "fr":  # « Bonjour ! »
            self.close -= set("!?;:»")
            self.open -= {"«"}
        self.prev_opens = False
        self.started = False
        self.open_quotes: dict[str, bool] = {}

    def advance(self, tok: str) -> bool:
        """Is there, by default, a space between the previous token and `tok`? Then `tok` becomes the previous."""
        core = tok.lstrip()  # a token carrying its own (no-break) space needs no other
        if core in _QUOTES:
            closing = self.open_quotes.get(core, False)
            self.open_quotes[core] = not closing
            glue_left, opens = closing, not closing
        else:
            glue_left = (bool(core) and set(core) <= self.close) or core.lower().replace("’", "'") in CLITICS
            opens = (bool(core) and set(core) <= self.open) or _is_elision(core)
            if core == "/":  # and/or, 03/03/99
                glue_left = opens = True
        space = self.started and core == tok and not glue_left and not self.prev_opens
        self.started, self.prev_opens = True, opens
        return space


class WordTokenizer:
    """Reversible word tokenizer for English, German and French (rules in the module docstring).

    lowercase: lowercases before splitting (the round trip then holds up to case).
    lang: "de" or "fr" switch the default spacing of quotes and French punctuation; anything else: English.
    """

    def __init__(self, lowercase: bool = False, lang: str | None = None):
        self.lowercase = lowercase
        self.lang = lang

    def _pieces(self, chunk: str) -> list[str]:
        out = []
        for m in _PIECE.finditer(chunk):
            if m.group("word") and any(a in m.group("word") for a in _APOSTROPHES):
                parts = _split_apostrophes(m.group("word"))
                parts[0] = m.group("ws") + parts[0]
                out += parts
            else:
                out.append(m.group())
        return out

    def tokenize(self, text: str) -> list[str]:
        if self.lowercase:
            text = text.lower()
        spacer = _Spacer(self.lang)
        tokens: list[str] = []
        for chunk in text.split(" "):
            for j, piece in enumerate(self._pieces(chunk)):
                default = spacer.advance(piece)
                actual = j == 0 and bool(tokens)  # a space precedes the first piece of every chunk but the first
                tokens.append(piece if actual == default else MARK + piece)
        return tokens

    def detokenize(self, tokens: Sequence[str]) -> str:
        spacer = _Spacer(self.lang)
        parts: list[str] = []
        for tok in tokens:
            marked = len(tok) > 1 and tok[0] == MARK
            piece = tok[1:] if marked else tok
            if spacer.advance(piece) != marked and parts:
                parts.append(" ")
            parts.append(piece)
        return "".join(parts)

    def to_config(self) -> dict[str, Any]:
        return {"type": "word", "lowercase": self.lowercase, "lang": self.lang}

    @classmethod
    def from_config(cls, config: dict[str, Any], where: str = "WordTokenizer.from_config") -> WordTokenizer:
        lang = config.get("lang")
        if lang is not None and not isinstance(lang, str):
            raise ValueError(f"{where}: 'lang' must be a string or null, got {lang!r}")
        return cls(lowercase=bool(config.get("lowercase", False)), lang=lang)

    def __repr__(self) -> str:
        return f"WordTokenizer(lowercase={self.lowercase}, lang={self.lang!r})"


class CharTokenizer:
    """One token per character, spaces included (the dates task); detokenize is "".join."""

    def __init__(self, lowercase: bool = False):
        self.lowercase = lowercase

    def tokenize(self, text: str) -> list[str]:
        return list(text.lower() if self.lowercase else text)

    def detokenize(self, tokens: Sequence[str]) -> str:
        return "".join(tokens)

    def to_config(self) -> dict[str, Any]:
        return {"type": "char", "lowercase": self.lowercase}

    @classmethod
    def from_config(cls, config: dict[str, Any], where: str = "CharTokenizer.from_config") -> CharTokenizer:
        return cls(lowercase=bool(config.get("lowercase", False)))

    def __repr__(self) -> str:
        return f"CharTokenizer(lowercase={self.lowercase})"


# -- subwords ---------------------------------------------------------------------------------------------------
def _read_lines(path: str | Path) -> Iterable[str]:
    """The non-blank lines of a training file, stripped (enc2dec.data.lines rules: errors name file and line)."""
    with open_binary(path) as f:
        for line in iter_lines(f, str(path)):
            line = line.strip()
            if line:
                yield line


class SentencePieceTokenizer:
    """Subword pieces from a sentencepiece model (Kudo & Richardson 2018), kept in memory as the model's bytes."""

    def __init__(self, model_proto: bytes, lowercase: bool = False, *, where: str = "SentencePieceTokenizer"):
        """model_proto: a serialized sentencepiece model; one that does not load raises ValueError naming `where`."""
        import sentencepiece as spm

        self.lowercase = lowercase
        self.model_proto = bytes(model_proto)
        if not self.model_proto:  # sentencepiece would accept b"" and fail later
            raise ValueError(f"{where}: not a sentencepiece model (no bytes)")
        try:
            self._sp = spm.SentencePieceProcessor(model_proto=self.model_proto)
        except (RuntimeError, OSError):  # sentencepiece's message is its own source location
            raise ValueError(f"{where}: not a sentencepiece model (the bytes do not parse as one)") from None

    @classmethod
    def train(
        cls,
        sentences: Iterable[str] | None = None,
        *,
        files: Sequence[str | Path] | None = None,
        vocab_size: int = 8000,
        model_type: str = "bpe",
        model_prefix: str | Path | None = None,
        character_coverage: float = 1.0,
        normalization: str = "nmt_nfkc",
        lowercase: bool = False,
    ) -> SentencePieceTokenizer:
        """Train on sentences and/or files (one sentence a line, .gz read as gzip); single-threaded, deterministic.

        vocab_size is a soft limit (a small corpus yields fewer pieces rather than an error). With model_prefix,
        the model is also written to `<model_prefix>.model`. lowercase: train on, and later tokenize, lowercased text.
        """
        import sentencepiece as spm

        if model_type not in ("bpe", "unigram"):
            raise ValueError(f"SentencePieceTokenizer.train: model_type must be 'bpe' or 'unigram', got {model_type!r}")
        if sentences is None and not files:
            raise ValueError("SentencePieceTokenizer.train: give sentences or files")

        def lines() -> Iterable[str]:
            if sentences is not None:
                yield from (s.lower() if lowercase else s for s in sentences if s.strip())
            for path in files or ():
                yield from (s.lower() if lowercase else s for s in _read_lines(path))

        model = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(lines()),
            model_writer=model,
            vocab_size=vocab_size,
            model_type=model_type,
            character_coverage=character_coverage,
            normalization_rule_name=normalization,
            hard_vocab_limit=False,
            unk_id=0,
            bos_id=-1,
            eos_id=-1,
            pad_id=-1,
            num_threads=1,
            shuffle_input_sentence=False,
            minloglevel=2,
        )
        tok = cls(model.getvalue(), lowercase=lowercase)
        if model_prefix is not None:
            tok.save(f"{model_prefix}.model")
        return tok

    @classmethod
    def load(cls, path: str | Path) -> SentencePieceTokenizer:
        """Load a `.model` file written by sentencepiece (or by `save`)."""
        return cls(read_bytes(path), where=f"SentencePieceTokenizer.load: {path}")

    def save(self, path: str | Path) -> None:
        """Write the model file atomically (enc2dec.files.atomic_write)."""
        from enc2dec.files import atomic_write

        atomic_write(path, lambda tmp: tmp.write_bytes(self.model_proto))

    @property
    def vocab_size(self) -> int:
        return self._sp.get_piece_size()

    def tokenize(self, text: str) -> list[str]:
        return self._sp.encode(text.lower() if self.lowercase else text, out_type=str)

    def detokenize(self, tokens: Sequence[str]) -> str:
        return self._sp.decode(list(tokens))

    def to_config(self) -> dict[str, Any]:
        model = base64.b64encode(self.model_proto).decode("ascii")
        return {"type": "sentencepiece", "lowercase": self.lowercase, "model": model}

    @classmethod
    def from_config(
        cls, config: dict[str, Any], where: str = "SentencePieceTokenizer.from_config"
    ) -> SentencePieceTokenizer:
        lowercase = bool(config.get("lowercase", False))
        if "model" in config:
            model = config["model"]
            if not isinstance(model, str):
                raise ValueError(f"{where}: 'model' must be a base64 string, got {type(model).__name__}")
            try:
                proto = base64.b64decode(model, validate=True)
            except ValueError as e:  # binascii.Error
                raise ValueError(f"{where}: 'model' is not valid base64 ({e})") from None
            return cls(proto, lowercase, where=where)
        if "path" in config:
            if not isinstance(config["path"], str):
                raise ValueError(f"{where}: 'path' must be a string, got {config['path']!r}")
            return cls(cls.load(config["path"]).model_proto, lowercase)
        raise ValueError(f"{where}: the config needs 'model' (base64 bytes) or 'path'")

    def __repr__(self) -> str:
        return f"SentencePieceTokenizer(vocab_size={self.vocab_size}, lowercase={self.lowercase})"

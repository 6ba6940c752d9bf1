"""Reading text, one way everywhere: the rules for bytes -> lines that every sentence file, stdin, CSV and JSON
file of enc2dec goes through.

    lines = read_lines("test.de")           # a file (gzip'd when the name ends in .gz)
    lines = read_lines(None)                # stdin ("-" too), read as bytes so that the same rules apply
    for line in iter_lines(stream, name):   # streaming, from any binary stream
    for batch in line_batches(None, 100):   # stdin in batches, each as soon as its lines have arrived

Rules: UTF-8; a byte order mark (EF BB BF) at the start is dropped; lines end at LF, CRLF or a lone CR (Python's
universal newlines), and the line end is not part of the line; a final line end does not make an extra empty line.
Invalid UTF-8 raises ValueError naming the file (or `<stdin>`) and the 1-based line. Nothing else is changed:
surrounding whitespace is kept (callers strip where their format says so).

`decode_text` applies the same rules to a whole file's bytes when the format is not line-based (CSV, JSON);
`read_text` and `read_json` read a whole file through it.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import queue
import re
import stat
import sys
import threading
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

BOM = b"\xef\xbb\xbf"
STDIN = "<stdin>"
_LINE_END = re.compile(rb"\r\n|\r|\n")


def _utf8_error(name: str, line: int, e: UnicodeDecodeError) -> ValueError:
    return ValueError(f"{name}: line {line}: invalid UTF-8 ({e.reason} at byte {e.start})")


def decode_text(data: bytes, name: str) -> str:
    """A whole file's bytes -> str: BOM dropped, invalid UTF-8 a ValueError naming `name` and the line.
    Line ends are left as they are (csv and json read them)."""
    if data.startswith(BOM):
        data = data[len(BOM) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = len(_LINE_END.findall(data, 0, e.start)) + 1
        raise _utf8_error(name, line, e) from None


def iter_lines(stream: BinaryIO, name: str) -> Iterator[str]:
    """The lines of a binary stream, decoded by the module's rules; `name` (a path or `<stdin>`) is used in errors.

    A text stream with a `.buffer` (sys.stdin) is read through that buffer; one without raises TypeError."""
    if isinstance(stream, io.TextIOBase):
        if not hasattr(stream, "buffer"):
            raise TypeError(f"iter_lines: {name}: needs a binary stream, got the text stream {stream!r}")
        stream = stream.buffer
    number = 0
    first = True
    try:
        for raw in stream:  # split at b"\n" only; CR is handled below
            if first:
                first = False
                if raw.startswith(BOM):
                    raw = raw[len(BOM) :]
                    if not raw:  # a file holding only a BOM has no lines
                        continue
            if raw.endswith(b"\n"):
                raw = raw[:-1]
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            for piece in raw.split(b"\r") if b"\r" in raw else (raw,):  # lone CRs end lines too
                number += 1
                try:
                    yield piece.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise _utf8_error(name, number, e) from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise ValueError(f"{name}: cannot read as gzip: {e}") from None


def read_lines(path: str | Path | None) -> list[str]:
    """All lines of a file, or of stdin when path is None or "-" (read as bytes), by the module's rules.

    A missing file raises FileNotFoundError, another unreadable one OSError, both naming the file; a .gz file that
    is not gzip, ValueError."""
    if path is None or str(path) == "-":
        return list(iter_lines(sys.stdin.buffer, STDIN))
    with open_binary(path) as f:
        return list(iter_lines(f, str(path)))


def line_batches(path: str | Path | None, batch_lines: int) -> Iterator[list[str]]:
    """The lines of a file, or of stdin (path None or "-"), in batches of at most batch_lines, by the module's
    rules. A file (or stdin redirected from one) gives full batches. A pipe or a terminal gives each batch as soon
    as its first line has arrived, with the lines that arrived behind it: a reader of `tail -f log | ...` or a
    user at a terminal gets an answer to every line while the input is still open."""
    if batch_lines < 1:
        raise ValueError(f"batch_lines must be >= 1, got {batch_lines}")
    if path is not None and str(path) != "-":
        with open_binary(path) as f:
            yield from _chunks(iter_lines(f, str(path)), batch_lines)
        return
    stream = sys.stdin.buffer
    try:
        regular = stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):  # not a real file: a test's stand-in
        regular = True
    lines = iter_lines(stream, STDIN)
    yield from _chunks(lines, batch_lines) if regular else _as_they_arrive(lines, batch_lines)


def _chunks(lines: Iterable[str], n: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) == n:
            yield batch
            batch = []
    if batch:
        yield batch


_END = object()


def _as_they_arrive(lines: Iterator[str], n: int) -> Iterator[list[str]]:
    """A reader thread puts the lines in a queue; each batch takes one line (waiting for it) and up to n - 1 more
    that are already there. A reading error ends the batches after the lines before it, then is raised."""
    arrived: queue.Queue = queue.Queue()

    def read() -> None:
        try:
            for line in lines:
                arrived.put(line)
            arrived.put(_END)
        except Exception as err:  # handed to the consumer, raised there
            arrived.put(err)

    threading.Thread(target=read, daemon=True).start()
    pending = arrived.get()  # the next item not yet in a batch
    while pending is not _END and not isinstance(pending, Exception):
        batch, pending = [pending], None
        while len(batch) < n:
            try:
                item = arrived.get_nowait()
            except queue.Empty:
                break
            if item is _END or isinstance(item, Exception):
                pending = item
                break
            batch.append(item)
        yield batch
        if pending is None:
            pending = arrived.get()
    if isinstance(pending, Exception):
        raise pending


def open_binary(path: str | Path) -> BinaryIO:
    """Open a file for reading bytes (through gzip when the name ends in .gz); errors name the file."""
    path = Path(path)
    try:
        f = open(path, "rb")  # noqa: SIM115 (returned open)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"{path}: is a folder, not a file") from None
    except OSError as e:
        raise OSError(f"{path}: cannot read: {e.strerror or e}") from None
    if path.suffix == ".gz":
        f.close()
        return gzip.open(path, "rb")
    return f


def read_bytes(path: str | Path) -> bytes:
    """A whole file's bytes (gunzipped when the name ends in .gz), with the errors of `open_binary`."""
    try:
        with open_binary(path) as f:
            return f.read()
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise ValueError(f"{path}: cannot read as gzip: {e}") from None


def read_text(path: str | Path) -> str:
    """A whole file as str by the module's rules (BOM dropped, invalid UTF-8 named with its line)."""
    return decode_text(read_bytes(path), str(path))


def read_json(path: str | Path) -> Any:
    """A JSON file by the module's rules; invalid UTF-8 or JSON raises ValueError naming the file (and line)."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: line {e.lineno}: not valid JSON ({e.msg}, column {e.colno})") from None
    except RecursionError:
        raise ValueError(f"{path}: not valid JSON (nested too deeply)") from None

import gzip
import logging

import pytest

from enc2dec.data.text import (
    ParallelText,
    TextPairs,
    build_translation_data,
    read_aligned,
    read_eval_pairs,
    read_tsv_pairs,
)
from enc2dec.data.tokenize import WordTokenizer
from enc2dec.data.vocab import Vocab


def write(path, text: bytes):
    path.write_bytes(gzip.compress(text) if path.suffix == ".gz" else text)
    return path


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_read_aligned(tmp_path, suffix):
    src = write(tmp_path / f"a.de{suffix}", b"Ein Hund.\nZwei Katzen.\n")
    tgt = write(tmp_path / f"a.en{suffix}", b"A dog.\r\nTwo cats.")  # CRLF and no final newline are fine
    pairs = read_aligned(src, tgt)
    assert pairs.src == ["Ein Hund.", "Zwei Katzen."] and pairs.tgt == ["A dog.", "Two cats."]
    assert pairs.line_numbers == [1, 2] and (pairs.n_empty, pairs.n_too_long) == (0, 0)


def test_misaligned_files_name_both(tmp_path):
    src = write(tmp_path / "x.de", b"a\nb\nc\n")
    tgt = write(tmp_path / "x.en", b"a\nb\n")
    with pytest.raises(ValueError, match=r"x\.de has 3 lines but .*x\.en has 2"):
        read_aligned(src, tgt)


def test_invalid_utf8_names_file_and_line(tmp_path):
    src = write(tmp_path / "ok.de", b"a\nb\nc\n")
    tgt = write(tmp_path / "bad.en.gz", b"a\nb\n\xff\xfe oops\n")
    with pytest.raises(ValueError, match=r"bad\.en\.gz: line 3: invalid UTF-8"):
        read_aligned(src, tgt)


def test_bad_gzip(tmp_path):
    src = write(tmp_path / "x.de", b"a\n")
    tgt = tmp_path / "x.en.gz"
    tgt.write_bytes(b"plain text, not gzip")
    with pytest.raises(ValueError, match=r"x\.en\.gz: cannot read as gzip"):
        read_aligned(src, tgt)


def test_empty_and_long_lines_skipped_counted_logged(tmp_path, caplog):
    src = write(tmp_path / "s.txt", b"one\n\nthree\n" + b"x" * 50 + b"\n  five  \n")
    tgt = write(tmp_path / "t.txt", b"1\n2\n   \n4\n5\n")
    with caplog.at_level(logging.INFO, logger="enc2dec.data.text"):
        pairs = read_aligned(src, tgt, max_len_chars=20)
    assert pairs.src == ["one", "five"] and pairs.tgt == ["1", "5"] and pairs.line_numbers == [1, 5]
    assert (pairs.n_empty, pairs.n_too_long) == (2, 1)
    assert "skipped 2 with an empty side and 1 with a side over 20 characters" in caplog.text


def test_read_tsv_pairs(tmp_path):
    path = write(tmp_path / "p.txt.gz", b"Go.\tVa !\tCC-BY\n\nHi.\tSalut.\tCC-BY\n")
    pairs = read_tsv_pairs(path)
    assert pairs.src == ["Go.", "Hi."] and pairs.tgt == ["Va !", "Salut."] and pairs.n_empty == 1
    assert read_tsv_pairs(path, src_column=1, tgt_column=0).src == ["Va !", "Salut."]
    bad = write(tmp_path / "bad.txt", b"Go.\tVa !\nno tab here\n")
    with pytest.raises(ValueError, match=r"bad\.txt: line 2: expected at least 2 tab-separated columns, got 1"):
        read_tsv_pairs(bad)


def test_parallel_text_checks_lengths():
    with pytest.raises(ValueError, match="lengths differ: src 2, tgt 1"):
        ParallelText([[4], [5]], [[6]], ["a", "b"], ["c"])


def test_build_translation_data_vocab_from_train_only():
    train = TextPairs(["a dog .", "a cat ."], ["ein Hund .", "eine Katze ."])
    test = TextPairs(["a cow ."], ["eine Kuh ."])
    data = build_translation_data(train, test, test, (WordTokenizer(), WordTokenizer()), name="toy")
    assert "cow" not in data.src_vocab and "Kuh" not in data.tgt_vocab
    assert Vocab.UNK in data.test.src[0]
    assert data.test.tgt_text == ["eine Kuh ."]  # raw references kept for BLEU
    assert data.decode_tgt([Vocab.BOS, *data.train.tgt[0], Vocab.EOS, 0]) == "ein Hund ."
    assert data.encode_src("a cat .") == data.train.src[1]
    src_vocab, tgt_vocab = data.vocabs
    assert data.vocabs.src is src_vocab is data.src_vocab and tgt_vocab is data.tgt_vocab


def test_read_aligned_drops_bom_and_cr_line_ends(tmp_path):
    src = write(tmp_path / "b.de", b"\xef\xbb\xbfEin Hund.\rZwei Katzen.\r")
    tgt = write(tmp_path / "b.en", b"\xef\xbb\xbfA dog.\r\nTwo cats.\r\n")
    pairs = read_aligned(src, tgt)
    assert pairs.src == ["Ein Hund.", "Zwei Katzen."] and pairs.tgt == ["A dog.", "Two cats."]


def test_read_eval_pairs_keeps_every_pair(tmp_path, caplog):
    long = "x" * 1500
    src = write(tmp_path / "s.txt", f"one\n\n{long}\n  four \n".encode())
    ref = write(tmp_path / "r.txt", b"1\n2\n3\n\n")
    with caplog.at_level(logging.INFO, logger="enc2dec.data.text"):
        pairs = read_eval_pairs(src, ref)
    assert pairs.src == ["one", "", long, "four"] and pairs.tgt == ["1", "2", "3", ""]
    assert pairs.line_numbers == [1, 2, 3, 4] and (pairs.n_empty, pairs.n_too_long) == (0, 0)
    assert "skipped" not in caplog.text
    assert len(read_aligned(src, ref)) == 1  # the training reader skips (and logs) the other three


@pytest.mark.parametrize("reader", [read_aligned, read_eval_pairs])
def test_empty_files_are_refused(tmp_path, reader):
    full = write(tmp_path / "full.txt", b"a\n")
    empty = write(tmp_path / "empty.txt", b"")
    with pytest.raises(ValueError, match=r"empty\.txt: no sentences \(the file is empty\)"):
        reader(full, empty)
    with pytest.raises(ValueError, match=r"empty\.txt: no sentences"):
        reader(empty, full)
    with pytest.raises(ValueError, match=r"full\.txt has 1 lines but .*two\.txt has 2"):
        reader(full, write(tmp_path / "two.txt", b"a\nb\n"))


def test_nothing_left_after_skipping_is_refused(tmp_path):
    src = write(tmp_path / "s.txt", b"\n\n")
    tgt = write(tmp_path / "t.txt", b"a\nb\n")
    with pytest.raises(ValueError, match=r"read_aligned\(.*s\.txt, .*t\.txt\): no pairs left after skipping 2"):
        read_aligned(src, tgt)

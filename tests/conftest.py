"""Test-wide settings. Tests use tiny matrices, for which BLAS threads only add overhead (and, on a loaded
machine, busy-waiting): one thread, set before NumPy is first imported."""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

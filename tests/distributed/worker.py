"""Trains one run config with the Trainer on this process's MPI world (the tests start it under mpiexec).

    python worker.py CONFIG.json RUN_DIR [--resume] [--float64]

Rank 0 writes RUN_DIR/weights.safetensors (the final weights) and RUN_DIR/train_loss.json (the logged losses).
No task metrics and no pictures: only what the equivalence tests compare.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from enc2dec import run
from enc2dec.training import Trainer, checkpoint, distributed


def train(config: dict, run_dir: Path, *, resume: bool = False, comm=None, float64: bool = False):
    """The final state dict and the logged losses of `config` trained into run_dir (with comm's processes);
    float64: the model's weights cast to float64 first (a translation model: its inputs are token ids)."""
    cfg = run.config_from_dict(config)
    task = run.make_task(cfg)
    data = task.load_data()
    model = task.build_model(data)
    if float64:
        model.astype(np.float64)
    train_batches, valid_batches = task.batches(data)
    trainer = Trainer(model, cfg.training, out_dir=run_dir, run_config=config, comm=comm)
    history = trainer.fit(train_batches, valid_batches, resume=run_dir / "last" if resume else None)
    return model.state_dict(), history.train_loss


if __name__ == "__main__":
    config_path, out = sys.argv[1], Path(sys.argv[2])
    comm = distributed.world()
    weights, losses = train(json.loads(Path(config_path).read_text()), out, resume="--resume" in sys.argv, comm=comm,
                            float64="--float64" in sys.argv)  # fmt: skip
    if comm.rank == 0:
        checkpoint.save_arrays(out / "weights.safetensors", weights)
        checkpoint.save_json(out / "train_loss.json", losses)

"""A model-agnostic trainer: steps, budgets, clipping, schedules, evaluation, checkpoints and exact resume.

The model is any Module with
    compute_loss(batch) -> (mean_loss: float, n_items: int)   # forward, keeping caches
    backward_loss() -> None                                   # backward from that loss into the .grad's
and the training data is a batcher: iterating it yields the rest of the current epoch; it has `epoch`,
`__len__`, `state_dict()` and `load_state_dict()` (enc2dec.data.arrays.ArrayBatcher, the text BucketBatcher).

The one keep-best rule: after each evaluation, the weights are the best so far when `best_metric` improved
(`best_mode` min or max); they are kept in memory (`best_weights`) and, with an out_dir, written to best/. A run
evaluates at each epoch's end (or every `eval_every_steps`) and once more when its budget ends between two
evaluations, so every run has a best. Nothing non-finite is saved: a non-finite validation loss or weight stops
training before any checkpoint is written.

Data parallel (`comm`, enc2dec.training.distributed): every process draws the same global batch order and takes
its share of each batch's rows (`train.shard(rank, size)`); its gradients, scaled by n_local / n_global, are
summed over the processes, and every process clips and steps identically. The logged loss is the global
item-weighted mean; the validation loss is computed sharded and summed; `evaluate` (task metrics: BLEU, ...) is
called on every rank, so that it can share its work among them, and rank 0's metrics are broadcast. Rank 0 alone
writes checkpoints, metrics.jsonl, loss.png and the progress bar; the others wait until a save is complete. Random generators (dropout, noise) are seeded per rank (rank 0 keeps the model's;
rank r > 0 takes seed + r) and each rank's state is recorded in the checkpoint.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from enc2dec.files import atomic_write, clean_leftovers, remove_dir
from enc2dec.nn.checks import check_flags, check_float_field, check_int_field
from enc2dec.nn.module import Module
from enc2dec.optim import SGD, Adam, Constant, Cosine, Optimizer, StepDecay, WarmupInverseSqrt, clip_grad_norm
from enc2dec.training import checkpoint
from enc2dec.training.distributed import GradientReducer, SingleProcess

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.jsonl"
STATE_KEYS = ("step", "elapsed_seconds", "best", "bad_evals", "batcher", "model_rngs", "history")  # of state()


@dataclass(frozen=True)
class TrainConfig:
    optimizer: str = "adam"  # sgd | adam | adamw
    lr: float = 1e-3
    momentum: float = 0.0  # sgd
    nesterov: bool = False  # sgd, with momentum > 0
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)  # adam, adamw
    # constant | halving (Sutskever et al. 2014) | warmup_inv_sqrt (Vaswani et al. 2017) | cosine
    schedule: str = "constant"
    warmup_steps: int = 0  # warmup_inv_sqrt and cosine; 0: none
    decay_start_epochs: float = 5.0  # halving: a fixed lr for 5 epochs, then halve every half epoch
    decay_every_epochs: float = 0.5
    min_lr: float = 0.0  # cosine: the final lr
    clip_norm: float | None = 5.0  # Sutskever et al.: rescale when the gradient norm exceeds 5; None: no clipping
    max_epochs: int | None = None  # budgets: training stops at the first one reached; set at least one
    max_steps: int | None = None
    max_minutes: float | None = None
    eval_every_steps: int | None = None  # None: at each epoch's end
    best_metric: str = "valid_loss"  # a metric the run records at each evaluation (the task checks the name)
    best_mode: str = "min"  # min | max
    patience: int | None = None  # evaluations without improvement before stopping early; 0: stop at the first
    log_every_steps: int = 50
    keep_checkpoints: int = 0  # also keep the model of the last N evaluations in out_dir/ckpt-<step>; 0: none
    seed: int = 0
    progress: bool = False

    def __post_init__(self) -> None:
        where = "TrainConfig"
        checks = {
            "optimizer": (self.optimizer, ("sgd", "adam", "adamw")),
            "schedule": (self.schedule, ("constant", "halving", "warmup_inv_sqrt", "cosine")),
            "best_mode": (self.best_mode, ("min", "max")),
        }
        for name, (value, allowed) in checks.items():
            if value not in allowed:
                raise ValueError(f"TrainConfig.{name} must be one of {allowed}, got {value!r}")
        if not isinstance(self.best_metric, str) or not self.best_metric:
            raise ValueError(
                f"TrainConfig.best_metric must be a metric name such as valid_loss, got {self.best_metric!r}"
            )
        check_flags(self)
        check_float_field(where, "lr", self.lr, 0.0, bounds="(]")
        check_float_field(where, "momentum", self.momentum, 0.0, 1.0, "[)")
        check_float_field(where, "weight_decay", self.weight_decay, 0.0)
        if not isinstance(self.betas, tuple) or len(self.betas) != 2:
            raise ValueError(f"TrainConfig.betas must be two numbers in [0, 1), got {self.betas!r}")
        for i, beta in enumerate(self.betas):
            check_float_field(where, f"betas[{i}]", beta, 0.0, 1.0, "[)")
        check_int_field(where, "warmup_steps", self.warmup_steps, 0, note="0: no warmup")
        check_float_field(where, "decay_start_epochs", self.decay_start_epochs, 0.0)
        check_float_field(where, "decay_every_epochs", self.decay_every_epochs, 0.0, bounds="(]")
        check_float_field(where, "min_lr", self.min_lr, 0.0)
        check_float_field(where, "clip_norm", self.clip_norm, 0.0, bounds="(]", optional=True)
        check_int_field(where, "max_epochs", self.max_epochs, 1, optional=True)
        check_int_field(where, "max_steps", self.max_steps, 1, optional=True)
        check_float_field(where, "max_minutes", self.max_minutes, 0.0, bounds="(]", optional=True)
        check_int_field(where, "eval_every_steps", self.eval_every_steps, 1, optional=True, note="null: each epoch")
        check_int_field(where, "patience", self.patience, 0, optional=True,
                        note="0: stop at the first evaluation without improvement; null: never")  # fmt: skip
        check_int_field(where, "log_every_steps", self.log_every_steps, 1)
        check_int_field(where, "keep_checkpoints", self.keep_checkpoints, 0, note="0: none")
        check_int_field(where, "seed", self.seed, 0)
        if self.optimizer == "sgd" and self.nesterov and self.momentum == 0:
            raise ValueError("TrainConfig: nesterov needs momentum > 0 (sgd), got momentum 0")
        if self.max_epochs is None and self.max_steps is None and self.max_minutes is None:
            raise ValueError("TrainConfig: set at least one budget: max_epochs, max_steps or max_minutes")
        if self.schedule == "cosine" and self.max_epochs is None and self.max_steps is None:
            raise ValueError("TrainConfig: schedule 'cosine' decays over the run's length in steps: set max_steps "
                             "or max_epochs (a max_minutes budget alone gives it no length)")  # fmt: skip


@dataclass
class History:
    """What happened: the loss of every step and one record per evaluation."""

    train_loss: list[float] = field(default_factory=list)
    evals: list[dict[str, float]] = field(default_factory=list)

    def metric(self, name: str) -> list[float]:
        return [e[name] for e in self.evals if name in e]


def build_optimizer(config: TrainConfig, params: list) -> Optimizer:
    if config.optimizer == "sgd":
        return SGD(params, config.lr, config.momentum, config.nesterov, config.weight_decay)
    return Adam(
        params, config.lr, config.betas, weight_decay=config.weight_decay, decoupled=config.optimizer == "adamw"
    )


def build_schedule(config: TrainConfig, steps_per_epoch: int) -> Callable[[int], float]:
    if config.schedule == "halving":
        start = round(config.decay_start_epochs * steps_per_epoch)
        return StepDecay(config.lr, start, max(round(config.decay_every_epochs * steps_per_epoch), 1))
    if config.schedule == "warmup_inv_sqrt":
        return WarmupInverseSqrt(config.lr, max(config.warmup_steps, 1))
    if config.schedule == "cosine":
        total = config.max_steps or config.max_epochs * steps_per_epoch  # __post_init__: one of them is set
        return Cosine(config.lr, total, config.warmup_steps, config.min_lr)
    return Constant(config.lr)


def _generators(model: Module) -> list[np.random.Generator]:
    """The model's random generators (dropout), each once, in module order."""
    found: dict[int, np.random.Generator] = {}
    for m in model.modules():
        rng = getattr(m, "rng", None)
        if isinstance(rng, np.random.Generator):
            found.setdefault(id(rng), rng)
    return list(found.values())


def evaluate_loss(model: Module, batches: Iterable[Any], comm: Any = None) -> float:
    """Item-weighted mean loss over batches, in eval mode, no gradients kept. With a communicator of several
    processes, each takes every size-th batch and the sums are added up."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    rank, size = (0, 1) if comm is None else (comm.rank, comm.size)
    for i, batch in enumerate(batches):
        if i % size != rank:
            continue
        loss, n = model.compute_loss(batch)
        total += loss * n
        count += n
    model.clear_cache()
    model.train(was_training)
    if size > 1:
        total, count = comm.allreduce_sum(np.array([total, count], dtype=np.float64))
    return total / max(count, 1)


class Trainer:
    """fit(train, valid) trains `model` under `config`; with out_dir it writes last/ and best/ checkpoints and
    metrics.jsonl. evaluate(model) -> dict adds metrics (BLEU, ...) to each evaluation (called on every rank;
    rank 0's result counts).
    checkpoint_files(): extra files for each checkpoint (file name -> writer), e.g. the vocabularies.
    comm: the processes training together (enc2dec.training.distributed.world()); None: this one alone."""

    def __init__(
        self,
        model: Module,
        config: TrainConfig,
        *,
        out_dir: str | Path | None = None,
        evaluate: Callable[[Module], dict[str, float]] | None = None,
        run_config: dict[str, Any] | None = None,
        checkpoint_files: Callable[[], dict[str, Callable[[Path], None]]] | None = None,
        comm: Any = None,
    ):
        self.model = model
        self.config = config
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.evaluate = evaluate
        self.run_config = run_config
        self.checkpoint_files = checkpoint_files
        self.optimizer = build_optimizer(config, model.parameters())
        self.history = History()
        self.step = 0
        self.elapsed = 0.0  # seconds of training before this run (for wall-clock budgets across resumes)
        self.best: float | None = None
        self.best_weights: dict[str, np.ndarray] | None = None  # a copy of the model's state at the best evaluation
        self.bad_evals = 0
        self.comm = SingleProcess() if comm is None else comm
        self.is_main = self.comm.rank == 0  # writes checkpoints, logs and the progress bar
        self._reducer = GradientReducer(model.parameters(), self.comm) if self.comm.size > 1 else None
        self._rank_rngs: list[Any] | None = None  # every rank's generator states, gathered on rank 0 for a save
        if self.comm.rank > 0:
            self._seed_rank_generators()

    # -- the loop -------------------------------------------------------------------------------------------------
    def fit(self, train: Any, valid: Iterable[Any] | None = None, *, resume: str | Path | None = None) -> History:
        cfg = self.config
        if len(train) == 0:
            raise ValueError("Trainer.fit: the training data yields no batches")
        if self.comm.size > 1:
            if not hasattr(train, "shard"):
                raise TypeError(f"Trainer.fit: training on {self.comm.size} processes needs a batcher with shard()")
            train.shard(self.comm.rank, self.comm.size)
        if self.is_main and self.out_dir is not None and self.out_dir.is_dir():
            clean_leftovers(self.out_dir)  # of a save that was killed
        self.comm.barrier()
        if resume is not None:
            self._restore(Path(resume), train)  # every rank reads rank 0's checkpoint
        schedule = build_schedule(cfg, len(train))
        params = self.model.parameters()
        self.comm.bcast_arrays([p.value for p in params])  # every rank starts from rank 0's weights
        self.model.train()
        start = time.perf_counter() - self.elapsed
        total = cfg.max_steps or (cfg.max_epochs * len(train) if cfg.max_epochs else None)
        bar = _progress(total, self.step, cfg.progress and self.is_main)
        done = self._budget_spent(train, start)
        smoothed, items, tick = None, 0, time.perf_counter()
        while not done:
            for batch in train:
                self.step += 1
                self.optimizer.lr = schedule(self.step)
                self.optimizer.zero_grad()
                loss, n = self.model.compute_loss(batch) if batch is not None else (0.0, 0)  # None: no rows here
                if self._reducer is not None:  # the global item-weighted mean
                    total_loss, n_global = self.comm.allreduce_sum(np.array([loss * n, n], dtype=np.float64))
                    n_local, loss, n = n, float(total_loss / n_global), int(n_global)
                if not math.isfinite(loss):
                    raise FloatingPointError(
                        f"Trainer: the loss is {loss} at step {self.step} (epoch {train.epoch + 1}); training "
                        f"stopped; checkpoints already written are kept"
                    )
                if batch is not None:
                    self.model.backward_loss()
                if self._reducer is not None:
                    self._reducer.reduce(n_local / n)  # the gradient of the global mean, on every rank
                if cfg.clip_norm:
                    clip_grad_norm(params, cfg.clip_norm)
                self.optimizer.step()
                self.history.train_loss.append(loss)
                smoothed = loss if smoothed is None else 0.98 * smoothed + 0.02 * loss
                items += n
                if bar is not None:
                    now = time.perf_counter()
                    bar.update(1)
                    bar.set_postfix(
                        loss=f"{smoothed:.4f}", items_per_s=f"{items / max(now - tick, 1e-9):.0f}", refresh=False
                    )
                if self.step % cfg.log_every_steps == 0:
                    self._log(
                        {"step": self.step, "epoch": train.epoch + 1, "train_loss": smoothed, "lr": self.optimizer.lr}
                    )
                if cfg.eval_every_steps and self.step % cfg.eval_every_steps == 0:
                    done = self._evaluate(train, valid, start)
                done = done or self._budget_spent(train, start)
                if done:
                    break
            else:  # the epoch ended
                if not cfg.eval_every_steps:
                    done = self._evaluate(train, valid, start)
                done = done or self._budget_spent(train, start)
        if bar is not None:
            bar.close()
        if not self.history.evals or self.history.evals[-1]["step"] != self.step:
            self._evaluate(train, valid, start)  # the budget ended between two evaluations
        self.elapsed = time.perf_counter() - start
        return self.history

    def _budget_spent(self, train: Any, start: float) -> bool:
        cfg = self.config
        minutes = (time.perf_counter() - start) / 60
        spent = bool(
            (cfg.max_steps is not None and self.step >= cfg.max_steps)
            or (cfg.max_minutes is not None and minutes >= cfg.max_minutes)
            or (cfg.max_epochs is not None and train.epoch >= cfg.max_epochs)
        )
        return self.comm.bcast_json(spent) if cfg.max_minutes is not None else spent  # rank 0's clock decides

    def _evaluate(self, train: Any, valid: Iterable[Any] | None, start: float) -> bool:
        """Evaluate, log, checkpoint; return True when early stopping says stop."""
        cfg = self.config
        record: dict[str, float] = {"step": self.step, "epoch": train.epoch + (train.position > 0)}
        recent = self.history.train_loss[-len(train) :]
        record["train_loss"] = float(np.mean(recent))
        if valid is not None:
            record["valid_loss"] = evaluate_loss(self.model, valid, self.comm)
        if self.evaluate is not None:
            metrics = self.evaluate(self.model)  # every rank: the task may share the work through comm
            if self.is_main:
                record.update(metrics)
            self.model.train()
        record["minutes"] = (time.perf_counter() - start) / 60
        record = self.comm.bcast_json(record)  # rank 0's metrics and clock on every rank
        self._check_finite(record, train)
        self.history.evals.append(record)
        self._log(record)
        log.info("evaluation: %s", record)
        value = record.get(cfg.best_metric)
        improved = value is not None and (
            self.best is None or (value < self.best if cfg.best_mode == "min" else value > self.best)
        )
        if improved:
            self.best, self.bad_evals = value, 0
            self.best_weights = {k: v.copy() for k, v in self.model.state_dict().items()}
        else:
            self.bad_evals += 1
        self.elapsed = time.perf_counter() - start
        if self.comm.size > 1:
            self._rank_rngs = self.comm.gather_json([g.bit_generator.state for g in _generators(self.model)])
        if self.out_dir is not None and self.is_main:
            if improved:
                self._save(self.out_dir / "best", train)
            self._save(self.out_dir / "last", train)
            if cfg.keep_checkpoints:
                self._keep_numbered(train)
        self.comm.barrier()  # a save is complete before any rank goes on
        return cfg.patience is not None and self.bad_evals > cfg.patience

    def _check_finite(self, record: dict[str, float], train: Any) -> None:
        """Stop before anything is saved when the validation loss or a weight is not finite."""
        where = f"step {self.step} (epoch {train.epoch + 1})"
        loss = record.get("valid_loss")
        if loss is not None and not math.isfinite(loss):
            raise FloatingPointError(
                f"Trainer: the validation loss is {loss} at {where}; training stopped, checkpoints already "
                "written are kept"
            )
        for name, value in self.model.state_dict().items():
            if not np.isfinite(value).all():
                raise FloatingPointError(
                    f"Trainer: weight {name} is not finite at {where}; training stopped, checkpoints already "
                    "written are kept"
                )

    # -- state ----------------------------------------------------------------------------------------------------
    def state(self, train: Any) -> dict[str, Any]:
        extra = {} if self._rank_rngs is None else {"rank_model_rngs": self._rank_rngs}  # under MPI: each rank's
        return extra | {
            "step": self.step,
            "elapsed_seconds": self.elapsed,
            "best": self.best,
            "bad_evals": self.bad_evals,
            "batcher": train.state_dict(),
            "model_rngs": [copy.deepcopy(g.bit_generator.state) for g in _generators(self.model)],
            "history": {"train_loss": self.history.train_loss, "evals": self.history.evals},
        }

    def _save(self, directory: Path, train: Any) -> None:
        files = self.checkpoint_files() if self.checkpoint_files else None
        checkpoint.save_checkpoint(
            directory,
            self.model,
            optimizer=self.optimizer,
            config=self.run_config,
            trainer_state=self.state(train),
            extra_files=files,
        )

    def _keep_numbered(self, train: Any) -> None:
        """out_dir/ckpt-<step>: the model (no optimizer state) of this evaluation; only the newest N are kept."""
        files = self.checkpoint_files() if self.checkpoint_files else None
        directory = self.out_dir / f"{checkpoint.NUMBERED_PREFIX}{self.step}"
        checkpoint.save_checkpoint(
            directory, self.model, config=self.run_config, trainer_state=self.state(train), extra_files=files
        )
        for old in checkpoint.numbered_checkpoints(self.out_dir)[: -self.config.keep_checkpoints]:
            remove_dir(old)

    def _restore(self, directory: Path, train: Any) -> None:
        """Continue from checkpoint `directory`: its parts must belong together (checkpoint.check_checkpoint)."""
        state_path = directory / checkpoint.STATE_FILE
        state = checkpoint.check_checkpoint(directory, STATE_KEYS)
        checkpoint.load_weights(directory, self.model)
        opt_path = directory / checkpoint.OPTIMIZER_FILE
        try:
            self.optimizer.load_state_dict(checkpoint.load_arrays(opt_path))
        except ValueError as err:
            raise ValueError(f"{opt_path}: {err}") from err
        self.step, self.elapsed = state["step"], state["elapsed_seconds"]
        self.best, self.bad_evals = state["best"], state["bad_evals"]
        train.load_state_dict(state["batcher"])
        generators = _generators(self.model)
        if len(generators) != len(state["model_rngs"]):
            raise ValueError(
                f"{state_path}: {len(state['model_rngs'])} random generators saved, model has {len(generators)}"
            )
        for g, s in zip(generators, state["model_rngs"]):
            g.bit_generator.state = s
        by_rank = state.get("rank_model_rngs")  # a run on several processes; with another N, new ranks start fresh
        if self.comm.rank > 0 and by_rank is not None and self.comm.rank < len(by_rank):
            for g, s in zip(generators, by_rank[self.comm.rank]):
                g.bit_generator.state = s
        elif self.comm.rank > 0:
            self._seed_rank_generators()
        self.history = History(state["history"]["train_loss"], state["history"]["evals"])
        best = directory.parent / "best"
        if self.best is not None and (best / checkpoint.MODEL_FILE).is_file():
            self.best_weights = checkpoint.read_weights(best)  # the run's best so far, in case no later one beats it
        if self.is_main:
            self._drop_logged_after(self.step)

    def _seed_rank_generators(self) -> None:
        """Dropout and noise streams of this rank's own (rank > 0): generator i seeded with (seed + rank, i)."""
        for i, g in enumerate(_generators(self.model)):
            g.bit_generator.state = np.random.default_rng([self.config.seed + self.comm.rank, i]).bit_generator.state

    def _log(self, record: dict[str, Any]) -> None:
        """One strict-JSON line in out_dir/metrics.jsonl (a non-finite number is written as null)."""
        if self.out_dir is None or not self.is_main:
            return
        import json

        clean = {k: (v if not isinstance(v, float) or math.isfinite(v) else None) for k, v in record.items()}
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with open(self.out_dir / METRICS_FILE, "a", encoding="utf-8") as f:
            f.write(json.dumps(clean, allow_nan=False) + "\n")

    def _drop_logged_after(self, step: int) -> None:
        """On resume: metrics.jsonl keeps only the lines of steps up to the checkpoint's, so that the resumed run
        logs each later step once. Lines that are not a JSON record with a step (a torn last line of a killed run,
        damaged bytes) are dropped with a warning: the log never stops a resume."""
        import json

        path = self.out_dir / METRICS_FILE if self.out_dir is not None else None
        if path is None or not path.is_file():
            return
        lines = path.read_bytes().decode("utf-8", errors="replace").splitlines()
        kept, damaged = [], 0
        for line in lines:
            try:
                if json.loads(line)["step"] <= step:
                    kept.append(line)
            except (ValueError, KeyError, TypeError):
                damaged += 1
        if damaged:
            log.warning("%s: dropped %d line(s) that are not a JSON record with a step", path, damaged)
        if len(kept) != len(lines):
            atomic_write(path, lambda tmp: tmp.write_text("".join(k + "\n" for k in kept), encoding="utf-8"))


def _progress(total: int | None, initial: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="step", dynamic_ncols=True, leave=False)

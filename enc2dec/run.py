"""Runs: config + overrides -> task -> Trainer -> run folder; the one place runs are made and models are loaded.

    cfg = run.load_config("configs/m30k_de_en_transformer.yaml", ["training.lr=5e-4"])
    result = run.train(cfg, "runs/t")               # runs/t/best (the model), runs/t/last (to resume)
    scores = run.evaluate("runs/t", split="test")   # the only place a test split is scored
    trained = run.load("runs/t").trained            # a Translator, a TrainedForecaster, an autoencoder

A run folder holds best/ (the checkpoint with the best validation metric: what every use verb loads), last/ (the
newest checkpoint, for --resume), ckpt-<step>/ (with training.keep_checkpoints), metrics.jsonl (one strict-JSON
line per log step and evaluation), run.json (task, split sizes) and loss.png, with the task's pictures.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from enc2dec import config as config_io
from enc2dec.files import clean_leftovers
from enc2dec.tasks import TASK_NAMES, Task, task_class
from enc2dec.training import History, Trainer, checkpoint, distributed

log = logging.getLogger(__name__)

RUN_FILE = "run.json"
BEST, LAST = "best", "last"
_RUN_ENTRIES = (BEST, LAST, RUN_FILE, "metrics.jsonl", "loss.png")  # what makes a folder a run folder


# -- configs ------------------------------------------------------------------------------------------------------
def config_from_dict(data: Any, where: str = "<config>") -> Any:
    """A mapping -> the run config of the task it names (`task: translation`), checked completely."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: a run config must be a mapping with task, model, data and training, got {data!r}")
    name = data.get("task")
    if name not in TASK_NAMES:
        raise ValueError(f"{where}: task must be one of {list(TASK_NAMES)}, got {name!r}")
    cfg = config_io.from_dict(task_class(name).config_class, data, where)
    _check_best_metric(cfg, where)
    return cfg


def load_config(path: str | Path, overrides: list[str] | None = None) -> Any:
    """Read a YAML run config, apply `section.key=value` overrides, check it all before any data is read."""
    return config_from_dict(*config_io.read_with_overrides(path, overrides))


def with_overrides(cfg: Any, overrides: list[str], where: str = "--set") -> Any:
    """cfg with dotted overrides applied, checked as a loaded config is."""
    return config_from_dict(config_io.apply_overrides(config_io.to_dict(cfg), overrides), where)


def make_task(cfg: Any) -> Task:
    return task_class(cfg.task)(cfg)


def _check_best_metric(cfg: Any, where: str) -> None:
    t = cfg.training
    produced = {"valid_loss": "min", **make_task(cfg).metrics()}
    if t.best_metric not in produced:
        raise ValueError(
            f"{where}: training.best_metric must be a metric this run produces, one of {sorted(produced)}, "
            f"got {t.best_metric!r}"
        )
    if t.best_mode != produced[t.best_metric]:
        raise ValueError(
            f"{where}: training.best_mode must be {produced[t.best_metric]!r} for {t.best_metric}, got {t.best_mode!r}"
        )


def with_data_dir(cfg: Any, data_dir: str | None) -> Any:
    """cfg reading its data from `data_dir` (the --data-dir option); None leaves it as configured."""
    if data_dir is None:
        return cfg
    if "data_dir" not in {f.name for f in dataclasses.fields(cfg.data)}:
        raise ValueError(f"--data-dir: task {cfg.task} with data.dataset {cfg.data.dataset!r} reads no data folder")
    return dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, data_dir=str(data_dir)))


# -- run folders --------------------------------------------------------------------------------------------------
def holds_run(folder: Path) -> bool:
    return folder.is_dir() and any((folder / name).exists() for name in _RUN_ENTRIES)


def prepare_out_dir(out_dir: str | Path, *, resume: bool, overwrite: bool) -> Path:
    """Check the run folder before anything is read or trained: a folder (or nothing yet), writable; a folder that
    already holds a run needs resume (continue it) or overwrite (replace it)."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out}: exists and is not a folder")
    if resume:
        if out.is_dir():
            clean_leftovers(out)  # a folder swap interrupted between its two renames is put back first
        if not (out / LAST / checkpoint.STATE_FILE).is_file():
            raise ValueError(f"--resume {out}: no run to continue (no {LAST}/{checkpoint.STATE_FILE})")
        return out
    if holds_run(out):
        if not overwrite:
            raise ValueError(
                f"{out} holds a run already: continue it with --resume {out}, or replace it with --overwrite"
            )
        for entry in out.iterdir():
            if entry.name in _RUN_ENTRIES or entry.name.startswith((checkpoint.NUMBERED_PREFIX, ".")):
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OSError(f"--out {out}: cannot create the run folder ({err.strerror})") from err
    return out


def model_dir(path: str | Path) -> Path:
    """A checkpoint folder, or a run folder, which means its best/."""
    path = Path(path)
    if (path / checkpoint.CONFIG_FILE).is_file():
        return path
    if (path / BEST / checkpoint.CONFIG_FILE).is_file():
        return path / BEST
    if path.is_dir() and (path / LAST).is_dir():
        raise FileNotFoundError(f"{path}: a run folder without {BEST}/ (its training has not finished an evaluation)")
    raise FileNotFoundError(f"{path}: not a model folder (no {checkpoint.CONFIG_FILE}) nor a run folder (no {BEST}/)")


# -- training -----------------------------------------------------------------------------------------------------
@dataclass
class RunResult:
    out_dir: Path
    task: Task
    model: Any  # the Module, with the best weights, in eval mode
    data: Any
    history: History
    best: dict[str, float]  # the evaluation record of the best checkpoint
    minutes: float
    pictures: dict[str, Path] = field(default_factory=dict)


def train(
    cfg: Any,
    out_dir: str | Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = False,
    pictures: bool = True,
    data: Any = None,
    comm: Any = None,
) -> RunResult:
    """Train cfg's model on cfg's data into run folder `out_dir` (resume: continue the run there from last/);
    pictures: the loss curve (loss.png) and the task's pictures of the best model.

    comm: the processes training together; by default distributed.world(): all those of `mpiexec -n N`, or this
    one alone. Rank 0 prepares and writes the run folder; every rank returns the result (pictures: rank 0's)."""
    comm = distributed.world() if comm is None else comm
    error = None
    if comm.rank == 0:
        try:
            prepare_out_dir(out_dir, resume=resume, overwrite=overwrite)
        except (ValueError, OSError) as err:
            if comm.size == 1:
                raise
            error = [isinstance(err, ValueError), str(err)]
    error = comm.bcast_json(error)
    if error is not None:  # every rank stops with rank 0's error
        raise (ValueError if error[0] else OSError)(error[1])
    out = Path(out_dir)
    task = make_task(cfg)
    with task.compute_limits():
        return _train(task, cfg, out, resume, progress, pictures, data, comm)


def _train(
    task: Task, cfg: Any, out: Path, resume: bool, progress: bool, pictures: bool, data: Any, comm: Any
) -> RunResult:
    data = task.load_data() if data is None else data
    sizes = task.split_sizes(data)
    log.info("data: %s", sizes)
    model = task.build_model(data)
    train_batches, valid_batches = task.batches(data)
    trainer = Trainer(
        model,
        dataclasses.replace(cfg.training, progress=progress or cfg.training.progress),
        out_dir=out,
        evaluate=lambda m: task.validate(m, data, comm),
        run_config=config_io.to_dict(cfg),
        checkpoint_files=lambda: task.model_files(data),
        comm=comm,
    )
    if comm.rank == 0:
        checkpoint.save_json(out / RUN_FILE, {"task": cfg.task, "model": type(model).__name__, "splits": sizes})
    history = trainer.fit(train_batches, valid_batches, resume=out / LAST if resume else None)
    if trainer.best_weights is not None:
        model.load_state_dict(trainer.best_weights)
    model.eval()
    metric = cfg.training.best_metric
    best = next((r for r in history.evals if r.get(metric) == trainer.best), history.evals[-1])
    drawn = {}
    if pictures and comm.rank == 0:
        from enc2dec.plots import plot_history

        drawn = {"loss": plot_history(history, out / "loss.png"), **task.report(model, data, out)}
    return RunResult(out, task, model, data, history, best, trainer.elapsed / 60, drawn)


# -- saved models -------------------------------------------------------------------------------------------------
@dataclass
class Loaded:
    directory: Path  # the checkpoint folder
    config: Any
    task: Task
    trained: Any  # what the task's use verbs call: a Translator, a TrainedForecaster, an autoencoder


def load(path: str | Path, *, data_dir: str | None = None) -> Loaded:
    """A saved model from a run folder (its best/) or a checkpoint folder."""
    directory = model_dir(path)
    checkpoint.verify_checkpoint(directory)  # every file as its manifest records it
    config_path = directory / checkpoint.CONFIG_FILE
    cfg = with_data_dir(config_from_dict(checkpoint.load_yaml(config_path), str(config_path)), data_dir)
    task = make_task(cfg)
    return Loaded(directory, cfg, task, task.load(directory))


def evaluate(
    path: str | Path | Sequence[str | Path],
    split: str = "valid",
    *,
    data_dir: str | None = None,
    out_dir: str | Path | None = None,
    options: dict[str, Any] | None = None,
    comm: Any = None,
) -> dict[str, Any] | None:
    """Scores of a saved model on `split` (valid or test) of its configured data: the only place a test split is
    scored. options: a translation model's decoding options (method, beam_size, ...) over its configured ones.
    With out_dir: scores_<split>.json there (and the task's pictures). comm: by default distributed.world(); under
    `mpiexec -n N` the processes share a translation model's decoding and loss and a forecaster's rolling-origin
    forecasts (autoencoders are scored by rank 0 alone); rank 0 returns the scores, the other ranks None.
    Several paths: translation models scored as one ensemble (translation.ensemble) on the first one's data."""
    if split not in ("valid", "test"):
        raise ValueError(f"--split must be 'valid' or 'test', got {split!r}")
    comm = distributed.world() if comm is None else comm
    models = [load(p, data_dir=data_dir) for p in ([path] if isinstance(path, (str, Path)) else path)]
    loaded = models[0]
    for m in models:
        if (options or len(models) > 1) and m.config.task != "translation":
            what = "decoding options are" if options else "ensembles (several models) are"
            raise ValueError(f"evaluate: {what} for translation models, {m.directory} holds a {m.config.task} model")
    trained = loaded.trained
    if len(models) > 1:
        from enc2dec.tasks.translation import ensemble

        trained = ensemble([m.trained for m in models])
    out = None if out_dir is None else Path(out_dir)
    with loaded.task.compute_limits():
        scores = loaded.task.evaluate(trained, split, out, comm, **(options or {}))
    if out is not None and scores is not None:
        checkpoint.save_json(out / f"scores_{split}.json", scores)
    return scores

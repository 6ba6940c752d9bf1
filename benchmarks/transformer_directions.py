"""The Transformer recipe of benchmarks/transformer_multi30k.py (configs/m30k_de_en_transformer.yaml) on other
Multi30k directions: German -> English, English -> German and English -> French, each trained in the same budget,
chosen on its validation split (best/, averaged or ensembled checkpoints) and scored once on test_2016_flickr:
cased BLEU (sacrebleu 13a) and lowercased intl-tokenized BLEU (`--tokenize intl -lc`, the scoring of published
Multi30k results such as fairseq transformer_tiny's 41.02 en -> de, Wu et al. 2021).

    python benchmarks/transformer_directions.py --data-dir ../shared/data [--directions en-de en-fr]
        [--from de-en=runs/transformer]
    python benchmarks/transformer_directions.py --data-dir ../shared/data --smoke --results-dir /tmp/results

--from DIRECTION=RUN takes a finished run of this recipe for that direction (e.g. transformer_multi30k.py's)
instead of training it again. The runs go to --runs/SRC_TGT; writes transformer_multi30k_directions.json into
--results-dir after each direction (the keys of the directions done so far).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from results_file import blas_threads, write_results  # noqa: E402
from transformer_multi30k import SMOKE, add_recipe_arguments, train_choose_score  # noqa: E402

DIRECTIONS = ("de-en", "en-de", "en-fr")


def _direction(text: str) -> tuple[str, str]:
    if text not in DIRECTIONS:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(DIRECTIONS)}, got {text!r}")
    src, tgt = text.split("-")
    return src, tgt


def _finished_run(text: str) -> tuple[str, Path]:
    direction, sep, path = text.partition("=")
    if not sep or not path:
        raise argparse.ArgumentTypeError(f"expected DIRECTION=RUN_FOLDER, got {text!r}")
    _direction(direction)
    return direction, Path(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_recipe_arguments(parser, runs="runs/transformer_directions")
    parser.add_argument("--directions", nargs="+", type=_direction, default=[_direction(d) for d in DIRECTIONS])
    parser.add_argument("--from", dest="finished", action="append", type=_finished_run, default=[],
                        metavar="DIRECTION=RUN", help="a finished run of this recipe for DIRECTION: not trained again")  # fmt: skip
    args = parser.parse_args(argv)
    runs, results_dir = Path(args.runs), Path(args.results_dir)
    finished = dict(args.finished)
    sets = common.overrides(args, SMOKE)
    if args.smoke:  # the smoke data holds de and en only: French is not checked
        args.directions = [d for d in args.directions if "fr" not in d]
    data_dir = common.smoke_multi30k(args.data_dir, runs / "smoke_data") if args.smoke else args.data_dir

    from enc2dec import config as config_io

    metrics: dict[str, object] = {}
    extras: dict[str, dict] = {}
    configs: dict[str, dict] = {}
    for src, tgt in args.directions:
        name = f"{src}_{tgt}"
        out = finished.get(f"{src}-{tgt}", runs / name)
        found, extra = train_choose_score(args, out, [f"data.src_lang={src}", f"data.tgt_lang={tgt}", *sets],
                                          data_dir, trained=f"{src}-{tgt}" in finished)  # fmt: skip
        configs[name] = config_io.to_dict(extra.pop("config"))
        extras[name] = extra
        for key in ("test_bleu", "test_bleu_lc_intl", "test_bleu_ensemble", "test_bleu_ensemble_lc_intl",
                    "train_minutes", "steps", "best_valid_bleu"):  # fmt: skip
            if key in found:
                metrics[f"{key}_{name}"] = found[key]
        metrics[f"valid_bleu_chosen_{name}"] = found[f"valid_bleu_{extra['model']}"]
        path = write_results(
            "transformer_multi30k_directions",
            configs,
            metrics,
            ("sacrebleu", "sentencepiece"),
            results_dir,
            note=args.note,
            threads={"training": args.threads, "training_processes": args.workers, "evaluation": blas_threads()},
            directions=extras,
            smoke=args.smoke,
        )
        print(json.dumps(metrics, indent=2), f"\nwrote {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

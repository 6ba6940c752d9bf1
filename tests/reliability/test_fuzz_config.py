"""Property tests over config loading: random YAML documents (valid configs mutated at random keys, then their
text corrupted) and random `--set` overrides, against the real config classes. Every outcome is a config that
survives a round trip through YAML, or a ValueError/TypeError whose message is one line naming the file or the
override; never another exception type.

Fuzz budget: EXAMPLES examples per property (ENC2DEC_FUZZ_EXAMPLES, default 40: about 1 s each), derandomized so
that every run checks the same cases; ENC2DEC_FUZZ_RANDOM=1 draws new ones, for a longer search."""

from __future__ import annotations

import copy
import os
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from enc2dec import config
from enc2dec.tasks import autoencoder, forecast, series_autoencoder, translation

EXAMPLES = int(os.environ.get("ENC2DEC_FUZZ_EXAMPLES", "40"))
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # the test's own writing, fast (reading is enc2dec's)


def dump(data: Any, **options: Any) -> str:
    return yaml.dump(data, Dumper=DUMPER, **options)


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("ENC2DEC_FUZZ_RANDOM"),
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],  # no explain phase: slow, and adds nothing here
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


VALID = {  # config class -> a valid document (every field written out, so that mutations reach them all)
    cls: config.to_dict(config.from_dict(cls, doc))
    for cls, doc in {
        translation.TranslationConfig: {
            "task": "translation",
            "model": {"type": "transformer", "model_size": 8, "n_heads": 2},
            "training": {"max_steps": 2},
        },
        autoencoder.AutoencoderRunConfig: {
            "task": "autoencoder",
            "model": {"type": "vae", "input_size": 64},
            "training": {"max_epochs": 1},
        },
        forecast.ForecastConfig: {
            "task": "forecast",
            "model": {"type": "forecaster", "feature_size": 2},
            "training": {"max_steps": 3},
        },
        series_autoencoder.SeriesAutoencoderConfig: {
            "task": "series_autoencoder",
            "model": {"type": "sequence_autoencoder"},
            "training": {"max_steps": 3},
        },
    }.items()
}
CLASSES = list(VALID)


def paths(doc: Any, prefix: str = "") -> list[str]:
    """Every dotted key of a nested mapping, sections and leaves."""
    if not isinstance(doc, dict):
        return []
    out = []
    for key, value in doc.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        out += [dotted, *paths(value, dotted)]
    return out


def check_outcome(load, cls: type, names: tuple[str, ...]) -> Any:
    """load() gives a `cls` or a one-line ValueError/TypeError that starts with one of `names`."""
    try:
        cfg = load()
    except (ValueError, TypeError) as err:
        message = str(err)
        assert message and "\n" not in message, repr(message)
        assert message.startswith(names), f"{message!r} names none of {names}"
        return None
    assert isinstance(cfg, cls)
    text = dump(config.to_dict(cfg))  # what a checkpoint's config.yaml holds reads back the same
    assert dump(config.to_dict(config.from_dict(cls, config.parse_yaml(text, "<dump>")))) == text
    return cfg


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.integers(),
    st.floats(),
    st.text(max_size=8),
    st.sampled_from(["1e-3", "5E+4", "-1", "0", "", "type", "seq2seq", "transformer", "valid_bleu", "nan"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
YAML_CHARS = "abez019.-+_:{}[],#&*!|>'\"%@` \n\t\x00\xff\u00e9"


@st.composite
def documents(draw, cls: type) -> bytes:
    """A valid config with a few keys replaced, deleted or added, dumped, and sometimes its text corrupted."""
    doc = copy.deepcopy(VALID[cls])
    for _ in range(draw(st.integers(0, 3))):
        dotted = draw(st.sampled_from(paths(doc)))
        *parents, last = dotted.split(".")
        node = doc
        for part in parents:
            node = node[part] if isinstance(node, dict) and isinstance(node.get(part), dict) else None
        if node is None or last not in node:
            continue
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            node[last] = draw(values)
        elif action == "delete":
            del node[last]
        else:
            node[draw(st.text(min_size=1, max_size=6))] = draw(values)
    text = dump(doc, allow_unicode=True).encode()
    corruption = draw(st.sampled_from(["none", "none", "truncate", "insert", "duplicate_line", "raw"]))
    if corruption == "truncate":
        text = text[: draw(st.integers(0, len(text)))]
    elif corruption == "insert":
        at = draw(st.integers(0, len(text)))
        text = (
            text[:at] + draw(st.text(YAML_CHARS, min_size=1, max_size=4)).encode("utf-8", "surrogatepass") + text[at:]
        )
    elif corruption == "duplicate_line":
        lines = text.splitlines(keepends=True)
        i = draw(st.integers(0, len(lines) - 1))
        text = b"".join(lines[: i + 1] + [lines[i]] + lines[i + 1 :])
    elif corruption == "raw":
        text = draw(st.binary(max_size=40) | st.text(YAML_CHARS, max_size=60).map(str.encode))
    return text


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@FUZZ
@given(data=st.data())
def test_random_documents_load_or_fail_naming_the_file(tmp_path, cls, data):
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(data.draw(documents(cls)))
    check_outcome(lambda: config.load(path, cls), cls, (str(path),))


@st.composite
def overrides(draw, cls: type) -> list[str]:
    items = []
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(paths(VALID[cls])) | st.text("ab._ =", max_size=8))
        value = draw(
            st.sampled_from(
                [
                    "1e-3",
                    "-1",
                    "0",
                    "true",
                    "null",
                    "[1,",
                    "{a: 1, a: 2}",
                    "1e400",
                    ".nan",
                    "~",
                    "",
                    "x",
                    "!!bool maybe",
                    "!!int ''",
                    "!!timestamp 1",
                    "[[[[[[",
                    "&a [*a]",
                    "'\\x00'",
                ]
            )
            | st.text(YAML_CHARS, max_size=12)
            | values.map(lambda v: dump(v, default_flow_style=True).strip())
        )
        items.append(draw(st.sampled_from([f"{key}={value}", f"{key}={value}", key])))
    return items


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@FUZZ
@given(data=st.data())
def test_random_overrides_apply_or_fail_naming_the_override(tmp_path, cls, data):
    path = tmp_path / "fuzz.yaml"
    path.write_text(dump(VALID[cls]), encoding="utf-8")
    items = data.draw(overrides(cls))
    names = (str(path), *(f"--set {item!r}" for item in items))
    check_outcome(lambda: config.load(path, cls, items), cls, names)


@FUZZ
@given(
    lr=st.floats(min_value=1e-300, max_value=1e300, allow_nan=False, allow_infinity=False),
    style=st.sampled_from(["{!r}", "{:e}", "{:E}", "{:g}", "{:.3e}", "{:+e}"]),
)
def test_a_learning_rate_in_any_float_notation_is_read_as_that_float(tmp_path, lr, style):
    text = style.format(lr)
    path = tmp_path / "lr.yaml"
    path.write_text(f"task: autoencoder\nmodel:\n  type: autoencoder\n  input_size: 4\ntraining:\n  max_steps: 1\n"
                    f"  lr: {text}\n", encoding="utf-8")  # fmt: skip
    run = autoencoder.AutoencoderRunConfig
    assert config.load(path, run).training.lr == float(text)
    assert config.load(path, run, [f"training.lr={text}"]).training.lr == float(text)

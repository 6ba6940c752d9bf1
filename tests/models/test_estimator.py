"""The scikit-learn transformer: scikit-learn's own estimator checks, Pipeline and GridSearchCV."""

from __future__ import annotations

import numpy as np
import pytest

from enc2dec.models.estimator import AutoencoderTransformer

# Checks that cannot apply, with the reason. None: all of scikit-learn's checks pass, except that
# check_array_api_input skips itself unless SCIPY_ARRAY_API=1 (the model computes in NumPy float32 only).
EXPECTED_FAILED: dict[str, str] = {}


def _small(**kw) -> AutoencoderTransformer:
    return AutoencoderTransformer(**{"hidden_sizes": (8,), "epochs": 3, **kw})


def test_sklearn_estimator_checks():
    from sklearn.utils.estimator_checks import check_estimator

    results = check_estimator(_small(), on_fail=None, expected_failed_checks=EXPECTED_FAILED)
    failed = [(r["check_name"], str(r["exception"])) for r in results if r["status"] == "failed"]
    assert not failed, failed
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert skipped <= {"check_array_api_input"}, skipped


def _digits(n: int = 300):
    from sklearn.datasets import load_digits

    digits = load_digits()
    return (digits.data[:n] / 16.0).astype(np.float32), digits.target[:n]


def test_fit_transform_inverse_transform_shapes_and_determinism():
    x, _ = _digits(200)
    est = _small(context_size=3, loss="bce", activation="relu")
    codes = est.fit_transform(x)
    assert codes.shape == (200, 3) and codes.dtype == np.float32
    recon = est.inverse_transform(codes)
    assert recon.shape == x.shape and recon.min() >= 0 and recon.max() <= 1
    np.testing.assert_array_equal(_small(context_size=3, loss="bce", activation="relu").fit(x).transform(x), codes)
    assert est.get_params()["context_size"] == 3
    assert est.set_params(context_size=4).context_size == 4


def test_pipeline_and_grid_search():
    from sklearn.model_selection import GridSearchCV
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import Pipeline

    x, y = _digits(300)
    pipe = Pipeline([("ae", _small(epochs=5)), ("knn", KNeighborsClassifier(5))])
    grid = GridSearchCV(pipe, {"ae__context_size": [2, 8]}, cv=2).fit(x, y)
    assert grid.best_params_["ae__context_size"] in (2, 8)
    assert 0.0 <= grid.score(x, y) <= 1.0
    search = GridSearchCV(_small(epochs=5), {"kind": ["plain", "vae"]}, cv=2).fit(x)
    assert search.best_score_ < 0  # negative reconstruction error


@pytest.mark.parametrize("kind", ["denoising", "sparse", "contractive", "vae"])
def test_every_kind_fits(kind):
    x, _ = _digits(100)
    est = _small(kind=kind, activation="sigmoid", context_activation="sigmoid", loss="bce")
    assert est.fit_transform(x).shape == (100, 2)
    assert est.score(x) < 0


def test_bce_rejects_features_outside_unit_interval():
    with pytest.raises(ValueError, match=r"loss='bce' needs features in \[0, 1\]"):
        _small(loss="bce").fit(np.full((10, 3), 2.0))


def test_inverse_transform_checks_the_code_width():
    est = _small().fit(_digits(50)[0])
    with pytest.raises(ValueError, match="X must have 2 columns"):
        est.inverse_transform(np.zeros((3, 5)))

"""The scikit-learn transformer: scikit-learn's own estimator checks, Pipeline and GridSearchCV."""

from __future__ import annotations

import numpy as np
import pytest

from enc2dec.tasks.estimator import AutoencoderTransformer

# Checks that cannot apply, with the reason. None: all of scikit-learn's checks pass, except that
# check_array_api_input skips itself unless SCIPY_ARRAY_API=1 (the model computes in NumPy only). The model
# computes in X's float dtype, so float64 checks (check_methods_subset_invariance at rtol 1e-7) hold on any BLAS.
EXPECTED_FAILED: dict[str, str] = {}


def _small(**kw) -> AutoencoderTransformer:
    return AutoencoderTransformer(**{"hidden_sizes": (8,), "epochs": 3, **kw})


def _trained(**kw) -> AutoencoderTransformer:
    """Enough training (tanh, 16 hidden units, lr 1e-2) to beat the mean-image baseline on 100-300 digits."""
    return AutoencoderTransformer(**{"hidden_sizes": (16,), "lr": 1e-2, "batch_size": 20, "epochs": 30, **kw})


def test_sklearn_estimator_checks():
    from sklearn.utils.estimator_checks import check_estimator

    results = check_estimator(_small(), on_fail=None, expected_failed_checks=EXPECTED_FAILED)
    failed = [(r["check_name"], str(r["exception"])) for r in results if r["status"] == "failed"]
    assert not failed, failed
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert skipped <= {"check_array_api_input"}, skipped


def _digits(n: int = 300, start: int = 0):
    from sklearn.datasets import load_digits

    digits = load_digits()
    return (digits.data[start : start + n] / 16.0).astype(np.float32), digits.target[start : start + n]


def _mean_baseline_mse(train: np.ndarray, test: np.ndarray) -> float:
    """The reconstruction error of always answering the training set's mean image."""
    return float(np.mean((test - train.mean(axis=0)) ** 2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_computes_in_the_float_dtype_of_x(dtype):
    x = _digits(50)[0].astype(dtype)
    est = _small().fit(x)
    assert {p.value.dtype for p in est.model_.parameters()} == {np.dtype(dtype)}
    assert est.transform(x).dtype == dtype and est.inverse_transform(est.transform(x)).dtype == dtype
    # input of the other float dtype: computed in the model's dtype, returned in the input's
    other = np.float64 if dtype == np.float32 else np.float32
    np.testing.assert_allclose(est.transform(x.astype(other)), est.transform(x), rtol=1e-4, atol=1e-5)
    assert est.transform(x.astype(other)).dtype == other


def test_fit_transform_inverse_transform_shapes_and_determinism():
    x, _ = _digits(200)
    est = _small(context_size=3, model_params={"loss": "bce", "activation": "relu"})
    codes = est.fit_transform(x)
    assert codes.shape == (200, 3) and codes.dtype == np.float32
    recon = est.inverse_transform(codes)
    assert recon.shape == x.shape and recon.min() >= 0 and recon.max() <= 1
    np.testing.assert_array_equal(
        _small(context_size=3, model_params={"loss": "bce", "activation": "relu"}).fit(x).transform(x), codes
    )


def test_round_trip_beats_the_mean_image_on_held_out_digits():
    x, _ = _digits(200)
    x_test, _ = _digits(100, start=200)
    est = _trained(context_size=3).fit(x)
    error = float(np.mean((est.inverse_transform(est.transform(x_test)) - x_test) ** 2))
    assert error == pytest.approx(-est.score(x_test), rel=1e-5)  # score is the negative round-trip error
    assert error < 0.8 * _mean_baseline_mse(x, x_test)  # 0.57-0.61 over seeds 0-2


def _cv_means(estimator, grid: dict, x, y, cv) -> dict:
    """Mean held-out score of each setting over cv's folds, computed without GridSearchCV."""
    from sklearn.base import clone

    ((name, values),) = grid.items()
    means = {}
    for value in values:
        scores = []
        for train, test in cv.split(x, y):
            model = clone(estimator).set_params(**{name: value}).fit(x[train], None if y is None else y[train])
            scores.append(model.score(x[test], None if y is None else y[test]))
        means[value] = float(np.mean(scores))
    return means


def test_grid_search_picks_the_context_size_with_the_better_held_out_accuracy():
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import Pipeline

    x, y = _digits(300)
    x_test, y_test = _digits(200, start=300)
    pipe = Pipeline([("ae", _trained(epochs=5)), ("knn", KNeighborsClassifier(5))])
    grid = {"ae__context_size": [1, 8]}
    search = GridSearchCV(pipe, grid, cv=2).fit(x, y)
    means = _cv_means(pipe, grid, x, y, StratifiedKFold(2))  # GridSearchCV's cv=2 for a classifier
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], [means[1], means[8]], rtol=1e-6)
    assert search.best_params_ == {"ae__context_size": max(means, key=means.get)}
    assert means[8] > means[1] + 0.2  # 8 numbers keep far more of the class than 1 (0.72-0.80 vs 0.12-0.16, seeds 0-2)
    assert search.score(x_test, y_test) > 0.6  # the refitted pipeline on unseen digits (0.78-0.82; chance 0.1)


def test_grid_search_picks_the_kind_with_the_better_held_out_reconstruction():
    from sklearn.model_selection import GridSearchCV, KFold

    x, _ = _digits(300)
    est = _trained(epochs=5)
    grid = {"model": ["autoencoder", "vae"]}
    search = GridSearchCV(est, grid, cv=2).fit(x)
    means = _cv_means(est, grid, x, None, KFold(2))
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], [means["autoencoder"], means["vae"]], rtol=1e-6)
    assert search.best_params_ == {"model": max(means, key=means.get)}
    assert search.best_score_ == pytest.approx(max(means.values()), rel=1e-6)


@pytest.mark.parametrize("model", ["denoising_autoencoder", "sparse_autoencoder", "contractive_autoencoder", "vae"])
def test_every_kind_beats_the_mean_image(model):
    x, _ = _digits(100)
    est = _trained(model=model, model_params={"loss": "bce"}, epochs=40)
    assert est.fit_transform(x).shape == (100, 2)
    assert -est.score(x) < 0.92 * _mean_baseline_mse(x, x)  # 0.70-0.85 over seeds 0-2


def test_bce_rejects_features_outside_unit_interval():
    with pytest.raises(ValueError, match=r"binary cross-entropy \(Bernoulli\) likelihood needs features in \[0, 1\]"):
        _small(model_params={"loss": "bce"}).fit(np.full((10, 3), 2.0))


def test_another_types_fields_are_refused_by_name():
    with pytest.raises(ValueError, match="model.beta is not a SparseConfig field"):
        _small(model="sparse_autoencoder", model_params={"beta": 2.0}).fit(np.zeros((10, 3)))
    with pytest.raises(ValueError, match=r"model.type must be one of \['autoencoder'"):
        _small(model="pca").fit(np.zeros((10, 3)))


def test_inverse_transform_checks_the_code_width():
    est = _small().fit(_digits(50)[0])
    with pytest.raises(ValueError, match="X must have 2 columns"):
        est.inverse_transform(np.zeros((3, 5)))

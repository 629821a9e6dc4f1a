import math

import numpy as np
import pytest
import scipy.linalg
import torch

from lecturekit.data import load_digits, toy_distribution
from lecturekit.metrics import (evaluate_samples, feature_statistics, fid, frechet_distance, inception_score, kid,
                                mode_baselines, mode_coverage, train_digit_classifier)
from same_model import assert_same_model


def sqrtm_reference(mu1, s1, mu2, s2):
    """The direct computation with scipy.linalg.sqrtm, as pytorch-fid does it."""
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def random_statistics(rng, d, n):
    data = rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + rng.normal(size=d)
    return data.mean(0), np.cov(data.T)


@pytest.mark.parametrize("d", [2, 10, 50])
def test_frechet_distance_equals_the_sqrtm_computation(d):
    rng = np.random.default_rng(d)
    mu1, s1 = random_statistics(rng, d, 500)
    mu2, s2 = random_statistics(rng, d, 500)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(sqrtm_reference(mu1, s1, mu2, s2), rel=1e-8)


def test_frechet_distance_is_zero_for_identical_statistics_and_symmetric():
    rng = np.random.default_rng(0)
    mu1, s1 = random_statistics(rng, 20, 300)
    mu2, s2 = random_statistics(rng, 20, 300)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-8)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(frechet_distance(mu2, s2, mu1, s1), rel=1e-10)


def test_frechet_distance_in_one_dimension_is_the_closed_form():
    # N(m1, s1^2) and N(m2, s2^2): (m1 - m2)^2 + (s1 - s2)^2
    got = frechet_distance([1.0], [[4.0]], [-0.5], [[0.25]])
    assert got == pytest.approx((1.0 + 0.5) ** 2 + (2.0 - 0.5) ** 2)


def test_frechet_distance_with_singular_covariances_is_real_and_non_negative():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(10, 40)), rng.normal(size=(10, 40)) + 0.1  # fewer samples than dimensions
    got = fid(a, b)
    assert isinstance(got, float) and math.isfinite(got) and got >= 0
    assert got == pytest.approx(sqrtm_reference(a.mean(0), np.cov(a.T), b.mean(0), np.cov(b.T)), rel=1e-6)
    assert fid(a, a) == pytest.approx(0.0, abs=1e-6)


def low_rank_statistics(rng, d, rank):
    """A mean and a covariance of rank `rank` < d, exactly: S = A A^T with A of shape (d, rank)."""
    a = rng.normal(size=(d, rank))
    return rng.normal(size=d), a @ a.T


@pytest.mark.parametrize("rank1, rank2", [(5, 30), (30, 5), (5, 8), (29, 30)])
def test_frechet_distance_with_rank_deficient_covariances_matches_the_eigenvalues_of_their_product(rank1, rank2):
    """Each route: S1 positive definite (its Cholesky factor), only S2 (its factor), neither (S1^(1/2)).
    The reference is independent of both: tr((S1 S2)^{1/2}) as the sum of the square roots of the
    eigenvalues of S1 S2, computed by numpy's general (non-symmetric) eigenvalue solver."""
    rng = np.random.default_rng(rank1 * 100 + rank2)
    d = 30
    (mu1, s1), (mu2, s2) = low_rank_statistics(rng, d, rank1), low_rank_statistics(rng, d, rank2)
    eigenvalues = np.linalg.eigvals(s1 @ s2).real.clip(min=0)
    expected = ((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(eigenvalues).sum()
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)
    assert frechet_distance(mu2, s2, mu1, s1) == pytest.approx(expected, rel=1e-8)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-8 * np.trace(s1))


@pytest.mark.parametrize("d, n", [(64, 500), (256, 2000)])
def test_frechet_distance_of_feature_sets_equals_the_sqrtm_computation(d, n):
    """Covariances of feature sets, as fid computes them, at sizes closer to the benchmark's."""
    rng = np.random.default_rng(d)
    mu1, s1 = random_statistics(rng, d, n)
    mu2, s2 = random_statistics(rng, d, n)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(sqrtm_reference(mu1, s1, mu2, s2), rel=1e-8)


def test_fid_keeps_float64_resolution():
    """Features 10000 +- 0.001: in float32 (spacing 0.001 there) they would collapse onto a few values.
    FID does not change when every feature moves by the same vector. (KID's float64 input is checked
    against scikit-learn's kernel above, to 1e-10.)"""
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(300, 4)), rng.normal(size=(200, 4)) * 1.3 + 0.5
    shifted_a, shifted_b = 10_000 + 1e-3 * a, 10_000 + 1e-3 * b
    assert fid(shifted_a, shifted_b) == pytest.approx(1e-6 * fid(a, b), rel=1e-6)
    mu, sigma = feature_statistics(shifted_a)
    np.testing.assert_allclose(sigma.numpy(), np.cov(shifted_a.T), rtol=1e-9)


def test_inception_score_limits():
    identical = torch.full((100, 10), 0.1)
    assert inception_score(identical, splits=5)[0] == pytest.approx(1.0)
    confident = torch.eye(10).repeat(400, 1)  # one-hot, spread evenly over 10 classes
    mean, std = inception_score(confident, splits=5)
    assert mean == pytest.approx(10.0, rel=0.01) and std < 0.05
    sorted_by_class = torch.eye(10).repeat_interleave(400, dim=0)  # the order must not matter
    assert inception_score(sorted_by_class, splits=5)[0] == pytest.approx(10.0, rel=0.01)
    one_class = torch.zeros(100, 10)
    one_class[:, 3] = 1
    assert inception_score(one_class, splits=5)[0] == pytest.approx(1.0)


def test_inception_score_makes_as_many_parts_as_asked_when_they_do_not_divide_n():
    """21 samples, one class each: a part of m samples scores exactly m. Ten parts at the boundaries
    i * 21 // 10 hold 2 samples (nine of them) and 3 (the last): mean 2.1, std 0.3."""
    mean, std = inception_score(torch.eye(21), splits=10)
    assert mean == pytest.approx(2.1) and std == pytest.approx(0.3)


def torch_fidelity_inception_score(probs, order, splits):
    """The loop of torch-fidelity's isc (version 0.4), rewritten in numpy: the parts are the rows
    order[i * n // splits : (i + 1) * n // splits]."""
    probs, n = probs[order], len(probs)
    scores = []
    for i in range(splits):
        part = probs[i * n // splits:(i + 1) * n // splits]
        kl = (part * (np.log(part) - np.log(part.mean(axis=0, keepdims=True)))).sum(axis=1)
        scores.append(np.exp(kl.mean()))
    return np.mean(scores), np.std(scores)


@pytest.mark.parametrize("n, splits", [(21, 10), (450, 10), (103, 7)])
def test_inception_score_matches_torch_fidelitys_parts(n, splits):
    rng = np.random.default_rng(n)
    logits = 3 * rng.normal(size=(n, 10))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(0)).numpy()  # the fixed order of the docstring
    expected = torch_fidelity_inception_score(probs, order, splits)
    assert inception_score(probs, splits) == pytest.approx(expected, rel=1e-12)


def test_kid_is_unbiased_near_zero_for_one_distribution():
    rng = np.random.default_rng(0)
    values = [kid(rng.normal(size=(n, 8)), rng.normal(size=(n, 8))) for n in (20, 200, 1000) for _ in range(5)]
    assert abs(np.mean(values)) < 0.01
    assert kid(rng.normal(size=(200, 8)), rng.normal(size=(200, 8)) + 1.0) > 0.1


@pytest.mark.parametrize("m, n", [(30, 30), (40, 25)])
def test_kid_is_the_unbiased_mmd_with_scikit_learns_cubic_kernel(m, n):
    from sklearn.metrics.pairwise import polynomial_kernel
    rng = np.random.default_rng(m + n)
    a, b = rng.exponential(size=(m, 6)), rng.exponential(size=(n, 6)) + 0.3  # sets of unequal size and mean
    k_aa, k_bb, k_ab = (polynomial_kernel(u, v, degree=3, gamma=1 / 6, coef0=1) for u, v in [(a, a), (b, b), (a, b)])
    expected = ((k_aa.sum() - np.trace(k_aa)) / (m * (m - 1)) + (k_bb.sum() - np.trace(k_bb)) / (n * (n - 1))
                - 2 * k_ab.mean())
    assert kid(a, b) == pytest.approx(expected, rel=1e-10)
    assert kid(a, b) == pytest.approx(kid(b, a), rel=1e-10)


def test_kid_estimates_the_mmd_without_bias_where_the_plug_in_estimate_is_biased():
    # two samples of one distribution: the biased estimate (the diagonal kept) is positive on average
    rng = np.random.default_rng(1)
    unbiased, biased = [], []
    for _ in range(200):
        a, b = rng.normal(size=(10, 4)), rng.normal(size=(10, 4))
        k_aa, k_bb, k_ab = ((u @ v.T / 4 + 1) ** 3 for u, v in [(a, a), (b, b), (a, b)])
        biased.append(k_aa.mean() + k_bb.mean() - 2 * k_ab.mean())
        unbiased.append(kid(a, b))
    standard_error = np.std(unbiased) / np.sqrt(len(unbiased))
    assert abs(np.mean(unbiased)) < 3 * standard_error
    assert np.mean(biased) > 10 * standard_error


def test_fid_of_a_set_shrinks_towards_its_floor_with_more_samples():
    rng = np.random.default_rng(0)
    small = np.mean([fid(rng.normal(size=(50, 8)), rng.normal(size=(50, 8))) for _ in range(5)])
    large = np.mean([fid(rng.normal(size=(2000, 8)), rng.normal(size=(2000, 8))) for _ in range(5)])
    assert small > 5 * large


def test_feature_statistics_match_numpy():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(30, 4))
    mu, sigma = feature_statistics(data)
    np.testing.assert_allclose(mu.numpy(), data.mean(0))
    np.testing.assert_allclose(sigma.numpy(), np.cov(data.T))


def test_digit_classifier_is_deterministic_accurate_and_leaves_the_global_rng():
    x, y = load_digits("train")
    x_test, y_test = load_digits("test")
    state = torch.get_rng_state()
    a, b = train_digit_classifier(x, y), train_digit_classifier(x, y)
    assert torch.equal(torch.get_rng_state(), state)
    assert_same_model(a, b, x_test)  # the same seed on the same machine trains the same weights
    assert (a(x_test).argmax(1) == y_test).float().mean() > 0.95
    real = evaluate_samples(x_test[:200], x_test[200:], a)
    noise = evaluate_samples(torch.randint(0, 17, (200, 64)) / 16, x_test[200:], a)
    ones = evaluate_samples(x[y == 1][:100], x_test[200:], a)
    assert real["fid"] < noise["fid"] / 10 and real["kid"] < noise["kid"] / 10
    assert real["inception_score"] > 3 * ones["inception_score"]


def test_bad_input():
    with pytest.raises(ValueError, match="same width"):
        fid(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="at least 2"):
        fid(np.zeros((1, 3)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="same width"):
        kid(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="probability distribution"):
        inception_score(torch.full((40, 4), 0.5), splits=2)
    with pytest.raises(ValueError, match="n >= 2"):
        inception_score(torch.full((3, 4), 0.25), splits=2)
    with pytest.raises(ValueError, match="shape"):
        frechet_distance([0.0, 0.0], np.eye(2), [0.0], np.eye(1))


def features_with(value):
    x = np.random.default_rng(0).normal(size=(20, 3))
    x[4, 2] = value
    return x


FEATURES = np.random.default_rng(1).normal(size=(20, 3))


@pytest.mark.parametrize("function", [fid, kid])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_fid_and_kid_refuse_nan_or_inf_naming_the_set(function, value):
    with pytest.raises(ValueError, match="features_a must be finite"):
        function(features_with(value), FEATURES)
    with pytest.raises(ValueError, match="features_b must be finite"):
        function(FEATURES, torch.as_tensor(features_with(value)))


@pytest.mark.parametrize("function", [fid, kid])
def test_fid_and_kid_refuse_a_non_array_naming_it(function):
    with pytest.raises(TypeError, match="features_a must be a tensor or an array, got float"):
        function(1.0, FEATURES)
    with pytest.raises(TypeError, match="features_b must be a tensor or an array, got NoneType"):
        function(FEATURES, None)


STATISTICS = dict(mu1=np.zeros(3), sigma1=np.eye(3), mu2=np.ones(3), sigma2=2 * np.eye(3))


@pytest.mark.parametrize("name", STATISTICS)
@pytest.mark.parametrize("bad, error, match", [(1.0, TypeError, "must be a tensor or an array, got float"),
                                                ("abc", TypeError, "must be a tensor or an array, got str"),
                                                (np.nan, ValueError, "must be finite")])
def test_frechet_distance_refuses_a_bad_argument_naming_it(name, bad, error, match):
    value = STATISTICS[name].copy()
    if isinstance(bad, float) and math.isnan(bad):
        value.flat[0] = bad
    else:
        value = bad
    with pytest.raises(error, match=f"{name} {match}"):
        frechet_distance(**{**STATISTICS, name: value})


@pytest.mark.parametrize("name", ["sigma1", "sigma2"])
@pytest.mark.parametrize("sigma, match", [
    (-np.eye(3), "positive semi-definite"),
    (np.diag([1.0, 1.0, -0.01]), "positive semi-definite"),
    (np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]), "symmetric"),
    (np.eye(2), r"shape \(d, d\) = \(3, 3\)"),
])
def test_frechet_distance_refuses_what_is_not_a_covariance(name, sigma, match):
    with pytest.raises(ValueError, match=f"{name} must .*{match}"):
        frechet_distance(**{**STATISTICS, name: sigma})


def test_frechet_distance_accepts_a_singular_covariance_with_rounding_below_zero():
    """A float32 covariance of fewer samples than dimensions has eigenvalues a little below 0."""
    features = torch.randn(10, 40, generator=torch.Generator().manual_seed(0))
    sigma = torch.cov(features.T)
    assert torch.linalg.eigvalsh(sigma.double())[0] < 0
    assert frechet_distance(features.mean(0), sigma, features.mean(0), sigma) == pytest.approx(0.0, abs=1e-4)


@pytest.mark.parametrize("probs, error, match", [
    (1.0, TypeError, "probs must be a tensor or an array, got float"),
    (torch.full((40, 4), float("nan")), ValueError, "probs must be finite"),
    (torch.full((40, 4), float("inf")), ValueError, "probs must be finite"),
])
def test_inception_score_refuses_bad_probabilities_naming_them(probs, error, match):
    with pytest.raises(error, match=match):
        inception_score(probs, splits=2)


def test_strict_modes_score_uniform_noise_zero_and_the_true_grid_all():
    from lecturekit.data import toy_distribution
    from lecturekit.metrics import mode_coverage
    grid = toy_distribution("grid")
    generator = torch.Generator().manual_seed(0)
    low, high = grid.centers.min(0).values - 3 * grid.std, grid.centers.max(0).values + 3 * grid.std
    noise = low + (high - low) * torch.rand(2500, 2, generator=generator)
    on_noise = mode_coverage(noise, grid.centers, grid.std)
    assert on_noise["modes"] >= 15 and on_noise["modes_strict"] == 0  # "modes" is fooled, "modes_strict" is not
    assert mode_coverage(grid.sample(2500, generator), grid.centers, grid.std)["modes_strict"] == 25
    # the threshold: 0.1 * 2500 / 25 = 10 high-quality samples; 9 on one mode (the rest far away) is not enough
    far = torch.full((2500, 2), 100.0)
    for n_on_mode, strict in [(9, 0), (10, 1)]:
        far[:n_on_mode] = grid.centers[0]
        assert mode_coverage(far, grid.centers, grid.std)["modes_strict"] == strict


@pytest.mark.parametrize("samples, centers, std, match", [
    (torch.zeros(5), torch.zeros(3, 2), 0.1, "samples must have shape"),
    (torch.zeros(5, 2), torch.zeros(3, 3), 0.1, "same d"),
    (torch.zeros(5, 2), torch.zeros(3, 2), 0.0, "std must be positive"),
])
def test_mode_coverage_rejects_bad_input(samples, centers, std, match):
    with pytest.raises(ValueError, match=match):
        mode_coverage(samples, centers, std)


@pytest.mark.parametrize("name", ["ring", "grid"])
def test_mode_baselines_score_as_their_definitions_say(name):
    distribution = toy_distribution(name)
    k = len(distribution.centers)
    baselines = mode_baselines(distribution, n=5000, generator=torch.Generator().manual_seed(0))
    scores = {label: mode_coverage(x, distribution.centers, distribution.std) for label, x in baselines.items()}
    assert scores["true samples"]["modes_strict"] == k
    assert scores["uniform noise on the box"]["modes_strict"] == 0 == scores["one Gaussian fitted"]["modes_strict"]
    deleted = scores["one mode deleted"]
    assert deleted["modes"] == deleted["modes_strict"] == k - 1
    # the high-quality samples spread evenly over k - 1 of k modes: KL = ln(k / (k - 1))
    assert deleted["reverse_kl"] == pytest.approx(math.log(k / (k - 1)), abs=0.01)


def test_the_fitted_gaussian_has_the_mixtures_mean_and_covariance():
    grid = toy_distribution("grid")
    mixture = grid.sample(200_000, torch.Generator().manual_seed(1))
    gaussian = mode_baselines(grid, n=200_000, generator=torch.Generator().manual_seed(2))["one Gaussian fitted"]
    torch.testing.assert_close(gaussian.mean(0), mixture.mean(0), atol=0.03, rtol=0)
    torch.testing.assert_close(torch.cov(gaussian.T), torch.cov(mixture.T), atol=0.05, rtol=0.01)


def test_mode_baselines_need_a_mixture():
    with pytest.raises(ValueError, match="mixture of at least 2 Gaussian modes"):
        mode_baselines(toy_distribution("moons"))

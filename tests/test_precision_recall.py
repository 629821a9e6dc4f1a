"""Precision/recall, density/coverage and the memorisation check of lecture 11, on sets whose
answers are known and against a brute-force implementation with scipy."""
import numpy as np
import pytest
from scipy.spatial.distance import cdist

from lecturekit.metrics import density_coverage, nearest_neighbour_ratio, precision_recall


def uniform(rng, n, width=1.0):
    """n points uniform on [0, width] x [0, 1]."""
    return rng.uniform(size=(n, 2)) * [width, 1.0]


def brute_force(real, fake, k):
    """The four numbers by their definitions, one point at a time: precision and recall with closed
    balls (<=, Kynkaanniemi et al.'s code), density and coverage with open ones (<, Naeem et al.'s code)."""
    d_rr, d_ff, d_rf = cdist(real, real), cdist(fake, fake), cdist(real, fake)
    r_real = np.sort(d_rr, axis=1)[:, k]
    r_fake = np.sort(d_ff, axis=1)[:, k]
    precision = np.mean([any(d_rf[i, j] <= r_real[i] for i in range(len(real))) for j in range(len(fake))])
    recall = np.mean([any(d_rf[i, j] <= r_fake[j] for j in range(len(fake))) for i in range(len(real))])
    counts = [sum(d_rf[i, j] < r_real[i] for i in range(len(real))) for j in range(len(fake))]
    density = sum(counts) / (k * len(fake))
    coverage = np.mean([any(d_rf[i, j] < r_real[i] for j in range(len(fake))) for i in range(len(real))])
    return precision, recall, density, coverage


@pytest.mark.parametrize("k", [1, 3, 5])
def test_the_four_numbers_match_a_brute_force_implementation(k):
    rng = np.random.default_rng(k)
    real, fake = rng.normal(size=(80, 5)), rng.normal(size=(60, 5)) * 1.3 + 0.4
    ours = (*precision_recall(real, fake, k), *density_coverage(real, fake, k))
    assert ours == pytest.approx(brute_force(real, fake, k), abs=1e-12)
    assert 0 < ours[0] < 1 and 0 < ours[3] < 1   # precision and coverage are not at a trivial end


@pytest.mark.parametrize("k", [1, 3, 5])
def test_points_on_a_balls_edge_count_as_the_reference_codes_count_them(k):
    """Integer points: many distances tie with a radius, where <= and < give different answers."""
    rng = np.random.default_rng(10 + k)
    real, fake = rng.integers(0, 4, size=(60, 2)).astype(float), rng.integers(0, 5, size=(50, 2)).astype(float)
    ours = (*precision_recall(real, fake, k), *density_coverage(real, fake, k))
    assert ours == pytest.approx(brute_force(real, fake, k), abs=1e-12)
    radius = np.sort(cdist(real, real), axis=1)[:, k]
    assert (cdist(real, fake) == radius[:, None]).sum() > 10   # the ties are there to be counted


@pytest.mark.parametrize("k", [3, 5])
def test_a_copy_of_the_real_set_scores_density_one_and_full_marks(k):
    """Each open ball holds its centre and the k - 1 neighbours nearer than the k-th: k of the M = N samples."""
    real = uniform(np.random.default_rng(k), 500)
    assert precision_recall(real, real.copy(), k) == (1.0, 1.0)
    density, coverage = density_coverage(real, real.copy(), k)
    assert coverage == 1.0
    assert density == pytest.approx(1.0, abs=1e-12)


def test_a_copy_of_an_integer_grid_has_the_density_counted_by_hand():
    """An m x m grid, k = 3, open balls: an inner or edge point has its 3rd neighbour at distance 1,
    tied with its nearest, so its ball holds only itself; a corner's 3rd neighbour is the diagonal
    one at sqrt(2), so its ball holds itself and its two neighbours at distance 1. Density is
    ((m^2 - 4) + 4 * 3) / (3 m^2); with closed balls it would be above 1."""
    m = 5
    grid = np.array([(i, j) for i in range(m) for j in range(m)], dtype=float)
    density, coverage = density_coverage(grid, grid.copy(), k=3)
    assert density == pytest.approx((m**2 + 8) / (3 * m**2), abs=1e-12)
    assert coverage == 1.0


def test_a_fake_set_on_half_the_support_has_full_precision_and_half_the_recall():
    rng = np.random.default_rng(1)
    real, fake = uniform(rng, 3000), uniform(rng, 3000, width=0.5)
    precision, recall = precision_recall(real, fake)
    density, coverage = density_coverage(real, fake)
    assert precision > 0.97 and recall == pytest.approx(0.5, abs=0.05)
    assert coverage == pytest.approx(0.5, abs=0.05) and density == pytest.approx(1.0, abs=0.15)


def test_disjoint_sets_score_zero():
    rng = np.random.default_rng(2)
    real, fake = uniform(rng, 400), uniform(rng, 400) + 5.0
    assert precision_recall(real, fake) == (0.0, 0.0)
    assert density_coverage(real, fake) == (0.0, 0.0)


def test_an_outlier_sample_inflates_recall_but_not_coverage():
    """Naeem et al. (2020): a far-off sample gets a huge k-NN ball in the fake set, which recall counts."""
    rng = np.random.default_rng(3)
    real, fake = uniform(rng, 1000), uniform(rng, 1000, width=0.3)
    fake_with_outlier = np.concatenate([fake, [[1.5, 0.5]]])   # its ball reaches back to the others, x = 0.3
    assert precision_recall(real, fake_with_outlier)[1] > precision_recall(real, fake)[1] + 0.3
    assert density_coverage(real, fake_with_outlier)[1] == density_coverage(real, fake)[1]


def test_precision_recall_density_coverage_keep_float64_resolution():
    """Features 10000 +- 0.001: in float32 (spacing 0.001) they would collapse onto a few values."""
    rng = np.random.default_rng(5)
    real, fake = rng.normal(size=(200, 3)), rng.normal(size=(150, 3)) * 1.2 + 0.3
    for k in (3, 5):
        centred = (*precision_recall(real, fake, k), *density_coverage(real, fake, k))
        shifted = (*precision_recall(10_000 + 1e-3 * real, 10_000 + 1e-3 * fake, k),
                   *density_coverage(10_000 + 1e-3 * real, 10_000 + 1e-3 * fake, k))
        assert shifted == pytest.approx(centred, abs=1e-12)
    train, test, samples = (10_000 + 1e-3 * rng.normal(size=(n, 3)) for n in (300, 101, 101))
    expected = (np.median(cdist(samples, train).min(axis=1)) / np.median(cdist(test, train).min(axis=1)))
    assert nearest_neighbour_ratio(samples, train, test) == pytest.approx(expected, rel=1e-6)


def test_the_memorisation_ratio_takes_the_usual_median_of_an_even_number_of_distances():
    train = np.zeros((1, 2))
    samples = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [4.0, 0.0]])   # distances 1, 2, 3, 4: median 2.5
    test = np.array([[0.0, 1.0], [0.0, 3.0]])                              # distances 1, 3: median 2
    assert nearest_neighbour_ratio(samples, train, test) == pytest.approx(2.5 / 2)
    rng = np.random.default_rng(6)
    train, test, samples = rng.normal(size=(400, 4)), rng.normal(size=(500, 4)), rng.normal(size=(500, 4)) * 1.1
    expected = np.median(cdist(samples, train).min(axis=1)) / np.median(cdist(test, train).min(axis=1))
    assert nearest_neighbour_ratio(samples, train, test) == pytest.approx(expected, rel=1e-12)


def test_the_memorisation_check_flags_a_copy_and_not_a_fresh_draw():
    rng = np.random.default_rng(4)
    train, test, fresh = rng.normal(size=(1000, 8)), rng.normal(size=(500, 8)), rng.normal(size=(500, 8))
    copy = train[rng.choice(1000, 500, replace=False)]
    assert nearest_neighbour_ratio(copy, train, test) == 0.0
    assert nearest_neighbour_ratio(fresh, train, test) == pytest.approx(1.0, abs=0.1)
    assert nearest_neighbour_ratio(fresh + 2.0, train, test) > 1.5


@pytest.mark.parametrize("call, match", [
    (lambda: precision_recall(np.zeros(10), np.zeros((10, 2))), "real must have shape"),
    (lambda: precision_recall(np.zeros((10, 2)), np.zeros((10, 3))), "real and fake must have the same width"),
    (lambda: precision_recall(np.zeros((10, 2)), np.zeros((3, 2)), k=3), r"k must be smaller than the number of rows of fake \(3\)"),
    (lambda: density_coverage(np.zeros((5, 2)), np.zeros((10, 2)), k=5), r"rows of real \(5\)"),
    (lambda: density_coverage(np.zeros((10, 2)), np.zeros((10, 2)), k=0), "k must be in"),
    (lambda: nearest_neighbour_ratio(np.zeros((4, 2)), np.zeros((4, 3)), np.zeros((4, 2))), "samples and train"),
    (lambda: nearest_neighbour_ratio(np.zeros((4, 2)), np.zeros((4, 2)), np.zeros((4, 3))), "samples and test"),
    (lambda: nearest_neighbour_ratio(np.ones((4, 2)), np.zeros((4, 2)), np.zeros((4, 2))), "test must be held-out"),
])
def test_bad_input_is_refused_naming_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def with_value(value, where=(3, 1), shape=(10, 2)):
    x = np.random.default_rng(0).normal(size=shape)
    x[where] = value
    return x


GOOD = np.random.default_rng(1).normal(size=(10, 2))
FUNCTIONS = {"precision_recall": (precision_recall, ("real", "fake")),
             "density_coverage": (density_coverage, ("real", "fake")),
             "nearest_neighbour_ratio": (nearest_neighbour_ratio, ("samples", "train", "test"))}


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_features_are_refused_naming_the_argument(function, value):
    call, names = FUNCTIONS[function]
    for position, name in enumerate(names):
        arguments = [GOOD] * len(names)
        arguments[position] = with_value(value)
        with pytest.raises(ValueError, match=f"{name} must be finite"):
            call(*arguments)


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("bad, error, match", [(1.0, TypeError, "must be a tensor or an array, got float"),
                                                ("abc", TypeError, "must be a tensor or an array, got str"),
                                                ([["a", "b"]], TypeError, "must hold numbers")])
def test_a_non_array_is_refused_naming_the_argument(function, bad, error, match):
    call, names = FUNCTIONS[function]
    for position, name in enumerate(names):
        arguments = [GOOD] * len(names)
        arguments[position] = bad
        with pytest.raises(error, match=f"{name} {match}"):
            call(*arguments)

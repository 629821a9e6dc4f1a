import subprocess
import sys

import numpy as np
import pytest
import sklearn.datasets
import torch

from lecturekit import data
from lecturekit.data import (TOY_DISTRIBUTIONS, load_digits, sample_toy, to_counts,
                             toy_distribution)


def test_digits_are_counts_over_16_in_unit_interval():
    x, y = load_digits("all")
    raw = sklearn.datasets.load_digits()
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    assert x.shape == (1797, 64) and 0 <= x.min() and x.max() <= 1
    assert torch.equal(to_counts(x), torch.tensor(raw.data, dtype=torch.int64))
    assert torch.equal(y, torch.tensor(raw.target))


def test_digits_load_without_importing_scikit_learn():
    code = "import sys; from lecturekit.data import load_digits; load_digits(); print('sklearn' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "False"


def test_digits_fall_back_to_scikit_learns_loader_where_the_file_has_moved(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "_digits_file", lambda: tmp_path / "no-such-file.csv.gz")
    counts, labels = data._read_digits()
    raw = sklearn.datasets.load_digits()
    assert counts.dtype == labels.dtype == np.int64
    assert np.array_equal(counts, raw.data) and np.array_equal(labels, raw.target)


def test_split_is_fixed_stratified_and_partitions_the_data():
    x_train, y_train = load_digits("train")
    x_test, y_test = load_digits("test")
    x_all, _ = load_digits("all")
    assert len(x_train) + len(x_test) == len(x_all)
    again, _ = load_digits("test")
    assert torch.equal(x_test, again)
    all_rows = {tuple(r) for r in to_counts(x_all).tolist()}
    assert {tuple(r) for r in to_counts(x_test).tolist()} <= all_rows
    # stratified: every class has 25% of its images in the test split, to within one image
    for c in range(10):
        n_test, n_total = (y_test == c).sum().item(), (y_train == c).sum().item() + (y_test == c).sum().item()
        assert abs(n_test - 0.25 * n_total) <= 1


def test_returned_tensors_are_copies():
    x, _ = load_digits("train")
    x.zero_()
    assert load_digits("train")[0].sum() > 0


def test_unknown_split_names_the_allowed_values():
    with pytest.raises(ValueError, match="split must be one of 'train', 'test', 'all'"):
        load_digits("validation")


def test_to_counts_rejects_values_outside_unit_interval_or_off_the_grid():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        to_counts(torch.tensor([[1.5]]))
    with pytest.raises(ValueError, match="k / 16"):
        to_counts(torch.tensor([[0.5, 0.3]]))


def test_ring_has_eight_modes_on_radius_two():
    ring = toy_distribution("ring")
    assert ring.centers.shape == (8, 2) and ring.std == 0.02
    assert torch.allclose(ring.centers.norm(dim=1), torch.full((8,), 2.0))


def test_grid_has_25_modes_on_even_coordinates():
    grid = toy_distribution("grid")
    assert grid.std == 0.05
    assert sorted(map(tuple, grid.centers.tolist())) == [(a, b) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)]


@pytest.mark.parametrize("name", ["ring", "grid"])
def test_mixture_samples_have_the_stated_std_and_uniform_modes(name):
    dist = toy_distribution(name)
    x = dist.sample(20000, torch.Generator().manual_seed(0))
    nearest = torch.cdist(x, dist.centers).argmin(dim=1)
    residual = x - dist.centers[nearest]
    assert residual.std().item() == pytest.approx(dist.std, rel=0.03)
    share = torch.bincount(nearest, minlength=len(dist.centers)).float() / len(x)
    assert share.sub(1 / len(dist.centers)).abs().max() < 0.02


def test_moons_lie_near_their_two_arcs():
    moons = toy_distribution("moons")
    assert moons.centers is None
    x = sample_toy("moons", 5000, torch.Generator().manual_seed(0))
    to_upper = (x.norm(dim=1) - 1).abs()
    to_lower = ((x - torch.tensor([1.0, 0.5])).norm(dim=1) - 1).abs()
    assert torch.minimum(to_upper, to_lower).mean() < 1.5 * moons.std


def test_sampling_is_repeatable_with_a_generator():
    a = sample_toy("ring", 10, torch.Generator().manual_seed(3))
    b = sample_toy("ring", 10, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_unknown_toy_distribution_and_bad_counts():
    with pytest.raises(ValueError, match="'ring', 'grid', 'moons'"):
        toy_distribution("spiral")
    assert TOY_DISTRIBUTIONS == ("ring", "grid", "moons")
    for n in (0, -5):
        with pytest.raises(ValueError, match="n must be"):
            sample_toy("ring", n)
    with pytest.raises(TypeError, match="n must be an int"):
        sample_toy("grid", 2.5)

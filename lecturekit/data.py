"""The course's data, all of it offline.

* The 8x8 digits that ship with scikit-learn. Each pixel is an integer count 0..16;
  we serve it as x = count / 16 in [0, 1], so `to_counts(x)` recovers the counts exactly.
  One fixed, stratified train/test split (25% of each class is test) is used everywhere.
* Generated 2-D toy distributions: a ring of 8 Gaussians, a 5x5 grid of 25 Gaussians,
  and two moons. The mixtures expose their mode centres and standard deviation.
"""
from dataclasses import dataclass
from functools import lru_cache
import importlib.util
import math
from pathlib import Path

import numpy as np
import torch

from ._checks import check_choice, check_int

DIGIT_MAX = 16
"""Largest pixel count of the digits: every pixel is an integer in 0..DIGIT_MAX."""
IMAGE_SHAPE = (8, 8)
N_CLASSES = 10
SPLITS = ("train", "test", "all")
TEST_FRACTION = 0.25
SPLIT_SEED = 0


@lru_cache(maxsize=1)
def _digits_and_test_mask():
    counts, labels = _read_digits()
    rng = np.random.default_rng(SPLIT_SEED)
    is_test = np.zeros(len(labels), dtype=bool)
    for c in range(N_CLASSES):
        members = rng.permutation(np.flatnonzero(labels == c))
        is_test[members[: round(TEST_FRACTION * len(members))]] = True
    return counts, labels, is_test


def _digits_file():
    """Where scikit-learn keeps the digits, found without importing it."""
    return Path(importlib.util.find_spec("sklearn").origin).parent / "datasets" / "data" / "digits.csv.gz"


def _read_digits():
    """The 1797 digits as int64 (counts, labels), from the file `sklearn.datasets.load_digits`
    reads: one row per digit, its 64 pixel counts and then its label.

    We read the file ourselves because importing scikit-learn took about 2 s here, which every
    notebook would pay, also those that use nothing else of it; should a scikit-learn release
    move the file, its loader is used instead.
    """
    path = _digits_file()
    if path.is_file():
        table = np.loadtxt(path, delimiter=",", dtype=np.int64)
        return table[:, :-1], table[:, -1]
    import sklearn.datasets
    digits = sklearn.datasets.load_digits()
    return digits.data.astype(np.int64), digits.target.astype(np.int64)


def load_digits(split="train"):
    """The digits as `(x, y)`: x float32 of shape (n, 64) in [0, 1], y int64 labels 0..9.

    Parameters
    ----------
    split : {"train", "test", "all"}
        The fixed stratified split: "train" (1347 images), "test" (450) or "all" (1797).
    """
    check_choice("split", split, SPLITS)
    counts, labels, is_test = _digits_and_test_mask()
    keep = {"train": ~is_test, "test": is_test, "all": np.ones_like(is_test)}[split]
    x = torch.tensor(counts[keep], dtype=torch.float32) / DIGIT_MAX
    return x, torch.tensor(labels[keep])


def to_counts(x):
    """Invert x = count / 16: the integer pixel counts 0..16 of images in [0, 1].

    Raises ValueError for values outside [0, 1] or off the grid k / 16: the discrete
    models (naive Bayes, the VAE's Binomial decoder) are defined on counts only.
    """
    scaled = torch.as_tensor(x, dtype=torch.float32) * DIGIT_MAX
    counts = torch.round(scaled)
    if counts.numel() and (counts.min() < 0 or counts.max() > DIGIT_MAX):
        raise ValueError("x must hold pixel values in [0, 1]")
    if counts.numel() and (scaled - counts).abs().max() > 1e-3:
        raise ValueError("x must hold pixel counts / 16 (values k / 16 for integers k in 0..16)")
    return counts.long()


TOY_DISTRIBUTIONS = ("ring", "grid", "moons")


@dataclass(frozen=True)
class ToyDistribution:
    """A 2-D distribution to sample from.

    For the Gaussian mixtures (ring, grid) every mode is picked with probability 1/k and
    x = centers[mode] + std * eps, eps ~ N(0, I). Two moons is not a mixture of modes:
    its `centers` is None, and `std` is the noise added around the two arcs.
    """

    name: str
    centers: torch.Tensor | None
    std: float

    def sample(self, n, generator=None):
        """n points as a float32 tensor of shape (n, 2)."""
        n = check_int("n", n, low=1)
        if self.centers is None:
            return _two_moons(n, self.std, generator)
        mode = torch.randint(len(self.centers), (n,), generator=generator)
        eps = torch.randn(n, 2, generator=generator)
        return self.centers[mode] + self.std * eps


def _two_moons(n, std, generator):
    upper = torch.rand(n, generator=generator) < 0.5
    t = math.pi * torch.rand(n, generator=generator)
    arc = torch.stack([torch.cos(t), torch.sin(t)], dim=1)
    lower_arc = torch.tensor([1.0, 0.5]) - arc
    points = torch.where(upper[:, None], arc, lower_arc)
    return points + std * torch.randn(n, 2, generator=generator)


def toy_distribution(name):
    """One of the toy distributions by name.

    * "ring": 8 Gaussians evenly spaced on a circle of radius 2, std 0.02.
    * "grid": 25 Gaussians at {-4, -2, 0, 2, 4}^2, std 0.05.
    * "moons": two interleaved half circles of radius 1 with noise std 0.1.
    """
    check_choice("name", name, TOY_DISTRIBUTIONS)
    if name == "ring":
        angle = torch.arange(8) * (2 * math.pi / 8)
        return ToyDistribution("ring", 2.0 * torch.stack([angle.cos(), angle.sin()], 1), 0.02)
    if name == "grid":
        axis = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
        centers = torch.cartesian_prod(axis, axis)
        return ToyDistribution("grid", centers, 0.05)
    return ToyDistribution("moons", None, 0.1)


def sample_toy(name, n, generator=None):
    """n samples of the toy distribution `name`; see `toy_distribution`."""
    return toy_distribution(name).sample(n, generator)

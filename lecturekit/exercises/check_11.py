"""Checkers for the exercises of lecture 11: improved precision, and density and coverage."""
import numpy as np
import torch
from scipy.spatial.distance import cdist

from ._feedback import Case, Exercise, Mutant


def _sets(n_real, n_fake, d=2, k=3, spread=1.5, shift=0.5, seed=0):
    """real ~ N(0, I) and fake ~ N(shift, spread^2 I), float64, and k."""
    generator = torch.Generator().manual_seed(seed)
    real = torch.randn(n_real, d, generator=generator, dtype=torch.float64)
    fake = shift + spread * torch.randn(n_fake, d, generator=generator, dtype=torch.float64)
    return real, fake, k


def _copy(n, d=2, k=2, seed=0):
    """A fake set that is a copy of the real one: every sample lies on the data."""
    real = torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return real, real.clone(), k


def _grid(rows, columns):
    """The integer points (a, b), 0 <= a < rows, 0 <= b < columns, as float64 rows."""
    return torch.cartesian_prod(torch.arange(rows), torch.arange(columns)).double()


def _grid_corner():
    """Real points on the 4 x 4 integer grid, fake ones on the 3 x 3 grid from (1, 1): distances are square
    roots of integers, so many fake points lie exactly on the edge of a ball, at distance NND_k."""
    return _grid(4, 4), _grid(3, 3) + 1, 3


def _radii(points, k):
    """NND_k by brute force: for each point, its distances to the *other* points, sorted, the k-th."""
    distances = cdist(points, points)
    return np.array([np.sort(np.delete(row, i))[k - 1] for i, row in enumerate(distances)])


def _reference_precision(real, fake, k):
    """Kynkaanniemi et al. (2019): the share of fake points inside at least one ball B(real_i, NND_k(real_i))."""
    real, fake = real.numpy(), fake.numpy()
    radii = _radii(real, k)
    inside = [any(np.linalg.norm(y - x) <= r for x, r in zip(real, radii)) for y in fake]
    return float(np.mean(inside))


def _inside(centres, radii, points, open_balls=False):
    """inside[i, j]: is points[j] in the ball of radius radii[i] around centres[i]? The balls are closed
    (distance <= radius) as in Kynkaanniemi et al. (2019), or open (distance < radius) as in Naeem et al. (2020)."""
    distances = torch.cdist(centres, points)
    return distances < radii[:, None] if open_balls else distances <= radii[:, None]


def _radius(points, k, shift=0):
    """NND_k of each row; shift=1 gives the typical mistake, the k-th distance counting the point itself."""
    return torch.cdist(points, points).kthvalue(k + 1 - shift, dim=1).values


def _share(indicators):
    """The share of True entries, as a float."""
    return float(indicators.double().mean())


PRECISION = Exercise(
    name="precision",
    reference=_reference_precision,
    cases=(Case("12 real and 10 fake points in 2-D, the fake cloud wider, k = 3", lambda: _sets(12, 10, seed=6)),
           Case("fake a copy of real (8 points), k = 2: precision 1", lambda: _copy(8)),
           Case("30 real and 20 fake points in 3-D, k = 5", lambda: _sets(30, 20, d=3, k=5, spread=2.0, seed=1))),
    hint="radius = torch.cdist(real, real).kthvalue(k + 1, dim=1).values (the k-th neighbour, not counting the point "
         "itself); inside = torch.cdist(real, fake) <= radius[:, None]; a fake point counts when any real ball "
         "holds it: inside.any(dim=0), then the mean over the fake points.",
    mutants=(Mutant("the radius of the k-th neighbour counting the point itself",
                    lambda real, fake, k: _share(_inside(real, _radius(real, k, shift=1), fake).any(dim=0)),
                    "Each point is its own nearest neighbour, at distance 0: NND_k is the (k + 1)-th smallest "
                    "distance of its row, kthvalue(k + 1, dim=1)."),
             Mutant("recall: the real points counted in balls around the fake points",
                    lambda real, fake, k: _share(_inside(fake, _radius(fake, k), real).any(dim=0)),
                    "Precision asks whether each sample lies on the data's manifold: balls around the real points, "
                    "radii from the real points, and the share of the fake points inside."),
             Mutant("the share of (real ball, fake point) pairs instead of fake points in any ball",
                    lambda real, fake, k: _share(_inside(real, _radius(real, k), fake)),
                    "A fake point counts once it lies in at least one real ball: .any() over the real points, "
                    "then the mean over the fake points.")),
)


def _reference_density_coverage(real, fake, k):
    """Naeem et al. (2020), counted ball by ball: density = (1 / kM) sum_j sum_i 1[fake_j in B_i],
    coverage = (1 / N) sum_i 1[some fake_j in B_i], with the open balls of the authors' code,
    fake_j in B_i when || fake_j - real_i || < NND_k(real_i)."""
    real, fake = real.numpy(), fake.numpy()
    radii = _radii(real, k)
    counts = [sum(np.linalg.norm(y - x) < r for y in fake) for x, r in zip(real, radii)]
    return float(sum(counts)) / (k * len(fake)), float(np.mean([c > 0 for c in counts]))


def _density_coverage(real, fake, k, shift=0, divide_by_k=True, open_balls=True):
    inside = _inside(real, _radius(real, k, shift), fake, open_balls)
    return float(inside.sum()) / ((k if divide_by_k else 1) * len(fake)), _share(inside.any(dim=1))


def _coverage_from_fake_balls(real, fake, k):
    density, _ = _density_coverage(real, fake, k)
    return density, _share(_inside(fake, _radius(fake, k), real, open_balls=True).any(dim=0))


def _density_as_precision(real, fake, k):
    _, coverage = _density_coverage(real, fake, k)
    return _share(_inside(real, _radius(real, k), fake, open_balls=True).any(dim=0)), coverage


DENSITY_COVERAGE = Exercise(
    name="density_coverage",
    reference=_reference_density_coverage,
    parts=("density", "coverage"),
    cases=(Case("12 real and 10 fake points in 2-D, the fake cloud wider, k = 3", lambda: _sets(12, 10)),
           Case("40 real and 15 fake points in 2-D, the fake cloud narrow, k = 5",
                lambda: _sets(40, 15, k=5, spread=0.3, shift=0.0, seed=2)),
           Case("30 real and 20 fake points in 3-D, k = 5", lambda: _sets(30, 20, d=3, k=5, spread=2.0, seed=1)),
           Case("16 real points on the 4 x 4 integer grid, 9 fake ones on its 3 x 3 corner, k = 3: fake points "
                "exactly on the edge of a ball", _grid_corner)),
    hint="Balls only around the real points, and open ones: radius = torch.cdist(real, real).kthvalue(k + 1, "
         "dim=1).values and inside = torch.cdist(real, fake) < radius[:, None] (a point on the edge is outside); "
         "density = inside.sum() / (k * len(fake)), coverage = inside.any(dim=1) averaged over the real points. "
         "Return the two numbers.",
    mutants=(Mutant("the radius of the k-th neighbour counting the point itself",
                    lambda real, fake, k: _density_coverage(real, fake, k, shift=1),
                    "Each point is its own nearest neighbour, at distance 0: NND_k is the (k + 1)-th smallest "
                    "distance of its row, kthvalue(k + 1, dim=1)."),
             Mutant("density without its 1 / k",
                    lambda real, fake, k: _density_coverage(real, fake, k, divide_by_k=False),
                    "When the two sets match, a sample lies in about k real balls; dividing by k M makes density "
                    "about 1 then."),
             Mutant("density as the share of samples in at least one ball (that is precision)",
                    _density_as_precision,
                    "Density counts how many real balls hold each sample, not just whether one does: "
                    "inside.sum(), not inside.any(...)."),
             Mutant("coverage measured with balls around the fake points (that is recall)",
                    _coverage_from_fake_balls,
                    "Naeem et al. (2020) put balls around the real points only, so that a fake outlier, whose own "
                    "ball is large, cannot cover real points: coverage is inside.any(dim=1) on the real balls."),
             Mutant("<= where Naeem et al. (2020) use <",
                    lambda real, fake, k: _density_coverage(real, fake, k, open_balls=False),
                    "Naeem et al.'s code counts y_j in B_i only when it is strictly closer than the radius, "
                    "|| y_j - x_i || < NND_k(x_i): open balls, where the precision of Exercise 11.1 uses closed "
                    "ones (<=). The two differ only on ties, samples at exactly the distance NND_k(x_i), as on this "
                    "grid. With <, a copy of the real points (with no other ties) has density 1: each ball holds "
                    "its centre and k - 1 neighbours, and the k-th lies on its edge.")),
)

precision = PRECISION.check
density_coverage = DENSITY_COVERAGE.check
EXERCISES = (PRECISION, DENSITY_COVERAGE)

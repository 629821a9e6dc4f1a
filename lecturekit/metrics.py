r"""Metrics of generative models: statistics of a *set* of samples.

* Inception Score (Salimans et al., 2016), from a classifier's predictions p(y | x):
      IS = exp( E_x KL( p(y | x) || p(y) ) ),   p(y) = E_x p(y | x)
* Frechet distance between Gaussians fitted to two sets of features (FID, Heusel et al., 2017):
      d^2 = || mu_1 - mu_2 ||^2 + tr( S_1 + S_2 - 2 (S_1 S_2)^{1/2} )
* Kernel Inception Distance (Binkowski et al., 2018): the unbiased squared MMD with the
  kernel k(a, b) = (a . b / d + 1)^3, which, unlike FID, has no bias from the sample size.
* Precision and recall (Kynkaanniemi et al., 2019) and density and coverage (Naeem et al., 2020):
  two numbers instead of one, separating samples that leave the data (low precision) from
  data that no sample reaches (low recall), measured with k-nearest-neighbour balls.
* A memorisation check: how close samples lie to the training set, against how close unseen
  test data lies to it (after Meehan, Chaudhuri & Dasgupta, 2020).

No Inception network can be downloaded here, and the digits are not ImageNet, so the
features and predictions come from `DigitClassifier`, a small network trained on the digits.

Every metric computes in float64. Float64 input is used as it is; lower precisions are widened
first, exactly. NaN or inf in the input is refused with a ValueError naming the argument.
"""
import numpy as np
from scipy.optimize import linear_sum_assignment
import torch
from torch import nn

from ._checks import check_int
from .train import fit as train_fit


class DigitClassifier(nn.Module):
    """An MLP x (64) -> 256 -> features (64) -> 10 logits. `features` is the penultimate layer."""

    def __init__(self, n_features=64, hidden=256, n_embedding=64, n_classes=10):
        super().__init__()
        self.hparams = dict(n_features=n_features, hidden=hidden, n_embedding=n_embedding, n_classes=n_classes)
        self.body = nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, n_embedding), nn.ReLU())
        self.head = nn.Linear(n_embedding, n_classes)

    def forward(self, x):
        return self.head(self.body(x))

    @torch.no_grad()
    def features(self, x):
        """The penultimate activations, the 'Inception features' of FID and KID."""
        return self.body(x)

    @torch.no_grad()
    def probabilities(self, x):
        """p(y | x), the predictions the Inception Score uses."""
        return self(x).softmax(dim=1)


def train_digit_classifier(x, y, epochs=30, seed=0):
    """Train a DigitClassifier deterministically: the same seed gives the same network.

    The global random state is left as it was (the seed is used inside `torch.random.fork_rng`).
    """
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = DigitClassifier()
        train_fit(model, lambda m, xb, yb: nn.functional.cross_entropy(m(xb), yb), (x, y),
                  epochs=epochs, lr=1e-3, schedule="cosine", progress=False)
    return model


def _as_float64(name, x):
    """`x` (a tensor, a numpy array or a nested list of numbers) as a float64 tensor of finite values."""
    if not isinstance(x, (torch.Tensor, np.ndarray, list, tuple)):
        raise TypeError(f"{name} must be a tensor or an array, got {type(x).__name__}")
    try:
        x = torch.as_tensor(x, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"{name} must hold numbers") from None
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} must be finite; it holds NaN or inf")
    return x


def _features(name, x):
    """`x` as a float64 tensor of shape (n, d), n >= 1, of finite values."""
    x = _as_float64(name, x)
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"{name} must have shape (n, d) with n >= 1; got {tuple(x.shape)}")
    return x


def inception_score(probs, splits=10):
    """exp(E_x KL(p(y|x) || p(y))), with p(y) the mean prediction within each of `splits`
    parts of the samples; returns (mean, std) over the parts.

    With n samples, part i (i = 0, ..., splits - 1) holds samples i n // splits up to
    (i + 1) n // splits, so there are always `splits` parts, of sizes that differ by at most one
    (the convention of torch-fidelity). The samples are first put in a fixed random order
    (torch.randperm seeded with 0), so their order does not matter: samples sorted by class would
    otherwise give parts of one class each, and IS = 1.
    """
    probs = _as_float64("probs", probs)
    splits = check_int("splits", splits, low=1)
    if probs.ndim != 2 or len(probs) < 2 * splits:
        raise ValueError(f"probs must have shape (n, classes) with n >= 2 * splits = {2 * splits}; "
                         f"got {tuple(probs.shape)}")
    if (probs < 0).any() or not torch.allclose(probs.sum(dim=1), torch.ones_like(probs[:, 0]), atol=1e-4):
        raise ValueError("every row of probs must be a probability distribution (non-negative, summing to 1)")
    n = len(probs)
    shuffled = probs[torch.randperm(n, generator=torch.Generator().manual_seed(0))]
    bounds = [i * n // splits for i in range(splits + 1)]
    scores = []
    for start, stop in zip(bounds, bounds[1:]):
        part = shuffled[start:stop]
        p_y = part.mean(dim=0, keepdim=True)
        kl = (part * (part.clamp_min(1e-30).log() - p_y.clamp_min(1e-30).log())).sum(dim=1)
        scores.append(kl.mean().exp().item())
    return float(np.mean(scores)), float(np.std(scores))


def feature_statistics(features):
    """The mean and covariance (float64) of a set of feature vectors, one per row."""
    features = _features("features", features)
    if len(features) < 2:
        raise ValueError(f"features must have shape (n, d) with n >= 2; got {tuple(features.shape)}")
    return features.mean(dim=0), torch.cov(features.T).reshape(features.shape[1], features.shape[1])


COVARIANCE_RTOL = 1e-6  # rounding allowed in a covariance: asymmetry, negative eigenvalues (relative)


def _covariance(name, sigma, d):
    """`sigma` as a symmetric float64 (d, d) tensor, and its Cholesky factor L (sigma = L L^T),
    or None when it has none (sigma singular). Refused unless symmetric and positive semi-definite,
    up to rounding: COVARIANCE_RTOL times the largest entry or eigenvalue."""
    sigma = _as_float64(name, sigma)
    if sigma.shape != (d, d):
        raise ValueError(f"{name} must have shape (d, d) = ({d}, {d}), d the length of mu1; got {tuple(sigma.shape)}")
    scale = sigma.abs().max()
    if (sigma - sigma.T).abs().max() > COVARIANCE_RTOL * scale:
        raise ValueError(f"{name} must be symmetric, as a covariance is")
    sigma = (sigma + sigma.T) / 2
    factor, info = torch.linalg.cholesky_ex(sigma)
    if info == 0:
        return sigma, factor
    eigenvalues = torch.linalg.eigvalsh(sigma)
    if eigenvalues[0] < -COVARIANCE_RTOL * eigenvalues.abs().max():
        raise ValueError(f"{name} must be positive semi-definite, as a covariance is; "
                         f"its smallest eigenvalue is {eigenvalues[0].item():.4g}")
    return sigma, None


def _symmetric_sqrt(s):
    """S^{1/2} of a symmetric positive semi-definite matrix, by its eigendecomposition."""
    eigenvalues, vectors = torch.linalg.eigh(s)
    return (vectors * eigenvalues.clamp_min(0).sqrt()) @ vectors.T


def _trace_sqrt_product(sigma1, factor1, sigma2, factor2):
    """tr((S1 S2)^{1/2}): the sum of the square roots of the eigenvalues of S1 S2.

    With a Cholesky factor S1 = L L^T, S1 S2 = L (L^T S2 L) L^{-1} has the eigenvalues of the
    symmetric positive semi-definite L^T S2 L (the same with S1 and S2 swapped, as S1 S2 and S2 S1
    share their eigenvalues). When both are singular, L is replaced by S1^{1/2}, from an
    eigendecomposition of S1 with its eigenvectors, the slow step that a Cholesky factor avoids.
    """
    if factor1 is not None:
        middle = factor1.T @ sigma2 @ factor1
    elif factor2 is not None:
        middle = factor2.T @ sigma1 @ factor2
    else:
        root1 = _symmetric_sqrt(sigma1)
        middle = root1 @ sigma2 @ root1
    return torch.linalg.eigvalsh((middle + middle.T) / 2).clamp_min(0).sqrt().sum()


def frechet_distance(mu1, sigma1, mu2, sigma2):
    """The squared Frechet distance between N(mu1, sigma1) and N(mu2, sigma2), in float64:

        || mu1 - mu2 ||^2 + tr(sigma1) + tr(sigma2) - 2 tr( (sigma1 sigma2)^{1/2} )

    tr((S1 S2)^{1/2}) is the sum of the square roots of the eigenvalues of S1 S2, which are those
    of L^T S2 L for a Cholesky factor S1 = L L^T, a symmetric positive semi-definite matrix. One
    Cholesky factorisation and one symmetric eigenvalue problem replace a general matrix square
    root: the result is real, also for singular covariances, and is clamped at 0 against rounding.
    The covariances must be symmetric and positive semi-definite (up to rounding).
    """
    mu1, mu2 = _as_float64("mu1", mu1), _as_float64("mu2", mu2)
    if mu1.ndim != 1 or len(mu1) == 0 or mu2.shape != mu1.shape:
        raise ValueError(f"mu1 and mu2 must have the same shape (d,), d >= 1; "
                         f"got {tuple(mu1.shape)} and {tuple(mu2.shape)}")
    d = len(mu1)
    (sigma1, factor1), (sigma2, factor2) = _covariance("sigma1", sigma1, d), _covariance("sigma2", sigma2, d)
    trace_sqrt = _trace_sqrt_product(sigma1, factor1, sigma2, factor2)
    distance = ((mu1 - mu2) ** 2).sum() + sigma1.trace() + sigma2.trace() - 2 * trace_sqrt
    return max(distance.item(), 0.0)


def _same_width(names, *sets):
    """Each set as a float64 (n, d) tensor, all of the same width d."""
    sets = [_features(name, x) for name, x in zip(names, sets)]
    for name, x in zip(names[1:], sets[1:]):
        if x.shape[1] != sets[0].shape[1]:
            raise ValueError(f"{names[0]} and {name} must have the same width; got {sets[0].shape[1]} and {x.shape[1]}")
    return sets


def _check_pair(a, b):
    a, b = _same_width(("features_a", "features_b"), a, b)
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"each set needs at least 2 samples; got {len(a)} and {len(b)}")
    return a, b


def fid(features_a, features_b):
    """The Frechet distance between Gaussians fitted to two sets of features."""
    a, b = _check_pair(features_a, features_b)
    return frechet_distance(*feature_statistics(a), *feature_statistics(b))


def kid(features_a, features_b):
    """The Kernel Inception Distance (Binkowski et al., 2018): the unbiased estimate of the squared
    MMD (Gretton et al., 2012) with the cubic polynomial kernel k(a, b) = (a . b / d + 1)^3, for
    m features a_i and n features b_j of dimension d:

        1/(m(m-1)) sum_{i != j} k(a_i, a_j) + 1/(n(n-1)) sum_{i != j} k(b_i, b_j) - 2/(mn) sum_{i, j} k(a_i, b_j)

    Its expectation is the squared MMD for every sample size, so it can be compared across sizes;
    between two samples of one distribution that is 0, and a single estimate can be negative.
    """
    a, b = _check_pair(features_a, features_b)
    d = a.shape[1]

    def kernel(u, v):
        return (u @ v.T / d + 1) ** 3

    def mean_off_diagonal(k):
        return (k.sum() - k.diagonal().sum()) / (len(k) * (len(k) - 1))

    return (mean_off_diagonal(kernel(a, a)) + mean_off_diagonal(kernel(b, b)) - 2 * kernel(a, b).mean()).item()


def evaluate_samples(samples, reference, classifier):
    """FID, KID and Inception Score of `samples` against `reference` images, in the features
    and predictions of `classifier` (a DigitClassifier); a dict of floats."""
    features_s, features_r = classifier.features(samples), classifier.features(reference)
    return {"fid": fid(features_s, features_r), "kid": kid(features_s, features_r),
            "inception_score": inception_score(classifier.probabilities(samples))[0]}


def mode_coverage(samples, centers, std):
    """How well samples of a mixture of Gaussians cover its modes (the protocol of VEEGAN and PacGAN).

    A sample is *high quality* when it lies within 3 std of its nearest mode centre; a mode is
    *captured* when it is the nearest mode of at least one high-quality sample. Returns a dict:

    * "modes": the number of modes captured;
    * "high_quality": the fraction of high-quality samples;
    * "reverse_kl": KL(q || uniform) with q the histogram of high-quality samples over the k
      modes, sum_j q_j log(k q_j) (0 for a perfect spread, log k when all fall on one mode);
    * "modes_strict": the number of modes holding at least 10 % of their expected share,
      0.1 n / k, of the n samples as high-quality samples.

    Both mode counts are reported because "modes" is easy to game: uniform noise over the
    grid's bounding box lands a few of 2500 samples near most centres and "captures" most of the
    25 modes, while no mode gets 10 % of its share, so it scores 0 strict modes.
    """
    samples, centers = torch.as_tensor(samples).double(), torch.as_tensor(centers).double()
    if samples.ndim != 2:
        raise ValueError(f"samples must have shape (n, d); got {tuple(samples.shape)}")
    if centers.ndim != 2 or samples.shape[1] != centers.shape[1]:
        raise ValueError(f"samples and centers must be (n, d) and (k, d) with the same d; "
                         f"got {tuple(samples.shape)} and {tuple(centers.shape)}")
    if not std > 0:
        raise ValueError(f"std must be positive; got {std}")
    distance, nearest = torch.cdist(samples, centers).min(dim=1)
    good = distance < 3 * std
    counts = torch.bincount(nearest[good], minlength=len(centers)).double()
    q = counts / counts.sum().clamp_min(1)
    q = q[q > 0]
    reverse_kl = (q * (q * len(centers)).log()).sum().item() if good.any() else float("nan")
    strict = int((counts >= 0.1 * len(samples) / len(centers)).sum())
    return {"modes": int((counts > 0).sum()), "modes_strict": strict, "high_quality": good.double().mean().item(),
            "reverse_kl": reverse_kl}


def mode_baselines(distribution, n=2500, generator=None):
    """Reference samples for `mode_coverage` on a mixture of Gaussians: what its numbers say at best,
    for a generator that learned nothing useful, and for a collapse. A dict of (n, d) tensors:

    * "true samples": the distribution itself, what a generator that matches the data scores;
    * "uniform noise on the box": uniform over the centres' bounding box widened by 3 std, a
      generator that learned only where the data lie;
    * "one Gaussian fitted": one Gaussian with the mixture's exact mean and covariance,
      mean = average centre, covariance = covariance of the centres + std^2 I, a generator that
      learned only the first two moments;
    * "one mode deleted": the mixture without its first mode (the others equally likely), what
      a generator that dropped one mode looks like.
    """
    centers, std = distribution.centers, distribution.std
    if centers is None or len(centers) < 2:
        raise ValueError("distribution must be a mixture of at least 2 Gaussian modes, with centers and std")
    n = check_int("n", n, low=1)
    k, d = centers.shape
    low, high = centers.min(dim=0).values - 3 * std, centers.max(dim=0).values + 3 * std
    mean = centers.mean(dim=0)
    covariance = (centers - mean).T @ (centers - mean) / k + std**2 * torch.eye(d)
    kept_mode = 1 + torch.randint(k - 1, (n,), generator=generator)
    return {"true samples": distribution.sample(n, generator),
            "uniform noise on the box": low + (high - low) * torch.rand(n, d, generator=generator),
            "one Gaussian fitted": mean + torch.randn(n, d, generator=generator) @ torch.linalg.cholesky(covariance).T,
            "one mode deleted": centers[kept_mode] + std * torch.randn(n, d, generator=generator)}


def emd(x, y):
    """The exact Earth Mover's (Wasserstein-1) distance between two point clouds of equal size:
    min over one-to-one matchings pi of (1/n) sum_i || x_i - y_pi(i) ||, solved as an assignment problem."""
    x, y = torch.as_tensor(x).double(), torch.as_tensor(y).double()
    x, y = (v[:, None] if v.ndim == 1 else v for v in (x, y))
    if x.shape != y.shape:
        raise ValueError(f"x and y must be point clouds of the same size and dimension; got {tuple(x.shape)} "
                         f"and {tuple(y.shape)}")
    cost = torch.cdist(x, y).numpy()
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())


def _check_sets(real, fake, k):
    """Both sets as float64 (n, d) tensors of the same width, and k smaller than each set."""
    real, fake = _same_width(("real", "fake"), real, fake)
    check_int("k", k, low=1)
    for name, x in (("real", real), ("fake", fake)):
        if k >= len(x):
            raise ValueError(f"k must be smaller than the number of rows of {name} ({len(x)}); got {k}")
    return real, fake


def _distances(a, b):
    """All Euclidean distances || a_i - b_j ||, computed directly (no matmul shortcut), so a point's
    distance to an identical point is exactly 0."""
    return torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist")


def _kth_neighbour_radius(x, k):
    """NND_k(x_i): the distance from each row x_i to its k-th nearest other row of x."""
    return _distances(x, x).kthvalue(k + 1, dim=1).values


def precision_recall(real, fake, k=3):
    """Improved precision and recall (Kynkaanniemi et al., 2019), returned as (precision, recall).

    Each point phi of a set Phi gets the ball of radius NND_k(phi), the distance to its k-th
    nearest neighbour in Phi; the union of the balls estimates the set's support (its "manifold"):

        f(phi, Phi) = 1  if  || phi - phi' || <= NND_k(phi')  for some phi' in Phi,  else 0
        precision   = mean over fake phi of f(phi, real)   (samples that look like data)
        recall      = mean over real phi of f(phi, fake)   (data that samples reach)

    Mode collapse lowers recall and keeps precision; blurry or noisy samples lower precision.
    A point on a ball's edge counts as inside (<=), as in the authors' code.
    """
    real, fake = _check_sets(real, fake, k)
    distance = _distances(real, fake)
    precision = (distance <= _kth_neighbour_radius(real, k)[:, None]).any(dim=0).double().mean()
    recall = (distance <= _kth_neighbour_radius(fake, k)[None, :]).any(dim=1).double().mean()
    return precision.item(), recall.item()


def density_coverage(real, fake, k=5):
    """Density and coverage (Naeem et al., 2020), returned as (density, coverage).

    Only the real points get balls B(x_i, NND_k(x_i)), so an outlier among the fake samples
    cannot inflate the estimated support of the model as it can in `precision_recall`:

        density  = 1 / (k M) sum_j sum_i 1[ y_j in B(x_i, NND_k(x_i)) ]    (M fake points y_j)
        coverage = 1 / N sum_i 1[ some y_j in B(x_i, NND_k(x_i)) ]          (N real points x_i)

    The balls are open, || y_j - x_i || < NND_k(x_i), as in the authors' code: a copy of the real
    set then scores density 1 (each ball holds its centre and the k - 1 nearer neighbours) and
    coverage 1. Density counts how many real balls hold each sample, divided by k: about 1 when
    the two sets come from the same distribution, above 1 when samples crowd into dense regions
    of the data.
    """
    real, fake = _check_sets(real, fake, k)
    inside = _distances(real, fake) < _kth_neighbour_radius(real, k)[:, None]
    density = inside.double().sum() / (k * len(fake))
    coverage = inside.any(dim=1).double().mean()
    return density.item(), coverage.item()


def nearest_neighbour_ratio(samples, train, test):
    """A memorisation check: median_i d(s_i, train) / median_j d(t_j, train), where d(x, train)
    is the Euclidean distance from x to its nearest training point, and the median of an even
    number of values is the mean of the two middle ones.

    Test points are fresh draws from the data distribution, unseen in training, so the ratio is
    about 1 for a model that generalises, near 0 for one that copies its training set, and
    above 1 for samples further from the data than new data is. It compares the same two sets of
    distances as the data-copying test of Meehan, Chaudhuri & Dasgupta (2020), by their medians.
    """
    samples, train, test = _same_width(("samples", "train", "test"), samples, train, test)
    to_samples = torch.quantile(_distances(samples, train).min(dim=1).values, 0.5)
    to_test = torch.quantile(_distances(test, train).min(dim=1).values, 0.5)
    if to_test == 0:
        raise ValueError("test must be held-out data: more than half of its rows are also rows of train")
    return (to_samples / to_test).item()

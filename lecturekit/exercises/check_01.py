"""Checkers for the exercises of lecture 01: PCA by the SVD and its reconstruction error."""
import torch
from sklearn.decomposition import PCA as SklearnPCA

from ..pca import PCA
from ._feedback import NONE_HINT, TENSOR_HINT, Case, Difference, Exercise, Malformed, Mutant, describe


def _data(n=20, d=5, seed=0):
    """n points in d <= 7 dimensions, with standard deviations 3, 2, 1, 0.5, ... along the axes."""
    generator = torch.Generator().manual_seed(seed)
    scales = torch.tensor([3.0, 2.0, 1.0, 0.5, 0.2, 0.1, 0.05])[:d]
    return torch.randn(n, d, generator=generator, dtype=torch.float64) * scales + 3.0


def _projector(fn, args):
    """U^T U, the projection onto the span of the rows of U: the same for every basis and sign.
    An answer that is not a (k, d) tensor is reported with the shape the exercise asks for."""
    u = fn(*args)
    x, k = args
    asked = (k, x.shape[1])
    if not isinstance(u, torch.Tensor):
        raise Malformed(Difference(f"expected a tensor of shape (k, d) = {asked}, got {describe(u)}",
                                   NONE_HINT if u is None else TENSOR_HINT))
    if u.shape != asked:
        raise Malformed(Difference(f"expected shape (k, d) = {asked}, one principal direction per row, got shape "
                                   f"{tuple(u.shape)}", "Keep the first k rows of Vh: Vh[:k] has shape (k, d)."))
    return u.double().T @ u.double()


def _reference_components(x, k):
    return torch.as_tensor(SklearnPCA(n_components=k).fit(x.numpy()).components_)


def _uncentred(x, k):
    return torch.linalg.svd(x, full_matrices=False).Vh[:k]


def _smallest(x, k):
    return torch.linalg.svd(x - x.mean(dim=0), full_matrices=False).Vh[-k:]


COMPONENTS = Exercise(
    name="pca_components",
    reference=_reference_components,
    observe=_projector,
    cases=(Case("20 points in 5-D, k = 1", lambda: (_data(), 1)),
           Case("20 points in 5-D, k = 2", lambda: (_data(seed=1), 2)),
           Case("30 points in 7-D, k = 3", lambda: (_data(n=30, d=7, seed=2), 3)),
           Case("12 points in 3-D, k = 2", lambda: (_data(n=12, d=3, seed=3), 2))),
    hint="Centre x (subtract its column means), take torch.linalg.svd(F, full_matrices=False) and keep the "
         "first k rows of Vh: shape (k, d). (The checker compares the subspace U^T U, so signs do not matter.)",
    mutants=(Mutant("the SVD of the uncentred data", _uncentred,
                    "PCA works on F = x - mean: without centring, the first direction points at the mean."),
             Mutant("the k directions of smallest variance", _smallest,
                    "The singular values come sorted largest first: keep Vh[:k], not Vh[-k:].")),
)


def _reference_error(x, mean, components):
    pca = PCA(x.shape[1], len(components))
    pca.mean_, pca.components_ = mean.float(), components.float()
    return pca.reconstruction_error(x)


def _fitted(n=20, d=5, k=2, seed=0):
    x = _data(n=n, d=d, seed=seed)
    return x, x.mean(dim=0), _reference_components(x, k)


def _averaged(x, mean, components):
    return _reference_error(x, mean, components) / len(x)


def _uncentred_projection(x, mean, components):
    return ((x @ components.T @ components - x) ** 2).sum()


ERROR = Exercise(
    name="reconstruction_error",
    reference=_reference_error,
    cases=(Case("20 points in 5-D, k = 2", lambda: _fitted()),
           Case("10 points in 5-D, k = 4", lambda: _fitted(n=10, k=4, seed=1)),
           Case("15 points in 7-D, k = 3", lambda: _fitted(n=15, d=7, k=3, seed=2)),
           Case("8 points in 3-D, k = 1", lambda: _fitted(n=8, d=3, k=1, seed=3))),
    hint="With F = x - mean and U^T = components: sum over samples and pixels of (F U U^T - F)^2, "
         "where F U U^T is F @ components.T @ components. Return one number.",
    mutants=(Mutant("the error averaged over the samples", _averaged,
                    "The lecture's loss is a sum over i of || U U^T x_i - x_i ||^2, not a mean."),
             Mutant("the projection of the uncentred data", _uncentred_projection,
                    "Subtract the mean before projecting: PCA's subspace passes through the mean.")),
    rtol=1e-4, atol=1e-3,
)

pca_components = COMPONENTS.check
reconstruction_error = ERROR.check
EXERCISES = (COMPONENTS, ERROR)

"""Checkers for the exercises of lecture 07: the Frechet distance and the Inception Score."""
import numpy as np
import torch
from scipy.linalg import sqrtm

from ..metrics import inception_score as _lecturekit_inception_score
from ._feedback import Case, Exercise, Mutant


def _covariance(d, seed):
    a = torch.randn(d, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return a @ a.T / d + 0.1 * torch.eye(d, dtype=torch.float64)


def _gaussians(d=3, seed=0, same=False):
    generator = torch.Generator().manual_seed(seed + 50)
    mu1 = torch.randn(d, generator=generator, dtype=torch.float64)
    mu2 = mu1 if same else torch.randn(d, generator=generator, dtype=torch.float64)
    sigma1 = _covariance(d, seed)
    return mu1, sigma1, mu2.clone(), sigma1.clone() if same else _covariance(d, seed + 1)


def _reference_distance(mu1, sigma1, mu2, sigma2, factor=2.0, mean_term=lambda m: float(m @ m)):
    """The formula with scipy's general matrix square root (Heusel et al., 2017)."""
    root = np.real(sqrtm(sigma1.numpy() @ sigma2.numpy()))
    return mean_term(mu1 - mu2) + float(sigma1.trace() + sigma2.trace()) - factor * float(np.trace(root))


FRECHET = Exercise(
    name="frechet_distance",
    reference=_reference_distance,
    cases=(Case("two identical Gaussians in 3-D: distance 0", lambda: _gaussians(same=True)),
           Case("two Gaussians in 3-D", lambda: _gaussians()),
           Case("two Gaussians in 6-D", lambda: _gaussians(d=6, seed=1))),
    hint="||mu1 - mu2||^2 + tr(sigma1) + tr(sigma2) - 2 tr((sigma1 sigma2)^{1/2}), with a matrix square root: "
         "scipy.linalg.sqrtm (take the real part), or the sum of the square roots of the eigenvalues of "
         "sigma1 sigma2. Return one number.",
    mutants=(Mutant("the trace of the root without its factor 2",
                    lambda *args: _reference_distance(*args, factor=1.0),
                    "The cross term is -2 tr((sigma1 sigma2)^{1/2}): for two equal Gaussians it must cancel both traces."),
             Mutant("||mu1 - mu2|| where its square belongs",
                    lambda *args: _reference_distance(*args, mean_term=lambda m: float(m.norm())),
                    "The mean term is the squared distance ||mu1 - mu2||^2.")),
    atol=1e-4,
)


def _predictions(n=8, n_classes=4, sharpness=1.0, seed=0):
    logits = sharpness * torch.randn(n, n_classes, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return (logits.softmax(dim=1),)


def _reversed_kl(probs):
    p_y = probs.mean(dim=0, keepdim=True)
    return float((p_y * (p_y.log() - probs.log())).sum(dim=1).mean().exp())


def _without_exp(probs):
    return float(np.log(_lecturekit_inception_score(probs, splits=1)[0]))


INCEPTION = Exercise(
    name="inception_score",
    reference=lambda probs: _lecturekit_inception_score(probs, splits=1)[0],
    cases=(Case("every image gets the same prediction: IS = 1",
                lambda: (torch.full((6, 4), 0.25, dtype=torch.float64),)),
           Case("8 images, 4 classes, vague predictions", lambda: _predictions()),
           Case("10 images, 5 classes, confident predictions", lambda: _predictions(10, 5, sharpness=4.0, seed=1))),
    hint="p(y) = probs.mean(dim=0); KL_i = sum_c probs[i, c] (log probs[i, c] - log p(y = c)); IS = exp(mean_i KL_i).",
    mutants=(Mutant("the KL the wrong way round, KL(p(y) || p(y | x))", _reversed_kl,
                    "IS compares each image's prediction p(y | x) with the marginal p(y): KL(p(y | x) || p(y))."),
             Mutant("the mean KL without the exp", _without_exp,
                    "IS = exp(E_x KL(...)), so that it reads as a number of classes, between 1 and their count.")),
)

frechet_distance = FRECHET.check
inception_score = INCEPTION.check
EXERCISES = (FRECHET, INCEPTION)

"""Checkers for the exercises of lecture 00: naive Bayes' log joint and Bayes' rule."""
import torch

from ..naive_bayes import N_LEVELS, NaiveBayes
from ._feedback import Case, Exercise, Mutant


def _tables(n, n_features=3, n_classes=2, seed=0):
    generator = torch.Generator().manual_seed(seed)
    log_prior = torch.randn(n_classes, generator=generator).log_softmax(dim=0)
    log_pixel = torch.randn(n_classes, n_features, N_LEVELS, generator=generator).log_softmax(dim=-1)
    counts = torch.randint(0, N_LEVELS, (n, n_features), generator=generator)
    return log_prior, log_pixel, counts


def _reference_log_joint(log_prior, log_pixel, counts):
    model = NaiveBayes(n_features=log_pixel.shape[1], n_classes=len(log_prior))
    model.log_prior, model.log_pixel = log_prior, log_pixel
    return model.joint_log_prob(counts / (N_LEVELS - 1))


def _log_likelihood_only(log_prior, log_pixel, counts):
    return torch.stack([log_pixel[c, torch.arange(counts.shape[1]), counts].sum(dim=1)
                        for c in range(len(log_prior))], dim=1)


def _transposed(log_prior, log_pixel, counts):
    return _reference_log_joint(log_prior, log_pixel, counts).T


LOG_JOINT = Exercise(
    name="log_joint",
    reference=_reference_log_joint,
    cases=(Case("1 image, 3 pixels, 2 classes", lambda: _tables(1)),
           Case("4 images, 3 pixels, 2 classes", lambda: _tables(4, seed=1)),
           Case("5 images, 64 pixels, 10 classes", lambda: _tables(5, n_features=64, n_classes=10, seed=2))),
    hint="log p(x, y=c) = log p(y=c) + sum_i log p(x_i | y=c): pick log_pixel[c, i, counts[n, i]] for "
         "every pixel i, sum over i, add log_prior[c]; return shape (n, n_classes).",
    mutants=(Mutant("the log-likelihood without the prior log p(y)", _log_likelihood_only,
                    "Add log_prior[c] to every row: p(x, y) = p(y) p(x | y)."),
             Mutant("the transpose, shape (n_classes, n)", _transposed,
                    "Return one row per image and one column per class.")),
)


def _joints(scale, shift=0.0, n=4, n_classes=3, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return (scale * torch.randn(n, n_classes, generator=generator) + shift,)


def _over_samples(joint):
    return joint - torch.logsumexp(joint, dim=0, keepdim=True)


def _naive_normalisation(joint):
    return joint - joint.exp().sum(dim=1, keepdim=True).log()


POSTERIOR = Exercise(
    name="log_posterior",
    reference=lambda joint: torch.log_softmax(joint, dim=1),
    cases=(Case("4 images, 3 classes, log joints near 0", lambda: _joints(1.0)),
           Case("6 images, 10 classes, log joints near -300 as for 64 real pixels",
                lambda: _joints(5.0, shift=-300.0, n=6, n_classes=10, seed=1))),
    hint="Bayes' rule in logs: log p(y=c | x) = log p(x, c) - log sum_c' p(x, c'); "
         "torch.logsumexp(joint, dim=1, keepdim=True) computes the second term stably.",
    mutants=(Mutant("a normalisation over the images (dim 0) instead of the classes", _over_samples,
                    "Each image's probabilities over the classes must sum to 1: reduce over dim=1."),
             Mutant("log(sum(exp(joint))) computed naively", _naive_normalisation,
                    "exp(-300) underflows to 0 in float32, and log(0) = -inf: use torch.logsumexp.")),
)

log_joint = LOG_JOINT.check
log_posterior = POSTERIOR.check
EXERCISES = (LOG_JOINT, POSTERIOR)

"""Checkers for the exercises of lecture 04: the semi-supervised loss with its lambda, and hiding labels."""
import torch
from torch.nn.functional import cross_entropy

from ..autoencoders import squared_error
from ..semisupervised import UNLABELLED, hide_labels as _reference_hide_labels
from ._feedback import Case, Exercise, Mutant


def _batch(n=6, n_labelled=2, lam=10.0, d=5, n_classes=3, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(n, d, generator=generator)
    x_hat = x + 0.2 * torch.randn(n, d, generator=generator)
    logits = torch.randn(n_labelled, n_classes, generator=generator)
    y = torch.randint(0, n_classes, (n_labelled,), generator=generator)
    return x_hat, x, logits, y, lam


def _reference_loss(x_hat, x, logits, y, lam):
    return squared_error(x_hat, x) + lam * cross_entropy(logits, y)


def _lambda_on_reconstruction(x_hat, x, logits, y, lam):
    return lam * squared_error(x_hat, x) + cross_entropy(logits, y)


def _summed_prediction(x_hat, x, logits, y, lam):
    return squared_error(x_hat, x) + lam * cross_entropy(logits, y, reduction="sum")


LOSS = Exercise(
    name="semi_supervised_loss",
    reference=_reference_loss,
    cases=(Case("lambda = 0: reconstruction only, 6 images of 5 pixels", lambda: _batch(lam=0.0)),
           Case("6 images of 5 pixels, 2 of them labelled, 3 classes, lambda = 10", lambda: _batch()),
           Case("8 images of 7 pixels, 4 labelled, 4 classes, lambda = 0.5",
                lambda: _batch(n=8, n_labelled=4, lam=0.5, d=7, n_classes=4, seed=1)),
           Case("5 images of 3 pixels, 3 labelled, 2 classes, lambda = 2",
                lambda: _batch(n=5, n_labelled=3, lam=2.0, d=3, n_classes=2, seed=2))),
    hint="(1/n) sum_i || x_hat_i - x_i ||^2 over all n images, plus lambda times the mean cross-entropy "
         "over the l labelled ones: F.cross_entropy(logits, y) averages over them.",
    mutants=(Mutant("lambda on the reconstruction term instead of the prediction term", _lambda_on_reconstruction,
                    "lambda weighs the prediction loss: L = reconstruction + lambda * prediction."),
             Mutant("the prediction loss summed over the labelled images", _summed_prediction,
                    "Average each term over its own set, so lambda means the same whatever l is.")),
)


def _labels(n=8, labelled=(0, 3), seed=0):
    y = torch.randint(0, 10, (n,), generator=torch.Generator().manual_seed(seed))
    return y, torch.tensor(labelled)


def _hide_labelled(y, labelled):
    partial = y.clone()
    partial[labelled] = UNLABELLED
    return partial


HIDE = Exercise(
    name="hide_labels",
    reference=_reference_hide_labels,
    cases=(Case("8 labels, those of images 0 and 3 kept", lambda: _labels()),
           Case("10 labels, 5 kept", lambda: _labels(10, (1, 2, 5, 7, 9), seed=1))),
    hint="Return a new tensor (torch.full_like(y, -1)) holding y[i] at the indices in `labelled` and -1 "
         "everywhere else, integers like y; leave y itself unchanged.",
    mutants=(Mutant("the labelled examples hidden and the others kept", _hide_labelled,
                    "`labelled` lists the indices whose labels are known: keep those, hide the rest."),),
)

semi_supervised_loss = LOSS.check
hide_labels = HIDE.check
EXERCISES = (LOSS, HIDE)

r"""The semi-supervised autoencoder: co-learning an encoder f(x, alpha), a decoder g(z, beta)
and a predictor y_hat(z, gamma) from many images of which only a few are labelled.

As in the slides, reconstruction uses all the data and prediction only the labelled part:

    L = (1/n) sum_{all i} || g(f(x_i)) - x_i ||^2  +  lambda (1/l) sum_{labelled i} CE(y_hat(f(x_i)), y_i)

The reconstruction term shapes the code with the unlabelled images, so the predictor,
which sees 5 labels per class, works on features learned from all 1347.

Extension beyond the slides (off with noise = 0 and consistency = 0): the inputs are
corrupted, x_tilde = x + noise * eps, and the predictor is asked to give the same answer for
two independent corruptions of every image, labelled or not (the Pi-model, Laine & Aila 2017):

    + consistency * (1/n) sum_i || y_hat(f(x_tilde_i)) - y_hat(f(x_tilde'_i)) ||^2

with y_hat the predicted class probabilities.
"""
import numpy as np
import torch
from torch import nn

from ._checks import check_float, check_int
from .autoencoders import squared_error
from .data import N_CLASSES
from .networks import mlp
from .train import fit as train_fit

UNLABELLED = -1


def select_labelled(y, n_labels, seed=0):
    """Indices of `n_labels` examples, the same number from each class, drawn at random.

    Returns a numpy array of indices into y; the labels of all other examples are to be hidden.
    """
    y = np.asarray(y)
    classes = np.unique(y)
    n_labels = check_int("n_labels", n_labels, low=len(classes), high=len(y))
    if n_labels % len(classes):
        raise ValueError(f"n_labels must be a multiple of the {len(classes)} classes, to balance them; got {n_labels}")
    per_class = n_labels // len(classes)
    smallest = min(np.sum(y == c) for c in classes)
    if per_class > smallest:
        raise ValueError(f"n_labels asks for {per_class} per class, but one class has only {smallest} examples")
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in classes])


def hide_labels(y, labelled):
    """A copy of y with every label not in `labelled` set to -1 (scikit-learn's convention)."""
    partial = torch.full_like(torch.as_tensor(y), UNLABELLED)
    partial[labelled] = torch.as_tensor(y)[labelled]
    return partial


class SemiSupervisedAutoencoder(nn.Module):
    """Encoder, decoder and predictor, fitted on images with partly hidden labels.

    Parameters
    ----------
    n_features, latent_dim, hidden, n_classes : sizes of x, z, the hidden layers and y.
    lam : lambda >= 0, the weight of the prediction loss.
    noise : std of the Gaussian noise added to the inputs while training, in [0, 1].
    consistency : weight >= 0 of the extension's consistency term (with noise = 0 and
        consistency = 0 this is the slides' model).
    """

    def __init__(self, n_features=64, latent_dim=16, hidden=256, n_classes=N_CLASSES, lam=10.0,
                 noise=0.3, consistency=10.0):
        super().__init__()
        self.hparams = dict(
            n_features=check_int("n_features", n_features, low=1),
            latent_dim=check_int("latent_dim", latent_dim, low=1),
            hidden=check_int("hidden", hidden, low=1),
            n_classes=check_int("n_classes", n_classes, low=2),
            lam=check_float("lam", lam, low=0.0),
            noise=check_float("noise", noise, low=0.0, high=1.0),
            consistency=check_float("consistency", consistency, low=0.0))
        self.encoder = mlp([n_features, hidden, hidden, latent_dim])
        self.decoder = nn.Sequential(mlp([latent_dim, hidden, hidden, n_features]), nn.Sigmoid())
        self.predictor = nn.Linear(latent_dim, n_classes)

    def forward(self, x):
        """The class logits y_hat(f(x))."""
        return self.predictor(self.encoder(x))

    def _noisy(self, x):
        return x + self.hparams["noise"] * torch.randn_like(x)

    def loss(self, x, x_labelled, y_labelled):
        """The co-learning loss on a minibatch x of all images, and the labelled set; a dict of its terms."""
        h = self.hparams
        z = self.encoder(self._noisy(x))
        reconstruction = squared_error(self.decoder(z), x)
        prediction = nn.functional.cross_entropy(self(self._noisy(x_labelled)), y_labelled)
        p, p_other = self.predictor(z).softmax(dim=1), self(self._noisy(x)).softmax(dim=1)
        consistency = ((p - p_other) ** 2).sum(dim=1).mean()
        total = reconstruction + h["lam"] * prediction + h["consistency"] * consistency
        return {"loss": total, "reconstruction": reconstruction, "prediction": prediction,
                "consistency": consistency}

    def fit(self, x, y, epochs=100, lr=1e-3, supervised_only=False, progress=False):
        """Fit on images x and labels y, with y = -1 marking an unlabelled image. Returns self.

        With `supervised_only`, only the encoder and predictor learn, from the labelled images
        alone (with the same input noise and the same number of gradient steps, full-batch):
        the baseline that ignores the unlabelled data.
        """
        y = torch.as_tensor(y)
        if x.shape[0] != y.shape[0] or x.shape[1] != self.hparams["n_features"]:
            raise ValueError(f"x must have shape (n, {self.hparams['n_features']}) and y shape (n,); "
                             f"got {tuple(x.shape)} and {tuple(y.shape)}")
        labelled = y != UNLABELLED
        if labelled.sum() == 0:
            raise ValueError("y has no labelled example (every label is -1)")
        device = next(self.parameters()).device
        x_l, y_l = x[labelled].to(device), y[labelled].to(device)
        if supervised_only:
            def loss(model, x_batch, y_batch):
                return nn.functional.cross_entropy(model(model._noisy(x_batch)), y_batch)
            data, batch_size = (x_l, y_l), len(x_l)
            epochs = epochs * -(-len(x) // 64)
        else:
            def loss(model, x_batch):
                return model.loss(x_batch, x_l, y_l)
            data, batch_size = x, 64
        self.history_ = train_fit(self, loss, data, epochs=epochs, batch_size=batch_size, lr=lr,
                                  schedule="cosine", progress=progress)
        return self

    @torch.no_grad()
    def predict(self, x):
        """The predicted class of each image."""
        return self(x).argmax(dim=1)

    def score(self, x, y):
        """Accuracy on (x, y)."""
        return (self.predict(x) == torch.as_tensor(y)).float().mean().item()

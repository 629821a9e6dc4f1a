r"""The semi-supervised autoencoder: co-learning an encoder f(x, alpha), a decoder g(z, beta)
and a predictor y_hat(z, gamma) from n images of which only l are labelled.

Reconstruction uses all n images (the labelled ones included), prediction only the l labelled
ones, and each term is averaged over its own set:

    L = (1/n) sum_{all i} || g(f(x_i)) - x_i ||^2  +  lambda (1/l) sum_{labelled i} CE(y_hat(f(x_i)), y_i)

So lambda weighs a mean loss per image against a mean loss per label, whatever n and l are.
Written with plain sums, sum_{all i} ... + lambda' sum_{labelled i} ..., the same objective has
lambda' = lambda n / l. Each training step takes a minibatch of 64 of the n images for the first
term and all l labelled images for the second.

Extension (off with noise = 0 and consistency = 0): the inputs of both terms are corrupted,
x_tilde = x + noise * eps, and the predictor is asked to give the same answer for two
independent corruptions of every image, labelled or not (the Pi-model, Laine & Aila 2017):

    + consistency * (1/n) sum_{all i} || p(x_tilde_i) - p(x_tilde'_i) ||^2,   p(x) = softmax(y_hat(f(x)))

Hyperparameters (lambda, the number of epochs) are to be chosen on a validation set split off
the training images (`split_validation`, and `fit(..., validation=...)`), never on the test set.
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
BATCH_SIZE = 64


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


def split_validation(y, n_validation, seed=0):
    """Split the indices of y into (kept, validation): `n_validation` balanced examples drawn as
    `select_labelled` draws them, and all the others, in order.

    The validation examples' labels only choose hyperparameters; no model trains on them.
    """
    validation = select_labelled(y, n_validation, seed=seed)
    return np.setdiff1d(np.arange(len(y)), validation), validation


def hide_labels(y, labelled):
    """A copy of y with every label not in `labelled` set to -1 (scikit-learn's convention)."""
    partial = torch.full_like(torch.as_tensor(y), UNLABELLED)
    partial[labelled] = torch.as_tensor(y)[labelled]
    return partial


def _check_labels(y, n_classes):
    """Raise unless y holds integer labels in 0 .. n_classes - 1 or -1, with at least one labelled
    image of every class (a class without one could never be learned)."""
    if y.dtype.is_floating_point or y.dtype == torch.bool:
        raise TypeError(f"y must hold integer labels, got dtype {y.dtype}")
    bad = (y < UNLABELLED) | (y >= n_classes)
    if bad.any():
        raise ValueError(f"y must hold labels in 0..{n_classes - 1}, or -1 for unlabelled; "
                         f"got {sorted(set(y[bad].tolist()))[:5]}")
    missing = sorted(set(range(n_classes)) - set(y[y != UNLABELLED].tolist()))
    if missing:
        raise ValueError(f"y has no labelled image of class {missing}: each of the {n_classes} classes needs one")


class _BestEpoch:
    """A `train.fit` monitor: the validation accuracy after each epoch; keeps the best epoch's weights."""

    def __init__(self, x_val, y_val):
        self.x_val, self.y_val = x_val, y_val
        self.epoch, self.best_epoch, self.best_accuracy, self.best_state = 0, 0, -1.0, None

    def __call__(self, model):
        self.epoch += 1
        accuracy = model.score(self.x_val, self.y_val)
        if accuracy > self.best_accuracy:
            self.best_epoch, self.best_accuracy = self.epoch, accuracy
            self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        return accuracy


class SemiSupervisedAutoencoder(nn.Module):
    """Encoder, decoder and predictor, fitted on images with partly hidden labels.

    Parameters
    ----------
    n_features, latent_dim, hidden, n_classes : sizes of x, z, the hidden layers and y.
    lam : lambda >= 0, the weight of the mean prediction loss against the mean reconstruction loss.
    noise : std of the Gaussian noise added to the inputs while training, in [0, 1].
    consistency : weight >= 0 of the extension's consistency term (with noise = 0 and
        consistency = 0 this is the plain co-learning model).
    """

    def __init__(self, n_features=64, latent_dim=16, hidden=128, n_classes=N_CLASSES, lam=10.0,
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
        """The co-learning loss on a minibatch x of all images and the whole labelled set
        (x_labelled, y_labelled): a dict with the total "loss" and its three terms, each a mean
        (reconstruction and consistency over x, prediction over the labelled set)."""
        h = self.hparams
        z = self.encoder(self._noisy(x))
        reconstruction = squared_error(self.decoder(z), x)
        prediction = nn.functional.cross_entropy(self(self._noisy(x_labelled)), y_labelled)
        p, p_other = self.predictor(z).softmax(dim=1), self(self._noisy(x)).softmax(dim=1)
        consistency = ((p - p_other) ** 2).sum(dim=1).mean()
        total = reconstruction + h["lam"] * prediction + h["consistency"] * consistency
        return {"loss": total, "reconstruction": reconstruction, "prediction": prediction,
                "consistency": consistency}

    def fit(self, x, y, epochs=60, lr=1e-3, supervised_only=False, validation=None, progress=False):
        """Fit on images x and labels y, with y = -1 marking an unlabelled image. Returns self.

        Adam with a constant learning rate, so the model after k epochs of a run is the model a
        k-epoch run gives. With `validation` = (x_val, y_val), images whose labels serve nothing
        else, the validation accuracy is recorded after every epoch in
        `history_["validation accuracy"]`, and the weights of the first epoch with the best one are
        kept (early stopping): the number of epochs, `best_epoch_`, is chosen on the validation set.

        With `supervised_only`, only the encoder and predictor learn, from the labelled images
        alone: the baseline that ignores the unlabelled data. Each of its steps uses all labelled
        images with the same input noise, and an epoch has as many steps as the co-learning run's
        (one per minibatch of 64 images of x).

        Before any training, a label outside 0..n_classes - 1 (other than -1), or a class without a
        labelled image, raises ValueError.
        """
        y = torch.as_tensor(y)
        n_features = self.hparams["n_features"]
        if x.ndim != 2 or x.shape[0] != y.shape[0] or x.shape[1] != n_features:
            raise ValueError(f"x must have shape (n, {n_features}) and y shape (n,); "
                             f"got {tuple(x.shape)} and {tuple(y.shape)}")
        labelled = y != UNLABELLED
        if labelled.sum() == 0:
            raise ValueError("y has no labelled example (every label is -1)")
        device = next(self.parameters()).device
        monitor = None
        if validation is not None:
            x_val, y_val = validation
            if x_val.ndim != 2 or x_val.shape[1] != n_features or len(x_val) != len(y_val) or len(x_val) == 0:
                raise ValueError(f"validation must be (x_val, y_val) with x_val of shape (m, {n_features}) and "
                                 f"y_val of shape (m,), m >= 1; got {tuple(x_val.shape)} and {tuple(y_val.shape)}")
            monitor = _BestEpoch(x_val.to(device), torch.as_tensor(y_val).to(device))
        _check_labels(y, self.hparams["n_classes"])
        x_l, y_l = x[labelled].to(device), y[labelled].to(device)
        if supervised_only:
            def loss(model, _step):
                return nn.functional.cross_entropy(model(model._noisy(x_l)), y_l)
            data, batch_size = torch.zeros(-(-len(x) // BATCH_SIZE)), 1  # one row per full-batch step
        else:
            def loss(model, x_batch):
                return model.loss(x_batch, x_l, y_l)
            data, batch_size = x, BATCH_SIZE
        self.history_ = train_fit(self, loss, data, epochs=epochs, batch_size=batch_size, lr=lr, progress=progress,
                                  monitor=None if monitor is None else {"validation accuracy": monitor})
        if monitor is not None and monitor.best_state is not None:
            self.load_state_dict(monitor.best_state)
            self.best_epoch_ = monitor.best_epoch
        return self

    @torch.no_grad()
    def predict(self, x):
        """The predicted class of each image."""
        return self(x).argmax(dim=1)

    def score(self, x, y):
        """Accuracy on (x, y)."""
        return (self.predict(x) == torch.as_tensor(y).to(x.device)).float().mean().item()

r"""PCA, and the linear autoencoder that finds the same subspace by gradient descent.

In matrix notation the centred data are the rows of F = (x_1, ..., x_l)^T, and PCA
looks for k orthonormal directions U (d x k, U^T U = I) that minimise

    sum_i || U U^T x_i - x_i ||^2  =  || F - G U^T ||^2,     with the code G = F U.

The minimiser is spanned by the top-k right singular vectors of F = A S V^T: U = V[:, :k].

A linear autoencoder x_hat = W_dec W_enc x minimises the same loss without the constraint
U^T U = I. Any minimiser spans the same subspace, but W_dec can be any basis of it
(W_dec C, W_enc C^{-1} reconstruct equally well for every invertible C).
"""
from scipy.linalg import subspace_angles
import torch
from torch import nn

from ._checks import as_matrix, check_float, check_int
from .train import fit as train_fit


def _check_sizes(n_features, n_components):
    n_features = check_int("n_features", n_features, low=1)
    n_components = check_int("n_components", n_components, low=1, high=n_features)
    return n_features, n_components


class PCA(nn.Module):
    """Principal component analysis by the SVD of the centred data.

    Attributes after `fit`: `mean_` (d,), `components_` (k, d) = U^T with orthonormal rows,
    `explained_variance_` (k,) = S_j^2 / (n - 1), and `explained_variance_ratio_`.
    """

    def __init__(self, n_features, n_components):
        super().__init__()
        n_features, n_components = _check_sizes(n_features, n_components)
        self.hparams = dict(n_features=n_features, n_components=n_components)
        self.register_buffer("mean_", torch.zeros(n_features))
        self.register_buffer("components_", torch.zeros(n_components, n_features))
        self.register_buffer("explained_variance_", torch.zeros(n_components))
        self.register_buffer("total_variance_", torch.zeros(()))

    def fit(self, x):
        """Centre x (n, d) and keep its top-k right singular vectors. Returns self."""
        x = as_matrix("x", x, self.hparams["n_features"]).double()
        if len(x) < 2:
            raise ValueError("PCA needs at least 2 samples")
        self.mean_ = x.mean(dim=0).float()
        _, s, vt = torch.linalg.svd(x - x.mean(dim=0), full_matrices=False)
        k = self.hparams["n_components"]
        largest = vt.gather(1, vt.abs().argmax(dim=1, keepdim=True))
        vt = vt * torch.sign(largest)  # a fixed sign: each direction's largest entry is positive
        self.components_ = vt[:k].float().contiguous()  # LAPACK returns a strided view: store a plain copy
        variance = s**2 / (len(x) - 1)
        self.explained_variance_ = variance[:k].float()
        self.total_variance_ = variance.sum().float()
        return self

    @property
    def explained_variance_ratio_(self):
        """The share of the total variance along each component."""
        return self.explained_variance_ / self.total_variance_

    def transform(self, x):
        """The code G = F U of each row, shape (n, k)."""
        return (as_matrix("x", x, self.hparams["n_features"]) - self.mean_) @ self.components_.T

    def inverse_transform(self, g):
        """Back to input space: G U^T plus the mean, shape (n, d)."""
        return as_matrix("g", g, self.hparams["n_components"]) @ self.components_ + self.mean_

    def reconstruction_error(self, x):
        """|| F - G U^T ||^2, the squared error summed over samples and pixels."""
        x = as_matrix("x", x, self.hparams["n_features"])
        return ((self.inverse_transform(self.transform(x)) - x) ** 2).sum()


class LinearAutoencoder(nn.Module):
    r"""x_hat = mean + W_dec W_enc (x - mean), trained by gradient descent on

        (1/n) sum_i || x_hat_i - x_i ||^2  +  l2 ( ||W_enc||^2 + ||W_dec||^2 )

    Without the penalty every minimiser is W_dec = U_k C for some invertible C: PCA's
    subspace in an arbitrary basis. An L2 penalty removes all but the rotations: at the
    minimum W_enc = W_dec^T and W_dec = U_k (I - l2 Lambda^{-1})^{1/2} O with O orthogonal
    (Kunin et al., ICML 2019), so the left singular vectors of W_dec are the individual
    principal directions, in order (see `principal_directions`).

    Parameters
    ----------
    n_features, n_components : d and k, with 1 <= k <= d.
    l2 : float >= 0, the weight penalty; 0 gives the plain linear autoencoder.
    """

    def __init__(self, n_features, n_components, l2=0.0):
        super().__init__()
        n_features, n_components = _check_sizes(n_features, n_components)
        l2 = check_float("l2", l2, low=0.0)
        self.hparams = dict(n_features=n_features, n_components=n_components, l2=l2)
        self.encoder = nn.Linear(n_features, n_components, bias=False)
        self.decoder = nn.Linear(n_components, n_features, bias=False)
        self.register_buffer("mean_", torch.zeros(n_features))

    def forward(self, x):
        return self.decoder(self.encoder(x - self.mean_)) + self.mean_

    def loss(self, x):
        """Mean squared reconstruction error per sample, plus the weight penalty."""
        error = ((self(x) - x) ** 2).sum(dim=1).mean()
        weights = self.encoder.weight.pow(2).sum() + self.decoder.weight.pow(2).sum()
        return error + self.hparams["l2"] * weights

    def fit(self, x, epochs=2000, lr=1e-2, monitor=None, progress=False):
        """Centre x, then full-batch Adam with a cosine-decayed learning rate. Returns self.

        The history of the run is kept as `history_`; `monitor` is passed to `train.fit`.
        """
        x = as_matrix("x", x, self.hparams["n_features"])
        self.mean_ = x.mean(dim=0).to(self.mean_.device)
        self.history_ = train_fit(self, LinearAutoencoder.loss, x, epochs=epochs, batch_size=len(x), lr=lr,
                                  schedule="cosine", monitor=monitor, progress=progress)
        return self

    @property
    def components_(self):
        """The decoder's directions in input space, shape (k, d): row j is W_dec[:, j]."""
        return self.decoder.weight.detach().T

    def principal_directions(self):
        """The left singular vectors of W_dec, shape (k, d), ordered by singular value, with
        each direction's largest entry positive. With l2 > 0 they are PCA's components."""
        u, _, _ = torch.linalg.svd(self.decoder.weight.detach().double(), full_matrices=False)
        largest = u.gather(0, u.abs().argmax(dim=0, keepdim=True))
        return (u * torch.sign(largest)).T.float()

    @torch.no_grad()
    def transform(self, x):
        """The code W_enc (x - mean), shape (n, k)."""
        return self.encoder(as_matrix("x", x, self.hparams["n_features"]).to(self.mean_.device) - self.mean_)

    @torch.no_grad()
    def inverse_transform(self, z):
        """Back to input space: W_dec z + mean, shape (n, d)."""
        return self.decoder(as_matrix("z", z, self.hparams["n_components"]).to(self.mean_.device)) + self.mean_


def max_principal_angle(components_a, components_b):
    """The largest principal angle, in degrees, between the spans of two sets of directions.

    Each argument holds one direction per row, shape (k, d), as `components_` does.
    0 means the same subspace, whatever the basis; 90 means some direction is orthogonal.
    """
    a = torch.as_tensor(components_a).detach().double().cpu().numpy().T
    b = torch.as_tensor(components_b).detach().double().cpu().numpy().T
    return float(torch.rad2deg(torch.tensor(subspace_angles(a, b).max())))

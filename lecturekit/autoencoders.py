r"""Nonlinear autoencoders and the regularised ones of Charte et al. (2018).

An autoencoder is an encoder f(x, alpha) to a code z and a decoder g(z, beta) back,
trained to reconstruct its input:

    L(alpha, beta) = (1/n) sum_i || g(f(x_i, alpha), beta) - x_i ||^2

* undercomplete: the code is narrower than x, so the model must compress;
* sparse: add a penalty on the code. An L1 penalty lambda sum_j |z_j| has a kink at 0:
  its slope stays +-1 however small z_j is, so it keeps pushing small codes to 0 (for
  variables fitted directly, as in the lasso, the minimum has exact zeros; Tibshirani 1996);
  an L2 penalty lambda sum_j z_j^2 has slope 2 z_j, whose push fades as z_j nears 0.
  Either penalty can also be lowered by shrinking the code while the decoder's weights grow,
  which reconstructs the same, so measure sparsity with a scale-free index (`hoyer_sparsity`);
* denoising: reconstruct the clean x from a corrupted copy x_tilde ~ C(x_tilde | x).
"""
import torch
from torch import nn

from ._checks import check_choice, check_float, check_int


class Autoencoder(nn.Module):
    """f: d -> hidden -> k (ReLU hidden layer, linear code); g: k -> hidden -> d, sigmoid output.

    Parameters
    ----------
    n_features : d, the input size (64 for the digits).
    n_components : k, the code size.
    hidden : width of the hidden layer of the encoder and of the decoder.
    code_activation : None (linear code) or "relu" (non-negative code: a ReLU makes exact zeros).
    """

    def __init__(self, n_features=64, n_components=2, hidden=128, code_activation=None):
        super().__init__()
        n_features = check_int("n_features", n_features, low=1)
        n_components = check_int("n_components", n_components, low=1)
        hidden = check_int("hidden", hidden, low=1)
        check_choice("code_activation", code_activation, (None, "relu"))
        self.hparams = dict(n_features=n_features, n_components=n_components, hidden=hidden,
                            code_activation=code_activation)
        code = [nn.ReLU()] if code_activation == "relu" else []
        self.encoder = nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(),
                                     nn.Linear(hidden, n_components), *code)
        self.decoder = nn.Sequential(nn.Linear(n_components, hidden), nn.ReLU(),
                                     nn.Linear(hidden, n_features), nn.Sigmoid())

    def encode(self, x):
        """z = f(x, alpha)."""
        n_features = self.hparams["n_features"]
        if x.shape[-1] != n_features:
            raise ValueError(f"x must have shape (n, {n_features}); got {tuple(x.shape)}")
        return self.encoder(x)

    def decode(self, z):
        """x_hat = g(z, beta)."""
        return self.decoder(z)

    def forward(self, x):
        return self.decode(self.encode(x))


def squared_error(x_hat, x):
    """(1/n) sum_i || x_hat_i - x_i ||^2: squared error summed over pixels, averaged over samples."""
    return ((x_hat - x) ** 2).sum(dim=1).mean()


def reconstruction_loss(model, x):
    """The undercomplete autoencoder's loss, (1/n) sum_i || g(f(x_i)) - x_i ||^2."""
    return squared_error(model(x), x)


CODE_PENALTIES = ("l1", "l2")


def code_penalty(z, norm):
    """(1/n) sum_i sum_j |z_ij| for "l1", or (1/n) sum_i sum_j z_ij^2 for "l2"."""
    check_choice("norm", norm, CODE_PENALTIES)
    return (z.abs() if norm == "l1" else z**2).sum(dim=1).mean()


def sparse_loss(model, x, penalty, norm="l1"):
    """|| g(f(x)) - x ||^2 + penalty * Omega(f(x)), with Omega the L1 or L2 norm of the code.

    Returns a dict with the total "loss", and its "reconstruction" and "code_penalty" parts.
    """
    penalty = check_float("penalty", penalty, low=0.0)
    z = model.encode(x)
    reconstruction = squared_error(model.decode(z), x)
    omega = code_penalty(z, norm)
    return {"loss": reconstruction + penalty * omega, "reconstruction": reconstruction, "code_penalty": omega}


def sparsity(z, threshold=1e-3):
    """The fraction of code values whose magnitude is below `threshold`: zero, or as good as.

    It depends on the scale of z: shrink every code by 10 and more values fall below the
    threshold, with no more zeros. Compare codes of the same scale, or use `hoyer_sparsity`.
    """
    return (z.abs() < threshold).float().mean().item()


def hoyer_sparsity(z):
    """Hoyer's (2004) scale-free sparsity of each code z (a row, k > 1 entries), averaged over rows:

        H(z) = (sqrt(k) - ||z||_1 / ||z||_2) / (sqrt(k) - 1)

    1 when one entry carries the whole code, 0 when all k entries have the same magnitude;
    H(c z) = H(z) for every c != 0. An all-zero row counts as 1 (nothing is active).
    """
    z = torch.as_tensor(z)
    if z.ndim != 2 or z.shape[1] < 2:
        raise ValueError(f"z must have shape (n, k) with k >= 2; got {tuple(z.shape)}")
    k = z.shape[1]
    l1, l2 = z.abs().sum(dim=1), z.norm(dim=1)
    ratio = torch.where(l2 > 0, l1 / l2, torch.ones_like(l1))
    return ((k**0.5 - ratio) / (k**0.5 - 1)).mean().item()


NOISES = ("gaussian", "mask")


def corrupt(x, kind, level, generator=None):
    """A corrupted copy x_tilde of x.

    * "gaussian": x_tilde = x + level * eps, eps ~ N(0, I); level is the std, in [0, 1].
    * "mask": each pixel is set to 0 with probability level, in [0, 1).
    """
    check_choice("kind", kind, NOISES)
    level = check_float("level", level, low=0.0, high=1.0)
    if kind == "mask" and level == 1.0:
        raise ValueError("level must be in [0, 1) for masking noise: masking every pixel leaves nothing")
    if kind == "gaussian":
        return x + level * torch.randn(x.shape, generator=generator).to(x.device)
    keep = torch.rand(x.shape, generator=generator).to(x.device) >= level
    return x * keep


def denoising_loss(model, x, kind="gaussian", level=0.3):
    """(1/n) sum_i || g(f(x_tilde_i)) - x_i ||^2 with x_tilde = corrupt(x, kind, level)."""
    return squared_error(model(corrupt(x, kind, level)), x)

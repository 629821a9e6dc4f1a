"""Checkers for the exercises of lecture 02: the L1 penalty's subgradient and the sparse loss."""
import torch

from ..autoencoders import code_penalty, squared_error
from ._feedback import Case, Exercise, Mutant


def _codes(n=3, k=4, seed=0):
    z = torch.randn(n, k, generator=torch.Generator().manual_seed(seed))
    z[0, 0] = 0.0  # a code at the kink
    return (z,)


def _reference_subgradient(z):
    z = z.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(code_penalty(z, "l1"), z)  # autograd's choice at 0 is 0
    return grad


SUBGRADIENT = Exercise(
    name="l1_subgradient",
    reference=_reference_subgradient,
    cases=(Case("3 codes of 4 units, one of them exactly 0", lambda: _codes()),
           Case("6 codes of 2 units, one of them exactly 0", lambda: _codes(n=6, k=2, seed=1))),
    hint="Omega(z) = (1/n) sum_i sum_j |z_ij|; its (sub)gradient is sign(z_ij) / n, and at z_ij = 0 any value "
         "in [-1/n, 1/n] is a subgradient: choose 0, as torch.sign does.",
    mutants=(Mutant("sign(z) without the 1/n of the mean over samples", lambda z: torch.sign(z),
                    "The penalty averages over the n codes, so every entry of its gradient carries 1/n."),
             Mutant("the gradient of the L2 penalty, 2 z / n", lambda z: 2 * z / len(z),
                    "The L1 penalty's gradient does not shrink with z: its size is 1/n wherever z is not 0. "
                    "That constant push is what sets small codes exactly to 0.")),
)


def _batch(n=5, d=6, k=3, penalty=0.1, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(n, d, generator=generator)
    return x + 0.1 * torch.randn(n, d, generator=generator), x, torch.randn(n, k, generator=generator), penalty


def _reference_sparse_loss(x_hat, x, z, penalty):
    return squared_error(x_hat, x) + penalty * code_penalty(z, "l1")


def _l2_penalty(x_hat, x, z, penalty):
    return squared_error(x_hat, x) + penalty * (z**2).sum(dim=1).mean()


def _mse_per_pixel(x_hat, x, z, penalty):
    return torch.nn.functional.mse_loss(x_hat, x) + penalty * code_penalty(z, "l1")


SPARSE_LOSS = Exercise(
    name="sparse_loss",
    reference=_reference_sparse_loss,
    cases=(Case("penalty = 0: the plain reconstruction loss, 5 images of 6 pixels", lambda: _batch(penalty=0.0)),
           Case("5 images, 6 pixels, 3 code units, penalty = 0.1", lambda: _batch()),
           Case("8 images, 4 pixels, 2 code units, penalty = 1", lambda: _batch(n=8, d=4, k=2, penalty=1.0, seed=1)),
           Case("3 images, 9 pixels, 5 code units, penalty = 0.5", lambda: _batch(n=3, d=9, k=5, penalty=0.5, seed=2))),
    hint="(1/n) sum_i || x_hat_i - x_i ||^2 + penalty * (1/n) sum_i sum_j |z_ij|: sum over pixels and code "
         "units, average over the n images.",
    mutants=(Mutant("the L2 penalty z^2 instead of |z|", _l2_penalty,
                    "The sparse autoencoder's penalty is the L1 norm: z.abs(), whose kink at 0 selects features."),
             Mutant("the mean over every pixel (F.mse_loss) instead of the sum over pixels", _mse_per_pixel,
                    "Sum the squared error over the pixels of each image, then average over the images.")),
)

l1_subgradient = SUBGRADIENT.check
sparse_loss = SPARSE_LOSS.check
EXERCISES = (SUBGRADIENT, SPARSE_LOSS)

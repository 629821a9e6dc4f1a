"""Checkers for the exercises of lecture 09: the change of variables in one dimension, and the affine
coupling layer's forward pass and log-determinant."""
import math

import torch
from torch import nn

from ._feedback import Case, Exercise, Mutant

# ---- 09.1: the change of variables in one dimension -------------------------------------------------
# Each case is an invertible map f from x to z with its derivative f', written with torch operations,
# and the torch.distributions transforms g = f^{-1} (from z to x) that give an independent reference.

MAPS = {
    "affine": (lambda x: (x - 1) / 2, lambda x: torch.full_like(x, 0.5)),
    "decreasing affine": (lambda x: 0.5 - 2 * x, lambda x: torch.full_like(x, -2.0)),
    "logit": (lambda x: x.log() - (-x).log1p(), lambda x: 1 / (x * (1 - x))),
    "log": (lambda x: x.log(), lambda x: 1 / x),
}


def _reference_transforms(name):
    """g = f^{-1} for each map of MAPS, as torch.distributions transforms (z -> x)."""
    from torch.distributions import transforms

    return {"affine": [transforms.AffineTransform(1.0, 2.0)],
            "decreasing affine": [transforms.AffineTransform(0.25, -0.5)],
            "logit": [transforms.SigmoidTransform()],
            "log": [transforms.ExpTransform()]}[name]


def _points(name, n, seed):
    """n points x in the domain of the map `name`, in float64, with the map and its derivative."""
    generator = torch.Generator().manual_seed(seed)
    u = torch.rand(n, generator=generator, dtype=torch.float64)
    x = {"affine": 6 * u - 2, "decreasing affine": 4 * u - 2, "logit": 0.02 + 0.96 * u, "log": 0.05 + 4 * u}[name]
    return (x, *MAPS[name])


def _reference_log_density(x, f, f_prime):
    """log p(x) = log N(f(x); 0, 1) + log |f'(x)|."""
    return -0.5 * (math.log(2 * math.pi) + f(x) ** 2) + f_prime(x).abs().log()


LOG_DENSITY = Exercise(
    name="log_density",
    reference=_reference_log_density,
    cases=(Case("f(x) = (x - 1) / 2 at 5 points: x ~ N(1, 2^2)", lambda: _points("affine", 5, 0)),
           Case("f(x) = 0.5 - 2x, a decreasing map, at 4 points", lambda: _points("decreasing affine", 4, 1)),
           Case("f(x) = logit(x) on (0, 1) at 6 points", lambda: _points("logit", 6, 2)),
           Case("f(x) = log(x) on x > 0 at 3 points: a log-normal x", lambda: _points("log", 3, 3))),
    hint="log p(x) = log N(f(x); 0, 1) + log |f'(x)|, with log N(z; 0, 1) = -(log(2 pi) + z^2) / 2; one value "
         "per point, the shape of x.",
    mutants=(Mutant("the density of z = f(x) without the log-determinant",
                    lambda x, f, f_prime: -0.5 * (math.log(2 * math.pi) + f(x) ** 2),
                    "p(x) is not p_Z(f(x)): f stretches and squeezes the line, and the factor |f'(x)| puts the "
                    "mass back; without it the density does not integrate to 1."),
             Mutant("the log-determinant subtracted instead of added",
                    lambda x, f, f_prime: -0.5 * (math.log(2 * math.pi) + f(x) ** 2) - f_prime(x).abs().log(),
                    "f maps x to z, so p(x) = p_Z(f(x)) |f'(x)|: where f stretches (|f'| > 1), the density of x is "
                    "higher. Subtracting is the formula for the other direction, x = g(z)."),
             Mutant("log f'(x) without the absolute value",
                    lambda x, f, f_prime: -0.5 * (math.log(2 * math.pi) + f(x) ** 2) + f_prime(x).log(),
                    "A decreasing map has f'(x) < 0 and its log is nan: the change of variables uses |f'(x)|."),
             Mutant("the standard normal density of x itself",
                    lambda x, f, f_prime: -0.5 * (math.log(2 * math.pi) + x ** 2),
                    "The base density is evaluated at the code z = f(x), not at x.")),
)

# ---- 09.2: the affine coupling layer --------------------------------------------------------------


class _ScaleAndShift(nn.Module):
    """A small fixed network x_a -> (s, t), s = tanh(.) in (-1, 1), as a coupling layer's conditioner."""

    def __init__(self, half, seed):
        super().__init__()
        generator = torch.Generator().manual_seed(seed + 100)
        self.hidden = nn.Linear(half, 8).double()
        self.out = nn.Linear(8, 2 * half).double()
        with torch.no_grad():
            for parameter in self.parameters():
                parameter.copy_(torch.randn(parameter.shape, generator=generator, dtype=torch.float64))

    def forward(self, x_a):
        s, t = self.out(torch.tanh(self.hidden(x_a))).chunk(2, dim=1)
        return torch.tanh(s), t


def _coupling_case(n, d, seed):
    generator = torch.Generator().manual_seed(seed)
    return 2 * torch.randn(n, d, generator=generator, dtype=torch.float64), _ScaleAndShift(d // 2, seed)


def _halves(x):
    return x[:, :x.shape[1] // 2], x[:, x.shape[1] // 2:]


def _reference_coupling(x, scale_and_shift):
    """z = (x_a, x_b exp(s) + t) and sum_j s_j, as `flows.AffineCoupling.forward` computes them."""
    x_a, x_b = _halves(x)
    s, t = scale_and_shift(x_a)
    return torch.cat([x_a, x_b * s.exp() + t], dim=1), s.sum(dim=1)


def _wrong_half(x, scale_and_shift):
    x_a, x_b = _halves(x)
    s, t = scale_and_shift(x_b)
    return torch.cat([x_a * s.exp() + t, x_b], dim=1), s.sum(dim=1)


def _without_log_det(x, scale_and_shift):
    z, _ = _reference_coupling(x, scale_and_shift)
    return z, torch.zeros(len(x), dtype=x.dtype)


def _negative_log_det(x, scale_and_shift):
    z, log_det = _reference_coupling(x, scale_and_shift)
    return z, -log_det


def _inverse_scale(x, scale_and_shift):
    x_a, x_b = _halves(x)
    s, t = scale_and_shift(x_a)
    return torch.cat([x_a, (x_b - t) * (-s).exp()], dim=1), s.sum(dim=1)


def _scale_itself_as_log_det(x, scale_and_shift):
    z, _ = _reference_coupling(x, scale_and_shift)
    return z, scale_and_shift(_halves(x)[0])[0].exp().prod(dim=1)


AFFINE_COUPLING = Exercise(
    name="affine_coupling",
    reference=_reference_coupling,
    parts=("z", "log_det"),
    cases=(Case("3 points in 2-D: one coordinate sets the other's scale and shift", lambda: _coupling_case(3, 2, 0)),
           Case("5 points in 4-D", lambda: _coupling_case(5, 4, 1)),
           Case("2 points in 6-D", lambda: _coupling_case(2, 6, 2))),
    hint="x_a = x[:, :d // 2] passes unchanged; (s, t) = scale_and_shift(x_a); z_b = x_b * exp(s) + t; return "
         "(torch.cat([x_a, z_b], dim=1), s.sum(dim=1)): the Jacobian is triangular, so log |det| is the sum of "
         "the log-scales on its diagonal.",
    mutants=(Mutant("a coupling without its log-determinant", _without_log_det,
                    "z_b = x_b * exp(s) + t scales each coordinate of x_b by exp(s_j): the log-determinant is "
                    "sum_j s_j, one value per row, not 0."),
             Mutant("the log-determinant with the wrong sign", _negative_log_det,
                    "The forward map multiplies x_b by exp(s), so log |det dz/dx| = + sum_j s_j (the inverse "
                    "divides, and its log-det is - sum_j s_j)."),
             Mutant("the wrong half conditioned on", _wrong_half,
                    "The first half x_a = x[:, :d // 2] is the one that passes unchanged and is fed to "
                    "scale_and_shift; the second half x_b is scaled and shifted."),
             Mutant("the inverse's formula, (x_b - t) * exp(-s)", _inverse_scale,
                    "Forward is z_b = x_b * exp(s) + t; (z_b - t) * exp(-s) undoes it."),
             Mutant("the product of the scales exp(s) as the log-determinant", _scale_itself_as_log_det,
                    "The determinant is prod_j exp(s_j); its log is sum_j s_j, which is what a flow adds up.")),
)

log_density = LOG_DENSITY.check
affine_coupling = AFFINE_COUPLING.check
EXERCISES = (LOG_DENSITY, AFFINE_COUPLING)

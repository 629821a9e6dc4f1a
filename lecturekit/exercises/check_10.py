"""Checkers for the exercises of lecture 10: the forward process in one jump, and the flow matching loss."""
import math

import torch

from ..diffusion import NoiseSchedule
from ._feedback import Case, Exercise, Mutant


def _draws(betas, t, d=2, seed=0):
    """betas (T,), x0 and eps (n, d) and the steps t (n,) in 1 .. T."""
    generator = torch.Generator().manual_seed(seed)
    t = torch.tensor(t)
    x0 = torch.randn(len(t), d, generator=generator, dtype=torch.float64)
    return betas, x0, t, torch.randn(len(t), d, generator=generator, dtype=torch.float64)


def _reference_q_sample(betas, x0, t, eps):
    """Row by row, with abar_t = prod_{s=1}^{t} (1 - beta_s) multiplied out in Python floats."""
    rows = []
    for x0_i, t_i, eps_i in zip(x0, t.tolist(), eps):
        alpha_bar = math.prod(1 - float(beta) for beta in betas[:t_i])
        rows.append(math.sqrt(alpha_bar) * x0_i + math.sqrt(1 - alpha_bar) * eps_i)
    return torch.stack(rows)


def _alpha_bars(betas, t, shift=0):
    return torch.cumprod(1 - betas, dim=0)[t - 1 + shift][:, None]


Q_SAMPLE = Exercise(
    name="q_sample",
    reference=_reference_q_sample,
    cases=(Case("T = 4 steps, 3 points in 2-D at t = 1, 2, 3",
                lambda: _draws(torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64), [1, 2, 3])),
           Case("Ho et al.'s linear schedule (T = 1000), 4 points in 2-D at t = 1, 10, 500, 1000",
                lambda: _draws(torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64), [1, 10, 500, 1000], seed=1)),
           Case("a cosine schedule (T = 50), 5 points in 3-D",
                lambda: _draws(NoiseSchedule.cosine(50).betas[1:], [50, 1, 25, 7, 40], d=3, seed=2))),
    hint="alpha_bar = torch.cumprod(1 - betas, dim=0) holds abar_1 .. abar_T, so abar_t is alpha_bar[t - 1]; "
         "give it a trailing axis ([:, None]) and return sqrt(abar_t) x0 + sqrt(1 - abar_t) eps.",
    mutants=(Mutant("alpha_t = 1 - beta_t where abar_t belongs",
                    lambda betas, x0, t, eps: ((1 - betas[t - 1][:, None]).sqrt() * x0
                                               + betas[t - 1][:, None].sqrt() * eps),
                    "One jump from x_0 to x_t composes t steps: abar_t = prod_{s<=t} (1 - beta_s), a cumulative "
                    "product (torch.cumprod)."),
             Mutant("the variances abar_t and 1 - abar_t where their square roots belong",
                    lambda betas, x0, t, eps: _alpha_bars(betas, t) * x0 + (1 - _alpha_bars(betas, t)) * eps,
                    "q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I): x0 and eps are scaled by standard "
                    "deviations, the square roots."),
             Mutant("abar_{t+1}: the cumulative product indexed by t instead of t - 1",
                    lambda betas, x0, t, eps: (_alpha_bars(betas, t, shift=1).sqrt() * x0
                                               + (1 - _alpha_bars(betas, t, shift=1)).sqrt() * eps),
                    "betas[0] is beta_1, so cumprod(1 - betas)[0] is abar_1 and abar_t sits at index t - 1."),
             Mutant("the weights of x0 and eps swapped",
                    lambda betas, x0, t, eps: ((1 - _alpha_bars(betas, t)).sqrt() * x0
                                               + _alpha_bars(betas, t).sqrt() * eps),
                    "At small t, abar_t is near 1 and x_t must be near the data x_0: x_0 gets sqrt(abar_t).")),
)


class _LinearField:
    """A fixed velocity field v(x, t) = A x + t b + c, so that where v is evaluated shows in its value.
    It accepts t of shape (n,) or (n, 1), and x of any float dtype."""

    def __init__(self, d, seed):
        generator = torch.Generator().manual_seed(seed + 100)
        self.A = torch.randn(d, d, generator=generator, dtype=torch.float64)
        self.b, self.c = torch.randn(2, d, generator=generator, dtype=torch.float64)

    def __call__(self, x, t):
        return x @ self.A.T.to(x) + t.reshape(-1, 1).to(x) * self.b.to(x) + self.c.to(x)


def _flow_batch(n, d, seed=0, t=None):
    """v, the noise x0, the data x1 (n, d) and the times t (n,)."""
    generator = torch.Generator().manual_seed(seed)
    x0 = torch.randn(n, d, generator=generator, dtype=torch.float64)
    x1 = 2 + 0.5 * torch.randn(n, d, generator=generator, dtype=torch.float64)
    t = torch.rand(n, generator=generator, dtype=torch.float64) if t is None else torch.tensor(t, dtype=torch.float64)
    return _LinearField(d, seed), x0, x1, t


def _reference_flow_loss(v, x0, x1, t):
    """Row by row: x_t = (1 - t) x0 + t x1 and the target x1 - x0; the mean over rows and coordinates."""
    squares = []
    for x0_i, x1_i, t_i in zip(x0, x1, t):
        x_t = (1 - t_i) * x0_i + t_i * x1_i
        squares.append((v(x_t[None], t_i[None])[0] - (x1_i - x0_i)) ** 2)
    return float(torch.stack(squares).mean())


def _flow_loss(v, x0, x1, t, path, target, reduce=lambda squares: squares.mean()):
    return float(reduce((v(path(x0, x1, t), t) - target(x0, x1)) ** 2))


def _straight(x0, x1, t):
    return (1 - t[:, None]) * x0 + t[:, None] * x1


def _velocity(x0, x1):
    return x1 - x0


FLOW = Exercise(
    name="flow_matching_loss",
    reference=_reference_flow_loss,
    cases=(Case("3 points in 2-D", lambda: _flow_batch(3, 2)),
           Case("5 points in 2-D at t = 0, 0.25, 0.5, 0.75, 1", lambda: _flow_batch(5, 2, seed=1,
                                                                                       t=[0, 0.25, 0.5, 0.75, 1])),
           Case("4 points in 3-D", lambda: _flow_batch(4, 3, seed=2)),
           Case("3 points in 3-D", lambda: _flow_batch(3, 3, seed=3))),
    hint="x_t = (1 - t) x0 + t x1 with t[:, None], so that each row gets its own t; the target is x1 - x0; return "
         "((v(x_t, t) - (x1 - x0)) ** 2).mean(), the mean over the rows and the coordinates.",
    mutants=(Mutant("the path run backwards, x_t = t x0 + (1 - t) x1",
                    lambda v, x0, x1, t: _flow_loss(v, x0, x1, t, lambda a, b, s: _straight(b, a, s), _velocity),
                    "Here t = 0 is the noise x0 and t = 1 the data x1 (the sampler integrates from noise at t = 0 "
                    "to data at t = 1; DDPM's step t runs the other way)."),
             Mutant("the velocity x0 - x1, pointing from the data to the noise",
                    lambda v, x0, x1, t: _flow_loss(v, x0, x1, t, _straight, lambda a, b: a - b),
                    "The target is the path's velocity, d/dt [(1 - t) x0 + t x1] = x1 - x0."),
             Mutant("t multiplied without a trailing axis",
                    lambda v, x0, x1, t: _flow_loss(v, x0, x1, t, lambda a, b, s: (1 - s) * a + s * b, _velocity),
                    "t has shape (n,) and x0 (n, d): (1 - t) * x0 pairs t with the columns (or fails). Use t[:, None], "
                    "one t per row."),
             Mutant("the squared error summed over the coordinates",
                    lambda v, x0, x1, t: _flow_loss(v, x0, x1, t, _straight, _velocity,
                                                    reduce=lambda squares: squares.sum(dim=1).mean()),
                    "Here, as in lecturekit.diffusion.flow_matching_loss, the loss is the mean over the coordinates "
                    "as well as the rows: ((...) ** 2).mean().")),
)

q_sample = Q_SAMPLE.check
flow_matching_loss = FLOW.check
EXERCISES = (Q_SAMPLE, FLOW)

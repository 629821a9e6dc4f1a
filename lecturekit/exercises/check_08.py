"""Checkers for the exercises of lecture 08: the exact NLL from per-pixel logits, and MADE's masks."""
import math

import torch
from torch.distributions import Categorical
from torch.nn import functional as F

from ._feedback import Case, Exercise, Mutant


def _batch(n=3, dim=5, levels=4, scale=1.0, seed=0):
    """logits (n, dim, levels) and integer levels x (n, dim)."""
    generator = torch.Generator().manual_seed(seed)
    logits = scale * torch.randn(n, dim, levels, generator=generator, dtype=torch.float64)
    return logits, torch.randint(levels, (n, dim), generator=generator)


def _reference_nll(logits, x):
    """-log p(x) = -sum_i log p(x_i | x_<i), each factor a categorical of torch.distributions."""
    return -Categorical(logits=logits).log_prob(x).sum(dim=-1)


def _picked(values, x):
    """values[n, i, x[n, i]] for every image n and pixel i."""
    return values.gather(-1, x[..., None]).squeeze(-1)


NLL = Exercise(
    name="negative_log_likelihood",
    reference=_reference_nll,
    cases=(Case("all logits 0, 2 images of 4 pixels with 3 levels: NLL = 4 log 3 = "
                f"{4 * math.log(3):.4f} each", lambda: (torch.zeros(2, 4, 3, dtype=torch.float64),
                                                        torch.tensor([[0, 1, 2, 0], [2, 2, 1, 0]]))),
           Case("3 images of 5 pixels with 4 levels", lambda: _batch()),
           Case("2 digits: 64 pixels with 17 levels", lambda: _batch(2, 64, 17, scale=2.0, seed=1))),
    hint="log p(x) = sum_i log softmax(logits_i)[x_i]: F.log_softmax(logits, dim=-1) over the levels, pick the "
         "entry of each x_i with .gather(-1, x[..., None]), sum over the pixels and negate; one number per image.",
    mutants=(Mutant("the mean over the pixels instead of their sum",
                    lambda logits, x: -_picked(F.log_softmax(logits, dim=-1), x).mean(dim=-1),
                    "The chain rule multiplies D factors, so log p(x) is the sum of D log-probabilities: "
                    "nats per image, not per pixel."),
             Mutant("the raw logit of x_i, without the log-softmax",
                    lambda logits, x: -_picked(logits, x).sum(dim=-1),
                    "Logits are not log-probabilities: log softmax subtracts logsumexp over the levels, "
                    "F.log_softmax(logits, dim=-1)."),
             Mutant("the probabilities summed instead of their logs",
                    lambda logits, x: -_picked(F.softmax(logits, dim=-1), x).sum(dim=-1),
                    "Take the log of each conditional probability before summing: F.log_softmax, not F.softmax."),
             Mutant("the softmax over the pixels (dim=1) instead of the levels",
                    lambda logits, x: -_picked(F.log_softmax(logits, dim=1), x).sum(dim=-1),
                    "Each pixel's K logits make one distribution over its K levels: normalise over the last "
                    "dimension, dim=-1."),
             Mutant("log p(x), without the minus sign",
                    lambda logits, x: _picked(F.log_softmax(logits, dim=-1), x).sum(dim=-1),
                    "The NLL is -log p(x), a positive number of nats for discrete data.")),
)


def _degrees(dim, hidden, seed):
    """Hidden degrees drawn in 1 .. dim-1, as Germain et al. (2015) draw them."""
    return torch.randint(1, dim, (hidden,), generator=torch.Generator().manual_seed(seed))


def _reference_masks(hidden_degrees, dim):
    """The two masks entry by entry: M_W[k, j] = 1[m(k) >= j], M_V[i, k] = 1[i > m(k)], degrees j, i in 1 .. dim."""
    m = [int(d) for d in hidden_degrees]
    hidden_mask = torch.tensor([[float(m_k >= j) for j in range(1, dim + 1)] for m_k in m])
    output_mask = torch.tensor([[float(i > m_k) for m_k in m] for i in range(1, dim + 1)])
    return hidden_mask, output_mask


def _masks(hidden_degrees, dim, hidden_strict, output_strict):
    degrees = torch.arange(1, dim + 1)
    hidden = hidden_degrees[:, None] > degrees if hidden_strict else hidden_degrees[:, None] >= degrees
    output = degrees[:, None] > hidden_degrees if output_strict else degrees[:, None] >= hidden_degrees
    return hidden.float(), output.float()


MASKS = Exercise(
    name="made_masks",
    reference=_reference_masks,
    parts=("the hidden layer's mask (hidden, dim)", "the output layer's mask (dim, hidden)"),
    cases=(Case("dim = 3, hidden degrees 1, 2, 1, 2", lambda: (torch.tensor([1, 2, 1, 2]), 3)),
           Case("dim = 4, hidden degrees 1, 2, 3, 1, 2, 3 (the lecture's tiny MADE)",
                lambda: (torch.tensor([1, 2, 3, 1, 2, 3]), 4)),
           Case("dim = 6, 9 hidden degrees drawn at random in 1 .. 5", lambda: (_degrees(6, 9, seed=0), 6))),
    hint="With j = torch.arange(1, dim + 1) and m = hidden_degrees: the hidden mask is m[:, None] >= j[None, :] "
         "(shape (hidden, dim)), the output mask is j[:, None] > m[None, :] (shape (dim, hidden)); as floats.",
    mutants=(Mutant("an output mask that is not strict, i >= m(k)",
                    lambda m, dim: _masks(m, dim, hidden_strict=False, output_strict=False),
                    "Output i would read a hidden unit of degree i, which reads x_i: the model would see the "
                    "pixel it predicts. The outputs need i > m(k)."),
             Mutant("a strict hidden mask, m(k) > j",
                    lambda m, dim: _masks(m, dim, hidden_strict=True, output_strict=True),
                    "A hidden unit of degree m may read x_m itself (m(k) >= j); only the outputs are strict. With "
                    "both strict, no path leads from x_{i-1} to output i through the hidden layer."),
             Mutant("both inequalities swapped",
                    lambda m, dim: _masks(m, dim, hidden_strict=True, output_strict=False),
                    "Hidden units read degrees <= m(k); output i reads hidden degrees < i."),
             Mutant("the masks transposed, (in, out) instead of (out, in)",
                    lambda m, dim: tuple(mask.T for mask in _masks(m, dim, hidden_strict=False, output_strict=True)),
                    "A mask multiplies nn.Linear's weight, of shape (out_features, in_features): one row per "
                    "unit that reads, one column per unit it may read.")),
)

negative_log_likelihood = NLL.check
made_masks = MASKS.check
EXERCISES = (NLL, MASKS)

"""Argument checks shared by every module: each raises before any work starts,
naming the argument and what it may be."""
import numbers

import torch


def check_choice(name, value, allowed):
    """Raise ValueError unless `value` is one of `allowed`."""
    if value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{name} must be one of {choices}; got {value!r}")
    return value


def check_int(name, value, low=None, high=None):
    """Raise TypeError unless `value` is an int, ValueError unless low <= value <= high."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    _check_range(name, value, low, high)
    return int(value)


def check_float(name, value, low=None, high=None):
    """Raise TypeError unless `value` is a real number, ValueError unless low <= value <= high."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    _check_range(name, value, low, high)
    return float(value)


def _check_range(name, value, low, high):
    if (low is not None and value < low) or (high is not None and value > high):
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"{name} must be in [{lo}, {hi}]; got {value}")


def as_matrix(name, x, n_features=None):
    """`x` (numpy array or tensor) as a float32 tensor of shape (n, n_features)."""
    x = torch.as_tensor(x, dtype=torch.float32)
    if x.ndim != 2 or (n_features is not None and x.shape[1] != n_features):
        expected = f"(n, {n_features})" if n_features is not None else "(n, d)"
        raise ValueError(f"{name} must have shape {expected}; got {tuple(x.shape)}")
    if len(x) == 0:
        raise ValueError(f"{name} must hold at least one row")
    return x

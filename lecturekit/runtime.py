"""Where the course runs and with which randomness: `seed_everything` and `device`.

Nothing here runs on import; a notebook calls `seed_everything(seed)` once at the top.
"""
import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python's `random`, NumPy's global generator and PyTorch (CPU and every GPU).

    After this call a notebook's numbers repeat from run to run on the same machine.
    Bitwise equality across different machines or library versions is not promised:
    some GPU kernels are non-deterministic, and we do not pretend otherwise.

    Parameters
    ----------
    seed : int
        A non-negative integer below 2**32.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in 0 .. 2**32 - 1, got {seed}")
    random.seed(int(seed))
    np.random.seed(int(seed))
    torch.manual_seed(int(seed))


def device() -> torch.device:
    """The device to train on: CUDA when a GPU is present, the CPU otherwise."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")

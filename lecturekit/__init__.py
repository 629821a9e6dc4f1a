"""lecturekit: the tested helper package of the course on generative models.

One module per idea: `data`, `train`, `checkpoint`, `naive_bayes`, `plots`, `widgets`,
and later lectures' models and metrics. Importing it changes no global state:
no seeding, no matplotlib settings, no threads, no network.
"""
from .checkpoint import load_model, save_model
from .runtime import device, seed_everything

__all__ = ["device", "seed_everything", "save_model", "load_model"]
__version__ = "0.1.0"

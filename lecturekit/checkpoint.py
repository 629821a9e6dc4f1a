"""Save a trained model and load it back, so nothing a student trains is lost.

A checkpoint holds only plain data: the model's class name, its constructor arguments
(`model.hparams`) and its state dict. It is loaded with `torch.load(weights_only=True)`,
which refuses to run code hidden in a file, and the class is rebuilt only from
`lecturekit` itself. A model of your own is loaded into an instance you pass.
"""
import importlib

import torch


def save_model(model, path):
    """Write `model`'s class, `hparams` (if it has them) and state dict to `path`."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    cls = type(model)
    torch.save({"class": f"{cls.__module__}:{cls.__qualname__}",
                "hparams": dict(getattr(model, "hparams", {})),
                "state_dict": model.state_dict()}, path)


def load_model(path, model=None, map_location="cpu"):
    """Load a checkpoint written by `save_model`.

    With `model=None` the lecturekit class is rebuilt from its saved hparams; otherwise the
    weights are loaded into `model`, which must be of the saved class. Returns the model,
    in eval mode.
    """
    checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    if model is None:
        model = _rebuild(checkpoint["class"], checkpoint["hparams"])
    else:
        cls = type(model)
        if f"{cls.__module__}:{cls.__qualname__}" != checkpoint["class"]:
            raise ValueError(f"the checkpoint holds a {checkpoint['class']}, not a {cls.__qualname__}")
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval()


def _rebuild(class_name, hparams):
    module_name, qualname = class_name.split(":")
    if module_name.split(".")[0] != "lecturekit":
        raise ValueError(f"{class_name} is not a lecturekit model: pass an instance as `model=` to load it")
    return getattr(importlib.import_module(module_name), qualname)(**hparams)

"""One training loop for every single-objective model of the course.

    for epoch in 1..epochs:
        for each minibatch B (a fresh random order every epoch):
            loss = loss_fn(model, *B);  loss.backward();  optimizer.step()

`fit` records the mean of every figure the loss reports per epoch, stops with
`TrainingDiverged` (naming the epoch and batch) when the loss is NaN or infinite, and
on Ctrl-C keeps the model and the history so far instead of losing them to a traceback.
"""
from functools import partial
import math

import torch
from tqdm.auto import tqdm

from ._checks import check_choice, check_float, check_int

SCHEDULES = (None, "cosine")
# fused=True: the same Adam update, for every parameter in one kernel; on our 2-core CPU, 2000 steps of
# a small MLP took 2.7 s fused against 3.6-4.3 s unfused.
OPTIMIZERS = {"adam": partial(torch.optim.Adam, fused=True), "sgd": torch.optim.SGD,
              "rmsprop": torch.optim.RMSprop}


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite."""


class History(dict):
    """Per-epoch figures of a run: `history["loss"][k]` is the mean loss of epoch k + 1.

    `interrupted` is True when the run was stopped early with Ctrl-C.
    """

    interrupted = False


def as_tensors(data):
    """`data` as a tuple of tensors sharing their first dimension (the samples)."""
    tensors = (data,) if isinstance(data, torch.Tensor) else tuple(data)
    if not tensors or not all(isinstance(t, torch.Tensor) for t in tensors):
        raise TypeError("data must be a tensor or a tuple of tensors")
    n = len(tensors[0])
    if n == 0 or any(len(t) != n for t in tensors):
        raise ValueError(f"data must be non-empty tensors of one length; got lengths {[len(t) for t in tensors]}")
    return tensors


def minibatches(tensors, batch_size, generator=None):
    """Yield tuples of rows of `tensors`, `batch_size` at a time, in a random order."""
    n = len(tensors[0])
    order = torch.randperm(n, generator=generator).to(tensors[0].device)
    for start in range(0, n, batch_size):
        rows = order[start: start + batch_size]
        yield tuple(t[rows] for t in tensors)


def _as_figures(output):
    """A loss function returns a scalar tensor or a dict of them with the key "loss"."""
    if isinstance(output, dict):
        if "loss" not in output:
            raise ValueError(f"a loss function that returns a dict must include 'loss'; got {list(output)}")
        return output
    return {"loss": output}


def _make_optimizer(model, optimizer, lr, weight_decay):
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    check_choice("optimizer", optimizer, tuple(OPTIMIZERS))
    return OPTIMIZERS[optimizer](model.parameters(), lr=lr, weight_decay=weight_decay)


def fit(model, loss_fn, data, *, epochs, batch_size=64, lr=1e-3, optimizer="adam",
        weight_decay=0.0, schedule=None, monitor=None, progress=True):
    """Train `model` in place by minibatch gradient descent on `loss_fn`; return a History.

    Parameters
    ----------
    model : torch.nn.Module
    loss_fn : callable(model, *batch) -> scalar tensor, or dict of scalars with key "loss";
        "loss" is minimised and every entry is recorded per epoch.
    data : tensor or tuple of tensors (e.g. `(x, y)`), moved to the model's device.
    epochs, batch_size : positive ints.
    lr, weight_decay : learning rate (>= 0) and L2 weight decay (>= 0) for a named optimizer.
    optimizer : "adam", "sgd", "rmsprop", or a ready torch.optim.Optimizer.
    schedule : None for a constant learning rate, or "cosine" to decay it to 0 along a half
        cosine over the whole run, lr_t = lr (1 + cos(pi t / T)) / 2 (Loshchilov & Hutter, 2017).
    monitor : optional dict name -> callable(model) -> float, recorded after every epoch
        (e.g. the angle between a model's subspace and PCA's).
    progress : show a tqdm progress bar over epochs.

    Returns
    -------
    History, a dict of per-epoch means. The model is left in eval mode.
    """
    epochs = check_int("epochs", epochs, low=1)
    batch_size = check_int("batch_size", batch_size, low=1)
    lr = check_float("lr", lr, low=0.0)
    weight_decay = check_float("weight_decay", weight_decay, low=0.0)
    monitor = dict(monitor or {})
    if not all(callable(f) for f in monitor.values()):
        raise TypeError("monitor must map names to callables f(model) -> float")
    check_choice("schedule", schedule, SCHEDULES)
    opt = _make_optimizer(model, optimizer, lr, weight_decay)
    model_device = next(model.parameters()).device
    tensors = tuple(t.to(model_device) for t in as_tensors(data))
    history = History()
    n_steps = epochs * -(-len(tensors[0]) // batch_size)
    step_lr = (torch.optim.lr_scheduler.CosineAnnealingLR(opt, n_steps).step if schedule == "cosine"
               else lambda: None)
    model.train()
    bar = tqdm(range(1, epochs + 1), desc="training", disable=not progress, unit="epoch")
    try:
        for epoch in bar:
            means = _train_epoch(model, loss_fn, tensors, batch_size, opt, step_lr, epoch)
            with torch.no_grad():
                means.update({name: float(f(model)) for name, f in monitor.items()})
            for name, value in means.items():
                history.setdefault(name, []).append(value)
            bar.set_postfix(loss=f"{means['loss']:.4g}")
    except KeyboardInterrupt:
        history.interrupted = True
        done = len(history.get("loss", []))
        print(f"Interrupted during epoch {done + 1}: the model keeps its weights from the last step, "
              f"and the history holds the {done} finished epoch(s).")
    finally:
        bar.close()
        model.eval()
    return history


def _train_epoch(model, loss_fn, tensors, batch_size, opt, step_lr, epoch):
    """One pass over the data; the sample-weighted mean of each figure."""
    sums, n_seen = {}, 0
    for b, batch in enumerate(minibatches(tensors, batch_size), start=1):
        figures = _as_figures(loss_fn(model, *batch))
        loss = figures["loss"]
        if not math.isfinite(loss.item()):
            raise TrainingDiverged(f"the loss became {loss.item()} at epoch {epoch}, batch {b}; "
                                   "try a smaller learning rate")
        opt.zero_grad()
        loss.backward()
        opt.step()
        step_lr()
        size = len(batch[0])
        n_seen += size
        for name, value in figures.items():
            sums[name] = sums.get(name, 0.0) + float(torch.as_tensor(value).detach()) * size
    return {name: total / n_seen for name, total in sums.items()}

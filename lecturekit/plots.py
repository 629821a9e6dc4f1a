"""Every figure of the course: digit grids, 2-D scatter and density plots, loss curves.

Each function returns a `CourseFigure`, a matplotlib Figure that shows itself in a
notebook and never touches pyplot's global list of figures. A redrawing widget therefore
leaks nothing, and the same function can be tested without a browser.
Every figure has a title, and every axis that carries a quantity is labelled.
"""
import io

import matplotlib
from matplotlib.figure import Figure
import numpy as np
import torch

from ._checks import check_int
from .data import IMAGE_SHAPE
from .pca import PCA


class CourseFigure(Figure):
    """A matplotlib Figure that renders as PNG in Jupyter, with or without pyplot."""

    def _repr_png_(self):
        return figure_png(self)


def figure_png(fig, dpi=90):
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def _numpy(a):
    return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)


def _tile(images, nrow):
    """Arrange n images of 8x8 pixels into one mosaic with a 1-pixel gap, nrow rows."""
    n = len(images)
    ncol = -(-n // nrow)
    h, w = IMAGE_SHAPE
    mosaic = np.full((nrow * (h + 1) - 1, ncol * (w + 1) - 1), np.nan)
    for k, image in enumerate(images):
        r, c = divmod(k, ncol)
        mosaic[r * (h + 1): r * (h + 1) + h, c * (w + 1): c * (w + 1) + w] = image
    return mosaic, ncol


def image_grid(images, nrow=1, title="Digits", row_labels=None, ax=None, signed=False):
    """Digits in a grid of `nrow` rows, dark ink on white, intensities 0 (white) .. 1 (black).

    Parameters
    ----------
    images : array or tensor of shape (n, 64) or (n, 8, 8), values in [0, 1]
    nrow : int, number of rows; the columns follow.
    row_labels : optional list of nrow strings written left of each row.
    ax : optional Axes to draw in; a new CourseFigure is made when None.
    signed : for directions rather than images (e.g. principal components): each is scaled
        to a largest magnitude of 1 and drawn red (+) / white (0) / blue (-).
    """
    images = _numpy(images).reshape(-1, *IMAGE_SHAPE)
    nrow = check_int("nrow", nrow, low=1, high=max(len(images), 1))
    if signed:
        images = images / np.abs(images).reshape(len(images), -1).max(axis=1).clip(1e-12)[:, None, None]
    mosaic, ncol = _tile(images, nrow)
    if ax is None:
        fig = CourseFigure(figsize=(0.55 * ncol + 0.6, 0.55 * nrow + 0.5))
        ax = fig.subplots()
    cmap = matplotlib.colormaps["RdBu_r" if signed else "gray_r"].with_extremes(bad="#b8c7d9")
    ax.imshow(mosaic, cmap=cmap, vmin=-1 if signed else 0, vmax=1, interpolation="nearest")
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    if row_labels is not None:
        ax.set_yticks(np.arange(nrow) * (IMAGE_SHAPE[0] + 1) + IMAGE_SHAPE[0] / 2 - 0.5, row_labels)
        ax.tick_params(length=0)
    return ax.figure


def reconstruction_grid(rows, title="Reconstructions"):
    """One row of digits per entry of `rows` (a dict label -> images), e.g. original, then models."""
    images = torch.cat([torch.as_tensor(v).detach().cpu().float().reshape(-1, 64) for v in rows.values()])
    return image_grid(images, nrow=len(rows), title=title, row_labels=list(rows))


def matrix_heatmap(matrix, title, xlabel, ylabel, colorbar_label="value", vmin=None, vmax=None):
    """A labelled heat map of a 2-D array, with a colour bar and one tick per row and column."""
    values = _numpy(matrix)
    fig = CourseFigure(figsize=(5.2, 4.2))
    ax = fig.subplots()
    shown = ax.imshow(values, cmap="viridis", vmin=vmin, vmax=vmax)
    fig.colorbar(shown, ax=ax, label=colorbar_label)
    ax.set_xticks(range(values.shape[1]), [str(j + 1) for j in range(values.shape[1])])
    ax.set_yticks(range(values.shape[0]), [str(i + 1) for i in range(values.shape[0])])
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return fig


def scatter_2d(points, title="Samples", labels=None, centers=None, ax=None, limits=None):
    """A scatter plot of 2-D point sets.

    points : one (n, 2) array, or a list of them drawn in turn (e.g. real, then generated).
    labels : a legend label for each point set.
    centers : optional (k, 2) mode centres, drawn as crosses.
    """
    sets = [points] if _numpy(points[0]).ndim == 1 else list(points)
    labels = labels or [None] * len(sets)
    if ax is None:
        ax = CourseFigure(figsize=(4.5, 4.5)).subplots()
    for pts, label in zip(sets, labels):
        pts = _numpy(pts)
        ax.scatter(pts[:, 0], pts[:, 1], s=4, alpha=0.5, label=label)
    if centers is not None:
        c = _numpy(centers)
        ax.scatter(c[:, 0], c[:, 1], marker="x", color="black", s=30, label="mode centres")
    _finish_2d(ax, title, limits)
    if any(label is not None for label in labels) or centers is not None:
        ax.legend(loc="upper right", fontsize="small", markerscale=2)
    return ax.figure


def density_2d(points, title="Density of samples", bins=100, limits=None, ax=None):
    """A 2-D histogram of samples, normalised to a density (colour = points per unit area)."""
    pts = _numpy(points)
    if ax is None:
        ax = CourseFigure(figsize=(5, 4.5)).subplots()
    rng = None if limits is None else [limits, limits]
    *_, image = ax.hist2d(pts[:, 0], pts[:, 1], bins=bins, range=rng, density=True, cmap="viridis")
    ax.figure.colorbar(image, ax=ax, label="density")
    _finish_2d(ax, title, limits)
    return ax.figure


def _finish_2d(ax, title, limits):
    ax.set_title(title)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_aspect("equal")
    if limits is not None:
        ax.set_xlim(limits)
        ax.set_ylim(limits)


def plot_history(history, keys=None, title="Training curves", xlabel="epoch", logy=False, ax=None):
    """Curves of a training history (a mapping name -> list of per-epoch values)."""
    keys = list(history) if keys is None else keys
    missing = [k for k in keys if k not in history]
    if missing:
        raise ValueError(f"keys {missing} are not in the history; it has {list(history)}")
    if ax is None:
        ax = CourseFigure(figsize=(5.5, 3.5)).subplots()
    for key in keys:
        values = history[key]
        ax.plot(np.arange(1, len(values) + 1), values, label=key)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("value" if len(keys) > 1 else keys[0])
    if logy:
        ax.set_yscale("log")
    if len(keys) > 1:
        ax.legend()
    return ax.figure


def lines(series, title, xlabel, ylabel, ax=None, equal_aspect=False, logy=False):
    """Labelled curves: `series` maps a legend label to an (x, y) pair of 1-D arrays."""
    if ax is None:
        ax = CourseFigure(figsize=(5.5, 3.8), layout="constrained").subplots()
    for label, (x, y) in series.items():
        ax.plot(_numpy(x), _numpy(y), label=label)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if equal_aspect:
        ax.set_aspect("equal")
    if logy:
        ax.set_yscale("log")
    ax.legend(fontsize="small")
    return ax.figure


def _image_panel(fig, ax, image, title, label):
    shown = ax.imshow(_numpy(image).reshape(IMAGE_SHAPE), cmap="gray_r", vmin=0, vmax=1)
    fig.colorbar(shown, ax=ax, label=label, fraction=0.046)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])


def naive_bayes_class(model, digit, n_samples=8, generator=None):
    """What a fitted NaiveBayes believes about one class: E[x_i | y], p(x_i > 0 | y), and samples."""
    fig = CourseFigure(figsize=(11, 2.8), layout="constrained")
    left, middle, right = fig.subplots(1, 3, width_ratios=[1, 1, 2.2])
    _image_panel(fig, left, model.pixel_means(digit), f"E[$x_i$ | y={digit}]", "mean intensity")
    _image_panel(fig, middle, model.ink_probability(digit), f"p($x_i$ > 0 | y={digit})", "probability")
    samples = model.sample(digit, n_samples, generator=generator)
    image_grid(samples, nrow=2, title=f"samples x ~ p(x | y={digit})", ax=right)
    fig.suptitle(f"Naive Bayes, class {digit}, smoothing alpha = {model.alpha:.3g}")
    return fig


def latent_grid(decode, n=15, limit=2.5, title="Decoded latent grid", ax=None):
    """Decode a regular n x n grid of 2-D codes z in [-limit, limit]^2 and tile the images.

    decode : callable mapping codes (m, 2) to images (m, 64) in [0, 1].
    """
    n = check_int("n", n, low=2)
    axis = torch.linspace(-limit, limit, n)
    z = torch.stack([axis.repeat(n), axis.flip(0).repeat_interleave(n)], dim=1)  # top row: largest z_2
    with torch.no_grad():
        images = _numpy(decode(z)).reshape(n * n, *IMAGE_SHAPE)
    mosaic, _ = _tile(images, nrow=n)
    if ax is None:
        ax = CourseFigure(figsize=(6, 6)).subplots()
    cmap = matplotlib.colormaps["gray_r"].with_extremes(bad="#b8c7d9")
    ax.imshow(mosaic, cmap=cmap, vmin=0, vmax=1, extent=(-limit, limit, -limit, limit))
    ax.set(title=title, xlabel="$z_1$", ylabel="$z_2$")
    return ax.figure


def latent_point(codes, labels, z, image, title="Decoding one point of the latent space"):
    """Left: codes of real images coloured by label, with the point z marked; right: the decoded image."""
    fig = CourseFigure(figsize=(9, 4), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[1.4, 1])
    codes, labels = _numpy(codes), _numpy(labels)
    for c in np.unique(labels):
        left.scatter(*codes[labels == c].T, s=5, alpha=0.6, label=str(c))
    left.scatter([z[0]], [z[1]], marker="*", s=200, color="black", label="z")
    left.legend(fontsize="small", ncol=2)
    left.set(title="Codes of test digits", xlabel="$z_1$", ylabel="$z_2$")
    _image_panel(fig, right, image, f"decoded E[x | z = ({z[0]:.2f}, {z[1]:.2f})]", "mean intensity")
    fig.suptitle(title)
    return fig


def code_map(codes, labels, labelled_codes=None, title="Codes of test digits"):
    """Codes of dimension >= 2, projected on their top two principal directions and coloured
    by label; `labelled_codes` (the labelled training examples) are drawn as black rings."""
    codes = torch.as_tensor(codes).float()
    projection = PCA(codes.shape[1], 2).fit(codes) if codes.shape[1] > 2 else None
    project = projection.transform if projection is not None else (lambda c: c)
    fig = CourseFigure(figsize=(5.5, 4.8))
    ax = fig.subplots()
    points, labels = _numpy(project(codes)), _numpy(labels)
    for c in np.unique(labels):
        ax.scatter(*points[labels == c].T, s=6, alpha=0.6, label=str(c))
    if labelled_codes is not None:
        ring = _numpy(project(torch.as_tensor(labelled_codes).float()))
        ax.scatter(*ring.T, s=40, facecolors="none", edgecolors="black", label="labelled")
    ax.legend(fontsize="small", ncol=2, markerscale=1.5)
    ax.set(title=title, xlabel="code principal direction 1", ylabel="code principal direction 2")
    return fig


def gan_snapshots(snapshots, real, title="Generated samples during training", limits=(-3, 3)):
    """One small scatter panel per (step, samples) snapshot: real points in grey, generated in colour."""
    fig = CourseFigure(figsize=(2.6 * len(snapshots), 2.9), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(snapshots), sharey=True))
    real = _numpy(real)
    for ax, (step, samples) in zip(axes, snapshots):
        ax.scatter(real[:, 0], real[:, 1], s=2, color="lightgrey")
        pts = _numpy(samples)
        ax.scatter(pts[:, 0], pts[:, 1], s=2, color="C3")
        ax.set(title=f"step {step}", xlabel="$x_1$", xlim=limits, ylim=limits, aspect="equal")
    axes[0].set_ylabel("$x_2$")
    fig.suptitle(title)
    return fig


def gan_state(generator, critic, real, history, limits=(-3, 3), title="The game so far"):
    """Left: the discriminator's D(x) = sigmoid(f(x)) as a heat map, with real and generated points;
    right: both players' losses against the generator step."""
    fig = CourseFigure(figsize=(10, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[1.1, 1])
    axis = torch.linspace(*limits, 120)
    grid = torch.cartesian_prod(axis, axis)
    with torch.no_grad():
        pack = getattr(critic, "hparams", {}).get("pack", 1)
        score = critic(grid.repeat_interleave(pack, dim=0)).sigmoid().reshape(120, 120).T
        fake = generator.sample(500)
    shown = left.imshow(_numpy(score), origin="lower", extent=(*limits, *limits), cmap="RdBu", vmin=0, vmax=1)
    fig.colorbar(shown, ax=left, label="D(x)")
    real_pts, fake_pts = _numpy(real), _numpy(fake)
    left.scatter(real_pts[:, 0], real_pts[:, 1], s=3, color="black", label="real")
    left.scatter(fake_pts[:, 0], fake_pts[:, 1], s=3, color="orange", label="generated")
    left.legend(loc="upper right", fontsize="small", markerscale=3)
    left.set(title="Discriminator D(x) and samples", xlabel="$x_1$", ylabel="$x_2$", xlim=limits, ylim=limits)
    if history.get("g_loss"):
        plot_history(history, keys=["d_loss", "g_loss"], xlabel="generator step", ax=right, title="Losses")
    else:
        right.set(title="Losses (no step yet)", xlabel="generator step", ylabel="loss")
    fig.suptitle(title)
    return fig

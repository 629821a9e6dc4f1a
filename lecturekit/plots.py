"""Every figure of the course: digit grids, 2-D scatter and density plots, loss curves.

Each function returns a `CourseFigure`, a matplotlib Figure that shows itself in a
notebook and never touches pyplot's global list of figures. A redrawing widget therefore
leaks nothing, and the same function can be tested without a browser.
Every figure has a title, and every axis that carries a quantity is labelled.
"""
import itertools
import io

import matplotlib
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch
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


def image_grid(images, nrow=1, title="Digits", row_labels=None, ax=None):
    """Digits in a grid of `nrow` rows, dark ink on white, intensities 0 (white) .. 1 (black).

    Parameters
    ----------
    images : array or tensor of shape (n, 64) or (n, 8, 8), values in [0, 1]
    nrow : int, number of rows; the columns follow.
    row_labels : optional list of nrow strings written left of each row.
    ax : optional Axes to draw in; a new CourseFigure is made when None.
    Directions with signs (e.g. principal components) are drawn by `direction_grid`.
    """
    images = _numpy(images).reshape(-1, *IMAGE_SHAPE)
    nrow = check_int("nrow", nrow, low=1, high=max(len(images), 1))
    mosaic, ncol = _tile(images, nrow)
    if ax is None:
        fig = CourseFigure(figsize=(0.55 * ncol + 0.6, 0.55 * nrow + 0.5))
        ax = fig.subplots()
    cmap = matplotlib.colormaps["gray_r"].with_extremes(bad="#b8c7d9")
    ax.imshow(mosaic, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    if row_labels is not None:
        ax.set_yticks(np.arange(nrow) * (IMAGE_SHAPE[0] + 1) + IMAGE_SHAPE[0] / 2 - 0.5, row_labels)
        ax.tick_params(length=0)
    return ax.figure


def direction_grid(directions, title, labels=None, ncol=5):
    """Directions in pixel space (e.g. principal components), one titled 8x8 panel each.

    directions : array or tensor of shape (n, 64) or (n, 8, 8).
    labels : optional list of n panel titles; "1", "2", ... by default.
    All panels share one colour scale, symmetric about 0 (red +, white 0, blue -), read off
    the colour bar, so the weights of different directions can be compared.
    """
    values = _numpy(directions).reshape(-1, *IMAGE_SHAPE)
    if len(values) == 0:
        raise ValueError("directions must hold at least one direction")
    ncol = check_int("ncol", ncol, low=1)
    labels = [str(j + 1) for j in range(len(values))] if labels is None else list(labels)
    if len(labels) != len(values):
        raise ValueError(f"labels must hold one title per direction ({len(values)}); got {len(labels)}")
    nrow = -(-len(values) // ncol)
    fig = CourseFigure(figsize=(1.75 * ncol + 1.0, 1.95 * nrow + 0.5), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrow, ncol)).ravel()
    limit = max(np.abs(values).max(), 1e-12)
    for ax, image, label in zip(axes, values, labels):
        shown = ax.imshow(image, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
        ax.set_title(label, fontsize="medium")
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[len(values):]:
        ax.set_axis_off()
    fig.colorbar(shown, ax=axes.tolist(), label="pixel weight", shrink=0.8)
    fig.suptitle(title)
    return fig


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


def scatter_2d(points, title="Samples", labels=None, centers=None, ax=None, limits=None, legend=True):
    """A scatter plot of 2-D point sets.

    points : one (n, 2) array, or a list of them drawn in turn (e.g. real, then generated).
    labels : a legend label for each point set.
    centers : optional (k, 2) mode centres, drawn as small hollow circles under the samples,
        so that they mark the modes without hiding what lands there.
    legend : False to leave the legend out (e.g. to draw one for a whole figure of panels).
    """
    sets = [points] if _numpy(points[0]).ndim == 1 else list(points)
    labels = labels or [None] * len(sets)
    if ax is None:
        ax = CourseFigure(figsize=(4.5, 4.5)).subplots()
    if centers is not None:
        draw_centers(ax, centers)
    for pts, label in zip(sets, labels):
        pts = _numpy(pts)
        ax.scatter(pts[:, 0], pts[:, 1], s=4, alpha=0.5, label=label, zorder=2)
    _finish_2d(ax, title, limits)
    if legend and (any(label is not None for label in labels) or centers is not None):
        ax.legend(loc="upper right", fontsize="small", markerscale=2)
    return ax.figure


def draw_centers(ax, centers):
    """Mode centres as small hollow black circles, under whatever is drawn later."""
    c = _numpy(centers)
    ax.scatter(c[:, 0], c[:, 1], s=40, facecolors="none", edgecolors="black", linewidths=0.8, zorder=1,
               label="mode centres")


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


def _on_square_grid(function, limits, points):
    """function(grid) on a points x points grid over limits = (low, high) in both coordinates, as an
    image for imshow(origin="lower"): entry [i, j] is the value at x_1 = axis[j], x_2 = axis[i]."""
    axis = torch.linspace(limits[0], limits[1], points)
    grid = torch.stack(torch.meshgrid(axis, axis, indexing="xy"), dim=-1).reshape(-1, 2)
    with torch.no_grad():
        return function(grid).reshape(points, points)


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


def lines(series, title, xlabel, ylabel, ax=None, equal_aspect=False, logy=False, hlines=None, legend_loc="best"):
    """Labelled curves: `series` maps a legend label to an (x, y) pair of 1-D arrays.

    hlines : optional mapping from a legend label to the y of a dashed horizontal reference line.
    legend_loc : where the legend goes: a matplotlib location inside the axes, or "below" them.
    The legend is drawn when there is more than one entry (a single curve is named by the title).
    """
    if ax is None:
        ax = CourseFigure(figsize=(5.5, 3.8), layout="constrained").subplots()
    for label, (x, y) in series.items():
        ax.plot(_numpy(x), _numpy(y), label=label)
    for k, (label, y) in enumerate((hlines or {}).items()):
        ax.axhline(y, color="black", linestyle=("--", ":", "-.")[k % 3], linewidth=1, label=label)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if equal_aspect:
        ax.set_aspect("equal")
    if logy:
        ax.set_yscale("log")
    if len(series) + len(hlines or {}) > 1:
        below = dict(loc="upper center", bbox_to_anchor=(0.5, -0.2)) if legend_loc == "below" else {}
        ax.legend(fontsize="small", **(below or dict(loc=legend_loc)))
    return ax.figure


def labelled_points(points, title, xlabel, ylabel, groups=None, logx=False, logy=False, ax=None):
    """One named point per entry of `points` (label -> (x, y)), its label written beside it.

    groups : optional mapping label -> group name; each group gets its own marker and a legend entry
    (e.g. whether a model's likelihood is exact or a bound).
    """
    if ax is None:
        ax = CourseFigure(figsize=(6, 4.2), layout="constrained").subplots()
    groups = groups or {label: None for label in points}
    labels = []
    for k, group in enumerate(dict.fromkeys(groups.values())):
        members = [label for label in points if groups.get(label) == group]
        xy = np.array([points[label] for label in members], dtype=float).reshape(-1, 2)
        ax.scatter(xy[:, 0], xy[:, 1], marker="osD^v"[k % 5], s=40, label=group)
        labels += [ax.annotate(label, (x, y), textcoords="offset points", xytext=(5, 4), fontsize="small")
                   for label, (x, y) in zip(members, xy)]
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    if any(group is not None for group in groups.values()):
        ax.legend(fontsize="small")
    ax.margins(0.15)
    _separate_labels(ax.figure, labels)
    return ax.figure


def _separate_labels(fig, labels, passes=20):
    """Move overlapping point labels apart vertically, a few points at a time, until none overlap."""
    fig.draw_without_rendering()  # lays the figure out, so that the labels' boxes are final
    for _ in range(passes):
        boxes = [label.get_window_extent() for label in labels]
        moved = False
        for i, j in itertools.combinations(range(len(labels)), 2):
            if boxes[i].overlaps(boxes[j]):
                lower, upper = (i, j) if boxes[i].y0 <= boxes[j].y0 else (j, i)
                for index, step in ((lower, -3), (upper, 3)):
                    x, y = labels[index].get_position()
                    labels[index].set_position((x, y + step))
                moved = True
                boxes = [label.get_window_extent() for label in labels]
        if not moved:
            return


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
    left.legend(title="class", fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), markerscale=1.5)
    left.set(title="Codes of test digits", xlabel="$z_1$", ylabel="$z_2$")
    _image_panel(fig, right, image, f"decoded E[x | z = ({z[0]:.2f}, {z[1]:.2f})]", "mean intensity")
    fig.suptitle(title)
    return fig


def code_map(codes, labels, labelled_codes=None, title="Codes of test digits", labelled_labels=None):
    """Codes of dimension >= 2, projected on their top two principal directions and coloured
    by label. `labelled_codes` (the labelled training examples) are drawn as large dots with a
    black edge, filled with their class's colour when `labelled_labels` are given (else empty
    black rings). The legend sits outside the axes, so it covers no point."""
    codes = torch.as_tensor(codes).float()
    projection = PCA(codes.shape[1], 2).fit(codes) if codes.shape[1] > 2 else None
    project = projection.transform if projection is not None else (lambda c: c)
    fig = CourseFigure(figsize=(6.6, 4.8), layout="constrained")
    ax = fig.subplots()
    points, labels = _numpy(project(codes)), _numpy(labels)
    classes = list(np.unique(labels))
    for k, c in enumerate(classes):
        ax.scatter(*points[labels == c].T, s=6, alpha=0.6, color=f"C{k}", label=str(c))
    if labelled_codes is not None:
        ring = _numpy(project(torch.as_tensor(labelled_codes).float()))
        if labelled_labels is None:
            ax.scatter(*ring.T, s=40, facecolors="none", edgecolors="black", label="labelled")
        else:
            fill = [f"C{classes.index(c)}" if c in classes else "white" for c in _numpy(labelled_labels)]
            ax.scatter(*ring.T, s=45, c=fill, edgecolors="black", linewidths=1.0)
            ax.scatter([], [], s=45, facecolors="white", edgecolors="black", label="labelled\n(filled with\nits class colour)")
    ax.legend(title="class", fontsize="small", markerscale=1.5, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set(title=title, xlabel="code principal direction 1", ylabel="code principal direction 2")
    return fig


def gan_snapshots(snapshots, real, title="Generated samples during training", limits=(-3, 3), ncols=4):
    """One scatter panel per (step, samples) snapshot, `ncols` panels to a row: the real data in
    black, the generated samples in red on top of it (so samples that sit on the data stay visible),
    and one legend for the figure."""
    ncols = min(check_int("ncols", ncols, low=1), len(snapshots))
    nrows = -(-len(snapshots) // ncols)
    fig = CourseFigure(figsize=(2.8 * ncols, 2.9 * nrows + 0.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    real = _numpy(real)
    for k, (ax, (step, samples)) in enumerate(zip(axes, snapshots)):
        pts = _numpy(samples)
        ax.scatter(real[:, 0], real[:, 1], s=3, color="black", label="real data", zorder=1)
        ax.scatter(pts[:, 0], pts[:, 1], s=3, color="C3", alpha=0.5, label="generated G(z)", zorder=2)
        ax.set(title=f"step {step}", xlabel="$x_1$", ylabel="$x_2$" if k % ncols == 0 else None,
               xlim=limits, ylim=limits, aspect="equal")
    for ax in axes[len(snapshots):]:
        ax.remove()
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=2, markerscale=3)
    fig.suptitle(title)
    return fig


def gan_state(generator, critic, real, history, limits=(-3, 3), title="The game so far", raw_score=False):
    """Left: the discriminator's D(x) = sigmoid(f(x)) as a heat map on [0, 1], or with `raw_score`
    the critic's raw score f(x) on its own colour scale (for LSGAN and the WGANs, whose score is
    not a probability), with real and generated points; right: both players' losses against the
    generator step."""
    fig = CourseFigure(figsize=(10, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[1.1, 1])
    pack = getattr(critic, "hparams", {}).get("pack", 1)
    score = _on_square_grid(lambda grid: critic(grid.repeat_interleave(pack, dim=0)), limits, 120)
    with torch.no_grad():
        fake = generator.sample(500)
    if raw_score:
        shown = left.imshow(_numpy(score), origin="lower", extent=(*limits, *limits), cmap="RdBu")
        fig.colorbar(shown, ax=left, label="critic's raw score f(x)")
        left.set_title("Critic f(x) and samples")
    else:
        shown = left.imshow(_numpy(score.sigmoid()), origin="lower", extent=(*limits, *limits), cmap="RdBu",
                            vmin=0, vmax=1)
        fig.colorbar(shown, ax=left, label="D(x), the probability of real")
        left.set_title("Discriminator D(x) and samples")
    real_pts, fake_pts = _numpy(real), _numpy(fake)
    left.scatter(real_pts[:, 0], real_pts[:, 1], s=3, color="black", label="real")
    left.scatter(fake_pts[:, 0], fake_pts[:, 1], s=3, color="orange", label="generated")
    left.legend(loc="upper right", fontsize="small", markerscale=3)
    left.set(xlabel="$x_1$", ylabel="$x_2$", xlim=limits, ylim=limits)
    if history.get("g_loss"):
        steps = np.arange(1, len(history["g_loss"]) + 1)
        lines({"discriminator's loss": (steps, history["d_loss"]), "generator's loss": (steps, history["g_loss"])},
              title="Losses", xlabel="generator step", ylabel="loss", ax=right)
    else:
        right.set(title="Losses (no step yet)", xlabel="generator step", ylabel="loss")
    fig.suptitle(title)
    return fig


def completion_grid(model, x, rows_given, n_completions=8, temperature=1.0, generator=None, title=None):
    """Complete digits from their top rows with an autoregressive model, one digit per row of
    tiles: the given rows (the hidden ones in grey-blue), the original, then the completions.

    model : a `lecturekit.autoregressive` model of the 64 pixel counts.
    x : integer pixel counts of shape (m, 64); rows_given : how many of the 8 rows are known.
    A red line marks the last known row in every tile.
    """
    x = torch.as_tensor(x)
    rows_given = check_int("rows_given", rows_given, low=0, high=IMAGE_SHAPE[0])
    n_completions = check_int("n_completions", n_completions, low=1)
    known = torch.arange(x.shape[-1]) < rows_given * IMAGE_SHAPE[1]
    completions = model.complete(x.repeat_interleave(n_completions, dim=0), known, generator, temperature)
    originals = x.cpu().float() / (model.levels - 1)
    given = originals.masked_fill(~known, float("nan"))
    tiles = torch.cat([given[:, None], originals[:, None],
                       completions.cpu().float().view(len(x), n_completions, -1) / (model.levels - 1)], dim=1)
    fig = image_grid(tiles.flatten(0, 1), nrow=len(x),
                     title=title or f"Completions from the top {rows_given} rows, temperature {temperature:g}")
    ax = fig.axes[0]
    height, width = IMAGE_SHAPE
    ax.set_xticks(np.arange(n_completions + 2) * (width + 1) + width / 2 - 0.5,
                  ["given", "true"] + [str(k + 1) for k in range(n_completions)], fontsize="small")
    ax.set_xlabel("the given rows, the true digit, then completions 1, 2, ...")
    for row in range(len(x)):
        ax.axhline(row * (height + 1) + rows_given - 0.5, color="C3", linewidth=1)
    return fig


RECEPTIVE_FIELD_COLOURS = {"later pixel": "#eeeeee", "earlier, not read": "#f4a261",
                           "earlier, read": "#2a6f97", "the pixel i": "black"}


def receptive_fields(fields, pixel, title=None):
    """Which earlier pixels the conditional p(x_i | x_<i) of one pixel reads, one panel per model.

    fields : dict label -> bool matrix R (64, 64), R[i, j] True when the logits of pixel i read
        x_j (e.g. `autoregressive.dependence(model)`); pixel : the index i, in raster order.
    """
    pixel = check_int("pixel", pixel, low=0, high=IMAGE_SHAPE[0] * IMAGE_SHAPE[1] - 1)
    fig = CourseFigure(figsize=(2.9 * len(fields), 3.9), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(fields)))
    cmap = ListedColormap(list(RECEPTIVE_FIELD_COLOURS.values()))
    for ax, (label, reads) in zip(axes, fields.items()):
        reads = _numpy(reads)[pixel].astype(bool)
        position = np.arange(len(reads))
        kind = np.where(position > pixel, 0, np.where(reads, 2, 1))
        kind[pixel] = 3
        ax.imshow(kind.reshape(IMAGE_SHAPE), cmap=cmap, vmin=-0.5, vmax=3.5, interpolation="nearest")
        ax.set(title=f"{label}\nreads {reads[:pixel].sum()} of {pixel} earlier", xlabel="column", ylabel="row")
        ax.set_xticks(range(IMAGE_SHAPE[1]))
        ax.set_yticks(range(IMAGE_SHAPE[0]))
        ax.set_xticks(np.arange(IMAGE_SHAPE[1] + 1) - 0.5, minor=True)
        ax.set_yticks(np.arange(IMAGE_SHAPE[0] + 1) - 0.5, minor=True)
        ax.grid(which="minor", color="white", linewidth=0.8)
        ax.tick_params(which="minor", length=0)
    handles = [Patch(facecolor=colour, edgecolor="grey", label=name)
               for name, colour in RECEPTIVE_FIELD_COLOURS.items()]
    fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize="small")
    row, column = divmod(pixel, IMAGE_SHAPE[1])
    fig.suptitle(title or f"Which pixels the conditional of pixel i = {pixel} (row {row}, column {column}) reads")
    return fig


def point_snapshots(snapshots, centers=None, title="Samples along the chain", limits=None):
    """One scatter panel per (label, points) snapshot, e.g. the samples x_t at several steps t.

    centers : optional (k, 2) mode centres, drawn as small hollow circles under the points.
    limits : (low, high) for both axes of every panel; None lets each panel fit its own points.
    """
    fig = CourseFigure(figsize=(2.7 * len(snapshots), 3.0), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(snapshots)))
    for ax, (label, points) in zip(axes, snapshots):
        if centers is not None:
            c = _numpy(centers)
            ax.scatter(c[:, 0], c[:, 1], s=25, facecolors="none", edgecolors="black", linewidths=0.8, zorder=1)
        pts = _numpy(points)
        ax.scatter(pts[:, 0], pts[:, 1], s=2, alpha=0.4, color="C0", zorder=2)
        _finish_2d(ax, label, limits)
    fig.suptitle(title)
    return fig


def reverse_chain(chain, steps, n_images=8, title="The reverse chain, from noise (top) to digits (bottom)"):
    """Rows of digits x_t at the given steps of a sampling chain, one row per step.

    chain : (T + 1, n, 64) with chain[t] = x_t, in image units (0 white .. 1 black); values outside
        [0, 1], as the noisy early steps have, are clipped for display.
    steps : the steps t to show, one row each; n_images : the first n_images of the batch.
    """
    chain = _numpy(chain)
    n_images = check_int("n_images", n_images, low=1, high=chain.shape[1])
    steps = [check_int("step", t, low=0, high=len(chain) - 1) for t in steps]
    images = np.concatenate([chain[t, :n_images] for t in steps]).clip(0, 1)
    return image_grid(images, nrow=len(steps), title=title, row_labels=[f"t = {t}" for t in steps])


def density_maps(panels, title="Log-density", points=200, dynamic_range=12.0):
    """Heat maps of 2-D densities, one panel per (label, log_density, limits, centers).

    log_density : a function of an (m, 2) tensor of points returning their log p, shape (m,);
        it is evaluated on a points x points grid over limits = (low, high) in both coordinates.
    centers : optional (k, 2) mode centres, drawn as small hollow circles, or None.
    dynamic_range : the colours span log p from its maximum on the grid down to that maximum minus
        this many nats, so that thin regions of low density (bridges between modes) stay visible.
    """
    points = check_int("points", points, low=2)
    fig = CourseFigure(figsize=(3.8 * len(panels), 3.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, (label, log_density, limits, centers) in zip(axes, panels):
        values = _numpy(_on_square_grid(log_density, limits, points))
        top = float(np.nanmax(values))
        image = ax.imshow(values, origin="lower", extent=(*limits, *limits), cmap="viridis",
                          vmin=top - dynamic_range, vmax=top, interpolation="nearest")
        if centers is not None:
            c = _numpy(centers)
            ax.scatter(c[:, 0], c[:, 1], s=40, facecolors="none", edgecolors="white", linewidths=0.6)
        _finish_2d(ax, label, limits)
        fig.colorbar(image, ax=ax, shrink=0.8, label="log p(x), nats")
    fig.suptitle(title)
    return fig

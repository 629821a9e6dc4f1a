import pytest
import torch

from lecturekit import plots
from lecturekit.data import load_digits, sample_toy
from lecturekit.naive_bayes import NaiveBayes

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def titled_and_labelled(fig, n_labelled_axes):
    """Every figure has a title; the axes that carry quantities have x and y labels."""
    titles = [ax.get_title() for ax in fig.axes] + [fig._suptitle.get_text() if fig._suptitle else ""]
    assert any(titles), "figure has no title"
    labelled = [ax for ax in fig.axes if ax.get_xlabel() and ax.get_ylabel()]
    assert len(labelled) >= n_labelled_axes


def test_image_grid_shows_images_in_rows():
    x, _ = load_digits("test")
    fig = plots.image_grid(x[:12], nrow=3, title="some digits", row_labels=["a", "b", "c"])
    ax = fig.axes[0]
    assert ax.get_title() == "some digits"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    assert ax.images[0].get_array().shape == (3 * 9 - 1, 4 * 9 - 1)
    assert plots.figure_png(fig).startswith(PNG_SIGNATURE)
    assert fig._repr_png_().startswith(PNG_SIGNATURE)


def test_image_grid_rejects_more_rows_than_images():
    with pytest.raises(ValueError, match="nrow"):
        plots.image_grid(torch.zeros(2, 64), nrow=3)


def test_scatter_and_density_are_titled_and_labelled():
    real, fake = sample_toy("ring", 200), sample_toy("grid", 200)
    fig = plots.scatter_2d([real, fake], labels=["real", "generated"], title="ring")
    titled_and_labelled(fig, 1)
    assert len(fig.axes[0].collections) == 2
    titled_and_labelled(plots.density_2d(real, title="ring density"), 1)


def test_plot_history_draws_each_curve_and_checks_keys():
    fig = plots.plot_history({"loss": [3, 2, 1], "kl": [1, 1, 1]}, title="curves")
    titled_and_labelled(fig, 1)
    assert len(fig.axes[0].lines) == 2
    with pytest.raises(ValueError, match="'recon'"):
        plots.plot_history({"loss": [1]}, keys=["recon"])


def test_naive_bayes_class_figure():
    x, y = load_digits("train")
    fig = plots.naive_bayes_class(NaiveBayes().fit(x, y), digit=4, n_samples=6)
    assert "class 4" in fig._suptitle.get_text()
    assert [ax.get_title() for ax in fig.axes[:3]] == ["E[$x_i$ | y=4]", "p($x_i$ > 0 | y=4)",
                                                     "samples x ~ p(x | y=4)"]


def test_signed_image_grid_scales_each_direction_to_unit_magnitude():
    directions = torch.tensor([[2.0] + [0.0] * 63, [-0.5] + [0.0] * 63])
    fig = plots.image_grid(directions, nrow=1, title="directions", signed=True)
    mosaic = fig.axes[0].images[0].get_array()
    assert mosaic[0, 0] == 1.0 and mosaic[0, 9] == -1.0
    assert fig.axes[0].images[0].get_cmap().name.startswith("RdBu_r")


def test_reconstruction_grid_has_one_labelled_row_per_entry():
    fig = plots.reconstruction_grid({"original": torch.rand(4, 64), "PCA": torch.rand(4, 64)}, title="r")
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["original", "PCA"]


def test_matrix_heatmap_is_labelled():
    fig = plots.matrix_heatmap(torch.rand(3, 4), "m", "column", "row")
    titled_and_labelled(fig, 1)
    assert len(fig.axes[0].get_xticks()) == 4

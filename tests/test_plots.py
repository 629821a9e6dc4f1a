import itertools

import numpy as np
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


def test_direction_grid_shares_one_symmetric_colour_scale_and_titles_each_panel():
    directions = torch.tensor([[2.0] + [0.0] * 63, [-0.5] + [0.0] * 63, [0.0] * 63 + [1.0]])
    fig = plots.direction_grid(directions, "directions", labels=["a", "b", "c"], ncol=2)
    panels = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in panels] == ["a", "b", "c"]
    assert all(ax.images[0].get_clim() == (-2.0, 2.0) for ax in panels)   # one scale, not one per panel
    assert panels[1].images[0].get_array()[0, 0] == -0.5                   # values are drawn unscaled
    assert panels[0].images[0].get_cmap().name.startswith("RdBu_r")
    assert fig._suptitle.get_text() == "directions"
    assert any(ax.get_ylabel() == "pixel weight" for ax in fig.axes)       # the colour bar
    assert not fig.axes[3].axison                                         # the unused fourth panel is blank
    with pytest.raises(ValueError, match="one title per direction"):
        plots.direction_grid(directions, "d", labels=["a"])
    with pytest.raises(ValueError, match="at least one direction"):
        plots.direction_grid(torch.zeros(0, 64), "d")


def test_reconstruction_grid_has_one_labelled_row_per_entry():
    fig = plots.reconstruction_grid({"original": torch.rand(4, 64), "PCA": torch.rand(4, 64)}, title="r")
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["original", "PCA"]


def test_matrix_heatmap_is_labelled():
    fig = plots.matrix_heatmap(torch.rand(3, 4), "m", "column", "row")
    titled_and_labelled(fig, 1)
    assert len(fig.axes[0].get_xticks()) == 4


def test_latent_grid_puts_large_z2_at_the_top():
    def decode(z):  # paints each image with the value of z_2 scaled to [0, 1]
        return ((z[:, 1:2] + 1) / 2).expand(-1, 64)

    fig = plots.latent_grid(decode, n=3, limit=1.0, title="grid")
    mosaic = fig.axes[0].images[0].get_array()
    assert mosaic.shape == (26, 26)  # 3 tiles of 8 pixels and 2 gaps
    assert mosaic[0, 0] == 1.0 and mosaic[-1, 0] == 0.0
    titled_and_labelled(fig, 1)


def test_latent_grid_keeps_each_image_upright():
    def decode(z):  # an image whose top row is inked, the rest blank
        image = torch.zeros(len(z), 8, 8)
        image[:, 0, :] = 1.0
        return image.reshape(len(z), 64)

    mosaic = plots.latent_grid(decode, n=2, limit=1.0).axes[0].images[0].get_array()
    assert mosaic[0, :8].tolist() == [1.0] * 8 and mosaic[1, :8].tolist() == [0.0] * 8
    assert mosaic[9, :8].tolist() == [1.0] * 8


def test_latent_point_marks_z_and_shows_the_image():
    fig = plots.latent_point(torch.randn(20, 2), torch.arange(20) % 3, (0.5, -1.0), torch.rand(64))
    titled_and_labelled(fig, 1)
    assert "(0.50, -1.00)" in fig.axes[1].get_title()


def test_code_map_projects_codes_and_rings_the_labelled():
    fig = plots.code_map(torch.randn(40, 5), torch.arange(40) % 4, torch.randn(4, 5), title="map")
    titled_and_labelled(fig, 1)
    ax = fig.axes[0]
    assert len(ax.collections) == 5 and ax.collections[-1].get_offsets().shape == (4, 2)


def test_gan_figures():
    from lecturekit.gan import Discriminator, Generator

    real = sample_toy("ring", 100)
    fig = plots.gan_snapshots([(1, torch.randn(50, 2)), (10, torch.randn(50, 2))], real)
    assert [ax.get_title() for ax in fig.axes] == ["step 1", "step 10"]
    fig = plots.gan_snapshots([(k, torch.randn(50, 2)) for k in range(7)], real, ncols=4)
    assert len(fig.axes) == 7 and {ax.get_subplotspec().rowspan.start for ax in fig.axes} == {0, 1}
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["real data", "generated G(z)"]
    real_dots, generated_dots = fig.axes[0].collections
    assert generated_dots.get_zorder() > real_dots.get_zorder()   # samples on the modes stay visible
    fig = plots.gan_state(Generator(hidden=4), Discriminator(hidden=4, pack=2), real,
                          {"d_loss": [1.0, 0.9], "g_loss": [0.7, 0.8]})
    titled_and_labelled(fig, 2)
    assert fig.axes[0].images[0].get_array().shape == (120, 120)


def test_lines_draws_one_labelled_curve_per_series():
    fig = plots.lines({"a": ([0, 1, 2], [1, 2, 3]), "b": (np.arange(3), np.zeros(3))}, "t", "x", "y", logy=False)
    titled_and_labelled(fig, 1)
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["a", "b"]
    assert list(ax.get_lines()[0].get_ydata()) == [1, 2, 3]


def test_scatter_draws_mode_centres_as_hollow_circles_under_the_samples():
    centers = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    fig = plots.scatter_2d(torch.randn(30, 2), centers=centers, title="t")
    marks, samples = fig.axes[0].collections
    assert marks.get_offsets().shape == (2, 2) and marks.zorder < samples.zorder
    assert marks.get_facecolors().size == 0 or marks.get_facecolors()[:, 3].max() == 0  # hollow
    fig = plots.scatter_2d(torch.randn(30, 2), centers=centers, title="t", legend=False)
    assert fig.axes[0].get_legend() is None


def test_lines_draws_reference_lines_and_skips_a_one_entry_legend():
    fig = plots.lines({"a": ([0, 1], [1, 2])}, "t", "x", "y")
    assert fig.axes[0].get_legend() is None
    fig = plots.lines({"a": ([0, 1], [1, 2])}, "t", "x", "y", hlines={"ln 4": 1.386})
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["a", "ln 4"]
    assert list(ax.get_lines()[1].get_ydata()) == [1.386, 1.386]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "ln 4"]
    fig = plots.lines({"a": ([0, 1], [1, 2]), "b": ([0, 1], [2, 1])}, "t", "x", "y", legend_loc="below")
    fig.canvas.draw()
    legend, ax = fig.axes[0].get_legend(), fig.axes[0]
    assert legend.get_window_extent().y1 < ax.get_window_extent().y0  # under the axes, off the data


def test_gan_state_shows_a_probability_or_the_raw_critic_score():
    from lecturekit.gan import Discriminator, Generator

    real, critic = sample_toy("ring", 100), Discriminator(hidden=4)
    with torch.no_grad():
        critic.net[-1].bias.fill_(5.0)  # raw scores far above 1: no probability
    history = {"d_loss": [1.0], "g_loss": [0.7]}
    probability = plots.gan_state(Generator(hidden=4), critic, real, history).axes[0].images[0]
    assert probability.get_clim() == (0, 1) and probability.get_array().max() <= 1
    raw = plots.gan_state(Generator(hidden=4), critic, real, history, raw_score=True).axes[0].images[0]
    assert raw.get_array().min() > 1 and raw.get_clim()[1] == pytest.approx(raw.get_array().max())


def test_point_snapshots_draw_one_labelled_panel_per_snapshot_with_hollow_centres():
    points = sample_toy("ring", 100, torch.Generator().manual_seed(0))
    centers = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    fig = plots.point_snapshots([("t = 10", points), ("t = 0", points)], centers=centers, limits=(-3, 3))
    assert [ax.get_title() for ax in fig.axes] == ["t = 10", "t = 0"]
    titled_and_labelled(fig, 2)
    centre_markers = fig.axes[0].collections[0]
    assert len(centre_markers.get_offsets()) == 2 and centre_markers.get_facecolors().size == 0  # hollow
    assert centre_markers.get_zorder() < fig.axes[0].collections[1].get_zorder()  # under the samples
    assert fig.axes[1].get_xlim() == (-3, 3)


def test_reverse_chain_shows_one_row_per_step_in_chain_order():
    chain = torch.stack([torch.full((5, 64), t / 10) for t in range(11)])  # chain[t] = x_t, grey level t / 10
    fig = plots.reverse_chain(chain, [10, 4, 0], n_images=3)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["t = 10", "t = 4", "t = 0"]
    mosaic = ax.images[0].get_array()
    assert mosaic[0, 0] == pytest.approx(1.0) and mosaic[9, 0] == pytest.approx(0.4) and mosaic[18, 0] == 0.0
    with pytest.raises(ValueError, match="step must be in"):
        plots.reverse_chain(chain, [11], n_images=3)


def test_completion_grid_keeps_the_given_rows_and_hides_the_rest():
    from lecturekit.autoregressive import CausalConvolution
    from lecturekit.data import to_counts

    torch.manual_seed(0)
    model = CausalConvolution(channels=8, dilations=(1, 2, 4))
    x = to_counts(load_digits("test")[0][:2])
    fig = plots.completion_grid(model, x, rows_given=3, n_completions=4, generator=torch.Generator().manual_seed(0))
    mosaic = np.ma.filled(fig.axes[0].images[0].get_array(), np.nan)  # hidden pixels are NaN
    assert mosaic.shape == (2 * 9 - 1, 6 * 9 - 1)  # per digit: given, true, 4 completions
    given, true = mosaic[:8, :8], mosaic[:8, 9:17]
    assert np.isnan(given[3:]).all() and np.array_equal(given[:3], true[:3])
    for k in range(2, 6):  # every completion starts with the given rows
        assert np.array_equal(mosaic[:3, 9 * k: 9 * k + 8], true[:3])
    assert "top 3 rows" in fig.axes[0].get_title()
    assert len(fig.axes[0].lines) == 2  # one red line per digit


def test_receptive_fields_colour_each_earlier_pixel_by_whether_it_is_read():
    reads = torch.zeros(64, 64, dtype=torch.bool)
    reads[10, [2, 9]] = True
    fig = plots.receptive_fields({"a": reads, "b": torch.ones(64, 64, dtype=torch.bool).tril(-1)}, pixel=10)
    titled_and_labelled(fig, 2)
    kinds = fig.axes[0].images[0].get_array().reshape(-1)
    assert kinds[10] == 3 and kinds[2] == kinds[9] == 2 and (kinds[[0, 1, 3, 8]] == 1).all() and (kinds[11:] == 0).all()
    assert fig.axes[0].get_title().endswith("reads 2 of 10 earlier")
    assert fig.axes[1].get_title().endswith("reads 10 of 10 earlier")


def test_labelled_points_name_every_point_and_give_each_group_a_marker():
    points = {"GAN": (1.0, 5.0), "VAE": (90.0, 3.0), "noise": (181.0, 40.0)}
    fig = plots.labelled_points(points, "NLL against FID", "test NLL", "FID",
                                groups={"GAN": "none", "VAE": "bound", "noise": "exact"}, logy=True)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["GAN", "VAE", "noise"]
    assert [collection.get_offsets().tolist() for collection in ax.collections] == [[[1.0, 5.0]], [[90.0, 3.0]],
                                                                                   [[181.0, 40.0]]]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["none", "bound", "exact"]
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel(), ax.get_yscale()) == ("NLL against FID", "test NLL",
                                                                                   "FID", "log")


def test_labelled_points_keep_their_labels_apart():
    points = {"flow matching": (0.80, 0.62), "40% of pixels noise": (0.81, 0.62), "VAE": (0.5, 0.9),
              "GAN": (0.805, 0.625)}
    fig = plots.labelled_points(points, "close points", "recall", "precision")
    fig.draw_without_rendering()
    boxes = [text.get_window_extent() for text in fig.axes[0].texts]
    assert len(boxes) == 4
    assert not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))


def test_density_maps_draw_one_labelled_heat_map_per_density_with_a_clipped_range():
    gaussian = torch.distributions.MultivariateNormal(torch.zeros(2), torch.eye(2))
    centers = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    fig = plots.density_maps([("a Gaussian", gaussian.log_prob, (-3, 3), centers),
                              ("shifted", lambda x: gaussian.log_prob(x - 1), (-2, 4), None)],
                             title="two densities", points=50, dynamic_range=5.0)
    images = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in images] == ["a Gaussian", "shifted"]
    titled_and_labelled(fig, 2)
    values = images[0].images[0].get_array()
    assert values.shape == (50, 50) and values.argmax() == np.ravel_multi_index((24, 24), (50, 50))  # centre
    vmin, vmax = images[0].images[0].get_clim()
    assert vmax == pytest.approx(values.max()) and vmax - vmin == pytest.approx(5.0)
    assert images[1].get_xlim() == (-2, 4)
    assert len(images[0].collections[0].get_offsets()) == 2 and not images[1].collections

"""Interactive widgets: each is a thin shell over a plotting function of `plots`.

`figure_explorer(draw, controls)` lays out the controls above a PNG of
`draw(**values)` and redraws it whenever a control changes. The drawing function
is a plain function, tested without a browser; the notebooks also show a static
figure, so they read well where widgets do not render.
"""
import ipywidgets as widgets
import torch

from .naive_bayes import NaiveBayes
from .plots import figure_png, naive_bayes_class


def figure_explorer(draw, controls):
    """A VBox of the controls (a dict name -> widget) above an Image of draw(**values)."""
    image = widgets.Image(format="png")

    def redraw(_change=None):
        image.value = figure_png(draw(**{name: c.value for name, c in controls.items()}))

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox(list(controls.values())), image])


def naive_bayes_explorer(x, y, n_samples=8, seed=0):
    """Pick a class and the smoothing alpha; see E[x_i | y], p(x_i > 0 | y) and fresh samples."""
    controls = {
        "digit": widgets.IntSlider(value=3, min=0, max=9, description="class y"),
        "alpha": widgets.FloatLogSlider(value=1.0, base=10, min=-3, max=2, step=0.25,
                                        description="smoothing α", continuous_update=False),
    }

    def draw(digit, alpha):
        model = NaiveBayes(alpha).fit(x, y)
        return naive_bayes_class(model, digit, n_samples, torch.Generator().manual_seed(seed))

    return figure_explorer(draw, controls)

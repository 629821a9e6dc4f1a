import ipywidgets
import pytest

from lecturekit.data import load_digits
from lecturekit.plots import CourseFigure
from lecturekit.autoencoders import Autoencoder
from lecturekit.widgets import denoising_explorer, figure_explorer, naive_bayes_explorer, pca_explorer


def controls_and_image(box):
    controls, image = box.children
    return controls.children, image


def test_figure_explorer_redraws_when_a_control_moves():
    seen = []

    def draw(k):
        seen.append(k)
        fig = CourseFigure()
        fig.subplots().set_title(f"k = {k}")
        return fig

    box = figure_explorer(draw, {"k": ipywidgets.IntSlider(value=1, min=0, max=5)})
    (slider,), image = controls_and_image(box)
    first = image.value
    slider.value = 4
    assert seen == [1, 4]
    assert image.value != first and bytes(image.value).startswith(b"\x89PNG")


@pytest.mark.parametrize("control, value", [(0, 8), (1, 0.01)])
def test_naive_bayes_explorer_responds_to_class_and_smoothing(control, value):
    x, y = load_digits("train")
    box = naive_bayes_explorer(x, y)
    controls, image = controls_and_image(box)
    assert [c.description for c in controls] == ["class y", "smoothing α"]
    before = image.value
    controls[control].value = value
    assert image.value != before


def test_pca_explorer_redraws_with_k():
    x, _ = load_digits("train")
    box = pca_explorer(x, x[:6])
    (slider,), image = controls_and_image(box)
    assert slider.description == "components k" and not slider.continuous_update
    before = image.value
    slider.value = 20
    assert image.value != before


def test_denoising_explorer_redraws_with_the_noise_level():
    model = Autoencoder(64, 4, hidden=8)
    x, _ = load_digits("test")
    box = denoising_explorer(model, x[:5], kind="mask")
    (slider,), image = controls_and_image(box)
    before = image.value
    slider.value = 0.6
    assert image.value != before

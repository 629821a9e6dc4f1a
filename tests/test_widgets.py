import ipywidgets
import pytest

from lecturekit.data import load_digits
from lecturekit.plots import CourseFigure
from lecturekit.widgets import figure_explorer, naive_bayes_explorer


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

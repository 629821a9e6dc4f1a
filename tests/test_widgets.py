import ipywidgets
import pytest
import torch

from lecturekit.autoencoders import Autoencoder
from lecturekit.autoregressive import CausalConvolution
from lecturekit.data import load_digits, to_counts, toy_distribution
from lecturekit.gan import Discriminator, Generator
from lecturekit.plots import CourseFigure
from lecturekit.semisupervised import SemiSupervisedAutoencoder, hide_labels, select_labelled
from lecturekit.vae import VAE
from lecturekit.widgets import (completion_explorer, denoising_explorer, figure_explorer, gan_lab, latent_explorer,
                                naive_bayes_explorer, pca_explorer, semisupervised_explorer)


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


def test_latent_explorer_redraws_when_z_moves():
    model = VAE(latent_dim=2, hidden=8)
    x, y = load_digits("test")
    box = latent_explorer(model, x[:30], y[:30])
    (z_1, z_2), image = controls_and_image(box)
    before = image.value
    z_2.value = 1.5
    assert image.value != before


def small_semisupervised_runs(x, y, pairs):
    return {(lam, n): SemiSupervisedAutoencoder(lam=lam).fit(x, hide_labels(y, select_labelled(y, n, seed=0)),
                                                             epochs=1, progress=False)
            for lam, n in pairs}


def test_semisupervised_explorer_offers_exactly_the_trained_runs():
    x, y = load_digits("train")
    x_test, y_test = load_digits("test")
    trained = small_semisupervised_runs(x[:300], y[:300], [(10.0, 50), (1.0, 50), (10.0, 20)])
    box = semisupervised_explorer(x[:300], y[:300], x_test[:50], y_test[:50], trained)
    (run,), image = controls_and_image(box)
    assert [value for _label, value in run.options] == sorted(trained) and run.value == (10.0, 20)
    before = image.value
    run.value = (1.0, 50)
    assert image.value != before and len(trained) == 3


def test_semisupervised_explorer_rejects_an_empty_cache():
    x, y = load_digits("test")
    with pytest.raises(ValueError, match="at least one trained model"):
        semisupervised_explorer(x, y, x, y, {})


@pytest.mark.parametrize("loss", ["non_saturating", "non_saturating_r1"])
def test_gan_lab_trains_on_click_and_redraws(loss):
    generator, critic = Generator(hidden=8), Discriminator(hidden=8)
    box = gan_lab(generator, critic, toy_distribution("ring"), loss=loss, steps_per_click=3, batch_size=8)
    button, image = box.children
    before, weights = image.value, generator.net[0].weight.detach().clone()
    button.click()
    assert image.value != before and not torch.equal(generator.net[0].weight, weights)
    assert not button.disabled




def test_gan_lab_keeps_adams_state_between_clicks_and_shows_a_wgan_critics_raw_score(monkeypatch):
    import lecturekit.widgets as w

    calls, drawn = [], []
    real_train_gan, real_gan_state = w.train_gan, w.gan_state

    def train_gan(*args, **kwargs):
        calls.append((kwargs["optimizers"], real_train_gan(*args, **kwargs)))
        return calls[-1][1]

    def gan_state(*args, **kwargs):
        drawn.append(kwargs["raw_score"])
        return real_gan_state(*args, **kwargs)

    monkeypatch.setattr(w, "train_gan", train_gan)
    monkeypatch.setattr(w, "gan_state", gan_state)
    generator = Generator(hidden=8)
    box = gan_lab(generator, Discriminator(hidden=8), toy_distribution("ring"), loss="wgan_gp", steps_per_click=2,
                  batch_size=8)
    button, _image = box.children
    button.click()
    button.click()
    (first_given, first), (second_given, second) = calls
    assert first_given is None and second_given is first.optimizers
    assert all(kept is built for kept, built in zip(second.optimizers, first.optimizers))
    opt_g = second.optimizers[0]
    assert all(int(opt_g.state[p]["step"]) == 4 for p in generator.parameters())  # 2 clicks x 2 steps
    assert drawn == [True, True, True]  # a WGAN critic's raw score, at the start and after each click
    with pytest.raises(ValueError, match="loss must be one of"):
        gan_lab(generator, Discriminator(hidden=8), toy_distribution("ring"), loss="hinge")


def test_reverse_chain_explorer_starts_at_noise_and_redraws_at_each_step():
    from lecturekit.widgets import reverse_chain_explorer
    chain = torch.rand(6, 4, 64)
    box = reverse_chain_explorer(chain, n_images=4)
    (slider,), image = controls_and_image(box)
    assert (slider.value, slider.min, slider.max) == (5, 0, 5)
    first = image.value
    slider.value = 0
    assert image.value != first and "lecturekit-reverse_chain_explorer" in box._dom_classes


@pytest.mark.parametrize("control, value", [(0, 2), (1, 6), (2, 0.5)])
def test_completion_explorer_redraws_with_digit_rows_and_temperature(control, value):
    torch.manual_seed(0)
    model = CausalConvolution(channels=8, dilations=(1, 2, 4))
    x, _ = load_digits("test")
    box = completion_explorer(model, to_counts(x[:5]), n_completions=3)
    controls, image = controls_and_image(box)
    assert [c.description for c in controls] == ["digit", "rows given", "temperature"]
    assert not any(c.continuous_update for c in controls)
    before = image.value
    controls[control].value = value
    assert image.value != before

"""Interactive widgets: each is a thin shell over a plotting function of `plots`.

`figure_explorer(draw, controls)` lays out the controls above a PNG of
`draw(**values)` and redraws it whenever a control changes. The drawing function
is a plain function, tested without a browser; the notebooks also show a static
figure, so they read well where widgets do not render.
"""
import ipywidgets as widgets
import torch

from .autoencoders import corrupt
from .naive_bayes import NaiveBayes
from .pca import PCA
from ._checks import check_choice
from .gan import LOSSES, SIGMOID_LOSSES, train_gan
from .plots import (code_map, completion_grid, figure_png, gan_state, latent_point, naive_bayes_class,
                    reconstruction_grid, reverse_chain)
from .train import History
from .semisupervised import select_labelled


def figure_explorer(draw, controls, name="figure_explorer"):
    """A VBox of the controls (a dict name -> widget) above an Image of draw(**values).

    The box carries the CSS class `lecturekit-<name>`, so that tests and benchmarks can find it.
    """
    image = widgets.Image(format="png")

    def redraw(_change=None):
        image.value = figure_png(draw(**{name: c.value for name, c in controls.items()}))

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox(list(controls.values())), image], _dom_classes=[f"lecturekit-{name}"])


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

    return figure_explorer(draw, controls, "naive_bayes_explorer")


def pca_explorer(x_train, x_show):
    """Pick the number of components k; see PCA's reconstructions of `x_show` and their error."""
    controls = {"k": widgets.IntSlider(value=5, min=1, max=x_train.shape[1], description="components k",
                                       continuous_update=False)}

    def draw(k):
        pca = PCA(x_train.shape[1], k).fit(x_train)
        x_hat = pca.inverse_transform(pca.transform(x_show))
        mse = ((x_hat - x_show) ** 2).mean().item()
        return reconstruction_grid({"original": x_show, f"PCA, k={k}": x_hat.clamp(0, 1)},
                                   title=f"PCA reconstruction with k = {k}: MSE per pixel {mse:.4f}")

    return figure_explorer(draw, controls, "pca_explorer")


def denoising_explorer(model, x_show, kind="gaussian", seed=0):
    """Pick a noise level; see clean, corrupted and denoised digits, and the errors."""
    controls = {"level": widgets.FloatSlider(value=0.3, min=0.0, max=0.9, step=0.05, description="noise level",
                                             continuous_update=False)}

    @torch.no_grad()
    def draw(level):
        noisy = corrupt(x_show, kind, level, generator=torch.Generator().manual_seed(seed))
        denoised = model(noisy)
        before, after = (((v - x_show) ** 2).mean().item() for v in (noisy, denoised))
        return reconstruction_grid({"clean": x_show, "noisy": noisy.clamp(0, 1), "denoised": denoised},
                                   title=f"{kind} noise {level:.2f}: MSE noisy {before:.4f}, denoised {after:.4f}")

    return figure_explorer(draw, controls, "denoising_explorer")


def latent_explorer(model, x, y):
    """Move a point z = (z_1, z_2) through a 2-D latent space; see where it lies among the codes
    of real digits, and the image the decoder makes of it."""
    with torch.no_grad():
        codes = model.encode(x)[0]
    controls = {name: widgets.FloatSlider(value=0.0, min=-3.0, max=3.0, step=0.1, description=name)
                for name in ("z_1", "z_2")}

    @torch.no_grad()
    def draw(z_1, z_2):
        z = torch.tensor([[z_1, z_2]])
        return latent_point(codes, y, (z_1, z_2), model.decode(z)[0])

    return figure_explorer(draw, controls, "latent_explorer")


def semisupervised_explorer(x, y, x_test, y_test, trained):
    """Step through the models a notebook has trained; see the test accuracy and the map of test codes.

    `trained` maps (lambda, n_labels) to fitted models; the labelled images of a pair are
    `select_labelled(y, n_labels, seed=0)`. Only trained pairs are offered, so a redraw never trains.
    """
    if not trained:
        raise ValueError("semisupervised_explorer needs at least one trained model in `trained`, "
                         "keyed by (lambda, n_labels)")
    runs = [(f"λ = {lam:g}, {n_labels} labels", (lam, n_labels)) for lam, n_labels in sorted(trained)]
    controls = {"run": widgets.SelectionSlider(options=runs, value=runs[len(runs) // 2][1], description="run",
                                               continuous_update=False,
                                               layout=widgets.Layout(width="480px"),
                                               style={"description_width": "40px"})}

    def draw(run):
        lam, n_labels = run
        model, labelled = trained[run], select_labelled(y, n_labels, seed=0)
        with torch.no_grad():
            codes, labelled_codes = model.encoder(x_test), model.encoder(x[labelled])
        return code_map(codes, y_test, labelled_codes, labelled_labels=y[labelled],
                        title=f"λ = {lam:g}, {n_labels} labels: test accuracy {model.score(x_test, y_test):.3f}")

    return figure_explorer(draw, controls, "semisupervised_explorer")


def gan_lab(generator, critic, distribution, loss="non_saturating", steps_per_click=200, **settings):
    """An interactive trainer in the spirit of GAN Lab: each click plays `steps_per_click` more
    generator steps; the figure shows D(x) (the raw score f(x) for LSGAN and the WGANs, which is
    not a probability), the real and generated points, and both losses. The optimisers live from
    one click to the next, so Adam's moment estimates carry over instead of starting again."""
    check_choice("loss", loss, LOSSES)
    history = History(d_loss=[], g_loss=[])
    optimizers = None  # none yet: the first click builds them
    real = distribution.sample(500, generator=torch.Generator().manual_seed(0))
    button = widgets.Button(description=f"train {steps_per_click} steps", icon="play")
    image = widgets.Image(format="png")

    def redraw():
        step = len(history["g_loss"])
        image.value = figure_png(gan_state(generator, critic, real, history, title=f"{loss}, step {step}",
                                           raw_score=loss not in SIGMOID_LOSSES))

    def play(_button=None):
        nonlocal optimizers
        button.disabled = True
        more = train_gan(generator, critic, distribution, loss=loss, steps=steps_per_click, progress=False,
                         optimizers=optimizers, **settings)
        optimizers = more.optimizers
        for key in history:
            history[key] += more[key]
        redraw()
        button.disabled = False

    button.on_click(play)
    redraw()
    return widgets.VBox([button, image], _dom_classes=["lecturekit-gan_lab"])


def reverse_chain_explorer(chain, n_images=16):
    """Slide t from T down to 0 and see the batch x_t of a sampling chain (T + 1, n, 64), with
    chain[t] = x_t in image units; a shell over `plots.reverse_chain`."""
    T = len(chain) - 1
    controls = {"t": widgets.IntSlider(value=T, min=0, max=T, description="step t", continuous_update=False)}

    def draw(t):
        return reverse_chain(chain, [t], n_images=n_images, title=f"The batch at step t = {t} of {T}")

    return figure_explorer(draw, controls, "reverse_chain_explorer")


def completion_explorer(model, x, n_completions=8, seed=0):
    """Pick a digit of `x` (integer pixel counts, shape (m, 64)), how many of its top rows are
    given, and the temperature; see the autoregressive `model`'s completions of the rest."""
    controls = {
        "digit": widgets.IntSlider(value=0, min=0, max=len(x) - 1, description="digit",
                                   continuous_update=False),
        "rows_given": widgets.IntSlider(value=4, min=0, max=8, description="rows given", continuous_update=False),
        "temperature": widgets.FloatSlider(value=1.0, min=0.2, max=2.0, step=0.1, description="temperature",
                                           continuous_update=False),
    }

    def draw(digit, rows_given, temperature):
        return completion_grid(model, x[digit: digit + 1], rows_given, n_completions, temperature,
                               generator=torch.Generator().manual_seed(seed),
                               title=f"Digit {digit} from its top {rows_given} rows, temperature {temperature:g}")

    return figure_explorer(draw, controls, "completion_explorer")

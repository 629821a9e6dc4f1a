r"""Every family of the course on one yardstick (lecture 11).

Each lecture scored its models its own way. Here every family is trained on the same training
digits and scored by the same function, `score`, on the same columns:

* the test NLL in nats per image, on the 17 pixel levels, and its kind: **exact** (naive Bayes,
  autoregressive models, uniform noise), an upper **bound** (the VAE's importance-weighted bound,
  the normalising flow's importance-weighted dequantisation bound, the diffusion model's -ELBO) or
  **none** (GANs and flow matching, whose likelihood of discrete images we do not compute);
* FID and KID of n samples against the training digits, and the Inception Score, all in the
  features and predictions of lecture 07's digit classifier;
* precision and recall (Kynkaanniemi et al., 2019), density and coverage (Naeem et al., 2020) in
  the same features;
* the memorisation ratio: distances of samples to their nearest training digit, over those of the
  unseen test digits (`metrics.nearest_neighbour_ratio`), in pixel space;
* training seconds, seconds per 1000 samples drawn, and the number of parameters.

A `Contender` is a trained model reduced to what the yardstick needs. Samples are images in
[0, 1] on the 17 levels k / 16, as the data is: continuous samples (GAN, diffusion, flow matching)
are rounded to the nearest level, so that no family is told apart by its pixel format alone (the
normalising flow's samples are its bins, already on the levels).
"""
import math
import time
from dataclasses import dataclass
from typing import Callable, Optional

import torch

from ._checks import check_choice, check_int
from .autoregressive import CausalConvolution, nll_loss
from .data import DIGIT_MAX, to_counts
from .diffusion import Denoiser, ancestral_sample, ddpm_nelbo, ode_sample, train_denoiser, train_discrete_ddpm
from .flows import DequantisedFlow, dequantised_nll_loss
from .gan import Discriminator, Generator, train_gan
from .metrics import density_coverage, fid, inception_score, kid, nearest_neighbour_ratio, precision_recall
from .naive_bayes import NaiveBayes
from .train import fit
from .vae import VAE, iwae_log_likelihood, sample_prior, vae_loss

NLL_KINDS = ("exact", "bound", "none")
BUDGETS = {  # training length per family: "quick" for the notebook (seconds), "full" for the benchmark
    "quick": dict(vae_epochs=40, gan_steps=600, ar_channels=32, ar_epochs=3, diffusion_steps=400, iwae_k=100,
                  flow_epochs=10, flow_draws=50, ddpm=dict(hidden=256, dropout=0.0, steps=1000, lr=3e-3)),
    "full": dict(vae_epochs=150, gan_steps=3000, ar_channels=64, ar_epochs=10, diffusion_steps=3000, iwae_k=1000,
                 flow_epochs=30, flow_draws=200, ddpm=dict(hidden=512, dropout=0.5, steps=4000, lr=1e-3)),
}
# diffusion_steps: flow matching's; ddpm: the arguments of diffusion.train_discrete_ddpm (lecture 10's and its
# benchmark's); flow_draws: the importance samples of the normalising flow's bound (iwae_k: the VAE's)
FLOW = dict(dequantisation="variational", couplings=8, hidden=(256, 256), scale_bound=2.0, mixing="random",
            logit_alpha=0.005)  # the normalising flow: benchmarks/flows.py's DIGITS, with its variational dequantiser
FLOW_TRAINING = dict(lr=1e-3, batch_size=64)  # and its DIGIT_TRAINING (Adam, cosine), for flow_epochs
COLUMNS = {  # column of `score`: (heading, number format)
    "test_nll": ("NLL", ".1f"), "fid": ("FID", ".2f"), "kid": ("KID", ".2f"), "inception_score": ("IS", ".2f"),
    "precision": ("prec.", ".2f"), "recall": ("recall", ".2f"), "density": ("dens.", ".2f"),
    "coverage": ("cover.", ".2f"), "memorisation": ("memo.", ".2f"), "train_seconds": ("train s", ".1f"),
    "sample_seconds": ("s/1000", ".3f"), "parameters": ("params", ".0f"),
}


@dataclass
class Contender:
    """A trained model as the yardstick sees it.

    sample(n, generator) : n images, shape (n, 64), values k / 16
    nll(x)               : -log p(x) per image in nats (exact or an upper bound), or None
    """
    name: str
    sample: Callable
    nll: Optional[Callable]
    nll_kind: str
    parameters: int
    train_seconds: float = 0.0

    def __post_init__(self):
        check_choice("nll_kind", self.nll_kind, NLL_KINDS)
        if (self.nll is None) != (self.nll_kind == "none"):
            raise ValueError(f"{self.name}: nll must be given exactly when nll_kind is not 'none'")


def to_levels(images):
    """Round images in [0, 1] to the nearest of the 17 levels k / 16."""
    return torch.round(images.clamp(0, 1) * DIGIT_MAX) / DIGIT_MAX


def count_parameters(module):
    return sum(p.numel() for p in module.parameters())


def _timed(train):
    start = time.perf_counter()
    model = train()
    return model, time.perf_counter() - start


def naive_bayes(x, y, budget):
    """Lecture 00: a class, then every pixel independently given the class; exact NLL by summing over classes."""
    model, seconds = _timed(lambda: NaiveBayes().fit(x, y))

    def sample(n, generator=None):
        digits = torch.multinomial(model.log_prior.exp(), n, replacement=True, generator=generator)
        return torch.cat([model.sample(int(d), 1, generator=generator) for d in digits])

    return Contender("naive Bayes", sample, lambda x: -model.log_prob(x), "exact",
                     model.log_pixel.numel() + model.log_prior.numel(), seconds)


def vae(x, y, budget):
    """Lecture 03: a VAE with a 16-dimensional latent; the NLL is bounded by IWAE."""
    model = VAE(latent_dim=16)
    _, seconds = _timed(lambda: fit(model, vae_loss, x, epochs=budget["vae_epochs"], lr=1e-3,
                                    schedule="cosine", progress=False))
    model.eval()
    return Contender("VAE", lambda n, generator=None: sample_prior(model, n, generator=generator),
                     lambda x: -iwae_log_likelihood(model, x, k=budget["iwae_k"]), "bound",
                     count_parameters(model), seconds)


def gan(x, y, budget):
    """Lectures 05 and 07: the non-saturating GAN of lecture 07; no likelihood."""
    network = Generator(latent_dim=16, out_dim=64, hidden=256, layers=1, output="sigmoid")
    critic = Discriminator(in_dim=64, hidden=256, layers=1)
    _, seconds = _timed(lambda: train_gan(network, critic, x, loss="non_saturating", steps=budget["gan_steps"],
                                          batch_size=64, progress=False))
    network.eval()

    @torch.no_grad()
    def sample(n, generator=None):
        return to_levels(network.sample(n, generator=generator))

    return Contender("GAN", sample, None, "none", count_parameters(network), seconds)


def autoregressive(x, y, budget):
    """Lecture 08: a dilated causal convolution over the 64 pixels; exact NLL."""
    model = CausalConvolution(channels=budget["ar_channels"], dilations=(1, 2, 4, 8, 16, 32))
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3, fused=True)
    _, seconds = _timed(lambda: fit(model, nll_loss, to_counts(x), epochs=budget["ar_epochs"], batch_size=32,
                                    optimizer=optimizer, schedule="cosine", progress=False))
    model.eval()

    @torch.no_grad()
    def nll(x):
        return -model.log_prob(to_counts(x))

    return Contender("autoregressive", lambda n, generator=None: model.sample(n, generator=generator) / DIGIT_MAX,
                     nll, "exact", count_parameters(model), seconds)


def normalising_flow(x, y, budget):
    """Lecture 09: RealNVP on the dequantised counts, with variational dequantisation (the settings of
    benchmarks/flows.py). Its NLL is a bound: the importance-weighted bound on -log P(x) with
    `flow_draws` draws of the noise u; samples are the flow's bins, count / 16."""
    model = DequantisedFlow(n_features=x.shape[1], levels=DIGIT_MAX + 1, **FLOW)
    _, seconds = _timed(lambda: fit(model, dequantised_nll_loss, to_counts(x), epochs=budget["flow_epochs"],
                                    schedule="cosine", progress=False, **FLOW_TRAINING))
    model.eval()

    def sample(n, generator=None):
        return model.sample(n, generator=generator) / DIGIT_MAX

    return Contender("normalising flow", sample,
                     lambda x: model.importance_nll(to_counts(x), samples=budget["flow_draws"]), "bound",
                     count_parameters(model), seconds)


def diffusion(x, y, budget, objective="ddpm"):
    """Lecture 10: a denoiser on digits scaled to [-1, 1]. DDPM: the discrete recipe
    (`diffusion.train_discrete_ddpm`), ancestral sampling, the -ELBO bounds the NLL; flow matching
    ("flow"): a `Denoiser`, 50 midpoint steps of the ODE, no likelihood."""
    check_choice("objective", objective, ("ddpm", "flow"))
    if objective == "ddpm":
        (model, schedule, _), seconds = _timed(lambda: train_discrete_ddpm(2 * x - 1, **budget["ddpm"]))
    else:
        model = Denoiser(n_features=64, hidden=256, layers=3, fourier_features=0)
        _, seconds = _timed(lambda: train_denoiser(model, "flow", 2 * x - 1, steps=budget["diffusion_steps"],
                                                   batch_size=128))
        model.eval()

    @torch.no_grad()
    def sample(n, generator=None):
        if objective == "ddpm":
            x = ancestral_sample(model, schedule, n, generator=generator)
        else:
            x = ode_sample(model, n, steps=50, method="midpoint", generator=generator)
        return to_levels((x + 1) / 2)

    @torch.no_grad()
    def nll(x):
        return ddpm_nelbo(model, schedule, 2 * x - 1, bin_width=2 / DIGIT_MAX)

    name = "DDPM" if objective == "ddpm" else "flow matching"
    return Contender(name, sample, nll if objective == "ddpm" else None, "bound" if objective == "ddpm" else "none",
                     count_parameters(model), seconds)


def flow_matching(x, y, budget):
    return diffusion(x, y, budget, objective="flow")


RESULT_KEYS = {"naive Bayes": "naive_bayes", "VAE": "vae", "GAN": "gan", "autoregressive": "autoregressive",
               "normalising flow": "normalising_flow", "DDPM": "ddpm", "flow matching": "flow_matching",
               "training digits (a copy)": "training_copy", "test digits": "test_digits",
               "uniform noise": "uniform_noise"}  # <model> in yardstick.<model>.<column>
FAMILIES = {"naive Bayes": naive_bayes, "VAE": vae, "GAN": gan, "autoregressive": autoregressive,
            "normalising flow": normalising_flow, "DDPM": diffusion, "flow matching": flow_matching}


def drawing_from(images, name):
    """A "model" that draws n of the given images without replacement (a copy, or a built failure)."""
    def sample(n, generator=None):
        if n > len(images):
            raise ValueError(f"n must be at most {len(images)} for {name}; got {n}")
        return images[torch.randperm(len(images), generator=generator)[:n]]
    return Contender(name, sample, None, "none", 0)


def references(x_train, x_test):
    """The rows every table needs: a copy of the training digits, the unseen test digits, and
    uniform noise over the 17 levels (whose exact NLL is 64 ln 17 nats)."""

    def noise(n, generator=None):
        return torch.randint(0, DIGIT_MAX + 1, (n, x_train.shape[1]), generator=generator) / DIGIT_MAX

    uniform_nll = x_train.shape[1] * math.log(DIGIT_MAX + 1)
    return [drawing_from(x_train, "training digits (a copy)"), drawing_from(x_test, "test digits"),
            Contender("uniform noise", noise, lambda x: torch.full((len(x),), uniform_nll), "exact", 0)]


def train_all(x_train, y_train, budget="full", families=None):
    """Train every family in `families` (default: all) on the same digits; a list of Contenders."""
    check_choice("budget", budget, tuple(BUDGETS))
    names = list(FAMILIES) if families is None else [check_choice("family", f, tuple(FAMILIES)) for f in families]
    return [FAMILIES[name](x_train, y_train, BUDGETS[budget]) for name in names]


def score(contender, x_train, x_test, classifier, n=450, generator=None, time_samples=None):
    """Every column of the yardstick for one contender; a dict of floats (NaN where a column does not apply).

    FID, KID, IS, precision/recall and density/coverage compare n samples with the training digits in
    the classifier's features; the memorisation ratio uses pixel space. `sample_seconds` is the wall
    time per 1000 samples: of a separate draw of `time_samples` samples, or else of the draw of the n
    scored samples, scaled by 1000 / n (NaN for the reference rows, which compute nothing).
    """
    n = check_int("n", n, low=20)
    start = time.perf_counter()
    samples = contender.sample(n, generator=generator)
    seconds, drawn = time.perf_counter() - start, n
    if time_samples is not None and contender.parameters:
        start = time.perf_counter()
        contender.sample(check_int("time_samples", time_samples, low=1), generator=generator)
        seconds, drawn = time.perf_counter() - start, time_samples
    real_features, fake_features = classifier.features(x_train), classifier.features(samples)
    row = {"fid": fid(fake_features, real_features), "kid": kid(fake_features, real_features),
           "inception_score": inception_score(classifier.probabilities(samples))[0]}
    row["precision"], row["recall"] = precision_recall(real_features, fake_features, k=3)
    row["density"], row["coverage"] = density_coverage(real_features, fake_features, k=5)
    row["memorisation"] = nearest_neighbour_ratio(samples, x_train, x_test)
    row["test_nll"] = float("nan") if contender.nll is None else contender.nll(x_test).mean().item()
    row["train_seconds"], row["parameters"] = contender.train_seconds, float(contender.parameters)
    row["sample_seconds"] = 1000 * seconds / drawn if contender.parameters else float("nan")
    return row


def text_table(rows, kinds=None):
    """`rows` (name -> a dict of `score`) as a fixed-width text table; blank where a value is NaN.
    kinds : optional name -> NLL kind, written beside the NLL ("exact" or "bound")."""
    width = max(len(name) for name in rows) + 2
    lines = [" " * width + "".join(f"{heading:>9}" for heading, _ in COLUMNS.values())]
    for name, row in rows.items():
        cells = ["" if math.isnan(row[column]) else f"{row[column]:{fmt}}" for column, (_, fmt) in COLUMNS.items()]
        if kinds and kinds.get(name) in ("exact", "bound") and cells[0]:
            cells[0] += kinds[name][0]
        lines.append(f"{name:<{width}}" + "".join(f"{cell:>9}" for cell in cells))
    return "\n".join(lines)

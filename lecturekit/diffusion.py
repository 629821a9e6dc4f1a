r"""Diffusion models and flow matching (lecture 10).

**Diffusion** (Ho et al., 2020). A fixed forward chain adds a little Gaussian noise at each step,

    x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) eps,          t = 1 .. T,

so that q(x_t | x_0) = N( sqrt(abar_t) x_0, (1 - abar_t) I ) with abar_t = prod_{s<=t} (1 - beta_s),
and x_T is close to N(0, I). A network eps_hat(x_t, t) learns to predict the noise; the reverse chain
then walks from N(0, I) back to the data. Predicting the noise is estimating the score,
grad log q(x_t) = -E[eps | x_t] / sqrt(1 - abar_t): a denoising autoencoder (Vincent, 2011) at
every noise level (Song & Ermon, 2019).

**Flow matching / rectified flow** (Lipman et al., 2023; Liu et al., 2022). Draw noise x_0 ~ N(0, I)
and data x_1, join them by the straight line x_t = (1 - t) x_0 + t x_1, t in [0, 1], and regress a
velocity field v(x_t, t) on x_1 - x_0. Integrating dx/dt = v(x, t) from t = 0 to 1 carries noise to
data. (Time runs the other way than in the diffusion chain: here t = 1 is the data.)

Time enters `Denoiser` as a number in [0, 1]: t / T for the diffusion chain, t for the flow.
"""
import math

import torch
from torch import nn

from ._checks import as_matrix, check_choice, check_float, check_int
from .networks import mlp
from .train import fit

OBJECTIVES = ("ddpm", "flow")
ODE_METHODS = ("euler", "midpoint")


class NoiseSchedule:
    r"""The noise levels of the forward chain, indexed by t = 0 .. T (index 0 is the data itself).

    * `betas[t]` = beta_t, the variance added at step t (beta_0 = 0);
    * `alphas[t]` = 1 - beta_t;
    * `alpha_bars[t]` = abar_t = prod_{s=1}^t (1 - beta_s) (abar_0 = 1);
    * `posterior_variances[t]` = beta~_t = beta_t (1 - abar_{t-1}) / (1 - abar_t), the variance of
      q(x_{t-1} | x_t, x_0), the Gaussian posterior of one step of the chain (Ho et al., 2020, eq. 7).
      beta~_1 = 0: given x_1 and x_0, x_0 is known.

    Build one with `NoiseSchedule.linear(T)` or `NoiseSchedule.cosine(T)`, or pass the T values
    beta_1 .. beta_T, each in (0, 1). The tensors are float64.
    """

    def __init__(self, betas):
        betas = torch.as_tensor(betas, dtype=torch.float64)
        if betas.ndim != 1 or len(betas) < 1:
            raise ValueError(f"betas must be a 1-D sequence of T >= 1 values; got shape {tuple(betas.shape)}")
        if not ((betas > 0) & (betas < 1)).all():
            raise ValueError(f"betas must lie in (0, 1); got values from {betas.min().item():.3g} "
                             f"to {betas.max().item():.3g}")
        self.T = len(betas)
        self.betas = torch.cat([torch.zeros(1, dtype=torch.float64), betas])
        self.alphas = 1 - self.betas
        self.alpha_bars = torch.cumprod(self.alphas, dim=0)
        self.posterior_variances = torch.cat([
            torch.zeros(1, dtype=torch.float64),
            self.betas[1:] * (1 - self.alpha_bars[:-1]) / (1 - self.alpha_bars[1:])])

    @classmethod
    def linear(cls, T=1000, beta_1=None, beta_T=None):
        """beta_t rising linearly from beta_1 to beta_T (Ho et al., 2020: 1e-4 to 0.02 for T = 1000).

        By default both ends are scaled by 1000 / T, as Nichol & Dhariwal (2021) do, so that a
        shorter chain still ends near N(0, I); T must then be above 20, or beta_T would reach 1.
        """
        T = check_int("T", T, low=1)
        beta_1 = 1e-4 * 1000 / T if beta_1 is None else check_float("beta_1", beta_1)
        beta_T = 0.02 * 1000 / T if beta_T is None else check_float("beta_T", beta_T)
        return cls(torch.linspace(beta_1, beta_T, T, dtype=torch.float64))

    @classmethod
    def cosine(cls, T=1000, s=0.008, max_beta=0.999):
        """abar_t = f(t) / f(0) with f(t) = cos^2( (t / T + s) / (1 + s) * pi / 2 )
        (Nichol & Dhariwal, 2021); beta_t = 1 - abar_t / abar_{t-1}, clipped at `max_beta`
        (abar_T would otherwise be exactly 0 and beta_T = 1)."""
        T = check_int("T", T, low=1)
        s = check_float("s", s, low=0.0)
        max_beta = check_float("max_beta", max_beta, low=0.0, high=1.0)
        steps = torch.arange(T + 1, dtype=torch.float64) / T
        f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
        alpha_bars = f / f[0]
        return cls((1 - alpha_bars[1:] / alpha_bars[:-1]).clamp(max=max_beta))

    @classmethod
    def log_snr_linear(cls, T=200, log_snr_min=-7.0, log_snr_max=8.0):
        """Steps evenly spaced in log SNR: lambda_t = log( abar_t / (1 - abar_t) ) falls linearly from
        `log_snr_max` at t = 1 to `log_snr_min` at t = T, so abar_t = sigmoid(lambda_t).

        Every L_{t-1} of the ELBO (t >= 2) then has the same weight (see `elbo_weights`), and the simple
        loss, which weighs every step alike, is the bound's sum up to a constant factor. In continuous time
        the diffusion part of the bound depends on the schedule only through its two ends (Kingma et al.,
        2021); `log_snr_max` sets the smallest noise, std sqrt(1 - abar_1), which the decoder L_0 must
        resolve, and `log_snr_min` the largest, where L_T = KL(q(x_T | x_0) || N(0, I)) must vanish.
        """
        T = check_int("T", T, low=2)
        log_snr_min = check_float("log_snr_min", log_snr_min)
        log_snr_max = check_float("log_snr_max", log_snr_max)
        if not log_snr_min < log_snr_max:
            raise ValueError(f"log_snr_min must be below log_snr_max; got {log_snr_min} and {log_snr_max}")
        alpha_bars = torch.sigmoid(torch.linspace(log_snr_max, log_snr_min, T, dtype=torch.float64))
        before = torch.cat([torch.ones(1, dtype=torch.float64), alpha_bars[:-1]])
        return cls(1 - alpha_bars / before)

    @property
    def log_snrs(self):
        """lambda_t = log SNR_t = log( abar_t / (1 - abar_t) ) for t = 1 .. T (index 0 is the data: +inf)."""
        return torch.log(self.alpha_bars / (1 - self.alpha_bars))

    @property
    def elbo_weights(self):
        """w_t = beta_t^2 / (2 beta~_t alpha_t (1 - abar_t)) = (SNR_{t-1} / SNR_t - 1) / 2 for t = 2 .. T
        (index t; entries 0 and 1 are 0): the weight of || eps - eps_hat(x_t, t) ||^2 in L_{t-1}."""
        weights = torch.zeros_like(self.betas)
        weights[2:] = self.betas[2:] / (2 * self.alphas[2:] * (1 - self.alpha_bars[1:-1]))
        return weights

    def __repr__(self):
        return f"NoiseSchedule(T={self.T}, abar_T={self.alpha_bars[-1].item():.2e})"


def _at(values, t, x):
    """values[t] for a batch of steps t, shaped to broadcast against x (one row per sample)."""
    return values.to(x)[t].reshape(-1, *[1] * (x.ndim - 1))


def _check_steps(t, schedule):
    t = torch.as_tensor(t)
    if t.dtype.is_floating_point or (t < 0).any() or (t > schedule.T).any():
        raise ValueError(f"t must hold integer steps in 0 .. T = {schedule.T}")
    return t


def q_sample(schedule, x0, t, eps=None, generator=None):
    """Jump straight to step t of the forward chain: x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps.

    x0 : (n, d) data; t : (n,) integer steps in 0 .. T; eps : the noise, drawn when None.
    """
    x0 = as_matrix("x0", x0)
    t = _check_steps(t, schedule)
    if eps is None:
        eps = torch.randn(x0.shape, generator=generator).to(x0)
    return _at(schedule.alpha_bars, t, x0).sqrt() * x0 + (1 - _at(schedule.alpha_bars, t, x0)).sqrt() * eps


def _check_schedule(model, schedule):
    """A model that holds its schedule's abar_t (a `PixelPriorDenoiser`) must be used with that schedule."""
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule, got {type(schedule).__name__}")
    built_for = getattr(model, "alpha_bars", None)
    if built_for is not None and (len(built_for) != schedule.T + 1
                                  or not torch.allclose(built_for.double().cpu(), schedule.alpha_bars, rtol=1e-5)):
        raise ValueError(f"the model was built for another noise schedule (T = {len(built_for) - 1}); "
                         f"use the schedule it was built with, not {schedule}")


def _check_width(name, x, model):
    width = getattr(model, "hparams", {}).get("n_features")
    if width is not None and x.shape[1] != width:
        raise ValueError(f"{name} must have {width} columns, the model's n_features; got {x.shape[1]}")


def ddpm_loss(model, schedule, x0, generator=None):
    """The simple loss of Ho et al. (2020): E_{t, eps} || eps - eps_hat(x_t, t / T) ||^2,
    t uniform on 1 .. T, here averaged over the coordinates as well as the batch.

    Up to a weight per step, each term is a KL between Gaussian steps of the ELBO (see `ddpm_nelbo`).
    """
    x0 = as_matrix("x0", x0)
    _check_width("x0", x0, model)
    _check_schedule(model, schedule)
    t = torch.randint(1, schedule.T + 1, (len(x0),), generator=generator)
    eps = torch.randn(x0.shape, generator=generator).to(x0)
    x_t = q_sample(schedule, x0, t, eps)
    return ((eps - model(x_t, (t / schedule.T).to(x0))) ** 2).mean()


def flow_matching_loss(model, x1, generator=None):
    """Conditional flow matching with straight paths (Lipman et al., 2023; Liu et al., 2022):

        E_{t, x_0, x_1} || v(x_t, t) - (x_1 - x_0) ||^2,   x_t = (1 - t) x_0 + t x_1,

    x_0 ~ N(0, I), t ~ U(0, 1), x_1 the data; averaged over the coordinates and the batch.
    """
    x1 = as_matrix("x1", x1)
    _check_width("x1", x1, model)
    x0 = torch.randn(x1.shape, generator=generator).to(x1)
    t = torch.rand(len(x1), generator=generator).to(x1)
    x_t = (1 - t[:, None]) * x0 + t[:, None] * x1
    return ((model(x_t, t) - (x1 - x0)) ** 2).mean()


def _device(model):
    parameter = next(iter(model.parameters()), None) if isinstance(model, nn.Module) else None
    return torch.device("cpu") if parameter is None else parameter.device


def _start(n, n_features, model, generator):
    n = check_int("n", n, low=1)
    n_features = check_int("n_features", n_features if n_features is not None
                           else getattr(model, "hparams", {}).get("n_features", 0), low=1)
    return torch.randn(n, n_features, generator=generator).to(_device(model))


@torch.no_grad()
def ancestral_sample(model, schedule, n, n_features=None, generator=None, return_chain=False, clip_x0=None):
    r"""Sample by running the reverse chain (Ho et al., 2020, Algorithm 2) from x_T ~ N(0, I):

        x_{t-1} = ( x_t - beta_t / sqrt(1 - abar_t) * eps_hat(x_t, t / T) ) / sqrt(alpha_t) + sqrt(beta~_t) z,

    z ~ N(0, I), with the posterior variance beta~_t. At the last step beta~_1 = 0: no noise is added.

    model : eps_hat, a callable (x, time) -> noise of x's shape, time = t / T in (0, 1].
    n_features : the width of x; read from `model.hparams` when None.
    return_chain : also return `chain`, a (T + 1, n, d) tensor with chain[t] = x_t.
    clip_x0 : optional (low, high), the data's range. The mean above equals the posterior mean
        mu~_t = sqrt(abar_{t-1}) beta_t / (1 - abar_t) x0_hat + sqrt(alpha_t) (1 - abar_{t-1}) / (1 - abar_t) x_t
        at the predicted x0_hat = (x_t - sqrt(1 - abar_t) eps_hat) / sqrt(abar_t); with clip_x0, x0_hat
        is clipped to the range first, as in Ho et al.'s (2020) released code for images.
    """
    _check_schedule(model, schedule)
    x = _start(n, n_features, model, generator)
    chain = [x]
    for t in range(schedule.T, 0, -1):
        time = torch.full((len(x),), t / schedule.T, device=x.device)
        beta, alpha, alpha_bar = (float(v[t]) for v in (schedule.betas, schedule.alphas, schedule.alpha_bars))
        eps_hat = model(x, time)
        if clip_x0 is None:
            mean = (x - beta / math.sqrt(1 - alpha_bar) * eps_hat) / math.sqrt(alpha)
        else:
            alpha_bar_before = float(schedule.alpha_bars[t - 1])
            x0_hat = ((x - math.sqrt(1 - alpha_bar) * eps_hat) / math.sqrt(alpha_bar)).clamp(*clip_x0)
            mean = (math.sqrt(alpha_bar_before) * beta * x0_hat
                    + math.sqrt(alpha) * (1 - alpha_bar_before) * x) / (1 - alpha_bar)
        noise = torch.randn(x.shape, generator=generator).to(x) if t > 1 else torch.zeros_like(x)
        x = mean + math.sqrt(float(schedule.posterior_variances[t])) * noise
        chain.append(x)
    return (x, torch.stack(chain[::-1])) if return_chain else x


@torch.no_grad()
def ode_sample(model, n, steps=100, method="euler", n_features=None, generator=None, return_chain=False):
    """Sample a flow by integrating dx/dt = v(x, t) from x(0) ~ N(0, I) to t = 1 in `steps` equal steps.

    * "euler":    x <- x + h v(x, t)
    * "midpoint": x <- x + h v( x + (h / 2) v(x, t), t + h / 2 )   (two evaluations per step,
      error O(h^2) instead of O(h)).

    model : v, a callable (x, time) -> velocity of x's shape, time in [0, 1].
    return_chain : also return `chain`, a (steps + 1, n, d) tensor with chain[k] = x(k / steps).
    """
    steps = check_int("steps", steps, low=1)
    check_choice("method", method, ODE_METHODS)
    x = _start(n, n_features, model, generator)
    h = 1.0 / steps
    chain = [x]
    for k in range(steps):
        time = torch.full((len(x),), k * h, device=x.device)
        velocity = model(x, time)
        if method == "midpoint":
            velocity = model(x + h / 2 * velocity, time + h / 2)
        x = x + h * velocity
        chain.append(x)
    return (x, torch.stack(chain)) if return_chain else x


def _discretised_gaussian_log_likelihood(x0, mean, std, bin_width, low, high):
    """log of the mass that N(mean, std^2) puts on the bin [x0 - w/2, x0 + w/2] of each value, with the
    lowest and highest bins stretched to -inf and +inf (Ho et al., 2020, eq. 13), summed per row.
    A bin's mass is floored at 1e-12 before the log, so that a far-off mean gives a large finite cost;
    where the floor acts (a mass below 1e-12), the term is below the true -log mass and the sum is no
    longer an upper bound."""
    normal = torch.distributions.Normal(mean, std)
    upper = torch.where(x0 >= high - bin_width / 2, torch.ones_like(x0), normal.cdf(x0 + bin_width / 2))
    lower = torch.where(x0 <= low + bin_width / 2, torch.zeros_like(x0), normal.cdf(x0 - bin_width / 2))
    return (upper - lower).clamp_min(1e-12).log().sum(dim=1)


@torch.no_grad()
def ddpm_nelbo(model, schedule, x0, bin_width, low=-1.0, high=1.0, generator=None, per_step=False):
    r"""-ELBO in nats per row of x0, an upper bound on -log p(x0) of discrete data (Ho et al., 2020):

        L_T + sum_{t=2}^T L_{t-1} + L_0,
        L_T     = KL( q(x_T | x_0) || N(0, I) ),
        L_{t-1} = KL( q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t) ) = w_t || eps - eps_hat(x_t, t / T) ||^2,
        w_t     = beta_t^2 / (2 sigma_t^2 alpha_t (1 - abar_t)) = (SNR_{t-1} / SNR_t - 1) / 2,
        L_0     = -log p(x_0 | x_1), a Gaussian of std sqrt(beta_1) discretised to the data's bins,

    with sigma_t^2 = beta~_t and SNR_t = abar_t / (1 - abar_t) (`NoiseSchedule.elbo_weights`). Every
    step t is evaluated with one draw of eps per row, so the sum is an unbiased estimate. x0 holds
    values on a grid of spacing `bin_width` from `low` to `high`.

    per_step : return the (n, T + 1) terms instead of their sum: column 0 is L_0, column t the term
        of step t + 1 of the chain, L_t (so column T - 1 holds L_{T-1}, whose eps is drawn at t = T),
        and column T is L_T.
    """
    x0 = as_matrix("x0", x0)
    _check_width("x0", x0, model)
    _check_schedule(model, schedule)
    bin_width = check_float("bin_width", bin_width, low=1e-12)
    terms = torch.zeros(len(x0), schedule.T + 1, dtype=torch.float64)
    abar_T = float(schedule.alpha_bars[-1])
    terms[:, -1] = 0.5 * ((1 - abar_T) + abar_T * x0.double() ** 2 - 1 - math.log(1 - abar_T)).sum(dim=1).cpu()
    weights = schedule.elbo_weights
    for t in range(1, schedule.T + 1):
        steps = torch.full((len(x0),), t)
        eps = torch.randn(x0.shape, generator=generator).to(x0)
        x_t = q_sample(schedule, x0, steps, eps)
        eps_hat = model(x_t, torch.full((len(x0),), t / schedule.T).to(x0))
        if t == 1:
            beta, alpha, alpha_bar = (float(v[1]) for v in (schedule.betas, schedule.alphas, schedule.alpha_bars))
            mean = (x_t - beta / math.sqrt(1 - alpha_bar) * eps_hat) / math.sqrt(alpha)
            terms[:, 0] = -_discretised_gaussian_log_likelihood(x0, mean, math.sqrt(beta), bin_width, low, high).cpu()
        else:
            terms[:, t - 1] = float(weights[t]) * ((eps - eps_hat) ** 2).sum(dim=1).double().cpu()
    return terms if per_step else terms.sum(dim=1)


class FourierFeatures(nn.Module):
    """Random Fourier features (Tancik et al., 2020): gamma(x) = [cos(2 pi B x), sin(2 pi B x)],
    B an (m, d) matrix drawn once from N(0, scale^2) and kept fixed (a buffer, saved with the model).

    A plain MLP learns low frequencies first (spectral bias); these features let it fit functions
    that change on the scale 1 / scale, such as the narrow modes of the grid.
    """

    def __init__(self, n_features, m, scale):
        super().__init__()
        self.register_buffer("B", scale * torch.randn(m, n_features))

    def forward(self, x):
        angles = 2 * math.pi * x @ self.B.T
        return torch.cat([angles.cos(), angles.sin()], dim=1)


def time_embedding(time, dim):
    """The sinusoidal embedding of Vaswani et al. (2017), as Ho et al. (2020) embed t: for time in
    [0, 1], [sin(1000 time w_k), cos(1000 time w_k)] with w_k = 10000^(-k / (dim / 2)), k < dim / 2."""
    frequencies = torch.exp(-math.log(10000) * torch.arange(dim // 2, device=time.device) / (dim // 2))
    angles = 1000 * time[:, None] * frequencies
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class Denoiser(nn.Module):
    """A residual MLP f(x, time) -> a vector of x's width: the noise eps_hat for diffusion, the
    velocity v for a flow.

    The input is [x, gamma(x), embed(time)], with gamma the random Fourier features (none when
    fourier_features = 0) and embed the sinusoidal time embedding; then a linear layer to `hidden`
    units and `layers` residual blocks h <- h + W_2 dropout(SiLU(W_1 SiLU(h))), and a linear output.
    `dropout` (0 by default) zeroes that fraction of the hidden units while training.
    """

    def __init__(self, n_features=2, hidden=128, layers=3, fourier_features=64, fourier_scale=1.0, time_dim=32,
                 dropout=0.0):
        super().__init__()
        self.hparams = dict(n_features=check_int("n_features", n_features, low=1),
                            hidden=check_int("hidden", hidden, low=1), layers=check_int("layers", layers, low=0),
                            fourier_features=check_int("fourier_features", fourier_features, low=0),
                            fourier_scale=check_float("fourier_scale", fourier_scale, low=0.0),
                            time_dim=check_int("time_dim", time_dim, low=2),
                            dropout=check_float("dropout", dropout, low=0.0, high=0.99))
        self.fourier = FourierFeatures(n_features, fourier_features, fourier_scale) if fourier_features else None
        n_in = n_features + 2 * fourier_features + 2 * (time_dim // 2)
        self.input = nn.Linear(n_in, hidden)
        self.blocks = nn.ModuleList([nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), nn.Dropout(dropout),
                                                   nn.Linear(hidden, hidden)) for _ in range(layers)])
        self.output = nn.Linear(hidden, n_features)

    def forward(self, x, time):
        if x.ndim != 2 or x.shape[1] != self.hparams["n_features"]:
            raise ValueError(f"x must have shape (n, {self.hparams['n_features']}); got {tuple(x.shape)}")
        parts = [x] + ([self.fourier(x)] if self.fourier is not None else [])
        h = self.input(torch.cat(parts + [time_embedding(time, self.hparams["time_dim"])], dim=1))
        for block in self.blocks:
            h = h + block(nn.functional.silu(h))
        return self.output(nn.functional.silu(h))


class PixelPriorDenoiser(nn.Module):
    r"""eps_hat(x_t, t) = eps_indep(x_t, t) + f(x_t, t / T): a `Denoiser` f that corrects the exact noise
    prediction of lecture 08's independent pixels, so the network learns only what the pixels say about
    each other (a skip connection from a simple model's optimal denoiser, as Karras et al., 2022, take
    a Gaussian's).

    For data whose pixels take the levels l_1 .. l_K, independent pixels p(x_0) = prod_i pi_i(x_0i)
    have, pixel by pixel, the posterior p(x_0i = l_k | x_ti) ∝ pi_ik N(x_ti; sqrt(abar_t) l_k, 1 - abar_t), so

        E[x_0i | x_t] = sum_k l_k p(x_0i = l_k | x_ti),
        eps_indep     = ( x_t - sqrt(abar_t) E[x_0 | x_t] ) / sqrt(1 - abar_t),

    which is what the best eps_hat would be if the pixels were independent. At small noise E[x_0 | x_t]
    snaps each pixel to its nearest level, a staircase, so eps_indep is a sawtooth in x_t: a function
    that a smooth network draws badly.

    Build it with `PixelPriorDenoiser.for_data(x0, schedule, ...)`, which counts pi_ik from the
    training data with Laplace's rule, (N_ik + 1) / (N + K), as lecture 00's naive Bayes does, and keeps
    the schedule's abar_t; it must then be used with that schedule. The constructor's arguments are
    the shapes, for `checkpoint.load_model`; the counts and abar_t are buffers, saved with the weights.
    """

    def __init__(self, n_features=64, n_levels=17, low=-1.0, high=1.0, T=200, hidden=256, layers=3, time_dim=32,
                 dropout=0.0):
        super().__init__()
        self.network = Denoiser(n_features=n_features, hidden=hidden, layers=layers, fourier_features=0,
                                time_dim=time_dim, dropout=dropout)
        self.hparams = dict(n_features=n_features, n_levels=check_int("n_levels", n_levels, low=2),
                            low=check_float("low", low), high=check_float("high", high), T=check_int("T", T, low=1),
                            hidden=hidden, layers=layers, time_dim=time_dim, dropout=dropout)
        if not self.hparams["low"] < self.hparams["high"]:
            raise ValueError(f"low must be below high; got {low} and {high}")
        self.register_buffer("levels", torch.linspace(low, high, n_levels))
        self.register_buffer("log_prior", torch.full((n_features, n_levels), -math.log(n_levels)))
        self.register_buffer("alpha_bars", torch.ones(T + 1))

    @classmethod
    def for_data(cls, x0, schedule, n_levels=17, low=-1.0, high=1.0, **network):
        """A model for `schedule` whose independent-pixel part is fitted to the training data `x0`,
        (n, d) values on the grid of `n_levels` levels from `low` to `high`. `network`: hidden, layers,
        time_dim, dropout of the `Denoiser`."""
        if not isinstance(schedule, NoiseSchedule):
            raise TypeError(f"schedule must be a NoiseSchedule, got {type(schedule).__name__}")
        x0 = as_matrix("x0", x0)
        model = cls(n_features=x0.shape[1], n_levels=n_levels, low=low, high=high, T=schedule.T, **network)
        counts = torch.nn.functional.one_hot(model.level_index(x0), n_levels).sum(dim=0).float()
        model.log_prior.copy_(((counts + 1) / (len(x0) + n_levels)).log())
        model.alpha_bars.copy_(schedule.alpha_bars)
        return model

    def level_index(self, x0):
        """The index k of each value's level l_k; a ValueError for values off the grid."""
        low, high, n_levels = self.hparams["low"], self.hparams["high"], self.hparams["n_levels"]
        position = (x0 - low) / (high - low) * (n_levels - 1)
        index = position.round()
        if not torch.isfinite(x0).all() or (index < 0).any() or (index >= n_levels).any() or \
                ((position - index).abs() > 1e-3).any():
            raise ValueError(f"x0 must hold the {n_levels} levels from {low} to {high}")
        return index.long()

    def independent_eps(self, x, time):
        """eps_indep(x_t, t), with t = round(time T)."""
        alpha_bar = self.alpha_bars[torch.round(time * (len(self.alpha_bars) - 1)).long()][:, None]   # (n, 1)
        distance = x[:, :, None] - alpha_bar.sqrt()[:, :, None] * self.levels                          # (n, d, K)
        log_posterior = self.log_prior - distance ** 2 / (2 * (1 - alpha_bar)[:, :, None])
        mean = (log_posterior.softmax(dim=-1) * self.levels).sum(dim=-1)                               # E[x_0 | x_t]
        return (x - alpha_bar.sqrt() * mean) / (1 - alpha_bar).sqrt()

    def forward(self, x, time):
        return self.independent_eps(x, time) + self.network(x, time)


def train_denoiser(model, objective, data, schedule=None, steps=3000, batch_size=512, lr=1e-3, progress=False):
    """Train `model` in place with `train.fit` on `ddpm_loss` (objective "ddpm", which needs the
    `schedule`) or `flow_matching_loss` ("flow"); Adam, the learning rate decaying along a cosine.

    `data` is split into minibatches of `batch_size`; the number of epochs is chosen to give about
    `steps` gradient steps. Returns fit's History (per-epoch mean loss).
    """
    check_choice("objective", objective, OBJECTIVES)
    if objective == "ddpm" and not isinstance(schedule, NoiseSchedule):
        raise ValueError("schedule must be a NoiseSchedule for the objective 'ddpm'")
    steps, batch_size = check_int("steps", steps, low=1), check_int("batch_size", batch_size, low=1)
    data = as_matrix("data", data)
    _check_width("data", data, model)
    epochs = max(1, round(steps / -(-len(data) // batch_size)))
    loss = (lambda m, x: ddpm_loss(m, schedule, x)) if objective == "ddpm" else flow_matching_loss
    return fit(model, loss, data, epochs=epochs, batch_size=batch_size, lr=lr, schedule="cosine", progress=progress)


def train_discrete_ddpm(x0, n_levels=17, T=200, log_snr_min=-7.0, log_snr_max=8.0, hidden=512, layers=3,
                        dropout=0.5, steps=4000, batch_size=128, lr=1e-3, progress=False):
    """The course's DDPM for data on `n_levels` levels in [-1, 1], such as the digits (lecture 10):
    steps evenly spaced in log SNR (`NoiseSchedule.log_snr_linear`), so that the simple loss weighs the
    steps as the ELBO does, and a `PixelPriorDenoiser` trained on it. At log SNR 8 the smallest noise,
    std sqrt(1 - abar_1) = 0.018, is about a seventh of the digits' bins (width 2 / 16), so that the
    decoder L_0 costs a fraction of a nat; at log SNR -7, abar_T = 0.001 and L_T does too.

    The defaults were chosen on 200 validation digits held out of the training split (see
    `benchmarks/diffusion.py`). Returns (model, schedule, history); the model is in eval mode.
    """
    schedule = NoiseSchedule.log_snr_linear(T, log_snr_min, log_snr_max)
    model = PixelPriorDenoiser.for_data(x0, schedule, n_levels=n_levels, hidden=hidden, layers=layers, dropout=dropout)
    history = train_denoiser(model, "ddpm", x0, schedule, steps=steps, batch_size=batch_size, lr=lr, progress=progress)
    return model.eval(), schedule, history

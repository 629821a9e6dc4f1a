r"""Diffusion models and flow matching (lecture 09).

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
    lowest and highest bins stretched to -inf and +inf (Ho et al., 2020, eq. 13), summed per row."""
    normal = torch.distributions.Normal(mean, std)
    upper = torch.where(x0 >= high - bin_width / 2, torch.ones_like(x0), normal.cdf(x0 + bin_width / 2))
    lower = torch.where(x0 <= low + bin_width / 2, torch.zeros_like(x0), normal.cdf(x0 - bin_width / 2))
    return (upper - lower).clamp_min(1e-12).log().sum(dim=1)


@torch.no_grad()
def ddpm_nelbo(model, schedule, x0, bin_width, low=-1.0, high=1.0, generator=None):
    r"""-ELBO in nats per row of x0, an upper bound on -log p(x0) of discrete data (Ho et al., 2020):

        L_T + sum_{t=2}^T L_{t-1} + L_0,
        L_T     = KL( q(x_T | x_0) || N(0, I) ),
        L_{t-1} = KL( q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t) )
                = beta_t^2 / (2 sigma_t^2 alpha_t (1 - abar_t)) || eps - eps_hat(x_t, t / T) ||^2,
        L_0     = -log p(x_0 | x_1), a Gaussian of std sqrt(beta_1) discretised to the data's bins,

    with sigma_t^2 = beta~_t. Every step t is evaluated with one draw of eps per row, so the sum is an
    unbiased estimate. x0 holds values on a grid of spacing `bin_width` from `low` to `high`.
    """
    x0 = as_matrix("x0", x0)
    _check_width("x0", x0, model)
    bin_width = check_float("bin_width", bin_width, low=1e-12)
    abar_T = float(schedule.alpha_bars[-1])
    mean_T = math.sqrt(abar_T) * x0
    nelbo = 0.5 * ((1 - abar_T) + mean_T ** 2 - 1 - math.log(1 - abar_T)).sum(dim=1)
    for t in range(1, schedule.T + 1):
        steps = torch.full((len(x0),), t)
        eps = torch.randn(x0.shape, generator=generator).to(x0)
        x_t = q_sample(schedule, x0, steps, eps)
        eps_hat = model(x_t, torch.full((len(x0),), t / schedule.T).to(x0))
        beta, alpha, alpha_bar = (float(v[t]) for v in (schedule.betas, schedule.alphas, schedule.alpha_bars))
        if t == 1:
            mean = (x_t - beta / math.sqrt(1 - alpha_bar) * eps_hat) / math.sqrt(alpha)
            nelbo = nelbo - _discretised_gaussian_log_likelihood(x0, mean, math.sqrt(beta), bin_width, low, high)
        else:
            weight = beta ** 2 / (2 * float(schedule.posterior_variances[t]) * alpha * (1 - alpha_bar))
            nelbo = nelbo + weight * ((eps - eps_hat) ** 2).sum(dim=1)
    return nelbo


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
    units and `layers` residual blocks h <- h + W_2 SiLU(W_1 SiLU(h)), and a linear output.
    """

    def __init__(self, n_features=2, hidden=128, layers=3, fourier_features=64, fourier_scale=1.0, time_dim=32):
        super().__init__()
        self.hparams = dict(n_features=check_int("n_features", n_features, low=1),
                            hidden=check_int("hidden", hidden, low=1), layers=check_int("layers", layers, low=0),
                            fourier_features=check_int("fourier_features", fourier_features, low=0),
                            fourier_scale=check_float("fourier_scale", fourier_scale, low=0.0),
                            time_dim=check_int("time_dim", time_dim, low=2))
        self.fourier = FourierFeatures(n_features, fourier_features, fourier_scale) if fourier_features else None
        n_in = n_features + 2 * fourier_features + 2 * (time_dim // 2)
        self.input = nn.Linear(n_in, hidden)
        self.blocks = nn.ModuleList([mlp([hidden, hidden, hidden], activation=nn.SiLU) for _ in range(layers)])
        self.output = nn.Linear(hidden, n_features)

    def forward(self, x, time):
        if x.ndim != 2 or x.shape[1] != self.hparams["n_features"]:
            raise ValueError(f"x must have shape (n, {self.hparams['n_features']}); got {tuple(x.shape)}")
        parts = [x] + ([self.fourier(x)] if self.fourier is not None else [])
        h = self.input(torch.cat(parts + [time_embedding(time, self.hparams["time_dim"])], dim=1))
        for block in self.blocks:
            h = h + block(nn.functional.silu(h))
        return self.output(nn.functional.silu(h))


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

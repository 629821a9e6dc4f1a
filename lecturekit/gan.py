r"""Generative adversarial networks: a generator G(z) and a discriminator (or critic) D(x).

G maps noise z ~ N(0, I) to samples; D scores samples, high for real. Every loss below
is written on the critic's raw score f(x) (a logit for the classic GAN, D(x) = sigmoid(f(x))).
The game is min over G, max over D; it is played by alternating updates, n_critic steps
of D for every step of G (Goodfellow et al., 2014).

Beyond the original GAN: `pack` > 1 lets the discriminator judge `pack` samples at once
(PacGAN, Lin et al., 2018), which penalises a generator that repeats itself (mode collapse).
"""
import math

import torch
from torch import nn
from tqdm.auto import tqdm

from ._checks import check_choice, check_float, check_int
from .networks import mlp
from .train import History, TrainingDiverged

LOSSES = ("minimax", "non_saturating", "lsgan", "wgan", "wgan_gp", "non_saturating_r1")
SIGMOID_LOSSES = ("minimax", "non_saturating", "non_saturating_r1")
"""The losses whose critic score f is a logit, D = sigmoid(f) the probability that x is real."""


# ---- the losses --------------------------------------------------------------------------

def discriminator_loss(loss, real_scores, fake_scores):
    r"""The discriminator's (critic's) loss, to be minimised, on raw scores f(x) and f(G(z)).

    * "minimax", "non_saturating", "non_saturating_r1":  -E log D(x) - E log(1 - D(G(z))),  D = sigmoid(f)
      (the R1 penalty of "non_saturating_r1" is added by the training step; see `r1_penalty`)
    * "lsgan":  1/2 E (f(x) - b)^2 + 1/2 E (f(G(z)) - a)^2  with the coding a = 0, b = 1
    * "wgan", "wgan_gp":  E f(G(z)) - E f(x)   (the negative of the critic's estimate of the
      Earth Mover's distance; the Lipschitz constraint is enforced separately)
    """
    check_choice("loss", loss, LOSSES)
    # -log sigmoid(a) = softplus(-a); -log(1 - sigmoid(a)) = softplus(a)
    if loss in SIGMOID_LOSSES:
        return nn.functional.softplus(-real_scores).mean() + nn.functional.softplus(fake_scores).mean()
    if loss == "lsgan":
        return 0.5 * ((real_scores - 1) ** 2).mean() + 0.5 * (fake_scores**2).mean()
    return fake_scores.mean() - real_scores.mean()


def generator_loss(loss, fake_scores):
    r"""The generator's loss, to be minimised, on the critic's raw scores f(G(z)).

    * "minimax" (saturating):  E log(1 - D(G(z))); its gradient vanishes when D(G(z)) -> 0
    * "non_saturating", "non_saturating_r1":  -E log D(G(z)); the same fixed point (p_g = p_data, D = 1/2), but
      against the optimal D its expected gradient is that of KL(p_g || p_data) - 2 JS(p_data || p_g),
      not of the JS divergence (Arjovsky & Bottou, 2017, Theorem 2.5)
    * "lsgan":                 1/2 E (f(G(z)) - c)^2 with c = 1
    * "wgan", "wgan_gp":       -E f(G(z))
    """
    check_choice("loss", loss, LOSSES)
    if loss == "minimax":
        return -nn.functional.softplus(fake_scores).mean()
    if loss in ("non_saturating", "non_saturating_r1"):
        return nn.functional.softplus(-fake_scores).mean()
    if loss == "lsgan":
        return 0.5 * ((fake_scores - 1) ** 2).mean()
    return -fake_scores.mean()


def gradient_penalty(critic, real, fake, generator=None):
    r"""WGAN-GP's penalty E (|| grad_x f(x_hat) ||_2 - 1)^2 (Gulrajani et al., 2017).

    x_hat = eps x + (1 - eps) G(z) with one eps ~ U[0, 1] drawn per sample, and the gradient's
    norm is taken per sample over its flattened input.
    """
    eps = torch.rand(len(real), *[1] * (real.dim() - 1), generator=generator).to(real.device)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.flatten(start_dim=1).norm(dim=1) - 1) ** 2).mean()


def r1_penalty(critic, real):
    r"""E || grad_x f(x) ||^2 over real samples x (Mescheder et al., 2018): the critic's loss adds
    r1_weight / 2 times it, the R1 penalty gamma/2 E || grad D(x_real) ||^2 on the raw score f.

    It charges the critic for any slope at the data, which is 0 at the equilibrium where the generator
    matches the data (see `dirac_gan`). The norm is taken per input of the critic: per sample, or per
    pack of samples for a PacGAN critic (`pack` > 1), whose input is the whole pack.
    """
    real = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(real).sum(), real, create_graph=True)
    return grad.reshape(len(real) // _pack(critic), -1).square().sum(dim=1).mean()


def clip_weights(critic, clip):
    """WGAN's crude Lipschitz constraint: clamp every parameter of the critic to [-clip, clip]."""
    with torch.no_grad():
        for p in critic.parameters():
            p.clamp_(-clip, clip)


# ---- why plain gradient descent fails: the bilinear game -----------------------------------

def bilinear_game(x0=1.0, y0=1.0, lr=0.1, steps=100, alternating=False, decay_after=None, noise=0.0, seed=0):
    r"""Gradient play on the simplest game, min over x, max over y of V(x, y) = x y (equilibrium (0, 0)).

    * simultaneous:  x' = x - lr y,  y' = y + lr x;   each step multiplies the distance to the
      equilibrium by sqrt(1 + lr^2), so the players spiral outwards;
    * alternating:   x' = x - lr y,  y' = y + lr x';  the step is a map of determinant 1 that keeps
      x^2 - lr x y + y^2 fixed, so for lr < 2 the players circle the equilibrium on an ellipse for
      ever, neither escaping nor converging.

    decay_after : None for a fixed step, or a fraction in [0, 1] after which the step falls
        linearly to 0 at the end, as in `train_gan`.
    noise : the standard deviation of Gaussian noise added to each gradient (y for x, x for y),
        a stand-in for the minibatch noise of a real game; drawn from its own generator, `seed`.

    Returns the (steps + 1, 2) trajectory of (x, y) as a float64 tensor.
    """
    lr, steps = check_float("lr", lr, low=0.0), check_int("steps", steps, low=1)
    noise = check_float("noise", noise, low=0.0)
    if decay_after is not None:
        check_float("decay_after", decay_after, low=0.0, high=1.0)
    kicks = noise * torch.randn(steps, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    x, y = float(x0), float(y0)
    path = [(x, y)]
    for t in range(steps):
        step = lr * _decay_factor(t, steps, decay_after)
        x_new = x - step * (y + kicks[t, 0].item())
        y = y + step * ((x_new if alternating else x) + kicks[t, 1].item())
        x = x_new
        path.append((x, y))
    return torch.tensor(path, dtype=torch.float64)


def dirac_gan(theta0=1.0, psi0=1.0, lr=0.1, steps=500, r1_weight=0.0):
    r"""Simultaneous gradient play on the Dirac-GAN (Mescheder et al., 2018), a GAN in one dimension.

    The data are the point 0, the generator is the point theta, and the discriminator's logit is
    D(x) = psi x. The game's value is V(theta, psi) = f(psi theta) + f(0), f(t) = -ln(1 + e^{-t}),
    the classic GAN objective; the generator minimises it, the discriminator maximises
    V - gamma/2 psi^2, where gamma/2 E_{x ~ data} || grad_x D(x) ||^2 = gamma/2 psi^2 is the R1 penalty
    (gamma = `r1_weight`). With f'(t) = sigmoid(-t), a step of size lr is

        theta' = theta - lr psi f'(psi theta),    psi' = psi + lr (theta f'(psi theta) - gamma psi).

    Without the penalty each step multiplies theta^2 + psi^2 by exactly 1 + lr^2 f'(psi theta)^2, so
    the players spiral away from the equilibrium (0, 0); with gamma > 0 and a small enough lr they
    converge to it, spiralling in when gamma < 2 f'(0) = 1 (Mescheder et al., 2018, Section 3).
    The paper's sign convention is kept: D is large on generated points.

    Returns the (steps + 1, 2) trajectory of (theta, psi) as a float64 tensor.
    """
    lr, steps = check_float("lr", lr, low=0.0), check_int("steps", steps, low=1)
    gamma = check_float("r1_weight", r1_weight, low=0.0)
    theta, psi = float(theta0), float(psi0)
    path = [(theta, psi)]
    for _ in range(steps):
        slope = 1.0 / (1.0 + math.exp(psi * theta))  # f'(psi theta)
        theta, psi = theta - lr * psi * slope, psi + lr * (theta * slope - gamma * psi)
        path.append((theta, psi))
    return torch.tensor(path, dtype=torch.float64)


# ---- the players -------------------------------------------------------------------------

class Generator(nn.Module):
    """G: z ~ N(0, I) in R^latent_dim -> x in R^out_dim, an MLP with ReLU hidden layers.

    output : "linear" for 2-D toy data, "sigmoid" for images in [0, 1].
    data_mean, data_std : if given (linear output only), G(z) = data_mean + data_std * net(z), so
        the network itself works in standardised units (see `standardization`).
    """

    def __init__(self, latent_dim=2, out_dim=2, hidden=128, layers=3, output="linear", data_mean=None,
                 data_std=None):
        super().__init__()
        check_choice("output", output, ("linear", "sigmoid"))
        if output == "sigmoid" and data_std is not None:
            raise ValueError("data_mean and data_std apply to a linear output only; images are already in [0, 1]")
        self.hparams = dict(latent_dim=check_int("latent_dim", latent_dim, low=1),
                            out_dim=check_int("out_dim", out_dim, low=1),
                            hidden=check_int("hidden", hidden, low=1),
                            layers=check_int("layers", layers, low=1), output=output,
                            **_scaling_hparams(data_mean, data_std, out_dim))
        net = mlp([latent_dim] + [hidden] * layers + [out_dim])
        self.net = nn.Sequential(net, nn.Sigmoid()) if output == "sigmoid" else net
        _register_scaling(self, self.hparams, out_dim)

    def forward(self, z):
        return self.data_mean + self.data_std * self.net(z)

    def sample(self, n, generator=None):
        """n samples G(z), z ~ N(0, I)."""
        n = check_int("n", n, low=1)
        device = next(self.parameters()).device
        return self(torch.randn(n, self.hparams["latent_dim"], generator=generator).to(device))


class Discriminator(nn.Module):
    """f: x in R^in_dim -> a raw score, an MLP with LeakyReLU(0.2) hidden layers.

    pack : judge `pack` samples at once (PacGAN); the batch is read as groups of `pack`
        consecutive samples, so its length must be a multiple of `pack`.
    data_mean, data_std : if given, f(x) = net((x - data_mean) / data_std) (see `standardization`).
    """

    def __init__(self, in_dim=2, hidden=128, layers=3, pack=1, data_mean=None, data_std=None):
        super().__init__()
        self.hparams = dict(in_dim=check_int("in_dim", in_dim, low=1), hidden=check_int("hidden", hidden, low=1),
                            layers=check_int("layers", layers, low=1), pack=check_int("pack", pack, low=1),
                            **_scaling_hparams(data_mean, data_std, in_dim))
        self.net = mlp([in_dim * pack] + [hidden] * layers + [1], lambda: nn.LeakyReLU(0.2))
        _register_scaling(self, self.hparams, in_dim)

    def forward(self, x):
        pack = self.hparams["pack"]
        if len(x) % pack:
            raise ValueError(f"the batch length {len(x)} must be a multiple of pack = {pack}")
        x = (x - self.data_mean) / self.data_std
        return self.net(x.reshape(len(x) // pack, -1)).squeeze(-1)


def standardization(data, n=10_000):
    """The per-coordinate mean and standard deviation of the data, as lists, for the players'
    `data_mean` and `data_std`: of an (n, d) tensor, or of n draws of a distribution (drawn
    with their own seed, so the global random state is left alone).

    Both players then work in standardised units, x' = (x - mean) / std, whatever the data's
    scale: the game is that of the networks g and f on standardised data, the usual preprocessing
    of any network's inputs (LeCun et al., 1998). It changes scales, nothing else: the data have
    unit spread in g's output space and in f's input space, and a change of g's weights moves G's
    samples `std` times as far in data units as without standardising. It does not put
    a fresh G in the bulk of the data: g starts as a small blob (a per-coordinate std of a few
    hundredths), so G starts as a blob `std` times that size at the data's mean.
    """
    if hasattr(data, "sample"):
        data = data.sample(check_int("n", n, low=2), generator=torch.Generator().manual_seed(0))
    elif not isinstance(data, torch.Tensor) or data.ndim != 2 or len(data) < 2:
        raise TypeError("data must be a distribution with .sample(n) or an (n, d) tensor with n >= 2")
    return data.mean(0).tolist(), data.std(0).tolist()


def _scaling_hparams(mean, std, dim):
    if (mean is None) != (std is None):
        raise ValueError("give both data_mean and data_std, or neither")
    if mean is None:
        return {}
    mean, std = [float(m) for m in mean], [float(s) for s in std]
    if len(mean) != dim or len(std) != dim:
        raise ValueError(f"data_mean and data_std need {dim} values each, got {len(mean)} and {len(std)}")
    if min(std) <= 0:
        raise ValueError(f"data_std must be positive, got {std}")
    return dict(data_mean=mean, data_std=std)


def _register_scaling(module, hparams, dim):
    module.register_buffer("data_mean", torch.tensor(hparams.get("data_mean", [0.0] * dim)))
    module.register_buffer("data_std", torch.tensor(hparams.get("data_std", [1.0] * dim)))


# ---- the game ----------------------------------------------------------------------------

_NO_CONSTRAINT = dict(clip=None, gp_weight=None, r1_weight=None)
PAPER_DEFAULTS = {
    # DCGAN's Adam settings (Radford et al., 2016) for the three classic losses
    "minimax": dict(optimizer="adam", lr=2e-4, betas=(0.5, 0.999), n_critic=1, **_NO_CONSTRAINT),
    "non_saturating": dict(optimizer="adam", lr=2e-4, betas=(0.5, 0.999), n_critic=1, **_NO_CONSTRAINT),
    "lsgan": dict(optimizer="adam", lr=2e-4, betas=(0.5, 0.999), n_critic=1, **_NO_CONSTRAINT),
    # Arjovsky et al., 2017: RMSProp 5e-5, clip 0.01, n_critic 5
    "wgan": dict(optimizer="rmsprop", lr=5e-5, betas=None, n_critic=5, **{**_NO_CONSTRAINT, "clip": 0.01}),
    # Gulrajani et al., 2017: Adam 1e-4, betas (0, 0.9), lambda 10, n_critic 5
    "wgan_gp": dict(optimizer="adam", lr=1e-4, betas=(0.0, 0.9), n_critic=5, **{**_NO_CONSTRAINT, "gp_weight": 10.0}),
    # Mescheder et al., 2018, their released default, CelebA-HQ and LSUN configurations (ImageNet's uses
    # Adam): RMSProp 1e-4 for both players, one critic step, and 10 E||grad D(x_real)||^2 added to the
    # critic's loss with no 1/2, i.e. gamma = 20 in the gamma/2 form (a setting the authors call gamma = 10)
    "non_saturating_r1": dict(optimizer="rmsprop", lr=1e-4, betas=None, n_critic=1,
                              **{**_NO_CONSTRAINT, "r1_weight": 20.0}),
}


def game_settings(loss, **overrides):
    """The paper's settings for `loss`, with any of them overridden (None keeps the default)."""
    check_choice("loss", loss, LOSSES)
    settings = dict(PAPER_DEFAULTS[loss])
    unknown = set(overrides) - set(settings)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}; allowed: {sorted(settings)}")
    settings.update({k: v for k, v in overrides.items() if v is not None})
    check_int("n_critic", settings["n_critic"], low=1)
    check_float("lr", settings["lr"], low=0.0)
    if settings["clip"] is not None:
        check_float("clip", settings["clip"], low=0.0)
    for penalty in ("gp_weight", "r1_weight"):
        if settings[penalty] is not None:
            check_float(penalty, settings[penalty], low=0.0)
    return settings


def _optimizer(params, settings):
    if settings["optimizer"] == "rmsprop":
        return torch.optim.RMSprop(params, lr=settings["lr"])
    # fused: the same Adam update in one kernel, about 15% faster for these small networks on a CPU
    return torch.optim.Adam(params, lr=settings["lr"], betas=settings["betas"], fused=True)


def _decay_factor(t, steps, decay_after):
    """lr(t) / lr: 1 for t <= decay_after * steps (always, if decay_after is None), then falling
    linearly to 0 at t = steps."""
    start = steps if decay_after is None else decay_after * steps
    return 1.0 if t <= start else max(0.0, (steps - t) / (steps - start))


def _linear_decay(optimizer, steps, decay_after):
    """A scheduler that multiplies the learning rate of step t by `_decay_factor(t, steps, decay_after)`."""
    check_float("decay_after", decay_after, low=0.0, high=1.0)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: _decay_factor(t, steps, decay_after))


def _check_optimizers(optimizers):
    is_pair = isinstance(optimizers, (tuple, list)) and len(optimizers) == 2
    if optimizers is not None and not (is_pair and all(isinstance(o, torch.optim.Optimizer) for o in optimizers)):
        raise TypeError(f"optimizers must be None or a pair (opt_g, opt_d) of torch optimizers; got {optimizers!r}")


def _sampler(data):
    """A function n -> n real samples: fresh draws from a distribution, or rows drawn with replacement."""
    if hasattr(data, "sample"):
        return data.sample
    if not isinstance(data, torch.Tensor) or data.ndim != 2 or len(data) == 0:
        raise TypeError("data must be a distribution with .sample(n) or a non-empty (n, d) tensor")
    return lambda n: data[torch.randint(len(data), (n,))]


def train_gan(generator, critic, data, loss="non_saturating", steps=1000, batch_size=256, progress=True,
              snapshot_every=None, snapshot_size=1000, decay_after=None, optimizers=None, **settings):
    """Play the game: for each of `steps` generator steps, `n_critic` critic steps first.

    Parameters
    ----------
    generator, critic : a Generator and a Discriminator (or any modules of the same roles; the critic
        scores real and fake samples in one batch, so it must not use batch statistics).
    data : a distribution with .sample(n) (toy data) or an (n, d) tensor of real samples.
    loss : one of `LOSSES`: "minimax", "non_saturating", "lsgan", "wgan", "wgan_gp", "non_saturating_r1".
    steps, batch_size : generator steps, and real samples per critic step (times `pack`).
    settings : overrides of the paper's `PAPER_DEFAULTS[loss]`: optimizer, lr, betas, n_critic,
        clip (WGAN's weight clipping), gp_weight (WGAN-GP's lambda) and r1_weight (R1's gamma).
    snapshot_every : keep `snapshot_size` samples from a fixed z every so many steps, in
        `history.snapshots` as (step, samples).
    decay_after : a fraction in [0, 1], or None for a constant learning rate. After that
        fraction of the steps, both learning rates fall linearly to 0 at the end (an extension).
        Like the step-size schedules of stochastic gradient descent (Robbins & Monro, 1951), the
        shrinking steps average out the minibatch noise of the gradients instead of letting it move
        the players for ever. It does not make the game converge: where the players circle at a
        fixed step, they freeze on their orbit (see `bilinear_game`).
    optimizers : None to build a fresh pair from the settings, or the pair (opt_g, opt_d) of an
        earlier call (`history.optimizers`), to go on with their state (Adam's moment estimates);
        the settings' optimizer, lr and betas then go unused.

    Returns a History of per-step "d_loss" (the last critic step's) and "g_loss", with the pair of
    optimizers in `history.optimizers`. On NaN or inf it raises TrainingDiverged naming the step;
    on Ctrl-C it returns what it has.
    """
    settings = game_settings(loss, **settings)
    steps, batch_size = check_int("steps", steps, low=1), check_int("batch_size", batch_size, low=1)
    _check_optimizers(optimizers)
    real_batch = _sampler(data)
    device = next(generator.parameters()).device
    m = batch_size * _pack(critic)
    if optimizers is None:
        optimizers = _optimizer(generator.parameters(), settings), _optimizer(critic.parameters(), settings)
    opt_g, opt_d = optimizers
    schedules = [_linear_decay(opt, steps, decay_after) for opt in (opt_g, opt_d)] if decay_after is not None else []
    fixed_z = torch.randn(snapshot_size, generator.hparams["latent_dim"]).to(device)
    history = History()
    history.snapshots, history.optimizers = [], (opt_g, opt_d)
    bar = tqdm(range(1, steps + 1), desc=f"training ({loss})", disable=not progress, unit="step")
    try:
        for step in bar:
            for _ in range(settings["n_critic"]):
                real = real_batch(m).to(device)
                with torch.no_grad():
                    fake = generator.sample(m)
                d_loss = _critic_step(critic, real, fake, loss, settings, opt_d)
            g_loss = _generator_step(generator, critic, m, loss, opt_g)
            for schedule in schedules:
                schedule.step()
            if not (math.isfinite(d_loss) and math.isfinite(g_loss)):
                raise TrainingDiverged(f"the losses became d = {d_loss}, g = {g_loss} at step {step}; "
                                       "try a smaller learning rate")
            history.setdefault("d_loss", []).append(d_loss)
            history.setdefault("g_loss", []).append(g_loss)
            if snapshot_every and (step % snapshot_every == 0 or step == 1):
                with torch.no_grad():
                    history.snapshots.append((step, generator(fixed_z).cpu()))
            if step % 50 == 0:
                bar.set_postfix(d=f"{d_loss:.3g}", g=f"{g_loss:.3g}")
    except KeyboardInterrupt:
        history.interrupted = True
        print(f"Interrupted at step {len(history.get('g_loss', [])) + 1}: both players keep their weights, "
              "and the history holds the finished steps.")
    finally:
        bar.close()
    return history


def train_toy_gan(distribution, loss, critic_updates=8000, hidden=128, batch_size=128, progress=False,
                  standardize=False, decay_after=None, **settings):
    """A fresh Generator and Discriminator (3 hidden layers of `hidden` units, 2-D z) trained on
    2-D toy data, with a budget counted in critic updates, the same for every loss:
    critic_updates // n_critic generator steps. Returns (generator, critic, history).

    standardize : let both players work in standardised units (`standardization`), an extension.
    decay_after : see `train_gan`.
    """
    n_critic = game_settings(loss, **settings)["n_critic"]
    steps = check_int("critic_updates", critic_updates, low=n_critic) // n_critic
    scaling = dict(zip(("data_mean", "data_std"), standardization(distribution))) if standardize else {}
    generator, critic = Generator(hidden=hidden, **scaling), Discriminator(hidden=hidden, **scaling)
    history = train_gan(generator, critic, distribution, loss=loss, steps=steps, batch_size=batch_size,
                        progress=progress, decay_after=decay_after, **settings)
    return generator, critic, history


def estimate_wasserstein(critic, p, q, steps=1000, batch_size=256, lr=1e-3, gp_weight=10.0, clip=None,
                         n_eval=5000):
    r"""Train a critic to estimate the Earth Mover's distance between p and q by duality:

        W(p, q) = sup over 1-Lipschitz f of  E_{x~p} f(x) - E_{y~q} f(y)   (Kantorovich-Rubinstein).

    The Lipschitz constraint is WGAN-GP's penalty (gp_weight), which holds the gradient's norm near
    1 only on average at the points it samples, so the estimate is W only approximately; or, with
    `clip`, WGAN's weight clipping, which bounds f's Lipschitz constant by some unknown K, so the
    estimate is at most K W.
    p, q : distributions with .sample(n), or (n, d) tensors of samples (drawn with replacement).
    Returns E_p f - E_q f on `n_eval` fresh samples of each (held out where p and q are distributions).
    """
    steps, batch_size = check_int("steps", steps, low=1), check_int("batch_size", batch_size, low=1)
    if clip is not None:
        check_float("clip", clip, low=0.0)
    check_float("gp_weight", gp_weight, low=0.0)
    constraint = dict(clip=clip, gp_weight=None if clip is not None else gp_weight)
    sample_p, sample_q = _sampler(p), _sampler(q)
    opt = torch.optim.Adam(critic.parameters(), lr=check_float("lr", lr, low=0.0), betas=(0.5, 0.9))
    for _ in range(steps):
        _critic_step(critic, sample_p(batch_size), sample_q(batch_size), "wgan", constraint, opt)
    with torch.no_grad():
        return (critic(sample_p(n_eval)).mean() - critic(sample_q(n_eval)).mean()).item()


def _critic_step(critic, real, fake, loss, settings, opt_d):
    """One step down the critic's loss, plus gp_weight times the gradient penalty and r1_weight / 2 times
    the R1 penalty, where set; then, if `clip` is set, the weights are clipped to [-clip, clip].
    Returns the loss.

    The critic scores real and fake samples in one pass: for a critic without batch statistics,
    such as `Discriminator`, that is the same function as two passes, and faster."""
    scores = critic(torch.cat([real, fake]))
    n_real = len(real) // _pack(critic)
    d_loss = discriminator_loss(loss, scores[:n_real], scores[n_real:])
    if settings["gp_weight"]:
        d_loss = d_loss + settings["gp_weight"] * gradient_penalty(critic, real, fake)
    if settings.get("r1_weight"):
        d_loss = d_loss + settings["r1_weight"] / 2 * r1_penalty(critic, real)
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    if settings["clip"] is not None:
        clip_weights(critic, settings["clip"])
    return d_loss.item()


def _generator_step(generator, critic, m, loss, opt_g):
    """One step down the generator's loss. The critic's weights are frozen meanwhile, so that
    backpropagation skips their gradients, which this step does not use."""
    trainable = [p for p in critic.parameters() if p.requires_grad]
    for p in trainable:
        p.requires_grad_(False)
    try:
        g_loss = generator_loss(loss, critic(generator.sample(m)))
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
    finally:
        for p in trainable:
            p.requires_grad_(True)
    return g_loss.item()


def _pack(critic):
    return critic.hparams.get("pack", 1) if hasattr(critic, "hparams") else 1

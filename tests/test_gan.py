import math

import numpy as np
import pytest
import scipy.integrate
import scipy.stats
import torch
from torch import nn

from lecturekit import load_model, save_model
from lecturekit.data import toy_distribution
from lecturekit.gan import (PAPER_DEFAULTS, Discriminator, Generator, bilinear_game, clip_weights, dirac_gan,
                            discriminator_loss, estimate_wasserstein, game_settings, generator_loss,
                            gradient_penalty, r1_penalty, standardization, train_gan, train_toy_gan)
from lecturekit.gan import _critic_step
from lecturekit.metrics import emd, mode_coverage
from lecturekit.train import TrainingDiverged
from same_model import assert_same_model

REAL, FAKE = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])


def sigmoid(a):
    return 1 / (1 + math.exp(-a))


def test_losses_against_hand_computed_values():
    d_real, d_fake = [sigmoid(a) for a in REAL.tolist()], [sigmoid(a) for a in FAKE.tolist()]
    gan_d = -np.mean(np.log(d_real)) - np.mean(np.log(1 - np.array(d_fake)))
    for loss in ("minimax", "non_saturating"):
        assert discriminator_loss(loss, REAL, FAKE).item() == pytest.approx(gan_d, rel=1e-6)
    assert generator_loss("minimax", FAKE).item() == pytest.approx(np.mean(np.log(1 - np.array(d_fake))), rel=1e-6)
    assert generator_loss("non_saturating", FAKE).item() == pytest.approx(-np.mean(np.log(d_fake)), rel=1e-6)
    # LSGAN with a = 0, b = c = 1
    assert discriminator_loss("lsgan", REAL, FAKE).item() == pytest.approx(0.5 * (1 + 4) / 2 + 0.5 * (0.25 + 9) / 2)
    assert generator_loss("lsgan", FAKE).item() == pytest.approx(0.5 * (0.25 + 16) / 2)
    for loss in ("wgan", "wgan_gp"):
        assert discriminator_loss(loss, REAL, FAKE).item() == pytest.approx(-1.25 - 0.5)
        assert generator_loss(loss, FAKE).item() == pytest.approx(1.25)


def test_saturating_gradient_vanishes_as_d_of_g_goes_to_zero():
    for logit, expect_small in [(-2.0, False), (-10.0, True)]:
        grads = {}
        for loss in ("minimax", "non_saturating"):
            score = torch.tensor([logit], requires_grad=True)
            generator_loss(loss, score).backward()
            grads[loss] = score.grad.abs().item()
        # d/da log(1 - sigmoid(a)) = -sigmoid(a) -> 0;  d/da -log sigmoid(a) = sigmoid(a) - 1 -> -1
        assert grads["non_saturating"] > 0.85
        assert (grads["minimax"] < 1e-4) == expect_small


def test_gradient_penalty_is_zero_for_a_linear_critic_with_unit_weights():
    critic = nn.Linear(5, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[3.0, 0.0, 4.0, 0.0, 0.0]]) / 5)
    real, fake = torch.randn(16, 5), torch.randn(16, 5)
    assert gradient_penalty(lambda x: critic(x).squeeze(-1), real, fake).item() == pytest.approx(0.0, abs=1e-10)
    with torch.no_grad():
        critic.weight.mul_(2)  # gradient norm 2 everywhere: penalty (2 - 1)^2 = 1
    assert gradient_penalty(lambda x: critic(x).squeeze(-1), real, fake).item() == pytest.approx(1.0)


def test_gradient_penalty_is_taken_per_sample_over_the_flattened_input():
    def critic(x):  # f(x) = sum of squares: grad = 2x, per-sample norm 2 ||x||
        return (x**2).flatten(1).sum(1)

    real = torch.zeros(2, 2, 3)
    fake = torch.ones(2, 2, 3)
    g = torch.Generator().manual_seed(0)
    eps = torch.rand(2, 1, 1, generator=torch.Generator().manual_seed(0))
    norms = 2 * ((1 - eps) * fake).flatten(1).norm(dim=1)
    assert gradient_penalty(critic, real, fake, generator=g).item() == pytest.approx(((norms - 1) ** 2).mean().item())


@pytest.mark.parametrize("n_critic", [1, 3, 5])
def test_trainer_does_n_critic_critic_steps_per_generator_step(n_critic, monkeypatch):
    steps = {"critic": 0, "generator": 0}
    import lecturekit.gan as gan
    real_critic_step, real_generator_step = gan._critic_step, gan._generator_step

    def critic_step(*args):
        steps["critic"] += 1
        return real_critic_step(*args)

    def generator_step(*args):
        steps["generator"] += 1
        return real_generator_step(*args)

    monkeypatch.setattr(gan, "_critic_step", critic_step)
    monkeypatch.setattr(gan, "_generator_step", generator_step)
    train_gan(Generator(hidden=8), Discriminator(hidden=8), toy_distribution("ring"), loss="wgan", steps=7,
              batch_size=4, n_critic=n_critic, progress=False)
    assert steps == {"critic": 7 * n_critic, "generator": 7}


def test_clipping_keeps_every_critic_weight_within_c():
    critic = Discriminator(hidden=16)
    train_gan(Generator(hidden=16), critic, toy_distribution("ring"), loss="wgan", steps=5, batch_size=8,
              lr=0.5, progress=False)
    assert max(p.abs().max().item() for p in critic.parameters()) <= 0.01
    big = nn.Linear(3, 3)
    clip_weights(big, 0.2)
    assert big.weight.abs().max() <= 0.2


class HalfSquaredNorm(nn.Module):
    """f(x) = ||x||^2 / 2, whose gradient is x itself."""

    def forward(self, x):
        return 0.5 * x.square().sum(dim=1)


class PackedLinear(nn.Module):
    """A PacGAN-style critic of pairs: f(x_1, x_2) = w . (x_1, x_2) + b."""

    def __init__(self):
        super().__init__()
        self.hparams = {"pack": 2}
        self.linear = nn.Linear(4, 1)

    def forward(self, x):
        return self.linear(x.reshape(len(x) // 2, -1)).squeeze(-1)


def test_r1_penalty_matches_closed_forms():
    x = torch.randn(64, 3, generator=torch.Generator().manual_seed(0))
    linear = nn.Linear(3, 1)
    # f(x) = w.x + b has gradient w everywhere
    assert r1_penalty(linear, x).item() == pytest.approx(linear.weight.square().sum().item(), rel=1e-6)
    assert r1_penalty(HalfSquaredNorm(), x).item() == pytest.approx(x.square().sum(dim=1).mean().item(), rel=1e-6)
    packed = PackedLinear()  # the gradient with respect to a whole pair is w, of squared norm ||w||^2
    assert r1_penalty(packed, x[:, :2]).item() == pytest.approx(packed.linear.weight.square().sum().item(), rel=1e-6)


def test_the_r1_loss_adds_half_gamma_times_the_penalty_to_the_critics_loss():
    torch.manual_seed(0)
    critic = nn.Linear(2, 1)
    real, fake = torch.randn(32, 2), torch.randn(32, 2) + 3
    settings = game_settings("non_saturating_r1", r1_weight=4.0)
    with torch.no_grad():
        plain = discriminator_loss("non_saturating", critic(real), critic(fake)).item()
        slope = critic.weight.square().sum().item()
    optimizer = torch.optim.SGD(critic.parameters(), lr=0.0)
    d_loss = _critic_step(critic, real, fake, "non_saturating_r1", settings, optimizer)
    assert d_loss == pytest.approx(plain + 4.0 / 2 * slope, rel=1e-6)
    assert generator_loss("non_saturating_r1", fake[:, 0]) == generator_loss("non_saturating", fake[:, 0])


def test_paper_defaults_and_overrides():
    assert PAPER_DEFAULTS["wgan"] == dict(optimizer="rmsprop", lr=5e-5, betas=None, n_critic=5, clip=0.01,
                                          gp_weight=None, r1_weight=None)
    assert PAPER_DEFAULTS["non_saturating_r1"] == dict(optimizer="rmsprop", lr=1e-4, betas=None, n_critic=1,
                                                       clip=None, gp_weight=None, r1_weight=20.0)
    assert game_settings("wgan_gp")["gp_weight"] == 10.0 and game_settings("wgan_gp")["betas"] == (0.0, 0.9)
    assert game_settings("lsgan", lr=1e-3)["lr"] == 1e-3


def test_history_snapshots_and_pack():
    torch.manual_seed(0)
    generator, critic = Generator(hidden=16), Discriminator(hidden=16, pack=4)
    history = train_gan(generator, critic, toy_distribution("grid"), steps=10, batch_size=8, progress=False,
                        snapshot_every=5, snapshot_size=20)
    assert len(history["d_loss"]) == len(history["g_loss"]) == 10
    assert [step for step, _ in history.snapshots] == [1, 5, 10]
    assert history.snapshots[0][1].shape == (20, 2)
    with pytest.raises(ValueError, match="multiple of pack = 4"):
        critic(torch.zeros(6, 2))


def test_divergence_names_the_step():
    data = torch.full((10, 2), float("nan"))
    with pytest.raises(TrainingDiverged, match="step 1"):
        train_gan(Generator(hidden=4), Discriminator(hidden=4), data, steps=3, batch_size=2, progress=False)


def test_a_generator_learns_a_single_gaussian():
    torch.manual_seed(0)
    target = toy_distribution("ring")
    one_mode = torch.tensor([[2.0, 0.0]]) + 0.05 * torch.randn(2000, 2)
    generator, critic = Generator(hidden=32), Discriminator(hidden=32)
    train_gan(generator, critic, one_mode, steps=400, batch_size=64, lr=1e-3, progress=False)
    samples = generator.sample(500).detach()
    assert (samples.mean(0) - torch.tensor([2.0, 0.0])).norm() < 0.3
    assert mode_coverage(samples, target.centers, 0.1)["modes"] >= 1


def test_save_and_load_the_players(tmp_path):
    generator = Generator(latent_dim=3, out_dim=64, output="sigmoid")
    save_model(generator, tmp_path / "g.pt")
    z = torch.randn(4, 3)
    assert_same_model(load_model(tmp_path / "g.pt"), generator, z)


def test_standardised_players_work_in_standard_units():
    state = torch.get_rng_state()
    mean, std = standardization(toy_distribution("grid"))
    assert torch.equal(torch.get_rng_state(), state)
    assert mean == pytest.approx([0.0, 0.0], abs=0.1) and std == pytest.approx([math.sqrt(8)] * 2, rel=0.03)
    generator = Generator(hidden=8, data_mean=[1.0, -2.0], data_std=[3.0, 0.5])
    critic = Discriminator(hidden=8, pack=2, data_mean=[1.0, -2.0], data_std=[3.0, 0.5])
    z, x = torch.randn(6, 2), torch.randn(6, 2)
    assert torch.allclose(generator(z), torch.tensor([1.0, -2.0]) + torch.tensor([3.0, 0.5]) * generator.net(z))
    u = (x - torch.tensor([1.0, -2.0])) / torch.tensor([3.0, 0.5])
    assert torch.allclose(critic(x), critic.net(u.reshape(3, 4)).squeeze(-1))


def test_standardised_players_survive_save_and_load(tmp_path):
    generator = Generator(hidden=8, data_mean=[1.0, -2.0], data_std=[3.0, 0.5])
    save_model(generator, tmp_path / "g.pt")
    z = torch.randn(4, 2)
    assert_same_model(load_model(tmp_path / "g.pt"), generator, z)


def test_learning_rates_decay_linearly_to_zero_after_the_given_fraction(monkeypatch):
    import lecturekit.gan as gan
    lrs = []
    real_generator_step = gan._generator_step

    def generator_step(generator, critic, m, loss, opt_g):
        lrs.append(opt_g.param_groups[0]["lr"])
        return real_generator_step(generator, critic, m, loss, opt_g)

    monkeypatch.setattr(gan, "_generator_step", generator_step)
    train_gan(Generator(hidden=8), Discriminator(hidden=8), toy_distribution("ring"), steps=10, batch_size=4,
              lr=1e-3, decay_after=0.5, progress=False)
    assert lrs == pytest.approx([1e-3] * 6 + [8e-4, 6e-4, 4e-4, 2e-4])


def test_a_standardised_toy_gan_learns_the_datas_scale():
    torch.manual_seed(0)
    generator, _, _ = train_toy_gan(toy_distribution("grid"), "non_saturating", critic_updates=20, hidden=8,
                                    standardize=True, decay_after=0.5)
    assert generator.data_std.tolist() == pytest.approx([math.sqrt(8)] * 2, rel=0.03)


def test_mode_coverage_on_true_and_collapsed_ring():
    ring = toy_distribution("ring")
    result = mode_coverage(ring.sample(2500, torch.Generator().manual_seed(0)), ring.centers, ring.std)
    assert result["modes"] == 8
    assert result["high_quality"] == pytest.approx(1 - math.exp(-4.5), abs=0.01)
    assert result["reverse_kl"] < 0.01
    collapsed = ring.centers[3] + ring.std * torch.randn(2500, 2)
    result = mode_coverage(collapsed, ring.centers, ring.std)
    assert result["modes"] == 1 and result["reverse_kl"] == pytest.approx(math.log(8))


def test_emd_matches_scipy_in_one_dimension_and_is_exact_for_shifts():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=200), rng.normal(1.0, 2.0, size=200)
    assert emd(x, y) == pytest.approx(scipy.stats.wasserstein_distance(x, y), rel=1e-9)
    cloud = torch.randn(50, 2)
    assert emd(cloud, cloud + torch.tensor([3.0, 4.0])) == pytest.approx(5.0)


def test_simultaneous_play_spirals_out_and_alternating_play_stays_bounded():
    lr, steps = 0.1, 200
    simultaneous = bilinear_game(1.0, 1.0, lr=lr, steps=steps)
    radius = simultaneous.norm(dim=1)
    # closed form: every simultaneous step multiplies the radius by sqrt(1 + lr^2)
    assert torch.allclose(radius, math.sqrt(2) * (1 + lr**2) ** (torch.arange(steps + 1, dtype=torch.float64) / 2), rtol=1e-12)
    alternating = bilinear_game(1.0, 1.0, lr=lr, steps=steps, alternating=True)
    assert alternating.norm(dim=1).max() < 1.1 * math.sqrt(2)
    assert alternating.norm(dim=1).min() > 0.9 * math.sqrt(2) / 1.1  # circling, not converging
    # the alternating step x' = x - lr y, y' = y + lr x' is the matrix [[1, -lr], [lr, 1 - lr^2]]
    x, y = alternating[1]
    assert (x.item(), y.item()) == pytest.approx((1 - lr, 1 + lr * (1 - lr)))


def test_dirac_gan_steps_are_gradient_steps_on_the_value_minus_r1():
    # an independent reference: autograd on V(theta, psi) - gamma/2 psi^2, V = f(psi theta) + f(0)
    theta0, psi0, lr, gamma = 0.7, -1.3, 0.05, 0.8
    theta = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
    psi = torch.tensor(psi0, dtype=torch.float64, requires_grad=True)
    value = -nn.functional.softplus(-psi * theta) - math.log(2)  # f(t) = -ln(1 + e^-t)
    (d_theta,) = torch.autograd.grad(value, theta, retain_graph=True)
    (d_psi,) = torch.autograd.grad(value - gamma / 2 * psi**2, psi)
    step = dirac_gan(theta0, psi0, lr=lr, steps=1, r1_weight=gamma)[1]
    assert step.tolist() == pytest.approx([theta0 - lr * d_theta.item(), psi0 + lr * d_psi.item()], rel=1e-12)


def test_dirac_gan_spirals_out_without_r1_and_converges_with_it():
    lr = 0.1
    plain = dirac_gan(1.0, 1.0, lr=lr, steps=500)
    theta, psi = plain[:-1, 0], plain[:-1, 1]
    slope = torch.sigmoid(-psi * theta)
    # each step multiplies theta^2 + psi^2 by 1 + lr^2 f'(psi theta)^2 exactly
    assert torch.allclose(plain[1:].square().sum(1), plain[:-1].square().sum(1) * (1 + lr**2 * slope**2), rtol=1e-12)
    assert plain[-1].norm() > 1.5 * plain[0].norm()
    regularised = dirac_gan(1.0, 1.0, lr=lr, steps=500, r1_weight=1.0)
    assert regularised[-1].norm() < 1e-3 * regularised[0].norm()


@pytest.mark.parametrize("loss, generator_steps", [("non_saturating", 30), ("wgan", 6), ("non_saturating_r1", 30)])
def test_toy_gans_share_a_budget_of_critic_updates(loss, generator_steps):
    generator, critic, history = train_toy_gan(toy_distribution("ring"), loss, critic_updates=30, hidden=8)
    assert len(history["g_loss"]) == generator_steps
    assert generator.hparams["hidden"] == critic.hparams["hidden"] == 8


def test_critic_estimates_the_earth_movers_distance_of_a_shift():
    # W1(p, p + delta) = |delta|: the coupling x -> x + delta costs |delta|, and
    # f(x) = <x, delta / |delta|> is 1-Lipschitz and attains it.
    torch.manual_seed(0)
    base = torch.randn(4000, 2) * 0.5
    shifted = base + torch.tensor([0.6, 0.8])
    estimate = estimate_wasserstein(Discriminator(hidden=32, layers=2), shifted, base, steps=400)
    assert estimate == pytest.approx(1.0, abs=0.1)
    clipped = estimate_wasserstein(Discriminator(hidden=32, layers=2), shifted, base, steps=200, clip=0.01)
    assert 0 < clipped < 0.05  # clipping bounds the Lipschitz constant far below 1: it estimates K W


@pytest.mark.parametrize("call, match", [
    (lambda: discriminator_loss("hinge", REAL, FAKE), "loss must be one of"),
    (lambda: game_settings("wgan", n_critic=0), "n_critic must be in"),
    (lambda: game_settings("wgan", clip=-0.1), "clip must be in"),
    (lambda: game_settings("wgan_gp", gp_weight=-1.0), "gp_weight must be in"),
    (lambda: game_settings("non_saturating_r1", r1_weight=-1.0), "r1_weight must be in"),
    (lambda: game_settings("wgan", momentum=0.9), "unknown settings"),
    (lambda: mode_coverage(torch.zeros(5, 2), torch.zeros(3, 3), 0.1), "same d"),
    (lambda: emd(torch.zeros(5, 2), torch.zeros(4, 2)), "same size"),
    (lambda: bilinear_game(lr=-0.1), "lr must be in"),
    (lambda: bilinear_game(noise=-1.0), "noise must be in"),
    (lambda: bilinear_game(decay_after=2.0), "decay_after must be in"),
    (lambda: dirac_gan(r1_weight=-1.0), "r1_weight must be in"),
    (lambda: dirac_gan(steps=0), "steps must be in"),
    (lambda: estimate_wasserstein(nn.Linear(2, 1), torch.zeros(4, 2), torch.zeros(4, 2), clip=-1.0), "clip must be in"),
    (lambda: Generator(data_mean=[0.0, 0.0]), "both data_mean and data_std"),
    (lambda: Discriminator(data_mean=[0.0, 0.0], data_std=[1.0, -1.0]), "data_std must be positive"),
    (lambda: Discriminator(data_mean=[0.0], data_std=[1.0]), "need 2 values each"),
    (lambda: Generator(out_dim=4, output="sigmoid", data_mean=[0.0] * 4, data_std=[1.0] * 4), "linear output only"),
    (lambda: train_gan(Generator(hidden=4), Discriminator(hidden=4), torch.zeros(4, 2), steps=2, decay_after=1.5,
                       progress=False), "decay_after must be in"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---- the game's optimum against quadrature (Goodfellow et al., 2014, Prop. 1 and Thm. 1) ----------

P, Q = scipy.stats.norm(0.0, 1.0), scipy.stats.norm(1.0, 1.5)


def quantile_points(distribution, n=200_000):
    """n points at the distribution's (i + 1/2)/n quantiles: their mean of any smooth function
    is that function's expectation, up to O(1/n), with no sampling noise."""
    return torch.tensor(distribution.ppf((np.arange(n) + 0.5) / n), dtype=torch.float64)


def optimal_logit(x, q_mean=1.0):
    """The raw score of D*(x) = p(x) / (p(x) + q(x)): f*(x) = log p(x) - log q(x)."""
    return (torch.distributions.Normal(0.0, 1.0).log_prob(x)
            - torch.distributions.Normal(q_mean, 1.5).log_prob(x))


def js_by_quadrature(p, q):
    """JS(p || q) = 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q)/2, by scipy.integrate.quad."""
    def kl_to_mixture(a):
        def integrand(x):
            m = 0.5 * (p.pdf(x) + q.pdf(x))
            return a.pdf(x) * (a.logpdf(x) - np.log(m)) if a.pdf(x) > 0 else 0.0
        return scipy.integrate.quad(integrand, -np.inf, np.inf)[0]
    return 0.5 * kl_to_mixture(p) + 0.5 * kl_to_mixture(q)


def test_the_optimal_discriminator_attains_2_js_minus_ln_4():
    real, fake = quantile_points(P), quantile_points(Q)
    value = -discriminator_loss("minimax", optimal_logit(real), optimal_logit(fake)).item()
    assert value == pytest.approx(2 * js_by_quadrature(P, Q) - math.log(4), abs=1e-3)


@pytest.mark.parametrize("direction", [lambda x: torch.ones_like(x), lambda x: x, lambda x: torch.sin(3 * x)])
def test_no_other_discriminator_does_better(direction):
    real, fake = quantile_points(P), quantile_points(Q)
    best = discriminator_loss("minimax", optimal_logit(real), optimal_logit(fake))
    for step in (-0.1, 0.1):
        moved = discriminator_loss("minimax", optimal_logit(real) + step * direction(real),
                                   optimal_logit(fake) + step * direction(fake))
        assert moved > best + 1e-4


def generator_gradient_at_the_optimal_d(loss, theta0):
    """d/dtheta of the generator loss for G_theta(z) = theta + z, z ~ N(0, 1.5^2), with D* held
    fixed at its optimum for theta_0."""
    theta = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
    generator_loss(loss, optimal_logit(theta + quantile_points(scipy.stats.norm(0.0, 1.5)), q_mean=theta0)).backward()
    return theta.grad.item()


def derivative(f, t, h=1e-3):
    return (f(t + h) - f(t - h)) / (2 * h)


def test_minimax_gradient_at_the_optimal_d_is_that_of_2_js():
    def two_js(t):
        return 2 * js_by_quadrature(scipy.stats.norm(t, 1.5), P)
    assert generator_gradient_at_the_optimal_d("minimax", 1.0) == pytest.approx(derivative(two_js, 1.0), abs=2e-3)


def test_non_saturating_gradient_at_the_optimal_d_is_that_of_kl_minus_2_js():
    """Arjovsky & Bottou (2017), Thm. 2.5: with D* held fixed at theta_0,
    grad E[-log D*(G_theta(z))] = grad [KL(p_theta || p_data) - 2 JS(p_theta || p_data)]."""
    def kl_minus_2_js(t):
        q = scipy.stats.norm(t, 1.5)
        kl = scipy.integrate.quad(lambda x: q.pdf(x) * (q.logpdf(x) - P.logpdf(x)), -np.inf, np.inf)[0]
        return kl - 2 * js_by_quadrature(q, P)
    assert generator_gradient_at_the_optimal_d("non_saturating", 1.0) == pytest.approx(
        derivative(kl_minus_2_js, 1.0), abs=2e-3)


def test_alternating_play_keeps_its_invariant_and_a_decaying_step_freezes_it_on_the_orbit():
    lr, steps = 0.1, 1000
    path = bilinear_game(1.0, 1.0, lr=lr, steps=steps, alternating=True)
    invariant = path[:, 0] ** 2 - lr * path[:, 0] * path[:, 1] + path[:, 1] ** 2
    torch.testing.assert_close(invariant, torch.full_like(invariant, 2 - lr), rtol=1e-12, atol=1e-12)
    decayed = bilinear_game(1.0, 1.0, lr=lr, steps=steps, alternating=True, decay_after=0.5)
    radius = decayed.norm(dim=1)
    # the step shrinks, but the players stay on (nearly) the same ellipse: r^2 >= (2 - lr) / (1 + lr / 2)
    assert radius.min() > math.sqrt((2 - lr) / (1 + lr / 2)) - 1e-3
    assert (decayed[-1] - decayed[-2]).norm() < 0.01 * (decayed[1] - decayed[0]).norm()  # last step: 1/500 of one


def test_noisy_bilinear_game_is_seeded_and_noise_free_by_default():
    assert torch.equal(bilinear_game(steps=20, noise=0.5, seed=3), bilinear_game(steps=20, noise=0.5, seed=3))
    assert not torch.equal(bilinear_game(steps=20, noise=0.5, seed=3), bilinear_game(steps=20, noise=0.5, seed=4))
    assert torch.equal(bilinear_game(steps=20, noise=0.0, seed=3), bilinear_game(steps=20))
    state = torch.get_rng_state()
    bilinear_game(steps=5, noise=1.0)
    assert torch.equal(torch.get_rng_state(), state)


def test_a_second_call_goes_on_with_the_first_calls_optimizers():
    generator, critic = Generator(hidden=8), Discriminator(hidden=8)
    ring = toy_distribution("ring")
    first = train_gan(generator, critic, ring, steps=3, batch_size=4, progress=False)
    second = train_gan(generator, critic, ring, steps=2, batch_size=4, progress=False, optimizers=first.optimizers)
    assert second.optimizers[0] is first.optimizers[0] and second.optimizers[1] is first.optimizers[1]
    for optimizer in second.optimizers:  # Adam counted all 5 steps: its moment estimates were kept
        assert all(int(state["step"]) == 5 for state in optimizer.state.values())
    with pytest.raises(TypeError, match="optimizers must be None or a pair"):
        train_gan(generator, critic, ring, steps=1, progress=False, optimizers=first.optimizers[:1])


def test_the_generator_step_leaves_the_critic_trainable_and_untouched():
    generator, critic = Generator(hidden=8), Discriminator(hidden=8)
    critic.net[0].bias.requires_grad_(False)  # a parameter the user froze stays frozen
    weights = [p.detach().clone() for p in critic.parameters()]
    import lecturekit.gan as gan
    opt_g = torch.optim.Adam(generator.parameters(), lr=1e-2)
    gan._generator_step(generator, critic, 8, "non_saturating", opt_g)
    assert [p.requires_grad for p in critic.parameters()] == [p is not critic.net[0].bias for p in critic.parameters()]
    assert all(p.grad is None for p in critic.parameters())
    assert all(torch.equal(p, w) for p, w in zip(critic.parameters(), weights))


def test_one_critic_pass_over_real_and_fake_gives_the_two_pass_loss():
    import lecturekit.gan as gan
    critic = Discriminator(hidden=8, pack=2)
    real, fake = torch.randn(6, 2), torch.randn(6, 2)
    for loss in ("non_saturating", "lsgan", "wgan"):
        expected = discriminator_loss(loss, critic(real), critic(fake)).item()
        opt = torch.optim.SGD(critic.parameters(), lr=0.0)
        settings = dict(gp_weight=None, clip=None)
        assert gan._critic_step(critic, real, fake, loss, settings, opt) == pytest.approx(expected, rel=1e-6)


def test_a_fresh_generator_starts_as_a_small_blob_even_in_standardised_units():
    torch.manual_seed(0)
    mean, std = standardization(toy_distribution("grid"))
    with torch.no_grad():
        spread = Generator(data_mean=mean, data_std=std).sample(2000).std(0)
    assert (spread < 0.1 * torch.tensor(std)).all()  # a few hundredths of the data's spread, not its bulk

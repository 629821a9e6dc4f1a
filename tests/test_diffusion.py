import math

import pytest
import torch

from lecturekit import load_model, save_model
from lecturekit.diffusion import (Denoiser, FourierFeatures, NoiseSchedule, ancestral_sample, ddpm_loss, ddpm_nelbo,
                                  flow_matching_loss, ode_sample, q_sample, train_denoiser)

DEFAULT_SCHEDULES = [NoiseSchedule.linear(), NoiseSchedule.cosine(), NoiseSchedule.linear(100),
                     NoiseSchedule.cosine(100)]


@pytest.mark.parametrize("schedule", DEFAULT_SCHEDULES, ids=repr)
def test_default_schedules_are_valid_and_end_at_noise(schedule):
    assert ((schedule.betas[1:] > 0) & (schedule.betas[1:] < 1)).all()
    assert (schedule.alpha_bars[1:] < schedule.alpha_bars[:-1]).all()
    assert schedule.alpha_bars[-1] < 1e-3
    torch.testing.assert_close(schedule.alpha_bars[1:], torch.cumprod(1 - schedule.betas[1:], 0))


def test_schedules_follow_their_papers():
    linear = NoiseSchedule.linear(1000)  # Ho et al. (2020): 1e-4 .. 0.02 over T = 1000
    assert (linear.betas[1].item(), linear.betas[-1].item()) == pytest.approx((1e-4, 0.02))
    cosine = NoiseSchedule.cosine(1000)  # Nichol & Dhariwal (2021), eq. 17, away from the clipped end
    t = torch.tensor([1, 250, 500, 900])
    f = torch.cos((t / 1000 + 0.008) / 1.008 * math.pi / 2) ** 2 / math.cos(0.008 / 1.008 * math.pi / 2) ** 2
    torch.testing.assert_close(cosine.alpha_bars[t], f.double())


@pytest.mark.parametrize("t", [1, 30, 99])
def test_q_sample_has_the_marginal_moments(t):
    schedule = NoiseSchedule.cosine(100)
    x0 = torch.tensor([[1.5, -0.5]]).repeat(200_000, 1)
    x_t = q_sample(schedule, x0, torch.full((len(x0),), t), generator=torch.Generator().manual_seed(t))
    alpha_bar = schedule.alpha_bars[t].item()
    torch.testing.assert_close(x_t.mean(0), math.sqrt(alpha_bar) * x0[0], atol=0.01, rtol=0)
    torch.testing.assert_close(x_t.var(0), torch.full((2,), 1 - alpha_bar), atol=0, rtol=0.02)


def test_posterior_variance_is_bayes_rule_for_one_step():
    # x_{t-1} | x_0 ~ N(sqrt(abar_{t-1}) x_0, 1 - abar_{t-1}) is the prior and x_t | x_{t-1} ~ N(sqrt(alpha_t) x_{t-1},
    # beta_t) the likelihood of a 1-D Gaussian model: the posterior precision is the sum of the precisions.
    for schedule in (NoiseSchedule.linear(50), NoiseSchedule.cosine(50)):
        t = torch.arange(2, schedule.T + 1)
        precision = 1 / (1 - schedule.alpha_bars[t - 1]) + schedule.alphas[t] / schedule.betas[t]
        torch.testing.assert_close(schedule.posterior_variances[t], 1 / precision)
        assert schedule.posterior_variances[1] == 0 and schedule.posterior_variances[0] == 0


def optimal_eps(schedule, mean, std):
    """E[eps | x_t] for 1-D data N(mean, std^2), x_t = a x_0 + b eps: b (x_t - a mean) / (a^2 std^2 + b^2)."""
    def model(x, time):
        alpha_bar = schedule.alpha_bars.to(x)[torch.round(time * schedule.T).long()][:, None]
        a, b = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
        return b * (x - a * mean) / (a**2 * std**2 + b**2)
    return model


def optimal_velocity(mean, std):
    """E[x_1 - x_0 | x_t] for x_0 ~ N(0, 1), x_1 ~ N(mean, std^2) independent, x_t = (1 - t) x_0 + t x_1:
    mean + Cov(x_1 - x_0, x_t) / Var(x_t) (x - t mean)
    = mean + (t std^2 - (1 - t)) / ((1 - t)^2 + t^2 std^2) (x - t mean)."""
    def model(x, time):
        t = time[:, None]
        return mean + (t * std**2 - (1 - t)) / ((1 - t) ** 2 + t**2 * std**2) * (x - t * mean)
    return model


@pytest.mark.parametrize("schedule", [NoiseSchedule.linear(1000), NoiseSchedule.cosine(1000)], ids=repr)
def test_ancestral_sampling_with_the_optimal_noise_predictor_recovers_the_data(schedule):
    mean, std = 1.5, 0.5
    x = ancestral_sample(optimal_eps(schedule, mean, std), schedule, 20_000, n_features=1,
                         generator=torch.Generator().manual_seed(0))
    assert x.mean().item() == pytest.approx(mean, abs=0.02)
    assert x.std().item() == pytest.approx(std, rel=0.03)


@pytest.mark.parametrize("method, steps", [("euler", 200), ("midpoint", 20)])
def test_the_ode_with_the_optimal_velocity_carries_noise_to_the_data(method, steps):
    mean, std = -1.0, 0.3
    x = ode_sample(optimal_velocity(mean, std), 20_000, steps=steps, method=method, n_features=1,
                   generator=torch.Generator().manual_seed(0))
    assert x.mean().item() == pytest.approx(mean, abs=0.02)
    assert x.std().item() == pytest.approx(std, rel=0.03)


def test_midpoint_beats_euler_at_few_steps():
    mean, std = -1.0, 0.3
    error = {method: abs(ode_sample(optimal_velocity(mean, std), 20_000, steps=4, method=method, n_features=1,
                                    generator=torch.Generator().manual_seed(0)).std().item() - std)
             for method in ("euler", "midpoint")}
    assert error["midpoint"] < error["euler"] / 2


def test_the_losses_of_the_optimal_models_are_below_the_trivial_ones():
    schedule, generator = NoiseSchedule.cosine(100), torch.Generator().manual_seed(0)
    x0 = 1.5 + 0.5 * torch.randn(50_000, 1, generator=generator)
    zero = lambda x, time: torch.zeros_like(x)  # noqa: E731
    assert ddpm_loss(zero, schedule, x0, generator=generator).item() == pytest.approx(1.0, abs=0.02)  # E eps^2 = 1
    assert ddpm_loss(optimal_eps(schedule, 1.5, 0.5), schedule, x0, generator=generator).item() < 0.6
    x1 = -1.0 + 0.3 * torch.randn(50_000, 1, generator=generator)
    assert flow_matching_loss(optimal_velocity(-1.0, 0.3), x1, generator) < flow_matching_loss(zero, x1, generator) / 2


def test_the_last_step_adds_no_noise():
    torch.manual_seed(0)
    schedule, model = NoiseSchedule.cosine(20), Denoiser(n_features=2, hidden=16, layers=1, fourier_features=4)
    x0, chain = ancestral_sample(model, schedule, 64, generator=torch.Generator().manual_seed(1), return_chain=True)
    assert chain.shape == (21, 64, 2) and torch.equal(chain[0], x0)
    beta, alpha_bar = schedule.betas[1].item(), schedule.alpha_bars[1].item()
    with torch.no_grad():
        eps_hat = model(chain[1], torch.full((64,), 1 / 20))
        mean = (chain[1] - beta / math.sqrt(1 - alpha_bar) * eps_hat) / math.sqrt(1 - beta)
    torch.testing.assert_close(x0, mean)


def test_the_posterior_mean_form_equals_the_noise_form_and_clipping_keeps_the_range():
    torch.manual_seed(0)
    schedule, model = NoiseSchedule.cosine(20), Denoiser(hidden=16, layers=1, fourier_features=4)
    plain = ancestral_sample(model, schedule, 100, generator=torch.Generator().manual_seed(0))
    wide = ancestral_sample(model, schedule, 100, generator=torch.Generator().manual_seed(0), clip_x0=(-1e6, 1e6))
    torch.testing.assert_close(wide, plain, rtol=1e-4, atol=1e-4)
    clipped = ancestral_sample(model, schedule, 100, generator=torch.Generator().manual_seed(0), clip_x0=(-0.1, 0.1))
    assert clipped.abs().max() <= 0.1 + 1e-5  # the last step returns the clipped x0_hat itself (beta~_1 = 0)


def test_sampling_is_seeded_and_repeatable():
    torch.manual_seed(0)
    schedule, model = NoiseSchedule.cosine(10), Denoiser(hidden=16, layers=1, fourier_features=4)
    for sample in (lambda g: ancestral_sample(model, schedule, 50, generator=g),
                   lambda g: ode_sample(model, 50, steps=5, generator=g)):
        first, again = sample(torch.Generator().manual_seed(3)), sample(torch.Generator().manual_seed(3))
        assert torch.equal(first, again)
        assert not torch.equal(first, sample(torch.Generator().manual_seed(4)))


def test_fourier_features_are_bounded_and_fixed():
    torch.manual_seed(0)
    features = FourierFeatures(2, m=8, scale=3.0)
    gamma = features(torch.randn(5, 2))
    assert gamma.shape == (5, 16) and gamma.abs().max() <= 1
    torch.testing.assert_close(gamma[:, :8] ** 2 + gamma[:, 8:] ** 2, torch.ones(5, 8))
    assert "B" in dict(features.named_buffers()) and not list(features.parameters())


def test_save_and_load_keep_the_denoiser(tmp_path):
    torch.manual_seed(0)
    model = Denoiser(n_features=3, hidden=16, layers=2, fourier_features=5, fourier_scale=2.0, time_dim=8)
    save_model(model, tmp_path / "denoiser.pt")
    loaded = load_model(tmp_path / "denoiser.pt")
    assert loaded.hparams == model.hparams
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name
    x, time = torch.randn(7, 3), torch.rand(7)
    torch.testing.assert_close(loaded(x, time), model(x, time))


def test_nelbo_bounds_the_nll_of_a_two_point_distribution():
    # x_0 = -1 or +1 with probability 1/2 each: -log p(x_0) = ln 2 nats. With the exact noise predictor,
    # E[x_0 | x_t] = tanh(a x_t / b^2), the -ELBO must lie above ln 2, and close to it for a long chain.
    schedule = NoiseSchedule.cosine(200)

    def exact_eps(x, time):
        alpha_bar = schedule.alpha_bars.to(x)[torch.round(time * schedule.T).long()][:, None]
        a, b = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
        return (x - a * torch.tanh(a * x / b**2)) / b

    x0 = torch.tensor([[-1.0], [1.0]]).repeat(2000, 1)
    nelbo = ddpm_nelbo(exact_eps, schedule, x0, bin_width=2.0, generator=torch.Generator().manual_seed(0))
    assert math.log(2) - 0.01 < nelbo.mean().item() < math.log(2) + 0.1


@pytest.mark.parametrize("call, match", [
    (lambda: NoiseSchedule([0.1, 1.0]), "betas must lie in"),
    (lambda: NoiseSchedule([]), "betas must be"),
    (lambda: NoiseSchedule.cosine(T=0), "T must be in"),
    (lambda: NoiseSchedule.linear(T=10), "betas must lie in"),
    (lambda: q_sample(NoiseSchedule.cosine(10), torch.zeros(3, 2), torch.tensor([0, 5, 11])), "t must hold"),
    (lambda: ddpm_loss(Denoiser(n_features=2), NoiseSchedule.cosine(10), torch.zeros(4, 3)), "x0 must have 2 columns"),
    (lambda: flow_matching_loss(Denoiser(n_features=2), torch.zeros(4)), r"x1 must have shape \(n, d\)"),
    (lambda: Denoiser(n_features=2)(torch.zeros(4, 3), torch.zeros(4)), r"x must have shape \(n, 2\)"),
    (lambda: ode_sample(Denoiser(), 10, steps=0), "steps must be in"),
    (lambda: ode_sample(Denoiser(), 10, method="rk4"), "method must be one of"),
    (lambda: ancestral_sample(Denoiser(), NoiseSchedule.cosine(10), 0), "n must be in"),
    (lambda: ddpm_nelbo(Denoiser(), NoiseSchedule.cosine(10), torch.zeros(4, 2), bin_width=0.0), "bin_width must be"),
    (lambda: train_denoiser(Denoiser(), "score", torch.zeros(4, 2)), "objective must be one of"),
    (lambda: train_denoiser(Denoiser(), "ddpm", torch.zeros(4, 2)), "schedule must be a NoiseSchedule"),
    (lambda: train_denoiser(Denoiser(), "flow", torch.zeros(4, 3)), "data must have 2 columns"),
])
def test_bad_input_is_refused_before_any_work(call, match):
    with pytest.raises(ValueError, match=match):
        call()

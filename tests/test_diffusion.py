import math

import pytest
import torch

from lecturekit import load_model, save_model
from lecturekit.diffusion import (Denoiser, FourierFeatures, NoiseSchedule, PixelPriorDenoiser, ancestral_sample,
                                  ddpm_loss, ddpm_nelbo, flow_matching_loss, ode_sample, q_sample, train_denoiser)

DEFAULT_SCHEDULES = [NoiseSchedule.linear(), NoiseSchedule.cosine(), NoiseSchedule.linear(100),
                     NoiseSchedule.cosine(100), NoiseSchedule.log_snr_linear()]


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


def test_log_snr_schedule_is_linear_in_log_snr():
    schedule = NoiseSchedule.log_snr_linear(T=50, log_snr_min=-6.0, log_snr_max=7.0)
    torch.testing.assert_close(schedule.log_snrs[1:], torch.linspace(7.0, -6.0, 50, dtype=torch.float64))
    snr = schedule.alpha_bars / (1 - schedule.alpha_bars)
    torch.testing.assert_close(schedule.log_snrs[1:], snr[1:].log())


@pytest.mark.parametrize("schedule", DEFAULT_SCHEDULES[2:], ids=repr)
def test_elbo_weights_are_the_kl_weights_and_the_snr_ratio(schedule):
    t = torch.arange(2, schedule.T + 1)
    kl_weight = schedule.betas[t] ** 2 / (2 * schedule.posterior_variances[t] * schedule.alphas[t]
                                          * (1 - schedule.alpha_bars[t]))
    snr = schedule.alpha_bars / (1 - schedule.alpha_bars)
    torch.testing.assert_close(schedule.elbo_weights[t], kl_weight)
    torch.testing.assert_close(schedule.elbo_weights[t], (snr[t - 1] / snr[t] - 1) / 2)
    assert schedule.elbo_weights[0] == 0 and schedule.elbo_weights[1] == 0


def test_evenly_spaced_log_snr_gives_every_kl_term_one_weight():
    schedule = NoiseSchedule.log_snr_linear(T=101, log_snr_min=-5.0, log_snr_max=5.0)
    step = 10.0 / 100
    torch.testing.assert_close(schedule.elbo_weights[2:], torch.full((100,), (math.exp(step) - 1) / 2,
                                                                      dtype=torch.float64))
    cosine = NoiseSchedule.cosine(100)  # the clipped last step of the cosine chain weighs about 500
    assert cosine.elbo_weights[-1] > 400 and cosine.elbo_weights[2:-1].max() < 10


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


def test_per_step_terms_sum_to_the_bound_and_l_T_is_the_kl_to_the_prior():
    schedule = NoiseSchedule.cosine(20)
    model = Denoiser(n_features=3, hidden=8, layers=1, fourier_features=0)
    x0 = torch.tensor([[-1.0, 0.0, 1.0], [1.0, 1.0, -1.0]])
    terms = ddpm_nelbo(model, schedule, x0, bin_width=1.0, per_step=True, generator=torch.Generator().manual_seed(0))
    total = ddpm_nelbo(model, schedule, x0, bin_width=1.0, generator=torch.Generator().manual_seed(0))
    assert terms.shape == (2, 21)
    torch.testing.assert_close(terms.sum(dim=1), total)
    alpha_bar = schedule.alpha_bars[-1]
    q_T = torch.distributions.Normal(alpha_bar.sqrt() * x0.double(), (1 - alpha_bar).sqrt())
    prior = torch.distributions.Normal(torch.zeros(3, dtype=torch.float64), 1.0)
    torch.testing.assert_close(terms[:, -1], torch.distributions.kl_divergence(q_T, prior).sum(dim=1))
    assert (terms >= 0).all()


def independent_pixels(n_levels=5, n_features=3, seed=0):
    """A product of categoricals on n_levels levels in [-1, 1]: its levels and (n_features, n_levels) probabilities."""
    probabilities = torch.rand(n_features, n_levels, generator=torch.Generator().manual_seed(seed)) + 0.1
    return torch.linspace(-1, 1, n_levels), probabilities / probabilities.sum(dim=1, keepdim=True)


def test_pixel_prior_counts_levels_with_laplace_rule():
    schedule = NoiseSchedule.log_snr_linear(T=10)
    x0 = torch.tensor([[-1.0, 1.0], [-1.0, 0.0], [0.0, 1.0]])
    model = PixelPriorDenoiser.for_data(x0, schedule, n_levels=3, hidden=4, layers=1)
    expected = torch.tensor([[2 + 1, 1 + 1, 0 + 1], [0 + 1, 1 + 1, 2 + 1]]) / (3 + 3)
    torch.testing.assert_close(model.log_prior.exp(), expected)
    torch.testing.assert_close(model.alpha_bars.double(), schedule.alpha_bars, rtol=1e-6, atol=0)


def test_independent_eps_is_the_posterior_mean_of_the_noise():
    # Bayes' rule, written out pixel by pixel with torch.distributions, for a product of categoricals
    levels, probabilities = independent_pixels()
    schedule = NoiseSchedule.log_snr_linear(T=20)
    model = PixelPriorDenoiser(n_features=3, n_levels=5, T=20, hidden=4, layers=1)
    model.log_prior.copy_(probabilities.log())
    model.alpha_bars.copy_(schedule.alpha_bars)
    x_t, t = torch.randn(6, 3), torch.tensor([1, 4, 8, 12, 16, 20])
    a = schedule.alpha_bars[t].float().sqrt()[:, None, None]
    likelihood = torch.distributions.Normal(a * levels, (1 - a**2).sqrt()).log_prob(x_t[:, :, None])
    posterior = torch.softmax(likelihood + probabilities.log(), dim=-1)
    expected_x0 = (posterior * levels).sum(dim=-1)
    expected_eps = (x_t - a[:, :, 0] * expected_x0) / (1 - a[:, :, 0] ** 2).sqrt()
    torch.testing.assert_close(model.independent_eps(x_t, t / 20), expected_eps, rtol=1e-4, atol=1e-4)


def test_independent_eps_has_the_lowest_error_for_independent_pixels():
    # Draw x_0 from the product itself: no other function of x_t predicts eps better than E[eps | x_t]
    levels, probabilities = independent_pixels(seed=1)
    schedule = NoiseSchedule.log_snr_linear(T=20)
    model = PixelPriorDenoiser(n_features=3, n_levels=5, T=20, hidden=4, layers=1)
    model.log_prior.copy_(probabilities.log())
    model.alpha_bars.copy_(schedule.alpha_bars)
    generator = torch.Generator().manual_seed(2)
    x0 = levels[torch.multinomial(probabilities, 20000, replacement=True, generator=generator).T]
    t = torch.full((len(x0),), 8)
    eps = torch.randn(x0.shape, generator=generator)
    x_t = q_sample(schedule, x0, t, eps)
    best = ((eps - model.independent_eps(x_t, t / 20)) ** 2).mean()
    for other in (torch.zeros_like(eps), x_t * (1 - schedule.alpha_bars[8].float()).sqrt(),
                  1.1 * model.independent_eps(x_t, t / 20)):
        assert best < ((eps - other) ** 2).mean()


def test_pixel_prior_denoiser_snaps_to_the_levels_at_small_noise():
    schedule = NoiseSchedule.log_snr_linear(T=10, log_snr_max=9.0)
    x0 = torch.tensor([[-1.0, -0.5, 0.5, 1.0], [0.0, 0.5, -0.5, -1.0]])
    model = PixelPriorDenoiser.for_data(x0, schedule, n_levels=5, hidden=4, layers=1)
    eps = 0.5 * torch.randn(x0.shape, generator=torch.Generator().manual_seed(0))
    x_1 = q_sample(schedule, x0, torch.ones(2, dtype=torch.long), eps)
    torch.testing.assert_close(model.independent_eps(x_1, torch.full((2,), 0.1)), eps, rtol=0, atol=1e-3)


def test_pixel_prior_denoiser_saves_loads_and_keeps_its_schedule(tmp_path):
    schedule = NoiseSchedule.log_snr_linear(T=10)
    x0 = 2 * torch.randint(0, 17, (30, 4), generator=torch.Generator().manual_seed(0)) / 16 - 1
    model = PixelPriorDenoiser.for_data(x0, schedule, hidden=8, layers=1, dropout=0.2)
    save_model(model, tmp_path / "prior.pt")
    loaded = load_model(tmp_path / "prior.pt")
    assert loaded.hparams == model.hparams and not loaded.training
    x, time = torch.randn(5, 4), torch.rand(5)
    torch.testing.assert_close(loaded(x, time), model.eval()(x, time))
    with pytest.raises(ValueError, match="built for another noise schedule"):
        ddpm_loss(model, NoiseSchedule.log_snr_linear(T=12), x0)
    with pytest.raises(ValueError, match="built for another noise schedule"):
        ancestral_sample(model, NoiseSchedule.cosine(10), 3)


def test_dropout_acts_only_while_training():
    model = Denoiser(n_features=2, hidden=32, layers=2, fourier_features=0, dropout=0.5)
    x, time = torch.randn(4, 2), torch.rand(4)
    model.train()
    assert not torch.equal(model(x, time), model(x, time))
    model.eval()
    torch.testing.assert_close(model(x, time), model(x, time))


@pytest.mark.parametrize("call, match", [
    (lambda: NoiseSchedule.log_snr_linear(T=1), "T must be in"),
    (lambda: NoiseSchedule.log_snr_linear(log_snr_min=3.0, log_snr_max=2.0), "log_snr_min must be below"),
    (lambda: PixelPriorDenoiser.for_data(torch.tensor([[0.3, 1.0]]), NoiseSchedule.cosine(5)), "x0 must hold the 17"),
    (lambda: PixelPriorDenoiser.for_data(torch.tensor([[float("nan"), 1.0]]), NoiseSchedule.cosine(5)),
     "x0 must hold the 17"),
    (lambda: PixelPriorDenoiser(low=1.0, high=-1.0), "low must be below high"),
    (lambda: Denoiser(dropout=1.0), "dropout must be in"),
])
def test_bad_input_to_the_discrete_recipe_is_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call()


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

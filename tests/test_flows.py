import math

import numpy as np
import pytest
from scipy import stats
import torch
from torch import distributions as D

from lecturekit import load_model, save_model
from lecturekit.flows import (ActNorm, AffineCoupling, DequantisedFlow, Flow, Logit, Permutation, Rotation,
                              VariationalDequantiser, dequantised_nll_loss, nll_loss, standard_normal_log_prob,
                              uniform_dequantise)
from lecturekit.train import fit
from same_model import assert_same_model


def randomise(module, scale=0.5, seed=0):
    """Every parameter drawn from N(0, scale^2): a layer that is not the identity (a fresh coupling is)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(scale * torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype))
    for layer in module.modules():
        if isinstance(layer, ActNorm):
            layer.initialised.fill_(True)
    return module.eval()


def jacobian_log_det(layer, x):
    """log |det dz/dx| of each row, from autograd's Jacobian and torch.linalg.slogdet."""
    values = []
    for row in x:
        jacobian = torch.autograd.functional.jacobian(lambda v: layer(v[None])[0][0], row)
        values.append(torch.linalg.slogdet(jacobian).logabsdet)
    return torch.stack(values)


LAYERS = {
    "affine coupling, D = 4": (lambda: AffineCoupling(4, hidden=(8, 8), scale_bound=1.5), 4, "real"),
    "affine coupling, D = 2": (lambda: AffineCoupling(2, hidden=(5,)), 2, "real"),
    "random permutation, D = 5": (lambda: Permutation(5, "random"), 5, "real"),
    "reverse permutation, D = 3": (lambda: Permutation(3, "reverse"), 3, "real"),
    "rotation, D = 3": (lambda: Rotation(3), 3, "real"),
    "actnorm, D = 3": (lambda: ActNorm(3), 3, "real"),
    "logit": (lambda: Logit(0.05), 3, "unit"),
    "flow of 3 couplings, D = 4": (lambda: Flow(4, couplings=3, hidden=(6,), mixing="random"), 4, "real"),
    "flow with a logit, D = 2": (lambda: Flow(2, couplings=2, hidden=(6,), logit_alpha=0.1), 2, "unit"),
    "flow with rotations, D = 2": (lambda: Flow(2, couplings=3, hidden=(6,), mixing="rotation"), 2, "real"),
}


def layer_and_input(name, n=5, seed=1):
    make, width, domain = LAYERS[name]
    torch.manual_seed(seed)
    layer = randomise(make().double(), seed=seed)
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, width, generator=generator, dtype=torch.float64)
    return layer, (torch.sigmoid(x) if domain == "unit" else 2 * x)


@pytest.mark.parametrize("name", LAYERS)
def test_log_det_matches_slogdet_of_the_autograd_jacobian(name):
    layer, x = layer_and_input(name)
    _, log_det = layer(x)
    torch.testing.assert_close(log_det, jacobian_log_det(layer, x), rtol=1e-9, atol=1e-9)


def test_the_comparison_can_fail_a_log_det_with_the_wrong_sign():
    layer, x = layer_and_input("affine coupling, D = 4")
    wrong = -layer(x)[1]
    assert (wrong - jacobian_log_det(layer, x)).abs().max() > 0.1


@pytest.mark.parametrize("name", LAYERS)
def test_inverse_undoes_forward(name):
    layer, x = layer_and_input(name, n=50)
    z, _ = layer(x)
    torch.testing.assert_close(layer.inverse(z), x, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(layer(layer.inverse(z))[0], z, rtol=1e-10, atol=1e-10)


def test_inverse_undoes_forward_in_float32_for_a_deep_flow():
    torch.manual_seed(0)
    flow = randomise(Flow(6, couplings=8, hidden=(16, 16), mixing="random"), scale=0.3)
    x = torch.randn(200, 6)
    torch.testing.assert_close(flow.inverse(flow(x)[0]), x, rtol=1e-4, atol=1e-4)


def test_an_untrained_coupling_is_the_identity():
    coupling = AffineCoupling(6)
    x = torch.randn(10, 6)
    z, log_det = coupling(x)
    assert torch.equal(z, x) and torch.equal(log_det, torch.zeros(10))


def test_the_coupling_keeps_its_scale_bounded():
    coupling = randomise(AffineCoupling(4, hidden=(8,), scale_bound=0.7), scale=20.0)
    s, _ = coupling.scale_and_shift(100 * torch.randn(500, 2))
    assert s.abs().max() <= 0.7 and s.abs().max() > 0.5


def test_the_coupling_changes_only_the_second_half():
    coupling = randomise(AffineCoupling(4, hidden=(8,)))
    x = torch.randn(7, 4)
    z, _ = coupling(x)
    assert torch.equal(z[:, :2], x[:, :2]) and not torch.allclose(z[:, 2:], x[:, 2:])


def test_actnorm_initialises_from_its_first_training_batch_only():
    layer = ActNorm(3)
    x = 5 + 3 * torch.randn(1000, 3, dtype=torch.float64)
    z, _ = layer.double()(x)
    torch.testing.assert_close(z.mean(dim=0), torch.zeros(3, dtype=torch.float64), atol=1e-12, rtol=0)
    torch.testing.assert_close(z.std(dim=0), torch.ones(3, dtype=torch.float64))
    before = layer.shift.detach().clone()
    layer(x + 10)
    assert torch.equal(layer.shift, before) and bool(layer.initialised)
    fresh = ActNorm(3).eval()
    z, _ = fresh(x)
    assert torch.equal(z, x) and not fresh.initialised


def grid_2d(limit, points):
    """Cell midpoints of a square grid on [-limit, limit]^2, and the cell area."""
    h = 2 * limit / points
    axis = torch.linspace(-limit + h / 2, limit - h / 2, points, dtype=torch.float64)
    return torch.cartesian_prod(axis, axis), h * h


def bent_flow():
    """A 2-D flow whose density is far from a Gaussian (random couplings), in float64."""
    torch.manual_seed(3)
    return randomise(Flow(2, couplings=4, hidden=(16,)).double(), scale=0.25, seed=3)


def test_a_2d_flow_density_integrates_to_one():
    flow = bent_flow()
    x, area = grid_2d(limit=10.0, points=700)
    with torch.no_grad():
        density = flow.log_prob(x).exp()
    assert (density.sum() * area).item() == pytest.approx(1.0, abs=1e-3)
    gaussian = standard_normal_log_prob(x).exp()
    assert (density - gaussian).abs().sum() * area > 1  # far from the base density


def test_a_density_without_the_log_det_does_not_integrate_to_one():
    flow = bent_flow()
    x, area = grid_2d(limit=10.0, points=700)
    with torch.no_grad():
        z, _ = flow(x)
    assert abs((standard_normal_log_prob(z).exp().sum() * area).item() - 1) > 0.05


def test_a_2d_flow_samples_follow_its_density_chi_square():
    flow = bent_flow()
    samples = flow.sample(20000, generator=torch.Generator().manual_seed(0)).double()
    edges = torch.linspace(-4, 4, 9, dtype=torch.float64)
    cells, area = grid_2d(limit=4.0, points=400)
    with torch.no_grad():
        mass = flow.log_prob(cells).exp() * area
    cell_bin = torch.bucketize(cells, edges[1:-1])
    expected = torch.zeros(8, 8, dtype=torch.float64).index_put_((cell_bin[:, 0], cell_bin[:, 1]), mass,
                                                                 accumulate=True)
    inside = ((samples > -4) & (samples < 4)).all(dim=1)
    sample_bin = torch.bucketize(samples[inside], edges[1:-1])
    observed = torch.zeros(8, 8, dtype=torch.float64).index_put_(
        (sample_bin[:, 0], sample_bin[:, 1]), torch.ones(int(inside.sum()), dtype=torch.float64), accumulate=True)
    keep = expected.flatten() * len(samples) > 5
    counts, probabilities = observed.flatten()[keep], expected.flatten()[keep]
    expected_counts = probabilities / probabilities.sum() * counts.sum()
    assert stats.chisquare(counts.numpy(), expected_counts.numpy()).pvalue > 1e-3


def logit_normal_flow():
    """A 1-D flow: y = (sigmoid((z - shift) / scale) - a) / (1 - 2a), a skewed density on [0, 1]."""
    flow = Flow(1, couplings=0, logit_alpha=0.05).double()
    with torch.no_grad():
        flow.layers[-1].log_scale.fill_(-0.4)
        flow.layers[-1].shift.fill_(0.6)
    flow.layers[-1].initialised.fill_(True)
    return flow.eval()


def density(flow, y):
    """p(y) from the flow's forward pass, also outside [0, 1], where `log_prob` refuses data."""
    with torch.no_grad():
        z, log_det = flow(y)
    return (standard_normal_log_prob(z) + log_det).exp()


def cdf_on_a_grid(density_of, low, high, points=20001):
    """The CDF of a density on [low, high], by the trapezoid rule, as a function for scipy; and the total mass."""
    y = torch.linspace(low, high, points, dtype=torch.float64)
    values = np.nan_to_num(density_of(y[:, None]).numpy())  # 0 at the ends, where the logit is infinite
    cumulative = np.concatenate([[0.0], np.cumsum((values[1:] + values[:-1]) / 2 * ((high - low) / (points - 1)))])
    return lambda v: np.interp(v, y.numpy(), cumulative), cumulative[-1]


def test_a_1d_flow_samples_follow_its_density_ks():
    flow = logit_normal_flow()
    low, high = flow.layers[0].support
    cdf, total = cdf_on_a_grid(lambda y: density(flow, y), low, high)
    assert total == pytest.approx(1.0, abs=1e-6)
    samples = flow.sample(5000, generator=torch.Generator().manual_seed(0))[:, 0].numpy()
    assert stats.kstest(samples, cdf).pvalue > 1e-3
    without_logit_jacobian = lambda y: density(flow, y) / flow.layers[0](y)[1].exp()  # noqa: E731
    wrong_cdf, wrong_total = cdf_on_a_grid(without_logit_jacobian, low, high)
    assert stats.kstest(samples, lambda v: wrong_cdf(v) / wrong_total).pvalue < 1e-6


def test_an_affine_flow_matches_torch_transformed_distribution():
    torch.manual_seed(0)
    flow = randomise(Flow(3, couplings=0).double())
    scale, shift = flow.layers[-1].log_scale.detach().exp(), flow.layers[-1].shift.detach()
    # z = x * scale + shift, so x = (z - shift) / scale: an affine map of a standard normal
    reference = D.TransformedDistribution(D.Independent(D.Normal(torch.zeros(3, dtype=torch.float64), 1.0), 1),
                                          [D.AffineTransform(-shift / scale, 1 / scale, event_dim=1)])
    x = 3 * torch.randn(20, 3, dtype=torch.float64)
    torch.testing.assert_close(flow.log_prob(x), reference.log_prob(x))


def test_a_logit_affine_flow_matches_torch_transformed_distribution():
    flow = logit_normal_flow()
    a, scale, shift = 0.05, math.exp(-0.4), 0.6
    reference = D.TransformedDistribution(D.Normal(torch.zeros(1, dtype=torch.float64), 1.0), [
        D.AffineTransform(-shift / scale, 1 / scale), D.SigmoidTransform(),
        D.AffineTransform(-a / (1 - 2 * a), 1 / (1 - 2 * a))])
    y = torch.rand(50, 1, dtype=torch.float64)
    torch.testing.assert_close(flow.log_prob(y), reference.log_prob(y)[:, 0], rtol=1e-6, atol=1e-6)


# ---- dequantisation ------------------------------------------------------------------------------

TINY = torch.tensor([[0.30, 0.05, 0.05],
                     [0.05, 0.20, 0.05],
                     [0.02, 0.08, 0.20]], dtype=torch.float64)  # P(x1, x2), x in {0, 1, 2}^2
TINY_POINTS = torch.cartesian_prod(torch.arange(3), torch.arange(3)).double()


def bin_masses(model, points=400):
    """p_Y's mass on every bin of {0, 1, 2}^2, by the midpoint rule over the flow's whole support:
    (the bins inside [0, 1]^2, the bins with the end bins stretched to the support's edges)."""
    low, high = model.flow.layers[0].support
    h = (high - low) / points
    axis = torch.linspace(low + h / 2, high - h / 2, points, dtype=torch.float64)
    y = torch.cartesian_prod(axis, axis)
    mass = density(model.flow, y) * h * h
    inside = ((y >= 0) & (y < 1)).all(dim=1)
    bins = (y * 3).floor().long().clamp(0, 2)
    tables = [torch.zeros(3, 3, dtype=torch.float64).index_put_((bins[keep, 0], bins[keep, 1]), mass[keep],
                                                                 accumulate=True) for keep in (inside, slice(None))]
    return [table[TINY_POINTS[:, 0].long(), TINY_POINTS[:, 1].long()] for table in tables]


def tiny_model(dequantisation, seed=0):
    torch.manual_seed(seed)
    model = DequantisedFlow(n_features=2, levels=3, dequantisation=dequantisation, couplings=2, hidden=(8,),
                            dequantiser_hidden=(8,)).double()
    randomise(model, scale=0.3, seed=seed)
    if model.dequantiser is not None:  # a broad q(u | x), so that 4000 importance draws suffice
        randomise(model.dequantiser, scale=0.1, seed=seed)
    return model


@pytest.mark.parametrize("dequantisation", ["uniform", "variational"])
def test_the_bound_is_above_the_exact_discrete_nll_of_the_model(dequantisation):
    model = tiny_model(dequantisation)
    inside, stretched = bin_masses(model)
    assert stretched.sum().item() == pytest.approx(1.0, abs=1e-3)  # P sums to 1 over the 9 images
    assert inside.sum().item() < 0.999  # the logit layer puts some mass outside [0, 1]^2
    exact = -stretched.log()
    repeated = TINY_POINTS.repeat(4000, 1)
    with torch.no_grad():
        bound = model.nll_bound(repeated, generator=torch.Generator().manual_seed(0)).view(4000, 9).mean(dim=0)
    assert (bound >= exact - 0.01).all()
    assert (bound - exact).max() > 0.02  # Jensen's gap: not equal
    tighter = model.importance_nll(TINY_POINTS, samples=4000, generator=torch.Generator().manual_seed(1))
    assert (tighter <= bound + 0.05).all() and (tighter >= exact - 0.05).all()  # 4000 draws: noise of a few 0.01
    if dequantisation == "uniform":  # q = 1 on the bin: the importance weights are p_Y itself, and converge fast
        torch.testing.assert_close(tighter, -inside.log(), atol=0.05, rtol=0)


@pytest.mark.parametrize("dequantisation", ["uniform", "variational"])
def test_a_trained_bound_stays_above_the_entropy_of_a_known_distribution(dequantisation):
    """Cross-entropy >= entropy: the bound, averaged over the data, is >= H(P) for any model."""
    entropy = -(TINY * TINY.log()).sum().item()
    torch.manual_seed(0)
    model = DequantisedFlow(n_features=2, levels=3, dequantisation=dequantisation, couplings=4, hidden=(32,),
                            dequantiser_hidden=(16,))
    rows = torch.multinomial(TINY.flatten().float(), 4096, replacement=True, generator=torch.Generator().manual_seed(0))
    data = TINY_POINTS.float()[rows]
    fit(model, dequantised_nll_loss, data, epochs=30, batch_size=256, lr=1e-2, schedule="cosine", progress=False)
    with torch.no_grad():
        bound = model.nll_bound(TINY_POINTS.float().repeat(2000, 1)).view(2000, 9).mean(dim=0).double()
    expected_bound = (TINY.flatten() * bound).sum().item()
    assert entropy <= expected_bound < entropy + 0.3


def test_variational_dequantisation_draws_inside_the_bins_with_its_log_density():
    dequantiser = randomise(VariationalDequantiser(n_features=3, levels=5, hidden=(8,)).double())
    counts = torch.tensor([[0.0, 4.0, 2.0]], dtype=torch.float64)
    generator = torch.Generator().manual_seed(0)
    u, log_q = dequantiser(counts.repeat(20000, 1), generator)
    assert ((u > 0) & (u < 1)).all()
    mu, log_sigma = dequantiser.network(counts / 4).chunk(2, dim=1)
    logit_normal = D.TransformedDistribution(D.Normal(mu[0], log_sigma[0].exp()), [D.SigmoidTransform()])
    torch.testing.assert_close(log_q, logit_normal.log_prob(u).sum(dim=1), rtol=1e-5, atol=1e-5)


def test_uniform_dequantisation_fills_each_bin():
    counts = torch.tensor([[0.0, 16.0]]).repeat(10000, 1)
    y = uniform_dequantise(counts, 17, torch.Generator().manual_seed(0))
    assert (y[:, 0] >= 0).all() and (y[:, 0] < 1 / 17).all() and (y[:, 1] >= 16 / 17).all() and (y[:, 1] < 1).all()
    assert y[:, 0].mean().item() == pytest.approx(0.5 / 17, rel=0.02)


def test_samples_of_a_dequantised_flow_are_levels():
    model = tiny_model("uniform")
    x = model.sample(500, generator=torch.Generator().manual_seed(0))
    assert x.dtype == torch.int64 and x.shape == (500, 2) and x.min() >= 0 and x.max() <= 2


def test_a_flow_learns_a_2d_gaussian_with_nll_loss():
    torch.manual_seed(0)
    x = torch.randn(4096, 2) @ torch.tensor([[2.0, 0.0], [1.0, 0.5]]) + torch.tensor([1.0, -2.0])
    flow = Flow(2, couplings=2, hidden=(16,))
    fit(flow, nll_loss, x, epochs=20, batch_size=256, lr=1e-2, progress=False)
    reference = D.MultivariateNormal(x.mean(dim=0), torch.cov(x.T))
    assert nll_loss(flow, x).item() == pytest.approx(-reference.log_prob(x).mean().item(), abs=0.05)


# ---- bad input -----------------------------------------------------------------------------------

def test_an_odd_dimension_cannot_be_split_in_halves():
    with pytest.raises(ValueError, match="n_features must be even"):
        AffineCoupling(5)
    with pytest.raises(ValueError, match="n_features must be even"):
        Flow(3, couplings=2)
    assert Flow(3, couplings=0).log_prob(torch.zeros(2, 3)).shape == (2,)


def test_bad_input_is_refused_before_any_work():
    flow = Flow(2, couplings=2).train()
    for bad, message in [(torch.zeros(4, 3), r"x must have shape \(n, 2\)"),
                         (torch.tensor([[0.0, float("nan")]]), "x must be finite"),
                         (torch.zeros(4), r"x must have shape \(n, 2\)")]:
        with pytest.raises(ValueError, match=message):
            flow.log_prob(bad)
    assert not any(bool(layer.initialised) for layer in flow.layers if isinstance(layer, ActNorm))
    with pytest.raises(ValueError, match=r"x must lie in \[0, 1\]"):
        Flow(2, couplings=1, logit_alpha=0.05).log_prob(torch.tensor([[0.5, 1.5]]))


def test_bad_counts_are_refused():
    model = DequantisedFlow(n_features=4, levels=5, couplings=1, hidden=(4,))
    for bad in (torch.tensor([[0.0, 1.0, 2.0, 5.0]]), torch.tensor([[0.0, 1.5, 2.0, 3.0]]),
                torch.tensor([[0.0, -1.0, 2.0, 3.0]])):
        with pytest.raises(ValueError, match="counts must hold integer levels 0..4"):
            model.nll_bound(bad)
    with pytest.raises(ValueError, match="counts must be finite"):
        model.nll_bound(torch.tensor([[0.0, float("nan"), 2.0, 3.0]]))
    with pytest.raises(ValueError, match=r"counts must have shape \(n, 4\)"):
        model.nll_bound(torch.zeros(2, 5))


@pytest.mark.parametrize(("make", "error", "message"), [
    (lambda: Flow(2, mixing="sorted"), ValueError, "mixing must be one of"),
    (lambda: Flow(2, couplings=-1), ValueError, "couplings must be in"),
    (lambda: Flow(2, couplings=2.0), TypeError, "couplings must be an int"),
    (lambda: AffineCoupling(4, scale_bound=0.0), ValueError, "scale_bound must be in"),
    (lambda: Logit(alpha=0.5), ValueError, "alpha must be in"),
    (lambda: DequantisedFlow(dequantisation="gaussian"), ValueError, "dequantisation must be one of"),
    (lambda: DequantisedFlow(levels=1), ValueError, "levels must be in"),
    (lambda: DequantisedFlow(logit_alpha=0.0), ValueError, "logit_alpha must be > 0"),
    (lambda: Flow(2).sample(0), ValueError, "n must be in"),
    (lambda: DequantisedFlow(n_features=2, couplings=1).importance_nll(torch.zeros(1, 2), samples=0), ValueError,
     "samples must be in"),
])
def test_bad_arguments_are_named(make, error, message):
    with pytest.raises(error, match=message):
        make()


# ---- save and load -------------------------------------------------------------------------------

def test_a_flow_round_trips_through_a_checkpoint(tmp_path):
    torch.manual_seed(0)
    flow = Flow(4, couplings=3, hidden=(8,), mixing="random", scale_bound=1.5)
    fit(flow, nll_loss, torch.randn(256, 4) * 2 + 1, epochs=2, batch_size=64, progress=False)
    save_model(flow, tmp_path / "flow.pt")
    loaded = load_model(tmp_path / "flow.pt")
    assert isinstance(loaded, Flow) and loaded.hparams == flow.hparams
    assert_same_model(loaded, flow, torch.randn(10, 4), method="log_prob")
    torch.testing.assert_close(loaded.sample(5, torch.Generator().manual_seed(1)),
                               flow.sample(5, torch.Generator().manual_seed(1)))


def test_a_dequantised_flow_round_trips_through_a_checkpoint(tmp_path):
    torch.manual_seed(0)
    model = DequantisedFlow(n_features=4, levels=5, dequantisation="variational", couplings=2, hidden=(8,),
                            dequantiser_hidden=(6,))
    counts = torch.randint(5, (128, 4)).float()
    fit(model, dequantised_nll_loss, counts, epochs=2, batch_size=32, progress=False)
    save_model(model, tmp_path / "dequantised.pt")
    loaded = load_model(tmp_path / "dequantised.pt")
    assert isinstance(loaded, DequantisedFlow) and loaded.hparams == model.hparams
    assert isinstance(loaded.dequantiser, VariationalDequantiser)
    with torch.no_grad():
        torch.testing.assert_close(loaded.nll_bound(counts[:8], torch.Generator().manual_seed(2)),
                                   model.nll_bound(counts[:8], torch.Generator().manual_seed(2)))

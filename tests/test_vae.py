import math

import pytest
import torch
from torch.distributions import Binomial, Normal, kl_divergence

from lecturekit import load_model, save_model
from lecturekit.data import load_digits, to_counts
from lecturekit.train import fit
from lecturekit.vae import (VAE, binomial_log_likelihood, elbo, gaussian_kl, interpolate, iwae_log_likelihood,
                            reparameterize, sample_prior, sample_similar, vae_loss)
from same_model import assert_same_model


@pytest.fixture(scope="module")
def trained():
    torch.manual_seed(0)
    x, _ = load_digits("train")
    model = VAE(latent_dim=4, hidden=64)
    fit(model, vae_loss, x, epochs=15, lr=2e-3, progress=False)
    return model


def test_kl_is_zero_at_the_prior():
    assert torch.equal(gaussian_kl(torch.zeros(3, 5), torch.zeros(3, 5)), torch.zeros(3))


def test_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    reference = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(-1)
    assert torch.allclose(gaussian_kl(mu, logvar), reference, atol=1e-5)


def test_reparametrised_samples_have_the_right_moments():
    torch.manual_seed(0)
    mu, logvar = torch.tensor([1.0, -2.0]), torch.tensor([0.0, math.log(0.25)])
    z = reparameterize(mu.expand(200000, 2), logvar.expand(200000, 2))
    assert torch.allclose(z.mean(0), mu, atol=0.01)
    assert torch.allclose(z.var(0), logvar.exp(), rtol=0.02)


def test_reparametrisation_passes_gradients_to_mean_and_log_variance():
    mu = torch.zeros(3, requires_grad=True)
    logvar = torch.zeros(3, requires_grad=True)
    eps = torch.tensor([0.5, -1.0, 2.0])
    reparameterize(mu, logvar, eps).sum().backward()
    assert torch.equal(mu.grad, torch.ones(3))
    assert torch.allclose(logvar.grad, 0.5 * eps)  # d/dlogvar of exp(logvar / 2) eps at logvar = 0


def test_binomial_log_likelihood_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    logits, counts = torch.randn(5, 64, generator=g), torch.randint(0, 17, (5, 64), generator=g)
    reference = Binomial(16, logits=logits).log_prob(counts.float()).sum(-1)
    assert torch.allclose(binomial_log_likelihood(logits, counts), reference, atol=1e-3)


def test_elbo_is_reconstruction_minus_kl_and_shapes(trained):
    x, _ = load_digits("test")
    terms = elbo(trained, x[:7])
    assert all(v.shape == (7,) for v in terms.values())
    assert torch.allclose(terms["elbo"], terms["reconstruction"] - terms["kl"])
    assert (terms["kl"] >= 0).all() and (terms["elbo"] < 0).all()


def test_iwae_is_above_the_elbo_and_grows_with_k(trained):
    x, _ = load_digits("test")
    x = x[:100]
    torch.manual_seed(0)
    elbo_estimate = torch.stack([elbo(trained, x)["elbo"] for _ in range(50)]).mean(0)
    bounds = [iwae_log_likelihood(trained, x, k).mean().item() for k in (1, 10, 100, 1000)]
    assert bounds[0] == pytest.approx(elbo_estimate.mean().item(), abs=0.5)  # k = 1 is the ELBO
    assert elbo_estimate.mean().item() < bounds[1] < bounds[2] < bounds[3]


def test_sampling_and_interpolation_shapes_and_support(trained):
    x, _ = load_digits("test")
    g = torch.Generator().manual_seed(0)
    samples = sample_prior(trained, 5, generator=g)
    assert samples.shape == (5, 64) and torch.equal(samples * 16, (samples * 16).round())
    assert sample_prior(trained, 5, mean=True).shape == (5, 64)
    assert sample_similar(trained, x[0], 6, scale=0.5).shape == (6, 64)
    path = interpolate(trained, x[0], x[1], steps=5)
    assert path.shape == (5, 64)
    assert torch.allclose(path[0], trained(x[:1])[0], atol=1e-6)


def test_similar_objects_at_scale_zero_are_the_reconstruction(trained):
    x, _ = load_digits("test")
    similar = sample_similar(trained, x[3], 4, scale=0.0)
    assert torch.allclose(similar, trained(x[3:4]).expand(4, 64), atol=1e-6)


def test_similar_objects_are_decoder_means_at_random_codes_around_mu(trained):
    x, _ = load_digits("test")
    similar = sample_similar(trained, x[3], 5, scale=2.0, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        mu, logvar = trained.encode(x[3:4])
        eps = torch.randn(5, mu.shape[1], generator=torch.Generator().manual_seed(1))
        expected = trained.decode(mu + 2.0 * (0.5 * logvar).exp() * eps)
    torch.testing.assert_close(similar, expected)
    assert not torch.equal(similar * 16, (similar * 16).round())  # means, not Binomial draws of counts / 16


def test_save_and_load_keep_the_model(trained, tmp_path):
    x, _ = load_digits("test")
    save_model(trained, tmp_path / "vae.pt")
    loaded = load_model(tmp_path / "vae.pt")
    assert_same_model(loaded, trained, x)
    assert_same_model(loaded, trained, x, method="encode")


def test_bad_input():
    with pytest.raises(ValueError, match=r"latent_dim must be in \[1, inf\]"):
        VAE(latent_dim=0)
    model = VAE(latent_dim=2, hidden=8)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        elbo(model, torch.full((2, 64), 1.5))
    with pytest.raises(ValueError, match="k / 16"):
        elbo(model, torch.full((2, 64), 0.3))
    with pytest.raises(ValueError, match=r"shape \(n, 64\)"):
        model.encode(torch.zeros(2, 10))
    with pytest.raises(ValueError, match="k must be in"):
        iwae_log_likelihood(model, torch.zeros(2, 64), k=0)


def exact_log_likelihood(model, x, grid=20_001, bound=8.0):
    """log p(x) = log ∫ p_beta(x | z) N(z; 0, 1) dz for a 1-D latent, by the trapezoid rule."""
    z = torch.linspace(-bound, bound, grid)[:, None]
    with torch.no_grad():
        log_joint = binomial_log_likelihood(model.decoder(z)[:, None, :], to_counts(x)[None]) \
            + Normal(0.0, 1.0).log_prob(z)
    weights = torch.full((grid, 1), 2 * bound / (grid - 1))
    weights[[0, -1]] /= 2
    return torch.logsumexp(log_joint + weights.log(), dim=0)


def test_iwae_climbs_towards_the_exact_log_likelihood_and_stays_below_it():
    """With a 1-D latent, log p(x) is an integral that quadrature computes exactly; the
    importance-weighted bound must rise towards it as K grows (Burda et al., 2016, Thm. 1)."""
    torch.manual_seed(0)
    x = load_digits("train")[0][:20]
    model = VAE(latent_dim=1, hidden=16)
    fit(model, vae_loss, x, epochs=300, batch_size=20, lr=1e-2, progress=False)
    exact = exact_log_likelihood(model, x)
    torch.testing.assert_close(exact, exact_log_likelihood(model, x, grid=40_001), atol=1e-4, rtol=0)
    bounds = {k: torch.stack([iwae_log_likelihood(model, x, k=k) for _ in range(repeats)]).mean(0)
              for k, repeats in [(1, 200), (10, 50), (1000, 4)]}
    gaps = {k: (exact - bound).mean().item() for k, bound in bounds.items()}
    assert 0 < gaps[1000] < gaps[10] < gaps[1], gaps

r"""The variational autoencoder (Kingma & Welling, 2014), for the digits' pixel counts.

Latent z ~ p(z) = N(0, I). The decoder p_beta(x | z) makes each pixel count k_i in 0..16
Binomial(16, p_i(z)), so likelihoods are honest probabilities of the data, in nats.
The encoder q_alpha(z | x) = N(mu(x), diag(exp(logvar(x)))) approximates the posterior.
Jensen's inequality gives the evidence lower bound (ELBO) on log p(x):

    log p(x) >= E_{q_alpha(z|x)} log p_beta(x | z) - KL(q_alpha(z | x) || p(z))

and the reparametrisation z = f(x, alpha, eps) = mu + exp(logvar / 2) * eps, eps ~ N(0, I),
lets its gradient flow to alpha through a sample. The importance-weighted bound with K
samples (Burda et al., 2016) is tighter, and tends to log p(x) as K grows:

    log p(x) >= E log (1/K) sum_k p_beta(x | z_k) p(z_k) / q_alpha(z_k | x),  z_k ~ q_alpha(z | x)
"""
import math

import torch
from torch import nn

from ._checks import check_float, check_int
from .data import DIGIT_MAX, to_counts
from .networks import mlp


def gaussian_kl(mu, logvar):
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) per sample, summed over the latent dimensions:

        1/2 sum_j ( mu_j^2 + exp(logvar_j) - 1 - logvar_j )
    """
    return 0.5 * (mu**2 + logvar.exp() - 1.0 - logvar).sum(dim=-1)


def reparameterize(mu, logvar, eps=None):
    """z = mu + exp(logvar / 2) * eps with eps ~ N(0, I): a sample of q(z | x) that is a
    differentiable function of mu and logvar."""
    if eps is None:
        eps = torch.randn_like(mu)
    return mu + (0.5 * logvar).exp() * eps


def binomial_log_likelihood(logits, counts):
    """log p(x | z) = sum_i log Binomial(k_i; 16, p_i), with p_i = sigmoid(logits_i):

        sum_i [ log C(16, k_i) + k_i log p_i + (16 - k_i) log(1 - p_i) ]
    """
    counts = counts.to(logits.dtype)
    log_binomial = (torch.lgamma(torch.tensor(DIGIT_MAX + 1.0)) - torch.lgamma(counts + 1)
                    - torch.lgamma(DIGIT_MAX - counts + 1))
    log_p, log_not_p = nn.functional.logsigmoid(logits), nn.functional.logsigmoid(-logits)
    return (log_binomial + counts * log_p + (DIGIT_MAX - counts) * log_not_p).sum(dim=-1)


class VAE(nn.Module):
    """Encoder q_alpha(z | x) and Binomial decoder p_beta(x | z), two hidden layers each.

    Parameters
    ----------
    n_features : pixels per image (64).
    latent_dim : size of z, at least 1.
    hidden : width of the hidden layers.
    """

    def __init__(self, n_features=64, latent_dim=8, hidden=256):
        super().__init__()
        n_features = check_int("n_features", n_features, low=1)
        latent_dim = check_int("latent_dim", latent_dim, low=1)
        hidden = check_int("hidden", hidden, low=1)
        self.hparams = dict(n_features=n_features, latent_dim=latent_dim, hidden=hidden)
        self.encoder = mlp([n_features, hidden, hidden, 2 * latent_dim])
        self.decoder = mlp([latent_dim, hidden, hidden, n_features])

    def encode(self, x):
        """The mean and log-variance of q_alpha(z | x), each of shape (n, latent_dim)."""
        n_features = self.hparams["n_features"]
        if x.shape[-1] != n_features:
            raise ValueError(f"x must have shape (n, {n_features}); got {tuple(x.shape)}")
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar

    def decode(self, z):
        """The Binomial success probabilities p(z) = E[x | z] in [0, 1], shape (..., n_features)."""
        return torch.sigmoid(self.decoder(z))

    def forward(self, x):
        """The mean reconstruction E[x | z = mu(x)]."""
        return self.decode(self.encode(x)[0])


def elbo(model, x):
    """Per-sample ELBO = reconstruction - KL, with one reparametrised sample; returns a dict
    of tensors of shape (n,): "elbo", "reconstruction" (E_q log p(x|z)) and "kl"."""
    counts = to_counts(x).to(x.device)
    mu, logvar = model.encode(x)
    z = reparameterize(mu, logvar)
    reconstruction = binomial_log_likelihood(model.decoder(z), counts)
    kl = gaussian_kl(mu, logvar)
    return {"elbo": reconstruction - kl, "reconstruction": reconstruction, "kl": kl}


def vae_loss(model, x):
    """The training loss for `train.fit`: the negative ELBO in nats per image, with its parts."""
    terms = elbo(model, x)
    return {"loss": -terms["elbo"].mean(), "reconstruction": -terms["reconstruction"].mean(),
            "kl": terms["kl"].mean()}


@torch.no_grad()
def iwae_log_likelihood(model, x, k=1000, batch=100):
    """The importance-weighted estimate of log p(x) with k samples, per image (nats):

        log (1/k) sum_j p_beta(x | z_j) p(z_j) / q_alpha(z_j | x),   z_j ~ q_alpha(z | x)

    k = 1 is the ELBO itself. Samples are drawn `batch` at a time to bound memory.
    """
    k = check_int("k", k, low=1)
    counts = to_counts(x).to(x.device)
    mu, logvar = model.encode(x)
    std = (0.5 * logvar).exp()
    log_weights = []
    for start in range(0, k, batch):
        eps = torch.randn(min(batch, k - start), *mu.shape, device=x.device)
        z = mu + std * eps
        log_prior = -0.5 * (z**2).sum(-1) - 0.5 * z.shape[-1] * math.log(2 * math.pi)
        log_q = (-0.5 * eps**2 - 0.5 * logvar - 0.5 * math.log(2 * math.pi)).sum(-1)
        log_weights.append(binomial_log_likelihood(model.decoder(z), counts) + log_prior - log_q)
    return torch.logsumexp(torch.cat(log_weights), dim=0) - math.log(k)


@torch.no_grad()
def sample_prior(model, n, generator=None, mean=False):
    """n new images: z ~ N(0, I), then x ~ p_beta(x | z) (or its mean E[x | z] if `mean`)."""
    n = check_int("n", n, low=1)
    device = next(model.parameters()).device
    z = torch.randn(n, model.hparams["latent_dim"], generator=generator).to(device)
    return _decode_images(model, z, generator, mean)


@torch.no_grad()
def sample_similar(model, x, n, scale=1.0, generator=None):
    """n objects similar to one image x: the decoder's means x' = E[x | z] at n random codes
    z = mu(x) + scale * sigma(x) * eps, eps ~ N(0, I).

    The codes are random, the images are not samples: each is the mean of p_beta(x | z), a
    grey-level image with no Binomial pixel noise. `scale` = 1 draws z from q_alpha(z | x);
    `scale` = 0 gives n copies of the mean reconstruction.
    """
    n = check_int("n", n, low=1)
    scale = check_float("scale", scale, low=0.0)
    mu, logvar = model.encode(x.reshape(1, -1))
    eps = torch.randn(n, mu.shape[1], generator=generator).to(mu.device)
    return model.decode(mu + scale * (0.5 * logvar).exp() * eps)


@torch.no_grad()
def interpolate(model, x_a, x_b, steps=8):
    """Decoded means along the straight line between the codes mu(x_a) and mu(x_b)."""
    steps = check_int("steps", steps, low=2)
    mu, _ = model.encode(torch.stack([x_a.reshape(-1), x_b.reshape(-1)]))
    t = torch.linspace(0, 1, steps, device=mu.device)[:, None]
    return model.decode((1 - t) * mu[0] + t * mu[1])


def _decode_images(model, z, generator, mean):
    p = model.decode(z)
    if mean:
        return p
    counts = torch.binomial(torch.full_like(p, float(DIGIT_MAX)).cpu(), p.cpu(), generator=generator)
    return (counts / DIGIT_MAX).to(p.device)

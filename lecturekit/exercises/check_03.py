"""Checkers for the exercises of lecture 03: the VAE's KL term and the reparametrised sample."""
import torch
from torch.distributions import Normal, kl_divergence

from ..vae import reparameterize as _reference_reparameterize
from ._feedback import Case, Exercise, Mutant


def _gaussians(n=3, k=2, scale=1.0, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return scale * torch.randn(n, k, generator=generator), scale * torch.randn(n, k, generator=generator)


def _reference_kl(mu, logvar):
    q = Normal(mu, (0.5 * logvar).exp())
    return kl_divergence(q, Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(dim=-1)


def _formula(mu, logvar):
    return mu**2 + logvar.exp() - 1.0 - logvar


KL = Exercise(
    name="gaussian_kl",
    reference=_reference_kl,
    cases=(Case("mu = 0, logvar = 0: q is the prior", lambda: (torch.zeros(2, 3), torch.zeros(2, 3))),
           Case("3 samples, 2 latent dimensions", lambda: _gaussians()),
           Case("5 samples, 4 latent dimensions, wider spread", lambda: _gaussians(n=5, k=4, scale=2.0, seed=1))),
    hint="KL(N(mu, sigma^2) || N(0, 1)) = 1/2 sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2), with "
         "sigma^2 = exp(logvar); sum over the latent dimensions (dim=-1), one value per sample.",
    mutants=(Mutant("the KL without its 1/2", lambda mu, logvar: _formula(mu, logvar).sum(dim=-1),
                    "Each dimension contributes 1/2 (mu^2 + sigma^2 - 1 - log sigma^2)."),
             Mutant("+ log sigma^2 where - log sigma^2 belongs",
                    lambda mu, logvar: 0.5 * (mu**2 + logvar.exp() - 1.0 + logvar).sum(dim=-1),
                    "The entropy of q enters with a minus sign: ... - 1 - logvar."),
             Mutant("one number for the whole batch", lambda mu, logvar: 0.5 * _formula(mu, logvar).sum(),
                    "Sum over the latent dimensions only (dim=-1): the ELBO needs one KL per sample.")),
)


def _with_gradients(fn, args):
    """The sample z and the gradients of z.sum() with respect to mu and logvar."""
    mu, logvar, eps = args
    mu, logvar = mu.clone().requires_grad_(True), logvar.clone().requires_grad_(True)
    z = fn(mu, logvar, eps)
    if not isinstance(z, torch.Tensor):
        return z, None, None
    if not z.requires_grad:
        return z, torch.zeros_like(mu), torch.zeros_like(logvar)
    grads = torch.autograd.grad(z.sum(), (mu, logvar), allow_unused=True)
    return (z, *(torch.zeros_like(a) if g is None else g for a, g in zip((mu, logvar), grads)))


def _draw(n=3, k=2, seed=0):
    mu, logvar = _gaussians(n, k, seed=seed)
    return mu, logvar, torch.randn(n, k, generator=torch.Generator().manual_seed(seed + 100))


REPARAMETERIZE = Exercise(
    name="reparameterize",
    reference=_reference_reparameterize,
    observe=_with_gradients,
    parts=("z", "the gradient of z.sum() with respect to mu", "the gradient of z.sum() with respect to logvar"),
    cases=(Case("eps = 0: z is the mean", lambda: (*_gaussians(2, 3, seed=2), torch.zeros(2, 3))),
           Case("3 samples, 2 latent dimensions", lambda: _draw()),
           Case("4 samples, 5 latent dimensions", lambda: _draw(4, 5, seed=1))),
    hint="z = mu + sigma * eps with sigma = exp(logvar / 2); write it with torch operations on mu and logvar "
         "so that gradients reach both.",
    mutants=(Mutant("exp(logvar) used as the standard deviation",
                    lambda mu, logvar, eps: mu + logvar.exp() * eps,
                    "exp(logvar) is the variance sigma^2; the standard deviation is exp(logvar / 2)."),
             Mutant("logvar used as the standard deviation", lambda mu, logvar, eps: mu + logvar * eps,
                    "logvar is log sigma^2, which may be negative: sigma = exp(logvar / 2)."),
             Mutant("a sample detached from mu and logvar",
                    lambda mu, logvar, eps: _reference_reparameterize(mu, logvar, eps).detach(),
                    "The point of the trick is that z is a differentiable function of mu and logvar: "
                    "no .detach(), no numpy, no torch.no_grad().")),
)

gaussian_kl = KL.check
reparameterize = REPARAMETERIZE.check
EXERCISES = (KL, REPARAMETERIZE)

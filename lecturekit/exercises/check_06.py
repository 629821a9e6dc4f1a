"""Checkers for the exercises of lecture 06: LSGAN's discriminator loss and WGAN-GP's gradient penalty."""
import torch
from torch import nn

from ..gan import discriminator_loss
from ._feedback import Case, Difference, Exercise, Malformed, Mutant


def _scores(n=4, seed=0):
    return torch.randn(n, generator=torch.Generator().manual_seed(seed))


LSGAN = Exercise(
    name="lsgan_discriminator_loss",
    reference=lambda real_scores, fake_scores: discriminator_loss("lsgan", real_scores, fake_scores),
    cases=(Case("4 real and 4 fake scores", lambda: (_scores(), _scores(seed=1))),
           Case("3 real, 5 fake scores", lambda: (_scores(3, seed=2), _scores(5, seed=3)))),
    hint="1/2 E (f(x) - b)^2 + 1/2 E (f(G(z)) - a)^2 with the targets b = 1 for real and a = 0 for fake, "
         "each mean over its own samples.",
    mutants=(Mutant("the targets swapped (real -> 0, fake -> 1)",
                    lambda real, fake: 0.5 * (real**2).mean() + 0.5 * ((fake - 1) ** 2).mean(),
                    "The discriminator pushes real scores towards b = 1 and fake ones towards a = 0."),
             Mutant("the loss without its 1/2",
                    lambda real, fake: ((real - 1) ** 2).mean() + (fake**2).mean(),
                    "Each squared term carries a factor 1/2 (Mao et al., 2017).")),
)


class _QuadraticCritic(nn.Module):
    """f(x) = w/2 ||x||^2 + 0.3 sum(x): its gradient w x + 0.3 differs from sample to sample."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(1.5))

    def forward(self, x):
        x = x.flatten(start_dim=1)
        return 0.5 * self.w * (x**2).sum(dim=1) + 0.3 * x.sum(dim=1)


def _batch(shape, seed=0):
    """critic, real, fake and eps; eps is drawn as lecturekit.gan.gradient_penalty draws it
    from torch.Generator().manual_seed(seed + 100)."""
    generator = torch.Generator().manual_seed(seed)
    real, fake = torch.randn(shape, generator=generator), torch.randn(shape, generator=generator)
    eps = torch.rand(shape[0], *[1] * (len(shape) - 1), generator=torch.Generator().manual_seed(seed + 100))
    return _QuadraticCritic(), real, fake, eps


def _reference_penalty(critic, real, fake, eps):
    """One sample at a time, so no batch dimension can mix into a norm (tests/test_exercises.py
    checks that lecturekit.gan.gradient_penalty agrees when it draws the same eps)."""
    penalties = []
    for x_hat in eps * real + (1 - eps) * fake:
        x_hat = x_hat.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(x_hat[None]).sum(), x_hat, create_graph=True)
        penalties.append((grad.norm() - 1) ** 2)
    return torch.stack(penalties).mean()


def _with_critic_gradient(fn, args):
    """The penalty and its gradient with respect to the critic's weight w (the penalty must train the critic)."""
    critic = args[0]
    penalty = fn(*args)
    if not isinstance(penalty, torch.Tensor) or not penalty.requires_grad:
        return penalty, torch.zeros(())
    try:
        (grad,) = torch.autograd.grad(penalty, critic.w, allow_unused=True)
    except RuntimeError as error:  # the graph was freed: the function ran backward itself
        raise Malformed(Difference(
            "the checker cannot differentiate your penalty: its graph was freed, as a .backward() inside your "
            "function frees it", "Return the penalty without calling .backward(): the training loop adds it to the "
            "critic's loss and calls backward once.")) from error
    return penalty, torch.zeros(()) if grad is None else grad


def _gradients(critic, x, create_graph=True):
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=create_graph)
    return grad


def _batch_norm(critic, real, fake, eps):
    return (_gradients(critic, eps * real + (1 - eps) * fake).norm() - 1) ** 2


def _at_real_points(critic, real, fake, eps):
    return ((_gradients(critic, real).flatten(start_dim=1).norm(dim=1) - 1) ** 2).mean()


def _last_axis_norm(critic, real, fake, eps):
    return ((_gradients(critic, eps * real + (1 - eps) * fake).norm(dim=-1) - 1) ** 2).mean()


def _no_create_graph(critic, real, fake, eps):
    grad = _gradients(critic, eps * real + (1 - eps) * fake, create_graph=False)
    return ((grad.flatten(start_dim=1).norm(dim=1) - 1) ** 2).mean()


PENALTY = Exercise(
    name="gradient_penalty",
    reference=_reference_penalty,
    observe=_with_critic_gradient,
    parts=("the penalty", "the penalty's gradient with respect to the critic's weight"),
    cases=(Case("4 points in 2-D", lambda: _batch((4, 2))),
           Case("3 images of shape (2, 3)", lambda: _batch((3, 2, 3), seed=1))),
    hint="x_hat = eps * real + (1 - eps) * fake; grad = torch.autograd.grad(critic(x_hat).sum(), x_hat, "
         "create_graph=True)[0]; then the mean over samples of (||grad_i||_2 - 1)^2, the norm of each "
         "sample's flattened gradient: grad.flatten(start_dim=1).norm(dim=1).",
    mutants=(Mutant("the gradient's norm taken over the whole batch instead of per sample", _batch_norm,
                    "The constraint is 1-Lipschitz at every point: one norm per sample, norm(dim=1) after flattening."),
             Mutant("the penalty at the real points, not at the interpolates", _at_real_points,
                    "Gulrajani et al. (2017) penalise on x_hat = eps x + (1 - eps) G(z), between the two distributions."),
             Mutant("the norm over the last axis only, not the flattened sample", _last_axis_norm,
                    "For images, flatten each sample first: grad.flatten(start_dim=1).norm(dim=1)."),
             Mutant("a penalty with the right value but no grad_fn, cut off from the critic's weights",
                    _no_create_graph,
                    "To the optimiser such a penalty is a constant: it cannot train the critic. The graph is lost when "
                    "the gradient is taken without create_graph=True, or when the value leaves torch (.item(), "
                    ".detach(), numpy, torch.tensor(...)); keep the penalty a torch expression of critic(x_hat).")),
)

lsgan_discriminator_loss = LSGAN.check
gradient_penalty = PENALTY.check
EXERCISES = (LSGAN, PENALTY)

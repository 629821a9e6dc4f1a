"""Checkers for the exercises of lecture 05: the discriminator's loss and the non-saturating generator loss."""
import torch
from torch.nn.functional import binary_cross_entropy_with_logits, softplus

from ..gan import generator_loss
from ._feedback import Case, Exercise, Mutant


def _scores(n=4, scale=1.0, shift=0.0, seed=0):
    return scale * torch.randn(n, generator=torch.Generator().manual_seed(seed)) + shift


def _reference_discriminator_loss(real_scores, fake_scores):
    return (binary_cross_entropy_with_logits(real_scores, torch.ones_like(real_scores))
            + binary_cross_entropy_with_logits(fake_scores, torch.zeros_like(fake_scores)))


def _naive_discriminator_loss(real_scores, fake_scores):
    return -torch.log(torch.sigmoid(real_scores)).mean() - torch.log(1 - torch.sigmoid(fake_scores)).mean()


DISCRIMINATOR = Exercise(
    name="discriminator_loss",
    reference=_reference_discriminator_loss,
    cases=(Case("4 real and 4 fake scores near 0", lambda: (_scores(), _scores(seed=1))),
           Case("3 real, 5 fake scores", lambda: (_scores(3, seed=2), _scores(5, seed=3))),
           Case("a badly wrong D: real scores near -200, fake near +200",
                lambda: (_scores(scale=5.0, shift=-200.0, seed=4), _scores(scale=5.0, shift=200.0, seed=5)))),
    hint="-E log D(x) - E log(1 - D(G(z))) with D = sigmoid(f): on raw scores, -log sigmoid(f) = softplus(-f) "
         "and -log(1 - sigmoid(f)) = softplus(f), which never overflow. Average each term over its own samples.",
    mutants=(Mutant("the real and fake labels swapped",
                    lambda real, fake: softplus(real).mean() + softplus(-fake).mean(),
                    "Real samples should get D(x) -> 1: the real term is -log D(x) = softplus(-f(x))."),
             Mutant("the loss without its fake term", lambda real, fake: softplus(-real).mean(),
                    "D also learns from fakes: add -E log(1 - D(G(z))) = E softplus(f(G(z)))."),
             Mutant("log(sigmoid(f)) computed naively", _naive_discriminator_loss,
                    "sigmoid(-200) rounds to 0 in float32 and log(0) = -inf: use F.softplus or F.logsigmoid.")),
)

NON_SATURATING = Exercise(
    name="non_saturating_loss",
    reference=lambda fake_scores: generator_loss("non_saturating", fake_scores),
    cases=(Case("4 fake scores near 0", lambda: (_scores(),)),
           Case("an early D that rejects every fake: scores near -5", lambda: (_scores(6, shift=-5.0, seed=1),)),
           Case("a confident D: scores near -200", lambda: (_scores(scale=5.0, shift=-200.0, seed=2),))),
    hint="-E log D(G(z)) with D = sigmoid(f): on raw scores, -log sigmoid(f) = softplus(-f), averaged over the fakes.",
    mutants=(Mutant("the saturating loss E log(1 - D(G(z)))", lambda f: -softplus(f).mean(),
                    "That is the minimax loss, whose gradient vanishes when D rejects the fakes; "
                    "the non-saturating loss is -E log D(G(z))."),
             Mutant("the sign flipped, +E log D(G(z))", lambda f: -softplus(-f).mean(),
                    "G minimises -log D(G(z)): it wants D(G(z)) -> 1, so the loss falls as the scores rise."),
             Mutant("log(sigmoid(f)) computed naively", lambda f: -torch.log(torch.sigmoid(f)).mean(),
                    "sigmoid(-200) rounds to 0 in float32 and log(0) = -inf: use F.softplus(-f) or -F.logsigmoid(f).")),
)

discriminator_loss = DISCRIMINATOR.check
non_saturating_loss = NON_SATURATING.check
EXERCISES = (DISCRIMINATOR, NON_SATURATING)

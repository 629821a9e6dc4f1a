import itertools
import math

import pytest
import scipy.stats
import torch
from torch.nn import functional as F

from lecturekit import load_model, save_model
from lecturekit.autoregressive import (MADE, CausalConvolution, CausalTransformer, ClassMixture, FullyVisible,
                                       dependence, joint_nll_loss, nll_loss)
from lecturekit.train import fit
from same_model import assert_same_model

FACTORIES = {
    "fully_visible": lambda dim, levels: FullyVisible(dim=dim, levels=levels),
    "made": lambda dim, levels: MADE(dim=dim, levels=levels, hidden=(24, 24)),
    "causal_convolution": lambda dim, levels: CausalConvolution(dim=dim, levels=levels, channels=12,
                                                                dilations=(1, 2, 4, 8), dropout=0.1),
    "causal_transformer": lambda dim, levels: CausalTransformer(dim=dim, levels=levels, width=16, heads=2,
                                                                layers=2, dropout=0.1),
    "class_mixture": lambda dim, levels: ClassMixture(dim=dim, levels=levels, classes=3, channels=12,
                                                      dilations=(1, 2, 4, 8), dropout=0.1),
}
parametrize_models = pytest.mark.parametrize("name", list(FACTORIES))


def make(name, dim=12, levels=5, seed=0):
    torch.manual_seed(seed)
    return FACTORIES[name](dim, levels).eval()


@parametrize_models
def test_changing_x_j_changes_only_the_conditionals_after_j(name):
    model = make(name)
    x = torch.randint(model.levels, (1, model.dim), generator=torch.Generator().manual_seed(1))
    before = model.logits(x)
    for j in range(model.dim):
        changed = x.clone()
        changed[0, j] = (x[0, j] + 1) % model.levels
        after = model.logits(changed)
        torch.testing.assert_close(after[0, : j + 1], before[0, : j + 1], atol=1e-6, rtol=0)
        if j < model.dim - 1:
            assert (after[0, j + 1:] - before[0, j + 1:]).abs().max() > 1e-6, f"x_{j} reaches no later position"


SEQUENCE_MODELS = ["causal_convolution", "causal_transformer", "class_mixture"]


def make_sequence_model(name):
    """A sequence model whose learned position embeddings (the Transformer's) are not all zero, so
    that a wrongly sliced embedding shows."""
    model = make(name)
    if hasattr(model, "position"):
        torch.nn.init.normal_(model.position, generator=torch.Generator().manual_seed(3))
    return model


@pytest.mark.parametrize("name", SEQUENCE_MODELS)
def test_a_prefix_pass_gives_the_full_passs_logits(name):
    model = make_sequence_model(name)
    x = torch.randint(model.levels, (5, model.dim), generator=torch.Generator().manual_seed(2))
    full = model.logits(x)
    for i in range(model.dim):  # the pass for position i (from 0) runs on x[:, :i + 1] alone
        torch.testing.assert_close(model._logits_at(x, i), full[:, i], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", ["causal_convolution", "causal_transformer"])  # the mixture samples c first
def test_sampling_on_prefixes_draws_what_full_passes_draw(name, monkeypatch):
    model = make_sequence_model(name)
    on_prefixes = model.sample(50, generator=torch.Generator().manual_seed(4))
    monkeypatch.setattr(model, "_logits_at", lambda x, i: model(x)[:, i])
    assert torch.equal(model.sample(50, generator=torch.Generator().manual_seed(4)), on_prefixes)


@parametrize_models
def test_dependence_is_strictly_lower_triangular_and_full(name):
    reads = dependence(make(name), generator=torch.Generator().manual_seed(0))
    assert not reads.triu().any()
    assert reads.tril(-1).sum() >= 0.9 * (12 * 11 / 2)  # nearly every earlier pixel is read at random init


def test_receptive_field_of_an_undilated_convolution_is_a_band():
    torch.manual_seed(0)
    model = CausalConvolution(dim=12, levels=4, channels=8, dilations=(1, 1, 1))
    assert model.receptive_field == 4
    i, j = torch.meshgrid(torch.arange(12), torch.arange(12), indexing="ij")
    assert torch.equal(dependence(model), (i - j >= 1) & (i - j <= 4))


def test_made_masks_let_no_path_reach_an_earlier_or_equal_output():
    model = MADE(dim=6, levels=3, hidden=(10, 7))
    paths = model.output.mask @ model.hidden[1].mask @ model.hidden[0].mask  # (6*3, 6) path counts
    output_variable = torch.arange(6).repeat_interleave(3)
    i, j = output_variable[:, None], torch.arange(6)[None, :]
    assert (paths[i <= j] == 0).all() and (paths[i > j] > 0).all()
    assert torch.equal(model.direct.mask.bool(), (i > j).expand(18, 6))


EVERY_TRIPLE = torch.tensor(list(itertools.product(range(3), repeat=3)))  # row 9 x_1 + 3 x_2 + x_3


def triple_counts(draws):
    """How often each of the 27 triples occurs among `draws`, in the order of EVERY_TRIPLE."""
    return torch.bincount(draws[:, 0] * 9 + draws[:, 1] * 3 + draws[:, 2], minlength=27)


@parametrize_models
def test_the_27_probabilities_of_dim_3_levels_3_sum_to_one(name):
    model = make(name, dim=3, levels=3)
    with torch.no_grad():
        total = model.log_prob(EVERY_TRIPLE).exp().sum()
    torch.testing.assert_close(total, torch.tensor(1.0), atol=1e-5, rtol=0)


@parametrize_models
def test_log_prob_is_minus_the_summed_cross_entropy(name):
    model = make(name)
    x = torch.randint(model.levels, (7, model.dim), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        logits = model.logits(x)
        cross_entropy = F.cross_entropy(logits.reshape(-1, model.levels), x.reshape(-1), reduction="none")
        torch.testing.assert_close(model.log_prob(x), -cross_entropy.view(7, model.dim).sum(dim=1))
        torch.testing.assert_close(nll_loss(model, x), cross_entropy.view(7, model.dim).sum(dim=1).mean())


def dependent_triples(n, generator):
    """x_1 uniform on {0, 1, 2}; x_2 = x_1 and x_3 = (x_1 + x_2) mod 3, each 85% of the time."""
    x1 = torch.randint(3, (n,), generator=generator)
    x2 = torch.where(torch.rand(n, generator=generator) < 0.85, x1, torch.randint(3, (n,), generator=generator))
    x3 = torch.where(torch.rand(n, generator=generator) < 0.85, (x1 + x2) % 3,
                     torch.randint(3, (n,), generator=generator))
    return torch.stack([x1, x2, x3], dim=1)


def chi_square_p_value(counts, p):
    """Pearson's chi-square test of observed `counts` against probabilities `p`; cells expecting
    fewer than 5 counts are pooled into one, as the test's chi-square approximation requires."""
    observed, expected = counts.double(), counts.sum() * p.double() / p.double().sum()
    big = expected >= 5
    if (~big).any():
        observed = torch.cat([observed[big], observed[~big].sum()[None]])
        expected = torch.cat([expected[big], expected[~big].sum()[None]])
    return scipy.stats.chisquare(observed.numpy(), expected.numpy()).pvalue


@parametrize_models
def test_samples_follow_exp_log_prob_by_a_chi_square_test(name):
    model = make(name, dim=3, levels=3)
    fit(model, nll_loss, dependent_triples(600, torch.Generator().manual_seed(0)), epochs=8, batch_size=60,
        lr=3e-2, progress=False)
    with torch.no_grad():
        p = model.log_prob(EVERY_TRIPLE).exp().view(3, 3, 3)
    independent = p.sum((1, 2))[:, None, None] * p.sum((0, 2))[None, :, None] * p.sum((0, 1))[None, None, :]
    assert 0.5 * (p - independent).abs().sum() > 0.2, "the test needs a model whose pixels depend on each other"
    samples = model.sample(20000, generator=torch.Generator().manual_seed(3))
    assert chi_square_p_value(triple_counts(samples), p.reshape(-1)) > 1e-3


def test_temperature_divides_the_logits():
    torch.manual_seed(0)
    model = FullyVisible(dim=1, levels=4)
    with torch.no_grad():
        model.direct.bias.copy_(torch.tensor([0.0, 1.0, -1.0, 0.5]))
    samples = model.sample(20000, generator=torch.Generator().manual_seed(0), temperature=0.5)
    p = F.softmax(model.direct.bias.detach() / 0.5, dim=0)
    assert chi_square_p_value(torch.bincount(samples[:, 0], minlength=4), p) > 1e-3


@parametrize_models
def test_complete_never_changes_a_known_position(name):
    model = make(name)
    generator = torch.Generator().manual_seed(4)
    x = torch.randint(model.levels, (30, model.dim), generator=generator)
    known = torch.rand(30, model.dim, generator=generator) < 0.5
    completed = model.complete(x, known, generator=generator)
    assert torch.equal(completed[known], x[known])
    assert completed.dtype == torch.long and completed.min() >= 0 and completed.max() < model.levels
    assert not torch.equal(completed, x)  # some unknown position was drawn anew


@pytest.mark.parametrize("name", [name for name in FACTORIES if name != "class_mixture"])  # see below
def test_completing_with_nothing_known_is_sampling(name):
    model = make(name)
    x = torch.randint(model.levels, (9, model.dim), generator=torch.Generator().manual_seed(5))
    nothing = torch.zeros(model.dim, dtype=torch.bool)
    completed = model.complete(x, nothing, generator=torch.Generator().manual_seed(6))
    assert torch.equal(completed, model.sample(9, generator=torch.Generator().manual_seed(6)))


@parametrize_models
def test_save_and_load_round_trip(name, tmp_path):
    model = make(name)
    save_model(model, tmp_path / "model.pt")
    loaded = load_model(tmp_path / "model.pt")
    assert type(loaded) is type(model) and loaded.hparams == model.hparams
    x = torch.randint(model.levels, (5, model.dim), generator=torch.Generator().manual_seed(7))
    assert_same_model(loaded, model, x, method="log_prob")


BAD_INPUTS = {
    "a level below 0": ("x", lambda m: m.log_prob(torch.full((2, 12), -1))),
    "a level of K": ("x", lambda m: m.log_prob(torch.full((2, 12), 5))),
    "the wrong width": ("x", lambda m: m.logits(torch.zeros(2, 11, dtype=torch.long))),
    "a float that is not integral": ("x", lambda m: m.log_prob(torch.full((2, 12), 0.5))),
    "temperature 0": ("temperature", lambda m: m.sample(3, temperature=0.0)),
    "a negative temperature": ("temperature", lambda m: m.complete(torch.zeros(2, 12), torch.ones(12).bool(),
                                                                  temperature=-1.0)),
    "a mask that is not bool": ("known", lambda m: m.complete(torch.zeros(2, 12), torch.ones(12))),
}


@parametrize_models
@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_raises_a_value_error_naming_the_argument(name, case):
    argument, call = BAD_INPUTS[case]
    with pytest.raises(ValueError, match=f"^{argument} "):
        call(make(name))


def test_bad_input_is_refused_before_any_random_draw():
    model = make("fully_visible")
    generator = torch.Generator().manual_seed(0)
    state = generator.get_state()
    with pytest.raises(ValueError, match="temperature"):
        model.sample(5, generator=generator, temperature=0.0)
    assert torch.equal(generator.get_state(), state)


def test_integral_floats_are_accepted_as_levels():
    model = make("fully_visible")
    x = torch.randint(5, (3, 12))
    torch.testing.assert_close(model.log_prob(x.float()), model.log_prob(x))


@pytest.mark.parametrize("build, argument", [
    (lambda: FullyVisible(dim=0), "dim"),
    (lambda: MADE(levels=1), "levels"),
    (lambda: CausalConvolution(kernel_size=1), "kernel_size"),
    (lambda: CausalConvolution(dilations=(1, 0)), "dilations"),
    (lambda: CausalTransformer(width=10, heads=4), "width"),
    (lambda: ClassMixture(classes=0), "classes"),
])
def test_bad_hyper_parameters_raise_naming_the_argument(build, argument):
    with pytest.raises(ValueError, match=f"^{argument} "):
        build()


def test_training_lowers_the_negative_log_likelihood():
    model = make("causal_convolution", dim=3, levels=3).train()
    history = fit(model, nll_loss, dependent_triples(300, torch.Generator().manual_seed(1)), epochs=4,
                  batch_size=30, lr=1e-2, progress=False)
    assert history["loss"][-1] < history["loss"][0] - 0.5


def test_class_mixture_log_prob_is_the_log_of_the_mean_of_its_class_likelihoods():
    model = make("class_mixture")
    x = torch.randint(model.levels, (6, model.dim), generator=torch.Generator().manual_seed(8))
    with torch.no_grad():
        per_class = torch.stack([model.log_prob_given(x, torch.full((6,), c)) for c in range(model.classes)])
        logits = model.network(x, context=model.label.weight[1].expand(6, -1))
        torch.testing.assert_close(model.log_prob(x), torch.logsumexp(per_class, 0) - math.log(model.classes))
        torch.testing.assert_close(model.logits(x).logsumexp(-1), torch.zeros(6, model.dim))  # normalised as is
        torch.testing.assert_close(model.log_prob_given(x, torch.full((6,), 1)),
                                   -F.cross_entropy(logits.transpose(1, 2), x, reduction="none").sum(1))


@pytest.fixture(scope="module")
def trained_tiny_mixture():
    """A mixture of 3 classes on (dim 3, levels 3) triples, trained on their labels, and its
    probabilities of the 27 triples."""
    x = dependent_triples(600, torch.Generator().manual_seed(0))
    y = x[:, 0]  # a label that the data carry
    model = make("class_mixture", dim=3, levels=3)
    history = fit(model, joint_nll_loss, (x, y), epochs=8, batch_size=60, lr=3e-2, progress=False)
    assert history["loss"][-1] < history["loss"][0] - 0.3
    with torch.no_grad():
        p = model.log_prob(EVERY_TRIPLE).exp()
    return model, p


def test_class_mixture_completion_from_nothing_follows_exp_log_prob(trained_tiny_mixture):
    """`complete` draws from the mixture's conditionals, `sample` (tested above) class first."""
    model, p = trained_tiny_mixture
    nothing = torch.zeros(20000, 3, dtype=torch.long)
    draws = model.complete(nothing, torch.zeros(3, dtype=torch.bool), generator=torch.Generator().manual_seed(3))
    assert chi_square_p_value(triple_counts(draws), p) > 1e-3


def test_class_mixture_samples_given_a_class_follow_exp_log_prob_given(trained_tiny_mixture):
    model, _ = trained_tiny_mixture
    with torch.no_grad():
        p = model.log_prob_given(EVERY_TRIPLE, torch.full((27,), 2)).exp()
    draws = model.sample_given(torch.full((20000,), 2), generator=torch.Generator().manual_seed(4))
    assert chi_square_p_value(triple_counts(draws), p) > 1e-3


@pytest.mark.parametrize("call", [
    lambda m: m.sample_given(torch.tensor([0, 3])),
    lambda m: m.sample_given(torch.tensor([0.0, 1.0])),
    lambda m: m.log_prob_given(torch.zeros(2, 12, dtype=torch.long), torch.tensor([0, 1, 2])),
])
def test_class_mixture_refuses_bad_labels_naming_c(call):
    with pytest.raises(ValueError, match="^c "):
        call(make("class_mixture"))

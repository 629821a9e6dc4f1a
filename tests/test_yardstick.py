import math
import sys
from pathlib import Path

import pytest
import torch

from lecturekit import seed_everything
from lecturekit.data import DIGIT_MAX, load_digits
from lecturekit.metrics import train_digit_classifier
from lecturekit.naive_bayes import NaiveBayes
from lecturekit.yardstick import (BUDGETS, FAMILIES, FLOW, FLOW_TRAINING, RESULT_KEYS, Contender, references, score,
                                  text_table, to_levels, train_all)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import flows as flow_benchmark  # noqa: E402

TINY = dict(vae_epochs=1, gan_steps=5, ar_channels=8, ar_epochs=1, diffusion_steps=5, iwae_k=4, flow_epochs=1,
            flow_draws=2, ddpm=dict(hidden=8, steps=5))


@pytest.fixture(scope="module")
def digits():
    x_train, y_train = load_digits("train")
    x_test, _ = load_digits("test")
    return x_train, y_train, x_test


@pytest.fixture(scope="module")
def classifier(digits):
    x_train, y_train, _ = digits
    return train_digit_classifier(x_train, y_train, epochs=3)


def on_the_levels(images):
    return torch.equal(images * DIGIT_MAX, torch.round(images * DIGIT_MAX)) and images.min() >= 0 and images.max() <= 1


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_family_trains_samples_on_the_17_levels_and_scores_its_kind_of_nll(digits, family):
    x_train, y_train, x_test = digits
    seed_everything(0)
    contender = FAMILIES[family](x_train[:256], y_train[:256], TINY)
    samples = contender.sample(30, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (30, 64) and on_the_levels(samples)
    assert contender.parameters > 0 and contender.train_seconds > 0
    expected_kind = {"naive Bayes": "exact", "autoregressive": "exact", "VAE": "bound", "normalising flow": "bound",
                     "DDPM": "bound"}
    assert contender.nll_kind == expected_kind.get(family, "none")
    if contender.nll is not None:
        nll = contender.nll(x_test[:10])
        assert nll.shape == (10,) and torch.isfinite(nll).all() and (nll > 0).all()


def test_every_family_and_reference_row_has_a_results_key(digits):
    x_train, _, x_test = digits
    names = list(FAMILIES) + [c.name for c in references(x_train, x_test)]
    assert set(RESULT_KEYS) == set(names) and len(set(RESULT_KEYS.values())) == len(names)


def test_the_normalising_flow_has_the_settings_of_its_benchmark():
    assert FLOW == {**flow_benchmark.DIGITS, "dequantisation": "variational"}
    assert {**FLOW_TRAINING, "epochs": BUDGETS["full"]["flow_epochs"]} == flow_benchmark.DIGIT_TRAINING
    assert BUDGETS["full"]["flow_draws"] == flow_benchmark.FULL["importance_draws"]
    assert BUDGETS["quick"]["flow_epochs"] < BUDGETS["full"]["flow_epochs"]


def test_naive_bayes_nll_is_its_exact_log_likelihood(digits):
    x_train, y_train, x_test = digits
    contender = FAMILIES["naive Bayes"](x_train, y_train, TINY)
    reference = NaiveBayes().fit(x_train, y_train)
    torch.testing.assert_close(contender.nll(x_test), -reference.log_prob(x_test))


def test_references_the_copy_is_flagged_the_test_digits_are_the_unit_and_noise_has_nll_64_ln_17(digits, classifier):
    x_train, _, x_test = digits
    copy, test, noise = references(x_train, x_test)
    generator = torch.Generator().manual_seed(0)
    rows = {c.name: score(c, x_train, x_test, classifier, n=200, generator=generator) for c in (copy, test, noise)}
    assert rows[copy.name]["memorisation"] == 0.0 and rows[copy.name]["precision"] == 1.0
    assert rows[test.name]["memorisation"] == pytest.approx(1.0, abs=0.3)
    assert rows[noise.name]["test_nll"] == pytest.approx(64 * math.log(17))
    assert rows[noise.name]["fid"] > 10 * rows[test.name]["fid"]
    assert rows[noise.name]["precision"] < 0.1
    assert all(math.isnan(row["sample_seconds"]) for row in rows.values())
    assert math.isnan(rows[copy.name]["test_nll"])
    with pytest.raises(ValueError, match="n must be at most 450"):
        test.sample(451)


def test_score_gives_every_column(digits, classifier):
    x_train, y_train, x_test = digits
    contender = FAMILIES["naive Bayes"](x_train, y_train, TINY)
    row = score(contender, x_train, x_test, classifier, n=100, generator=torch.Generator().manual_seed(0),
                time_samples=50)
    assert set(row) == {"fid", "kid", "inception_score", "precision", "recall", "density", "coverage", "memorisation",
                        "test_nll", "train_seconds", "parameters", "sample_seconds"}
    assert all(math.isfinite(value) for value in row.values())
    assert row["parameters"] == 10 * 64 * 17 + 10


def test_to_levels_rounds_and_clamps():
    assert torch.equal(to_levels(torch.tensor([-0.2, 0.03, 0.97, 1.4])), torch.tensor([0.0, 0.0, 1.0, 1.0]))


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="nll_kind must be one of"):
        Contender("x", lambda n, generator=None: None, None, "approximate", 0)
    with pytest.raises(ValueError, match="nll must be given exactly when"):
        Contender("x", lambda n, generator=None: None, None, "exact", 0)
    with pytest.raises(ValueError, match="budget must be one of"):
        train_all(torch.zeros(4, 64), torch.zeros(4), budget="huge")
    with pytest.raises(ValueError, match="family must be one of"):
        train_all(torch.zeros(4, 64), torch.zeros(4), families=["PixelCNN"])


def test_text_table_marks_the_kind_of_nll_and_leaves_missing_values_blank():
    columns = {"fid": 1.234, "kid": 0.5, "inception_score": 3.0, "precision": 0.9, "recall": 0.8, "density": 1.0,
               "coverage": 0.7, "memorisation": 1.1, "train_seconds": 2.0, "sample_seconds": 0.01, "parameters": 10.0}
    table = text_table({"exact model": {**columns, "test_nll": 90.04}, "GAN": {**columns, "test_nll": math.nan}},
                       kinds={"exact model": "exact", "GAN": "none"})
    header, exact, gan = table.splitlines()
    assert header.split()[:2] == ["NLL", "FID"]
    assert exact.split()[2:4] == ["90.0e", "1.23"] and gan.split()[1] == "1.23"

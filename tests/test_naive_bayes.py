import numpy as np
import pytest
import torch
from sklearn.naive_bayes import CategoricalNB

from lecturekit.data import load_digits, to_counts
from lecturekit.naive_bayes import NaiveBayes


@pytest.fixture(scope="module")
def digits():
    return load_digits("train"), load_digits("test")


def sklearn_reference(x, y, alpha):
    return CategoricalNB(alpha=alpha, min_categories=17).fit(to_counts(x).numpy(), y.numpy())


@pytest.mark.parametrize("alpha", [1.0, 0.1, 5.0])
def test_matches_sklearn_categorical_nb(digits, alpha):
    (x, y), (x_test, _) = digits
    ours = NaiveBayes(alpha).fit(x, y)
    ref = sklearn_reference(x, y, alpha)
    counts = to_counts(x_test).numpy()
    assert np.array_equal(ours.predict(x_test).numpy(), ref.predict(counts))
    np.testing.assert_allclose(ours.joint_log_prob(x_test).numpy(), ref.predict_joint_log_proba(counts), rtol=1e-5)
    np.testing.assert_allclose(ours.predict_log_proba(x_test).exp().numpy(), ref.predict_proba(counts), atol=1e-4)


def test_is_a_reasonable_classifier(digits):
    (x, y), (x_test, y_test) = digits
    accuracy = (NaiveBayes().fit(x, y).predict(x_test) == y_test).float().mean().item()
    assert accuracy > 0.85


def test_log_prob_is_the_marginal_of_the_joint(digits):
    (x, y), (x_test, _) = digits
    model = NaiveBayes().fit(x, y)
    joint = model.joint_log_prob(x_test[:5]).double()
    assert torch.allclose(model.log_prob(x_test[:5]).double(), joint.exp().sum(1).log(), rtol=1e-5)


def test_the_pixel_tables_are_distributions(digits):
    (x, y), _ = digits
    model = NaiveBayes(alpha=0.0).fit(x, y)
    assert torch.allclose(model.log_pixel.exp().sum(-1), torch.ones(10, 64))
    assert torch.allclose(model.log_prior.exp().sum(), torch.tensor(1.0))


def test_samples_follow_the_class_conditional_distribution(digits):
    (x, y), _ = digits
    model = NaiveBayes().fit(x, y)
    samples = model.sample(7, 4000, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (4000, 64)
    assert torch.equal(samples * 16, (samples * 16).round())
    # the sample mean is within 4 standard errors of E[x_i | y] for every pixel
    expected = model.pixel_means(7)
    levels = torch.arange(17) / 16
    variance = model.log_pixel[7].exp() @ levels**2 - expected**2
    assert ((samples.mean(0) - expected).abs() <= 4 * (variance / 4000).sqrt() + 1e-6).all()
    assert torch.allclose(model.ink_probability(7), (samples > 0).float().mean(0), atol=0.04)


def test_bad_input_raises_before_any_work(digits):
    (x, y), _ = digits
    with pytest.raises(ValueError, match="alpha must be in"):
        NaiveBayes(alpha=-0.5)
    model = NaiveBayes()
    with pytest.raises(RuntimeError, match="not fitted"):
        model.sample(3, 5)
    model.fit(x, y)
    with pytest.raises(ValueError, match=r"digit must be in \[0, 9\]"):
        model.sample(10, 5)
    with pytest.raises(ValueError, match=r"n must be in \[1, inf\]"):
        model.sample(3, 0)
    with pytest.raises(ValueError, match=r"shape \(n, 64\)"):
        model.predict(x[:, :10])
    with pytest.raises(ValueError, match="labels must be in 0..9"):
        NaiveBayes().fit(x[:3], torch.tensor([0, 1, 12]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model.predict(x * 2)

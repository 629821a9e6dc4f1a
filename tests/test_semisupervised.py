import numpy as np
import pytest
import torch

from lecturekit import load_model, save_model
from lecturekit.data import load_digits
from lecturekit.semisupervised import SemiSupervisedAutoencoder, hide_labels, select_labelled, split_validation
from same_model import assert_same_model


def test_select_labelled_is_balanced_and_repeatable():
    _, y = load_digits("train")
    chosen = select_labelled(y, 50, seed=3)
    assert len(chosen) == len(set(chosen.tolist())) == 50
    assert np.bincount(y.numpy()[chosen], minlength=10).tolist() == [5] * 10
    assert np.array_equal(chosen, select_labelled(y, 50, seed=3))


def test_split_validation_is_balanced_disjoint_and_complete():
    _, y = load_digits("train")
    kept, validation = split_validation(y, 200, seed=1)
    assert len(kept) + len(validation) == len(y) and not set(kept.tolist()) & set(validation.tolist())
    assert np.bincount(y.numpy()[validation], minlength=10).tolist() == [20] * 10
    assert np.array_equal(np.sort(kept), kept)


def test_hide_labels_keeps_only_the_chosen():
    y = torch.tensor([3, 1, 4, 1, 5])
    assert hide_labels(y, [0, 4]).tolist() == [3, -1, -1, -1, 5]


def test_loss_is_the_weighted_sum_of_its_terms():
    torch.manual_seed(0)
    model = SemiSupervisedAutoencoder(hidden=16, lam=2.0, noise=0.0, consistency=3.0)
    x, xl, yl = torch.rand(8, 64), torch.rand(4, 64), torch.tensor([0, 1, 2, 3])
    t = model.loss(x, xl, yl)
    expected = t["reconstruction"] + 2.0 * t["prediction"] + 3.0 * t["consistency"]
    assert torch.allclose(t["loss"], expected)
    assert t["consistency"].item() == pytest.approx(0.0, abs=1e-7)  # no noise: both copies agree


def test_each_term_is_a_mean_over_its_own_images():
    # reconstruction: (1/n) sum over all n images of the squared error summed over pixels;
    # prediction: (1/l) sum over the l labelled images of the cross-entropy (scikit-learn's log_loss)
    from sklearn.metrics import log_loss
    torch.manual_seed(0)
    model = SemiSupervisedAutoencoder(hidden=16, noise=0.0)
    x, xl, yl = torch.rand(8, 64), torch.rand(5, 64), torch.tensor([0, 1, 2, 3, 1])
    t = model.loss(x, xl, yl)
    with torch.no_grad():
        x_hat = model.decoder(model.encoder(x))
        probabilities = model(xl).softmax(dim=1)
    expected_reconstruction = sum(((x_hat[i] - x[i]) ** 2).sum() for i in range(8)) / 8
    assert t["reconstruction"].item() == pytest.approx(expected_reconstruction.item(), rel=1e-5)
    assert t["prediction"].item() == pytest.approx(
        log_loss(yl.numpy(), probabilities.numpy(), labels=range(10)), rel=1e-4)


def test_unlabelled_data_helps_with_50_labels():
    x, y = load_digits("train")
    x_test, y_test = load_digits("test")
    partial = hide_labels(y, select_labelled(y, 50, seed=0))
    torch.manual_seed(0)
    co_trained = SemiSupervisedAutoencoder().fit(x, partial, epochs=40)
    torch.manual_seed(0)
    alone = SemiSupervisedAutoencoder().fit(x, partial, epochs=40, supervised_only=True)
    assert co_trained.score(x_test, y_test) > alone.score(x_test, y_test) + 0.02
    assert co_trained.score(x_test, y_test) > 0.85


def test_early_stopping_keeps_the_best_epoch_of_a_constant_rate_run():
    x, y = load_digits("train")
    x_val, y_val = x[1000:1200], y[1000:1200]
    partial = hide_labels(y[:300], select_labelled(y[:300], 20, seed=0))
    torch.manual_seed(0)
    long_run = SemiSupervisedAutoencoder(hidden=16).fit(x[:300], partial, epochs=6, validation=(x_val, y_val))
    accuracies = long_run.history_["validation accuracy"]
    assert len(accuracies) == 6 and long_run.best_epoch_ == int(np.argmax(accuracies)) + 1
    assert long_run.score(x_val, y_val) == pytest.approx(max(accuracies))
    torch.manual_seed(0)  # the same run stopped at the best epoch gives the same weights
    short_run = SemiSupervisedAutoencoder(hidden=16).fit(x[:300], partial, epochs=long_run.best_epoch_)
    for name, value in short_run.state_dict().items():
        torch.testing.assert_close(value, long_run.state_dict()[name])


def test_supervised_only_takes_as_many_steps_per_epoch_as_co_learning():
    x, y = load_digits("train")
    partial = hide_labels(y[:200], select_labelled(y[:200], 20, seed=0))
    model = SemiSupervisedAutoencoder(hidden=8)
    steps = []
    model.register_forward_pre_hook(lambda module, args: steps.append(len(args[0])))
    model.fit(x[:200], partial, epochs=2, supervised_only=True)
    assert len(model.history_["loss"]) == 2
    assert steps == [20] * (2 * -(-200 // 64))  # 4 full-batch steps per epoch on the 20 labelled images


def test_save_and_load(tmp_path):
    model = SemiSupervisedAutoencoder(hidden=8, lam=3.0)
    save_model(model, tmp_path / "ssae.pt")
    loaded = load_model(tmp_path / "ssae.pt")
    assert loaded.hparams["lam"] == 3.0
    x = torch.rand(3, 64)
    assert_same_model(loaded, model, x)


def test_bad_input():
    _, y = load_digits("train")
    with pytest.raises(ValueError, match="lam must be in"):
        SemiSupervisedAutoencoder(lam=-1.0)
    with pytest.raises(ValueError, match=r"n_labels must be in \[10, 1347\]"):
        select_labelled(y, 2000)
    with pytest.raises(ValueError, match="multiple of the 10 classes"):
        select_labelled(y, 55)
    with pytest.raises(ValueError, match="only"):
        select_labelled(y, 1340)
    model = SemiSupervisedAutoencoder(hidden=8)
    with pytest.raises(ValueError, match="no labelled example"):
        model.fit(torch.rand(5, 64), torch.full((5,), -1))
    with pytest.raises(ValueError, match=r"shape \(n, 64\)"):
        model.fit(torch.rand(5, 10), torch.zeros(5))
    with pytest.raises(ValueError, match="validation must be"):
        model.fit(torch.rand(5, 64), torch.zeros(5), validation=(torch.rand(3, 64), torch.zeros(4)))
    y = torch.arange(20) % 10
    with pytest.raises(ValueError, match=r"labels in 0..9, or -1 for unlabelled; got \[12\]"):
        model.fit(torch.rand(20, 64), torch.where(y == 4, 12, y))
    with pytest.raises(ValueError, match=r"no labelled image of class \[4\]"):
        model.fit(torch.rand(20, 64), torch.where(y == 4, -1, y))
    assert not hasattr(model, "history_")  # refused before any training

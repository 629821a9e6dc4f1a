import numpy as np
import pytest
import torch

from lecturekit import load_model, save_model
from lecturekit.data import load_digits
from lecturekit.semisupervised import SemiSupervisedAutoencoder, hide_labels, select_labelled
from same_model import assert_same_model


def test_select_labelled_is_balanced_and_repeatable():
    _, y = load_digits("train")
    chosen = select_labelled(y, 50, seed=3)
    assert len(chosen) == len(set(chosen.tolist())) == 50
    assert np.bincount(y.numpy()[chosen], minlength=10).tolist() == [5] * 10
    assert np.array_equal(chosen, select_labelled(y, 50, seed=3))


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

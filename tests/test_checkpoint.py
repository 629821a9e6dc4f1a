import pickle

import pytest
import torch

from lecturekit import load_model, save_model
from lecturekit.data import load_digits
from lecturekit.naive_bayes import NaiveBayes
from same_model import assert_same_model


def test_lecturekit_model_round_trip_rebuilds_from_hparams(tmp_path):
    x, y = load_digits("train")
    model = NaiveBayes(alpha=0.5).fit(x, y)
    save_model(model, tmp_path / "nb.pt")
    loaded = load_model(tmp_path / "nb.pt")
    assert isinstance(loaded, NaiveBayes) and loaded.alpha == 0.5
    x_test, _ = load_digits("test")
    assert_same_model(loaded, model, x_test, method="joint_log_prob")


def test_own_model_round_trip_into_a_given_instance(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    save_model(model, tmp_path / "mlp.pt")
    fresh = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    load_model(tmp_path / "mlp.pt", model=fresh)
    x = torch.randn(5, 4)
    assert_same_model(fresh, model, x)
    with pytest.raises(ValueError, match="not a lecturekit model"):
        load_model(tmp_path / "mlp.pt")


def test_loading_into_the_wrong_class_is_refused(tmp_path):
    save_model(torch.nn.Linear(2, 2), tmp_path / "linear.pt")
    with pytest.raises(ValueError, match="holds a torch.nn.modules.linear:Linear"):
        load_model(tmp_path / "linear.pt", model=NaiveBayes())


class Payload:
    def __reduce__(self):
        return (print, ("this ran",))


def test_a_file_with_pickled_code_is_refused(tmp_path):
    with open(tmp_path / "evil.pt", "wb") as f:
        pickle.dump({"class": "x:y", "hparams": {}, "state_dict": Payload()}, f, protocol=2)
    with pytest.raises(pickle.UnpicklingError):
        load_model(tmp_path / "evil.pt", model=torch.nn.Linear(1, 1))


def test_save_model_needs_a_module(tmp_path):
    with pytest.raises(TypeError, match="torch.nn.Module"):
        save_model({"w": 1}, tmp_path / "x.pt")

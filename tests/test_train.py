import math

import pytest
import torch

from lecturekit.train import History, TrainingDiverged, as_tensors, fit, minibatches


def regression_data(n=256):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.3
    return x, y


def squared_error(model, x, y):
    return ((model(x).squeeze(1) - y) ** 2).mean()


def test_fit_learns_a_linear_map_and_records_every_epoch():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    history = fit(model, squared_error, regression_data(), epochs=40, lr=0.05, progress=False)
    assert isinstance(history, History) and not history.interrupted
    assert len(history["loss"]) == 40
    assert history["loss"][-1] < 1e-4 < history["loss"][0]
    assert not model.training


def test_every_figure_of_a_dict_loss_is_recorded_as_a_weighted_mean():
    model = torch.nn.Linear(3, 1)
    x, y = regression_data(100)

    def loss(model, x, y):
        return {"loss": squared_error(model, x, y), "batch_size": torch.tensor(float(len(x)))}

    history = fit(model, loss, (x, y), epochs=2, batch_size=30, progress=False)
    # batches of 30, 30, 30, 10: the sample-weighted mean of the sizes is (3*30*30 + 10*10) / 100
    assert history["batch_size"] == [pytest.approx(28.0)] * 2


def test_minibatches_cover_every_row_once():
    x = torch.arange(10)
    rows = torch.cat([b for (b,) in minibatches((x,), 3)])
    assert sorted(rows.tolist()) == list(range(10))


def test_nan_loss_stops_with_an_error_naming_the_epoch():
    model = torch.nn.Linear(3, 1)
    calls = []

    def loss(model, x, y):
        calls.append(1)
        value = squared_error(model, x, y)
        return value * math.nan if len(calls) > 8 else value

    with pytest.raises(TrainingDiverged, match="epoch 3, batch 1"):
        fit(model, loss, regression_data(256), epochs=5, batch_size=64, progress=False)


def test_ctrl_c_keeps_the_model_and_the_finished_epochs(capsys):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    before = model.weight.detach().clone()
    calls = []

    def loss(model, x, y):
        calls.append(1)
        if len(calls) == 10:
            raise KeyboardInterrupt
        return squared_error(model, x, y)

    history = fit(model, loss, regression_data(256), epochs=5, batch_size=64, lr=0.01, progress=False)
    assert history.interrupted
    assert len(history["loss"]) == 2
    assert not torch.equal(model.weight, before)
    assert "Interrupted during epoch 3" in capsys.readouterr().out


def test_a_ready_optimizer_is_used_as_given():
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    before = model.weight.detach().clone()
    fit(model, squared_error, regression_data(), epochs=1, optimizer=opt, progress=False)
    assert torch.equal(model.weight, before)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(epochs=0), ValueError, "epochs"),
    (dict(epochs=1, batch_size=0), ValueError, "batch_size"),
    (dict(epochs=1, lr=-1.0), ValueError, "lr"),
    (dict(epochs=1, weight_decay=-0.1), ValueError, "weight_decay"),
    (dict(epochs=1, optimizer="lbfgs"), ValueError, "'adam', 'sgd', 'rmsprop'"),
    (dict(epochs=1.5), TypeError, "epochs"),
])
def test_bad_arguments_fail_before_any_training(kwargs, error, match):
    model = torch.nn.Linear(3, 1)

    def loss(model, x, y):
        raise AssertionError("training started")

    with pytest.raises(error, match=match):
        fit(model, loss, regression_data(), progress=False, **kwargs)


def test_as_tensors_rejects_mismatched_or_empty_data():
    with pytest.raises(ValueError, match="one length"):
        as_tensors((torch.zeros(3), torch.zeros(4)))
    with pytest.raises(ValueError, match="non-empty"):
        as_tensors(torch.zeros(0, 2))
    with pytest.raises(TypeError, match="tensor"):
        as_tensors([[1, 2]])


def test_monitors_are_recorded_after_every_epoch():
    model = torch.nn.Linear(3, 1)
    history = fit(model, squared_error, regression_data(), epochs=3, progress=False,
                  monitor={"bias": lambda m: m.bias.item()})
    assert len(history["bias"]) == 3
    assert history["bias"][-1] == model.bias.item()
    with pytest.raises(TypeError, match="monitor"):
        fit(model, squared_error, regression_data(), epochs=1, progress=False, monitor={"x": 3})


def test_cosine_schedule_decays_the_learning_rate_to_zero():
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    fit(model, squared_error, regression_data(256), epochs=4, batch_size=64, optimizer=opt,
        schedule="cosine", progress=False)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="schedule must be one of None, 'cosine'"):
        fit(model, squared_error, regression_data(), epochs=1, schedule="step", progress=False)

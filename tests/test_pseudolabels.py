import math

import pytest
import torch

from lecturekit import load_model, save_model
from lecturekit.data import load_digits
from lecturekit.pseudolabels import PseudoLabelAutoencoder, deform, pseudo_label_loss, warp
from lecturekit.semisupervised import SemiSupervisedAutoencoder, hide_labels, select_labelled
from same_model import assert_same_model


def one_pixel(row, col):
    x = torch.zeros(1, 64)
    x[0, 8 * row + col] = 1.0
    return x


def no_change(n):
    return torch.zeros(n), torch.ones(n), torch.zeros(n, 2)


def test_warp_without_change_gives_the_images_back():
    x = torch.rand(5, 64)
    torch.testing.assert_close(warp(x, *no_change(5)), x)


def test_warp_shifts_by_whole_pixels_and_fills_with_blank_paper():
    x = torch.rand(3, 64)
    angle, scale, _ = no_change(3)
    right = warp(x, angle, scale, torch.tensor([[1.0, 0.0]] * 3)).view(3, 8, 8)
    down = warp(x, angle, scale, torch.tensor([[0.0, 2.0]] * 3)).view(3, 8, 8)
    images = x.view(3, 8, 8)
    torch.testing.assert_close(right[:, :, 1:], images[:, :, :-1])
    torch.testing.assert_close(down[:, 2:, :], images[:, :-2, :])
    assert right[:, :, 0].abs().max() == 0 and down[:, :2, :].abs().max() == 0


def test_warp_turns_clockwise_by_a_quarter_like_rot90():
    x = torch.rand(2, 64)
    angle, scale, shift = no_change(2)
    turned = warp(x, angle + 90.0, scale, shift).view(2, 8, 8)
    clockwise = torch.rot90(x.view(2, 8, 8), k=-1, dims=(1, 2))
    torch.testing.assert_close(turned, clockwise, atol=1e-5, rtol=0)
    assert turned.view(2, 64)[:, 8 * 3 + 5].tolist() == pytest.approx(x[:, 8 * 2 + 3].tolist(), abs=1e-5)


def test_warp_scales_about_the_centre():
    # an image linear in the column, v = column - 3.5, enlarged twice reads v / 2: bilinear interpolation
    # is exact for a linear image, and every source point (within 1.75 pixels of the centre) lies inside
    ramp = (torch.arange(8.0) - 3.5).repeat(8).view(1, 64)
    angle, scale, shift = no_change(1)
    torch.testing.assert_close(warp(ramp, angle, 2 * scale, shift), ramp / 2)


def test_deform_without_ranges_is_the_identity_and_else_varies_per_image():
    x = torch.rand(4, 64)
    torch.testing.assert_close(deform(x, 0.0, 0.0, 0.0), x)
    same = x[:1].repeat(6, 1)
    torch.manual_seed(0)
    deformed = deform(same)
    assert len({tuple(row.round(decimals=4).tolist()) for row in deformed}) == 6
    torch.manual_seed(0)
    torch.testing.assert_close(deform(same), deformed)  # one seed, one draw


def test_deform_keeps_a_central_digit_whole_under_shifts():
    # a shift of at most one pixel moves a digit drawn away from the border without losing ink:
    # bilinear weights sum to 1, so the total intensity is kept
    x = torch.zeros(20, 8, 8)
    x[:, 2:6, 2:6] = torch.rand(20, 4, 4)
    x = x.view(20, 64)
    shifted = deform(x, max_rotation=0.0, max_scale=0.0, max_shift=1.0)
    torch.testing.assert_close(shifted.sum(dim=1), x.sum(dim=1))
    assert not torch.allclose(shifted, x)


def test_pseudo_label_loss_matches_the_formula():
    logits_clean = torch.tensor([[4.0, 0.0, 0.0], [0.0, 0.2, 0.0], [0.0, 0.0, 3.0], [1.0, 1.0, 1.0]])
    logits_deformed = torch.randn(4, 3)
    tau = 0.8
    p = logits_clean.softmax(dim=1)
    expected = sum(-logits_deformed[b].log_softmax(dim=0)[p[b].argmax()] for b in range(4) if p[b].max() >= tau) / 4
    loss, confident = pseudo_label_loss(logits_deformed, logits_clean, tau)
    assert confident.tolist() == [True, False, True, False]
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


def test_pseudo_label_loss_at_the_extremes_of_the_threshold():
    logits_clean, logits_deformed = torch.randn(6, 10), torch.randn(6, 10)
    everything, confident = pseudo_label_loss(logits_deformed, logits_clean, 0.0)
    assert confident.all()
    torch.testing.assert_close(everything, torch.nn.functional.cross_entropy(logits_deformed, logits_clean.argmax(1)))
    nothing, confident = pseudo_label_loss(logits_deformed, logits_clean, 1.0)
    assert not confident.any() and nothing.item() == 0.0
    # the threshold itself counts as confident: two equal logits give p = 0.5 exactly
    _, confident = pseudo_label_loss(torch.zeros(1, 2), torch.zeros(1, 2), 0.5)
    assert confident.tolist() == [True]


def test_pseudo_labels_are_targets_without_gradient():
    logits_clean = torch.tensor([[5.0, 0.0], [0.0, 5.0]], requires_grad=True)
    logits_deformed = torch.randn(2, 2, requires_grad=True)
    loss, _ = pseudo_label_loss(logits_deformed, logits_clean, 0.5)
    loss.backward()
    assert logits_clean.grad is None
    assert logits_deformed.grad.abs().sum() > 0


def test_loss_is_reconstruction_plus_lambda_times_labels_and_pseudo_labels():
    torch.manual_seed(0)
    model = PseudoLabelAutoencoder(hidden=16, lam=3.0, threshold=0.0)
    x, xl, yl = torch.rand(8, 64), torch.rand(4, 64), torch.tensor([0, 1, 2, 3])
    t = model.loss(x, xl, yl)
    torch.testing.assert_close(t["loss"], t["reconstruction"] + 3.0 * (t["prediction"] + t["pseudo-labels"]))
    assert t["confident"].item() == 1.0 and t["pseudo-labels"].item() > 0


def test_without_deformation_and_noise_the_pseudo_label_term_is_the_cross_entropy_of_its_own_answer():
    # A(x) = x: each image is asked for the class it already gives most probability, -log max_c p_c(x)
    torch.manual_seed(0)
    model = PseudoLabelAutoencoder(hidden=16, threshold=0.0, noise=0.0, max_rotation=0.0, max_scale=0.0, max_shift=0.0)
    x = torch.rand(8, 64)
    t = model.loss(x, x[:2], torch.tensor([0, 1]))
    with torch.no_grad():
        expected = -model(x).log_softmax(dim=1).max(dim=1).values.mean()
    assert t["pseudo-labels"].item() == pytest.approx(expected.item(), rel=1e-5)


def test_pseudo_labels_on_deformed_digits_beat_the_noise_consistency_extension_with_50_labels():
    x, y = load_digits("train")
    x_test, y_test = load_digits("test")
    partial = hide_labels(y, select_labelled(y, 50, seed=0))
    torch.manual_seed(0)
    pseudo = PseudoLabelAutoencoder().fit(x, partial, epochs=40, lr=3e-3)
    torch.manual_seed(0)
    extension = SemiSupervisedAutoencoder().fit(x, partial, epochs=40, lr=3e-3)
    assert pseudo.score(x_test, y_test) > extension.score(x_test, y_test) + 0.02
    assert pseudo.score(x_test, y_test) > 0.92
    confident = pseudo.history_["confident"]
    assert confident[-1] > confident[0] + 0.3  # more and more images get a confident pseudo-label


def test_save_and_load(tmp_path):
    model = PseudoLabelAutoencoder(hidden=8, threshold=0.9, max_shift=0.5)
    save_model(model, tmp_path / "pseudo.pt")
    loaded = load_model(tmp_path / "pseudo.pt")
    assert isinstance(loaded, PseudoLabelAutoencoder)
    assert loaded.hparams["threshold"] == 0.9 and loaded.hparams["max_shift"] == 0.5
    assert_same_model(loaded, model, torch.rand(3, 64))


def test_bad_input_is_refused_before_any_training():
    with pytest.raises(ValueError, match="threshold must be in"):
        PseudoLabelAutoencoder(threshold=1.5)
    with pytest.raises(ValueError, match="square image"):
        PseudoLabelAutoencoder(n_features=60)
    with pytest.raises(ValueError, match="max_scale must be in"):
        PseudoLabelAutoencoder(max_scale=0.8)
    with pytest.raises(ValueError, match=r"shape \(n, side \* side\)"):
        deform(torch.rand(3, 60))
    with pytest.raises(ValueError, match="max_rotation must be in"):
        deform(torch.rand(3, 64), max_rotation=-1.0)
    with pytest.raises(ValueError, match="shift must have shape|angle and scale"):
        warp(torch.rand(3, 64), torch.zeros(3), torch.ones(3), torch.zeros(3))
    with pytest.raises(ValueError, match="logits_deformed and logits_clean"):
        pseudo_label_loss(torch.zeros(3, 10), torch.zeros(4, 10), 0.5)

    model = PseudoLabelAutoencoder(hidden=8)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = torch.rand(12, 64), torch.arange(12) % 10
    with pytest.raises(ValueError, match=r"labels in 0..9, or -1.*\[10\]"):
        model.fit(x, torch.where(torch.arange(12) == 5, 10, y))
    with pytest.raises(ValueError, match=r"labels in 0..9, or -1.*\[-2\]"):
        model.fit(x, torch.where(torch.arange(12) == 5, -2, y))
    with pytest.raises(ValueError, match=r"no labelled image of class \[3, 7\]"):
        model.fit(x, torch.where((y == 3) | (y == 7), -1, y))
    with pytest.raises(TypeError, match="integer labels"):
        model.fit(x, y.float())
    assert not hasattr(model, "history_")
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name])
    assert math.isqrt(model.hparams["n_features"]) == 8

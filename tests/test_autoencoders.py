import pytest
import torch

from lecturekit import load_model, save_model
from lecturekit.autoencoders import (Autoencoder, code_penalty, corrupt, denoising_loss, hoyer_sparsity,
                                     reconstruction_loss, sparse_loss, sparsity, squared_error)
from lecturekit.data import load_digits
from lecturekit.pca import PCA
from lecturekit.train import fit
from same_model import assert_same_model


@pytest.fixture(scope="module")
def digits():
    return load_digits("train")[0], load_digits("test")[0]


def test_shapes_and_output_range():
    model = Autoencoder(64, 5, hidden=16)
    x = torch.rand(7, 64)
    assert model.encode(x).shape == (7, 5)
    out = model(x)
    assert out.shape == (7, 64) and 0 <= out.min() and out.max() <= 1


def test_nonlinear_autoencoder_beats_pca_at_the_same_k(digits):
    x, x_test = digits
    torch.manual_seed(0)
    model = Autoencoder(64, 2)
    fit(model, reconstruction_loss, x, epochs=60, lr=3e-3, schedule="cosine", progress=False)
    pca = PCA(64, 2).fit(x)
    with torch.no_grad():
        ae_mse = ((model(x_test) - x_test) ** 2).mean()
    pca_mse = ((pca.inverse_transform(pca.transform(x_test)) - x_test) ** 2).mean()
    assert ae_mse < 0.9 * pca_mse


def test_losses_by_hand():
    x_hat, x = torch.tensor([[1.0, 2.0], [0.0, 0.0]]), torch.tensor([[0.0, 0.0], [0.0, 1.0]])
    assert squared_error(x_hat, x).item() == pytest.approx((1 + 4 + 1) / 2)
    z = torch.tensor([[1.0, -2.0], [0.0, 3.0]])
    assert code_penalty(z, "l1").item() == pytest.approx((1 + 2 + 3) / 2)
    assert code_penalty(z, "l2").item() == pytest.approx((1 + 4 + 9) / 2)


def test_sparse_loss_adds_the_weighted_penalty():
    torch.manual_seed(0)
    model, x = Autoencoder(64, 4, hidden=8), torch.rand(5, 64)
    parts = sparse_loss(model, x, penalty=0.5, norm="l1")
    assert torch.allclose(parts["loss"], parts["reconstruction"] + 0.5 * parts["code_penalty"])
    assert torch.allclose(parts["reconstruction"], reconstruction_loss(model, x))


def test_l1_makes_the_code_sparser_than_l2_on_a_scale_free_measure(digits):
    """Both penalties shrink the code, which inflates a count of small values; Hoyer's index
    does not see the scale, and only L1 raises it."""
    x, x_test = digits
    below, hoyer = {}, {}
    for name, norm, penalty in [("none", "l1", 0.0), ("l1", "l1", 0.3), ("l2", "l2", 0.3)]:
        torch.manual_seed(0)
        model = Autoencoder(64, 32)
        fit(model, lambda m, xb: sparse_loss(m, xb, penalty, norm), x, epochs=30, lr=3e-3, progress=False)
        with torch.no_grad():
            z = model.encode(x_test)
        below[name], hoyer[name] = sparsity(z, threshold=1e-2), hoyer_sparsity(z)
    assert below["l2"] > 3 * below["none"]
    assert hoyer["l2"] == pytest.approx(hoyer["none"], abs=0.05)
    assert hoyer["l1"] > hoyer["l2"] + 0.1


def test_sparsity_counts_small_values():
    assert sparsity(torch.tensor([0.0, 1e-4, -0.5, 2.0])) == 0.5


def test_hoyer_sparsity_by_hand_and_blind_to_scale():
    z = torch.tensor([[3.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0], [1.0, -1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    # one active unit: 1; all equal: 0; two of four: (2 - sqrt 2) / (2 - 1); all zero counts as 1
    assert hoyer_sparsity(z) == pytest.approx((1 + 0 + (2 - 2**0.5) + 1) / 4)
    assert hoyer_sparsity(-0.01 * z) == pytest.approx(hoyer_sparsity(z))
    assert sparsity(0.001 * z, threshold=1e-2) > sparsity(z, threshold=1e-2)  # the count is not blind to it
    with pytest.raises(ValueError, match=r"k >= 2"):
        hoyer_sparsity(torch.ones(3, 1))


def test_gaussian_corruption_has_the_stated_std():
    x = torch.zeros(200, 64)
    noisy = corrupt(x, "gaussian", 0.3, generator=torch.Generator().manual_seed(0))
    assert noisy.std().item() == pytest.approx(0.3, rel=0.03)


def test_masking_zeroes_the_stated_fraction():
    x = torch.ones(200, 64)
    masked = corrupt(x, "mask", 0.25, generator=torch.Generator().manual_seed(0))
    assert set(masked.unique().tolist()) == {0.0, 1.0}
    assert (masked == 0).float().mean().item() == pytest.approx(0.25, abs=0.01)


def test_denoising_autoencoder_removes_noise_better_than_nothing(digits):
    x, x_test = digits
    torch.manual_seed(0)
    model = Autoencoder(64, 16)
    fit(model, lambda m, xb: denoising_loss(m, xb, "gaussian", 0.3), x, epochs=30, lr=3e-3, progress=False)
    noisy = corrupt(x_test, "gaussian", 0.3, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert ((model(noisy) - x_test) ** 2).mean() < 0.5 * ((noisy - x_test) ** 2).mean()


def test_save_and_load(tmp_path):
    model = Autoencoder(64, 3, hidden=8, code_activation="relu")
    save_model(model, tmp_path / "ae.pt")
    x = torch.rand(4, 64)
    assert_same_model(load_model(tmp_path / "ae.pt"), model, x)


def test_bad_arguments():
    with pytest.raises(ValueError, match="penalty must be in"):
        sparse_loss(Autoencoder(64, 2, hidden=4), torch.rand(2, 64), penalty=-1.0)
    with pytest.raises(ValueError, match="norm must be one of 'l1', 'l2'"):
        code_penalty(torch.ones(2, 2), "l0")
    with pytest.raises(ValueError, match=r"level must be in \[0.0, 1.0\]"):
        corrupt(torch.ones(2, 2), "gaussian", 1.5)
    with pytest.raises(ValueError, match=r"level must be in \[0, 1\)"):
        corrupt(torch.ones(2, 2), "mask", 1.0)
    with pytest.raises(ValueError, match="kind must be one of 'gaussian', 'mask'"):
        corrupt(torch.ones(2, 2), "salt", 0.1)
    with pytest.raises(ValueError, match="code_activation"):
        Autoencoder(64, 2, code_activation="tanh")
    with pytest.raises(ValueError, match="n_components"):
        Autoencoder(64, 0)
    with pytest.raises(ValueError, match=r"x must have shape \(n, 64\); got \(3, 10\)"):
        Autoencoder(64, 2)(torch.rand(3, 10))

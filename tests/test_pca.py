import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA as SklearnPCA

from lecturekit import load_model, save_model
from lecturekit.data import load_digits
from lecturekit.pca import PCA, LinearAutoencoder, max_principal_angle
from same_model import assert_same_model


@pytest.fixture(scope="module")
def digits():
    return load_digits("train")[0]


@pytest.fixture(scope="module")
def trained(digits):
    """The plain and the L2-penalised linear autoencoders with k = 10, trained once."""
    torch.manual_seed(0)
    plain = LinearAutoencoder(64, 10).fit(digits)
    torch.manual_seed(0)
    penalised = LinearAutoencoder(64, 10, l2=0.01).fit(digits)
    return plain, penalised


@pytest.mark.parametrize("k", [1, 5, 10, 64])
def test_pca_matches_sklearn(digits, k):
    ours = PCA(64, k).fit(digits)
    ref = SklearnPCA(k).fit(digits.numpy())
    np.testing.assert_allclose(ours.explained_variance_.numpy(), ref.explained_variance_, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(ours.explained_variance_ratio_.numpy(), ref.explained_variance_ratio_,
                               rtol=1e-5, atol=1e-8)
    ref_error = ((ref.inverse_transform(ref.transform(digits.numpy())) - digits.numpy()) ** 2).sum()
    assert ours.reconstruction_error(digits).item() == pytest.approx(ref_error, rel=1e-4, abs=1e-3)
    assert max_principal_angle(ours.components_, ref.components_) < 1e-3


def test_pca_components_are_orthonormal_and_code_is_g_equals_f_u(digits):
    pca = PCA(64, 10).fit(digits)
    u = pca.components_.T
    assert torch.allclose(u.T @ u, torch.eye(10), atol=1e-5)
    assert torch.allclose(pca.transform(digits), (digits - digits.mean(0)) @ u, atol=1e-5)


def test_linear_autoencoder_finds_the_pca_subspace(digits, trained):
    plain, _ = trained
    pca = PCA(64, 10).fit(digits)
    assert plain.components_.shape == (10, 64)
    assert max_principal_angle(plain.components_, pca.components_) < 0.1
    ae_error = ((plain.inverse_transform(plain.transform(digits)) - digits) ** 2).sum()
    assert ae_error.item() <= 1.001 * pca.reconstruction_error(digits).item()


def test_same_subspace_different_basis_until_the_l2_penalty(digits, trained):
    plain, penalised = trained
    pca = PCA(64, 10).fit(digits)
    # without the penalty: the columns of W_dec are not the principal directions, nor are its singular vectors
    columns = plain.components_ / plain.components_.norm(dim=1, keepdim=True)
    assert (columns @ pca.components_.T).abs().max(dim=1).values.min() < 0.9
    assert (plain.principal_directions() @ pca.components_.T).diag().abs().min() < 0.9
    # with it: W_dec's left singular vectors are the individual principal directions, in order
    assert max_principal_angle(penalised.components_, pca.components_) < 0.1
    assert (penalised.principal_directions() @ pca.components_.T).diag().min() > 0.999
    # and W_enc = W_dec^T at the penalised minimum
    assert torch.allclose(penalised.encoder.weight, penalised.decoder.weight.T, atol=1e-3)


def test_fit_accepts_numpy_and_returns_self(digits):
    model = LinearAutoencoder(64, 2)
    assert model.fit(digits.numpy(), epochs=5) is model
    assert len(model.history_["loss"]) == 5
    assert model.transform(digits.numpy()).shape == (len(digits), 2)
    assert model.inverse_transform(torch.zeros(3, 2)).shape == (3, 64)


def test_save_and_load_keep_the_model(tmp_path, trained, digits):
    _, penalised = trained
    save_model(penalised, tmp_path / "lae.pt")
    loaded = load_model(tmp_path / "lae.pt")
    assert loaded.hparams == penalised.hparams
    assert_same_model(loaded, penalised, digits, method="transform")
    pca = PCA(64, 3).fit(digits)
    assert pca.components_.is_contiguous()
    save_model(pca, tmp_path / "pca.pt")
    assert_same_model(load_model(tmp_path / "pca.pt"), pca, digits, method="transform")


@pytest.mark.parametrize("cls", [PCA, LinearAutoencoder])
def test_bad_sizes_and_shapes(cls, digits):
    with pytest.raises(ValueError, match=r"n_components must be in \[1, 64\]"):
        cls(64, 65)
    with pytest.raises(ValueError, match="n_components"):
        cls(64, 0)
    model = cls(64, 2)
    with pytest.raises(ValueError, match=r"x must have shape \(n, 64\); got \(10, 30\)"):
        model.fit(digits[:10, :30])


def test_negative_penalty_is_refused():
    with pytest.raises(ValueError, match="l2 must be in"):
        LinearAutoencoder(64, 2, l2=-1.0)


def test_max_principal_angle_of_known_subspaces():
    e = torch.eye(3)
    assert max_principal_angle(e[:2], e[[1, 0]]) == pytest.approx(0.0, abs=1e-6)
    assert max_principal_angle(e[:2], e[[0, 2]]) == pytest.approx(90.0)
    tilted = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    assert max_principal_angle(e[:2], tilted) == pytest.approx(45.0)

"""The package on a CUDA GPU: every model family trains, samples and scores there, and gives the
same numbers as on the CPU for the same weights.

The notebooks run on the CPU, and CI has no GPU, so these tests are skipped there; they run
wherever PyTorch sees a GPU (`pytest tests/test_cuda.py`). Matrix products on a GPU round
differently (and convolutions may use TF32), so CPU and GPU are compared with a tolerance.
"""
import copy

import pytest
import torch

from lecturekit import device, load_model, save_model
from lecturekit.autoencoders import Autoencoder, reconstruction_loss
from lecturekit.autoregressive import (MADE, CausalConvolution, CausalTransformer, ClassMixture, FullyVisible,
                                       joint_nll_loss, nll_loss)
from lecturekit.data import load_digits, to_counts, toy_distribution
from lecturekit.diffusion import (Denoiser, NoiseSchedule, ancestral_sample, ddpm_nelbo, ode_sample, train_denoiser,
                                  train_discrete_ddpm)
from lecturekit.gan import Discriminator, Generator, train_gan
from lecturekit.metrics import DigitClassifier, fid
from lecturekit.naive_bayes import NaiveBayes
from lecturekit.pca import PCA
from lecturekit.semisupervised import SemiSupervisedAutoencoder, hide_labels, select_labelled
from lecturekit.train import fit
from lecturekit.vae import VAE, iwae_log_likelihood, sample_prior, vae_loss

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (CI has none)")

GPU_TOLERANCE = dict(rtol=1e-3, atol=1e-3)


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits("train")
    return x[:256], y[:256]


def on_both(model):
    """The same weights on the CPU and on the GPU."""
    return copy.deepcopy(model).cpu(), copy.deepcopy(model).to(device())


def test_device_is_the_gpu():
    assert device().type == "cuda"


def test_fit_trains_on_the_gpu_from_cpu_data(digits):
    x, _ = digits
    model = Autoencoder(n_components=2).to(device())
    history = fit(model, reconstruction_loss, x, epochs=3, progress=False)
    assert history["loss"][-1] < history["loss"][0]
    assert all(p.device.type == "cuda" for p in model.parameters())
    cpu, gpu = on_both(model)
    torch.testing.assert_close(gpu(x.to(device())).cpu(), cpu(x), **GPU_TOLERANCE)


def test_pca_and_naive_bayes_agree_with_the_cpu(digits):
    x, y = digits
    on_cpu, on_gpu = PCA(64, 5).fit(x), PCA(64, 5).fit(x.to(device()))
    torch.testing.assert_close(on_gpu.components_.cpu(), on_cpu.components_, **GPU_TOLERANCE)
    bayes_cpu, bayes_gpu = NaiveBayes().fit(x, y), NaiveBayes().to(device()).fit(x.to(device()), y.to(device()))
    torch.testing.assert_close(bayes_gpu.log_prob(x.to(device())).cpu(), bayes_cpu.log_prob(x), **GPU_TOLERANCE)
    torch.testing.assert_close(bayes_gpu.pixel_means(3).cpu(), bayes_cpu.pixel_means(3), **GPU_TOLERANCE)
    drawn = bayes_gpu.sample(3, 5, generator=torch.Generator().manual_seed(0))
    assert drawn.shape == (5, 64) and drawn.device.type == "cuda"


def test_vae_trains_samples_and_scores_on_the_gpu(digits):
    x, _ = digits
    model = VAE(latent_dim=4).to(device())
    fit(model, vae_loss, x, epochs=2, progress=False)
    images = sample_prior(model, 16, generator=torch.Generator().manual_seed(0))
    assert images.shape == (16, 64) and images.device.type == "cuda"
    bound = iwae_log_likelihood(model, x[:8].to(device()), k=20)
    assert torch.isfinite(bound).all()


def test_semisupervised_autoencoder_fits_on_the_gpu(digits):
    x, y = digits
    labelled = select_labelled(y, 20, seed=0)
    model = SemiSupervisedAutoencoder().to(device())
    model.fit(x, hide_labels(y, labelled), epochs=2)
    assert 0.0 <= model.score(x.to(device()), y) <= 1.0


@pytest.mark.parametrize("loss", ["non_saturating", "wgan", "wgan_gp", "non_saturating_r1"])
def test_gan_trains_on_the_gpu(loss):
    generator, critic = Generator().to(device()), Discriminator().to(device())
    history = train_gan(generator, critic, toy_distribution("ring"), loss=loss, steps=20, batch_size=64,
                        snapshot_every=10, progress=False)
    assert len(history["g_loss"]) == 20
    assert history.snapshots[-1][1].device.type == "cpu"  # snapshots come back for plotting
    assert generator.sample(8).device.type == "cuda"


def test_diffusion_trains_and_samples_on_the_gpu():
    schedule = NoiseSchedule.cosine(20)
    data = toy_distribution("ring").sample(2000)
    model = Denoiser().to(device())
    train_denoiser(model, "ddpm", data, schedule, steps=20, batch_size=128)
    seed = torch.Generator().manual_seed(0)
    x = ancestral_sample(model, schedule, 64, generator=seed)
    assert x.shape == (64, 2) and x.device.type == "cuda" and torch.isfinite(x).all()
    cpu, gpu = on_both(model)
    torch.testing.assert_close(ode_sample(gpu, 64, steps=10, generator=torch.Generator().manual_seed(1)).cpu(),
                               ode_sample(cpu, 64, steps=10, generator=torch.Generator().manual_seed(1)),
                               **GPU_TOLERANCE)
    digits_model = Denoiser(n_features=64, fourier_features=0).to(device())
    nelbo = ddpm_nelbo(digits_model, schedule, torch.rand(8, 64, device=device()) * 2 - 1, bin_width=2 / 16)
    assert nelbo.shape == (8,) and torch.isfinite(nelbo).all()


def test_the_discrete_ddpm_agrees_with_the_cpu(digits):
    x0 = 2 * digits[0][:256] - 1
    model, schedule, _ = train_discrete_ddpm(x0, T=20, hidden=32, steps=5)
    cpu, gpu = on_both(model)
    x_t, time = torch.randn(16, 64), torch.arange(1, 17) / 20
    torch.testing.assert_close(gpu(x_t.to(device()), time.to(device())).cpu(), cpu(x_t, time), **GPU_TOLERANCE)
    bound = {name: ddpm_nelbo(m, schedule, x0[:32].to(next(m.parameters()).device), bin_width=2 / 16, per_step=True,
                              generator=torch.Generator().manual_seed(0)) for name, m in (("cpu", cpu), ("gpu", gpu))}
    assert bound["gpu"].device.type == "cpu" and bound["gpu"].shape == (32, 21)
    torch.testing.assert_close(bound["gpu"], bound["cpu"], rtol=1e-3, atol=1e-3)
    x = ancestral_sample(gpu, schedule, 16, generator=torch.Generator().manual_seed(0))
    assert x.device.type == "cuda" and torch.isfinite(x).all()


@pytest.mark.parametrize("make", [FullyVisible, MADE, CausalConvolution, CausalTransformer, ClassMixture])
def test_autoregressive_models_agree_with_the_cpu_and_sample_on_the_gpu(make, digits):
    torch.manual_seed(0)
    counts = to_counts(digits[0][:32])
    cpu, gpu = on_both(make())
    torch.testing.assert_close(gpu.log_prob(counts.to(device())).cpu(), cpu.log_prob(counts), rtol=1e-3, atol=0.05)
    loss = nll_loss(gpu, counts.to(device()))
    loss.backward()
    assert torch.isfinite(loss)
    known = torch.zeros(64, dtype=torch.bool)
    known[:32] = True
    completed = gpu.complete(counts[:4].to(device()), known, generator=torch.Generator().manual_seed(0))
    assert torch.equal(completed[:, :32].cpu(), counts[:4, :32])
    assert gpu.sample(4, generator=torch.Generator().manual_seed(0)).device.type == "cuda"
    if make is ClassMixture:
        labels = digits[1][:32]
        assert torch.isfinite(joint_nll_loss(gpu, counts.to(device()), labels.to(device())))
        assert gpu.sample_given(labels[:4], generator=torch.Generator().manual_seed(0)).device.type == "cuda"


def test_fid_on_gpu_features_matches_the_cpu(digits):
    torch.manual_seed(0)
    classifier = DigitClassifier()
    x = digits[0]
    a, b = classifier.features(x[:128]).detach(), classifier.features(x[128:]).detach()
    assert fid(a.to(device()), b.to(device())) == pytest.approx(fid(a, b), rel=1e-3, abs=1e-4)


def test_a_gpu_model_saves_and_loads_onto_the_cpu(tmp_path, digits):
    model = VAE(latent_dim=4).to(device())
    save_model(model, tmp_path / "vae.pt")
    loaded = load_model(tmp_path / "vae.pt")
    assert all(p.device.type == "cpu" for p in loaded.parameters())
    x = digits[0][:8]
    torch.testing.assert_close(loaded.cpu().encode(x)[0], model.encode(x.to(device()))[0].cpu(), **GPU_TOLERANCE)

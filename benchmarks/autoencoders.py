"""Lectures 01-02: the linear autoencoder against PCA, and the nonlinear autoencoder's test error.

    python benchmarks/autoencoders.py

* `pca.linear_ae_max_angle_deg`, `pca.linear_ae_mse_ratio`, `pca.linear_ae_fit_seconds`:
  LinearAutoencoder(64, 10) with its defaults (2000 full-batch Adam steps), against PCA's
  top-10 subspace on the training digits; the worst of 3 seeds for the angle and ratio,
  the mean for the time.
* `ae.mse_k<k>`: test MSE per pixel of Autoencoder(64, k) trained 150 epochs, mean of 3 seeds,
  beside `pca.mse_k<k>`, PCA's test MSE per pixel at the same k.
"""
import time

import torch

from lecturekit import seed_everything
from lecturekit.autoencoders import Autoencoder, reconstruction_loss
from lecturekit.data import load_digits
from lecturekit.pca import PCA, LinearAutoencoder, max_principal_angle
from lecturekit.train import fit
from report import record

SEEDS = (0, 1, 2)


def linear_autoencoder_rows(x):
    pca = PCA(64, 10).fit(x)
    angles, ratios, seconds = [], [], []
    for seed in SEEDS:
        seed_everything(seed)
        start = time.perf_counter()
        model = LinearAutoencoder(64, 10).fit(x)
        seconds.append(time.perf_counter() - start)
        angles.append(max_principal_angle(model.components_, pca.components_))
        error = ((model.inverse_transform(model.transform(x)) - x) ** 2).sum()
        ratios.append((error / pca.reconstruction_error(x)).item())
    how = f"k = 10, training digits, worst of {len(SEEDS)} seeds"
    return [("pca.linear_ae_max_angle_deg", max(angles), "< 0.1 (target)", how),
            ("pca.linear_ae_mse_ratio", max(ratios), "<= 1.001 (target)", how),
            ("pca.linear_ae_fit_seconds", sum(seconds) / len(seconds), "< 5 (target)",
             f"2000 full-batch steps, mean of {len(SEEDS)} seeds")]


def autoencoder_rows(x, x_test):
    rows = []
    for k in (2, 5, 10):
        pca = PCA(64, k).fit(x)
        pca_mse = ((pca.inverse_transform(pca.transform(x_test)) - x_test) ** 2).mean().item()
        mses = []
        for seed in SEEDS:
            seed_everything(seed)
            model = Autoencoder(64, k)
            fit(model, reconstruction_loss, x, epochs=150, lr=3e-3, schedule="cosine", progress=False)
            with torch.no_grad():
                mses.append(((model(x_test) - x_test) ** 2).mean().item())
        rows.append((f"ae.mse_k{k}", sum(mses) / len(mses), f"PCA: {pca_mse:.4f}",
                     f"test MSE per pixel, 150 epochs, mean of {len(SEEDS)} seeds"))
        rows.append((f"pca.mse_k{k}", pca_mse, "", "PCA's test MSE per pixel (deterministic)"))
    return rows


def main():
    x, _ = load_digits("train")
    x_test, _ = load_digits("test")
    rows = linear_autoencoder_rows(x) + autoencoder_rows(x, x_test)
    for key, value, reference, _ in rows:
        print(f"{key:<30} {value:10.6g}   {reference}")
    record("autoencoders", "Lectures 01-02: PCA, linear and nonlinear autoencoders", rows)


if __name__ == "__main__":
    main()

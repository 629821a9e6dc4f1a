"""Lecture 07: the Frechet distance's speed and accuracy, and FID of the course's models.

    python benchmarks/fid.py

A run took 14 minutes (7 minutes of CPU time) on 2 cores shared with other work.

1. Two sets of 10 000 synthetic 2048-dimensional features (Gaussian, with random, different
   covariances), as Inception features would be. We time `lecturekit.metrics.frechet_distance`
   (a Cholesky factorisation of each covariance and one symmetric eigenvalue problem) against the
   approach of the widely used pytorch-fid package, reimplemented below (pytorch-fid
   itself pulls a torchvision that does not import here): scipy.linalg.sqrtm of sigma1 @ sigma2,
   with its retry on a non-finite result and its real part. Both get the same float64 statistics;
   the time is the best of 3 runs of each. We record `fid.speedup_vs_sqrtm` (reference time / ours)
   and `fid.rel_diff_vs_sqrtm` (|ours - reference| / reference). The table gives the machine's 1-minute
   load average when the timing started, as other work on a shared machine slows both.
2. `fid.digits.<model>`: FID against the 450 test digits, in the features of the course's digit
   classifier, of 450 samples from each model of lecture 07's table but the ten repeated digits (one seed).
   The VAE and the GAN train longer here than in the lecture: 150 epochs (lecture: 100, at learning
   rate 2e-3) and 3000 steps (lecture: 2000).
"""
import os
import time

import numpy as np
import scipy.linalg
import torch

from lecturekit import seed_everything
from lecturekit.data import load_digits
from lecturekit.gan import Discriminator, Generator, train_gan
from lecturekit.metrics import feature_statistics, fid, frechet_distance, train_digit_classifier
from lecturekit.naive_bayes import NaiveBayes
from lecturekit.train import fit
from lecturekit.vae import VAE, sample_prior, vae_loss
from report import record

DIMENSIONS, SAMPLES, REPEATS = 2048, 10_000, 3


def sqrtm_frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """The pytorch-fid computation: a general matrix square root of sigma1 @ sigma2."""
    diff = mu1 - mu2
    covmean = scipy.linalg.sqrtm(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = scipy.linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def synthetic_statistics(seed):
    g = torch.Generator().manual_seed(seed)
    mixing = torch.randn(DIMENSIONS, DIMENSIONS, generator=g, dtype=torch.float64) / DIMENSIONS**0.5
    features = torch.randn(SAMPLES, DIMENSIONS, generator=g, dtype=torch.float64) @ mixing
    return feature_statistics(features + torch.randn(DIMENSIONS, generator=g, dtype=torch.float64))


def best_time(function):
    times, value = [], None
    for _ in range(REPEATS):
        start = time.perf_counter()
        value = function()
        times.append(time.perf_counter() - start)
    return min(times), value


def speed_rows():
    (mu1, s1), (mu2, s2) = synthetic_statistics(1), synthetic_statistics(2)
    load = os.getloadavg()[0]
    ours_seconds, ours = best_time(lambda: frechet_distance(mu1, s1, mu2, s2))
    arrays = [t.numpy() for t in (mu1, s1, mu2, s2)]
    reference_seconds, reference = best_time(lambda: sqrtm_frechet_distance(*arrays))
    print(f"ours {ours:.10g} in {ours_seconds:.2f} s; sqrtm {reference:.10g} in {reference_seconds:.2f} s")
    how = f"{DIMENSIONS} dimensions, {SAMPLES} samples per set, best of {REPEATS}, load average {load:.1f}"
    return [("fid.seconds", ours_seconds, "", f"lecturekit frechet_distance, {how}"),
            ("fid.sqrtm_seconds", reference_seconds, "", f"pytorch-fid's sqrtm approach, {how}"),
            ("fid.speedup_vs_sqrtm", reference_seconds / ours_seconds, ">= 5 (target)", "same run, same statistics"),
            ("fid.rel_diff_vs_sqrtm", abs(ours - reference) / abs(reference), "<= 1e-8 (target)",
             "abs(ours - sqrtm) / sqrtm")]


def model_samples(x, y, n):
    """n samples of each model in lecture 07's table, and the real-data floor (itself a copy of training digits)."""
    generator = torch.Generator().manual_seed(0)
    naive_bayes = NaiveBayes().fit(x, y)
    classes = torch.arange(n) % 10
    seed_everything(0)
    vae = VAE(latent_dim=8)
    fit(vae, vae_loss, x, epochs=150, lr=1e-3, schedule="cosine", progress=False)
    gan = Generator(latent_dim=16, out_dim=64, hidden=256, layers=1, output="sigmoid")
    train_gan(gan, Discriminator(in_dim=64, hidden=256, layers=1), x, loss="non_saturating", steps=3000,
              batch_size=64, progress=False)
    return {"real_train_floor": x[torch.randperm(len(x), generator=generator)[:n]],
            "naive_bayes": torch.stack([naive_bayes.sample(int(c), 1, generator=generator)[0] for c in classes]),
            "vae": sample_prior(vae, n, generator=generator),
            "collapsed_ones": x[y == 1][torch.randint(int((y == 1).sum()), (n,), generator=generator)],
            "uniform_noise": torch.randint(0, 17, (n, 64), generator=generator) / 16,
            "gan": gan.sample(n, generator=generator).detach()}


def digits_rows():
    x, y = load_digits("train")
    x_test, y_test = load_digits("test")
    classifier = train_digit_classifier(x, y)
    accuracy = (classifier(x_test).argmax(1) == y_test).float().mean().item()
    rows = [("fid.classifier_test_accuracy", accuracy, "", "the feature network, on the test digits")]
    real_features = classifier.features(x_test)
    for name, samples in model_samples(x, y, len(x_test)).items():
        rows.append((f"fid.digits.{name}", fid(classifier.features(samples), real_features), "",
                     f"{len(x_test)} samples against the {len(x_test)} test digits, one seed"))
    return rows


def main():
    rows = speed_rows() + digits_rows()
    for key, value, reference, _ in rows:
        print(f"{key:<32} {value:12.6g}   {reference}")
    record("fid", "Lecture 07: the Frechet distance, and FID of the course's models", rows)


if __name__ == "__main__":
    main()

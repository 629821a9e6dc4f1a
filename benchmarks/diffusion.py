"""Lecture 09: diffusion (DDPM) and flow matching on the ring, the grid and the digits.

    python benchmarks/diffusion.py            # the full benchmark: writes RESULTS.md and results.json
    python benchmarks/diffusion.py --quick    # 1 seed, short runs, results to /tmp only (a smoke test)

Toy data (ring: 8 modes, std 0.02; grid: 25 modes, std 0.05), 5 seeds (0..4) of each objective:
a fresh `Denoiser` (3 residual blocks of 128 units, 64 random Fourier features of scale 1), trained
with `diffusion.train_denoiser` for 2750 Adam steps of batch 512 on fresh samples, the learning rate
decaying along a cosine; DDPM with the cosine schedule, T = 100, sampled by the ancestral chain;
the flow sampled with 100 midpoint steps. Torch runs on 2 threads. 2500 samples are scored by
`metrics.mode_coverage`.

Keys: `diffusion.<ring|grid>.<ddpm|flow>.<modes|modes_strict|high_quality|reverse_kl|seconds>` (means
over the seeds; seconds = training and sampling of one run), and `..min_modes_strict` (worst seed).

Digits (one seed): a Denoiser of width 256 without Fourier features on the 1347 training digits
scaled to [-1, 1], DDPM sampled with x0_hat clipped to [-1, 1]; `diffusion.digits.ddpm.nelbo_nats`
(the -ELBO on the 450 test digits with a discretised decoder, an upper bound on their NLL), and
`diffusion.digits.<ddpm|flow>.<fid|train_seconds>` (FID of 2000 samples, rounded to the 17 pixel levels,
against the 450 test digits in the features of lecture 07's digit classifier).
"""
import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from lecturekit import seed_everything
from lecturekit.data import DIGIT_MAX, load_digits, toy_distribution
from lecturekit.diffusion import (Denoiser, NoiseSchedule, ancestral_sample, ddpm_nelbo, ode_sample,
                                  train_denoiser)
from lecturekit.metrics import fid, mode_coverage, train_digit_classifier
from lecturekit.results import benchmark_results
from report import record

FULL = dict(seeds=range(5), steps=2750, digit_steps=4000, samples=2500, digit_samples=2000)
QUICK = dict(seeds=range(1), steps=300, digit_steps=300, samples=2500, digit_samples=500)
TARGETS = {"ring": (8, 0.99), "grid": (25, 0.97)}
PACGAN4 = {"ring": "PacGAN4 7.8 / 95.9%", "grid": "PacGAN4 24.8 / 93.6%"}  # Lin et al., 2018, Tables 1-2


def course_gan(name):
    """The reference column: the best GAN of `benchmarks/gan.py` on `name`, read from results.json."""
    r = benchmark_results()
    return (f"best GAN of benchmarks/gan.py: {r[f'gan.{name}.best.modes_strict']:.1f} strict modes, "
            f"{100 * r[f'gan.{name}.best.high_quality']:.1f}% HQ; {PACGAN4[name]}")


def sample(model, objective, n, schedule=None, clip_x0=None):
    if objective == "ddpm":
        return ancestral_sample(model, schedule, n, clip_x0=clip_x0)
    return ode_sample(model, n, steps=100, method="midpoint")


def toy_run(name, objective, seed, config):
    seed_everything(seed)
    distribution = toy_distribution(name)
    schedule = NoiseSchedule.cosine(100)
    start = time.perf_counter()
    model = Denoiser(n_features=2, hidden=128, layers=3, fourier_features=64, fourier_scale=1.0)
    train_denoiser(model, objective, distribution.sample(config["steps"] * 512 // 10), schedule,
                   steps=config["steps"], batch_size=512)
    samples = sample(model, objective, config["samples"], schedule)
    result = {**mode_coverage(samples, distribution.centers, distribution.std),
              "seconds": time.perf_counter() - start}
    print(name, objective, seed, {k: round(float(v), 3) for k, v in result.items()}, flush=True)
    return result


def toy_rows(config):
    rows = []
    for name in ("ring", "grid"):
        for objective in ("ddpm", "flow"):
            runs = [toy_run(name, objective, seed, config) for seed in config["seeds"]]
            means = {key: float(np.mean([r[key] for r in runs]))
                     for key in ("modes", "modes_strict", "high_quality", "reverse_kl", "seconds")}
            means["min_modes_strict"] = min(r["modes_strict"] for r in runs)
            modes, quality = TARGETS[name]
            reference = {"modes_strict": course_gan(name), "min_modes_strict": f"{modes} (target)",
                         "high_quality": f">= {quality} (target)", "seconds": "<= 30 (target)"}
            rows += [(f"diffusion.{name}.{objective}.{key}", value, reference.get(key, ""),
                      f"mean of {len(runs)} seeds" if key != "min_modes_strict" else f"worst of {len(runs)} seeds")
                     for key, value in means.items()]
    return rows


def digit_rows(config):
    x_train, y_train = load_digits("train")
    x_test, _ = load_digits("test")
    classifier = train_digit_classifier(x_train, y_train)
    real_features = classifier.features(x_test)
    schedule, rows = NoiseSchedule.cosine(100), []
    for objective in ("ddpm", "flow"):
        seed_everything(0)
        model = Denoiser(n_features=64, hidden=256, layers=3, fourier_features=0)
        start = time.perf_counter()
        train_denoiser(model, objective, 2 * x_train - 1, schedule, steps=config["digit_steps"], batch_size=128)
        seconds = time.perf_counter() - start
        images = ((sample(model, objective, config["digit_samples"], schedule, clip_x0=(-1, 1)) + 1) / 2).clamp(0, 1)
        images = torch.round(images * DIGIT_MAX) / DIGIT_MAX
        rows += [(f"diffusion.digits.{objective}.fid", fid(classifier.features(images), real_features), "",
                  f"{len(images)} samples against the {len(x_test)} test digits, one seed"),
                 (f"diffusion.digits.{objective}.train_seconds", seconds, "", f"{config['digit_steps']} steps")]
        if objective == "ddpm":
            nelbo = ddpm_nelbo(model, schedule, 2 * x_test - 1, bin_width=2 / DIGIT_MAX,
                               generator=torch.Generator().manual_seed(0))
            rows.append(("diffusion.digits.ddpm.nelbo_nats", nelbo.mean().item(), "an upper bound on the NLL",
                         "mean -ELBO of the test digits, nats per image, discretised decoder"))
    for key, value, *_ in rows:
        print(f"{key:<40} {value:10.4g}", flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 seed, short runs; write to a temporary folder")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the targets are for 2)")
    arguments = parser.parse_args()
    quick = arguments.quick
    torch.set_num_threads(arguments.threads)
    config = QUICK if quick else FULL
    rows = toy_rows(config) + digit_rows(config)
    paths = {}
    if quick:
        folder = Path(tempfile.mkdtemp(prefix="diffusion-quick-"))
        paths = dict(json_path=folder / "results.json", md_path=folder / "RESULTS.md")
        print(f"--quick: results written to {folder}, not to benchmarks/")
    record("diffusion", "Lecture 09: diffusion and flow matching", rows, **paths,
           notes="\nEach toy run: a fresh Denoiser (3 x 128 residual MLP, 64 random Fourier features), "
                 f"{config['steps']} Adam steps of batch 512; DDPM with a T = 100 cosine schedule and ancestral "
                 "sampling, the flow with 100 midpoint steps; 2 threads; 2500 samples scored by "
                 "`metrics.mode_coverage` (modes_strict: a mode holds >= 10% of its expected share of "
                 "high-quality samples).")


if __name__ == "__main__":
    main()

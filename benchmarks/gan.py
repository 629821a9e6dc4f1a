"""Lectures 05-06: every GAN loss on the ring and the grid, measured by mode coverage.

    python benchmarks/gan.py

For each toy distribution (ring: 8 modes, radius 2, std 0.02; grid: 25 modes at {-4..4}^2, std 0.05)
and each of the five losses, 5 seeds (0..4). Every run trains a fresh pair of 3 x 128-unit MLPs
(`lecturekit.gan.train_toy_gan`) with the paper's optimiser settings, batch 128, for the same budget of
8000 critic updates (8000 generator steps for the classic losses, 1600 for WGAN and WGAN-GP, whose
n_critic is 5), with torch on 2 threads. Then 2500 samples are scored with `metrics.mode_coverage`.

Keys: `gan.<ring|grid>.<loss>.<modes|high_quality|reverse_kl|seconds>` (means over the seeds; the
reverse KL over the seeds where some sample was high quality), and `gan.<ring|grid>.best.<modes|
high_quality>` for the loss with the most modes, ties broken by high-quality share.
"""
import math
import time

import numpy as np
import torch

from lecturekit import seed_everything
from lecturekit.data import toy_distribution
from lecturekit.gan import LOSSES, train_toy_gan
from lecturekit.metrics import mode_coverage
from report import record

SEEDS = range(5)
CRITIC_UPDATES = 8000
PUBLISHED = {  # PacGAN (Lin et al., 2018), Table 1 and Table 2: modes, high-quality %
    "ring": "PacGAN Table 1: GAN 6.3 / 98.2%, PacGAN4 7.8 / 95.9%, VEEGAN 8 / 52.9%",
    "grid": "PacGAN Table 2: GAN 17.3 / 94.8%, PacGAN4 24.8 / 93.6%, VEEGAN 24.6 / 40%",
}
TARGETS = {"ring": (7.9, 0.95), "grid": (24.5, 0.90)}


def run(name, loss, seed):
    seed_everything(seed)
    distribution = toy_distribution(name)
    start = time.perf_counter()
    generator, _, _ = train_toy_gan(distribution, loss, critic_updates=CRITIC_UPDATES)
    seconds = time.perf_counter() - start
    with torch.no_grad():
        samples = generator.sample(2500)
    return {**mode_coverage(samples, distribution.centers, distribution.std), "seconds": seconds}


def summary(runs):
    kls = [r["reverse_kl"] for r in runs if not math.isnan(r["reverse_kl"])]
    return {"modes": np.mean([r["modes"] for r in runs]), "high_quality": np.mean([r["high_quality"] for r in runs]),
            "reverse_kl": np.mean(kls) if kls else float("nan"), "seconds": np.mean([r["seconds"] for r in runs])}


def main():
    torch.set_num_threads(2)
    rows = []
    for name in ("ring", "grid"):
        means = {}
        for loss in LOSSES:
            means[loss] = summary([run(name, loss, seed) for seed in SEEDS])
            print(name, loss, {k: round(float(v), 3) for k, v in means[loss].items()}, flush=True)
            for key, value in means[loss].items():
                reference = PUBLISHED[name] if key in ("modes", "high_quality") and loss == "non_saturating" else ""
                rows.append((f"gan.{name}.{loss}.{key}", value, reference, f"mean of {len(SEEDS)} seeds"))
        best = max(LOSSES, key=lambda loss: (means[loss]["modes"], means[loss]["high_quality"]))
        modes, quality = TARGETS[name]
        rows.append((f"gan.{name}.best.modes", means[best]["modes"], f">= {modes} (target)", f"{best}, mean of {len(SEEDS)} seeds"))
        rows.append((f"gan.{name}.best.high_quality", means[best]["high_quality"], f">= {quality} (target)",
                     f"{best}, mean of {len(SEEDS)} seeds"))
    record("gan", "Lectures 05-06: five GAN losses on the ring and the grid", rows,
           notes=f"\nEach run: a fresh 3 x 128 MLP pair, the paper's optimiser settings, batch 128, "
                 f"{CRITIC_UPDATES} critic updates, 2 threads; 2500 samples scored by "
                 "`metrics.mode_coverage` (high quality = within 3 std of the nearest mode). Reverse KL in nats.")


if __name__ == "__main__":
    main()

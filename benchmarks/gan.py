"""Lectures 05-06: every GAN loss on the ring and the grid, measured by mode coverage.

    python benchmarks/gan.py

For each toy distribution (ring: 8 modes, radius 2, std 0.02; grid: 25 modes at {-4..4}^2, std 0.05),
5 seeds (0..4) of:

* each of the five losses as in the papers: a fresh pair of 3 x 128-unit MLPs
  (`lecturekit.gan.train_toy_gan`), the paper's optimiser settings, batch 128, the same budget of
  8000 critic updates (8000 generator steps for the classic losses, 1600 for WGAN and WGAN-GP,
  whose n_critic is 5);
* the course's extension (lecture 06): the minimax loss with both players in standardised units
  (`standardize=True`), Adam at 5e-4 falling linearly to 0 over the second half
  (`decay_after=0.5`), 20000 steps; the same networks and batch.

Torch runs on 2 threads; then 2500 samples are scored with `metrics.mode_coverage`.

Keys: `gan.<ring|grid>.<loss>.<modes|high_quality|reverse_kl|seconds>` (means over the seeds; the
reverse KL over the seeds where some sample was high quality), with `extension` as a loss, and
`gan.<ring|grid>.best.<modes|high_quality|max_seconds>` for the entry with the most modes, ties broken
by high-quality share (max_seconds: its slowest run).
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
PLAIN = {loss: dict(loss=loss, critic_updates=8000) for loss in LOSSES}
EXTENSION = dict(loss="minimax", critic_updates=20000, standardize=True, decay_after=0.5, lr=5e-4)
PUBLISHED = {  # PacGAN (Lin et al., 2018), Table 1 and Table 2: modes, high-quality %
    "ring": "PacGAN Table 1: GAN 6.3 / 98.2%, PacGAN4 7.8 / 95.9%, VEEGAN 8 / 52.9%",
    "grid": "PacGAN Table 2: GAN 17.3 / 94.8%, PacGAN4 24.8 / 93.6%, VEEGAN 24.6 / 40%",
}
TARGETS = {"ring": (7.9, 0.95), "grid": (24.5, 0.90)}


def run(name, seed, config):
    seed_everything(seed)
    distribution = toy_distribution(name)
    start = time.perf_counter()
    generator, _, _ = train_toy_gan(distribution, **config)
    seconds = time.perf_counter() - start
    with torch.no_grad():
        samples = generator.sample(2500)
    result = {**mode_coverage(samples, distribution.centers, distribution.std), "seconds": seconds}
    print(name, config["loss"], seed, {k: round(float(v), 3) for k, v in result.items()}, flush=True)
    return result


def summary(runs):
    kls = [r["reverse_kl"] for r in runs if not math.isnan(r["reverse_kl"])]
    return {"modes": np.mean([r["modes"] for r in runs]), "high_quality": np.mean([r["high_quality"] for r in runs]),
            "reverse_kl": np.mean(kls) if kls else float("nan"), "seconds": np.mean([r["seconds"] for r in runs]),
            "max_seconds": max(r["seconds"] for r in runs)}


def rows_for(name, entry, means):
    reference = {"modes": PUBLISHED[name], "high_quality": PUBLISHED[name]} if entry == "non_saturating" else {}
    how = "extension: minimax, standardised, lr 5e-4 decaying, 20000 steps" if entry == "extension" else "paper settings"
    return [(f"gan.{name}.{entry}.{key}", means[key], reference.get(key, ""), f"{how}, mean of {len(SEEDS)} seeds")
            for key in ("modes", "high_quality", "reverse_kl", "seconds")]


def main():
    torch.set_num_threads(2)
    rows = []
    for name in ("ring", "grid"):
        means = {entry: summary([run(name, seed, config) for seed in SEEDS])
                 for entry, config in [("extension", EXTENSION)] + list(PLAIN.items())}
        for entry in list(LOSSES) + ["extension"]:
            rows += rows_for(name, entry, means[entry])
        best = max(means, key=lambda entry: (means[entry]["modes"], means[entry]["high_quality"]))
        modes, quality = TARGETS[name]
        for key, target in (("modes", f">= {modes}"), ("high_quality", f">= {quality}"), ("max_seconds", "<= 60")):
            rows.append((f"gan.{name}.best.{key}", means[best][key], f"{target} (target)",
                         f"{best}, {len(SEEDS)} seeds"))
    record("gan", "Lectures 05-06: five GAN losses on the ring and the grid", rows,
           notes="\nEach run: a fresh 3 x 128 MLP pair, batch 128, 2 threads; 2500 samples scored by "
                 "`metrics.mode_coverage` (high quality = within 3 std of the nearest mode). Reverse KL in nats. "
                 "The five losses use the papers' optimiser settings and 8000 critic updates; `extension` is "
                 "lecture 06's minimax GAN in standardised units with a decaying learning rate.")


if __name__ == "__main__":
    main()

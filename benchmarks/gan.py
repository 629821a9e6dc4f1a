"""Lectures 05-06: the six GAN losses compared fairly on the ring and the grid, and an ablation of
lecture 06's extension.

    python benchmarks/gan.py [--quick] [--losses minimax,wgan_gp,...]

Toy data: the ring (8 modes, radius 2, std 0.02) and the grid (25 modes at {-4..4}^2, std 0.05).
Every run trains a fresh pair of 3 x 128-unit MLPs (`lecturekit.gan.train_toy_gan`), batch 128,
and scores 2500 samples with `metrics.mode_coverage`.

* **Baselines** (`metrics.mode_baselines`, 2500 samples, one draw per report seed): the true
  distribution, uniform noise over the centres' box, one Gaussian fitted to the data, and the data
  with one mode deleted.
* **Fair protocol.** Every loss gets standardised units, the same learning-rate schedule (constant,
  then falling linearly to 0 over the second half) and the same number of *generator* steps; the
  WGANs take their 5 critic steps per generator step, so they cost more wall-clock, reported
  beside. Each loss's settings are chosen per data set by a coordinate sweep on seeds 0-2 at a
  shorter budget: first the learning rate (4 values from the paper's, at the paper's penalty), then
  WGAN's clip, WGAN-GP's lambda or R1's gamma (3 values, at the chosen rate). The winner has the
  most strict modes (mean over the seeds), ties broken by the high-quality share. The chosen
  settings are then run on fresh seeds 5-9.
* **Ablation** of the extension, seeds 5-9: from the plain minimax run (the paper's Adam 2e-4,
  raw units, a constant rate, 8000 steps), one change at a time - standardised units, the decaying
  rate, lr 5e-4, 20000 steps - and all four together, which is the extension.

Runs go two at a time, each on one thread (two processes on the 2 cores). Their seconds are
therefore those of one thread sharing the machine, not of a run alone.

Keys: `gan.<ring|grid>.<loss>.fair.<metric>`, `gan.<ring|grid>.ablation.<name>.<metric>` and
`gan.<ring|grid>.baseline.<name>.<metric>`, with metric in modes, modes_strict, high_quality,
reverse_kl, seconds (means over the seeds; `.min` and `.max` beside each), the chosen settings as
`gan.<ring|grid>.<loss>.fair.<lr|clip|gp_weight|r1_weight>`, and
`gan.<ring|grid>.best.<modes|modes_strict|high_quality|max_seconds>` for the entry, among the fair
runs and the extension, with the most strict modes (ties: high-quality share).
"""
import argparse
import math
import multiprocessing
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from lecturekit import seed_everything
from lecturekit.data import toy_distribution
from lecturekit.gan import LOSSES, PAPER_DEFAULTS, train_toy_gan
from lecturekit.metrics import mode_baselines, mode_coverage
from report import record, store

FULL = dict(sweep_seeds=(0, 1, 2), report_seeds=(5, 6, 7, 8, 9), sweep_steps=1000, final_steps=3000,
            plain_steps=8000, long_steps=20000)
QUICK = dict(sweep_seeds=(0,), report_seeds=(5,), sweep_steps=20, final_steps=40, plain_steps=40, long_steps=60)
LR_FACTORS = (1, 2.5, 5, 10)
PENALTIES = {"wgan": ("clip", (0.01, 0.03, 0.1)), "wgan_gp": ("gp_weight", (0.1, 1.0, 10.0)),
             "non_saturating_r1": ("r1_weight", (0.2, 2.0, 20.0))}
METRICS = ("modes", "modes_strict", "high_quality", "reverse_kl", "seconds")
BASELINES = {"true samples": "true", "uniform noise on the box": "noise", "one Gaussian fitted": "gaussian",
             "one mode deleted": "minus_one_mode"}
PUBLISHED = {  # PacGAN (Lin et al., 2018) and VEEGAN (Srivastava et al., 2017), each Table 1: modes, high-quality %
    "ring": "PacGAN (Lin et al., 2018) Table 1, 2D-ring: GAN 6.3 / 98.2%, PacGAN4 7.8 / 95.9%; "
            "VEEGAN (Srivastava et al., 2017, Table 1) 8 / 52.9%",
    "grid": "PacGAN (Lin et al., 2018) Table 1, 2D-grid: GAN 17.3 / 94.8%, PacGAN4 24.8 / 93.6%; "
            "VEEGAN (Srivastava et al., 2017, Table 1) 24.6 / 40%",
}
TARGETS = {"ring": (8, 0.985), "grid": (25, 0.95)}  # strict modes on every seed, mean high-quality share


def parse_losses(text):
    """The comma-separated loss names of --losses, each checked against `gan.LOSSES` before any training."""
    losses = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in losses if name not in LOSSES]
    if unknown or not losses:
        raise ValueError(f"--losses: unknown loss name(s) {unknown}; choose from {', '.join(LOSSES)}")
    return losses


def ablation_configs(budget):
    plain = dict(loss="minimax", critic_updates=budget["plain_steps"])
    changes = {"standardised": dict(standardize=True), "decay": dict(decay_after=0.5), "larger_lr": dict(lr=5e-4),
               "longer": dict(critic_updates=budget["long_steps"])}
    configs = {"plain": plain, **{f"plus_{name}": {**plain, **change} for name, change in changes.items()}}
    configs["all_four"] = {**plain, **{k: v for change in changes.values() for k, v in change.items()}}
    return configs


def fair_config(loss, steps, **settings):
    """The fair protocol's run of `loss`: standardised, decaying, `steps` generator steps."""
    n_critic = PAPER_DEFAULTS[loss]["n_critic"]
    return dict(loss=loss, critic_updates=steps * n_critic, standardize=True, decay_after=0.5, **settings)


def run(task):
    """One training run, in a worker: (data name, seed, config) -> the scores of 2500 samples."""
    name, seed, config = task
    torch.set_num_threads(1)
    seed_everything(seed)
    distribution = toy_distribution(name)
    start = time.perf_counter()
    generator, _, _ = train_toy_gan(distribution, **config)
    seconds = time.perf_counter() - start
    with torch.no_grad():
        samples = generator.sample(2500)
    result = {**mode_coverage(samples, distribution.centers, distribution.std), "seconds": seconds}
    shown = {k: v for k, v in config.items() if k != "loss"}
    print(f"{name} {config['loss']} seed {seed} {shown}: {result['modes_strict']} strict, "
          f"{result['high_quality']:.3f} HQ, {seconds:.1f} s", flush=True)
    return result


def run_all(pool, tasks):
    """Run the tasks two at a time, the longest first (so that no worker waits alone at the end);
    the results come back in the tasks' order."""
    def cost(task):
        config = task[2]
        return config["critic_updates"] * (2 if config["loss"] == "wgan_gp" else 1)
    order = sorted(range(len(tasks)), key=lambda i: -cost(tasks[i]))
    results = dict(zip(order, pool.map(run, [tasks[i] for i in order], chunksize=1)))
    return [results[i] for i in range(len(tasks))]


def chunks(items, n):
    """Consecutive groups of n: the runs of one entry, one per seed."""
    return [items[i:i + n] for i in range(0, len(items), n)]


def spread(runs):
    """metric -> (mean, min, max) over the runs; the reverse KL over the runs with a high-quality sample."""
    out = {}
    for metric in METRICS:
        values = [r[metric] for r in runs if metric in r and not math.isnan(r[metric])]
        out[metric] = (np.mean(values), min(values), max(values)) if values else (math.nan,) * 3
    return out


def sweep(pool, losses, budget):
    """Choose each loss's settings per data set, in two rounds: the learning rate, then the penalty.
    Returns ({(name, loss): settings}, the sweep's table lines)."""
    seeds, lines = budget["sweep_seeds"], []

    def scores(candidates):
        """candidates: {(name, loss): [settings, ...]} -> {(name, loss): [((strict, HQ), settings), ...]}"""
        flat = [(name, loss, settings) for (name, loss), options in candidates.items() for settings in options]
        tasks = [(name, seed, fair_config(loss, budget["sweep_steps"], **settings))
                 for name, loss, settings in flat for seed in seeds]
        scored = {key: [] for key in candidates}
        for (name, loss, settings), runs in zip(flat, chunks(run_all(pool, tasks), len(seeds))):
            runs = spread(runs)
            scored[name, loss].append(((runs["modes_strict"][0], runs["high_quality"][0]), settings))
            lines.append(f"| {name} | {loss} | {settings} | {runs['modes_strict'][0]:.1f} | "
                         f"{100 * runs['high_quality'][0]:.1f} |")
        return scored

    pairs = [(name, loss) for name in ("ring", "grid") for loss in losses]
    rates = scores({(name, loss): [dict(lr=PAPER_DEFAULTS[loss]["lr"] * f) for f in LR_FACTORS] for name, loss in pairs})
    best = {pair: max(scored, key=lambda item: item[0]) for pair, scored in rates.items()}
    penalised = [(name, loss) for name, loss in pairs if loss in PENALTIES]
    for name, loss in penalised:
        key = PENALTIES[loss][0]
        best[name, loss] = (best[name, loss][0], {**best[name, loss][1], key: PAPER_DEFAULTS[loss][key]})
    others = scores({(name, loss): [{**best[name, loss][1], PENALTIES[loss][0]: v} for v in PENALTIES[loss][1]
                                    if v != PAPER_DEFAULTS[loss][PENALTIES[loss][0]]] for name, loss in penalised})
    for pair, scored in others.items():
        best[pair] = max(scored + [best[pair]], key=lambda item: item[0])
    return {pair: settings for pair, (_, settings) in best.items()}, lines


def summary_rows(prefix, summary):
    rows = []
    for metric, (mean, low, high) in summary.items():
        rows += [(f"{prefix}.{metric}", mean), (f"{prefix}.{metric}.min", low), (f"{prefix}.{metric}.max", high)]
    return rows


def table(title, entries, seeds):
    """A markdown table of `entries` (label -> spread), mean (min-max) over `seeds`."""
    lines = [f"**{title}** (seeds {', '.join(map(str, seeds))}: mean (min-max))", "",
             "| entry | modes | strict modes | high quality % | reverse KL | seconds |", "|---|---|---|---|---|---|"]
    for label, s in entries.items():
        cells = [f"{s[m][0]:.1f} ({s[m][1]:.0f}-{s[m][2]:.0f})" for m in ("modes", "modes_strict")]
        cells.append(f"{100 * s['high_quality'][0]:.1f} ({100 * s['high_quality'][1]:.1f}-{100 * s['high_quality'][2]:.1f})")
        cells.append(f"{s['reverse_kl'][0]:.3f}")
        seconds = s.get("seconds", (math.nan,) * 3)
        cells.append("" if math.isnan(seconds[0]) else f"{seconds[0]:.1f} (max {seconds[2]:.1f})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def baselines(name, seeds):
    distribution = toy_distribution(name)
    draws = [mode_baselines(distribution, 2500, torch.Generator().manual_seed(seed)) for seed in seeds]
    return {label: spread([mode_coverage(d[label], distribution.centers, distribution.std) for d in draws])
            for label in BASELINES}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny budgets, 1 seed; write to a temporary folder")
    parser.add_argument("--losses", default=",".join(LOSSES), help="comma-separated names from gan.LOSSES")
    args = parser.parse_args()
    losses = parse_losses(args.losses)
    budget = QUICK if args.quick else FULL
    start = time.perf_counter()
    seeds = budget["report_seeds"]
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        chosen, sweep_lines = sweep(pool, losses, budget)
        fair_tasks = [(name, seed, fair_config(loss, budget["final_steps"], **chosen[name, loss]))
                      for name in ("ring", "grid") for loss in losses for seed in seeds]
        ablation = ablation_configs(budget)
        ablation_tasks = [(name, seed, config) for name in ("ring", "grid") for config in ablation.values()
                          for seed in seeds]
        results = run_all(pool, fair_tasks + ablation_tasks)
    n = len(seeds)
    entries = [(name, loss) for name in ("ring", "grid") for loss in losses]
    entries += [(name, entry) for name in ("ring", "grid") for entry in ablation]
    spreads = dict(zip(entries, map(spread, chunks(results, n))))
    keys, headline, notes = [], [], []
    for name in ("ring", "grid"):
        fair = {loss: spreads[name, loss] for loss in losses}
        ablations = {entry: spreads[name, entry] for entry in ablation}
        base = baselines(name, seeds)
        for loss, s in fair.items():
            keys += summary_rows(f"gan.{name}.{loss}.fair", s)
            keys += [(f"gan.{name}.{loss}.fair.{k}", v) for k, v in chosen[name, loss].items()]
        for entry, s in ablations.items():
            keys += summary_rows(f"gan.{name}.ablation.{entry}", s)
        for label, s in base.items():
            keys += summary_rows(f"gan.{name}.baseline.{BASELINES[label]}", {m: v for m, v in s.items() if m != "seconds"})
        candidates = {**{f"{loss} (fair)": s for loss, s in fair.items()}, "extension": ablations["all_four"]}
        best = max(candidates, key=lambda e: (candidates[e]["modes_strict"][0], candidates[e]["high_quality"][0]))
        b = candidates[best]
        strict, quality = TARGETS[name]
        headline += [(f"gan.{name}.best.modes", b["modes"][0], PUBLISHED[name], f"{best}, {n} seeds"),
                     (f"gan.{name}.best.modes_strict", b["modes_strict"][0], f"{strict} on every seed (target)",
                      f"{best}, min over seeds {b['modes_strict'][1]:.0f}"),
                     (f"gan.{name}.best.high_quality", b["high_quality"][0], f">= {quality} (target)",
                      f"{best}, min-max {b['high_quality'][1]:.3f}-{b['high_quality'][2]:.3f}"),
                     (f"gan.{name}.best.max_seconds", b["seconds"][2], "<= 60 (target)", f"{best}, slowest run")]
        fair_labels = {f"{loss}: {chosen[name, loss]}": s for loss, s in fair.items()}
        notes += [f"### {name}", "", table(f"{name}: baselines", base, seeds), "",
                  table(f"{name}: fair protocol, {budget['final_steps']} generator steps", fair_labels, seeds), "",
                  table(f"{name}: ablation of the extension", ablations, seeds), ""]
    minutes = (time.perf_counter() - start) / 60
    headline.append(("gan.benchmark_minutes", minutes, "< 90 (target)", "the whole script, 2 runs at a time"))
    paths = {}
    if args.quick:
        folder = Path(tempfile.mkdtemp(prefix="gan-quick-"))
        paths = dict(json_path=folder / "results.json", md_path=folder / "RESULTS.md")
        print(f"--quick: results written to {folder}, not to benchmarks/")
    sweep_table = ["**The sweep** (seeds " + ", ".join(map(str, budget["sweep_seeds"])) +
                   f", {budget['sweep_steps']} generator steps: mean strict modes, mean high quality %)", "",
                   "| data | loss | settings | strict modes | high quality % |", "|---|---|---|---|---|"] + sweep_lines
    record("gan", "Lectures 05-06: six GAN losses compared fairly, and an ablation of the extension", headline,
           notes="\n" + __doc__.split("\n\n", 2)[2].split("\nKeys:")[0] + "\n\n" + "\n".join(notes) + "\n"
                 + "\n".join(sweep_table) + "\n", **paths)
    store(keys, **{key: value for key, value in paths.items() if key == "json_path"})


if __name__ == "__main__":
    main()

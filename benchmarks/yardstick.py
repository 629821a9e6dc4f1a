"""Lecture 11: every family of the course on one yardstick, 5 seeds.

    python benchmarks/yardstick.py            # the full benchmark: writes RESULTS.md and results.json
    python benchmarks/yardstick.py --quick    # 1 seed, the notebook's budget, results to /tmp only

For each seed (10..14; the settings come from the lectures, chosen on seed 0) every family of
`lecturekit.yardstick` is trained on the 1347 training digits with the "full" budget and scored by
`yardstick.score` with n = 450 samples (the size of the test split, so that the test digits' own row
has the same n as every model): FID, KID, IS, precision/recall and density/coverage against the
training digits in the features of one digit classifier (trained once, seed 0), the memorisation
ratio in pixel space, the test NLL where the family has one, training and sampling seconds.

Keys: `yardstick.<model>.<column>` (the mean over seeds) and `yardstick.<model>.<column>.min` /
`.max`, with <model> in snake case (naive_bayes, vae, gan, autoregressive, normalising_flow, ddpm,
flow_matching, training_copy, test_digits, uniform_noise). Torch runs on 2 threads.
"""
import argparse
import math
import tempfile
import time
from pathlib import Path

import torch

from lecturekit import seed_everything
from lecturekit.data import load_digits
from lecturekit.metrics import train_digit_classifier
from lecturekit.yardstick import COLUMNS, RESULT_KEYS, references, score, train_all
from report import record, store

SEEDS = tuple(range(10, 15))


def run_seed(seed, x_train, y_train, x_test, classifier, budget):
    seed_everything(seed)
    contenders = train_all(x_train, y_train, budget) + references(x_train, x_test)
    generator = torch.Generator().manual_seed(seed)
    rows = {}
    for contender in contenders:
        rows[contender.name] = score(contender, x_train, x_test, classifier, generator=generator, time_samples=1000)
        rows[contender.name]["nll_kind"] = contender.nll_kind
        print(seed, contender.name, {k: round(v, 3) for k, v in rows[contender.name].items() if k != "nll_kind"},
              flush=True)
    return rows


def summarise(runs):
    """{model: {column: (mean, min, max)}} over the seeds, skipping NaN columns."""
    summary = {}
    for model in runs[0]:
        summary[model] = {}
        for column in COLUMNS:
            values = [run[model][column] for run in runs]
            if not any(math.isnan(v) for v in values):
                summary[model][column] = (sum(values) / len(values), min(values), max(values))
    return summary


def table(summary, runs):
    head = "| model | NLL kind | " + " | ".join(heading for heading, _ in COLUMNS.values()) + " |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 2)]
    for model, columns in summary.items():
        cells = []
        for column, (_, fmt) in COLUMNS.items():
            if column not in columns:
                cells.append("")
                continue
            mean, low, high = columns[column]
            spread = f" ({low:{fmt}}-{high:{fmt}})" if len(runs) > 1 and column != "parameters" else ""
            cells.append(f"{mean:{fmt}}{spread}")
        lines.append(f"| {model} | {runs[0][model]['nll_kind']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 seed, the notebook's budget; write to a temporary folder")
    quick = parser.parse_args().quick
    torch.set_num_threads(2)
    start = time.perf_counter()
    x_train, y_train = load_digits("train")
    x_test, _ = load_digits("test")
    seed_everything(0)
    classifier = train_digit_classifier(x_train, y_train)
    seeds = SEEDS[:1] if quick else SEEDS
    runs = [run_seed(seed, x_train, y_train, x_test, classifier, "quick" if quick else "full") for seed in seeds]
    summary = summarise(runs)
    rows = []
    for model, columns in summary.items():
        for column, (mean, low, high) in columns.items():
            key = f"yardstick.{RESULT_KEYS[model]}.{column}"
            rows += [(key, mean, "", ""), (f"{key}.min", low, "", ""), (f"{key}.max", high, "", "")]
    rows.append(("yardstick.seconds", time.perf_counter() - start, "<= 1800 (target)", "the whole benchmark"))
    paths = {}
    if quick:
        folder = Path(tempfile.mkdtemp(prefix="yardstick-quick-"))
        paths = dict(json_path=folder / "results.json", md_path=folder / "RESULTS.md")
        print(f"--quick: results written to {folder}, not to benchmarks/")
    notes = (f"\n{len(seeds)} seed(s) ({', '.join(map(str, seeds))}): mean (min-max). n = 450 samples per row, scored "
             "against the 1347 training digits in the features of one digit classifier (seed 0); memorisation in "
             "pixel space (1 for the test digits by definition, 0 for a copy); NLL on the 450 test digits, nats "
             f"per image. The whole run took {time.perf_counter() - start:.0f} s.\n\n{table(summary, runs)}\n")
    record("yardstick", "Lecture 11: every model on one yardstick", rows[-1:], notes=notes, **paths)
    store(rows[:-1], **{key: value for key, value in paths.items() if key == "json_path"})  # the table shows them


if __name__ == "__main__":
    main()

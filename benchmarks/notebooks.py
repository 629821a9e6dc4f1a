"""Execute every notebook in a fresh kernel and record its wall time.

    python benchmarks/notebooks.py            # every notebook
    python benchmarks/notebooks.py 00 03      # only those whose names start so; the others keep their last figure
    python benchmarks/notebooks.py --save DIR # also write the executed notebooks (with outputs) to DIR
    python benchmarks/notebooks.py --repeat 1 # one run per notebook instead of the best of 2

The time is that of `nbclient` running the notebook from kernel start to the end of the last
cell, i.e. what a student waits for after "Restart kernel and run all". (Until 2026-11-27 it
also counted the kernel's shutdown, 1 to 3 s per notebook, which nobody waits for.) Each notebook runs twice by
default and the faster run is recorded: on our shared 2-core machine the same notebook took from
45 to 62 s in three runs (lecture 05, one afternoon), and the faster run is the closer to what the
notebook itself costs. The slower run is printed and noted beside it.

The same machine also runs at different speeds from one hour to the next (lecture 05, best of 2,
took 31.0 s in one run of the script and 46.1 s in one five hours later, the notebook unchanged but
for a faster loading of the digits), so the script first times a fixed
reference workload, `notebook.reference.seconds`, and times it again after the last notebook,
`notebook.reference_after.seconds`: compare them between two runs of the script before comparing
their notebook times. Both belong to the notebooks timed in the same run. The reference is
a coarse guide: in two runs of 2026-11-26, 90 minutes apart, it took 1.19 and 1.25 s while
the diffusion lecture (then lecture 09) took 46.1 and 55.1 s; on 2026-11-27 it took 0.89 s in a run where lecture 06 took
40.6 s, and 0.90 s in one where the same notebook took 30.8 s.
"""
import argparse
import json
import time
from pathlib import Path

import nbclient
import nbformat
import torch

from report import RESULTS_JSON, record

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
TARGET_SECONDS = {"00": 30}
DEFAULT_TARGET_SECONDS = 40  # a minute on a laptop slower than this machine


def reference_seconds(repeat=3):
    """The best of `repeat` wall times of a fixed workload like the notebooks' own: 300 Adam
    steps of an MLP (64 -> 256 -> 256 -> 64, batch 256), fixed seed, torch's default threads."""
    times = []
    for _ in range(repeat):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.SiLU(), torch.nn.Linear(256, 256),
                                    torch.nn.SiLU(), torch.nn.Linear(256, 64))
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        x = torch.randn(256, 64)
        start = time.perf_counter()
        for _ in range(300):
            loss = (model(x) - x).pow(2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        times.append(time.perf_counter() - start)
    return min(times)


def run_notebook(path, save_dir=None):
    """Execute the notebook at `path` in a fresh kernel, in its own folder; return the seconds
    from the kernel's start to the end of the last cell. The kernel's shutdown after it (0.4 s
    for a bare kernel on our machine, 1 to 3 s once torch is loaded) is not counted: nobody waits for it.
    With `save_dir`, the executed notebook is written there too."""
    notebook = nbformat.read(path, as_version=4)
    cell_ends = []
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}},
                                     on_cell_executed=lambda **_: cell_ends.append(time.perf_counter()))
    start = time.perf_counter()
    client.execute()
    seconds = cell_ends[-1] - start
    if save_dir is not None:
        Path(save_dir).mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, Path(save_dir) / path.name)
    return seconds


def main(prefixes, save_dir=None, repeat=2):
    every = sorted(NOTEBOOKS.glob("*.ipynb"))
    paths = [p for p in every if not prefixes or p.name.startswith(tuple(prefixes))]
    if not paths:
        raise SystemExit(f"no notebook in {NOTEBOOKS} starts with {prefixes}")
    earlier = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
    reference = reference_seconds()
    print(f"reference workload: {reference:.2f} s")
    timed = ", ".join(p.name[:2] for p in paths)
    rows = [("notebook.reference.seconds", reference, "", "a fixed workload (reference_seconds), best of 3: "
             f"the machine's speed before the run that timed notebooks {timed}")]
    for path in every:
        number = path.name[:2]
        target = TARGET_SECONDS.get(number, DEFAULT_TARGET_SECONDS)
        key = f"notebook.{number}.seconds"
        if path in paths:
            runs = [run_notebook(path, save_dir) for _ in range(repeat)]
            seconds = min(runs)
            how = ("fresh kernel, 1 run" if repeat == 1
                   else f"fresh kernel, best of {repeat} runs (slowest {max(runs):.1f} s)")
            print(f"{path.name}: {seconds:.1f} s (target < {target} s); runs: {', '.join(f'{r:.1f}' for r in runs)}")
        elif key in earlier:
            seconds, how = earlier[key], "an earlier run of the script"
        else:
            continue
        rows.append((key, seconds, f"< {target} s", f"`{path.name}`, {how}"))
    notebooks = [row for row in rows if row[0] != "notebook.reference.seconds"]
    reference_after = reference_seconds()
    print(f"reference workload after the notebooks: {reference_after:.2f} s")
    rows.append(("notebook.reference_after.seconds", reference_after, "",
                 "the same workload timed again after the notebooks: if it moved, the machine's speed did too"))
    rows.append(("notebook.total.seconds", sum(row[1] for row in notebooks), "", "sum of the notebooks"))
    record("notebooks", "Notebook run times", rows,
           notes="\nEach notebook executed top to bottom in a fresh kernel by `python benchmarks/notebooks.py`, "
                 "timed from the kernel's start to the end of the last cell (the kernel's shutdown is not counted).")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prefixes", nargs="*", help="run only the notebooks whose names start so")
    parser.add_argument("--save", metavar="DIR", help="also write the executed notebooks to DIR")
    parser.add_argument("--repeat", type=int, default=2, help="runs per notebook; the fastest is recorded")
    arguments = parser.parse_args()
    if arguments.repeat < 1:
        parser.error("--repeat must be at least 1")
    main(arguments.prefixes, arguments.save, arguments.repeat)

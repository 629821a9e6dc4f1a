"""Execute every notebook in a fresh kernel and record its wall time.

    python benchmarks/notebooks.py            # every notebook
    python benchmarks/notebooks.py 00 03      # only those whose names start so

The time is that of `nbclient` running the notebook from kernel start to the last cell,
i.e. what a student waits for after "Restart kernel and run all". One run per notebook.
"""
import sys
import time
from pathlib import Path

import nbclient
import nbformat

from report import record

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
TARGET_SECONDS = {"00": 30}
DEFAULT_TARGET_SECONDS = 40  # a minute on a laptop slower than this machine


def run_notebook(path):
    """Execute the notebook at `path` in a fresh kernel, in its own folder; return seconds."""
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def main(prefixes):
    paths = sorted(p for p in NOTEBOOKS.glob("*.ipynb") if not prefixes or p.name.startswith(tuple(prefixes)))
    if not paths:
        raise SystemExit(f"no notebook in {NOTEBOOKS} starts with {prefixes}")
    rows = []
    for path in paths:
        number = path.name[:2]
        seconds = run_notebook(path)
        target = TARGET_SECONDS.get(number, DEFAULT_TARGET_SECONDS)
        print(f"{path.name}: {seconds:.1f} s (target < {target} s)")
        rows.append((f"notebook.{number}.seconds", seconds, f"< {target} s", f"`{path.name}`, fresh kernel, 1 run"))
    if not prefixes:
        total = sum(row[1] for row in rows)
        rows.append(("notebook.total.seconds", total, "", "sum of the above"))
    record("notebooks", "Notebook run times", rows,
           notes="\nEach notebook executed top to bottom in a fresh kernel by `python benchmarks/notebooks.py`.")


if __name__ == "__main__":
    main(sys.argv[1:])

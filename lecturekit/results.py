"""The course's measured figures: `benchmarks/results.json`, written by the scripts in `benchmarks/`.

Notebooks quote these figures beside their own (smaller, faster) runs, so that a student
sees both what this run measured and what the full benchmark measured over several seeds.
"""
import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results.json"


def benchmark_results(path=RESULTS):
    """Return the flat dictionary of named benchmark figures, e.g. `"gan.ring.best.modes"`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: install the course from a clone of its repository "
                                "(`pip install -e .`), or run the scripts in benchmarks/ to write it")
    return json.loads(path.read_text())

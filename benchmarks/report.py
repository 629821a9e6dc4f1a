"""Write benchmark figures to the two results files, section by section.

* `results.json`: one flat JSON object of named figures, e.g. {"notebook.00.seconds": 6.1}.
  Each benchmark updates its own keys and keeps everyone else's.
* `RESULTS.md`: one table per benchmark section, with the reference figure beside ours.
  A section is rewritten in place between its markers; other sections are kept.
"""
import json
import os
import platform
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
RESULTS_JSON = HERE / "results.json"
RESULTS_MD = HERE / "RESULTS.md"
HEADER = "# Benchmark results\n\nWritten by the scripts in `benchmarks/`; each script rewrites only its own section.\n"


def machine():
    """A one-line description of where the figures were measured."""
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, "
            f"torch {torch.__version__}, Python {platform.python_version()}")


def store(rows, json_path=RESULTS_JSON):
    """Write each (key, value, ...) of `rows` to the JSON, keeping the other keys."""
    figures = json.loads(Path(json_path).read_text()) if Path(json_path).exists() else {}
    figures.update({key: round(float(value), 6) for key, value, *_ in rows})
    Path(json_path).write_text(json.dumps(dict(sorted(figures.items())), indent=2) + "\n")


def record(section, title, rows, notes="", json_path=RESULTS_JSON, md_path=RESULTS_MD):
    """Store `rows`, a list of (key, value, reference, comment), under `section`.

    `value` is a number, written to the JSON under `key`; `reference` and `comment` are
    text for the table (the published figure or target, and how it was measured).
    """
    store(rows, json_path)

    table = ["| figure | ours | reference or target | how measured |", "|---|---|---|---|"]
    table += [f"| `{key}` | {value:.4g} | {reference} | {comment} |" for key, value, reference, comment in rows]
    body = f"## {title}\n\nMeasured on {machine()}.\n{notes}\n\n" + "\n".join(table) + "\n"
    begin, end = f"<!-- begin {section} -->", f"<!-- end {section} -->"
    text = Path(md_path).read_text() if Path(md_path).exists() else HEADER
    block = f"{begin}\n{body}{end}"
    if begin in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    Path(md_path).write_text(text)

"""Lecture widgets: how long one redraw takes, kernel side, after a control moves.

    python benchmarks/widgets.py

Each notebook with widgets is executed in a fresh kernel; then, in that kernel, every lecturekit
widget (found by its `lecturekit-<name>` CSS class) has each of its controls moved to 3 other
values (or, for a button, clicked 3 times), and each change is timed from the new value until
the figure's PNG is replaced. The figure is the slowest of these changes:
`widget.<notebook>.<name>.redraw_seconds`; the target is under 1 s on 2 CPU cores.
"""
import json
from pathlib import Path

import nbclient
import nbformat

from report import record

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

TIMING_CODE = r'''
import json as _json, time as _time
import ipywidgets as _widgets
from ipywidgets.widgets.widget import _instances as _live

def _other_settings(control):
    """(attribute, value) pairs that move `control` to 3 other positions."""
    if isinstance(control, _widgets.SelectionSlider):
        return [("index", i) for i in range(len(control.options)) if i != control.index][:3]
    span = control.max - control.min
    values = [type(control.value)(control.min + f * span) for f in (0.2, 0.5, 0.8)]
    if isinstance(control, _widgets.FloatLogSlider):  # its min and max are exponents
        values = [control.base ** (control.min + f * span) for f in (0.2, 0.5, 0.8)]
    return [("value", v) for v in values if v != control.value]

_times = {}
for _box in list(_live.values()):
    _names = [c[len("lecturekit-"):] for c in getattr(_box, "_dom_classes", ()) if c.startswith("lecturekit-")]
    if not _names:
        continue
    _image = [c for c in _box.children if isinstance(c, _widgets.Image)][0]
    _slowest = 0.0
    for _control in [c for c in _box.children if not isinstance(c, _widgets.Image)]:
        _controls = _control.children if isinstance(_control, _widgets.HBox) else [_control]
        for _c in _controls:
            _changes = ([lambda c=_c: c.click()] * 3 if isinstance(_c, _widgets.Button)
                        else [lambda c=_c, a=a, v=v: setattr(c, a, v) for a, v in _other_settings(_c)])
            for _change in _changes:
                _before = _image.value
                _start = _time.perf_counter()
                _change()
                _elapsed = _time.perf_counter() - _start
                assert _image.value is not _before, f"{_names[0]}: the figure was not replaced"
                _slowest = max(_slowest, _elapsed)
    _times[_names[0]] = _slowest
print(_json.dumps(_times))
'''


def redraw_times(path):
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(TIMING_CODE))
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}}).execute()
    stdout = [o["text"] for o in notebook.cells[-1].outputs if o.get("name") == "stdout"]
    return json.loads(stdout[-1])


def main():
    rows = []
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        if "lecturekit.widgets import" not in path.read_text():
            continue
        for name, seconds in redraw_times(path).items():
            print(f"{path.name} {name}: slowest redraw {seconds:.3f} s")
            rows.append((f"widget.{path.name[:2]}.{name}.redraw_seconds", seconds, "< 1 s (target)",
                         "slowest of 3 changes per control, kernel side, 1 run"))
    record("widgets", "Widget redraw times", rows,
           notes="\nMeasured by `python benchmarks/widgets.py` after executing each notebook in a fresh kernel.")


if __name__ == "__main__":
    main()

"""Every lecture is also a slide show: slide metadata derived from the notebook's own content.

    python -m lecturekit.slides                         # every lecture: write the slide metadata
    python -m lecturekit.slides notebooks/03_*.ipynb    # some of them
    python -m lecturekit.slides --check                 # change nothing; exit 1 naming the stale ones

RISE (the `jupyterlab-rise` slide show) and nbconvert read each cell's `slideshow.slide_type`:
"slide" starts a slide, "subslide" a slide below it (the down arrow), "fragment" appears on the
next key press, "-" continues the current slide, "notes" is a speaker note (hidden on the slide),
"skip" is hidden. This module computes that metadata from the cells' text and tags alone, never
from their outputs, so the same notebook always gets the same slides: after editing a lecture,
run the command again. Rules, the first that applies wins:

1. A cell tag `slide`, `subslide`, `fragment`, `notes`, `skip` or `continue` (which is "-"):
   an instructor's choice, kept as it is.
2. A markdown cell that starts with a `# ` or `## ` heading starts a slide; `### ` a sub-slide.
3. A markdown cell that holds only `<details>...</details>` notes is a speaker note.
4. Any other cell continues the current sub-slide if the sub-slide's estimated height, this cell
   included, stays within `SLIDE_HEIGHT` (a 1280 x 720 screen less reveal.js's margin); otherwise
   it starts a sub-slide. "What to notice" (or "What to look for") text that continues the
   sub-slide of its figure is a fragment: the figure first, the finding on the next key press.

Before the rules, a markdown cell is split in two before every `#`, `##` or `###` heading that is
not its first line, so that each section can start a slide; no text changes.

The height estimate (`estimated_height`) is an upper bound, in CSS pixels, of how tall a cell is
on a 1280-pixel-wide slide with the sizes that `notebooks/rise.css` sets: markdown from its wrapped
lines, list items, headings and display maths; code from its lines, of which a slide shows at most
`CODE_LINES` (`CODE_LINES_WITH_FIGURE` above a figure; the rest scrolls inside the box); each
figure the cell may show as `FIGURE_HEIGHT`, the tallest rise.css draws one, and each line a print
outside a loop writes as a line of text. `tests/test_browser.py` checks the result on the real
slides: no slide of any lecture may leave the screen.

The notebook's `rise` metadata (`RISE_SETTINGS`) picks reveal.js's "white" theme, whose fonts ship
with the extension (RISE's default theme, "simple", loads its fonts from Google), no transition,
and a show that starts at the slide of the selected cell.
"""
import argparse
import ast
import copy
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SLIDE_TYPES = ("slide", "subslide", "fragment", "-", "notes", "skip")
OVERRIDE_TAGS = {"slide": "slide", "subslide": "subslide", "fragment": "fragment",
                 "continue": "-", "notes": "notes", "skip": "skip"}
RISE_SETTINGS = {"theme": "white", "transition": "none", "start_slideshow_at": "selected"}

SCREEN_WIDTH, SCREEN_HEIGHT = 1280, 720
SLIDE_HEIGHT = 640          # what a sub-slide may fill: reveal.js keeps 36 px above it, and a margin below
CELL_PADDING = 10           # every cell, between its top and its content
MARKDOWN_PADDING = 26       # around a rendered markdown text
CHARACTERS_PER_LINE = 170   # a line of markdown text on a 1280-pixel slide (about 190 in the course's prose)
TEXT_LINE, PARAGRAPH_GAP, LIST_GAP = 24, 14, 8
HEADING_HEIGHT = {1: 50, 2: 32, 3: 26}
DISPLAY_MATHS, DISPLAY_MATHS_ROW = 62, 30  # a block of display maths, and each row after its first
TABLE_ROW = 24
CODE_LINE, CODE_PADDING = 17, 26  # a line of code, and the padding of its box
OUTPUT_PADDING = 5          # above a code cell's outputs
CONTROLS_HEIGHT = 50        # the row of sliders or buttons above a widget's figure
SILENT_CALLS = {"seed_everything"}  # a cell that ends in one of these calls shows nothing
# The sizes notebooks/rise.css gives a code cell on a slide: longer code and text scroll in their boxes.
CODE_LINES, CODE_LINES_WITH_FIGURE = 20, 10
TEXT_OUTPUT_LINE, TEXT_OUTPUT_MAX, TEXT_OUTPUT_MAX_WITH_FIGURE = 17, 240, 90
FIGURE_HEIGHT, FIGURES_HEIGHT, FIGURE_MARGIN = 360, 250, 4  # one figure; each of a figure and a widget
NOTICE = re.compile(r"^\*\*What to (notice|look for)", re.I)
HEADING = re.compile(r"^(#{1,3})\s+\S")
DETAILS = re.compile(r"<details\b.*?</details>", re.S | re.I)
FENCE = re.compile(r"^\s*(```|~~~)")
LOOPS = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
MANY_LINES = 10 ** 6        # what a print in a loop may write


def _source(cell):
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def _tags(cell):
    return cell.get("metadata", {}).get("tags", [])


def _headings_not_first(source):
    """Line numbers of the #, ## and ### headings of a markdown text, bar a heading on its first
    non-blank line, outside fenced code, display maths and <details> blocks."""
    lines, found = source.split("\n"), []
    in_fence, in_maths, details_depth, seen_text = False, False, 0, False
    for number, line in enumerate(lines):
        if FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence:
            if line.count("$$") % 2:
                in_maths = not in_maths
            details_depth += len(re.findall(r"<details\b", line, re.I)) - len(re.findall(r"</details>", line, re.I))
            if HEADING.match(line) and not in_maths and details_depth <= 0 and seen_text:
                found.append(number)
        seen_text = seen_text or bool(line.strip())
    return found


def split_at_headings(cells):
    """The cells with every markdown cell split before each heading that is not its first line.

    The parts keep the text (less the blank lines at a cut), the cell's metadata and tags; the
    first part keeps the cell's id and the k-th part after it gets `<id>-<k>`.
    """
    result, used = [], {cell.get("id") for cell in cells}
    for cell in cells:
        cuts = _headings_not_first(_source(cell)) if cell["cell_type"] == "markdown" else []
        if not cuts:
            result.append(cell)
            continue
        lines = _source(cell).split("\n")
        bounds = [0] + cuts + [len(lines)]
        for k, (start, stop) in enumerate(zip(bounds, bounds[1:])):
            part = copy.deepcopy(cell)
            part["source"] = "\n".join(lines[start:stop]).strip("\n")
            if k and "id" in cell:
                part["id"] = _new_id(cell["id"], k, used)
            result.append(part)
    return result


def _new_id(base, k, used):
    """A cell id made from `base` and `k` that no other cell has (nbformat allows 64 characters)."""
    candidate, extra = f"{base[:58]}-{k}", 0
    while candidate in used:
        extra += 1
        candidate = f"{base[:55]}-{k}-{extra}"
    used.add(candidate)
    return candidate


def only_details(source):
    """True when a markdown text holds nothing but <details>...</details> blocks."""
    return "<details" in source.lower() and not DETAILS.sub("", source).strip()


def _wrapped_lines(text, width=CHARACTERS_PER_LINE):
    """How many lines a line of markdown source takes on a slide when wrapped at `width`
    characters: inline maths counts one character for every two of its source, markup nothing."""
    text = re.sub(r"\$([^$]+)\$", lambda m: "x" * (len(m.group(1)) // 2 + 1), text)
    text = re.sub(r"\]\([^)]*\)|[*_`\[]", "", text)
    return max(1, -(-len(text) // width))


def markdown_height(source):
    """Estimated height in pixels of a markdown cell on a slide, an upper bound: its paragraphs'
    wrapped lines, list items, table rows, headings and display maths. Folded <details> notes
    count nothing (a cell of notes only is hidden on the slide)."""
    blocks, lines, gap, in_fence, maths = [], [], PARAGRAPH_GAP, False, None

    def end_block(next_gap=PARAGRAPH_GAP):
        nonlocal gap
        if lines:
            blocks.append(_wrapped_lines(" ".join(lines)) * TEXT_LINE + gap)
            lines.clear()
        gap = next_gap

    for line in DETAILS.sub("", source).split("\n"):
        stripped = line.strip()
        if FENCE.match(line) or in_fence:
            end_block()
            in_fence = in_fence != bool(FENCE.match(line))
            blocks.append(CODE_LINE)
        elif maths is not None or stripped.startswith("$$"):
            end_block()
            maths = (maths or "") + line
            if maths.count("$$") % 2 == 0:
                blocks.append(DISPLAY_MATHS + DISPLAY_MATHS_ROW * maths.count("\\\\"))
                maths = None
        elif stripped.startswith("#"):
            end_block()
            blocks.append(HEADING_HEIGHT.get(len(stripped) - len(stripped.lstrip("#")), TEXT_LINE))
        elif stripped.startswith("|"):
            end_block()
            blocks.append(0 if re.fullmatch(r"[|:\- ]+", stripped) else TABLE_ROW)
        elif re.match(r"([*+-]|\d+\.)\s", stripped):
            end_block(LIST_GAP)  # a list item is a block of its own; its wrapped source lines follow
            lines.append(stripped)
        elif stripped:
            lines.append(stripped)
        else:
            end_block()
    end_block()
    return CELL_PADDING + MARKDOWN_PADDING + sum(blocks) if blocks else 0


def _calls(node, names):
    """True when `node` is a call of a plain name in `names`."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names


def _outputs(source, widgets):
    """(figures, widget calls, text lines) a code cell may show, an upper bound: a figure for
    each display() call and for a last expression (unless it is a print or a silent call), a
    widget for each call of a name in `widgets`, the lines of each print, any number in a loop."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return 1, 0, MANY_LINES  # IPython syntax such as %magic: assume a figure and text
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    shown = sum(_calls(node, {"display"}) for node in calls)
    last = tree.body[-1] if tree.body else None
    if isinstance(last, ast.Expr) and not _calls(last.value, {"print", "display"} | SILENT_CALLS):
        shown += 1
    widget_calls = sum(_calls(node, set(widgets)) for node in calls)
    loops = [node for node in ast.walk(tree) if isinstance(node, LOOPS)]
    if any(_calls(node, {"print"}) for loop in loops for node in ast.walk(loop)):
        return shown, min(widget_calls, shown), MANY_LINES
    return shown, min(widget_calls, shown), sum(_printed_lines(node) for node in calls if _calls(node, {"print"}))


def _printed_lines(call):
    """Lines a print writes: one, plus one per newline in its text; any number when it prints
    something other than text (a tensor or an array takes a line per row)."""
    if not all(isinstance(a, ast.JoinedStr) or (isinstance(a, ast.Constant) and isinstance(a.value, str))
               for a in call.args):
        return MANY_LINES
    text = [n.value for a in call.args for n in ast.walk(a) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    return 1 + sum(t.count("\n") for t in text)


def code_height(source, widgets=()):
    """Estimated height in pixels of a code cell and its output on a slide, an upper bound, with
    the sizes of notebooks/rise.css: a figure shortens the boxes of code and text beside it."""
    figures, widget_calls, text_lines = _outputs(source, widgets)
    code_lines = min(len(source.rstrip("\n").split("\n")), CODE_LINES_WITH_FIGURE if figures else CODE_LINES)
    height = CELL_PADDING + code_lines * CODE_LINE + CODE_PADDING
    if text_lines:
        text_max = TEXT_OUTPUT_MAX_WITH_FIGURE if figures else TEXT_OUTPUT_MAX
        height += min(text_lines * TEXT_OUTPUT_LINE, text_max) + FIGURE_MARGIN
    each = FIGURES_HEIGHT if figures > 1 and widget_calls else FIGURE_HEIGHT
    height += figures * (each + FIGURE_MARGIN) + widget_calls * CONTROLS_HEIGHT
    return height + (OUTPUT_PADDING if figures or text_lines else 0)


def widget_names(cells):
    """The names a notebook imports from lecturekit.widgets."""
    names = set()
    for cell in cells:
        if cell["cell_type"] != "code" or "lecturekit.widgets" not in _source(cell):
            continue
        try:
            tree = ast.parse(_source(cell))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "lecturekit.widgets":
                names.update(alias.asname or alias.name for alias in node.names)
    return names


def estimated_height(cell, widgets=()):
    """Estimated height in pixels of a cell on a 1280 x 720 slide, outputs included (an upper
    bound); `widgets` names the widget functions a code cell may call."""
    if cell["cell_type"] == "markdown":
        return markdown_height(_source(cell))
    if cell["cell_type"] == "code":
        return code_height(_source(cell), widgets)
    return CELL_PADDING + _wrapped_lines(_source(cell)) * TEXT_LINE


def _override(cell, index):
    chosen = [tag for tag in _tags(cell) if tag in OVERRIDE_TAGS]
    if len(chosen) > 1:
        raise ValueError(f"cell {index} has more than one slide tag: {', '.join(chosen)}; keep one")
    return OVERRIDE_TAGS[chosen[0]] if chosen else None


def slide_types(cells):
    """The `slideshow.slide_type` of each cell, by the rules of the module's docstring."""
    types, used, widgets = [], 0, widget_names(cells)
    for index, cell in enumerate(cells):
        source = _source(cell).lstrip()
        height = estimated_height(cell, widgets)
        chosen = _override(cell, index)
        if chosen is None:
            heading = HEADING.match(source) if cell["cell_type"] == "markdown" else None
            if heading:
                chosen = "slide" if len(heading.group(1)) <= 2 else "subslide"
            elif cell["cell_type"] == "markdown" and only_details(source):
                chosen = "notes"
            elif index and used + height > SLIDE_HEIGHT:
                chosen = "subslide"
            elif index and cell["cell_type"] == "markdown" and NOTICE.match(source):
                chosen = "fragment"
            else:
                chosen = "-"
        if chosen in ("slide", "subslide"):
            used = height
        elif chosen in ("-", "fragment"):
            used += height
        types.append(chosen)
    return types


def with_slides(notebook):
    """A copy of `notebook` (a dict as nbformat reads it) with split headings, the slide type of
    every cell and the notebook's RISE settings."""
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise TypeError("notebook must be a notebook as nbformat reads it, a dict with a list of cells")
    result = copy.deepcopy(notebook)
    result["cells"] = split_at_headings(result["cells"])
    for cell, slide_type in zip(result["cells"], slide_types(result["cells"])):
        metadata = cell.setdefault("metadata", {})
        metadata["slideshow"] = {**metadata.get("slideshow", {}), "slide_type": slide_type}
    result.setdefault("metadata", {})["rise"] = dict(RISE_SETTINGS)
    return result


def check_slide_metadata(notebook):
    """Raise ValueError naming the first cell whose slide metadata RISE cannot read.

    A cell may have no `slideshow` metadata (RISE then continues the current slide); when it has
    one, it must be a dict whose `slide_type` is one of SLIDE_TYPES.
    """
    for index, cell in enumerate(notebook["cells"]):
        _override(cell, index)
        if "slideshow" not in cell.get("metadata", {}):
            continue
        slideshow = cell["metadata"]["slideshow"]
        if not isinstance(slideshow, dict) or "slide_type" not in slideshow:
            raise ValueError(f"cell {index}: slideshow metadata must be a dict with a slide_type; got {slideshow!r}")
        if slideshow["slide_type"] not in SLIDE_TYPES:
            allowed = ", ".join(repr(t) for t in SLIDE_TYPES)
            raise ValueError(f"cell {index}: slide_type must be one of {allowed}; got {slideshow['slide_type']!r}")


def slide_layout(notebook):
    """How many sub-slides each slide of the show has, as RISE builds it from the metadata.

    A cell with no slide type continues the current slide. As in RISE, the first cell that is
    neither a note nor skipped is on the first slide whatever its type, so a show never starts
    with a blank slide; notes and skipped cells make no slide.
    """
    check_slide_metadata(notebook)
    layout, content = [1], False
    for cell in notebook["cells"]:
        slide_type = cell.get("metadata", {}).get("slideshow", {}).get("slide_type", "-")
        if content and slide_type == "slide":
            layout.append(1)
        elif content and slide_type == "subslide":
            layout[-1] += 1
        content = content or slide_type not in ("notes", "skip")
    return layout


def lectures():
    """The lecture notebooks, notebooks/NN_topic.ipynb."""
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def update(path, write=True):
    """Give the notebook at `path` its slides; return True when its file changed (or would)."""
    import nbformat

    path = Path(path)
    before = path.read_text(encoding="utf-8")
    notebook = nbformat.reads(before, as_version=4)
    after = nbformat.writes(nbformat.from_dict(with_slides(notebook))) + "\n"
    if after != before and write:
        path.write_text(after, encoding="utf-8")
    return after != before


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m lecturekit.slides", description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="notebooks to give slides (default: every lecture)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook's slides are stale")
    args = parser.parse_args(argv)
    paths = [Path(p) for p in args.notebooks] or lectures()
    missing = [str(p) for p in paths if p.suffix != ".ipynb" or not p.is_file()]
    if missing:
        parser.error(f"notebooks must be existing .ipynb files; not found: {', '.join(missing)}")
    changed = [p for p in paths if update(p, write=not args.check)]
    for path in changed:
        print(f"{'stale' if args.check else 'wrote'} {path}")
    if args.check and changed:
        print(f"run: python -m lecturekit.slides {' '.join(str(p) for p in changed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

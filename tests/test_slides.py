"""The slide metadata tool: its rules on small notebooks, and every lecture's stored metadata is
what the tool gives (so a lecture edited since has to be re-tagged: the failure says how)."""
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from lecturekit import slides

ROOT = Path(__file__).resolve().parent.parent


def notebook(*cells):
    return new_notebook(cells=[new_markdown_cell(c) if isinstance(c, str) else c for c in cells])


def types(nb):
    return [cell.metadata.slideshow.slide_type for cell in slides.with_slides(nb).cells]


def tagged(cell, *tags):
    cell.metadata["tags"] = list(tags)
    return cell


FIGURE_CELL = 'fig = plots.lines({"loss": (x, y)})\nfig'
NOTE = "<details><summary>How this was measured</summary>\n\nFive seeds.\n\n</details>"


def test_headings_start_slides_and_notes_are_speaker_notes():
    nb = notebook("# 03 · A lecture", "## A section\n\nSome text.", new_code_cell("x = 1"),
                  "### A subsection", NOTE, "## Summary")
    assert types(nb) == ["slide", "slide", "-", "subslide", "notes", "slide"]


def test_a_heading_inside_a_cell_splits_it_and_keeps_the_text():
    source = "**What to notice:** it falls.\n\n## The next section\n\nIts first paragraph."
    cell = new_markdown_cell(source)
    cell.metadata["tags"] = ["keep-me"]
    result = slides.with_slides(notebook("# Title", cell))
    first, second = result.cells[1], result.cells[2]
    assert (first.source, second.source) == ("**What to notice:** it falls.", "## The next section\n\nIts first paragraph.")
    assert first.id == cell.id and second.id == f"{cell.id}-1"
    assert second.metadata["tags"] == ["keep-me"]
    assert [first.metadata.slideshow.slide_type, second.metadata.slideshow.slide_type] == ["fragment", "slide"]
    nbformat.validate(nbformat.from_dict(result))


@pytest.mark.parametrize("source", [
    "## First line is a heading\n\ntext",
    "Code:\n\n```python\n# a comment, not a heading\n```",
    "Maths:\n\n$$\n# not a heading\n$$",
    "Text.\n\n<details><summary>Notes</summary>\n\n## not a slide\n\n</details>",
    "Text.\n\n#### a fourth-level heading stays in its cell",
])
def test_no_split_at_a_first_line_or_inside_code_maths_or_notes(source):
    assert len(slides.split_at_headings([new_markdown_cell(source)])) == 1


def test_split_ids_never_collide():
    cells = [new_markdown_cell("a\n\n## b\n\n## c"), new_markdown_cell("d")]
    cells[1].id = f"{cells[0].id}-1"
    ids = [cell.id for cell in slides.split_at_headings(cells)]
    assert len(ids) == len(set(ids)) == 4


@pytest.mark.parametrize("tag, slide_type", sorted(slides.OVERRIDE_TAGS.items()))
def test_a_tag_overrides_the_rules(tag, slide_type):
    nb = notebook("# Title", tagged(new_markdown_cell("## A section"), tag))
    assert types(nb)[1] == slide_type


def test_two_slide_tags_on_one_cell_name_the_cell():
    nb = notebook("# Title", "Text", tagged(new_code_cell("x = 1"), "slide", "skip"))
    with pytest.raises(ValueError, match="cell 2 has more than one slide tag: slide, skip"):
        slides.with_slides(nb)


def test_a_section_too_tall_for_the_screen_goes_on_sub_slides():
    figures = [new_code_cell(FIGURE_CELL) for _ in range(3)]
    nb = notebook("## A section\n\nIntro.", *figures)
    assert types(nb) == ["slide", "-", "subslide", "subslide"]
    small = notebook("## A section\n\nIntro.", new_code_cell("x = 1"), new_code_cell("y = 2"))
    assert types(small) == ["slide", "-", "-"]


def test_what_to_notice_under_its_figure_is_a_fragment():
    nb = notebook("## A section", new_code_cell(FIGURE_CELL), "**What to notice:** the loss falls.")
    assert types(nb) == ["slide", "-", "fragment"]


def test_every_sub_slide_of_every_lecture_fits_by_the_estimate():
    """A code cell alone may be taller (its code scrolls in its box); a text cell may not."""
    for path in slides.lectures():
        result = slides.with_slides(nbformat.read(path, as_version=4))
        widgets, height, cells = slides.widget_names(result.cells), 0, 0
        for index, cell in enumerate(result.cells):
            kind = cell.metadata.slideshow.slide_type
            if kind in ("notes", "skip"):
                continue
            if kind in ("slide", "subslide"):
                height, cells = 0, 0
            height, cells = height + slides.estimated_height(cell, widgets), cells + 1
            too_tall = height > slides.SLIDE_HEIGHT and (cells > 1 or cell.cell_type == "markdown")
            assert not too_tall, f"{path.name}, cell {index}: {height} px; split a long text into cells"


def test_slides_are_idempotent_and_ignore_outputs():
    nb = nbformat.read(slides.lectures()[0], as_version=4)
    once = slides.with_slides(nb)
    assert slides.with_slides(once) == once
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [new_output("stream", name="stdout", text="many\n" * 100)]
    assert types(nb) == [cell.metadata.slideshow.slide_type for cell in once.cells]


def test_the_input_notebook_is_not_changed():
    nb = notebook("# Title\n\ntext\n\n## Section")
    before = nbformat.writes(nb)
    slides.with_slides(nb)
    assert nbformat.writes(nb) == before


def test_the_notebook_gets_offline_rise_settings():
    settings = slides.with_slides(notebook("# Title")).metadata.rise
    assert settings == slides.RISE_SETTINGS
    assert settings["theme"] not in ("simple", "league", "beige", "sky", "night", "solarized", "blood", "moon")


def test_not_a_notebook_is_refused():
    with pytest.raises(TypeError, match="notebook must be"):
        slides.with_slides(["# Title"])


@pytest.mark.parametrize("cell, height", [
    (new_code_cell("seed_everything(0)"), slides.CELL_PADDING + slides.CODE_LINE + slides.CODE_PADDING),
    (new_code_cell('x = 1\nprint(f"x = {x}")'), slides.CELL_PADDING + 2 * slides.CODE_LINE + slides.CODE_PADDING
     + slides.OUTPUT_PADDING + slides.TEXT_OUTPUT_LINE + slides.FIGURE_MARGIN),
    (new_code_cell('print("two\\nlines")'), slides.CELL_PADDING + slides.CODE_LINE + slides.CODE_PADDING
     + slides.OUTPUT_PADDING + 2 * slides.TEXT_OUTPUT_LINE + slides.FIGURE_MARGIN),
    (new_code_cell("print(torch.eye(30))"), slides.CELL_PADDING + slides.CODE_LINE + slides.CODE_PADDING
     + slides.OUTPUT_PADDING + slides.TEXT_OUTPUT_MAX + slides.FIGURE_MARGIN),
    (new_code_cell("for k in range(9):\n    print(k)"), slides.CELL_PADDING + 2 * slides.CODE_LINE
     + slides.CODE_PADDING + slides.OUTPUT_PADDING + slides.TEXT_OUTPUT_MAX + slides.FIGURE_MARGIN),
    (new_code_cell("fig"), slides.CELL_PADDING + slides.CODE_LINE + slides.CODE_PADDING + slides.OUTPUT_PADDING
     + slides.FIGURE_HEIGHT + slides.FIGURE_MARGIN),
    (new_code_cell("\n".join(["x = 1"] * 30) + "\nfig"), slides.CELL_PADDING + slides.CODE_LINES_WITH_FIGURE
     * slides.CODE_LINE + slides.CODE_PADDING + slides.OUTPUT_PADDING + slides.FIGURE_HEIGHT + slides.FIGURE_MARGIN),
    (new_code_cell("display(fig)\nexplorer(x)"), slides.CELL_PADDING + 2 * slides.CODE_LINE + slides.CODE_PADDING
     + slides.OUTPUT_PADDING + 2 * (slides.FIGURES_HEIGHT + slides.FIGURE_MARGIN) + slides.CONTROLS_HEIGHT),
])
def test_code_height_counts_what_the_cell_shows(cell, height):
    assert slides.estimated_height(cell, widgets={"explorer"}) == height


def test_markdown_height_grows_with_lines_lists_and_maths():
    paragraph = "w" * slides.CHARACTERS_PER_LINE  # one line
    one, two = slides.markdown_height(paragraph), slides.markdown_height(paragraph * 2)
    assert two - one == slides.TEXT_LINE
    assert slides.markdown_height(paragraph + "\n\n$$a = b$$") - one == slides.DISPLAY_MATHS
    assert slides.markdown_height("* a\n* b\n* c") - slides.markdown_height("* a") == 2 * (slides.TEXT_LINE + slides.LIST_GAP)
    assert slides.markdown_height(NOTE) == 0


def test_rise_css_sets_the_sizes_the_estimate_assumes():
    css = (ROOT / "notebooks" / "rise.css").read_text()
    for rule in [f"max-height: calc({slides.CODE_LINES} * {slides.CODE_LINE}px",
                 f"max-height: calc({slides.CODE_LINES_WITH_FIGURE} * {slides.CODE_LINE}px",
                 f"max-height: {slides.TEXT_OUTPUT_MAX}px", f"max-height: {slides.TEXT_OUTPUT_MAX_WITH_FIGURE}px",
                 f"max-height: {slides.FIGURE_HEIGHT}px", f"max-height: {slides.FIGURES_HEIGHT}px"]:
        assert rule in css, f"notebooks/rise.css has no `{rule}`, which lecturekit/slides.py assumes"


@pytest.mark.parametrize("metadata, message", [
    ("slide", r"cell 1: slideshow metadata must be a dict with a slide_type; got 'slide'"),
    ({"type": "slide"}, r"cell 1: slideshow metadata must be a dict with a slide_type"),
    ({"slide_type": "page"}, r"cell 1: slide_type must be one of 'slide', .*; got 'page'"),
])
def test_malformed_metadata_names_the_cell(metadata, message):
    nb = notebook("# Title", "## Section")
    nb.cells[1].metadata["slideshow"] = metadata
    with pytest.raises(ValueError, match=message):
        slides.slide_layout(nb)


def test_slide_layout_counts_slides_as_rise_builds_them():
    assert slides.slide_layout(notebook("# Title", "text", "more")) == [1]  # no metadata: one slide
    nb = slides.with_slides(notebook(NOTE, "# Title", "## A", "### A.1", "### A.2", "## B"))
    assert slides.slide_layout(nb) == [1, 3, 1]  # a note first makes no blank slide, nor does the title
    nb.cells[1].metadata.slideshow.slide_type = "subslide"
    assert slides.slide_layout(nb) == [1, 3, 1]


@pytest.mark.parametrize("path", slides.lectures(), ids=lambda p: p.name)
def test_every_lecture_has_the_slides_the_tool_gives(path):
    stored = nbformat.read(path, as_version=4)
    slides.check_slide_metadata(stored)
    up_to_date = stored == slides.with_slides(stored)
    assert up_to_date, (
        f"{path.name}: its slide metadata is not what lecturekit.slides derives from its text (a cell was "
        f"edited, added or split since). Run `python -m lecturekit.slides notebooks/{path.name}` and commit it.")


def test_the_command_writes_then_checks(tmp_path, capsys):
    path = tmp_path / "lecture.ipynb"
    nbformat.write(notebook("# Title\n\nIntro.\n\n## Section"), path)
    assert slides.main(["--check", str(path)]) == 1
    assert f"run: python -m lecturekit.slides {path}" in capsys.readouterr().out
    assert slides.main([str(path)]) == 0
    written = path.read_text()
    assert slides.main(["--check", str(path)]) == 0 and slides.main([str(path)]) == 0
    assert path.read_text() == written
    assert [c.metadata.slideshow.slide_type for c in nbformat.read(path, as_version=4).cells] == ["slide", "slide"]


def test_the_command_refuses_a_missing_notebook(tmp_path, capsys):
    with pytest.raises(SystemExit):
        slides.main([str(tmp_path / "nope.ipynb")])
    assert re.search(r"not found: .*nope\.ipynb", capsys.readouterr().err)

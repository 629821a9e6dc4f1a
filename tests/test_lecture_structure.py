"""The shape every lecture shares (see DESIGN.md, "Anatomy of a lecture"): a main text of at most
2500 words, an ending with a Summary of 3-6 takeaways, a link to the lecture's exercise notebook that
names the functions it practises, and a "Next:" link to the next lecture (the last lecture: where to
go from here, with references); and no relative link that points at a missing file.

The main text is the markdown outside <details>...</details> notes and before an appendix (a last
section whose heading starts with "Appendix"), with $...$ and $$...$$ maths removed, counted in
whitespace-separated words. Executing the notebooks is nbval's job, not this file's.
"""
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
LECTURES = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
ALL_NOTEBOOKS = sorted(NOTEBOOKS.glob("*.ipynb")) + sorted((NOTEBOOKS / "exercises").glob("*.ipynb"))
WORD_LIMIT = 2500
TAKEAWAYS = range(3, 7)

DETAILS = re.compile(r"<details\b.*?</details>", re.S | re.I)
FENCED_CODE = re.compile(r"```.*?```", re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")
DISPLAY_MATHS = re.compile(r"\$\$.*?\$\$", re.S)
INLINE_MATHS = re.compile(r"\$[^$]+\$")
LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HREF = re.compile(r"""\b(?:href|src)\s*=\s*["']([^"']+)["']""", re.I)
APPENDIX = re.compile(r"^#{1,6}\s*Appendix\b", re.M | re.I)
SUMMARY = re.compile(r"^(?:#{1,6}\s*(?:\d+\.\s*)?Summary\b|\*\*Summary\.?\*\*)", re.M | re.I)
NEXT = re.compile(r"\*\*Next:?\*\*")
WHERE_TO_GO = re.compile(r"where to go from here", re.I)
YEAR = re.compile(r"\b(?:19|20)\d\d\b")
BULLET = re.compile(r"^(?:[*-]|\d+\.)\s+\S")


def markdown(notebook):
    """All markdown cells of a notebook, joined by blank lines."""
    return "\n\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")


def main_text(notebook):
    """The markdown a reader sees unfolded, the lecture without its appendix: everything outside
    <details>...</details> and before the first heading that starts with "Appendix"."""
    return APPENDIX.split(DETAILS.sub(" ", markdown(notebook)), maxsplit=1)[0]


def without_maths(text):
    """The text with $$...$$ and $...$ maths removed (display maths first)."""
    return INLINE_MATHS.sub(" ", DISPLAY_MATHS.sub(" ", text))


def main_text_words(notebook):
    """Whitespace-separated words of the main text, maths removed."""
    return len(without_maths(main_text(notebook)).split())


def relative_links(text):
    """Targets of the markdown and HTML links in `text` that point at a file of this course:
    no URL scheme, no pure #anchor; the anchor and query are cut off. Code is not searched."""
    text = INLINE_CODE.sub(" ", FENCED_CODE.sub(" ", text))
    text = without_maths(text)
    targets = []
    for target in LINK.findall(text) + HREF.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("#"):
            continue
        targets.append(target.split("#")[0].split("?")[0])
    return targets


def missing_links(notebook, folder):
    """The relative link targets of a notebook's markdown that do not exist beside it."""
    return [target for target in relative_links(markdown(notebook)) if not (folder / target).exists()]


def ending(notebook):
    """The main text from the last Summary heading on, or None when there is none."""
    text = main_text(notebook)
    starts = [match.start() for match in SUMMARY.finditer(text)]
    return text[starts[-1]:] if starts else None


def takeaways(end):
    """The number of list items in the first list after the Summary heading."""
    count = 0
    for line in end.splitlines()[1:]:
        if BULLET.match(line):
            count += 1
        elif count and line.strip() and not line.startswith((" ", "\t")):
            break
    return count


def paragraph_with(pattern, text):
    """The paragraph (blank-line separated) of `text` in which `pattern` first matches, or None."""
    for paragraph in re.split(r"\n\s*\n", text):
        if pattern.search(paragraph):
            return paragraph
    return None


def exercise_functions(path):
    """The functions an exercise notebook asks for: the top-level `def`s of its code cells."""
    notebook = nbformat.read(path, as_version=4)
    return [name for cell in notebook.cells if cell.cell_type == "code"
            for name in re.findall(r"^def (\w+)\(", cell.source, re.M)]


def structure_problems(notebook, name, next_name, functions):
    """What a lecture called `name` lacks. `next_name` is the next lecture's file name (None for the
    last lecture) and `functions` the names its exercise notebook asks for. An empty list is a pass."""
    problems = []
    words = main_text_words(notebook)
    if words > WORD_LIMIT:
        problems.append(f"main text has {words} words, more than {WORD_LIMIT}: fold measurement detail "
                        "into <details> notes or move it to an appendix")
    end = ending(notebook)
    if end is None:
        return problems + ["no Summary heading (## Summary) near the end"]
    if takeaways(end) not in TAKEAWAYS:
        problems.append(f"the Summary lists {takeaways(end)} takeaways, not 3 to 6")
    exercise = f"exercises/{name}"
    if exercise not in [target.removeprefix("./") for target in relative_links(end)]:
        problems.append(f"the ending does not link its exercise notebook ({exercise})")
    for function in functions:
        if not re.search(rf"\b{re.escape(function)}\b", end):
            problems.append(f"the ending does not name the exercise function {function}")
    if next_name is not None:
        paragraph = paragraph_with(NEXT, end)
        if paragraph is None:
            problems.append("no **Next:** line after the Summary")
        elif next_name not in [target.removeprefix("./") for target in relative_links(paragraph)]:
            problems.append(f"the **Next:** line does not link the next lecture ({next_name})")
    else:
        match = WHERE_TO_GO.search(end)
        if match is None:
            problems.append('the last lecture has no "where to go from here" after its Summary')
        elif len(set(YEAR.findall(end[match.start():]))) < 2:
            problems.append('"where to go from here" cites fewer than 2 references (author, year)')
    return problems


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.name)
def test_lecture_has_summary_exercises_and_next(path):
    index = LECTURES.index(path)
    next_name = LECTURES[index + 1].name if index + 1 < len(LECTURES) else None
    exercises = NOTEBOOKS / "exercises" / path.name
    assert exercises.exists(), f"{path.name} has no exercise notebook {exercises.relative_to(ROOT)}"
    problems = structure_problems(nbformat.read(path, as_version=4), path.name, next_name,
                                  exercise_functions(exercises))
    assert not problems, f"{path.name}: " + "; ".join(problems)


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: str(p.relative_to(NOTEBOOKS)))
def test_relative_links_point_at_files(path):
    missing = missing_links(nbformat.read(path, as_version=4), path.parent)
    assert not missing, f"{path.relative_to(ROOT)} links to missing files: {missing}"


def test_there_are_lectures():
    assert len(LECTURES) >= 2, "notebooks/ holds fewer than two NN_*.ipynb lectures"


# ---- the helpers above, on made-up notebooks ------------------------------------------------------

def made_up(*cells):
    """A notebook whose cells are the given markdown strings."""
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(source) for source in cells])


GOOD_ENDING = """## Summary

* one
* two, which runs
  onto a second line
* three

**Exercises:** [the exercise notebook](exercises/01_b.ipynb) practises `alpha` and `beta`.

**Next:** [lecture 02](02_c.ipynb) does more."""


def test_counting_leaves_out_maths_details_and_counts_the_rest():
    notebook = made_up("# Title with $x^2$ maths",
                       "Some words $a + b$ here.\n\n$$\\sum_i x_i$$\n\nmore",
                       "<details><summary>How this was measured</summary>\n\nseeds 0 to 9, ten words "
                       "that must not count at all\n\n</details>\n\nlast")
    assert main_text_words(notebook) == 9  # "#", Title, with, maths; Some, words, here., more; last
    assert "seeds" not in main_text(notebook)


def test_a_good_made_up_lecture_passes(tmp_path):
    notebook = made_up("# 01 · A lecture\n\nSome words.", GOOD_ENDING)
    assert structure_problems(notebook, "01_b.ipynb", "02_c.ipynb", ["alpha", "beta"]) == []


def test_each_missing_part_is_named():
    cases = {
        "no Summary": GOOD_ENDING.replace("## Summary", "## Recap"),
        "exercise notebook (exercises/01_b.ipynb)": GOOD_ENDING.replace("## Summary", "## 7. Summary")
                                                    .replace("exercises/01_b", "exercises/00_a"),
        "takeaways": GOOD_ENDING.replace("* three\n", ""),
        "exercise notebook": GOOD_ENDING.replace("exercises/01_b.ipynb", "exercises/"),
        "exercise function beta": GOOD_ENDING.replace("`beta`", "the rest"),
        "no **Next:**": GOOD_ENDING.replace("**Next:**", "Then"),
        "next lecture (02_c.ipynb)": GOOD_ENDING.replace("(02_c.ipynb)", "(03_d.ipynb)"),
    }
    for expected, text in cases.items():
        problems = structure_problems(made_up("# 01 · A lecture", text), "01_b.ipynb", "02_c.ipynb",
                                      ["alpha", "beta"])
        assert len(problems) == 1 and expected in problems[0], (expected, problems)


def test_too_many_words_fail():
    notebook = made_up("# 01 · A lecture\n\n" + "word " * WORD_LIMIT, GOOD_ENDING)
    problems = structure_problems(notebook, "01_b.ipynb", "02_c.ipynb", ["alpha", "beta"])
    assert len(problems) == 1 and "more than 2500" in problems[0]
    folded = made_up("# 01 · A lecture\n\n<details><summary>How this was measured</summary>\n\n"
                     + "word " * WORD_LIMIT + "\n\n</details>", GOOD_ENDING)
    assert structure_problems(folded, "01_b.ipynb", "02_c.ipynb", ["alpha", "beta"]) == []
    appendix = made_up("# 01 · A lecture", GOOD_ENDING, "## Appendix: the benchmark\n\n" + "word " * WORD_LIMIT)
    assert structure_problems(appendix, "01_b.ipynb", "02_c.ipynb", ["alpha", "beta"]) == []
    assert "Appendix" not in main_text(appendix)


def test_the_last_lecture_needs_where_to_go_with_references():
    last = GOOD_ENDING.split("**Next:**")[0]
    with_references = last + ("**Where to go from here:** Goodfellow et al. (2016) for the theory, "
                              "Murphy (2023) for the rest.")
    assert structure_problems(made_up(with_references), "01_b.ipynb", None, ["alpha", "beta"]) == []
    one_reference = last + "**Where to go from here:** Murphy (2023)."
    assert "fewer than 2 references" in structure_problems(made_up(one_reference), "01_b.ipynb", None, [])[0]
    assert "where to go" in structure_problems(made_up(last), "01_b.ipynb", None, [])[0]


def test_links_are_found_and_checked(tmp_path):
    (tmp_path / "exercises").mkdir()
    (tmp_path / "exercises" / "01_b.ipynb").write_text("{}")
    notebook = made_up("See [the exercises](exercises/01_b.ipynb#top), [a page](https://example.org), "
                       "[a section](#summary), <a href=\"missing.ipynb\">this</a>, `[code](not_a_link.md)` "
                       "and [the benchmark](../benchmarks/RESULTS.md).")
    assert relative_links(markdown(notebook)) == ["exercises/01_b.ipynb", "../benchmarks/RESULTS.md",
                                                  "missing.ipynb"]
    assert missing_links(notebook, tmp_path) == ["../benchmarks/RESULTS.md", "missing.ipynb"]

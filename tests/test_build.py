import re

import nbformat
import pytest

from lecturekit.build import build


@pytest.fixture
def small_notebook(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# A page\n\nThe loss is $\\sum_i x_i^2$."),
                      nbformat.v4.new_code_cell("print(6 * 7)")]
    path = tmp_path / "page.ipynb"
    nbformat.write(notebook, path)
    return path


def test_the_page_is_executed_and_loads_nothing_from_the_network(small_notebook, tmp_path):
    [page] = build([small_notebook], tmp_path / "html")
    text = page.read_text()
    assert "42" in text and "sum_i x_i^2" in text
    sources = re.findall(r'<script[^>]*\bsrc="([^"]*)"', text)
    assert "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe" in sources
    assert not [s for s in sources if "://" in s], sources
    assert (tmp_path / "html" / "mathjax" / "MathJax.js").is_file()
    assert (tmp_path / "html" / "mathjax" / "config" / "TeX-AMS-MML_HTMLorMML-full.js").is_file()
    assert nbformat.read(small_notebook, as_version=4).cells[1].outputs == []  # the stored copy is untouched


def test_a_missing_notebook_is_refused_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="notebooks must be existing .ipynb files; not found: .*nope.ipynb"):
        build([tmp_path / "nope.ipynb"], tmp_path / "html")
    assert not (tmp_path / "html").exists()

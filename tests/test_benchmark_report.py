import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from report import record  # noqa: E402


def test_sections_are_rewritten_in_place_and_figures_merged(tmp_path):
    files = dict(json_path=tmp_path / "results.json", md_path=tmp_path / "RESULTS.md")
    record("a", "Section A", [("a.x", 1.0, "ref 1", "one run")], **files)
    record("b", "Section B", [("b.y", 2.5, "ref 2", "one run")], **files)
    record("a", "Section A", [("a.x", 3.0, "ref 1", "one run")], **files)
    assert json.loads(files["json_path"].read_text()) == {"a.x": 3.0, "b.y": 2.5}
    text = files["md_path"].read_text()
    assert text.count("## Section A") == 1 and text.count("## Section B") == 1
    assert "| `a.x` | 3 | ref 1 | one run |" in text and "| `a.x` | 1 |" not in text
    assert text.index("Section A") < text.index("Section B")

import pytest

from lecturekit.results import RESULTS, benchmark_results


def test_the_benchmark_figures_load_from_the_repository():
    results = benchmark_results()
    assert RESULTS.parent.name == "benchmarks"
    assert all(isinstance(key, str) and isinstance(value, (int, float)) for key, value in results.items())
    assert "fid.digits.uniform_noise" in results


def test_a_missing_results_file_says_where_it_was_looked_for(tmp_path):
    with pytest.raises(FileNotFoundError, match="results.json not found"):
        benchmark_results(tmp_path / "results.json")

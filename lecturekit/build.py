"""Execute the notebooks into static HTML pages that read offline.

    python -m lecturekit.build                      # every notebook -> _build/html
    python -m lecturekit.build notebooks/03_*.ipynb  # some of them

Each notebook runs top to bottom in a fresh kernel (the stored copy is left untouched) and is
written as one HTML page. nbconvert's pages load MathJax from a CDN, so offline they show raw
LaTeX; here the pages load the MathJax that the `jupyter-server-mathjax` package ships, copied
beside them into `mathjax/`, so the folder can be zipped and opened anywhere without a network.
Widgets need a live kernel: in the pages they are replaced by each lecture's static figures.
"""
import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"


def mathjax_folder():
    """The folder of MathJax 2 files shipped by jupyter-server-mathjax."""
    try:
        import jupyter_server_mathjax
    except ImportError as error:
        raise SystemExit("the HTML build needs jupyter-server-mathjax: pip install -e '.[html]'") from error
    return Path(jupyter_server_mathjax.__file__).parent / "static"


def exporter():
    """An HTML exporter whose pages load nothing from the network."""
    from nbconvert import HTMLExporter
    html = HTMLExporter()
    html.mathjax_url = f"mathjax/MathJax.js?config={MATHJAX_CONFIG}"
    html.require_js_url = ""  # only embedded widget state needs require.js, and none is stored
    return html


def build(notebooks, output_dir, timeout=600):
    """Execute each notebook in a fresh kernel and write it to `output_dir` as HTML.

    Returns the paths of the pages written.
    """
    import nbformat
    from nbclient import NotebookClient

    notebooks = [Path(p) for p in notebooks]
    missing = [str(p) for p in notebooks if p.suffix != ".ipynb" or not p.is_file()]
    if missing:
        raise ValueError(f"notebooks must be existing .ipynb files; not found: {', '.join(missing)}")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    shutil.copytree(mathjax_folder(), output_dir / "mathjax", dirs_exist_ok=True)
    html, pages = exporter(), []
    for path in notebooks:
        notebook = nbformat.read(path, as_version=4)
        NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        body, _ = html.from_notebook_node(notebook, resources={"metadata": {"name": path.stem}})
        page = output_dir / f"{path.stem}.html"
        page.write_text(body, encoding="utf-8")
        pages.append(page)
        print(f"wrote {page}")
    return pages


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m lecturekit.build", description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="notebooks to build (default: every notebook)")
    parser.add_argument("--output-dir", default=str(ROOT / "_build" / "html"))
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    build(notebooks, args.output_dir)


if __name__ == "__main__":
    sys.exit(main())

"""The widgets in a real browser: JupyterLab in headless Chromium, driven by Playwright.

nbval executes the kernel side only; these tests prove the front end. For each notebook with
widgets: run all cells, check that every widget rendered (no "Error displaying widget", no raw
`interactive(` text, no stderr), move one control of each widget, and check that its figure changed.
Screenshots go to tests/_screenshots/ (ignored by git).

Needs Debian's Chromium and Python Playwright (no browser download):
    sudo apt-get install chromium && pip install playwright
Elsewhere, point LECTUREKIT_CHROMIUM at a Chromium or Chrome binary. Run only these with
    python -m pytest -m browser
"""
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "tests" / "_screenshots"
WIDGET_NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb")
                          if "lecturekit.widgets import" in p.read_text())
INSTALL_HINT = ("Chromium or Playwright is missing, so the browser tests cannot run. Install them with "
                "`sudo apt-get install chromium` and `pip install playwright` (no browser download is needed), "
                "or set LECTUREKIT_CHROMIUM to a Chromium binary.")
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--no-first-run", "--disable-default-apps"]


def chromium_path():
    return os.environ.get("LECTUREKIT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    executable = chromium_path()
    if sync_playwright is None or executable is None:
        if os.environ.get("CI"):
            pytest.fail(INSTALL_HINT)  # CI installs both, so their absence there is a failure
        pytest.skip(INSTALL_HINT)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


KERNEL_CHECK = "import sys\nprint(sys.executable)"


def copy_notebooks_with_a_kernel_check(destination):
    """Copy the notebooks, each opening with a cell that prints the kernel's Python."""
    destination.mkdir()
    for path in (ROOT / "notebooks").glob("*.ipynb"):
        notebook = json.loads(path.read_text())
        check = {"cell_type": "code", "execution_count": None, "id": "kernel-check", "metadata": {},
                 "outputs": [], "source": KERNEL_CHECK}
        notebook["cells"].insert(0, check)
        (destination / path.name).write_text(json.dumps(notebook))


def kernel_spec_for_this_python(share):
    """A kernel spec named python3 that runs this test's Python: JUPYTER_PATH puts it first, so
    neither a user-wide kernel spec nor another Python on PATH can take its place."""
    spec = share / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (the tests' Python)", "language": "python"}))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on 127.0.0.1 with a random token, serving a temporary copy of the notebooks.

    The server is `python -m jupyterlab` of this very Python, and so is its kernel: nothing
    depends on an activated virtual environment or on which `jupyter` comes first on PATH."""
    root = tmp_path_factory.mktemp("lab")
    copy_notebooks_with_a_kernel_check(root / "notebooks")
    kernel_spec_for_this_python(root / "share")
    environment = {**os.environ, "JUPYTER_PATH": str(root / "share")}
    port, token = free_port(), secrets.token_hex(16)
    settings = root / "settings"
    notification = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text('{"fetchNews": "false"}')  # no news prompt over the screenshots
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
               "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None", "--allow-root",
               f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={settings}"]
    log = open(root / "jupyterlab.log", "w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=root, env=environment)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if time.time() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail(f"JupyterLab did not start; its log:\n{(root / 'jupyterlab.log').read_text()}")
            time.sleep(0.5)
    yield url, token
    server.terminate()
    server.wait(timeout=20)
    log.close()


IDLE = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    if (!panel || !panel.sessionContext || !panel.sessionContext.session) return false;
    const kernel = panel.sessionContext.session.kernel;
    const busy = [...document.querySelectorAll('.jp-InputPrompt')].some(p => p.textContent.includes('*'));
    return kernel && kernel.status === 'idle' && !busy && !panel.sessionContext.pendingInput;
}"""


FIRST_OUTPUT = """() => {
    const output = window.jupyterapp.shell.currentWidget.content.model.cells.get(0).outputs.get(0);
    return output ? [].concat(output.toJSON().text).join('') : '';
}"""  # read from the notebook's model: JupyterLab does not render cells scrolled out of view


def wait_idle(page, timeout_s=180):
    page.wait_for_timeout(500)
    page.wait_for_function(IDLE, timeout=timeout_s * 1000, polling=250)


def move_one_control(page, box):
    """Drag a slider handle, or else click a button, inside one widget box."""
    handle = box.locator(".noUi-handle").first
    if handle.count():
        handle.scroll_into_view_if_needed()
        bounds = handle.bounding_box()
        track = box.locator(".noUi-target").first.bounding_box()
        x, y = bounds["x"] + bounds["width"] / 2, bounds["y"] + bounds["height"] / 2
        towards_more_room = 60 if x < track["x"] + track["width"] / 2 else -60  # a slider may start at its maximum
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + towards_more_room, y, steps=8)
        page.mouse.up()
        return "dragged a slider"
    box.locator("button").first.click()
    return "clicked a button"


def wait_for_new_image(page, image, before, timeout_s=60):
    """Wait until the image's pixels differ from `before` and the kernel is idle again."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        wait_idle(page)
        page.wait_for_timeout(300)
        after = image.screenshot()
        if after != before:
            return after
    return None


def shut_down_kernels(url, token):
    """Stop every kernel of the server, so that one notebook's kernel does not share the CPU with the next."""
    with urllib.request.urlopen(f"{url}/api/kernels?token={token}", timeout=10) as response:
        kernels = json.load(response)
    for kernel in kernels:
        request = urllib.request.Request(f"{url}/api/kernels/{kernel['id']}?token={token}", method="DELETE")
        urllib.request.urlopen(request, timeout=30).close()


@pytest.mark.parametrize("notebook", WIDGET_NOTEBOOKS)
def test_widgets_render_and_respond_in_jupyterlab(browser, lab, notebook):
    url, token = lab
    SCREENSHOTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{url}/lab/tree/notebooks/{notebook}?token={token}&reset")
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                               " && window.jupyterapp.shell.currentWidget.sessionContext.isReady", timeout=60_000)
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        wait_idle(page)
        page.screenshot(path=SCREENSHOTS / f"{notebook}.png", full_page=True)

        outputs = page.locator(".jp-OutputArea-output")
        assert page.evaluate(FIRST_OUTPUT).strip() == sys.executable, "the kernel runs another Python than the tests"
        text = " ".join(outputs.all_inner_texts())
        assert "Error displaying widget" not in text
        assert "interactive(" not in text
        stderr = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
        assert stderr.count() == 0, f"stderr output: {stderr.all_inner_texts()}"
        errors = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]')
        assert errors.count() == 0, errors.all_inner_texts()

        boxes = page.locator(".jp-OutputArea-output [class*='lecturekit-']")
        assert boxes.count() >= 1, "no lecturekit widget rendered"
        for k in range(boxes.count()):
            box = boxes.nth(k)
            box.scroll_into_view_if_needed()
            image = box.locator("img").first
            assert image.is_visible(), f"widget {k} of {notebook} shows no figure"
            before = image.screenshot()
            action = move_one_control(page, box)
            after = wait_for_new_image(page, image, before)
            assert after is not None, f"widget {k} of {notebook}: {action}, but the figure did not change"
            (SCREENSHOTS / f"{notebook}.widget{k}.png").write_bytes(after)
    finally:
        page.close()
        shut_down_kernels(url, token)

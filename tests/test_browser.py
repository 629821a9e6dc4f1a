"""The widgets and the slide shows in a real browser: JupyterLab in headless Chromium, driven by Playwright.

nbval executes the kernel side only; these tests prove the front end. Each lecture is opened in
JupyterLab and its cells are run once; both tests of that lecture use that run.

- Widgets: check that every widget rendered (no "Error displaying widget", no raw `interactive(`
  text, no stderr), move one control of each widget, and check that its figure changed.
- Slide show: open the lecture in RISE on a 1280 x 720 screen, as an instructor does after running
  it, check that it has the slides of its metadata, step through every slide with the space bar and
  check that no slide overflows the screen, that the maths is typeset, that every widget renders and
  answers its control there, and that no request left 127.0.0.1.

Screenshots go to tests/_screenshots/ and tests/_screenshots/slides/ (ignored by git).

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
from types import SimpleNamespace
from urllib.parse import urlparse

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from lecturekit import slides

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "tests" / "_screenshots"
SLIDE_SCREENSHOTS = SCREENSHOTS / "slides"
LECTURES = [p.name for p in slides.lectures()]
WIDGET_NOTEBOOKS = [name for name in LECTURES if "lecturekit.widgets import" in (ROOT / "notebooks" / name).read_text()]
SCREEN = {"width": slides.SCREEN_WIDTH, "height": slides.SCREEN_HEIGHT}
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
    """Copy the notebooks and their slides' style sheet, each notebook opening with a cell that
    prints the kernel's Python (skipped in the slide show)."""
    destination.mkdir()
    shutil.copy(ROOT / "notebooks" / "rise.css", destination / "rise.css")
    for path in (ROOT / "notebooks").glob("*.ipynb"):
        notebook = json.loads(path.read_text())
        check = {"cell_type": "code", "execution_count": None, "id": "kernel-check",
                 "metadata": {"slideshow": {"slide_type": "skip"}}, "outputs": [], "source": KERNEL_CHECK}
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
    yield SimpleNamespace(url=url, token=token, notebooks=root / "notebooks")
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


def wait_for_new_image(page, image, before, settle=wait_idle, timeout_s=60):
    """Wait until the image's pixels differ from `before`, letting `settle(page)` pass between looks."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        settle(page)
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


def leaves_the_machine(url):
    """True for a request to any host but 127.0.0.1 (data: and blob: URLs stay in the browser)."""
    parsed = urlparse(url)
    return parsed.scheme in ("http", "https", "ws", "wss") and parsed.hostname != "127.0.0.1"


@pytest.fixture(scope="module")
def lecture(request, browser, lab):
    """One lecture open in JupyterLab with all its cells run. The widget and the slide-show tests
    of a lecture share this run (pytest runs them one after the other); its kernel is stopped after."""
    context = browser.new_context(viewport=SCREEN)
    requests_out = []
    context.on("request", lambda r: requests_out.append(r.url) if leaves_the_machine(r.url) else None)
    page = context.new_page()
    page.set_viewport_size({"width": 1400, "height": 1000})
    try:
        page.goto(f"{lab.url}/lab/tree/notebooks/{request.param}?token={lab.token}&reset")
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                               " && window.jupyterapp.shell.currentWidget.sessionContext.isReady", timeout=60_000)
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        wait_idle(page)
        yield SimpleNamespace(name=request.param, context=context, page=page, requests_out=requests_out)
    finally:
        context.close()
        shut_down_kernels(lab.url, lab.token)


def check_the_run(page):
    """The kernel ran this Python, and no cell wrote to stderr or raised."""
    assert page.evaluate(FIRST_OUTPUT).strip() == sys.executable, "the kernel runs another Python than the tests"
    stderr = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    assert stderr.count() == 0, f"stderr output: {stderr.all_inner_texts()}"
    errors = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]')
    assert errors.count() == 0, errors.all_inner_texts()


@pytest.mark.parametrize("lecture", WIDGET_NOTEBOOKS, indirect=True)
def test_widgets_render_and_respond_in_jupyterlab(lecture):
    page, notebook = lecture.page, lecture.name
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{notebook}.png", full_page=True)
    check_the_run(page)
    text = " ".join(page.locator(".jp-OutputArea-output").all_inner_texts())
    assert "Error displaying widget" not in text
    assert "interactive(" not in text

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


PRESENT = "document.querySelector('.reveal .slides > section.present > section.present')"
POSITION = f"() => {{ const s = {PRESENT}; return s ? [s.id, s.querySelectorAll('.fragment.visible').length] : null; }}"
LAYOUT = "() => [...document.querySelectorAll('.reveal .slides > section')].map(s => s.querySelectorAll(':scope > section').length)"
SUB_SLIDES = "() => [...document.querySelectorAll('.reveal .slides > section > section')].map(s => s.id)"
OVERFLOW = f"""() => {{
    const slide = {PRESENT}, out = [];
    for (const cell of slide.querySelectorAll('.jp-Cell')) {{
        if (cell.closest('aside.notes') || cell.classList.contains('reveal-skip')) continue;
        const r = cell.getBoundingClientRect();
        if (r.height && (r.top < -1 || r.left < -1 || r.bottom > innerHeight + 1 || r.right > innerWidth + 1))
            out.push(`a cell spans x ${{Math.round(r.left)}}..${{Math.round(r.right)}}, y ${{Math.round(r.top)}}..${{Math.round(r.bottom)}}`);
    }}
    return out;
}}"""
RAW_MATHS = rf"""() => {{
    const found = [];
    for (const markdown of {PRESENT}.querySelectorAll('.jp-MarkdownCell .jp-RenderedMarkdown')) {{
        if (markdown.closest('aside.notes')) continue;
        const copy = markdown.cloneNode(true);
        copy.querySelectorAll('code, pre, mjx-container, .MathJax').forEach(e => e.remove());
        const raw = copy.textContent.match(/.{{0,25}}(\$|\\[A-Za-z]+).{{0,25}}/);
        if (raw) found.push(raw[0]);
    }}
    return found;
}}"""


def open_the_show(context, lab, notebook):
    """The notebook's RISE slide show in a new page, as "Open as Reveal Slideshow" opens it."""
    show = context.new_page()
    show.goto(f"{lab.url}/rise/notebooks/{notebook}?token={lab.token}")
    show.wait_for_selector(".reveal.ready", timeout=120_000)
    return show


AT_THE_END = f"""() => {{
    const slide = {PRESENT}, all = document.querySelectorAll('.reveal .slides > section > section');
    return slide === all[all.length - 1] && !slide.querySelector('.fragment:not(.visible)');
}}"""


def step(show, position, timeout_s=15):
    """Press the space bar (next fragment or slide) and return the new position."""
    show.keyboard.press("Space")
    try:
        show.wait_for_function(f"(old) => {{ const p = ({POSITION})(); return p && (p[0] !== old[0] || p[1] !== old[1]); }}",
                               arg=position, timeout=timeout_s * 1000, polling=50)
    except Exception:  # Playwright's TimeoutError; Playwright itself may be missing at import time
        pytest.fail(f"the space bar did not move on from {position[0]} within {timeout_s} s")
    return show.evaluate(POSITION)


def no_raw_maths(show, timeout_s=5):
    """The raw TeX left on the present slide once MathJax has had `timeout_s` to typeset it."""
    try:
        show.wait_for_function(f"() => ({RAW_MATHS})().length === 0", timeout=timeout_s * 1000, polling=250)
        return []
    except Exception:
        return show.evaluate(RAW_MATHS)


def settled_image(page, image, timeout_s=20):
    """The image's pixels once two looks 0.5 s apart agree (a widget restored from the kernel may
    still be receiving its state)."""
    before, deadline = image.screenshot(), time.time() + timeout_s
    while time.time() < deadline:
        page.wait_for_timeout(500)
        now = image.screenshot()
        if now == before:
            break
        before = now
    return before


def use_the_widgets_on(show, stem, slide_id):
    """Move one control of each widget on the present slide and check that the control's value
    and the widget's figure changed; return the problems found and the number of widgets."""
    problems, boxes = [], show.locator(".reveal .slides > section.present > section.present [class*='lecturekit-']")
    for k in range(boxes.count()):
        box = boxes.nth(k)
        image = box.locator("img").first
        if not image.is_visible():
            problems.append(f"{slide_id}: widget {k} shows no figure")
            continue
        before, readout = settled_image(show, image), box.locator(".widget-readout").all_inner_texts()
        action = move_one_control(show, box)
        if wait_for_new_image(show, image, before, settle=lambda page: page.wait_for_timeout(200)) is None:
            problems.append(f"{slide_id}: widget {k}: {action}, but its figure did not change in the show")
        if action == "dragged a slider" and box.locator(".widget-readout").all_inner_texts() == readout:
            problems.append(f"{slide_id}: widget {k}: dragged a slider, but its value stayed {readout}")
        show.screenshot(path=SLIDE_SCREENSHOTS / f"{stem}.widget-{slide_id}-{k}.png")
    show.evaluate("() => document.activeElement && document.activeElement.blur()")  # the space bar moves on again
    return problems, boxes.count()


@pytest.mark.parametrize("lecture", LECTURES, indirect=True)
def test_the_lecture_is_a_slide_show_that_fits_the_screen(lecture, lab):
    layout = slides.slide_layout(nbformat.read(lab.notebooks / lecture.name, as_version=4))
    check_the_run(lecture.page)
    lecture.page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    lecture.page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=60_000)
    SLIDE_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    stem, show = Path(lecture.name).stem, open_the_show(lecture.context, lab, lecture.name)
    try:
        widgets_expected = lecture.page.locator(".jp-OutputArea-output [class*='lecturekit-']").count()
        show.wait_for_function(f"() => document.querySelectorAll(\".reveal [class*='lecturekit-'] img\").length >= {widgets_expected}",
                               timeout=60_000)
        assert show.evaluate(LAYOUT) == layout, "the show's slides are not those of the notebook's slide metadata"
        show.screenshot(path=SLIDE_SCREENSHOTS / f"{stem}.first.png")
        problems, visited, widgets_used, position = [], [], 0, show.evaluate(POSITION)
        while True:
            slide_id = position[0]
            if slide_id not in visited:
                visited.append(slide_id)
                problems += [f"{slide_id}: {p}" for p in show.evaluate(OVERFLOW)]
                problems += [f"{slide_id}: raw maths «{raw}»" for raw in no_raw_maths(show)]
                if "Error displaying widget" in show.evaluate(f"() => {PRESENT}.innerText"):
                    problems.append(f"{slide_id}: Error displaying widget")
                found, count = use_the_widgets_on(show, stem, slide_id)
                problems, widgets_used = problems + found, widgets_used + count
            if show.evaluate(AT_THE_END):
                break
            position = step(show, position)
        assert not problems, f"{lecture.name}:\n" + "\n".join(problems)
        assert visited == show.evaluate(SUB_SLIDES), "the space bar did not visit every slide in order"
        assert widgets_used == widgets_expected, f"{widgets_used} of the lecture's {widgets_expected} widgets were used in the show"
        assert not lecture.requests_out, f"requests left 127.0.0.1: {lecture.requests_out}"
    finally:
        show.close()


def test_a_notebook_without_slide_metadata_opens_as_one_slide(browser, lab):
    notebook = new_notebook(cells=[new_markdown_cell("# A draft\n\nNo slide metadata: $a = b$."),
                                   new_code_cell("1 + 1"), new_markdown_cell("The end.")])
    nbformat.write(notebook, lab.notebooks / "draft.ipynb")
    context = browser.new_context(viewport=SCREEN)
    try:
        show = open_the_show(context, lab, "draft.ipynb")
        assert show.evaluate(LAYOUT) == slides.slide_layout(notebook) == [1]
        assert show.locator(".reveal .slides > section > section .jp-Cell").count() == 3
        assert no_raw_maths(show) == []
    finally:
        context.close()
        shut_down_kernels(lab.url, lab.token)

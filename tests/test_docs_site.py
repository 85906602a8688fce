"""The built documentation site in headless Chromium (Debian's `chromium`), opened from file:// offline.

For the index, one tutorial and one theory page: the math was typeset by the local MathJax (SVG
elements present), every image loaded, the console shows no error and no exception, and every
request the page made was to a local file (no network). Also, no page of the site references a
script, style sheet or image by http(s).

The site is `site/` of the repository (or $RFSCORE_DOCS_SITE), built by
``python docs/build.py --out site/``. Without it or without chromium the test is skipped, unless
RFSCORE_DOCS_REQUIRED=1 (set by .ci/run after it builds the site), where that is a failure.
"""
from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(os.environ.get("RFSCORE_DOCS_SITE", ROOT / "site"))
REQUIRED = os.environ.get("RFSCORE_DOCS_REQUIRED") == "1"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PAGES = ["index.html", "tutorials/01_quickstart.html", "theory/dynamics.html"]


def _need(ok: bool, why: str) -> None:
    if not ok:
        (pytest.fail if REQUIRED else pytest.skip)(why)


class Browser:
    """Chromium driven through the DevTools protocol over a pipe (no extra package, no port)."""

    def __init__(self, profile: Path):
        to_r, self._to = os.pipe()       # we write commands; chromium reads fd 3
        self._from, from_w = os.pipe()   # chromium writes fd 4; we read
        args = " ".join([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
                         "--no-first-run", "--disable-extensions", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--allow-file-access-from-files",
                         f"--user-data-dir={profile}", "about:blank"])
        self.proc = subprocess.Popen(["bash", "-c", f"exec {args} 3<&{to_r} 4>&{from_w}"], pass_fds=(to_r, from_w),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_r)
        os.close(from_w)
        self._buf, self._id, self.events = b"", 0, []

    def _read(self, deadline: float) -> dict | None:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from], [], [], left)[0]:
                return None
            chunk = os.read(self._from, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method: str, session: str | None = None, timeout: float = 30, **params) -> dict:
        self._id += 1
        cmd = {"id": self._id, "method": method, "params": params}
        if session:
            cmd["sessionId"] = session
        os.write(self._to, json.dumps(cmd).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while (msg := self._read(deadline)) is not None:
            if msg.get("id") == self._id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)
        raise TimeoutError(method)

    def wait_event(self, method: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        if any(e.get("method") == method for e in self.events):
            return True
        while (msg := self._read(deadline)) is not None:
            self.events.append(msg)
            if msg.get("method") == method:
                return True
        return False

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self._to)
        os.close(self._from)


def _open(browser: Browser, url: str) -> tuple[str, dict]:
    target = browser.send("Target.createTarget", url="about:blank")["targetId"]
    session = browser.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
    browser.events.clear()
    for domain in ("Page", "Network", "Runtime", "Log"):
        browser.send(f"{domain}.enable", session)
    browser.send("Page.navigate", session, url=url)
    assert browser.wait_event("Page.loadEventFired", 60), f"{url} did not finish loading"
    state = browser.send("Runtime.evaluate", session, timeout=90, awaitPromise=True, returnByValue=True, expression="""
        (async () => {
          if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
          const imgs = Array.from(document.images);
          return {math: document.querySelectorAll('mjx-container svg').length,
                  rawMath: document.querySelectorAll('.math').length,
                  mathErrors: document.querySelectorAll('mjx-merror, [data-mjx-error]').length,
                  images: imgs.length,
                  broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)};
        })()""")["result"]["value"]
    return session, state


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    _need(CHROMIUM is not None, "chromium is not installed (apt-get install chromium)")
    _need((SITE / "index.html").exists(), f"no built site at {SITE} (python docs/build.py --out site/)")
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_offline(browser, page):
    url = (SITE / page).resolve().as_uri()
    _, state = _open(browser, url)
    events = list(browser.events)
    requests = [e["params"]["request"]["url"] for e in events if e.get("method") == "Network.requestWillBeSent"]
    remote = [u for u in requests if not u.startswith(("file:", "data:", "about:", "blob:"))]
    assert not remote, f"{page} made network requests: {remote}"
    errors = [e["params"]["entry"]["text"] for e in events
              if e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error"]
    errors += [" ".join(str(a.get("value", a.get("description", ""))) for a in e["params"]["args"])
               for e in events if e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] == "error"]
    errors += [e["params"]["exceptionDetails"].get("text", "") for e in events
               if e.get("method") == "Runtime.exceptionThrown"]
    assert not errors, f"{page}: console errors {errors}"
    assert state["rawMath"] > 0 and state["math"] >= state["rawMath"], f"{page}: math not typeset: {state}"
    assert state["mathErrors"] == 0, f"{page}: MathJax reported errors: {state}"
    assert not state["broken"], f"{page}: images that did not load: {state['broken']}"
    if page.startswith("tutorials/"):
        notebook = (SITE / page).with_suffix(".ipynb")
        assert notebook.exists(), f"{page}: no downloadable notebook beside it"
        executed = any(cell.get("outputs") for cell in json.loads(notebook.read_text(encoding="utf8"))["cells"])
        assert executed or not REQUIRED, f"{page}: the site was built with --no-execute"
        assert state["images"] >= 1 or not executed, f"{page}: an executed tutorial without its figures"


def test_no_remote_script_style_or_image():
    _need((SITE / "index.html").exists(), f"no built site at {SITE}")
    tag = re.compile(r"<(script|link|img|iframe|source)\b[^>]*\b(src|href)\s*=\s*[\"']?(https?:)?//", re.I)
    bad = [str(p.relative_to(SITE)) for p in SITE.rglob("*.html") if tag.search(p.read_text(encoding="utf8"))]
    assert not bad, f"pages that load something from the network: {bad}"
    css = [str(p.relative_to(SITE)) for p in SITE.rglob("*.css")
           if re.search(r"url\(\s*[\"']?(https?:)?//|@import\s+[\"']?(url\()?\s*[\"']?https?:", p.read_text(encoding="utf8"))]
    assert not css, f"style sheets that load something from the network: {css}"


def test_readme_block_opens_tutorial_1():
    """The README's Python block is tutorial 1's first code cell (comments aside)."""
    from test_readme_api import api_block

    def code(text: str) -> list[str]:
        return [line.split("#", 1)[0].rstrip() for line in text.splitlines() if line.split("#", 1)[0].strip()]

    source = (ROOT / "docs" / "tutorials" / "01_quickstart.py").read_text(encoding="utf8")
    cells = [c for c in source.split("# %%") if not c.lstrip().startswith("[markdown]")]
    first = cells[1]  # cells[0] is the jupytext header
    assert code(first) == code(api_block()), "update docs/tutorials/01_quickstart.py's first cell to the README block"


def test_search_works_offline(browser):
    """Sphinx's search loads its index as a script, so it answers from file:// too."""
    url = (SITE / "search.html").resolve().as_uri() + "?q=eigensystem"
    session, _ = _open(browser, url)
    found = 0
    for _ in range(60):  # the search runs after the page's load event
        found = browser.send("Runtime.evaluate", session, returnByValue=True,
                             expression="document.querySelectorAll('#search-results li').length")["result"]["value"]
        if found:
            break
        time.sleep(0.5)
    assert found > 0, "the search page found nothing for 'eigensystem'"
    links = browser.send("Runtime.evaluate", session, returnByValue=True, expression=(
        "Array.from(document.querySelectorAll('#search-results li a')).map(a => a.getAttribute('href'))"))["result"]["value"]
    assert any(h and h.startswith("api/") for h in links), f"no API page among the results: {links}"


def test_every_theory_label_is_an_anchor_and_docstrings_link_to_it():
    """Each label of theory/README.md's table is an id on its page; the API pages' label links resolve."""
    _need((SITE / "index.html").exists(), f"no built site at {SITE}")
    rows = re.findall(r"^\| \(([A-Z]\d{1,2})\) \| ([\w.]+)\.md \|", (ROOT / "theory" / "README.md").read_text(), re.M)
    pages = {}
    for label, page in rows:
        ids = pages.setdefault(page, set(re.findall(r'id="([^"]+)"', (SITE / "theory" / f"{page}.html").read_text())))
        assert f"theory-{label.lower()}" in ids, f"({label}) has no anchor on theory/{page}.html"
    links = set()
    for p in (SITE / "api").glob("*.html"):
        links |= set(re.findall(r'href="\.\./theory/(\w+)\.html#(theory-[a-z]\d+)"', p.read_text()))
    assert ("dynamics", "theory-d3") in links, "no docstring link to (D3)"
    for page, anchor in links:
        assert anchor in pages.get(page, set()), f"an API link to theory/{page}.html#{anchor} points nowhere"

"""The review report opened in headless Chromium with the network off (issue 6): every request the
page makes is recorded, none may leave the file (only the file:// URL itself and data: URIs), and a
full-page screenshot is saved and must not be blank. Skips, saying why, when no Chromium is found;
``.ci/run`` installs Debian's ``chromium`` so CI always runs it."""

from __future__ import annotations

import base64
import shutil
import struct
from pathlib import Path

import pytest

from janus_core import pipeline
from janus_core.evidence import schema

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _chromium() -> Path:
    if CHROMIUM.is_file():
        return CHROMIUM
    found = shutil.which("chromium")
    if found is None:
        pytest.skip(
            "no Chromium binary at /usr/bin/chromium or on PATH: install Debian's `chromium` package "
            "(apt-get install -y chromium), as .ci/run does, to run the offline-render test"
        )
    return Path(found)


@pytest.fixture(scope="module")
def sample_report(sample_workspace, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser-export") / "evidence"
    pipeline.export(
        pipeline.ExportConfig(dataset="synthetic-ashare", decisions="type_prior", out_dir=out, record_run=False),
        sample_workspace,
    )
    return out / schema.REPORT_REF  # the report the export itself rendered


def test_report_renders_offline_in_headless_chromium(sample_report, tmp_path):
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    url = sample_report.resolve().as_uri()
    requests: list[str] = []
    blocked: list[str] = []

    def route(r):
        requests.append(r.request.url)
        if r.request.url == url or r.request.url.startswith("data:"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    shot = tmp_path / "report.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(executable), args=LAUNCH_ARGS)
        try:
            context = browser.new_context(offline=True, viewport={"width": 1200, "height": 900})
            page = context.new_page()
            page.on("request", lambda req: requests.append(req.url))
            page.route("**/*", route)
            page.goto(url, wait_until="load")
            title = page.title()
            n_svg = page.locator("svg").count()
            n_sections = page.locator("section").count()
            page.screenshot(path=str(shot), full_page=True)
            colours = _distinct_colours(browser, shot)
        finally:
            browser.close()

    leaving = sorted({u for u in requests if u != url and not u.startswith("data:")})
    assert not leaving and not blocked, f"requests left the file: {leaving or blocked}"
    assert url in requests
    assert title.startswith("Janus-Q review report")
    assert n_sections == 8 and n_svg >= 3, (n_sections, n_svg)
    width, height = struct.unpack(">II", shot.read_bytes()[16:24])
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and width >= 1200 and height > 900
    assert colours > 50, f"the screenshot looks blank: only {colours} distinct colours"


_COUNT_COLOURS = """async (b64) => {
  const img = new Image();
  img.src = "data:image/png;base64," + b64;
  await img.decode();
  const canvas = document.createElement("canvas");
  canvas.width = img.width; canvas.height = img.height;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  const seen = new Set();
  for (let i = 0; i < d.length; i += 4) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
  return seen.size;
}"""


def _distinct_colours(browser, png: Path) -> int:
    """Distinct RGB colours of the saved PNG, decoded by the browser in a fresh offline page."""
    page = browser.new_context(offline=True).new_page()
    return int(page.evaluate(_COUNT_COLOURS, base64.b64encode(png.read_bytes()).decode("ascii")))

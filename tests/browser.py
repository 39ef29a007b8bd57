"""Render an HTML page in headless Debian Chromium (driven by Playwright) and report on it.

Used by the report tests: which requests the page made (recorded where they would reach the
network, after the page's Content-Security-Policy; only the page itself may be fetched,
anything else is aborted), which the policy blocked, console and script errors, whether each
figure's SVG is visible with a non-zero size, and an optional full-page screenshot.
Playwright never downloads a browser here: it drives the system's ``/usr/bin/chromium``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from playwright.sync_api import Browser, Playwright, Request, Route, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
INSTALL_HINT = "apt-get update && apt-get install -y --no-install-recommends chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
_FIGURES = """els => els.map(e => {
  const box = e.getBoundingClientRect();
  const visible = e.checkVisibility({checkOpacity: true, checkVisibilityCSS: true});
  return {label: e.getAttribute('aria-label') || '', visible, width: box.width,
          height: box.height};
})"""


class ChromiumMissingError(RuntimeError):
    """Debian's Chromium is not installed, so nothing can be rendered."""


@dataclass(frozen=True)
class FigureBox:
    """Where one figure's SVG ended up on the page."""

    label: str
    visible: bool
    width: float
    height: float

    @property
    def shown(self) -> bool:
        """Visible and with a non-zero bounding box."""
        return self.visible and self.width > 0 and self.height > 0


@dataclass
class Rendering:
    """What happened while one page loaded."""

    url: str
    requests: list[str] = field(default_factory=list)
    blocked_by_csp: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    figures: list[FigureBox] = field(default_factory=list)
    screenshot: Path | None = None

    @property
    def foreign_requests(self) -> list[str]:
        """Requests for anything other than the page itself."""
        return [url for url in self.requests if url != self.url]

    @property
    def hidden_figures(self) -> list[FigureBox]:
        """Figures whose SVG is hidden or has no area."""
        return [box for box in self.figures if not box.shown]


class HeadlessChromium:
    """One headless Chromium shared by many renderings; use as a context manager."""

    def __init__(self, executable: Path = CHROMIUM) -> None:
        self.executable = executable
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None

    def __enter__(self) -> HeadlessChromium:
        if not self.executable.exists():
            raise ChromiumMissingError(
                f"{self.executable} not found: the report's browser tests need Debian's "
                f"chromium. Install it as root with: {INSTALL_HINT}"
            )
        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(
            executable_path=str(self.executable), args=ARGS
        )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._browser is not None:
            self._browser.close()
        if self._playwright is not None:
            self._playwright.stop()

    def render(
        self, target: Path | str, *, screenshot: Path | None = None, width: int = 1280
    ) -> Rendering:
        """Load a file (or one served URL) and record requests, errors and figure boxes."""
        assert self._browser is not None, "use HeadlessChromium as a context manager"
        url = target.resolve().as_uri() if isinstance(target, Path) else target
        result = Rendering(url=url)
        context = self._browser.new_context(viewport={"width": width, "height": 900})
        try:
            context.route("**/*", lambda route, request: _only_the_page(route, request, result))
            page = context.new_page()
            page.on("requestfailed", lambda request: _note_blocked(request, result))
            page.on("console", lambda m: m.type == "error" and result.console_errors.append(m.text))
            page.on("pageerror", lambda error: result.console_errors.append(str(error)))
            page.goto(url, wait_until="load")
            boxes = page.locator("figure svg").evaluate_all(_FIGURES)
            result.figures = [FigureBox(**box) for box in boxes]
            if screenshot is not None:
                page.screenshot(path=str(screenshot), full_page=True)
                result.screenshot = screenshot
        finally:
            context.close()
        return result


def _only_the_page(route: Route, request: Request, result: Rendering) -> None:
    """Record a request that would leave the browser; let only the page itself load."""
    result.requests.append(request.url)
    if request.url == result.url:
        route.continue_()
    else:
        route.abort()


def _note_blocked(request: Request, result: Rendering) -> None:
    """A request the page's Content-Security-Policy stopped before it was sent."""
    if request.failure == "csp":
        result.blocked_by_csp.append(request.url)

"""Certificate HTML from a Jinja2 template, printed to PDF by one warm headless Chromium per process."""

from __future__ import annotations

import logging
import os
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import segno
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

log = logging.getLogger(__name__)

CHROMIUM_CANDIDATES = (
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
    "/usr/bin/google-chrome-stable",
    "/snap/bin/chromium",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
)
# --no-sandbox: workers usually run as root in containers, where Chromium's sandbox cannot start.
# The rest keeps a headless print server quiet (no phoning home) and small: the browser process with its
# zygotes, one renderer and the storage service, no GPU or network process (bench/results/certificates.md).
# Every switch and feature name below was checked in the Chromium 156 binary and by the processes it starts.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    # The GPU process only composites software frames here: run it as a thread of the browser process.
    "--in-process-gpu",
    # One renderer for the one page, also while a recycled page is replaced.
    "--renderer-process-limit=1",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    # Chromium keeps only the last --enable-features / --disable-features switch, so these replace
    # Playwright's own lists: they repeat its entries that matter on Linux, then add ours.
    "--enable-features=CDPScreenshotNewSurface,SkipListAccountsWithoutGaiaCookies,"
    # The network service as a thread of the browser process (every request is aborted anyway).
    "NetworkServiceInProcess2",
    "--disable-features=AvoidUnnecessaryBeforeUnloadCheckSync,DestroyProfileOnBrowserClose,HttpsUpgrades,"
    "HttpsFirstBalancedModeAutoEnable,LensOverlay,MediaRouter,PaintHolding,ThirdPartyStoragePartitioning,"
    "AvoidCorsURLLoaderRestartOnRedirect,OptimizationHints,NetworkTimeServiceQuerying,AimEnabled,"
    "PreconnectToSearch,"
    # No spare renderer kept warm for a next site, no omnibox pop-up WebUI preloaded in its own
    # renderer (about 60 MB) for a browser window that never shows.
    "SpareRendererForSitePerProcess,WebUIOmniboxPopup,WebUIOmniboxAimPopup,WebUIOmniboxFullPopup",
]
# Playwright's driver is a Node.js process; a 1 MB young generation (instead of 16 MB semi-spaces) keeps
# it ~18 MB smaller at no measurable cost for the few small messages of a render.
DRIVER_NODE_OPTIONS = "--max-semi-space-size=1"
# A page is reused for speed (a new one costs ~200 ms); a fresh one every 100 certificates (~2 ms each)
# keeps the renderer near 75 MB: a reused page grows it by ~35 MB per 100 prints up to ~125 MB.
PAGE_RECYCLE_EVERY = 100

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=True,  # user text (names, titles) is always escaped: `<img src=...>` prints as text
    undefined=StrictUndefined,
    auto_reload=False,
)


class RenderError(Exception):
    """The PDF could not be produced (no browser, a crash, a timeout); a later try may succeed."""


class ChromiumNotFound(RenderError):
    pass


def find_chromium(configured: str = "") -> str:
    """CHROMIUM_PATH if given, else the first Chromium/Chrome found in the usual places."""
    if configured:
        if os.path.isfile(configured) and os.access(configured, os.X_OK):
            return configured
        raise ChromiumNotFound(f"CHROMIUM_PATH={configured!r} is not an executable file")
    for candidate in CHROMIUM_CANDIDATES:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    raise ChromiumNotFound(
        "No Chromium found: install Debian's `chromium` package "
        "(scripts/ensure_chromium.sh) or set CHROMIUM_PATH to a Chromium/Chrome binary"
    )


def qr_svg(url: str) -> Markup:
    """The URL as an inline SVG QR code (no image request, nothing to load)."""
    # A fixed mask: choosing the "best" of eight costs ~5 ms of pure Python per certificate, and any
    # mask scans; medium error correction keeps it readable when printed small.
    # omitsize: no width/height but a viewBox, so the CSS size scales the whole code instead of
    # clipping it; a white quiet zone of 4 modules (the QR spec's) makes it scan on any background.
    return Markup(
        segno.make(url, error="m", mask=0).svg_inline(
            scale=1, border=4, omitsize=True, dark="#111827", light="#ffffff"
        )
    )


def certificate_html(
    *,
    learner_name: str,
    course_title: str,
    instructor_name: str,
    issue_date: datetime,
    verification_code: str,
    verification_url: str,
    platform_name: str = "CourseHub",
    credential_id: str | None = None,
) -> str:
    """The certificate page; every value is escaped by the template. With `credential_id` (the Open
    Badges credential's urn:uuid) it also prints that id and that the certificate verifies offline."""
    return _templates.get_template("certificate.html").render(
        learner_name=learner_name,
        course_title=course_title,
        instructor_name=instructor_name,
        issue_date=f"{issue_date:%d %B %Y}",
        verification_code=verification_code,
        verification_url=verification_url,
        platform_name=platform_name,
        credential_id=credential_id,
        qr_svg=qr_svg(verification_url),
    )


def _block_network(route) -> None:
    # Only inline content may load; anything that would leave the machine (or hit a local service) is aborted.
    if route.request.url.startswith(("data:", "about:")):
        route.continue_()
    else:
        route.abort("blockedbyclient")


@contextmanager
def _driver_node_options():
    """NODE_OPTIONS for Playwright's driver, which copies this process's environment when it starts."""
    before = os.environ.get("NODE_OPTIONS")
    os.environ["NODE_OPTIONS"] = f"{before} {DRIVER_NODE_OPTIONS}" if before else DRIVER_NODE_OPTIONS
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("NODE_OPTIONS", None)
        else:
            os.environ["NODE_OPTIONS"] = before


class _BrowserSession:
    """One Chromium with one reusable page; lives in, and is only touched by, its render thread."""

    def __init__(self) -> None:
        self._playwright = None
        self._browser = None
        self._context = None
        self._page = None
        self._uses = 0
        self._executable = ""
        self.launches = 0

    def connected(self) -> bool:
        return self._browser is not None and self._browser.is_connected()

    def alive(self) -> bool:
        """Whether the browser still answers. After a crash the call that failed may be reported before
        the browser's disconnection is, so `connected()` alone can still say True: ask the browser."""
        if not self.connected():
            return False
        try:
            self._context.cookies()  # a round trip to the browser process
        except Exception:
            return False
        return True

    def _launch(self, executable: str, timeout_ms: float) -> None:
        from playwright.sync_api import sync_playwright

        self.close()
        with _driver_node_options():
            self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(
            executable_path=executable, args=LAUNCH_ARGS, headless=True, timeout=timeout_ms
        )
        self._context = self._browser.new_context(java_script_enabled=False, service_workers="block")
        self._context.route("**/*", _block_network)
        self._executable = executable
        self.launches += 1
        log.info("certificate renderer: launched %s (pid %s)", executable, os.getpid())

    def _fresh_page(self, timeout_ms: float) -> None:
        if self._page is not None:
            self._page.close()
        self._page = self._context.new_page()
        self._page.set_default_timeout(timeout_ms)
        self._uses = 0

    def render(self, html: str, executable: str, timeout_ms: float) -> bytes:
        if not self.connected() or executable != self._executable:  # a new CHROMIUM_PATH takes effect
            self._launch(executable, timeout_ms)
        if self._page is None or self._page.is_closed() or self._uses >= PAGE_RECYCLE_EVERY:
            self._fresh_page(timeout_ms)
        self._uses += 1
        self._page.set_content(html, wait_until="load", timeout=timeout_ms)
        return self._page.pdf(prefer_css_page_size=True, print_background=True)

    def close(self) -> None:
        for closer in (getattr(self._browser, "close", None), getattr(self._playwright, "stop", None)):
            if closer is not None:
                try:
                    closer()
                except Exception:  # a crashed browser or dead driver cannot be closed politely
                    pass
        self._playwright = self._browser = self._context = self._page = None


class Renderer:
    """Prints HTML to PDF on a dedicated thread that owns a warm browser.

    Playwright's sync API is bound to the thread that started it, while renders are requested from
    Celery's main or pool threads and, on the embedded default, from short-lived request threads.
    One long-lived render thread per process keeps the browser warm across all of them; it is
    re-created after a fork and abandoned (then closed) when a render overruns its time limit.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._pid: int | None = None
        self._local = threading.local()

    def _session(self) -> _BrowserSession:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = _BrowserSession()
        return session

    def _current_executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None or self._pid != os.getpid():
                # After a fork the parent's thread does not exist here: start our own.
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cert-render")
                self._pid = os.getpid()
            return self._executor

    def _render_here(self, html: str, executable: str, timeout_ms: float) -> bytes:
        from playwright.sync_api import Error as PlaywrightError

        session = self._session()
        for attempt in (1, 2):
            was_connected = session.connected()
            try:
                return session.render(html, executable, timeout_ms)
            except PlaywrightError as exc:
                crashed = was_connected and not session.alive()
                session.close()  # whatever went wrong, the next render starts from a fresh browser
                if attempt == 2 or not crashed:
                    raise RenderError(f"Chromium failed: {exc}".splitlines()[0][:500]) from exc
                log.warning("certificate renderer: browser gone (%s), relaunching", exc)
        raise AssertionError("unreachable")  # pragma: no cover

    def render_pdf(self, html: str, *, chromium_path: str = "", timeout_seconds: float = 30.0) -> bytes:
        """The PDF bytes of `html`; RenderError on any failure, including overrunning the time limit."""
        executable = find_chromium(chromium_path)
        executor = self._current_executor()
        future = executor.submit(self._render_here, html, executable, timeout_seconds * 1000)
        try:
            return future.result(timeout=timeout_seconds)
        except FutureTimeout:
            self._abandon(executor)
            raise RenderError(f"render exceeded {timeout_seconds:g}s") from None

    def _abandon(self, executor: ThreadPoolExecutor) -> None:
        """Stop using a stuck render thread: later renders get a new thread and browser."""
        with self._lock:
            if self._executor is executor:
                self._executor = None
        executor.submit(self._close_here)  # runs once the stuck render returns or times out
        executor.shutdown(wait=False)

    def _close_here(self) -> None:
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            self._local.session = None

    def launches(self) -> int:
        """How many browsers the current render thread has launched (for tests and benchmarks)."""
        return self._current_executor().submit(lambda: self._session().launches).result()

    def shutdown(self) -> None:
        """Close the browser and the render thread (tests, benchmarks, process exit)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None and self._pid == os.getpid():
            executor.submit(self._close_here).result(timeout=30)
            executor.shutdown(wait=True)


renderer = Renderer()

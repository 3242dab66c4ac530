"""The certificate template (escaping, QR) and the warm-Chromium renderer (isolation, crash, time limit)."""

from __future__ import annotations

import io
import os
import re
import signal
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pypdf
import pytest

from bench.certificates import descendants, process_kind
from common.certificates import renderer as renderer_module
from common.certificates.renderer import (
    ChromiumNotFound,
    Renderer,
    RenderError,
    certificate_html,
    find_chromium,
    renderer,
)
from tests.netprobe import counting_server  # noqa: F401  (fixture)

ISSUED = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)


def pdf_text(pdf: bytes) -> str:
    """The PDF's text with runs of white space as one space (long values wrap across lines)."""
    return " ".join(" ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages).split())


def _html(**overrides) -> str:
    values = dict(
        learner_name="Ada Lovelace",
        course_title="Analytical Engines",
        instructor_name="C. Babbage",
        issue_date=ISSUED,
        verification_code="Vc0de-xyz",
        verification_url="http://testserver.local/api/certificates/verify/Vc0de-xyz",
    )
    values.update(overrides)
    return certificate_html(**values)


def _browser_main_pids() -> list[int]:
    pids = []
    for pid in descendants(os.getpid()):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        # Chromium rewrites its helpers' command lines into one string: look for --type= anywhere.
        if b"chrom" in cmdline.split(b"\0")[0].split(b" ")[0] and b"--type=" not in cmdline:
            pids.append(pid)
    return pids


def test_template_escapes_user_text_and_inlines_the_qr_code():
    html = _html(
        learner_name='<img src=http://evil.example/x.png onerror="alert(1)">',
        course_title="Tom & Jerry's <b>course</b>",
        instructor_name="</div><script>x()</script>",
    )
    assert "<img" not in html and "<script" not in html and "<b>" not in html
    assert "&lt;img src=http://evil.example/x.png onerror=&#34;alert(1)&#34;&gt;" in html
    assert "Tom &amp; Jerry&#39;s &lt;b&gt;course&lt;/b&gt;" in html
    assert html.count("<svg") == 1 and 'class="segno"' in html  # the QR code, inline
    assert "14 March 2026" in html
    assert "http" not in html.replace("http://evil.example", "").replace(
        "http://testserver.local/api/certificates/verify/Vc0de-xyz", ""
    )  # no other URL to load


def test_find_chromium(monkeypatch, tmp_path):
    assert os.access(find_chromium(), os.X_OK)
    fake = tmp_path / "chrome"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert find_chromium(str(fake)) == str(fake)
    with pytest.raises(ChromiumNotFound, match="CHROMIUM_PATH"):
        find_chromium(str(tmp_path / "missing"))
    monkeypatch.setattr(renderer_module, "CHROMIUM_CANDIDATES", ())
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ChromiumNotFound, match="install"):
        find_chromium()


def test_renders_a_one_page_pdf_and_loads_nothing_from_the_network(counting_server):
    # A page that tries every way to reach the network; JavaScript is off and every request is aborted.
    hostile = (
        f'<html><head><link rel="stylesheet" href="{counting_server.url}/style.css">'
        f'<style>@import url("{counting_server.url}/import.css"); body {{ background: '
        f'url("{counting_server.url}/bg.png") }}</style></head><body>'
        f'<img src="{counting_server.url}/pixel.png"><iframe src="{counting_server.url}/frame"></iframe>'
        f'<script>fetch("{counting_server.url}/fetch")</script><p>offline body</p></body></html>'
    )
    pdf = renderer.render_pdf(hostile, timeout_seconds=20)
    assert pdf.startswith(b"%PDF") and "offline body" in pdf_text(pdf)
    time.sleep(0.2)
    assert counting_server.hits == []
    # The server does answer when asked directly, so an empty log above means nothing was requested.
    import urllib.request

    urllib.request.urlopen(f"{counting_server.url}/direct", timeout=5).read()
    assert counting_server.hits == ["/direct"]

    pdf = renderer.render_pdf(
        _html(learner_name=f"<img src={counting_server.url}/name.png>"), timeout_seconds=20
    )
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    text = pdf_text(pdf)
    assert f"<img src={counting_server.url}/name.png>" in text
    assert "Analytical Engines" in text and "Vc0de-xyz" in text and "C. Babbage" in text
    assert counting_server.hits == ["/direct"]


def test_browser_is_reused_and_relaunched_after_a_crash():
    renderer.render_pdf(_html(), timeout_seconds=20)
    launches = renderer.launches()
    renderer.render_pdf(_html(), timeout_seconds=20)
    assert renderer.launches() == launches  # warm: no new browser per certificate
    pids = _browser_main_pids()
    assert len(pids) == 1
    os.kill(pids[0], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while pids[0] in _browser_main_pids() and time.monotonic() < deadline:
        time.sleep(0.05)
    pdf = renderer.render_pdf(_html(learner_name="After Crash"), timeout_seconds=20)
    assert "After Crash" in pdf_text(pdf)
    assert renderer.launches() == launches + 1
    assert len(_browser_main_pids()) == 1


def test_browser_runs_one_renderer_and_no_gpu_or_network_process():
    # The process set that keeps a certificates worker under 600 MB (bench/results/certificates.md): the
    # browser (GPU and network service as its threads), its zygotes, one renderer, the storage service.
    before = os.environ.get("NODE_OPTIONS")
    for _ in range(3):
        renderer.render_pdf(_html(), timeout_seconds=20)
    [browser] = _browser_main_pids()
    kinds = Counter(process_kind(pid) for pid in descendants(browser))
    for transient in ("utility/PrintCompositor", "gone"):  # a print's compositor lives for that print
        kinds.pop(transient, None)
    assert kinds["renderer"] == 1, kinds
    assert kinds["gpu-process"] == 0 and kinds["renderer (browser UI)"] == 0, kinds
    assert [kind for kind in kinds if kind.startswith("utility/")] == ["utility/StorageService"], kinds
    # Playwright's driver (the browser's parent) got the small young generation; this process did not keep it.
    driver = int(Path(f"/proc/{browser}/stat").read_text().rsplit(")", 1)[1].split()[1])
    [options] = [
        e for e in Path(f"/proc/{driver}/environ").read_bytes().split(b"\0") if e.startswith(b"NODE_OPTIONS=")
    ]
    assert b"--max-semi-space-size=1" in options.split(b"=", 1)[1].split()
    assert os.environ.get("NODE_OPTIONS") == before


def test_time_limit_and_launch_failures_raise_render_error():
    local = Renderer()  # its own thread and browser, so the shared one stays warm
    try:
        with pytest.raises(RenderError, match="exceeded"):
            local.render_pdf(_html(), timeout_seconds=0.001)  # the launch alone takes longer
        pdf = local.render_pdf(_html(learner_name="Next One"), timeout_seconds=20)
        assert "Next One" in pdf_text(pdf)  # a fresh render thread took over
        with pytest.raises(RenderError, match="Chromium failed"):
            local.render_pdf(_html(), chromium_path="/bin/false", timeout_seconds=20)  # not a browser
        with pytest.raises(ChromiumNotFound):
            local.render_pdf(_html(), chromium_path="/nonexistent/chromium")
    finally:
        local.shutdown()
    deadline = time.monotonic() + 10
    while len(_browser_main_pids()) > 1 and time.monotonic() < deadline:  # the abandoned browser closes too
        time.sleep(0.1)
    assert len(_browser_main_pids()) <= 1


def test_render_from_many_short_lived_threads_shares_one_browser():
    # The embedded default renders in request threads that come and go; they all use the one browser.
    renderer.render_pdf(_html(), timeout_seconds=20)
    launches = renderer.launches()
    results, errors = [], []

    def one(i):
        try:
            results.append(
                pdf_text(renderer.render_pdf(_html(learner_name=f"Thread {i}"), timeout_seconds=20))
            )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(results) == 4
    assert sorted(re.search(r"Thread \d", text).group() for text in results) == [
        "Thread 0",
        "Thread 1",
        "Thread 2",
        "Thread 3",
    ]
    assert renderer.launches() == launches


def test_browser_killed_mid_render_is_relaunched_and_the_render_retried():
    renderer.render_pdf(_html(), timeout_seconds=20)  # warm
    launches = renderer.launches()
    [old_pid] = _browser_main_pids()
    # Long enough (a couple of seconds of printing) that the kill lands while the PDF is being made.
    pages = "".join(f"<p style='page-break-after: always'>page {n}</p>" for n in range(2000))
    html = f"<html><body>{pages}<p>Survived the crash</p></body></html>"
    outcome = {}

    def render():
        try:
            outcome["pdf"] = renderer.render_pdf(html, timeout_seconds=90)
        except Exception as exc:  # recorded for the assertion below
            outcome["error"] = exc

    thread = threading.Thread(target=render)
    thread.start()
    time.sleep(0.8)
    assert thread.is_alive() and "pdf" not in outcome  # still rendering: the kill is mid-render
    for pid in [old_pid, *descendants(old_pid)]:  # the browser's whole process tree
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    thread.join(timeout=90)
    assert not thread.is_alive()
    assert "error" not in outcome, outcome.get("error")
    reader = pypdf.PdfReader(io.BytesIO(outcome["pdf"]))
    assert len(reader.pages) == 2001 and "Survived the crash" in reader.pages[-1].extract_text()
    assert renderer.launches() == launches + 1  # retried once, on a fresh browser
    assert _browser_main_pids() != [old_pid] and len(_browser_main_pids()) == 1

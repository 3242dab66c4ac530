"""The QR code on a rendered certificate scans: PDF from Chromium → raster (PDFium) → decoder (ZXing)."""

from __future__ import annotations

import pypdfium2
import zxingcpp

from common.certificates import service
from tests.factories import enroll, make_course


def decode_qr_codes(pdf: bytes, dpi: int = 200) -> list[str]:
    """Every QR code ZXing finds on the PDF's pages, rasterised as a scanner or phone would see them."""
    found = []
    document = pypdfium2.PdfDocument(pdf)
    try:
        for page in document:
            bitmap = page.render(scale=dpi / 72, grayscale=True)
            # One byte per pixel; PDFium may pad rows, so hand ZXing the real width and stride.
            image = zxingcpp.ImageView(
                memoryview(bitmap.buffer).cast("B"),
                bitmap.width,
                bitmap.height,
                zxingcpp.ImageFormat.Lum,
                bitmap.stride,
            )
            found += [
                code.text for code in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
            ]
    finally:
        document.close()
    return found


def test_rendered_certificate_qr_code_is_the_verification_url(app, student, instructor):
    course = make_course(instructor, title="Practical Python")
    enroll(student, course)
    certificate = service.request_certificate(user_id=student.id, course_id=course.id)
    rendered = service.render_certificate(certificate_id=certificate.id)
    assert rendered.status == "ready"
    _, pdf = service.get_pdf_for(certificate_id=certificate.id, user_id=student.id, is_admin=False)
    url = service.verification_url(certificate)
    assert url.startswith(app.config["PUBLIC_BASE_URL"]) and certificate.verification_code in url
    assert decode_qr_codes(pdf) == [url]


def test_decoder_finds_nothing_on_a_page_without_a_code(app):
    from common.certificates.renderer import renderer

    pdf = renderer.render_pdf("<html><body><h1>No code here</h1></body></html>")
    assert decode_qr_codes(pdf) == []

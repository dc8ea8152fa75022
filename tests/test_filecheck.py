"""The shared upload checks (borrowdesk.filecheck): the type by real first bytes, names refused rather
than trimmed, and a bounded read."""

from __future__ import annotations

import io

import pytest

from borrowdesk import filecheck

PDF = b"%PDF-1.7\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
    b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04"
ZIP = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00"
EXE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + b"\x00" * 64
    + b"This program cannot be run"
)
EVERYTHING = {"application/pdf", "image/png", "image/jpeg", "image/gif", "application/zip", "text/plain"}


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (PDF, ("application/pdf", "pdf")),
        (b"%PDF-2.0\n", ("application/pdf", "pdf")),
        (PNG, ("image/png", "png")),
        (JPEG, ("image/jpeg", "jpg")),
        (GIF, ("image/gif", "gif")),
        (ZIP, ("application/zip", "zip")),
        ("Date;Amount\n2026-12-04;1 000 €\n".encode(), ("text/plain", "txt")),
    ],
)
def test_the_bytes_decide_the_type(head, expected):
    assert filecheck.sniff(head, EVERYTHING) == expected
    assert filecheck.sniff(head[: filecheck.HEAD_BYTES], EVERYTHING) == expected


@pytest.mark.parametrize(
    "head",
    [
        EXE,  # an .exe renamed .pdf
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rJUNK\x00\x00",  # the PNG signature without its IHDR chunk
        b"%PDF-x.y",  # no PDF version: not a PDF (and with text refused, nothing)
        b"caf\xc3\xa9\x00 and a NUL",  # NUL bytes are not text
        b"\xff\xfe\x00\x00latin",
    ],
)
def test_other_bytes_are_refused(head):
    assert filecheck.sniff(head, EVERYTHING - {"text/plain"}) is None
    if b"\x00" in head or head.startswith((b"MZ", b"\x89")):
        assert filecheck.sniff(head, EVERYTHING) is None


def test_only_the_allowed_types_are_found():
    assert filecheck.sniff(GIF, {"application/pdf", "image/png", "image/jpeg"}) is None
    assert filecheck.sniff(b"just text", {"application/pdf"}) is None
    assert filecheck.sniff(PDF, {"text/plain"}) == ("text/plain", "txt")  # it is UTF-8 text too


def test_a_character_cut_at_the_end_of_a_sample_is_fine_but_not_at_the_end_of_a_file():
    sample = "Montant: 12 €".encode()[:-1]  # the euro sign's last byte is past the sample
    assert filecheck.sniff(sample, {"text/plain"}) == ("text/plain", "txt")
    assert filecheck.sniff(sample, {"text/plain"}, whole=True) is None
    assert filecheck.sniff(b"ok \xff", {"text/plain"}) is None  # an invalid byte is never a cut character


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd.pdf",
        "..\\..\\windows\\system.pdf",
        "/etc/passwd",
        "a/b.pdf",
        "..",
        "C:\\boot.pdf",
        "C:boot.pdf",
        "bad\x00name.pdf",
        "line\nbreak.txt",
        "rtl\u202etxt.exe",
        ".htaccess",
        "",
        "   ",
        "x" * 256,
    ],
)
def test_unsafe_names_are_refused(name):
    assert filecheck.name_problem(name)


@pytest.mark.parametrize(
    "name",
    ["passport.pdf", "utility bill.png", "Q3 report (final) – v2.pdf", "Screenshot 10.00.00\u202fAM.png"],
)
def test_plain_names_are_fine(name):
    assert filecheck.name_problem(name) is None


def test_the_name_length_is_the_callers():
    assert filecheck.name_problem("x" * 255) is None
    assert filecheck.name_problem("x" * 201, max_length=200) == "The file name is longer than 200 characters."
    assert "path" in filecheck.name_problem("a/b.pdf")


class _Counting(io.BytesIO):
    def __init__(self, data: bytes):
        super().__init__(data)
        self.taken = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.taken += len(data)
        return data


def test_read_upload_reads_at_most_one_byte_past_the_limit():
    big = _Counting(b"x" * 1_000_000)
    big.seek(500)  # read from the start whatever the position
    data = filecheck.read_upload(big, 1000)
    assert data == b"x" * 1001 and big.taken == 1001
    small = _Counting(PDF)
    assert filecheck.read_upload(small, 1000) == PDF
    assert filecheck.read_upload(_Counting(PDF), len(PDF)) == PDF  # at the limit exactly: all of it


def test_read_upload_reads_a_django_upload():
    from django.core.files.uploadedfile import SimpleUploadedFile

    assert filecheck.read_upload(SimpleUploadedFile("a.pdf", PDF), 10) == PDF[:11]

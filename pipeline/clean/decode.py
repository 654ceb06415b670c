"""Bytes to text, strictly: a document we cannot decode faithfully is quarantined, not guessed."""

from __future__ import annotations

import codecs
import re

from pipeline.model import DocumentError

BINARY_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "PNG image",
    b"\xff\xd8\xff": "JPEG image",
    b"GIF8": "GIF image",
    b"%PDF-": "PDF document",
    b"PK\x03\x04": "ZIP archive",
    b"\x1f\x8b": "gzip stream",
    b"RIFF": "RIFF media",
}
META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def decode_payload(payload: bytes, content_type: str, declared_encoding: str | None = None) -> str:
    for signature, kind in BINARY_SIGNATURES.items():
        if payload.startswith(signature):
            raise DocumentError("binary_content", f"payload is a {kind}, not text")
    if b"\x00" in payload[:65536] and not payload.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        offset = payload.index(b"\x00")
        raise DocumentError("binary_content", f"NUL byte at offset {offset}")
    encoding = declared_encoding
    if payload.startswith(codecs.BOM_UTF8):
        encoding, payload = "utf-8", payload[len(codecs.BOM_UTF8):]
    elif payload.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif encoding is None and content_type == "text/html":
        match = META_CHARSET.search(payload[:4096])
        if match:
            encoding = match.group(1).decode("ascii").lower()
    encoding = encoding or "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise DocumentError("invalid_encoding", f"declared charset {encoding!r} is unknown") from None
    try:
        text = payload.decode(encoding, errors="strict")
    except UnicodeDecodeError as exc:
        raise DocumentError(
            "invalid_encoding",
            f"byte 0x{payload[exc.start]:02x} at offset {exc.start} is not valid {encoding}; declare the charset or convert the file",
        ) from None
    controls = len(CONTROL.findall(text[:65536]))
    if controls > max(8, len(text[:65536]) // 100):
        raise DocumentError("binary_content", f"{controls} control characters in the first 64 KiB")
    return text

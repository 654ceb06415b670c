"""The real encoding of a fetched text body.

Servers and pages often declare one charset and send another. A body that is valid UTF-8 and not
plain ASCII is UTF-8 whatever the label says (other encodings almost never form valid UTF-8
sequences by accident); otherwise the declared labels are tried strictly, then charset-normalizer
guesses. The result is the encoding the clean stage decodes with."""

from __future__ import annotations

import codecs
import re

META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
XML_ENCODING = re.compile(rb"""^<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""")
# WHATWG: these labels mean windows-1252 on the web.
WEB_ALIASES = {"iso-8859-1": "cp1252", "latin-1": "cp1252", "latin1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252"}


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = WEB_ALIASES.get(label, label)
    try:
        info = codecs.lookup(label)
    except LookupError:
        return None
    # hex, base64, zlib, rot13... are codecs too, but not text encodings: bytes.decode refuses them
    return info.name if getattr(info, "_is_text_encoding", True) else None


def declared_charset(content_type_header: str | None) -> str | None:
    for param in (content_type_header or "").split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip("\"'")
    return None


def detect_encoding(body: bytes, header_charset: str | None) -> str | None:
    """The codec name to decode ``body`` with, or None when nothing decodes it."""
    if body.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    head = body[:4096]
    in_document = META_CHARSET.search(head) or XML_ENCODING.search(head)
    labels = [header_charset, in_document.group(1).decode("ascii", "ignore") if in_document else None]
    if body.isascii():
        return "utf-8"
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    for label in labels:
        codec = _codec(label)
        if codec and codec != "utf-8":
            try:
                body.decode(codec)
                return codec
            except UnicodeDecodeError:
                continue
    from charset_normalizer import from_bytes

    best = from_bytes(body).best()
    return _codec(best.encoding) if best is not None else None

"""Request body parsing with hard limits on size and nesting."""

from __future__ import annotations

import codecs
import io
import json
from typing import Any

from django.conf import settings
from rest_framework.exceptions import APIException, ParseError, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.utils.json import strict_constant

from outagewatch.quoting import shortened

# No request body of this API nests deeper than 2; deep nesting only costs stack (Python's
# json recursion ends in RecursionError, a 500, at about 1,000 levels).
MAX_JSON_DEPTH = 32
NUL_MESSAGE = "Must not contain NUL (0x00) characters."
DUPLICATE_MESSAGE = "Given more than once in the JSON object."


class PayloadTooLarge(APIException):
    status_code = 413
    default_detail = "Request body is too large."
    default_code = "payload_too_large"


class UnsupportedContentEncoding(APIException):
    status_code = 415
    default_code = "unsupported_content_encoding"


class DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class BoundedJSONParser(JSONParser):
    """JSON parser that refuses bodies over API_MAX_BODY_BYTES with 413 and deep nesting,
    NUL characters in strings or a key given twice in one object with 400.

    outagewatch.http.middleware.RequestGuardMiddleware already refuses declared lengths
    over the limit and reads chunked bodies; the checks here hold for any stream.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = settings.API_MAX_BODY_BYTES
        request = (parser_context or {}).get("request")
        _refuse_content_coding(request)
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"Request body is larger than {limit} bytes.")
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise PayloadTooLarge(f"Request body is larger than {limit} bytes.")
        if json_depth(body) > MAX_JSON_DEPTH:
            raise ParseError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.")
        try:
            data = self._loads(body, parser_context)
        except RecursionError:  # only if MAX_JSON_DEPTH were raised past Python's limit
            raise ParseError("JSON nested too deeply.") from None
        except DuplicateKey as exc:
            if not _encodable(exc.key):  # the error body could not name it
                raise ParseError(
                    "JSON object keys must be valid Unicode (a lone surrogate)."
                ) from None
            raise ValidationError({exc.key.replace("\x00", ""): [DUPLICATE_MESSAGE]}) from None
        _refuse_nul(data)
        if _has_surrogate_key(data):
            # Error bodies name the fields; a name that cannot be encoded broke the renderer
            # (a 500). Values are refused by their fields, with the field's name.
            raise ParseError("JSON object keys must be valid Unicode (a lone surrogate).")
        return data

    def _loads(self, body: bytes, parser_context: Any) -> Any:
        """JSONParser.parse's decoding, with keys checked for duplicates.

        json.loads keeps the last of a repeated key, so {"country": "DE", "country": "FR"}
        was stored as FR without a word: a client's bug (or a proxy's merge) to point out,
        as unknown fields are.
        """
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        if body.startswith(codecs.BOM_UTF8) and codecs.lookup(encoding).name == "utf-8":
            # RFC 8259 8.1 lets a parser ignore a byte order mark; Windows tools (PowerShell's
            # UTF-8 files, Notepad) put one before a body that is otherwise fine.
            body = body[len(codecs.BOM_UTF8) :]
        try:
            return json.load(
                codecs.getreader(encoding)(io.BytesIO(body)),
                parse_constant=strict_constant if self.strict else None,
                object_pairs_hook=_unique_keys,
            )
        except ValueError as exc:  # as JSONParser words it (a UnicodeDecodeError too)
            raise ParseError(f"JSON parse error - {exc}") from None


def _refuse_content_coding(request: Any) -> None:
    """415 for a compressed body: read as JSON it was a baffling "'utf-8' codec can't
    decode byte 0x8b" parse error, which does not say that the compression is the problem."""
    header = request.META.get("HTTP_CONTENT_ENCODING", "") if request is not None else ""
    codings = [c.strip().lower() for c in header.split(",") if c.strip()]
    refused = [c for c in codings if c != "identity"]
    if refused:
        raise UnsupportedContentEncoding(
            f"Content-Encoding {shortened(', '.join(refused))} is not accepted: "
            "send the body uncompressed."
        )


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) < len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return data


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text (strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def _refuse_nul(data: Any) -> None:
    """400 naming the field when any string in the body holds NUL (PostgreSQL refuses it)."""
    if isinstance(data, dict):
        bad = sorted(str(key) for key, value in data.items() if _has_nul(key) or _has_nul(value))
        if bad:
            raise ValidationError({key.replace("\x00", ""): [NUL_MESSAGE] for key in bad})
    elif _has_nul(data):
        raise ValidationError([NUL_MESSAGE])


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _has_surrogate_key(value: Any) -> bool:
    if isinstance(value, dict):
        return any(not _encodable(key) or _has_surrogate_key(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_surrogate_key(item) for item in value)
    return False


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True

"""Why one image could not be processed: a short reason code and a readable message.

Reason codes (pipeline.image_assets.error_reason and the run summary):
  invalid_url, unsupported_scheme     the URL (or a redirect target) is not a usable http(s) URL
  blocked_address                     the host resolves to a private/loopback/reserved address
  redirect_loop, too_many_redirects   redirects never reach the image
  http_status                         the server answered with an error status
  network, timeout                    connection failures or time limits, after retries
  too_large                           more bytes than max_bytes
  not_an_image, unsupported_format    the bytes are not a JPEG, PNG, WebP or GIF image
  decompression_bomb                  more pixels than max_pixels
  dimensions_too_large                a side longer than max_dimension
  corrupt_image                       the image header is fine but its data cannot be decoded
  store_error                         the variants could not be written (fails the run)
  internal_error                      an unexpected error (logged with its traceback)
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


class ImageProblem(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


def redact_url(url: str) -> str:
    """The URL without credentials and query string (signed URLs carry secrets there)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    query = "…" if parts.query else ""
    return urlunsplit((parts.scheme, host, parts.path, query, ""))

"""Keep credentials out of logs and tracebacks (see docs/security.md, "What is redacted").

With ``logging_enable=True`` azure-core's ``NetworkTraceLoggingPolicy`` writes every request and response at
DEBUG, with the ``Authorization`` header (the bearer token), request bodies (``windowsProfile.adminPassword``
of a password rotation) and response bodies (a Key Vault secret's ``value``). This module masks them:

- :func:`redact_text` masks, in any text: the value of credential headers (``Authorization``, ``Cookie``,
  ``x-ms-authorization-auxiliary`` ...) and any ``Bearer`` token; JSON, Python-literal and form fields named
  like a credential (``password``, ``adminPassword``, ``access_token``, ``refresh_token``, ``client_secret``,
  ``accountKey`` ...); SAS query parameters (``sig``, ``se``, ``sp`` ...) and connection-string keys
  (``AccountKey=``, ``SharedAccessSignature=``); the ``value`` of Key Vault secret bundles; JSON Web Tokens;
  and the text of every live :class:`~aks_windows_ops.secrets.Secret` (the admin password) in its plain,
  JSON-escaped, URL-encoded and base64 forms.
- :class:`RedactingNetworkTraceLoggingPolicy` replaces azure-core's HTTP trace policy in the clients this
  library builds (``logging_policy=``), so the trace is masked where it is written, without a global filter.
- :class:`RedactingFilter` is a ``logging.Filter`` for handlers (records of every logger, including ours and
  azure-core's, pass through a handler); :func:`install` attaches it, on request only.
- :func:`format_exception_redacted` renders a traceback (``--debug``) through :func:`redact_text`.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import traceback
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from azure.core.pipeline.policies import NetworkTraceLoggingPolicy

from aks_windows_ops.secrets import live_secret_values

__all__ = [
    "REDACTED",
    "RedactingFilter",
    "RedactingNetworkTraceLoggingPolicy",
    "SecretRedactingFilter",
    "format_exception_redacted",
    "install",
    "redact",
    "redact_text",
]

REDACTED = "***REDACTED***"

_HEADERS = (
    r"authorization|proxy-authorization|x-ms-authorization-auxiliary|cookie|set-cookie|"
    r"ocp-apim-subscription-key|x-functions-key|x-ms-encryption-key|x-ms-copy-source-authorization"
)
_FIELDS = (
    r"adminPassword|admin_password|password|passwd|pwd|clientSecret|client_secret|secret|"
    r"access_token|accessToken|refresh_token|refreshToken|id_token|idToken|client_assertion|assertion|"
    r"accountKey|account_key|primaryKey|secondaryKey|sharedAccessKey|connectionString|connection_string|"
    r"sasToken|sas_token"
)
# 'Name': 'value' / "Name": "value" / Name: value (header lines of a trace, Python reprs, JSON)
_HEADER = re.compile(
    rf"(?P<k>['\"]?\b(?:{_HEADERS})\b['\"]?\s*[:=]\s*['\"]?)(?P<v>[^'\"\r\n]+)", re.IGNORECASE
)
_BEARER = re.compile(r"(?P<k>\b(?:Bearer|SharedKey|PoP)\s+)(?P<v>[A-Za-z0-9\-._~+/:=]{4,})", re.IGNORECASE)
# Quoted values, each quoting style on its own and with unambiguous escapes, so matching stays linear.
_QUOTED = (
    re.compile(rf'(?P<k>"(?:{_FIELDS})"\s*:\s*")(?:[^"\\\n]|\\.)*(?P<e>")', re.IGNORECASE),
    re.compile(rf"(?P<k>'(?:{_FIELDS})'\s*:\s*')(?:[^'\\\n]|\\.)*(?P<e>')", re.IGNORECASE),
    re.compile(rf'(?P<k>\\"(?:{_FIELDS})\\"\s*:\s*\\")(?:[^\\\n]|\\[^"\n])*(?P<e>\\")', re.IGNORECASE),
    re.compile(rf"(?P<k>\b(?:{_FIELDS})=')(?:[^'\\\n]|\\.)*(?P<e>')", re.IGNORECASE),
)
_FORM = re.compile(rf"(?P<k>(?:^|[?&;\s])(?:{_FIELDS})=)(?P<v>[^&;\s'\"]+)", re.IGNORECASE)
_SAS = re.compile(
    r"(?P<k>[?&](?:sig|se|st|sp|sv|sr|spr|skoid|sktid|skt|ske|sks|skv|ss|srt|sdd|si|ses|sduoid|saoid|suoid|scid)=)"
    r"(?P<v>[^&\s'\"#]*)",
    re.IGNORECASE,
)
_CONNECTION = re.compile(
    r"(?P<k>\b(?:AccountKey|SharedAccessKey|SharedAccessSignature|Password|Pwd)=)(?P<v>[^;\s'\"]+)",
    re.IGNORECASE,
)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_VAULT_VALUE = (
    re.compile(r'(?P<k>"value"\s*:\s*")(?:[^"\\\n]|\\.)*(?P<e>")'),
    re.compile(r"(?P<k>'value'\s*:\s*')(?:[^'\\\n]|\\.)*(?P<e>')"),
)
_VAULT_MARK = re.compile(r"\.vault\.|/secrets/|/keys/", re.IGNORECASE)


def _forms(value: str) -> Iterable[str]:
    """The spellings of a secret that may appear in a log: plain, escaped, encoded, and inside base64."""
    yield value
    yield json.dumps(value)[1:-1]
    yield json.dumps(json.dumps(value)[1:-1])[1:-1]
    yield quote(value, safe="")
    raw = value.encode("utf-8")
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode("ascii")
        # Characters that depend only on the secret's bytes, whatever precedes or follows them.
        core = encoded[4 if shift else 0 : -4 if (shift + len(raw)) % 3 else len(encoded)]
        if len(core) >= 8:
            yield core
            yield core.replace("+", "-").replace("/", "_")


def _sub(pattern: re.Pattern[str], text: str) -> str:
    return pattern.sub(lambda m: f"{m.group('k')}{REDACTED}{m.groupdict().get('e') or ''}", text)


def redact_text(text: str, *, secrets: Iterable[str] = ()) -> str:
    """Return ``text`` with every credential masked (see the module docstring for the list).

    Args:
        text: a log message, an HTTP trace, a rendered traceback.
        secrets: more values to mask, besides the live ``Secret`` objects.
    """
    if not text:
        return text
    values = [v for v in (*live_secret_values(), *secrets) if isinstance(v, str) and len(v) >= 4]
    for value in sorted(values, key=len, reverse=True):
        for form in _forms(value):
            if form and form in text:
                text = text.replace(form, REDACTED)
    text = _sub(_HEADER, text)
    text = _sub(_BEARER, text)
    for quoted in _QUOTED:
        text = _sub(quoted, text)
    text = _sub(_FORM, text)
    text = _sub(_SAS, text)
    text = _sub(_CONNECTION, text)
    text = _JWT.sub(REDACTED, text)
    if _VAULT_MARK.search(text):
        for vault_value in _VAULT_VALUE:
            text = _sub(vault_value, text)
    return text


#: The earlier name of :func:`redact_text`.
redact = redact_text


def format_exception_redacted(exc: BaseException) -> str:
    """Render ``exc`` with its traceback and causes, as ``traceback`` does, through :func:`redact_text`.

    For ``--debug`` output: no local variables are shown, and credentials in messages are masked.
    """
    return redact_text("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))


class RedactingFilter(logging.Filter):
    """A logging filter that masks credentials in a record's message and exception text.

    Attach it to a handler (``handler.addFilter(RedactingFilter())``): a handler sees the records of every
    logger that propagates to it, azure-core's and this library's included.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask and keep the record."""
        try:
            message = record.getMessage()
        except Exception:
            return True
        cleaned = redact_text(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = format_exception_redacted(record.exc_info[1]).rstrip("\n")
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True


#: The earlier name of :class:`RedactingFilter`.
SecretRedactingFilter = RedactingFilter

_FILTER = RedactingFilter()
_TRACE = logging.getLogger("azure.core.pipeline.policies._universal")
_SENSITIVE_HEADERS = re.compile(rf"^(?:{_HEADERS})$", re.IGNORECASE)


def install(handler: logging.Handler | None = None) -> None:
    """Attach :class:`RedactingFilter` to ``handler``, or to every handler of the root logger (idempotent).

    Nothing calls it implicitly: the library's own clients already mask their HTTP trace
    (:class:`RedactingNetworkTraceLoggingPolicy`); call it once where logging is configured.
    """
    handlers = [handler] if handler is not None else list(logging.getLogger().handlers)
    for each in handlers:
        if _FILTER not in each.filters:
            each.addFilter(_FILTER)


def _headers(headers: Any) -> list[str]:
    lines = []
    for name, value in headers.items():
        shown = REDACTED if _SENSITIVE_HEADERS.match(str(name)) else value
        lines.append(f"    {name!r}: {shown!r}")
    return lines


def _request_body(body: Any) -> str:
    if body is None:
        return "This request has no body"
    if isinstance(body, (bytes, bytearray)):
        try:
            return bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            return "Binary data"
    if isinstance(body, str):
        return body
    return "A body is sent with the request (not logged: a file or a stream)"


class RedactingNetworkTraceLoggingPolicy(NetworkTraceLoggingPolicy):
    """azure-core's HTTP trace policy with every credential masked (:func:`redact_text`).

    Logs to the same logger (``azure.core.pipeline.policies._universal``) at DEBUG, with the same opt-in
    (``logging_enable=True`` on the client or per call). Pass it as ``logging_policy=`` to any SDK client.
    """

    def on_request(self, request: Any) -> None:
        """Log the request: URL, method, headers and body, masked."""
        options = request.context.options
        enabled = options.pop("logging_enable", self.enable_http_logger)
        request.context["logging_enable"] = enabled
        if not enabled or not _TRACE.isEnabledFor(logging.DEBUG):
            return
        try:
            http_request = request.http_request
            lines = [
                f"Request URL: {http_request.url!r}",
                f"Request method: {http_request.method!r}",
                "Request headers:",
                *_headers(http_request.headers),
                "Request body:",
                _request_body(getattr(http_request, "body", None)),
            ]
            _TRACE.debug("%s", redact_text("\n".join(lines)))
        except Exception as err:  # logging never breaks a request
            _TRACE.debug("Failed to log request: %s", type(err).__name__)

    def on_response(self, request: Any, response: Any) -> None:
        """Log the response: status, headers and text body, masked."""
        try:
            if not response.context.get("logging_enable") or not _TRACE.isEnabledFor(logging.DEBUG):
                return
            http_response = response.http_response
            content_type = str(http_response.headers.get("content-type", ""))
            if response.context.options.get("stream", False):
                body = "Body is streamable."
            elif content_type.endswith("octet-stream") or content_type.startswith("image"):
                body = "Body contains binary data."
            else:
                body = http_response.text()
            lines = [
                f"Response status: {http_response.status_code!r}",
                "Response headers:",
                *_headers(http_response.headers),
                "Response content:",
                body,
            ]
            _TRACE.debug("%s", redact_text("\n".join(lines)))
        except Exception as err:  # logging never breaks a request
            _TRACE.debug("Failed to log response: %s", type(err).__name__)

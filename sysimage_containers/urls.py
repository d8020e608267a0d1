"""Credentials out of every URL the tool writes (SBOM, labels, metadata, build log lines): one rule, used everywhere.

A URL loses its user info (`https://user:token@host/` -> `https://host/`) and every query parameter whose name
says it carries a credential (`?token=`, `private_token`, `X-Amz-Signature`, an Azure SAS `sig`, ...). git's
scp-like form `user@host:path` keeps a plain user name (`git@github.com:acme/app.git` holds no secret) but loses a
`user:password@` part.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus, urlsplit, urlunsplit

# Query parameter names that carry a credential: exact names (lower-cased) and prefixes
SECRET_PARAMS = frozenset({
    "token", "access_token", "private_token", "id_token", "refresh_token", "auth", "auth_token", "authorization",
    "key", "api_key", "apikey", "api-key", "sig", "signature", "password", "passwd", "pass", "pwd", "secret",
    "client_secret", "credential", "credentials", "session", "sessionid", "jwt", "code",
})
SECRET_PARAM_PREFIXES = ("x-amz-", "x-goog-", "x-ms-")
# a URL in free text ends before whitespace, quotes, and punctuation that ends a sentence
URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>`]*[^\s\"'<>`.,;:!?)\]}]")
SCP_WITH_PASSWORD = re.compile(r"^[^@/:\s]+:[^@/\s]*@(?=[^@/:\s]+:)")


def _secret_param(name: str) -> bool:
    lowered = name.lower()
    return lowered in SECRET_PARAMS or lowered.startswith(SECRET_PARAM_PREFIXES)


def strip_credentials(url: str) -> str:
    """The URL without user info or credential-carrying query parameters; anything else comes back unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced IPv6 bracket: drop everything between :// and the last @
        return re.sub(r"(://)[^/?#]*@", r"\1", url)
    if not parts.scheme or not parts.netloc:
        return SCP_WITH_PASSWORD.sub("", url)
    netloc = parts.netloc.rsplit("@", 1)[1] if "@" in parts.netloc else parts.netloc
    # the kept parameters as they were written (no re-encoding): only credential-named ones leave
    query = "&".join(part for part in parts.query.split("&")
                     if not _secret_param(unquote_plus(part.split("=", 1)[0]))) if parts.query else ""
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact(text: str) -> str:
    """Every URL inside free text (a log line, a JSON document) with its credentials stripped."""
    if "://" not in text:
        return text
    return URL_IN_TEXT.sub(lambda m: strip_credentials(m.group(0)), text)

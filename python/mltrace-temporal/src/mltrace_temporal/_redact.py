"""The store's one redaction policy (packages/core/src/redact.ts), for records written from Python.

The TypeScript store applies it in its `logRuns` wrapper, before `mltrace_log_runs`; Python calls
that database function directly, so it applies the same policy first. Its data (the secret key
words, every pattern) is core's `redaction.json`, read here from the package (in this repository a
link to packages/core/src/redaction.json): one source for both languages; the few lines of logic
around the patterns follow redact.ts.
Also the interceptor's previews (packages/temporal/src/sanitize.ts): redacted, size-capped copies
of arguments and results.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from typing import Any
from urllib.parse import unquote


def _load_rules() -> dict[str, Any]:
    text = resources.files(__package__ or "mltrace_temporal").joinpath("redaction.json").read_text(encoding="utf8")
    rules: dict[str, Any] = json.loads(text)
    return rules


_RULES = _load_rules()


def _pattern(name: str) -> re.Pattern[str]:
    spec = _RULES["patterns"][name]
    flags = 0
    for flag in spec["flags"]:
        flags |= {"i": re.IGNORECASE, "s": re.DOTALL}[flag]
    return re.compile(spec["source"], flags)


REDACTED: str = _RULES["replacement"]

_SECRET_KEY_PARTS: tuple[str, ...] = tuple(_RULES["secretKeyParts"])
_SECRET_KEY_EXACT = frozenset(_RULES["secretKeyExact"])
_NOT_SECRET_KEY = _pattern("notSecretKey")


def _squash(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


_SECRET_KEYS: dict[str, bool] = {}
"""Memo of `is_secret_key`: a record's keys are the same in every record."""


def is_secret_key(key: str) -> bool:
    """Whether a key names a secret (case and punctuation ignored: apiKey, API_KEY, x-api-key)."""
    hit = _SECRET_KEYS.get(key)
    if hit is None:
        squashed = _squash(key)
        hit = (
            squashed != ""
            and not _NOT_SECRET_KEY.search(squashed)
            and (squashed in _SECRET_KEY_EXACT or any(part in squashed for part in _SECRET_KEY_PARTS))
        )
        if len(_SECRET_KEYS) >= 10_000:
            _SECRET_KEYS.clear()
        _SECRET_KEYS[key] = hit
    return hit


# The interceptor's key test: the plugin's DEFAULT_REDACT_KEYS (workflow/redact.ts), extendable.
DEFAULT_REDACT_KEYS: tuple[str | re.Pattern[str], ...] = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "authorization",
    "credential",
    "signature",
    "privatekey",
    "accesskey",
    "sessionkey",
    "cookie",
    re.compile(r"^(auth|pwd|sig|x-amz-signature|x-amz-credential)$", re.I),
)

SecretKeyTest = Callable[[str], bool]


def secret_key_test(patterns: Iterable[str | re.Pattern[str]] = DEFAULT_REDACT_KEYS) -> SecretKeyTest:
    """A key predicate from substrings (squashed, as the TypeScript plugin) and regexps."""
    listed = list(patterns)
    substrings = [_squash(p) for p in listed if isinstance(p, str) and _squash(p)]
    regexps = [p for p in listed if isinstance(p, re.Pattern)]
    cache: dict[str, bool] = {}

    def test(key: str) -> bool:
        hit = cache.get(key)
        if hit is None:
            squashed = _squash(key)
            hit = any(s in squashed for s in substrings) or any(r.search(key) for r in regexps)
            hit = hit or is_secret_key(key)
            if len(cache) < 10_000:
                cache[key] = hit
        return hit

    return test


_ASSIGNMENT = _pattern("assignment")
_CODE_VALUE = _pattern("codeValue")
_PEM = _pattern("pem")
_BEARER = _pattern("bearer")
_TOKEN = _pattern("token")
_BASIC = _pattern("basic")
_JWT = _pattern("jwt")
_KNOWN_TOKENS = _pattern("knownTokens")
_URI_USERINFO = _pattern("uriUserinfo")
_SECRET_PARAM = _pattern("secretParam")
_URI_PARTS = _pattern("uriParts")
_PLAIN_USER = _pattern("plainUser")
_TOKEN_PREFIX = _pattern("tokenPrefix")
_SIGNATURE_PARAM = _pattern("signatureParam")


def _plain_user(userinfo: str) -> bool:
    return bool(_PLAIN_USER.match(userinfo)) and not _TOKEN_PREFIX.match(userinfo)


def _secret_param(name: str) -> bool:
    decoded = unquote(name)
    return is_secret_key(decoded) or bool(_SIGNATURE_PARAM.search(decoded))


def _redact_assignment(match: re.Match[str]) -> str:
    quote, key, separator, value_quote, quoted, bare = match.groups()
    quote = quote or ""
    if not is_secret_key(key):
        # Not a secret, but its value may hold one (`said: token=...`): scan the value on its own.
        def inner(value: str) -> str:
            return _ASSIGNMENT.sub(_redact_assignment, value)

        if value_quote is not None:
            return f"{quote}{key}{quote}{separator}{value_quote}{inner(quoted or '')}{value_quote}"
        return f"{quote}{key}{quote}{separator}{inner(bare or '')}"
    if value_quote is not None:
        if not quoted or quoted == REDACTED:
            return match.group(0)
        return f"{quote}{key}{quote}{separator}{value_quote}{REDACTED}{value_quote}"
    if bare is None or bare == REDACTED or _CODE_VALUE.match(bare):
        return match.group(0)
    return f"{quote}{key}{quote}{separator}{REDACTED}"


_REDACTED_TEXTS: dict[str, str] = {}
"""Memo of `redact_text` for short texts: ids, queues, names and paths recur in every record."""
_MAX_MEMO_TEXT = 512
_MAX_MEMO = 10_000
def redact_text(text: str) -> str:
    """Free text with every credential it carries replaced by [REDACTED] (core's redactText)."""
    if len(text) < 6:
        return text
    if len(text) > _MAX_MEMO_TEXT:
        return _redact_text(text)
    done = _REDACTED_TEXTS.get(text)
    if done is None:
        done = _redact_text(text)
        if len(_REDACTED_TEXTS) >= _MAX_MEMO:
            _REDACTED_TEXTS.clear()
        _REDACTED_TEXTS[text] = done
    return done


def _redact_text(text: str) -> str:
    text = _PEM.sub(REDACTED, text)
    text = _JWT.sub(REDACTED, text)
    text = _KNOWN_TOKENS.sub(REDACTED, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _TOKEN.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _BASIC.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _URI_USERINFO.sub(
        lambda m: m.group(0)
        if _plain_user(m.group(2)) or m.group(2) == REDACTED
        else f"{m.group(1)}{REDACTED}@",
        text,
    )
    text = _SECRET_PARAM.sub(
        lambda m: f"{m.group(1)}{m.group(2)}={REDACTED}"
        if m.group(3) != "" and m.group(3) != REDACTED and _secret_param(m.group(2))
        else m.group(0),
        text,
    )
    return _ASSIGNMENT.sub(_redact_assignment, text)


def strip_uri_credentials(uri: str) -> str:
    """A scheme:// URI without userinfo credentials or secret query parameters (removed, not masked)."""
    parts = _URI_PARTS.match(uri)
    if not parts:
        return uri
    prefix, authority, rest = parts.groups()
    at = authority.rfind("@")
    host = authority[at + 1 :] if at >= 0 and not _plain_user(authority[:at]) else authority
    query = rest.find("?")
    if query < 0:
        return f"{prefix}{host}{rest}"
    hash_at = rest.find("#", query)
    search = rest[query + 1 : None if hash_at < 0 else hash_at]
    kept = [pair for pair in search.split("&") if not (pair.find("=") > 0 and _secret_param(pair[: pair.find("=")]))]
    path = rest[:query]
    fragment = "" if hash_at < 0 else rest[hash_at:]
    return f"{prefix}{host}{path}{'?' + '&'.join(kept) if kept else ''}{fragment}"


def redact_uri(uri: str) -> str:
    """A pointer URI as the store keeps it."""
    return redact_text(strip_uri_credentials(uri))


def redact_value(value: Any) -> Any:
    """A deep copy of a JSON-like value: strings redacted, values under secret keys replaced."""

    def visit(node: Any, depth: int) -> Any:
        if isinstance(node, str):
            return redact_text(node)
        if depth > 64:
            return node
        if isinstance(node, list):
            return [visit(item, depth + 1) for item in node]
        if isinstance(node, dict):
            named = node.get("key") if isinstance(node.get("key"), str) else node.get("name")
            pair_secret = isinstance(named, str) and named != "" and "value" in node and is_secret_key(named)
            out: dict[str, Any] = {}
            for key, item in node.items():
                if item is not None and item != "" and (is_secret_key(str(key)) or (pair_secret and key == "value")):
                    out[key] = REDACTED
                else:
                    out[key] = visit(item, depth + 1)
            return out
        return node

    return visit(value, 0)


# --- previews of values (packages/temporal/src/sanitize.ts) ------------------------------------

_SECRET_VALUE_PATTERNS = (
    re.compile(r"^\s*(bearer|basic|token)\s+\S{8,}", re.I),
    re.compile(r"^eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}$"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
)


def looks_like_secret_value(value: str) -> bool:
    """Whether a string is a secret by its shape alone (bearer/basic credentials, JWTs, PEM keys)."""
    return len(value) >= 16 and any(p.search(value) for p in _SECRET_VALUE_PATTERNS)


def scrub_uri(uri: str, secret_key: SecretKeyTest) -> str:
    """A URI with its password and secret query parameter values masked (workflow/redact.ts scrubUri)."""
    parts = _URI_PARTS.match(uri)
    if not parts:
        return uri
    prefix, authority, rest = parts.groups()
    clean = authority
    at = authority.rfind("@")
    if at >= 0:
        userinfo = authority[:at]
        colon = userinfo.find(":")
        if colon >= 0:
            clean = f"{userinfo[:colon]}:{REDACTED}{authority[at:]}"
    query = rest.find("?")
    if query < 0:
        return f"{prefix}{clean}{rest}"
    hash_at = rest.find("#", query)
    path = rest[:query]
    search = rest[query + 1 : None if hash_at < 0 else hash_at]
    fragment = "" if hash_at < 0 else rest[hash_at:]
    params = []
    for pair in search.split("&"):
        eq = pair.find("=")
        name = pair if eq < 0 else pair[:eq]
        params.append(f"{name}={REDACTED}" if eq >= 0 and secret_key(unquote(name)) else pair)
    return f"{prefix}{clean}{path}?{'&'.join(params)}{fragment}"


_MAX_DEPTH = 8
_MAX_ITEMS = 50
_MAX_KEYS = 100


def _sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def preview_value(value: Any, secret_key: SecretKeyTest, max_string_chars: int, max_payload_chars: int) -> Any:
    """A small, JSON-safe copy of a value: secrets redacted, long strings and bytes by length and
    sha256, long lists and mappings cut with a `$more` count, the whole under about
    `max_payload_chars` (else wrapped as `{$truncated, chars, sha256, preview}`). Never raises."""
    try:
        string_chars, items, depth = max_string_chars, _MAX_ITEMS, _MAX_DEPTH
        preview = _walk(value, secret_key, string_chars, items, depth)
        text = json.dumps(preview, separators=(",", ":"))
        if len(text) <= max_payload_chars:
            return preview
        chars, digest = len(text), _sha256(text)
        for _ in range(6):
            if len(text) <= max_payload_chars:
                break
            string_chars = max(16, string_chars // 2)
            items = max(2, items // 2)
            depth = max(2, depth - 1)
            preview = _walk(value, secret_key, string_chars, items, depth)
            text = json.dumps(preview, separators=(",", ":"))
        if len(text) > max_payload_chars:
            return {"$truncated": True, "chars": chars, "sha256": digest, "preview": text[: max_payload_chars // 2]}
        return {"$truncated": True, "chars": chars, "sha256": digest, "preview": preview}
    except Exception as error:  # a preview never fails the record
        return {"$unserialisable": str(error)}


def _walk(value: Any, secret_key: SecretKeyTest, max_string: int, max_items: int, max_depth: int) -> Any:
    seen: set[int] = set()

    def visit(node: Any, depth: int) -> Any:
        if isinstance(node, str):
            if looks_like_secret_value(node):
                return REDACTED
            if len(node) <= max_string:
                return scrub_uri(node, secret_key) if "://" in node else node
            return {"$truncated": redact_text(node[:max_string]), "length": len(node), "sha256": _sha256(node)}
        if node is None or isinstance(node, bool):
            return node
        if isinstance(node, int):
            return node if abs(node) < 2**53 else str(node)
        if isinstance(node, float):
            return node if node == node and node not in (float("inf"), float("-inf")) else str(node)
        if isinstance(node, (bytes, bytearray, memoryview)):
            data = bytes(node)
            return {"$bytes": len(data), "sha256": _sha256(data)}
        if hasattr(node, "isoformat") and callable(node.isoformat):
            return node.isoformat()
        if id(node) in seen:
            return "[Circular]"
        is_list = isinstance(node, (list, tuple, set, frozenset))
        if depth >= max_depth:
            return f"[Array({len(node)})]" if is_list else "[Object]"
        seen.add(id(node))
        try:
            if isinstance(node, BaseException):
                return {"name": type(node).__name__, "message": visit(str(node), depth + 1)}
            if is_list:
                listed = list(node)
                out = [visit(item, depth + 1) for item in listed[:max_items]]
                if len(listed) > max_items:
                    out.append({"$more": len(listed) - max_items})
                return out
            entries = _entries(node)
            if entries is None:
                return f"[{type(node).__name__}]"
            result: dict[str, Any] = {}
            for count, (raw_key, item) in enumerate(entries):
                if count >= _MAX_KEYS:
                    result["$more"] = len(entries) - _MAX_KEYS
                    break
                key = str(raw_key)
                result[key] = REDACTED if secret_key(key) else visit(item, depth + 1)
            return result
        finally:
            seen.discard(id(node))

    return visit(value, 0)


def _entries(node: Any) -> list[tuple[Any, Any]] | None:
    """The fields of a mapping, dataclass or plain object, as the data converter would see them."""
    if isinstance(node, Mapping):
        return list(node.items())
    fields = getattr(node, "__dataclass_fields__", None)
    if fields is not None:
        return [(name, getattr(node, name, None)) for name in fields]
    dump = getattr(node, "model_dump", None)  # pydantic
    if callable(dump):
        try:
            dumped = dump()
            return list(dumped.items()) if isinstance(dumped, dict) else None
        except Exception:
            return None
    attrs = getattr(node, "__dict__", None)
    return list(attrs.items()) if isinstance(attrs, dict) else None

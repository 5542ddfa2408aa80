"""Pointers as the TypeScript side names them: automatic discovery in arguments and results
(packages/temporal/src/workflow/pointers.ts), the canonical URI form and the type inferred from
it (packages/core/src/pointers.ts). Same rules, so that a file written by a Python activity and
read by a TypeScript one is one pointer in the store.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import unquote

from ._redact import SecretKeyTest, scrub_uri, strip_uri_credentials

_URI = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):(//?)\S+$")
_NOT_LOCATIONS = frozenset({"data", "javascript", "mailto", "urn", "about", "blob", "tel"})
_SINGLE_SLASH_SCHEMES = frozenset({"models", "runs", "file", "mlflow-artifacts", "dbfs"})
_FILE_EXTENSIONS = frozenset(
    "csv tsv pq parquet txt json jsonl ndjson xml yaml yml feather arrow avro orc xlsx npy npz h5 hdf5 "
    "joblib pkl pickle ckpt pt pth onnx mlmodel safetensors bin zip gz tar tgz dvc lock md pdf png jpg "
    "jpeg mlt".split()
)
_LOCATION_KEY = re.compile(
    r"(^|[_-])(path|paths|uri|uris|url|urls|file|files|filename|dir|directory|location|dest|destination"
    r"|artifact|artifacts)$|[a-z](Path|Paths|Uri|Uris|URI|Url|Urls|URL|File|Files|Dir|Directory|Location)$"
)


def _extension(value: str) -> str:
    last = re.split(r"[/\\]", value)[-1]
    dot = last.rfind(".")
    return last[dot + 1 :].lower() if dot > 0 else ""


def looks_like_pointer(value: str, key: str | None = None) -> bool:
    """Whether a string names a location: a URI, a path, a data/model file name, or a token under a
    key that names a location (path, uri, output_dir, modelUri...)."""
    if len(value) < 2 or len(value) > 2048 or re.search(r"[\0\n\r\t]", value):
        return False
    location_key = key is not None and bool(_LOCATION_KEY.search(key))
    if re.match(r"^[A-Za-z]:[\\/]", value):
        return location_key or not re.search(r"\s", value)
    uri = _URI.match(value)
    if uri:
        scheme = uri.group(1).lower()
        if scheme in _NOT_LOCATIONS:
            return False
        return uri.group(2) == "//" or scheme in _SINGLE_SLASH_SCHEMES
    if re.search(r"\s", value):
        return False
    if location_key:
        return True
    if re.match(r"^(/|\./|\.\./|~/).", value):
        return True
    ext = _extension(value)
    if "/" in value:
        return bool(re.fullmatch(r"[A-Za-z0-9]{1,10}", ext)) and not ext.isdigit()
    return ext in _FILE_EXTENSIONS


def find_pointers(
    value: Any, secret_key: SecretKeyTest, max_pointers: int = 32, max_depth: int = 6, max_nodes: int = 2000
) -> list[str]:
    """The pointers in a value (nested dicts, lists, tuples, sets, dataclasses), in order, once each."""
    found: dict[str, None] = {}
    seen: set[int] = set()
    nodes = 0

    def visit(node: Any, key: str | None, depth: int) -> None:
        nonlocal nodes
        if len(found) >= max_pointers or nodes >= max_nodes:
            return
        nodes += 1
        if isinstance(node, str):
            trimmed = node.strip()
            if looks_like_pointer(trimmed, key):
                found[scrub_uri(trimmed, secret_key)] = None
            return
        if isinstance(node, os.PathLike):
            visit(os.fspath(node), key, depth)
            return
        if node is None or isinstance(node, (bool, int, float, bytes, bytearray)) or depth >= max_depth:
            return
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, (list, tuple, set, frozenset)):
            for item in node:
                visit(item, key, depth + 1)
            return
        if isinstance(node, dict):
            entries = list(node.items())
        elif hasattr(node, "__dataclass_fields__"):
            entries = [(name, getattr(node, name, None)) for name in node.__dataclass_fields__]
        elif isinstance(getattr(node, "__dict__", None), dict):
            entries = list(node.__dict__.items())
        else:
            return
        for k, v in entries:
            name = k if isinstance(k, str) else None
            if name is not None and secret_key(name):
                continue
            visit(v, name, depth + 1)

    visit(value, None, 0)
    return list(found)


_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
_WINDOWS_DRIVE = re.compile(r"^[a-zA-Z]:[\\/]")
_DATA_EXTENSIONS = frozenset("csv pq parquet txt md rtf tsv xml pdf mlt".split())
_MODEL_EXTENSIONS = frozenset("h5 hdf5 joblib pkl pickle ckpt mlmodel".split())
_OTHER_FILE_EXTENSIONS = frozenset(
    "json jsonl ndjson yaml yml npy npz onnx pt pth bin feather arrow avro orc xlsx zip gz tar tgz lock dvc".split()
)
_MODEL_SCHEMES = frozenset({"models", "runs", "mlflow-artifacts"})
_ENDPOINT_SCHEMES = frozenset({"http", "https", "grpc", "grpcs"})


def infer_pointer_type(uri: str) -> str:
    """data, model, endpoint, metric or unknown, by scheme, then mltrace's name rules."""
    scheme = _SCHEME.match(uri)
    if scheme and not _WINDOWS_DRIVE.match(uri):
        lower_scheme = scheme.group(1).lower()
        if lower_scheme in _MODEL_SCHEMES:
            return "model"
        if lower_scheme in _ENDPOINT_SCHEMES:
            return "endpoint"
    lower = uri.lower()
    if "data" in lower:
        return "data"
    if "model" in lower:
        return "model"
    ext = _extension(uri)
    if ext in _DATA_EXTENSIONS:
        return "data"
    if ext in _MODEL_EXTENSIONS:
        return "model"
    if "metric" in lower:
        return "metric"
    return "unknown"


def _looks_like_path(value: str) -> bool:
    if value.startswith(("/", "./", "../", "~/")) or value in (".", "..") or _WINDOWS_DRIVE.match(value):
        return True
    if "/" in value or "\\" in value:
        return True
    ext = _extension(value)
    return ext in _DATA_EXTENSIONS or ext in _MODEL_EXTENSIONS or ext in _OTHER_FILE_EXTENSIONS


def _normalize_absolute(path: str) -> str:
    out: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if out:
                out.pop()
        else:
            out.append(segment)
    return "/" + "/".join(out)


def normalize_uri(value: str, cwd: str) -> str:
    """The one canonical form of a pointer URI (core's normalizeUri): local paths become
    file:///abs/path, other URIs lose their credentials and get a lower-case scheme, anything
    else is an opaque name. Raises ValueError for an empty URI or one with control characters."""
    value = value.strip()
    if value == "":
        raise ValueError("a pointer URI must not be empty")
    if re.search(r"[\0\n\r]", value):
        raise ValueError(f"pointer URI {value!r} contains a control character")
    scheme = _SCHEME.match(value)
    if scheme and not _WINDOWS_DRIVE.match(value):
        name = scheme.group(1)
        if name.lower() == "file":
            rest = value[len(name) + 1 :]
            if rest.startswith("//"):
                rest = rest[2:]
                slash = rest.find("/")
                host = rest if slash == -1 else rest[:slash]
                if host not in ("", "localhost"):
                    return f"file://{host}{_normalize_absolute(rest[len(host):])}"
                rest = "/" if slash == -1 else rest[slash:]
            return f"file://{_normalize_absolute(unquote(rest, errors='strict'))}"
        return strip_uri_credentials(name.lower() + value[len(name) :])
    if not _looks_like_path(value):
        return value
    path = value.replace("\\", "/")
    if _WINDOWS_DRIVE.match(value):
        path = f"/{path[0].lower()}:{path[2:]}"
    elif path.startswith("~/"):
        path = f"{cwd.replace(chr(92), '/')}/{path[2:]}"
    elif not path.startswith("/"):
        path = f"{cwd.replace(chr(92), '/')}/{path}"
    return f"file://{_normalize_absolute(path)}"

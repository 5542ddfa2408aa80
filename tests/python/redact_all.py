"""Redacts what it reads on stdin ({"texts": [...], "uris": [...], "values": [...]}) with the
Python package's policy and prints the results as JSON, for redaction.test.ts to compare with
@mltrace/core's."""

import json
import sys

from mltrace_temporal._redact import redact_text, redact_uri, redact_value

given = json.load(sys.stdin)
print(
    json.dumps(
        {
            "texts": [redact_text(t) for t in given["texts"]],
            "uris": [redact_uri(u) for u in given["uris"]],
            "values": [redact_value(v) for v in given["values"]],
        }
    )
)

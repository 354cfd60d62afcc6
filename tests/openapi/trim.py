"""Write ``admin.json`` beside this file: the admin API's OpenAPI document, trimmed.

Usage: ``python tests/openapi/trim.py FULL.json`` where FULL.json is the document exported
from the official ``@botpress/api`` package (353 KB for 1.70.2).  Kept: the operations the
sandbox serves (``bpshell.sandbox.routes``), everything they refer to, and the document's
``info`` (its ``version`` is the API's).  The document has no error responses (its
``default`` answers are the success ones): ``errors.json`` beside it holds the API's error
types with their statuses (from the same package) and the rate limiter's 429 body (from the
API reference), for ``tests/conformance.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bpshell.sandbox.routes import ROUTES

HERE = Path(__file__).resolve().parent


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref)
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def trim(full: dict[str, Any]) -> dict[str, Any]:
    """The document with only the sandbox's operations and what they refer to."""
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        operation = full["paths"][route.template][route.method.lower()]
        assert operation["operationId"] == route.operation, route
        paths.setdefault(route.template, {})[route.method.lower()] = operation
    components: dict[str, dict[str, Any]] = {
        "securitySchemes": full["components"]["securitySchemes"]
    }
    pending: set[str] = set()
    _refs(paths, pending)
    done: set[str] = set()
    while pending:
        ref = pending.pop()
        done.add(ref)
        _, _, kind, name = ref.split("/")
        target = full["components"][kind][name]
        components.setdefault(kind, {})[name] = target
        _refs(target, found := set())
        pending |= found - done
    components = {kind: dict(sorted(items.items())) for kind, items in sorted(components.items())}
    return {
        "openapi": full["openapi"],
        "info": full["info"],
        "servers": full["servers"],
        "x-trimmed": "tests/openapi/trim.py: only the operations bpshell's sandbox serves",
        "paths": paths,
        "components": components,
        "security": full["security"],
    }


def main() -> None:
    full = json.loads(Path(sys.argv[1]).read_text())
    text = json.dumps(trim(full), indent=2) + "\n"
    (HERE / "admin.json").write_text(text)


if __name__ == "__main__":
    main()

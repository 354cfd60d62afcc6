"""Answers of the sandbox checked against the admin API's OpenAPI document.

``tests/openapi/admin.json`` is the document of ``@botpress/api`` (its ``info.version``),
trimmed to the operations the sandbox serves; ``tests/openapi/errors.json`` holds the API's
error types and the rate limiter's 429 body, which the document leaves out. The document is
OpenAPI 3.0: its schemas become JSON Schema draft 4 (``nullable: true`` adds ``null``), with
``date-time`` and ``uuid`` formats checked.

Every answer, success or error, must:

* carry ``RateLimit-Limit``, ``RateLimit-Remaining`` (at most the limit) and
  ``RateLimit-Reset`` as whole numbers, and no ``Retry-After`` unless a fault asked for one;
* be routed as the document says: an operation's answer comes from its method and path
  template, a 404 without operation from a path no template fits, a 405 from a path one fits
  with ``Allow`` naming exactly the document's methods there;
* have a body that fits: a 2xx the operation's response schema, a 429 of the rate limiter its
  documented body exactly, any other error the ``{"id": "err_…", "code": status, "type",
  "message"}`` shape with a type of that status in the error list.

Deliberate faults are held to what they promise instead: ``status`` an error shape of any
type, ``wrong_content_type`` the operation's schema under ``text/html``, ``redirect`` a
``Location``; the bodies of ``malformed_json``, ``schema_mismatch`` and ``reset`` are not
checked (their headers are).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema

HERE = Path(__file__).resolve().parent / "openapi"
_OPENAPI_ONLY = frozenset(
    {"nullable", "example", "deprecated", "discriminator", "xml", "externalDocs", "readOnly"}
)
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "definitions"})
_UNCHECKED_BODIES = frozenset({"malformed_json", "schema_mismatch", "reset"})
_RATE_HEADERS = ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset")
_ERROR_KEYS = frozenset({"id", "code", "type", "message", "metadata"})


def load_document() -> dict[str, Any]:
    """The trimmed OpenAPI document."""
    return json.loads((HERE / "admin.json").read_text())


def load_errors() -> dict[str, Any]:
    """The error list and the rate limiter's body."""
    return json.loads((HERE / "errors.json").read_text())


def to_json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema draft 4 (``nullable`` made a ``null`` type)."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _OPENAPI_ONLY or key.startswith("x-"):
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: to_json_schema(schema) for name, schema in value.items()}
        else:
            out[key] = to_json_schema(value)
    if node.get("nullable") is True:
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        if isinstance(out.get("enum"), list):
            out["enum"] = [*out["enum"], None]
    return out


def _format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker(formats=())

    @checker.checks("date-time", raises=ValueError)
    def date_time(value: object) -> bool:
        if isinstance(value, str):
            if "T" not in value:
                raise ValueError("no time")
            datetime.fromisoformat(value)
        return True

    @checker.checks("uuid", raises=ValueError)
    def is_uuid(value: object) -> bool:
        return not isinstance(value, str) or str(uuid.UUID(value)) == value.lower()

    return checker


@dataclass(frozen=True)
class Operation:
    """One operation of the document: its route and its success schema's validator."""

    operation_id: str
    method: str
    template: str
    validator: jsonschema.Draft4Validator


class Document:
    """The routes and schemas of the OpenAPI document, ready to check answers."""

    def __init__(self, document: Mapping[str, Any], errors: Mapping[str, Any]) -> None:
        self.version = document["info"]["version"]
        self._components = document.get("components", {})
        checker = _format_checker()
        self.operations: dict[str, Operation] = {}
        self.templates: dict[str, dict[str, str]] = {}
        for template, item in document["paths"].items():
            for method, spec in item.items():
                response = self._resolve(spec["responses"]["200"])
                schema = response["content"]["application/json"]["schema"]
                validator = jsonschema.Draft4Validator(
                    to_json_schema(self._inline(schema)), format_checker=checker
                )
                operation_id = spec["operationId"]
                self.operations[operation_id] = Operation(
                    operation_id, method.upper(), template, validator
                )
                self.templates.setdefault(template, {})[method.upper()] = operation_id
        self.error_statuses: dict[str, set[int]] = {}
        for error in errors["errors"]:
            self.error_statuses.setdefault(error["type"], set()).add(error["status"])
        self.rate_limited_body = errors["rateLimitedBody"]["body"]

    def _resolve(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in node:
            _, _, kind, name = node["$ref"].split("/")
            node = self._components[kind][name]
        return node

    def _inline(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self._inline(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return self._inline(self._resolve(node))
        return {key: self._inline(value) for key, value in node.items()}

    def route(self, path: str) -> tuple[str, dict[str, str]] | None:
        """The template ``path`` fits and its operations by method, None if none fits."""
        given = path.split("?", 1)[0].split("/")
        for template, methods in self.templates.items():
            expected = template.split("/")
            if len(expected) == len(given) and all(
                (want.startswith("{") and bool(got)) or want == got
                for want, got in zip(expected, given, strict=True)
            ):
                return template, methods
        return None


@dataclass
class Report:
    """What a check of answers found: ``problems`` are messages, with at most a few examples
    of each."""

    answers: int = 0
    bodies_checked: int = 0
    by_operation: dict[str, int] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)

    def add(self, problem: str, example: str) -> None:
        examples = self.problems.setdefault(problem, [])
        if len(examples) < 3:
            examples.append(example)

    def summary(self, limit: int = 30) -> str:
        lines = [
            f"{len(self.problems)} kinds of problem in {self.answers} sandbox answers "
            "(checked against the OpenAPI document in tests/openapi/):"
        ]
        for problem, examples in list(self.problems.items())[:limit]:
            lines.append(f"- {problem}")
            lines.extend(f"    e.g. {example}" for example in examples)
        return "\n".join(lines)


def read_log(path: Path) -> Iterator[dict[str, Any]]:
    """The records of an answer log (see ``bpshell/sandbox/answers.py``), bodies filled in."""
    bodies: dict[str, str] = {}
    if not path.exists():
        return
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                yield {"unreadable": f"line {number} of {path} is not JSON: {line[:80]!r}"}
                continue
            if "body" in record:
                bodies[record["sha256"]] = record["body"]
            else:
                record["body"] = bodies.get(record["sha256"])
            yield record


def check_log(path: Path, document: Document | None = None) -> Report:
    """Check every answer of the log at ``path``."""
    return check_records(read_log(path), document)


def check_records(records: Iterable[dict[str, Any]], document: Document | None = None) -> Report:
    """Check answers given as answer-log records."""
    document = document or Document(load_document(), load_errors())
    report = Report()
    seen: set[tuple[Any, ...]] = set()
    for record in records:
        report.answers += 1
        if "unreadable" in record:
            report.add("an unreadable line in the answer log", record["unreadable"])
            continue
        where = f"{record['method']} {record['path']} -> {record['status']}"
        if record.get("fault"):
            where += f" (fault {record['fault']})"
        operation = record.get("operation")
        report.by_operation[operation or "-"] = report.by_operation.get(operation or "-", 0) + 1
        for problem in _check_headers(record):
            report.add(problem, where)
        for problem in _check_route(record, document):
            report.add(problem, where)
        key = (operation, record["status"], record.get("fault"), record["sha256"])
        if key in seen:
            continue
        seen.add(key)
        report.bodies_checked += 1
        for problem in _check_body(record, document):
            report.add(problem, where)
    return report


def _headers(record: Mapping[str, Any]) -> dict[str, str]:
    return {name.lower(): value for name, value in record["headers"]}


def _check_headers(record: Mapping[str, Any]) -> Iterator[str]:
    headers = _headers(record)
    numbers = {}
    for name in _RATE_HEADERS:
        value = headers.get(name)
        if value is None:
            yield f"no {name} header"
        elif not (value.isascii() and value.isdigit()):
            yield f"{name} is not a whole number of seconds or requests: {value!r}"
        else:
            numbers[name] = int(value)
    if len(numbers) == 3 and numbers["ratelimit-remaining"] > numbers["ratelimit-limit"]:
        yield "RateLimit-Remaining is above RateLimit-Limit"
    if "retry-after" in headers and record.get("fault") != "status":
        yield "a Retry-After header that no fault asked for"
    body = record.get("body") or ""
    content_type = record.get("contentType")
    if record.get("fault") == "wrong_content_type":
        if content_type != "text/html; charset=utf-8":
            yield f"a wrong_content_type fault answered {content_type!r}"
    elif body and content_type != "application/json":
        yield f"a body labelled {content_type!r}, not application/json"


def _check_route(record: Mapping[str, Any], document: Document) -> Iterator[str]:
    found = document.route(record["path"])
    operation = record.get("operation")
    status = record["status"]
    if operation is not None:
        spec = document.operations.get(operation)
        if spec is None:
            yield f"operation {operation} is not in the OpenAPI document"
        elif found is None or found[0] != spec.template or record["method"] != spec.method:
            yield f"{operation} answered a request that is not {spec.method} {spec.template}"
        return
    if status == 404 and found is not None:
        yield f"404 without an operation for a path of {found[0]}"
    if status == 405:
        if found is None:
            yield "405 for a path that no template of the document fits"
        else:
            allowed = {m.strip() for m in _headers(record).get("allow", "").split(",") if m}
            if allowed != set(found[1]):
                yield f"405 with Allow {sorted(allowed)}, not the document's {sorted(found[1])}"
            if record["method"] in found[1]:
                yield "405 for a method the document has on this path"


def _check_body(record: Mapping[str, Any], document: Document) -> Iterator[str]:
    fault = record.get("fault")
    status = record["status"]
    text = record.get("body")
    if text is None:
        yield "the log refers to a body it never logged"
        return
    if fault in _UNCHECKED_BODIES:
        return
    if fault == "redirect":
        if status != 302 or "location" not in _headers(record):
            yield "a redirect fault without 302 and Location"
        return
    if status in (204, 205, 304):
        if text:
            yield f"a body with status {status}"
        return
    try:
        body = json.loads(text)
    except json.JSONDecodeError:
        yield "a body that is not JSON"
        return
    if fault == "status":
        yield from _check_error(body, status, document, any_type=True)
    elif 200 <= status < 300:
        yield from _check_success(body, record.get("operation"), document)
    elif status == 429 and body == document.rate_limited_body:
        if _headers(record).get("ratelimit-remaining") != "0":
            yield "a 429 of the rate limiter with RateLimit-Remaining above 0"
    else:
        yield from _check_error(body, status, document, any_type=False)


def _check_success(body: object, operation: str | None, document: Document) -> Iterator[str]:
    spec = document.operations.get(operation or "")
    if spec is None:
        yield "a success answer of no operation"
        return
    for error in sorted(spec.validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
        place = "".join(f"[{part!r}]" for part in error.absolute_path) or "body"
        yield f"{operation}: {place}: {error.message[:160]}"


def _check_error(body: object, status: int, document: Document, *, any_type: bool) -> Iterator[str]:
    if not isinstance(body, dict):
        yield f"error {status}: the body is not an object"
        return
    missing = {"id", "code", "type", "message"} - set(body)
    if missing or set(body) - _ERROR_KEYS:
        yield f"error {status}: keys {sorted(body)}, not id, code, type, message (metadata)"
        return
    if not (isinstance(body["id"], str) and body["id"].startswith("err_")):
        yield f"error {status}: id {body['id']!r} is not err_…"
    if body["code"] != status or isinstance(body["code"], bool):
        yield f"error {status}: code {body['code']!r} is not the status"
    if not isinstance(body["message"], str) or not body["message"]:
        yield f"error {status}: the message is not a string"
    if "metadata" in body and not isinstance(body["metadata"], dict):
        yield f"error {status}: metadata is not an object"
    kind = body["type"]
    if not isinstance(kind, str):
        yield f"error {status}: type {kind!r} is not a string"
    elif not any_type and status not in document.error_statuses.get(kind, set()):
        yield f"error type {kind} with status {status}, not one the API gives it"

"""The control endpoints under ``/__sandbox/``: the sandbox's knobs over HTTP.

No authentication, never counted in the stats nor rate limited, all JSON:

``GET|POST|DELETE /__sandbox/faults``  list / add (body: ``{"operation", "kind", "times"?,
                                       ...params}``; ``"type"`` is accepted for
                                       ``error_type``) / clear all faults.
``GET|POST /__sandbox/latency``        ``{"ms": N}``.
``GET|POST /__sandbox/fail-rate``      ``{"rate": R}``.
``GET|POST /__sandbox/rate-limit``     ``{"limit": N, "window_s": S}``; ``{"limit": null}``
                                       turns limiting off.
``GET|POST /__sandbox/clock``          ``{"offset_s": S}``: seconds added to the ``Date`` header.
``GET /__sandbox/stats``               :meth:`Stats.to_json`.
``POST /__sandbox/reset``              what :meth:`Sandbox.reset` does.

Bad control input gets a 400 ``InvalidPayload`` error body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from bpshell.sandbox.ratelimit import DEFAULT_WINDOW_S
from bpshell.sandbox.replies import Reply, error_reply, json_reply

if TYPE_CHECKING:
    from bpshell.sandbox.server import Sandbox

CONTROL_PREFIX = "/__sandbox/"
_METHODS: Mapping[str, tuple[str, ...]] = {
    "faults": ("GET", "POST", "DELETE"),
    "latency": ("GET", "POST"),
    "fail-rate": ("GET", "POST"),
    "rate-limit": ("GET", "POST"),
    "clock": ("GET", "POST"),
    "stats": ("GET",),
    "reset": ("POST",),
}


def control(sandbox: Sandbox, method: str, name: str, body: object) -> Reply:
    """Answer ``method /__sandbox/<name>`` with the parsed JSON ``body`` (None if empty)."""
    allowed = _METHODS.get(name)
    if allowed is None:
        return error_reply(404, "ResourceNotFound", f"No sandbox endpoint {name!r}")
    if method not in allowed:
        return error_reply(
            405,
            "MethodNotFound",
            f"Method {method} is not allowed on {CONTROL_PREFIX}{name}",
            [("Allow", ", ".join(allowed))],
        )
    try:
        return _answer(sandbox, method, name, _object(body) if method == "POST" else {})
    except ValueError as exc:
        return error_reply(400, "InvalidPayload", str(exc))


def _answer(sandbox: Sandbox, method: str, name: str, payload: dict[str, Any]) -> Reply:
    if name == "faults":
        if method == "GET":
            return json_reply(200, {"faults": [f.to_json() for f in sandbox.faults]})
        if method == "DELETE":
            return json_reply(200, {"cleared": sandbox.clear_faults()})
        return json_reply(201, {"fault": sandbox.add_fault_json(payload).to_json()})
    if name == "latency":
        if method == "POST":
            sandbox.latency_ms = _number(payload, "ms")
        return json_reply(200, {"ms": sandbox.latency_ms})
    if name == "fail-rate":
        if method == "POST":
            sandbox.fail_rate = _number(payload, "rate")
        return json_reply(200, {"rate": sandbox.fail_rate})
    if name == "rate-limit":
        if method == "POST":
            limit = payload.get("limit")
            window = payload.get("window_s", DEFAULT_WINDOW_S)
            if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
                raise ValueError("'limit' must be an integer or null")
            if isinstance(window, bool) or not isinstance(window, int | float):
                raise ValueError("'window_s' must be a number")
            sandbox.set_rate_limit(limit, window)
        setting = sandbox.rate_limit
        if setting is None:
            return json_reply(200, {"limit": None})
        return json_reply(200, {"limit": setting.limit, "window_s": setting.window_s})
    if name == "clock":
        if method == "POST":
            sandbox.clock_offset_s = _number(payload, "offset_s")
        return json_reply(200, {"offset_s": sandbox.clock_offset_s})
    if name == "stats":
        return json_reply(200, sandbox.stats.to_json())
    sandbox.reset()
    return json_reply(200, {"reset": True})


def _object(body: object) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return cast(dict[str, Any], body)


def _number(payload: Mapping[str, Any], key: str) -> float:
    value = payload.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key!r} must be a number")
    return value

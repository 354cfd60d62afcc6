"""What the shell's commands learn of the credentials in force, as their requests go.

The commands of a shell session share one HTTP client. :func:`watch_requests` gives it a
transport that reports each answer, or the lack of one, as a :class:`Sighting`: the
session compares it with the credentials its toolbar check uses, so a 401 or an unreachable
API seen by ``profiles active`` shows as ``✗`` in the toolbar at once, not at the next
check. A sighting holds the request's URL, its status and a digest of its token, never the
token; reporting never changes what the command gets.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from bpshell.env import Env
from bpshell.errors import NetworkError


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


@dataclass(frozen=True)
class Credentials:
    """Credentials as sightings are compared with them: the API URL and a token digest."""

    api_url: str
    digest: bytes

    @classmethod
    def of(cls, api_url: str, token: str) -> Credentials:
        """The credentials of ``token`` at ``api_url``."""
        return cls(api_url.rstrip("/"), _digest(token))


@dataclass(frozen=True)
class Sighting:
    """One request of a command: its URL, its token's digest (None: it had none), and its
    answer's status, or None with ``failure`` saying why there was no answer."""

    url: str
    digest: bytes | None
    status: int | None
    failure: str = ""

    def concerns(self, credentials: Credentials) -> bool:
        """Whether this request was sent with ``credentials``."""
        base = credentials.api_url
        under = self.url == base or self.url.startswith(base + "/")
        return under and self.digest == credentials.digest


class WatchingTransport(httpx.AsyncBaseTransport):
    """``inner``, telling ``report`` of each request's outcome; see the module docstring."""

    def __init__(self, inner: httpx.AsyncBaseTransport, report: Callable[[Sighting], None]):
        self._inner = inner
        self._report = report

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the inner transport, then report."""
        header = request.headers.get("authorization", "")
        digest = _digest(header[7:]) if header.startswith("Bearer ") else None
        url = str(request.url.copy_with(query=None, fragment=None))
        origin = f"{request.url.scheme}://{request.url.netloc.decode('ascii', 'replace')}"
        try:
            response = await self._inner.handle_async_request(request)
        except NetworkError as exc:  # the environment's problem, named by the transport
            self._tell(Sighting(url, digest, None, exc.message))
            raise
        except httpx.TimeoutException:
            self._tell(Sighting(url, digest, None, f"{origin} did not answer in time"))
            raise
        except httpx.ConnectError:
            self._tell(Sighting(url, digest, None, f"cannot reach {origin}"))
            raise
        self._tell(Sighting(url, digest, response.status_code))
        return response

    def _tell(self, sighting: Sighting) -> None:
        # The toolbar's bookkeeping must never fail a command's request.
        with contextlib.suppress(Exception):
            self._report(sighting)

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self._inner.aclose()


def watch_requests(env: Env, report: Callable[[Sighting], None]) -> None:
    """From now on, every request of ``env`` is reported to ``report``.

    An :class:`Env` builds its HTTP client on first use; the shell's is built here, before
    its first command, with the same debug lines, proxies and trust, on a watching transport.
    """
    from bpshell.api import new_http_client
    from bpshell.network import Transport

    if env._http is not None:
        raise RuntimeError("watch_requests must come before the first request")
    transport = WatchingTransport(Transport(env.environ, env.debug), report)
    env._http = new_http_client(env.debug, transport)

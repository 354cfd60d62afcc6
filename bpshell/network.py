"""How requests leave the machine: proxies and TLS trust, read from the environment like curl.

:class:`Transport` is the transport of bpshell's HTTP client. For each request it picks the
proxy the environment names for the URL (``https_proxy`` / ``HTTPS_PROXY`` for https,
``http_proxy`` / ``HTTP_PROXY`` for http, ``all_proxy`` / ``ALL_PROXY`` for either; the
lowercase name wins, an empty value counts as unset) unless ``no_proxy`` / ``NO_PROXY`` lists
the host (see :func:`bypasses`). httpx's own ``trust_env`` is left off: it would read
``.netrc`` too, and its ``NO_PROXY`` knows no CIDR ranges.

TLS trusts the operating system's certificate store plus ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``
(see :func:`tls_context`), so a corporate CA installed on the machine just works. The context
is built on the first https request only, once per process.

Failures that the user fixes in the environment are raised here as :class:`NetworkError`
naming what to change: an untrusted certificate, a proxy that refuses the tunnel (403, 407),
a proxy that cannot be reached, a proxy variable that is not a URL. Proxy credentials are
never shown: :attr:`Proxy.shown` masks them.
"""

from __future__ import annotations

import functools
import importlib.util
import ipaddress
import os
import re
import socket
import ssl
import sys
from collections.abc import Callable, Mapping
from typing import NamedTuple

import httpx

from bpshell.errors import ApiTimeoutError, NetworkError

# HTTP/2 to https servers: off (see bench/README.md, "HTTP/2 and TLS", for the figures).
HTTP2 = False
# curl's default proxy port, whatever the proxy's scheme but https.
DEFAULT_PROXY_PORT = 1080
PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")
# Where distributions keep the system store (truststore's list), for a Python whose OpenSSL
# was compiled with directories this distribution does not use.
CA_FILE_CANDIDATES = (
    "/etc/ssl/cert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/pki/tls/cert.pem",
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/ca-bundle.pem",
)
CERT_FIX = "install its CA in the system store or set SSL_CERT_FILE=/path/to/ca.pem"
_UNTRUSTED = {
    18: "self-signed",
    19: "self-signed CA in its chain",
    20: "signed by an unknown CA",
    21: "signed by an unknown CA",
}


class Proxy(NamedTuple):
    """A proxy URL from the environment: ``url`` (with credentials, for httpx only),
    ``shown`` (for messages: credentials masked) and the ``variable`` it came from."""

    url: str
    shown: str
    variable: str
    has_credentials: bool = False


class Route(NamedTuple):
    """How one request goes: through ``proxy``, or straight; ``note`` is for the -v line."""

    proxy: Proxy | None
    note: str | None


class Proxies(NamedTuple):
    """The proxy settings of an environment, as curl reads them."""

    http: Proxy | NetworkError | None
    https: Proxy | NetworkError | None
    no_proxy: tuple[str, ...]
    no_proxy_variable: str

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Proxies:
        """Read the variables; a malformed proxy URL is kept as the error to raise when a
        request would use it (commands that make none are not affected)."""
        fallback = _variable(environ, "all_proxy")
        no_proxy = _variable(environ, "no_proxy")
        return cls(
            http=_proxy(_variable(environ, "http_proxy") or fallback),
            https=_proxy(_variable(environ, "https_proxy") or fallback),
            no_proxy=tuple(no_proxy_entries(no_proxy[1])) if no_proxy else (),
            no_proxy_variable=no_proxy[0] if no_proxy else "NO_PROXY",
        )

    def route(self, url: httpx.URL) -> Route:
        """The route of a request to ``url``; :class:`NetworkError` if its proxy variable is
        malformed."""
        proxy = self.https if url.scheme == "https" else self.http
        if proxy is None:
            return Route(None, None)
        if bypasses(url.host, self.no_proxy):
            return Route(None, f"direct ({self.no_proxy_variable} matches {url.host})")
        if isinstance(proxy, NetworkError):
            raise NetworkError(proxy.message, proxy.hint)
        return Route(proxy, f"via proxy {proxy.shown} ({proxy.variable})")


def _variable(environ: Mapping[str, str], lower: str) -> tuple[str, str] | None:
    """The (name, value) of ``lower`` or else its uppercase twin; empty counts as unset."""
    for name in (lower, lower.upper()):
        value = environ.get(name, "").strip()
        if value:
            return name, value
    return None


def _proxy(found: tuple[str, str] | None) -> Proxy | NetworkError | None:
    if found is None:
        return None
    variable, value = found
    if "://" not in value:  # curl's reading of "proxy:3128"
        value = "http://" + value
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL as exc:
        why = str(exc)
        userinfo = value.split("://", 1)[1].rpartition("@")[0]
        # httpx quotes the part it could not read, which may be the user or the password.
        for secret in (userinfo, *userinfo.split(":")):
            why = why.replace(secret, "***") if secret else why
        return _bad_proxy(variable, f"it does not parse: {why}")
    scheme = url.scheme.lower()
    if scheme not in PROXY_SCHEMES:
        return _bad_proxy(variable, f"bpshell does not speak {scheme!r} to proxies")
    if not url.host:
        return _bad_proxy(variable, "it names no host")
    port = url.port or (443 if scheme == "https" else DEFAULT_PROXY_PORT)
    url = url.copy_with(port=port)  # httpx would take 80 for http
    host = f"[{url.host}]" if ":" in url.host else url.host
    shown = f"{scheme}://{'***@' if url.userinfo else ''}{host}:{port}"
    if scheme.startswith("socks") and importlib.util.find_spec("socksio") is None:
        return NetworkError(
            f"{variable} names the SOCKS proxy {shown}, and SOCKS needs the socksio package",
            "pip install 'httpx[socks]', or use an HTTP proxy",
        )
    return Proxy(str(url), shown, variable, bool(url.userinfo))


def _bad_proxy(variable: str, why: str) -> NetworkError:
    # The value is not shown: it may hold a password, and the user can print it.
    return NetworkError(
        f"{variable} is not a proxy URL bpshell can use ({why})",
        f"set {variable} to a URL like http://proxy.example.com:3128, or unset it",
    )


def no_proxy_entries(value: str) -> list[str]:
    """The entries of a ``NO_PROXY`` value: comma- or space-separated, lowercased, IPv6
    brackets and the leading and trailing dots of names dropped."""
    entries = []
    for raw in value.replace(",", " ").split():
        entry = raw.strip().lower()
        if entry.startswith("[") and "]" in entry:  # [::1] or [fd00::]/8
            entry = entry[1:].replace("]", "", 1)
        entry = entry.strip(".") if entry != "*" else entry
        if entry:
            entries.append(entry)
    return entries


def bypasses(host: str, entries: tuple[str, ...]) -> bool:
    """Whether ``NO_PROXY`` entries exempt ``host`` from the proxy, as curl decides: ``*``
    exempts every host; a name exempts itself and its subdomains (``example.com`` and
    ``.example.com`` both match ``api.example.com``); an IP address or CIDR range exempts
    the addresses in it (IP hosts only: names are not resolved)."""
    host = host.lower().strip("[]").rstrip(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for entry in entries:
        if entry == "*":
            return True
        if address is None:
            if host == entry or host.endswith("." + entry):
                return True
            continue
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:  # a name, or a malformed range: it cannot match an address
            continue
    return False


class Trust(NamedTuple):
    """The CA certificates added to the system store by the environment."""

    cert_file: str | None = None
    cert_dir: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Trust:
        """``SSL_CERT_FILE`` and ``SSL_CERT_DIR``; empty counts as unset."""
        return cls(environ.get("SSL_CERT_FILE") or None, environ.get("SSL_CERT_DIR") or None)

    def added(self) -> str:
        """The variables in force, as they would be typed, or ""."""
        parts = [
            f"{name}={value}"
            for name, value in (("SSL_CERT_FILE", self.cert_file), ("SSL_CERT_DIR", self.cert_dir))
            if value
        ]
        return " and ".join(parts)


class TlsContext(NamedTuple):
    """A built context and a phrase saying what it trusts (for -v and error hints)."""

    context: ssl.SSLContext
    trusts: str


@functools.cache
def tls_context(trust: Trust, purpose: str = "origin") -> TlsContext:
    """The TLS context of this process for ``trust`` (``purpose`` "proxy" gets its own,
    because httpcore sets ALPN on the context of each connection it opens).

    Cached: a CA file is parsed whole when loaded (45 ms for a distribution's bundle here),
    and a process makes many connections. On macOS and Windows the system store is the
    platform verifier, through truststore (as pip does). On Linux and the BSDs it is OpenSSL's
    own files, loaded once here: truststore would read the whole bundle again for every
    connection (50-75 ms each, measured; +3.4 s of CPU for the 64 of a 40-profile ``--verify``).
    """
    context, store = _system_context()
    extra = trust.added()
    if extra:
        try:
            context.load_verify_locations(cafile=trust.cert_file, capath=trust.cert_dir)
        except (OSError, ssl.SSLError) as exc:
            raise NetworkError(
                f"cannot use the CA certificates of {extra} ({_load_failure(exc)})",
                "point SSL_CERT_FILE at a PEM file of CA certificates "
                "(SSL_CERT_DIR at a directory of them), or unset it",
            ) from None
    return TlsContext(context, f"{store} and {extra}" if extra else store)


def _load_failure(exc: OSError) -> str:
    if isinstance(exc, ssl.SSLError):  # "[X509: NO_CERTIFICATE_OR_CRL_FOUND] no … (_ssl.c:4154)"
        return re.sub(r"^\[[^]]*\] | \(_ssl\.c:\d+\)$", "", str(exc)) or "not PEM"
    return exc.strerror or str(exc)


def _system_context() -> tuple[ssl.SSLContext, str]:
    if sys.platform in ("darwin", "win32"):
        try:
            import truststore
        except ImportError:
            pass
        else:
            return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT), "the system certificate store"
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # OpenSSL's compiled-in places, not $SSL_CERT_FILE/$SSL_CERT_DIR of the process, which
    # OpenSSL would read itself: the environment bpshell obeys is the one its Env carries.
    paths = ssl.get_default_verify_paths()
    if _holds_certificates(paths.openssl_capath):
        context.load_verify_locations(capath=paths.openssl_capath)  # read lazily, per issuer
        return context, f"the system certificate store ({paths.openssl_capath})"
    for cafile in (paths.openssl_cafile, *CA_FILE_CANDIDATES):
        if os.path.isfile(cafile):
            context.load_verify_locations(cafile=cafile)
            return context, f"the system certificate store ({cafile})"
    import certifi

    context.load_verify_locations(cafile=certifi.where())
    return context, f"certifi's CA bundle ({certifi.where()})"


def _holds_certificates(capath: str) -> bool:
    """Whether ``capath`` is a directory of OpenSSL's hashed certificate names."""
    try:
        names = os.listdir(capath)
    except OSError:
        return False
    return any(len(name) == 10 and name[8] == "." and name[9].isdigit() for name in names)


class Transport(httpx.AsyncBaseTransport):
    """Sends each request straight or through its proxy (see :class:`Proxies`), over one
    connection pool per route, built when first used.

    ``environ`` is read for the proxy and trust variables; ``debug`` gets a line when TLS is
    first set up; ``http2`` offers HTTP/2 to https servers (default :data:`HTTP2`). The route
    of each request is left in ``request.extensions["bpshell_route"]`` for the -v line.
    """

    def __init__(
        self,
        environ: Mapping[str, str],
        debug: Callable[[str], None] | None = None,
        *,
        http2: bool | None = None,
        limits: httpx.Limits | None = None,
    ) -> None:
        self._proxies = Proxies.from_environ(environ)
        self._trust = Trust.from_environ(environ)
        self._debug = debug
        self._http2 = HTTP2 if http2 is None else http2
        # A --verify has up to 64 requests in flight; httpx's 20 idle connections would make
        # later requests open new ones (its pool closes idle ones past that many in all).
        self._limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=64)
        self._pools: dict[tuple[str | None, bool], httpx.AsyncHTTPTransport] = {}
        self._trusts: str | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``; the environment's failures come out as :class:`NetworkError`."""
        route = self._proxies.route(request.url)
        if route.note is not None:
            request.extensions["bpshell_route"] = route.note
        pool = self._pool(route.proxy, request.url.scheme == "https")
        try:
            response = await pool.handle_async_request(request)
        except httpx.HTTPError as exc:
            failure = self._failure(exc, request.url, route.proxy)
            if failure is None:
                raise
            raise failure from None
        if route.proxy is not None and response.status_code == 407:
            # A forward proxy (plain http) says so in an answer; a tunnel's CONNECT would
            # have raised ProxyError above.
            await response.aclose()
            raise _refused(route.proxy, request.url, "407 Proxy Authentication Required")
        return response

    async def aclose(self) -> None:
        """Close every pool."""
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()

    def _pool(self, proxy: Proxy | None, tls: bool) -> httpx.AsyncHTTPTransport:
        key = (proxy.url if proxy else None, tls)
        pool = self._pools.get(key)
        if pool is None:
            # Plain-http pools get a context that trusts nothing: httpx wants one, and the
            # system store would cost its load to a run that never speaks TLS.
            verify = self._context("origin") if tls else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            pool = httpx.AsyncHTTPTransport(
                verify=verify,
                http2=self._http2 and tls,
                limits=self._limits,
                trust_env=False,
                proxy=None if proxy is None else self._httpx_proxy(proxy),
            )
            self._pools[key] = pool
        return pool

    def _httpx_proxy(self, proxy: Proxy) -> httpx.Proxy:
        if proxy.url.startswith("https:"):
            return httpx.Proxy(proxy.url, ssl_context=self._context("proxy"))
        return httpx.Proxy(proxy.url)

    def _context(self, purpose: str) -> ssl.SSLContext:
        built = tls_context(self._trust, purpose)
        if self._trusts is None and self._debug is not None:
            self._debug(f"debug: TLS trusts {built.trusts}")
        self._trusts = built.trusts
        return built.context

    def _failure(
        self, exc: httpx.HTTPError, url: httpx.URL, proxy: Proxy | None
    ) -> NetworkError | None:
        """The NetworkError naming the fix for ``exc``, or None for api.py to translate."""
        chain = _chain(exc)
        bad_cert = next((e for e in chain if isinstance(e, ssl.SSLCertVerificationError)), None)
        if bad_cert is not None:
            return self._untrusted(bad_cert, url, proxy)
        if proxy is None:
            return None
        if isinstance(exc, httpx.ProxyError):
            return _refused(proxy, url, _first_line(exc))
        if any(isinstance(e, ssl.SSLError) for e in chain):
            return None  # TLS with the server through the tunnel: not the proxy's doing
        if isinstance(exc, httpx.ConnectTimeout):
            return ApiTimeoutError(
                f"the proxy {proxy.shown} did not accept a connection in time",
                f"check {proxy.variable}, and that the proxy is up",
            )
        if isinstance(exc, httpx.ConnectError):
            return NetworkError(
                f"cannot reach the proxy {proxy.shown} ({_reason(chain)})",
                f"check {proxy.variable}, and that the proxy is up",
            )
        return None

    def _untrusted(
        self, error: ssl.SSLCertVerificationError, url: httpx.URL, proxy: Proxy | None
    ) -> NetworkError:
        whose = f"the certificate of {url.host}"
        if proxy is not None and proxy.url.startswith("https:"):
            whose = f"the certificate of {url.host} (or of the proxy {proxy.shown})"
        code = error.verify_code
        if code == 10:
            return NetworkError(
                f"{whose} has expired",
                "check the machine's clock; if it is right, the server needs a new certificate",
            )
        if code in (62, 64):  # host name, IP address mismatch
            return NetworkError(
                f"{whose} names another host",
                f"check the API URL; if your network inspects TLS, {CERT_FIX}",
            )
        why = _UNTRUSTED.get(code) or _first_line(error)
        trusts = self._trusts or "the system certificate store"
        return NetworkError(
            f"{whose} is not trusted ({why})",
            f"if your network inspects TLS, {CERT_FIX} (bpshell trusts {trusts})",
        )


def _refused(proxy: Proxy, url: httpx.URL, answer: str) -> NetworkError:
    target = f"{url.host}:{url.port or (443 if url.scheme == 'https' else 80)}"
    status = answer.split(" ", 1)[0]
    if status == "407":
        fix = (
            f"check {proxy.variable}: the proxy did not accept its user and password"
            if proxy.has_credentials
            else f"check {proxy.variable}: the proxy wants a user and password "
            "(http://user:password@host:port)"
        )
    elif status == "403":
        fix = f"check {proxy.variable}, or add {url.host} to NO_PROXY if it is reached directly"
    else:
        fix = f"check {proxy.variable}"
    verb = "could not open" if status.startswith("5") else "refused"
    return NetworkError(f"the proxy {proxy.shown} {verb} the tunnel to {target} ({answer})", fix)


def _chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and cause not in chain and len(chain) < 10:
        chain.append(cause)  # httpcore and anyio chain implicitly: follow __context__ too
        cause = cause.__cause__ or cause.__context__
    return chain


def _reason(chain: list[BaseException]) -> str:
    if any(isinstance(item, ConnectionRefusedError) for item in chain):
        return "connection refused"
    if any(isinstance(item, socket.gaierror) for item in chain):
        return "unknown host"
    return _first_line(chain[-1])


def _first_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:120]

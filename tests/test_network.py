"""Corporate networks: proxies from the environment (curl's rules) and TLS trust.

The sandbox is served over HTTPS by a TLS front with a private CA made here (``trustme``), and
a real forward proxy on loopback (``tests/tls_proxy.py``) logs every byte it is sent.
"""

from __future__ import annotations

import re
import shutil
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
import trustme

from bpshell import network
from bpshell.errors import ApiTimeoutError, NetworkError
from bpshell.network import Proxies, Transport, bypasses, no_proxy_entries
from bpshell.render import error_line
from bpshell.sandbox import ALICE_TOKEN, BOB_TOKEN, Sandbox
from tests.conftest import Bp, Outcome, closed_port_url, in_ci, seed
from tests.tls_proxy import ForwardProxy, TlsFront

LOGGED_IN = "Logged in to workspace acme (ws_acme) as alice@example.com"
NO_TRUST_ENV = {"SSL_CERT_FILE": "", "SSL_CERT_DIR": ""}


def says(message: str, hint: str | None = None) -> str:
    """What ``bp`` prints on stderr for a NetworkError."""
    return error_line(NetworkError(message, hint)) + "\n"


def says_any(message: str, hint: str, placeholder: str = "any-reason") -> str:
    """A regular expression of :func:`says` where ``placeholder`` stands for any text."""
    return re.escape(says(message, hint)).replace(re.escape(placeholder), ".+")


# --- which proxy a URL gets ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "url", "expected"),
    [
        ({}, "https://api.botpress.cloud", None),
        ({"HTTPS_PROXY": "http://p:3128"}, "https://api.botpress.cloud", "http://p:3128"),
        ({"https_proxy": "http://p:3128"}, "https://api.botpress.cloud", "http://p:3128"),
        (
            {"https_proxy": "http://lower:1", "HTTPS_PROXY": "http://upper:2"},
            "https://api.botpress.cloud",
            "http://lower:1",
        ),
        ({"https_proxy": "", "HTTPS_PROXY": "http://u:2"}, "https://a.test", "http://u:2"),
        ({"HTTPS_PROXY": "http://p:3128"}, "http://api.test", None),
        ({"http_proxy": "http://p:3128"}, "https://api.test", None),
        ({"HTTP_PROXY": "http://p:3128"}, "http://api.test", "http://p:3128"),
        (
            {"http_proxy": "http://lower:1", "HTTP_PROXY": "http://upper:2"},
            "http://api.test",
            "http://lower:1",
        ),
        ({"ALL_PROXY": "http://all:1"}, "https://api.test", "http://all:1"),
        ({"all_proxy": "http://all:1"}, "http://api.test", "http://all:1"),
        (
            {"ALL_PROXY": "http://all:1", "HTTPS_PROXY": "http://s:2"},
            "https://a.test",
            "http://s:2",
        ),
        ({"HTTPS_PROXY": "p.corp:3128"}, "https://api.test", "http://p.corp:3128"),
        ({"HTTPS_PROXY": "http://p.corp"}, "https://api.test", "http://p.corp:1080"),
        ({"HTTPS_PROXY": "https://p.corp"}, "https://api.test", "https://p.corp:443"),
        ({"HTTPS_PROXY": "http://[::1]:8080"}, "https://api.test", "http://[::1]:8080"),
        ({"HTTPS_PROXY": "http://u:pw@p:3128"}, "https://api.test", "http://***@p:3128"),
        ({"HTTPS_PROXY": "http://p:3128", "NO_PROXY": "*"}, "https://api.test", None),
        ({"HTTPS_PROXY": "http://p:3128", "no_proxy": "api.test"}, "https://api.test", None),
        (
            {"HTTPS_PROXY": "http://p:3128", "no_proxy": "other.test", "NO_PROXY": "api.test"},
            "https://api.test",
            "http://p:3128",
        ),
    ],
)
def test_the_proxy_of_a_url(environ: dict[str, str], url: str, expected: str | None) -> None:
    route = Proxies.from_environ(environ).route(httpx.URL(url))
    assert (route.proxy.shown if route.proxy else None) == expected


def test_the_route_says_which_variable_and_never_the_password() -> None:
    proxies = Proxies.from_environ(
        {"HTTPS_PROXY": "http://user:s3cret@proxy:3128", "NO_PROXY": "127.0.0.0/8"}
    )
    route = proxies.route(httpx.URL("https://api.botpress.cloud/v1"))
    assert route.note == "via proxy http://***@proxy:3128 (HTTPS_PROXY)"
    assert route.proxy is not None and route.proxy.url == "http://user:s3cret@proxy:3128"
    direct = proxies.route(httpx.URL("https://127.0.0.1:8443"))
    assert (direct.proxy, direct.note) == (None, "direct (NO_PROXY matches 127.0.0.1)")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("ftp://user:s3cret@p:21", "HTTPS_PROXY is not a proxy URL bpshell can use "
         "(bpshell does not speak 'ftp' to proxies)"),
        ("http://user:s3cret@p:port", "HTTPS_PROXY is not a proxy URL bpshell can use "
         "(it does not parse: Invalid port: 'port')"),
        ("http://user:s3cret@", "HTTPS_PROXY is not a proxy URL bpshell can use "
         "(it names no host)"),
        ("http://user:s3cret\x7f@p:3128", "HTTPS_PROXY is not a proxy URL bpshell can use "
         "(it does not parse: Invalid non-printable ASCII character in URL, '\\x7f' at "
         "position 18.)"),
        ("socks5://user:s3cret@p:1080", "HTTPS_PROXY names the SOCKS proxy "
         "socks5://***@p:1080, and SOCKS needs the socksio package"),
    ],
)  # fmt: skip
def test_a_bad_proxy_variable_fails_the_requests_that_would_use_it(
    value: str, message: str
) -> None:
    proxies = Proxies.from_environ({"HTTPS_PROXY": value})
    assert proxies.route(httpx.URL("http://api.test")).proxy is None
    with pytest.raises(NetworkError) as caught:
        proxies.route(httpx.URL("https://api.test"))
    assert caught.value.message == message
    assert "s3cret" not in f"{caught.value.message} {caught.value.hint}"


@pytest.mark.parametrize(
    ("no_proxy", "host", "bypassed"),
    [
        ("example.com", "example.com", True),
        ("example.com", "api.example.com", True),
        ("example.com", "a.b.example.com", True),
        ("example.com", "notexample.com", False),
        ("example.com", "example.com.evil.test", False),
        (".example.com", "example.com", True),
        (".example.com", "api.example.com", True),
        ("EXAMPLE.com.", "Api.Example.COM", True),
        ("example.com", "api.example.com.", True),
        ("other.test, example.com", "api.example.com", True),
        ("other.test example.com", "api.example.com", True),
        ("other.test", "api.example.com", False),
        ("*", "anything.test", True),
        ("*", "192.0.2.7", True),
        ("", "api.example.com", False),
        ("127.0.0.1", "127.0.0.1", True),
        ("127.0.0.1", "127.0.0.2", False),
        ("127.0.0.0/8", "127.0.0.1", True),
        ("127.0.0.0/8", "127.255.0.9", True),
        ("127.0.0.0/8", "128.0.0.1", False),
        ("192.0.2.0/24", "192.0.2.200", True),
        ("192.0.2.0/24", "192.0.3.1", False),
        ("192.0.2.1/24", "192.0.2.200", True),
        ("127.0.0.0/8", "localhost", False),
        ("localhost", "127.0.0.1", False),
        ("::1", "::1", True),
        ("[::1]", "[::1]", True),
        ("fd00::/8", "fd12::1", True),
        ("fd00::/8", "fe80::1", False),
        ("127.0.0.0/33", "127.0.0.1", False),
        ("127.0.0.0/8", "api.example.com", False),
    ],
)
def test_no_proxy_like_curl(no_proxy: str, host: str, bypassed: bool) -> None:
    assert bypasses(host, tuple(no_proxy_entries(no_proxy))) is bypassed


# --- TLS trust and its cost ------------------------------------------------------------------


def test_the_tls_context_is_built_once_per_process(tmp_path: Path, ca: trustme.CA) -> None:
    trust = network.Trust(str(ca_file(tmp_path, ca)))
    first = network.tls_context(trust)
    assert network.tls_context(network.Trust(trust.cert_file)) is first
    assert network.tls_context(trust, "proxy") is not first
    assert first.trusts.startswith("the system certificate store (")
    assert first.trusts.endswith(f" and SSL_CERT_FILE={trust.cert_file}")


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_macos_and_windows_trust_through_truststore(
    platform: str, tls: TlsFront, tmp_path: Path, ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    """truststore asks the platform's verifier there; on Linux it runs OpenSSL, as here."""
    import truststore

    monkeypatch.setattr(network.sys, "platform", platform)
    built = network.tls_context.__wrapped__(network.Trust(str(ca_file(tmp_path, ca))))
    assert isinstance(built.context, truststore.SSLContext)
    assert built.trusts == f"the system certificate store and SSL_CERT_FILE={tmp_path}/test-ca.pem"

    async def main() -> int:
        transport = httpx.AsyncHTTPTransport(verify=built.context)
        async with httpx.AsyncClient(transport=transport) as http:
            return (await http.get(tls.url + "/v1/admin/account/me")).status_code

    assert anyio.run(main) == 401


def test_plain_http_never_builds_a_tls_context(
    bp: Bp, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("a TLS context was built for plain http")

    monkeypatch.setattr(network, "tls_context", refuse)
    # httpx's own default would load certifi's bundle (50-90 ms) on every run, http or not.
    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", refuse)
    result = bp("login", "--token", "-", "--apiUrl", sandbox.url, "--workspaceId", "ws_acme",
                "-y", stdin=ALICE_TOKEN)  # fmt: skip
    assert logged_in(result) and result.err == ""


def test_an_http_run_imports_no_truststore(tmp_path: Path, sandbox: Sandbox) -> None:
    """The start-up path stays light: truststore is for https (and macOS/Windows) only."""
    script = (
        "import sys, anyio, httpx\n"
        "from bpshell.network import Transport\n"
        "async def main():\n"
        "    async with httpx.AsyncClient(transport=Transport({})) as http:\n"
        f"        await http.get('{sandbox.url}/v1/admin/account/me')\n"
        "anyio.run(main)\n"
        "print(sorted(m for m in sys.modules if m.startswith('truststore')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout == "[]\n"


def test_a_bad_ssl_cert_file_is_named(bp: Bp, tls: TlsFront, tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n")
    result = login(bp, tls.url, {"SSL_CERT_FILE": str(bad)})
    assert (result.code, result.out) == (1, "")
    pattern = says_any(
        f"cannot use the CA certificates of SSL_CERT_FILE={bad} (any-reason)",
        "point SSL_CERT_FILE at a PEM file of CA certificates (SSL_CERT_DIR at a directory "
        "of them), or unset it",
    )
    assert re.fullmatch(pattern, result.err), result.err
    missing = login(bp, tls.url, {"SSL_CERT_FILE": str(tmp_path / "nowhere.pem")})
    assert missing.err.startswith(
        says(f"cannot use the CA certificates of SSL_CERT_FILE={tmp_path / 'nowhere.pem'} "
             "(No such file or directory)", "x")[:-len("X\n")]
    )  # fmt: skip


# --- over loopback: HTTPS sandbox, real proxy -----------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def ca_file(folder: Path, ca: trustme.CA) -> Path:
    path = folder / "test-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture(scope="module")
def tls_server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost", "api.botpress.test").configure_cert(context)
    return context


@pytest.fixture
def tls(sandbox: Sandbox, tls_server_context: ssl.SSLContext) -> Iterator[TlsFront]:
    with TlsFront(sandbox.port, tls_server_context) as front:
        yield front


@pytest.fixture
def trusted(tmp_path: Path, ca: trustme.CA) -> dict[str, str]:
    """The environment of a machine told to trust the test CA."""
    return {**NO_TRUST_ENV, "SSL_CERT_FILE": str(ca_file(tmp_path, ca))}


def logged_in(result: Outcome) -> bool:
    return result.code == 0 and result.out.startswith(LOGGED_IN) and result.out.count("\n") == 1


def login(bp: Bp, url: str, environ: dict[str, str], *extra: str) -> Outcome:
    words = ("login", "--token", "-", "--apiUrl", url, "--workspaceId", "ws_acme", "-y", *extra)
    return bp(*words, stdin=ALICE_TOKEN, env={**NO_TRUST_ENV, **environ})


def tunnels_only(proxy: ForwardProxy, port: int) -> None:
    """The proxy was asked for tunnels to ``port`` and nothing else, and never saw a token."""
    assert proxy.request_lines
    assert set(proxy.request_lines) == {f"CONNECT 127.0.0.1:{port} HTTP/1.1"}
    assert ALICE_TOKEN.encode() not in proxy.seen and BOB_TOKEN.encode() not in proxy.seen
    assert b"authorization" not in bytes(proxy.seen).lower().replace(b"proxy-authorization", b"")


def test_login_through_a_proxy_sees_only_connect(
    bp: Bp, tls: TlsFront, trusted: dict[str, str]
) -> None:
    with ForwardProxy() as proxy:
        result = login(bp, tls.url, {**trusted, "HTTPS_PROXY": proxy.url}, "-v")
    assert logged_in(result)
    tunnels_only(proxy, tls.port)
    assert "(HTTPS_PROXY)" in result.err
    assert (
        f"debug: GET {tls.url}/v1/admin/account/me (authorization: Bearer [redacted]) "
        f"via proxy {proxy.url} (HTTPS_PROXY) -> 200 in "
    ) in result.err
    assert "debug: TLS trusts the system certificate store (" in result.err
    assert f" and SSL_CERT_FILE={trusted['SSL_CERT_FILE']}\n" in result.err
    assert ALICE_TOKEN not in result.err


def test_verify_40_profiles_through_a_proxy(
    bp: Bp, sandbox: Sandbox, tls: TlsFront, trusted: dict[str, str]
) -> None:
    profiles = {
        f"p{n:02}": {"apiUrl": tls.url, "workspaceId": "ws_acme", "token": ALICE_TOKEN}
        for n in range(40)
    }
    seed(bp, {"version": 1, "activeProfile": "p00", "profiles": profiles})
    with ForwardProxy() as proxy:
        result = bp(
            "profiles", "list", "--verify", "--json", env={**trusted, "https_proxy": proxy.url}
        )
    assert (result.code, result.err) == (0, "")
    assert [row["authenticated"] for row in result.json()] == [True] * 40
    tunnels_only(proxy, tls.port)
    # One tunnel per connection, one request (the workspace) per profile.
    assert len(proxy.request_lines) == tls.connections <= sandbox.stats.total == 40


def test_proxy_credentials_are_sent_and_never_shown(
    bp: Bp, tls: TlsFront, trusted: dict[str, str]
) -> None:
    with ForwardProxy(credentials="corp-user:pr0xy-s3cret") as proxy:
        url = proxy.url.replace("http://", "http://corp-user:pr0xy-s3cret@")
        result = login(bp, tls.url, {**trusted, "HTTPS_PROXY": url}, "-v")
    assert logged_in(result)
    tunnels_only(proxy, tls.port)
    assert "pr0xy-s3cret" not in result.err and "corp-user" not in result.err
    masked = proxy.url.replace("http://", "http://***@")
    assert f"via proxy {masked} (HTTPS_PROXY) -> 200" in result.err


def test_a_proxy_that_wants_credentials(bp: Bp, tls: TlsFront, trusted: dict[str, str]) -> None:
    with ForwardProxy(credentials="corp-user:pr0xy-s3cret") as proxy:
        result = login(bp, tls.url, {**trusted, "HTTPS_PROXY": proxy.url})
        wrong = login(
            bp, tls.url, {**trusted, "HTTPS_PROXY": proxy.url.replace("//", "//corp-user:no@")}
        )
    assert (result.code, result.out) == (1, "")
    assert result.err == says(
        f"the proxy {proxy.url} refused the tunnel to 127.0.0.1:{tls.port} "
        "(407 Proxy Authentication Required)",
        "check HTTPS_PROXY: the proxy wants a user and password (http://user:password@host:port)",
    )
    assert wrong.err == says(
        f"the proxy {proxy.url.replace('//', '//***@')} refused the tunnel to "
        f"127.0.0.1:{tls.port} (407 Proxy Authentication Required)",
        "check HTTPS_PROXY: the proxy did not accept its user and password",
    )
    assert "pr0xy-s3cret" not in wrong.err
    assert not bp.config_path.exists()


def test_a_proxy_that_refuses_the_tunnel(bp: Bp, tls: TlsFront, trusted: dict[str, str]) -> None:
    with ForwardProxy(refuse=True) as proxy:
        result = login(bp, tls.url, {**trusted, "https_proxy": proxy.url})
    assert (result.code, result.out) == (1, "")
    assert result.err == says(
        f"the proxy {proxy.url} refused the tunnel to 127.0.0.1:{tls.port} (403 Forbidden)",
        "check https_proxy, or add 127.0.0.1 to NO_PROXY if it is reached directly",
    )


def test_a_proxy_that_is_not_there(bp: Bp, tls: TlsFront, trusted: dict[str, str]) -> None:
    gone = closed_port_url()
    result = login(bp, tls.url, {**trusted, "ALL_PROXY": gone})
    assert (result.code, result.out) == (1, "")
    assert result.err == says(
        f"cannot reach the proxy {gone} (connection refused)",
        "check ALL_PROXY, and that the proxy is up",
    )


@pytest.mark.parametrize(
    "no_proxy", ["127.0.0.0/8", "*", "127.0.0.1", "other.test,127.0.0.1", "[::1] 127.0.0.1/32"]
)
def test_no_proxy_bypasses_the_proxy(
    bp: Bp, tls: TlsFront, trusted: dict[str, str], no_proxy: str
) -> None:
    with ForwardProxy() as proxy:
        result = login(
            bp, tls.url, {**trusted, "HTTPS_PROXY": proxy.url, "NO_PROXY": no_proxy}, "-v"
        )
    assert logged_in(result)
    assert proxy.heads == [] and proxy.seen == b""
    assert "direct (NO_PROXY matches 127.0.0.1) -> 200" in result.err


def test_no_proxy_by_name(bp: Bp, sandbox: Sandbox) -> None:
    url = sandbox.url.replace("127.0.0.1", "localhost")
    with ForwardProxy() as proxy:
        result = login(bp, url, {"http_proxy": proxy.url, "no_proxy": ".localhost"})
    assert logged_in(result)
    assert proxy.heads == []


def test_plain_http_through_a_forward_proxy(bp: Bp, sandbox: Sandbox) -> None:
    """http:// has no tunnel: the proxy forwards (and, being plain http, sees the request)."""
    with ForwardProxy() as proxy:
        result = login(bp, sandbox.url, {"HTTP_PROXY": proxy.url}, "-v")
    assert logged_in(result)
    assert f"GET {sandbox.url}/v1/admin/account/me HTTP/1.1" in proxy.request_lines
    assert f"via proxy {proxy.url} (HTTP_PROXY) -> 200" in result.err


def test_a_forward_proxy_that_wants_credentials(bp: Bp, sandbox: Sandbox) -> None:
    with ForwardProxy(credentials="u:p") as proxy:
        result = login(bp, sandbox.url, {"http_proxy": proxy.url})
    assert result.err == says(
        f"the proxy {proxy.url} refused the tunnel to 127.0.0.1:{sandbox.port} "
        "(407 Proxy Authentication Required)",
        "check http_proxy: the proxy wants a user and password (http://user:password@host:port)",
    )


def test_an_unknown_ca_says_how_to_trust_it(bp: Bp, tls: TlsFront) -> None:
    result = login(bp, tls.url, {})
    assert (result.code, result.out) == (1, "")
    store = network.tls_context(network.Trust()).trusts
    assert result.err == says(
        "the certificate of 127.0.0.1 is not trusted (signed by an unknown CA)",
        "if your network inspects TLS, install its CA in the system store or set "
        f"SSL_CERT_FILE=/path/to/ca.pem (bpshell trusts {store})",
    )
    assert not bp.config_path.exists()


def test_an_unknown_ca_through_a_proxy(bp: Bp, tls: TlsFront) -> None:
    """A TLS-inspecting proxy looks like this: the tunnel opens, the certificate fails."""
    with ForwardProxy() as proxy:
        result = login(bp, tls.url, {"HTTPS_PROXY": proxy.url})
    store = network.tls_context(network.Trust()).trusts
    assert result.err == says(
        "the certificate of 127.0.0.1 is not trusted (signed by an unknown CA)",
        "if your network inspects TLS, install its CA in the system store or set "
        f"SSL_CERT_FILE=/path/to/ca.pem (bpshell trusts {store})",
    )
    tunnels_only(proxy, tls.port)


def test_a_name_only_the_proxy_resolves(bp: Bp, tls: TlsFront, trusted: dict[str, str]) -> None:
    """Behind a corporate proxy the machine may resolve no outside name: the proxy does."""
    with ForwardProxy(hosts={"api.botpress.test": tls.port}) as proxy:
        result = login(bp, "https://api.botpress.test", {**trusted, "HTTPS_PROXY": proxy.url})
    assert logged_in(result)
    assert set(proxy.request_lines) == {"CONNECT api.botpress.test:443 HTTP/1.1"}
    assert ALICE_TOKEN.encode() not in proxy.seen


def test_a_certificate_for_another_name(bp: Bp, sandbox: Sandbox, ca: trustme.CA,
                                        trusted: dict[str, str]) -> None:  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("elsewhere.test").configure_cert(context)
    with TlsFront(sandbox.port, context) as front:
        result = login(bp, front.url, trusted)
    assert result.err == says(
        "the certificate of 127.0.0.1 names another host",
        "check the API URL; if your network inspects TLS, install its CA in the system "
        "store or set SSL_CERT_FILE=/path/to/ca.pem",
    )


def test_ssl_cert_dir(bp: Bp, tls: TlsFront, tmp_path: Path, ca: trustme.CA) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        message = "needs the openssl command to name a hashed CA directory"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    folder = tmp_path / "certs"
    folder.mkdir()
    pem = ca_file(tmp_path, ca)
    name = subprocess.run(
        [openssl, "x509", "-hash", "-noout", "-in", str(pem)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    shutil.copy(pem, folder / f"{name}.0")
    result = login(bp, tls.url, {"SSL_CERT_DIR": str(folder)})
    assert logged_in(result) and result.err == ""


def test_the_process_ssl_cert_file_is_not_what_bpshell_obeys(
    bp: Bp, tls: TlsFront, tmp_path: Path, ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OpenSSL would read $SSL_CERT_FILE of the process itself; bpshell reads its Env's."""
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file(tmp_path, ca)))
    assert login(bp, tls.url, {}).code == 1


# --- the transport alone ---------------------------------------------------------------------


def test_pools_are_made_per_route_reused_and_closed(
    sandbox: Sandbox, tls: TlsFront, trusted: dict[str, str]
) -> None:
    transport = Transport(trusted)

    async def main() -> list[int]:
        async with httpx.AsyncClient(transport=transport) as http:
            return [
                (await http.get(url + "/v1/admin/account/me")).status_code
                for url in (sandbox.url, tls.url, sandbox.url, tls.url)
            ]

    assert anyio.run(main) == [401] * 4
    assert tls.connections == 1
    assert transport._pools == {}


def test_a_proxy_that_does_not_answer_in_time() -> None:
    transport = Transport({"HTTPS_PROXY": "http://proxy.test:3128"})
    proxy = transport._proxies.https
    assert isinstance(proxy, network.Proxy)
    failure = transport._failure(httpx.ConnectTimeout("timed out"), httpx.URL("https://a"), proxy)
    assert isinstance(failure, ApiTimeoutError)
    assert failure.message == "the proxy http://proxy.test:3128 did not accept a connection in time"

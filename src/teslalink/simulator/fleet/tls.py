"""Tesla's real host names on loopback: a throwaway CA, HTTPS listeners and an HTTP CONNECT proxy.

Why: Tesla's Go tools (`tesla-control`, `tesla-http-proxy`) take their API host from the token's
claims (`aud`, `ou_code`), always speak ``https://`` and offer no flag for another server
(research/fleet.md section 4). What they do honour is Go's standard environment: ``HTTPS_PROXY``
(an HTTP proxy that CONNECTs) and ``SSL_CERT_FILE`` (the trusted roots). So, unchanged, they reach
the twin like this::

    tesla-control --CONNECT fleet-api.prd.na.vn.cloud.tesla.com:443--> proxy (127.0.0.1)
        --tunnel--> the HTTPS listener for that name (TLS with the twin CA's certificate)
        --plain bytes--> the twin's na regional app (http://127.0.0.1:<port>/)

    async with serve_tls_access(fleet_upstreams(urls), directory) as access:
        env = {**access.environ(), ...}         # HTTPS_PROXY, SSL_CERT_FILE
        access.https["fleet-api.prd.na.vn.cloud.tesla.com"]   # that name's HTTPS port

Each upstream name gets its own HTTPS listener (all share one certificate naming them all), so a
client may also use a listener directly (``curl --connect-to``). The listeners terminate TLS and
relay the bytes unchanged: the twin's apps see the same HTTP requests, Host header included.

The proxy tunnels only ``CONNECT <name>:443`` for the names it serves and refuses everything else
(403 for another host or port, 405 for any other method), so a client behind it can never reach
the internet. Everything binds to loopback.

Needs the `fleet` extra (cryptography); nothing imports this module unless asked to.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ssl
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..._files import atomic_write_bytes
from .._sockets import bind_listener
from ..surface import url_host
from .regions import AUTH_HOST, FLEET_BASE_URLS, FLEET_REGIONS
from .serve import FleetUrls

__all__ = [
    "CERTIFICATE_LIFETIME",
    "TESLA_FLEET_NAMES",
    "TlsAccess",
    "TwinCertificates",
    "fleet_upstreams",
    "issue_certificates",
    "serve_tls_access",
]

TESLA_FLEET_NAMES: Final = (*(urlsplit(FLEET_BASE_URLS[r]).netloc for r in FLEET_REGIONS), AUTH_HOST)
"""The real names the twin answers for over TLS: the three regional hosts and fleet-auth."""
TLS_PORT: Final = 443
CERTIFICATE_LIFETIME: Final = datetime.timedelta(days=2)
CLOCK_SLACK: Final = datetime.timedelta(hours=1)
HEAD_LIMIT: Final = 8192
"""The largest CONNECT request head the proxy reads (a real one is ~100 bytes)."""
HEAD_TIMEOUT_S: Final = 10.0
UPSTREAM_TIMEOUT_S: Final = 10.0
RELAY_CHUNK: Final = 65536
STOP_TIMEOUT_S: Final = 2.0
"""How long a stopping listener waits for its connections to end after closing them."""


# --- certificates ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TwinCertificates:
    """A throwaway CA and one server certificate (with its key) for every name in `names`."""

    names: tuple[str, ...]
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes = field(repr=False)

    def write(self, directory: Path) -> tuple[Path, Path, Path]:
        """The CA, certificate and key as files in `directory` (the key 0600); their paths."""
        directory.mkdir(parents=True, exist_ok=True)
        ca_file, cert_file, key_file = (
            directory / n for n in ("twin-ca.pem", "server.pem", "server-key.pem")
        )
        ca_file.write_bytes(self.ca_pem)
        cert_file.write_bytes(self.cert_pem)
        atomic_write_bytes(key_file, self.key_pem)  # 0600 from the start, whatever was there
        return ca_file, cert_file, key_file


def issue_certificates(names: Iterable[str], *, now: datetime.datetime | None = None) -> TwinCertificates:
    """A fresh P-256 CA and a server certificate it signs for `names`.

    Our choice: validity is judged by the client against its own wall clock, not the world's, so
    the certificates run from an hour before the real `now` for `CERTIFICATE_LIFETIME`.
    """
    chosen = tuple(dict.fromkeys(name.lower() for name in names))
    if not chosen:
        raise ValueError("a server certificate needs at least one name")
    start = (now or datetime.datetime.now(datetime.UTC)) - CLOCK_SLACK
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "teslalink twin CA (throwaway)")])
    ca = (
        _builder(ca_name, ca_name, ca_key.public_key(), start)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = (
        _builder(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, chosen[0])]),
            ca_name,
            server_key.public_key(),
            start,
        )
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in chosen]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return TwinCertificates(
        names=chosen,
        ca_pem=ca.public_bytes(serialization.Encoding.PEM),
        cert_pem=server.public_bytes(serialization.Encoding.PEM),
        key_pem=server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )


def _builder(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePublicKey, start: datetime.datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + CERTIFICATE_LIFETIME)
    )


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def server_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """The listeners' TLS: HTTP/1.1 only (the relay passes bytes; the twin's apps speak 1.1)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    context.set_alpn_protocols(["http/1.1"])
    return context


# --- relaying --------------------------------------------------------------------------------


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy `reader` into `writer` until EOF, then half-close `writer` (TLS: close it)."""
    try:
        while chunk := await reader.read(RELAY_CHUNK):
            writer.write(chunk)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
        else:
            writer.close()
    except (ConnectionError, OSError, ssl.SSLError):
        writer.close()


async def _relay(
    a: tuple[asyncio.StreamReader, asyncio.StreamWriter], b: tuple[asyncio.StreamReader, asyncio.StreamWriter]
) -> None:
    """Both directions until both have ended; both connections closed after."""
    try:
        await asyncio.gather(_pump(a[0], b[1]), _pump(b[0], a[1]))
    finally:
        for writer in (a[1], b[1]):
            writer.close()


class _Listener:
    """One asyncio server on loopback that ends its connections too when it stops."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    async def start(self, host: str, context: ssl.SSLContext | None = None, limit: int = RELAY_CHUNK) -> int:
        """Listen on an ephemeral port of `host` (TLS with `context`); the port."""
        sock = bind_listener(host, 0)
        self._server = await asyncio.start_server(self._tracked, sock=sock, ssl=context, limit=limit)
        port: int = sock.getsockname()[1]
        return port

    async def _tracked(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        try:
            await self.serve(reader, writer)
        except (ConnectionError, OSError, ssl.SSLError, asyncio.IncompleteReadError):
            pass  # a client that went away mid-way (or a timeout, an OSError): nothing to answer
        finally:
            self._connections.pop(task, None)
            writer.close()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        """Stop listening and end the live connections (Python 3.11's wait_closed waits for neither)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        tasks = list(self._connections)
        for writer in self._connections.values():
            writer.close()
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_TIMEOUT_S)
        for task in tasks:
            task.cancel()  # any still running after the wait (a stuck TLS write, say)
        await server.wait_closed()


class _HttpsFront(_Listener):
    """TLS for one name, relayed as plain bytes to the twin's app at `upstream` (host, port)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        super().__init__()
        self.upstream = upstream

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async with asyncio.timeout(UPSTREAM_TIMEOUT_S):
            upstream = await asyncio.open_connection(*self.upstream)
        await _relay((reader, writer), upstream)


class _ConnectProxy(_Listener):
    """``CONNECT name:443`` to that name's HTTPS listener; every other request refused."""

    def __init__(self, host: str, fronts: Mapping[str, int], tunnels: Counter[str]) -> None:
        super().__init__()
        self.host = host
        self.fronts = dict(fronts)
        self.tunnels = tunnels

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        front = await self._tunnel_port(reader, writer)
        if front is None:
            return
        async with asyncio.timeout(UPSTREAM_TIMEOUT_S):
            upstream = await asyncio.open_connection(self.host, front)
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await _relay((reader, writer), upstream)

    async def _tunnel_port(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> int | None:
        """The HTTPS listener the request's CONNECT asks for; None once a refusal is answered."""
        async with asyncio.timeout(HEAD_TIMEOUT_S):
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.LimitOverrunError:
                await _refuse(writer, 431, "Request Header Fields Too Large", "request head too large")
                return None
        method, _, rest = head.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")
        if method != "CONNECT":
            await _refuse(writer, 405, "Method Not Allowed", "this proxy only tunnels (CONNECT)")
            return None
        name, _, port = rest.partition(" ")[0].rpartition(":")
        front = self.fronts.get(name.lower()) if port == str(TLS_PORT) else None
        if front is None:
            allowed = ", ".join(sorted(self.fronts))
            await _refuse(writer, 403, "Forbidden", f"the twin's proxy tunnels only {allowed} on 443")
        else:
            self.tunnels[name.lower()] += 1
        return front


async def _refuse(writer: asyncio.StreamWriter, status: int, phrase: str, why: str) -> None:
    body = (why + "\n").encode()
    writer.write(
        f"HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n".encode()
        + body
    )
    await writer.drain()


# --- the whole thing -------------------------------------------------------------------------


@dataclass(frozen=True)
class TlsAccess:
    """The running proxy and listeners: what a client is given to reach the twin by real names."""

    proxy_url: str
    """``http://127.0.0.1:<port>``: the CONNECT proxy (for ``HTTPS_PROXY``)."""
    ca_file: Path
    """The twin CA's PEM (for ``SSL_CERT_FILE``)."""
    https: dict[str, int]
    """Each real name's HTTPS listener port on loopback."""
    tunnels: Counter[str] = field(default_factory=Counter, compare=False)
    """How many tunnels the proxy opened to each name so far: which hosts a client chose."""

    def environ(self) -> dict[str, str]:
        """The environment a Go (or curl, or Python) client needs: the proxy and the trusted root."""
        return {"HTTPS_PROXY": self.proxy_url, "SSL_CERT_FILE": str(self.ca_file)}


def fleet_upstreams(urls: FleetUrls) -> dict[str, str]:
    """Each real Fleet name -> the twin's loopback URL serving it (the three regions and fleet-auth)."""
    upstreams = {urlsplit(FLEET_BASE_URLS[region]).netloc: urls.api[region] for region in FLEET_REGIONS}
    upstreams[AUTH_HOST] = urls.auth
    return upstreams


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname is None or parts.port is None:
        raise ValueError(f"an upstream is a plain http://host:port/ URL, not {url!r}")
    return parts.hostname, parts.port


@contextlib.asynccontextmanager
async def serve_tls_access(
    upstreams: Mapping[str, str], directory: Path, host: str = "127.0.0.1"
) -> AsyncIterator[TlsAccess]:
    """Certificates for the names of `upstreams` (written to `directory`), their HTTPS listeners
    and the CONNECT proxy, all on `host`, for the duration of the block."""
    addresses = {name.lower(): _address(url) for name, url in upstreams.items()}
    certificates = issue_certificates(addresses)
    ca_file, cert_file, key_file = certificates.write(directory)
    context = server_context(cert_file, key_file)
    listeners: list[_Listener] = []
    try:
        fronts: dict[str, int] = {}
        for name, address in addresses.items():
            front = _HttpsFront(address)
            listeners.append(front)
            fronts[name] = await front.start(host, context)
        tunnels: Counter[str] = Counter()
        proxy = _ConnectProxy(host, fronts, tunnels)
        listeners.append(proxy)
        proxy_port = await proxy.start(host, limit=HEAD_LIMIT)
        yield TlsAccess(f"http://{url_host(host)}:{proxy_port}", ca_file, fronts, tunnels)
    finally:
        await asyncio.gather(*(listener.stop() for listener in listeners))

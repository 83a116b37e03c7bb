"""https, the default: certificate and hostname checks still hold while connections are pinned to checked IPs."""

from __future__ import annotations

import datetime
import json
import socket
import ssl
from pathlib import Path

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from maidcore.errors import InvalidArgument, RpcFailure
from maidcore.proxy import HttpProxy, StaticResolver
from maidcore.scope import Scope
from maidcore.settings import ProxySettings

SCOPE = Scope("900", "weather")
NAMES = {"api.example.com": ["127.0.0.1"], "wrong.example.com": ["127.0.0.1"]}


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_pki(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for api.example.com signed by it."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("maidcore test CA"))
        .issuer_name(_name("maidcore test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("api.example.com"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("api.example.com")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_file, cert_file, key_file


@pytest.fixture
async def tls_upstream(tmp_path):
    ca_file, cert_file, key_file = make_pki(tmp_path)

    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"host": request.host, "secure": request.secure})

    app = web.Application()
    app.router.add_get("/echo", echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock, ssl_context=context).start()
    yield sock.getsockname()[1], ca_file
    await runner.cleanup()


async def make(ca_file: Path | None) -> HttpProxy:
    settings = ProxySettings(allowed_private_networks=["127.0.0.1/32"], extra_ca_file=str(ca_file) if ca_file else None)
    proxy = HttpProxy(settings, resolver=StaticResolver(NAMES))
    await proxy.start()
    return proxy


async def test_https_to_a_pinned_address_verifies_the_certificate_for_the_hostname(tls_upstream):
    port, ca_file = tls_upstream
    proxy = await make(ca_file)
    try:
        result = await proxy.request(
            SCOPE,
            allowed_domains=frozenset({"api.example.com"}),
            method="GET",
            url=f"https://api.example.com:{port}/echo",
            headers=None,
            body=None,
        )
    finally:
        await proxy.close()
    assert result["status"] == 200
    assert json.loads(result["body_bytes"]) == {"host": f"api.example.com:{port}", "secure": True}


async def test_a_certificate_for_another_name_is_refused(tls_upstream):
    port, ca_file = tls_upstream
    proxy = await make(ca_file)
    try:
        with pytest.raises(RpcFailure) as info:
            await proxy.request(
                SCOPE,
                allowed_domains=frozenset({"wrong.example.com"}),
                method="GET",
                url=f"https://wrong.example.com:{port}/echo",
                headers=None,
                body=None,
            )
    finally:
        await proxy.close()
    assert info.value.message == "TLS certificate of wrong.example.com could not be verified"


async def test_an_untrusted_certificate_is_refused(tls_upstream):
    port, _ = tls_upstream
    proxy = await make(None)  # system CAs only
    try:
        with pytest.raises(RpcFailure, match=r"TLS certificate of api\.example\.com could not be verified"):
            await proxy.request(
                SCOPE,
                allowed_domains=frozenset({"api.example.com"}),
                method="GET",
                url=f"https://api.example.com:{port}/echo",
                headers=None,
                body=None,
            )
    finally:
        await proxy.close()


async def test_plain_http_is_refused_by_default(tls_upstream):
    port, ca_file = tls_upstream
    proxy = await make(ca_file)
    try:
        with pytest.raises(InvalidArgument, match="plain http is turned off"):
            await proxy.request(
                SCOPE,
                allowed_domains=frozenset({"api.example.com"}),
                method="GET",
                url=f"http://api.example.com:{port}/echo",
                headers=None,
                body=None,
            )
    finally:
        await proxy.close()

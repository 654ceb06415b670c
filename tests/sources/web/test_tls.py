"""HTTPS through the pinned connection: the socket goes to the checked address while TLS still
verifies the certificate against the URL's host name (SNI and hostname check are not lost)."""

from __future__ import annotations

import datetime
import ipaddress
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pytest_httpserver import HTTPServer

from pipeline.sources.web.client import ClientConfig, PoliteClient
from pipeline.sources.web.policy import FetchError

HOST = "news.pinned.test"


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context, threaded=True)
    server.start()
    server.expect_request("/story").respond_with_data("<p>over tls</p>", content_type="text/html")
    try:
        yield server, cert_path
    finally:
        server.clear()
        server.stop()


def pinned_client(ca_bundle: str = "") -> PoliteClient:
    config = ClientConfig(connect_timeout=2, read_timeout=2, retries=0, host_delay=0, allow_loopback=True, ca_bundle=ca_bundle)
    return PoliteClient(config, resolver=lambda host, port: ["127.0.0.1"] if host == HOST else [])


def test_https_is_verified_against_the_url_host(tls_server):
    server, cert = tls_server
    response = pinned_client(str(cert)).fetch(f"https://{HOST}:{server.port}/story")
    assert response.body == b"<p>over tls</p>"


def test_an_untrusted_certificate_is_a_tls_error(tls_server):
    server, _cert = tls_server
    with pytest.raises(FetchError) as caught:
        pinned_client().fetch(f"https://{HOST}:{server.port}/story")
    assert caught.value.reason == "tls_error"


def test_a_certificate_for_another_name_is_a_tls_error(tls_server):
    server, cert = tls_server
    config = ClientConfig(connect_timeout=2, read_timeout=2, retries=0, host_delay=0, allow_loopback=True, ca_bundle=str(cert))
    client = PoliteClient(config, resolver=lambda host, port: ["127.0.0.1"])
    with pytest.raises(FetchError) as caught:
        client.fetch(f"https://impostor.pinned.test:{server.port}/story")
    assert caught.value.reason == "tls_error"
    assert "impostor.pinned.test" in caught.value.detail

# -*- test-case-name: tests.test_crypto -*-
"""
Tests for L{ganeti.crypto}.

Key generation costs CPU time, so most tests share one generated PEM.
"""

import datetime
import functools
import os
import re
import stat

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from OpenSSL import crypto as openssl_crypto
from twisted.internet import ssl
from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.endpoints import (
    SSL4ServerEndpoint,
    TCP4ClientEndpoint,
    wrapClientTLS,
)
from twisted.internet.protocol import Factory, Protocol
from twisted.trial.unittest import SynchronousTestCase, TestCase

from ganeti.crypto import (
    DEFAULT_COMMON_NAME,
    KEY_ECDSA,
    certificate_digest,
    check_key_and_certificate,
    generate_self_signed_pem,
    load_certificate,
    load_private_certificate,
    write_cluster_certificate,
)


@functools.cache
def _shared_pem():
    """
    :return: one cluster PEM for the whole test run.
    """
    return generate_self_signed_pem(DEFAULT_COMMON_NAME)


class GenerateTests(SynchronousTestCase):
    """
    Tests for L{generate_self_signed_pem} and the loaders.
    """

    def test_layout_and_facts(self):
        """
        The PEM holds the key and then the certificate; the certificate is
        self-signed with SHA256 for the common name (also as a DNS name),
        is a CA, is valid now and for five years, over a 2048-bit key.
        """
        pem = _shared_pem()
        self.assertTrue(pem.startswith(b"-----BEGIN PRIVATE KEY-----\n"))
        self.assertTrue(pem.endswith(b"-----END CERTIFICATE-----\n"))
        certificate = x509.load_pem_x509_certificate(pem)
        key = serialization.load_pem_private_key(pem, password=None)
        self.assertEqual(key.key_size, 2048)
        self.assertEqual(certificate.public_key(), key.public_key())
        name = certificate.subject.get_attributes_for_oid(
            x509.oid.NameOID.COMMON_NAME)[0].value
        self.assertEqual(name, "ganeti.example.com")
        self.assertEqual(certificate.issuer, certificate.subject)
        self.assertIsInstance(certificate.signature_hash_algorithm,
                              hashes.SHA256)
        alt_names = certificate.extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value
        self.assertEqual(alt_names.get_values_for_type(x509.DNSName),
                         ["ganeti.example.com"])
        self.assertTrue(certificate.extensions.get_extension_for_class(
            x509.BasicConstraints).value.ca)
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertLess(certificate.not_valid_before_utc, now)
        remaining = certificate.not_valid_after_utc - now
        self.assertLess(abs(remaining - datetime.timedelta(days=1825)),
                        datetime.timedelta(minutes=5))

    def test_ecdsa(self):
        """
        An ECDSA key (the RAPI's) is a P-256 key under the same kind of
        certificate, which loads for Twisted's TLS like an RSA one.
        """
        pem = generate_self_signed_pem("rapi.example.com", key_type=KEY_ECDSA)
        key = serialization.load_pem_private_key(pem, password=None)
        self.assertEqual((key.curve.name, key.key_size), ("secp256r1", 256))
        certificate = x509.load_pem_x509_certificate(pem)
        self.assertEqual(certificate.public_key(), key.public_key())
        self.assertTrue(certificate.extensions.get_extension_for_class(
            x509.BasicConstraints).value.ca)
        check_key_and_certificate(pem)
        private = load_private_certificate(pem)
        self.assertTrue(private.privateKey.matches(private.getPublicKey()))

    def test_load_private_certificate(self):
        """
        The PEM loads, as bytes or text, into a Twisted
        L{ssl.PrivateCertificate} whose key matches the certificate.
        """
        for pem in [_shared_pem(), _shared_pem().decode("ascii")]:
            private = load_private_certificate(pem)
            self.assertIsInstance(private, ssl.PrivateCertificate)
            self.assertTrue(
                private.privateKey.matches(private.getPublicKey()))
            self.assertEqual(private.digest("sha1"),
                             load_certificate(pem).digest("sha1"))

    def test_garbage_rejected(self):
        """
        Text without a certificate is refused.
        """
        self.assertRaises(ValueError, certificate_digest, b"nonsense")
        self.assertRaises(openssl_crypto.Error, load_certificate, b"nonsense")


class DigestTests(SynchronousTestCase):
    """
    Tests for L{certificate_digest}.
    """

    def test_ganeti_format(self):
        """
        The digest is the SHA1 fingerprint in pyOpenSSL's
        C{X509.digest("sha1")} form, which Ganeti's C{GetCertificateDigest}
        returns: 20 upper-case hex pairs joined by colons.
        """
        pem = _shared_pem()
        digest = certificate_digest(pem)
        self.assertRegex(digest, r"^([0-9A-F]{2}:){19}[0-9A-F]{2}$")
        expected = openssl_crypto.load_certificate(
            openssl_crypto.FILETYPE_PEM, pem).digest("sha1").decode("ascii")
        self.assertEqual(digest, expected)
        self.assertEqual(certificate_digest(pem.decode("ascii")), digest)


class WriteClusterCertificateTests(SynchronousTestCase):
    """
    Tests for L{write_cluster_certificate}.
    """

    def test_writes_new_identity(self):
        """
        The file holds the returned PEM, readable by its owner only, and
        replaces any previous certificate with a new key and serial.
        """
        path = self.mktemp()
        old = _shared_pem()
        with open(path, "wb") as f:
            f.write(old)
        pem = write_cluster_certificate(path)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), pem)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o400)
        self.assertNotEqual(certificate_digest(pem), certificate_digest(old))
        self.assertNotEqual(
            x509.load_pem_x509_certificate(pem).serial_number,
            x509.load_pem_x509_certificate(old).serial_number)
        self.assertTrue(re.search(b"BEGIN PRIVATE KEY", pem))


class _Pong(Protocol):
    """
    Server side: answer C{pong} and remember the client's certificate.
    """

    def connectionMade(self):
        self.factory.connections.append(self)
        self.lost = Deferred()

    def dataReceived(self, data):
        self.peer = self.transport.getPeerCertificate()
        self.transport.write(b"pong")

    def connectionLost(self, reason):
        self.lost.callback(None)


class _Ping(Protocol):
    """
    Client side: send C{ping}, hang up on the answer.
    """

    def connectionMade(self):
        self.answer = Deferred()
        self.lost = Deferred()
        self.transport.write(b"ping")

    def dataReceived(self, data):
        self.transport.loseConnection()
        self.answer.callback(data)

    def connectionLost(self, reason):
        self.lost.callback(None)


class MutualTLSTests(TestCase):
    """
    Keep the certificate honest: it works for Twisted's mutual TLS with
    hostname checking, as the cluster's daemons use it.
    """

    def test_loopback_handshake(self):
        """
        A server demanding client certificates signed by the cluster
        certificate, and a client checking the server's name against it,
        complete a handshake and exchange data; the server sees the
        client's certificate.
        """
        from twisted.internet import reactor

        pem = _shared_pem()
        identity = load_private_certificate(pem)
        authority = load_certificate(pem)
        factory = Factory.forProtocol(_Pong)
        factory.connections = []
        endpoint = SSL4ServerEndpoint(reactor, 0, identity.options(authority),
                                      interface="127.0.0.1")
        d = endpoint.listen(factory)

        def connect(port):
            self.addCleanup(port.stopListening)
            client = wrapClientTLS(
                ssl.optionsForClientTLS(DEFAULT_COMMON_NAME,
                                        trustRoot=authority,
                                        clientCertificate=identity),
                TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port))
            return client.connect(Factory.forProtocol(_Ping))

        def exchange(ping):
            return ping.answer.addCallback(lambda answer: (ping, answer))

        def check(outcome):
            ping, answer = outcome
            self.assertEqual(answer, b"pong")
            [pong] = factory.connections
            # The server really received and checked the client's
            # certificate.
            self.assertEqual(pong.peer.digest("sha1").decode("ascii"),
                             certificate_digest(pem))
            return gatherResults([ping.lost, pong.lost])

        return d.addCallback(connect).addCallback(exchange).addCallback(check)

# -*- test-case-name: tests.test_crypto -*-
"""
The cluster's TLS identity: a self-signed certificate and its key.

As in Ganeti, the master creates one RSA key and self-signed certificate at
``gnt-cluster init`` and copies the PEM file (key, then certificate: Ganeti's
``server.pem``) to every node.  Nodes trust exactly that certificate, so it
is at once every daemon's identity and the cluster's certificate authority,
and nodes name it to each other by its SHA1 digest.

Certificates are built with C{cryptography}, which pyOpenSSL is built on
and now recommends: pyOpenSSL's own key and certificate construction calls
are deprecated.  Twisted's TLS still takes pyOpenSSL objects, which
L{load_private_certificate} and L{load_certificate} provide.

Generating a 2048-bit key takes a noticeable fraction of a second of CPU:
reactor code should call L{generate_self_signed_pem} and
L{write_cluster_certificate} in a thread pool.
"""

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from twisted.internet import ssl

from ganeti.utils.io import atomic_write

#: Ganeti's ``X509_CERT_CN``: the name in the cluster certificate.  It is not
#: a host name; clients verify it as the server's name.
DEFAULT_COMMON_NAME = "ganeti.example.com"

#: Ganeti's ``X509_CERT_DEFAULT_VALIDITY``, five years.
DEFAULT_VALIDITY_DAYS = 365 * 5

#: Ganeti's ``RSA_KEY_BITS``.
DEFAULT_KEY_BITS = 2048

#: Key types: Ganeti's RSA, and ECDSA on the P-256 curve.
KEY_RSA = "rsa"
KEY_ECDSA = "ecdsa"

#: The key type of a new RAPI certificate (``rapi.pem``), not Ganeti's
#: RSA: signing with it is far cheaper, and the signature is most of what
#: a full TLS handshake costs the server.  Every RAPI client in use
#: accepts it (Ganeti's own client through pycurl and OpenSSL or GnuTLS,
#: Python's ssl, curl, browsers).  The cluster certificate stays RSA, as
#: in Ganeti.
RAPI_KEY_TYPE = KEY_ECDSA

#: The mode of the PEM file.  Ganeti uses 0440 so that daemons running as
#: separate users of one group can read it; every daemon here runs as the
#: same user, so nobody else needs to read the key.
CERTIFICATE_FILE_MODE = 0o400

# Node clocks are never exactly in step; a certificate made on the master
# must not be "not yet valid" on a node whose clock is a little behind.
_CLOCK_SKEW = datetime.timedelta(hours=1)


def generate_self_signed_pem(common_name=DEFAULT_COMMON_NAME,
                             validity_days=DEFAULT_VALIDITY_DAYS,
                             bits=DEFAULT_KEY_BITS, key_type=KEY_RSA):
    """
    Create a key and a self-signed certificate for it.

    As in Ganeti the certificate is signed with SHA256 and valid for
    C{validity_days} from now.  Unlike Ganeti's it also names
    C{common_name} as a DNS subject alternative name, which Twisted's
    hostname check (service_identity) requires, and is marked as a CA so it
    can serve as the cluster's trust root.  Its serial number is random, so
    a renewed certificate never shares one with its predecessor.

    :param common_name: the certificate's subject and issuer name.
    :param validity_days: how long the certificate stays valid.
    :param bits: the RSA key size.
    :param key_type: L{KEY_RSA} or L{KEY_ECDSA} (P-256; C{bits} unused).
    :return: L{bytes}: the PEM private key (PKCS#8, unencrypted) followed by
        the PEM certificate, the layout of Ganeti's ``server.pem``.
    """
    if key_type == KEY_ECDSA:
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(now + datetime.timedelta(days=validity_days))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(common_name)]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None),
                       critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem + certificate.public_bytes(serialization.Encoding.PEM)


def write_cluster_certificate(path, common_name=DEFAULT_COMMON_NAME,
                              mode=CERTIFICATE_FILE_MODE, key_type=KEY_RSA):
    """
    Create a new cluster key and certificate and store them at C{path}.

    The file is replaced atomically, so daemons reading it never see a key
    without its certificate.

    :param path: the PEM file to write (Ganeti's ``server.pem``).
    :param common_name: as for L{generate_self_signed_pem}.
    :param mode: the file's permission bits.
    :param key_type: as for L{generate_self_signed_pem}.
    :return: the PEM bytes written, for distribution to the nodes.
    :raise OSError: if the file cannot be written.
    """
    pem = generate_self_signed_pem(common_name, key_type=key_type)
    atomic_write(path, pem, mode=mode)
    return pem


def _as_bytes(pem):
    return pem.encode("ascii") if isinstance(pem, str) else pem


def certificate_digest(pem):
    """
    Compute the SHA1 digest by which Ganeti identifies a certificate.

    :param pem: PEM text (L{bytes} or L{str}) holding a certificate, alone or
        after its key; the first certificate is used.
    :return: the digest as Ganeti's ``GetCertificateDigest`` gives it:
        upper-case hex byte pairs joined by colons, e.g. ``"6F:72:...:8B"``.
    :raise ValueError: if C{pem} holds no valid certificate.
    """
    certificate = x509.load_pem_x509_certificate(_as_bytes(pem))
    return ":".join("%02X" % byte
                    for byte in certificate.fingerprint(hashes.SHA1()))


def check_key_and_certificate(pem):
    """
    Check that C{pem} can serve as a TLS identity (``gnt-cluster
    renew-crypto --rapi-certificate``): it must hold an unencrypted private
    key and a certificate for that same key.

    :param pem: PEM text (L{bytes} or L{str}).
    :raise ValueError: saying what is wrong.
    """
    pem = _as_bytes(pem)
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as e:
        raise ValueError("Unable to load private key: %s" % (e,))
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError as e:
        raise ValueError("Unable to load certificate: %s" % (e,))

    def public(k):
        return k.public_bytes(serialization.Encoding.DER,
                              serialization.PublicFormat.SubjectPublicKeyInfo)
    if public(key.public_key()) != public(certificate.public_key()):
        raise ValueError("The private key does not belong to the certificate")


def load_private_certificate(pem):
    """
    Load the cluster key and certificate for Twisted's TLS.

    :param pem: PEM text (L{bytes} or L{str}) with the private key and the
        certificate, as written by L{write_cluster_certificate}.
    :return: a L{twisted.internet.ssl.PrivateCertificate}; its C{options()}
        build a server context.
    :raise OpenSSL.crypto.Error: if the key or certificate is missing or
        invalid.
    """
    return ssl.PrivateCertificate.loadPEM(_as_bytes(pem))


def load_certificate(pem):
    """
    Load just the certificate, e.g. to trust it as the cluster's CA.

    :param pem: PEM text (L{bytes} or L{str}); any private key in it is
        ignored.
    :return: a L{twisted.internet.ssl.Certificate}.
    :raise OpenSSL.crypto.Error: if there is no valid certificate.
    """
    return ssl.Certificate.loadPEM(_as_bytes(pem))

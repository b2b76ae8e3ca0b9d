# -*- test-case-name: tests.test_noderpc -*-
"""
Mutual TLS between the nodes of a cluster.

Every node holds the cluster certificate (``server.pem``: key and
self-signed certificate).  It is both the identity each side presents and
the only authority either side trusts, so a peer proves membership by
presenting it; anything else is refused during the handshake.
"""

from twisted.internet import ssl


def _load(pem):
    private = ssl.PrivateCertificate.loadPEM(pem)
    authority = ssl.Certificate.loadPEM(pem)
    return private, authority


def server_options(pem):
    """
    :param pem: the cluster certificate and key (bytes).
    :return: TLS options for the node service: client certificates signed
        by the cluster certificate are required.
    """
    private, authority = _load(pem)
    return private.options(authority)


def client_options(pem):
    """
    :param pem: the cluster certificate and key (bytes).
    :return: TLS options for connecting to another node.  All nodes share
        the certificate, so a peer is checked against the name in it (not
        the node's host name, nor the cluster's current name, which a
        rename may have changed).
    """
    private, authority = _load(pem)
    name = authority.getSubject().commonName.decode("utf-8")
    return ssl.optionsForClientTLS(name, trustRoot=authority,
                                   clientCertificate=private)

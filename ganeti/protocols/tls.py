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


def client_options(pem, cluster_name):
    """
    :param pem: the cluster certificate and key (bytes).
    :param cluster_name: the name in the cluster certificate; all nodes
        share it, so it is what a peer's certificate is checked against.
    :return: TLS options for connecting to another node.
    """
    private, authority = _load(pem)
    return ssl.optionsForClientTLS(cluster_name, trustRoot=authority,
                                   clientCertificate=private)

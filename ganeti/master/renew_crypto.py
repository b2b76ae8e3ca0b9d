# -*- test-case-name: tests.test_cmdlib_cluster_ops -*-
"""
``gnt-cluster renew-crypto`` in the master daemon.

Ganeti renews certificates and keys in the tool itself, with every daemon
of the cluster stopped, and copies the files to the nodes over SSH.  Here
the RAPI certificate can change under running daemons: the master writes
``rapi.pem`` atomically, its replicator pushes it to every node (which
keeps it to be able to take the master role), and the RAPI listener
serves it to new connections (L{ganeti.rapi.server.ReloadingTLSOptions}).

The tool asks through a LUXI call (C{RenewCrypto}), not a job: a key
given by the operator would otherwise be written into the job file,
copied to every master candidate and kept in the archive; the call's
socket is the master's own, open to root only.  The tool refuses the
parts that would need every node daemon to switch identity at once (the
cluster certificate) or that this cluster has no use for (confd HMAC
key, cluster domain secret, SPICE certificates, SSH keys), rather than
faking them.
"""

from OpenSSL import SSL
from twisted.internet.defer import inlineCallbacks

from ganeti import crypto, errors
from ganeti.utils.io import atomic_write


def check_request(new_rapi_certificate, rapi_certificate):
    """
    :param new_rapi_certificate: whether to make a new self-signed one.
    :param rapi_certificate: PEM text (key and certificate) to use, or None.
    :raise OpPrereqError: (``wrong_input``) for a request that cannot be
        done: nothing asked, both ways asked, or an unusable PEM.
    """
    if new_rapi_certificate and rapi_certificate is not None:
        raise errors.OpPrereqError("Give either a new RAPI certificate or"
                                   " one to use, not both", "wrong_input")
    if not new_rapi_certificate and rapi_certificate is None:
        raise errors.OpPrereqError("Nothing to renew", "wrong_input")
    if rapi_certificate is not None:
        try:
            crypto.check_key_and_certificate(rapi_certificate)
            # What the RAPI listener will do with it: OpenSSL also refuses
            # e.g. keys it deems too short.
            crypto.load_private_certificate(rapi_certificate).options(
                ).getContext()
        except (ValueError, SSL.Error) as e:
            raise errors.OpPrereqError("Invalid RAPI certificate: %s" % (e,),
                                       "wrong_input")


@inlineCallbacks
def renew_rapi_certificate(paths, cluster_name, replicator, in_thread,
                           new_rapi_certificate=False, rapi_certificate=None):
    """
    Replace ``rapi.pem`` and send it to every node.

    :param paths: the master's L{ganeti.paths.Paths}.
    :param cluster_name: the name a new certificate is made for.
    :param replicator: the master's L{ganeti.master.replication.Replicator}.
    :param in_thread: runs a blocking function in the master's thread
        pool (key generation takes CPU; the write flushes the disk).
    :return: (Deferred) ``{node: error}`` of the nodes that did not get the
        file now (they are retried).
    :raise OpPrereqError: as L{check_request}; nothing is changed then.
    """
    check_request(new_rapi_certificate, rapi_certificate)
    if rapi_certificate is None:
        yield in_thread(crypto.write_cluster_certificate, paths.rapi_pem,
                        cluster_name, key_type=crypto.RAPI_KEY_TYPE)
    else:
        yield in_thread(atomic_write, paths.rapi_pem,
                        rapi_certificate.encode("ascii"),
                        mode=crypto.CERTIFICATE_FILE_MODE)
    failed = yield replicator.ancillary_files_changed()
    return failed

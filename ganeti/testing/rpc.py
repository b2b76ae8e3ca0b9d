# -*- test-case-name: tests.test_noderpc -*-
"""
Node RPC without the network: calls go straight to node handlers.

Lets logical-unit tests run a whole cluster in one process on a Clock,
while the handlers (and the hypervisor and storage providers behind them)
stay the real ones.  Held to the same contract tests as L{NodeRpc}.
"""

from twisted.internet.defer import DeferredList, maybeDeferred
from zope.interface import implementer

from ganeti import errors
from ganeti.protocols import node as nodeproto
from ganeti.rpc import INodeRpc, RpcResult


@implementer(INodeRpc)
class LocalRpc:
    """
    :param handlers: node name -> handler (e.g. L{ganeti.node.handler.NodeHandler});
        a name mapped to None behaves as a node that is down.
    """

    def __init__(self, handlers):
        self.handlers = handlers

    def _call_one(self, name, method, args):
        handler = self.handlers.get(name)
        if handler is None:
            return RpcResult(name, fail_msg="Node %s is not reachable" % name)
        if method not in nodeproto.METHODS:
            return RpcResult(name, fail_msg="Unknown method %s" % method)
        kwargs = dict(zip(nodeproto.METHODS[method], args))
        d = maybeDeferred(getattr(handler, method), **kwargs)

        def failed(failure):
            if failure.check(errors.GenericError):
                return RpcResult(name, fail_msg=str(failure.value))
            return RpcResult(name, fail_msg=failure.getErrorMessage())

        return d.addCallbacks(lambda payload: RpcResult(name, payload), failed)

    def call(self, nodes, method, *args, timeout=None):
        calls = [maybeDeferred(self._call_one, name, method, args)
                 for name, _ in nodes]
        d = DeferredList(calls)
        return d.addCallback(lambda results: {r.node: r for _, r in results})

# -*- test-case-name: tests.test_console_kvm -*-
"""
Instance consoles in the browser: the serial console (for xterm.js) and
the VNC display (for noVNC) of a kvm instance, over a WebSocket on the
RAPI port.

The flow, one piece per module:

  1. a RAPI user with write access asks for a one-time token
     (``POST /2/instances/NAME/console-token``, L{ganeti.rapi.consoles});
     the master keeps it in memory for a few seconds (L{tokens});
  2. the browser opens ``wss://master:5080/console/ws?token=...``
     (L{websocket}); the token is used up by the handshake;
  3. the master asks the instance's primary node, over the node RPC, to
     connect to the console and listen once for the master
     (L{ganeti.node.console}), then connects to it with the cluster
     certificate, and bytes flow both ways with flow control (L{relay},
     L{gateway}).
"""

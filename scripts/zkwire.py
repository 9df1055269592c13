"""Just enough of the ZooKeeper client protocol, stdlib only, for scripts that time one write:
open a session and create a node. Not a client library: no watches, no reconnects."""

import socket
import struct


def _frame(payload):
    return struct.pack(">i", len(payload)) + payload


def _string(s):
    b = s.encode()
    return struct.pack(">i", len(b)) + b


def _read_frame(sock):
    header = _read_exact(sock, 4)
    (length,) = struct.unpack(">i", header)
    return _read_exact(sock, length)


def _read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed by the server")
        data += chunk
    return data


def connect(host, port, timeout_ms=10000, socket_timeout=2.0):
    """A new session; raises OSError/ConnectionError if the server does not take it."""
    sock = socket.create_connection((host, port), timeout=socket_timeout)
    sock.settimeout(socket_timeout)
    request = struct.pack(">iqiq", 0, 0, timeout_ms, 0) + struct.pack(">i", 16) + b"\0" * 16
    sock.sendall(_frame(request))
    reply = _read_frame(sock)
    _, _, session_id = struct.unpack(">iiq", reply[:16])
    if session_id == 0:
        sock.close()
        raise ConnectionError("session refused")
    return sock


def create(sock, path, data=b"", xid=1):
    """create(path) with an open ACL; returns the reply's error code (0 on success)."""
    acl = struct.pack(">i", 1) + struct.pack(">i", 31) + _string("world") + _string("anyone")
    body = _string(path) + struct.pack(">i", len(data)) + data + acl + struct.pack(">i", 0)
    sock.sendall(_frame(struct.pack(">ii", xid, 1) + body))
    while True:
        reply = _read_frame(sock)
        reply_xid, _, err = struct.unpack(">iqi", reply[:16])
        if reply_xid == xid:
            return err

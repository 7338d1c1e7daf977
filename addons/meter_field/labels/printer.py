"""Send commands to a label printer's raw port (9100, "JetDirect")

A plain TCP connection that takes the bytes and closes; the printer
answers nothing.  Only the printers an operator set up are ever reached.
"""
import socket

PORT = 9100
TIMEOUT = 10


def send(host, port, data, timeout=TIMEOUT):
    """Send data to host:port; raise OSError (refused, unreachable,
    timeout) when the printer did not take it all"""
    with socket.create_connection((host, port or PORT), timeout=timeout) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)

"""A process of another user posing as the mfad daemon: it listens on SOCKET, writes
every byte a client sends it to RECEIVED, and answers with credentials of its own.

usage: python3 impostor.py SOCKET RECEIVED   (prints "listening" when ready)
"""
import os
import socket
import sys

path, received = sys.argv[1], sys.argv[2]
server = socket.socket(socket.AF_UNIX)
server.bind(path)
os.chmod(path, 0o777)
server.listen()
print("listening", flush=True)
while True:
    conn, _ = server.accept()
    conn.settimeout(2)
    try:
        data = conn.recv(65536)
    except OSError:
        data = b""
    if data:
        with open(received, "ab") as out:
            out.write(data)
    try:
        conn.sendall(
            b'{"protocol":2,"mfad":"0.1.0","body":{"type":"credentials",'
            b'"access_key_id":"ASIAIMPOSTOR","secret_access_key":"theirs",'
            b'"session_token":"theirs","expiration":4102444800,"region":null}}\n'
        )
    except OSError:
        pass
    conn.close()

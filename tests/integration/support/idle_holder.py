"""Another local user's attack on a loopback endpoint: hold COUNT connections open, every
other one with half a request, until told to look; then wait for each to be answered (at
most 10 s each) and report, as JSON, how each ended: answered 503, reset, still open
after the wait, or anything else."""
import json
import socket
import sys

host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
held = []
for i in range(count):
    conn = socket.create_connection((host, port))
    if i % 2:
        conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    held.append(conn)
print("holding", flush=True)
sys.stdin.readline()
ended = {"503": 0, "reset": 0, "open": 0, "other": 0}
for conn in held:
    conn.settimeout(10)
    try:
        answer = conn.recv(64)
        ended["503" if answer.startswith(b"HTTP/1.1 503") else "other"] += 1
    except socket.timeout:
        ended["open"] += 1
    except ConnectionResetError:
        ended["reset"] += 1
print(json.dumps(ended), flush=True)

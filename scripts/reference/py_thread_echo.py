#!/usr/bin/env python3
"""The original course projects' echo design, kept as a yardstick: a thread per client that
reads 1024 bytes at a time and sends each piece back with sendall(), Nagle's algorithm left on
(the socket default).

With 4096-byte messages each reply leaves as four 1024-byte sends. The first goes out at once;
Nagle's algorithm holds the next ones back until the first is acknowledged, and the client
delays that ACK (it is waiting for the rest of the message and has nothing to send), so every
round trip waits for the delayed-ACK timer (about 40 ms on Linux). See docs/tcp-echo.md.

Usage: py_thread_echo.py [PORT]   (default 0; prints "listening on ADDR")
"""
import socket
import sys
import threading


def serve_client(conn):
    with conn:
        while True:
            data = conn.recv(1024)
            if not data:
                return
            conn.sendall(data)


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(1024)
    host, port = listener.getsockname()
    print(f"listening on {host}:{port}", flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve_client, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass

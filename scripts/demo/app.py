#!/usr/bin/env python3
"""The demo's application: a TCP server that greets each client with the address it sees, then echoes;
and a client that sends a line and prints the answer. Plain sockets: the app knows nothing of the mesh."""
import socket
import sys
import threading


def serve(name: str, port: int) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", port))
    listener.listen(128)
    print(f"{name} listening on :{port}", flush=True)
    while True:
        conn, peer = listener.accept()
        print(f"{name} accepted a connection from {peer[0]}:{peer[1]}", flush=True)
        threading.Thread(target=echo, args=(name, conn, peer), daemon=True).start()


def echo(name: str, conn: socket.socket, peer) -> None:
    with conn:
        conn.sendall(f"hello from {name}: you are {peer[0]}\n".encode())
        while True:
            data = conn.recv(65536)
            if not data:
                break
            conn.sendall(data)


def call(host: str, port: int, message: str) -> int:
    try:
        with socket.create_connection((host, port), timeout=10) as conn:
            conn.sendall(message.encode() + b"\n")
            conn.shutdown(socket.SHUT_WR)
            answer = b""
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                answer += data
    except OSError as error:
        print(f"connection to {host}:{port} failed: {error}")
        return 1
    if not answer:
        print(f"connection to {host}:{port} was closed without an answer")
        return 1
    print(answer.decode().rstrip())
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(call(sys.argv[2], int(sys.argv[3]), sys.argv[4]))

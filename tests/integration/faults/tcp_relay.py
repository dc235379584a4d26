#!/usr/bin/env python3
"""A TCP relay on loopback: a second address for a private server, so that a test can kill "that
server" (SIGKILL of this process: the kernel closes every relayed connection and the listening
socket, as when a server crashes) or hang it (SIGSTOP: connects still complete into the backlog,
nothing is answered) while the server behind it, and its data, stay as they are.

  tcp_relay.py LISTEN_PORT TARGET_PORT [DELAY_MS]

Listens on 127.0.0.1:LISTEN_PORT and relays each connection to 127.0.0.1:TARGET_PORT byte for
byte (TLS passes through untouched); with DELAY_MS, every chunk from the server is passed on that
long after it arrived (a slow server: each round trip takes DELAY_MS more, so the test knows when
an answer is still on its way). Prints "listening" once bound, and "accepted N" for every
connection it accepts, to stdout (line-buffered). Ends on SIGTERM/SIGKILL; never on its own.
"""
import collections
import socket
import sys
import threading
import time


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
            try:
                s.shutdown(how)
            except OSError:
                pass


def pump_late(src, dst, delay):
    """pump() with each chunk passed on `delay` seconds after it arrived."""
    held = collections.deque()
    cond = threading.Condition()
    done = []

    def read():
        try:
            while True:
                data = src.recv(65536)
                with cond:
                    if not data:
                        break
                    held.append((time.monotonic() + delay, data))
                    cond.notify()
        except OSError:
            pass
        with cond:
            done.append(True)
            cond.notify()

    threading.Thread(target=read, daemon=True).start()
    try:
        while True:
            with cond:
                while not held and not done:
                    cond.wait()
                if not held:
                    break
                due, data = held.popleft()
            time.sleep(max(0.0, due - time.monotonic()))
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def serve(client, target_port, delay):
    try:
        upstream = socket.create_connection(("127.0.0.1", target_port), timeout=5)
        upstream.settimeout(None)
    except OSError:
        client.close()
        return
    down = (threading.Thread(target=pump_late, args=(upstream, client, delay), daemon=True)
            if delay else threading.Thread(target=pump, args=(upstream, client), daemon=True))
    threads = [threading.Thread(target=pump, args=(client, upstream), daemon=True), down]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    client.close()
    upstream.close()


def main():
    listen_port, target_port = int(sys.argv[1]), int(sys.argv[2])
    delay = int(sys.argv[3]) / 1000 if len(sys.argv) > 3 else 0.0
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", listen_port))
    lsock.listen(64)
    print("listening", flush=True)
    accepted = 0
    while True:
        client, _ = lsock.accept()
        accepted += 1
        print(f"accepted {accepted}", flush=True)
        threading.Thread(target=serve, args=(client, target_port, delay), daemon=True).start()


if __name__ == "__main__":
    main()

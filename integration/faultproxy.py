"""A fault-injecting TCP proxy for the fault scenarios and the checker.

It sits between a child and its parent (the child's parent/endpoint names
the proxy) and forwards bytes both ways until told otherwise:

    pass            forward everything (the default); a held direction
                    resumes and delivers what it held
    cut             close every connection and refuse new ones (a link
                    down both ways: each side sees its peer go silent)
    hold up|down    stop forwarding one direction only ("up": child to
                    parent), keeping the connections open: one side's
                    messages arrive, the other's do not (a one-way cut);
                    nothing is dropped, so the byte stream stays whole
    delay MS        deliver every chunk MS milliseconds after it was read
                    (a slow link; 0 for none). Chunks already queued
                    follow too: each is due at the time it was read plus
                    the delay now in force, so lowering the delay (or
                    pass) delivers them sooner, raising it holds them
                    longer; either way in the order they were read
    reset           close every connection once, then pass (a blip)
    stats           "conns N up BYTES down BYTES"

Run as a program:

    faultproxy.py serve --listen 127.0.0.1:PORT --target 127.0.0.1:PORT \
                        --control SOCKET
    faultproxy.py ctl SOCKET COMMAND...
    faultproxy.py selftest      (checks delay and pass on queued chunks)

or from Python: Proxy(listen, target).start(); proxy.command("cut").
Only loopback addresses are accepted for --listen.
"""

import argparse
import os
import socket
import sys
import threading
import time
from collections import deque

CHUNK = 65536


def _split(address):
    host, _, port = address.rpartition(":")
    return host, int(port)


class _Pump(threading.Thread):
    """Copies one direction of one connection, honouring hold and delay."""

    def __init__(self, proxy, link, source, sink, direction):
        super().__init__(daemon=True)
        self.proxy, self.link = proxy, link
        self.source, self.sink, self.direction = source, sink, direction
        self.queue = deque()        # (time read, bytes), oldest first
        self.cond = threading.Condition()
        link.pumps.append(self)

    def wake(self):
        """The delay changed: reconsider the chunk waiting to go."""
        with self.cond:
            self.cond.notify()

    def run(self):
        sender = threading.Thread(target=self._send, daemon=True)
        sender.start()
        try:
            while not self.link.closed:
                if self.direction in self.proxy.held:
                    time.sleep(0.01)    # read nothing: TCP pushes back
                    continue
                self.source.settimeout(0.1)
                try:
                    data = self.source.recv(CHUNK)
                except socket.timeout:
                    continue
                if not data:
                    break
                with self.cond:
                    self.queue.append((time.monotonic(), data))
                    self.cond.notify()
        except OSError:
            pass
        with self.cond:
            self.queue.append((time.monotonic(), None))
            self.cond.notify()
        sender.join(timeout=2)
        self.link.close()

    def _send(self):
        while True:
            with self.cond:
                while not self.queue:
                    self.cond.wait(0.1)
                    if self.link.closed:
                        return
                #  Held: nothing goes, not even what was read just
                #  before the hold began (a read was under way)
                if self.direction in self.proxy.held and self.queue[0][1] is not None:
                    self.cond.wait(0.01)
                    continue
                #  Due at the time read plus the delay in force now: a
                #  changed delay applies to what is queued, and since
                #  every chunk gets the same delay, the order stays
                read, data = self.queue[0]
                wait = read + self.proxy.delay_ms / 1000.0 - time.monotonic()
                if data is not None and wait > 0:
                    self.cond.wait(wait)
                    continue
                self.queue.popleft()
            if data is None:
                return
            try:
                self.sink.sendall(data)
                self.proxy.count(self.direction, len(data))
            except OSError:
                self.link.close()
                return


class _Link:
    def __init__(self, downstream, upstream):
        self.downstream, self.upstream = downstream, upstream
        self.closed = False
        self.lock = threading.Lock()
        self.pumps = []             # its two directions (_Pump)

    def close(self):
        with self.lock:
            if self.closed:
                return
            self.closed = True
        for s in (self.downstream, self.upstream):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


class Proxy:
    def __init__(self, listen, target):
        host, port = _split(listen)
        if not host.startswith("127."):
            raise ValueError("faultproxy listens on loopback only, not " + host)
        self.target = _split(target)
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind((host, port))
        self.server.listen(16)
        self.address = "%s:%d" % self.server.getsockname()
        self.links = set()
        self.lock = threading.Lock()
        self.cut = False
        self.held = set()
        self.delay_ms = 0
        self.bytes = {"up": 0, "down": 0}
        self.stopped = False

    def start(self):
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def count(self, direction, n):
        with self.lock:
            self.bytes[direction] += n

    def _accept(self):
        while not self.stopped:
            try:
                downstream, _ = self.server.accept()
            except OSError:
                return
            if self.cut:
                downstream.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=2)
            except OSError:
                downstream.close()
                continue
            for s in (downstream, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            link = _Link(downstream, upstream)
            with self.lock:
                self.links.add(link)
            _Pump(self, link, downstream, upstream, "up").start()
            _Pump(self, link, upstream, downstream, "down").start()

    def _wake_all(self):
        with self.lock:
            links = list(self.links)
        for link in links:
            for pump in link.pumps:
                pump.wake()

    def _close_all(self):
        with self.lock:
            links, self.links = list(self.links), set()
        for link in links:
            link.close()

    def command(self, line):
        words = line.split()
        if not words:
            return "error: empty command"
        verb, args = words[0], words[1:]
        if verb == "pass":
            self.cut, self.held, self.delay_ms = False, set(), 0
            self._wake_all()
        elif verb == "cut":
            self.cut = True
            self._close_all()
        elif verb == "hold" and args and args[0] in ("up", "down"):
            self.held = self.held | {args[0]}
        elif verb == "delay" and args and args[0].isdigit():
            self.delay_ms = int(args[0])
            self._wake_all()
        elif verb == "reset":
            self._close_all()
            self.cut, self.held = False, set()
        elif verb == "stats":
            with self.lock:
                self.links = {l for l in self.links if not l.closed}
                return "conns %d up %d down %d" % (
                    len(self.links), self.bytes["up"], self.bytes["down"])
        else:
            return "error: unknown command: " + line
        return "ok"

    def stop(self):
        self.stopped = True
        self.server.close()
        self._close_all()


def _serve(args):
    proxy = Proxy(args.listen, args.target).start()
    if os.path.exists(args.control):
        os.unlink(args.control)
    control = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    control.bind(args.control)
    control.listen(4)
    print("faultproxy %s -> %s:%d" % (proxy.address, *proxy.target), flush=True)
    try:
        while True:
            conn, _ = control.accept()
            with conn:
                line = conn.makefile().readline().strip()
                conn.sendall((proxy.command(line) + "\n").encode())
    finally:
        proxy.stop()
        os.unlink(args.control)


def selftest():
    """Delay and pass act on chunks already queued, in order. Returns a
    list of problems (empty: passed); takes about seven seconds."""
    target = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    target.bind(("127.0.0.1", 0))
    target.listen(1)
    proxy = Proxy("127.0.0.1:0", "127.0.0.1:%d" % target.getsockname()[1]).start()
    got, lock = [], threading.Lock()      # (time received, byte)

    def receive():
        conn, _ = target.accept()
        while True:
            data = conn.recv(CHUNK)
            if not data:
                return
            with lock:
                got.extend((time.monotonic(), bytes([b])) for b in data)

    threading.Thread(target=receive, daemon=True).start()
    client = socket.create_connection(_split(proxy.address))
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    problems = []

    def arrival(byte, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with lock:
                for at, b in got:
                    if b == byte:
                        return at
            time.sleep(0.01)
        return None

    def send(byte):
        client.sendall(byte)
        return time.monotonic()

    try:
        #  Queued under a long delay, then delay 0: out at once
        proxy.command("delay 6000")
        sent = send(b"1")
        time.sleep(0.1)
        send(b"2")
        time.sleep(0.3)
        told = time.monotonic()
        proxy.command("delay 0")
        at = arrival(b"2", 8)
        if at is None or at - told > 2.0:
            problems.append("delay 0 did not deliver chunks queued under 6000 ms at once "
                            "(%s)" % ("never" if at is None else "%.1f s later" % (at - told)))
        #  Raised while a chunk is queued: it waits the new delay
        proxy.command("delay 1500")
        sent = send(b"3")
        time.sleep(0.3)
        proxy.command("delay 4000")
        at = arrival(b"3", 8)
        if at is None or at - sent < 3.0:
            problems.append("a chunk queued under 1500 ms did not wait for the delay raised "
                            "to 4000 ms (%s)" % ("never" if at is None else "%.1f s" % (at - sent)))
        #  Lowered: due at the time read plus the new delay
        proxy.command("delay 6000")
        sent = send(b"4")
        time.sleep(0.3)
        proxy.command("delay 1000")
        at = arrival(b"4", 8)
        if at is None or not 0.9 <= at - sent < 4.0:
            problems.append("a chunk queued under 6000 ms, then 1000 ms, arrived %s after it "
                            "was sent, not about 1 s" % ("never" if at is None else "%.1f s" % (at - sent)))
        #  pass releases what is queued
        proxy.command("delay 6000")
        send(b"5")
        send(b"6")
        time.sleep(0.2)
        told = time.monotonic()
        proxy.command("pass")
        send(b"7")
        at = arrival(b"7", 8)
        if at is None or at - told > 2.0:
            problems.append("pass did not deliver the queued chunks at once")
        with lock:
            order = b"".join(b for _, b in got)
        if order != b"1234567":
            problems.append("bytes arrived as %r, not in the order sent" % order)
    finally:
        client.close()
        proxy.stop()
        target.close()
    return problems


def _ctl(args):
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(5)
    conn.connect(args.control)
    conn.sendall((" ".join(args.words) + "\n").encode())
    reply = conn.makefile().readline().strip()
    print(reply)
    return 1 if reply.startswith("error") else 0


def main():
    parser = argparse.ArgumentParser(description="fault-injecting TCP proxy")
    sub = parser.add_subparsers(dest="verb", required=True)
    serve = sub.add_parser("serve", help="run a proxy")
    serve.add_argument("--listen", required=True, help="127.0.0.1:PORT (0: any)")
    serve.add_argument("--target", required=True, help="HOST:PORT to forward to")
    serve.add_argument("--control", required=True, help="Unix socket for commands")
    ctl = sub.add_parser("ctl", help="send a command to a running proxy")
    ctl.add_argument("control")
    ctl.add_argument("words", nargs="+")
    sub.add_parser("selftest", help="check that delay and pass act on queued chunks")
    args = parser.parse_args()
    if args.verb == "serve":
        _serve(args)
        return 0
    if args.verb == "selftest":
        problems = selftest()
        for problem in problems:
            print("faultproxy selftest: " + problem, file=sys.stderr)
        return 1 if problems else 0
    return _ctl(args)


if __name__ == "__main__":
    sys.exit(main())

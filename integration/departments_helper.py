#!/usr/bin/python3
"""Helpers for integration/scenario_departments.sh.

    departments_helper.py fields FILE
        FILE holds one record as a JSON line (hutong get/find --json). Prints
        one JSON object: "values" (fields with a value, sorted), "nulls"
        (disclosed, absent), "masked" (name -> mask), "withheld" (sorted),
        "full" (the record carries its seed: every field disclosed).

    departments_helper.py flood --node EP --node-key PUB --key KEYFILE...
                                [--count N] [--seed S] [--timeout-ms MS]
        Send N malformed requests to a node's client socket over CurveZMQ,
        one at a time, each waiting for its answer, cycling through the
        keys given (every key has its own request budget at the node). A
        request answered rate_limited is sent again after a pause, so all
        N are served; a frame over the node's limit closes the connection
        and gets no answer (then the socket is made anew). Prints a JSON
        summary: answers by command and error name, how many were sent,
        retried, unanswered (only the over-limit frames may be), and how
        many the node should have counted as protocol errors.

The CURVE keys come from the Ed25519 keys as integration/partner/
hutong_client.py derives them (crypto_sign_ed25519_*_to_curve25519).
"""
import argparse
import json
import os
import random
import struct
import sys
import time

import msgpack
import zmq

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "partner"))
import hutong_client  # noqa: E402  (load_keyfile, load_public, pack)

MAX_FRAME_BYTES = 2 * 1024 * 1024       # protocol/ht_msg.h HT_MSG_MAX_FRAME_BYTES
COUNTY = "441802000000"


# ---------------------------------------------------------------------------
# fields

def cmd_fields(args):
    with open(args.file, encoding="utf-8") as handle:
        lines = [line for line in handle if line.strip()]
    if len(lines) != 1:
        print("expected one record in %s, found %d" % (args.file, len(lines)), file=sys.stderr)
        return 1
    record = json.loads(lines[0])
    fields = record.get("fields", {})
    print(json.dumps({
        "values": sorted(name for name, value in fields.items() if value is not None),
        "nulls": sorted(name for name, value in fields.items() if value is None),
        "masked": record.get("masked", {}),
        "withheld": sorted(record.get("withheld", {})),
        "full": "seed" in record,
    }, ensure_ascii=False, sort_keys=True))
    return 0


# ---------------------------------------------------------------------------
# flood

def pk(obj):
    """Canonical msgpack, as the node expects bodies."""
    return hutong_client.pack(obj)


def msgpack_header(kind, count):
    """A map or array header claiming count items (nothing follows)."""
    if kind == "map":
        return b"\xdf" + struct.pack(">I", count)
    return b"\xdd" + struct.pack(">I", count)


class Flood:
    def __init__(self, rng, keys, server):
        self.rng = rng
        self.keys = keys            # [(public, secret)]
        self.server = server

    # Each generator returns (frames, counted, oversize): counted says
    # whether the node counts it as a protocol error (decode failure or a
    # command that is not a client request) rather than a refused read
    def random_bytes(self):
        rng = self.rng
        frames = [os.urandom(rng.randint(0, 300)) for _ in range(rng.randint(1, 4))]
        # A random first frame that spells a command is not random input
        frames[0] = b"\xff" + frames[0]
        return frames, True, False

    def wrong_msgpack(self):
        rng = self.rng
        command = rng.choice([b"GET", b"FIND", b"LIST", b"COUNT", b"HISTORY", b"STATUS",
                              b"INFO", b"PUT"])
        choice = rng.randrange(12)
        if choice == 0:
            body = pk([1, 2, 3])                                    # an array
        elif choice == 1:
            body = pk({"kind": "elder", "key": "ab", "token": 1})[:-1]  # truncated
        elif choice == 2:
            body = pk({"token": "one", "kind": 7, "key": b"\x00"})  # wrong types
        elif choice == 3:
            body = pk({"token": 1}) + b"\x01"                       # trailing bytes
        elif choice == 4:
            body = b"\x91" * rng.randint(1000, 100000) + b"\xc0"    # nested arrays
        elif choice == 5:
            body = msgpack_header("map", 0xffffffff)                # a huge map, empty
        elif choice == 6:
            body = msgpack_header("array", 0x7fffffff) + b"\x00" * 64
        elif choice == 7:
            body = pk("GET")                                        # a string
        elif choice == 8:
            body = b"\xc1"                                          # never used byte
        elif choice == 9:
            return [command], True, False                           # no body at all
        elif choice == 10:
            body = pk({"token": -5, "kind": "elder", "key": "x", "value": "x"})
        else:
            # a map whose key is not a string, and a token that is text
            body = b"\x82" + pk(1) + pk("x") + pk("token") + pk("1")
        # Reads need their required items, so a well-formed but incomplete
        # GET is malformed too; every choice above is undecodable for
        # every command (even STATUS and INFO, which need no item)
        return [command, body], True, False

    def unknown_command(self):
        rng = self.rng
        choice = rng.randrange(6)
        if choice == 0:     # node-to-node commands on the client socket
            command = rng.choice([b"PULL", b"NOTIFY", b"PING", b"PONG"])
            body = pk({"cursor": 0, "max": 10, "seq": 1, "token": rng.randint(1, 1 << 40)})
        elif choice == 1:
            command = b"HELLO"
            body = pk({"epoch": bytes(16), "name": "x", "region": COUNTY, "seq": 0, "v": 1})
        elif choice == 2:   # replies sent as requests
            command = rng.choice([b"GET-OK", b"LIST-OK", b"PUT-OK", b"STATUS-OK", b"ERROR"])
            body = pk({"error": "invalid", "token": 9})
        elif choice == 3:
            command = rng.choice([b"get", b"DELETE", b"WRITE", b"FROB", b"", b" GET"])
            body = pk({"kind": "elder", "key": "ab", "token": 3})
        elif choice == 4:
            command = b"GET" * rng.randint(6, 2000)                 # an overlong command word
            body = pk({"token": 4})
        else:
            command = b"GE\x00T"
            body = pk({"kind": "elder", "key": "ab", "token": 5})
        return [command, body], True, False

    def oversized(self):
        rng = self.rng
        choice = rng.randrange(8)
        big = lambda low, high: "x" * rng.randint(low, high)  # noqa: E731
        if choice == 0:
            body = {"kind": big(16, 5000), "key": "ab", "token": 1}
            command = b"GET"
        elif choice == 1:
            body = {"kind": "elder", "key": big(65, 100000), "token": 1}
            command = b"HISTORY"
        elif choice == 2:
            body = {"kind": "elder", "value": big(512, 200000), "token": 1}
            command = b"FIND"
        elif choice == 3:
            body = {"kind": "elder", "purpose": big(32, 1000), "token": 1, "key": "ab"}
            command = b"GET"
        elif choice == 4:
            body = {"kind": "elder", "after": big(96, 10000), "token": 1}
            command = b"LIST"
        elif choice == 5:
            body = {"kind": "elder", "region": big(13, 4000), "token": 1}
            command = b"COUNT"
        elif choice == 6:
            body = {"kind": "elder", "field": big(32, 3000), "value": "v", "token": 1}
            command = b"LIST"
        else:
            # a frame just under the node's frame limit: one item too long
            body = {"kind": "elder", "value": "9" * (MAX_FRAME_BYTES - 64 * 1024), "token": 1}
            command = b"FIND"
        return [command, pk(body)], True, False

    def over_limit(self):
        """A frame over the node's limit: the connection is closed."""
        return [b"PUT", pk({"token": 1}), os.urandom(MAX_FRAME_BYTES + 4096)], False, True

    def unknown_kind(self):
        rng = self.rng
        kind = rng.choice(["nosuchkind", "ELDER", "elders", "", "x", "audit2", "用户"])
        command = rng.choice(["GET", "FIND", "LIST", "COUNT", "HISTORY"])
        body = {"kind": kind, "token": rng.randint(1, 1 << 30)}
        if command in ("GET", "HISTORY"):
            body["key"] = "00112233445566778899aabbccddeeff"
        if command == "FIND":
            body["value"] = "441802194005120317"
        return [command.encode(), pk(body)], False, False

    def bad_region(self):
        rng = self.rng
        region = rng.choice(["441", "4418021", "99", "999999999999", "44180200000x",
                             "441800000001", "0", "-1", "44180", "441803", "11",
                             "000000000000", "４４１８"])
        command = rng.choice(["LIST", "COUNT"])
        body = {"kind": rng.choice(["elder", "facility", "credit"]), "region": region,
                "token": rng.randint(1, 1 << 30)}
        if command == "LIST" and rng.random() < 0.3:
            body.update(rng.choice([{"field": "nosuch", "value": "v"},
                                    {"field": "name", "value": "李"},
                                    {"after": "not-a-cursor"},
                                    {"max": (1 << 64) - 1}]))
        return [command.encode(), pk(body)], False, False

    def generators(self):
        return [self.random_bytes, self.wrong_msgpack, self.unknown_command, self.oversized,
                self.unknown_kind, self.bad_region]


def new_socket(context, endpoint, server, key):
    public, secret = key
    sock = hutong_client.curve_dealer(context, server, public, secret)
    sock.sndtimeo = 2000
    sock.connect(endpoint)
    return sock


def cmd_flood(args):
    rng = random.Random(args.seed)
    keys = [hutong_client.load_keyfile(path) for path in args.key]
    server = hutong_client.load_public(args.node_key)
    context = zmq.Context.instance()
    sockets = [new_socket(context, args.node, server, key) for key in keys]
    flood = Flood(rng, keys, server)
    generators = flood.generators()
    answers, errors = {}, {}
    summary = {"sent": 0, "retried": 0, "unanswered": 0, "over_limit": 0,
               "expected_protocol_errors": 0, "unexpected": []}
    over_limit_at = set(rng.sample(range(args.count), min(args.over_limit, args.count)))
    started = time.monotonic()
    for index in range(args.count):
        which = index % len(sockets)
        if index in over_limit_at:
            frames, counted, oversize = flood.over_limit()
        else:
            frames, counted, oversize = generators[index % len(generators)]()
        while True:
            sock = sockets[which]
            try:
                sock.send_multipart(frames)
            except zmq.Again:
                summary["unexpected"].append("send timed out at request %d" % index)
                break
            summary["sent"] += 1
            if oversize:
                # No answer comes: the node drops the connection. Give it a
                # moment, then start a new connection for this key
                summary["over_limit"] += 1
                if sock.poll(300):
                    summary["unexpected"].append("an over-limit frame was answered")
                sock.close(0)
                sockets[which] = new_socket(context, args.node, server, keys[which])
                break
            if not sock.poll(args.timeout_ms):
                summary["unanswered"] += 1
                summary["unexpected"].append("no answer to request %d (%r...)"
                                             % (index, frames[0][:20]))
                sock.close(0)
                sockets[which] = new_socket(context, args.node, server, keys[which])
                break
            parts = sock.recv_multipart()
            command = parts[0].decode("ascii", "replace")
            error = None
            if command == "ERROR" and len(parts) > 1:
                try:
                    error = msgpack.unpackb(parts[1], raw=False).get("error")
                except Exception:       # noqa: BLE001  (an answer we cannot read)
                    error = "unreadable"
            if error == "rate_limited":
                summary["retried"] += 1
                time.sleep(0.02)
                continue
            name = command if error is None else error
            answers[name] = answers.get(name, 0) + 1
            kind = "counted" if counted else "refused"
            errors.setdefault(kind, {})
            errors[kind][name] = errors[kind].get(name, 0) + 1
            if counted:
                summary["expected_protocol_errors"] += 1
            if command != "ERROR":
                summary["unexpected"].append("request %d was answered %s" % (index, command))
            break
    for sock in sockets:
        sock.close(0)
    summary["answers"] = answers
    summary["by_class"] = errors
    summary["seconds"] = round(time.monotonic() - started, 2)
    print(json.dumps(summary, sort_keys=True))
    return 0


def main():
    parser = argparse.ArgumentParser(prog="departments_helper.py")
    sub = parser.add_subparsers(dest="command", required=True)
    fields = sub.add_parser("fields")
    fields.add_argument("file")
    flood = sub.add_parser("flood")
    flood.add_argument("--node", required=True)
    flood.add_argument("--node-key", required=True)
    flood.add_argument("--key", action="append", required=True)
    flood.add_argument("--count", type=int, default=1000)
    flood.add_argument("--over-limit", type=int, default=3)
    flood.add_argument("--seed", type=int, default=1)
    flood.add_argument("--timeout-ms", type=int, default=5000)
    args = parser.parse_args()
    return cmd_fields(args) if args.command == "fields" else cmd_flood(args)


if __name__ == "__main__":
    sys.exit(main())

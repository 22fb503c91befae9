#!/usr/bin/env python3
"""Helpers of integration/scenario_feeds.sh (Debian's python3 with
python3-zmq, python3-msgpack and python3-nacl):

    feeds_helper.py slices COMMUNITY NAME:N ... < gen-output   elder drafts of the
                                      community, split into disjoint files NAME.jsonl
    feeds_helper.py updates FILE N    N of FILE's drafts again, each a new version
    feeds_helper.py deletions COMMUNITY KEY...   tombstone drafts of elders
    feeds_helper.py stall MODE SECONDS READY OUT NODE-OPTIONS [--kinds K] [--purpose P]
                                      [--max N]   a partner that stalls (see stall ())
    feeds_helper.py final LISTING OUT   every entity of the listing at its final version?
    feeds_helper.py expect LISTINGS OUT [--kinds K] [--region R] [--field F --value V]
                                      [--only KEYS] [--deleted KEYS] [--after-resync]
    feeds_helper.py records OUT...    the records of feed output files, a line each
    feeds_helper.py admit SECONDS --node EP --node-key PUB KEY...   wait until admitted
    feeds_helper.py keys IDKEY FILE   the elder keys of drafts
    feeds_helper.py fake SCHEMA LISTING NODE-KEYFILE CLIENT-KEYFILE HUTONG
                                      the feed clients against a scripted fake node

OUT is the JSON lines a feed printed (`hutong feed` or `hutong_client.py
feed`): {"seq", "cursor", "record"} and {"resync": true, ...}. LISTING is
`hutong list --store ... --limit 0` output; LISTINGS a comma-separated list
of them. The checks print one JSON line of figures and exit 1 on a mismatch.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "partner"))
import hutong_client as hc      # noqa: E402  (the partner client, for keys and regions)

import msgpack                  # noqa: E402
import zmq                      # noqa: E402


def read_lines(path):
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def feed_events(path, after_resync=False):
    """(events, resyncs): the event lines of a feed's output, in order
    (after the last resync line only, if asked). Half a line a kill -9
    left (the output is block-buffered) is skipped: the cursor file never
    covers it, so its event came again."""
    events, resyncs = [], 0
    lines = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for text in handle:
            try:
                lines.append(json.loads(text))
            except ValueError:
                continue
    for line in lines:
        if line.get("resync"):
            resyncs += 1
            if after_resync:
                events = []
            continue
        events.append(line)
    return events, resyncs


def duplicates(events):
    seen, count = set(), 0
    for event in events:
        version = (event["record"]["key"], event["record"]["hlc"])
        count += version in seen
        seen.add(version)
    return count


def cmd_slices(args):
    """Elder drafts from `hutong gen` on stdin, moved into the community
    (as tools/demo.sh does), each citizen ID once, split into files."""
    drafts, seen = [], set()
    for line in sys.stdin:
        record = json.loads(line)
        if record.get("kind") != "elder" or record["fields"]["id_no"] in seen:
            continue
        seen.add(record["fields"]["id_no"])
        record["region"] = record["scope"] = args.community
        record["fields"]["hukou_region"] = args.community
        record["fields"].pop("residence_region", None)
        drafts.append(record)
    at = 0
    for spec in args.slices:
        name, count = spec.rsplit(":", 1)
        count = int(count)
        if at + count > len(drafts):
            raise SystemExit("feeds_helper: only %d distinct elders, %s needs %d more"
                             % (len(drafts), name, at + count - len(drafts)))
        with open(name + ".jsonl", "w", encoding="utf-8") as handle:
            for record in drafts[at:at + count]:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        at += count


def cmd_updates(args):
    """The first N drafts again with another phone number: the same key
    (the ID number), so each is the entity's next version."""
    for number, record in enumerate(read_lines(args.file)[:args.count]):
        record["fields"]["phone"] = "139%08d" % number
        print(json.dumps(record, ensure_ascii=False))


def cmd_deletions(args):
    """Tombstone drafts: `hutong put` signs them (deleted: true, no fields)."""
    for key in args.keys:
        print(json.dumps({"kind": "elder", "key": key, "region": args.community,
                          "scope": args.community, "deleted": True, "fields": {}}))


def cmd_stall(args):
    """A partner that stalls, on a raw CURVE DEALER:
    credit - subscribes from the start with --max credit and never grants
             more; reads every message (counting events and heartbeats);
    noread - subscribes from the start with --max credit, reads the
             SUBSCRIBE-OK and then nothing (receive queue of one message)
             for SECONDS, then for 2 s what waited in the queues.
    Writes READY once subscribed, then OUT (JSON figures) after SECONDS."""
    public, secret = hc.load_keyfile(args.key)
    node_key = hc.load_public(args.node_key)
    context = zmq.Context.instance()
    socket = hc.curve_dealer(context, node_key, public, secret)
    if args.mode == "noread":
        socket.rcvhwm = 1
        socket.rcvbuf = 4096
    socket.connect(args.node)
    socket.send_multipart(hc.subscribe_frames(1, args.max, args.kinds, args.purpose))
    figures = {"mode": args.mode, "max": args.max, "events": 0, "heartbeats": 0,
               "subscribed": False, "last_credit": None, "errors": []}
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        if not socket.poll(int(max(1, (deadline - time.monotonic()) * 1000))):
            continue
        parts = socket.recv_multipart()
        body = msgpack.unpackb(parts[1], raw=False)
        answer = json.loads(parts[2]) if len(parts) > 2 else {}
        command = parts[0].decode()
        if command == "SUBSCRIBE-OK":
            figures["subscribed"] = True
            with open(args.ready, "w") as handle:
                handle.write(json.dumps(answer) + "\n")
            if args.mode == "noread":
                time.sleep(max(0, deadline - time.monotonic()))
                # then read what waited for us in the queues, for 2 s
                end = time.monotonic() + 2
                while socket.poll(max(1, int((end - time.monotonic()) * 1000))):
                    parts = socket.recv_multipart()
                    if parts[0] == b"EVENTS":
                        figures["events"] += len(json.loads(parts[2])["events"])
                    elif parts[0] == b"FEED-HB":
                        figures["heartbeats"] += 1
                    if time.monotonic() >= end:
                        break
                break
        elif command == "EVENTS":
            figures["events"] += len(answer["events"])
        elif command == "FEED-HB":
            figures["heartbeats"] += 1
            figures["last_credit"] = answer.get("credit")
        elif command == "ERROR":
            figures["errors"].append(body.get("error"))
            with open(args.ready, "w") as handle:
                handle.write(json.dumps({"error": body.get("error")}) + "\n")
    socket.close(0)
    with open(args.out, "w") as handle:
        handle.write(json.dumps(figures) + "\n")


def cmd_final(args):
    """Did the feed deliver every entity of the listing at its final
    version (its last event for the key has the listing's hlc)?"""
    listing = {record["key"]: record["hlc"] for record in read_lines(args.listing)}
    events, resyncs = feed_events(args.out)
    last = {}
    for event in events:
        last[event["record"]["key"]] = event["record"]["hlc"]
    missing = [key for key in listing if key not in last]
    stale = [key for key in listing if key in last and last[key] != listing[key]]
    figures = {"expected": len(listing), "events": len(events), "distinct": len(last),
               "missing": len(missing), "stale": len(stale), "duplicates": duplicates(events),
               "resyncs": resyncs}
    print(json.dumps(figures))
    if missing or stale:
        print("missing: %s; not at the final version: %s" % (missing[:5], stale[:5]),
              file=sys.stderr)
        return 1
    return 0


def matches(record, kinds, region, field, value):
    if kinds and record["kind"] not in kinds:
        return False
    if region and not hc.region_covers(region, record["region"]):
        return False
    if field:
        have = record.get("fields", {}).get(field)
        if isinstance(have, list):
            return value in have
        if isinstance(have, bool) or have is None:
            return False
        return str(have) == value
    return True


def cmd_expect(args):
    """Does the feed's final state (the last event of each key) equal
    what the listings say it should see: every live record that matches
    the filter, at its listed version, and a tombstone for each deleted
    key that matches (kind and region) — and nothing else?"""
    kinds = args.kinds.split(",") if args.kinds else None
    only = set(args.only.split(",")) if args.only else None
    deleted = set(args.deleted.split(",")) if args.deleted else set()
    expected = {}
    for path in args.listings.split(","):
        for record in read_lines(path):
            if matches(record, kinds, args.region, args.field, args.value) \
                    and (only is None or record["key"] in only):
                expected[record["key"]] = record["hlc"]
    events, resyncs = feed_events(args.out, args.after_resync)
    last = {}
    for event in events:
        last[event["record"]["key"]] = event["record"]
    live = {key: record["hlc"] for key, record in last.items() if not record["deleted"]}
    tombstones = {key for key, record in last.items() if record["deleted"]}
    unexpected_kind = [record["key"] for record in last.values()
                       if not matches(dict(record, fields={}), kinds, args.region, None, None)]
    figures = {"expected": len(expected), "received": len(live), "events": len(events),
               "tombstones": len(tombstones), "duplicates": duplicates(events),
               "resyncs": resyncs}
    print(json.dumps(figures))
    problems = []
    if set(live) != set(expected):
        problems.append("keys differ: %d missing (%s), %d not expected (%s)" % (
            len(set(expected) - set(live)), sorted(set(expected) - set(live))[:3],
            len(set(live) - set(expected)), sorted(set(live) - set(expected))[:3]))
    stale = [key for key in expected if key in live and live[key] != expected[key]]
    if stale:
        problems.append("%d not at the listed version (%s)" % (len(stale), stale[:3]))
    if tombstones - deleted:
        problems.append("tombstones of keys not deleted: %s" % sorted(tombstones - deleted)[:3])
    if unexpected_kind:
        problems.append("events outside the kinds or region: %s" % unexpected_kind[:3])
    if args.want_deleted is not None and len(tombstones) != args.want_deleted:
        problems.append("%d tombstones, expected %d" % (len(tombstones), args.want_deleted))
    if args.after_resync and not resyncs:
        problems.append("no resync line")
    for problem in problems:
        print("feeds_helper: %s" % problem, file=sys.stderr)
    return 1 if problems else 0


def cmd_admit(args):
    """Wait until the node admits every key (INFO answers): a key stored
    after the node started is admitted once its ZAP cache refreshed."""
    node_key = hc.load_public(args.node_key)
    deadline = time.monotonic() + args.seconds
    for path in args.keys:
        public, secret = hc.load_keyfile(path)
        while True:
            client = hc.NodeClient(args.node, node_key, public, secret, 1000)
            try:
                client.info()
                break
            except hc.NodeError as error:
                if time.monotonic() > deadline:
                    print("feeds_helper: %s is not admitted: %s" % (path, error), file=sys.stderr)
                    return 1
                time.sleep(0.2)
            finally:
                client.close()
    return 0


def cmd_keys(args):
    """The elder keys of drafts (derived from the ID number, records.md §8)."""
    idkey = hc.load_idkey(args.idkey)
    for record in read_lines(args.file):
        print(hc.elder_key(idkey, record["fields"]["id_no"]))


class FakeNode:
    """A CURVE ROUTER that plays a node's side of a feed from a script:
    on the Nth SUBSCRIBE it sends what script[N-1] says. It logs every
    message it gets as (command, body)."""

    def __init__(self, keyfile, script):
        import threading
        public, secret = hc.load_keyfile(keyfile)
        self.socket = zmq.Context.instance().socket(zmq.ROUTER)
        self.socket.linger = 0
        self.socket.curve_server = True
        self.socket.curve_publickey = hc.crypto_sign_ed25519_pk_to_curve25519(public)
        self.socket.curve_secretkey = hc.crypto_sign_ed25519_sk_to_curve25519(secret)
        port = self.socket.bind_to_random_port("tcp://127.0.0.1")
        self.endpoint = "tcp://127.0.0.1:%d" % port
        self.script, self.log, self.running = list(script), [], True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def send(self, who, command, token, answer=None, records=()):
        frames = [who, command.encode(), hc.pack({"token": token})]
        if answer is not None:
            frames.append(json.dumps(answer, sort_keys=True).encode())
        self.socket.send_multipart(frames + list(records))

    def run(self):
        while self.running:
            if not self.socket.poll(100):
                continue
            who, command, body, *_ = self.socket.recv_multipart()
            body = msgpack.unpackb(body, raw=False)
            self.log.append((command.decode(), body))
            if command == b"SUBSCRIBE" and self.script:
                for step in self.script.pop(0):
                    if step[0] == "sleep":
                        time.sleep(step[1])
                    else:
                        self.send(who, step[0], body["token"], *step[1:])

    def stop(self):
        self.running = False
        self.thread.join()
        self.socket.close(0)


def events_message(epoch, start, end, pairs):
    """An EVENTS JSON and its record frames: pairs of (seq, wire bytes)."""
    records = [hc.Record.decode(data, REGISTRY) for _, data in pairs]
    return ("EVENTS", {"epoch": epoch, "from": start, "cursor": end, "policy": "partner",
                       "audited": False, "emergency": None,
                       "events": [{"seq": seq, "kind": r.kind, "key": r.key, "deleted": r.deleted}
                                  for (seq, _), r in zip(pairs, records)]},
            [data for _, data in pairs])


REGISTRY = None


def cmd_fake(args):
    """The feed's gap healing, credit, verification and RESYNC against a
    fake node (FakeNode), for the Python Feed and for `hutong feed`."""
    global REGISTRY
    REGISTRY = hc.Schema.load(args.schema)
    records = [hc.Record.from_json(record, REGISTRY) for record in read_lines(args.listing)[:4]]
    wires = [record.encode() for record in records]
    forged = hc.Record.decode(wires[3], REGISTRY)
    forged.fields["name"] = forged.fields["name"] + "X"    # signed over the old name
    forged = forged.encode()
    epoch = "00112233445566778899aabbccddeeff"
    ok = lambda cursor: ("SUBSCRIBE-OK", {"epoch": epoch, "cursor": cursor, "credit": 4,
                                          "kinds": ["facility"], "last_seq": 40, "policy": "partner"})
    heartbeat = lambda cursor, through: ("FEED-HB", {"epoch": epoch, "cursor": cursor,
                                                      "events_through": through, "last_seq": 40,
                                                      "credit": 4})
    script = [
        [ok(0), events_message(epoch, 0, 10, [(3, wires[0]), (10, wires[1])]),
         events_message(epoch, 15, 20, [(18, wires[2])])],            # a batch went missing
        [ok(10), heartbeat(25, 20)],                                  # an EVENTS went missing
        [ok(10), events_message(epoch, 10, 30, [(12, forged)]),      # one that does not verify
         events_message(epoch, 10, 30, [(12, wires[3])]), heartbeat(40, 30),
         ("sleep", 1.5), ("ERROR", None)],                           # (filled in below)
        [("RESYNC", {"epoch": epoch, "reason": "the cursor is past this node's log"})],
        [ok(0)],
    ]
    node = FakeNode(args.node_keyfile, script)
    # the ERROR not_found names the third subscription's token: patch it in
    # when it is sent (the token is the SUBSCRIBE's)
    original = node.send

    def send(who, command, token, *rest):
        if command == "ERROR":
            frames = [who, b"ERROR", hc.pack({"error": "not_found", "text": "no such subscription",
                                              "token": token})]
            return node.socket.send_multipart(frames)
        return original(who, command, token, *rest)

    node.send = send
    public, secret = hc.load_keyfile(args.client_keyfile)
    node_public, _ = hc.load_keyfile(args.node_keyfile)
    client = hc.NodeClient(node.endpoint, node_public, public, secret, 3000, REGISTRY)
    figures, problems = {}, []

    def check(condition, what):
        if not condition:
            problems.append(what)

    try:
        feed = client.subscribe(kinds="facility", window=4)
        first, second = feed.next_event(3000), feed.next_event(3000)
        check(first is not None and (first.seq, first.cursor) == (3, 3), "first event: seq 3, cursor 3")
        check(second is not None and (second.seq, second.cursor) == (10, 10),
              "second event, last of its batch: cursor 10")
        try:
            feed.next_event(3000)
            problems.append("a record signed over another name was accepted")
        except hc.RecordError as error:
            figures["forged"] = error.error
        third = feed.next_event(3000)
        check(third is not None and (third.seq, third.cursor) == (12, 30),
              "the batch sent again: seq 12, cursor 30")
        check(feed.next_event(700) is None, "nothing more")
        check(feed.cursor == (bytes.fromhex(epoch), 40), "the heartbeat moved the cursor to 40")
        try:
            feed.next_event(3000)
            problems.append("no FeedResync")
        except hc.FeedResync as resync:
            figures["resync"] = resync.text
        check(feed.cursor is None, "no cursor after RESYNC")
        figures["resubscribed"] = feed.resubscribed
        check(feed.resubscribed == 3, "three gaps healed (lost batch, lost EVENTS, not_found)")
        feed.restart()
        check(feed.next_event(500) is None and feed.subscription["cursor"] == 0,
              "restarted from the start")
    finally:
        client.close()
        time.sleep(0.2)
        node.stop()
    subscribes = [body for command, body in node.log if command == "SUBSCRIBE"]
    check([body.get("cursor") for body in subscribes] == [None, 10, 10, 40, None],
          "SUBSCRIBE cursors: start, 10, 10, 40, start (got %s)"
          % [body.get("cursor") for body in subscribes])
    check(all(body.get("epoch") == bytes.fromhex(epoch) for body in subscribes[1:4]),
          "each resubscription names the epoch")
    check(subscribes[0].get("after") == "start" and subscribes[0].get("max") == 4
          and subscribes[0].get("kind") == "facility", "the first SUBSCRIBE: after start, max 4")
    credits = [body for command, body in node.log if command == "CREDIT"]
    check(credits[:1] == [{"max": 2, "token": subscribes[0]["token"]}],
          "CREDIT of 2 once half the window of 4 was consumed (got %s)" % credits)
    unsubscribed = [body["token"] for command, body in node.log if command == "UNSUBSCRIBE"]
    check(unsubscribed[:3] == [body["token"] for body in subscribes[:3]],
          "the old subscription is unsubscribed before each resubscription (got %s)" % unsubscribed)
    figures.update(subscribes=len(subscribes), credits=len(credits), unsubscribes=len(unsubscribed))

    # the C client against a lost batch: does it let go of the old subscription?
    import subprocess
    node = FakeNode(args.node_keyfile, [
        [ok(0), events_message(epoch, 0, 10, [(3, wires[0]), (10, wires[1])]),
         events_message(epoch, 15, 20, [(18, wires[2])])],
        [ok(10)]])
    try:
        run = subprocess.run([args.hutong, "feed", "--node", node.endpoint, "--node-key",
                              args.node_keyfile + ".pub", "--key", args.client_keyfile,
                              "--kinds", "facility", "--idle", "1500"],
                             capture_output=True, text=True, timeout=20)
    finally:
        time.sleep(0.2)
        node.stop()
    printed = [json.loads(line)["seq"] for line in run.stdout.splitlines() if line.strip()]
    commands = [(command, body.get("token"), body.get("cursor")) for command, body in node.log]
    figures["c_client"] = commands
    check(printed == [3, 10], "hutong feed printed seq 3 and 10 (got %s)" % printed)
    check([c for c in commands if c[0] == "SUBSCRIBE"][1:2] and
          [c for c in commands if c[0] == "SUBSCRIBE"][1][2] == 10,
          "hutong feed subscribed again from 10 after the lost batch")
    figures["c_unsubscribed_old"] = any(c[0] == "UNSUBSCRIBE" for c in commands)
    print(json.dumps(figures, ensure_ascii=False))
    for problem in problems:
        print("feeds_helper: fake node: %s" % problem, file=sys.stderr)
    return 1 if problems else 0


def cmd_records(args):
    for path in args.outs:
        events, _ = feed_events(path)
        for event in events:
            print(json.dumps(event["record"], ensure_ascii=False, sort_keys=True))


def main():
    parser = argparse.ArgumentParser(prog="feeds_helper.py")
    commands = parser.add_subparsers(dest="command", required=True)
    slices = commands.add_parser("slices")
    slices.add_argument("community")
    slices.add_argument("slices", nargs="+")
    slices.set_defaults(run=cmd_slices)
    updates = commands.add_parser("updates")
    updates.add_argument("file")
    updates.add_argument("count", type=int)
    updates.set_defaults(run=cmd_updates)
    deletions = commands.add_parser("deletions")
    deletions.add_argument("community")
    deletions.add_argument("keys", nargs="+")
    deletions.set_defaults(run=cmd_deletions)
    stall = commands.add_parser("stall")
    stall.add_argument("mode", choices=("credit", "noread"))
    stall.add_argument("seconds", type=float)
    stall.add_argument("ready")
    stall.add_argument("out")
    stall.add_argument("--node", required=True)
    stall.add_argument("--node-key", required=True)
    stall.add_argument("--key", required=True)
    stall.add_argument("--kinds")
    stall.add_argument("--purpose")
    stall.add_argument("--max", type=int, default=20)
    stall.set_defaults(run=cmd_stall)
    final = commands.add_parser("final")
    final.add_argument("listing")
    final.add_argument("out")
    final.set_defaults(run=cmd_final)
    expect = commands.add_parser("expect")
    expect.add_argument("listings")
    expect.add_argument("out")
    expect.add_argument("--kinds")
    expect.add_argument("--region")
    expect.add_argument("--field")
    expect.add_argument("--value")
    expect.add_argument("--only", help="comma-separated keys: expect only these")
    expect.add_argument("--deleted", help="comma-separated keys that were deleted")
    expect.add_argument("--want-deleted", type=int, help="exactly this many tombstones")
    expect.add_argument("--after-resync", action="store_true")
    expect.set_defaults(run=cmd_expect)
    admit = commands.add_parser("admit")
    admit.add_argument("seconds", type=float)
    admit.add_argument("--node", required=True)
    admit.add_argument("--node-key", required=True)
    admit.add_argument("keys", nargs="+")
    admit.set_defaults(run=cmd_admit)
    keys = commands.add_parser("keys")
    keys.add_argument("idkey")
    keys.add_argument("file")
    keys.set_defaults(run=cmd_keys)
    fake = commands.add_parser("fake")
    fake.add_argument("schema")
    fake.add_argument("listing", help="full records (hutong list --store) to send")
    fake.add_argument("node_keyfile")
    fake.add_argument("client_keyfile")
    fake.add_argument("hutong")
    fake.set_defaults(run=cmd_fake)
    records = commands.add_parser("records")
    records.add_argument("outs", nargs="+")
    records.set_defaults(run=cmd_records)
    args = parser.parse_args()
    return args.run(args) or 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""The attacker's toolkit for integration/scenario_adversarial.sh: builds,
signs and sends records a certified insider should not get away with, and
observes what the network made of them. Records, signatures and the CURVE
client come from integration/partner/hutong_client.py (written from the
docs alone). Needs Debian's python3-zmq, python3-msgpack, python3-nacl:
run it with /usr/bin/python3.

A record SPEC is a JSON object:
    {"kind": K, "region": R, "scope": S (default R), "key": KEY,
     "hlc": TIME (default "now"), "deleted": false, "fields": {...},
     "id_no": ID (elder: fill the fields from a citizen ID),
     "credit": DOC_NO (credit: an inspection with this document number),
     "badsig": true (spoil the signature)}
TIME is ms since 1970 or "now", "now-11m", "now+6m", "now-1d", "now-2s",
"now-500ms"; cert not_before/not_after and revocation revoked_at take
TIMEs too. A KEY or a bin field (pubkey) may name a public key file or be
64 hex digits. Without "key", the key is derived (records.md §8).

Subcommands (JSON on stdout; exit 0 unless the tool itself failed):
    sign      --key K [--idkey F] SPEC...           signed records as JSON lines
    put       --node EP --node-key PUB --key CONN --sign-key K [--idkey F]
              [--out FILE] SPEC...                  PUT them; per-record results
    putstore  --store DIR --sign-key K [--idkey F] [--out FILE] SPEC...
                                                    the same through hutong put --store
    probe     --node EP --node-key PUB --key K      INFO: ok | refused | timeout | error:NAME
    hello     --node EP --node-key PUB --key K --region R
                                                    HELLO on a node socket: welcome | refused | ...
    hold      --node EP --node-key PUB --key K --sign-key S --trigger FILE SPEC...
                                                    STATUS now; once FILE exists, PUT on the
                                                    same connection
    flood     --node EP --node-key PUB --key K --region R --count N --batch M --prefix P
                                                    junk and bad-signature records
    flood-check --store DIR --prefix P --count N    what of the flood the quarantine kept
    version   --store DIR KIND KEY SIG              current | conflict:REASON | history | absent
    quarantined --store DIR KEY                     error names quarantined for records with KEY
    converge  NODES [--partial REGION]... [--ignore KIND:KEY]...
                                                    every holder has the same current versions
    idno      SERIAL [COUNT]                        valid citizen IDs (born 1940-1955)
    keys      --idkey F                             derived key of each draft on stdin
"""
import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "partner"))
import hutong_client as hc  # noqa: E402

import msgpack  # noqa: E402
import zmq  # noqa: E402

HUTONG = os.environ.get("HUTONG", "hutong")
NOW_MS = int(time.time() * 1000)
_counter = [0]


# ---------------------------------------------------------------------------
# Small helpers

def out(obj):
    print(json.dumps(obj, ensure_ascii=False, sort_keys=True))
    sys.stdout.flush()


def ms_of(expr):
    """A TIME: ms since 1970, or now[+-]N(ms|s|m|h|d)."""
    if isinstance(expr, int):
        return expr
    text = str(expr).strip()
    if re.fullmatch(r"[0-9]+", text):
        return int(text)
    match = re.fullmatch(r"now(?:([+-])([0-9]+)(ms|s|m|h|d))?", text)
    if not match:
        raise SystemExit("attacker: bad time %r" % expr)
    if not match.group(1):
        return NOW_MS
    unit = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000}[match.group(3)]
    delta = int(match.group(2)) * unit
    return NOW_MS + delta if match.group(1) == "+" else NOW_MS - delta


def pubhex(value):
    """64 hex digits, or the public key in a key or .pub file."""
    if isinstance(value, str) and re.fullmatch(r"[0-9a-fA-F]{64}", value):
        return value.lower()
    with open(value) as handle:
        return json.load(handle)["public"]


def blake2b(data, size, key=b""):
    return hashlib.blake2b(data, digest_size=size, key=key).digest()


ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECKS = "10X98765432"


def idno(serial, area="441802"):
    """A valid 18-character citizen ID, born 1940..1955, from a serial."""
    year = 1940 + serial % 16
    month = 1 + (serial // 16) % 12
    day = 1 + (serial // 192) % 28
    body = "%s%04d%02d%02d%03d" % (area, year, month, day, (serial // 5376) % 1000)
    return body + ID_CHECKS[sum(int(d) * w for d, w in zip(body, ID_WEIGHTS)) % 11]


# ---------------------------------------------------------------------------
# The field tables: hutong_client.py either carries them (SCHEMA) or reads
# the registry `hutong schema --json` prints (HUTONG_SCHEMA names a copy)

_registry = []


def registry():
    if hasattr(hc, "SCHEMA"):
        return None
    if not _registry:
        path = os.environ.get("HUTONG_SCHEMA")
        if path:
            _registry.append(hc.Schema.load(path))
        else:
            result = subprocess.run([HUTONG, "schema", "--json"], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, timeout=30)
            if result.returncode != 0:
                raise SystemExit("attacker: hutong schema --json failed: %s"
                                 % result.stderr.decode(errors="replace").strip())
            _registry.append(hc.Schema(json.loads(result.stdout.decode())))
    return _registry[0]


def new_record(kind):
    tables = registry()
    return hc.Record(kind) if tables is None else hc.Record(kind, tables)


# ---------------------------------------------------------------------------
# Building and signing records from SPECs

def elder_fields(id_no, region):
    birth, sex = hc.citizen_id_facts(id_no)
    return {"name": "测试老人", "id_type": "居民身份证", "id_no": id_no, "sex": sex,
            "birth_date": birth, "hukou_region": region, "status": "active"}


def credit_fields(doc_no, issuer_region, dept):
    return {"type": "inspection", "date": time.strftime("%Y%m%d", time.gmtime(NOW_MS / 1000)),
            "doc_no": doc_no, "issuer_dept": dept, "issuer_region": issuer_region,
            "subject_name": "测试养老院", "subject_facility": "441802001001-1",
            "result": "合格", "method": "targeted"}


def derive_key(record, idkey):
    fields = record.fields
    if record.kind in ("cert", "revocation"):
        return fields["pubkey"].hex()
    if record.kind == "elder":
        if idkey is None:
            raise SystemExit("attacker: an elder key needs --idkey")
        return hc.elder_key(idkey, fields["id_no"])
    if record.kind == "facility":
        if "uscc" not in fields:
            return "%s-%s" % (record.region, fields["serial"])
        return blake2b(hc.pack(fields["uscc"]), 16).hex()
    if record.kind == "credit":
        return blake2b(b"".join(hc.pack(fields[n]) for n in
                                ("type", "issuer_region", "issuer_dept", "doc_no")), 16).hex()
    raise SystemExit("attacker: cannot derive a %s key" % record.kind)


def build(spec, secret, idkey):
    if isinstance(spec, str):
        spec = json.loads(spec)
    kind = spec["kind"]
    record = new_record(kind)
    record.region = spec["region"]
    record.scope = spec.get("scope", record.region)
    record.deleted = bool(spec.get("deleted", False))
    fields = {}
    if kind == "elder" and "id_no" in spec:
        fields = elder_fields(spec["id_no"], record.region)
    if kind == "credit" and "credit" in spec:
        fields = credit_fields(spec["credit"], spec.get("issuer_region", record.scope),
                               spec.get("issuer_dept", "market_regulation"))
    if kind == "cert":
        fields = {"name": "attacker", "role": "node", "not_before": "now-1d",
                  "not_after": "now+1d",
                  "kinds": ["elder", "facility", "credit", "cert", "revocation"]}
    if kind == "revocation" and not record.deleted:
        fields = {"revoked_at": "now", "reason": "attack"}
    if kind == "facility" and "serial" in spec:
        fields = {"name": "测试站点%s" % spec["serial"], "type": "community_station",
                  "status": "open", "serial": str(spec["serial"])}
    fields.update(spec.get("fields", {}))
    if spec.get("role") and kind == "cert":
        fields["role"] = spec["role"]
        fields["kinds"] = spec.get("kinds", ["credit"])
    types = dict(record.schema)
    for name in list(fields):
        if types.get(name) == "bin":
            fields[name] = bytes.fromhex(pubhex(fields[name]))
        if name in ("not_before", "not_after", "revoked_at"):
            fields[name] = ms_of(fields[name])
    record.fields = fields
    if "key" in spec:
        key = spec["key"]
        record.key = pubhex(key) if (os.path.exists(key) or re.fullmatch(r"[0-9a-fA-F]{64}", key)) \
            else key
    else:
        record.key = derive_key(record, idkey)
    #  Records made in one run get distinct hlcs even within a millisecond
    _counter[0] += 1
    record.hlc = (ms_of(spec.get("hlc", "now")) << hc.HLC_COUNTER_BITS) + _counter[0]
    record.check_header()
    record.sign(secret)
    if spec.get("badsig"):
        record.sig = bytes([record.sig[0] ^ 1]) + record.sig[1:]
    return record


def load_key(path):
    return hc.load_keyfile(path)


def summary(record):
    return {"kind": record.kind, "key": record.key, "hlc": record.hlc,
            "sig": record.sig.hex(), "deleted": record.deleted}


def build_all(args):
    _, secret = load_key(args.sign_key)
    idkey = hc.load_idkey(args.idkey) if args.idkey else None
    records = [build(spec, secret, idkey) for spec in args.specs]
    if getattr(args, "out", None):
        with open(args.out, "w") as handle:
            for record in records:
                handle.write(json.dumps(record.to_json(), ensure_ascii=False, sort_keys=True) + "\n")
    return records


# ---------------------------------------------------------------------------
# Sending

def cmd_sign(args):
    args.sign_key = args.key
    for record in build_all(args):
        print(json.dumps(record.to_json(), ensure_ascii=False, sort_keys=True))
    return 0


def cmd_put(args):
    records = build_all(args)
    public, secret = load_key(args.key)
    client = hc.NodeClient(args.node, hc.load_public(args.node_key), public, secret, args.timeout)
    #  A DEALER whose peer refused it blocks in send: give up instead
    client.socket.sndtimeo = args.timeout
    try:
        reply = client.put(records)
    except hc.NodeError as error:
        reply = {"error": error.error, "text": error.text,
                 "results": ["no_answer:" + error.error] * len(records)}
    except zmq.Again:
        reply = {"error": "timeout", "text": "could not even send",
                 "results": ["no_answer:timeout"] * len(records)}
    finally:
        client.close()
    out({"results": reply.get("results", []), "reply": reply,
         "records": [summary(r) for r in records]})
    return 0


LINE_RESULT = re.compile(r"line (\d+): (?:[a-z ]+: )?([a-z_]+) \(")


def cmd_putstore(args):
    records = build_all(args)
    path = args.out or os.path.join(os.environ.get("TMPDIR", "/tmp"), "attacker-%d.jsonl" % os.getpid())
    if not args.out:
        with open(path, "w") as handle:
            for record in records:
                handle.write(json.dumps(record.to_json(), ensure_ascii=False, sort_keys=True) + "\n")
    result = subprocess.run([HUTONG, "put", "--store", args.store, path],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if not args.out:
        os.unlink(path)
    results = ["ok"] * len(records)
    stderr = result.stderr.decode(errors="replace")
    for match in LINE_RESULT.finditer(stderr):
        number = int(match.group(1))
        if 1 <= number <= len(results):
            results[number - 1] = match.group(2)
    if result.returncode not in (0, 1):
        results = ["tool_failed:%d" % result.returncode] * len(records)
    try:
        summary_json = json.loads(result.stdout.decode() or "{}")
    except ValueError:
        summary_json = {}
    out({"results": results, "exit": result.returncode, "summary": summary_json,
         "stderr": stderr.strip()[-2000:], "records": [summary(r) for r in records]})
    return 0


class Dealer:
    """A CURVE DEALER with a monitor that tells a ZAP refusal at once."""

    def __init__(self, endpoint, node_key, keyfile):
        public, secret = load_key(keyfile)
        self.context = zmq.Context.instance()
        self.socket = hc.curve_dealer(self.context, hc.load_public(node_key), public, secret)
        self.monitor = self.socket.get_monitor_socket(
            zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
            | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_HANDSHAKE_SUCCEEDED)
        self.socket.connect(endpoint)

    def exchange(self, frames, want, timeout_ms):
        """Send frames; wait for a reply command in want. Returns the
        outcome: the reply command, "refused" (ZAP), "error:NAME", "timeout"."""
        from zmq.utils.monitor import recv_monitor_message
        deadline = time.monotonic() + timeout_ms / 1000.0
        #  A DEALER whose only peer failed the handshake has no pipe left
        #  and would block in send forever: never block
        while True:
            try:
                self.socket.send_multipart(frames, flags=zmq.NOBLOCK)
                break
            except zmq.Again:
                if self.monitor.poll(10):
                    event = recv_monitor_message(self.monitor)
                    if event["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                        return "refused"
                if time.monotonic() >= deadline:
                    return "timeout"
        poller = zmq.Poller()
        poller.register(self.socket, zmq.POLLIN)
        poller.register(self.monitor, zmq.POLLIN)
        while time.monotonic() < deadline:
            ready = dict(poller.poll(max(1, int((deadline - time.monotonic()) * 1000))))
            if self.monitor in ready:
                event = recv_monitor_message(self.monitor)
                if event["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                    return "refused"
                if event["event"] in (zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,
                                      zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL):
                    return "handshake_failed"
            if self.socket in ready:
                parts = self.socket.recv_multipart()
                command = parts[0].decode("ascii", "replace")
                if command == "ERROR":
                    body = msgpack.unpackb(parts[1], raw=False) if len(parts) > 1 else {}
                    return "error:%s" % body.get("error", "?")
                if command in want:
                    return command
        return "timeout"

    def close(self):
        self.socket.disable_monitor()
        self.monitor.close(0)
        self.socket.close(0)


def cmd_probe(args):
    dealer = Dealer(args.node, args.node_key, args.key)
    try:
        outcome = dealer.exchange([b"INFO", hc.pack({"token": 1})], ("INFO-OK",), args.timeout)
    finally:
        dealer.close()
    print("ok" if outcome == "INFO-OK" else outcome)
    return 0


def cmd_hello(args):
    dealer = Dealer(args.node, args.node_key, args.key)
    body = hc.pack({"epoch": os.urandom(16), "name": "attacker", "region": args.region,
                    "seq": 0, "v": 1})
    try:
        outcome = dealer.exchange([b"HELLO", body], ("WELCOME",), args.timeout)
    finally:
        dealer.close()
    print("welcome" if outcome == "WELCOME" else outcome)
    return 0


def cmd_hold(args):
    """Connect and get INFO (any admitted key may: STATUS is for operators); wait until the trigger file appears; then,
    on the same connection, PUT the SPECs (signed by --sign-key)."""
    dealer = Dealer(args.node, args.node_key, args.key)
    try:
        first = dealer.exchange([b"INFO", hc.pack({"token": 1})], ("INFO-OK",), args.timeout)
        out({"first": "ok" if first == "INFO-OK" else first})
        deadline = time.monotonic() + args.wait
        while not os.path.exists(args.trigger) and time.monotonic() < deadline:
            time.sleep(0.05)
        records = build_all(args)
        frames = [b"PUT", hc.pack({"token": 2})] + [record.encode() for record in records]
        second = dealer.exchange(frames, ("PUT-OK",), args.timeout)
        out({"second": "ok" if second == "PUT-OK" else second,
             "records": [summary(r) for r in records]})
    finally:
        dealer.close()
    return 0


def flood_record(index, prefix, region, author, padding):
    """A decodable elder record whose signature is random bytes."""
    record = new_record("elder")
    record.key = "%s-%06d" % (prefix, index)
    record.region = record.scope = region
    record.hlc = (int(time.time() * 1000) << hc.HLC_COUNTER_BITS) + (index & 0xffff)
    record.author = author
    record.fields = {"name": "垃圾%d" % index, "address": padding, "contact": padding,
                     "id_no": "x%d" % index}
    record.seed = os.urandom(32)
    record.sig = os.urandom(64)
    return record.encode()


def cmd_flood(args):
    public, secret = load_key(args.key)
    client = hc.NodeClient(args.node, hc.load_public(args.node_key), public, secret, args.timeout)
    client.socket.sndtimeo = args.timeout
    #  Decoding checks types, not lengths (validation comes after the
    #  signature): each record is about 1.9 kB, so 50,000 unbounded would
    #  be some 90 MB of quarantine
    padding = "填" * 300
    counts, errors, sent, started = {}, {}, 0, time.monotonic()
    batches = 0
    try:
        index = 0
        while index < args.count:
            frames = []
            for _ in range(min(args.batch, args.count - index)):
                #  Every tenth is not even a record; the first and last are
                #  always decodable, so the quarantine check can find them
                if index % 10 == 5 and index != args.count - 1:
                    frames.append(os.urandom(64 + index % 200))
                else:
                    frames.append(flood_record(index, args.prefix, args.region, public, padding))
                index += 1
            for attempt in range(50):
                try:
                    reply = client.json_request("PUT", "PUT-OK", frames)
                    for name in reply.get("results", []):
                        counts[name] = counts.get(name, 0) + 1
                    if "error" in reply:
                        errors[reply["error"]] = errors.get(reply["error"], 0) + 1
                    break
                except hc.NodeError as error:
                    errors[error.error] = errors.get(error.error, 0) + 1
                    if error.error != "rate_limited":
                        break
                except zmq.Again:
                    errors["send_timeout"] = errors.get("send_timeout", 0) + 1
                    break
                    time.sleep(0.05 * (attempt + 1))
            sent += len(frames)
            batches += 1
    finally:
        client.close()
    out({"sent": sent, "batches": batches, "results": counts, "errors": errors,
         "seconds": round(time.monotonic() - started, 2)})
    return 0


# ---------------------------------------------------------------------------
# Observing

def run_tool(args, timeout=60):
    return subprocess.run([HUTONG] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout)


def quarantine_lines(store):
    """hutong quarantine's JSON lines (with --json where the tool has it)."""
    result = run_tool(["quarantine", "--json", "--store", store], timeout=120)
    if result.returncode == 2:
        result = run_tool(["quarantine", "--store", store], timeout=120)
    return result


def json_lines(data):
    return [json.loads(line) for line in data.decode().splitlines() if line.strip()]


def cmd_flood_check(args):
    """Count quarantined entries and find the flood's first and last record
    by their keys, without decoding 50,000 JSON lines."""
    result = quarantine_lines(args.store)
    entries = flood = 0
    first = ('"%s-%06d"' % (args.prefix, 0)).encode()
    last = ('"%s-%06d"' % (args.prefix, args.count - 1)).encode()
    first_present = last_present = False
    marker = ('"%s-' % args.prefix).encode()
    for line in result.stdout.splitlines():
        if not line.strip():
            continue
        entries += 1
        if marker in line:
            flood += 1
            first_present = first_present or first in line
            last_present = last_present or last in line
    out({"entries": entries, "flood_entries": flood, "first_present": first_present,
         "last_present": last_present, "exit": result.returncode})
    return 0


def cmd_version(args):
    """Where one version (by signature) stands in a store."""
    current = run_tool(["get", "--store", args.store, args.kind, args.key])
    if current.returncode == 0 and json_lines(current.stdout) \
            and json_lines(current.stdout)[-1].get("sig") == args.sig:
        print("current")
        return 0
    history = run_tool(["history", "--store", args.store, args.kind, args.key])
    for record in json_lines(history.stdout) if history.returncode == 0 else []:
        if record.get("sig") == args.sig:
            print("conflict:%s" % record["conflict"] if record.get("conflict") else "history")
            return 0
    print("absent")
    return 0


def cmd_quarantined(args):
    result = quarantine_lines(args.store)
    names = []
    for line in result.stdout.splitlines():
        if args.key.encode() not in line:
            continue
        entry = json.loads(line)
        record = entry.get("record") or {}
        if record.get("key") == args.key and (not args.sig or record.get("sig") == args.sig):
            names.append(entry.get("error"))
    out(names)
    return 0


def load_nodes(path):
    nodes = []
    with open(path) as handle:
        for line in handle:
            parts = line.split()
            if parts and not parts[0].startswith("#"):
                nodes.append({"region": parts[0], "store": parts[1]})
    return nodes


def holds(node, record):
    return hc.region_covers(node, record["region"]) or hc.region_covers(record["scope"], node)


def cmd_converge(args):
    """Every entity held by several nodes has one current version at all of
    them; every full node holds every current version the holder rule gives
    it. A partial node (cut off, e.g. revoked) is checked for agreement
    only: what it holds must match, it may lack what came after."""
    nodes = load_nodes(args.nodes)
    partial = set(args.partial or [])
    ignored = {tuple(item.split(":", 1)) for item in args.ignore or []}
    held = {}
    for node in nodes:
        result = run_tool(["export", "--store", node["store"]], timeout=60)
        if result.returncode != 0:
            print("converge: cannot export %s" % node["store"])
            return 1
        held[node["region"]] = {(r["kind"], r["key"]): r for r in json_lines(result.stdout)}
    problems = []
    versions = {}
    for region, records in held.items():
        for entity, record in records.items():
            versions.setdefault(entity, {})[region] = record
    disagree = 0
    for entity, by_region in sorted(versions.items()):
        if entity in ignored:
            #  Known to differ at partial nodes: compare the full ones only
            by_region = {region: r for region, r in by_region.items() if region not in partial}
        sigs = {r["sig"] for r in by_region.values()}
        if len(sigs) > 1:
            disagree += 1
            if disagree <= 5:
                problems.append("%s %s: %d current versions: %s" % (
                    entity[0], entity[1], len(sigs), "; ".join(
                        "%s has hlc=%d author=%.8s%s" % (region, r["hlc"], r["author"],
                                                         " deleted" if r.get("deleted") else "")
                        for region, r in sorted(by_region.items()))))
    missing = {}
    for entity, by_region in versions.items():
        full_versions = [r for region, r in by_region.items() if region not in partial]
        if not full_versions or len({r["sig"] for r in full_versions}) != 1:
            continue
        record = full_versions[0]
        for node in nodes:
            region = node["region"]
            if region in partial or entity in held[region] or not holds(region, record):
                continue
            missing.setdefault(region, []).append("%s %s" % entity)
    for region, entities in sorted(missing.items()):
        problems.append("%s lacks %d records it should hold, e.g. %s" % (
            region, len(entities), ", ".join(entities[:3])))
    counts = {}
    for entity in versions:
        counts[entity[0]] = counts.get(entity[0], 0) + 1
    lagging = {region: sum(1 for entity, by in versions.items()
                           if region not in by and any(holds(region, r) for r in by.values()))
               for region in partial}
    report = {"entities": len(versions), "kinds": counts, "disagreeing": disagree,
              "per_node": {region: len(records) for region, records in held.items()},
              "partial_nodes_lacking": lagging, "problems": problems}
    out(report)
    return 1 if problems else 0


def cmd_idno(args):
    for serial in range(args.serial, args.serial + args.count):
        print(idno(serial))
    return 0


def cmd_keys(args):
    idkey = hc.load_idkey(args.idkey)
    for line in sys.stdin:
        if not line.strip():
            continue
        draft = json.loads(line)
        record = new_record(draft["kind"])
        record.fields = draft.get("fields", {})
        print(draft.get("key") or derive_key(record, idkey))
    return 0


# ---------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(prog="attacker.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def node_options(p, key_required=True):
        p.add_argument("--node", required=True)
        p.add_argument("--node-key", required=True)
        p.add_argument("--key", required=key_required)
        p.add_argument("--timeout", type=int, default=5000)

    p = sub.add_parser("sign")
    p.add_argument("--key", required=True)
    p.add_argument("--idkey")
    p.add_argument("specs", nargs="+")
    p.set_defaults(run=cmd_sign)

    p = sub.add_parser("put")
    node_options(p)
    p.add_argument("--sign-key", required=True)
    p.add_argument("--idkey")
    p.add_argument("--out")
    p.add_argument("specs", nargs="+")
    p.set_defaults(run=cmd_put)

    p = sub.add_parser("putstore")
    p.add_argument("--store", required=True)
    p.add_argument("--sign-key", required=True)
    p.add_argument("--idkey")
    p.add_argument("--out")
    p.add_argument("specs", nargs="+")
    p.set_defaults(run=cmd_putstore)

    p = sub.add_parser("probe")
    node_options(p)
    p.set_defaults(run=cmd_probe)

    p = sub.add_parser("hello")
    node_options(p)
    p.add_argument("--region", required=True)
    p.set_defaults(run=cmd_hello)

    p = sub.add_parser("hold")
    node_options(p)
    p.add_argument("--sign-key", required=True)
    p.add_argument("--idkey")
    p.add_argument("--trigger", required=True)
    p.add_argument("--wait", type=float, default=30)
    p.add_argument("specs", nargs="+")
    p.set_defaults(run=cmd_hold)

    p = sub.add_parser("flood")
    node_options(p)
    p.add_argument("--region", required=True)
    p.add_argument("--count", type=int, default=50000)
    p.add_argument("--batch", type=int, default=5000)
    p.add_argument("--prefix", default="flood")
    p.set_defaults(run=cmd_flood, timeout=60000)

    p = sub.add_parser("flood-check")
    p.add_argument("--store", required=True)
    p.add_argument("--prefix", default="flood")
    p.add_argument("--count", type=int, required=True)
    p.set_defaults(run=cmd_flood_check)

    p = sub.add_parser("version")
    p.add_argument("--store", required=True)
    p.add_argument("kind")
    p.add_argument("key")
    p.add_argument("sig")
    p.set_defaults(run=cmd_version)

    p = sub.add_parser("quarantined")
    p.add_argument("--store", required=True)
    p.add_argument("--sig")
    p.add_argument("key")
    p.set_defaults(run=cmd_quarantined)

    p = sub.add_parser("converge")
    p.add_argument("nodes")
    p.add_argument("--partial", action="append")
    p.add_argument("--ignore", action="append", metavar="KIND:KEY",
                   help="an entity known to differ at partial nodes")
    p.set_defaults(run=cmd_converge)

    p = sub.add_parser("idno")
    p.add_argument("serial", type=int)
    p.add_argument("count", type=int, nargs="?", default=1)
    p.set_defaults(run=cmd_idno)

    p = sub.add_parser("keys")
    p.add_argument("--idkey", required=True)
    p.set_defaults(run=cmd_keys)

    args = parser.parse_args()
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())

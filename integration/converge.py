#!/usr/bin/env python3
"""Convergence check for the fault scenarios (and any test that records
its writes): after a fault has healed, every acknowledged write is present
at every node the holder rule gives it, at the same current version there,
nothing is quarantined that the fault does not explain, and every node
that should run answers and is linked to its neighbours.

Inputs are plain data:

* nodes: a list of dicts {"region", "parent" (None for the root), "store",
  "key", "pub", "client"}: the table holders.py reads (load_nodes reads it
  from a TSV file; network.sh writes one with network_nodes_tsv FILE).
* writes: a list of dicts, one per record draft a test sent, in the order
  they were acknowledged: {"kind", "region", "scope", "fields"}, optionally
  "key" (else derived as docs/records.md section 8 says; an elder's needs
  the network idkey, or it is matched by its id_no), "ack" (default True:
  the `hutong put` that carried it exited 0; False: it did not, so the
  draft may or may not have been stored), and any notes ("via", "t", ...)
  which are kept for messages. load_writes reads them from JSON lines.

An entity's expected current version is its last acknowledged write, or
any write attempted after it that was not acknowledged (it may have been
stored). Writes of one entity must therefore be recorded in the order they
were made: a later write is newer (put reads the current version first
and timestamps after it), and its content must be what every holder ends
with. Contents are compared by region, scope and fields.

Python API:

    import converge
    nodes = converge.load_nodes("nodes.tsv")
    writes = converge.load_writes("acked.jsonl")
    report = converge.check(nodes, writes, idkey=converge.load_idkey("net.idkey"),
                            faults=12, allow_quarantine=(), down=())
    report.ok, report.problems, report.summary()  # 'writes acknowledged N, lost 0, ...'
    report = converge.wait(nodes, writes, seconds=60, ...)   # poll until ok
    report.seconds                                           # time it took

    # the pieces, on data already gathered:
    held = converge.snapshot(nodes)          # {region: [current records]}
    converge.check_writes(held, writes, idkey)   -> (lost, stale, checked)
    converge.check_agreement(held)           -> problems (versions differ,
                                                missing or extra records)
    converge.check_counts(held, statuses)    -> problems (status counts vs store)
    converge.check_histories(nodes, writes, idkey, sample)
                                             -> problems (a version kept twice)
    converge.holds(region, record)           # the holder rule

Command line (exit 0 converged, 1 not, 2 usage):

    converge.py check NODES WRITES... [--idkey FILE] [--faults N]
                [--down REGION]... [--allow-quarantine REASON,...]
                [--no-links] [--not-exact] [--no-counts] [--histories N]
                [--wait SECONDS] [--json]

prints `writes acknowledged N, lost L, nodes N, faults F` and, on failure,
what is missing where.

    converge.py key [--idkey FILE] < DRAFTS     each draft's "KIND KEY"

    converge.py absent NODES WRITES... [--idkey FILE]
                the entities of these writes are held by no node (writes a
                node refused, e.g. store_full: never stored, not even
                later); exit 1 naming where one is held
"""
import hashlib
import json
import os
import subprocess
import sys
import time

import msgpack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import holders  # noqa: E402  (the holder rule and the node table)

HUTONG = os.environ.get("HUTONG", "hutong")

prefix = holders.prefix
covers = holders.covers
load_nodes = holders.load_nodes


def holds(region, record):
    """Node of REGION holds RECORD (a dict with region and scope): upward
    to its home and ancestors, downward inside its scope."""
    return holders.holds(region, {"region": record["region"],
                                  "scope": record.get("scope") or record["region"]})


# --------------------------------------------------------------------------
# Inputs

def load_writes(*paths):
    """Writes from JSON-lines files, in file order, each with "ack"."""
    writes = []
    for path in paths:
        with open(path, encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                write = json.loads(line)
                write.setdefault("ack", True)
                write.setdefault("where", "%s:%d" % (os.path.basename(path), number))
                writes.append(write)
    return writes


def load_idkey(path):
    """The network pseudonym key (64 hex digits in a file)."""
    with open(path) as handle:
        return bytes.fromhex(handle.read().strip())


def _canonical(text):
    return msgpack.packb(text, use_bin_type=True)


def entity_of(write, idkey=None):
    """(kind, key) of a write: its "key", or derived (records.md section 8).
    An elder without an idkey is named ("elder", "id_no:" + its id_no)."""
    kind, fields = write["kind"], write.get("fields", {})
    if write.get("key"):
        return kind, write["key"]
    if kind == "elder":
        if idkey is None:
            return kind, "id_no:" + fields["id_no"]
        return kind, hashlib.blake2b(_canonical(fields["id_no"]), digest_size=16,
                                     key=idkey).hexdigest()
    if kind == "facility" and "uscc" in fields:
        return kind, hashlib.blake2b(_canonical(fields["uscc"]), digest_size=16).hexdigest()
    if kind == "credit":
        message = b"".join(_canonical(fields[name]) for name in
                           ("type", "issuer_region", "issuer_dept", "doc_no"))
        return kind, hashlib.blake2b(message, digest_size=16).hexdigest()
    if kind in ("cert", "revocation"):
        return kind, fields["pubkey"]
    raise ValueError("cannot name the entity of %s write %s: give it a key"
                     % (kind, write.get("where", "?")))


def content(record):
    """What a write decides about its entity: region, scope, fields."""
    return json.dumps([record["region"], record.get("scope") or record["region"],
                       record.get("fields", {}), bool(record.get("deleted", False))],
                      sort_keys=True, ensure_ascii=False)


def version(record):
    """One signed version (a batch shares its signature: hlc and key tell)."""
    return (record["hlc"], record["author"], record["sig"])


# --------------------------------------------------------------------------
# Gathering

def _run(args, timeout=60):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout)


def export(store):
    """The current records of a store (running or not), as dicts."""
    return holders.export(store)


def snapshot(nodes):
    """{region: [current records]} of every node's store."""
    return {node["region"]: export(node["store"]) for node in nodes}


def status(node, timeout_ms=3000):
    """The node's status JSON, or None if it does not answer."""
    return holders.status(node, timeout_ms)


def quarantine_counts(node, got_status=None):
    """{reason: count} of a node's quarantine: from its status, or from
    its store if it does not answer."""
    if got_status is not None:
        return dict(got_status.get("quarantine", {}))
    result = _run([HUTONG, "quarantine", "--store", node["store"], "--summary", "--json"])
    if result.returncode != 0:
        return {"(unreadable quarantine)": 1}
    #  --summary counts by "REASON SOURCE"
    counts = json.loads(result.stdout.decode()).get("counts", {})
    out = {}
    for name, value in counts.items():
        reason = name.split(" ", 1)[0]
        out[reason] = out.get(reason, 0) + value
    return out


# --------------------------------------------------------------------------
# Checks on gathered data

def _index(records):
    index = {}
    for record in records:
        index[(record["kind"], record["key"])] = record
        if record["kind"] == "elder" and "id_no" in record.get("fields", {}):
            index[("elder", "id_no:" + record["fields"]["id_no"])] = record
    return index


def expected(writes, idkey=None):
    """{entity: (acked write or None, [contents it may end with])}: the
    last acknowledged write and the unacknowledged ones after it."""
    out = {}
    for write in writes:
        entity = entity_of(write, idkey)
        last, allowed = out.get(entity, (None, []))
        if write.get("ack", True):
            out[entity] = (write, [content(write)])
        else:
            out[entity] = (last, allowed + [content(write)])
    return {entity: value for entity, value in out.items() if value[0] is not None}


def check_writes(held, writes, idkey=None, contents=True):
    """Every acknowledged write at every holder: held is {region: [current
    records]}. contents=False only asks that the entity be there. Returns
    (lost, stale, checked): lost and stale are lists of {"node", "entity",
    "write", "have"}; lost: the holder lacks the entity; stale: it holds
    another version than the last acknowledged write (or a later attempt)."""
    lost, stale, checked = [], [], 0
    indexes = {region: _index(records) for region, records in held.items()}
    for entity, (write, allowed) in expected(writes, idkey).items():
        for region, index in indexes.items():
            if not holds(region, write):
                continue
            checked += 1
            have = index.get(entity)
            if have is None:
                lost.append({"node": region, "entity": entity, "write": write, "have": None})
            elif contents and content(have) not in allowed:
                stale.append({"node": region, "entity": entity, "write": write, "have": have})
    return lost, stale, checked


def held_anywhere(held, writes, idkey=None):
    """[(region, write)] for each node holding an entity of writes (any
    version): for writes that must never have been stored."""
    indexes = {region: _index(records) for region, records in held.items()}
    found = []
    for write in writes:
        entity = entity_of(write, idkey)
        found += [(region, write) for region, index in sorted(indexes.items())
                  if entity in index]
    return found


def unacked_stored(held, writes, idkey=None):
    """How many writes that were not acknowledged are the current version
    at every holder anyway (their put timed out, yet the node stored it)."""
    indexes = {region: _index(records) for region, records in held.items()}
    stored = 0
    for write in writes:
        if write.get("ack", True):
            continue
        entity, want = entity_of(write, idkey), content(write)
        places = [index.get(entity) for region, index in indexes.items() if holds(region, write)]
        if places and all(have is not None and content(have) == want for have in places):
            stored += 1
    return stored


def describe(record):
    return "%s %s region=%s scope=%s hlc=%s author=%.8s" % (
        record["kind"], record["key"], record["region"], record.get("scope"),
        record["hlc"], record["author"])


def check_agreement(held, exact=True):
    """Every node holds each entity the holder rule gives it at the same
    current version: the newest (hlc, author) any node holds. exact: and
    nothing the rule does not give it. Returns a list of problem texts."""
    union = {}
    for records in held.values():
        for record in records:
            entity = (record["kind"], record["key"])
            if entity not in union or (record["hlc"], record["author"]) > \
                    (union[entity]["hlc"], union[entity]["author"]):
                union[entity] = record
    problems = []
    for region, records in sorted(held.items()):
        have = {(r["kind"], r["key"]): r for r in records}
        missing, stale, extra = [], [], []
        for entity, newest in union.items():
            mine = have.get(entity)
            if holds(region, newest):
                if mine is None:
                    missing.append(newest)
                elif version(mine) != version(newest):
                    stale.append(mine)
            elif mine is not None and exact:
                extra.append(mine)
        if missing or stale or extra:
            lines = ["node %s: %d missing, %d at an older version, %d it should not hold" % (
                region, len(missing), len(stale), len(extra))]
            lines += ["    missing %s" % describe(r) for r in missing[:5]]
            lines += ["    older   %s" % describe(r) for r in stale[:5]]
            lines += ["    extra   %s" % describe(r) for r in extra[:5]]
            problems.append("\n".join(lines))
    return problems


def check_counts(held, statuses):
    """Each answering node's status counts (records per kind) equal what
    its store lists: a version counted twice, or an entity kept twice,
    shows here. Returns problem texts."""
    problems = []
    for region, records in sorted(held.items()):
        got = statuses.get(region)
        if got is None:
            continue
        listed = {}
        for record in records:
            listed[record["kind"]] = listed.get(record["kind"], 0) + 1
        counted = {kind: n for kind, n in got.get("records", {}).items() if n}
        if counted != listed:
            problems.append("node %s counts %s but its store lists %s" % (
                region, json.dumps(counted, sort_keys=True), json.dumps(listed, sort_keys=True)))
    return problems


def history(store, kind, key):
    """Every version of an entity a store keeps, oldest first."""
    result = _run([HUTONG, "history", "--store", store, kind, key])
    if result.returncode != 0:
        return []
    return [json.loads(line) for line in result.stdout.decode().splitlines() if line.strip()]


def check_histories(nodes, writes, idkey=None, sample=20):
    """The histories of the entities of the last SAMPLE acknowledged writes
    keep no version twice at any holder (a batch applied again must be a
    no-op). Returns problem texts."""
    problems = []
    expect = expected(writes, idkey)
    recent = []
    #  Most recent first: by the time a write was recorded ("t"), if known
    order = sorted(range(len(writes)), key=lambda i: (writes[i].get("t", 0), i), reverse=True)
    for write in (writes[i] for i in order):
        entity = entity_of(write, idkey)
        if write.get("ack", True) and entity in expect and entity not in recent:
            recent.append(entity)
        if len(recent) >= sample:
            break
    for kind, key in recent:
        write = expect[(kind, key)][0]
        if key.startswith("id_no:"):
            continue
        for node in nodes:
            if not holds(node["region"], write):
                continue
            versions = [version(r) for r in history(node["store"], kind, key)]
            if len(set(versions)) != len(versions):
                problems.append("node %s keeps a version of %s %s twice (%d versions, %d distinct)"
                                % (node["region"], kind, key, len(versions), len(set(versions))))
    return problems


def check_links(nodes, statuses):
    """Each answering node's parent and children are connected."""
    problems = []
    answering = {region for region, got in statuses.items() if got is not None}
    for node in nodes:
        got = statuses.get(node["region"])
        if got is None:
            continue
        want = {n["region"] for n in nodes if n["parent"] == node["region"]
                and n["region"] in answering}
        if node["parent"] and node["parent"] in answering:
            want.add(node["parent"])
        connected = {p["region"] for p in got.get("peers", []) if p.get("connected")}
        if not want <= connected:
            problems.append("node %s: not connected to %s" % (
                node["region"], " ".join(sorted(want - connected))))
    return problems


# --------------------------------------------------------------------------
# The whole check

class Report:
    """The outcome of one check: ok, problems (texts), and the figures."""

    def __init__(self):
        self.problems = []
        self.acknowledged = self.unacknowledged = self.entities = 0
        self.checked = self.lost = self.stale = 0
        self.nodes = self.faults = 0
        self.seconds = 0.0
        self.quarantine = {}
        self.unacked_stored = 0     # writes not acknowledged, yet current everywhere
        self.histories = 0          # entities whose histories were checked

    @property
    def ok(self):
        return not self.problems

    def summary(self):
        """The one line: "lost" counts each holder that lacks an
        acknowledged write or holds an older version than it."""
        return "writes acknowledged %d, lost %d, nodes %d, faults %d" % (
            self.acknowledged, self.lost + self.stale, self.nodes, self.faults)

    def details(self):
        return ("entities %d, holder checks %d, missing %d, stale %d, unacknowledged %d "
                "(%d of them stored), histories checked %d, quarantined %s, %.1f s" % (
                    self.entities, self.checked, self.lost, self.stale, self.unacknowledged,
                    self.unacked_stored, self.histories,
                    json.dumps(self.quarantine, sort_keys=True), self.seconds))

    def as_json(self):
        return {"ok": self.ok, "acknowledged": self.acknowledged,
                "unacknowledged": self.unacknowledged, "entities": self.entities,
                "checked": self.checked, "lost": self.lost, "stale": self.stale,
                "nodes": self.nodes, "faults": self.faults, "seconds": self.seconds,
                "unacked_stored": self.unacked_stored, "histories": self.histories,
                "quarantine": self.quarantine, "problems": self.problems}


def _write_note(write):
    notes = [write.get("where", "")]
    if write.get("via"):
        notes.append("via " + str(write["via"]))
    return " ".join(n for n in notes if n)


def check(nodes, writes, idkey=None, faults=0, down=(), allow_quarantine=(),
          links=True, exact=True, counts=True, histories=0, held=None, statuses=None):
    """Run every check once; return a Report. down: regions of nodes that
    are stopped on purpose: left out of every check (not asked, their
    stores not read; their neighbours are not expected linked to them, and
    what only they should hold is not looked for). links: each
    node's neighbours connected; exact: no node holds what the holder rule
    does not give it; counts: status counts match the stores; histories:
    so many of the last acknowledged entities' histories keep no version
    twice. held and statuses may be given (already gathered) instead of
    read here."""
    report = Report()
    report.nodes, report.faults = len(nodes), faults
    report.acknowledged = sum(1 for w in writes if w.get("ack", True))
    report.unacknowledged = len(writes) - report.acknowledged
    down = set(down)
    nodes = [n for n in nodes if n["region"] not in down]
    report.nodes = len(nodes)
    if statuses is None:
        statuses = {n["region"]: (None if n["region"] in down else status(n)) for n in nodes}
    for node in nodes:
        if node["region"] not in down and statuses.get(node["region"]) is None:
            report.problems.append("node %s does not answer status" % node["region"])
    if held is None:
        try:
            held = snapshot(nodes)
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            report.problems.append("cannot read a store: %s" % error)
            return report
    expect = expected(writes, idkey)
    report.entities = len(expect)
    lost, stale, report.checked = check_writes(held, writes, idkey)
    report.lost, report.stale = len(lost), len(stale)
    for item in lost[:20]:
        report.problems.append("lost: %s %s (%s) missing at %s" % (
            item["entity"][0], item["entity"][1], _write_note(item["write"]), item["node"]))
    for item in stale[:20]:
        report.problems.append("stale: %s %s (%s) at %s is not the last acknowledged write: "
                               "holds %s" % (item["entity"][0], item["entity"][1],
                                             _write_note(item["write"]), item["node"],
                                             describe(item["have"])))
    if len(lost) + len(stale) > 40:
        report.problems.append("... %d more" % (len(lost) + len(stale) - 40))
    report.problems += check_agreement(held, exact)
    if counts:
        report.problems += check_counts(held, statuses)
    report.unacked_stored = unacked_stored(held, writes, idkey)
    if histories and not report.problems:
        report.histories = min(histories, report.entities)
        report.problems += check_histories(nodes, writes, idkey, histories)
    allow = set(allow_quarantine)
    for node in nodes:
        counts = quarantine_counts(node, statuses.get(node["region"]))
        for reason, count in counts.items():
            if count:
                report.quarantine[reason] = report.quarantine.get(reason, 0) + count
                if reason not in allow:
                    report.problems.append("node %s quarantined %d record(s) as %s" % (
                        node["region"], count, reason))
    if links:
        report.problems += check_links(nodes, statuses)
    return report


def wait(nodes, writes, seconds, interval=0.5, **options):
    """Check until it passes or SECONDS have gone by; the last Report, its
    .seconds the time until it passed (or the time waited)."""
    start = time.monotonic()
    while True:
        report = check(nodes, writes, **options)
        report.seconds = time.monotonic() - start
        if report.ok or report.seconds >= seconds:
            return report
        time.sleep(interval)


# --------------------------------------------------------------------------
# Command line

def cmd_key(args):
    idkey = load_idkey(args[args.index("--idkey") + 1]) if "--idkey" in args else None
    for line in sys.stdin:
        if line.strip():
            print("%s %s" % entity_of(json.loads(line), idkey))
    return 0


def cmd_absent(args):
    idkey = None
    if "--idkey" in args:
        at = args.index("--idkey")
        idkey = load_idkey(args[at + 1])
        args = args[:at] + args[at + 2:]
    if len(args) < 2:
        print("converge: absent NODES WRITES...", file=sys.stderr)
        return 2
    nodes = load_nodes(args[0])
    writes = load_writes(*args[1:])
    found = held_anywhere(snapshot(nodes), writes, idkey)
    entities = len({entity_of(w, idkey) for w in writes})
    print("writes %d, entities %d, held at %d place(s), nodes %d" % (
        len(writes), entities, len(found), len(nodes)))
    for region, write in found[:20]:
        print("held: %s %s (%s) at %s" % (entity_of(write, idkey) + (_write_note(write), region)))
    return 1 if found or not writes else 0


def main(argv):
    if argv and argv[0] == "key":
        return cmd_key(argv[1:])
    if argv and argv[0] == "absent":
        return cmd_absent(argv[1:])
    if len(argv) < 3 or argv[0] != "check":
        print(__doc__, file=sys.stderr)
        return 2
    args = argv[1:]
    options = {"faults": 0, "down": [], "allow_quarantine": [], "links": True, "exact": True}
    files, seconds, as_json, idkey = [], 0, False, None
    i = 0
    try:
        while i < len(args):
            arg = args[i]
            if arg == "--idkey":
                idkey = load_idkey(args[i + 1]); i += 1
            elif arg == "--faults":
                options["faults"] = int(args[i + 1]); i += 1
            elif arg == "--down":
                options["down"].append(args[i + 1]); i += 1
            elif arg == "--allow-quarantine":
                options["allow_quarantine"] += [r for r in args[i + 1].split(",") if r]; i += 1
            elif arg == "--wait":
                seconds = float(args[i + 1]); i += 1
            elif arg == "--histories":
                options["histories"] = int(args[i + 1]); i += 1
            elif arg == "--no-counts":
                options["counts"] = False
            elif arg == "--no-links":
                options["links"] = False
            elif arg == "--not-exact":
                options["exact"] = False
            elif arg == "--json":
                as_json = True
            elif arg.startswith("--"):
                raise ValueError("unknown option " + arg)
            else:
                files.append(arg)
            i += 1
    except (IndexError, ValueError) as error:
        print("converge: %s" % error, file=sys.stderr)
        return 2
    if len(files) < 1:
        print("converge: check NODES WRITES...", file=sys.stderr)
        return 2
    nodes = load_nodes(files[0])
    writes = load_writes(*files[1:])
    report = wait(nodes, writes, seconds, idkey=idkey, **options)
    if as_json:
        print(json.dumps(report.as_json(), ensure_ascii=False, sort_keys=True))
    else:
        print(report.summary())
        print("# " + report.details())
        for problem in report.problems:
            print(problem)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Convergence check for the fault scenarios, the randomized checker
(checker.py) and any test that records its writes: after a fault has
healed, every acknowledged write's version, or a newer one, is current at
every node the holder rule gives it, one current version everywhere,
nothing is quarantined that the fault does not explain, and every node
that should run answers and is linked to its neighbours.

Inputs are plain data:

* nodes: a list of dicts {"region", "parent" (None for the root), "store",
  "key", "pub", "client"}: the table holders.py reads (load_nodes reads it
  from a TSV file; network.sh writes one with network_nodes_tsv FILE).
* writes: a list of dicts, one per record draft a test sent, in the order
  they were acknowledged: {"kind", "region", "scope", "fields"},
  optionally "deleted", "key" (else derived as docs/records.md section 8
  says; an elder's needs the network idkey, or it is matched by its
  id_no), "ack" (default True: the `hutong put` that carried it exited 0;
  False: it did not, so the draft may or may not have been stored),
  "writer" or "via" (node:REGION, store:REGION: the region whose key
  signed it), and any notes ("where", "t", ...) kept for messages.
  load_writes reads them from JSON lines.

The write check is by merge order (records.md section 11: hlc, then
author). Each acknowledged write's version is looked up (resolve): the
version, in its writer's store, whose content (region, scope, fields,
deleted) is the write's. At every holder the current version must rank at
or above it, and be one a recorded write made. Which writes are checked
so, and which contents a current version may have, depends on how the
writes were made:

* sequential (the default; the fault scenarios): one writer's writes of
  one entity were made one after another, in the order recorded, each
  newer than the one before (put reads the current version first, or is
  dated again after it). Each writer's last acknowledged write is checked,
  and a current version is that write or one its writer attempted after it
  without acknowledgment (it may have been stored).
* contended (checker.py): writes of one entity from several tiers, at
  once: the last acknowledged need not win, the highest (hlc, author) does.
  Every acknowledged write is checked, and a current version may be any
  recorded write's: every write, acknowledged or not, must be recorded.

Either way a version that is not in its writer's history (a losing
version is kept there, DESIGN.md, Merge) is a problem.

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
    converge.check_writes(held, writes, idkey, contended=False, nodes=nodes)
                                             -> (lost, stale, checked)
    converge.write_problems(lost, stale)     -> problem texts
    converge.check_agreement(held)           -> problems (versions differ,
                                                missing or extra records)
    statuses = converge.all_statuses(nodes)  # {region: status or None}
    converge.check_answers(nodes, statuses), converge.check_links(nodes, statuses)
    converge.check_counts(held, statuses)    -> problems (status counts vs store)
    converge.check_quarantine(nodes, statuses, allow)
                                             -> (problems, {reason: count})
    converge.check_histories(nodes, held, entities)
                                             -> (problems, figures): ordered,
                                                no version twice, alike
    converge.check_verify(nodes)             -> problems (records that do not verify)
    converge.holds(region, record)           # the holder rule

Command line (exit 0 converged, 1 not, 2 usage):

    converge.py check NODES WRITES... [--idkey FILE] [--faults N]
                [--down REGION]... [--allow-quarantine REASON,...]
                [--no-links] [--not-exact] [--no-counts] [--histories N]
                [--contended] [--wait SECONDS] [--json]

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
history = holders.history       # every version of an entity a store keeps, oldest first


def holds(region, record):
    """Node of REGION holds RECORD (a dict with region and scope): upward
    to its home and ancestors, downward inside its scope."""
    return holders.holds(region, {"region": record["region"],
                                  "scope": record.get("scope") or record["region"]})


class Holders:
    """Which of REGIONS hold a record (holds), worked out once per region
    and scope: a check over many records asks for few places."""

    def __init__(self, regions):
        self.regions = sorted(regions)
        self.known = {}

    def of(self, record):
        place = (record["region"], record.get("scope") or record["region"])
        if place not in self.known:
            self.known[place] = [r for r in self.regions if holds(r, record)]
        return self.known[place]


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


def writer_of(write):
    """The region whose key signed a write: its "writer", else the REGION
    of its "via" (node:REGION, store:REGION); None if neither says."""
    if write.get("writer"):
        return write["writer"]
    via = str(write.get("via", ""))
    return via.split(":", 1)[1] if ":" in via else None


def content(record):
    """What a write decides about its entity: region, scope, fields, deleted."""
    return json.dumps([record["region"], record.get("scope") or record["region"],
                       record.get("fields", {}), bool(record.get("deleted", False))],
                      sort_keys=True, ensure_ascii=False)


def version(record):
    """One signed version (a batch shares its signature: hlc and key tell)."""
    return (record["hlc"], record["author"], record["sig"])


def rank(record):
    """Merge order (records.md section 11): hlc, then the author's key
    bytes (lowercase hex sorts as the bytes do)."""
    return (record["hlc"], record["author"])


# --------------------------------------------------------------------------
# Gathering

def export(store):
    """The current records of a store (running or not), as dicts."""
    return holders.export(store)


def snapshot(nodes):
    """{region: [current records]} of every node's store."""
    return {node["region"]: export(node["store"]) for node in nodes}


def status(node, timeout_ms=3000):
    """The node's status JSON, or None if it does not answer."""
    return holders.status(node, timeout_ms)


def all_statuses(nodes):
    """{region: status JSON or None} of every node."""
    return {node["region"]: status(node) for node in nodes}


def quarantine_counts(node, got_status=None):
    """{reason: count} of a node's quarantine: from its status, or from
    its store if it does not answer (then "(dropped)" counts the entries
    dropped to keep a source within its bound)."""
    if got_status is not None:
        return dict(got_status.get("quarantine", {}))
    result = holders.run([HUTONG, "quarantine", "--store", node["store"], "--summary", "--json"],
                         timeout=60)
    if result.returncode != 0:
        return {"(unreadable quarantine)": 1}
    #  {"counts": {"REASON SOURCE": N}, "dropped": N}
    summary = json.loads(result.stdout.decode() or "{}")
    out = {}
    for name, value in summary.get("counts", {}).items():
        reason = name.split(" ", 1)[0]
        out[reason] = out.get(reason, 0) + value
    if summary.get("dropped"):
        out["(dropped)"] = summary["dropped"]
    return out


# --------------------------------------------------------------------------
# The writes

def _index(records):
    index = {}
    for record in records:
        index[(record["kind"], record["key"])] = record
        if record["kind"] == "elder" and "id_no" in record.get("fields", {}):
            index[("elder", "id_no:" + record["fields"]["id_no"])] = record
    return index


def _content_of(write):
    """content(write), worked out once (a wait checks the same writes again)."""
    if "_content" not in write:
        write["_content"] = content(write)
    return write["_content"]


def expected(writes, idkey=None, contended=False):
    """{entity: plan} for each entity with an acknowledged write. A plan:
    "last", its last acknowledged write; "targets", the acknowledged writes
    whose versions must be current, or outranked, at every holder;
    "allowed", the contents a holder's current version may have. See the
    module's text for sequential and contended writes."""
    groups, last = {}, {}
    for write in writes:
        entity = entity_of(write, idkey)
        groups.setdefault(entity, {}).setdefault(writer_of(write), []).append(write)
        if write.get("ack", True):
            last[entity] = write
    plans = {}
    for entity, by_writer in groups.items():
        if entity not in last:
            continue
        targets, allowed = [], set()
        for mine in by_writer.values():
            acked = [i for i, write in enumerate(mine) if write.get("ack", True)]
            if contended:
                targets += [mine[i] for i in acked]
                allowed |= {_content_of(write) for write in mine}
            else:
                targets += [mine[acked[-1]]] if acked else []
                allowed |= {_content_of(write) for write in mine[acked[-1] if acked else 0:]}
        plans[entity] = {"last": last[entity], "targets": targets, "allowed": allowed}
    return plans


def resolve(indexes, plans, nodes=None, where=None):
    """Give each target write (of expected's plans) the version it made:
    write["version"] = (hlc, author, sig) and write["found_at"] = the node
    where it was found. The version is one whose content is the write's:
    the current record at its writer (writer_of), else the newest such in
    the writer's history, else at any other holder (current, then
    history). indexes: {region: _index(records)} of the nodes read; nodes
    give the stores whose histories are read (without, only current
    records are looked at); where: a Holders of the indexes' regions. A
    write already given its version is not looked for again. Returns the
    targets found nowhere."""
    stores = {node["region"]: node["store"] for node in nodes or ()}
    where = where or Holders(indexes)
    cache = {}

    def versions(region, entity):
        if region not in stores:
            return []
        if (region, entity) not in cache:
            cache[(region, entity)] = history(stores[region], *entity)
        return cache[(region, entity)]

    unfound = []
    for entity, plan in plans.items():
        for write in plan["targets"]:
            if write.get("version"):
                continue
            want = _content_of(write)
            writer = writer_of(write)
            places = [writer] if writer in indexes else []
            places += [r for r in where.of(write) if r != writer]
            for region in places:
                current = indexes[region].get(entity)
                if current is not None and content(current) == want:
                    found = current
                else:
                    matches = [r for r in versions(region, entity) if content(r) == want]
                    found = max(matches, key=rank) if matches else None
                if found is not None:
                    write["version"], write["found_at"] = version(found), region
                    break
            if not write.get("version"):
                unfound.append(write)
    return unfound


def check_writes(held, writes, idkey=None, contents=True, contended=False, nodes=None):
    """Every acknowledged write at every holder: held is {region: [current
    records]}. contents=False only asks that each entity be there (at the
    holders of its last acknowledged write). Else the target writes are
    given their versions (resolve; nodes: the stores to read histories
    from) and each holder's current version must rank at or above each
    target's, and have an allowed content (expected). Returns (lost, stale,
    checked): lost and stale are lists of {"node", "entity", "write",
    "have", "why"}; lost: the holder lacks the entity; stale, by "why":
    "unknown", no node keeps the write's version; "older", the holder's
    current version ranks below it; "other", the current version is none
    the recorded writes may end with; "history", the write's version is
    not in its writer's history (node: the writer)."""
    lost, stale, checked = [], [], 0
    indexes = {region: _index(records) for region, records in held.items()}
    where = Holders(indexes)
    plans = expected(writes, idkey, contended)
    if contents:
        resolve(indexes, plans, nodes, where)
    for entity, plan in plans.items():
        reported = set()
        for write in (plan["targets"] if contents else [plan["last"]]):
            found = write.get("version")
            writer = writer_of(write)
            if contents and found and write["found_at"] != writer and writer in indexes:
                stale.append({"node": writer, "entity": entity, "write": write, "have": None,
                              "why": "history"})
            for region in where.of(write):
                checked += 1
                have = indexes[region].get(entity)
                item = {"node": region, "entity": entity, "write": write, "have": have}
                if have is None:
                    lost.append(dict(item, why="missing"))
                elif not contents:
                    continue
                elif not found:
                    stale.append(dict(item, why="unknown"))
                elif rank(have) < found[:2] or (rank(have) == found[:2] and have["sig"] != found[2]):
                    stale.append(dict(item, why="older"))
                else:
                    continue
                reported.add(region)
        if not contents:
            continue
        #  (a target's version has its content: no need to work it out)
        made = {write["version"] for write in plan["targets"] if write.get("version")}
        for region in where.of(plan["last"]):
            have = indexes[region].get(entity)
            if region not in reported and have is not None and version(have) not in made \
                    and content(have) not in plan["allowed"]:
                stale.append({"node": region, "entity": entity, "write": plan["last"],
                              "have": have, "why": "other"})
    return lost, stale, checked


def _write_note(write):
    notes = [write.get("where", "")]
    if write.get("via"):
        notes.append("via " + str(write["via"]))
    return " ".join(n for n in notes if n)


def write_problems(lost, stale, limit=20):
    """check_writes's findings as problem texts, at most LIMIT of each."""
    def head(item):
        return "%s %s (%s)" % (item["entity"][0], item["entity"][1], _write_note(item["write"]))

    def made(item):
        hlc, author, _ = item["write"]["version"]
        return "hlc=%d author=%.8s" % (hlc, author)

    problems = ["lost: %s missing at %s" % (head(item), item["node"]) for item in lost[:limit]]
    for item in stale[:limit]:
        why = item["why"]
        if why == "unknown":
            text = ": no node holds the version this acknowledged write made; it holds %s" % (
                describe(item["have"]))
        elif why == "older":
            text = " holds an older version than this acknowledged write made (%s): %s" % (
                made(item), describe(item["have"]))
        elif why == "other":
            text = " holds a version no recorded write ends with: %s" % describe(item["have"])
        else:
            text = ": its writer's history lacks the version this acknowledged write made " \
                   "(%s, found at %s)" % (made(item), item["write"]["found_at"])
        problems.append("stale: %s at %s%s" % (head(item), item["node"], text))
    more = len(lost) + len(stale) - min(len(lost), limit) - min(len(stale), limit)
    if more:
        problems.append("... %d more" % more)
    return problems


def lost_writes(lost, stale):
    """The writes check_writes found lost or stale anywhere, each once."""
    out = {}
    for item in lost + stale:
        out.setdefault(id(item["write"]), item["write"])
    return list(out.values())


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
    where = Holders(indexes)
    stored = 0
    for write in writes:
        if write.get("ack", True):
            continue
        entity, want = entity_of(write, idkey), _content_of(write)
        places = [indexes[region].get(entity) for region in where.of(write)]
        if places and all(have is not None and content(have) == want for have in places):
            stored += 1
    return stored


# --------------------------------------------------------------------------
# Checks on the nodes

def describe(record):
    return "%s %s region=%s scope=%s hlc=%s author=%.8s%s" % (
        record["kind"], record["key"], record["region"], record.get("scope"),
        record["hlc"], record["author"], " deleted" if record.get("deleted") else "")


def _union(held):
    """Per entity, the version of highest rank any node holds as current."""
    union = {}
    for records in held.values():
        for record in records:
            entity = (record["kind"], record["key"])
            if entity not in union or rank(record) > rank(union[entity]):
                union[entity] = record
    return union


def check_agreement(held, exact=True):
    """Every node holds each entity the holder rule gives it at the same
    current version: the newest (hlc, author) any node holds. exact: and
    nothing the rule does not give it. Returns a list of problem texts."""
    union = _union(held)
    where = Holders(held)
    problems = []
    for region, records in sorted(held.items()):
        have = {(r["kind"], r["key"]): r for r in records}
        missing, stale, extra = [], [], []
        for entity, newest in union.items():
            mine = have.get(entity)
            if region in where.of(newest):
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
    """Each answering node's status counts (live records per kind) equal
    what its store lists: a version counted twice, or an entity kept
    twice, shows here. Status counts live records only (protocol.md,
    STATUS): a tombstone that is an entity's current version is listed, not
    counted. Returns problem texts."""
    problems = []
    for region, records in sorted(held.items()):
        got = statuses.get(region)
        if got is None:
            continue
        listed = {}
        for record in records:
            if not record.get("deleted"):
                listed[record["kind"]] = listed.get(record["kind"], 0) + 1
        counted = {kind: n for kind, n in got.get("records", {}).items() if n}
        if counted != listed:
            problems.append("node %s counts %s but its store lists %s live" % (
                region, json.dumps(counted, sort_keys=True), json.dumps(listed, sort_keys=True)))
    return problems


def recent_entities(writes, idkey=None, sample=20):
    """The entities of the last SAMPLE acknowledged writes (by the time a
    write was recorded, "t", if known), leaving out those named by id_no."""
    recent = []
    order = sorted(range(len(writes)), key=lambda i: (writes[i].get("t", 0), i), reverse=True)
    for write in (writes[i] for i in order):
        entity = entity_of(write, idkey)
        if write.get("ack", True) and entity not in recent and not entity[1].startswith("id_no:"):
            recent.append(entity)
        if len(recent) >= sample:
            break
    return recent


def check_histories(nodes, held, entities=None, limit=10):
    """Each holder's history of each entity (all held if None): oldest
    first by (hlc, author), no version twice (a batch applied again must be
    a no-op), the current version (as exported) last; a version two
    holders both keep is judged alike (the same conflict flag). Returns
    (problems, figures): figures["gaps"] counts superseded versions some
    holder lacks that another keeps (replication sends an entity's current
    version, so a version superseded before it travelled on stays where it
    was merged; protocol.md, PULL and BATCH)."""
    union = _union(held)
    current = {region: {(r["kind"], r["key"]): r for r in records}
               for region, records in held.items()}
    names = sorted(entities if entities is not None else union)
    problems, gaps, versions = [], 0, 0
    for name in names:
        record = union.get(name)
        if record is None:
            continue
        lists = {node["region"]: history(node["store"], *name) for node in nodes
                 if node["region"] in held and holds(node["region"], record)}
        seen = {}
        for region, hist in lists.items():
            ids = [version(r) for r in hist]
            if len(set(ids)) != len(ids):
                problems.append("node %s keeps a version of %s %s twice (%d versions, %d distinct)"
                                % (region, name[0], name[1], len(ids), len(set(ids))))
            ranks = [rank(r) for r in hist]
            if ranks != sorted(ranks):
                problems.append("node %s: history of %s %s is not oldest first" % (region, *name))
            mine = current[region].get(name)
            if not hist or mine is None or version(hist[-1]) != version(mine):
                problems.append("node %s: history of %s %s does not end with its current version"
                                % (region, *name))
            for r in hist:
                flag = r.get("conflict")
                if version(r) in seen and seen[version(r)][1] != flag:
                    problems.append("%s %s hlc %d: %s judges it %s, %s judges it %s" % (
                        name[0], name[1], r["hlc"], seen[version(r)][0], seen[version(r)][1],
                        region, flag))
                seen.setdefault(version(r), (region, flag))
        versions += len(seen)
        for region, hist in lists.items():
            gaps += len(set(seen) - {version(r) for r in hist})
        if len(problems) > limit:
            break
    return problems[:limit], {"entities": len(names), "versions": versions, "gaps": gaps}


def check_answers(nodes, statuses):
    """Each node answers status."""
    return ["node %s does not answer status" % node["region"] for node in nodes
            if statuses.get(node["region"]) is None]


def check_links(nodes, statuses):
    """Each answering node's parent and children (those answering) are connected."""
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


def check_quarantine(nodes, statuses, allow=()):
    """Nothing quarantined but for the reasons in ALLOW. Returns (problems,
    {reason: count} over all nodes)."""
    problems, totals = [], {}
    for node in nodes:
        for reason, count in sorted(quarantine_counts(node, statuses.get(node["region"])).items()):
            if count:
                totals[reason] = totals.get(reason, 0) + count
                if reason not in allow:
                    problems.append("node %s quarantined %d record(s) as %s" % (
                        node["region"], count, reason))
    return problems, totals


def check_verify(nodes):
    """Every record each node holds verifies (hutong verify --store)."""
    problems = []
    for node in nodes:
        exported = holders.run([HUTONG, "export", "--store", node["store"]], timeout=120)
        result = subprocess.run([HUTONG, "verify", "--store", node["store"]],
                                input=exported.stdout, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, timeout=120)
        try:
            summary = json.loads(result.stdout.decode())
        except ValueError:
            problems.append("node %s: hutong verify printed no summary (exit %d): %s" % (
                node["region"], result.returncode, result.stderr.decode(errors="replace")[:200]))
            continue
        if summary.get("invalid", 0) != 0 or result.returncode != 0:
            problems.append("node %s: %s of its records do not verify" % (
                node["region"], summary.get("invalid")))
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


def check(nodes, writes, idkey=None, faults=0, down=(), allow_quarantine=(),
          links=True, exact=True, counts=True, histories=0, contended=False,
          held=None, statuses=None):
    """Run every check once; return a Report. down: regions of nodes that
    are stopped on purpose: left out of every check (not asked, their
    stores not read; their neighbours are not expected linked to them, and
    what only they should hold is not looked for). links: each
    node's neighbours connected; exact: no node holds what the holder rule
    does not give it; counts: status counts match the stores; histories:
    so many of the last acknowledged entities' histories are in order and
    keep no version twice (check_histories); contended: the writes may
    have overlapped (check_writes). held and statuses may be given
    (already gathered) instead of read here."""
    report = Report()
    report.faults = faults
    report.acknowledged = sum(1 for w in writes if w.get("ack", True))
    report.unacknowledged = len(writes) - report.acknowledged
    nodes = [n for n in nodes if n["region"] not in set(down)]
    report.nodes = len(nodes)
    if statuses is None:
        statuses = all_statuses(nodes)
    report.problems += check_answers(nodes, statuses)
    if held is None:
        try:
            held = snapshot(nodes)
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            report.problems.append("cannot read a store: %s" % error)
            return report
    report.entities = len(expected(writes, idkey))
    lost, stale, report.checked = check_writes(held, writes, idkey, contended=contended,
                                               nodes=nodes)
    report.lost, report.stale = len(lost), len(stale)
    report.problems += write_problems(lost, stale)
    report.problems += check_agreement(held, exact)
    if counts:
        report.problems += check_counts(held, statuses)
    report.unacked_stored = unacked_stored(held, writes, idkey)
    if histories and not report.problems:
        problems, figures = check_histories(nodes, held, recent_entities(writes, idkey, histories))
        report.problems += problems
        report.histories = figures["entities"]
    problems, report.quarantine = check_quarantine(nodes, statuses, set(allow_quarantine))
    report.problems += problems
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
            elif arg == "--contended":
                options["contended"] = True
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

#!/usr/bin/env python3
"""Convergence checks for checker.py, over running (or stopped) nodes.

Nodes are dicts as holders.load_nodes gives them (region, parent, store,
key, pub, client). Each check returns a list of problems (strings; empty:
the check passed). What converge.py (the fault scenarios' check) already
does is taken from it: the snapshot of every node's current records, the
agreement of every holder on one current version with nothing extra
(check_agreement), the quarantine counts and the links. Until converge.py
is on this branch the small fallbacks below stand in for it (the same
rule: integration/holders.py's holds). What is checker.py's own:

    resolve (nodes, acked)       find each acknowledged write's version
                                 (by its unique tag) in the histories
    acked_present (snap, acked)  every acknowledged version, or one after
                                 it in merge order, is current at every
                                 holder: with writes contended from several
                                 tiers the last acknowledged write need not
                                 win, so converge.check_writes's "last
                                 acknowledged content" rule does not apply
    histories (nodes, snap)      every holder lists the entity's versions
                                 oldest first, none twice, the current one
                                 last, and judges each shared version alike
    verify (nodes)               every record a node holds verifies
"""
import json
import os
import subprocess

import holders

try:
    import converge
except ImportError:                    # converge.py not merged here yet
    converge = None

HUTONG = os.environ.get("HUTONG", "hutong")


def rank(record):
    """Merge order (records.md §11): hlc, then the author's key bytes
    (lowercase hex sorts as the bytes do)."""
    return (record["hlc"], record["author"])


def ident(record):
    return (record["hlc"], record["author"], record["sig"])


def entity(record):
    return (record["kind"], record["key"])


def describe(record):
    return "%s %s region=%s scope=%s hlc=%s author=%.8s%s" % (
        record["kind"], record["key"], record["region"], record["scope"],
        record["hlc"], record["author"],
        " tag=%s" % record["fields"]["address"]
        if "address" in record.get("fields", {}) else "")


def _run(args, timeout=60):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout)


class Snapshot:
    """Each node's current records: {region: {(kind, key): record}}."""

    def __init__(self, held):
        self.held = held

    @classmethod
    def take(cls, nodes):
        if converge:
            lists = converge.snapshot(nodes)
        else:
            lists = {node["region"]: holders.export(node["store"]) for node in nodes}
        snap = cls({region: {entity(r): r for r in records} for region, records in lists.items()})
        snap.lists = lists
        return snap

    def union(self):
        """Per entity, the version of highest rank any node holds as current."""
        best = {}
        for records in self.held.values():
            for name, record in records.items():
                if name not in best or rank(record) > rank(best[name]):
                    best[name] = record
        return best


def holder_sets(nodes, snap, limit=5):
    """converge.check_agreement when there is one, else _holder_sets."""
    if converge:
        return converge.check_agreement(snap.lists, exact=True)
    return _holder_sets(nodes, snap, limit)


def _holder_sets(nodes, snap, limit=5):
    """Every node holds exactly the entities the holder rule gives it, each
    in the network's latest version, so every holder agrees on the current
    version. Every version written here is legitimate (an ancestor may
    replace its descendants' records), so the latest is the current one."""
    union = snap.union()
    problems = []
    for node in nodes:
        region = node["region"]
        have = snap.held[region]
        want = {name for name, record in union.items() if holders.holds(region, record)}
        missing = sorted(want - set(have))
        extra = sorted(set(have) - want)
        stale = sorted(name for name in want & set(have)
                       if ident(have[name]) != ident(union[name]))
        if not (missing or extra or stale):
            continue
        lines = ["%s holds %d entities, should hold %d: %d missing, %d not its own, "
                 "%d in an older version" % (region, len(have), len(want), len(missing),
                                              len(extra), len(stale))]
        lines += ["    missing %s" % describe(union[name]) for name in missing[:limit]]
        lines += ["    extra   %s" % describe(have[name]) for name in extra[:limit]]
        lines += ["    stale   %s (latest hlc=%d)" % (describe(have[name]), union[name]["hlc"])
                  for name in stale[:limit]]
        problems.append("\n".join(lines))
    return problems


def history(store, kind, key):
    """Every version a store holds of one entity, oldest first, as JSON
    (a version the ownership rule keeps out carries "conflict")."""
    if converge and hasattr(converge, "history"):
        return converge.history(store, kind, key)
    result = _run([HUTONG, "history", "--store", store, kind, key])
    if result.returncode != 0:
        return []
    return [json.loads(line) for line in result.stdout.decode().splitlines() if line.strip()]


def resolve(nodes, acked, snap=None):
    """Give each acknowledged write its version: its writer's current
    version (in snap) if it carries the write's tag, else search its
    writer's history (where it was stored when acknowledged), then every
    other holder's. Sets write["version"] (hlc, author, sig) or None.
    Returns the writes found nowhere."""
    by_region = {node["region"]: node for node in nodes}
    if snap is not None:
        rest = []
        for write in acked:
            current = snap.held[write["writer"]].get((write["kind"], write["key"]))
            if current and current.get("fields", {}).get("address") == write["tag"]:
                write["version"], write["found_at"] = ident(current), write["writer"]
            else:
                rest.append(write)
        return resolve(nodes, rest)
    cache = {}

    def versions(region, kind, key):
        if (region, kind, key) not in cache:
            cache[(region, kind, key)] = history(by_region[region]["store"], kind, key)
        return cache[(region, kind, key)]

    unfound = []
    for write in acked:
        write["version"] = None
        order = [write["writer"]] + [n["region"] for n in nodes if n["region"] != write["writer"]]
        for region in order:
            for record in versions(region, write["kind"], write["key"]):
                if record.get("fields", {}).get("address") == write["tag"]:
                    write["version"] = ident(record)
                    write["found_at"] = region
                    break
            if write["version"]:
                break
        if write["version"] is None:
            unfound.append(write)
    return unfound


def acked_present(nodes, snap, acked, limit=10):
    """Every acknowledged write, at every node that holds it by the holder
    rule: its version or a later one is the current version there. Returns
    (problems, lost writes)."""
    problems, lost = [], []
    for write in acked:
        if write.get("version") is None:
            lost.append(write)
            if len(problems) < limit:
                problems.append("write %d (%s %s by %s via %s, tag %s) is in no node's history" % (
                    write["n"], write["kind"], write["key"], write["writer"], write["path"],
                    write["tag"]))
            continue
        hlc, author, sig = write["version"]
        #  A losing version is kept in history, never dropped (DESIGN.md,
        #  Merge): at least where it was written
        if write.get("found_at") != write["writer"] and len(problems) < limit:
            problems.append("write %d (%s %s by %s via %s, hlc %d) is not in its writer's "
                            "history (found at %s)" % (
                                write["n"], write["kind"], write["key"], write["writer"],
                                write["path"], hlc, write.get("found_at")))
        gone = []
        for node in nodes:
            if not holders.holds(node["region"], write):
                continue
            current = snap.held[node["region"]].get((write["kind"], write["key"]))
            if current is None or rank(current) < (hlc, author) \
               or (rank(current) == (hlc, author) and current["sig"] != sig):
                gone.append(node["region"])
        if gone:
            lost.append(write)
            if len(problems) < limit:
                problems.append("write %d (%s %s by %s via %s, hlc %d) is missing at %s" % (
                    write["n"], write["kind"], write["key"], write["writer"], write["path"],
                    hlc, " ".join(gone)))
    return problems, lost


def histories(nodes, snap, entities=None, limit=10):
    """Each holder's history of each entity: oldest first by (hlc, author),
    no version twice, the current version (as exported) last; a version
    two holders both hold is judged alike (same conflict flag). Returns
    (problems, figures): figures["gaps"] counts superseded versions some
    holder lacks that another holds (replication sends an entity's
    current version, so a version superseded before it travelled on stays
    where it was merged; protocol.md, PULL and BATCH)."""
    union = snap.union()
    names = sorted(entities if entities is not None else union)
    problems, gaps, versions = [], 0, 0
    for name in names:
        record = union.get(name)
        if record is None:
            continue
        lists = {}
        for node in nodes:
            if holders.holds(node["region"], record):
                lists[node["region"]] = history(node["store"], name[0], name[1])
        seen = {}
        for region, hist in lists.items():
            ids = [ident(r) for r in hist]
            if len(set(ids)) != len(ids):
                problems.append("%s: history of %s %s repeats a version" % (region, *name))
            ranks = [rank(r) for r in hist]
            if ranks != sorted(ranks):
                problems.append("%s: history of %s %s is not oldest first" % (region, *name))
            current = snap.held[region].get(name)
            if not hist or current is None or ident(hist[-1]) != ident(current):
                problems.append("%s: history of %s %s does not end with its current version" % (
                    region, *name))
            for r in hist:
                flag = r.get("conflict")
                if ident(r) in seen and seen[ident(r)][1] != flag:
                    problems.append("%s %s hlc %d: %s judges it %s, %s judges it %s" % (
                        name[0], name[1], r["hlc"], seen[ident(r)][0], seen[ident(r)][1],
                        region, flag))
                seen.setdefault(ident(r), (region, flag))
        versions += len(seen)
        for region, hist in lists.items():
            gaps += len(set(seen) - {ident(r) for r in hist})
        if len(problems) > limit:
            break
    return problems[:limit], {"entities": len(names), "versions": versions, "gaps": gaps}


def quarantine(nodes, statuses=None):
    """{region: {reason: count}} of what each node quarantined (from its
    status if given, else from its store)."""
    statuses = statuses or {}
    found = {}
    for node in nodes:
        if converge:
            counts = converge.quarantine_counts(node, statuses.get(node["region"]))
        else:
            counts = _quarantine_counts(node)
        counts = {reason: count for reason, count in counts.items() if count}
        if counts:
            found[node["region"]] = counts
    return found


def _quarantine_counts(node):
    result = _run([HUTONG, "quarantine", "--store", node["store"], "--summary", "--json"])
    if result.returncode != 0:
        return {"(unreadable quarantine)": 1}
    #  {"counts": {"REASON SOURCE": N}, "dropped": N}
    summary = json.loads(result.stdout.decode() or "{}")
    counts = dict(summary.get("counts", {}))
    if summary.get("dropped"):
        counts["(dropped)"] = summary["dropped"]
    return counts


def counts(snap, statuses):
    """Each node's status counts agree with its store (converge.check_counts;
    nothing here without it)."""
    if converge and hasattr(converge, "check_counts"):
        #  Status counts live records (protocol.md, STATUS): a tombstone
        #  that is an entity's current version is listed, not counted
        live = {region: [r for r in records if not r.get("deleted")]
                for region, records in snap.lists.items()}
        return converge.check_counts(live, statuses)
    return []


def links(nodes):
    """Every node answers status and is connected to its parent and children."""
    statuses = {node["region"]: holders.status(node, 3000) for node in nodes}
    problems = ["node %s does not answer status" % region
                for region, got in statuses.items() if got is None]
    if converge:
        return problems + converge.check_links(nodes, statuses), statuses
    for node in nodes:
        got = statuses[node["region"]]
        want = {n["region"] for n in nodes if n["parent"] == node["region"]}
        if node["parent"]:
            want.add(node["parent"])
        connected = {p["region"] for p in (got or {}).get("peers", []) if p.get("connected")}
        if got is not None and not want <= connected:
            problems.append("node %s: not connected to %s" % (
                node["region"], " ".join(sorted(want - connected))))
    return problems, statuses


def verify(nodes):
    """Every record each node holds verifies (hutong verify --store)."""
    problems = []
    for node in nodes:
        exported = _run([HUTONG, "export", "--store", node["store"]])
        result = subprocess.run([HUTONG, "verify", "--store", node["store"]],
                                input=exported.stdout, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, timeout=120)
        try:
            summary = json.loads(result.stdout.decode())
        except ValueError:
            problems.append("%s: hutong verify printed no summary (exit %d): %s" % (
                node["region"], result.returncode, result.stderr.decode(errors="replace")[:200]))
            continue
        if summary.get("invalid", 0) != 0 or result.returncode != 0:
            problems.append("%s: %s of its records do not verify" % (
                node["region"], summary.get("invalid")))
    return problems

#!/usr/bin/env python3
"""Convergence checks over running (or stopped) nodes, for checker.py.

Given the nodes (dicts as holders.load_nodes gives them: region, store,
key, pub, client) and the acknowledged writes, each check returns a list
of problems (strings; empty: the check passed):

    Snapshot.take (nodes)        every node's current records (hutong export)
    holder_sets (nodes, snap)    every node holds exactly what the holder
                                 rule gives it of what the network holds,
                                 each entity in one version everywhere
    resolve (nodes, acked)       find each acknowledged write's version
                                 (by its unique tag) in the histories
    acked_present (snap, acked)  every acknowledged version, or one after
                                 it, is current at every holder
    histories (nodes, snap)      every holder lists the entity's versions
                                 oldest first, none twice, the current one
                                 last, and judges each shared version alike
    quarantine (nodes)           what each node quarantined, by reason
    verify (nodes)               every record a node holds verifies

The holder rule is integration/holders.py's (holders.holds).
"""
import json
import os
import subprocess

import holders

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
        held = {}
        for node in nodes:
            held[node["region"]] = {entity(r): r for r in holders.export(node["store"])}
        return cls(held)

    def union(self):
        """Per entity, the version of highest rank any node holds as current."""
        best = {}
        for records in self.held.values():
            for name, record in records.items():
                if name not in best or rank(record) > rank(best[name]):
                    best[name] = record
        return best


def holder_sets(nodes, snap, limit=5):
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
    result = _run([HUTONG, "history", "--store", store, kind, key])
    if result.returncode != 0:
        return []
    return [json.loads(line) for line in result.stdout.decode().splitlines() if line.strip()]


def resolve(nodes, acked):
    """Give each acknowledged write its version: search its writer's
    history (where it was stored when acknowledged), then every other
    holder's, for the version carrying its tag. Sets write["version"]
    (hlc, author, sig) or None. Returns the writes found nowhere."""
    by_region = {node["region"]: node for node in nodes}
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


def quarantine(nodes):
    """{region: {reason: count}} of what each node's store quarantined."""
    found = {}
    for node in nodes:
        result = _run([HUTONG, "quarantine", "--store", node["store"], "--summary", "--json"])
        if result.returncode != 0:
            found[node["region"]] = {"(unreadable)": 1}
            continue
        summary = json.loads(result.stdout.decode() or "{}")
        #  {"counts": {"REASON SOURCE": N}, "dropped": N}
        counts = dict(summary.get("counts", {}))
        if summary.get("dropped"):
            counts["(dropped)"] = summary["dropped"]
        if counts:
            found[node["region"]] = counts
    return found


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

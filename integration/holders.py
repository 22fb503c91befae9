#!/usr/bin/env python3
"""Helpers for integration/scenario_network.sh: draft rewriting,
and the holder-rule check that every node holds exactly what it should.

The holder rule (docs: DESIGN.md "Who holds what"): node n holds record R
iff prefix(n) is a prefix of prefix(R.region) (upward flow) or prefix(R.scope)
is a prefix of prefix(n) (downward flow). A region's prefix drops its
trailing all-zero groups (groups of 2, 2, 2, 3, 3 digits):
441802001001 -> 441802001001, 441802001000 -> 441802001, 441800000000 -> 4418.

Nodes are described by a TSV file, one line per node:
    region  parent-region-or-"-"  store  key  pub  client-endpoint

Subcommands (exit 0 on success, 1 on a failed check, 2 on bad usage):
    set PATH=VALUE...             rewrite every JSON line of stdin (dotted paths)
    holds REGION [FILE...]        how many records/drafts REGION should hold
    converge NODES [--expect kind=N,...] [--quiet]
                                  every node holds exactly its records
    connected NODES [--quiet]     every node's parent and children are connected
    status NODES REGION           a node's status JSON on one line
    keyof STORE KIND FIELD VALUE  key of the record whose field has VALUE
    concurrent NODES KIND KEY WRITER_A WRITER_B
                                  one winner everywhere, the loser in history
"""
import json
import os
import subprocess
import sys

HUTONG = os.environ.get("HUTONG", "hutong")
GROUPS = ((0, 2), (2, 2), (4, 2), (6, 3), (9, 3))


def prefix(code):
    """A 12-digit region code's prefix: up to its deepest non-zero group."""
    if len(code) != 12 or not code.isdigit():
        raise ValueError("not a 12-digit region code: %r" % code)
    end = 2
    for start, width in GROUPS:
        if int(code[start:start + width]) != 0:
            end = start + width
    return code[:end]


def covers(a, b):
    """a ⊑ b: a's prefix is a prefix of b's."""
    return prefix(b).startswith(prefix(a))


def holds(node, record):
    return covers(node, record["region"]) or covers(record["scope"], node)


def die(message, code=1):
    print(message, file=sys.stderr)
    sys.exit(code)


def load_nodes(path):
    nodes = []
    with open(path) as handle:
        for line in handle:
            if not line.strip() or line.startswith("#"):
                continue
            region, parent, store, key, pub, client = line.split()
            nodes.append({"region": region, "parent": None if parent == "-" else parent,
                          "store": store, "key": key, "pub": pub, "client": client})
    return nodes


def run(args, timeout=30):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout)


def export(store):
    """Current records of a store, as a list of dicts."""
    result = run([HUTONG, "export", "--store", store])
    if result.returncode != 0:
        raise RuntimeError("export %s failed (%d): %s" % (
            store, result.returncode, result.stderr.decode(errors="replace").strip()))
    return [json.loads(line) for line in result.stdout.decode().splitlines() if line.strip()]


def status(node, timeout_ms=1000):
    result = run([HUTONG, "status", "--node", node["client"], "--node-key", node["pub"],
                  "--key", node["key"], "--json", "--timeout", str(timeout_ms)])
    if result.returncode != 0:
        return None
    return json.loads(result.stdout.decode())


def version(record):
    return (record["kind"], record["key"], record["hlc"], record["author"], record["sig"])


def rank(record):
    return (record["hlc"], record["author"])


# --------------------------------------------------------------------------

def set_path(obj, path, value):
    parts = path.split(".")
    for part in parts[:-1]:
        obj = obj.setdefault(part, {})
    if value is None:
        obj.pop(parts[-1], None)
    else:
        obj[parts[-1]] = value


def cmd_set(args):
    """PATH=VALUE sets a string, PATH:=JSON sets any JSON value, -PATH removes."""
    edits = []
    for arg in args:
        if arg.startswith("-"):
            edits.append((arg[1:], None))
        elif ":=" in arg:
            path, text = arg.split(":=", 1)
            edits.append((path, json.loads(text)))
        elif "=" in arg:
            path, text = arg.split("=", 1)
            edits.append((path, text))
        else:
            die("set: expected PATH=VALUE, PATH:=JSON or -PATH, got %r" % arg, 2)
    for line in sys.stdin:
        if not line.strip():
            continue
        record = json.loads(line)
        for path, value in edits:
            set_path(record, path, value)
        print(json.dumps(record, ensure_ascii=False, sort_keys=True))


def read_lines(files):
    handles = [open(name) for name in files] if files else [sys.stdin]
    for handle in handles:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def cmd_holds(args):
    region = args[0]
    print(sum(1 for record in read_lines(args[1:]) if holds(region, record)))


def describe(record):
    return "%s %s region=%s scope=%s hlc=%s author=%.8s" % (
        record["kind"], record["key"], record["region"], record["scope"],
        record["hlc"], record["author"])


def cmd_converge(args):
    nodes = load_nodes(args[0])
    quiet = "--quiet" in args
    expect = {}
    if "--expect" in args:
        for item in args[args.index("--expect") + 1].split(","):
            kind, count = item.split("=")
            expect[kind] = int(count)
    held = {}
    try:
        for node in nodes:
            held[node["region"]] = export(node["store"])
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        if not quiet:
            print("converge: %s" % error)
        return 1
    #  The union: per entity, the version with the highest (hlc, author)
    union = {}
    for records in held.values():
        for record in records:
            entity = (record["kind"], record["key"])
            if entity not in union or rank(record) > rank(union[entity]):
                union[entity] = record
    problems = []
    kinds = {}
    for record in union.values():
        kinds[record["kind"]] = kinds.get(record["kind"], 0) + 1
    for kind, count in sorted(expect.items()):
        if kinds.get(kind, 0) != count:
            problems.append("the network holds %d %s records, expected %d" % (
                kinds.get(kind, 0), kind, count))
    for node in nodes:
        region = node["region"]
        want = {version(record): record for record in union.values() if holds(region, record)}
        have = {version(record): record for record in held[region]}
        missing = [want[v] for v in want if v not in have]
        extra = [have[v] for v in have if v not in want]
        if missing or extra:
            lines = ["node %s holds %d records, should hold %d: %d missing, %d extra or stale" % (
                region, len(have), len(want), len(missing), len(extra))]
            lines += ["    missing %s" % describe(r) for r in missing[:5]]
            lines += ["    extra   %s%s" % (describe(r), " (stale: a newer version exists)"
                      if holds(region, union[(r["kind"], r["key"])]) else "")
                      for r in extra[:5]]
            problems.append("\n".join(lines))
    if problems:
        if not quiet:
            print("\n".join(problems))
        return 1
    if not quiet:
        print("converged: %d records (%s); per node: %s" % (
            len(union), ", ".join("%s %d" % kv for kv in sorted(kinds.items())),
            " ".join("%s=%d" % (node["region"], len(held[node["region"]])) for node in nodes)))
    return 0


def cmd_connected(args):
    nodes = load_nodes(args[0])
    quiet = "--quiet" in args
    problems = []
    for node in nodes:
        region = node["region"]
        want = {n["region"] for n in nodes if n["parent"] == region}
        if node["parent"]:
            want.add(node["parent"])
        got = status(node)
        if got is None:
            problems.append("%s does not answer status" % region)
            continue
        connected = {peer["region"] for peer in got.get("peers", []) if peer.get("connected")}
        if not want <= connected:
            problems.append("%s: not connected to %s" % (region, " ".join(sorted(want - connected))))
    if problems and not quiet:
        print("\n".join(problems))
    return 1 if problems else 0


def cmd_status(args):
    nodes = load_nodes(args[0])
    node = next((n for n in nodes if n["region"] == args[1]), None)
    if node is None:
        die("status: no node %s" % args[1], 2)
    got = status(node, 3000)
    if got is None:
        die("status: %s does not answer" % args[1])
    print(json.dumps(got, sort_keys=True))
    return 0


def cmd_keyof(args):
    store, kind, field, value = args
    for record in export(store):
        if record["kind"] == kind and str(record.get("fields", {}).get(field)) == value:
            print(record["key"])
            return 0
    die("keyof: no %s with %s=%s in %s" % (kind, field, value, store))


def history(store, kind, key):
    result = run([HUTONG, "history", "--store", store, kind, key])
    if result.returncode != 0:
        return []
    return [json.loads(line) for line in result.stdout.decode().splitlines() if line.strip()]


def cmd_concurrent(args):
    """KIND KEY was written at WRITER_A and at WRITER_B: find both versions
    in the writers' histories; the winner, max (hlc, author), must be the
    current version at every holder; the loser's own writer must keep the
    loser in its history, before the winner; any node whose history holds
    both must list them oldest first."""
    nodes = load_nodes(args[0])
    kind, key, writer_a, writer_b = args[1:5]
    by_region = {n["region"]: n for n in nodes}
    pubs = {}
    for region in (writer_a, writer_b):
        with open(by_region[region]["pub"]) as handle:
            text = handle.read().strip()
        pubs[region] = json.loads(text)["public"] if text.startswith("{") else text
    versions = {}
    for region in (writer_a, writer_b):
        for record in history(by_region[region]["store"], kind, key):
            versions[record["sig"]] = record
    authors = {record["author"] for record in versions.values()}
    problems = []
    if len(versions) != 2 or authors != set(pubs.values()):
        die("concurrent: expected one version by %s and one by %s in their histories, found %s" % (
            writer_a, writer_b, "; ".join(describe(r) for r in versions.values()) or "none"))
    winner, loser = sorted(versions.values(), key=rank, reverse=True)
    loser_writer = writer_a if loser["author"] == pubs[writer_a] else writer_b
    winner_writer = writer_b if loser_writer == writer_a else writer_a
    print("winner: %s's version hlc=%d; loser: %s's version hlc=%d" % (
        winner_writer, winner["hlc"], loser_writer, loser["hlc"]))
    saw_both = []
    for node in nodes:
        if not holds(node["region"], winner):
            continue
        hist = history(node["store"], kind, key)
        if not hist:
            problems.append("%s holds no version of %s %s" % (node["region"], kind, key))
            continue
        if hist[-1]["sig"] != winner["sig"]:
            problems.append("%s: current version is %s, not the winner" % (
                node["region"], describe(hist[-1])))
        sigs = [record["sig"] for record in hist]
        if loser["sig"] in sigs:
            saw_both.append(node["region"])
            if sigs.index(loser["sig"]) > sigs.index(winner["sig"]):
                problems.append("%s: history lists the loser after the winner" % node["region"])
        if len(set(sigs)) != len(sigs):
            problems.append("%s: history repeats a version" % node["region"])
    if loser_writer not in saw_both:
        problems.append("%s wrote the losing version but does not keep it in history" % loser_writer)
    print("nodes keeping both versions: %s" % " ".join(saw_both))
    if problems:
        print("\n".join(problems))
        return 1
    return 0


COMMANDS = {"set": cmd_set, "holds": cmd_holds, "converge": cmd_converge,
            "connected": cmd_connected, "status": cmd_status, "keyof": cmd_keyof,
            "concurrent": cmd_concurrent}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        die(__doc__, 2)
    sys.exit(COMMANDS[sys.argv[1]](sys.argv[2:]) or 0)

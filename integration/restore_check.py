#!/usr/bin/env python3
"""Checks for integration/scenario_restore.sh.

    restore_check.py present ACKED_FILES... -- NODE_REGION=EXPORT_FILE...

Every acknowledged draft (a JSON line of an elder draft whose `hutong put`
exited 0) must be present, by citizen ID, at every node whose region holds
it (the holder rule: the node's region prefix is a prefix of the record's,
or the record's scope prefix is a prefix of the node's). Prints one JSON
line {"acknowledged": N, "checked": N, "lost": N, ...} and exits 1 if any
is lost.
"""
import json
import sys


def region_prefix(code):
    """A region code without its trailing all-zero groups."""
    if code[9:12] != "000":
        return code
    if code[6:9] != "000":
        return code[:9]
    if code[4:6] != "00":
        return code[:6]
    if code[2:4] != "00":
        return code[:4]
    return code[:2]


def holds(node, region, scope):
    n, r, s = region_prefix(node), region_prefix(region), region_prefix(scope)
    return r.startswith(n) or n.startswith(s)


def main(argv):
    if "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    cut = argv.index("--")
    acked, nodes = argv[:cut], argv[cut + 1:]
    drafts = []
    for path in acked:
        with open(path, encoding="utf-8") as lines:
            drafts += [json.loads(line) for line in lines if line.strip()]
    held = {}
    for item in nodes:
        region, path = item.split("=", 1)
        ids = set()
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                if record.get("kind") == "elder" and "id_no" in record.get("fields", {}):
                    ids.add(record["fields"]["id_no"])
        held[region] = ids
    checked = lost = 0
    missing = []
    for draft in drafts:
        region = draft["region"]
        scope = draft.get("scope", region)
        for node, ids in held.items():
            if not holds(node, region, scope):
                continue
            checked += 1
            if draft["fields"]["id_no"] not in ids:
                lost += 1
                if len(missing) < 10:
                    missing.append({"node": node, "id_no": draft["fields"]["id_no"],
                                    "region": region})
    print(json.dumps({"acknowledged": len(drafts), "checked": checked, "lost": lost,
                      "missing": missing}, ensure_ascii=False))
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

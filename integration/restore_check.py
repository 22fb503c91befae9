#!/usr/bin/env python3
"""Checks for integration/scenario_restore.sh.

    restore_check.py present ACKED_FILES... -- NODE_REGION=EXPORT_FILE...

Every acknowledged draft (a JSON line of an elder draft whose `hutong put`
exited 0) must be present, by citizen ID, at every node whose region holds
it (the holder rule: the node's region prefix is a prefix of the record's,
or the record's scope prefix is a prefix of the node's). Prints one JSON
line {"acknowledged": N, "checked": N, "lost": N, ...} and exits 1 if any
is lost. The check is converge.check_writes (presence only), on exports
taken by the scenario.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import converge  # noqa: E402


def main(argv):
    if "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    cut = argv.index("--")
    acked, nodes = argv[:cut], argv[cut + 1:]
    writes = converge.load_writes(*acked)
    held = {}
    for item in nodes:
        region, path = item.split("=", 1)
        with open(path, encoding="utf-8") as lines:
            held[region] = [json.loads(line) for line in lines if line.strip()]
    #  Matched by citizen ID (no idkey): the exports' elders by their id_no
    lost, _, checked = converge.check_writes(held, writes, idkey=None, contents=False)
    missing = [{"node": item["node"], "id_no": item["write"]["fields"]["id_no"],
                "region": item["write"]["region"]} for item in lost[:10]]
    print(json.dumps({"acknowledged": len(writes), "checked": checked, "lost": len(lost),
                      "missing": missing}, ensure_ascii=False))
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Drafts for the fault scenarios' writers (integration/faults.sh).

    fault_writes.py elders   POOL REGION COUNT [--skip N] [--batch B] [--seed S]
    fault_writes.py facilities POOL REGION SCOPE COUNT [options]
    fault_writes.py credit   POOL SUBJECT_REGION ISSUER COUNT [--tag T] [options]

POOL is `hutong gen` output. Prints COUNT draft lines for a writer at one
node, in rounds of B (default 5): each round B-1 new entities of the pool
(from the N-th of that kind on, so writers given different --skip never
share an entity) moved to REGION, and one update of an entity an earlier
round created (a new phone, staff number or subject name). Elders live in
REGION (region = scope = hukou = residence). Facilities stand in REGION
with SCOPE. Credit records are about a subject in SUBJECT_REGION, issued
and scoped by ISSUER, with a document number made unique by --tag.
"""
import argparse
import json
import random
import sys


def take(pool, kind, skip, count):
    out = []
    with open(pool, encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            if record["kind"] != kind:
                continue
            if kind == "facility" and "uscc" not in record["fields"]:
                continue
            if skip:
                skip -= 1
                continue
            out.append(record)
            if len(out) == count:
                break
    if len(out) < count:
        sys.exit("fault_writes: the pool holds too few %s drafts" % kind)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=("elders", "facilities", "credit"))
    parser.add_argument("pool")
    parser.add_argument("region")
    parser.add_argument("rest", nargs="+")
    parser.add_argument("--skip", type=int, default=0)
    parser.add_argument("--batch", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    count = int(args.rest[-1])
    batch = max(args.batch, 2)
    fresh = count - count // batch
    if args.what == "elders":
        kind = "elder"
        pool = take(args.pool, kind, args.skip, fresh)
        for record in pool:
            record["region"] = record["scope"] = args.region
            record["fields"]["hukou_region"] = args.region
            record["fields"]["residence_region"] = args.region
    elif args.what == "facilities":
        kind = "facility"
        pool = take(args.pool, kind, args.skip, fresh)
        for record in pool:
            record["region"], record["scope"] = args.region, args.rest[0]
    else:
        kind = "credit"
        pool = take(args.pool, kind, args.skip, fresh)
        issuer = args.rest[0]
        for n, record in enumerate(pool):
            record["region"], record["scope"] = args.region, issuer
            record["fields"]["issuer_region"] = issuer
            record["fields"]["doc_no"] = "%s-%s-%d" % (args.tag or issuer, kind, args.skip + n)
    out, made, fresh_records = [], [], iter(pool)
    while len(out) < count:
        this_round = []
        for _ in range(batch - 1 if made else batch):
            record = next(fresh_records, None)
            if record is not None:
                this_round.append(record)
        created = list(this_round)
        if made:
            #  An update of the latest version an earlier round wrote
            index = rng.randrange(len(made))
            update = json.loads(json.dumps(made[index]))
            if kind == "elder":
                update["fields"]["phone"] = "1%d%09d" % (rng.randint(3, 9), rng.randrange(10 ** 9))
            elif kind == "facility":
                update["fields"]["staff"] = rng.randrange(1, 500)
            else:
                update["fields"]["subject_name"] = "%s·%d" % (
                    update["fields"]["subject_name"].split("·")[0][:90], rng.randrange(1000))
            made[index] = update
            this_round.append(update)
        made += created
        out += this_round
    for record in out[:count]:
        print(json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Client side of tools/bench-compare.sh against its PostgreSQL cascade
(Debian's /usr/bin/python3 with python3-psycopg2). Each command prints
its figures as one JSON line and never judges them.

    bench_pg.py bulk --write PORT --watch PORT --rows N [--batch B] [--first I]
        insert N elder rows at the community (PORT), B rows per committed
        transaction, and time from the first insert until the last row is
        visible at the city (--watch): rows/s. One writer, so the city
        applies the transactions in commit order: the last row there means
        all are there (checked with a count at the end).
    bench_pg.py latency --write PORT --watch PORT --writes W [--first I]
        W single-row committed inserts, each timed until the row is visible
        at the city; p50/p99/max, and the same for the commit alone.

Rows are made by the server (generate_series), so the client costs the
writer almost nothing: ids of 32 hex digits (as long as a Hutong elder
key), the community's region, and a jsonb payload with the fields of
`hutong bench network`'s elders.
"""
import argparse
import json
import sys
import time

import psycopg2

POLL_S = 0.0002                     # as `hutong bench network` polls the city
LATENCY_DEADLINE_S = 10.0           # a write slower than this is lost
BULK_DEADLINE_S = 3600.0
REGION = "441802001001"

#  One statement makes rows first .. last (inclusive), as the elders of
#  `hutong bench network` (tools/cmd_bench.c, ht_bench_elder)
INSERT = """
INSERT INTO elder (id, region, payload)
SELECT md5('elder/' || i), %(region)s, jsonb_build_object(
    'id_type', '居民身份证',
    'id_no', '441802' || (19300101 + i %% 30 * 10000 + i / 30 %% 12 * 100 + i / 360 %% 28)::text
             || lpad((i / 10080 %% 1000)::text, 3, '0') || (i %% 10)::text,
    'name', '测试老人',
    'sex', i %% 2,
    'birth_date', (19300101 + i %% 30 * 10000 + i / 30 %% 12 * 100 + i / 360 %% 28)::text,
    'hukou_region', %(region)s,
    'status', 'active')
FROM generate_series(%(first)s, %(last)s) AS i
"""


def connect(port):
    conn = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres")
    conn.autocommit = True
    return conn


def visible(cursor, index):
    cursor.execute("SELECT 1 FROM elder WHERE id = md5('elder/' || %s::text)", (index,))
    return cursor.fetchone() is not None


def percentile(values, share):
    if not values:
        return -1.0
    position = min(int(len(values) * share), len(values) - 1)
    return values[position]


def bulk(args):
    writer, watcher = connect(args.write), connect(args.watch)
    wcur, ccur = writer.cursor(), watcher.cursor()
    ccur.execute("SELECT count(*) FROM elder")
    before = ccur.fetchone()[0]
    last = args.first + args.rows - 1
    start = time.monotonic()
    for first in range(args.first, last + 1, args.batch):
        wcur.execute(INSERT, {"region": REGION, "first": first,
                              "last": min(first + args.batch - 1, last)})
    written = time.monotonic() - start
    while not visible(ccur, last):
        if time.monotonic() - start > BULK_DEADLINE_S:
            sys.exit("bench_pg: the city did not receive the bulk within %.0f s" % BULK_DEADLINE_S)
        time.sleep(0.001)
    seconds = time.monotonic() - start
    ccur.execute("SELECT count(*) FROM elder")
    held = ccur.fetchone()[0]
    if held != before + args.rows:
        sys.exit("bench_pg: the city holds %d rows, expected %d" % (held, before + args.rows))
    print(json.dumps({"rows": args.rows, "seconds": seconds, "write_seconds": written,
                      "rows_per_second": args.rows / seconds, "city_rows": held}))


def latency(args):
    writer, watcher = connect(args.write), connect(args.watch)
    wcur, ccur = writer.cursor(), watcher.cursor()
    arrived, commits = [], []
    for index in range(args.first, args.first + args.writes):
        start = time.monotonic()
        wcur.execute(INSERT, {"region": REGION, "first": index, "last": index})
        commits.append((time.monotonic() - start) * 1000.0)
        while time.monotonic() - start < LATENCY_DEADLINE_S:
            if visible(ccur, index):
                arrived.append((time.monotonic() - start) * 1000.0)
                break
            time.sleep(POLL_S)
        time.sleep(0.02)            # let the cascade go idle again
    arrived.sort()
    commits.sort()
    print(json.dumps({"writes": args.writes, "arrived": len(arrived),
                      "p50_ms": percentile(arrived, 0.5), "p99_ms": percentile(arrived, 0.99),
                      "max_ms": arrived[-1] if arrived else -1.0,
                      "commit_p50_ms": percentile(commits, 0.5),
                      "commit_p99_ms": percentile(commits, 0.99)}))
    if len(arrived) != args.writes:
        sys.exit("bench_pg: %d of %d writes reached the city" % (len(arrived), args.writes))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("bulk", "latency"):
        command = commands.add_parser(name)
        command.add_argument("--write", type=int, required=True, help="the community's port")
        command.add_argument("--watch", type=int, required=True, help="the city's port")
        command.add_argument("--first", type=int, default=0, help="index of the first row")
    commands.choices["bulk"].add_argument("--rows", type=int, required=True)
    commands.choices["bulk"].add_argument("--batch", type=int, default=1000)
    commands.choices["latency"].add_argument("--writes", type=int, required=True)
    args = parser.parse_args()
    (bulk if args.command == "bulk" else latency)(args)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Helpers of tools/bench-feed.sh (Debian's /usr/bin/python3 with
python3-zmq, python3-msgpack and python3-nacl). They use the partner
client integration/partner/hutong_client.py (its feed API) and print
figures as one JSON line; they never judge timings.

    bench_feed.py pyfeed NODE-OPTIONS --limit N [--window W] [--kinds K] [--purpose P]
        follow the feed from the start with the Python client until N events
        came: events/s (each event verified in Python, as the client does)
    bench_feed.py stall NODE-OPTIONS --keys K1,K2,... --max M --ready FILE
        one raw CURVE DEALER a key, each subscribing from the start with a
        credit of M (0: none) and never reading (receive queue of one
        message, small socket buffer); READY once all were answered; on
        SIGTERM each UNSUBSCRIBEs, then it exits
    bench_feed.py follow NODE-OPTIONS --out FILE --ready FILE [--kinds K] [--purpose P]
        a Python partner following from now: a line "kind key hlc_ms
        arrival_ms" an event, until SIGTERM
    bench_feed.py cfollow --out FILE -- HUTONG-FEED-COMMAND...
        run `hutong feed --follow ...` and stamp each line it prints as it
        arrives (same lines as follow), until SIGTERM
    bench_feed.py write --node EP --node-key PUB --key KEYFILE --idkey FILE
        --drafts FILE --community CODE --batch B --gap-ms G --out FILE [--credit]
        sign elder drafts in Python (hlc = now) and PUT them at the community
        a batch of B at a time, G ms apart; with --credit, a batch of B
        credit records (public fields only, never audited) after each
        elder batch; OUT: "kind key hlc_ms" a record written
    bench_feed.py latency WRITTEN ARRIVALS...
        p50/p99/max of arrival - hlc per follower and kind
    bench_feed.py cfeeds --hutong H NODE-OPTIONS --limit N [--kinds K] [--purpose P]
        [--city-pid PID] KEYFILE...
        one `hutong feed --limit N` a key, all started at once, their output
        counted as it comes: events/s of each and in aggregate, the CPU
        seconds of the clients and of the node's threads meanwhile
    bench_feed.py rss PID SECONDS
        sample /proc/PID/status every 0.2 s for SECONDS: last and peak
        VmRSS, RssAnon, RssFile (KiB)
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration", "partner"))
import hutong_client as hc      # noqa: E402

import msgpack                  # noqa: E402
import zmq                      # noqa: E402

stopping = threading.Event()


def on_term(signum, frame):
    stopping.set()


def registry():
    path = os.environ.get("HUTONG_SCHEMA")
    if not path:
        raise SystemExit("bench_feed: set HUTONG_SCHEMA (hutong schema --json > FILE)")
    return hc.Schema.load(path)


def client_of(args, reg=None, timeout=10000):
    public, secret = hc.load_keyfile(args.key)
    return hc.NodeClient(args.node, hc.load_public(args.node_key), public, secret, timeout, reg)


def percentile(values, fraction):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * fraction))]


# ---------------------------------------------------------------------------

def cpu_snapshot(pid):
    """{thread id: (name, CPU seconds)} of a process's threads."""
    if not pid:
        return {}
    ticks = os.sysconf("SC_CLK_TCK")
    threads = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as handle:
                text = handle.read()
        except OSError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        fields = text[text.rindex(")") + 2:].split()
        threads[tid] = (name, (int(fields[11]) + int(fields[12])) / ticks)
    # hutongd's own threads share its name; they start in this order: the
    # main thread, the store's verifier pool, the node actor (replication,
    # client socket, audit commits), the reader actor (reads and feeds)
    own = sorted((int(tid) for tid, (name, _) in threads.items() if name == "hutongd"))
    roles = {own[-1]: "reader", own[-2]: "node"} if len(own) >= 3 else {}
    roles[pid] = "main"
    for tid in list(threads):
        if int(tid) in roles:
            threads[tid] = (roles[int(tid)], threads[tid][1])
    return threads


def cpu_delta(before, after):
    """CPU seconds per thread (named name#tid) between two snapshots, and in all."""
    threads = {}
    for tid, (name, seconds) in after.items():
        used = seconds - before.get(tid, (name, 0.0))[1]
        if used > 0.005:
            threads["%s#%s" % (name, tid)] = round(used, 2)
    return {"total": round(sum(threads.values()), 2), "threads": threads}


def cmd_cfeeds(args):
    command = [args.hutong, "feed", "--node", args.node, "--node-key", args.node_key,
               "--limit", str(args.limit), "--idle", str(int(args.idle * 1000))]
    if args.kinds:
        command += ["--kinds", args.kinds]
    if args.purpose:
        command += ["--purpose", args.purpose]
    import selectors
    selector = selectors.DefaultSelector()
    city_before = cpu_snapshot(args.city_pid)
    start = time.monotonic()
    feeds = []
    for key in args.keys:
        child = subprocess.Popen(command + ["--key", key], stdout=subprocess.PIPE, bufsize=0)
        feed = {"key": os.path.basename(key), "child": child, "events": 0, "end": None,
                "first": None}
        feeds.append(feed)
        selector.register(child.stdout, selectors.EVENT_READ, feed)
    open_pipes = len(feeds)
    while open_pipes:
        for item, _ in selector.select():
            feed = item.data
            chunk = os.read(item.fileobj.fileno(), 1 << 16)
            now = time.monotonic()
            if not chunk:
                selector.unregister(item.fileobj)
                open_pipes -= 1
                feed["end"] = feed["end"] or now
                continue
            feed["first"] = feed["first"] or now
            feed["events"] += chunk.count(b"\n")
            if feed["events"] >= args.limit and feed["end"] is None:
                feed["end"] = now
    client_cpu = 0.0
    for feed in feeds:
        _, status, usage = os.wait4(feed["child"].pid, 0)
        feed["exit"] = os.waitstatus_to_exitcode(status)
        client_cpu += usage.ru_utime + usage.ru_stime
    city = cpu_delta(city_before, cpu_snapshot(args.city_pid))
    wall = max(feed["end"] for feed in feeds) - start
    total = sum(feed["events"] for feed in feeds)
    per_feed = [{"key": feed["key"], "events": feed["events"], "exit": feed["exit"],
                 "seconds": round(feed["end"] - start, 3),
                 "first_event_s": round((feed["first"] or start) - start, 3),
                 "per_second": round(feed["events"] / (feed["end"] - start), 1)}
                for feed in feeds]
    print(json.dumps({"feeds": len(feeds), "events": total, "wall_s": round(wall, 3),
                      "aggregate_per_second": round(total / wall, 1),
                      "client_cpu_s": round(client_cpu, 2), "city_cpu": city,
                      "per_feed": per_feed}))
    return 0 if all(feed["events"] >= args.limit for feed in feeds) else 1


def cmd_pyfeed(args):
    reg = registry()
    city_before = cpu_snapshot(args.city_pid)
    cpu_start = time.process_time()
    client = client_of(args, reg)
    start = time.monotonic()
    feed = client.subscribe(kinds=args.kinds, purpose=args.purpose, since="start",
                            window=args.window)
    events, first, last_event = 0, None, start
    idle_deadline = None
    try:
        while events < args.limit:
            event = feed.next_event(1000)
            now = time.monotonic()
            if event is None:
                idle_deadline = idle_deadline or now + args.idle
                if now >= idle_deadline:
                    break
                continue
            idle_deadline = None
            events += 1
            first = first or now
            last_event = now
    finally:
        feed.close()
        time.sleep(0.05)
        client.close()
    seconds = last_event - start
    print(json.dumps({"events": events, "seconds": round(seconds, 3),
                      "first_event_s": round((first or start) - start, 3),
                      "per_second": round(events / seconds, 1) if seconds > 0 else None,
                      "window": args.window, "resubscribed": feed.resubscribed,
                      "client_cpu_s": round(time.process_time() - cpu_start, 2),
                      "city_cpu": cpu_delta(city_before, cpu_snapshot(args.city_pid))}))
    return 0 if events >= args.limit else 1


# ---------------------------------------------------------------------------

def cmd_stall(args):
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    node_key = hc.load_public(args.node_key)
    context = zmq.Context.instance()
    sockets = []
    for path in args.keys.split(","):
        public, secret = hc.load_keyfile(path)
        socket = hc.curve_dealer(context, node_key, public, secret)
        socket.linger = 500
        socket.rcvhwm = 1
        socket.rcvbuf = 4096
        socket.connect(args.node)
        socket.send_multipart(hc.subscribe_frames(1, args.max, args.kinds, args.purpose))
        sockets.append(socket)
    # Each reads its first message (the SUBSCRIBE-OK) and then nothing
    answers, errors = 0, []
    deadline = time.monotonic() + 30
    pending = set(range(len(sockets)))
    while pending and time.monotonic() < deadline and not stopping.is_set():
        for index in list(pending):
            socket = sockets[index]
            if socket.poll(0):
                parts = socket.recv_multipart()
                pending.discard(index)
                if parts[0] == b"SUBSCRIBE-OK":
                    answers += 1
                else:
                    body = msgpack.unpackb(parts[1], raw=False)
                    errors.append("%s %s" % (parts[0].decode(), body.get("error")))
        time.sleep(0.01)
    with open(args.ready, "w") as handle:
        handle.write(json.dumps({"subscribed": answers, "errors": errors[:5],
                                 "unanswered": len(pending)}) + "\n")
    while not stopping.is_set():
        stopping.wait(0.5)
    for socket in sockets:
        try:
            socket.send_multipart([b"UNSUBSCRIBE", hc.pack({"token": 1})], flags=zmq.NOBLOCK)
        except zmq.Again:
            pass
    time.sleep(0.3)
    for socket in sockets:
        socket.close(200)
    return 0


# ---------------------------------------------------------------------------

def cmd_follow(args):
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    reg = registry()
    client = client_of(args, reg)
    feed = client.subscribe(kinds=args.kinds, purpose=args.purpose, since="now")
    out = open(args.out, "w", buffering=1)
    ready = False
    try:
        while not stopping.is_set():
            event = feed.next_event(200)
            arrival = time.time() * 1000.0
            if not ready and feed.subscribed:
                with open(args.ready, "w") as handle:
                    handle.write(json.dumps(feed.subscription) + "\n")
                ready = True
            if event is not None:
                out.write("%s %s %d %.3f\n" % (event.kind, event.key,
                                              event.record["hlc"] >> hc.HLC_COUNTER_BITS,
                                              arrival))
    finally:
        out.close()
        feed.close()
        time.sleep(0.05)
        client.close()
    return 0


def cmd_cfollow(args):
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    child = subprocess.Popen(command, stdout=subprocess.PIPE, bufsize=0)
    out = open(args.out, "w", buffering=1)

    def pump():
        pending = b""
        while True:
            chunk = os.read(child.stdout.fileno(), 1 << 16)
            arrival = time.time() * 1000.0
            if not chunk:
                return
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                try:
                    record = json.loads(line)["record"]
                except (ValueError, KeyError):
                    continue
                out.write("%s %s %d %.3f\n" % (record["kind"], record["key"],
                                              record["hlc"] >> hc.HLC_COUNTER_BITS, arrival))

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    while not stopping.is_set() and child.poll() is None:
        stopping.wait(0.2)
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    thread.join(2)
    out.close()
    return 0


# ---------------------------------------------------------------------------

def credit_key(fields):
    """records.md: hex BLAKE2b-128 over canonical(type), canonical(issuer_region),
    canonical(issuer_dept), canonical(doc_no), concatenated."""
    data = b"".join(hc.pack(fields[name]) for name in
                    ("type", "issuer_region", "issuer_dept", "doc_no"))
    return hc.blake2b(data, 16).hex()


def cmd_write(args):
    reg = registry()
    public, secret = hc.load_keyfile(args.key)
    idkey = hc.load_idkey(args.idkey)
    client = client_of(args, reg)
    client.info()               # connected (CURVE handshake done) before any hlc is taken
    drafts = [json.loads(line) for line in open(args.drafts, encoding="utf-8") if line.strip()]
    out = open(args.out, "w")
    rejected, batches, put_ms = [], 0, []
    stamp = int(time.time())

    def put(records):
        started = time.monotonic()
        reply = client.put(records)
        done = time.time() * 1000.0
        put_ms.append((time.monotonic() - started) * 1000.0)
        for record, result in zip(records, reply.get("results", [])):
            if result == "ok":
                out.write("%s %s %d %.3f\n" % (record.kind, record.key,
                                               record.hlc >> hc.HLC_COUNTER_BITS, done))
            else:
                rejected.append("%s %s" % (record.kind, result))

    for offset in range(0, len(drafts), args.batch):
        records = []
        for draft in drafts[offset:offset + args.batch]:
            record = hc.Record("elder", reg)
            record.fields = dict(draft["fields"])
            record.key = hc.elder_key(idkey, record.fields["id_no"])
            record.region = record.scope = args.community
            record.hlc = int(time.time() * 1000) << hc.HLC_COUNTER_BITS
            record.sign(secret)
            records.append(record)
        put(records)
        batches += 1
        time.sleep(args.gap_ms / 1000.0)
        if args.credit:
            records = []
            for number in range(offset, offset + len(drafts[offset:offset + args.batch])):
                record = hc.Record("credit", reg)
                record.fields = {
                    "type": "inspection", "date": time.strftime("%Y%m%d"),
                    "doc_no": "bench-%d-%05d" % (stamp, number),
                    "issuer_dept": "civil_affairs", "issuer_region": args.community,
                    "subject_facility": "%032x" % (number + 1),
                    "subject_name": "bench facility %d" % number, "result": "合格"}
                record.key = credit_key(record.fields)
                record.region = record.scope = args.community
                record.hlc = int(time.time() * 1000) << hc.HLC_COUNTER_BITS
                record.sign(secret)
                records.append(record)
            put(records)
            batches += 1
            time.sleep(args.gap_ms / 1000.0)
    out.close()
    client.close()
    print(json.dumps({"batches": batches, "rejected": len(rejected),
                      "rejections": sorted(set(rejected))[:5],
                      "put_ms_p50": round(percentile(put_ms, 0.5), 2),
                      "put_ms_p99": round(percentile(put_ms, 0.99), 2)}))
    return 0 if not rejected else 1


def cmd_latency(args):
    written, order, put_done = {}, {}, {}
    for line in open(args.written):
        kind, key, hlc_ms, done = line.split()
        written[(kind, key)] = int(hlc_ms)
        put_done[(kind, key)] = float(done)
        order[(kind, key)] = len(order)
    first_write = min(written.values()) if written else 0
    report = {}
    for path in args.arrivals:
        name = os.path.basename(path).rsplit(".", 1)[0]
        first, after_put = {}, {}
        for line in open(path):
            parts = line.split()
            if len(parts) != 4:
                continue
            kind, key, hlc_ms, arrival = parts
            if (kind, key) in written and (kind, key) not in first:
                first[(kind, key)] = float(arrival) - int(hlc_ms)
                after_put[(kind, key)] = float(arrival) - put_done[(kind, key)]
        for kind in sorted({kind for kind, _ in written}):
            values = [ms for (k, _), ms in first.items() if k == kind]
            since_put = [ms for (k, _), ms in after_put.items() if k == kind]
            total = sum(1 for k, _ in written if k == kind)
            report["%s/%s" % (name, kind)] = {
                "written": total, "arrived": len(values),
                "p50": round(percentile(values, 0.5), 1) if values else None,
                "p99": round(percentile(values, 0.99), 1) if values else None,
                "max": round(max(values), 1) if values else None,
                "min": round(min(values), 1) if values else None,
                # from the PUT-OK (the community stored the batch) to arrival
                "after_put_p50": round(percentile(since_put, 0.5), 1) if values else None,
                "after_put_p99": round(percentile(since_put, 0.99), 1) if values else None}
            # the slowest, with where they were in the run: the record's
            # place among the writes and its write time after the first
            worst = sorted(((ms, item) for item, ms in first.items() if item[0] == kind),
                           reverse=True)[:args.worst]
            report["%s/%s" % (name, kind)]["worst"] = [
                [round(ms, 1), order[item], written[item] - first_write] for ms, item in worst]
    print(json.dumps(report))
    return 0


def cmd_arrived(args):
    """Exit 0 once every written record is in each arrivals file."""
    written = {tuple(line.split()[:2]) for line in open(args.written) if line.strip()}
    for path in args.arrivals:
        try:
            seen = {tuple(line.split()[:2]) for line in open(path) if line.strip()}
        except FileNotFoundError:
            return 1
        if written - seen:
            return 1
    return 0


def status_of(pid):
    values = {}
    with open("/proc/%d/status" % pid) as handle:
        for line in handle:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "RssAnon", "RssFile"):
                values[name] = int(rest.split()[0])
    return values


def send_queues(port):
    """(connections, bytes waiting in the kernel's send queues) of the
    established TCP connections whose local port is port: what the node
    handed to the kernel for clients that do not read."""
    try:
        text = subprocess.run(["ss", "-Htn", "state", "established",
                               "( sport = :%d )" % port],
                              capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.TimeoutExpired):
        return 0, 0
    rows = [line.split() for line in text.splitlines() if line.strip()]
    return len(rows), sum(int(row[1]) for row in rows if len(row) >= 2 and row[1].isdigit())


def cmd_rss(args):
    peak, last = {}, {}
    end = time.monotonic() + args.seconds
    while True:
        last = status_of(args.pid)
        if args.port:
            last["connections"], last["send_queue_kib"] = send_queues(args.port)
            last["send_queue_kib"] //= 1024
        for name, value in last.items():
            peak[name] = max(peak.get(name, 0), value)
        if time.monotonic() >= end:
            break
        time.sleep(0.2)
    print(json.dumps({"last": last, "peak": peak}))
    return 0


def io_pressure():
    """/proc/pressure/io totals (microseconds some / all tasks stalled on IO)."""
    try:
        values = {}
        for line in open("/proc/pressure/io"):
            name, *items = line.split()
            values[name] = int(dict(item.split("=") for item in items)["total"])
        return values
    except (OSError, KeyError, ValueError):
        return {}


def cmd_fsync(args):
    """Write 4 KiB and fsync it in DIR every INTERVAL ms until SIGTERM: how
    long the disk takes to make a small commit durable meanwhile (a node
    commits each batch, PUT and audit record so), and the kernel's IO
    pressure over the same time. OUT: one JSON line."""
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    path = os.path.join(args.dir, "fsync-probe.%d" % os.getpid())
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    pressure, started = io_pressure(), time.monotonic()
    times, block = [], os.urandom(4096)
    try:
        while not stopping.is_set():
            os.pwrite(fd, block, (len(times) % 256) * 4096)
            begin = time.monotonic()
            os.fsync(fd)
            times.append((time.monotonic() - begin) * 1000.0)
            stopping.wait(args.interval_ms / 1000.0)
    finally:
        os.close(fd)
        os.unlink(path)
    elapsed = time.monotonic() - started
    after = io_pressure()
    stalled = {name: round((after[name] - pressure[name]) / 1e6 / elapsed * 100, 1)
               for name in after if name in pressure}
    with open(args.out, "w") as handle:
        handle.write(json.dumps({
            "fsyncs": len(times), "p50": round(percentile(times, 0.5), 2),
            "p99": round(percentile(times, 0.99), 2), "max": round(max(times), 2),
            "over_50ms": sum(1 for t in times if t > 50), "seconds": round(elapsed, 1),
            "io_pressure_pct": stalled}) + "\n")
    return 0


def add_node(parser):
    parser.add_argument("--node", required=True)
    parser.add_argument("--node-key", required=True)
    parser.add_argument("--key")


def main():
    parser = argparse.ArgumentParser(prog="bench_feed.py")
    commands = parser.add_subparsers(dest="command", required=True)
    pyfeed = commands.add_parser("pyfeed")
    add_node(pyfeed)
    pyfeed.add_argument("--limit", type=int, required=True)
    pyfeed.add_argument("--window", type=int, default=hc.FEED_WINDOW)
    pyfeed.add_argument("--kinds")
    pyfeed.add_argument("--purpose")
    pyfeed.add_argument("--idle", type=float, default=10.0)
    pyfeed.add_argument("--city-pid", type=int)
    pyfeed.set_defaults(run=cmd_pyfeed)
    cfeeds = commands.add_parser("cfeeds")
    add_node(cfeeds)
    cfeeds.add_argument("--hutong", required=True)
    cfeeds.add_argument("--limit", type=int, required=True)
    cfeeds.add_argument("--kinds")
    cfeeds.add_argument("--purpose")
    cfeeds.add_argument("--idle", type=float, default=10.0)
    cfeeds.add_argument("--city-pid", type=int)
    cfeeds.add_argument("keys", nargs="+")
    cfeeds.set_defaults(run=cmd_cfeeds)
    stall = commands.add_parser("stall")
    add_node(stall)
    stall.add_argument("--keys", required=True)
    stall.add_argument("--max", type=int, required=True)
    stall.add_argument("--ready", required=True)
    stall.add_argument("--kinds")
    stall.add_argument("--purpose")
    stall.set_defaults(run=cmd_stall)
    follow = commands.add_parser("follow")
    add_node(follow)
    follow.add_argument("--out", required=True)
    follow.add_argument("--ready", required=True)
    follow.add_argument("--kinds")
    follow.add_argument("--purpose")
    follow.set_defaults(run=cmd_follow)
    cfollow = commands.add_parser("cfollow")
    cfollow.add_argument("--out", required=True)
    cfollow.add_argument("command", nargs=argparse.REMAINDER)
    cfollow.set_defaults(run=cmd_cfollow)
    write = commands.add_parser("write")
    add_node(write)
    write.add_argument("--idkey", required=True)
    write.add_argument("--drafts", required=True)
    write.add_argument("--community", required=True)
    write.add_argument("--batch", type=int, default=5)
    write.add_argument("--gap-ms", type=float, default=50)
    write.add_argument("--out", required=True)
    write.add_argument("--credit", action="store_true")
    write.set_defaults(run=cmd_write)
    latency = commands.add_parser("latency")
    latency.add_argument("written")
    latency.add_argument("arrivals", nargs="+")
    latency.add_argument("--worst", type=int, default=5)
    latency.set_defaults(run=cmd_latency)
    arrived = commands.add_parser("arrived")
    arrived.add_argument("written")
    arrived.add_argument("arrivals", nargs="+")
    arrived.set_defaults(run=cmd_arrived)
    fsync = commands.add_parser("fsync")
    fsync.add_argument("--dir", required=True)
    fsync.add_argument("--interval-ms", type=float, default=20)
    fsync.add_argument("--out", required=True)
    fsync.set_defaults(run=cmd_fsync)
    rss = commands.add_parser("rss")
    rss.add_argument("pid", type=int)
    rss.add_argument("seconds", type=float)
    rss.add_argument("--port", type=int, help="also the kernel send queues of this local port")
    rss.set_defaults(run=cmd_rss)
    args = parser.parse_args()
    return args.run(args) or 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""A randomized, seedable convergence checker (in the manner of Jepsen).

It builds a small four-tier network on 127.0.0.1 with integration/network.sh
(keys, certificates, stores, configs: the scenarios' one source of truth),
puts every child's uplink behind a fault proxy (faultproxy.Proxy), starts
the hutongd processes itself, and then, for --seconds of schedule:

  - writes elders and facilities at random tiers through every write path:
    `hutong put --node` to a running (or paused) node, `hutong put --store`
    into a stopped node's store and now and then into a running one's,
    each acknowledged only on exit 0; some entities are CONTENDED: written
    from several tiers, at times at once (an elder of a community updated
    at the community, its township and its county); now and then a
    tombstone, a bulk put of many new elders, a put killed mid-write;
  - injects faults: kill -9 and restart (sometimes two nodes at once),
    link cuts, one-way holds, blips (reset), delays, and SIGSTOP/SIGCONT
    pauses longer than the peer timeout.

Then it heals (every proxy passes, every node runs), waits (bounded) for
convergence and checks (integration/converge.py, its contended write
check): every node holds exactly its holder-rule set, each entity in one
version everywhere; every acknowledged write, or a later version in merge
order, is current at every holder and stays in its writer's history;
every current version is one a recorded write made (each write is
recorded, acknowledged or not); every holder's history is ordered and
judged alike; the links are up; nothing is quarantined (no fault here
explains a quarantine: the proxy never alters a byte) or kept as a
conflict; status counts match the stores; every record verifies; no node
crashed.

The schedule is a function of the seed: time advances in ticks of --tick
seconds, and every decision (what to write where, which fault, for how
many ticks) is drawn from generators seeded with --seed, from the state
the schedule itself made. `checker.py --seed S` with the same settings
(the replay command printed first) replays the same schedule; the
machine's timing still varies, and with it which puts a kill catches.

    checker.py [--seed S] [--seconds N] [--converge-timeout N] [--json]
               [--keep] [--verbose] [--sabotage cut-forever|quarantine] ...

Prints the seed first and on any failure, and last:
    seed S: faults injected N (kill K, cut C, hold H, pause P, delay D,
    reset R), writes acknowledged W, writes lost L, nodes N, converged in T s
(--json: a JSON summary on the line before). Exit 0 only if nothing was
lost and every check passed; 1 otherwise; 2 on bad usage; 3 if the
network could not be set up. Needs HUTONG and HUTONGD (the binaries) and
/usr/bin/python3.
"""
import argparse
import collections
import heapq
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True

HUTONG = os.environ.get("HUTONG")
HUTONGD = os.environ.get("HUTONGD")

import converge                        # noqa: E402  (needs HUTONG in the environment)
import holders                         # noqa: E402
from faultproxy import Proxy           # noqa: E402

#  The network: city, two counties, three townships, three communities.
#  (region, parent)
TOPOLOGY = [
    ("441800000000", None),            # city
    ("441802000000", "441800000000"),  # county A
    ("441803000000", "441800000000"),  # county B
    ("441802001000", "441802000000"),  # township A1
    ("441802002000", "441802000000"),  # township A2
    ("441803100000", "441803000000"),  # township B1
    ("441802001001", "441802001000"),  # community A1a
    ("441802001002", "441802001000"),  # community A1b
    ("441803100001", "441803100000"),  # community B1a
]

FAULTS = ("kill", "cut", "hold", "pause", "delay", "reset")

#  The bash half: network.sh makes the keys, certificates, stores and
#  configs (ports fixed up front, each uplink pointed at its proxy's port)
#  and prints one line per node. The daemons are started from Python.
SETUP = r'''
here="$1"; shift
source "$here/lib.sh"
source "$here/network.sh"
work_keep=1
for spec in "$@"; do network_add "${spec%%:*}" "${spec#*:}"; done
for region in "${network_regions[@]}"; do
    network_pick_port "network_client_ep[$region]"
    network_pick_port "network_node_ep[$region]"
    [ -z "${network_parent_of[$region]}" ] || network_pick_port "network_parent_ep_of[$region]"
done
for region in "${network_regions[@]}"; do
    network_init_store "$region"
    network_write_config "$region"
done
echo "work $work"
for region in "${network_regions[@]}"; do
    printf 'node %s %s %s %s %s %s %s %s %s\n' "$region" "${network_parent_of[$region]:--}" \
        "$(node_store "$region")" "$work/$region.key" "$work/$region.key.pub" \
        "${network_client_ep[$region]}" "${network_node_ep[$region]}" \
        "${network_parent_ep_of[$region]:--}" "$work/$region.cfg"
done
'''


def _kill_if_running(proc):
    if proc.poll() is None:
        try:
            proc.kill()
        except OSError:
            pass


def log(message):
    print(message, flush=True)


def ancestors_or_self(region, regions):
    """The regions of the network that cover region."""
    return [r for r in regions if holders.covers(r, region)]


class Node:
    def __init__(self, fields, work):
        (self.region, parent, self.store, self.key, self.pub, self.client,
         self.node_ep, proxy_ep, self.cfg) = fields
        self.parent = None if parent == "-" else parent
        self.proxy_ep = None if proxy_ep == "-" else proxy_ep
        self.log = os.path.join(work, self.region + ".log")
        self.proc = None
        self.state = "new"             # running | down | paused
        self.proxy = None

    def as_dict(self):
        return {"region": self.region, "parent": self.parent, "store": self.store,
                "key": self.key, "pub": self.pub, "client": self.client}


class Network:
    def __init__(self, work, nodes):
        self.work, self.nodes = work, nodes
        self.by_region = {n.region: n for n in nodes}
        self.crashes = []              # (region, exit status, log tail)

    def start_node(self, node, deadline_s=30):
        offset = os.path.getsize(node.log) if os.path.exists(node.log) else 0
        with open(node.log, "ab") as out:
            node.proc = subprocess.Popen([HUTONGD, "--config", node.cfg], stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        end = time.monotonic() + deadline_s
        while True:
            with open(node.log, "rb") as handle:
                handle.seek(offset)
                if b" started; node " in handle.read():
                    break
            if node.proc.poll() is not None:
                raise RuntimeError("hutongd %s exited at start (%d):\n%s" % (
                    node.region, node.proc.returncode, self.tail(node)))
            if time.monotonic() > end:
                raise RuntimeError("hutongd %s did not start within %d s" % (
                    node.region, deadline_s))
            time.sleep(0.05)
        node.state = "running"

    def kill(self, node):
        node.proc.send_signal(signal.SIGKILL)
        node.proc.wait()
        node.state = "down"

    def pause(self, node):
        node.proc.send_signal(signal.SIGSTOP)
        node.state = "paused"

    def resume(self, node):
        node.proc.send_signal(signal.SIGCONT)
        node.state = "running"

    def tail(self, node, lines=15):
        try:
            with open(node.log, "rb") as handle:
                text = handle.read().decode(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join("    " + line for line in text[-lines:])

    def check_alive(self):
        """Nodes that died by themselves (not our kill): a crash each."""
        died = []
        for node in self.nodes:
            if node.state in ("running", "paused") and node.proc.poll() is not None:
                self.crashes.append((node.region, node.proc.returncode, self.tail(node, 30)))
                node.state = "down"
                died.append(node)
        return died

    def resources(self):
        """{region: {"rss_kib", "fds", "threads"}} of every running node
        (figures for a long run: what grew?)."""
        out = {}
        for node in self.nodes:
            if not node.proc or node.proc.poll() is not None:
                continue
            base = "/proc/%d/" % node.proc.pid
            try:
                with open(base + "status") as handle:
                    status = dict(line.split(":", 1) for line in handle if ":" in line)
                out[node.region] = {"rss_kib": int(status["VmRSS"].split()[0]),
                                    "threads": int(status["Threads"]),
                                    "fds": len(os.listdir(base + "fd"))}
            except (OSError, KeyError, ValueError):
                pass
        return out

    def stop(self):
        for node in reversed(self.nodes):
            if node.proc and node.proc.poll() is None:
                try:
                    node.proc.send_signal(signal.SIGCONT)
                    node.proc.send_signal(signal.SIGTERM)
                except OSError:
                    pass
        for node in reversed(self.nodes):
            if node.proc:
                try:
                    node.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    node.proc.kill()
                    node.proc.wait()
        for node in self.nodes:
            if node.proxy:
                node.proxy.stop()
                node.proxy = None


def setup(seed, args):
    """Keys, certificates, stores and configs through network.sh."""
    env = dict(os.environ, NETWORK_HEARTBEAT_MS=str(max(50, args.peer_timeout_ms // 6)),
               NETWORK_TIMEOUT_MS=str(args.peer_timeout_ms), NETWORK_BATCH=str(args.batch),
               work_template=os.path.join(os.environ.get("TMPDIR", "/tmp"),
                                          "hutong-it.checker-%d.XXXXXX" % seed))
    specs = ["%s:%s" % (region, parent or "") for region, parent in TOPOLOGY]
    result = subprocess.run(["bash", "-c", SETUP, "setup", HERE] + specs, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    work, fields = None, []
    for line in result.stdout.decode().splitlines():
        words = line.split()
        if words[:1] == ["work"]:
            work = words[1]
        elif words[:1] == ["node"]:
            fields.append(words[1:])
    if result.returncode != 0 or not work or len(fields) != len(TOPOLOGY):
        if work:
            shutil.rmtree(work, ignore_errors=True)
        raise RuntimeError("network.sh could not set up the network (exit %d): %s" % (
            result.returncode, result.stderr.decode(errors="replace")[-2000:]))
    return work, [Node(f, work) for f in fields]


# --------------------------------------------------------------------------
#  What gets written

def entity_key(kind, fields, idkey):
    """records.md section 8 (converge.entity_of)."""
    return converge.entity_of({"kind": kind, "fields": fields}, idkey)[1]


class Entity:
    def __init__(self, index, kind, draft, region, scope, writers, contended, idkey):
        self.index, self.kind = index, kind
        self.region, self.scope = region, scope
        self.draft = draft
        self.draft["region"], self.draft["scope"] = region, scope
        if kind == "elder":
            self.draft["fields"]["hukou_region"] = region
            self.draft["fields"].pop("residence_region", None)
        self.key = entity_key(kind, self.draft["fields"], idkey)
        self.writers = writers         # regions that may write it
        self.contended = contended


def make_entities(work, rng, regions, elders, facilities, idkey, bulk=0):
    """Drafts from hutong gen (seeded from rng), each given a home region
    of the network. Elders live in townships and communities, written by
    their home node or any ancestor; facilities in a county's townships or
    communities with the county's scope, written by the county or the city
    (a township's certificate does not cover a county-wide scope). The
    last BULK elders are a pool apart, each written once (bulk_pool)."""
    result = subprocess.run([HUTONG, "gen", "--seed", str(rng.randrange(1, 1 << 30)),
                             "--elders", str(elders + bulk), "--facilities", str(facilities),
                             "--credit", "0", "--counties", "1", "--townships", "1",
                             "--communities", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
    drafts = [json.loads(line) for line in result.stdout.decode().splitlines() if line.strip()]
    homes = [r for r in regions if holders.prefix(r) and len(holders.prefix(r)) >= 9]
    pool = [d for d in drafts if d["kind"] == "elder"][elders:]
    apart = {id(d) for d in pool}
    drafts = [d for d in drafts if id(d) not in apart]
    entities = []
    for draft in drafts:
        kind = draft["kind"]
        if kind not in ("elder", "facility"):
            continue
        draft.pop("key", None)
        home = rng.choice(homes)
        if kind == "elder":
            region = scope = home
            writers = ancestors_or_self(home, regions)
        else:
            region = home
            scope = home[:6] + "000000"
            writers = [r for r in ancestors_or_self(home, regions) if holders.covers(r, scope)]
        contended = rng.random() < 0.35
        if not contended:
            writers = [rng.choice(writers)]
        entities.append(Entity(len(entities), kind, draft, region, scope, writers,
                               contended, idkey))
    return entities, pool


def bulk_entities(rng, regions, writer, drafts, first, idkey):
    """Elders for one bulk put at writer: homes under it (itself, if it
    is a township or community)."""
    homes = [r for r in regions if len(holders.prefix(r)) >= 9 and holders.covers(writer, r)]
    out = []
    for offset, draft in enumerate(drafts):
        draft.pop("key", None)
        home = rng.choice(homes)
        out.append(Entity(first + offset, "elder", draft, home, home, [writer], False, idkey))
    return out


# --------------------------------------------------------------------------
#  The run

class Checker:
    def __init__(self, args, work, nodes):
        self.args = args
        self.seed = args.seed
        self.rng = random.Random(args.seed)
        self.started = time.monotonic()
        self.net = Network(work, nodes)
        self.work = work
        self.regions = [n.region for n in nodes]
        with open(os.path.join(work, "net.idkey")) as handle:
            self.idkey = bytes.fromhex(handle.read().strip())
        self.faults = collections.Counter()
        self.double_kills = 0
        self.timers = []               # heap of (tick, seq, action, args)
        self.timer_seq = 0
        self.busy = set()              # regions and links under a fault
        self.inflight = []             # running writes
        self.writes = 0
        self.items_n = 0
        self.decision = self.launches = 0
        self.puts_killed = 0
        self.acked = []                #  the writes acknowledged
        self.written = []              #  every write, acknowledged or not, as it ended
        self.outcomes = collections.Counter()
        os.makedirs(os.path.join(work, "writes"), exist_ok=True)

    def verbose(self, message):
        if self.args.verbose:
            log("# %7.1f s  %s" % (time.monotonic() - self.t0, message))

    # ---- timers --------------------------------------------------------

    def at(self, tick, action, *args):
        self.timer_seq += 1
        heapq.heappush(self.timers, (tick, self.timer_seq, action, args))

    def run_timers(self, tick):
        while self.timers and self.timers[0][0] <= tick:
            _, _, action, args = heapq.heappop(self.timers)
            action(*args)

    # ---- writes --------------------------------------------------------

    def reap(self, block=False):
        """Collect finished writes; with block, wait for at least one."""
        while True:
            still = []
            for write in self.inflight:
                rc = write["proc"].poll()
                if rc == -signal.SIGKILL and write["killer"]:
                    self.puts_killed += 1
                    self.verbose("killed the put of write %d (%s) mid-write" % (
                        write["items"][0]["n"], write["path"]))
                if rc is None:
                    if time.monotonic() > write["deadline"]:
                        write["proc"].kill()
                        write["proc"].wait()
                        rc = -9
                    else:
                        still.append(write)
                        continue
                self.finish(write, rc)
            progress = len(still) < len(self.inflight)
            self.inflight = still
            if not block or progress or not still:
                return
            time.sleep(0.01)

    def finish(self, write, rc):
        if write["killer"]:
            write["killer"].cancel()
        write["out"].close()
        for item in write["items"]:
            item["ack"] = rc == 0
            self.written.append(item)
        if rc == 0:
            self.acked += write["items"]
            self.outcomes["acknowledged " + write["path"]] += len(write["items"])
        else:
            reason = "exit %d" % rc
            try:
                with open(write["file"] + ".err", "rb") as handle:
                    text = handle.read().decode(errors="replace")
                if "kept as history" in text:
                    reason = "kept as history"
                elif rc == 3:
                    reason = "no answer"
            except OSError:
                pass
            self.outcomes["not acknowledged %s (%s)" % (write["path"], reason)] += len(write["items"])
            self.verbose("write %s at %s via %s: %s" % (
                ",".join(str(i["n"]) for i in write["items"]), write["writer"], write["path"], reason))
        write["done"] = True
        if not self.args.keep:
            for suffix in ("", ".out", ".err"):
                try:
                    os.unlink(write["file"] + suffix)
                except OSError:
                    pass

    def decide(self):
        """A new write decision: launches within it draw their details
        from their own generator, so a write left out because an earlier
        one of the same entity is still in flight (timing) does not shift
        the schedule's generator."""
        self.decision += 1
        self.launches = 0

    def launch(self, writer, entities, bulk=False):
        """One hutong put at writer (to the node if it runs or is paused,
        into its store if it is down) of one draft per entity."""
        node = self.net.by_region[writer]
        self.launches += 1
        rng = random.Random("%d-%d-%d" % (self.seed, self.decision, self.launches))
        #  Now and then into the store of a running node (tools may write
        #  a store hutongd serves: the node notices a higher sequence)
        live = rng.random() < self.args.live_store_rate
        #  (not a paused one: the put could wait on a lock the paused
        #  node holds, and the schedule on the put)
        path = "store" if node.state == "down" else \
            "store-live" if live and node.state == "running" else "node"
        if path != "node" and any(w["writer"] == writer and w["path"] != "node"
                                  for w in self.inflight):
            self.wait_store_writes(writer)
        #  A write to a paused or killed node waits for it (or times out):
        #  only those to running nodes count against the limit, so the
        #  schedule never waits on a fault it is itself to undo
        while self.active_writes() >= self.args.inflight:
            self.reap(block=True)
        self.writes += 1
        name = os.path.join(self.work, "writes", "w%05d.jsonl" % self.writes)
        items = []
        with open(name, "w") as handle:
            for ent in entities:
                self.items_n += 1
                tag = "检查 s%d w%d" % (self.seed, self.items_n)
                draft = json.loads(json.dumps(ent.draft))
                draft["fields"]["address"] = tag
                #  Now and then a tombstone (a version like any other; the
                #  next write brings the entity back)
                deleted = not bulk and rng.random() < 0.05
                if deleted:
                    draft["deleted"] = True
                handle.write(json.dumps(draft, ensure_ascii=False) + "\n")
                #  A write as converge.py reads it (its content: region,
                #  scope, fields, deleted), and the figures' notes
                items.append({"n": self.items_n, "kind": ent.kind, "key": ent.key,
                              "region": ent.region, "scope": ent.scope,
                              "fields": draft["fields"], "deleted": deleted, "writer": writer,
                              "via": "%s:%s" % (path, writer), "where": "write %d" % self.items_n,
                              "path": path, "tag": tag, "contended": ent.contended,
                              "entity": ent.index, "bulk": bulk})
        if path == "node":
            command = [HUTONG, "put", "--node", node.client, "--node-key", node.pub,
                       "--key", node.key, "--idkey", os.path.join(self.work, "net.idkey"), name]
        else:
            command = [HUTONG, "put", "--store", node.store, "--key", node.key, name]
        out = open(name + ".out", "wb")
        with open(name + ".err", "wb") as err:
            proc = subprocess.Popen(command, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        #  Now and then the writing tool itself crashes (SIGKILL) a moment
        #  after it starts, before or while it writes
        killer = None
        if rng.random() < self.args.kill_put_rate:
            killer = threading.Timer(rng.uniform(0.002, 0.06), _kill_if_running, (proc,))
            killer.daemon = True
            killer.start()
        self.inflight.append({"proc": proc, "out": out, "file": name, "items": items,
                              "killer": killer,
                              "writer": writer, "path": path, "entities": {e.index for e in entities},
                              "deadline": time.monotonic() + 30})
        self.verbose("write %d at %s via %s: %s" % (
            self.writes, writer, path, " ".join("%s#%d" % (e.kind, e.index) for e in entities)))

    def active_writes(self):
        return sum(1 for w in self.inflight if w["path"] == "store"
                   or self.net.by_region[w["writer"]].state == "running")

    def wait_store_writes(self, region):
        """Until no hutong put --store runs on region's store."""
        while any(w["writer"] == region and w["path"] != "node" for w in self.inflight):
            self.reap(block=True)

    def busy_entities(self, writer):
        return {i for w in self.inflight if w["writer"] == writer for i in w["entities"]}

    def random_write(self):
        rng = self.rng
        self.decide()
        count = 1 if rng.random() < 0.7 else rng.randint(2, 4)
        ent = rng.choice(self.entities)
        writer = rng.choice(ent.writers)
        #  More entities written by the same writer, in one put
        mine = [e for e in self.entities if writer in e.writers and e is not ent]
        chosen = [ent] + rng.sample(mine, min(count - 1, len(mine)))
        #  One author never has two writes of one entity in flight: two
        #  puts in the same millisecond would sign two versions at one hlc
        busy = self.busy_entities(writer)
        chosen = [e for e in chosen if e.index not in busy]
        if chosen:
            self.launch(writer, chosen)

    def bulk_write(self):
        """One put of many new elders at a random tier: replication then
        spans several batches, and a kill can land between them."""
        rng = self.rng
        self.decide()
        count = rng.randint(20, 300)
        if self.bulk_written + count > len(self.bulk_pool):
            return
        writer = rng.choice(self.regions)
        drafts = self.bulk_pool[self.bulk_written:self.bulk_written + count]
        ents = bulk_entities(rng, self.regions, writer, drafts,
                             100000 + self.bulk_written, self.idkey)
        self.bulk_written += count
        self.launch(writer, ents, bulk=True)
        self.outcomes["bulk puts"] += 1

    def store_write(self, writer):
        """hutong put --store of one to three of writer's entities."""
        self.decide()
        mine = [e for e in self.entities if writer in e.writers]
        if mine:
            self.launch(writer, self.rng.sample(mine, min(len(mine), self.rng.randint(1, 3))))

    def contend(self):
        """The same contended entity written from two or three tiers at once."""
        rng = self.rng
        self.decide()
        candidates = [e for e in self.entities if e.contended and len(e.writers) >= 2]
        if not candidates:
            return
        ent = rng.choice(candidates)
        writers = rng.sample(ent.writers, min(len(ent.writers), rng.choice((2, 2, 3))))
        for writer in writers:
            if ent.index not in self.busy_entities(writer):
                self.launch(writer, [ent])
        self.outcomes["contended rounds"] += 1

    # ---- faults --------------------------------------------------------

    def links(self):
        return [n for n in self.net.nodes if n.proxy]

    def fault(self, tick):
        rng = self.rng
        kind = rng.choices(FAULTS, weights=(3, 2, 2, 2, 1.5, 1.5))[0]
        ticks = lambda seconds: max(1, int(round(seconds / self.args.tick)))   # noqa: E731
        if kind in ("kill", "pause"):
            free = [n for n in self.net.nodes if n.state == "running" and n.region not in self.busy]
            if not free:
                return
            if kind == "kill":
                victims = rng.sample(free, 2 if len(free) >= 2 and rng.random() < 0.25 else 1)
                if len(victims) == 2:
                    self.double_kills += 1
                for node in victims:
                    self.net.kill(node)
                    self.busy.add(node.region)
                    self.faults["kill"] += 1
                    down = rng.uniform(0.5, 5.0) if rng.random() < 0.8 else rng.uniform(8, 15)
                    self.at(tick + ticks(down), self.restart, node)
                    self.verbose("kill -9 %s for %.1f s" % (node.region, down))
                #  While it is down, its operator writes into its store
                for node in victims:
                    if rng.random() < 0.7:
                        self.store_write(node.region)
            else:
                node = rng.choice(free)
                #  Longer than the peer timeout; now and then longer than a
                #  client's (10 s): a put it holds is then not acknowledged,
                #  though the node may still store it when it goes on
                timeout = self.args.peer_timeout_ms / 1000.0
                length = rng.uniform(timeout + 0.5, timeout + 3.0) if rng.random() < 0.8 \
                    else rng.uniform(10, 15)
                self.net.pause(node)
                self.busy.add(node.region)
                self.faults["pause"] += 1
                self.at(tick + ticks(length), self.resume, node)
                self.verbose("SIGSTOP %s for %.1f s" % (node.region, length))
            return
        free = [n for n in self.links() if ("link", n.region) not in self.busy]
        if not free:
            return
        node = rng.choice(free)
        if kind == "reset":
            node.proxy.command("reset")
            self.faults["reset"] += 1
            self.verbose("reset the uplink of %s" % node.region)
            return
        if kind == "cut":
            command, length = "cut", rng.uniform(1.0, 7.0) if rng.random() < 0.8 \
                else rng.uniform(8, 15)
        elif kind == "hold":
            command, length = "hold " + rng.choice(("up", "down")), \
                rng.uniform(1.0, 7.0) if rng.random() < 0.8 else rng.uniform(8, 15)
        else:
            command, length = "delay %d" % rng.choice((20, 100, 300, 800, 1500)), rng.uniform(2.0, 10.0)
        reply = node.proxy.command(command)
        if reply != "ok":
            raise RuntimeError("proxy %s refused %s: %s" % (node.region, command, reply))
        self.busy.add(("link", node.region))
        self.faults[kind] += 1
        self.at(tick + ticks(length), self.unfault_link, node)
        self.verbose("%s on the uplink of %s for %.1f s" % (command, node.region, length))

    def restart(self, node):
        self.wait_store_writes(node.region)
        self.net.start_node(node)
        self.busy.discard(node.region)
        self.verbose("restarted %s" % node.region)

    def resume(self, node):
        if node.state == "paused":
            self.net.resume(node)
        self.busy.discard(node.region)
        self.verbose("SIGCONT %s" % node.region)

    def unfault_link(self, node):
        node.proxy.command("pass")
        self.busy.discard(("link", node.region))
        self.verbose("uplink of %s passes again" % node.region)

    # ---- the schedule --------------------------------------------------

    def start(self):
        self.t0 = time.monotonic()
        for node in self.net.nodes:
            if node.parent:
                parent = self.net.by_region[node.parent]
                node.proxy = Proxy(node.proxy_ep.replace("tcp://", ""),
                                   parent.node_ep.replace("tcp://", "")).start()
            self.net.start_node(node)
        self.entities, self.bulk_pool = make_entities(
            self.work, self.rng, self.regions, self.args.elders, self.args.facilities,
            self.idkey, self.args.bulk)
        self.bulk_written = 0

    def run(self):
        ticks = int(self.args.seconds / self.args.tick)
        rng = self.rng
        start = time.monotonic()
        for tick in range(ticks):
            self.run_timers(tick)
            for node in self.net.check_alive():
                log("# CRASH: %s exited by itself (status %s); restarting it" % (
                    node.region, node.proc.returncode))
                self.net.start_node(node)
                self.busy.discard(node.region)
            self.reap()
            if rng.random() < self.args.write_rate:
                self.random_write()
            if rng.random() < 0.04:
                self.contend()
            if rng.random() < self.args.bulk_rate:
                self.bulk_write()
            active = len(self.busy)
            if rng.random() < self.args.fault_rate and active < self.args.max_faults:
                self.fault(tick)
            #  Pace: tick k starts no earlier than k * tick seconds in
            pause = start + (tick + 1) * self.args.tick - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        self.schedule_s = time.monotonic() - start

    def heal(self):
        """Every pending fault undone now: links pass, paused nodes go on,
        killed ones start again; then every write in flight finishes."""
        while self.timers:
            _, _, action, args = heapq.heappop(self.timers)
            action(*args)
        for node in self.net.nodes:
            if node.proxy:
                node.proxy.command("pass")
            if node.state == "paused":
                self.net.resume(node)
        for node in self.net.check_alive():
            log("# CRASH: %s exited by itself (status %s)" % (node.region, node.proc.returncode))
        for node in self.net.nodes:
            if node.state == "down":
                self.wait_store_writes(node.region)
                self.net.start_node(node)
        while self.inflight:
            self.reap(block=True)
        if self.args.sabotage:
            self.sabotage()
        self.healed_at = time.monotonic()

    def sabotage(self):
        """Break the network on purpose, so a run shows its checks fail:
        cut-forever leaves one community cut off and writes there (the
        write is acknowledged and can reach no other holder); quarantine
        sends a county an elder of the other county (refused, quarantined
        as out_of_scope)."""
        leaf = self.net.by_region["441802001001"]
        if self.args.sabotage == "cut-forever":
            leaf.proxy.command("cut")
            self.faults["cut"] += 1
            ent = next(e for e in self.entities if e.kind == "elder" and leaf.region in e.writers)
            self.launch(leaf.region, [ent])
        else:
            county = self.net.by_region["441802000000"]
            ent = next(e for e in self.entities if e.kind == "elder"
                       and e.region.startswith("441803"))
            ent.writers = ent.writers + [county.region]
            self.launch(county.region, [ent])
        while self.inflight:
            self.reap(block=True)
        log("# sabotage: %s" % self.args.sabotage)

    def converge(self):
        """Poll until every node holds exactly what it should and every
        acknowledged write is current (or outranked) at every holder."""
        nodes = [n.as_dict() for n in self.net.nodes]
        deadline = self.healed_at + self.args.converge_timeout
        while True:
            held = converge.snapshot(nodes)
            problems = converge.check_agreement(held)
            lost, stale, _ = converge.check_writes(held, self.written, self.idkey,
                                                   contended=True, nodes=nodes)
            problems += converge.write_problems(lost, stale)
            if not problems or time.monotonic() > deadline:
                break
            time.sleep(1.0)
        self.converged_s = time.monotonic() - self.healed_at if not problems else None
        self.held = held
        return problems, converge.lost_writes(lost, stale), nodes

    def final_checks(self, nodes):
        problems = []
        #  The entities written more than once (bulk elders have one version)
        main = {(e.kind, e.key) for e in self.entities}
        hist_problems, figures = converge.check_histories(nodes, self.held, main)
        problems += hist_problems
        self.history_figures = figures
        #  Links come back within a reconnect backoff or two
        end = time.monotonic() + (30 if self.converged_s is not None else 0)
        while True:
            statuses = converge.all_statuses(nodes)
            link_problems = converge.check_answers(nodes, statuses) + \
                converge.check_links(nodes, statuses)
            if not link_problems or time.monotonic() > end:
                break
            time.sleep(0.5)
        problems += link_problems
        #  Every version written here is legitimate: none is a conflict
        for region, got in sorted(statuses.items()):
            if got and got.get("conflicts"):
                problems.append("node %s counts %d conflicts (versions the ownership rule "
                                "kept out); every write here is legitimate" % (
                                    region, got["conflicts"]))
        problems += converge.check_counts(self.held, statuses)
        #  No fault here explains a quarantine
        problems += converge.check_quarantine(nodes, statuses)[0]
        problems += converge.check_verify(nodes)
        for region, status, tail in self.net.crashes:
            problems.append("hutongd %s crashed (exit status %s); its log ends:\n%s" % (
                region, status, tail))
        for node in self.net.nodes:
            if node.proc.poll() is not None:
                problems.append("hutongd %s is not running at the end" % node.region)
        self.resources = self.net.resources()
        return problems


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=None, help="the schedule's seed (default: random)")
    parser.add_argument("--seconds", type=float, default=75.0, help="length of the fault schedule")
    parser.add_argument("--converge-timeout", type=float, default=90.0,
                        help="seconds after healing to wait for convergence")
    parser.add_argument("--tick", type=float, default=0.1, help="seconds per schedule step")
    parser.add_argument("--write-rate", type=float, default=0.5, help="chance of a write per tick")
    parser.add_argument("--fault-rate", type=float, default=0.07, help="chance of a fault per tick")
    parser.add_argument("--max-faults", type=int, default=4, help="most faults in effect at once")
    parser.add_argument("--live-store-rate", type=float, default=0.1,
                        help="chance a write goes into a running node's store")
    parser.add_argument("--kill-put-rate", type=float, default=0.03,
                        help="chance a hutong put is killed (SIGKILL) mid-write")
    parser.add_argument("--inflight", type=int, default=3, help="most writes in flight at once")
    parser.add_argument("--elders", type=int, default=40)
    parser.add_argument("--facilities", type=int, default=6)
    parser.add_argument("--bulk", type=int, default=1500,
                        help="elders written once each, in bulk puts of 20-300")
    parser.add_argument("--bulk-rate", type=float, default=0.015,
                        help="chance of a bulk put per tick")
    parser.add_argument("--peer-timeout-ms", type=int, default=3000,
                        help="limits/peer_timeout_ms (heartbeat a sixth of it)")
    parser.add_argument("--batch", type=int, default=100,
                        help="limits/batch of every node (small: a bulk spans batches)")
    parser.add_argument("--sabotage", choices=("cut-forever", "quarantine"),
                        help="break the network after healing (the run must then fail)")
    parser.add_argument("--json", action="store_true", help="also print a JSON summary")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument("--verbose", action="store_true", help="log every action")
    args = parser.parse_args(argv)
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1, 1 << 31)
    #  The command that replays this schedule: the seed and every setting
    #  that shapes it (those left at their defaults need no mention)
    words = ["checker.py", "--seed", str(args.seed), "--seconds", "%g" % args.seconds]
    for action in parser._actions:
        value = getattr(args, action.dest, None)
        if action.dest in ("seed", "seconds", "help", "json", "keep", "verbose") \
           or value == action.default:
            continue
        words += [action.option_strings[-1]] + ([] if value is True else [str(value)])
    args.replay = " ".join(words)
    return args


def main(argv):
    args = parse(argv)
    if not HUTONG or not HUTONGD:
        print("checker.py: set HUTONG and HUTONGD to the binaries", file=sys.stderr)
        return 2
    log("# checker: seed %d (replay: %s)" % (args.seed, args.replay))
    try:
        work, nodes = setup(args.seed, args)
    except (RuntimeError, subprocess.SubprocessError) as error:
        log("# seed %d: %s" % (args.seed, error))
        return 3
    checker = Checker(args, work, nodes)

    def on_signal(number, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    status, problems, lost = 1, [], []
    try:
        checker.start()
        log("# %d nodes running in %s; %d entities (%d contended); %g s of faults" % (
            len(nodes), work, len(checker.entities),
            sum(1 for e in checker.entities if e.contended), args.seconds))
        checker.run()
        checker.heal()
        log("# healed after %.0f s; waiting for convergence" % checker.schedule_s)
        problems, lost, dicts = checker.converge()
        problems += checker.final_checks(dicts)
        status = 0 if not problems and not lost else 1
    except KeyboardInterrupt:
        problems = ["interrupted"]
    except RuntimeError as error:
        problems = ["%s" % error]
    finally:
        checker.net.stop()
    figures = summary(checker, lost, problems)
    if problems:
        log("# FAILED, seed %d (replay: %s):" % (args.seed, args.replay))
        for problem in problems:
            log("#   " + problem.replace("\n", "\n#   "))
    for outcome, count in sorted(checker.outcomes.items()):
        log("# %s: %d" % (outcome, count))
    log("# acknowledged: %d contended, %d tombstones, %d in bulk; %d double kills, "
        "%d puts killed; %d crashes" % (
        figures["writes_acknowledged_contended"], figures["writes_acknowledged_tombstones"],
        figures["writes_acknowledged_bulk"], figures["double_kills"],
        figures["puts_killed"], figures["crashes"]))
    if getattr(checker, "resources", None):
        res = checker.resources.values()
        log("# nodes at the end: RSS %d-%d KiB, %d-%d open files, %d-%d threads" % (
            min(r["rss_kib"] for r in res), max(r["rss_kib"] for r in res),
            min(r["fds"] for r in res), max(r["fds"] for r in res),
            min(r["threads"] for r in res), max(r["threads"] for r in res)))
    if hasattr(checker, "history_figures"):
        log("# histories: %(entities)d entities, %(versions)d versions; %(gaps)d times a holder "
            "lacks a superseded version another holder keeps" % checker.history_figures)
    if args.json:
        print(json.dumps(figures, sort_keys=True), flush=True)
    log(final_line(figures))
    if problems and (args.keep or os.environ.get("HUTONG_IT_KEEP")) or args.keep:
        log("# kept the scratch directory %s" % work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return status


def summary(checker, lost, problems):
    faults = {kind: checker.faults.get(kind, 0) for kind in FAULTS}
    return {
        "seed": checker.seed,
        "seconds": checker.args.seconds,
        "wall_s": round(time.monotonic() - checker.started, 1),
        "faults": faults,
        "faults_total": sum(faults.values()),
        "double_kills": checker.double_kills,
        "puts_killed": checker.puts_killed,
        "writes_acknowledged": len(checker.acked),
        "writes_acknowledged_by_path": {
            path: sum(1 for w in checker.acked if w["path"] == path)
            for path in ("node", "store", "store-live")},
        "writes_acknowledged_contended": sum(1 for w in checker.acked if w["contended"]),
        "writes_acknowledged_tombstones": sum(1 for w in checker.acked if w["deleted"]),
        "writes_acknowledged_bulk": sum(1 for w in checker.acked if w["bulk"]),
        "writes_not_acknowledged": sum(c for k, c in checker.outcomes.items()
                                       if k.startswith("not acknowledged")),
        "writes_lost": len(lost),
        "nodes": len(checker.net.nodes),
        "crashes": len(checker.net.crashes),
        "converged_s": None if getattr(checker, "converged_s", None) is None
        else round(checker.converged_s, 1),
        "history": getattr(checker, "history_figures", None),
        "node_resources": getattr(checker, "resources", None),
        "outcomes": dict(checker.outcomes),
        "problems": problems,
        "passed": not problems and not lost,
    }


def final_line(f):
    c = f["faults"]
    return ("seed %d: faults injected %d (kill %d, cut %d, hold %d, pause %d, delay %d, "
            "reset %d), writes acknowledged %d, writes lost %d, nodes %d, converged in %s s" % (
                f["seed"], f["faults_total"], c["kill"], c["cut"], c["hold"], c["pause"],
                c["delay"], c["reset"], f["writes_acknowledged"], f["writes_lost"], f["nodes"],
                "%.1f" % f["converged_s"] if f["converged_s"] is not None else "(never)"))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

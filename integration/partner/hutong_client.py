#!/usr/bin/env python3
"""A Hutong client in Python, written from docs/records.md and docs/protocol.md.

It speaks to a node's client socket (ZeroMQ DEALER, CurveZMQ) and handles
records entirely in Python: canonical msgpack, salts, field digests, the
record digest, Ed25519 signatures, full and redacted forms, and the
certificate-chain authorization rule. Needs pyzmq, msgpack and PyNaCl
(Debian: python3-zmq python3-msgpack python3-nacl).

    hutong_client.py info       --node EP --node-key PUB --key KEYFILE
    hutong_client.py status     --node EP --node-key PUB --key KEYFILE
    hutong_client.py [--schema FILE] put-elder --node EP --node-key PUB --key KEYFILE
                                --idkey FILE --region CODE --id-no ID --name NAME [...]
    hutong_client.py [--schema FILE] verify [--anchor PUB --chain FILE...] [--explain] FILE...
    hutong_client.py [--schema FILE] get|history NODE-OPTIONS [--purpose CODE] KIND KEY
    hutong_client.py [--schema FILE] find        NODE-OPTIONS [--purpose CODE] KIND ID
    hutong_client.py [--schema FILE] list        NODE-OPTIONS [--purpose CODE] --kind KIND
                                [--region CODE] [--field NAME --value TEXT] [--limit N]
                                [--after CURSOR | --all]
    hutong_client.py [--schema FILE] count       NODE-OPTIONS [--purpose CODE] --kind KIND
                                [--region CODE]
    hutong_client.py [--schema FILE] feed        NODE-OPTIONS [--purpose CODE] [--kinds LIST]
                                [--region CODE] [--field NAME --value TEXT]
                                [--since start|now|EPOCH:SEQ] [--cursor-file FILE]
                                [--follow] [--idle MS] [--limit N] [--window N] [--wire FILE]
                                [--stats]

The reads print one verified record a line (records.md §6 JSON form, the
unsigned masks under "masked"); --reply FILE keeps the node's JSON answer
(a line a page), --wire FILE the records' bytes as the node sent them.
As a library: NodeClient(..., registry=Schema.load(path)).find("elder",
id_no, purpose="care_service") returns a ReadResult (json, records,
wire); a node's ERROR raises NodeRefused (.error: its name), a record
that does not verify RecordError. client.subscribe(kinds=..., since=...)
returns a Feed: next_event(timeout_ms) gives each change as a verified
FeedEvent; FeedResync says the node cannot serve the cursor.

The field tables are not copied here: they come from the schema registry,
as `hutong schema --json` prints it (records.md §10), in the file named by
--schema or by the environment variable HUTONG_SCHEMA.

Exit codes (as the hutong command): 0 success; 1 invalid input (a record
failed verification, the node refused a record, or refused a read: policy,
purpose, not found, out of scope, forbidden); 2 usage error; 3 operational
error (no answer, unreadable file).
"""
import argparse
import collections
import hashlib
import json
import os
import re
import signal
import stat
import sys
import time

import msgpack
import zmq
from nacl.bindings import (crypto_sign_ed25519_pk_to_curve25519,
                           crypto_sign_ed25519_sk_to_curve25519)
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_ERROR = 0, 1, 2, 3

FORMAT_VERSION = 2              # records.md §1: v
FORMAT_BATCH = 3                # records.md §4a: v of a record signed in a batch
BATCH_TAG = b"hutong batch root"    # records.md §4a: starts the signed message
BATCH_MAX_RECORDS = 65536       # records.md §4a
SUITE_ED25519_BLAKE2B = 1       # records.md §1: suite
PROTOCOL_VERSION = 1            # protocol.md §5 (HELLO only; clients send none)
MAX_RECORD_BYTES = 1024 * 1024  # protocol.md §7
HLC_COUNTER_BITS = 16           # records.md §1: hlc = ms << 16 | counter
NIL = b"\xc0"                   # records.md §4: an absent value's digest input

# ---------------------------------------------------------------------------
# Schema (records.md §10), read from `hutong schema --json`: each kind's
# fields in table order = digest order (names sorted bytewise), with their
# types and the schema version that introduced each. Rules are the node's
# business; a verifier needs names, types and versions to rebuild every
# field digest.

TYPES = ("str", "int", "bool", "strs", "bin")


class Kind:
    """One kind's table: its current version and every version's fields."""

    def __init__(self, table):
        self.name = table["name"]
        self.version = table["version"]
        self.write_version = table.get("write_version", self.version)
        self.fields = [(f["name"], f["type"], f["since"]) for f in table["fields"]]
        self.rules = {f["name"]: f for f in table["fields"]}    # every column, by name
        names = [name for name, _, _ in self.fields]
        if names != sorted(names, key=str.encode) or len(set(names)) != len(names):
            raise SchemaError("%s: fields are not sorted bytewise" % self.name)
        if any(typ not in TYPES for _, typ, _ in self.fields):
            raise SchemaError("%s: unknown field type" % self.name)
        if any(not 1 <= since <= self.version for _, _, since in self.fields):
            raise SchemaError("%s: a field names a version the kind does not have" % self.name)

    def fields_of(self, version):
        """(name, type) of the fields of a schema version, in digest order."""
        return [(name, typ) for name, typ, since in self.fields if since <= version]


class Schema:
    """The registry: every kind the tables file names."""

    def __init__(self, tables):
        if tables.get("format_version") != FORMAT_VERSION:
            raise SchemaError("the tables are for record format %r, this client reads %d"
                              % (tables.get("format_version"), FORMAT_VERSION))
        self.kinds = {table["name"]: Kind(table) for table in tables["kinds"]}

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as handle:
            try:
                return cls(json.load(handle))
            except (KeyError, TypeError, ValueError) as error:
                raise SchemaError("%s is not `hutong schema --json` output: %s" % (path, error))


class SchemaError(Exception):
    """The tables file is missing or malformed."""


KEY_PATTERN = re.compile(r"[0-9A-Za-z_.:-]{1,64}")
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


class RecordError(Exception):
    """A record is refused: .error is the stable name (protocol.md §6)."""

    def __init__(self, error, reason):
        super().__init__("%s: %s" % (error, reason))
        self.error = error
        self.reason = reason


# ---------------------------------------------------------------------------
# Region codes (records.md §2)

GROUPS = ((0, 2), (2, 2), (4, 2), (6, 3), (9, 3))
PROVINCES = ((11, 15), (21, 23), (31, 37), (41, 46), (50, 54), (61, 65), (71, 71), (81, 82))


def region_valid(code):
    if not isinstance(code, str) or len(code) != 12 or not code.isascii() or not code.isdigit():
        return False
    values = [int(code[start:start + width]) for start, width in GROUPS]
    if not any(low <= values[0] <= high for low, high in PROVINCES):
        return False
    if values[1] == 0 and any(values[2:]):
        return False
    if values[3] == 0 and values[4] != 0:
        return False
    return True


def region_prefix(code):
    """The code without its trailing all-zero groups, or None if invalid."""
    if len(code) != 12:
        if len(code) not in (2, 4, 6, 9):
            return None
        code = code + "0" * (12 - len(code))
    if not region_valid(code):
        return None
    deepest = 0
    for group in range(len(GROUPS) - 1, 0, -1):
        start, width = GROUPS[group]
        if int(code[start:start + width]) != 0:
            deepest = group
            break
    start, width = GROUPS[deepest]
    return code[:start + width]


def region_covers(a, b):
    """a ⊑ b: a is an ancestor-or-self of b."""
    prefix_a, prefix_b = region_prefix(a), region_prefix(b)
    return prefix_a is not None and prefix_b is not None and prefix_b.startswith(prefix_a)


# ---------------------------------------------------------------------------
# Canonical msgpack (records.md §3)

def pack(obj):
    """Canonical msgpack of a value: shortest ints, str vs bin, maps sorted
    bytewise by key. No floats, no nil except where the caller asks."""
    if isinstance(obj, dict):
        packer = msgpack.Packer(use_bin_type=True)
        out = bytearray(packer.pack_map_header(len(obj)))
        for key in sorted(obj, key=lambda k: k.encode("utf-8")):
            out += pack(key)
            out += pack(obj[key])
        return bytes(out)
    if isinstance(obj, float):
        raise RecordError("malformed", "floats are not allowed in signed data")
    if isinstance(obj, (list, tuple)):
        packer = msgpack.Packer(use_bin_type=True)
        out = bytearray(packer.pack_array_header(len(obj)))
        for item in obj:
            out += pack(item)
        return bytes(out)
    return msgpack.packb(obj, use_bin_type=True)


def check_value(kind, name, typ, value):
    """Refuse a field value whose Python type does not match the schema type
    (bool is not an int here, whatever Python thinks)."""
    ok = ((typ == "str" and type(value) is str and "\0" not in value)
          or (typ == "int" and type(value) is int and INT64_MIN <= value <= INT64_MAX)
          or (typ == "bool" and type(value) is bool)
          or (typ == "bin" and type(value) is bytes)
          or (typ == "strs" and type(value) is list
              and all(type(item) is str and "\0" not in item for item in value)))
    if not ok:
        raise RecordError("bad_field", "%s.%s: value is not of type %s" % (kind, name, typ))


def blake2b(data, size, key=b""):
    return hashlib.blake2b(data, digest_size=size, key=key).digest()


# ---------------------------------------------------------------------------
# Batch signatures (records.md §4a): RFC 9162's Merkle tree over record
# digests, with BLAKE2b-256

def merkle_leaf(digest):
    return blake2b(b"\x00" + digest, 32)


def merkle_node(left, right):
    return blake2b(b"\x01" + left + right, 32)


def _split(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def merkle_root(digests):
    """MTH of a list of record digests (RFC 9162 §2.1.1)."""
    if len(digests) == 1:
        return merkle_leaf(digests[0])
    k = _split(len(digests))
    return merkle_node(merkle_root(digests[:k]), merkle_root(digests[k:]))


def merkle_path(digests, m):
    """Audit path of leaf m, leaf to root (RFC 9162 §2.1.3.1)."""
    if len(digests) == 1:
        return []
    k = _split(len(digests))
    if m < k:
        return merkle_path(digests[:k], m) + [merkle_root(digests[k:])]
    return merkle_path(digests[k:], m - k) + [merkle_root(digests[:k])]


def proof_root(digest, index, size, path):
    """The root an audit path leads to from a record digest (RFC 9162
    §2.1.3.2), or None if the path does not fit the index and size."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, merkle_leaf(digest)
    for sibling in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = merkle_node(sibling, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = merkle_node(r, sibling)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def path_length(index, size):
    """How many sibling hashes the proof of leaf index in a batch of size has."""
    length, fn, sn = 0, index, size - 1
    while sn:
        if fn == sn and not fn & 1:
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        fn, sn, length = fn >> 1, sn >> 1, length + 1
    return length


def batch_message(size, root):
    """The 57 bytes the author signs for a batch."""
    return BATCH_TAG + size.to_bytes(8, "big") + root


def sign_batch(records, secret_key):
    """Sign full records with one signature over the root of their digests."""
    if not 1 <= len(records) <= BATCH_MAX_RECORDS:
        raise RecordError("invalid", "a batch has 1..%d records" % BATCH_MAX_RECORDS)
    signing = SigningKey(secret_key[:32])
    digests = []
    for index, record in enumerate(records):
        if record.salts or record.withheld:
            raise RecordError("redacted", "only a full record can be signed")
        record.author = bytes(signing.verify_key)
        record.suite = SUITE_ED25519_BLAKE2B
        record.seed = os.urandom(32)
        record.batch = (index, len(records), [])    # format 3 before the digest
        digests.append(record.digest())
    root = merkle_root(digests)
    sig = signing.sign(batch_message(len(records), root)).signature
    for index, record in enumerate(records):
        record.batch = (index, len(records), merkle_path(digests, index))
        record.sig = sig


# ---------------------------------------------------------------------------
# Records

class Record:
    """One record, full (seed set) or redacted (salts / withheld digests)."""

    def __init__(self, kind, registry):
        if kind not in registry.kinds:
            raise RecordError("unknown_kind", "unknown record kind %r" % (kind,))
        self.kind = kind
        self.table = registry.kinds[kind]
        self.sv = self.table.write_version  # schema version; decoding sets it
        self.key = ""
        self.region = ""
        self.scope = ""
        self.hlc = 0
        self.author = bytes(32)
        self.deleted = False
        self.suite = SUITE_ED25519_BLAKE2B
        self.sig = None             # 64 bytes once signed
        self.seed = None            # 32 bytes: full form
        self.fields = {}            # name -> value (None: disclosed absent)
        self.salts = {}             # redacted: name -> 16-byte salt
        self.withheld = {}          # redacted: name -> 32-byte digest
        self.masks = {}             # redacted: name -> unsigned mask text
        self.batch = None           # signed in a batch: (index, size, [sibling, ...])

    @property
    def schema(self):
        """(name, type) of the fields of this record's schema version."""
        return self.table.fields_of(self.sv)

    def set_schema_version(self, sv):
        if type(sv) is not int or sv < 1:
            raise RecordError("malformed", "sv must be a positive integer")
        if sv > self.table.version:
            raise RecordError("schema_version", "schema version %d of %s is newer than "
                              "these tables know (%d)" % (sv, self.kind, self.table.version))
        self.sv = sv

    @property
    def full(self):
        return self.seed is not None

    @property
    def format(self):
        """v: 3 if signed in a batch (records.md §4a), else 2."""
        return FORMAT_BATCH if self.batch is not None else FORMAT_VERSION

    # -- digests (records.md §4)

    def header_bytes(self):
        return pack([self.format, self.suite, self.kind, self.sv, self.key, self.region,
                     self.scope, self.hlc, self.author, self.deleted])

    def salt(self, name):
        if self.full:
            return blake2b(name.encode("utf-8"), 16, key=self.seed)
        if name not in self.salts:
            raise RecordError("bad_digest", "%s is neither disclosed with its salt nor withheld"
                              % name)
        return self.salts[name]

    def field_input(self, name, typ):
        value = self.fields.get(name)
        return NIL if value is None else pack(value)

    def field_digest(self, name, typ):
        if name in self.withheld:
            return self.withheld[name]
        return blake2b(self.salt(name) + name.encode("utf-8") + self.field_input(name, typ), 32)

    def digest(self):
        state = hashlib.blake2b(digest_size=32)
        state.update(self.header_bytes())
        for name, typ in self.schema:
            state.update(self.field_digest(name, typ))
        return state.digest()

    def sign(self, secret_key):
        """Sign with a 64-byte Ed25519 secret key (seed || public): sets the
        author and a fresh seed. The record must be complete."""
        if self.salts or self.withheld:
            raise RecordError("redacted", "only a full record can be signed")
        signing = SigningKey(secret_key[:32])
        self.author = bytes(signing.verify_key)
        self.suite = SUITE_ED25519_BLAKE2B
        self.seed = os.urandom(32)
        self.batch = None
        self.sig = signing.sign(self.digest()).signature

    def batch_root(self):
        """The root a batch-signed record's proof leads to, or None."""
        index, size, path = self.batch
        return proof_root(self.digest(), index, size, path)

    def verify(self, roots=None):
        """Check the signature over the recomputed digest; raises RecordError.
        roots, a set, remembers the batch signatures checked: each distinct
        (author, message, sig) is checked once."""
        if self.sig is None:
            raise RecordError("bad_signature", "record is not signed")
        if self.suite != SUITE_ED25519_BLAKE2B:
            raise RecordError("version", "unsupported signature suite %d" % self.suite)
        if self.batch is None:
            message, what = self.digest(), "the record's content and author"
        else:
            root = self.batch_root()
            if root is None:
                raise RecordError("bad_signature",
                                  "batch proof does not fit its leaf index and batch size")
            message = batch_message(self.batch[1], root)
            what = "the record's content, batch proof and author"
            if roots is not None and (self.author, message, self.sig) in roots:
                return
        try:
            VerifyKey(self.author).verify(message, self.sig)
        except BadSignatureError:
            raise RecordError("bad_signature", "signature does not match " + what)
        if self.batch is not None and roots is not None:
            roots.add((self.author, message, self.sig))

    # -- header checks shared by both forms

    def check_header(self):
        if not KEY_PATTERN.fullmatch(self.key):
            raise RecordError("invalid", "key must be 1-64 of 0-9 A-Z a-z _ . : -")
        for item in ("region", "scope"):
            value = getattr(self, item)
            if type(value) is not str or len(value) != 12 or not (value.isascii() and value.isdigit()):
                raise RecordError("bad_region", "%s must be 12 digits" % item)
        if type(self.hlc) is not int or not 0 <= self.hlc < (1 << 64):
            raise RecordError("malformed", "hlc must be an unsigned 64-bit integer")
        if type(self.deleted) is not bool:
            raise RecordError("malformed", "deleted must be true or false")
        if type(self.suite) is not int or not 0 <= self.suite <= 255:
            raise RecordError("malformed", "suite must be 0..255")

    def check_form(self):
        """Full: values only. Redacted: every field disclosed with a salt, or
        withheld, never both; masks only on withheld fields (records.md §5)."""
        names = {name for name, _ in self.schema}
        for name in list(self.fields) + list(self.salts) + list(self.withheld) + list(self.masks):
            if name not in names:
                raise RecordError("bad_field", "unknown field %r for kind %s version %d"
                                  % (name, self.kind, self.sv))
        if self.full:
            if self.salts or self.withheld or self.masks:
                raise RecordError("malformed", "a full record carries no salts or digests")
            if any(value is None for value in self.fields.values()):
                raise RecordError("malformed", "a full record leaves absent fields out")
        else:
            for name in names:
                disclosed = name in self.fields and name in self.salts
                withheld = name in self.withheld
                if disclosed == withheld or (withheld and (name in self.fields or name in self.salts)):
                    raise RecordError("bad_digest",
                                      "%s is neither disclosed with its salt nor withheld" % name)
            for name in self.masks:
                if name not in self.withheld:
                    raise RecordError("malformed", "a mask is given for %s, which is not withheld"
                                      % name)
        for name, typ in self.schema:
            if self.fields.get(name) is not None:
                check_value(self.kind, name, typ, self.fields[name])

    # -- wire form (records.md §5)

    def encode(self):
        if self.sig is None:
            raise RecordError("invalid", "only a signed record can be encoded")
        wire = {"author": self.author, "del": self.deleted, "hlc": self.hlc, "key": self.key,
                "kind": self.kind, "region": self.region, "scope": self.scope,
                "sig": self.sig, "suite": self.suite, "sv": self.sv, "v": self.format}
        if self.batch is not None:
            wire["b"] = list(self.batch[:2]) + [list(self.batch[2])]
        values = {}
        for name, typ in self.schema:
            if name in self.fields and (self.fields[name] is not None or not self.full):
                values[name] = self.fields[name]
        # pack () refuses None, so the disclosed-absent nil is written by hand
        wire["f"] = _RawMap(values)
        if self.full:
            wire["seed"] = self.seed
        else:
            wire["s"] = dict(self.salts)
            wire["w"] = dict(self.withheld)
            if self.masks:
                wire["m"] = dict(self.masks)
        return _pack_wire(wire)

    @classmethod
    def decode(cls, data, registry):
        """Decode one wire record strictly: refuse anything that is not the
        canonical encoding of what it says."""
        if len(data) > MAX_RECORD_BYTES:
            raise RecordError("malformed", "record is over 1 MiB")
        try:
            wire = msgpack.unpackb(data, raw=False, strict_map_key=False, use_list=True)
        except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as error:
            raise RecordError("malformed", "not one msgpack object: %s" % error)
        if type(wire) is not dict:
            raise RecordError("malformed", "record is not a msgpack map")
        allowed = {"author", "b", "del", "f", "hlc", "key", "kind", "m", "region", "s", "scope",
                   "seed", "sig", "suite", "sv", "v", "w"}
        required = {"author", "del", "f", "hlc", "key", "kind", "region", "scope", "sig",
                    "suite", "sv", "v"}
        if not set(wire) <= allowed:
            raise RecordError("malformed", "unknown header item")
        if "v" in wire and (wire["v"] not in (FORMAT_VERSION, FORMAT_BATCH)
                            or type(wire["v"]) is not int):
            raise RecordError("version", "unsupported record format version")
        if not required <= set(wire):
            raise RecordError("malformed", "record lacks a required header item")
        if (wire["v"] == FORMAT_BATCH) != ("b" in wire):
            raise RecordError("malformed", "a batch-signed record (v 3) carries its batch "
                              "proof b, and only it does")
        if type(wire["kind"]) is not str:
            raise RecordError("malformed", "record has no kind")
        record = cls(wire["kind"], registry)
        record.set_schema_version(wire["sv"])
        record.key, record.region, record.scope = wire["key"], wire["region"], wire["scope"]
        record.hlc, record.deleted, record.suite = wire["hlc"], wire["del"], wire["suite"]
        record.author = _bytes_of(wire["author"], 32, "author")
        record.sig = _bytes_of(wire["sig"], 64, "sig")
        if "b" in wire:
            proof = wire["b"]
            if type(proof) is not list or len(proof) != 3 or type(proof[2]) is not list:
                raise RecordError("malformed", "batch proof b is not [index, size, path]")
            record.batch = _batch_of(proof[0], proof[1],
                                     [_bytes_of(item, 32, "path hash") for item in proof[2]])
        if type(record.key) is not str:
            raise RecordError("malformed", "key is not text")
        record.check_header()
        if "seed" in wire:
            record.seed = _bytes_of(wire["seed"], 32, "seed")
        f = _map_of(wire["f"], "f")
        record.fields = dict(f)
        if not record.full:
            record.salts = {n: _bytes_of(v, 16, "salt") for n, v in _map_of(wire.get("s", {}), "s").items()}
            record.withheld = {n: _bytes_of(v, 32, "withheld digest")
                               for n, v in _map_of(wire.get("w", {}), "w").items()}
            record.masks = _map_of(wire.get("m", {}), "m")
            if any(type(mask) is not str for mask in record.masks.values()):
                raise RecordError("malformed", "mask is not text")
        elif "s" in wire or "w" in wire or "m" in wire:
            raise RecordError("malformed", "a full record carries no salts or digests")
        record.check_form()
        if record.encode() != bytes(data):
            raise RecordError("malformed", "record is not in canonical form (sorted keys, "
                              "shortest integers, no nil for absent fields)")
        return record

    # -- JSON form (records.md §6)

    def to_json(self):
        out = {"kind": self.kind, "key": self.key, "region": self.region, "scope": self.scope,
               "hlc": self.hlc, "deleted": self.deleted}
        if self.sig is not None:
            out.update(author=self.author.hex(), suite=self.suite, sv=self.sv,
                       sig=self.sig.hex())
            if self.full:
                out["seed"] = self.seed.hex()
            if self.batch is not None:
                out["batch"] = {"index": self.batch[0], "size": self.batch[1],
                                "path": [item.hex() for item in self.batch[2]]}
        fields = {}
        for name, typ in self.schema:
            if name in self.fields:
                value = self.fields[name]
                fields[name] = value.hex() if typ == "bin" and value is not None else value
        out["fields"] = fields
        if self.salts:
            out["salts"] = {n: s.hex() for n, s in self.salts.items()}
        if self.withheld:
            out["withheld"] = {n: d.hex() for n, d in self.withheld.items()}
        if self.masks:
            out["masked"] = dict(self.masks)
        return out

    @classmethod
    def from_json(cls, obj, registry):
        if type(obj) is not dict:
            raise RecordError("malformed", "a record is a JSON object")
        items = {"kind", "key", "region", "scope", "hlc", "deleted", "author", "suite", "sv",
                 "sig", "seed", "fields", "salts", "withheld", "masked", "batch"}
        if not set(obj) <= items:
            raise RecordError("malformed", "unknown item in record JSON")
        if "sig" not in obj:
            raise RecordError("bad_signature", "record is not signed (a draft?)")
        if type(obj.get("kind")) is not str:
            raise RecordError("malformed", "record has no \"kind\"")
        if "sv" not in obj:
            raise RecordError("malformed", "a signed record needs its schema version sv")
        record = cls(obj["kind"], registry)
        record.set_schema_version(obj["sv"])
        record.key = obj.get("key", "")
        record.region = obj.get("region", "")
        record.scope = obj.get("scope", "")
        record.hlc = obj.get("hlc")
        record.deleted = obj.get("deleted", False)
        record.suite = obj.get("suite")
        if type(record.key) is not str:
            raise RecordError("invalid", "key is not text")
        record.check_header()
        record.author = _hex_of(obj.get("author"), 32, "author")
        record.sig = _hex_of(obj.get("sig"), 64, "sig")
        if "batch" in obj:
            proof = obj["batch"]
            if type(proof) is not dict or set(proof) != {"index", "size", "path"} \
                    or type(proof["path"]) is not list:
                raise RecordError("malformed", "batch must be {index, size, path}")
            record.batch = _batch_of(proof["index"], proof["size"],
                                     [_hex_of(item, 32, "path hash") for item in proof["path"]])
        if "seed" in obj:
            record.seed = _hex_of(obj["seed"], 32, "seed")
        fields = obj.get("fields", {})
        if type(fields) is not dict:
            raise RecordError("malformed", "\"fields\" must be an object")
        types = dict(record.schema)
        for name, value in fields.items():
            if name not in types:
                raise RecordError("bad_field", "unknown field %r for kind %s version %d"
                                  % (name, record.kind, record.sv))
            if types[name] == "bin" and value is not None:
                value = _hex_of(value, None, name)
            if value is None and record.full:
                continue            # a full record's null is simply an absent field
            record.fields[name] = value
        if not record.full:
            record.salts = {n: _hex_of(v, 16, "salt of " + n)
                            for n, v in _json_map(obj.get("salts", {}), "salts").items()}
            record.withheld = {n: _hex_of(v, 32, "digest of " + n)
                               for n, v in _json_map(obj.get("withheld", {}), "withheld").items()}
            record.masks = _json_map(obj.get("masked", {}), "masked")
            if any(type(mask) is not str for mask in record.masks.values()):
                raise RecordError("malformed", "a mask is not text")
        elif "salts" in obj or "withheld" in obj or "masked" in obj:
            raise RecordError("malformed", "a full record carries no salts or digests")
        record.check_form()
        return record


class _RawMap(dict):
    """A field map whose None values are packed as msgpack nil (redacted f)."""


def _pack_wire(obj):
    if isinstance(obj, _RawMap):
        packer = msgpack.Packer(use_bin_type=True)
        out = bytearray(packer.pack_map_header(len(obj)))
        for key in sorted(obj, key=lambda k: k.encode("utf-8")):
            out += pack(key)
            out += NIL if obj[key] is None else pack(obj[key])
        return bytes(out)
    if isinstance(obj, dict):
        packer = msgpack.Packer(use_bin_type=True)
        out = bytearray(packer.pack_map_header(len(obj)))
        for key in sorted(obj, key=lambda k: k.encode("utf-8")):
            out += pack(key)
            out += _pack_wire(obj[key])
        return bytes(out)
    return pack(obj)


def _batch_of(index, size, path):
    """A checked batch proof: index < size, the path as long as they say."""
    if type(index) is not int or type(size) is not int or not 0 < size <= BATCH_MAX_RECORDS \
            or not 0 <= index < size or len(path) != path_length(index, size):
        raise RecordError("malformed", "batch proof: index < size, and the path as long as "
                          "they say")
    return (index, size, path)


def _bytes_of(value, size, what):
    if type(value) is not bytes or (size is not None and len(value) != size):
        raise RecordError("malformed", "%s is not %s bytes of msgpack bin" % (what, size))
    return value


def _map_of(value, what):
    if type(value) is not dict or not all(type(k) is str for k in value):
        raise RecordError("malformed", "%s is not a map of names" % what)
    return value


def _json_map(value, what):
    if type(value) is not dict:
        raise RecordError("malformed", "\"%s\" must be an object" % what)
    return value


def _hex_of(value, size, what):
    try:
        data = bytes.fromhex(value) if type(value) is str else None
    except ValueError:
        data = None
    if data is None or (size is not None and len(data) != size) or len(value) != 2 * len(data):
        raise RecordError("malformed", "%s is not %s bytes of hex" % (what, size or "some"))
    return data


# ---------------------------------------------------------------------------
# Authorization (records.md §11)

class CertSource:
    """Certificates and revocations by subject key, from records given."""

    def __init__(self):
        self.certs = {}         # hex pubkey -> current cert Record
        self.revocations = {}   # hex pubkey -> current revocation Record

    def add(self, record):
        table = {"cert": self.certs, "revocation": self.revocations}.get(record.kind)
        if table is None:
            return
        current = table.get(record.key)
        if current is None or _order(record) > _order(current):
            table[record.key] = record

    def cert(self, pubkey):
        record = self.certs.get(pubkey.hex())
        if record is None or record.deleted or record.fields.get("pubkey") != pubkey:
            return None
        return record

    def revoked_at(self, pubkey):
        record = self.revocations.get(pubkey.hex())
        if record is None or record.deleted or record.fields.get("pubkey") != pubkey:
            return None
        return record.fields.get("revoked_at")


def _order(record):
    return (record.hlc, record.author, record.digest())


def _validity(cert):
    """(not_before, not_after, kinds) of a cert record; its content must be known."""
    fields = cert.fields
    if any(fields.get(name) is None for name in ("not_before", "not_after", "kinds")):
        raise RecordError("redacted", "a certificate's validity or kinds are withheld")
    return fields["not_before"], fields["not_after"], fields["kinds"]


def authorize(record, anchor, source):
    """Walk the author's chain to the anchor; raises RecordError."""
    at_ms = record.hlc >> HLC_COUNTER_BITS
    link = {"author": record.author, "kind": record.kind, "scope": record.scope,
            "region": record.region, "grants": None}
    if record.kind == "cert":
        link["grants"] = record.fields.get("kinds") or []
        pubkey = record.fields.get("pubkey")
        if pubkey == anchor and record.author == anchor:
            not_before, not_after, _ = _validity(record)
            if not not_before <= at_ms <= not_after:
                raise RecordError("expired", "the root certificate is not valid at its own time")
            return
        if pubkey == anchor:
            raise RecordError("bad_chain", "only the root anchor certifies itself")
        existing = source.cert(pubkey) if pubkey else None
        if existing is not None and existing.author != record.author:
            raise RecordError("conflict", "this key is already certified by another issuer")
    for _ in range(8):
        cert = source.cert(link["author"])
        if cert is None:
            raise RecordError("no_cert", "no certificate for %s" % link["author"].hex()[:16])
        not_before, not_after, kinds = _validity(cert)
        if not not_before <= at_ms <= not_after:
            raise RecordError("expired", "a certificate in the chain is not valid at the record's time")
        revoked_at = source.revoked_at(link["author"])
        if revoked_at is not None and revoked_at <= at_ms:
            raise RecordError("revoked", "a key in the chain was revoked before the record's time")
        if link["kind"] not in kinds:
            raise RecordError("kind_not_allowed", "the signer's certificate does not permit %s"
                              % link["kind"])
        if link["grants"] is not None and any(kind not in kinds for kind in link["grants"]):
            raise RecordError("kind_not_allowed", "a certificate grants a kind its issuer does not hold")
        if not (region_covers(cert.region, link["scope"]) and region_covers(link["scope"], link["region"])):
            raise RecordError("out_of_scope", "the signer's jurisdiction does not cover the "
                              "record's scope and region")
        if cert.author == link["author"]:
            if link["author"] == anchor:
                return
            raise RecordError("bad_chain", "the chain ends in a self-signed key that is not the anchor")
        link = {"author": cert.author, "kind": "cert", "scope": cert.region,
                "region": cert.region, "grants": kinds}
    raise RecordError("bad_chain", "certificate chain is too long")


# ---------------------------------------------------------------------------
# Keys (protocol.md §1, records.md §8)

def load_keyfile(path):
    """A key file {"public", "secret"}: refuse one others can read."""
    mode = os.stat(path).st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SystemExit("hutong_client: %s is readable by others; run: chmod 600 %s" % (path, path))
    with open(path) as handle:
        data = json.load(handle)
    public, secret = bytes.fromhex(data["public"]), bytes.fromhex(data["secret"])
    if len(public) != 32 or len(secret) != 64 or bytes(SigningKey(secret[:32]).verify_key) != public \
            or secret[32:] != public:
        raise SystemExit("hutong_client: %s: the public key does not match the secret" % path)
    return public, secret


def load_public(path_or_hex):
    """A public key: 64 hex digits, or a (public) key file's "public"."""
    if re.fullmatch(r"[0-9a-fA-F]{64}", path_or_hex):
        return bytes.fromhex(path_or_hex)
    with open(path_or_hex) as handle:
        return bytes.fromhex(json.load(handle)["public"])


def load_idkey(path):
    with open(path) as handle:
        idkey = bytes.fromhex(handle.readline().strip())
    if len(idkey) != 32:
        raise SystemExit("hutong_client: %s does not hold a 64-hex-digit pseudonym key" % path)
    return idkey


def elder_key(idkey, id_no):
    """hex (BLAKE2b-128 keyed with idkey over canonical (id_no))."""
    return blake2b(pack(id_no), 16, key=idkey).hex()


# ---------------------------------------------------------------------------
# The node's client socket (protocol.md §4)

def curve_dealer(context, node_key, public, secret):
    """A DEALER that speaks CURVE to the node of Ed25519 key node_key as
    the key pair (public, secret): the node's CURVE keys are derived from
    the Ed25519 ones (docs/protocol.md §1). Not yet connected, so the
    caller may set further options first."""
    socket = context.socket(zmq.DEALER)
    socket.linger = 0
    socket.curve_serverkey = crypto_sign_ed25519_pk_to_curve25519(node_key)
    socket.curve_publickey = crypto_sign_ed25519_pk_to_curve25519(public)
    socket.curve_secretkey = crypto_sign_ed25519_sk_to_curve25519(secret)
    return socket


def subscribe_frames(token, max_events, kinds=None, purpose=None, after="start"):
    """The frames of a raw SUBSCRIBE (docs/protocol.md §4, Feeds), for
    scripts that drive a subscription by hand (a partner that never
    reads, a benchmark); Feed does all of this for real clients."""
    body = {"token": token, "after": after, "max": max_events}
    if kinds:
        body["kind"] = kinds
    if purpose:
        body["purpose"] = purpose
    return [b"SUBSCRIBE", pack(body)]


class NodeClient:
    """Request/reply over a CURVE DEALER; tokens match replies to requests.
    The reads (get, find, list, pages, count, history) need the schema
    registry, to verify every record the node sends."""

    def __init__(self, endpoint, node_key, public, secret, timeout_ms, registry=None):
        self.context = zmq.Context.instance()
        self.socket = curve_dealer(self.context, node_key, public, secret)
        # A send must never block: after a refused handshake libzmq drops
        # the connection and does not reconnect, and a blocking send would
        # then wait for ever
        self.socket.sndtimeo = 0
        self.monitor = self.socket.get_monitor_socket(
            zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
            | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_HANDSHAKE_SUCCEEDED)
        self.socket.connect(endpoint)
        self.endpoint = endpoint
        self.timeout_ms = timeout_ms
        self.token = 0
        self.refusal = None
        self.registry = registry
        self.handshakes = 0         # connections that passed their handshake
        self.feeds = {}             # token -> Feed: the subscriptions on this socket
        self.poller = zmq.Poller()  # for feeds: the socket and its handshakes
        self.poller.register(self.socket, zmq.POLLIN)
        self.poller.register(self.monitor, zmq.POLLIN)

    def close(self):
        self.socket.disable_monitor()
        self.monitor.close(0)
        self.socket.close(0)

    def _watch_monitor(self):
        from zmq.utils.monitor import recv_monitor_message
        while self.monitor.poll(0):
            event = recv_monitor_message(self.monitor)
            if event["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                # (re)connected: a feed learns from this that the node may
                # no longer hold its subscription (protocol.md §4, Feeds)
                self.handshakes += 1
            elif event["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                self.refusal = ("the node refused our key (ZAP status %s): it holds no valid "
                                "certificate for it inside its jurisdiction" % event["value"])
            else:
                self.refusal = ("the CURVE handshake failed: is --node-key the node's "
                                "public key?")

    def request(self, command, frames=(), items=None):
        """Send a request (body: the token and items); return (reply
        command, body dict, extra frames)."""
        self.token += 1
        token = self.token
        self._watch_monitor()
        if self.refusal:
            raise NodeError("refused", self.refusal)
        deadline = time.monotonic() + self.timeout_ms / 1000.0
        body = dict(items or {}, token=token)
        message = [command.encode(), pack(body)] + list(frames)
        self.send(message, deadline)
        poller = zmq.Poller()
        poller.register(self.socket, zmq.POLLIN)
        poller.register(self.monitor, zmq.POLLIN)
        while time.monotonic() < deadline:
            ready = dict(poller.poll(max(1, int((deadline - time.monotonic()) * 1000))))
            if self.monitor in ready:
                self._watch_monitor()
                if self.refusal:
                    raise NodeError("refused", self.refusal)
            if self.socket not in ready:
                continue
            parts = self.socket.recv_multipart()
            if len(parts) < 2:
                continue
            reply = parts[0].decode("ascii", "replace")
            body = msgpack.unpackb(parts[1], raw=False)
            if type(body) is not dict:
                continue
            if body.get("token") in self.feeds and body.get("token") != token:
                # a subscription's message: its feed takes it when next asked
                self.feeds[body["token"]].pending.append(parts)
                continue
            if reply == "ERROR" and body.get("token", 0) in (0, token):
                raise NodeRefused(command, body.get("error", "?"), body.get("text", ""))
            if body.get("token") == token:
                return reply, body, parts[2:]
            # a late answer to a request we gave up on: ignore it
        raise NodeError("timeout", self.refusal or "no answer from %s within %d ms (check the "
                        "endpoint, --node-key, and that the node holds a valid certificate "
                        "for --key)" % (self.endpoint, self.timeout_ms))

    def send(self, message, deadline=None):
        """Queue a message for the node without ever blocking: wait for a
        connection to queue on until deadline (monotonic seconds), or its
        refusal; without a deadline, False at once if there is none."""
        while True:
            try:
                self.socket.send_multipart(message, flags=zmq.NOBLOCK)
                return True
            except zmq.Again:
                # no connection to queue on yet: wait for it, or its refusal
                self._watch_monitor()
                if self.refusal:
                    raise NodeError("refused", self.refusal)
                if deadline is None:
                    return False
                if time.monotonic() >= deadline:
                    raise NodeError("timeout", "cannot reach %s within %d ms"
                                    % (self.endpoint, self.timeout_ms))
                time.sleep(0.005)

    def subscribe(self, kinds=None, region=None, field=None, value=None, purpose=None,
                  since="start", window=None):
        """Follow the change feed of what our read policy shows
        (protocol.md §4, Feeds): a Feed, whose next_event() returns each
        change verified. kinds: a list or a comma-separated text (default
        every kind the policy shows); region: a code or prefix; field and
        value: an indexed field filter (one kind); since: "start" (a
        snapshot of everything, then every change), "now", or a saved
        cursor: (epoch, seq) or "EPOCHHEX:SEQ". window: the credit kept
        granted (default 1000)."""
        return Feed(self, kinds=kinds, region=region, field=field, value=value,
                    purpose=purpose, since=since, window=window or FEED_WINDOW)

    def json_request(self, command, expect, frames=()):
        reply, _, extra = self.request(command, frames)
        if reply != expect or not extra:
            raise NodeError("malformed", "expected %s with a JSON frame, got %s" % (expect, reply))
        return json.loads(extra[0].decode("utf-8"))

    def info(self):
        return self.json_request("INFO", "INFO-OK")

    def status(self):
        return self.json_request("STATUS", "STATUS-OK")

    def put(self, records):
        return self.json_request("PUT", "PUT-OK", [record.encode() for record in records])

    # -- reads (protocol.md §4: GET, FIND, LIST, COUNT, HISTORY)

    def get(self, kind, key, purpose=None):
        """One entity's current version, as our read policy shows it."""
        return self.read("GET", kind=kind, key=key, purpose=purpose)

    def find(self, kind, value, purpose=None):
        """An elder by citizen ID number, a facility by USCC: the node
        derives the key (an elder's with the pseudonym key we never hold)."""
        return self.read("FIND", kind=kind, value=value, purpose=purpose)

    def list(self, kind, purpose=None, region=None, field=None, value=None, after=None,
             max=None):
        """One page: by region (a code or a prefix of 2, 4, 6 or 9 digits;
        default our jurisdiction), or by an indexed field's value. The
        reply's "next" is the cursor of the next page, or None at the end."""
        if (field is None) != (value is None):
            raise NodeError("invalid", "field and value go together")
        return self.read("LIST", kind=kind, purpose=purpose, region=region, field=field,
                         value=value, after=after, max=max)

    def pages(self, kind, purpose=None, region=None, field=None, value=None, after=None,
              max=None):
        """Every page of a listing, one ReadResult each, following "next"
        to the end."""
        seen = set()
        while True:
            page = self.list(kind, purpose, region, field, value, after, max)
            yield page
            after = page.json.get("next")
            if after is None:
                return
            if after in seen:
                raise NodeError("malformed", "the node gave the cursor %r twice" % after)
            seen.add(after)

    def count(self, kind, region=None, purpose=None):
        """Counts of a kind in a region, by the next tier down: the reply
        JSON {total, by: {region: n}, region, ...}; no record is shown."""
        return self.read("COUNT", kind=kind, region=region, purpose=purpose).json

    def history(self, kind, key, purpose=None):
        """Every version of an entity, oldest first, the current one last;
        json "versions"[i] says of record i whether it is a conflict and
        whether it is current."""
        result = self.read("HISTORY", kind=kind, key=key, purpose=purpose)
        versions = result.json.get("versions")
        if type(versions) is not list or len(versions) != len(result.records) \
                or any(type(note) is not dict for note in versions):
            raise NodeError("malformed", "HISTORY-OK: \"versions\" does not match its records")
        return result

    def read(self, command, **items):
        """Send a read request and return its ReadResult: every record
        decoded and verified, or RecordError for the first that is not;
        NodeRefused if the node answered ERROR. Optional items that are
        None, "" or a max of 0 are left out, as the C client leaves them."""
        if self.registry is None:
            raise NodeError("invalid", "reads need the schema tables (NodeClient registry=)")
        body = {}
        for name, value in items.items():
            if name in READ_REQUIRED[command] and value is None:
                raise NodeError("invalid", "%s needs %s" % (command, name))
            if value is None or (value == "" and name not in READ_REQUIRED[command]):
                continue
            if name == "max":
                if type(value) is not int or not 0 <= value < (1 << 64):
                    raise NodeError("invalid", "max must be a non-negative integer")
                if value:
                    body[name] = value
                continue
            if type(value) is not str or "\0" in value \
                    or len(value.encode("utf-8")) >= READ_ITEM_BYTES[name]:
                raise NodeError("invalid", "%s: text of at most %d bytes"
                                % (name, READ_ITEM_BYTES[name] - 1))
            body[name] = value
        expect = command + "-OK"
        reply, _, extra = self.request(command, items=body)
        if reply != expect or not extra:
            raise NodeError("malformed", "expected %s with a JSON frame, got %s" % (expect, reply))
        try:
            answer = json.loads(extra[0].decode("utf-8"))
        except ValueError as error:
            raise NodeError("malformed", "%s: the JSON frame does not parse: %s" % (reply, error))
        if type(answer) is not dict:
            raise NodeError("malformed", "%s: the JSON frame is not an object" % reply)
        frames = [bytes(frame) for frame in extra[1:]]
        if command == "COUNT" and frames:
            raise NodeError("malformed", "COUNT-OK carries records")
        if command != "COUNT" and answer.get("count") != len(frames):
            raise NodeError("malformed", "%s says count %r but carries %d records"
                            % (reply, answer.get("count"), len(frames)))
        records = verify_frames(frames, self.registry, reply, kind=body.get("kind"),
                                key=body.get("key"))
        return ReadResult(answer, [record.to_json() for record in records], frames)


# Read request items (protocol/ht_msg.c): the required ones of each
# request, always sent, and the node's buffer for each text, NUL included
READ_REQUIRED = {"GET": ("kind", "key"), "FIND": ("kind", "value"), "LIST": ("kind",),
                 "COUNT": ("kind",), "HISTORY": ("kind", "key")}
READ_ITEM_BYTES = {"kind": 128, "key": 65, "field": 32, "value": 512, "after": 96,
                   "purpose": 32, "region": 13}


class ReadResult(tuple):
    """A read's answer: json (the reply's JSON object), records (each
    verified record in its JSON form, records.md §6: disclosed values under
    "fields", salts, withheld digests, and the unsigned masks under
    "masked", which the signature does not cover), and wire (each record's
    bytes as the node sent them). Unpacks as (json, records, wire)."""

    def __new__(cls, answer, records, wire):
        return super().__new__(cls, (answer, records, wire))

    json = property(lambda self: self[0])
    records = property(lambda self: self[1])
    wire = property(lambda self: self[2])


def verify_frames(frames, registry, what="reply", kind=None, key=None):
    """Decode and verify each record frame on its own (records.md §4-§5):
    a full one from its seed; a redacted one from its disclosed values and
    salts and the withheld digests as given; the record digest over the
    canonical header and every field digest in table order, and the
    author's Ed25519 signature over it (or, signed in a batch, over the
    root its proof leads to: each root once per reply). Masks are not
    signed and not checked. Returns the Records; RecordError names the
    first that fails (and a record of another kind or key than asked for
    is refused)."""
    records, roots = [], set()
    for index, data in enumerate(frames):
        try:
            record = Record.decode(data, registry)
            record.verify(roots)
            if kind is not None and record.kind != kind:
                raise RecordError("malformed", "a %s record, but %s was asked for"
                                  % (record.kind, kind))
            if key is not None and record.key != key:
                raise RecordError("malformed", "the record of key %s, but %s was asked for"
                                  % (record.key, key))
        except RecordError as error:
            raise RecordError(error.error, "record %d of the node's %s does not verify: %s"
                              % (index, what, error.reason))
        records.append(record)
    return records


class NodeError(Exception):
    """A request failed: .error is a stable name (protocol.md §6), .text why."""

    def __init__(self, error, text):
        super().__init__("%s: %s" % (error, text))
        self.error = error
        self.text = text


class NodeRefused(NodeError):
    """The node answered ERROR: .error is the name it gave (policy,
    purpose_required, not_found, ...), .command the request it refused."""

    def __init__(self, command, error, text):
        super().__init__(error, text)
        self.command = command


# ---------------------------------------------------------------------------
# Feeds (protocol.md §4: SUBSCRIBE, CREDIT, UNSUBSCRIBE)

FEED_WINDOW = 1000          # credit kept granted, as the C client does
FEED_MAX_CREDIT = 10000     # the most we ask for (a node grants at most 2,000)
FEED_SILENCE_MS = 5000      # the node sends FEED-HB a second while idle: this long
                            # without a word, it no longer holds the subscription
FEED_RETRY_MS = 200         # how often to retry a SUBSCRIBE that found no connection
FEED_MESSAGES = ("SUBSCRIBE-OK", "EVENTS", "FEED-HB", "RESYNC", "ERROR")


class FeedResync(NodeError):
    """The node answered RESYNC: it cannot serve the cursor (its store was
    restored from a backup or rebuilt: another epoch, or a cursor past its
    log). Nothing was skipped silently: subscribe again from the start
    (Feed.restart) and rebuild what was built from the feed. .epoch is the
    node's epoch (hex), .text its reason."""

    def __init__(self, text, epoch):
        super().__init__("resync", text)
        self.epoch = epoch


class FeedEvent:
    """One change: seq (its place in the node's log), kind, key, deleted
    (a tombstone), record (the verified record's JSON form, records.md §6,
    redacted as our policy says), wire (its bytes as the node sent them),
    epoch (bytes) and cursor (int): where to resume once this event is
    processed; cursor_text is "EPOCHHEX:CURSOR", as `hutong feed` prints it."""

    __slots__ = ("seq", "kind", "key", "deleted", "record", "wire", "epoch", "cursor", "policy")

    def __init__(self, seq, record, wire, epoch, policy):
        self.seq, self.kind, self.key, self.deleted = seq, record.kind, record.key, record.deleted
        self.record, self.wire, self.epoch, self.policy = record.to_json(), wire, epoch, policy
        self.cursor = None

    @property
    def cursor_text(self):
        return format_cursor(self.epoch, self.cursor)

    def to_json(self):
        """The line `hutong feed` prints: {"seq", "cursor", "record"}."""
        return {"seq": self.seq, "cursor": self.cursor_text, "record": self.record}


def format_cursor(epoch, cursor):
    """A cursor as text: "EPOCHHEX:SEQ" (the form of `hutong feed --since`
    and of its cursor files)."""
    return "%s:%d" % (epoch.hex(), cursor)


def parse_cursor(text):
    """(epoch bytes, cursor int) from "EPOCHHEX:SEQ"; ValueError if it is not one."""
    match = re.fullmatch(r"([0-9a-fA-F]{32}):([0-9]{1,20})", text.strip())
    if not match or int(match.group(2)) >= 1 << 64:
        raise ValueError("%r is not a cursor (EPOCH:SEQ, 32 hex digits and a number)" % text)
    return bytes.fromhex(match.group(1)), int(match.group(2))


def save_cursor(path, cursor):
    """Write a cursor ((epoch, seq), as Feed.cursor gives it) to a cursor
    file atomically: a temporary file, flushed to disk, renamed over it.
    The file is the one `hutong feed --cursor-file` keeps (one line)."""
    epoch, seq = cursor
    temporary = path + ".tmp"
    with open(temporary, "w") as handle:
        handle.write(format_cursor(epoch, seq) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def load_cursor(path):
    """The cursor saved in a cursor file, or None if there is none yet (no
    file, or an empty one); ValueError if the file holds something else."""
    try:
        with open(path) as handle:
            line = handle.readline()
    except FileNotFoundError:
        return None
    return parse_cursor(line) if line.strip() else None


class Feed:
    """A subscription to a node's change feed, on its NodeClient's socket
    (protocol.md §4, Feeds). next_event(timeout_ms) returns the next
    change as a FeedEvent, each record decoded and verified on its own
    (verify_frames, as for reads), or None when none came in time;
    iterating over the feed waits for ever. The feed keeps `window` credit
    granted (a CREDIT each time half of it was consumed), checks that every
    batch starts where the last one ended (`from`) and that no EVENTS went
    missing (FEED-HB `events_through`), and heals a gap, a refused CREDIT
    (`not_found`), a reconnection or a silent node by subscribing again
    from its cursor. Delivery is at least once: what was received and not
    yet consumed comes again. A cursor the node cannot serve raises
    FeedResync; restart() then subscribes from the start.

    .cursor is (epoch, seq) to save after processing an event (None
    until the node named its epoch); save_cursor and load_cursor keep
    it in a file. .subscription is the SUBSCRIBE-OK JSON (kinds, policy,
    last_seq, ...), .last_seq the node's latest sequence as last heard,
    .resubscribed how many times a gap was healed."""

    def __init__(self, client, kinds=None, region=None, field=None, value=None, purpose=None,
                 since="start", window=FEED_WINDOW):
        if client.registry is None:
            raise NodeError("invalid", "feeds need the schema tables (NodeClient registry=)")
        if type(window) is not int or not 1 <= window <= FEED_MAX_CREDIT:
            raise NodeError("invalid", "window must be 1..%d" % FEED_MAX_CREDIT)
        if isinstance(kinds, (list, tuple)):
            kinds = ",".join(kinds)
        if (field is None) != (value is None):
            raise NodeError("invalid", "field and value go together")
        self.items = {}
        for name, text in (("kind", kinds), ("region", region), ("field", field),
                           ("value", value), ("purpose", purpose)):
            if text is None or text == "":
                continue
            if type(text) is not str or "\0" in text \
                    or len(text.encode("utf-8")) >= READ_ITEM_BYTES[name]:
                raise NodeError("invalid", "%s: text of at most %d bytes (the node's limit)"
                                % ("kinds" if name == "kind" else name, READ_ITEM_BYTES[name] - 1))
            self.items[name] = text
        self.client = client
        self.window = window
        self.token = 0              # names the subscription on the node
        self.pending = collections.deque()      # its messages another read took in
        self.queue = collections.deque()        # (FeedEvent, last of its batch)
        self.epoch = self.cursor_seq = None     # consumed up to here: the cursor
        self.received = self.batch_end = 0      # received up to here
        self.consumed = 0           # events consumed since the last CREDIT
        self.subscribed = False     # the node answered SUBSCRIBE-OK
        self.unsent = False         # a SUBSCRIBE waits for a connection
        self.handshakes = 0         # the client's handshakes when it answered
        self.heard = time.monotonic()
        self.subscription = None
        self.last_seq = None
        self.resubscribed = 0
        self.from_now = False
        self._since(since)
        self._subscribe()

    def _since(self, since):
        self.epoch = self.cursor_seq = None
        self.from_now = False
        if since in (None, "start"):
            return
        if since == "now":
            self.from_now = True
            return
        if isinstance(since, str):
            try:
                since = parse_cursor(since)
            except ValueError as error:
                raise NodeError("invalid", str(error))
        epoch, seq = since
        if isinstance(epoch, str):
            epoch = bytes.fromhex(epoch)
        if type(epoch) is not bytes or len(epoch) != 16 or type(seq) is not int \
                or not 0 <= seq < 1 << 64:
            raise NodeError("invalid", "since: start, now, or (16-byte epoch, sequence)")
        self.epoch, self.cursor_seq = epoch, seq

    @property
    def cursor(self):
        """(epoch, seq): resume here once the events returned so far are
        processed; None until known."""
        return None if self.epoch is None else (self.epoch, self.cursor_seq)

    @property
    def cursor_text(self):
        return None if self.epoch is None else format_cursor(self.epoch, self.cursor_seq)

    def __iter__(self):
        while True:
            yield self.next_event(None)

    def restart(self, since="start"):
        """Subscribe again, from the start by default (after FeedResync)."""
        self._since(since)
        self._subscribe()

    def close(self):
        """UNSUBSCRIBE (no answer); the client stays open."""
        if self.token:
            self._send([b"UNSUBSCRIBE", pack({"token": self.token})])
            self.client.feeds.pop(self.token, None)
        self.token = 0

    # -- the subscription

    def _send(self, message):
        try:
            return self.client.send(message)
        except NodeError:
            return False

    def _subscribe(self):
        """SUBSCRIBE from our cursor (or start, or now), dropping what was
        received and not consumed: it comes again."""
        if self.token:
            # the old subscription, if this connection still has it, would
            # go on spending its credit and count against our 16
            self._send([b"UNSUBSCRIBE", pack({"token": self.token})])
            self.client.feeds.pop(self.token, None)
        self.client.token += 1
        self.token = self.client.token
        self.client.feeds[self.token] = self
        body = dict(self.items, token=self.token, max=self.window)
        if self.epoch is not None:
            body.update(epoch=self.epoch, cursor=self.cursor_seq)
        else:
            body["after"] = "now" if self.from_now else "start"
        self.queue.clear()
        self.pending.clear()
        self.received = self.batch_end = self.cursor_seq or 0
        self.consumed = 0
        self.subscribed = False
        self.heard = time.monotonic()
        self.client._watch_monitor()
        if self.client.refusal:
            raise NodeError("refused", self.client.refusal)
        self.unsent = not self.client.send([b"SUBSCRIBE", pack(body)])
        self.body = body

    def _heal(self):
        self.resubscribed += 1
        self._subscribe()

    # -- receiving

    def _receive(self, wait_ms):
        """The next message for this feed, or None within wait_ms."""
        if self.pending:
            return self.pending.popleft()
        client = self.client
        deadline = time.monotonic() + wait_ms / 1000.0
        while True:
            left = max(0, int((deadline - time.monotonic()) * 1000))
            ready = dict(client.poller.poll(left))
            if client.monitor in ready:
                client._watch_monitor()
                if client.refusal:
                    raise NodeError("refused", client.refusal)
            if client.socket in ready:
                parts = client.socket.recv_multipart(copy=True)
                token = None
                if len(parts) >= 2:
                    try:
                        body = msgpack.unpackb(parts[1], raw=False)
                        token = body.get("token") if type(body) is dict else None
                    except (ValueError, msgpack.ExtraData, msgpack.FormatError,
                            msgpack.StackError):
                        token = None
                if token == self.token or (token == 0 and parts[0] == b"ERROR"):
                    return parts
                if token in client.feeds:
                    client.feeds[token].pending.append(parts)
                # else: an old subscription's, or a read we gave up on
            if time.monotonic() >= deadline:
                return None

    def next_event(self, timeout_ms=None):
        """The next change as a FeedEvent, or None if none came within
        timeout_ms (None: wait for ever). Raises FeedResync, NodeRefused
        (the node refused the subscription: policy, purpose, ...),
        NodeError, or RecordError for an event that does not verify."""
        deadline = None if timeout_ms is None else time.monotonic() + timeout_ms / 1000.0
        while not self.queue:
            if not self.token:
                raise NodeError("invalid", "the feed ended (RESYNC or a refusal): restart() it")
            now = time.monotonic()
            client = self.client
            client._watch_monitor()
            if self.unsent:
                self.unsent = not client.send([b"SUBSCRIBE", pack(self.body)])
                if not self.unsent:
                    self.heard = now
            elif self.subscribed and client.handshakes > self.handshakes:
                self._heal()        # a new connection: the node lost the old one's
                continue
            elif now - self.heard > FEED_SILENCE_MS / 1000.0 and not self.pending:
                # not a word for FEED_SILENCE_MS (read whatever waits first)
                parts = self._receive(0)
                if parts is None:
                    self._heal()
                    continue
                self._on_message(parts)
                continue
            wait = FEED_RETRY_MS if self.unsent else \
                max(0, FEED_SILENCE_MS - (now - self.heard) * 1000) + 1
            if deadline is not None:
                left = (deadline - now) * 1000
                if left <= 0:
                    return None
                wait = min(wait, left)
            parts = self._receive(int(wait))
            if parts is not None:
                self._on_message(parts)
        event, last = self.queue.popleft()
        self.cursor_seq = self.batch_end if last else event.seq
        event.cursor = self.cursor_seq
        self.consumed += 1
        if self.consumed >= max(1, self.window // 2):
            # keep the window granted: give back what was consumed
            self._send([b"CREDIT", pack({"max": self.consumed, "token": self.token})])
            self.consumed = 0
        return event

    def _on_message(self, parts):
        self.heard = time.monotonic()
        command = parts[0].decode("ascii", "replace")
        try:
            body = msgpack.unpackb(parts[1], raw=False) if len(parts) > 1 else None
        except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError):
            body = None
        if type(body) is not dict:
            raise NodeError("malformed", "the node's %s body is not a msgpack map" % command)
        if command == "ERROR":
            if body.get("error") == "not_found" and body.get("token") == self.token:
                self._heal()        # CREDIT for a subscription the node dropped
                return
            self.client.feeds.pop(self.token, None)
            self.token = 0
            raise NodeRefused("SUBSCRIBE", body.get("error", "?"), body.get("text", ""))
        if command not in FEED_MESSAGES:
            return
        try:
            answer = json.loads(bytes(parts[2]).decode("utf-8")) if len(parts) > 2 else None
        except ValueError as error:
            raise NodeError("malformed", "%s: the JSON frame does not parse: %s" % (command, error))
        if type(answer) is not dict:
            raise NodeError("malformed", "%s carries no JSON object" % command)
        if command == "RESYNC":
            # the next start is from the start: this cursor means nothing here
            self.client.feeds.pop(self.token, None)
            self.token = 0
            self.epoch = self.cursor_seq = None
            self.queue.clear()
            raise FeedResync(answer.get("reason", "resync"), answer.get("epoch"))
        try:
            epoch = bytes.fromhex(answer["epoch"])
            if len(epoch) != 16:
                raise ValueError("not 16 bytes")
        except (KeyError, TypeError, ValueError):
            raise NodeError("malformed", "the node's %s carries no epoch" % command)
        numbers = [answer.get(name) for name in ("cursor", "from", "events_through", "last_seq")]
        if any(number is not None and (type(number) is not int or number < 0)
               for number in numbers):
            raise NodeError("malformed", "%s: a cursor is not a non-negative integer" % command)
        if answer.get("last_seq") is not None:
            self.last_seq = answer["last_seq"]
        if command == "SUBSCRIBE-OK":
            if type(answer.get("cursor")) is not int:
                raise NodeError("malformed", "SUBSCRIBE-OK names no cursor")
            self.subscribed = True
            self.subscription = answer
            self.client._watch_monitor()
            self.handshakes = self.client.handshakes
            self.epoch = epoch
            self.cursor_seq = self.received = self.batch_end = answer["cursor"]
            # the node caps the credit it holds for us: keep the window we
            # got, or we would wait for credit we never gave back
            granted = answer.get("credit")
            if type(granted) is int and 0 < granted < self.window:
                self.window = granted
            return
        if epoch != self.epoch:
            # the node's store changed under a live subscription: start over
            # from our cursor, which it then answers RESYNC
            self._heal()
            return
        if command == "FEED-HB":
            through, cursor = answer.get("events_through"), answer.get("cursor")
            if through is None or cursor is None:
                raise NodeError("malformed", "FEED-HB lacks cursor or events_through")
            if through > self.received:
                self._heal()        # an EVENTS was lost on the way (a full queue)
                return
            if cursor > self.received:
                # entries we may not see were passed over: nothing to see there
                self.received = self.batch_end = cursor
                if not self.queue and cursor > self.cursor_seq:
                    self.cursor_seq = cursor
            return
        # EVENTS
        start, end, events = answer.get("from"), answer.get("cursor"), answer.get("events")
        if start is None or end is None or type(events) is not list:
            raise NodeError("malformed", "EVENTS lacks from, cursor or events")
        if start != self.received:
            self._heal()            # a batch went missing: again from our cursor
            return
        frames = [bytes(frame) for frame in parts[3:]]
        if len(frames) != len(events) or not frames:
            raise NodeError("malformed", "EVENTS lists %d events but carries %d records"
                            % (len(events), len(frames)))
        records = verify_frames(frames, self.client.registry, "EVENTS")
        previous = start
        batch = []
        for index, (note, record, data) in enumerate(zip(events, records, frames)):
            if type(note) is not dict or type(note.get("seq")) is not int:
                raise NodeError("malformed", "EVENTS: event %d has no seq" % index)
            seq = note["seq"]
            if not previous < seq <= end:
                raise NodeError("malformed", "EVENTS: event %d (seq %d) is not in order "
                                "within (%d, %d]" % (index, seq, start, end))
            if (note.get("kind"), note.get("key"), note.get("deleted")) \
                    != (record.kind, record.key, record.deleted):
                raise RecordError("malformed", "event %d of the node's EVENTS names %s %s "
                                  "but carries %s %s" % (index, note.get("kind"),
                                                         note.get("key"), record.kind, record.key))
            previous = seq
            batch.append(FeedEvent(seq, record, data, epoch, answer.get("policy")))
        for index, event in enumerate(batch):
            self.queue.append((event, index == len(batch) - 1))
        self.received = self.batch_end = end


# ---------------------------------------------------------------------------
# Elder records

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECKS = "10X98765432"


def citizen_id_facts(id_no):
    """(birth_date, sex) from a valid 18-character citizen ID; SystemExit if not."""
    if not re.fullmatch(r"[0-9]{17}[0-9X]", id_no):
        raise SystemExit("hutong_client: %s is not 17 digits and a check character" % id_no)
    check = ID_CHECKS[sum(int(d) * w for d, w in zip(id_no[:17], ID_WEIGHTS)) % 11]
    if id_no[17] != check:
        raise SystemExit("hutong_client: %s: check character should be %s" % (id_no, check))
    return id_no[6:14], 1 if int(id_no[16]) % 2 == 1 else 2


def make_elder(args, idkey, registry):
    birth_date, sex = citizen_id_facts(args.id_no)
    record = Record("elder", registry)
    rules = record.table.rules
    for name in ("status", "living"):
        value, choices = getattr(args, name), rules[name].get("choices")
        if value and choices and value not in choices:
            raise SystemExit("hutong_client: --%s must be one of: %s" % (name, ", ".join(choices)))
    level = rules["ability_level"]
    if args.ability_level is not None and not level["min"] <= args.ability_level <= level["max"]:
        raise SystemExit("hutong_client: --ability-level must be %d..%d" % (level["min"], level["max"]))
    record.fields = {"name": args.name, "id_type": "居民身份证", "id_no": args.id_no,
                     "sex": sex, "birth_date": birth_date,
                     "hukou_region": args.hukou_region or args.region, "status": args.status}
    for name in ("phone", "address", "living", "residence_region"):
        value = getattr(args, name)
        if value:
            record.fields[name] = value
    if args.categories:
        record.fields["categories"] = args.categories.split(",")
    if args.ability_level is not None:
        record.fields["ability_level"] = args.ability_level
    record.key = elder_key(idkey, args.id_no)
    record.region = args.region
    record.scope = args.scope or args.region
    ms = args.hlc_ms if args.hlc_ms is not None else int(time.time() * 1000)
    record.hlc = ms << HLC_COUNTER_BITS
    record.check_header()
    for name, typ in record.schema:
        if name in record.fields:
            check_value(record.kind, name, typ, record.fields[name])
    return record


# ---------------------------------------------------------------------------
# Reading record files: JSON lines, or concatenated msgpack

def read_records(path, registry):
    """Yield (number, Record or None, RecordError or None) for each record."""
    data = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
    if data.lstrip()[:1] in (b"{", b""):
        for number, line in enumerate(data.decode("utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                yield number, Record.from_json(json.loads(line), registry), None
            except RecordError as error:
                yield number, None, error
            except ValueError as error:
                yield number, None, RecordError("malformed", "not JSON: %s" % error)
        return
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False, max_buffer_size=len(data) + 1)
    unpacker.feed(data)
    number, offset = 0, 0
    while offset < len(data):
        number += 1
        try:
            unpacker.skip()
        except (msgpack.OutOfData, ValueError, msgpack.FormatError, msgpack.StackError):
            yield number, None, RecordError("malformed", "the msgpack stream is damaged here; stopping")
            return
        end = unpacker.tell()
        try:
            yield number, Record.decode(data[offset:end], registry), None
        except RecordError as error:
            yield number, None, error
        offset = end


# ---------------------------------------------------------------------------
# Commands

def connect(args, registry=None):
    public, secret = load_keyfile(args.key)
    return NodeClient(args.node, load_public(args.node_key), public, secret, args.timeout,
                      registry)


def print_json(obj):
    print(json.dumps(obj, ensure_ascii=False, sort_keys=True))


def cmd_info(args):
    client = connect(args)
    try:
        print_json(client.info())
    finally:
        client.close()
    return EXIT_OK


def cmd_status(args):
    client = connect(args)
    try:
        print_json(client.status())
    finally:
        client.close()
    return EXIT_OK


def cmd_put_elder(args):
    if not region_valid(args.region):
        raise SystemExit("hutong_client: --region %s is not a valid 12-digit region code" % args.region)
    public, secret = load_keyfile(args.sign_key or args.key)
    registry = load_registry(args)
    record = make_elder(args, load_idkey(args.idkey), registry)
    record.sign(secret)
    record.verify()
    assert Record.decode(record.encode(), registry).digest() == record.digest()
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(json.dumps(record.to_json(), ensure_ascii=False, sort_keys=True) + "\n")
    client = connect(args)
    try:
        reply = client.put([record])
    finally:
        client.close()
    reply["key"] = record.key
    print_json(reply)
    results = reply.get("results", [])
    return EXIT_OK if results == ["ok"] and "error" not in reply else EXIT_INVALID


def write_read(args, result):
    """Print a read's records, one JSON line each; keep its reply and
    wire bytes where --reply and --wire say (appending: one line a page)."""
    for record in result.records:
        print_json(record)
    if args.reply:
        with open(args.reply, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(result.json, ensure_ascii=False, sort_keys=True) + "\n")
    if args.wire:
        with open(args.wire, "ab") as handle:
            for data in result.wire:
                handle.write(data)


def cmd_read(args):
    """get, find, history: one entity"""
    client = connect(args, load_registry(args))
    try:
        call = {"get": client.get, "find": client.find, "history": client.history}[args.command]
        write_read(args, call(args.kind, args.target, purpose=args.purpose))
    finally:
        client.close()
    return EXIT_OK


def cmd_list(args):
    if (args.field is None) != (args.value is None):
        print("hutong_client: list: --field and --value go together", file=sys.stderr)
        return EXIT_USAGE
    client = connect(args, load_registry(args))
    query = dict(purpose=args.purpose, region=args.region, field=args.field,
                 value=args.value, after=args.after, max=args.limit)
    try:
        for page in (client.pages(args.kind, **query) if args.all
                     else [client.list(args.kind, **query)]):
            write_read(args, page)
            if not args.all and page.json.get("next") is not None:
                print("next page: --after %s" % page.json["next"], file=sys.stderr)
    finally:
        client.close()
    return EXIT_OK


def cmd_count(args):
    client = connect(args, load_registry(args))
    try:
        print_json(client.count(args.kind, region=args.region, purpose=args.purpose))
    finally:
        client.close()
    return EXIT_OK


FEED_SAVE_MS = 200          # the cursor file is written at most this often (and at exit)


def cmd_feed(args):
    """Follow a feed: one JSON line an event {"seq", "cursor", "record"},
    the cursor kept in --cursor-file (as `hutong feed` does)."""
    if (args.field is None) != (args.value is None):
        print("hutong_client: feed: --field and --value go together", file=sys.stderr)
        return EXIT_USAGE
    since = args.since
    try:
        if since is None and args.cursor_file:
            saved = load_cursor(args.cursor_file)
            since = saved if saved is not None else None
        if isinstance(since, str) and since not in ("start", "now"):
            since = parse_cursor(since)
    except ValueError as error:
        print("hutong_client: feed: %s" % error, file=sys.stderr)
        return EXIT_USAGE
    stop = []
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda number, frame: stop.append(number))
    client = connect(args, load_registry(args))
    printed, saved_at, last_saved, feed, resyncs = 0, 0.0, None, None, 0
    wire = open(args.wire, "ab") if args.wire else None

    def save():
        nonlocal last_saved
        if args.cursor_file and feed is not None and feed.cursor is not None \
                and feed.cursor != last_saved:
            sys.stdout.flush()      # the lines are out before the cursor that covers them
            save_cursor(args.cursor_file, feed.cursor)
            last_saved = feed.cursor

    try:
        feed = client.subscribe(kinds=args.kinds, region=args.region, field=args.field,
                                value=args.value, purpose=args.purpose,
                                since=since or "start", window=args.window)
        idle_since = time.monotonic()
        while not stop and (not args.limit or printed < args.limit):
            try:
                event = feed.next_event(500)
            except FeedResync as resync:
                print_json({"resync": True, "reason": resync.text})
                sys.stdout.flush()
                resyncs += 1
                feed.restart("start")
                idle_since = time.monotonic()
                continue
            if event is None:
                save()
                if not args.follow and time.monotonic() - idle_since >= args.idle / 1000.0:
                    break           # caught up
                continue
            idle_since = time.monotonic()
            print_json(event.to_json())
            if wire:
                wire.write(event.wire)
            printed += 1
            if time.monotonic() - saved_at >= FEED_SAVE_MS / 1000.0:
                if wire:
                    wire.flush()
                save()
                saved_at = time.monotonic()
        feed.close()
    finally:
        sys.stdout.flush()
        if wire:
            wire.close()
        save()
        client.close()
    if args.stats:
        print(json.dumps({"events": printed, "resubscribed": feed.resubscribed if feed else 0,
                          "resyncs": resyncs}), file=sys.stderr)
    elif sys.stderr.isatty():
        print("%d events" % printed, file=sys.stderr)
    return EXIT_OK


def explain(record, out):
    """Print every step of records.md §4 for one record."""
    write = lambda *parts: print(*parts, file=out)
    write("  form:    %s" % ("full (seed %s)" % record.seed.hex() if record.full else "redacted"))
    write("  schema:  %s version %d (%d fields)" % (record.kind, record.sv, len(record.schema)))
    header = record.header_bytes()
    write("  header:  %d bytes %s" % (len(header), header.hex()))
    for name, typ in record.schema:
        if name in record.withheld:
            write("  %-20s withheld  digest %s" % (name, record.withheld[name].hex()))
            continue
        salt = record.salt(name)
        value = record.field_input(name, typ)
        write("  %-20s salt %s value %s digest %s" % (name, salt.hex(), value.hex(),
                                                       record.field_digest(name, typ).hex()))
    write("  digest:  %s" % record.digest().hex())
    if record.batch is not None:
        index, size, path = record.batch
        write("  batch:   leaf %d of %d, leaf hash %s" % (index, size,
                                                         merkle_leaf(record.digest()).hex()))
        for step, sibling in enumerate(path):
            write("  path %-2d  %s" % (step, sibling.hex()))
        root = record.batch_root()
        write("  root:    %s" % (root.hex() if root else "none: the path does not fit"))
        if root:
            write("  signed:  %s" % batch_message(size, root).hex())


def cmd_verify(args):
    source, anchor = None, None
    registry = load_registry(args)
    if args.anchor:
        anchor = load_public(args.anchor)
        source = CertSource()
        for path in args.chain or args.files:
            for _, record, error in read_records(path, registry):
                if record is not None and error is None:
                    source.add(record)
    counts = {"records": 0, "valid": 0, "invalid": 0, "batch_signed": 0}
    roots = set()                   # batch signatures checked: each once
    for path in args.files:
        for number, record, error in read_records(path, registry):
            counts["records"] += 1
            if record is not None:
                if args.explain:
                    print("record %d (%s %s):" % (number, record.kind, record.key))
                    try:
                        explain(record, sys.stdout)
                    except RecordError:
                        pass
                if record.batch is not None:
                    counts["batch_signed"] += 1
                try:
                    record.verify(roots)
                    if source is not None:
                        authorize(record, anchor, source)
                except RecordError as refused:
                    error = refused
            name = "%s %s" % (record.kind, record.key) if record is not None else "? ?"
            if error is None:
                counts["valid"] += 1
                if args.json:
                    print_json({"record": counts["records"], "kind": record.kind,
                                "key": record.key, "valid": True})
                elif args.explain:
                    print("  valid")
            else:
                counts["invalid"] += 1
                if args.json:
                    print_json({"record": counts["records"], "kind": record.kind if record else "?",
                                "key": record.key if record else "?", "valid": False,
                                "error": error.error, "reason": error.reason})
                else:
                    print("record %d (%s): INVALID: %s: %s" % (counts["records"], name,
                                                              error.error, error.reason))
    if not args.json:
        print_json(counts)
    return EXIT_OK if counts["invalid"] == 0 else EXIT_INVALID


def load_registry(args):
    """The tables from --schema or $HUTONG_SCHEMA (`hutong schema --json`)."""
    path = args.schema or os.environ.get("HUTONG_SCHEMA")
    if not path:
        print("hutong_client: no schema tables: give --schema FILE or set HUTONG_SCHEMA "
              "(make the file with: hutong schema --json > FILE)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)
    try:
        return Schema.load(path)
    except SchemaError as error:
        print("hutong_client: %s" % error, file=sys.stderr)
        raise SystemExit(EXIT_ERROR)


def add_node_options(parser):
    parser.add_argument("--node", required=True, metavar="ENDPOINT",
                        help="the node's client endpoint, e.g. tcp://127.0.0.1:7701")
    parser.add_argument("--node-key", required=True, metavar="PUB",
                        help="the node's Ed25519 public key (.pub file or 64 hex digits); "
                             "its CURVE server key is derived from it")
    parser.add_argument("--key", required=True, metavar="KEYFILE",
                        help="our key file (0600); the node admits it only if it holds a "
                             "valid certificate for it")
    parser.add_argument("--timeout", type=int, default=10000, metavar="MS",
                        help="how long to wait for an answer (default 10000)")


def add_read_options(parser, records=True):
    add_node_options(parser)
    parser.add_argument("--purpose", metavar="CODE",
                        help="why we read (a purpose code): needed for personal fields")
    if not records:
        return
    parser.add_argument("--reply", metavar="FILE",
                        help="append the node's JSON answer here (a line a page)")
    parser.add_argument("--wire", metavar="FILE",
                        help="append the records' bytes as the node sent them (msgpack)")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="hutong_client.py",
        description="A Hutong client in Python (pyzmq + msgpack + PyNaCl), written from "
                    "docs/records.md and docs/protocol.md.",
        epilog="Exit codes: 0 success; 1 invalid input (a record failed verification or "
               "was refused, or the node refused a read for its policy, purpose, scope or "
               "a record not found); 2 usage error; 3 operational error.")
    parser.add_argument("--schema", metavar="FILE",
                        help="the schema tables, as `hutong schema --json` prints them "
                             "(default: $HUTONG_SCHEMA); needed to build or verify records")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    info = commands.add_parser("info", help="the node's identity and our certificate (INFO)")
    add_node_options(info)
    info.set_defaults(run=cmd_info)

    status = commands.add_parser("status", help="the node's peers, records and quarantine (STATUS)")
    add_node_options(status)
    status.set_defaults(run=cmd_status)

    put = commands.add_parser("put-elder", help="build, sign and PUT an elder record")
    add_node_options(put)
    put.add_argument("--sign-key", metavar="KEYFILE",
                     help="sign with this key instead of --key (its certificate must "
                          "authorize the record)")
    put.add_argument("--idkey", required=True, metavar="FILE",
                     help="the network pseudonym key (hutong keygen --idkey), for the elder's key")
    put.add_argument("--region", required=True, metavar="CODE",
                     help="the responsible community's 12-digit region code")
    put.add_argument("--scope", metavar="CODE", help="how far down it is shared (default: --region)")
    put.add_argument("--id-no", required=True, metavar="ID",
                     help="18-character citizen ID (居民身份证); sex and birth date follow from it")
    put.add_argument("--name", required=True, help="the elder's name")
    put.add_argument("--hukou-region", metavar="CODE", help="household registration (default: --region)")
    put.add_argument("--residence-region", metavar="CODE")
    put.add_argument("--status", default="active",
                     help="one of the schema's elder statuses (default active)")
    put.add_argument("--phone")
    put.add_argument("--address")
    put.add_argument("--living", help="one of the schema's living arrangements")
    put.add_argument("--categories", metavar="LIST", help="comma-separated, e.g. 低保,优抚")
    put.add_argument("--ability-level", type=int, metavar="LEVEL",
                     help="GB/T 42195 ability level, within the schema's range")
    put.add_argument("--hlc-ms", type=int, metavar="MS",
                     help="version time in ms since 1970 (default: now)")
    put.add_argument("--out", metavar="FILE", help="also write the signed record here (JSON line)")
    put.set_defaults(run=cmd_put_elder)

    verify = commands.add_parser(
        "verify", help="verify records (JSON lines or msgpack, full or redacted) in Python",
        description="Verify each record's signature over its recomputed digest: full records "
                    "from their seed, redacted ones from disclosed values and salts plus "
                    "withheld digests. With --anchor, also apply the authorization rule, "
                    "with certificates and revocations from --chain (default: the FILEs).")
    verify.add_argument("files", nargs="+", metavar="FILE", help="records; - for standard input")
    verify.add_argument("--anchor", metavar="PUB", help="the root public key: also check each "
                        "author's certificate chain")
    verify.add_argument("--chain", action="append", metavar="FILE",
                        help="records holding the certificates and revocations (repeatable)")
    verify.add_argument("--explain", action="store_true",
                        help="print the header, every salt and field digest, and the digest")
    verify.add_argument("--json", action="store_true", help="one JSON result line per record")
    verify.set_defaults(run=cmd_verify)

    reads = {
        "get": "the current version of a record, as our read policy shows it (GET)",
        "find": "an elder by citizen ID number or a facility by USCC (FIND)",
        "history": "every version of a record, oldest first (HISTORY)",
    }
    for name, summary in reads.items():
        read = commands.add_parser(name, help=summary, description=summary + "; every "
                                   "record is verified before it is printed")
        add_read_options(read)
        read.add_argument("kind", metavar="KIND", help="record kind (elder, facility, ...)")
        read.add_argument("target", metavar="ID" if name == "find" else "KEY",
                          help="citizen ID number or USCC" if name == "find" else "entity key")
        read.set_defaults(run=cmd_read)

    listing = commands.add_parser("list", help="records of a kind by region or indexed "
                                  "field, a page at a time (LIST)")
    add_read_options(listing)
    listing.add_argument("--kind", required=True)
    listing.add_argument("--region", metavar="CODE",
                         help="a region code or prefix (default: our jurisdiction)")
    listing.add_argument("--field", metavar="NAME", help="an indexed field, with --value")
    listing.add_argument("--value", metavar="TEXT")
    listing.add_argument("--limit", type=int, metavar="N", help="records per page "
                         "(the node's default 100, at most 1000)")
    listing.add_argument("--after", metavar="CURSOR", help="start after a page's next")
    listing.add_argument("--all", action="store_true", help="follow every page to the end")
    listing.set_defaults(run=cmd_list)

    feed = commands.add_parser(
        "feed", help="follow a node's change feed (SUBSCRIBE), one verified event a line",
        description="Follow the change feed of what our read policy shows: one JSON line an "
                    "event {\"seq\", \"cursor\", \"record\"} in the node's log order, each "
                    "record verified, redacted as the policy says; a deletion is a tombstone "
                    "(\"deleted\": true). With --cursor-file the cursor is kept there (at most "
                    "every 0.2 s and at exit, after the lines it covers) and a restart resumes "
                    "from it (at least once: lines may come again). If the node cannot serve "
                    "the cursor (a restored store) a line {\"resync\": true, \"reason\"} is "
                    "printed and the feed starts again from the start. Without --follow it "
                    "stops once no event came for --idle ms.")
    add_read_options(feed, records=False)
    feed.add_argument("--kinds", metavar="LIST",
                      help="kinds, comma-separated (default: all our policy shows)")
    feed.add_argument("--region", metavar="CODE", help="only records under this code or prefix")
    feed.add_argument("--field", metavar="NAME", help="an indexed field of the one kind, with --value")
    feed.add_argument("--value", metavar="TEXT")
    feed.add_argument("--since", metavar="CURSOR",
                      help="start, now, or a saved EPOCH:SEQ (default: the cursor file, else start)")
    feed.add_argument("--cursor-file", metavar="FILE", help="resume from and keep the cursor in FILE")
    feed.add_argument("--follow", action="store_true",
                      help="keep waiting for new events (else stop when caught up)")
    feed.add_argument("--idle", type=int, default=2000, metavar="MS",
                      help="without --follow: stop after MS with no event (default 2000)")
    feed.add_argument("--limit", type=int, default=0, metavar="N", help="stop after N events")
    feed.add_argument("--window", type=int, default=FEED_WINDOW, metavar="N",
                      help="credit kept granted (default %d, at most %d)"
                           % (FEED_WINDOW, FEED_MAX_CREDIT))
    feed.add_argument("--wire", metavar="FILE",
                      help="append the records' bytes as the node sent them (msgpack)")
    feed.add_argument("--stats", action="store_true",
                      help="at exit, print {\"events\", \"resubscribed\", \"resyncs\"} on stderr")
    feed.set_defaults(run=cmd_feed)

    count = commands.add_parser("count", help="counts of a kind by region (COUNT)")
    add_read_options(count, records=False)
    count.add_argument("--kind", required=True)
    count.add_argument("--region", metavar="CODE")
    count.set_defaults(run=cmd_count)
    return parser


# A read refused for what it asks, not for how (as hutong get --node): exit 1
READ_REFUSALS = {"not_found", "purpose_required", "purpose_not_allowed", "policy",
                 "out_of_scope", "forbidden"}


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except NodeRefused as error:
        print("hutong_client: the node refused %s: %s: %s"
              % (error.command, error.error, error.text), file=sys.stderr)
        return EXIT_INVALID if error.error in READ_REFUSALS else EXIT_ERROR
    except NodeError as error:
        print("hutong_client: %s: %s" % (error.error, error.text), file=sys.stderr)
        return EXIT_ERROR
    except RecordError as error:
        print("hutong_client: %s" % error, file=sys.stderr)
        return EXIT_INVALID
    except OSError as error:
        print("hutong_client: %s" % error, file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())

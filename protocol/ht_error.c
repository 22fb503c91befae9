//  ht_error: texts for the project's error codes.
#include <string.h>
#include "ht_error.h"

typedef struct {
    const char *name;       //  stable identifier for scripts and counters
    const char *text;       //  sentence for people
} s_error_text_t;

//  Indexed by -code; the static assert keeps table and enum in step
static const s_error_text_t s_errors [] = {
    { "ok",              "success" },
    { "invalid",         "invalid argument or value" },
    { "malformed",       "malformed message" },
    { "truncated",       "message is truncated" },
    { "unknown_kind",    "unknown record kind" },
    { "bad_field",       "unknown field or field of the wrong type" },
    { "schema",          "field fails its validation rule" },
    { "required",        "required field is missing" },
    { "bad_region",      "invalid region code" },
    { "bad_signature",   "signature does not verify" },
    { "bad_digest",      "field digest or salt does not match" },
    { "no_cert",         "no certificate for the author or an issuer" },
    { "bad_chain",       "certificate chain does not reach the root anchor" },
    { "expired",         "certificate not valid at the record's time" },
    { "revoked",         "certificate revoked before the record's time" },
    { "kind_not_allowed","certificate does not permit this record kind" },
    { "out_of_scope",    "author's jurisdiction does not cover the record's scope and region" },
    { "bad_key",         "key file missing, malformed or mismatched" },
    { "key_mode",        "key file is readable by group or others (chmod 600)" },
    { "io",              "file or system error" },
    { "store",           "store (LMDB) error" },
    { "not_found",       "no such record" },
    { "redacted",        "operation needs the full (unredacted) record" },
    { "no_memory",       "out of memory" },
    { "clock",           "timestamp too far ahead of the local clock" },
    { "version",         "unsupported format or protocol version" },
    { "locked",          "store is in use by another process" },
    { "config",          "invalid configuration" },
    { "timeout",         "peer did not answer in time" },
    { "policy",          "unknown read policy or access refused" },
    { "conflict",        "same (hlc, author) signed twice with different content" },
    { "cert_key_mismatch", "a cert or revocation is not keyed by the hex of its public key" },
    { "not_issuer",      "only the key's own issuer may issue, renew or delete its certificate" },
    { "not_on_chain",    "a revocation's author is not on the revoked key's certificate chain" },
    { "revocation_final", "a revocation cannot be deleted, postponed or superseded" },
    { "not_owner",       "the author's jurisdiction does not cover the entity's current owner" },
    { "stale",           "timestamp outside the ingest freshness window of the local clock" },
    { "rate_limited",    "too many requests from this client; slow down" },
    { "unsafe_path",     "file or directory is writable by group or others, or is a symlink" },
    { "store_full",      "the store is full: its disk, or its cap limits/map_limit_mb" },
    { "schema_version",  "the record's schema version is newer than this program knows for its kind" },
    { "purpose_required", "the request would disclose personal fields and names no purpose" },
    { "purpose_not_allowed", "the purpose is unknown, or not one this read policy allows" },
    { "forbidden",       "this key's role may not make this request at this node" },
    { "audit_failed",    "the read could not be audited, so it was not answered" },
    { "resync",          "the node cannot serve this feed cursor: start again from the start" },
    { "passphrase_required", "the key file is encrypted: a passphrase is needed (HUTONG_PASSPHRASE, a passphrase file, or a terminal)" },
    { "bad_passphrase",  "wrong passphrase, or the encrypted key file was altered" },
    { "clock_skew",      "this node's clock is off its parent's: the record's timestamp is where its neighbours would refuse it" },
};

_Static_assert (sizeof s_errors / sizeof s_errors [0] == HT_ERROR_COUNT,
                "one name and text per error code");

const char *
ht_strerror (int code)
{
    int index = -code;
    if (index < 0 || index >= HT_ERROR_COUNT)
        return "unknown error";
    return s_errors [index].text;
}

const char *
ht_errname (int code)
{
    int index = -code;
    if (index < 0 || index >= HT_ERROR_COUNT)
        return "unknown";
    return s_errors [index].name;
}

int
ht_errcode (const char *name)
{
    for (int index = 0; name && index < HT_ERROR_COUNT; index++)
        if (strcmp (s_errors [index].name, name) == 0)
            return -index;
    return HT_EINVAL;
}

//  make_corpus: the fuzz targets' seed corpora, from real inputs. Reads
//  the drafts `hutong gen` prints (JSON lines on standard input),
//  completes and signs them with the PKI of ht_fuzz.h (each by the
//  deepest key whose region covers its scope), and writes under OUTDIR:
//
//    record/       wire forms: signed alone, in a batch, redacted,
//                  tombstones, the PKI's certs, a revocation
//    record_json/  the drafts as gen printed them, and JSON forms of
//                  signed, redacted and batch-signed records
//    store/        JSON lines for the store: drafts, signed records, a
//                  tombstone, a new certificate, a revocation
//    cert/         msgpack streams: certificates, then a record
//    msg/          every command of docs/protocol.md, framed as
//                  fuzz_msg reads them, with record and JSON frames
//
//  Usage: hutong gen ... | make_corpus OUTDIR (tests/fuzz/make_corpus.sh
//  runs it with the seeds the committed corpus came from). Signing uses
//  ht_fuzz.h's deterministic randomness: the same drafts give the same
//  files, byte for byte.
#include "ht_fuzz.h"
#include "ht_msg.h"
#include "ht_record_complete.h"
#include <sys/stat.h>

#define S_MAX_DRAFTS 64
#define S_LINE_BYTES 65536
#define S_PATH_BYTES 1024

static const char *s_out;

static void
s_write (const char *target, const char *name, const void *data, size_t size)
{
    char path [S_PATH_BYTES];
    snprintf (path, sizeof path, "%s/%s", s_out, target);
    mkdir (path, 0755);
    snprintf (path, sizeof path, "%s/%s/%s", s_out, target, name);
    FILE *file = fopen (path, "wb");
    HT_FUZZ_REQUIRE (file);
    HT_FUZZ_REQUIRE (fwrite (data, 1, size, file) == size);
    fclose (file);
}

static void
s_write_text (const char *target, const char *name, const char *text)
{
    s_write (target, name, text, strlen (text));
}

//  JSON form of a record, one line
static char *
s_json (const ht_record_t *record)
{
    json_t *json = ht_record_to_json (record);
    char *text = json_dumps (json, JSON_COMPACT);
    json_decref (json);
    HT_FUZZ_REQUIRE (text);
    return text;
}

static void
s_write_record (const char *name, const ht_record_t *record)
{
    uint8_t *data = NULL;
    size_t size = 0;
    HT_FUZZ_REQUIRE (ht_record_encode (record, &data, &size) == 0);
    s_write ("record", name, data, size);
    free (data);
    char *text = s_json (record);
    s_write_text ("record_json", name, text);
    free (text);
}

//  The deepest principal whose region covers scope, or -1
static int
s_signer_for (const ht_fuzz_pki_t *pki, const char *scope)
{
    int best = -1;
    for (int i = 0; i < HT_FUZZ_PRINCIPALS; i++)
        if (ht_region_covers (pki->regions [i], scope))
            best = i;
    return best;
}

//  Complete a draft (hlc on day `day` after the certs) and sign it
static ht_record_t *
s_sign_draft (const ht_fuzz_pki_t *pki, const char *line, unsigned day)
{
    json_t *json = json_loads (line, 0, NULL);
    HT_FUZZ_REQUIRE (json);
    const char *reason = NULL;
    ht_record_t *record = ht_record_from_json (json, NULL, &reason);
    json_decref (json);
    HT_FUZZ_REQUIRE (record);
    int signer = s_signer_for (pki, ht_record_scope (record));
    HT_FUZZ_REQUIRE (signer >= 0);
    ht_hlc_t clock = { ht_hlc_make (HT_FUZZ_T0_MS + (1 + day) * HT_FUZZ_DAY_MS, 0) };
    ht_complete_t context = { .idkey = pki->idkey, .author_region = pki->regions [signer],
                              .clock = &clock };
    if (ht_record_complete (record, &context, &reason))
        HT_FUZZ_FAIL ("draft does not complete: %s: %s", reason, line);
    ht_record_set_hlc (record, ht_hlc_make (HT_FUZZ_T0_MS + (1 + day) * HT_FUZZ_DAY_MS, 0));
    HT_FUZZ_REQUIRE (ht_record_sign (record, pki->keys [signer]) == 0);
    return record;
}

//  A cert for a new key (seed byte 0x66) in community A, by the township
static ht_record_t *
s_new_cert (const ht_fuzz_pki_t *pki, ht_keypair_t **subject_p)
{
    ht_keypair_t *subject = ht_fuzz_key (0x66, "care-station");
    ht_cert_t spec;
    memset (&spec, 0, sizeof spec);
    snprintf (spec.name, sizeof spec.name, "凤城街道颐康服务站");
    spec.role = HT_ROLE_DEPARTMENT;
    snprintf (spec.department, sizeof spec.department, "civil_affairs");
    snprintf (spec.region, sizeof spec.region, "%s", HT_FUZZ_COMMUNITY_A);
    snprintf (spec.kinds [0], sizeof spec.kinds [0], "elder");
    spec.kind_count = 1;
    snprintf (spec.policy, sizeof spec.policy, "civil_affairs");
    spec.not_before_ms = HT_FUZZ_NOT_BEFORE_MS;
    spec.not_after_ms = HT_FUZZ_NOT_AFTER_MS;
    memcpy (spec.pubkey, ht_keypair_public (subject), HT_PUBKEY_BYTES);
    ht_record_t *cert = ht_cert_issue (&spec, pki->keys [HT_FUZZ_TOWNSHIP_KEY],
                                       ht_hlc_make (HT_FUZZ_T0_MS + HT_FUZZ_DAY_MS, 0),
                                       NULL, NULL);
    HT_FUZZ_REQUIRE (cert);
    *subject_p = subject;
    return cert;
}

//  Records and their JSON forms
static void
s_make_records (const ht_fuzz_pki_t *pki, ht_record_t **signed_records, size_t count)
{
    char name [64];
    for (size_t i = 0; i < count && i < 12; i++) {
        snprintf (name, sizeof name, "signed-%02zu-%s", i, ht_record_kind (signed_records [i]));
        s_write_record (name, signed_records [i]);
    }
    for (int i = 0; i < HT_FUZZ_PRINCIPALS; i++) {
        snprintf (name, sizeof name, "cert-%d", i);
        s_write_record (name, pki->certs [i]);
    }
    //  Redacted: only the name and status disclosed, with a mask
    const char *disclose [] = { "name", "status", "type" };
    for (size_t i = 0; i < count && i < 3; i++) {
        ht_record_t *redacted = ht_record_redact (signed_records [i], disclose, 3);
        HT_FUZZ_REQUIRE (redacted);
        if (ht_record_field_state (redacted, "id_no") == HT_FIELD_WITHHELD)
            HT_FUZZ_REQUIRE (ht_record_set_mask (redacted, "id_no", "441802********0317") == 0);
        snprintf (name, sizeof name, "redacted-%zu-%s", i, ht_record_kind (redacted));
        s_write_record (name, redacted);
        ht_record_destroy (&redacted);
    }
    //  A batch of four elders of one community, signed once
    ht_record_t *batch [4];
    size_t batch_count = 0;
    for (size_t i = 0; i < count && batch_count < 4; i++)
        if (streq (ht_record_kind (signed_records [i]), "elder")
        &&  streq (ht_record_scope (signed_records [i]), HT_FUZZ_COMMUNITY_A))
            batch [batch_count++] = ht_record_dup (signed_records [i]);
    HT_FUZZ_REQUIRE (batch_count >= 2);
    HT_FUZZ_REQUIRE (ht_record_sign_batch (batch, batch_count,
                                           pki->keys [HT_FUZZ_COMMUNITY_A_KEY]) == 0);
    for (size_t i = 0; i < batch_count; i++) {
        snprintf (name, sizeof name, "batch-%zu", i);
        s_write_record (name, batch [i]);
    }
    ht_record_t *redacted = ht_record_redact (batch [1], disclose, 1);
    s_write_record ("batch-redacted", redacted);
    ht_record_destroy (&redacted);
    for (size_t i = 0; i < batch_count; i++)
        ht_record_destroy (&batch [i]);
    //  A tombstone of the first elder, a day later
    ht_record_t *tombstone = ht_record_new ("elder");
    HT_FUZZ_REQUIRE (ht_record_set_key (tombstone, ht_record_key (signed_records [0])) == 0
                  && ht_record_set_region (tombstone, ht_record_region (signed_records [0])) == 0
                  && ht_record_set_scope (tombstone, ht_record_scope (signed_records [0])) == 0);
    ht_record_set_deleted (tombstone, true);
    ht_record_set_hlc (tombstone, ht_record_hlc (signed_records [0]) + ht_hlc_make (HT_FUZZ_DAY_MS, 0));
    HT_FUZZ_REQUIRE (ht_record_sign (tombstone, pki->keys [HT_FUZZ_COMMUNITY_A_KEY]) == 0);
    s_write_record ("tombstone", tombstone);
    ht_record_destroy (&tombstone);
    //  A revocation of community B's key by the township
    ht_record_t *revocation = ht_revocation_issue (
        ht_keypair_public (pki->keys [HT_FUZZ_COMMUNITY_B_KEY]), HT_FUZZ_COMMUNITY_B,
        HT_FUZZ_T0_MS + 20 * HT_FUZZ_DAY_MS, "密钥遗失", pki->keys [HT_FUZZ_TOWNSHIP_KEY],
        ht_hlc_make (HT_FUZZ_T0_MS + 20 * HT_FUZZ_DAY_MS, 0), NULL, NULL);
    HT_FUZZ_REQUIRE (revocation);
    s_write_record ("revocation", revocation);
    ht_record_destroy (&revocation);
}

//  JSON lines for the store: drafts as gen printed them, and more
static void
s_make_store (const ht_fuzz_pki_t *pki, char **lines, ht_record_t **signed_records,
              size_t count)
{
    char name [64];
    for (size_t i = 0; i < count; i++) {
        snprintf (name, sizeof name, "draft-%zu", i);
        s_write_text ("store", name, lines [i]);
        s_write_text ("record_json", name, lines [i]);
    }
    //  Several drafts in one input (one batch)
    char *joined = NULL;
    size_t joined_size = 0;
    FILE *stream = open_memstream (&joined, &joined_size);
    for (size_t i = 0; i < count && i < 4; i++)
        fprintf (stream, "%s\n", lines [i]);
    fclose (stream);
    s_write_text ("store", "drafts-4", joined);
    free (joined);
    //  Signed records as hutong export prints them, and two versions of
    //  one entity by different keys
    stream = open_memstream (&joined, &joined_size);
    for (size_t i = 0; i < count && i < 3; i++) {
        char *text = s_json (signed_records [i]);
        fprintf (stream, "%s\n", text);
        free (text);
    }
    fclose (stream);
    s_write_text ("store", "signed-3", joined);
    free (joined);
    char *first = s_json (signed_records [0]);
    char tombstone [512];
    snprintf (tombstone, sizeof tombstone,
              "{\"kind\":\"%s\",\"key\":\"%s\",\"region\":\"%s\",\"scope\":\"%s\","
              "\"deleted\":true,\"hlc\":%llu}", ht_record_kind (signed_records [0]),
              ht_record_key (signed_records [0]), ht_record_region (signed_records [0]),
              ht_record_scope (signed_records [0]),
              (unsigned long long) (ht_record_hlc (signed_records [0]) + 1));
    stream = open_memstream (&joined, &joined_size);
    fprintf (stream, "%s\n%s\n", first, tombstone);
    fclose (stream);
    s_write_text ("store", "version-and-tombstone", joined);
    free (joined);
    free (first);
    //  A certificate for a new key, then a revocation draft of it
    ht_keypair_t *subject = NULL;
    ht_record_t *cert = s_new_cert (pki, &subject);
    char *text = s_json (cert);
    char hex [2 * HT_PUBKEY_BYTES + 1];
    ht_hex_encode (ht_keypair_public (subject), HT_PUBKEY_BYTES, hex);
    char revocation [512];
    snprintf (revocation, sizeof revocation,
              "{\"kind\":\"revocation\",\"region\":\"%s\",\"fields\":{\"pubkey\":\"%s\","
              "\"revoked_at\":%llu,\"reason\":\"停用\"}}", HT_FUZZ_COMMUNITY_A, hex,
              (unsigned long long) (HT_FUZZ_T0_MS + 40 * HT_FUZZ_DAY_MS));
    stream = open_memstream (&joined, &joined_size);
    fprintf (stream, "%s\n%s\n", text, revocation);
    fclose (stream);
    s_write_text ("store", "cert-and-revocation", joined);
    s_write_text ("record_json", "revocation-draft", revocation);
    free (joined);
    free (text);
    //  The cert target: the new cert, then a record its key signed
    ht_record_t *elder = ht_record_dup (signed_records [0]);
    for (size_t i = 0; i < count; i++)
        if (streq (ht_record_kind (signed_records [i]), "elder")
        &&  streq (ht_record_scope (signed_records [i]), HT_FUZZ_COMMUNITY_A)) {
            ht_record_destroy (&elder);
            elder = ht_record_dup (signed_records [i]);
            break;
        }
    ht_record_set_hlc (elder, ht_record_hlc (elder) + 1);
    HT_FUZZ_REQUIRE (ht_record_sign (elder, subject) == 0);
    uint8_t *data = NULL, *more = NULL;
    size_t size = 0, more_size = 0;
    HT_FUZZ_REQUIRE (ht_record_encode (cert, &data, &size) == 0);
    HT_FUZZ_REQUIRE (ht_record_encode (elder, &more, &more_size) == 0);
    data = (uint8_t *) realloc (data, size + more_size);
    memcpy (data + size, more, more_size);
    s_write ("cert", "new-cert-then-elder", data, size + more_size);
    free (data);
    free (more);
    ht_record_destroy (&elder);
    ht_record_destroy (&cert);
    ht_keypair_destroy (&subject);
}

//  The cert target's other streams: records alone, and after the PKI
static void
s_make_cert (const ht_fuzz_pki_t *pki, ht_record_t **signed_records, size_t count)
{
    char name [64];
    for (size_t i = 0; i < count && i < 4; i++) {
        uint8_t *data = NULL;
        size_t size = 0;
        HT_FUZZ_REQUIRE (ht_record_encode (signed_records [i], &data, &size) == 0);
        snprintf (name, sizeof name, "alone-%zu-%s", i, ht_record_kind (signed_records [i]));
        s_write ("cert", name, data, size);
        free (data);
    }
    for (int i = 0; i < HT_FUZZ_PRINCIPALS; i++) {
        uint8_t *data = NULL;
        size_t size = 0;
        HT_FUZZ_REQUIRE (ht_record_encode (pki->certs [i], &data, &size) == 0);
        snprintf (name, sizeof name, "pki-cert-%d", i);
        s_write ("cert", name, data, size);
        free (data);
    }
    ht_record_t *revocation = ht_revocation_issue (
        ht_keypair_public (pki->keys [HT_FUZZ_COMMUNITY_B_KEY]), HT_FUZZ_COMMUNITY_B,
        HT_FUZZ_T0_MS + 20 * HT_FUZZ_DAY_MS, NULL, pki->keys [HT_FUZZ_COUNTY_KEY],
        ht_hlc_make (HT_FUZZ_T0_MS + 20 * HT_FUZZ_DAY_MS, 0), NULL, NULL);
    HT_FUZZ_REQUIRE (revocation);
    uint8_t *data = NULL;
    size_t size = 0;
    HT_FUZZ_REQUIRE (ht_record_encode (revocation, &data, &size) == 0);
    s_write ("cert", "revocation-by-county", data, size);
    free (data);
    ht_record_destroy (&revocation);
}

//  A message as fuzz_msg reads it: frames, each with a 2-byte length
static void
s_write_msg (const char *name, zmsg_t *zmsg)
{
    uint8_t data [65536];
    size_t size = 0;
    for (zframe_t *frame = zmsg_first (zmsg); frame; frame = zmsg_next (zmsg)) {
        size_t length = zframe_size (frame);
        HT_FUZZ_REQUIRE (length < 65536 && size + 2 + length <= sizeof data);
        data [size++] = (uint8_t) (length >> 8);
        data [size++] = (uint8_t) length;
        memcpy (data + size, zframe_data (frame), length);
        size += length;
    }
    s_write ("msg", name, data, size);
    zmsg_destroy (&zmsg);
}

static void
s_add_record (zmsg_t *zmsg, const ht_record_t *record)
{
    uint8_t *data = NULL;
    size_t size = 0;
    HT_FUZZ_REQUIRE (ht_record_encode (record, &data, &size) == 0);
    zmsg_addmem (zmsg, data, size);
    free (data);
}

static void
s_make_msgs (ht_record_t **signed_records, size_t count)
{
    ht_msg_t msg;
    ht_msg_init (&msg, HT_MSG_HELLO);
    msg.version = HT_PROTOCOL_VERSION;
    snprintf (msg.region, sizeof msg.region, "%s", HT_FUZZ_COMMUNITY_A);
    snprintf (msg.name, sizeof msg.name, "凤城街道 community 001");
    memset (msg.epoch, 0x42, HT_MSG_EPOCH_BYTES);
    msg.has_epoch = true;
    msg.last_seq = 1234;
    s_write_msg ("hello", ht_msg_encode (&msg));
    snprintf (msg.command, sizeof msg.command, "%s", HT_MSG_WELCOME);
    snprintf (msg.region, sizeof msg.region, "%s", HT_FUZZ_TOWNSHIP);
    s_write_msg ("welcome", ht_msg_encode (&msg));

    ht_msg_init (&msg, HT_MSG_PULL);
    memset (msg.epoch, 0x42, HT_MSG_EPOCH_BYTES);
    msg.has_epoch = true;
    msg.cursor = 77;
    msg.max = 500;
    msg.full = 1000;
    memset (msg.tag, 0x17, HT_MSG_TAG_BYTES);
    msg.has_tag = true;
    msg.wait = 2000;
    s_write_msg ("pull", ht_msg_encode (&msg));

    ht_msg_init (&msg, HT_MSG_BATCH);
    memset (msg.epoch, 0x42, HT_MSG_EPOCH_BYTES);
    msg.has_epoch = true;
    msg.from = 77;
    msg.has_from = true;
    msg.cursor = 79;
    msg.more = true;
    msg.last_seq = 80;
    memset (msg.tag, 0x18, HT_MSG_TAG_BYTES);
    msg.has_tag = true;
    zmsg_t *batch = ht_msg_encode (&msg);
    for (size_t i = 0; i < count && i < 2; i++)
        s_add_record (batch, signed_records [i]);
    s_write_msg ("batch", batch);

    const char *seq_commands [] = { HT_MSG_NOTIFY, HT_MSG_PING, HT_MSG_PONG };
    for (size_t i = 0; i < 3; i++) {
        ht_msg_init (&msg, seq_commands [i]);
        msg.last_seq = 99 + i;
        char name [32];
        snprintf (name, sizeof name, "%s", seq_commands [i]);
        for (char *c = name; *c; c++)
            *c = (char) (*c | 0x20);
        s_write_msg (name, ht_msg_encode (&msg));
    }
    ht_msg_init (&msg, HT_MSG_ERROR);
    snprintf (msg.error, sizeof msg.error, "no_cert");
    snprintf (msg.text, sizeof msg.text, "没有证书: no certificate for this key");
    msg.token = 7;
    s_write_msg ("error", ht_msg_encode (&msg));

    ht_msg_init (&msg, HT_MSG_PUT);
    msg.token = 8;
    zmsg_t *put = ht_msg_encode (&msg);
    s_add_record (put, signed_records [0]);
    s_write_msg ("put", put);
    ht_msg_init (&msg, HT_MSG_PUT_OK);
    msg.token = 8;
    zmsg_t *put_ok = ht_msg_encode (&msg);
    zmsg_addstr (put_ok, "{\"applied\":1,\"unchanged\":0,\"quarantined\":0,\"results\":[\"ok\"]}");
    s_write_msg ("put-ok", put_ok);

    ht_msg_init (&msg, HT_MSG_GET);
    msg.token = 9;
    snprintf (msg.purpose, sizeof msg.purpose, "care_assessment");
    snprintf (msg.kind, sizeof msg.kind, "elder");
    snprintf (msg.key, sizeof msg.key, "%s", ht_record_key (signed_records [0]));
    s_write_msg ("get", ht_msg_encode (&msg));
    ht_msg_init (&msg, HT_MSG_GET_OK);
    msg.token = 9;
    zmsg_t *get_ok = ht_msg_encode (&msg);
    zmsg_addstr (get_ok, "{\"count\":1}");
    s_add_record (get_ok, signed_records [0]);
    s_write_msg ("get-ok", get_ok);

    ht_msg_init (&msg, HT_MSG_FIND);
    msg.token = 10;
    snprintf (msg.kind, sizeof msg.kind, "elder");
    snprintf (msg.value, sizeof msg.value, "441802194005120317");
    s_write_msg ("find", ht_msg_encode (&msg));

    ht_msg_init (&msg, HT_MSG_LIST);
    msg.token = 11;
    snprintf (msg.kind, sizeof msg.kind, "facility");
    snprintf (msg.region, sizeof msg.region, "441802");
    snprintf (msg.field, sizeof msg.field, "type");
    snprintf (msg.value, sizeof msg.value, "institution");
    snprintf (msg.after, sizeof msg.after, "441802001001:abc");
    msg.max = 50;
    s_write_msg ("list", ht_msg_encode (&msg));

    ht_msg_init (&msg, HT_MSG_COUNT);
    msg.token = 12;
    snprintf (msg.kind, sizeof msg.kind, "elder");
    snprintf (msg.region, sizeof msg.region, "441802001");
    s_write_msg ("count", ht_msg_encode (&msg));

    ht_msg_init (&msg, HT_MSG_HISTORY);
    msg.token = 13;
    snprintf (msg.kind, sizeof msg.kind, "elder");
    snprintf (msg.key, sizeof msg.key, "%s", ht_record_key (signed_records [0]));
    s_write_msg ("history", ht_msg_encode (&msg));

    ht_msg_init (&msg, HT_MSG_SUBSCRIBE);
    msg.token = 14;
    snprintf (msg.kind, sizeof msg.kind, "elder,facility");
    snprintf (msg.region, sizeof msg.region, "441802001");
    memset (msg.epoch, 0x42, HT_MSG_EPOCH_BYTES);
    msg.has_epoch = true;
    msg.cursor = 5;
    msg.max = 100;
    s_write_msg ("subscribe", ht_msg_encode (&msg));

    ht_msg_init (&msg, HT_MSG_CREDIT);
    msg.token = 14;
    msg.max = 100;
    s_write_msg ("credit", ht_msg_encode (&msg));
    ht_msg_init (&msg, HT_MSG_UNSUBSCRIBE);
    msg.token = 14;
    s_write_msg ("unsubscribe", ht_msg_encode (&msg));
    ht_msg_init (&msg, HT_MSG_EVENTS);
    msg.token = 14;
    zmsg_t *events = ht_msg_encode (&msg);
    zmsg_addstr (events, "{\"cursor\":6,\"epoch\":\"42424242424242424242424242424242\"}");
    s_add_record (events, signed_records [1 % count]);
    s_write_msg ("events", events);
    const char *token_commands [] = { HT_MSG_STATUS, HT_MSG_INFO, HT_MSG_FEED_HB, HT_MSG_RESYNC };
    for (size_t i = 0; i < 4; i++) {
        ht_msg_init (&msg, token_commands [i]);
        msg.token = 20 + i;
        char name [32];
        snprintf (name, sizeof name, "%s", token_commands [i]);
        for (char *c = name; *c; c++)
            *c = (char) (*c | 0x20);
        s_write_msg (name, ht_msg_encode (&msg));
    }
}

int
main (int argc, char **argv)
{
    if (argc != 2) {
        fprintf (stderr, "usage: hutong gen ... | make_corpus OUTDIR\n");
        return 2;
    }
    s_out = argv [1];
    mkdir (s_out, 0755);
    ht_fuzz_random_install ();
    ht_fuzz_random_reset (1);
    ht_fuzz_pki_t *pki = ht_fuzz_pki_new ();
    char *lines [S_MAX_DRAFTS];
    ht_record_t *signed_records [S_MAX_DRAFTS];
    size_t count = 0;
    static char line [S_LINE_BYTES];
    while (count < S_MAX_DRAFTS && fgets (line, sizeof line, stdin)) {
        line [strcspn (line, "\n")] = 0;
        if (!*line)
            continue;
        lines [count] = strdup (line);
        signed_records [count] = s_sign_draft (pki, line, (unsigned) count);
        count++;
    }
    HT_FUZZ_REQUIRE (count >= 4);
    s_make_records (pki, signed_records, count);
    s_make_store (pki, lines, signed_records, count);
    s_make_cert (pki, signed_records, count);
    s_make_msgs (signed_records, count);
    for (size_t i = 0; i < count; i++) {
        free (lines [i]);
        ht_record_destroy (&signed_records [i]);
    }
    ht_fuzz_pki_destroy (&pki);
    return 0;
}

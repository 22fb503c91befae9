//  test_record_batch: batch signatures (format 3). Records signed in one
//  batch verify alone, full or redacted, in msgpack and JSON; changing a
//  record, its proof, or the signature fails; a proof moved to another
//  record or batch fails; a verifier checks each distinct root once, on
//  one thread or several; the store applies batch-signed records and
//  quarantines a forged one. The pinned vectors of docs/records.md §4a
//  (tests/batch_vectors.json, which hutong_client.py checks too) are
//  recomputed here with a Merkle tree written from RFC 9162's definition.
//
//  To write a fresh set of vectors: HT_BATCH_VECTORS_WRITE=FILE test_record_batch
#include "ht_record.h"
#include "ht_keys.h"
#include "ht_codec.h"
#include "ht_hlc.h"
#include "ht_test.h"
#include "ht_fixture.h"
#include "ht_record_fixture.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

#define S_VECTORS HT_SOURCE_DIR "/tests/batch_vectors.json"
#define S_RECORDS_DOC HT_SOURCE_DIR "/docs/records.md"
#define S_KEY_BYTE 0x42             //  the vectors' key: seed of 32 bytes 0x42
#define S_THREADS 4

//  count elder drafts of distinct people in community A
static ht_record_t **
s_drafts (size_t count)
{
    ht_record_t **records = calloc (count, sizeof *records);
    uint8_t idkey [HT_IDKEY_BYTES];
    ht_record_fixture_idkey (idkey, 0xa0);
    for (size_t index = 0; index < count; index++) {
        char id [19];
        records [index] = ht_fixture_elder_draft (
            ht_fixture_citizen_id ((unsigned) (index % 500), id), "张三",
            HT_FIXTURE_COMMUNITY_A, HT_FIXTURE_COMMUNITY_A, idkey,
            ht_hlc_make (HT_RECORD_FIXTURE_JAN_2026_MS, (uint16_t) index));
    }
    return records;
}

static ht_record_t **
s_signed_batch (size_t count, uint8_t key_byte)
{
    ht_record_t **records = s_drafts (count);
    ht_keypair_t *key = ht_fixture_key (key_byte, "test");
    ck_assert_int_eq (ht_record_sign_batch (records, count, key), 0);
    ht_keypair_destroy (&key);
    return records;
}

static void
s_destroy_all (ht_record_t ***records_p, size_t count)
{
    for (size_t index = 0; index < count; index++)
        ht_record_destroy (&(*records_p) [index]);
    free (*records_p);
    *records_p = NULL;
}

//  --------------------------------------------------------------------------
//  RFC 9162 §2.1.1 and §2.1.3.1, written from the text, recursively

static void
s_rfc_leaf (const uint8_t digest [32], uint8_t out [32])
{
    uint8_t input [33] = { 0x00 };
    memcpy (input + 1, digest, 32);
    crypto_generichash (out, 32, input, sizeof input, NULL, 0);
}

static void
s_rfc_node (const uint8_t left [32], const uint8_t right [32], uint8_t out [32])
{
    uint8_t input [65] = { 0x01 };
    memcpy (input + 1, left, 32);
    memcpy (input + 33, right, 32);
    crypto_generichash (out, 32, input, sizeof input, NULL, 0);
}

static size_t
s_rfc_k (size_t n)
{
    size_t k = 1;
    while (k * 2 < n)
        k *= 2;
    return k;
}

//  MTH (D [0:n]) of record digests
static void
s_rfc_mth (uint8_t (*digests) [32], size_t n, uint8_t out [32])
{
    if (n == 1) {
        s_rfc_leaf (digests [0], out);
        return;
    }
    size_t k = s_rfc_k (n);
    uint8_t left [32], right [32];
    s_rfc_mth (digests, k, left);
    s_rfc_mth (digests + k, n - k, right);
    s_rfc_node (left, right, out);
}

//  PATH (m, D [0:n]) into path; returns its length
static size_t
s_rfc_path (uint8_t (*digests) [32], size_t n, size_t m, uint8_t (*path) [32])
{
    if (n == 1)
        return 0;
    size_t k = s_rfc_k (n), length;
    if (m < k) {
        length = s_rfc_path (digests, k, m, path);
        s_rfc_mth (digests + k, n - k, path [length]);
    }
    else {
        length = s_rfc_path (digests + k, n - k, m - k, path);
        s_rfc_mth (digests, k, path [length]);
    }
    return length + 1;
}

//  The 57 bytes the author signs
static void
s_message (size_t size, const uint8_t root [32], uint8_t message [57])
{
    memcpy (message, "hutong batch root", 17);
    for (int byte = 0; byte < 8; byte++)
        message [17 + byte] = (uint8_t) ((uint64_t) size >> (56 - 8 * byte));
    memcpy (message + 25, root, 32);
}

//  Check every record of a batch against the RFC tree: root, paths, and
//  the signature over the message
static void
s_check_against_rfc (ht_record_t **records, size_t count, const uint8_t public_key [32])
{
    uint8_t (*digests) [32] = calloc (count, 32);
    for (size_t index = 0; index < count; index++)
        ck_assert_int_eq (ht_record_digest (records [index], digests [index]), 0);
    uint8_t root [32], message [57];
    s_rfc_mth (digests, count, root);
    s_message (count, root, message);
    for (size_t index = 0; index < count; index++) {
        size_t at = 0, size = 0;
        ck_assert (ht_record_batch (records [index], &at, &size));
        ck_assert_uint_eq (at, index);
        ck_assert_uint_eq (size, count);
        uint8_t proven [32];
        ck_assert_int_eq (ht_record_batch_root (records [index], proven), 0);
        ck_assert_mem_eq (proven, root, 32);
        ck_assert_int_eq (crypto_sign_verify_detached (ht_record_sig (records [index]),
                          message, sizeof message, public_key), 0);
        //  The path as the RFC builds it, compared through the JSON form
        uint8_t path [HT_BATCH_MAX_PATH][32];
        size_t length = s_rfc_path (digests, count, index, path);
        json_t *json = ht_record_to_json (records [index]);
        json_t *got = json_object_get (json_object_get (json, "batch"), "path");
        ck_assert_uint_eq (json_array_size (got), length);
        for (size_t step = 0; step < length; step++) {
            char hex [65];
            ck_assert_str_eq (json_string_value (json_array_get (got, step)),
                              ht_hex_encode (path [step], 32, hex));
        }
        json_decref (json);
    }
    free (digests);
}

//  --------------------------------------------------------------------------
//  Round trips

START_TEST (batches_of_every_shape_match_the_rfc_tree_and_verify_alone)
{
    static const size_t sizes [] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 16, 17, 33, 100 };
    ht_keypair_t *key = ht_fixture_key (S_KEY_BYTE, "test");
    for (size_t which = 0; which < sizeof sizes / sizeof sizes [0]; which++) {
        size_t count = sizes [which];
        ht_record_t **records = s_signed_batch (count, S_KEY_BYTE);
        s_check_against_rfc (records, count, ht_keypair_public (key));
        for (size_t index = 0; index < count; index++) {
            ht_record_t *record = records [index];
            ck_assert (ht_record_signed_here (record));
            const char *reason = NULL;
            ck_assert_msg (ht_record_verify (record, &reason) == 0, "%zu/%zu: %s",
                           index, count, reason);
            //  Alone, from its bytes: a new object knowing nothing of the batch
            size_t size;
            uint8_t *data = ht_record_fixture_encode (record, &size);
            ht_record_t *decoded = ht_record_fixture_decode (data, size);
            ck_assert (!ht_record_signed_here (decoded));
            ck_assert_int_eq (ht_record_verify (decoded, &reason), 0);
            ck_assert_int_eq (ht_record_validate (decoded, &reason), 0);
            free (data);
            ht_record_destroy (&decoded);
            decoded = ht_record_fixture_from_json (ht_record_to_json (record));
            ck_assert_int_eq (ht_record_verify (decoded, &reason), 0);
            ht_record_destroy (&decoded);
        }
        s_destroy_all (&records, count);
    }
    ht_keypair_destroy (&key);
}
END_TEST

START_TEST (a_batch_signed_record_is_format_3_and_a_plain_one_stays_format_2)
{
    ht_record_t **records = s_signed_batch (2, S_KEY_BYTE);
    size_t size;
    uint8_t *data = ht_record_fixture_encode (records [0], &size);
    //  The last pairs of the map: ... a1 76 03 (v = 3)
    ck_assert_mem_eq (data + size - 3, "\xa1\x76\x03", 3);
    free (data);
    //  Signing it alone again makes it a plain record of format 2
    ht_record_fixture_sign (records [0], S_KEY_BYTE);
    ck_assert (!ht_record_batch (records [0], NULL, NULL));
    data = ht_record_fixture_encode (records [0], &size);
    ck_assert_mem_eq (data + size - 3, "\xa1\x76\x02", 3);
    ck_assert_int_eq (ht_record_verify (records [0], NULL), 0);
    uint8_t root [32];
    ck_assert_int_eq (ht_record_batch_root (records [0], root), HT_EINVAL);
    free (data);
    //  A setter unsigns a batch-signed record like any other
    ht_record_set_hlc (records [1], ht_record_hlc (records [1]) + 1);
    ck_assert (!ht_record_is_signed (records [1]));
    ck_assert_int_eq (ht_record_verify (records [1], NULL), HT_EBADSIG);
    s_destroy_all (&records, 2);
}
END_TEST

START_TEST (a_redacted_batch_signed_record_keeps_its_proof_and_verifies)
{
    ht_record_t **records = s_signed_batch (5, S_KEY_BYTE);
    for (size_t index = 0; index < 5; index++) {
        ht_record_t *redacted = ht_record_fixture_redact_name_status (records [index]);
        ck_assert_int_eq (ht_record_set_mask (redacted, "id_no", "441802********0317"), 0);
        ck_assert (!ht_record_is_full (redacted));
        size_t at, size;
        ck_assert (ht_record_batch (redacted, &at, &size));
        ck_assert_uint_eq (at, index);
        const char *reason = NULL;
        ck_assert_int_eq (ht_record_verify (redacted, &reason), 0);
        uint8_t *data = ht_record_fixture_encode (redacted, &size);
        ht_record_t *decoded = ht_record_fixture_decode (data, size);
        ck_assert_int_eq (ht_record_verify (decoded, &reason), 0);
        ht_record_destroy (&decoded);
        decoded = ht_record_fixture_from_json (ht_record_to_json (redacted));
        ck_assert_int_eq (ht_record_verify (decoded, &reason), 0);
        //  A redacted record cannot be signed again, alone or in a batch
        ck_assert_int_eq (ht_record_sign_batch (&decoded, 1, NULL), HT_EREDACTED);
        ht_record_destroy (&decoded);
        free (data);
        ht_record_destroy (&redacted);
    }
    s_destroy_all (&records, 5);
}
END_TEST

//  --------------------------------------------------------------------------
//  Tampering, through the JSON form

static json_t *
s_json_of (const ht_record_t *record)
{
    return ht_record_to_json (record);
}

static json_t *
s_batch_of (json_t *json)
{
    return json_object_get (json, "batch");
}

START_TEST (changing_a_record_or_any_part_of_its_proof_or_signature_fails)
{
    ht_record_t **records = s_signed_batch (6, S_KEY_BYTE);
    //  Record 2 of 6: path of 3 (sibling 3, node 0-1, node 4-5)
    json_t *json = s_json_of (records [2]);
    ck_assert_int_eq (ht_record_fixture_verify_json (json_deep_copy (json)), 0);

    json_t *copy = json_deep_copy (json);
    json_object_set_new (json_object_get (copy, "fields"), "name", json_string ("王五"));
    ck_assert_int_eq (ht_record_fixture_verify_json (copy), HT_EBADSIG);

    json_t *path = json_object_get (s_batch_of (json), "path");
    ck_assert_uint_eq (json_array_size (path), 3);
    for (size_t step = 0; step < 3; step++)
        for (size_t position = 0; position < 64; position += 21) {
            copy = json_deep_copy (json);
            json_t *copy_path = json_object_get (s_batch_of (copy), "path");
            char *hex = strdup (json_string_value (json_array_get (copy_path, step)));
            hex [position] = hex [position] == '0'? '1': '0';
            json_array_set_new (copy_path, step, json_string (hex));
            free (hex);
            ck_assert_int_eq (ht_record_fixture_verify_json (copy), HT_EBADSIG);
        }
    //  Another index with a path of the same length (3 of 6 has 3 too)
    copy = json_deep_copy (json);
    json_object_set_new (s_batch_of (copy), "index", json_integer (3));
    ck_assert_int_eq (ht_record_fixture_verify_json (copy), HT_EBADSIG);
    //  Another size with a path of the same length (2 of 5..8 has 3): the
    //  size is signed
    for (int size = 5; size <= 8; size++) {
        if (size == 6)
            continue;
        copy = json_deep_copy (json);
        json_object_set_new (s_batch_of (copy), "size", json_integer (size));
        ck_assert_int_eq (ht_record_fixture_verify_json (copy), HT_EBADSIG);
    }
    //  The signature, at both ends
    for (size_t position = 0; position < 128; position += 127) {
        copy = json_deep_copy (json);
        ht_record_fixture_flip_hex (copy, "sig", position);
        ck_assert_int_eq (ht_record_fixture_verify_json (copy), HT_EBADSIG);
    }
    //  Swapping two path elements
    copy = json_deep_copy (json);
    json_t *copy_path = json_object_get (s_batch_of (copy), "path");
    json_t *first = json_incref (json_array_get (copy_path, 0));
    json_array_set (copy_path, 0, json_array_get (copy_path, 1));
    json_array_set_new (copy_path, 1, first);
    ck_assert_int_eq (ht_record_fixture_verify_json (copy), HT_EBADSIG);
    //  The batch proof dropped: a plain record whose signature is the root's
    copy = json_deep_copy (json);
    json_object_del (copy, "batch");
    ck_assert_int_eq (ht_record_fixture_verify_json (copy), HT_EBADSIG);
    json_decref (json);

    //  A plain record given a batch proof does not verify either
    ht_record_fixture_sign (records [0], S_KEY_BYTE);
    json = s_json_of (records [0]);
    json_object_set (json, "batch", s_batch_of (copy = s_json_of (records [1])));
    ck_assert_int_eq (ht_record_fixture_verify_json (json), HT_EBADSIG);
    json_decref (copy);
    s_destroy_all (&records, 6);
}
END_TEST

START_TEST (a_proof_or_signature_moved_to_another_record_or_batch_fails)
{
    ht_record_t **first = s_signed_batch (4, S_KEY_BYTE);
    ht_record_t **second = s_signed_batch (4, S_KEY_BYTE);
    for (size_t index = 0; index < 4; index++) {
        //  Record of the first batch, proof and signature of the second's
        //  record at the same place (same author, same shape)
        json_t *json = s_json_of (first [index]);
        json_t *other = s_json_of (second [index]);
        json_object_set (json, "batch", s_batch_of (other));
        json_object_set (json, "sig", json_object_get (other, "sig"));
        ck_assert_int_eq (ht_record_fixture_verify_json (json), HT_EBADSIG);
        //  Only the signature of the other batch
        json = s_json_of (first [index]);
        json_object_set (json, "sig", json_object_get (other, "sig"));
        ck_assert_int_eq (ht_record_fixture_verify_json (json), HT_EBADSIG);
        //  Another record's proof within the same batch
        json = s_json_of (first [index]);
        json_t *neighbour = s_json_of (first [(index + 1) % 4]);
        json_object_set (json, "batch", s_batch_of (neighbour));
        ck_assert_int_eq (ht_record_fixture_verify_json (json), HT_EBADSIG);
        json_decref (neighbour);
        json_decref (other);
    }
    //  The same batch signed by another key: the author is the key
    ht_record_t **third = s_signed_batch (4, 0x43);
    json_t *json = s_json_of (third [0]);
    json_t *ours = s_json_of (first [0]);
    json_object_set (json, "author", json_object_get (ours, "author"));
    ck_assert_int_eq (ht_record_fixture_verify_json (json), HT_EBADSIG);
    json_decref (ours);
    s_destroy_all (&first, 4);
    s_destroy_all (&second, 4);
    s_destroy_all (&third, 4);
}
END_TEST

//  --------------------------------------------------------------------------
//  Hostile bytes: the proof's shape is checked when decoding

typedef struct {
    uint64_t index, size;           //  what to write
    size_t path;                    //  path elements to write
} s_proof_t;

static s_proof_t s_bad_proof;

static void
s_pack_bad_proof (msgpack_packer *packer, const msgpack_object *old)
{
    (void) old;
    msgpack_pack_array (packer, 3);
    msgpack_pack_uint64 (packer, s_bad_proof.index);
    msgpack_pack_uint64 (packer, s_bad_proof.size);
    msgpack_pack_array (packer, s_bad_proof.path);
    uint8_t hash [32] = { 0 };
    for (size_t step = 0; step < s_bad_proof.path; step++)
        ht_pack_bin (packer, hash, 32);
}

static void
s_pack_v2 (msgpack_packer *packer, const msgpack_object *old)
{
    (void) old;
    msgpack_pack_uint8 (packer, 2);
}

START_TEST (a_proof_of_the_wrong_shape_or_form_is_refused_as_malformed)
{
    ht_record_t **records = s_signed_batch (6, S_KEY_BYTE);
    size_t size, bad_size;
    uint8_t *data = ht_record_fixture_encode (records [2], &size);
    static const s_proof_t cases [] = {
        { 2, 6, 2 }, { 2, 6, 4 }, { 6, 6, 3 }, { 0, 0, 0 }, { 0, 65537, 17 },
    };
    for (size_t which = 0; which < sizeof cases / sizeof cases [0]; which++) {
        s_bad_proof = cases [which];
        uint8_t *bad = ht_record_fixture_rewrite (data, size, "b", s_pack_bad_proof, NULL,
                                                  &bad_size);
        ht_record_fixture_assert_refused (bad, bad_size, HT_EMALFORMED);
        free (bad);
    }
    //  Format 2 with a proof, format 3 without
    uint8_t *bad = ht_record_fixture_rewrite (data, size, "v", s_pack_v2, NULL, &bad_size);
    ht_record_fixture_assert_refused (bad, bad_size, HT_EMALFORMED);
    free (bad);
    free (data);
    ht_record_fixture_sign (records [0], S_KEY_BYTE);
    data = ht_record_fixture_encode (records [0], &size);
    //  Rewrite v to 3 on a plain record: no b
    ck_assert_mem_eq (data + size - 3, "\xa1\x76\x02", 3);
    data [size - 1] = 3;
    ht_record_fixture_assert_refused (data, size, HT_EMALFORMED);
    data [size - 1] = 4;
    ht_record_fixture_assert_refused (data, size, HT_EVERSION);
    free (data);
    s_destroy_all (&records, 6);
}
END_TEST

//  --------------------------------------------------------------------------
//  One check per root

START_TEST (a_verifier_checks_each_distinct_root_once_in_a_mixed_set)
{
    //  Three batches (1000, 7, 1) and five plain records, interleaved
    size_t sizes [3] = { 1000, 7, 1 };
    ht_record_t **batches [3];
    for (int which = 0; which < 3; which++)
        batches [which] = s_signed_batch (sizes [which], S_KEY_BYTE);
    ht_record_t **plain = s_drafts (5);
    for (int index = 0; index < 5; index++)
        ht_record_fixture_sign (plain [index], 0x43);
    size_t total = 1000 + 7 + 1 + 5;
    ht_record_t **all = calloc (total, sizeof *all);
    size_t at = 0, cursor [3] = { 0 };
    for (size_t round = 0; at < total; round++) {
        for (int which = 0; which < 3; which++)
            if (cursor [which] < sizes [which])
                all [at++] = ht_record_dup (batches [which] [cursor [which]++]);
        if (round < 5)
            all [at++] = ht_record_dup (plain [round]);
    }
    ck_assert_uint_eq (at, total);
    int *results = calloc (total, sizeof (int));
    const char **reasons = calloc (total, sizeof (char *));
    ht_record_roots_t *roots = ht_record_roots_new (8);
    ck_assert_uint_eq (ht_record_verify_all ((const ht_record_t *const *) all, total, roots,
                                             results, reasons), 0);
    ck_assert_uint_eq (ht_record_roots_checks (roots), 3 + 5);
    for (size_t index = 0; index < total; index++)
        ck_assert_int_eq (results [index], 0);
    //  Again: the roots are remembered, plain records are checked again
    ck_assert_uint_eq (ht_record_verify_all ((const ht_record_t *const *) all, total, roots,
                                             NULL, NULL), 0);
    ck_assert_uint_eq (ht_record_roots_checks (roots), 3 + 5 + 5);
    ht_record_roots_destroy (&roots);

    //  A forged signature on one record of the big batch: that record
    //  fails, alone, and costs one more check; the good root stays good
    json_t *json = s_json_of (all [30]);
    ht_record_fixture_flip_hex (json, "sig", 3);
    ht_record_destroy (&all [30]);
    all [30] = ht_record_fixture_from_json (json);
    roots = ht_record_roots_new (8);
    ck_assert_uint_eq (ht_record_verify_all ((const ht_record_t *const *) all, total, roots,
                                             results, reasons), 1);
    ck_assert_uint_eq (ht_record_roots_checks (roots), 3 + 5 + 1);
    for (size_t index = 0; index < total; index++)
        ck_assert_int_eq (results [index], index == 30? HT_EBADSIG: 0);
    ck_assert_ptr_nonnull (strstr (reasons [30], "batch"));
    ht_record_roots_destroy (&roots);
    ht_record_roots_destroy (&roots);       //  safe twice

    //  Without a cache of the caller's, verify_all uses its own
    ck_assert_uint_eq (ht_record_verify_all ((const ht_record_t *const *) all, total, NULL,
                                             NULL, NULL), 1);
    for (size_t index = 0; index < total; index++)
        ht_record_destroy (&all [index]);
    free (all);
    free (results);
    free (reasons);
    for (int which = 0; which < 3; which++)
        s_destroy_all (&batches [which], sizes [which]);
    s_destroy_all (&plain, 5);
}
END_TEST

typedef struct {
    ht_record_t **records;          //  this thread's records
    size_t count;                   //  how many
    ht_record_roots_t *roots;       //  shared
    size_t failed;                  //  records that did not verify
} s_worker_t;

static void *
s_worker (void *arg)
{
    s_worker_t *worker = (s_worker_t *) arg;
    for (size_t index = 0; index < worker->count; index++)
        if (ht_record_verify_with (worker->records [index], worker->roots, NULL))
            worker->failed++;
    return NULL;
}

START_TEST (threads_sharing_a_cache_check_a_root_once_between_them)
{
    //  Two batches, interleaved, in four shares of 200: every thread meets
    //  both roots
    ht_record_t **first = s_signed_batch (400, S_KEY_BYTE);
    ht_record_t **second = s_signed_batch (400, 0x43);
    ht_record_t *all [800];
    for (size_t index = 0; index < 400; index++) {
        all [2 * index] = first [index];
        all [2 * index + 1] = second [index];
    }
    for (int round = 0; round < 5; round++) {
        ht_record_roots_t *roots = ht_record_roots_new (8);
        pthread_t threads [S_THREADS];
        s_worker_t workers [S_THREADS];
        for (int t = 0; t < S_THREADS; t++) {
            workers [t] = (s_worker_t) { all + t * 200, 200, roots, 0 };
            ck_assert_int_eq (pthread_create (&threads [t], NULL, s_worker, &workers [t]), 0);
        }
        for (int t = 0; t < S_THREADS; t++) {
            pthread_join (threads [t], NULL);
            ck_assert_uint_eq (workers [t].failed, 0);
        }
        ck_assert_uint_eq (ht_record_roots_checks (roots), 2);
        ht_record_roots_destroy (&roots);
    }
    s_destroy_all (&first, 400);
    s_destroy_all (&second, 400);
}
END_TEST

START_TEST (a_full_cache_forgets_old_roots_but_stays_right)
{
    //  Twenty batches of 2 through a cache of 8: every root is checked once
    //  as long as it is remembered, and verdicts stay right after eviction
    ht_record_roots_t *roots = ht_record_roots_new (1);     //  raised to 8
    ht_record_t **batches [20];
    for (int which = 0; which < 20; which++) {
        batches [which] = s_signed_batch (2, S_KEY_BYTE);
        ck_assert_int_eq (ht_record_verify_with (batches [which] [0], roots, NULL), 0);
        ck_assert_int_eq (ht_record_verify_with (batches [which] [1], roots, NULL), 0);
    }
    ck_assert_uint_eq (ht_record_roots_checks (roots), 20);
    ck_assert_int_eq (ht_record_verify_with (batches [0] [0], roots, NULL), 0);
    ck_assert_uint_eq (ht_record_roots_checks (roots), 21);        //  forgotten
    ck_assert_int_eq (ht_record_verify_with (batches [19] [0], roots, NULL), 0);
    ck_assert_uint_eq (ht_record_roots_checks (roots), 21);        //  remembered
    for (int which = 0; which < 20; which++)
        s_destroy_all (&batches [which], 2);
    ht_record_roots_destroy (&roots);
}
END_TEST

//  --------------------------------------------------------------------------
//  The store: records signed in a batch elsewhere arrive as bytes

START_TEST (a_store_applies_batch_signed_records_and_quarantines_a_forged_one)
{
    ht_fixture_t *fixture = ht_fixture_new ();
    char dir [HT_FIXTURE_DIR_CHARS];
    ht_store_t *store = ht_fixture_store_new (fixture, HT_FIXTURE_COUNTY, 0, dir);
    ht_fixture_apply_certs (fixture, store);
    enum { COUNT = 300 };
    ht_record_t *records [COUNT];
    for (unsigned index = 0; index < COUNT; index++) {
        char id [19];
        records [index] = ht_fixture_elder_draft (
            ht_fixture_citizen_id (index, id), "王五", HT_FIXTURE_COMMUNITY_A,
            HT_FIXTURE_COMMUNITY_A, fixture->idkey, ht_fixture_hlc (1, (uint16_t) index));
    }
    ck_assert_int_eq (ht_record_sign_batch (records, COUNT,
                      fixture->keys [HT_FIXTURE_COMMUNITY_A_KEY]), 0);
    uint8_t *data [COUNT];
    size_t sizes [COUNT];
    for (unsigned index = 0; index < COUNT; index++)
        data [index] = ht_record_fixture_encode (records [index], &sizes [index]);
    //  One path element changed on the wire: that record alone is refused
    //  b = [77 (4d), 300 (cd 01 2c), array header, c4 20 hash ...]
    uint8_t *path = memmem (data [77], sizes [77], "\xa1\x62\x93\x4d\xcd\x01\x2c", 7);
    ck_assert_ptr_nonnull (path);
    path += 7 + 1;
    ck_assert_mem_eq (path, "\xc4\x20", 2);
    path [2 + 5] ^= 0x01;
    int results [COUNT];
    ht_apply_stats_t stats;
    ck_assert_int_eq (ht_store_apply_encoded (store, (const uint8_t *const *) data, sizes,
                                              COUNT, NULL, &stats, results), 0);
    for (unsigned index = 0; index < COUNT; index++)
        ck_assert_int_eq (results [index], index == 77? HT_EBADSIG: 0);
    ck_assert_uint_eq (stats.applied, COUNT - 1);
    ck_assert_uint_eq (stats.quarantined, 1);
    ck_assert_uint_eq (ht_store_count (store, "elder"), COUNT - 1);
    //  What the store gives back is the batch-signed record, byte for byte
    ht_record_t *stored = ht_store_get (store, "elder", ht_record_key (records [5]), NULL);
    ck_assert_ptr_nonnull (stored);
    size_t stored_size;
    uint8_t *stored_data = ht_record_fixture_encode (stored, &stored_size);
    ck_assert_uint_eq (stored_size, sizes [5]);
    ck_assert_mem_eq (stored_data, data [5], sizes [5]);
    free (stored_data);
    ht_record_destroy (&stored);
    for (unsigned index = 0; index < COUNT; index++) {
        free (data [index]);
        ht_record_destroy (&records [index]);
    }
    ht_fixture_store_destroy (&store, dir);
    ht_fixture_destroy (&fixture);
}
END_TEST

//  --------------------------------------------------------------------------
//  Size on the wire

//  Bytes of a msgpack uint
static size_t
s_uint_bytes (uint64_t value)
{
    return value < 128? 1: value < 256? 2: value < 65536? 3: 5;
}

START_TEST (a_batch_proof_adds_a_known_number_of_bytes)
{
    static const size_t sizes [] = { 2, 3, 16, 32, 100, 1000, 4096 };
    for (size_t which = 0; which < sizeof sizes / sizeof sizes [0]; which++) {
        size_t count = sizes [which];
        ht_record_t **records = s_signed_batch (count, S_KEY_BYTE);
        size_t longest = 0, sum = 0;
        for (size_t index = 0; index < count; index++) {
            size_t batch_size, plain_size;
            uint8_t *data = ht_record_fixture_encode (records [index], &batch_size);
            free (data);
            ht_record_t *plain = ht_record_dup (records [index]);
            ht_record_fixture_sign (plain, S_KEY_BYTE);
            data = ht_record_fixture_encode (plain, &plain_size);
            free (data);
            ht_record_destroy (&plain);
            json_t *json = ht_record_to_json (records [index]);
            size_t path = json_array_size (json_object_get (json_object_get (json, "batch"),
                                                            "path"));
            json_decref (json);
            //  "b" (2), fixarray 3 (1), index, size, path header, 34 a hash
            size_t expected = 2 + 1 + s_uint_bytes (index) + s_uint_bytes (count)
                            + (path < 16? 1: 3) + 34 * path;
            ck_assert_uint_eq (batch_size - plain_size, expected);
            longest = path > longest? path: longest;
            sum += batch_size - plain_size;
        }
        printf ("batch of %4zu: path up to %2zu hashes, %.1f bytes added per record "
                "on average\n", count, longest, (double) sum / (double) count);
        s_destroy_all (&records, count);
    }
}
END_TEST

//  --------------------------------------------------------------------------
//  The pinned vectors

static json_t *
s_hex_json (const uint8_t *data, size_t size)
{
    char hex [2 * 64 + 1];
    ck_assert_uint_le (size, 64);
    return json_string (ht_hex_encode (data, size, hex));
}

//  Write a fresh vector set: three elders in a batch, key seed 0x42
static void
s_write_vectors (const char *path)
{
    ht_record_t **records = s_signed_batch (3, S_KEY_BYTE);
    json_t *list = json_array ();
    for (size_t index = 0; index < 3; index++)
        json_array_append_new (list, ht_record_to_json (records [index]));
    ht_record_t *redacted = ht_record_fixture_redact_name_status (records [1]);
    uint8_t digest [32], root [32];
    ck_assert_int_eq (ht_record_digest (records [0], digest), 0);
    ck_assert_int_eq (ht_record_batch_root (records [0], root), 0);
    uint8_t seed [32];
    memset (seed, S_KEY_BYTE, sizeof seed);
    json_t *vectors = json_pack ("{s:o, s:o, s:o, s:o}",
        "key_seed", s_hex_json (seed, 32), "records", list,
        "root", s_hex_json (root, 32), "redacted", ht_record_to_json (redacted));
    ck_assert_int_eq (json_dump_file (vectors, path, JSON_INDENT (1) | JSON_SORT_KEYS), 0);
    json_decref (vectors);
    ht_record_destroy (&redacted);
    s_destroy_all (&records, 3);
}

static const char *
s_hex_at (const json_t *array, size_t index)
{
    const char *hex = json_string_value (json_array_get (array, index));
    ck_assert_ptr_nonnull (hex);
    return hex;
}

//  Check a vector file: every record verifies alone; digests, leaves,
//  nodes, root, paths, message and signature are what the RFC tree and
//  Ed25519 with the key seed give, and what the file pins
static void
s_check_vectors (const char *path)
{
    json_error_t error;
    json_t *vectors = json_load_file (path, 0, &error);
    ck_assert_msg (vectors != NULL, "%s: %s", path, error.text);
    uint8_t seed [32];
    ck_assert_int_eq (ht_hex_decode (json_string_value (json_object_get (vectors, "key_seed")),
                                     seed, 32), 0);
    ht_keypair_t *key = ht_keypair_from_seed (seed, "vectors");
    json_t *list = json_object_get (vectors, "records");
    ck_assert_uint_eq (json_array_size (list), 3);
    ht_record_t *records [3];
    uint8_t digests [3][32], leaves [3][32], node01 [32], root [32];
    for (size_t index = 0; index < 3; index++) {
        records [index] = ht_record_fixture_from_json (json_incref (json_array_get (list, index)));
        ck_assert_int_eq (ht_record_verify (records [index], NULL), 0);
        ck_assert_int_eq (ht_record_validate (records [index], NULL), 0);
        ck_assert_mem_eq (ht_record_author (records [index]), ht_keypair_public (key), 32);
        ck_assert_int_eq (ht_record_digest (records [index], digests [index]), 0);
        s_rfc_leaf (digests [index], leaves [index]);
    }
    s_rfc_node (leaves [0], leaves [1], node01);
    s_rfc_node (node01, leaves [2], root);
    char hex [65];
    ck_assert_str_eq (json_string_value (json_object_get (vectors, "root")),
                      ht_hex_encode (root, 32, hex));
    //  The paths of a tree of 3: [leaf 1, leaf 2], [leaf 0, leaf 2], [node 0-1]
    const uint8_t *paths [3][2] = {
        { leaves [1], leaves [2] }, { leaves [0], leaves [2] }, { node01, NULL } };
    uint8_t message [57], sig [64];
    s_message (3, root, message);
    crypto_sign_detached (sig, NULL, message, sizeof message, ht_keypair_secret (key));
    for (size_t index = 0; index < 3; index++) {
        json_t *batch = json_object_get (json_array_get (list, index), "batch");
        ck_assert_int_eq (json_integer_value (json_object_get (batch, "index")), (json_int_t) index);
        ck_assert_int_eq (json_integer_value (json_object_get (batch, "size")), 3);
        json_t *path_json = json_object_get (batch, "path");
        ck_assert_uint_eq (json_array_size (path_json), index < 2? 2: 1);
        for (size_t step = 0; step < json_array_size (path_json); step++)
            ck_assert_str_eq (s_hex_at (path_json, step), ht_hex_encode (paths [index][step], 32, hex));
        char sig_hex [129];
        ck_assert_str_eq (json_string_value (json_object_get (json_array_get (list, index), "sig")),
                          ht_hex_encode (sig, 64, sig_hex));
    }
    //  The redacted form of record 1 verifies, and has record 1's digest
    ht_record_t *redacted = ht_record_fixture_from_json (
        json_incref (json_object_get (vectors, "redacted")));
    ck_assert (!ht_record_is_full (redacted));
    ck_assert_int_eq (ht_record_verify (redacted, NULL), 0);
    uint8_t digest [32];
    ck_assert_int_eq (ht_record_digest (redacted, digest), 0);
    ck_assert_mem_eq (digest, digests [1], 32);
    ht_record_destroy (&redacted);
    for (size_t index = 0; index < 3; index++)
        ht_record_destroy (&records [index]);
    ht_keypair_destroy (&key);
    json_decref (vectors);
}

START_TEST (a_fresh_vector_set_checks_out)
{
    char dir [HT_FIXTURE_DIR_CHARS], path [HT_FIXTURE_DIR_CHARS + 16];
    ht_fixture_tempdir (dir);
    snprintf (path, sizeof path, "%s/vectors.json", dir);
    const char *wanted = getenv ("HT_BATCH_VECTORS_WRITE");
    s_write_vectors (wanted? wanted: path);
    s_check_vectors (wanted? wanted: path);
    ht_fixture_rmrf (dir);
}
END_TEST

START_TEST (the_pinned_vectors_check_out_and_are_the_ones_records_md_shows)
{
    s_check_vectors (S_VECTORS);
    //  docs/records.md quotes the root, every path hash and the signature
    json_error_t error;
    json_t *vectors = json_load_file (S_VECTORS, 0, &error);
    FILE *doc = fopen (S_RECORDS_DOC, "r");
    ck_assert_ptr_nonnull (doc);
    char *text = calloc (1, 1 << 20);
    size_t got = fread (text, 1, (1 << 20) - 1, doc);
    fclose (doc);
    ck_assert_uint_gt (got, 0);
    ck_assert_ptr_nonnull (strstr (text, json_string_value (json_object_get (vectors, "root"))));
    json_t *list = json_object_get (vectors, "records");
    for (size_t index = 0; index < 3; index++) {
        json_t *record = json_array_get (list, index);
        ck_assert_ptr_nonnull (strstr (text, json_string_value (json_object_get (record, "sig"))));
        json_t *path = json_object_get (json_object_get (record, "batch"), "path");
        for (size_t step = 0; step < json_array_size (path); step++)
            ck_assert_msg (strstr (text, s_hex_at (path, step)), "records.md lacks path %zu.%zu",
                           index, step);
    }
    free (text);
    json_decref (vectors);
}
END_TEST

static Suite *
record_batch_suite (void)
{
    Suite *suite = suite_create ("ht_record_batch");
    TCase *tc = tcase_create ("batch");
    tcase_add_checked_fixture (tc, ht_record_fixture_setup, NULL);
    tcase_set_timeout (tc, 120);
    tcase_add_test (tc, batches_of_every_shape_match_the_rfc_tree_and_verify_alone);
    tcase_add_test (tc, a_batch_signed_record_is_format_3_and_a_plain_one_stays_format_2);
    tcase_add_test (tc, a_redacted_batch_signed_record_keeps_its_proof_and_verifies);
    tcase_add_test (tc, changing_a_record_or_any_part_of_its_proof_or_signature_fails);
    tcase_add_test (tc, a_proof_or_signature_moved_to_another_record_or_batch_fails);
    tcase_add_test (tc, a_proof_of_the_wrong_shape_or_form_is_refused_as_malformed);
    tcase_add_test (tc, a_verifier_checks_each_distinct_root_once_in_a_mixed_set);
    tcase_add_test (tc, threads_sharing_a_cache_check_a_root_once_between_them);
    tcase_add_test (tc, a_full_cache_forgets_old_roots_but_stays_right);
    tcase_add_test (tc, a_store_applies_batch_signed_records_and_quarantines_a_forged_one);
    tcase_add_test (tc, a_batch_proof_adds_a_known_number_of_bytes);
    tcase_add_test (tc, a_fresh_vector_set_checks_out);
    tcase_add_test (tc, the_pinned_vectors_check_out_and_are_the_ones_records_md_shows);
    suite_add_tcase (suite, tc);
    return suite;
}

HT_TEST_MAIN (record_batch_suite)

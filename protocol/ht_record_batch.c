//  ht_record_batch: batch signatures. An author writing many records signs
//  one Ed25519 signature over the root of a Merkle tree of their record
//  digests, built as Certificate Transparency builds its log (RFC 9162
//  §2.1, with BLAKE2b-256 for SHA-256):
//
//    leaf  = BLAKE2b-256 (0x00 || record digest)
//    node  = BLAKE2b-256 (0x01 || left || right)
//    MTH (D [0:1]) = leaf (D [0]);  MTH (D [0:n]) = node (MTH (D [0:k]),
//    MTH (D [k:n])) with k the largest power of two below n
//    message = "hutong batch root" || be64 (n) || root   (57 bytes)
//
//  Each record carries its leaf index, n and its audit path (siblings,
//  leaf to root), so it verifies alone. The leaf is the record digest,
//  which redaction keeps, so a redacted record keeps its proof. The record
//  header says format 3, so the digest of a batch-signed record differs
//  from the plain one's and neither signature passes for the other.
//
//  Checking a root's signature is the costly part (Ed25519, ~35 µs);
//  hashing a path of log2 (n) nodes is not. ht_record_roots_t remembers
//  checked roots so a batch costs one Ed25519 verification per root.
#include <czmq.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include "ht_codec.h"
#include "ht_keys.h"
#include "ht_record_private.h"

#define S_LEAF_PREFIX 0x00          //  RFC 9162: leaf hash input
#define S_NODE_PREFIX 0x01          //  RFC 9162: interior node input
#define S_TAG_BYTES (sizeof HT_BATCH_TAG - 1)
#define S_SIZE_BYTES 8              //  the batch size, big-endian
#define S_MESSAGE_BYTES (S_TAG_BYTES + S_SIZE_BYTES + HT_DIGEST_BYTES)
#define S_ROOTS_MIN 8               //  a cache holds at least this many
#define S_ROOTS_DEFAULT 64          //  ht_record_verify_all's own cache

//  --------------------------------------------------------------------------
//  The tree

static void
s_leaf (const uint8_t digest [HT_DIGEST_BYTES], uint8_t leaf [HT_DIGEST_BYTES])
{
    static const uint8_t prefix = S_LEAF_PREFIX;
    crypto_generichash_state state;
    crypto_generichash_init (&state, NULL, 0, HT_DIGEST_BYTES);
    crypto_generichash_update (&state, &prefix, 1);
    crypto_generichash_update (&state, digest, HT_DIGEST_BYTES);
    crypto_generichash_final (&state, leaf, HT_DIGEST_BYTES);
}

//  out may be left or right: both are read before out is written
static void
s_node (const uint8_t *left, const uint8_t *right, uint8_t out [HT_DIGEST_BYTES])
{
    static const uint8_t prefix = S_NODE_PREFIX;
    crypto_generichash_state state;
    crypto_generichash_init (&state, NULL, 0, HT_DIGEST_BYTES);
    crypto_generichash_update (&state, &prefix, 1);
    crypto_generichash_update (&state, left, HT_DIGEST_BYTES);
    crypto_generichash_update (&state, right, HT_DIGEST_BYTES);
    crypto_generichash_final (&state, out, HT_DIGEST_BYTES);
}

//  The largest power of two below count (count > 1)
static size_t
s_split (size_t count)
{
    size_t split = 1;
    while (split * 2 < count)
        split *= 2;
    return split;
}

//  MTH of count leaves into root, appending to each record's audit path
//  the sibling at this level: inner levels append first, so every path
//  runs from the leaf up (RFC 9162 §2.1.3.1)
static void
s_tree (ht_record_t *const *records, const uint8_t (*leaves) [HT_DIGEST_BYTES],
        size_t count, uint8_t root [HT_DIGEST_BYTES])
{
    if (count == 1) {
        memcpy (root, leaves [0], HT_DIGEST_BYTES);
        return;
    }
    size_t split = s_split (count);
    uint8_t left [HT_DIGEST_BYTES], right [HT_DIGEST_BYTES];
    s_tree (records, leaves, split, left);
    s_tree (records + split, leaves + split, count - split, right);
    for (size_t index = 0; index < count; index++) {
        ht_record_t *record = records [index];
        assert (record->batch_path_count < HT_BATCH_MAX_PATH);
        memcpy (record->batch_path [record->batch_path_count++],
                index < split? right: left, HT_DIGEST_BYTES);
    }
    s_node (left, right, root);
}

size_t
ht_record__batch_path_length (uint64_t index, uint64_t size)
{
    //  The walk of s_proof_root, without the hashing
    size_t length = 0;
    for (uint64_t fn = index, sn = size - 1; sn; fn >>= 1, sn >>= 1, length++)
        if (fn == sn && !(fn & 1))
            while (fn && !(fn & 1)) {
                fn >>= 1;
                sn >>= 1;
            }
    return length;
}

//  The root an audit path leads to from a leaf (RFC 9162 §2.1.3.2); false
//  if the path does not fit the index and size
static bool
s_proof_root (const ht_record_t *self, const uint8_t digest [HT_DIGEST_BYTES],
              uint8_t root [HT_DIGEST_BYTES])
{
    if (self->batch_size == 0 || self->batch_index >= self->batch_size)
        return false;
    uint64_t fn = self->batch_index, sn = self->batch_size - 1;
    s_leaf (digest, root);
    for (size_t step = 0; step < self->batch_path_count; step++) {
        const uint8_t *sibling = self->batch_path [step];
        if (sn == 0)
            return false;           //  more path than the tree is high
        if ((fn & 1) || fn == sn) {
            s_node (sibling, root, root);
            while (fn && !(fn & 1)) {
                fn >>= 1;
                sn >>= 1;
            }
        }
        else
            s_node (root, sibling, root);
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0;
}

//  What the author signs: the tag, the batch size and the root. The size
//  is signed so that no other (index, size) can reuse a proof.
static void
s_message (uint64_t size, const uint8_t root [HT_DIGEST_BYTES], uint8_t message [S_MESSAGE_BYTES])
{
    memcpy (message, HT_BATCH_TAG, S_TAG_BYTES);
    ht_be_put (message + S_TAG_BYTES, size, S_SIZE_BYTES);
    memcpy (message + S_TAG_BYTES + S_SIZE_BYTES, root, HT_DIGEST_BYTES);
}

//  --------------------------------------------------------------------------
//  Signing

//  Undo a failed batch: nothing stays signed or half-proven
static void
s_unsign (ht_record_t *const *records, size_t count)
{
    for (size_t index = 0; index < count; index++) {
        ht_record_t *record = records [index];
        record->batch_size = record->batch_index = record->batch_path_count = 0;
        ht_record__changed (record);
    }
}

int
ht_record_sign_batch (ht_record_t *const *records, size_t count, const ht_keypair_t *key)
{
    if (count == 0 || count > HT_BATCH_MAX_RECORDS)
        return HT_EINVAL;
    for (size_t index = 0; index < count; index++) {
        const ht_record_t *record = records [index];
        if (record->is_signed && !record->has_seed)
            return HT_EREDACTED;
        for (size_t field = 0; field < record->kind->field_count; field++)
            if (record->fields [field].state == HT_FIELD_WITHHELD)
                return HT_EREDACTED;
    }
    uint8_t (*leaves) [HT_DIGEST_BYTES] = malloc (count * HT_DIGEST_BYTES);
    if (!leaves)
        return HT_ENOMEM;
    int rc = HT_OK;
    for (size_t index = 0; index < count && rc == HT_OK; index++) {
        ht_record_t *record = records [index];
        record->suite = HT_SUITE_ED25519_BLAKE2B;
        memcpy (record->author, ht_keypair_public (key), HT_PUBKEY_BYTES);
        randombytes_buf (record->seed, HT_SEED_BYTES);
        record->has_seed = true;
        //  The size goes in before the digest: it makes the header format 3
        record->batch_size = (uint32_t) count;
        record->batch_index = (uint32_t) index;
        record->batch_path_count = 0;
        record->digest_known = false;
        uint8_t digest [HT_DIGEST_BYTES];
        rc = ht_record_digest (record, digest);
        if (rc == HT_OK)
            s_leaf (digest, leaves [index]);
    }
    if (rc == HT_OK) {
        uint8_t root [HT_DIGEST_BYTES], message [S_MESSAGE_BYTES], sig [HT_SIG_BYTES];
        s_tree (records, (const uint8_t (*) [HT_DIGEST_BYTES]) leaves, count, root);
        s_message (count, root, message);
        crypto_sign_detached (sig, NULL, message, S_MESSAGE_BYTES, ht_keypair_secret (key));
        for (size_t index = 0; index < count; index++) {
            memcpy (records [index]->sig, sig, HT_SIG_BYTES);
            records [index]->is_signed = records [index]->signed_here = true;
        }
    }
    else
        s_unsign (records, count);
    free (leaves);
    return rc;
}

bool
ht_record_batch (const ht_record_t *self, size_t *index, size_t *size)
{
    if (index)
        *index = self->batch_index;
    if (size)
        *size = self->batch_size;
    return self->batch_size > 0;
}

int
ht_record_batch_root (const ht_record_t *self, uint8_t root [HT_DIGEST_BYTES])
{
    if (!self->batch_size)
        return HT_EINVAL;
    uint8_t digest [HT_DIGEST_BYTES];
    if (ht_record_digest (self, digest))
        return HT_EDIGEST;
    return s_proof_root (self, digest, root)? HT_OK: HT_EBADSIG;
}

//  --------------------------------------------------------------------------
//  The root cache. Threads of one store batch share it: the first to meet
//  a root marks it pending and checks it outside the lock, the others
//  wait for its verdict rather than check it again.

typedef enum { S_EMPTY, S_PENDING, S_GOOD, S_BAD } s_state_t;

typedef struct {
    uint8_t author [HT_PUBKEY_BYTES];   //  who signed the root
    uint8_t message [S_MESSAGE_BYTES];  //  tag, batch size, root
    uint8_t sig [HT_SIG_BYTES];         //  the signature checked
    s_state_t state;                    //  verdict, or being checked
} s_root_t;

struct _ht_record_roots_t {
    pthread_mutex_t lock;           //  guards entries and next
    pthread_cond_t settled;         //  a pending entry got its verdict
    atomic_uint_fast64_t checks;    //  Ed25519 verifications made
    size_t capacity;                //  entries
    size_t next;                    //  the next entry to reuse (a ring)
    s_root_t entries [];            //  remembered verdicts
};

ht_record_roots_t *
ht_record_roots_new (size_t capacity)
{
    if (capacity < S_ROOTS_MIN)
        capacity = S_ROOTS_MIN;
    ht_record_roots_t *self = calloc (1, sizeof *self + capacity * sizeof (s_root_t));
    if (!self)
        return NULL;
    pthread_mutex_init (&self->lock, NULL);
    pthread_cond_init (&self->settled, NULL);
    atomic_init (&self->checks, 0);
    self->capacity = capacity;
    return self;
}

void
ht_record_roots_destroy (ht_record_roots_t **self_p)
{
    assert (self_p);
    ht_record_roots_t *self = *self_p;
    if (!self)
        return;
    pthread_cond_destroy (&self->settled);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

uint64_t
ht_record_roots_checks (const ht_record_roots_t *self)
{
    return atomic_load (&((ht_record_roots_t *) self)->checks);
}

void
ht_record__roots_count (ht_record_roots_t *roots)
{
    if (roots)
        atomic_fetch_add (&roots->checks, 1);
}

//  The entry for this signature, or NULL; under the lock
static s_root_t *
s_roots_find (ht_record_roots_t *self, const s_root_t *wanted)
{
    for (size_t index = 0; index < self->capacity; index++) {
        s_root_t *entry = &self->entries [index];
        if (entry->state != S_EMPTY
        &&  memcmp (entry->message, wanted->message, S_MESSAGE_BYTES) == 0
        &&  memcmp (entry->author, wanted->author, HT_PUBKEY_BYTES) == 0
        &&  memcmp (entry->sig, wanted->sig, HT_SIG_BYTES) == 0)
            return entry;
    }
    return NULL;
}

//  An entry to reuse, never one being checked; NULL if all are (the
//  caller then checks without remembering). Under the lock.
static s_root_t *
s_roots_claim (ht_record_roots_t *self)
{
    for (size_t tries = 0; tries < self->capacity; tries++) {
        s_root_t *entry = &self->entries [self->next];
        self->next = (self->next + 1) % self->capacity;
        if (entry->state != S_PENDING)
            return entry;
    }
    return NULL;
}

static bool
s_ed25519 (ht_record_roots_t *roots, const s_root_t *root)
{
    ht_record__roots_count (roots);
    return crypto_sign_verify_detached (root->sig, root->message, S_MESSAGE_BYTES,
                                        root->author) == 0;
}

//  True if the root signature holds, asking and telling the cache
static bool
s_root_valid (ht_record_roots_t *self, const s_root_t *wanted)
{
    if (!self)
        return s_ed25519 (NULL, wanted);
    pthread_mutex_lock (&self->lock);
    s_root_t *entry;
    while ((entry = s_roots_find (self, wanted)) && entry->state == S_PENDING)
        pthread_cond_wait (&self->settled, &self->lock);
    if (entry) {
        bool valid = entry->state == S_GOOD;
        pthread_mutex_unlock (&self->lock);
        return valid;
    }
    entry = s_roots_claim (self);
    if (entry) {
        *entry = *wanted;
        entry->state = S_PENDING;
    }
    pthread_mutex_unlock (&self->lock);
    bool valid = s_ed25519 (self, wanted);
    if (entry) {
        pthread_mutex_lock (&self->lock);
        entry->state = valid? S_GOOD: S_BAD;
        pthread_cond_broadcast (&self->settled);
        pthread_mutex_unlock (&self->lock);
    }
    return valid;
}

int
ht_record__verify_batch (const ht_record_t *self, const uint8_t digest [HT_DIGEST_BYTES],
                         ht_record_roots_t *roots, const char **reason)
{
    s_root_t wanted;
    uint8_t root [HT_DIGEST_BYTES];
    if (!s_proof_root (self, digest, root)) {
        *reason = "batch proof does not fit its leaf index and batch size";
        return HT_EBADSIG;
    }
    memcpy (wanted.author, self->author, HT_PUBKEY_BYTES);
    s_message (self->batch_size, root, wanted.message);
    memcpy (wanted.sig, self->sig, HT_SIG_BYTES);
    wanted.state = S_EMPTY;
    if (!s_root_valid (roots, &wanted)) {
        *reason = "batch signature does not match the record's content, "
                  "batch proof and author";
        return HT_EBADSIG;
    }
    return HT_OK;
}

size_t
ht_record_verify_all (const ht_record_t *const *records, size_t count,
                      ht_record_roots_t *roots, int *results, const char **reasons)
{
    ht_record_roots_t *own = roots? NULL: ht_record_roots_new (S_ROOTS_DEFAULT);
    size_t failed = 0;
    for (size_t index = 0; index < count; index++) {
        const char *reason = NULL;
        int rc = ht_record_verify_with (records [index], roots? roots: own, &reason);
        if (rc)
            failed++;
        if (results)
            results [index] = rc;
        if (reasons)
            reasons [index] = reason;
    }
    ht_record_roots_destroy (&own);
    return failed;
}

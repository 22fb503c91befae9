//  ht_rotation: a child's candidate parent keys (see ht_rotation.h).
#include <czmq.h>
#include <sodium.h>
#include "ht_rotation.h"
#include "ht_cert.h"
#include "ht_gate.h"
#include "ht_hlc.h"

//  Node certificates for exactly one region, collected while listing
typedef struct {
    const char *region;                 //  the parent region
    uint8_t keys [HT_ROTATION_MAX_KEYS][HT_PUBKEY_BYTES];
    uint64_t hlcs [HT_ROTATION_MAX_KEYS];   //  their certificates' hlc
    size_t count;
} s_found_t;

//  Collect only: the gate reads the store, which it must not do inside
//  the listing's read transaction
static int
s_collect (void *arg, const ht_record_t *record, uint64_t seq)
{
    (void) seq;
    s_found_t *found = (s_found_t *) arg;
    ht_cert_t cert;
    if (ht_record_deleted (record) || ht_cert_parse (record, &cert) != HT_OK
    ||  cert.role != HT_ROLE_NODE || !streq (cert.region, found->region))
        return 0;
    //  Newest first: a parent that switched keys switched to its newest
    size_t at = found->count < HT_ROTATION_MAX_KEYS? found->count: HT_ROTATION_MAX_KEYS - 1;
    if (found->count == HT_ROTATION_MAX_KEYS
    &&  found->hlcs [at] >= ht_record_hlc (record))
        return 0;
    while (at > 0 && found->hlcs [at - 1] < ht_record_hlc (record)) {
        memcpy (found->keys [at], found->keys [at - 1], HT_PUBKEY_BYTES);
        found->hlcs [at] = found->hlcs [at - 1];
        at--;
    }
    memcpy (found->keys [at], cert.pubkey, HT_PUBKEY_BYTES);
    found->hlcs [at] = ht_record_hlc (record);
    if (found->count < HT_ROTATION_MAX_KEYS)
        found->count++;
    return 0;
}

size_t
ht_rotation_parent_keys (ht_store_t *store, const char *region,
                         const uint8_t pinned [HT_PUBKEY_BYTES], uint64_t now_ms,
                         uint8_t keys [][HT_PUBKEY_BYTES], size_t max)
{
    if (max == 0)
        return 0;
    memcpy (keys [0], pinned, HT_PUBKEY_BYTES);
    size_t count = 1;
    char parent [HT_REGION_BYTES];
    if (ht_region_parent (region, parent) != HT_OK)
        return count;
    s_found_t found = { .region = parent };
    if (ht_store_list (store, "cert", parent, NULL, 0, s_collect, &found) < 0)
        return count;
    ht_gate_t gate = ht_gate_of_store (store, region, now_ms);
    for (size_t index = 0; index < found.count && count < max; index++) {
        const char *reason = NULL;
        if (sodium_memcmp (found.keys [index], pinned, HT_PUBKEY_BYTES) != 0
        &&  ht_gate_admit_parent_successor (&gate, pinned, found.keys [index], &reason) == HT_OK)
            memcpy (keys [count++], found.keys [index], HT_PUBKEY_BYTES);
    }
    //  Once the rotation is over (the pinned key revoked or expired), a
    //  reconnect goes straight to the successor; a pin whose certificate
    //  is not held yet stays, as at a node's first start (C5)
    const char *reason = NULL;
    int pinned_rc = ht_gate_admit_key (&gate, HT_GATE_PARENT_LINK, pinned, NULL, NULL, &reason);
    if (count > 1 && pinned_rc != HT_OK && pinned_rc != HT_ENOCERT) {
        memmove (keys [0], keys [1], (count - 1) * HT_PUBKEY_BYTES);
        count--;
    }
    return count;
}

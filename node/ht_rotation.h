//  ht_rotation: which keys a child may take for its parent while the
//  parent rotates its key. The rule is the gate's
//  (ht_gate_admit_parent_successor); this module only finds the
//  certificates it is asked about, in the child's store, where they
//  arrive by replication before the parent switches keys.
#ifndef HT_ROTATION_H_INCLUDED
#define HT_ROTATION_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include "ht_error.h"
#include "ht_record.h"
#include "ht_store.h"

#define HT_ROTATION_MAX_KEYS 8      //  pinned key plus successors tried

//  The parent keys a node of region may connect to at now_ms: keys [0] is
//  pinned (config parent/key), then every key the gate admits as its
//  successor, newest certificate first, at most max in all; the pinned
//  key is left out once it is revoked or expired and a successor exists.
//  Returns the count (at least 1).
size_t ht_rotation_parent_keys (ht_store_t *store, const char *region,
                                const uint8_t pinned [HT_PUBKEY_BYTES], uint64_t now_ms,
                                uint8_t keys [][HT_PUBKEY_BYTES], size_t max);

#endif

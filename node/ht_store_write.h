//  ht_store_write: the write path's shared state, for the files that make
//  it up — ht_store_apply.c (batches: preparing items, admission, the one
//  write transaction, indexes and current versions), ht_store_merge.c
//  (the ownership rule over an entity's versions, history, conflict
//  flags and moves) and ht_store_quarantine.c (quarantine: bounded
//  writes, purge and retry). Not public; not for the read path.
#ifndef HT_STORE_WRITE_H_INCLUDED
#define HT_STORE_WRITE_H_INCLUDED

#include "ht_store_private.h"
#include "ht_gate.h"

//  One input of a batch, prepared once before the first attempt
typedef struct {
    ht_record_t *record;            //  the record; NULL if it did not decode
    bool owned;                     //  record was decoded here
    const uint8_t *data;            //  bytes as received, or NULL
    size_t size;                    //  their size
    uint8_t *encoded;               //  canonical encoding (owned) or NULL
    size_t encoded_size;            //  its size
    bool encoded_borrowed;          //  encoded points at data (not owned)
    bool from_bytes;                //  came as bytes: decode when preparing
    int error;                      //  decode or encode error, 0 if none
    const char *reason;             //  static text for error
    int verified;                   //  signature check: 0 valid, or error
    const char *verify_reason;      //  its reason
    bool validated;                 //  valid / valid_reason are set
    int valid;                      //  ht_record_validate: 0 or error
    const char *valid_reason;       //  its reason (in the record)
    const ht_registry_t *registry;  //  the kinds it decodes with (the store's)
    const uint8_t *qkey;            //  retried from quarantine: its entry's key
    size_t qkey_size;               //  its size
    size_t qsize;                   //  the entry's size
    bool held;                      //  these very bytes are stored already
                                    //  (so its signature was not checked)
    uint64_t unknown_at;            //  the store held no version of its
                                    //  entity at this snapshot (an LMDB
                                    //  transaction id), 0: not known
} ht_store_item_t;

//  The state of one attempt at a batch
typedef struct {
    ht_store_t *store;              //  the store written
    MDB_txn *txn;                   //  the batch's one write transaction
    const char *origin;             //  peer name, "" for local writes
    uint64_t now_ms;                //  wall clock when the batch began
    uint64_t last_seq;              //  highest sequence used so far
    uint64_t quarantine_id;         //  highest quarantine id used so far
    uint64_t quarantine_dropped;    //  entries dropped to keep the bounds
    int64_t *count_delta;           //  live records gained, per kind index
    size_t kind_count;              //  entries in count_delta
    ht_certsource_t source;         //  certs as this transaction sees them
    ht_gate_t gate;                 //  the admission gate, over source
    ht_gate_path_t path;            //  how these records reach us
    const char *qsource;            //  quarantine source label
    bool retry;                     //  retrying quarantined input: refusals
                                    //  stay where they are, no cursor moves
    int fatal;                      //  LMDB error met inside a callback
    ht_apply_stats_t stats;         //  what the batch did
    struct _s_prep_t *prep;         //  items still being prepared, or NULL
    zhashx_t *merged;               //  "kind/key" of each entity merged in
                                    //  this transaction (values unused)
} ht_store_batch_t;

//  ht_store_apply.c
//  Count a live record gained (+1) or lost (-1) in this batch
void ht_store__count_change (ht_store_batch_t *batch, const ht_record_t *record,
                             int64_t change);
//  Write item's record as the entity's current version at a new sequence,
//  retiring old_seq (0 if none) so the entity appears once in seq
int ht_store__current_put (ht_store_batch_t *batch, const ht_store_item_t *item,
                           const uint8_t *ekey, size_t ekey_size, uint64_t old_seq);
//  Prepare items (decode, encode, verify, validate) on the store's verifier threads
void ht_store__items_prepare (ht_store_t *self, ht_store_item_t *items, size_t count);
//  Free what preparing items allocated, and the array
void ht_store__items_destroy (ht_store_item_t *items, size_t count);
//  Apply prepared items in one transaction, growing the map while it is
//  full; retry: refusals stay in quarantine and no cursor moves
int ht_store__apply_items (ht_store_t *self, const ht_store_item_t *items, size_t count,
                           const ht_origin_t *origin, ht_apply_stats_t *stats,
                           int *results, bool retry);

//  A run of prepared items from one origin, within a transaction that
//  may apply several (group commit)
typedef struct {
    const ht_store_item_t *items;   //  its items
    size_t count;                   //  how many
    const ht_origin_t *origin;      //  where they came from (NULL: local)
    ht_apply_stats_t *stats;        //  set if not NULL: what became of them
    int *results;                   //  set if not NULL: each item's code
} ht_store_span_t;

//  Apply spans in one transaction, as ht_store__apply_items applies one
int ht_store__apply_spans (ht_store_t *self, const ht_store_span_t *spans, size_t count,
                           bool retry);

//  ht_store_merge.c
//  Merge an admitted record with its entity's versions under the
//  ownership rule; *code is 0 or the conflict code it is kept with
int ht_store__merge (ht_store_batch_t *batch, const ht_store_item_t *item, int *code);
//  Does txn hold item's very bytes, as the current version or in history?
//  *code is then its conflict flag (0: legitimate). Byte for byte, the
//  signature included: what matches was verified when it was stored; a
//  redacted copy or one with other bytes under a held (hlc, author,
//  digest) is not held, and is verified and judged as any input.
//  With absent (may be NULL), *absent: txn holds no version of item's
//  entity at all, current or in history.
int ht_store__held (ht_store_t *store, MDB_txn *txn, const ht_store_item_t *item,
                    bool *held, int *code, bool *absent);

//  ht_store_quarantine.c
//  Write a rejected input to quarantine under the batch's source, within
//  that source's bounds
int ht_store__quarantine_put (ht_store_batch_t *batch, const ht_store_item_t *item,
                              int code, const char *reason);
//  Count an entry of size bytes into (change > 0) or out of a source's
//  share, trimming the source's oldest entries to its bounds if trim
int ht_store__quarantine_count (ht_store_batch_t *batch, const char *source,
                                int64_t change, size_t size, bool trim);

#endif

//  ht_audit: the node's side of audit records. A read that showed
//  personal (PI) or sensitive (S) fields leaves an `audit` draft
//  (ht_query); the node names, dates and signs the drafts of a burst of
//  reads and stores them in ONE transaction (group commit), and answers
//  those reads only if that worked: a read is never answered unaudited.
//  Audit records have the node's region as region and scope, so they flow
//  up: the county and the city hold their subtree's audits.
#ifndef HT_AUDIT_H_INCLUDED
#define HT_AUDIT_H_INCLUDED

#include "ht_keys.h"
#include "ht_record.h"
#include "ht_store.h"

typedef struct _ht_audit_t ht_audit_t;

//  An auditor writing into store (borrowed) as key (borrowed) for region
ht_audit_t *ht_audit_new (ht_store_t *store, const ht_keypair_t *key, const char *region);

//  Destroy it and set the pointer to NULL
void ht_audit_destroy (ht_audit_t **self_p);

//  Complete, sign and store count drafts (borrowed; they are changed) in
//  one transaction. results[i] is HT_OK for each draft stored; on any
//  failure of the transaction every result is that failure. Returns the
//  number stored.
size_t ht_audit_commit (ht_audit_t *self, ht_record_t *const *drafts, size_t count,
                        int *results);

//  Audit records written, and reads refused because theirs failed
//  Our clock runs lead_ms ahead of the parent's (0: not known to): audit
//  records are dated by the parent's clock then, so the node's own ingest
//  gate and its neighbours admit them (docs/security.md R15)
void ht_audit_set_clock_lead (ht_audit_t *self, int64_t lead_ms);

uint64_t ht_audit_written (const ht_audit_t *self);
uint64_t ht_audit_failed (const ht_audit_t *self);

#endif

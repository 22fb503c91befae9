//  ht_audit: naming, signing and group-committing audit records (see
//  ht_audit.h).
#include <czmq.h>
#include <inttypes.h>
#include <sodium.h>
#include "ht_audit.h"
#include "ht_hlc.h"
#include "ht_region.h"

struct _ht_audit_t {
    ht_store_t *store;                  //  borrowed
    const ht_keypair_t *key;            //  the node's key (borrowed)
    char region [HT_REGION_BYTES];      //  the node's region
    char run [9];                       //  random per process: keys never
                                        //  repeat across restarts
    ht_hlc_t hlc;                       //  dates the records
    int64_t clock_lead_ms;              //  our clock ahead of the parent's
    uint64_t written, failed;
};

//  A random run id: audit keys never repeat across restarts, nor across
//  a clock that went back
static void
s_new_run (ht_audit_t *self)
{
    uint8_t run [4];
    randombytes_buf (run, sizeof run);
    ht_hex_encode (run, sizeof run, self->run);
}

ht_audit_t *
ht_audit_new (ht_store_t *store, const ht_keypair_t *key, const char *region)
{
    ht_audit_t *self = (ht_audit_t *) zmalloc (sizeof (ht_audit_t));
    self->store = store;
    self->key = key;
    snprintf (self->region, sizeof self->region, "%s", region);
    s_new_run (self);
    return self;
}

void
ht_audit_destroy (ht_audit_t **self_p)
{
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

void
ht_audit_set_clock_lead (ht_audit_t *self, int64_t lead_ms)
{
    int64_t lead = lead_ms > 0? lead_ms: 0;
    int64_t change = lead - self->clock_lead_ms;
    if (change > -1000 && change < 1000)
        return;
    //  Dated by the corrected clock from now on, which may be behind what
    //  was issued: a new run keeps the keys apart
    self->clock_lead_ms = lead;
    self->hlc.last = 0;
    s_new_run (self);
}

uint64_t ht_audit_written (const ht_audit_t *self) { return self->written; }
uint64_t ht_audit_failed (const ht_audit_t *self) { return self->failed; }

//  Key, region, scope, hlc, signature
static int
s_complete (ht_audit_t *self, ht_record_t *draft)
{
    uint64_t hlc = ht_hlc_next (&self->hlc, ht_hlc_wall_ms () - (uint64_t) self->clock_lead_ms);
    char key [HT_KEY_MAX_CHARS + 1];
    snprintf (key, sizeof key, "%s-%016" PRIx64 "-%s", self->region, hlc, self->run);
    int rc = ht_record_set_key (draft, key);
    if (rc == HT_OK)
        rc = ht_record_set_region (draft, self->region);
    if (rc == HT_OK)
        rc = ht_record_set_scope (draft, self->region);
    ht_record_set_hlc (draft, hlc);
    if (rc == HT_OK)
        rc = ht_record_sign (draft, self->key);
    return rc;
}

size_t
ht_audit_commit (ht_audit_t *self, ht_record_t *const *drafts, size_t count, int *results)
{
    size_t ready = 0;
    for (size_t index = 0; index < count; index++)
        if ((results [index] = s_complete (self, drafts [index])) == HT_OK)
            ready++;
    ht_record_t **batch = (ht_record_t **) calloc (ready + 1, sizeof (ht_record_t *));
    int *stored = (int *) calloc (ready + 1, sizeof (int));
    size_t at = 0;
    for (size_t index = 0; index < count; index++)
        if (results [index] == HT_OK)
            batch [at++] = drafts [index];
    //  Lazy: an audited read waits for the commit, not for the disk (the
    //  node syncs every heartbeat); a crash of the node loses nothing
    ht_origin_t origin = { .source = "audit", .lazy = true };
    ht_apply_stats_t stats = { 0 };
    int rc = ready? ht_store_apply (self->store, batch, ready, &origin, &stats, stored): HT_OK;
    size_t written = 0;
    at = 0;
    for (size_t index = 0; index < count; index++) {
        if (results [index] != HT_OK)
            continue;
        results [index] = rc? rc: stored [at];
        at++;
        if (results [index] == HT_OK)
            written++;
    }
    free (batch);
    free (stored);
    self->written += written;
    self->failed += count - written;
    return written;
}

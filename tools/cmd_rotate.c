//  hutong rotate plan: the pre-flight check of a node key rotation. It
//  reads the stores of the node and of the neighbours that must admit
//  its new key, and refuses a rotation that would leave one of them
//  unable to: the rule each neighbour applies is the gate's
//  (ht_gate_admit_key on the parent, ht_gate_admit_parent_successor on
//  the children), asked here exactly as the running node will ask it.
#include <stdarg.h>
#include <sodium.h>
#include "hutong.h"
#include "ht_gate.h"

#define S_HEX_CHARS (2 * HT_PUBKEY_BYTES + 1)
#define S_DETAIL_MAX_CHARS 400
#define S_MAX_CHILDREN 64

static const ht_option_t s_plan_options [] = {
    HT_OPTION_TEXT ("store", "DIR", "the rotating node's store (on its machine)"),
    HT_OPTION_TEXT ("region", "CODE", "the rotating node's region"),
    HT_OPTION_TEXT ("old-key", "PUB", "the key in use now (public key file, key file or hex)"),
    HT_OPTION_TEXT ("new-key", "PUB", "the key to switch to (public key file, key file or hex)"),
    HT_OPTION_TEXT ("parent-store", "DIR", "the parent node's store, which must admit the new key"),
    HT_OPTION_TEXT ("child-stores", "LIST", "the child nodes' stores, comma-separated"),
    HT_OPTION_TIME ("overlap-until", "TIME", "both keys must work until then (default now)"),
    HT_OPTION_TIME ("revoke-at", "TIME", "when the old key is to be revoked (must not be earlier)"),
    HT_OPTION_FLAG ("json", "print one JSON object instead of text"),
    HT_OPTION_END
};

static const ht_command_spec_t s_plan_spec = {
    "hutong rotate plan --region CODE --old-key PUB --new-key PUB\n"
    "                   [--store DIR] [--parent-store DIR] [--child-stores DIR,DIR] [OPTIONS]",
    "Check, before a node switches to a new key, that every neighbour will\n"
    "admit it: the new key's certificate is in the node's store with a chain\n"
    "to the anchor, for the same region and role node as the old one, and\n"
    "issued by the old certificate's issuer (else the children will not\n"
    "follow it); the parent's store holds it and admits it as a child node;\n"
    "each child's store holds it and takes it as its parent's successor; both\n"
    "keys stay valid until --overlap-until; --revoke-at is not earlier; no\n"
    "certificate the old key issued is left for its revocation to break.\n"
    "Each store is read where it lives: run the plan on each machine with\n"
    "the stores it has (at least one); the stores not given are listed as\n"
    "not checked, and the rotation is ready when every side has passed.\n"
    "Prints each check, what is missing, and the steps of the rotation with\n"
    "the hutong commands that make them (docs/operations.md \"Rotating a\n"
    "node's key\"). Exit 0 if ready, 1 if a check fails, 2 usage, 3 error.",
    s_plan_options
};

enum { STORE, REGION, OLD_KEY, NEW_KEY, PARENT_STORE, CHILD_STORES, OVERLAP_UNTIL,
       REVOKE_AT, JSON };

//  What the plan found so far
typedef struct {
    json_t *checks;                     //  [{check, ok, detail}]
    bool ready;                         //  no check failed
    uint8_t old_key [HT_PUBKEY_BYTES];
    uint8_t new_key [HT_PUBKEY_BYTES];
    char old_hex [S_HEX_CHARS];
    char new_hex [S_HEX_CHARS];
    const char *region;
    char parent_region [HT_REGION_BYTES];
    uint64_t now_ms;
    uint64_t overlap_until_ms;
    uint64_t old_not_before_ms;         //  the old certificate's start, 0: unknown
} s_plan_t;

//  Record one check's verdict
static bool
s_check (s_plan_t *plan, const char *name, bool ok, const char *format, ...)
{
    char detail [S_DETAIL_MAX_CHARS];
    va_list args;
    va_start (args, format);
    vsnprintf (detail, sizeof detail, format, args);
    va_end (args);
    json_array_append_new (plan->checks,
        json_pack ("{s:s, s:b, s:s}", "check", name, "ok", ok, "detail", detail));
    plan->ready = plan->ready && ok;
    return ok;
}

//  Is the key's certificate in store fine until the overlap ends? Fills
//  cert and issuer; false (with a check failed) if not
static bool
s_check_own_cert (s_plan_t *plan, ht_store_t *store, const char *which,
                  const uint8_t key [HT_PUBKEY_BYTES], ht_cert_t *cert,
                  uint8_t issuer [HT_PUBKEY_BYTES])
{
    const ht_certsource_t *source = ht_store_certsource (store);
    const char *reason = NULL;
    char name [32];
    snprintf (name, sizeof name, "%s_cert", which);
    int rc = ht_cert_key_valid (key, plan->now_ms, ht_store_anchor (store), source, cert,
                                &reason);
    if (!s_check (plan, name, rc == HT_OK, rc? "the %s key is not usable in the node's store: "
                  "%s (%s)": "the %s key's certificate is valid now with a chain to the anchor",
                  which, rc? reason: "", rc? ht_errname (rc): ""))
        return false;
    source->cert (source->ctx, key, cert, issuer);
    uint64_t revoked_at = 0;
    bool revoked = source->revocation (source->ctx, key, &revoked_at) == HT_OK;
    snprintf (name, sizeof name, "%s_through_overlap", which);
    return s_check (plan, name,
                    cert->not_after_ms >= plan->overlap_until_ms
                    && (!revoked || revoked_at >= plan->overlap_until_ms),
                    revoked && revoked_at < plan->overlap_until_ms
                    ? "the %s key is revoked from %" PRIu64 ", before the overlap ends"
                    : cert->not_after_ms < plan->overlap_until_ms
                    ? "the %s key's certificate ends before the overlap does"
                    : "the %s key stays valid until the overlap ends",
                    which, revoked_at);
}

//  Certificates under region whose current version key signed
typedef struct {
    const uint8_t *issuer;              //  the key asked about
    size_t count;
} s_issued_t;

static int
s_count_issued (void *arg, const ht_record_t *record, uint64_t seq)
{
    (void) seq;
    s_issued_t *issued = (s_issued_t *) arg;
    if (!ht_record_deleted (record)
    &&  sodium_memcmp (ht_record_author (record), issued->issuer, HT_PUBKEY_BYTES) == 0)
        issued->count++;
    return 0;
}

static size_t
s_issued_by (ht_store_t *store, const char *region, const uint8_t key [HT_PUBKEY_BYTES])
{
    s_issued_t issued = { key, 0 };
    if (ht_store_list (store, "cert", region, NULL, 0, s_count_issued, &issued) < 0)
        return SIZE_MAX;
    return issued.count;
}

//  Revoking a key ends every chain through it: nothing may still hang
//  on the old key when it is revoked
static void
s_check_reissued (s_plan_t *plan, ht_store_t *store, const char *name, const char *where)
{
    size_t count = s_issued_by (store, ht_store_region (store), plan->old_key);
    s_check (plan, name, count == 0, count == 0
             ? "%s holds no certificate the old key issued"
             : "%s holds %zu certificates the old key issued (children, clients); they "
               "stop working when it is revoked: run 'hutong rotate reissue' first",
             where, count);
}

//  Same kinds, in any order
static bool
s_same_kinds (const ht_cert_t *a, const ht_cert_t *b)
{
    if (a->kind_count != b->kind_count)
        return false;
    for (size_t index = 0; index < a->kind_count; index++)
        if (!ht_cert_permits (b, a->kinds [index]))
            return false;
    return true;
}

//  The node's own store: both certificates, the same post, one issuer
static void
s_check_node (s_plan_t *plan, ht_store_t *store)
{
    s_check (plan, "store_region", streq (ht_store_region (store), plan->region),
             "the store is region %s's", ht_store_region (store));
    ht_cert_t old_cert, new_cert;
    uint8_t old_issuer [HT_PUBKEY_BYTES], new_issuer [HT_PUBKEY_BYTES];
    bool old_ok = s_check_own_cert (plan, store, "old", plan->old_key, &old_cert, old_issuer);
    bool new_ok = s_check_own_cert (plan, store, "new", plan->new_key, &new_cert, new_issuer);
    if (new_ok)
        s_check (plan, "new_post", new_cert.role == HT_ROLE_NODE
                 && streq (new_cert.region, plan->region),
                 "the new certificate is for role %s, region %s (wanted node, %s)",
                 ht_role_name (new_cert.role), new_cert.region, plan->region);
    if (old_ok)
        plan->old_not_before_ms = old_cert.not_before_ms;
    if (!old_ok || !new_ok)
        return;
    s_check (plan, "same_post", old_cert.role == new_cert.role
             && streq (old_cert.region, new_cert.region) && s_same_kinds (&old_cert, &new_cert),
             "old and new certificates %s the same role, region and kinds",
             old_cert.role == new_cert.role && streq (old_cert.region, new_cert.region)
             && s_same_kinds (&old_cert, &new_cert)? "grant": "do not grant");
    s_check (plan, "new_covers_history", new_cert.not_before_ms <= old_cert.not_before_ms,
             new_cert.not_before_ms <= old_cert.not_before_ms
             ? "the new certificate is valid from the old one's start, so records signed "
               "under the certificates it re-issues still verify"
             : "the new certificate starts after the old one (%" PRIu64 "): records signed "
               "before then under certificates it re-issues would no longer verify; issue "
               "it with --not-before %" PRIu64, old_cert.not_before_ms, old_cert.not_before_ms);
    s_check_reissued (plan, store, "reissued", "the node's store");
    s_check (plan, "same_issuer", sodium_memcmp (old_issuer, new_issuer, HT_PUBKEY_BYTES) == 0,
             sodium_memcmp (old_issuer, new_issuer, HT_PUBKEY_BYTES) == 0
             ? "the new key is certified by the old certificate's issuer, as children require"
             : "the new key is certified by another issuer than the old one: children would "
               "not take it for their parent (have the old certificate's issuer issue it)");
}

//  The parent's store: would it admit the new key on its node socket?
static void
s_check_parent (s_plan_t *plan, ht_store_t *store)
{
    if (!s_check (plan, "parent_store_region", streq (ht_store_region (store), plan->parent_region),
                  "the parent store is region %s's (wanted %s)", ht_store_region (store),
                  plan->parent_region))
        return;
    ht_gate_t gate = ht_gate_of_store (store, plan->parent_region, plan->now_ms);
    const char *reason = NULL;
    int rc = ht_gate_admit_key (&gate, HT_GATE_NODE_SOCKET, plan->new_key, plan->region,
                                NULL, &reason);
    s_check (plan, "parent_admits_new", rc == HT_OK, rc
             ? "the parent would refuse the new key: %s (%s); is its certificate in the "
               "parent's store yet?"
             : "the parent admits the new key as its child node%s%s",
             rc? reason: "", rc? ht_errname (rc): "");
}

//  A child's store: would it take the new key for its parent's?
static void
s_check_child (s_plan_t *plan, const char *path, ht_store_t *store)
{
    const char *child_region = ht_store_region (store);
    char name [64];
    snprintf (name, sizeof name, "child_%s", child_region);
    if (!s_check (plan, name, ht_region_is_child (plan->region, child_region),
                  "%s holds region %s, a %s of %s", path, child_region,
                  ht_region_is_child (plan->region, child_region)? "child": "not a child",
                  plan->region))
        return;
    ht_gate_t gate = ht_gate_of_store (store, child_region, plan->now_ms);
    const char *reason = NULL;
    int rc = ht_gate_admit_parent_successor (&gate, plan->old_key, plan->new_key, &reason);
    snprintf (name, sizeof name, "child_%s_follows_new", child_region);
    s_check (plan, name, rc == HT_OK, rc
             ? "child %s would not take the new key for its parent's: %s (%s); has the "
               "certificate reached its store yet?"
             : "child %s takes the new key as its parent's successor%s%s",
             child_region, rc? reason: "", rc? ht_errname (rc): "");
    snprintf (name, sizeof name, "child_%s_reissued", child_region);
    s_check_reissued (plan, store, name, path);
    rc = ht_gate_admit_key (&gate, HT_GATE_PARENT_LINK, plan->old_key, NULL, NULL, &reason);
    snprintf (name, sizeof name, "child_%s_keeps_old", child_region);
    s_check (plan, name, rc == HT_OK, rc
             ? "child %s already refuses the old key: %s (%s)"
             : "child %s still admits the old key during the overlap%s%s",
             child_region, rc? reason: "", rc? ht_errname (rc): "");
}

//  Open a store named by path and run check on it; false on an open failure
static bool
s_with_store (s_plan_t *plan, const char *path, void (*check) (s_plan_t *, ht_store_t *))
{
    ht_store_t *store = ht_open_store (path);
    if (!store)
        return false;
    check (plan, store);
    ht_store_destroy (&store);
    return true;
}

//  Every child store of a comma-separated list
static bool
s_check_children (s_plan_t *plan, const char *list)
{
    char *copy = strdup (list);
    bool opened = true;
    for (char *path = strtok (copy, ","); path && opened; path = strtok (NULL, ",")) {
        ht_store_t *store = ht_open_store (path);
        opened = store != NULL;
        if (store)
            s_check_child (plan, path, store);
        ht_store_destroy (&store);
    }
    free (copy);
    return opened;
}

//  The steps of the rotation, as the commands that make them
static json_t *
s_steps (const s_plan_t *plan, const char **values)
{
    const char *parent_store = values [PARENT_STORE]? values [PARENT_STORE]: "PARENT_STORE";
    const char *store = values [STORE]? values [STORE]: "STORE";
    char not_before [48] = "";
    if (plan->old_not_before_ms)
        snprintf (not_before, sizeof not_before, " --not-before %" PRIu64,
                  plan->old_not_before_ms);
    json_t *steps = json_array ();
    json_array_append_new (steps, json_sprintf (
        "on the parent (%s): hutong cert issue --issuer PARENT.key --subject %s --region %s "
        "--role node --name NAME%s --store %s", plan->parent_region, plan->new_hex, plan->region,
        not_before, parent_store));
    json_array_append_new (steps, json_sprintf (
        "once the certificate has reached the node: hutong rotate reissue --store %s "
        "--old-key %s --new-key NEW.key", store, plan->old_hex));
    json_array_append_new (steps, json_string (
        "wait until the certificates have replicated to the node's neighbours; run this "
        "plan again until it is ready"));
    json_array_append_new (steps, json_string (
        "on the node: set node/key to the new key file in hutongd's config and restart "
        "hutongd; its parent admits it and its children follow it at their next reconnect"));
    json_array_append_new (steps, json_sprintf (
        "after the overlap: hutong cert revoke --issuer PARENT.key --subject %s --region %s "
        "--at %" PRIu64 " --reason \"key rotated\" --store %s", plan->old_hex, plan->region,
        ht_args_number (&s_plan_spec, values, REVOKE_AT, plan->overlap_until_ms), parent_store));
    json_array_append_new (steps, json_sprintf (
        "at each child's next restart: set its parent/key to %s", plan->new_hex));
    return steps;
}

//  Text output: one line a check, then the steps
static void
s_print_text (const json_t *result)
{
    size_t index;
    json_t *item;
    json_array_foreach (json_object_get (result, "checks"), index, item)
        printf ("%-8s %s\n", json_is_true (json_object_get (item, "ok"))? "ok": "MISSING",
                json_string_value (json_object_get (item, "detail")));
    bool ready = json_is_true (json_object_get (result, "ready"));
    json_t *not_checked = json_object_get (result, "not_checked");
    printf ("\n%s", ready? "Ready": "Not ready: fix what is MISSING, then run the plan again");
    if (ready && json_array_size (not_checked)) {
        printf (" as far as these stores show; not checked here:");
        json_array_foreach (not_checked, index, item)
            printf (" %s", json_string_value (item));
        printf (" (run the plan where those stores are)");
    }
    printf (".\n\nSteps:\n");
    json_array_foreach (json_object_get (result, "steps"), index, item)
        printf ("  %zu. %s\n", index + 1, json_string_value (item));
}

//  Read the key options and the regions into plan; exit code on a problem
static int
s_plan_init (s_plan_t *plan, const char **values)
{
    if (!values [REGION] || !values [OLD_KEY] || !values [NEW_KEY])
        return ht_usage_error ("rotate plan: --region, --old-key and --new-key are required");
    if (!values [STORE] && !values [PARENT_STORE] && !values [CHILD_STORES])
        return ht_usage_error ("rotate plan: name at least one store: --store, --parent-store "
                               "or --child-stores");
    const char *why = NULL;
    if (ht_region_check (values [REGION], &why))
        return ht_usage_error ("rotate plan: --region %s: %s", values [REGION], why);
    if (ht_region_parent (values [REGION], plan->parent_region) != HT_OK)
        return ht_usage_error ("rotate plan: %s is a city: its key is the trust anchor, which "
                               "a node key rotation cannot replace", values [REGION]);
    if (ht_public_load (values [OLD_KEY], plan->old_key))
        return ht_usage_error ("rotate plan: cannot read a public key from '%s'", values [OLD_KEY]);
    if (ht_public_load (values [NEW_KEY], plan->new_key))
        return ht_usage_error ("rotate plan: cannot read a public key from '%s'", values [NEW_KEY]);
    if (sodium_memcmp (plan->old_key, plan->new_key, HT_PUBKEY_BYTES) == 0)
        return ht_usage_error ("rotate plan: --old-key and --new-key are the same key");
    ht_hex_encode (plan->old_key, HT_PUBKEY_BYTES, plan->old_hex);
    ht_hex_encode (plan->new_key, HT_PUBKEY_BYTES, plan->new_hex);
    plan->region = values [REGION];
    plan->now_ms = ht_hlc_wall_ms ();
    plan->overlap_until_ms = ht_args_number (&s_plan_spec, values, OVERLAP_UNTIL, plan->now_ms);
    plan->checks = json_array ();
    plan->ready = true;
    return HT_EXIT_OK;
}

int
ht_cmd_rotate_plan (int argc, char **argv)
{
    const char *values [12];
    int first_arg, rc = ht_args_parse (&s_plan_spec, argc, argv, values, &first_arg);
    if (rc)
        return rc == 1? HT_EXIT_OK: rc;
    s_plan_t plan = { 0 };
    if ((rc = s_plan_init (&plan, values)) != HT_EXIT_OK)
        return rc;
    if (values [REVOKE_AT]) {
        uint64_t revoke_at = ht_args_number (&s_plan_spec, values, REVOKE_AT, 0);
        s_check (&plan, "revoke_after_overlap", revoke_at >= plan.overlap_until_ms,
                 revoke_at >= plan.overlap_until_ms
                 ? "the old key is revoked only once the overlap has ended"
                 : "--revoke-at is before the overlap ends: the old key would be refused "
                   "while neighbours may still need it");
    }
    bool opened = !values [STORE] || s_with_store (&plan, values [STORE], s_check_node);
    if (opened && values [PARENT_STORE])
        opened = s_with_store (&plan, values [PARENT_STORE], s_check_parent);
    if (opened && values [CHILD_STORES])
        opened = s_check_children (&plan, values [CHILD_STORES]);
    if (!opened) {
        json_decref (plan.checks);
        return HT_EXIT_ERROR;
    }
    json_t *not_checked = json_array ();
    if (!values [STORE])
        json_array_append_new (not_checked, json_string ("node"));
    if (!values [PARENT_STORE])
        json_array_append_new (not_checked, json_string ("parent"));
    if (!values [CHILD_STORES])
        json_array_append_new (not_checked, json_string ("children"));
    json_t *result = json_pack ("{s:b, s:s, s:s, s:s, s:I, s:o, s:o, s:o}",
        "ready", plan.ready, "region", plan.region, "old_key", plan.old_hex,
        "new_key", plan.new_hex, "overlap_until", (json_int_t) plan.overlap_until_ms,
        "checks", plan.checks, "not_checked", not_checked, "steps", s_steps (&plan, values));
    if (values [JSON])
        ht_print_json (result);
    else
        s_print_text (result);
    json_decref (result);
    return plan.ready? HT_EXIT_OK: HT_EXIT_INVALID;
}

//  --------------------------------------------------------------------------
//  rotate reissue

static const ht_option_t s_reissue_options [] = {
    HT_OPTION_TEXT ("store", "DIR", "the rotating node's store"),
    HT_OPTION_TEXT ("old-key", "PUB", "the key being retired (public key file, key file or hex)"),
    HT_OPTION_TEXT ("new-key", "KEYFILE", "the new key file, which signs the new versions"),
    HT_OPTION_TEXT ("out", "FILE", "also write the new certificate records here as JSON lines"),
    HT_OPTION_FLAG ("dry-run", "only count the certificates that would be re-issued"),
    HT_OPTION_END
};

static const ht_command_spec_t s_reissue_spec = {
    "hutong rotate reissue --store DIR --old-key PUB --new-key KEYFILE [--out FILE]",
    "Re-issue, signed by the new key, every certificate in the store whose\n"
    "current version the old key signed (the node's children and clients),\n"
    "with the same content and validity, and store them; they replicate like\n"
    "any record. Revoking a key ends every chain through it, so this comes\n"
    "before the old key's revocation. The new key must already be certified\n"
    "by the old key's issuer for the same region (the store holds that\n"
    "certificate): only such a successor may renew the old key's\n"
    "certificates. Prints {\"reissued\": N, \"refused\": N}. Exit 0 if all\n"
    "were stored, 1 if any was refused, 2 usage, 3 error.",
    s_reissue_options
};

//  The current certificates old signed, collected for re-issue
typedef struct {
    const uint8_t *issuer;
    zlistx_t *certs;                    //  ht_cert_t items (owned)
} s_collect_t;

static int
s_collect_issued (void *arg, const ht_record_t *record, uint64_t seq)
{
    (void) seq;
    s_collect_t *collect = (s_collect_t *) arg;
    ht_cert_t *cert = (ht_cert_t *) zmalloc (sizeof (ht_cert_t));
    if (!ht_record_deleted (record)
    &&  sodium_memcmp (ht_record_author (record), collect->issuer, HT_PUBKEY_BYTES) == 0
    &&  ht_cert_parse (record, cert) == HT_OK)
        zlistx_add_end (collect->certs, cert);
    else
        free (cert);
    return 0;
}

static void
s_cert_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

//  Sign a new version of each certificate with key and store them all
static int
s_reissue (ht_store_t *store, zlistx_t *certs, const ht_keypair_t *key, FILE *out,
           size_t *stored, size_t *refused)
{
    ht_hlc_t clock = { 0 };
    for (ht_cert_t *cert = zlistx_first (certs); cert; cert = zlistx_next (certs)) {
        int error = 0, result = 0;
        const char *reason = NULL;
        ht_record_t *record = ht_cert_issue (cert, key, ht_hlc_now (&clock), &error, &reason);
        if (!record) {
            fprintf (stderr, "hutong: rotate reissue: %s: %s\n", cert->name,
                     reason? reason: ht_strerror (error));
            (*refused)++;
            continue;
        }
        int rc = ht_store_apply (store, &record, 1, NULL, NULL, &result);
        if (rc == HT_OK && result == HT_OK && out) {
            json_t *json = ht_record_to_json (record);
            char *text = json_dumps (json, JSON_COMPACT | JSON_SORT_KEYS);
            fprintf (out, "%s\n", text);
            free (text);
            json_decref (json);
        }
        ht_record_destroy (&record);
        if (rc)
            return ht_fail ("store", rc);
        if (result) {
            fprintf (stderr, "hutong: rotate reissue: the store refused %s's certificate: %s\n",
                     cert->name, ht_strerror (result));
            (*refused)++;
        }
        else
            (*stored)++;
    }
    return HT_EXIT_OK;
}

int
ht_cmd_rotate_reissue (int argc, char **argv)
{
    enum { R_STORE, R_OLD_KEY, R_NEW_KEY, R_OUT, R_DRY_RUN };
    const char *values [8];
    int first_arg, rc = ht_args_parse (&s_reissue_spec, argc, argv, values, &first_arg);
    if (rc)
        return rc == 1? HT_EXIT_OK: rc;
    uint8_t old_key [HT_PUBKEY_BYTES];
    if (!values [R_STORE] || !values [R_OLD_KEY] || !values [R_NEW_KEY])
        return ht_usage_error ("rotate reissue: --store, --old-key and --new-key are required");
    if (ht_public_load (values [R_OLD_KEY], old_key))
        return ht_usage_error ("rotate reissue: cannot read a public key from '%s'",
                               values [R_OLD_KEY]);
    ht_keypair_t *key = values [R_DRY_RUN]? NULL: ht_load_key (values [R_NEW_KEY]);
    if (!key && !values [R_DRY_RUN])
        return HT_EXIT_ERROR;
    ht_store_t *store = ht_open_store (values [R_STORE]);
    FILE *out = NULL;
    if (store && values [R_OUT] && !(out = fopen (values [R_OUT], "w")))
        fprintf (stderr, "hutong: cannot write %s: %s\n", values [R_OUT], strerror (errno));
    size_t stored = 0, refused = 0;
    rc = HT_EXIT_ERROR;
    if (store && (out || !values [R_OUT])) {
        s_collect_t collect = { old_key, zlistx_new () };
        zlistx_set_destructor (collect.certs, s_cert_free);
        if (ht_store_list (store, "cert", ht_store_region (store), NULL, 0,
                           s_collect_issued, &collect) < 0)
            fprintf (stderr, "hutong: rotate reissue: cannot list the store's certificates\n");
        else
        if (values [R_DRY_RUN]) {
            printf ("{\"to_reissue\":%zu}\n", zlistx_size (collect.certs));
            rc = HT_EXIT_OK;
        }
        else
        if ((rc = s_reissue (store, collect.certs, key, out, &stored, &refused)) == HT_EXIT_OK) {
            printf ("{\"reissued\":%zu,\"refused\":%zu}\n", stored, refused);
            rc = refused? HT_EXIT_INVALID: HT_EXIT_OK;
        }
        zlistx_destroy (&collect.certs);
    }
    if (out)
        fclose (out);
    ht_store_destroy (&store);
    ht_keypair_destroy (&key);
    return rc;
}

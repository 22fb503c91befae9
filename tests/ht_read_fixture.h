//  ht_read_fixture: the city store that the read tests (test_query and
//  test_feed) answer from, the clients they ask as, and the taking apart
//  of what comes back. Header-only, built on ht_fixture.h: every function
//  is static inline, so a test file that uses only some of them compiles
//  without unused-function warnings.
//
//  The store is the city's (清远 441800000000), so it holds a second
//  county (清新区 441803000000) a county client must not see: the PKI of
//  the fixture, the root renewed with every kind, and county B's node key.
//  County A holds ten elders (5 in community A, 3 in community B, 2 in
//  township 2, the last deceased), county B one; a care home in community
//  A, and two inspections in county B, one shared city-wide.
#ifndef HT_READ_FIXTURE_H_INCLUDED
#define HT_READ_FIXTURE_H_INCLUDED

#include <czmq.h>
#include <sodium.h>
#include "ht_fixture.h"
#include "ht_feed.h"
#include "ht_msg.h"
#include "ht_policy.h"
#include "ht_query.h"

#define HT_READ_COUNTY_B "441803000000"         //  清新区: the other county
#define HT_READ_COMMUNITY_B2 "441803001001"     //  a community of county B
#define HT_READ_COMMUNITY_T2 "441802002001"     //  a community of county A's township 2
#define HT_READ_USCC "52441802MJ0001002K"       //  synthetic, DOMAIN.md §4
#define HT_READ_PHONE "13800138000"
#define HT_READ_ELDER_COUNT 10                  //  elders in county A
#define HT_READ_DECEASED 9                      //  the index of the one not active
#define HT_READ_KEY_BYTES (HT_KEY_MAX_CHARS + 1)
#define HT_READ_MAX_RECORDS 600                 //  records one message may carry here

#define HT_READ_COUNT(array) (sizeof (array) / sizeof ((array) [0]))

//  A Check fixture: libsodium initialised
static inline void
ht_read_sodium_setup (void)
{
    ck_assert_int_ge (sodium_init (), 0);
}

//  --------------------------------------------------------------------------
//  The store

typedef struct {
    ht_fixture_t *fixture;
    ht_store_t *store;
    char dir [HT_FIXTURE_DIR_CHARS];
    ht_keypair_t *county_b;                     //  清新区's node key
    ht_query_t *query;                          //  over store, built-in policies
    ht_feed_t *feed;                            //  over query (test_feed only)
    char elder [HT_READ_KEY_BYTES];             //  张三 (test_query only)
    char elders [HT_READ_ELDER_COUNT][HT_READ_KEY_BYTES];   //  county A's elders
    char elder_b [HT_READ_KEY_BYTES];           //  an elder of county B
    char facility [HT_READ_KEY_BYTES];          //  a care home in community A
    char credit_city [HT_READ_KEY_BYTES];       //  county B, shared city-wide
    char credit_b [HT_READ_KEY_BYTES];          //  county B, county B only
    uint64_t cert_offset;                       //  next cert's hlc offset (ms)
    unsigned credit_serial;                     //  next generated doc number (test_feed)
    zframe_t *conn_a;                           //  one client connection (test_feed)
    zframe_t *conn_b;                           //  and another (test_feed)
} ht_read_env_t;

//  Apply one record as a local write; it must be stored
static inline void
ht_read_put (ht_read_env_t *env, ht_record_t **record_p)
{
    int result = -999;
    ck_assert_int_eq (ht_store_apply (env->store, record_p, 1, NULL, NULL, &result), 0);
    ck_assert_msg (result == HT_OK, "%s %s: %s", ht_record_kind (*record_p),
                   ht_record_key (*record_p), ht_errname (result));
    ht_record_destroy (record_p);
}

//  Apply one record and keep its key in key (HT_READ_KEY_BYTES)
static inline void
ht_read_put_keyed (ht_read_env_t *env, ht_record_t **record_p, char *key)
{
    snprintf (key, HT_READ_KEY_BYTES, "%s", ht_record_key (*record_p));
    ht_read_put (env, record_p);
}

//  A city store of map_bytes with the PKI of the fixture, the root
//  renewed with every kind a node may author, and county B certified for
//  its county_kinds; no query engine yet
static inline void
ht_read_env_open (ht_read_env_t *env, size_t map_bytes,
                  const char *const *county_kinds, size_t county_kind_count)
{
    static const char *const all_kinds [] = {
        "audit", "cert", "credit", "elder", "emergency", "facility", "revocation" };
    memset (env, 0, sizeof *env);
    env->fixture = ht_fixture_new ();
    env->store = ht_fixture_store_new (env->fixture, HT_FIXTURE_CITY, map_bytes, env->dir);
    ht_store_set_verbose (env->store, false);
    ht_fixture_apply_certs (env->fixture, env->store);
    ht_keypair_t *root = env->fixture->keys [HT_FIXTURE_ROOT];
    ht_record_t *record = ht_fixture_cert (root, HT_FIXTURE_CITY, all_kinds,
                                           HT_READ_COUNT (all_kinds), root, 10);
    ht_read_put (env, &record);
    env->county_b = ht_fixture_key (0x66, "qingxin");
    record = ht_fixture_cert (env->county_b, HT_READ_COUNTY_B, county_kinds,
                              county_kind_count, root, 11);
    ht_read_put (env, &record);
    env->cert_offset = 20;
}

//  The query engine over the store, with the built-in policies
static inline void
ht_read_env_query (ht_read_env_t *env)
{
    env->query = ht_query_new (env->store, HT_FIXTURE_CITY, NULL);
    ck_assert_ptr_nonnull (env->query);
}

//  County A's elders from index first on (serial 20 + index; 5 in
//  community A, 3 in community B, 2 in township 2 written by the county,
//  the last one deceased), each with phone if given; then county B's
static inline void
ht_read_env_elders (ht_read_env_t *env, size_t first, const char *phone)
{
    ht_keypair_t *const *keys = env->fixture->keys;
    ht_record_t *record;
    for (size_t index = first; index < HT_READ_ELDER_COUNT; index++) {
        unsigned serial = 20 + (unsigned) index;
        const ht_keypair_t *author = index < 5? keys [HT_FIXTURE_COMMUNITY_A_KEY]
                                   : index < 8? keys [HT_FIXTURE_COMMUNITY_B_KEY]
                                   : keys [HT_FIXTURE_COUNTY_KEY];
        const char *region = index < 5? HT_FIXTURE_COMMUNITY_A
                           : index < 8? HT_FIXTURE_COMMUNITY_B: HT_READ_COMMUNITY_T2;
        char id [19];
        record = ht_fixture_elder_draft (ht_fixture_citizen_id (serial, id), "老人", region,
                                         region, env->fixture->idkey,
                                         ht_fixture_hlc (1, (uint16_t) index));
        if (phone)
            ck_assert_int_eq (ht_record_set_str (record, "phone", phone), 0);
        if (index == HT_READ_DECEASED) {
            ck_assert_int_eq (ht_record_set_str (record, "status", "deceased"), 0);
            ck_assert_int_eq (ht_record_set_str (record, "status_date", "20240301"), 0);
        }
        ck_assert_int_eq (ht_record_sign (record, author), 0);
        ht_read_put_keyed (env, &record, env->elders [index]);
    }
    record = ht_fixture_elder_in (env->fixture, env->county_b, HT_READ_COMMUNITY_B2,
                                  HT_READ_COMMUNITY_B2, 40, "清新老人", ht_fixture_hlc (1, 0));
    ht_read_put_keyed (env, &record, env->elder_b);
}

//  An inspection of care home subject in region, by author, shared to
//  scope, naming inspector if given
static inline ht_record_t *
ht_read_credit (const ht_keypair_t *author, const char *region, const char *scope,
                const char *issuer_region, const char *doc_no, const char *subject,
                const char *inspector)
{
    ht_record_t *record = ht_record_new ("credit");
    ck_assert_ptr_nonnull (record);
    ck_assert_int_eq (ht_record_set_region (record, region), 0);
    ck_assert_int_eq (ht_record_set_scope (record, scope), 0);
    ck_assert_int_eq (ht_record_set_str (record, "type", "inspection"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "date", "20240310"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "doc_no", doc_no), 0);
    ck_assert_int_eq (ht_record_set_str (record, "issuer_dept", "market_regulation"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "issuer_region", issuer_region), 0);
    ck_assert_int_eq (ht_record_set_str (record, "subject_name", subject), 0);
    ck_assert_int_eq (ht_record_set_str (record, "subject_uscc", HT_READ_USCC), 0);
    ck_assert_int_eq (ht_record_set_str (record, "result", "合格"), 0);
    if (inspector)
        ck_assert_int_eq (ht_record_set_strs (record, "inspectors", &inspector, 1), 0);
    ck_assert_int_eq (ht_record_derive_key (record, NULL), 0);
    ht_record_set_hlc (record, ht_fixture_hlc (2, 0));
    ck_assert_int_eq (ht_record_sign (record, author), 0);
    return record;
}

//  A care home in community A (county scope, by the county), and two
//  inspections of subject in county B (naming inspector if given): one
//  the city shares city-wide, one county B keeps to itself
static inline void
ht_read_env_facilities (ht_read_env_t *env, const char *subject, const char *inspector)
{
    ht_record_t *record = ht_fixture_facility_draft (HT_FIXTURE_COMMUNITY_A, HT_READ_USCC,
                                                     NULL);
    ck_assert_int_eq (ht_record_set_scope (record, HT_FIXTURE_COUNTY), 0);
    ck_assert_int_eq (ht_record_set_int (record, "staff", 31), 0);
    ck_assert_int_eq (ht_record_derive_key (record, NULL), 0);
    ht_record_set_hlc (record, ht_fixture_hlc (1, 0));
    ck_assert_int_eq (ht_record_sign (record, env->fixture->keys [HT_FIXTURE_COUNTY_KEY]), 0);
    ht_read_put_keyed (env, &record, env->facility);
    record = ht_read_credit (env->fixture->keys [HT_FIXTURE_ROOT], HT_READ_COMMUNITY_B2,
                             HT_FIXTURE_CITY, HT_FIXTURE_CITY, "清远市监检〔2024〕3号", subject,
                             inspector);
    ht_read_put_keyed (env, &record, env->credit_city);
    record = ht_read_credit (env->county_b, HT_READ_COMMUNITY_B2, HT_READ_COUNTY_B,
                             HT_READ_COUNTY_B, "清新市监检〔2024〕9号", subject, inspector);
    ht_read_put_keyed (env, &record, env->credit_b);
}

//  Destroy the query engine, county B's key, the store and the PKI
static inline void
ht_read_env_close (ht_read_env_t *env)
{
    ht_query_destroy (&env->query);
    ht_keypair_destroy (&env->county_b);
    ht_fixture_store_destroy (&env->store, env->dir);
    ht_fixture_destroy (&env->fixture);
}

//  --------------------------------------------------------------------------
//  Clients

typedef struct {
    ht_keypair_t *key;
    ht_query_client_t client;
} ht_read_client_t;

//  A client key of seed byte seed with a certificate for region, issued
//  by the node key of that region (root, county A or county B), stored,
//  and parsed back as the node would hold it
static inline void
ht_read_client_init (ht_read_env_t *env, ht_read_client_t *self, uint8_t seed,
                     const char *name, ht_role_t role, const char *department,
                     const char *policy, const char *region)
{
    memset (self, 0, sizeof *self);
    self->key = ht_fixture_key (seed, name);
    const ht_keypair_t *issuer = streq (region, HT_FIXTURE_CITY)
                               ? env->fixture->keys [HT_FIXTURE_ROOT]
                               : streq (region, HT_READ_COUNTY_B)? env->county_b
                               : env->fixture->keys [HT_FIXTURE_COUNTY_KEY];
    ht_cert_t spec;
    memset (&spec, 0, sizeof spec);
    snprintf (spec.name, sizeof spec.name, "%s", name);
    spec.role = role;
    snprintf (spec.department, sizeof spec.department, "%s", department? department: "");
    snprintf (spec.policy, sizeof spec.policy, "%s", policy? policy: "");
    snprintf (spec.region, sizeof spec.region, "%s", region);
    snprintf (spec.kinds [0], sizeof spec.kinds [0], "%s", "credit");
    spec.kind_count = 1;
    spec.not_before_ms = HT_FIXTURE_NOT_BEFORE_MS;
    spec.not_after_ms = HT_FIXTURE_NOT_AFTER_MS;
    memcpy (spec.pubkey, ht_keypair_public (self->key), HT_PUBKEY_BYTES);
    int error = 0;
    const char *reason = NULL;
    ht_record_t *cert = ht_cert_issue (&spec, issuer,
                                       ht_hlc_make (HT_FIXTURE_T0_MS + env->cert_offset++, 0),
                                       &error, &reason);
    ck_assert_msg (cert, "cert for %s: %s", name, reason? reason: "?");
    ck_assert_int_eq (ht_cert_parse (cert, &self->client.cert), 0);
    ht_read_put (env, &cert);
    ht_hex_encode (ht_keypair_public (self->key), HT_PUBKEY_BYTES, self->client.user);
}

//  An integration partner of region, named name
static inline void
ht_read_partner (ht_read_env_t *env, ht_read_client_t *self, uint8_t seed, const char *name,
                 const char *region)
{
    ht_read_client_init (env, self, seed, name, HT_ROLE_PARTNER, NULL, NULL, region);
}

//  A department of county A
static inline void
ht_read_department (ht_read_env_t *env, ht_read_client_t *self, uint8_t seed,
                    const char *department)
{
    char name [64];
    snprintf (name, sizeof name, "清城区 %s", department);
    ht_read_client_init (env, self, seed, name, HT_ROLE_DEPARTMENT, department, NULL,
                         HT_FIXTURE_COUNTY);
}

static inline void
ht_read_client_destroy (ht_read_client_t *self)
{
    ht_keypair_destroy (&self->key);
}

//  --------------------------------------------------------------------------
//  What comes back

//  A message taken apart
typedef struct {
    ht_msg_t head;                              //  command, token, error
    json_t *json;                               //  its JSON frame, or NULL
    size_t count;                               //  records carried
    ht_record_t *records [HT_READ_MAX_RECORDS]; //  decoded and verified
    uint8_t *data [HT_READ_MAX_RECORDS];        //  their bytes
    size_t sizes [HT_READ_MAX_RECORDS];
    ht_record_t *audit;                         //  the audit draft, or NULL
} ht_read_reply_t;

//  Take the rest of a message after its body: a JSON frame, then record
//  frames (fewer than max), each decoded and verified
static inline void
ht_read_take_frames (zmsg_t *message, ht_read_reply_t *reply, size_t max)
{
    ck_assert_uint_le (max, HT_READ_MAX_RECORDS);
    char *text = zmsg_popstr (message);
    ck_assert_ptr_nonnull (text);
    json_error_t error;
    reply->json = json_loads (text, 0, &error);
    ck_assert_msg (reply->json != NULL, "%s: %s", text, error.text);
    zstr_free (&text);
    zframe_t *frame;
    while ((frame = zmsg_pop (message))) {
        ck_assert_uint_lt (reply->count, max);
        size_t size = zframe_size (frame);
        uint8_t *data = (uint8_t *) malloc (size? size: 1);
        ck_assert_ptr_nonnull (data);
        memcpy (data, zframe_data (frame), size);
        zframe_destroy (&frame);
        int decode_error = 0;
        const char *why = NULL;
        ht_record_t *record = ht_record_decode (data, size, &decode_error, &why);
        ck_assert_msg (record != NULL, "record %zu: %s", reply->count, why);
        ck_assert_msg (ht_record_verify (record, &why) == HT_OK, "record %zu: %s",
                       reply->count, why);
        reply->records [reply->count] = record;
        reply->data [reply->count] = data;
        reply->sizes [reply->count] = size;
        reply->count++;
    }
}

static inline void
ht_read_reply_destroy (ht_read_reply_t *reply)
{
    for (size_t index = 0; index < reply->count; index++) {
        ht_record_destroy (&reply->records [index]);
        free (reply->data [index]);
    }
    json_decref (reply->json);
    ht_record_destroy (&reply->audit);
    memset (reply, 0, sizeof *reply);
}

//  True if the bytes hold text anywhere
static inline bool
ht_read_contains (const uint8_t *data, size_t size, const char *text)
{
    return memmem (data, size, text, strlen (text)) != NULL;
}

//  Give 张三's draft a value in every elder group: identity (phone,
//  address, living), categories (categories, ethnicity) and ability
static inline void
ht_read_set_every_group (ht_record_t *record, const char *phone, const char *address)
{
    ck_assert_int_eq (ht_record_set_str (record, "phone", phone), 0);
    ck_assert_int_eq (ht_record_set_str (record, "address", address), 0);
    ck_assert_int_eq (ht_record_set_str (record, "living", "独居"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "ethnicity", "汉族"), 0);
    const char *categories [] = { "低保", "优抚" };
    ck_assert_int_eq (ht_record_set_strs (record, "categories", categories, 2), 0);
    ck_assert_int_eq (ht_record_set_int (record, "ability_level", 2), 0);
    ck_assert_int_eq (ht_record_set_int (record, "care_level", 3), 0);
}

//  What health sees of 张三 (id_no, address and phone as given): identity
//  and ability, and categories withheld with no mask (a list, and a
//  two-character text, get none)
static inline void
ht_read_assert_health_view (const ht_record_t *seen, const char *id_no)
{
    ck_assert (!ht_record_is_full (seen));
    ck_assert_str_eq (ht_record_get_str (seen, "name"), "张三");
    ck_assert_str_eq (ht_record_get_str (seen, "id_no"), id_no);
    int64_t level = 0;
    ck_assert (ht_record_get_int (seen, "ability_level", &level));
    ck_assert_int_eq (level, 2);
    ck_assert_int_eq (ht_record_field_state (seen, "categories"), HT_FIELD_WITHHELD);
    ck_assert_int_eq (ht_record_field_state (seen, "ethnicity"), HT_FIELD_WITHHELD);
    ck_assert_ptr_null (ht_record_get_mask (seen, "categories"));
}

#endif

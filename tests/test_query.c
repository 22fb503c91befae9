//  test_query: read requests (GET, FIND, LIST, COUNT, HISTORY) answered
//  from a real store through department, partner and operator policies,
//  and the audit records the disclosing ones leave.
//
//  The store is the city's (清远 441800000000), so it holds a second
//  county (清新区 441803000000) a county client must not see. Clients get
//  certificates issued in the fixture PKI. Every record a reply carries is
//  decoded, verified, and its bytes searched for the values it withholds:
//  a reply that verifies but leaks is the failure to catch.
#include <czmq.h>
#include <sodium.h>
#include "ht_read_fixture.h"
#include "ht_audit.h"
#include "ht_gate.h"
#include "ht_hlc.h"
#include "ht_test.h"

#define S_TOWNSHIP_2 "441802002000"         //  a second township of county A
#define S_ID_NO "441802194005120317"        //  张三's (fixture serial 15)
#define S_ID_NO_MASK "441802********0317"
#define S_PHONE_MASK "138****8000"
#define S_ADDRESS "清城区凤城街道站前路12号"
#define S_NOW_MS (HT_FIXTURE_T0_MS + 200 * HT_FIXTURE_DAY_MS)
#define S_SMALL_MAP_BYTES (256u * 1024)
#define S_MAX_RECORDS 32
#define S_MAIN_SERIAL 15                    //  张三

//  --------------------------------------------------------------------------
//  The store (ht_read_fixture.h): elders [0] and elder are 张三

typedef ht_read_env_t s_env_t;

//  Apply one record and return its result (conflicts are kept, not stored
//  as current)
static int
s_put_result (s_env_t *env, ht_record_t *record)
{
    int result = -999;
    ck_assert_int_eq (ht_store_apply (env->store, &record, 1, NULL, NULL, &result), 0);
    return result;
}

//  张三, with a value in every elder group: identity (phone, address,
//  living), id_no, categories (categories, ethnicity) and ability
static ht_record_t *
s_main_elder (const s_env_t *env)
{
    char id [19];
    ht_fixture_citizen_id (S_MAIN_SERIAL, id);
    ck_assert_str_eq (id, S_ID_NO);
    ht_record_t *record = ht_fixture_elder_draft (id, "张三", HT_FIXTURE_COMMUNITY_A,
                                                  HT_FIXTURE_COMMUNITY_A, env->fixture->idkey,
                                                  ht_fixture_hlc (1, 0));
    ht_read_set_every_group (record, HT_READ_PHONE, S_ADDRESS);
    ck_assert_int_eq (ht_record_sign (record, env->fixture->keys [HT_FIXTURE_COMMUNITY_A_KEY]),
                      0);
    return record;
}

//  County A's elders: 张三 first, then the fixture's (no phone)
static void
s_env_elders (s_env_t *env)
{
    ht_record_t *record = s_main_elder (env);
    snprintf (env->elder, sizeof env->elder, "%s", ht_record_key (record));
    ht_read_put_keyed (env, &record, env->elders [0]);
    ht_read_env_elders (env, 1, NULL);
}

//  A city store of map_bytes with the PKI only (county B may not certify)
static void
s_env_init_empty (s_env_t *env, size_t map_bytes)
{
    static const char *const county_kinds [] = { "elder", "facility", "credit" };
    ht_read_env_open (env, map_bytes, county_kinds, HT_READ_COUNT (county_kinds));
    ht_read_env_query (env);
}

//  A city store with the PKI, the elders, the care home and inspections
//  (of 清新区福寿养老院, naming an inspector)
static void
s_env_init (s_env_t *env)
{
    s_env_init_empty (env, 0);
    s_env_elders (env);
    ht_read_env_facilities (env, "清新区福寿养老院", "王检查员");
}

//  --------------------------------------------------------------------------
//  Clients (ht_read_fixture.h)

typedef ht_read_client_t s_client_t;

//  --------------------------------------------------------------------------
//  Requests and replies

typedef ht_read_reply_t s_reply_t;

static ht_msg_t
s_request (const char *command, const char *kind, const char *purpose)
{
    ht_msg_t msg;
    ht_msg_init (&msg, command);
    msg.token = 4242;
    snprintf (msg.kind, sizeof msg.kind, "%s", kind);
    snprintf (msg.purpose, sizeof msg.purpose, "%s", purpose? purpose: "");
    return msg;
}

//  Ask and take the reply apart: an OK reply's records must each decode
//  and verify, and number what its JSON says; an ERROR has no frames
//  after its body and leaves no audit draft
static void
s_ask_at (s_env_t *env, const s_client_t *client, const ht_msg_t *msg, uint64_t now_ms,
          s_reply_t *reply)
{
    memset (reply, 0, sizeof *reply);
    reply->audit = (ht_record_t *) reply;       //  must be overwritten
    zmsg_t *answer = ht_query_answer (env->query, &client->client, msg, now_ms, &reply->audit);
    ck_assert_ptr_nonnull (answer);
    const char *reason = NULL;
    ck_assert_msg (ht_msg_decode (answer, &reply->head, &reason) == HT_OK, "%s", reason);
    ck_assert_uint_eq (reply->head.token, msg->token);
    if (streq (reply->head.command, HT_MSG_ERROR)) {
        ck_assert_uint_eq (zmsg_size (answer), 0);
        ck_assert_ptr_null (reply->audit);
        ck_assert_uint_gt (strlen (reply->head.text), 0);
        zmsg_destroy (&answer);
        return;
    }
    char expected [24];
    snprintf (expected, sizeof expected, "%s-OK", msg->command);
    ck_assert_str_eq (reply->head.command, expected);
    ht_read_take_frames (answer, reply, S_MAX_RECORDS);
    zmsg_destroy (&answer);
    if (strcmp (msg->command, HT_MSG_COUNT) != 0)
        ck_assert_int_eq (json_integer_value (json_object_get (reply->json, "count")),
                          (json_int_t) reply->count);
    ck_assert (json_is_boolean (json_object_get (reply->json, "audited")));
    ck_assert_int_eq (json_is_true (json_object_get (reply->json, "audited")),
                      reply->audit != NULL);
}

static void
s_ask (s_env_t *env, const s_client_t *client, const ht_msg_t *msg, s_reply_t *reply)
{
    s_ask_at (env, client, msg, S_NOW_MS, reply);
}

//  GET kind key for purpose
static void
s_get (s_env_t *env, const s_client_t *client, const char *kind, const char *key,
       const char *purpose, s_reply_t *reply)
{
    ht_msg_t msg = s_request (HT_MSG_GET, kind, purpose);
    snprintf (msg.key, sizeof msg.key, "%s", key);
    s_ask (env, client, &msg, reply);
}

//  The reply is an ERROR named error
static void
s_assert_refused (const s_reply_t *reply, const char *error)
{
    ck_assert_str_eq (reply->head.command, HT_MSG_ERROR);
    ck_assert_str_eq (reply->head.error, error);
}

//  The reply is an ERROR named error; destroy it
static void
s_refused (s_reply_t *reply, const char *error)
{
    s_assert_refused (reply, error);
    ht_read_reply_destroy (reply);
}

//  Ask; the reply must be an ERROR named error
static void
s_ask_refused (s_env_t *env, const s_client_t *client, const ht_msg_t *msg, const char *error)
{
    s_reply_t reply;
    s_ask (env, client, msg, &reply);
    s_refused (&reply, error);
}

//  GET kind key for purpose; the reply must be an ERROR named error
static void
s_get_refused (s_env_t *env, const s_client_t *client, const char *kind, const char *key,
               const char *purpose, const char *error)
{
    s_reply_t reply;
    s_get (env, client, kind, key, purpose, &reply);
    s_refused (&reply, error);
}

//  The reply is OK with count records
static void
s_assert_ok (const s_reply_t *reply, size_t count)
{
    ck_assert_msg (!streq (reply->head.command, HT_MSG_ERROR), "%s: %s", reply->head.error,
                   reply->head.text);
    ck_assert_uint_eq (reply->count, count);
}

static const char *
s_json_str (const s_reply_t *reply, const char *name)
{
    return json_string_value (json_object_get (reply->json, name));
}

//  No value a shown record withholds is among its bytes (region codes
//  also name the record's region in its header, so those are skipped)
static void
s_assert_withholds (const s_reply_t *reply, size_t index, const ht_record_t *full)
{
    const ht_record_t *shown = reply->records [index];
    const ht_kind_t *kind = ht_record_schema (full);
    for (size_t field = 0; field < kind->field_count; field++) {
        const char *name = kind->fields [field].name;
        if (ht_record_field_state (shown, name) != HT_FIELD_WITHHELD)
            continue;
        const char *text = ht_record_get_str (full, name);
        if (text && !streq (text, ht_record_region (full)))
            ck_assert_msg (!ht_read_contains (reply->data [index], reply->sizes [index], text),
                           "withheld %s is in the bytes", name);
        for (size_t item = 0; item < ht_record_get_strs_count (full, name); item++)
            ck_assert_msg (!ht_read_contains (reply->data [index], reply->sizes [index],
                                        ht_record_get_strs_item (full, name, item)),
                           "withheld %s is in the bytes", name);
    }
}

//  Does a STRS field of record hold text?
static bool
s_strs_has (const ht_record_t *record, const char *field, const char *text)
{
    for (size_t index = 0; index < ht_record_get_strs_count (record, field); index++)
        if (streq (ht_record_get_strs_item (record, field, index), text))
            return true;
    return false;
}

//  LIST kind in region (by field = value if field), after, max
static void
s_list (s_env_t *env, const s_client_t *client, const char *kind, const char *region,
        const char *field, const char *value, const char *after, uint64_t max,
        const char *purpose, s_reply_t *reply)
{
    ht_msg_t msg = s_request (HT_MSG_LIST, kind, purpose);
    snprintf (msg.region, sizeof msg.region, "%s", region? region: "");
    snprintf (msg.field, sizeof msg.field, "%s", field? field: "");
    snprintf (msg.value, sizeof msg.value, "%s", value? value: "");
    snprintf (msg.after, sizeof msg.after, "%s", after? after: "");
    msg.max = max;
    s_ask (env, client, &msg, reply);
}

//  COUNT kind in region
static void
s_count (s_env_t *env, const s_client_t *client, const char *kind, const char *region,
         s_reply_t *reply)
{
    ht_msg_t msg = s_request (HT_MSG_COUNT, kind, NULL);
    snprintf (msg.region, sizeof msg.region, "%s", region);
    s_ask (env, client, &msg, reply);
}

//  COUNT kind in region; the reply must be an ERROR named error
static void
s_count_refused (s_env_t *env, const s_client_t *client, const char *kind, const char *region,
                 const char *error)
{
    s_reply_t reply;
    s_count (env, client, kind, region, &reply);
    s_refused (&reply, error);
}

//  A group of a COUNT reply's "by", or -1
static json_int_t
s_by (const s_reply_t *reply, const char *region)
{
    json_t *count = json_object_get (json_object_get (reply->json, "by"), region);
    return count? json_integer_value (count): -1;
}

//  --------------------------------------------------------------------------
//  What each department sees of one elder

START_TEST (civil_affairs_gets_the_whole_elder)
{
    s_env_t env;
    s_env_init (&env);
    s_client_t client;
    ht_read_department (&env, &client, 0x71, "civil_affairs");
    s_reply_t reply;
    s_get (&env, &client, "elder", env.elder, "subsidy_review", &reply);
    s_assert_ok (&reply, 1);
    const ht_record_t *seen = reply.records [0];
    ck_assert (ht_record_is_full (seen));
    ck_assert_str_eq (ht_record_key (seen), env.elder);
    ck_assert_str_eq (ht_record_get_str (seen, "id_no"), S_ID_NO);
    ck_assert_str_eq (ht_record_get_str (seen, "name"), "张三");
    ck_assert_str_eq (ht_record_get_str (seen, "phone"), HT_READ_PHONE);
    ck_assert_uint_eq (ht_record_get_strs_count (seen, "categories"), 2);
    //  The reply's bytes are the stored record's, unchanged
    ht_record_t *stored = ht_store_get (env.store, "elder", env.elder, NULL);
    uint8_t *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (ht_record_encode (stored, &data, &size), 0);
    ck_assert_uint_eq (size, reply.sizes [0]);
    ck_assert_mem_eq (data, reply.data [0], size);
    free (data);
    ht_record_destroy (&stored);
    ck_assert_str_eq (s_json_str (&reply, "policy"), "civil_affairs");
    ck_assert_str_eq (s_json_str (&reply, "kind"), "elder");
    ck_assert_str_eq (s_json_str (&reply, "purpose"), "subsidy_review");
    ck_assert (json_is_true (json_object_get (reply.json, "audited")));
    ck_assert (json_is_null (json_object_get (reply.json, "emergency")));
    ck_assert_ptr_nonnull (reply.audit);
    ht_read_reply_destroy (&reply);
    ht_read_client_destroy (&client);
    ht_read_env_close (&env);
}
END_TEST

START_TEST (health_and_medical_insurance_get_identity_and_ability_but_not_categories)
{
    s_env_t env;
    s_env_init (&env);
    ht_record_t *full = ht_store_get (env.store, "elder", env.elder, NULL);
    const char *departments [] = { "health", "medical_insurance" };
    const char *purposes [] = { "care_service", "medical_insurance" };
    for (size_t index = 0; index < HT_READ_COUNT (departments); index++) {
        s_client_t client;
        ht_read_department (&env, &client, (uint8_t) (0x72 + index), departments [index]);
        s_reply_t reply;
        s_get (&env, &client, "elder", env.elder, purposes [index], &reply);
        s_assert_ok (&reply, 1);
        const ht_record_t *seen = reply.records [0];
        //  Categories are masked for them: a list and a two-character
        //  text get no mask, so they are simply withheld
        ht_read_assert_health_view (seen, S_ID_NO);
        ck_assert_str_eq (ht_record_get_str (seen, "address"), S_ADDRESS);
        ck_assert (!ht_read_contains (reply.data [0], reply.sizes [0], "低保"));
        ck_assert (!ht_read_contains (reply.data [0], reply.sizes [0], "汉族"));
        s_assert_withholds (&reply, 0, full);
        ck_assert_str_eq (s_json_str (&reply, "policy"), departments [index]);
        ht_read_reply_destroy (&reply);
        ht_read_client_destroy (&client);
    }
    ht_record_destroy (&full);
    ht_read_env_close (&env);
}
END_TEST

START_TEST (finance_gets_masks_of_the_elder_and_no_personal_value)
{
    s_env_t env;
    s_env_init (&env);
    ht_record_t *full = ht_store_get (env.store, "elder", env.elder, NULL);
    s_client_t client;
    ht_read_department (&env, &client, 0x74, "finance");
    s_reply_t reply;
    s_get (&env, &client, "elder", env.elder, "subsidy_review", &reply);
    s_assert_ok (&reply, 1);
    const ht_record_t *seen = reply.records [0];
    const ht_kind_t *kind = ht_record_schema (seen);
    for (size_t index = 0; index < kind->field_count; index++)
        ck_assert_msg (ht_record_field_state (seen, kind->fields [index].name)
                       == HT_FIELD_WITHHELD, "finance sees %s", kind->fields [index].name);
    ck_assert_str_eq (ht_record_get_mask (seen, "id_no"), S_ID_NO_MASK);
    ck_assert_str_eq (ht_record_get_mask (seen, "phone"), S_PHONE_MASK);
    ck_assert_ptr_nonnull (ht_record_get_mask (seen, "address"));
    ck_assert_ptr_null (ht_record_get_mask (seen, "name"));       //  张三: too short
    const char *secrets [] = { S_ID_NO, HT_READ_PHONE, S_ADDRESS, "张三", "低保", "19400512" };
    for (size_t index = 0; index < HT_READ_COUNT (secrets); index++)
        ck_assert_msg (!ht_read_contains (reply.data [0], reply.sizes [0], secrets [index]),
                       "finance gets %s", secrets [index]);
    s_assert_withholds (&reply, 0, full);
    //  Masks alone disclose: the read needed its purpose and is audited
    ck_assert_ptr_nonnull (reply.audit);
    ht_read_reply_destroy (&reply);
    s_get_refused (&env, &client, "elder", env.elder, NULL, "purpose_required");
    ht_read_client_destroy (&client);
    ht_record_destroy (&full);
    ht_read_env_close (&env);
}
END_TEST

START_TEST (a_partner_gets_masked_identity_and_no_id_number)
{
    s_env_t env;
    s_env_init (&env);
    ht_record_t *full = ht_store_get (env.store, "elder", env.elder, NULL);
    s_client_t client;
    ht_read_client_init (&env, &client, 0x75, "颐康护理 app", HT_ROLE_PARTNER, NULL, NULL,
                   HT_FIXTURE_COUNTY);
    s_reply_t reply;
    s_get (&env, &client, "elder", env.elder, "care_service", &reply);
    s_assert_ok (&reply, 1);
    const ht_record_t *seen = reply.records [0];
    ck_assert_str_eq (s_json_str (&reply, "policy"), "partner");
    ck_assert_str_eq (ht_record_get_mask (seen, "phone"), S_PHONE_MASK);
    ck_assert_int_eq (ht_record_field_state (seen, "id_no"), HT_FIELD_WITHHELD);
    ck_assert_ptr_null (ht_record_get_mask (seen, "id_no"));       //  none: not even masked
    ck_assert_ptr_null (ht_record_get_mask (seen, "categories"));
    const char *secrets [] = { S_ID_NO, HT_READ_PHONE, S_ADDRESS, "张三", "低保", "441802********" };
    for (size_t index = 0; index < HT_READ_COUNT (secrets); index++)
        ck_assert_msg (!ht_read_contains (reply.data [0], reply.sizes [0], secrets [index]),
                       "the partner gets %s", secrets [index]);
    s_assert_withholds (&reply, 0, full);
    ht_read_reply_destroy (&reply);
    //  care_service is the partner's one purpose
    s_get_refused (&env, &client, "elder", env.elder, "subsidy_review", "purpose_not_allowed");
    ht_read_client_destroy (&client);
    ht_record_destroy (&full);
    ht_read_env_close (&env);
}
END_TEST

START_TEST (market_regulation_fire_emergency_and_operators_get_no_elder)
{
    s_env_t env;
    s_env_init (&env);
    const char *departments [] = { "market_regulation", "fire", "emergency" };
    for (size_t index = 0; index < HT_READ_COUNT (departments); index++) {
        s_client_t client;
        ht_read_department (&env, &client, (uint8_t) (0x76 + index), departments [index]);
        const char *purposes [] = { "inspection", "emergency_response", NULL };
        for (size_t p = 0; p < HT_READ_COUNT (purposes); p++) {
            s_get_refused (&env, &client, "elder", env.elder, purposes [p], "policy");
            //  Refused before any lookup: a key nobody wrote, or a FIND,
            //  answers the same
            s_get_refused (&env, &client, "elder", "0123456789abcdef0123456789abcdef",
                           purposes [p], "policy");
            ht_msg_t msg = s_request (HT_MSG_FIND, "elder", purposes [p]);
            snprintf (msg.value, sizeof msg.value, "%s", S_ID_NO);
            s_ask_refused (&env, &client, &msg, "policy");
        }
        ht_read_client_destroy (&client);
    }
    s_client_t operator;
    ht_read_client_init (&env, &operator, 0x7a, "清城区 IT", HT_ROLE_OPERATOR, NULL, NULL,
                   HT_FIXTURE_COUNTY);
    s_reply_t reply;
    s_get_refused (&env, &operator, "elder", env.elder, "audit_review", "policy");
    //  Nor a LIST or a HISTORY of elders
    s_list (&env, &operator, "elder", NULL, NULL, NULL, NULL, 0, "audit_review", &reply);
    s_refused (&reply, "policy");
    ht_msg_t msg = s_request (HT_MSG_HISTORY, "elder", "audit_review");
    snprintf (msg.key, sizeof msg.key, "%s", env.elder);
    s_ask_refused (&env, &operator, &msg, "policy");
    ht_read_client_destroy (&operator);
    ht_read_env_close (&env);
}
END_TEST

START_TEST (the_certificates_policy_comes_before_its_department_and_its_role)
{
    s_env_t env;
    s_env_init (&env);
    s_client_t client;
    //  A health department key limited to the partner's policy
    ht_read_client_init (&env, &client, 0x7b, "卫健 pilot", HT_ROLE_DEPARTMENT, "health", "partner",
                   HT_FIXTURE_COUNTY);
    ck_assert_str_eq (ht_query_policy (env.query, &client.client.cert)->name, "partner");
    s_reply_t reply;
    s_get (&env, &client, "elder", env.elder, "care_service", &reply);
    s_assert_ok (&reply, 1);
    ck_assert_str_eq (s_json_str (&reply, "policy"), "partner");
    ck_assert_int_eq (ht_record_field_state (reply.records [0], "id_no"), HT_FIELD_WITHHELD);
    ck_assert_str_eq (ht_record_get_str (reply.audit, "policy"), "partner");
    ck_assert_str_eq (ht_record_get_str (reply.audit, "department"), "health");
    ht_read_reply_destroy (&reply);
    ht_read_client_destroy (&client);
    //  An operator has the operator policy; a node key its own
    ht_read_client_init (&env, &client, 0x7c, "ops", HT_ROLE_OPERATOR, NULL, NULL,
                         HT_FIXTURE_COUNTY);
    ck_assert_str_eq (ht_query_policy (env.query, &client.client.cert)->name, "operator");
    ht_read_client_destroy (&client);
    //  A policy the set does not have: nothing to read under
    ht_read_client_init (&env, &client, 0x7d, "unknown", HT_ROLE_DEPARTMENT, "tourism", NULL,
                   HT_FIXTURE_COUNTY);
    ck_assert_ptr_null (ht_query_policy (env.query, &client.client.cert));
    s_get_refused (&env, &client, "facility", env.facility, NULL, "policy");
    ht_read_client_destroy (&client);
    ht_read_env_close (&env);
}
END_TEST

//  --------------------------------------------------------------------------
//  Purposes

START_TEST (a_personal_read_needs_a_purpose_its_policy_lists)
{
    s_env_t env;
    s_env_init (&env);
    s_client_t client;
    ht_read_department (&env, &client, 0x71, "civil_affairs");
    struct { const char *purpose; const char *error; } cases [] = {
        { NULL, "purpose_required" },
        { "", "purpose_required" },
        { "statistics", "purpose_not_allowed" },        //  never personal
        { "operations", "purpose_not_allowed" },
        { "sightseeing", "purpose_not_allowed" },       //  unknown
        { "Subsidy_review", "purpose_not_allowed" },
        { "medical_insurance", "purpose_not_allowed" }, //  not civil affairs'
    };
    for (size_t index = 0; index < HT_READ_COUNT (cases); index++) {
        s_reply_t reply;
        s_get (&env, &client, "elder", env.elder, cases [index].purpose, &reply);
        ck_assert_msg (streq (reply.head.error, cases [index].error), "%s: %s",
                       cases [index].purpose? cases [index].purpose: "(none)",
                       reply.head.error);
        s_refused (&reply, cases [index].error);
        //  LIST, FIND and HISTORY ask the same
        s_list (&env, &client, "elder", NULL, NULL, NULL, NULL, 0, cases [index].purpose,
                &reply);
        s_refused (&reply, cases [index].error);
        ht_msg_t msg = s_request (HT_MSG_FIND, "elder", cases [index].purpose);
        snprintf (msg.value, sizeof msg.value, "%s", S_ID_NO);
        s_ask_refused (&env, &client, &msg, cases [index].error);
        msg = s_request (HT_MSG_HISTORY, "elder", cases [index].purpose);
        snprintf (msg.key, sizeof msg.key, "%s", env.elder);
        s_ask_refused (&env, &client, &msg, cases [index].error);
    }
    //  Each purpose it lists will do
    const char *allowed [] = { "subsidy_review", "care_service", "assessment", "inspection",
                               "emergency_response", "audit_review" };
    for (size_t index = 0; index < HT_READ_COUNT (allowed); index++) {
        s_reply_t reply;
        s_get (&env, &client, "elder", env.elder, allowed [index], &reply);
        s_assert_ok (&reply, 1);
        ck_assert_str_eq (ht_record_get_str (reply.audit, "purpose"), allowed [index]);
        ht_read_reply_destroy (&reply);
    }
    ht_read_client_destroy (&client);
    ht_read_env_close (&env);
}
END_TEST

START_TEST (a_read_without_a_purpose_does_not_tell_whether_a_record_exists)
{
    //  Refused alike whether the citizen is on the register or not, so a
    //  client without a purpose learns nothing (and nothing unaudited)
    s_env_t env;
    s_env_init (&env);
    s_client_t client;
    ht_read_department (&env, &client, 0x71, "civil_affairs");
    char id [19];
    const char *ids [] = { S_ID_NO, ht_fixture_citizen_id (99, id) };
    for (size_t index = 0; index < HT_READ_COUNT (ids); index++) {
        ht_msg_t msg = s_request (HT_MSG_FIND, "elder", NULL);
        snprintf (msg.value, sizeof msg.value, "%s", ids [index]);
        s_ask_refused (&env, &client, &msg, "purpose_required");
    }
    const char *keys [] = { env.elder, "0123456789abcdef0123456789abcdef" };
    for (size_t index = 0; index < HT_READ_COUNT (keys); index++) {
        s_get_refused (&env, &client, "elder", keys [index], NULL, "purpose_required");
    }
    //  Nor a lookup by category: one match or none answer the same
    const char *categories [] = { "低保", "特困" };
    for (size_t index = 0; index < HT_READ_COUNT (categories); index++) {
        s_reply_t reply;
        s_list (&env, &client, "elder", NULL, "categories", categories [index], NULL, 0, NULL,
                &reply);
        s_refused (&reply, "purpose_required");
    }
    ht_read_client_destroy (&client);
    ht_read_env_close (&env);
}
END_TEST

START_TEST (public_only_reads_and_counts_need_no_purpose_and_leave_no_audit)
{
    s_env_t env;
    s_env_init (&env);
    const char *departments [] = { "market_regulation", "health", "civil_affairs", "fire" };
    for (size_t index = 0; index < HT_READ_COUNT (departments); index++) {
        s_client_t client;
        ht_read_department (&env, &client, (uint8_t) (0x80 + index), departments [index]);
        s_reply_t reply;
        s_get (&env, &client, "facility", env.facility, NULL, &reply);
        s_assert_ok (&reply, 1);
        ck_assert_ptr_null (reply.audit);
        ck_assert (json_is_false (json_object_get (reply.json, "audited")));
        ck_assert (json_is_null (json_object_get (reply.json, "purpose")));
        int64_t staff = 0;
        ck_assert (ht_record_get_int (reply.records [0], "staff", &staff));
        ck_assert_int_eq (staff, 31);
        ht_read_reply_destroy (&reply);
        ht_read_client_destroy (&client);
    }
    //  An unknown purpose code is refused even where none is needed
    s_client_t health;
    ht_read_department (&env, &health, 0x86, "health");
    s_reply_t refused;
    s_get (&env, &health, "facility", env.facility, "sightseeing", &refused);
    s_assert_refused (&refused, "purpose_not_allowed");
    ht_read_reply_destroy (&refused);
    ht_read_client_destroy (&health);
    //  A credit record, for a policy that never sees its subject's ID number
    s_client_t market;
    ht_read_department (&env, &market, 0x87, "market_regulation");
    s_reply_t reply;
    s_get (&env, &market, "credit", env.credit_city, NULL, &reply);
    s_assert_ok (&reply, 1);
    ck_assert_ptr_null (reply.audit);
    ht_read_reply_destroy (&reply);
    ht_read_client_destroy (&market);
    //  A partner sees a facility's public fields only, still unaudited
    s_client_t partner;
    ht_read_client_init (&env, &partner, 0x88, "app", HT_ROLE_PARTNER, NULL, NULL,
                         HT_FIXTURE_COUNTY);
    s_get (&env, &partner, "facility", env.facility, NULL, &reply);
    s_assert_ok (&reply, 1);
    ck_assert_int_eq (ht_record_field_state (reply.records [0], "staff"), HT_FIELD_WITHHELD);
    ck_assert_str_eq (ht_record_get_str (reply.records [0], "uscc"), HT_READ_USCC);
    ck_assert_ptr_null (reply.audit);
    ht_read_reply_destroy (&reply);
    ht_read_client_destroy (&partner);
    //  Counting elders is no disclosure
    s_client_t emergency;
    ht_read_department (&env, &emergency, 0x89, "emergency");
    s_count (&env, &emergency, "elder", "", &reply);
    s_assert_ok (&reply, 0);
    ck_assert_int_eq (json_integer_value (json_object_get (reply.json, "total")),
                      HT_READ_ELDER_COUNT);
    ck_assert_ptr_null (reply.audit);
    ht_read_reply_destroy (&reply);
    ht_read_client_destroy (&emergency);
    ht_read_env_close (&env);
}
END_TEST

//  --------------------------------------------------------------------------
//  Regions

START_TEST (a_county_client_cannot_see_another_countys_elder)
{
    s_env_t env;
    s_env_init (&env);
    s_client_t client;
    ht_read_department (&env, &client, 0x71, "civil_affairs");
    s_reply_t reply;
    //  As absent as a key nobody wrote
    s_get_refused (&env, &client, "elder", env.elder_b, "subsidy_review", "not_found");
    s_get_refused (&env, &client, "elder", "0123456789abcdef0123456789abcdef",
                   "subsidy_review", "not_found");
    char id [19];
    ht_msg_t msg = s_request (HT_MSG_FIND, "elder", "subsidy_review");
    snprintf (msg.value, sizeof msg.value, "%s", ht_fixture_citizen_id (40, id));
    s_ask_refused (&env, &client, &msg, "not_found");
    msg = s_request (HT_MSG_HISTORY, "elder", "subsidy_review");
    snprintf (msg.key, sizeof msg.key, "%s", env.elder_b);
    s_ask_refused (&env, &client, &msg, "not_found");
    //  Listing or counting county B is out of its jurisdiction
    const char *regions [] = { "441803", HT_READ_COUNTY_B, "441803001", HT_READ_COMMUNITY_B2 };
    for (size_t index = 0; index < HT_READ_COUNT (regions); index++) {
        s_list (&env, &client, "elder", regions [index], NULL, NULL, NULL, 0,
                "subsidy_review", &reply);
        s_refused (&reply, "out_of_scope");
        s_count_refused (&env, &client, "elder", regions [index], "out_of_scope");
    }
    //  Listing the whole city lists county A's part only
    s_list (&env, &client, "elder", "4418", NULL, NULL, NULL, 0, "subsidy_review", &reply);
    s_assert_ok (&reply, HT_READ_ELDER_COUNT);
    for (size_t index = 0; index < reply.count; index++)
        ck_assert_str_ne (ht_record_key (reply.records [index]), env.elder_b);
    ht_read_reply_destroy (&reply);
    //  The city's civil affairs sees county B's elder
    s_client_t city;
    ht_read_client_init (&env, &city, 0x90, "清远市民政局", HT_ROLE_DEPARTMENT, "civil_affairs",
                   NULL, HT_FIXTURE_CITY);
    s_get (&env, &city, "elder", env.elder_b, "subsidy_review", &reply);
    s_assert_ok (&reply, 1);
    ht_read_reply_destroy (&reply);
    ht_read_client_destroy (&city);
    ht_read_client_destroy (&client);
    ht_read_env_close (&env);
}
END_TEST

START_TEST (a_county_client_sees_a_city_scope_record_of_another_county_only)
{
    s_env_t env;
    s_env_init (&env);
    s_client_t client;
    ht_read_department (&env, &client, 0x76, "market_regulation");
    s_reply_t reply;
    //  Shared down city-wide, so county A holds it
    s_get (&env, &client, "credit", env.credit_city, NULL, &reply);
    s_assert_ok (&reply, 1);
    ck_assert_str_eq (ht_record_region (reply.records [0]), HT_READ_COMMUNITY_B2);
    //  Its inspector names are credit_internal: masked for the regulator
    ck_assert_int_eq (ht_record_field_state (reply.records [0], "inspectors"),
                      HT_FIELD_WITHHELD);
    ck_assert (!ht_read_contains (reply.data [0], reply.sizes [0], "王检查员"));
    ht_read_reply_destroy (&reply);
    //  County B's own inspection stays there
    s_get_refused (&env, &client, "credit", env.credit_b, NULL, "not_found");
    //  Listing the city shows the shared one and not the other
    s_list (&env, &client, "credit", "4418", NULL, NULL, NULL, 0, NULL, &reply);
    s_assert_ok (&reply, 1);
    ck_assert_str_eq (ht_record_key (reply.records [0]), env.credit_city);
    ck_assert_str_eq (s_json_str (&reply, "region"), HT_FIXTURE_CITY);
    ht_read_reply_destroy (&reply);
    ht_read_client_destroy (&client);
    ht_read_env_close (&env);
}
END_TEST

START_TEST (a_policy_region_narrows_a_certificate_and_never_widens_it)
{
    s_env_t env;
    s_env_init (&env);
    const char *text =
        "policy\n"
        "    civil_affairs\n"
        "        kinds = \"elder\"\n"
        "        purposes = \"subsidy_review\"\n"
        "        region = \"441802001\"\n"
        "        access\n"
        "            identity = full\n"
        "    health\n"
        "        kinds = \"elder\"\n"
        "        purposes = \"care_service\"\n"
        "        region = \"4418\"\n"
        "        access\n"
        "            identity = full\n";
    char error [300] = "";
    ht_policyset_t *policies = ht_policyset_parse (text, error, sizeof error);
    ck_assert_msg (policies != NULL, "%s", error);
    ht_query_set_policies (env.query, policies);
    s_client_t client;
    ht_read_department (&env, &client, 0x71, "civil_affairs");
    s_reply_t reply;
    s_get (&env, &client, "elder", env.elders [0], "subsidy_review", &reply);
    s_assert_ok (&reply, 1);
    ht_read_reply_destroy (&reply);
    s_get (&env, &client, "elder", env.elders [8], "subsidy_review", &reply);     //  township 2
    s_refused (&reply, "not_found");
    s_list (&env, &client, "elder", NULL, NULL, NULL, NULL, 0, "subsidy_review", &reply);
    s_assert_ok (&reply, 8);
    ck_assert_str_eq (s_json_str (&reply, "region"), HT_FIXTURE_TOWNSHIP);
    ht_read_reply_destroy (&reply);
    s_count (&env, &client, "elder", "", &reply);
    ck_assert_int_eq (json_integer_value (json_object_get (reply.json, "total")), 8);
    ht_read_reply_destroy (&reply);
    ht_read_client_destroy (&client);
    //  A policy region beyond the certificate's (city-wide, for a county
    //  health client) does not widen it: it leaves the client nothing
    ht_read_department (&env, &client, 0x72, "health");
    s_get_refused (&env, &client, "elder", env.elder_b, "care_service", "out_of_scope");
    s_get_refused (&env, &client, "elder", env.elders [8], "care_service", "out_of_scope");
    s_count_refused (&env, &client, "elder", "", "out_of_scope");
    ht_read_client_destroy (&client);
    //  The set has no finance policy: a finance client reads nothing
    ht_read_department (&env, &client, 0x74, "finance");
    s_get_refused (&env, &client, "elder", env.elder, "subsidy_review", "policy");
    ht_read_client_destroy (&client);
    ht_read_env_close (&env);
}
END_TEST

//  --------------------------------------------------------------------------
//  LIST

//  Page through LIST elder in region with max per page; keys into keys
//  (in order), returns how many; asserts every page but the last is full
//  and names a next cursor
static size_t
s_page_through (s_env_t *env, const s_client_t *client, const char *region,
                const char *field, const char *value, uint64_t max,
                char keys [][HT_READ_KEY_BYTES], size_t size)
{
    char after [HT_MSG_AFTER_BYTES] = "";
    size_t count = 0, pages = 0;
    while (true) {
        s_reply_t reply;
        s_list (env, client, "elder", region, field, value, after, max, "subsidy_review",
                &reply);
        s_assert_ok (&reply, reply.count);
        ck_assert_uint_le (reply.count, max);
        ck_assert_uint_lt (pages++, 2 * size + 2);
        //  The page's audit names exactly the page's records
        if (reply.count) {
            ck_assert_ptr_nonnull (reply.audit);
            ck_assert_uint_eq (ht_record_get_strs_count (reply.audit, "subjects"), reply.count);
        }
        for (size_t index = 0; index < reply.count; index++) {
            ck_assert_uint_lt (count, size);
            snprintf (keys [count++], HT_READ_KEY_BYTES, "%s",
                      ht_record_key (reply.records [index]));
            ck_assert (s_strs_has (reply.audit, "subjects", ht_record_key (reply.records [index])));
        }
        json_t *next = json_object_get (reply.json, "next");
        ck_assert_ptr_nonnull (next);
        if (json_is_null (next)) {
            ht_read_reply_destroy (&reply);
            break;
        }
        ck_assert_uint_eq (reply.count, max);
        snprintf (after, sizeof after, "%s", json_string_value (next));
        ck_assert_uint_gt (strlen (after), 0);
        ht_read_reply_destroy (&reply);
    }
    return count;
}

//  One LIST answer for client, straight from the engine: its frames and
//  its JSON (the caller frees both)
static zmsg_t *
s_list_raw (s_env_t *env, s_client_t *client, const char *region, uint64_t max, json_t **json)
{
    ht_msg_t msg;
    ht_msg_init (&msg, HT_MSG_LIST);
    msg.token = 7;
    snprintf (msg.kind, sizeof msg.kind, "facility");
    snprintf (msg.region, sizeof msg.region, "%s", region);
    msg.max = max;
    ht_record_t *audit = NULL;
    zmsg_t *reply = ht_query_answer (env->query, &client->client, &msg, HT_FIXTURE_T0_MS, &audit);
    ck_assert_ptr_null (audit);                 //  facilities: public fields only
    ck_assert_str_eq ((const char *) zframe_data (zmsg_first (reply)), HT_MSG_LIST_OK);
    zmsg_next (reply);
    zframe_t *frame = zmsg_next (reply);
    *json = json_loadb ((const char *) zframe_data (frame), zframe_size (frame), 0, NULL);
    ck_assert_ptr_nonnull (*json);
    return reply;
}

START_TEST (a_list_page_and_the_entries_it_examines_are_bounded)
{
    s_env_t env;
    s_env_init_empty (&env, 0);
    //  More facilities in county B than a page holds, and than a short
    //  page examines
    enum { FACILITIES = HT_QUERY_MAX_PAGE + 100 };
    for (size_t index = 0; index < FACILITIES; index++) {
        char serial [16];
        snprintf (serial, sizeof serial, "%zu", 10000 + index);
        ht_record_t *record = ht_fixture_facility_draft (HT_READ_COMMUNITY_B2, NULL, serial);
        ck_assert_int_eq (ht_record_derive_key (record, NULL), 0);
        ck_assert_int_eq (ht_record_set_scope (record, HT_READ_COUNTY_B), 0);
        ht_record_set_hlc (record, ht_fixture_hlc (3, (uint16_t) index));
        ck_assert_int_eq (ht_record_sign (record, env.county_b), 0);
        ht_read_put (&env, &record);
    }
    s_client_t own, other;
    ht_read_department (&env, &own, 0x73, "civil_affairs");     //  county A
    ht_read_client_init (&env, &other, 0x74, "清远市民政局", HT_ROLE_DEPARTMENT,
                         "civil_affairs", NULL, HT_FIXTURE_CITY);
    //  A page never holds more than HT_QUERY_MAX_PAGE records, whatever
    //  max asks, and says where to go on
    json_t *json = NULL;
    zmsg_t *reply = s_list_raw (&env, &other, HT_READ_COUNTY_B, 5 * HT_QUERY_MAX_PAGE, &json);
    ck_assert_uint_eq (zmsg_size (reply), 3 + HT_QUERY_MAX_PAGE);
    ck_assert_int_eq (json_integer_value (json_object_get (json, "count")), HT_QUERY_MAX_PAGE);
    ck_assert (json_is_string (json_object_get (json, "next")));
    json_decref (json);
    zmsg_destroy (&reply);
    //  A client of county A listing the city sees none of them: a short
    //  page examines at most 1,000 entries, comes back empty, and goes on
    reply = s_list_raw (&env, &own, "4418", 10, &json);
    ck_assert_uint_eq (zmsg_size (reply), 3);
    ck_assert_int_eq (json_integer_value (json_object_get (json, "examined")), 1000);
    ck_assert (json_is_string (json_object_get (json, "next")));
    json_decref (json);
    zmsg_destroy (&reply);
    ht_read_client_destroy (&own);
    ht_read_client_destroy (&other);
    ht_read_env_close (&env);
}
END_TEST

START_TEST (list_pages_return_every_visible_record_once_in_a_stable_order)
{
    s_env_t env;
    s_env_init (&env);
    s_client_t client;
    ht_read_department (&env, &client, 0x71, "civil_affairs");
    //  The whole city: county B's elder is examined but not visible
    char first [HT_READ_ELDER_COUNT + 2][HT_READ_KEY_BYTES];
    char second [HT_READ_ELDER_COUNT + 2][HT_READ_KEY_BYTES];
    size_t count = s_page_through (&env, &client, "4418", NULL, NULL, 3, first,
                                   HT_READ_COUNT (first));
    ck_assert_uint_eq (count, HT_READ_ELDER_COUNT);
    for (size_t index = 0; index < HT_READ_ELDER_COUNT; index++) {
        size_t seen = 0;
        for (size_t listed = 0; listed < count; listed++)
            seen += streq (first [listed], env.elders [index]);
        ck_assert_msg (seen == 1, "elder %zu listed %zu times", index, seen);
    }
    //  Again: the same order
    ck_assert_uint_eq (s_page_through (&env, &client, "4418", NULL, NULL, 3, second,
                                       HT_READ_COUNT (second)), count);
    for (size_t index = 0; index < count; index++)
        ck_assert_str_eq (first [index], second [index]);
    //  And the order of one unpaged listing
    s_reply_t reply;
    s_list (&env, &client, "elder", "", NULL, NULL, NULL, 0, "subsidy_review", &reply);
    s_assert_ok (&reply, HT_READ_ELDER_COUNT);
    ck_assert (json_is_null (json_object_get (reply.json, "next")));
    ck_assert_str_eq (s_json_str (&reply, "region"), HT_FIXTURE_COUNTY);
    for (size_t index = 0; index < count; index++)
        ck_assert_str_eq (first [index], ht_record_key (reply.records [index]));
    ck_assert_uint_eq (ht_record_get_strs_count (reply.audit, "subjects"), HT_READ_ELDER_COUNT);
    ht_read_reply_destroy (&reply);
    //  A page of exactly what is left ends with an empty page
    ck_assert_uint_eq (s_page_through (&env, &client, "", NULL, NULL, 5, second,
                                       HT_READ_COUNT (second)), HT_READ_ELDER_COUNT);
    //  A cursor no node issued is refused
    s_list (&env, &client, "elder", "", NULL, NULL, "not-a-cursor", 3, "subsidy_review",
            &reply);
    s_refused (&reply, "invalid");
    ht_read_client_destroy (&client);
    ht_read_env_close (&env);
}
END_TEST

START_TEST (listing_by_a_field_needs_full_access_to_its_group)
{
    s_env_t env;
    s_env_init (&env);
    s_client_t civil, health, finance, partner;
    ht_read_department (&env, &civil, 0x71, "civil_affairs");
    ht_read_department (&env, &health, 0x72, "health");
    ht_read_department (&env, &finance, 0x74, "finance");
    ht_read_client_init (&env, &partner, 0x75, "app", HT_ROLE_PARTNER, NULL, NULL,
                         HT_FIXTURE_COUNTY);
    s_reply_t reply;
    //  Status is identity: full for civil affairs and health
    s_list (&env, &civil, "elder", NULL, "status", "active", NULL, 0, "subsidy_review", &reply);
    s_assert_ok (&reply, HT_READ_ELDER_COUNT - 1);
    for (size_t index = 0; index < reply.count; index++)
        ck_assert_str_eq (ht_record_get_str (reply.records [index], "status"), "active");
    ht_read_reply_destroy (&reply);
    s_list (&env, &civil, "elder", NULL, "status", "deceased", NULL, 0, "subsidy_review",
            &reply);
    s_assert_ok (&reply, 1);
    ck_assert_str_eq (ht_record_key (reply.records [0]), env.elders [HT_READ_DECEASED]);
    ht_read_reply_destroy (&reply);
    s_list (&env, &health, "elder", HT_FIXTURE_COMMUNITY_B, "status", "active", NULL, 0,
            "care_service", &reply);
    s_assert_ok (&reply, 3);
    ht_read_reply_destroy (&reply);
    //  Paged by field, too
    char keys [HT_READ_ELDER_COUNT][HT_READ_KEY_BYTES];
    ck_assert_uint_eq (s_page_through (&env, &civil, "", "status", "active", 2, keys,
                                       HT_READ_COUNT (keys)), HT_READ_ELDER_COUNT - 1);
    for (size_t index = 0; index < HT_READ_ELDER_COUNT - 1; index++)
        for (size_t other = index + 1; other < HT_READ_ELDER_COUNT - 1; other++)
            ck_assert_str_ne (keys [index], keys [other]);
    //  Masked is not enough: the answer would tell who is what
    s_list (&env, &finance, "elder", NULL, "status", "active", NULL, 0, "subsidy_review", &reply);
    s_refused (&reply, "policy");
    s_list (&env, &partner, "elder", NULL, "status", "active", NULL, 0, "care_service", &reply);
    s_refused (&reply, "policy");
    //  Categories: full for civil affairs only
    s_list (&env, &civil, "elder", NULL, "categories", "低保", NULL, 0, "subsidy_review", &reply);
    s_assert_ok (&reply, 1);
    ck_assert_str_eq (ht_record_key (reply.records [0]), env.elder);
    ht_read_reply_destroy (&reply);
    s_list (&env, &health, "elder", NULL, "categories", "低保", NULL, 0, "care_service", &reply);
    s_refused (&reply, "policy");
    //  A field that is not indexed, or not the kind's
    s_list (&env, &civil, "elder", NULL, "phone", HT_READ_PHONE, NULL, 0, "subsidy_review", &reply);
    s_refused (&reply, "bad_field");
    s_list (&env, &civil, "elder", NULL, "uscc", HT_READ_USCC, NULL, 0, "subsidy_review", &reply);
    s_refused (&reply, "bad_field");
    ht_read_client_destroy (&civil);
    ht_read_client_destroy (&health);
    ht_read_client_destroy (&finance);
    ht_read_client_destroy (&partner);
    ht_read_env_close (&env);
}
END_TEST

//  --------------------------------------------------------------------------
//  FIND, COUNT, HISTORY

START_TEST (find_looks_up_an_elder_by_id_number_and_a_facility_by_uscc)
{
    s_env_t env;
    s_env_init (&env);
    s_client_t civil, market;
    ht_read_department (&env, &civil, 0x71, "civil_affairs");
    ht_read_department (&env, &market, 0x76, "market_regulation");
    s_reply_t reply;
    ht_msg_t msg = s_request (HT_MSG_FIND, "elder", "subsidy_review");
    snprintf (msg.value, sizeof msg.value, "%s", S_ID_NO);
    s_ask (&env, &civil, &msg, &reply);
    s_assert_ok (&reply, 1);
    ck_assert_str_eq (ht_record_key (reply.records [0]), env.elder);
    ck_assert_str_eq (ht_record_get_str (reply.audit, "request"), "find");
    ht_read_reply_destroy (&reply);
    //  An ID number nobody holds here
    char id [19];
    snprintf (msg.value, sizeof msg.value, "%s", ht_fixture_citizen_id (99, id));
    s_ask_refused (&env, &civil, &msg, "not_found");
    //  Values that are no ID number at all
    const char *malformed [] = { "441802194005120318", "12345", "notanid", "4418021940051203x7" };
    for (size_t index = 0; index < HT_READ_COUNT (malformed); index++) {
        snprintf (msg.value, sizeof msg.value, "%s", malformed [index]);
        s_ask (&env, &civil, &msg, &reply);
        ck_assert_msg (streq (reply.head.error, "invalid"), "%s: %s", malformed [index],
                       reply.head.error);
        ht_read_reply_destroy (&reply);
    }
    //  A care home by its USCC, for the regulator, without a purpose
    msg = s_request (HT_MSG_FIND, "facility", NULL);
    snprintf (msg.value, sizeof msg.value, "%s", HT_READ_USCC);
    s_ask (&env, &market, &msg, &reply);
    s_assert_ok (&reply, 1);
    ck_assert_str_eq (ht_record_key (reply.records [0]), env.facility);
    ck_assert_str_eq (ht_record_get_str (reply.records [0], "uscc"), HT_READ_USCC);
    ck_assert_ptr_null (reply.audit);
    ht_read_reply_destroy (&reply);
    //  FIND knows elders and facilities only
    msg = s_request (HT_MSG_FIND, "credit", NULL);
    snprintf (msg.value, sizeof msg.value, "%s", HT_READ_USCC);
    s_ask_refused (&env, &market, &msg, "unknown_kind");
    msg = s_request (HT_MSG_FIND, "facility", NULL);
    snprintf (msg.value, sizeof msg.value, "%s", "52441802MJ0001002A");    //  check character
    s_ask_refused (&env, &market, &msg, "invalid");
    msg = s_request (HT_MSG_FIND, "no_such_kind", NULL);
    snprintf (msg.value, sizeof msg.value, "%s", HT_READ_USCC);
    s_ask_refused (&env, &market, &msg, "unknown_kind");
    ht_read_client_destroy (&civil);
    ht_read_client_destroy (&market);
    ht_read_env_close (&env);
}
END_TEST

START_TEST (count_totals_a_region_grouped_by_the_next_tier_down)
{
    s_env_t env;
    s_env_init (&env);
    s_client_t county, city, market;
    ht_read_department (&env, &county, 0x71, "civil_affairs");
    ht_read_department (&env, &market, 0x76, "market_regulation");
    ht_read_client_init (&env, &city, 0x90, "清远市民政局", HT_ROLE_DEPARTMENT, "civil_affairs",
                   NULL, HT_FIXTURE_CITY);
    s_reply_t reply;
    //  The county by township
    s_count (&env, &county, "elder", "", &reply);
    s_assert_ok (&reply, 0);
    ck_assert_str_eq (s_json_str (&reply, "region"), HT_FIXTURE_COUNTY);
    ck_assert_int_eq (json_integer_value (json_object_get (reply.json, "total")),
                      HT_READ_ELDER_COUNT);
    ck_assert_int_eq (json_object_size (json_object_get (reply.json, "by")), 2);
    ck_assert_int_eq (s_by (&reply, HT_FIXTURE_TOWNSHIP), 8);
    ck_assert_int_eq (s_by (&reply, S_TOWNSHIP_2), 2);
    ck_assert_ptr_null (reply.audit);
    ht_read_reply_destroy (&reply);
    //  A region above the client counts the client's part
    s_count (&env, &county, "elder", "4418", &reply);
    ck_assert_str_eq (s_json_str (&reply, "region"), HT_FIXTURE_COUNTY);
    ck_assert_int_eq (json_integer_value (json_object_get (reply.json, "total")),
                      HT_READ_ELDER_COUNT);
    ht_read_reply_destroy (&reply);
    //  A township by community
    s_count (&env, &county, "elder", "441802001", &reply);
    ck_assert_int_eq (json_integer_value (json_object_get (reply.json, "total")), 8);
    ck_assert_int_eq (s_by (&reply, HT_FIXTURE_COMMUNITY_A), 5);
    ck_assert_int_eq (s_by (&reply, HT_FIXTURE_COMMUNITY_B), 3);
    ck_assert_int_eq (json_object_size (json_object_get (reply.json, "by")), 2);
    ht_read_reply_destroy (&reply);
    //  The city by county
    s_count (&env, &city, "elder", "", &reply);
    ck_assert_int_eq (json_integer_value (json_object_get (reply.json, "total")),
                      HT_READ_ELDER_COUNT + 1);
    ck_assert_int_eq (s_by (&reply, HT_FIXTURE_COUNTY), HT_READ_ELDER_COUNT);
    ck_assert_int_eq (s_by (&reply, HT_READ_COUNTY_B), 1);
    ht_read_reply_destroy (&reply);
    //  Facilities; and elders not at all for the regulator
    s_count (&env, &market, "facility", "", &reply);
    ck_assert_int_eq (json_integer_value (json_object_get (reply.json, "total")), 1);
    ck_assert_int_eq (s_by (&reply, HT_FIXTURE_TOWNSHIP), 1);
    ht_read_reply_destroy (&reply);
    s_count_refused (&env, &market, "elder", "", "policy");
    //  A region that is not one
    s_count_refused (&env, &county, "elder", "44180", "bad_region");
    ht_read_client_destroy (&county);
    ht_read_client_destroy (&city);
    ht_read_client_destroy (&market);
    ht_read_env_close (&env);
}
END_TEST

START_TEST (history_marks_a_conflicting_version_and_the_current_one)
{
    s_env_t env;
    s_env_init (&env);
    ht_keypair_t *const *keys = env.fixture->keys;
    ht_record_t *first = ht_fixture_elder_in (env.fixture, keys [HT_FIXTURE_COMMUNITY_A_KEY],
                                              HT_FIXTURE_COMMUNITY_A, HT_FIXTURE_COMMUNITY_A,
                                              50, "李四", ht_fixture_hlc (2, 0));
    ht_record_t *theft = ht_fixture_elder_in (env.fixture, keys [HT_FIXTURE_COMMUNITY_B_KEY],
                                              HT_FIXTURE_COMMUNITY_B, HT_FIXTURE_COMMUNITY_B,
                                              50, "李四乙", ht_fixture_hlc (3, 0));
    ht_record_t *update = ht_fixture_elder_in (env.fixture, keys [HT_FIXTURE_COMMUNITY_A_KEY],
                                               HT_FIXTURE_COMMUNITY_A, HT_FIXTURE_COMMUNITY_A,
                                               50, "李四二", ht_fixture_hlc (4, 0));
    ck_assert_int_eq (s_put_result (&env, first), HT_OK);
    ck_assert_int_eq (s_put_result (&env, theft), HT_ENOTOWNER);
    ck_assert_int_eq (s_put_result (&env, update), HT_OK);
    char key [HT_READ_KEY_BYTES];
    snprintf (key, sizeof key, "%s", ht_record_key (first));
    s_client_t client;
    ht_read_department (&env, &client, 0x71, "civil_affairs");
    ht_msg_t msg = s_request (HT_MSG_HISTORY, "elder", "subsidy_review");
    snprintf (msg.key, sizeof msg.key, "%s", key);
    s_reply_t reply;
    s_ask (&env, &client, &msg, &reply);
    s_assert_ok (&reply, 3);
    json_t *versions = json_object_get (reply.json, "versions");
    ck_assert_uint_eq (json_array_size (versions), 3);
    size_t conflicts = 0;
    for (size_t index = 0; index < 3; index++) {
        json_t *note = json_array_get (versions, index);
        const ht_record_t *version = reply.records [index];
        ck_assert_str_eq (ht_record_key (version), key);
        bool current = json_is_true (json_object_get (note, "current"));
        ck_assert (json_is_boolean (json_object_get (note, "current")));
        ck_assert_int_eq (current, index == 2);
        json_t *conflict = json_object_get (note, "conflict");
        if (streq (ht_record_get_str (version, "name"), "李四乙")) {
            ck_assert_str_eq (json_string_value (conflict), "not_owner");
            ck_assert_str_eq (ht_record_region (version), HT_FIXTURE_COMMUNITY_B);
            conflicts++;
        }
        else
            ck_assert (json_is_null (conflict));
    }
    ck_assert_uint_eq (conflicts, 1);
    ck_assert_str_eq (ht_record_get_str (reply.records [0], "name"), "李四");
    ck_assert_str_eq (ht_record_get_str (reply.records [2], "name"), "李四二");
    ck_assert_str_eq (ht_record_get_str (reply.audit, "request"), "history");
    ck_assert_uint_eq (ht_record_get_strs_count (reply.audit, "subjects"), 1);
    ck_assert_str_eq (ht_record_get_strs_item (reply.audit, "subjects", 0), key);
    ht_read_reply_destroy (&reply);
    //  The history of an elder nobody contested is its current version
    snprintf (msg.key, sizeof msg.key, "%s", env.elder);
    s_ask (&env, &client, &msg, &reply);
    s_assert_ok (&reply, 1);
    ck_assert (json_is_true (json_object_get (json_array_get (
        json_object_get (reply.json, "versions"), 0), "current")));
    ht_read_reply_destroy (&reply);
    ht_record_destroy (&first);
    ht_record_destroy (&theft);
    ht_record_destroy (&update);
    ht_read_client_destroy (&client);
    ht_read_env_close (&env);
}
END_TEST

//  --------------------------------------------------------------------------
//  Emergencies

#define S_STARTS_MS (S_NOW_MS - HT_FIXTURE_DAY_MS)
#define S_ENDS_MS (S_NOW_MS + HT_FIXTURE_DAY_MS)

//  A declaration by the city: policy reads as grant in region
static ht_record_t *
s_declaration (s_env_t *env, const char *region, const char *doc_no, const char *policy,
               const char *grant)
{
    ht_record_t *record = ht_record_new ("emergency");
    ck_assert_ptr_nonnull (record);
    ck_assert_int_eq (ht_record_set_region (record, region), 0);
    ck_assert_int_eq (ht_record_set_scope (record, region), 0);
    ck_assert_int_eq (ht_record_set_str (record, "doc_no", doc_no), 0);
    ck_assert_int_eq (ht_record_set_int (record, "starts", (int64_t) S_STARTS_MS), 0);
    ck_assert_int_eq (ht_record_set_int (record, "ends", (int64_t) S_ENDS_MS), 0);
    ck_assert_int_eq (ht_record_set_str (record, "policy", policy), 0);
    ck_assert_int_eq (ht_record_set_str (record, "grant", grant), 0);
    ck_assert_int_eq (ht_record_set_str (record, "reason", "台风 typhoon evacuation"), 0);
    ck_assert_int_eq (ht_record_derive_key (record, NULL), 0);
    ht_record_set_hlc (record, ht_fixture_hlc (5, 0));
    ck_assert_int_eq (ht_record_sign (record, env->fixture->keys [HT_FIXTURE_ROOT]), 0);
    return record;
}

//  The city declares an emergency in community A for the emergency
//  policy (doc_no; its key into key if given), stored; client is an
//  emergency department of county A
static void
s_declared (s_env_t *env, const char *doc_no, char *key, s_client_t *client)
{
    ht_record_t *declaration = s_declaration (env, HT_FIXTURE_COMMUNITY_A, doc_no,
                                              "emergency", "emergency_declared");
    if (key)
        ht_read_put_keyed (env, &declaration, key);
    else
        ht_read_put (env, &declaration);
    ht_read_department (env, client, 0x78, "emergency");
}

START_TEST (a_declared_emergency_widens_its_policy_in_its_region_while_it_lasts)
{
    s_env_t env;
    s_env_init (&env);
    char key [HT_READ_KEY_BYTES];
    s_client_t client;
    s_declared (&env, "清远应急〔2024〕1号", key, &client);
    ht_msg_t msg = s_request (HT_MSG_GET, "elder", "emergency_response");
    snprintf (msg.key, sizeof msg.key, "%s", env.elder);
    //  Before it starts and from the moment it ends: counts only
    const uint64_t outside [] = { S_STARTS_MS - 1, S_ENDS_MS, S_ENDS_MS + HT_FIXTURE_DAY_MS };
    s_reply_t reply;
    for (size_t index = 0; index < HT_READ_COUNT (outside); index++) {
        s_ask_at (&env, &client, &msg, outside [index], &reply);
        s_refused (&reply, "policy");
    }
    //  From its start to just before its end: as emergency_declared
    const uint64_t inside [] = { S_STARTS_MS, S_NOW_MS, S_ENDS_MS - 1 };
    for (size_t index = 0; index < HT_READ_COUNT (inside); index++) {
        s_ask_at (&env, &client, &msg, inside [index], &reply);
        s_assert_ok (&reply, 1);
        const ht_record_t *seen = reply.records [0];
        ck_assert_str_eq (ht_record_get_str (seen, "name"), "张三");
        ck_assert_str_eq (ht_record_get_str (seen, "phone"), HT_READ_PHONE);
        ck_assert_uint_eq (ht_record_get_strs_count (seen, "categories"), 2);
        //  emergency_declared has no access to ID numbers
        ck_assert_int_eq (ht_record_field_state (seen, "id_no"), HT_FIELD_WITHHELD);
        ck_assert (!ht_read_contains (reply.data [0], reply.sizes [0], S_ID_NO));
        ck_assert_str_eq (s_json_str (&reply, "emergency"), key);
        ck_assert_str_eq (s_json_str (&reply, "policy"), "emergency");
        ck_assert_ptr_nonnull (reply.audit);
        ck_assert_str_eq (ht_record_get_str (reply.audit, "emergency"), key);
        ck_assert_str_eq (ht_record_get_str (reply.audit, "policy"), "emergency");
        ck_assert (!s_strs_has (reply.audit, "fields", "id_no"));
        ck_assert (s_strs_has (reply.audit, "fields", "categories"));
        ht_read_reply_destroy (&reply);
    }
    //  Only in its region: community B's elder is as absent as none
    snprintf (msg.key, sizeof msg.key, "%s", env.elders [5]);
    s_ask_refused (&env, &client, &msg, "not_found");
    //  Still with the purpose the grant allows
    msg = s_request (HT_MSG_GET, "elder", NULL);
    snprintf (msg.key, sizeof msg.key, "%s", env.elder);
    s_ask_refused (&env, &client, &msg, "purpose_required");
    msg = s_request (HT_MSG_GET, "elder", "inspection");
    snprintf (msg.key, sizeof msg.key, "%s", env.elder);
    s_ask_refused (&env, &client, &msg, "purpose_not_allowed");
    //  A listing of the declared region reads as declared
    s_list (&env, &client, "elder", HT_FIXTURE_COMMUNITY_A, NULL, NULL, NULL, 0,
            "emergency_response", &reply);
    s_assert_ok (&reply, 5);
    ck_assert_str_eq (s_json_str (&reply, "emergency"), key);
    ck_assert_str_eq (ht_record_get_str (reply.audit, "emergency"), key);
    ck_assert_str_eq (ht_record_get_str (reply.audit, "request"), "list");
    ht_read_reply_destroy (&reply);
    //  A listing of the county shows the declared region's part only
    s_list (&env, &client, "elder", NULL, NULL, NULL, NULL, 0, "emergency_response", &reply);
    s_assert_ok (&reply, 5);
    for (size_t index = 0; index < reply.count; index++)
        ck_assert_str_eq (ht_record_region (reply.records [index]), HT_FIXTURE_COMMUNITY_A);
    ht_read_reply_destroy (&reply);
    //  A declaration does not waive the field-lookup rule: looking up by
    //  a category answers the same whether anyone matches or not
    const char *categories [] = { "低保", "特困" };
    const char *regions [] = { HT_FIXTURE_COMMUNITY_A, HT_FIXTURE_COMMUNITY_B, "" };
    for (size_t r = 0; r < HT_READ_COUNT (regions); r++)
        for (size_t c = 0; c < HT_READ_COUNT (categories); c++) {
            s_list (&env, &client, "elder", regions [r], "categories", categories [c], NULL, 0,
                    "emergency_response", &reply);
            s_refused (&reply, "policy");
        }
    //  Only the policy it names: the fire brigade still counts only
    s_client_t fire;
    ht_read_department (&env, &fire, 0x77, "fire");
    msg = s_request (HT_MSG_GET, "elder", "emergency_response");
    snprintf (msg.key, sizeof msg.key, "%s", env.elder);
    s_ask_refused (&env, &fire, &msg, "policy");
    //  A read that discloses nothing personal names no emergency
    s_get (&env, &client, "facility", env.facility, NULL, &reply);
    s_assert_ok (&reply, 1);
    ck_assert (json_is_null (json_object_get (reply.json, "emergency")));
    ck_assert_ptr_null (reply.audit);
    ht_read_reply_destroy (&reply);
    ht_read_client_destroy (&fire);
    ht_read_client_destroy (&client);
    ht_read_env_close (&env);
}
END_TEST

START_TEST (the_history_of_a_record_no_declaration_widens_is_not_found)
{
    //  A counts-only client during a declaration elsewhere: the record is
    //  looked up (a declaration could widen it) but shown as absent. Run
    //  under a leak checker, this also checks the refusal frees its note.
    s_env_t env;
    s_env_init (&env);
    s_client_t client;
    s_declared (&env, "清远应急〔2024〕3号", NULL, &client);
    ht_msg_t msg = s_request (HT_MSG_HISTORY, "elder", "emergency_response");
    snprintf (msg.key, sizeof msg.key, "%s", env.elders [5]);      //  community B
    s_reply_t reply;
    s_ask_refused (&env, &client, &msg, "not_found");
    //  ... while in the declared region it reads as declared
    snprintf (msg.key, sizeof msg.key, "%s", env.elder);
    s_ask (&env, &client, &msg, &reply);
    s_assert_ok (&reply, 1);
    ck_assert_ptr_nonnull (json_string_value (json_object_get (reply.json, "emergency")));
    ht_read_reply_destroy (&reply);
    ht_read_client_destroy (&client);
    ht_read_env_close (&env);
}
END_TEST

START_TEST (a_deleted_declaration_widens_nothing)
{
    s_env_t env;
    s_env_init (&env);
    char key [HT_READ_KEY_BYTES];
    s_client_t client;
    s_declared (&env, "清远应急〔2024〕2号", key, &client);
    s_reply_t reply;
    s_get (&env, &client, "elder", env.elder, "emergency_response", &reply);
    s_assert_ok (&reply, 1);
    ht_read_reply_destroy (&reply);
    //  Lifted early: a tombstone of the declaration
    ht_record_t *tomb = ht_record_new ("emergency");
    ck_assert_int_eq (ht_record_set_key (tomb, key), 0);
    ck_assert_int_eq (ht_record_set_region (tomb, HT_FIXTURE_COMMUNITY_A), 0);
    ck_assert_int_eq (ht_record_set_scope (tomb, HT_FIXTURE_COMMUNITY_A), 0);
    ht_record_set_deleted (tomb, true);
    ht_record_set_hlc (tomb, ht_fixture_hlc (6, 0));
    ck_assert_int_eq (ht_record_sign (tomb, env.fixture->keys [HT_FIXTURE_ROOT]), 0);
    ht_read_put (&env, &tomb);
    s_get_refused (&env, &client, "elder", env.elder, "emergency_response", "policy");
    ht_read_client_destroy (&client);
    ht_read_env_close (&env);
}
END_TEST

//  --------------------------------------------------------------------------
//  Audit drafts and records

START_TEST (a_get_leaves_an_audit_draft_naming_who_read_what_and_why)
{
    s_env_t env;
    s_env_init (&env);
    s_client_t client;
    ht_read_department (&env, &client, 0x71, "civil_affairs");
    s_reply_t reply;
    s_get (&env, &client, "elder", env.elder, "subsidy_review", &reply);
    s_assert_ok (&reply, 1);
    const ht_record_t *draft = reply.audit;
    ck_assert_ptr_nonnull (draft);
    ck_assert_str_eq (ht_record_kind (draft), "audit");
    ck_assert (!ht_record_is_signed (draft));
    ck_assert_str_eq (ht_record_get_str (draft, "client"), client.client.user);
    ck_assert_str_eq (ht_record_get_str (draft, "client_name"), "清城区 civil_affairs");
    ck_assert_str_eq (ht_record_get_str (draft, "department"), "civil_affairs");
    ck_assert_str_eq (ht_record_get_str (draft, "policy"), "civil_affairs");
    ck_assert_str_eq (ht_record_get_str (draft, "purpose"), "subsidy_review");
    ck_assert_str_eq (ht_record_get_str (draft, "request"), "get");
    ck_assert_str_eq (ht_record_get_str (draft, "subject_kind"), "elder");
    int64_t at = 0;
    ck_assert (ht_record_get_int (draft, "at", &at));
    ck_assert_int_eq (at, (int64_t) S_NOW_MS);
    ck_assert_uint_eq (ht_record_get_strs_count (draft, "subjects"), 1);
    ck_assert_str_eq (ht_record_get_strs_item (draft, "subjects", 0), env.elder);
    //  Every PI / S field with a value, in full; no masks
    const char *disclosed [] = { "ability_level", "address", "birth_date", "care_level",
                                 "categories", "ethnicity", "hukou_region", "id_no", "living",
                                 "name", "phone", "sex", "status" };
    ck_assert_uint_eq (ht_record_get_strs_count (draft, "fields"), HT_READ_COUNT (disclosed));
    for (size_t index = 0; index < HT_READ_COUNT (disclosed); index++)
        ck_assert_str_eq (ht_record_get_strs_item (draft, "fields", index), disclosed [index]);
    ck_assert (!s_strs_has (draft, "fields", "id_type"));        //  internal, not personal
    ck_assert_int_eq (ht_record_field_state (draft, "masked"), HT_FIELD_ABSENT);
    ck_assert_int_eq (ht_record_field_state (draft, "emergency"), HT_FIELD_ABSENT);
    ht_read_reply_destroy (&reply);
    //  Finance: masks, and nothing in full
    s_client_t finance;
    ht_read_department (&env, &finance, 0x74, "finance");
    s_get (&env, &finance, "elder", env.elder, "subsidy_review", &reply);
    draft = reply.audit;
    ck_assert_ptr_nonnull (draft);
    ck_assert_uint_eq (ht_record_get_strs_count (draft, "fields"), 0);
    const char *masked [] = { "address", "birth_date", "hukou_region", "id_no", "phone" };
    ck_assert_uint_eq (ht_record_get_strs_count (draft, "masked"), HT_READ_COUNT (masked));
    for (size_t index = 0; index < HT_READ_COUNT (masked); index++)
        ck_assert_str_eq (ht_record_get_strs_item (draft, "masked", index), masked [index]);
    ck_assert_str_eq (ht_record_get_str (draft, "policy"), "finance");
    ht_read_reply_destroy (&reply);
    //  A partner has no department
    s_client_t partner;
    ht_read_client_init (&env, &partner, 0x75, "颐康护理 app", HT_ROLE_PARTNER, NULL, NULL,
                   HT_FIXTURE_COUNTY);
    s_get (&env, &partner, "elder", env.elder, "care_service", &reply);
    ck_assert_int_eq (ht_record_field_state (reply.audit, "department"), HT_FIELD_ABSENT);
    ck_assert_str_eq (ht_record_get_str (reply.audit, "client_name"), "颐康护理 app");
    ck_assert_str_eq (ht_record_get_str (reply.audit, "policy"), "partner");
    ht_read_reply_destroy (&reply);
    ht_read_client_destroy (&partner);
    ht_read_client_destroy (&finance);
    ht_read_client_destroy (&client);
    ht_read_env_close (&env);
}
END_TEST

START_TEST (a_list_leaves_one_audit_draft_naming_every_record_shown)
{
    s_env_t env;
    s_env_init (&env);
    s_client_t client;
    ht_read_department (&env, &client, 0x72, "health");
    s_reply_t reply;
    s_list (&env, &client, "elder", HT_FIXTURE_COMMUNITY_A, NULL, NULL, NULL, 0,
            "care_service", &reply);
    s_assert_ok (&reply, 5);
    const ht_record_t *draft = reply.audit;
    ck_assert_ptr_nonnull (draft);
    ck_assert_str_eq (ht_record_get_str (draft, "request"), "list");
    ck_assert_str_eq (ht_record_get_str (draft, "client"), client.client.user);
    ck_assert_str_eq (ht_record_get_str (draft, "client_name"), "清城区 health");
    ck_assert_str_eq (ht_record_get_str (draft, "department"), "health");
    ck_assert_str_eq (ht_record_get_str (draft, "policy"), "health");
    ck_assert_str_eq (ht_record_get_str (draft, "purpose"), "care_service");
    ck_assert_str_eq (ht_record_get_str (draft, "subject_kind"), "elder");
    ck_assert_uint_eq (ht_record_get_strs_count (draft, "subjects"), 5);
    for (size_t index = 0; index < 5; index++) {
        ck_assert (s_strs_has (draft, "subjects", env.elders [index]));
        ck_assert (s_strs_has (draft, "subjects", ht_record_key (reply.records [index])));
    }
    //  The union of what the page showed: 张三's phone, address and ability
    //  too, but no category (masked for health, and a list gets no mask)
    ck_assert (s_strs_has (draft, "fields", "name"));
    ck_assert (s_strs_has (draft, "fields", "id_no"));
    ck_assert (s_strs_has (draft, "fields", "phone"));
    ck_assert (s_strs_has (draft, "fields", "ability_level"));
    ck_assert (!s_strs_has (draft, "fields", "categories"));
    ck_assert (!s_strs_has (draft, "fields", "ethnicity"));
    ck_assert (!s_strs_has (draft, "fields", "contact"));         //  nobody has one
    ck_assert_int_eq (ht_record_field_state (draft, "masked"), HT_FIELD_ABSENT);
    ht_read_reply_destroy (&reply);
    //  An empty page discloses nothing and leaves no draft
    s_list (&env, &client, "elder", HT_FIXTURE_COMMUNITY_A, "status", "moved", NULL, 0,
            "care_service", &reply);
    s_assert_ok (&reply, 0);
    ck_assert_ptr_null (reply.audit);
    ht_read_reply_destroy (&reply);
    ht_read_client_destroy (&client);
    ht_read_env_close (&env);
}
END_TEST

//  The drafts of a GET and a LIST by civil affairs (taken: the caller
//  destroys them)
static void
s_two_drafts (s_env_t *env, ht_record_t *drafts [2])
{
    s_client_t client;
    ht_read_department (env, &client, 0x71, "civil_affairs");
    s_reply_t reply;
    s_get (env, &client, "elder", env->elder, "subsidy_review", &reply);
    drafts [0] = reply.audit;
    reply.audit = NULL;
    ht_read_reply_destroy (&reply);
    s_list (env, &client, "elder", NULL, NULL, NULL, NULL, 0, "subsidy_review", &reply);
    drafts [1] = reply.audit;
    reply.audit = NULL;
    ht_read_reply_destroy (&reply);
    ck_assert_ptr_nonnull (drafts [0]);
    ck_assert_ptr_nonnull (drafts [1]);
    ht_read_client_destroy (&client);
}

//  At a node whose clock runs ahead of its parent's, audit records are
//  dated by the parent's clock: the node's own ingest gate would refuse
//  them as clock_skew otherwise, and every audited read with them
START_TEST (a_node_ahead_of_its_parent_dates_its_audit_records_by_the_parents_clock)
{
    s_env_t env;
    s_env_init (&env);
    ht_record_t *drafts [2];
    s_two_drafts (&env, drafts);
    ck_assert_int_eq (ht_store_set_ingest_window (env.store, HT_GATE_INGEST_BEHIND_MS,
                                                  HT_GATE_INGEST_AHEAD_MS), 0);
    //  Eight minutes: past the ingest window ahead (5), well inside the
    //  one behind (10), so a slow run (valgrind) stays clear of stale
    const int64_t lead = 8 * 60 * 1000;
    uint64_t now = ht_hlc_wall_ms ();
    ck_assert_int_eq (ht_store_set_clock_lead (env.store, lead, now), 0);
    ht_audit_t *audit = ht_audit_new (env.store, env.fixture->keys [HT_FIXTURE_ROOT],
                                      HT_FIXTURE_CITY);
    //  Dated by our clock: refused
    int results [2] = { -999, -999 };
    ck_assert_uint_eq (ht_audit_commit (audit, drafts, 1, results), 0);
    ck_assert_int_eq (results [0], HT_ECLOCKSKEW);
    //  Told the lead: dated by the parent's clock, and stored
    ht_audit_set_clock_lead (audit, lead);
    ck_assert_uint_eq (ht_audit_commit (audit, drafts + 1, 1, results), 1);
    ck_assert_int_eq (results [0], HT_OK);
    uint64_t at = ht_hlc_ms (ht_record_hlc (drafts [1]));
    ck_assert_uint_le (at, ht_hlc_wall_ms () - (uint64_t) lead + 1000);
    ck_assert_uint_ge (at, now - (uint64_t) lead);
    ht_audit_destroy (&audit);
    ht_record_destroy (&drafts [0]);
    ht_record_destroy (&drafts [1]);
    ht_read_env_close (&env);
}
END_TEST

START_TEST (committed_audit_records_verify_and_are_listed_as_audit)
{
    s_env_t env;
    s_env_init (&env);
    ht_record_t *drafts [2];
    s_two_drafts (&env, drafts);
    ht_audit_t *audit = ht_audit_new (env.store, env.fixture->keys [HT_FIXTURE_ROOT],
                                      HT_FIXTURE_CITY);
    int results [2] = { -999, -999 };
    ck_assert_uint_eq (ht_audit_commit (audit, drafts, 2, results), 2);
    ck_assert_int_eq (results [0], HT_OK);
    ck_assert_int_eq (results [1], HT_OK);
    ck_assert_uint_eq (ht_audit_written (audit), 2);
    ck_assert_uint_eq (ht_audit_failed (audit), 0);
    ck_assert_uint_eq (ht_store_count (env.store, "audit"), 2);
    char keys [2][HT_READ_KEY_BYTES];
    for (size_t index = 0; index < 2; index++) {
        //  Completed: keyed, placed at the node, signed by it
        ck_assert (ht_record_is_signed (drafts [index]));
        ck_assert_str_eq (ht_record_region (drafts [index]), HT_FIXTURE_CITY);
        ck_assert_str_eq (ht_record_scope (drafts [index]), HT_FIXTURE_CITY);
        ck_assert_uint_gt (ht_record_hlc (drafts [index]), 0);
        snprintf (keys [index], sizeof keys [index], "%s", ht_record_key (drafts [index]));
        ht_record_t *stored = ht_store_get (env.store, "audit", keys [index], NULL);
        ck_assert_ptr_nonnull (stored);
        ck_assert_int_eq (ht_record_verify (stored, NULL), HT_OK);
        ck_assert_mem_eq (ht_record_author (stored),
                          ht_keypair_public (env.fixture->keys [HT_FIXTURE_ROOT]),
                          HT_PUBKEY_BYTES);
        ck_assert_int_eq (ht_record_compare (stored, drafts [index]), 0);
        ht_record_destroy (&stored);
    }
    ck_assert_str_ne (keys [0], keys [1]);
    //  The city's civil affairs lists them; reading audits is not audited
    s_client_t city, county, health;
    ht_read_client_init (&env, &city, 0x90, "清远市民政局", HT_ROLE_DEPARTMENT, "civil_affairs",
                   NULL, HT_FIXTURE_CITY);
    s_reply_t reply;
    s_list (&env, &city, "audit", NULL, NULL, NULL, NULL, 0, NULL, &reply);
    s_assert_ok (&reply, 2);
    ck_assert_ptr_null (reply.audit);
    for (size_t index = 0; index < 2; index++) {
        const char *key = ht_record_key (reply.records [index]);
        ck_assert (streq (key, keys [0]) || streq (key, keys [1]));
        ck_assert_str_eq (ht_record_get_str (reply.records [index], "subject_kind"), "elder");
    }
    ht_read_reply_destroy (&reply);
    //  ... and by the elder's ID number
    s_list (&env, &city, "audit", NULL, "subject_id_no", S_ID_NO, NULL, 0, NULL, &reply);
    s_assert_ok (&reply, 2);
    ht_read_reply_destroy (&reply);
    //  Shared down from the city, a county client sees them too
    ht_read_department (&env, &county, 0x71, "civil_affairs");
    s_list (&env, &county, "audit", "4418", NULL, NULL, NULL, 0, NULL, &reply);
    s_assert_ok (&reply, 2);
    ht_read_reply_destroy (&reply);
    //  Health may not read audits at all
    ht_read_department (&env, &health, 0x72, "health");
    s_list (&env, &health, "audit", "4418", NULL, NULL, NULL, 0, NULL, &reply);
    s_refused (&reply, "policy");
    ht_read_client_destroy (&city);
    ht_read_client_destroy (&county);
    ht_read_client_destroy (&health);
    ht_record_destroy (&drafts [0]);
    ht_record_destroy (&drafts [1]);
    ht_audit_destroy (&audit);
    ht_audit_destroy (&audit);          //  safe twice
    ht_read_env_close (&env);
}
END_TEST

START_TEST (a_full_store_fails_every_audit_draft_and_stores_none)
{
    s_env_t env;
    s_env_init_empty (&env, S_SMALL_MAP_BYTES);
    s_env_elders (&env);
    ck_assert_int_eq (ht_store_set_map_limit (env.store, S_SMALL_MAP_BYTES), 0);
    ht_record_t *drafts [8];
    s_two_drafts (&env, drafts);
    //  Six more drafts, each naming a thousand subjects: more than the map holds
    const char *subjects [HT_AUDIT_MAX_SUBJECTS];
    char (*names) [HT_READ_KEY_BYTES] = calloc (HT_AUDIT_MAX_SUBJECTS, HT_READ_KEY_BYTES);
    for (size_t index = 2; index < HT_READ_COUNT (drafts); index++) {
        drafts [index] = ht_record_dup (drafts [0]);
        for (size_t subject = 0; subject < HT_AUDIT_MAX_SUBJECTS; subject++) {
            snprintf (names [subject], HT_READ_KEY_BYTES, "%02zx%04zx%058zx", index, subject,
                      subject);
            subjects [subject] = names [subject];
        }
        ck_assert_int_eq (ht_record_set_strs (drafts [index], "subjects", subjects,
                                              HT_AUDIT_MAX_SUBJECTS), 0);
    }
    free (names);
    ht_audit_t *audit = ht_audit_new (env.store, env.fixture->keys [HT_FIXTURE_ROOT],
                                      HT_FIXTURE_CITY);
    int results [HT_READ_COUNT (drafts)];
    for (size_t index = 0; index < HT_READ_COUNT (drafts); index++)
        results [index] = 12345;
    ck_assert_uint_eq (ht_audit_commit (audit, drafts, HT_READ_COUNT (drafts), results), 0);
    for (size_t index = 0; index < HT_READ_COUNT (drafts); index++)
        ck_assert_msg (results [index] != HT_OK && results [index] != 12345,
                       "draft %zu: %d", index, results [index]);
    ck_assert_int_eq (results [0], HT_EFULL);
    ck_assert_uint_eq (ht_audit_written (audit), 0);
    ck_assert_uint_eq (ht_audit_failed (audit), HT_READ_COUNT (drafts));
    ck_assert_uint_eq (ht_store_count (env.store, "audit"), 0);
    ck_assert_uint_eq (ht_store_map_bytes (env.store), S_SMALL_MAP_BYTES);
    //  The two small ones alone still fit
    int two [2];
    ck_assert_uint_eq (ht_audit_commit (audit, drafts, 2, two), 2);
    ck_assert_int_eq (two [0], HT_OK);
    ck_assert_int_eq (two [1], HT_OK);
    ck_assert_uint_eq (ht_store_count (env.store, "audit"), 2);
    for (size_t index = 0; index < HT_READ_COUNT (drafts); index++)
        ht_record_destroy (&drafts [index]);
    ht_audit_destroy (&audit);
    ht_read_env_close (&env);
}
END_TEST

START_TEST (requests_for_unknown_kinds_or_kinds_outside_the_policy_are_refused)
{
    s_env_t env;
    s_env_init (&env);
    s_client_t client;
    ht_read_department (&env, &client, 0x72, "health");
    s_get_refused (&env, &client, "no_such_kind", env.elder, "care_service", "unknown_kind");
    //  Health's kinds have no cert, revocation or audit
    const char *kinds [] = { "cert", "revocation", "audit" };
    for (size_t index = 0; index < HT_READ_COUNT (kinds); index++) {
        s_count_refused (&env, &client, kinds [index], "", "policy");
    }
    //  The engine answers the five reads and nothing else
    ck_assert (ht_query_handles (HT_MSG_GET));
    ck_assert (ht_query_handles (HT_MSG_FIND));
    ck_assert (ht_query_handles (HT_MSG_LIST));
    ck_assert (ht_query_handles (HT_MSG_COUNT));
    ck_assert (ht_query_handles (HT_MSG_HISTORY));
    ck_assert (!ht_query_handles (HT_MSG_PUT));
    ck_assert (!ht_query_handles (HT_MSG_STATUS));
    ck_assert (!ht_query_handles (HT_MSG_GET_OK));
    ht_read_client_destroy (&client);
    ht_read_env_close (&env);
}
END_TEST

static Suite *
query_suite (void)
{
    Suite *suite = suite_create ("ht_query");
    TCase *tc = tcase_create ("departments");
    tcase_add_unchecked_fixture (tc, ht_read_sodium_setup, NULL);
    tcase_add_test (tc, civil_affairs_gets_the_whole_elder);
    tcase_add_test (tc, health_and_medical_insurance_get_identity_and_ability_but_not_categories);
    tcase_add_test (tc, finance_gets_masks_of_the_elder_and_no_personal_value);
    tcase_add_test (tc, a_partner_gets_masked_identity_and_no_id_number);
    tcase_add_test (tc, market_regulation_fire_emergency_and_operators_get_no_elder);
    tcase_add_test (tc, the_certificates_policy_comes_before_its_department_and_its_role);
    tcase_add_test (tc, requests_for_unknown_kinds_or_kinds_outside_the_policy_are_refused);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("purposes");
    tcase_add_unchecked_fixture (tc, ht_read_sodium_setup, NULL);
    tcase_add_test (tc, a_personal_read_needs_a_purpose_its_policy_lists);
    tcase_add_test (tc, a_read_without_a_purpose_does_not_tell_whether_a_record_exists);
    tcase_add_test (tc, public_only_reads_and_counts_need_no_purpose_and_leave_no_audit);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("regions");
    tcase_add_unchecked_fixture (tc, ht_read_sodium_setup, NULL);
    tcase_add_test (tc, a_county_client_cannot_see_another_countys_elder);
    tcase_add_test (tc, a_county_client_sees_a_city_scope_record_of_another_county_only);
    tcase_add_test (tc, a_policy_region_narrows_a_certificate_and_never_widens_it);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("requests");
    tcase_add_unchecked_fixture (tc, ht_read_sodium_setup, NULL);
    tcase_add_test (tc, list_pages_return_every_visible_record_once_in_a_stable_order);
    tcase_add_test (tc, a_list_page_and_the_entries_it_examines_are_bounded);
    tcase_add_test (tc, listing_by_a_field_needs_full_access_to_its_group);
    tcase_add_test (tc, find_looks_up_an_elder_by_id_number_and_a_facility_by_uscc);
    tcase_add_test (tc, count_totals_a_region_grouped_by_the_next_tier_down);
    tcase_add_test (tc, history_marks_a_conflicting_version_and_the_current_one);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("emergencies");
    tcase_add_unchecked_fixture (tc, ht_read_sodium_setup, NULL);
    tcase_add_test (tc, a_declared_emergency_widens_its_policy_in_its_region_while_it_lasts);
    tcase_add_test (tc, a_deleted_declaration_widens_nothing);
    tcase_add_test (tc, the_history_of_a_record_no_declaration_widens_is_not_found);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("audit");
    tcase_add_unchecked_fixture (tc, ht_read_sodium_setup, NULL);
    tcase_add_test (tc, a_get_leaves_an_audit_draft_naming_who_read_what_and_why);
    tcase_add_test (tc, a_list_leaves_one_audit_draft_naming_every_record_shown);
    tcase_add_test (tc, committed_audit_records_verify_and_are_listed_as_audit);
    tcase_add_test (tc, a_node_ahead_of_its_parent_dates_its_audit_records_by_the_parents_clock);
    tcase_add_test (tc, a_full_store_fails_every_audit_draft_and_stores_none);
    suite_add_tcase (suite, tc);
    return suite;
}

HT_TEST_MAIN (query_suite)

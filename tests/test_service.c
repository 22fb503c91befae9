//  test_service: the client service's PUTs, answered one at a time or
//  held and stored together (group commit), each reply as if its PUT had
//  been stored alone
#include <czmq.h>
#include "ht_test.h"
#include "ht_fixture.h"
#include "ht_service.h"

typedef struct {
    ht_fixture_t *fixture;          //  keys and certs
    ht_store_t *store;              //  a township's store
    char dir [HT_FIXTURE_DIR_CHARS];
    ht_config_t config;
    ht_service_t *service;
    size_t wrote;                   //  io.wrote calls
    char user_a [2 * HT_PUBKEY_BYTES + 1];  //  community A's key, as a client
    char user_b [2 * HT_PUBKEY_BYTES + 1];  //  community B's
} s_env_t;

static void
s_wrote (void *arg)
{
    ((s_env_t *) arg)->wrote++;
}

static void
s_env_setup (s_env_t *env)
{
    memset (env, 0, sizeof *env);
    env->fixture = ht_fixture_new ();
    env->store = ht_fixture_store_new (env->fixture, HT_FIXTURE_TOWNSHIP, 0, env->dir);
    ht_fixture_apply_certs (env->fixture, env->store);
    ht_config_defaults (&env->config);
    snprintf (env->config.region, sizeof env->config.region, "%s", HT_FIXTURE_TOWNSHIP);
    ht_service_io_t io = { .wrote = s_wrote, .arg = env };
    env->service = ht_service_new (env->store, &env->config, io);
    ht_hex_encode (ht_keypair_public (env->fixture->keys [HT_FIXTURE_COMMUNITY_A_KEY]),
                   HT_PUBKEY_BYTES, env->user_a);
    ht_hex_encode (ht_keypair_public (env->fixture->keys [HT_FIXTURE_COMMUNITY_B_KEY]),
                   HT_PUBKEY_BYTES, env->user_b);
}

static void
s_env_teardown (s_env_t *env)
{
    ht_service_destroy (&env->service);
    ht_fixture_store_destroy (&env->store, env->dir);
    ht_fixture_destroy (&env->fixture);
}

//  A PUT request with token carrying records (borrowed)
static zmsg_t *
s_put_request (uint64_t token, ht_record_t **records, size_t count)
{
    ht_msg_t msg;
    ht_msg_init (&msg, HT_MSG_PUT);
    msg.token = token;
    zmsg_t *request = ht_msg_encode (&msg);
    for (size_t i = 0; i < count; i++) {
        uint8_t *bytes = NULL;
        size_t size = 0;
        ck_assert_int_eq (ht_record_encode (records [i], &bytes, &size), 0);
        zmsg_addmem (request, bytes, size);
        free (bytes);
    }
    return request;
}

//  Ask the service; NULL if it held the request
static zmsg_t *
s_ask (s_env_t *env, const char *routing, const char *user, zmsg_t *request)
{
    zframe_t *routing_id = zframe_new (routing, strlen (routing));
    ht_service_read_t read;
    zmsg_t *reply = ht_service_answer (env->service, routing_id, user, &request,
                                       zclock_mono (), &read);
    zframe_destroy (&routing_id);
    zmsg_destroy (&request);
    ck_assert (reply || read.held);
    return reply;
}

//  A reply's routing id (if routed), token and JSON document (the
//  caller owns it); the reply is consumed
static json_t *
s_reply_json (zmsg_t **reply_p, const char *routing, uint64_t token)
{
    zmsg_t *reply = *reply_p;
    ck_assert_ptr_nonnull (reply);
    if (routing) {
        char *first = zmsg_popstr (reply);
        ck_assert_str_eq (first, routing);
        zstr_free (&first);
    }
    ht_msg_t msg;
    const char *reason = NULL;
    ck_assert_int_eq (ht_msg_decode (reply, &msg, &reason), 0);
    ck_assert_uint_eq (msg.token, token);
    char *text = zmsg_popstr (reply);
    ck_assert_ptr_nonnull (text);
    json_t *json = json_loads (text, 0, NULL);
    ck_assert_ptr_nonnull (json);
    zstr_free (&text);
    zmsg_destroy (reply_p);
    return json;
}

static json_int_t
s_int (const json_t *json, const char *name)
{
    return json_integer_value (json_object_get (json, name));
}

//  One count of a PUT's reply (as s_reply_json takes it)
static json_int_t
s_count (zmsg_t **reply_p, const char *routing, uint64_t token, const char *name)
{
    json_t *json = s_reply_json (reply_p, routing, token);
    json_int_t count = s_int (json, name);
    json_decref (json);
    return count;
}

static const char *
s_result (const json_t *json, size_t index)
{
    return json_string_value (json_array_get (json_object_get (json, "results"), index));
}

//  count elders of a community from serial first, on day 1 (counter picks
//  a version of the same day)
static ht_record_t **
s_elders (const s_env_t *env, ht_fixture_principal_t community, unsigned first,
          size_t count, const char *name, uint16_t counter)
{
    return ht_fixture_elders (env->fixture, community, first, count, name,
                              ht_fixture_hlc (1, counter));
}

//  PUTs of two clients held together are stored once the hold ends, in
//  one go: each gets its own reply (token, routing id, counts, results),
//  a record its author may not write is quarantined against its own
//  client, and the neighbours hear of the writes once
START_TEST (puts_held_together_are_each_answered_as_if_stored_alone)
{
    s_env_t env;
    s_env_setup (&env);
    ht_record_t **first = s_elders (&env, HT_FIXTURE_COMMUNITY_A_KEY, 1, 3, "冯十二", 0);
    ht_record_t **second = s_elders (&env, HT_FIXTURE_COMMUNITY_B_KEY, 10, 2, "冯十二", 0);
    //  Community B's key signing an elder of community A: not its region
    ht_record_t **third = s_elders (&env, HT_FIXTURE_COMMUNITY_A_KEY, 20, 2, "冯十二", 0);
    ck_assert_int_eq (ht_record_sign (third [1], env.fixture->keys [HT_FIXTURE_COMMUNITY_B_KEY]),
                      0);

    ht_service_hold_puts (env.service, true);
    ck_assert_ptr_null (s_ask (&env, "r1", env.user_a, s_put_request (11, first, 3)));
    ck_assert_ptr_null (s_ask (&env, "r2", env.user_b, s_put_request (22, second, 2)));
    ck_assert_ptr_null (s_ask (&env, "r3", env.user_a, s_put_request (33, third, 2)));
    ck_assert_ptr_null (ht_service_next_reply (env.service));
    ck_assert_uint_eq (ht_store_count (env.store, "elder"), 0);     //  nothing stored yet
    ht_service_hold_puts (env.service, false);
    ck_assert_uint_eq (ht_store_count (env.store, "elder"), 6);
    ck_assert_uint_eq (env.wrote, 1);

    zmsg_t *reply = ht_service_next_reply (env.service);
    json_t *json = s_reply_json (&reply, "r1", 11);
    ck_assert_int_eq (s_int (json, "applied"), 3);
    ck_assert_int_eq (s_int (json, "quarantined"), 0);
    ck_assert_str_eq (s_result (json, 2), "ok");
    json_decref (json);
    reply = ht_service_next_reply (env.service);
    json = s_reply_json (&reply, "r2", 22);
    ck_assert_int_eq (s_int (json, "applied"), 2);
    ck_assert_int_eq (json_array_size (json_object_get (json, "results")), 2);
    json_decref (json);
    reply = ht_service_next_reply (env.service);
    json = s_reply_json (&reply, "r3", 33);
    ck_assert_int_eq (s_int (json, "applied"), 1);
    ck_assert_int_eq (s_int (json, "quarantined"), 1);
    ck_assert_str_eq (s_result (json, 0), "ok");
    ck_assert_str_ne (s_result (json, 1), "ok");
    json_decref (json);
    ck_assert_ptr_null (ht_service_next_reply (env.service));
    //  The refused record counts against the client that sent it
    char counter [48];
    snprintf (counter, sizeof counter, "qn:client:%.16s", env.user_a);
    ck_assert_uint_eq (ht_store_counter (env.store, counter), 1);
    snprintf (counter, sizeof counter, "qn:client:%.16s", env.user_b);
    ck_assert_uint_eq (ht_store_counter (env.store, counter), 0);

    ht_fixture_records_destroy (first, 3);
    ht_fixture_records_destroy (second, 2);
    ht_fixture_records_destroy (third, 2);
    s_env_teardown (&env);
}
END_TEST

//  A held PUT naming an entity that one held before it names is compared
//  with what is stored once that one is: a second version saying what the
//  first says changes nothing, as when each PUT is stored alone
START_TEST (a_held_put_of_an_entity_another_held_put_names_is_judged_after_it)
{
    s_env_t env;
    s_env_setup (&env);
    ht_record_t **version = s_elders (&env, HT_FIXTURE_COMMUNITY_A_KEY, 5, 1, "冯十二", 0);
    ht_record_t **same = s_elders (&env, HT_FIXTURE_COMMUNITY_A_KEY, 5, 1, "冯十二", 1);
    ht_service_hold_puts (env.service, true);
    ck_assert_ptr_null (s_ask (&env, "r1", env.user_a, s_put_request (1, version, 1)));
    ck_assert_ptr_null (s_ask (&env, "r1", env.user_a, s_put_request (2, same, 1)));
    ht_service_hold_puts (env.service, false);
    zmsg_t *reply = ht_service_next_reply (env.service);
    ck_assert_int_eq (s_count (&reply, "r1", 1, "applied"), 1);
    reply = ht_service_next_reply (env.service);
    json_t *json = s_reply_json (&reply, "r1", 2);
    ck_assert_int_eq (s_int (json, "applied"), 0);
    ck_assert_int_eq (s_int (json, "unchanged"), 1);
    json_decref (json);
    ht_record_t *current = ht_store_get (env.store, "elder", ht_record_key (version [0]), NULL);
    ck_assert_ptr_nonnull (current);
    ck_assert_uint_eq (ht_record_hlc (current), ht_record_hlc (version [0]));
    ht_record_destroy (&current);
    ht_fixture_records_destroy (version, 1);
    ht_fixture_records_destroy (same, 1);
    s_env_teardown (&env);
}
END_TEST

//  A request of another kind is answered after the PUTs held before it
//  are stored (their replies queued ahead of its own), so a client that
//  sends a PUT and then asks reads its write; a lone PUT with no hold is
//  stored and answered at once
START_TEST (a_request_after_held_puts_sees_them_stored_and_a_lone_put_is_answered_at_once)
{
    s_env_t env;
    s_env_setup (&env);
    ht_record_t **held = s_elders (&env, HT_FIXTURE_COMMUNITY_A_KEY, 1, 2, "冯十二", 0);
    ht_service_hold_puts (env.service, true);
    ck_assert_ptr_null (s_ask (&env, "r1", env.user_a, s_put_request (7, held, 2)));
    ht_msg_t msg;
    ht_msg_init (&msg, HT_MSG_INFO);
    msg.token = 8;
    zmsg_t *info = s_ask (&env, "r1", env.user_a, ht_msg_encode (&msg));
    ck_assert_uint_eq (ht_store_count (env.store, "elder"), 2);
    zmsg_t *queued = ht_service_next_reply (env.service);
    ck_assert_int_eq (s_count (&queued, "r1", 7, "applied"), 2);
    json_t *json = s_reply_json (&info, NULL, 8);
    json_decref (json);
    ht_service_hold_puts (env.service, false);
    ck_assert_ptr_null (ht_service_next_reply (env.service));

    ht_record_t **alone = s_elders (&env, HT_FIXTURE_COMMUNITY_A_KEY, 3, 1, "冯十二", 0);
    zmsg_t *reply = s_ask (&env, "r1", env.user_a, s_put_request (9, alone, 1));
    ck_assert_int_eq (s_count (&reply, NULL, 9, "applied"), 1);
    ck_assert_uint_eq (ht_store_count (env.store, "elder"), 3);
    ht_fixture_records_destroy (held, 2);
    ht_fixture_records_destroy (alone, 1);
    s_env_teardown (&env);
}
END_TEST

//  A PUT carrying a certificate is never held: it changes who may write
//  and whose key is admitted, so the PUTs held before it are stored first
//  and it is stored and answered at once, before anything after it
START_TEST (a_put_carrying_a_certificate_is_stored_alone_after_those_held_before_it)
{
    s_env_t env;
    s_env_setup (&env);
    ht_record_t **held = s_elders (&env, HT_FIXTURE_COMMUNITY_A_KEY, 1, 1, "冯十二", 0);
    ht_service_hold_puts (env.service, true);
    ck_assert_ptr_null (s_ask (&env, "r1", env.user_a, s_put_request (1, held, 1)));
    ht_record_t *cert = env.fixture->certs [HT_FIXTURE_COMMUNITY_A_KEY];
    zmsg_t *reply = s_ask (&env, "r2", env.user_a, s_put_request (2, &cert, 1));
    ck_assert_ptr_nonnull (reply);
    ck_assert_uint_eq (ht_store_count (env.store, "elder"), 1);
    zmsg_t *queued = ht_service_next_reply (env.service);
    ck_assert_int_eq (s_count (&queued, "r1", 1, "applied"), 1);
    json_t *json = s_reply_json (&reply, NULL, 2);
    ck_assert_int_eq (s_int (json, "unchanged"), 1);    //  the store holds it already
    json_decref (json);
    ht_service_hold_puts (env.service, false);
    ck_assert_ptr_null (ht_service_next_reply (env.service));
    ht_fixture_records_destroy (held, 1);
    s_env_teardown (&env);
}
END_TEST

//  A group holds at most 64 PUTs and 5,000 records: the PUT past either
//  bound has those before it stored and answered first, and starts the
//  next group
START_TEST (a_group_is_stored_when_it_reaches_its_bound_and_the_next_put_starts_another)
{
    s_env_t env;
    s_env_setup (&env);
    enum { GROUP_PUTS = 64 };
    ht_record_t **elders = s_elders (&env, HT_FIXTURE_COMMUNITY_A_KEY, 0, GROUP_PUTS + 1,
                                     "冯十二", 0);
    ht_service_hold_puts (env.service, true);
    for (size_t index = 0; index < GROUP_PUTS; index++)
        ck_assert_ptr_null (s_ask (&env, "r1", env.user_a, s_put_request (index + 1, &elders [index], 1)));
    ck_assert_ptr_null (ht_service_next_reply (env.service));
    ck_assert_uint_eq (ht_store_count (env.store, "elder"), 0);
    //  The 65th: the 64 are stored and answered, it waits alone
    ck_assert_ptr_null (s_ask (&env, "r1", env.user_a,
                               s_put_request (GROUP_PUTS + 1, &elders [GROUP_PUTS], 1)));
    ck_assert_uint_eq (ht_store_count (env.store, "elder"), GROUP_PUTS);
    for (size_t index = 0; index < GROUP_PUTS; index++) {
        zmsg_t *reply = ht_service_next_reply (env.service);
        json_t *json = s_reply_json (&reply, "r1", index + 1);
        ck_assert_int_eq (s_int (json, "applied"), 1);
        json_decref (json);
    }
    ck_assert_ptr_null (ht_service_next_reply (env.service));
    ht_service_hold_puts (env.service, false);
    zmsg_t *reply = ht_service_next_reply (env.service);
    ck_assert_int_eq (s_count (&reply, "r1", GROUP_PUTS + 1, "applied"), 1);
    ht_fixture_records_destroy (elders, GROUP_PUTS + 1);

    //  Records: 4,999 and then 2 more are past 5,000
    enum { MANY = 4999 };
    ht_record_t **many = ht_fixture_many_elders (env.fixture, 0, MANY + 2, ht_fixture_hlc (2, 0));
    uint64_t before = ht_store_count (env.store, "elder");
    ht_service_hold_puts (env.service, true);
    ck_assert_ptr_null (s_ask (&env, "r2", env.user_a, s_put_request (100, many, MANY)));
    ck_assert_ptr_null (s_ask (&env, "r2", env.user_a, s_put_request (101, many + MANY, 2)));
    ck_assert_uint_eq (ht_store_count (env.store, "elder") - before, MANY);
    ht_service_hold_puts (env.service, false);
    reply = ht_service_next_reply (env.service);
    json_t *json = s_reply_json (&reply, "r2", 100);
    json_decref (json);
    reply = ht_service_next_reply (env.service);
    ck_assert_int_eq (s_count (&reply, "r2", 101, "applied"), 2);
    ht_fixture_records_destroy (many, MANY + 2);
    s_env_teardown (&env);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("service");
    TCase *puts = tcase_create ("puts");
    tcase_add_test (puts, puts_held_together_are_each_answered_as_if_stored_alone);
    tcase_add_test (puts, a_held_put_of_an_entity_another_held_put_names_is_judged_after_it);
    tcase_add_test (puts, a_request_after_held_puts_sees_them_stored_and_a_lone_put_is_answered_at_once);
    tcase_add_test (puts, a_group_is_stored_when_it_reaches_its_bound_and_the_next_put_starts_another);
    tcase_add_test (puts, a_put_carrying_a_certificate_is_stored_alone_after_those_held_before_it);
    suite_add_tcase (suite, puts);
    return suite;
}

HT_TEST_MAIN (s_suite)

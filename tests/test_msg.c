//  test_msg: the messages nodes and clients exchange — every command's
//  round trip, the canonical body, and hostile frames.
//
//  Hostile bodies are built by hand with msgpack, so each test says
//  exactly which bytes a peer sent.
#include "ht_msg.h"
#include "ht_codec.h"
#include "ht_test.h"

#include <string.h>

#define S_COUNT(array) (sizeof (array) / sizeof ((array) [0]))

//  --------------------------------------------------------------------------
//  Helpers

static void
s_epoch (uint8_t epoch [HT_MSG_EPOCH_BYTES], uint8_t first)
{
    for (size_t index = 0; index < HT_MSG_EPOCH_BYTES; index++)
        epoch [index] = (uint8_t) (first + index * 7);
}

//  Every item of two messages is equal
static void
s_assert_same (const ht_msg_t *a, const ht_msg_t *b)
{
    ck_assert_str_eq (a->command, b->command);
    ck_assert_uint_eq (a->version, b->version);
    ck_assert_str_eq (a->region, b->region);
    ck_assert_str_eq (a->name, b->name);
    ck_assert_int_eq (a->has_epoch, b->has_epoch);
    ck_assert_mem_eq (a->epoch, b->epoch, HT_MSG_EPOCH_BYTES);
    ck_assert_uint_eq (a->cursor, b->cursor);
    ck_assert_uint_eq (a->max, b->max);
    ck_assert_uint_eq (a->last_seq, b->last_seq);
    ck_assert_int_eq (a->more, b->more);
    ck_assert_uint_eq (a->token, b->token);
    ck_assert_str_eq (a->error, b->error);
    ck_assert_str_eq (a->text, b->text);
    ck_assert_int_eq (a->has_clock, b->has_clock);
    ck_assert_uint_eq (a->clock, b->clock);
    ck_assert_int_eq (a->has_echo, b->has_echo);
    ck_assert_uint_eq (a->echo, b->echo);
    ck_assert_int_eq (a->has_skew, b->has_skew);
    ck_assert_int_eq (a->skew, b->skew);
}

//  Encode, decode into out, and check the two frames were consumed and
//  every item came back
static void
s_round_trip (const ht_msg_t *in, ht_msg_t *out)
{
    zmsg_t *zmsg = ht_msg_encode (in);
    ck_assert_ptr_nonnull (zmsg);
    ck_assert_uint_eq (zmsg_size (zmsg), 2);
    char *command = zframe_strdup (zmsg_first (zmsg));
    ck_assert_str_eq (command, in->command);
    free (command);
    //  Fill out with junk: decode must clear what the body does not carry
    memset (out, 0x5a, sizeof *out);
    const char *reason = NULL;
    int rc = ht_msg_decode (zmsg, out, &reason);
    ck_assert_msg (rc == HT_OK, "%s: %d %s", in->command, rc, reason);
    ck_assert_uint_eq (zmsg_size (zmsg), 0);
    zmsg_destroy (&zmsg);
    s_assert_same (in, out);
}

//  A message of a command frame and a hand-packed body frame
static zmsg_t *
s_zmsg (const char *command, const ht_packer_t *body)
{
    zmsg_t *zmsg = zmsg_new ();
    zmsg_addstr (zmsg, command);
    zmsg_addmem (zmsg, body->buffer.data, body->buffer.size);
    return zmsg;
}

static zmsg_t *
s_zmsg_bytes (const char *command, const void *data, size_t size)
{
    zmsg_t *zmsg = zmsg_new ();
    zmsg_addstr (zmsg, command);
    zmsg_addmem (zmsg, data, size);
    return zmsg;
}

//  Decode and destroy a message, returning the code; a failure must come
//  with a reason
static int
s_decode (zmsg_t *zmsg, ht_msg_t *msg)
{
    const char *reason = NULL;
    int rc = ht_msg_decode (zmsg, msg, &reason);
    if (rc != HT_OK)
        ck_assert_msg (reason != NULL && *reason, "error %d without a reason", rc);
    zmsg_destroy (&zmsg);
    return rc;
}

static void
s_pack_uint_item (ht_packer_t *body, const char *key, uint64_t value)
{
    ht_pack_cstr (&body->packer, key);
    msgpack_pack_uint64 (&body->packer, value);
}

//  Start a hand-built body: a map of pairs the caller then packs
static void
s_body_map (ht_packer_t *body, size_t pairs)
{
    ht_packer_init (body);
    msgpack_pack_map (&body->packer, pairs);
}

//  Deterministic PRNG (xorshift64*), so hostile-input runs are repeatable
static uint64_t
s_random (uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545F4914F6CDD1DULL;
}

//  --------------------------------------------------------------------------
//  Round trips

START_TEST (hello_and_welcome_round_trip_with_every_item)
{
    const char *commands [] = { HT_MSG_HELLO, HT_MSG_WELCOME };
    for (size_t index = 0; index < S_COUNT (commands); index++) {
        ht_msg_t in, out;
        ht_msg_init (&in, commands [index]);
        in.version = HT_PROTOCOL_VERSION;
        snprintf (in.region, sizeof in.region, "%s", "441802001001");
        snprintf (in.name, sizeof in.name, "%s", "凤城街道站前社区 node-1");
        s_epoch (in.epoch, 0x10);
        in.has_epoch = true;
        in.last_seq = 123456789012ULL;
        s_round_trip (&in, &out);
        ck_assert_str_eq (out.command, commands [index]);
    }
}
END_TEST

START_TEST (pull_round_trips_with_and_without_an_epoch)
{
    ht_msg_t in, out;
    ht_msg_init (&in, HT_MSG_PULL);
    in.cursor = 0;
    in.max = 1000;
    s_round_trip (&in, &out);
    ck_assert (!out.has_epoch);

    s_epoch (in.epoch, 0xf0);
    in.has_epoch = true;
    in.cursor = UINT64_MAX;
    in.max = 1;
    s_round_trip (&in, &out);
    ck_assert (out.has_epoch);
    ck_assert_uint_eq (out.cursor, UINT64_MAX);
    ck_assert_uint_eq (out.full, 0);
    //  A full pass names how far it reaches; absent, it is no pass
    in.full = 123456789012ull;
    s_round_trip (&in, &out);
    ck_assert_uint_eq (out.full, 123456789012ull);
}
END_TEST

START_TEST (batch_round_trips_and_leaves_its_records_in_the_message)
{
    const bool mores [] = { false, true };
    for (size_t index = 0; index < S_COUNT (mores); index++) {
        ht_msg_t in, out;
        ht_msg_init (&in, HT_MSG_BATCH);
        s_epoch (in.epoch, 0x33);
        in.has_epoch = true;
        in.cursor = 4096;
        in.more = mores [index];
        in.last_seq = 5000;
        zmsg_t *zmsg = ht_msg_encode (&in);
        ck_assert_ptr_nonnull (zmsg);
        const uint8_t first [] = { 0x8d, 0x01, 0x02, 0x03 };
        const uint8_t second [] = { 0x8e, 0xff };
        zmsg_addmem (zmsg, first, sizeof first);
        zmsg_addmem (zmsg, second, sizeof second);
        zmsg_addmem (zmsg, NULL, 0);
        ck_assert_int_eq (ht_msg_decode (zmsg, &out, NULL), HT_OK);
        s_assert_same (&in, &out);
        //  The record frames stay, in order and untouched
        ck_assert_uint_eq (zmsg_size (zmsg), 3);
        zframe_t *frame = zmsg_first (zmsg);
        ck_assert_uint_eq (zframe_size (frame), sizeof first);
        ck_assert_mem_eq (zframe_data (frame), first, sizeof first);
        frame = zmsg_next (zmsg);
        ck_assert_uint_eq (zframe_size (frame), sizeof second);
        ck_assert_mem_eq (zframe_data (frame), second, sizeof second);
        frame = zmsg_next (zmsg);
        ck_assert_uint_eq (zframe_size (frame), 0);
        zmsg_destroy (&zmsg);
    }
}
END_TEST

START_TEST (notify_ping_and_pong_round_trip_with_a_sequence)
{
    const char *commands [] = { HT_MSG_NOTIFY, HT_MSG_PING, HT_MSG_PONG };
    const uint64_t seqs [] = { 0, 1, 127, 128, 65535, 65536, UINT32_MAX, UINT64_MAX };
    for (size_t index = 0; index < S_COUNT (commands); index++)
        for (size_t seq = 0; seq < S_COUNT (seqs); seq++) {
            ht_msg_t in, out;
            ht_msg_init (&in, commands [index]);
            in.last_seq = seqs [seq];
            s_round_trip (&in, &out);
        }
}
END_TEST

START_TEST (error_round_trips_with_error_text_and_token)
{
    ht_msg_t in, out;
    ht_msg_init (&in, HT_MSG_ERROR);
    snprintf (in.error, sizeof in.error, "%s", "EPOLICY");
    snprintf (in.text, sizeof in.text, "%s", "读取策略拒绝: access refused");
    in.token = 77;
    s_round_trip (&in, &out);

    //  The longest text and error that fit
    memset (in.text, 'x', HT_MSG_TEXT_CHARS);
    in.text [HT_MSG_TEXT_CHARS] = 0;
    memset (in.error, 'E', sizeof in.error - 1);
    in.error [sizeof in.error - 1] = 0;
    s_round_trip (&in, &out);
    ck_assert_uint_eq (strlen (out.text), HT_MSG_TEXT_CHARS);

    //  Empty texts
    ht_msg_init (&in, HT_MSG_ERROR);
    s_round_trip (&in, &out);
}
END_TEST

START_TEST (put_status_info_and_their_replies_round_trip_with_a_token)
{
    const char *commands [] = {
        HT_MSG_PUT, HT_MSG_PUT_OK, HT_MSG_STATUS, HT_MSG_STATUS_OK,
        HT_MSG_INFO, HT_MSG_INFO_OK };
    for (size_t index = 0; index < S_COUNT (commands); index++) {
        ht_msg_t in, out;
        ht_msg_init (&in, commands [index]);
        in.token = 0xfeedfacecafebeefULL;
        s_round_trip (&in, &out);
    }
    //  A reply's JSON frame stays in the message
    ht_msg_t in, out;
    ht_msg_init (&in, HT_MSG_PUT_OK);
    in.token = 9;
    zmsg_t *zmsg = ht_msg_encode (&in);
    zmsg_addstr (zmsg, "{\"accepted\":1}");
    ck_assert_int_eq (ht_msg_decode (zmsg, &out, NULL), HT_OK);
    ck_assert_uint_eq (out.token, 9);
    ck_assert_uint_eq (zmsg_size (zmsg), 1);
    char *json = zmsg_popstr (zmsg);
    ck_assert_str_eq (json, "{\"accepted\":1}");
    zstr_free (&json);
    zmsg_destroy (&zmsg);
}
END_TEST

START_TEST (a_message_carries_only_its_own_commands_items)
{
    //  Items a command does not carry are not sent, and not read back
    ht_msg_t in, out;
    ht_msg_init (&in, HT_MSG_PING);
    in.last_seq = 5;
    in.cursor = 99;
    in.token = 7;
    snprintf (in.name, sizeof in.name, "%s", "x");
    zmsg_t *zmsg = ht_msg_encode (&in);
    zframe_t *body = zmsg_last (zmsg);
    const uint8_t expected [] = { 0x81, 0xa3, 's', 'e', 'q', 0x05 };
    ck_assert_uint_eq (zframe_size (body), sizeof expected);
    ck_assert_mem_eq (zframe_data (body), expected, sizeof expected);
    ck_assert_int_eq (ht_msg_decode (zmsg, &out, NULL), HT_OK);
    ck_assert_uint_eq (out.last_seq, 5);
    ck_assert_uint_eq (out.cursor, 0);
    ck_assert_uint_eq (out.token, 0);
    ck_assert_str_eq (out.name, "");
    zmsg_destroy (&zmsg);
}
END_TEST

//  The read requests' items of two messages are equal too
static void
s_assert_same_read (const ht_msg_t *a, const ht_msg_t *b)
{
    s_assert_same (a, b);
    ck_assert_str_eq (a->kind, b->kind);
    ck_assert_str_eq (a->key, b->key);
    ck_assert_str_eq (a->field, b->field);
    ck_assert_str_eq (a->value, b->value);
    ck_assert_str_eq (a->after, b->after);
    ck_assert_str_eq (a->purpose, b->purpose);
}

//  Fill text of buffer size with the longest text it holds
#define S_FILL(buffer, byte) \
    (memset ((buffer), (byte), sizeof (buffer) - 1), (buffer) [sizeof (buffer) - 1] = 0)

START_TEST (read_requests_round_trip_with_every_item)
{
    ht_msg_t in, out;
    ht_msg_init (&in, HT_MSG_GET);
    in.token = 0xfeedfacecafebeefULL;
    snprintf (in.purpose, sizeof in.purpose, "%s", "subsidy_review");
    snprintf (in.kind, sizeof in.kind, "%s", "elder");
    snprintf (in.key, sizeof in.key, "%s", "8d5c0f6ad3e1b2a49c7e0f1d2b3a4c5d");
    s_round_trip (&in, &out);
    s_assert_same_read (&in, &out);

    ht_msg_init (&in, HT_MSG_FIND);
    in.token = 1;
    snprintf (in.purpose, sizeof in.purpose, "%s", "care_service");
    snprintf (in.kind, sizeof in.kind, "%s", "elder");
    snprintf (in.value, sizeof in.value, "%s", "441802194005120317");
    s_round_trip (&in, &out);
    s_assert_same_read (&in, &out);

    ht_msg_init (&in, HT_MSG_LIST);
    in.token = 2;
    snprintf (in.purpose, sizeof in.purpose, "%s", "inspection");
    snprintf (in.kind, sizeof in.kind, "%s", "elder");
    snprintf (in.region, sizeof in.region, "%s", "441802001");
    snprintf (in.field, sizeof in.field, "%s", "categories");
    snprintf (in.value, sizeof in.value, "%s", "低保");
    snprintf (in.after, sizeof in.after, "%s", "441802001001:8d5c0f6ad3e1b2a49c7e0f1d2b3a4c5d");
    in.max = 1000;
    s_round_trip (&in, &out);
    s_assert_same_read (&in, &out);

    ht_msg_init (&in, HT_MSG_COUNT);
    in.token = 3;
    snprintf (in.purpose, sizeof in.purpose, "%s", "statistics");
    snprintf (in.kind, sizeof in.kind, "%s", "facility");
    snprintf (in.region, sizeof in.region, "%s", "4418");
    s_round_trip (&in, &out);
    s_assert_same_read (&in, &out);

    ht_msg_init (&in, HT_MSG_HISTORY);
    in.token = UINT64_MAX;
    snprintf (in.purpose, sizeof in.purpose, "%s", "audit_review");
    snprintf (in.kind, sizeof in.kind, "%s", "credit");
    snprintf (in.key, sizeof in.key, "%s", "0123456789abcdef0123456789abcdef");
    s_round_trip (&in, &out);
    s_assert_same_read (&in, &out);

    //  The longest texts that fit, for a LIST and a GET
    ht_msg_init (&in, HT_MSG_LIST);
    S_FILL (in.purpose, 'p');
    S_FILL (in.kind, 'k');
    S_FILL (in.field, 'f');
    S_FILL (in.value, 'v');
    S_FILL (in.after, 'a');
    in.max = UINT64_MAX;
    s_round_trip (&in, &out);
    s_assert_same_read (&in, &out);
    ck_assert_uint_eq (strlen (out.value), HT_MSG_VALUE_BYTES - 1);
    ht_msg_init (&in, HT_MSG_GET);
    S_FILL (in.kind, 'k');
    S_FILL (in.key, 'y');
    s_round_trip (&in, &out);
    s_assert_same_read (&in, &out);
    ck_assert_uint_eq (strlen (out.key), HT_MSG_KEY_BYTES - 1);
}
END_TEST

START_TEST (read_replies_round_trip_and_keep_their_frames)
{
    const char *commands [] = {
        HT_MSG_GET_OK, HT_MSG_FIND_OK, HT_MSG_LIST_OK, HT_MSG_COUNT_OK, HT_MSG_HISTORY_OK };
    for (size_t index = 0; index < S_COUNT (commands); index++) {
        ht_msg_t in, out;
        ht_msg_init (&in, commands [index]);
        in.token = 77 + index;
        //  A reply carries no request items, whatever the struct holds
        snprintf (in.kind, sizeof in.kind, "%s", "elder");
        zmsg_t *zmsg = ht_msg_encode (&in);
        ck_assert_ptr_nonnull (zmsg);
        zmsg_addstr (zmsg, "{\"count\":1}");
        const uint8_t record [] = { 0x8d, 0x01 };
        zmsg_addmem (zmsg, record, sizeof record);
        ck_assert_int_eq (ht_msg_decode (zmsg, &out, NULL), HT_OK);
        ck_assert_str_eq (out.command, commands [index]);
        ck_assert_uint_eq (out.token, 77 + index);
        ck_assert_str_eq (out.kind, "");
        ck_assert_uint_eq (zmsg_size (zmsg), 2);
        char *json = zmsg_popstr (zmsg);
        ck_assert_str_eq (json, "{\"count\":1}");
        zstr_free (&json);
        zmsg_destroy (&zmsg);
    }
}
END_TEST

START_TEST (a_read_request_carries_only_its_own_items)
{
    //  A GET's struct may hold a region, field or value: none travels
    ht_msg_t in, out;
    ht_msg_init (&in, HT_MSG_GET);
    snprintf (in.kind, sizeof in.kind, "%s", "elder");
    snprintf (in.key, sizeof in.key, "%s", "k1");
    snprintf (in.region, sizeof in.region, "%s", "441802000000");
    snprintf (in.field, sizeof in.field, "%s", "status");
    snprintf (in.value, sizeof in.value, "%s", "active");
    snprintf (in.after, sizeof in.after, "%s", "x");
    in.max = 5;
    zmsg_t *zmsg = ht_msg_encode (&in);
    ck_assert_int_eq (ht_msg_decode (zmsg, &out, NULL), HT_OK);
    zmsg_destroy (&zmsg);
    ck_assert_str_eq (out.key, "k1");
    ck_assert_str_eq (out.region, "");
    ck_assert_str_eq (out.field, "");
    ck_assert_str_eq (out.value, "");
    ck_assert_str_eq (out.after, "");
    ck_assert_uint_eq (out.max, 0);
    //  A COUNT carries no key, field or after
    ht_msg_init (&in, HT_MSG_COUNT);
    snprintf (in.kind, sizeof in.kind, "%s", "elder");
    snprintf (in.key, sizeof in.key, "%s", "k1");
    snprintf (in.field, sizeof in.field, "%s", "status");
    snprintf (in.after, sizeof in.after, "%s", "x");
    zmsg = ht_msg_encode (&in);
    ck_assert_int_eq (ht_msg_decode (zmsg, &out, NULL), HT_OK);
    zmsg_destroy (&zmsg);
    ck_assert_str_eq (out.kind, "elder");
    ck_assert_str_eq (out.key, "");
    ck_assert_str_eq (out.field, "");
    ck_assert_str_eq (out.after, "");
}
END_TEST

//  --------------------------------------------------------------------------
//  The canonical body

START_TEST (a_pull_body_is_canonical_msgpack)
{
    ht_msg_t msg;
    ht_msg_init (&msg, HT_MSG_PULL);
    msg.cursor = 0;
    msg.max = 1000;
    zmsg_t *zmsg = ht_msg_encode (&msg);
    ck_assert_uint_eq (zmsg_size (zmsg), 2);
    //  {"cursor": 0, "max": 1000}: fixmap 2, keys in bytewise order,
    //  0 as a positive fixint, 1000 as uint16
    const uint8_t expected [] = {
        0x82,
        0xa6, 'c', 'u', 'r', 's', 'o', 'r', 0x00,
        0xa3, 'm', 'a', 'x', 0xcd, 0x03, 0xe8 };
    zframe_t *command = zmsg_first (zmsg);
    ck_assert_uint_eq (zframe_size (command), 4);
    ck_assert_mem_eq (zframe_data (command), "PULL", 4);
    zframe_t *body = zmsg_next (zmsg);
    ck_assert_uint_eq (zframe_size (body), sizeof expected);
    ck_assert_mem_eq (zframe_data (body), expected, sizeof expected);
    zmsg_destroy (&zmsg);
}
END_TEST

START_TEST (a_long_poll_pull_and_its_batch_carry_wait_as_protocol_md_shows)
{
    //  docs/protocol.md section 3, "Long poll": the bytes shown there
    static const uint8_t epoch [HT_MSG_EPOCH_BYTES] = {
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
        0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
    const char *pull_hex = "84a6637572736f72cd04d2a565706f6368c41000112233445566778899aabb"
                           "ccddeeffa36d6178cd03e8a477616974cd05dc";
    const char *batch_hex = "86a6637572736f72cd04d8a565706f6368c41000112233445566778899aa"
                            "bbccddeeffa466726f6dcd04d2a46d6f7265c2a3736571cd04d8a47761"
                            "6974cd05dc";
    ht_msg_t msg;
    ht_msg_init (&msg, HT_MSG_PULL);
    memcpy (msg.epoch, epoch, HT_MSG_EPOCH_BYTES);
    msg.has_epoch = true;
    msg.cursor = 1234;
    msg.max = 1000;
    msg.wait = 1500;
    zmsg_t *zmsg = ht_msg_encode (&msg);
    char *hex = zframe_strhex (zmsg_last (zmsg));
    ck_assert_int_eq (strcasecmp (hex, pull_hex), 0);
    free (hex);
    ht_msg_t back;
    const char *reason = NULL;
    ck_assert_int_eq (ht_msg_decode (zmsg, &back, &reason), 0);
    ck_assert_uint_eq (back.wait, 1500);
    zmsg_destroy (&zmsg);
    ht_msg_init (&msg, HT_MSG_BATCH);
    memcpy (msg.epoch, epoch, HT_MSG_EPOCH_BYTES);
    msg.has_epoch = true;
    msg.cursor = 1240;
    msg.from = 1234;
    msg.has_from = true;
    msg.last_seq = 1240;
    msg.wait = 1500;
    zmsg = ht_msg_encode (&msg);
    hex = zframe_strhex (zmsg_last (zmsg));
    ck_assert_int_eq (strcasecmp (hex, batch_hex), 0);
    free (hex);
    zmsg_destroy (&zmsg);
    //  Without wait (a puller that does not long-poll) the item is absent
    ht_msg_init (&msg, HT_MSG_PULL);
    msg.max = 1000;
    zmsg = ht_msg_encode (&msg);
    ck_assert_uint_eq (zframe_size (zmsg_last (zmsg)), 16);
    zmsg_destroy (&zmsg);
}
END_TEST

START_TEST (a_hello_body_is_canonical_msgpack)
{
    ht_msg_t msg;
    ht_msg_init (&msg, HT_MSG_HELLO);
    msg.version = 1;
    snprintf (msg.region, sizeof msg.region, "%s", "441802001001");
    snprintf (msg.name, sizeof msg.name, "%s", "n1");
    s_epoch (msg.epoch, 0);
    msg.has_epoch = true;
    msg.last_seq = 70000;
    zmsg_t *zmsg = ht_msg_encode (&msg);
    //  epoch < name < region < seq < v; 70000 as uint32
    const uint8_t expected [] = {
        0x85,
        0xa5, 'e', 'p', 'o', 'c', 'h', 0xc4, 0x10,
            0, 7, 14, 21, 28, 35, 42, 49, 56, 63, 70, 77, 84, 91, 98, 105,
        0xa4, 'n', 'a', 'm', 'e', 0xa2, 'n', '1',
        0xa6, 'r', 'e', 'g', 'i', 'o', 'n',
            0xac, '4', '4', '1', '8', '0', '2', '0', '0', '1', '0', '0', '1',
        0xa3, 's', 'e', 'q', 0xce, 0x00, 0x01, 0x11, 0x70,
        0xa1, 'v', 0x01 };
    zframe_t *body = zmsg_last (zmsg);
    ck_assert_uint_eq (zframe_size (body), sizeof expected);
    ck_assert_mem_eq (zframe_data (body), expected, sizeof expected);
    zmsg_destroy (&zmsg);
}
END_TEST

START_TEST (every_body_has_sorted_keys_and_shortest_integers)
{
    const char *commands [] = {
        HT_MSG_HELLO, HT_MSG_WELCOME, HT_MSG_PULL, HT_MSG_BATCH, HT_MSG_NOTIFY,
        HT_MSG_PING, HT_MSG_PONG, HT_MSG_ERROR, HT_MSG_PUT, HT_MSG_PUT_OK,
        HT_MSG_STATUS, HT_MSG_STATUS_OK, HT_MSG_INFO, HT_MSG_INFO_OK };
    const uint64_t values [] = { 0, 127, 128, 255, 256, 65535, 65536,
                                 UINT32_MAX, (uint64_t) UINT32_MAX + 1, UINT64_MAX };
    const size_t widths [] = { 1, 1, 2, 2, 3, 3, 5, 5, 9, 9 };
    for (size_t c = 0; c < S_COUNT (commands); c++)
        for (size_t v = 0; v < S_COUNT (values); v++) {
            ht_msg_t msg;
            ht_msg_init (&msg, commands [c]);
            msg.version = msg.cursor = msg.max = msg.last_seq = msg.token = values [v];
            msg.clock = msg.echo = values [v];
            msg.skew = -(int64_t) (values [v] >> 1);
            msg.has_epoch = msg.has_clock = msg.has_echo = msg.has_skew = true;
            snprintf (msg.region, sizeof msg.region, "%s", "441802000000");
            zmsg_t *zmsg = ht_msg_encode (&msg);
            ck_assert_ptr_nonnull (zmsg);
            zframe_t *body = zmsg_last (zmsg);
            msgpack_unpacked unpacked;
            msgpack_unpacked_init (&unpacked);
            size_t offset = 0;
            ck_assert_int_eq (msgpack_unpack_next (&unpacked, (const char *) zframe_data (body),
                              zframe_size (body), &offset), MSGPACK_UNPACK_SUCCESS);
            ck_assert_uint_eq (offset, zframe_size (body));
            const msgpack_object *map = &unpacked.data;
            ck_assert_int_eq (map->type, MSGPACK_OBJECT_MAP);
            ck_assert_uint_gt (map->via.map.size, 0);
            for (uint32_t index = 0; index < map->via.map.size; index++) {
                const msgpack_object *key = &map->via.map.ptr [index].key;
                ck_assert_int_eq (key->type, MSGPACK_OBJECT_STR);
                if (index > 0) {
                    const msgpack_object *prev = &map->via.map.ptr [index - 1].key;
                    size_t common = prev->via.str.size < key->via.str.size
                                  ? prev->via.str.size: key->via.str.size;
                    int order = memcmp (prev->via.str.ptr, key->via.str.ptr, common);
                    ck_assert_msg (order < 0 || (order == 0 && prev->via.str.size < key->via.str.size),
                                   "%s: keys out of order", commands [c]);
                }
            }
            //  Each integer item takes the bytes of its shortest form:
            //  re-packing the whole body gives it back unchanged
            msgpack_sbuffer repacked;
            msgpack_sbuffer_init (&repacked);
            msgpack_packer packer;
            msgpack_packer_init (&packer, &repacked, msgpack_sbuffer_write);
            msgpack_pack_object (&packer, *map);
            ck_assert_uint_eq (repacked.size, zframe_size (body));
            ck_assert_mem_eq (repacked.data, zframe_data (body), repacked.size);
            msgpack_sbuffer_destroy (&repacked);
            msgpack_unpacked_destroy (&unpacked);
            zmsg_destroy (&zmsg);
        }
    //  And the width of a PING's seq, byte for byte
    for (size_t v = 0; v < S_COUNT (values); v++) {
        ht_msg_t msg;
        ht_msg_init (&msg, HT_MSG_PING);
        msg.last_seq = values [v];
        zmsg_t *zmsg = ht_msg_encode (&msg);
        ck_assert_uint_eq (zframe_size (zmsg_last (zmsg)), 1 + 4 + widths [v]);
        zmsg_destroy (&zmsg);
    }
}
END_TEST

//  The wall clock a neighbour reads its peer's clock by: HELLO and PING
//  carry the sender's, WELCOME and PONG the answerer's and the one they
//  answer, so the receiver corrects for half the round trip
START_TEST (hello_welcome_ping_and_pong_carry_the_clock_and_its_echo)
{
    const char *commands [] = { HT_MSG_HELLO, HT_MSG_WELCOME, HT_MSG_PING, HT_MSG_PONG };
    const bool echoes [] = { false, true, false, true };
    for (size_t index = 0; index < S_COUNT (commands); index++) {
        ht_msg_t in, out;
        ht_msg_init (&in, commands [index]);
        if (index < 2) {            //  the handshake's own items
            in.version = HT_PROTOCOL_VERSION;
            snprintf (in.region, sizeof in.region, "%s", "441802001000");
            in.has_epoch = true;
        }
        in.clock = 1796192832123ULL;
        in.has_clock = true;
        in.echo = echoes [index]? 1796192831999ULL: 0;
        in.has_echo = echoes [index];
        //  The sender's own clock against its reference: signed
        in.skew = index % 2? 600123: -600123;
        in.has_skew = true;
        s_round_trip (&in, &out);
        ck_assert (out.has_clock);
        ck_assert_uint_eq (out.clock, 1796192832123ULL);
        ck_assert_int_eq (out.has_echo, echoes [index]);
    }
}
END_TEST

START_TEST (a_pong_body_with_a_clock_is_canonical_msgpack)
{
    ht_msg_t msg;
    ht_msg_init (&msg, HT_MSG_PONG);
    msg.last_seq = 5;
    msg.clock = 1796192832123ULL;           //  0x1a2356f8a7b
    msg.has_clock = true;
    msg.echo = 1796192831999ULL;            //  0x1a2356f89ff
    msg.has_echo = true;
    zmsg_t *zmsg = ht_msg_encode (&msg);
    //  clock < echo < seq; milliseconds since 1970 take a uint64
    const uint8_t expected [] = {
        0x83,
        0xa5, 'c', 'l', 'o', 'c', 'k', 0xcf, 0, 0, 0x01, 0xa2, 0x35, 0x6f, 0x8a, 0x7b,
        0xa4, 'e', 'c', 'h', 'o', 0xcf, 0, 0, 0x01, 0xa2, 0x35, 0x6f, 0x89, 0xff,
        0xa3, 's', 'e', 'q', 0x05 };
    zframe_t *body = zmsg_last (zmsg);
    ck_assert_uint_eq (zframe_size (body), sizeof expected);
    ck_assert_mem_eq (zframe_data (body), expected, sizeof expected);
    zmsg_destroy (&zmsg);
}
END_TEST

//  An older peer sends no clock: its PING and PONG decode, without one
START_TEST (a_ping_or_pong_without_a_clock_is_read_as_having_none)
{
    const char *commands [] = { HT_MSG_PING, HT_MSG_PONG };
    for (size_t index = 0; index < S_COUNT (commands); index++) {
        ht_packer_t body;
        s_body_map (&body, 1);
        s_pack_uint_item (&body, "seq", 9);
        ht_msg_t msg;
        ck_assert_int_eq (s_decode (s_zmsg (commands [index], &body), &msg), HT_OK);
        ck_assert (!msg.has_clock);
        ck_assert (!msg.has_echo);
        ck_assert (!msg.has_skew);
        ck_assert_uint_eq (msg.last_seq, 9);
        ht_packer_destroy (&body);
    }
}
END_TEST

//  --------------------------------------------------------------------------
//  Hostile and unknown input

START_TEST (a_get_body_is_canonical_msgpack)
{
    ht_msg_t msg;
    ht_msg_init (&msg, HT_MSG_GET);
    msg.token = 7;
    snprintf (msg.kind, sizeof msg.kind, "%s", "elder");
    snprintf (msg.key, sizeof msg.key, "%s", "k1");
    snprintf (msg.purpose, sizeof msg.purpose, "%s", "assessment");
    zmsg_t *zmsg = ht_msg_encode (&msg);
    //  key < kind < purpose < token
    const uint8_t expected [] = {
        0x84,
        0xa3, 'k', 'e', 'y', 0xa2, 'k', '1',
        0xa4, 'k', 'i', 'n', 'd', 0xa5, 'e', 'l', 'd', 'e', 'r',
        0xa7, 'p', 'u', 'r', 'p', 'o', 's', 'e',
            0xaa, 'a', 's', 's', 'e', 's', 's', 'm', 'e', 'n', 't',
        0xa5, 't', 'o', 'k', 'e', 'n', 0x07 };
    zframe_t *body = zmsg_last (zmsg);
    ck_assert_uint_eq (zframe_size (body), sizeof expected);
    ck_assert_mem_eq (zframe_data (body), expected, sizeof expected);
    zmsg_destroy (&zmsg);
}
END_TEST

START_TEST (optional_empty_read_items_are_not_encoded)
{
    //  A LIST of a kind and nothing else: {kind, token}; no purpose,
    //  region, field, value, after, nor a max of 0
    ht_msg_t msg;
    ht_msg_init (&msg, HT_MSG_LIST);
    snprintf (msg.kind, sizeof msg.kind, "%s", "elder");
    zmsg_t *zmsg = ht_msg_encode (&msg);
    const uint8_t list [] = {
        0x82,
        0xa4, 'k', 'i', 'n', 'd', 0xa5, 'e', 'l', 'd', 'e', 'r',
        0xa5, 't', 'o', 'k', 'e', 'n', 0x00 };
    zframe_t *body = zmsg_last (zmsg);
    ck_assert_uint_eq (zframe_size (body), sizeof list);
    ck_assert_mem_eq (zframe_data (body), list, sizeof list);
    ht_msg_t out;
    memset (&out, 0x5a, sizeof out);
    ck_assert_int_eq (ht_msg_decode (zmsg, &out, NULL), HT_OK);
    ck_assert_str_eq (out.kind, "elder");
    ck_assert_str_eq (out.purpose, "");
    ck_assert_str_eq (out.region, "");
    ck_assert_str_eq (out.field, "");
    ck_assert_str_eq (out.value, "");
    ck_assert_str_eq (out.after, "");
    ck_assert_uint_eq (out.max, 0);
    zmsg_destroy (&zmsg);
    //  A GET with no purpose: {key, kind, token}
    ht_msg_init (&msg, HT_MSG_GET);
    snprintf (msg.kind, sizeof msg.kind, "%s", "elder");
    snprintf (msg.key, sizeof msg.key, "%s", "k1");
    zmsg = ht_msg_encode (&msg);
    const uint8_t get [] = {
        0x83,
        0xa3, 'k', 'e', 'y', 0xa2, 'k', '1',
        0xa4, 'k', 'i', 'n', 'd', 0xa5, 'e', 'l', 'd', 'e', 'r',
        0xa5, 't', 'o', 'k', 'e', 'n', 0x00 };
    body = zmsg_last (zmsg);
    ck_assert_uint_eq (zframe_size (body), sizeof get);
    ck_assert_mem_eq (zframe_data (body), get, sizeof get);
    zmsg_destroy (&zmsg);
    //  Required items travel even when empty, so the node can name them
    ht_msg_init (&msg, HT_MSG_HISTORY);
    zmsg = ht_msg_encode (&msg);
    body = zmsg_last (zmsg);
    ck_assert_ptr_nonnull (memmem (zframe_data (body), zframe_size (body), "\xa3key\xa0", 5));
    ck_assert_ptr_nonnull (memmem (zframe_data (body), zframe_size (body), "\xa4kind\xa0", 6));
    zmsg_destroy (&zmsg);
}
END_TEST

//  A body of the given text items (name, value pairs) and a token
static zmsg_t *
s_read_zmsg (const char *command, const char *const *items, size_t count)
{
    ht_packer_t body;
    s_body_map (&body, count / 2 + 1);
    for (size_t index = 0; index + 1 < count; index += 2) {
        ht_pack_cstr (&body.packer, items [index]);
        ht_pack_cstr (&body.packer, items [index + 1]);
    }
    s_pack_uint_item (&body, "token", 9);
    zmsg_t *zmsg = s_zmsg (command, &body);
    ht_packer_destroy (&body);
    return zmsg;
}

START_TEST (a_read_request_without_its_kind_or_key_is_malformed)
{
    ht_msg_t msg;
    const char *kind_only [] = { "kind", "elder" };
    const char *key_only [] = { "key", "k1" };
    const char *value_only [] = { "value", "441802194005120317" };
    const char *no_kind [] = { "region", "4418", "purpose", "statistics" };
    ck_assert_int_eq (s_decode (s_read_zmsg (HT_MSG_GET, kind_only, 2), &msg), HT_EMALFORMED);
    ck_assert_int_eq (s_decode (s_read_zmsg (HT_MSG_GET, key_only, 2), &msg), HT_EMALFORMED);
    ck_assert_int_eq (s_decode (s_read_zmsg (HT_MSG_HISTORY, kind_only, 2), &msg),
                      HT_EMALFORMED);
    ck_assert_int_eq (s_decode (s_read_zmsg (HT_MSG_HISTORY, key_only, 2), &msg),
                      HT_EMALFORMED);
    ck_assert_int_eq (s_decode (s_read_zmsg (HT_MSG_FIND, kind_only, 2), &msg), HT_EMALFORMED);
    ck_assert_int_eq (s_decode (s_read_zmsg (HT_MSG_FIND, value_only, 2), &msg), HT_EMALFORMED);
    ck_assert_int_eq (s_decode (s_read_zmsg (HT_MSG_LIST, no_kind, 4), &msg), HT_EMALFORMED);
    ck_assert_int_eq (s_decode (s_read_zmsg (HT_MSG_COUNT, no_kind, 4), &msg), HT_EMALFORMED);
    ck_assert_int_eq (s_decode (s_read_zmsg (HT_MSG_LIST, NULL, 0), &msg), HT_EMALFORMED);
    //  ... and with them, whole
    const char *get [] = { "kind", "elder", "key", "k1" };
    ck_assert_int_eq (s_decode (s_read_zmsg (HT_MSG_GET, get, 4), &msg), HT_OK);
    ck_assert_str_eq (msg.key, "k1");
    ck_assert_int_eq (s_decode (s_read_zmsg (HT_MSG_HISTORY, get, 4), &msg), HT_OK);
    const char *find [] = { "kind", "elder", "value", "441802194005120317" };
    ck_assert_int_eq (s_decode (s_read_zmsg (HT_MSG_FIND, find, 4), &msg), HT_OK);
    ck_assert_int_eq (s_decode (s_read_zmsg (HT_MSG_LIST, kind_only, 2), &msg), HT_OK);
    ck_assert_int_eq (s_decode (s_read_zmsg (HT_MSG_COUNT, kind_only, 2), &msg), HT_OK);
    //  A key of the wrong type is as bad as none
    ht_packer_t body;
    s_body_map (&body, 2);
    ht_pack_cstr (&body.packer, "key");
    msgpack_pack_uint8 (&body.packer, 1);
    ht_pack_cstr (&body.packer, "kind");
    ht_pack_cstr (&body.packer, "elder");
    ck_assert_int_eq (s_decode (s_zmsg (HT_MSG_GET, &body), &msg), HT_EMALFORMED);
    ht_packer_destroy (&body);
}
END_TEST

START_TEST (an_over_long_read_item_is_malformed)
{
    //  Each text item at the most its buffer holds, and one character more
    struct { const char *command; const char *name; size_t bytes; } cases [] = {
        { HT_MSG_GET, "kind", HT_MSG_KIND_BYTES },
        { HT_MSG_GET, "key", HT_MSG_KEY_BYTES },
        { HT_MSG_GET, "purpose", HT_MSG_PURPOSE_BYTES },
        { HT_MSG_HISTORY, "key", HT_MSG_KEY_BYTES },
        { HT_MSG_FIND, "value", HT_MSG_VALUE_BYTES },
        { HT_MSG_LIST, "field", HT_MSG_FIELD_BYTES },
        { HT_MSG_LIST, "value", HT_MSG_VALUE_BYTES },
        { HT_MSG_LIST, "after", HT_MSG_AFTER_BYTES },
        { HT_MSG_LIST, "region", HT_REGION_BYTES },
        { HT_MSG_COUNT, "region", HT_REGION_BYTES },
    };
    for (size_t index = 0; index < S_COUNT (cases); index++) {
        const char *command = cases [index].command, *name = cases [index].name;
        bool keyed = streq (command, HT_MSG_GET) || streq (command, HT_MSG_HISTORY);
        for (size_t extra = 0; extra < 2; extra++) {
            size_t length = cases [index].bytes - 1 + extra;
            char *text = malloc (length + 1);
            memset (text, 'x', length);
            text [length] = 0;
            //  The item, and the command's required ones it is not
            const char *items [6] = { name, text };
            size_t count = 2;
            if (!streq (name, "kind")) {
                items [count++] = "kind";
                items [count++] = "elder";
            }
            if (keyed && !streq (name, "key")) {
                items [count++] = "key";
                items [count++] = "k1";
            }
            if (streq (command, HT_MSG_FIND) && !streq (name, "value")) {
                items [count++] = "value";
                items [count++] = "v";
            }
            ht_msg_t msg;
            zmsg_t *zmsg = s_read_zmsg (command, items, count);
            const char *reason = NULL;
            int rc = ht_msg_decode (zmsg, &msg, &reason);
            zmsg_destroy (&zmsg);
            ck_assert_msg (rc == (extra? HT_EMALFORMED: HT_OK), "%s %s of %zu: %d",
                           command, name, length, rc);
            if (extra)
                ck_assert_str_eq (reason, "a message item has the wrong type");
            else {
                const char *read = streq (name, "kind")? msg.kind: streq (name, "key")? msg.key
                                 : streq (name, "purpose")? msg.purpose
                                 : streq (name, "value")? msg.value
                                 : streq (name, "field")? msg.field
                                 : streq (name, "after")? msg.after: msg.region;
                ck_assert_str_eq (read, text);
            }
            free (text);
        }
    }
}
END_TEST

START_TEST (an_unknown_command_is_refused_as_invalid)
{
    const char *commands [] = { "FOO", "pull", "PULL ", "", "HELLO-OK",
                                "A-COMMAND-WORD-LONGER-THAN-THE-BUFFER" };
    for (size_t index = 0; index < S_COUNT (commands); index++) {
        ht_packer_t body;
        s_body_map (&body, 2);
        s_pack_uint_item (&body, "cursor", 0);
        s_pack_uint_item (&body, "max", 10);
        ht_msg_t msg;
        ck_assert_msg (s_decode (s_zmsg (commands [index], &body), &msg) == HT_EINVAL,
                       "%s", commands [index]);
        ht_packer_destroy (&body);
    }
}
END_TEST

START_TEST (encoding_an_unknown_command_gives_nothing)
{
    ht_msg_t msg;
    ht_msg_init (&msg, "FOO");
    ck_assert_ptr_null (ht_msg_encode (&msg));
    ht_msg_init (&msg, "");
    ck_assert_ptr_null (ht_msg_encode (&msg));
    //  Cut to the 15 characters that fit: still no command
    ht_msg_init (&msg, "STATUS-OK-AND-MORE");
    ck_assert_ptr_null (ht_msg_encode (&msg));
}
END_TEST

START_TEST (a_missing_required_item_is_malformed)
{
    ht_msg_t msg;
    const char *reason = NULL;

    //  PULL without cursor
    ht_packer_t body;
    s_body_map (&body, 1);
    s_pack_uint_item (&body, "max", 1000);
    zmsg_t *zmsg = s_zmsg (HT_MSG_PULL, &body);
    ck_assert_int_eq (ht_msg_decode (zmsg, &msg, &reason), HT_EMALFORMED);
    ck_assert_ptr_nonnull (reason);
    ck_assert_str_eq (reason, "a message lacks a required item");
    zmsg_destroy (&zmsg);
    ht_packer_destroy (&body);

    //  PULL without max
    s_body_map (&body, 1);
    s_pack_uint_item (&body, "cursor", 0);
    ck_assert_int_eq (s_decode (s_zmsg (HT_MSG_PULL, &body), &msg), HT_EMALFORMED);
    ht_packer_destroy (&body);

    //  HELLO without epoch
    s_body_map (&body, 2);
    ht_pack_cstr (&body.packer, "region");
    ht_pack_cstr (&body.packer, "441802001001");
    s_pack_uint_item (&body, "v", 1);
    ck_assert_int_eq (s_decode (s_zmsg (HT_MSG_HELLO, &body), &msg), HT_EMALFORMED);
    ht_packer_destroy (&body);

    //  BATCH without more
    s_body_map (&body, 2);
    s_pack_uint_item (&body, "cursor", 0);
    uint8_t epoch [HT_MSG_EPOCH_BYTES];
    s_epoch (epoch, 1);
    ht_pack_cstr (&body.packer, "epoch");
    ht_pack_bin (&body.packer, epoch, sizeof epoch);
    ck_assert_int_eq (s_decode (s_zmsg (HT_MSG_BATCH, &body), &msg), HT_EMALFORMED);
    ht_packer_destroy (&body);

    //  ERROR without error; an empty map for PULL
    s_body_map (&body, 0);
    ck_assert_int_eq (s_decode (s_zmsg (HT_MSG_ERROR, &body), &msg), HT_EMALFORMED);
    ck_assert_int_eq (s_decode (s_zmsg (HT_MSG_PULL, &body), &msg), HT_EMALFORMED);
    //  ... while an empty map is a whole PING
    ck_assert_int_eq (s_decode (s_zmsg (HT_MSG_PING, &body), &msg), HT_OK);
    ht_packer_destroy (&body);
}
END_TEST

START_TEST (an_item_of_the_wrong_type_is_malformed)
{
    ht_msg_t msg;
    const char *reason = NULL;
    ht_packer_t body;

    //  cursor as a string
    s_body_map (&body, 2);
    ht_pack_cstr (&body.packer, "cursor");
    ht_pack_cstr (&body.packer, "0");
    s_pack_uint_item (&body, "max", 1000);
    zmsg_t *zmsg = s_zmsg (HT_MSG_PULL, &body);
    ck_assert_int_eq (ht_msg_decode (zmsg, &msg, &reason), HT_EMALFORMED);
    ck_assert_str_eq (reason, "a message item has the wrong type");
    zmsg_destroy (&zmsg);
    ht_packer_destroy (&body);

    //  cursor negative, nil, a float, a bool
    for (int variant = 0; variant < 4; variant++) {
        s_body_map (&body, 2);
        ht_pack_cstr (&body.packer, "cursor");
        if (variant == 0) msgpack_pack_int64 (&body.packer, -1);
        if (variant == 1) msgpack_pack_nil (&body.packer);
        if (variant == 2) msgpack_pack_double (&body.packer, 1.0);
        if (variant == 3) msgpack_pack_true (&body.packer);
        s_pack_uint_item (&body, "max", 1000);
        ck_assert_msg (s_decode (s_zmsg (HT_MSG_PULL, &body), &msg) == HT_EMALFORMED,
                       "variant %d", variant);
        ht_packer_destroy (&body);
    }

    //  more as an integer
    uint8_t epoch [HT_MSG_EPOCH_BYTES];
    s_epoch (epoch, 1);
    s_body_map (&body, 3);
    s_pack_uint_item (&body, "cursor", 0);
    ht_pack_cstr (&body.packer, "epoch");
    ht_pack_bin (&body.packer, epoch, sizeof epoch);
    s_pack_uint_item (&body, "more", 1);
    ck_assert_int_eq (s_decode (s_zmsg (HT_MSG_BATCH, &body), &msg), HT_EMALFORMED);
    ht_packer_destroy (&body);

    //  epoch one byte short, one byte long, and as a str
    const size_t sizes [] = { HT_MSG_EPOCH_BYTES - 1, HT_MSG_EPOCH_BYTES + 1, 0 };
    uint8_t long_epoch [HT_MSG_EPOCH_BYTES + 1] = { 0 };
    for (size_t index = 0; index < S_COUNT (sizes); index++) {
        s_body_map (&body, 3);
        s_pack_uint_item (&body, "cursor", 0);
        ht_pack_cstr (&body.packer, "epoch");
        ht_pack_bin (&body.packer, long_epoch, sizes [index]);
        s_pack_uint_item (&body, "max", 1);
        ck_assert_int_eq (s_decode (s_zmsg (HT_MSG_PULL, &body), &msg), HT_EMALFORMED);
        ht_packer_destroy (&body);
    }
    s_body_map (&body, 3);
    s_pack_uint_item (&body, "cursor", 0);
    ht_pack_cstr (&body.packer, "epoch");
    ht_pack_cstr (&body.packer, "0123456789abcdef");
    s_pack_uint_item (&body, "max", 1);
    ck_assert_int_eq (s_decode (s_zmsg (HT_MSG_PULL, &body), &msg), HT_EMALFORMED);
    ht_packer_destroy (&body);
}
END_TEST

START_TEST (a_text_too_long_or_holding_a_nul_is_malformed)
{
    ht_msg_t msg;
    ht_packer_t body;
    char text [HT_MSG_TEXT_CHARS + 2];
    memset (text, 'x', sizeof text - 1);
    text [sizeof text - 1] = 0;                 //  256 characters
    s_body_map (&body, 2);
    ht_pack_cstr (&body.packer, "error");
    ht_pack_cstr (&body.packer, "EINVAL");
    ht_pack_cstr (&body.packer, "text");
    ht_pack_cstr (&body.packer, text);
    ck_assert_int_eq (s_decode (s_zmsg (HT_MSG_ERROR, &body), &msg), HT_EMALFORMED);
    ht_packer_destroy (&body);

    //  A name of 64 characters does not fit its 63
    char name [65];
    memset (name, 'n', 64);
    name [64] = 0;
    uint8_t epoch [HT_MSG_EPOCH_BYTES] = { 0 };
    s_body_map (&body, 4);
    ht_pack_cstr (&body.packer, "epoch");
    ht_pack_bin (&body.packer, epoch, sizeof epoch);
    ht_pack_cstr (&body.packer, "name");
    ht_pack_cstr (&body.packer, name);
    ht_pack_cstr (&body.packer, "region");
    ht_pack_cstr (&body.packer, "441802001001");
    s_pack_uint_item (&body, "v", 1);
    ck_assert_int_eq (s_decode (s_zmsg (HT_MSG_HELLO, &body), &msg), HT_EMALFORMED);
    ht_packer_destroy (&body);

    //  An error name with a NUL inside
    s_body_map (&body, 1);
    ht_pack_cstr (&body.packer, "error");
    msgpack_pack_str (&body.packer, 5);
    msgpack_pack_str_body (&body.packer, "EIN\0L", 5);
    ck_assert_int_eq (s_decode (s_zmsg (HT_MSG_ERROR, &body), &msg), HT_EMALFORMED);
    ht_packer_destroy (&body);
}
END_TEST

//  Found by tests/fuzz/fuzz_msg: a peer's name (or any text) that is not
//  UTF-8 was taken in, to show in the status JSON, which cannot carry it
START_TEST (a_text_that_is_not_utf8_is_malformed)
{
    const char *bad [] = { "\xff", "qing\x80", "\xe5\xbc", "\xc0\xaf", "\xed\xa0\x80" };
    for (size_t index = 0; index < sizeof bad / sizeof bad [0]; index++) {
        ht_msg_t msg;
        ht_packer_t body;
        uint8_t epoch [HT_MSG_EPOCH_BYTES] = { 0 };
        s_body_map (&body, 4);
        ht_pack_cstr (&body.packer, "epoch");
        ht_pack_bin (&body.packer, epoch, sizeof epoch);
        ht_pack_cstr (&body.packer, "name");
        ht_pack_cstr (&body.packer, bad [index]);
        ht_pack_cstr (&body.packer, "region");
        ht_pack_cstr (&body.packer, "441802001001");
        s_pack_uint_item (&body, "v", 1);
        ck_assert_msg (s_decode (s_zmsg (HT_MSG_HELLO, &body), &msg) == HT_EMALFORMED,
                       "name %zu", index);
        ht_packer_destroy (&body);
    }
    //  And the same HELLO with a Chinese name decodes
    ht_msg_t msg;
    ht_packer_t body;
    uint8_t epoch [HT_MSG_EPOCH_BYTES] = { 0 };
    s_body_map (&body, 4);
    ht_pack_cstr (&body.packer, "epoch");
    ht_pack_bin (&body.packer, epoch, sizeof epoch);
    ht_pack_cstr (&body.packer, "name");
    ht_pack_cstr (&body.packer, "凤城街道");
    ht_pack_cstr (&body.packer, "region");
    ht_pack_cstr (&body.packer, "441802001001");
    s_pack_uint_item (&body, "v", 1);
    ck_assert_int_eq (s_decode (s_zmsg (HT_MSG_HELLO, &body), &msg), HT_OK);
    ck_assert_str_eq (msg.name, "凤城街道");
    ht_packer_destroy (&body);
}
END_TEST

START_TEST (an_unknown_extra_item_is_ignored)
{
    //  A newer peer may add optional items: they are skipped
    ht_msg_t msg;
    ht_packer_t body;
    s_body_map (&body, 5);
    s_pack_uint_item (&body, "cursor", 42);
    s_pack_uint_item (&body, "max", 1000);
    ht_pack_cstr (&body.packer, "priority");
    ht_pack_cstr (&body.packer, "high");
    ht_pack_cstr (&body.packer, "zz");
    msgpack_pack_array (&body.packer, 2);
    msgpack_pack_nil (&body.packer);
    msgpack_pack_map (&body.packer, 0);
    //  A non-text key, too
    msgpack_pack_uint8 (&body.packer, 7);
    msgpack_pack_uint8 (&body.packer, 8);
    ck_assert_int_eq (s_decode (s_zmsg (HT_MSG_PULL, &body), &msg), HT_OK);
    ck_assert_str_eq (msg.command, HT_MSG_PULL);
    ck_assert_uint_eq (msg.cursor, 42);
    ck_assert_uint_eq (msg.max, 1000);
    ck_assert (!msg.has_epoch);
    ht_packer_destroy (&body);

    //  A known item this command does not carry is skipped whatever its type
    s_body_map (&body, 2);
    s_pack_uint_item (&body, "seq", 3);
    ht_pack_cstr (&body.packer, "cursor");
    ht_pack_cstr (&body.packer, "not a number");
    ck_assert_int_eq (s_decode (s_zmsg (HT_MSG_PING, &body), &msg), HT_OK);
    ck_assert_uint_eq (msg.last_seq, 3);
    ck_assert_uint_eq (msg.cursor, 0);
    ht_packer_destroy (&body);
}
END_TEST

START_TEST (a_body_that_is_not_a_msgpack_map_is_malformed)
{
    ht_msg_t msg;
    const char *text = "not msgpack at all";
    ck_assert_int_eq (s_decode (s_zmsg_bytes (HT_MSG_PULL, text, strlen (text)), &msg),
                      HT_EMALFORMED);
    const uint8_t reserved [] = { 0xc1 };
    const uint8_t array [] = { 0x92, 0x01, 0x02 };
    const uint8_t nil [] = { 0xc0 };
    const uint8_t integer [] = { 0x05 };
    const uint8_t two_maps [] = { 0x80, 0x80 };                 //  trailing bytes
    const uint8_t map_then_byte [] = { 0x81, 0xa3, 's', 'e', 'q', 0x01, 0x00 };
    const struct { const uint8_t *data; size_t size; } bodies [] = {
        { reserved, sizeof reserved }, { array, sizeof array }, { nil, sizeof nil },
        { integer, sizeof integer }, { two_maps, sizeof two_maps },
        { map_then_byte, sizeof map_then_byte } };
    for (size_t index = 0; index < S_COUNT (bodies); index++)
        ck_assert_msg (s_decode (s_zmsg_bytes (HT_MSG_PING, bodies [index].data,
                                               bodies [index].size), &msg) == HT_EMALFORMED,
                       "body %zu", index);
    //  An empty body frame
    ck_assert_int_eq (s_decode (s_zmsg_bytes (HT_MSG_PING, "", 0), &msg), HT_EMALFORMED);
}
END_TEST

START_TEST (every_truncated_body_is_malformed)
{
    ht_msg_t in;
    ht_msg_init (&in, HT_MSG_HELLO);
    in.version = 1;
    snprintf (in.region, sizeof in.region, "%s", "441802001001");
    snprintf (in.name, sizeof in.name, "%s", "清远市 node");
    in.has_epoch = true;
    in.last_seq = UINT64_MAX;
    zmsg_t *whole = ht_msg_encode (&in);
    zframe_t *body = zmsg_last (whole);
    size_t size = zframe_size (body);
    for (size_t cut = 0; cut < size; cut++) {
        //  A buffer of exactly cut bytes, so ASan sees any over-read
        uint8_t *prefix = malloc (cut? cut: 1);
        memcpy (prefix, zframe_data (body), cut);
        ht_msg_t msg;
        ck_assert_msg (s_decode (s_zmsg_bytes (HT_MSG_HELLO, prefix, cut), &msg) == HT_EMALFORMED,
                       "cut at %zu", cut);
        free (prefix);
    }
    zmsg_destroy (&whole);
}
END_TEST

START_TEST (a_map_claiming_four_billion_entries_is_malformed)
{
    ht_msg_t msg;
    const uint8_t map [] = { 0xdf, 0xff, 0xff, 0xff, 0xff, 0xa3, 's', 'e', 'q', 0x01 };
    ck_assert_int_eq (s_decode (s_zmsg_bytes (HT_MSG_PING, map, sizeof map), &msg),
                      HT_EMALFORMED);
    const uint8_t map16 [] = { 0xde, 0xff, 0xff, 0xa3, 's', 'e', 'q', 0x01 };
    ck_assert_int_eq (s_decode (s_zmsg_bytes (HT_MSG_PING, map16, sizeof map16), &msg),
                      HT_EMALFORMED);
    //  A value claiming four gigabytes of text
    const uint8_t text [] = { 0x81, 0xa3, 's', 'e', 'q', 0xdb, 0xff, 0xff, 0xff, 0xff, 'x' };
    ck_assert_int_eq (s_decode (s_zmsg_bytes (HT_MSG_PING, text, sizeof text), &msg),
                      HT_EMALFORMED);
    const uint8_t array [] = { 0x81, 0xa3, 's', 'e', 'q', 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01 };
    ck_assert_int_eq (s_decode (s_zmsg_bytes (HT_MSG_PING, array, sizeof array), &msg),
                      HT_EMALFORMED);
}
END_TEST

START_TEST (a_body_nested_deeply_is_refused_without_a_crash)
{
    //  {"seq": [[[[...1...]]]]} 1000 deep, for a command that carries seq
    //  and one that would skip it
    size_t depth = 1000;
    uint8_t *data = malloc (5 + depth + 1);
    memcpy (data, "\x81\xa3seq", 5);
    memset (data + 5, 0x91, depth);
    data [5 + depth] = 0x01;
    ht_msg_t msg;
    ck_assert_int_eq (s_decode (s_zmsg_bytes (HT_MSG_PING, data, 5 + depth + 1), &msg),
                      HT_EMALFORMED);
    //  msgpack-c's unpacker stops far short of 1000 levels
    ck_assert_int_eq (s_decode (s_zmsg_bytes (HT_MSG_PUT, data, 5 + depth + 1), &msg),
                      HT_EMALFORMED);
    free (data);
}
END_TEST

START_TEST (a_message_without_a_body_frame_is_an_error)
{
    ht_msg_t msg;
    const char *reason = NULL;
    //  Only a command frame
    zmsg_t *zmsg = zmsg_new ();
    zmsg_addstr (zmsg, HT_MSG_PING);
    ck_assert_int_eq (ht_msg_decode (zmsg, &msg, &reason), HT_EMALFORMED);
    ck_assert_ptr_nonnull (reason);
    zmsg_destroy (&zmsg);
    //  Nothing at all
    zmsg = zmsg_new ();
    reason = NULL;
    int rc = ht_msg_decode (zmsg, &msg, &reason);
    ck_assert_int_ne (rc, HT_OK);
    ck_assert_int_eq (rc, HT_EMALFORMED);
    ck_assert_ptr_nonnull (reason);
    zmsg_destroy (&zmsg);
    //  The reason pointer is optional
    zmsg = zmsg_new ();
    ck_assert_int_eq (ht_msg_decode (zmsg, &msg, NULL), HT_EMALFORMED);
    zmsg_destroy (&zmsg);
}
END_TEST

START_TEST (random_bodies_never_crash_the_decoder)
{
    //  Garbage, and single-byte mutations of a real body, for every command
    const char *commands [] = {
        HT_MSG_HELLO, HT_MSG_PULL, HT_MSG_BATCH, HT_MSG_PING, HT_MSG_ERROR, HT_MSG_PUT };
    uint64_t state = 0x9e3779b97f4a7c15ULL;
    for (size_t c = 0; c < S_COUNT (commands); c++) {
        ht_msg_t in;
        ht_msg_init (&in, commands [c]);
        in.has_epoch = true;
        in.cursor = 1000;
        in.max = 100;
        snprintf (in.region, sizeof in.region, "%s", "441802001001");
        snprintf (in.error, sizeof in.error, "%s", "EINVAL");
        snprintf (in.text, sizeof in.text, "%s", "some reason");
        zmsg_t *good = ht_msg_encode (&in);
        zframe_t *body = zmsg_last (good);
        size_t size = zframe_size (body);
        for (int round = 0; round < 2000; round++) {
            uint8_t *data = malloc (size);
            memcpy (data, zframe_data (body), size);
            if (round % 2) {
                data [s_random (&state) % size] = (uint8_t) s_random (&state);
            }
            else
                for (size_t index = 0; index < size; index++)
                    data [index] = (uint8_t) s_random (&state);
            ht_msg_t msg;
            int rc = s_decode (s_zmsg_bytes (commands [c], data, size), &msg);
            ck_assert (rc == HT_OK || rc == HT_EMALFORMED);
            free (data);
        }
        zmsg_destroy (&good);
    }
}
END_TEST

static Suite *
msg_suite (void)
{
    Suite *suite = suite_create ("ht_msg");
    TCase *tc = tcase_create ("round trip");
    tcase_add_test (tc, hello_and_welcome_round_trip_with_every_item);
    tcase_add_test (tc, pull_round_trips_with_and_without_an_epoch);
    tcase_add_test (tc, batch_round_trips_and_leaves_its_records_in_the_message);
    tcase_add_test (tc, notify_ping_and_pong_round_trip_with_a_sequence);
    tcase_add_test (tc, hello_welcome_ping_and_pong_carry_the_clock_and_its_echo);
    tcase_add_test (tc, a_pong_body_with_a_clock_is_canonical_msgpack);
    tcase_add_test (tc, a_ping_or_pong_without_a_clock_is_read_as_having_none);
    tcase_add_test (tc, error_round_trips_with_error_text_and_token);
    tcase_add_test (tc, put_status_info_and_their_replies_round_trip_with_a_token);
    tcase_add_test (tc, a_message_carries_only_its_own_commands_items);
    tcase_add_test (tc, read_requests_round_trip_with_every_item);
    tcase_add_test (tc, read_replies_round_trip_and_keep_their_frames);
    tcase_add_test (tc, a_read_request_carries_only_its_own_items);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("canonical");
    tcase_add_test (tc, a_pull_body_is_canonical_msgpack);
    tcase_add_test (tc, a_long_poll_pull_and_its_batch_carry_wait_as_protocol_md_shows);
    tcase_add_test (tc, a_hello_body_is_canonical_msgpack);
    tcase_add_test (tc, every_body_has_sorted_keys_and_shortest_integers);
    tcase_add_test (tc, a_get_body_is_canonical_msgpack);
    tcase_add_test (tc, optional_empty_read_items_are_not_encoded);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("hostile");
    tcase_add_test (tc, an_unknown_command_is_refused_as_invalid);
    tcase_add_test (tc, encoding_an_unknown_command_gives_nothing);
    tcase_add_test (tc, a_missing_required_item_is_malformed);
    tcase_add_test (tc, an_item_of_the_wrong_type_is_malformed);
    tcase_add_test (tc, a_text_too_long_or_holding_a_nul_is_malformed);
    tcase_add_test (tc, a_text_that_is_not_utf8_is_malformed);
    tcase_add_test (tc, an_unknown_extra_item_is_ignored);
    tcase_add_test (tc, a_body_that_is_not_a_msgpack_map_is_malformed);
    tcase_add_test (tc, every_truncated_body_is_malformed);
    tcase_add_test (tc, a_map_claiming_four_billion_entries_is_malformed);
    tcase_add_test (tc, a_body_nested_deeply_is_refused_without_a_crash);
    tcase_add_test (tc, a_message_without_a_body_frame_is_an_error);
    tcase_add_test (tc, a_read_request_without_its_kind_or_key_is_malformed);
    tcase_add_test (tc, an_over_long_read_item_is_malformed);
    tcase_add_test (tc, random_bodies_never_crash_the_decoder);
    suite_add_tcase (suite, tc);
    return suite;
}

HT_TEST_MAIN (msg_suite)

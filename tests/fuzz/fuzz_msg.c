//  fuzz_msg: the wire messages nodes and clients exchange
//  (ht_msg_decode: HELLO, PULL, BATCH, PUT, GET, SUBSCRIBE, ...), as
//  hutongd's replication links and client service and the client library
//  read each one, with the record and JSON frames that follow the body.
//
//  Input: frames, each a 2-byte big-endian length and that many bytes;
//  whatever is left after the last whole frame is one more frame. Frame 1
//  is the command, frame 2 the msgpack body, the others records (or a
//  reply's JSON frame).
//
//  Oracles beyond "no crash":
//  - a message that decodes encodes to frames that decode to the same
//    message, which encodes to the same frames again (encoding drops
//    only what carries no meaning, such as a cursor without its epoch,
//    so the round trip is exact from the first encoding on);
//  - every text item of a decoded message is UTF-8 (msgpack str is UTF-8,
//    and these texts end up in logs and the status JSON).
#include "ht_fuzz.h"
#include "ht_msg.h"

//  Split the input into frames
static zmsg_t *
s_frames (const uint8_t *data, size_t size)
{
    zmsg_t *zmsg = zmsg_new ();
    size_t at = 0;
    while (at + 2 <= size) {
        size_t length = ((size_t) data [at] << 8) | data [at + 1];
        if (at + 2 + length > size)
            break;
        zmsg_addmem (zmsg, data + at + 2, length);
        at += 2 + length;
    }
    if (at < size)
        zmsg_addmem (zmsg, data + at, size - at);
    return zmsg;
}

//  Every text of a decoded message is NUL-terminated UTF-8 in its buffer
static void
s_check_texts (const ht_msg_t *msg)
{
    const struct { const char *name; const char *text; size_t size; } texts [] = {
        { "region", msg->region, sizeof msg->region }, { "name", msg->name, sizeof msg->name },
        { "error", msg->error, sizeof msg->error }, { "text", msg->text, sizeof msg->text },
        { "kind", msg->kind, sizeof msg->kind }, { "key", msg->key, sizeof msg->key },
        { "field", msg->field, sizeof msg->field }, { "value", msg->value, sizeof msg->value },
        { "after", msg->after, sizeof msg->after },
        { "purpose", msg->purpose, sizeof msg->purpose } };
    for (size_t index = 0; index < sizeof texts / sizeof texts [0]; index++) {
        size_t length = strnlen (texts [index].text, texts [index].size);
        if (length == texts [index].size)
            HT_FUZZ_FAIL ("message item %s is not NUL-terminated", texts [index].name);
        if (!ht_fuzz_is_utf8 (texts [index].text, length))
            HT_FUZZ_FAIL ("message item %s is not UTF-8", texts [index].name);
    }
}

//  Encode msg (which must encode: it decoded) and decode it again
static zmsg_t *
s_encode (const ht_msg_t *msg)
{
    zmsg_t *zmsg = ht_msg_encode (msg);
    if (!zmsg)
        HT_FUZZ_FAIL ("a decoded %s does not encode", msg->command);
    return zmsg;
}

static void
s_decode_again (zmsg_t *zmsg, ht_msg_t *msg)
{
    const char *reason = NULL;
    int rc = ht_msg_decode (zmsg, msg, &reason);
    if (rc)
        HT_FUZZ_FAIL ("an encoded message does not decode: %s", reason? reason: "?");
}

//  The frames after the body: records, or a reply's JSON
static void
s_read_rest (zmsg_t *zmsg)
{
    for (zframe_t *frame = zmsg_first (zmsg); frame; frame = zmsg_next (zmsg)) {
        const uint8_t *data = zframe_data (frame);
        size_t size = zframe_size (frame);
        ht_record_head_t head;
        (void) ht_record_peek (data, size, &head);
        ht_record_t *record = ht_record_decode (data, size, NULL, NULL);
        if (record)
            (void) ht_record_verify (record, NULL);
        ht_record_destroy (&record);
        json_t *json = json_loadb ((const char *) data, size, 0, NULL);
        json_decref (json);
    }
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    zmsg_t *zmsg = s_frames (data, size);
    ht_msg_t msg;
    memset (&msg, 0, sizeof msg);
    const char *reason = NULL;
    int rc = ht_msg_decode (zmsg, &msg, &reason);
    if (rc && !reason)
        HT_FUZZ_FAIL ("decoding failed without a reason");
    if (rc == HT_OK) {
        s_check_texts (&msg);
        zmsg_t *first = s_encode (&msg);
        zmsg_t *copy = zmsg_dup (first);
        ht_msg_t again, third;
        s_decode_again (copy, &again);
        zmsg_t *second = s_encode (&again);
        if (zmsg_size (first) != zmsg_size (second))
            HT_FUZZ_FAIL ("a message's encoding changed frame count");
        for (zframe_t *a = zmsg_first (first), *b = zmsg_first (second); a && b;
             a = zmsg_next (first), b = zmsg_next (second))
            if (!zframe_eq (a, b))
                HT_FUZZ_FAIL ("a message's encoding changed after a round trip");
        s_decode_again (second, &third);
        if (memcmp (&again, &third, sizeof again))
            HT_FUZZ_FAIL ("a message decoded twice from one encoding differs");
        zmsg_destroy (&copy);
        zmsg_destroy (&second);
        zmsg_destroy (&first);
        s_read_rest (zmsg);
    }
    zmsg_destroy (&zmsg);
    return 0;
}

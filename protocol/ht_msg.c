//  ht_msg: message encoding, driven by one table of which body items each
//  command carries.
#include "ht_msg.h"
#include "ht_codec.h"

//  Body items, in canonical (bytewise) key order
enum {
    S_AFTER = 1 << 0, S_CLOCK = 1 << 1, S_CURSOR = 1 << 2, S_ECHO = 1 << 3,
    S_EPOCH = 1 << 4, S_ERROR = 1 << 5, S_FIELD = 1 << 6, S_FROM = 1 << 7,
    S_FULL = 1 << 8, S_KEY = 1 << 9, S_KIND = 1 << 10, S_MAX = 1 << 11,
    S_MORE = 1 << 12, S_NAME = 1 << 13, S_PURPOSE = 1 << 14, S_REGION = 1 << 15,
    S_SEQ = 1 << 16, S_SKEW = 1 << 17, S_TAG = 1 << 18, S_TEXT = 1 << 19,
    S_TOKEN = 1 << 20, S_V = 1 << 21, S_VALUE = 1 << 22, S_WAIT = 1 << 23
};
static const char *const s_item_names [] = {
    "after", "clock", "cursor", "echo", "epoch", "error", "field", "from", "full", "key",
    "kind", "max", "more", "name", "purpose", "region", "seq", "skew", "tag", "text", "token",
    "v", "value", "wait" };
#define S_ITEM_COUNT (sizeof (s_item_names) / sizeof (s_item_names [0]))

typedef struct {
    const char *command;    //  the command word
    unsigned items;         //  body items it carries
    unsigned required;      //  of which these must be present
} s_command_t;

static const s_command_t s_commands [] = {
    //  clock, echo and skew were added within version 1: optional, so
    //  older peers, which skip them, and newer ones interoperate
    { HT_MSG_HELLO,     S_V | S_REGION | S_NAME | S_EPOCH | S_SEQ | S_CLOCK | S_SKEW,
                        S_V | S_REGION | S_EPOCH },
    { HT_MSG_WELCOME,   S_V | S_REGION | S_NAME | S_EPOCH | S_SEQ | S_CLOCK | S_ECHO | S_SKEW,
                        S_V | S_REGION | S_EPOCH },
    { HT_MSG_PULL,      S_EPOCH | S_CURSOR | S_FULL | S_MAX | S_TAG | S_WAIT, S_CURSOR | S_MAX },
    { HT_MSG_BATCH,     S_EPOCH | S_CURSOR | S_FROM | S_MORE | S_SEQ | S_TAG | S_WAIT,
                        S_EPOCH | S_CURSOR | S_MORE },
    { HT_MSG_NOTIFY,    S_SEQ, 0 },
    { HT_MSG_PING,      S_SEQ | S_CLOCK | S_SKEW, 0 },
    { HT_MSG_PONG,      S_SEQ | S_CLOCK | S_ECHO | S_SKEW, 0 },
    { HT_MSG_ERROR,     S_ERROR | S_TEXT | S_TOKEN, S_ERROR },
    { HT_MSG_PUT,       S_TOKEN, 0 },
    { HT_MSG_PUT_OK,    S_TOKEN, 0 },
    { HT_MSG_STATUS,    S_TOKEN, 0 },
    { HT_MSG_STATUS_OK, S_TOKEN, 0 },
    { HT_MSG_INFO,      S_TOKEN, 0 },
    { HT_MSG_INFO_OK,   S_TOKEN, 0 },
    { HT_MSG_GET,       S_TOKEN | S_PURPOSE | S_KIND | S_KEY, S_KIND | S_KEY },
    { HT_MSG_GET_OK,    S_TOKEN, 0 },
    { HT_MSG_FIND,      S_TOKEN | S_PURPOSE | S_KIND | S_VALUE, S_KIND | S_VALUE },
    { HT_MSG_FIND_OK,   S_TOKEN, 0 },
    { HT_MSG_LIST,      S_TOKEN | S_PURPOSE | S_KIND | S_REGION | S_FIELD | S_VALUE | S_AFTER
                        | S_MAX, S_KIND },
    { HT_MSG_LIST_OK,   S_TOKEN, 0 },
    { HT_MSG_COUNT,     S_TOKEN | S_PURPOSE | S_KIND | S_REGION, S_KIND },
    { HT_MSG_COUNT_OK,  S_TOKEN, 0 },
    { HT_MSG_HISTORY,   S_TOKEN | S_PURPOSE | S_KIND | S_KEY, S_KIND | S_KEY },
    { HT_MSG_HISTORY_OK, S_TOKEN, 0 },
    { HT_MSG_SUBSCRIBE, S_TOKEN | S_PURPOSE | S_KIND | S_REGION | S_FIELD | S_VALUE | S_AFTER
                        | S_EPOCH | S_CURSOR | S_MAX, S_TOKEN },
    { HT_MSG_SUBSCRIBE_OK, S_TOKEN, 0 },
    { HT_MSG_CREDIT,    S_TOKEN | S_MAX, S_TOKEN | S_MAX },
    { HT_MSG_UNSUBSCRIBE, S_TOKEN, S_TOKEN },
    { HT_MSG_EVENTS,    S_TOKEN, 0 },
    { HT_MSG_FEED_HB,   S_TOKEN, 0 },
    { HT_MSG_RESYNC,    S_TOKEN, 0 },
};
#define S_COMMAND_COUNT (sizeof (s_commands) / sizeof (s_commands [0]))

static const s_command_t *
s_command (const char *name)
{
    for (size_t index = 0; index < S_COMMAND_COUNT; index++)
        if (streq (s_commands [index].command, name))
            return &s_commands [index];
    return NULL;
}

void
ht_msg_init (ht_msg_t *msg, const char *command)
{
    memset (msg, 0, sizeof (*msg));
    snprintf (msg->command, sizeof msg->command, "%s", command);
}

//  Pack one body item
static void
s_pack_item (msgpack_packer *packer, const ht_msg_t *msg, unsigned item)
{
    switch (item) {
        case S_AFTER: ht_pack_cstr (packer, msg->after); break;
        case S_CLOCK: msgpack_pack_uint64 (packer, msg->clock); break;
        case S_CURSOR: msgpack_pack_uint64 (packer, msg->cursor); break;
        case S_ECHO: msgpack_pack_uint64 (packer, msg->echo); break;
        case S_EPOCH: ht_pack_bin (packer, msg->epoch, HT_MSG_EPOCH_BYTES); break;
        case S_ERROR: ht_pack_cstr (packer, msg->error); break;
        case S_FIELD: ht_pack_cstr (packer, msg->field); break;
        case S_FROM: msgpack_pack_uint64 (packer, msg->from); break;
        case S_FULL: msgpack_pack_uint64 (packer, msg->full); break;
        case S_KEY: ht_pack_cstr (packer, msg->key); break;
        case S_KIND: ht_pack_cstr (packer, msg->kind); break;
        case S_MAX: msgpack_pack_uint64 (packer, msg->max); break;
        case S_MORE: if (msg->more) msgpack_pack_true (packer); else msgpack_pack_false (packer); break;
        case S_NAME: ht_pack_cstr (packer, msg->name); break;
        case S_PURPOSE: ht_pack_cstr (packer, msg->purpose); break;
        case S_REGION: ht_pack_cstr (packer, msg->region); break;
        case S_SEQ: msgpack_pack_uint64 (packer, msg->last_seq); break;
        case S_SKEW: msgpack_pack_int64 (packer, msg->skew); break;
        case S_TAG: ht_pack_bin (packer, msg->tag, HT_MSG_TAG_BYTES); break;
        case S_TEXT: ht_pack_cstr (packer, msg->text); break;
        case S_TOKEN: msgpack_pack_uint64 (packer, msg->token); break;
        case S_V: msgpack_pack_uint64 (packer, msg->version); break;
        case S_VALUE: ht_pack_cstr (packer, msg->value); break;
        case S_WAIT: msgpack_pack_uint64 (packer, msg->wait); break;
    }
}

zmsg_t *
ht_msg_encode (const ht_msg_t *msg)
{
    const s_command_t *command = s_command (msg->command);
    if (!command)
        return NULL;
    unsigned items = command->items;
    if (!msg->has_epoch && !(command->required & S_EPOCH))
        items &= ~(unsigned) S_EPOCH;
    if (!msg->has_from)
        items &= ~(unsigned) S_FROM;
    if (!msg->full)
        items &= ~(unsigned) S_FULL;       //  travels only in a full pass
    if (!msg->has_tag)
        items &= ~(unsigned) S_TAG;
    if (!msg->wait)
        items &= ~(unsigned) S_WAIT;       //  travels only when long-polling
    if (!msg->has_clock)
        items &= ~(unsigned) S_CLOCK;
    if (!msg->has_echo)
        items &= ~(unsigned) S_ECHO;
    if (!msg->has_skew)
        items &= ~(unsigned) S_SKEW;
    //  Optional texts of requests travel only when given
    const struct { unsigned item; const char *text; } texts [] = {
        { S_AFTER, msg->after }, { S_FIELD, msg->field }, { S_KEY, msg->key },
        { S_KIND, msg->kind }, { S_PURPOSE, msg->purpose }, { S_REGION, msg->region },
        { S_VALUE, msg->value } };
    for (size_t index = 0; index < sizeof texts / sizeof texts [0]; index++)
        if (!(command->required & texts [index].item) && !*texts [index].text)
            items &= ~texts [index].item;
    if (!(command->required & S_CURSOR) && !msg->has_epoch)
        items &= ~(unsigned) S_CURSOR;     //  a cursor means nothing without its epoch
    if (!(command->required & S_MAX) && msg->max == 0)
        items &= ~(unsigned) S_MAX;
    ht_packer_t body;
    ht_packer_init (&body);
    msgpack_pack_map (&body.packer, (size_t) __builtin_popcount (items));
    for (size_t index = 0; index < S_ITEM_COUNT; index++)
        if (items & (1u << index)) {
            ht_pack_cstr (&body.packer, s_item_names [index]);
            s_pack_item (&body.packer, msg, 1u << index);
        }
    zmsg_t *zmsg = zmsg_new ();
    zmsg_addstr (zmsg, msg->command);
    zmsg_addmem (zmsg, body.buffer.data, body.buffer.size);
    ht_packer_destroy (&body);
    return zmsg;
}

//  Read one body item; false if its type is wrong
static bool
s_read_item (const msgpack_object *value, ht_msg_t *msg, unsigned item)
{
    switch (item) {
        case S_AFTER: return ht_obj_cstr (value, msg->after, sizeof msg->after);
        case S_CLOCK: return (msg->has_clock = ht_obj_uint (value, &msg->clock));
        case S_CURSOR: return ht_obj_uint (value, &msg->cursor);
        case S_ECHO: return (msg->has_echo = ht_obj_uint (value, &msg->echo));
        case S_EPOCH: return (msg->has_epoch = ht_obj_bin (value, msg->epoch, HT_MSG_EPOCH_BYTES));
        case S_ERROR: return ht_obj_cstr (value, msg->error, sizeof msg->error);
        case S_FIELD: return ht_obj_cstr (value, msg->field, sizeof msg->field);
        case S_FROM: return (msg->has_from = ht_obj_uint (value, &msg->from));
        case S_FULL: return ht_obj_uint (value, &msg->full);
        case S_KEY: return ht_obj_cstr (value, msg->key, sizeof msg->key);
        case S_KIND: return ht_obj_cstr (value, msg->kind, sizeof msg->kind);
        case S_MAX: return ht_obj_uint (value, &msg->max);
        case S_MORE:
            msg->more = value->type == MSGPACK_OBJECT_BOOLEAN && value->via.boolean;
            return value->type == MSGPACK_OBJECT_BOOLEAN;
        case S_NAME: return ht_obj_cstr (value, msg->name, sizeof msg->name);
        case S_PURPOSE: return ht_obj_cstr (value, msg->purpose, sizeof msg->purpose);
        case S_REGION: return ht_obj_cstr (value, msg->region, sizeof msg->region);
        case S_SEQ: return ht_obj_uint (value, &msg->last_seq);
        case S_SKEW: return (msg->has_skew = ht_obj_int (value, &msg->skew));
        case S_TAG: return (msg->has_tag = ht_obj_bin (value, msg->tag, HT_MSG_TAG_BYTES));
        case S_TEXT: return ht_obj_cstr (value, msg->text, sizeof msg->text);
        case S_TOKEN: return ht_obj_uint (value, &msg->token);
        case S_V: return ht_obj_uint (value, &msg->version);
        case S_VALUE: return ht_obj_cstr (value, msg->value, sizeof msg->value);
        case S_WAIT: return ht_obj_uint (value, &msg->wait);
    }
    return false;
}

//  Read the body map into msg for command
static int
s_read_body (const msgpack_object *map, const s_command_t *command, ht_msg_t *msg,
             const char **reason)
{
    unsigned seen = 0;
    for (uint32_t index = 0; index < map->via.map.size; index++) {
        const msgpack_object_kv *pair = &map->via.map.ptr [index];
        size_t item = 0;
        while (item < S_ITEM_COUNT && !ht_obj_str_eq (&pair->key, s_item_names [item]))
            item++;
        //  Unknown items are skipped, so a newer peer may add optional ones
        if (item == S_ITEM_COUNT || !(command->items & (1u << item)))
            continue;
        if (!s_read_item (&pair->val, msg, 1u << item)) {
            *reason = "a message item has the wrong type";
            return HT_EMALFORMED;
        }
        seen |= 1u << item;
    }
    if ((seen & command->required) != command->required) {
        *reason = "a message lacks a required item";
        return HT_EMALFORMED;
    }
    return HT_OK;
}

int
ht_msg_decode (zmsg_t *zmsg, ht_msg_t *msg, const char **reason_p)
{
    const char *ignored;
    const char **reason = reason_p? reason_p: &ignored;
    char *command_text = zmsg_popstr (zmsg);
    zframe_t *body = zmsg_pop (zmsg);
    const s_command_t *command = command_text && strlen (command_text) < sizeof msg->command
                               ? s_command (command_text): NULL;
    int rc = HT_OK;
    if (!command) {
        *reason = "unknown command";
        rc = command_text? HT_EINVAL: HT_EMALFORMED;
    }
    else
    if (!body || ht_codec_scan (zframe_data (body), zframe_size (body)) != HT_OK) {
        *reason = "message body is not one msgpack object";
        rc = HT_EMALFORMED;
    }
    else {
        ht_msg_init (msg, command->command);
        msgpack_unpacked unpacked;
        msgpack_unpacked_init (&unpacked);
        size_t offset = 0;
        if (msgpack_unpack_next (&unpacked, (const char *) zframe_data (body),
                                 zframe_size (body), &offset) != MSGPACK_UNPACK_SUCCESS
        ||  unpacked.data.type != MSGPACK_OBJECT_MAP) {
            *reason = "message body is not a msgpack map";
            rc = HT_EMALFORMED;
        }
        else
            rc = s_read_body (&unpacked.data, command, msg, reason);
        msgpack_unpacked_destroy (&unpacked);
    }
    zstr_free (&command_text);
    zframe_destroy (&body);
    return rc;
}

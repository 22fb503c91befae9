//  ht_msg: the messages nodes and clients exchange over ZeroMQ.
//
//  A message is frames: [command] [body] [record]*. The command is a short
//  ASCII word; the body a msgpack map whose keys depend on the command
//  (one table in ht_msg.c lists them); records travel as further frames,
//  each one encoded record, so a batch is relayed without re-packing.
//  docs/protocol.md describes every message.
#ifndef HT_MSG_H_INCLUDED
#define HT_MSG_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>
#include "ht_error.h"
#include "ht_region.h"

#define HT_PROTOCOL_VERSION 1
#define HT_MSG_EPOCH_BYTES 16
#define HT_MSG_TEXT_CHARS 255
#define HT_PUT_MAX_RECORDS 10000    //  records in one PUT
#define HT_MSG_MAX_FRAME_BYTES (2 * 1024 * 1024)    //  any socket: a larger frame closes the connection
#define HT_MSG_KIND_BYTES 128      //  one kind, or SUBSCRIBE's comma-separated list
#define HT_MSG_KEY_BYTES 65
#define HT_MSG_TAG_BYTES 16         //  a cursor's tag (docs/protocol.md section 3)
#define HT_MSG_FIELD_BYTES 32
#define HT_MSG_VALUE_BYTES 512      //  an indexed text of up to 100 characters fits
#define HT_MSG_AFTER_BYTES 96       //  "region:key"
#define HT_MSG_PURPOSE_BYTES 32
#define HT_STRINGIFY_(x) #x
#define HT_STRINGIFY(x) HT_STRINGIFY_(x)

//  Every command's body is drawn from these items
typedef struct {
    char command [16];                      //  HELLO, PULL, BATCH, ...
    uint64_t version;                       //  v: protocol version
    char region [HT_REGION_BYTES];          //  region: sender's region
    char name [64];                         //  name: sender's name
    uint8_t epoch [HT_MSG_EPOCH_BYTES];     //  epoch: a store epoch
    bool has_epoch;                         //  epoch was given
    uint64_t cursor;                        //  cursor: a sequence number
    uint64_t from;                          //  from: the cursor a BATCH starts after
    bool has_from;                          //  from was given
    uint64_t max;                           //  max: records wanted
    uint64_t last_seq;                      //  seq: sender's latest sequence
    bool more;                              //  more: further records wait
    uint8_t tag [HT_MSG_TAG_BYTES];         //  tag: the sender's authenticator
                                            //  of a BATCH's cursor, echoed in PULL
    bool has_tag;                           //  tag was given
    uint64_t full;                          //  full: PULL also what the puller
                                            //  sent, up to this sequence of the
                                            //  sender's (a resyncing store)
    uint64_t wait;                          //  wait: PULL may be held this many ms
                                            //  for news (long poll); in BATCH:
                                            //  the sender holds PULLs so long
    uint64_t clock;                         //  clock: the sender's wall clock when
                                            //  sending, ms since 1970 (HELLO,
                                            //  WELCOME, PING, PONG)
    bool has_clock;                         //  clock was given
    uint64_t echo;                          //  echo: in WELCOME and PONG, the clock
                                            //  of the HELLO or PING answered
    bool has_echo;                          //  echo was given
    int64_t skew;                           //  skew: the sender's clock minus the
                                            //  reference it judges it by, ms
                                            //  (ht_repl), when it has one
    bool has_skew;                          //  skew was given
    uint64_t token;                         //  token: matches reply to request
    char error [32];                        //  error: stable error name
    char text [HT_MSG_TEXT_CHARS + 1];      //  text: a reason
    //  Read requests (docs/protocol.md section 4); "" when not given
    char kind [HT_MSG_KIND_BYTES];          //  kind: a record kind
    char key [HT_MSG_KEY_BYTES];            //  key: an entity key
    char field [HT_MSG_FIELD_BYTES];        //  field: an indexed field
    char value [HT_MSG_VALUE_BYTES];        //  value: its value, or a natural key
    char after [HT_MSG_AFTER_BYTES];        //  after: a listing's cursor
    char purpose [HT_MSG_PURPOSE_BYTES];    //  purpose: why the client reads
} ht_msg_t;

//  Commands
#define HT_MSG_HELLO "HELLO"        //  child -> parent: v region name epoch seq clock? skew?
#define HT_MSG_WELCOME "WELCOME"    //  parent -> child: v region name epoch seq clock? echo? skew?
#define HT_MSG_PULL "PULL"          //  either way: epoch? cursor full? max tag? wait?
#define HT_MSG_BATCH "BATCH"        //  reply to PULL: epoch from cursor more seq wait? + records
#define HT_MSG_NOTIFY "NOTIFY"      //  either way: seq (new writes: pull now)
#define HT_MSG_PING "PING"          //  either way: seq clock? skew?
#define HT_MSG_PONG "PONG"          //  reply to PING: seq clock? echo? skew?
#define HT_MSG_ERROR "ERROR"        //  either way: error text
#define HT_MSG_PUT "PUT"            //  client -> node: token + records
#define HT_MSG_PUT_OK "PUT-OK"      //  node -> client: token + a JSON frame
#define HT_MSG_STATUS "STATUS"      //  client -> node: token
#define HT_MSG_STATUS_OK "STATUS-OK"    //  node -> client: token + a JSON frame
#define HT_MSG_INFO "INFO"          //  client -> node: token
#define HT_MSG_INFO_OK "INFO-OK"    //  node -> client: token + a JSON frame
//  Reads: each OK reply carries the token, a JSON frame, then records
#define HT_MSG_GET "GET"            //  client -> node: token purpose? kind key
#define HT_MSG_GET_OK "GET-OK"
#define HT_MSG_FIND "FIND"          //  client -> node: token purpose? kind value
#define HT_MSG_FIND_OK "FIND-OK"
#define HT_MSG_LIST "LIST"          //  client -> node: token purpose? kind region?
#define HT_MSG_LIST_OK "LIST-OK"    //    (field value)? after? max?
#define HT_MSG_COUNT "COUNT"        //  client -> node: token purpose? kind region?
#define HT_MSG_COUNT_OK "COUNT-OK"
#define HT_MSG_HISTORY "HISTORY"    //  client -> node: token purpose? kind key
#define HT_MSG_HISTORY_OK "HISTORY-OK"
//  Change feeds: a subscription is named by the token of its SUBSCRIBE
#define HT_MSG_SUBSCRIBE "SUBSCRIBE"    //  client -> node: token purpose? kind? region?
                                        //    (field value)? after? epoch? cursor? max?
#define HT_MSG_SUBSCRIBE_OK "SUBSCRIBE-OK"  //  node -> client: token + JSON
#define HT_MSG_CREDIT "CREDIT"          //  client -> node: token max (more events)
#define HT_MSG_UNSUBSCRIBE "UNSUBSCRIBE"    //  client -> node: token
#define HT_MSG_EVENTS "EVENTS"          //  node -> client: token + JSON + records
#define HT_MSG_FEED_HB "FEED-HB"        //  node -> client: token + JSON (idle)
#define HT_MSG_RESYNC "RESYNC"          //  node -> client: token + JSON (cursor lost)

//  Clear a message and set its command
void ht_msg_init (ht_msg_t *msg, const char *command);

//  Encode a message's command and body as a new zmsg (records may then be
//  appended as frames). NULL for an unknown command.
zmsg_t *ht_msg_encode (const ht_msg_t *msg);

//  Decode the command and body frames from the front of zmsg (records stay
//  in zmsg). Returns 0, or HT_EMALFORMED / HT_EINVAL (unknown command)
//  with a static reason; never trusts the bytes.
int ht_msg_decode (zmsg_t *zmsg, ht_msg_t *msg, const char **reason) HT_WUR;

#endif

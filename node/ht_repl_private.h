//  ht_repl_private: the replication engine's state, shared by ht_repl.c
//  (links, serving, applying, heartbeats) and ht_repl_clock.c (judging
//  clocks). Not public.
#ifndef HT_REPL_PRIVATE_H_INCLUDED
#define HT_REPL_PRIVATE_H_INCLUDED
#include <sodium.h>
#include "ht_repl.h"

struct _ht_repl_t {
    ht_store_t *store;                  //  our store (borrowed)
    const ht_config_t *config;          //  our configuration (borrowed)
    ht_repl_io_t io;                    //  what we ask of our owner
    zhashx_t *peers;                    //  name -> ht_peer_t (owned)
    uint8_t parent_key [HT_PUBKEY_BYTES];   //  the parent's Ed25519 key
    bool has_parent;                    //  we have a parent
    uint64_t last_seq;                  //  our latest sequence, as last seen
    uint64_t protocol_errors;           //  malformed or unexpected messages
    int64_t last_tick_ms;               //  when the last heartbeat ran
    bool busy;                          //  applied or served since asked
    uint64_t epoch_changes;             //  new epochs taken on a peer's word
    uint8_t cursor_key [crypto_generichash_KEYBYTES];   //  keys our cursors' tags
    bool has_cursor_key;                //  ... if set
    zhashx_t *parked;                   //  peer name -> s_parked_t: PULLs held
                                        //  for news (long poll), one per peer
    zlistx_t *waiting;                  //  s_waiting_t: batches taken in, to apply
    ht_repl_clock_t clock;              //  our clock, as last judged
    bool clock_judged;                  //  ... against a reference, once
};

//  ht_repl_clock.c
//  Our wall clock, ms since 1970 (the owner's, if it gives one)
int64_t ht_repl__wall (ht_repl_t *self);
//  Put what we say of our clock in a HELLO, WELCOME, PING or PONG
void ht_repl__say_skew (ht_repl_t *self, ht_msg_t *msg);
//  Judge our clock again from what our neighbours' clocks say
void ht_repl__clock_judge (ht_repl_t *self);
//  Keep what peer says of its own clock (msg's skew)
void ht_repl__heard_skew (ht_peer_t *peer, const ht_msg_t *msg);
//  Read peer's clock from msg's stamps (a HELLO, WELCOME or PONG)
void ht_repl__read_clock (ht_repl_t *self, ht_peer_t *peer, const ht_msg_t *msg);

#endif

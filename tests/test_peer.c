//  test_peer: one neighbour's link state machine, driven by events and by
//  made-up monotonic times. No store, no sockets, no clock.
#include "ht_peer.h"
#include "ht_test.h"

#define S_TIMEOUT_MS 5000
#define S_T0_MS 100000              //  a made-up monotonic start
#define S_REGION "441802001000"

static const uint8_t s_epoch_one [HT_MSG_EPOCH_BYTES] = { 1, 1, 1, 1 };
static const uint8_t s_epoch_two [HT_MSG_EPOCH_BYTES] = { 2, 2, 2, 2 };

//  A parent peer that completed the handshake at S_T0_MS in epoch one,
//  resuming from cursor, with the parent's latest sequence last_seq
static ht_peer_t *
s_up_peer (uint64_t cursor, uint64_t last_seq)
{
    ht_peer_t *peer = ht_peer_new (S_REGION, true);
    ht_peer_resume (peer, s_epoch_one, cursor, 0, NULL);
    ht_peer_connecting (peer, S_T0_MS);
    ht_peer_up (peer, s_epoch_one, last_seq, S_T0_MS);
    return peer;
}

//  A peer that is up and has pulled from its cursor at S_T0_MS
static ht_peer_t *
s_pulling_peer (uint64_t cursor, uint64_t last_seq)
{
    ht_peer_t *peer = s_up_peer (cursor, last_seq);
    ht_peer_pull_sent (peer, s_epoch_one, cursor, S_T0_MS);
    return peer;
}

//  --------------------------------------------------------------------------
//  Handshake and liveness

START_TEST (a_parent_goes_from_down_through_connecting_to_up)
{
    ht_peer_t *peer = ht_peer_new (S_REGION, true);
    ck_assert_int_eq (ht_peer_state (peer), HT_PEER_DOWN);
    ck_assert (!ht_peer_is_up (peer));
    ck_assert (ht_peer_is_parent (peer));
    ck_assert_str_eq (ht_peer_name (peer), S_REGION);
    //  A DOWN peer asks for nothing, however long it has been
    ck_assert_int_eq (ht_peer_tick (peer, S_T0_MS + 10 * S_TIMEOUT_MS, S_TIMEOUT_MS),
                      HT_PEER_DO_NOTHING);
    ht_peer_connecting (peer, S_T0_MS);
    ck_assert_int_eq (ht_peer_state (peer), HT_PEER_CONNECTING);
    //  No PING or PULL before the WELCOME
    ck_assert_int_eq (ht_peer_tick (peer, S_T0_MS + 100, S_TIMEOUT_MS), HT_PEER_DO_NOTHING);
    //  A fresh peer knew no epoch: adopting the first one resets nothing
    ck_assert (!ht_peer_up (peer, s_epoch_one, 7, S_T0_MS + 200));
    ck_assert_int_eq (ht_peer_state (peer), HT_PEER_UP);
    ck_assert (ht_peer_is_up (peer));
    ck_assert_uint_eq (ht_peer_last_seq (peer), 7);
    ck_assert_mem_eq (ht_peer_epoch (peer), s_epoch_one, HT_MSG_EPOCH_BYTES);
    ht_peer_down (peer);
    ck_assert_int_eq (ht_peer_state (peer), HT_PEER_DOWN);
    ht_peer_destroy (&peer);
    ck_assert_ptr_null (peer);
    ht_peer_destroy (&peer);
}
END_TEST

START_TEST (a_hello_without_an_answer_within_the_timeout_is_lost)
{
    ht_peer_t *peer = ht_peer_new (S_REGION, true);
    ht_peer_connecting (peer, S_T0_MS);
    ck_assert_int_eq (ht_peer_tick (peer, S_T0_MS + S_TIMEOUT_MS, S_TIMEOUT_MS),
                      HT_PEER_DO_NOTHING);
    ck_assert_int_eq (ht_peer_tick (peer, S_T0_MS + S_TIMEOUT_MS + 1, S_TIMEOUT_MS),
                      HT_PEER_DO_LOST);
    ck_assert_int_eq (ht_peer_state (peer), HT_PEER_DOWN);
    ht_peer_destroy (&peer);
}
END_TEST

START_TEST (adopting_a_changed_epoch_resets_the_cursor_and_the_same_epoch_keeps_it)
{
    ht_peer_t *peer = ht_peer_new (S_REGION, false);
    ht_peer_resume (peer, s_epoch_one, 40, 0, NULL);
    ck_assert_uint_eq (ht_peer_cursor (peer), 40);
    //  The same epoch again (a reconnect): the cursor stays
    ck_assert (!ht_peer_up (peer, s_epoch_one, 50, S_T0_MS));
    ck_assert_uint_eq (ht_peer_cursor (peer), 40);
    ck_assert_uint_eq (ht_peer_last_seq (peer), 50);
    //  Another epoch (a restored store): start again at zero
    ck_assert (ht_peer_up (peer, s_epoch_two, 12, S_T0_MS + 10));
    ck_assert_uint_eq (ht_peer_cursor (peer), 0);
    ck_assert_mem_eq (ht_peer_epoch (peer), s_epoch_two, HT_MSG_EPOCH_BYTES);
    ck_assert_uint_eq (ht_peer_last_seq (peer), 12);
    ht_peer_destroy (&peer);
}
END_TEST

START_TEST (a_full_pass_reaches_what_the_peer_held_at_the_handshake_and_ends_with_its_log)
{
    ht_peer_t *peer = ht_peer_new (S_REGION, false);
    ht_peer_resume (peer, s_epoch_one, 0, HT_PEER_FULL_PENDING, NULL);
    //  Fixed at the handshake: what the peer receives from us later is ours
    ck_assert (!ht_peer_up (peer, s_epoch_one, 30, S_T0_MS));
    ck_assert_uint_eq (ht_peer_full (peer), 30);
    //  A batch that ends before it, with more: the pass goes on
    ck_assert_uint_eq (ht_peer_full_after (peer, 10, true), 30);
    ht_peer_batch_applied (peer, s_epoch_one, 10, true, 40, 5, 5);
    ck_assert_uint_eq (ht_peer_full (peer), 30);
    //  Past it, or at the end of the log: over
    ck_assert_uint_eq (ht_peer_full_after (peer, 30, true), 0);
    ck_assert_uint_eq (ht_peer_full_after (peer, 20, false), 0);
    ht_peer_batch_applied (peer, s_epoch_one, 20, false, 20, 5, 5);
    ck_assert_uint_eq (ht_peer_full (peer), 0);
    //  A peer that holds nothing has nothing of ours
    ht_peer_resume (peer, s_epoch_one, 0, HT_PEER_FULL_PENDING, NULL);
    ht_peer_up (peer, s_epoch_one, 0, S_T0_MS);
    ck_assert_uint_eq (ht_peer_full (peer), 0);
    //  Our store rolled back: from zero, reaching what it holds now
    ht_peer_resume (peer, s_epoch_one, 25, 0, NULL);
    ht_peer_up (peer, s_epoch_one, 44, S_T0_MS);
    ht_peer_restart (peer);
    ck_assert_uint_eq (ht_peer_cursor (peer), 0);
    ck_assert_uint_eq (ht_peer_full (peer), 44);
    //  ... or, not connected, what it will hold at its handshake
    ht_peer_down (peer);
    ht_peer_restart (peer);
    ck_assert_uint_eq (ht_peer_full (peer), HT_PEER_FULL_PENDING);
    ht_peer_destroy (&peer);
}
END_TEST

START_TEST (the_handshake_forgets_a_pull_of_the_old_connection)
{
    ht_peer_t *peer = s_pulling_peer (3, 9);
    ck_assert (ht_peer_pulling (peer));
    ht_peer_connecting (peer, S_T0_MS + 10);
    ck_assert (!ht_peer_pulling (peer));
    ht_peer_up (peer, s_epoch_one, 9, S_T0_MS + 20);
    ck_assert (!ht_peer_pulling (peer));
    //  So it pulls at once, from where it was
    ck_assert (ht_peer_tick (peer, S_T0_MS + 30, S_TIMEOUT_MS) & HT_PEER_DO_PULL);
    ck_assert_uint_eq (ht_peer_cursor (peer), 3);
    ht_peer_destroy (&peer);

    //  A child that says HELLO again (a reconnect) while our PULL is out
    peer = ht_peer_new ("441802001001", false);
    ht_peer_up (peer, s_epoch_one, 9, S_T0_MS);
    ht_peer_pull_sent (peer, s_epoch_one, 0, S_T0_MS);
    ck_assert (!ht_peer_want_pull (peer));
    ht_peer_up (peer, s_epoch_one, 9, S_T0_MS + 10);
    ck_assert (!ht_peer_pulling (peer));
    ck_assert (ht_peer_want_pull (peer));
    ht_peer_destroy (&peer);
}
END_TEST

START_TEST (a_peer_silent_beyond_the_timeout_is_lost_and_down)
{
    ht_peer_t *peer = s_pulling_peer (0, 0);
    //  Exactly the timeout is not yet silence
    ck_assert_int_eq (ht_peer_tick (peer, S_T0_MS + S_TIMEOUT_MS, S_TIMEOUT_MS)
                      & HT_PEER_DO_LOST, 0);
    //  Any message counts from when it arrived; an older time does not
    //  move it back
    ht_peer_seen (peer, S_T0_MS + 3000);
    ht_peer_seen (peer, S_T0_MS + 1000);
    ck_assert_int_eq (ht_peer_tick (peer, S_T0_MS + 3000 + S_TIMEOUT_MS, S_TIMEOUT_MS)
                      & HT_PEER_DO_LOST, 0);
    ck_assert (ht_peer_is_up (peer));
    ck_assert_int_eq (ht_peer_tick (peer, S_T0_MS + 3001 + S_TIMEOUT_MS, S_TIMEOUT_MS),
                      HT_PEER_DO_LOST);
    ck_assert_int_eq (ht_peer_state (peer), HT_PEER_DOWN);
    ck_assert (!ht_peer_pulling (peer));
    //  Lost once: a DOWN peer asks for nothing more
    ck_assert_int_eq (ht_peer_tick (peer, S_T0_MS + 9000 + S_TIMEOUT_MS, S_TIMEOUT_MS),
                      HT_PEER_DO_NOTHING);
    ht_peer_destroy (&peer);
}
END_TEST

//  --------------------------------------------------------------------------
//  Pulling

START_TEST (an_up_peer_pings_and_pulls_when_it_has_news)
{
    ht_peer_t *peer = s_up_peer (0, 0);
    //  Just up: a first PULL is due
    ck_assert_int_eq (ht_peer_tick (peer, S_T0_MS + 1000, S_TIMEOUT_MS),
                      HT_PEER_DO_PING | HT_PEER_DO_PULL);
    ht_peer_pull_sent (peer, s_epoch_one, 0, S_T0_MS + 1000);
    //  A PULL is out: only a PING
    ck_assert_int_eq (ht_peer_tick (peer, S_T0_MS + 2000, S_TIMEOUT_MS), HT_PEER_DO_PING);
    ck_assert_int_eq (ht_peer_batch_check (peer, s_epoch_one, true, 0), HT_PEER_BATCH_APPLY);
    ck_assert (!ht_peer_batch_applied (peer, s_epoch_one, 5, false, 5, 5, 5));
    ht_peer_seen (peer, S_T0_MS + 2500);
    //  Caught up and no news: nothing to pull
    ck_assert_int_eq (ht_peer_tick (peer, S_T0_MS + 3000, S_TIMEOUT_MS), HT_PEER_DO_PING);
    //  A PONG names a later sequence: pull
    ht_peer_heard_seq (peer, 8);
    ck_assert_int_eq (ht_peer_tick (peer, S_T0_MS + 4000, S_TIMEOUT_MS),
                      HT_PEER_DO_PING | HT_PEER_DO_PULL);
    ht_peer_pull_sent (peer, s_epoch_one, 5, S_T0_MS + 4000);
    ck_assert_int_eq (ht_peer_tick (peer, S_T0_MS + 5000, S_TIMEOUT_MS), HT_PEER_DO_PING);
    ht_peer_destroy (&peer);
}
END_TEST

START_TEST (a_pull_unanswered_beyond_the_timeout_is_forgotten_and_pulled_again)
{
    ht_peer_t *peer = s_pulling_peer (4, 9);
    //  The peer keeps talking (PONGs) but the BATCH never comes
    ht_peer_seen (peer, S_T0_MS + S_TIMEOUT_MS);
    ck_assert_int_eq (ht_peer_tick (peer, S_T0_MS + S_TIMEOUT_MS, S_TIMEOUT_MS),
                      HT_PEER_DO_PING);
    ck_assert (ht_peer_pulling (peer));
    ck_assert_int_eq (ht_peer_tick (peer, S_T0_MS + S_TIMEOUT_MS + 1, S_TIMEOUT_MS),
                      HT_PEER_DO_PING | HT_PEER_DO_PULL);
    ck_assert (!ht_peer_pulling (peer));
    ck_assert_uint_eq (ht_peer_cursor (peer), 4);
    ht_peer_destroy (&peer);
}
END_TEST

START_TEST (news_while_a_pull_is_out_is_pulled_after_the_answer)
{
    //  Not UP: no PULL, but the news is remembered
    ht_peer_t *down = ht_peer_new (S_REGION, false);
    ck_assert (!ht_peer_want_pull (down));
    ht_peer_destroy (&down);

    ht_peer_t *peer = s_up_peer (0, 0);
    ck_assert (ht_peer_want_pull (peer));
    ht_peer_pull_sent (peer, s_epoch_one, 0, S_T0_MS);
    //  NOTIFY while the PULL is out: not now...
    ck_assert (!ht_peer_want_pull (peer));
    ck_assert_int_eq (ht_peer_batch_check (peer, s_epoch_one, true, 0), HT_PEER_BATCH_APPLY);
    //  ...but as soon as the answer is in, though the answer said it was
    //  the peer's latest sequence
    ck_assert (ht_peer_batch_applied (peer, s_epoch_one, 6, false, 6, 6, 6));
    ht_peer_pull_sent (peer, s_epoch_one, 6, S_T0_MS + 10);
    ck_assert_int_eq (ht_peer_batch_check (peer, s_epoch_one, true, 6), HT_PEER_BATCH_APPLY);
    //  No news since: done
    ck_assert (!ht_peer_batch_applied (peer, s_epoch_one, 6, false, 6, 0, 0));
    ht_peer_destroy (&peer);
}
END_TEST

START_TEST (an_answer_that_says_more_waits_is_pulled_again)
{
    ht_peer_t *peer = s_pulling_peer (0, 20);
    ck_assert_int_eq (ht_peer_batch_check (peer, s_epoch_one, true, 0), HT_PEER_BATCH_APPLY);
    //  The answer's sequence is beyond where it left us
    ck_assert (ht_peer_batch_applied (peer, s_epoch_one, 10, true, 20, 10, 10));
    ck_assert_uint_eq (ht_peer_cursor (peer), 10);
    ht_peer_destroy (&peer);
}
END_TEST

//  --------------------------------------------------------------------------
//  Matching batches

START_TEST (a_batch_starting_at_the_cursor_is_applied)
{
    ht_peer_t *peer = s_pulling_peer (5, 9);
    ck_assert_int_eq (ht_peer_batch_check (peer, s_epoch_one, true, 5), HT_PEER_BATCH_APPLY);
    //  It answered the PULL
    ck_assert (!ht_peer_pulling (peer));
    ht_peer_destroy (&peer);

    //  Applicable with no PULL out too (one sent before a reconnect)
    peer = s_up_peer (5, 9);
    ck_assert (!ht_peer_pulling (peer));
    ck_assert_int_eq (ht_peer_batch_check (peer, s_epoch_one, true, 5), HT_PEER_BATCH_APPLY);
    ht_peer_destroy (&peer);
}
END_TEST

START_TEST (a_batch_starting_elsewhere_is_stale_and_a_pull_becomes_due)
{
    //  No PULL out: an old connection's batch from before our cursor
    ht_peer_t *peer = s_up_peer (5, 9);
    ht_peer_pull_sent (peer, s_epoch_one, 5, S_T0_MS);
    ck_assert_int_eq (ht_peer_batch_check (peer, s_epoch_one, true, 5), HT_PEER_BATCH_APPLY);
    ht_peer_batch_applied (peer, s_epoch_one, 9, false, 9, 4, 4);
    ck_assert_int_eq (ht_peer_tick (peer, S_T0_MS + 10, S_TIMEOUT_MS), HT_PEER_DO_PING);
    ck_assert_int_eq (ht_peer_batch_check (peer, s_epoch_one, true, 5), HT_PEER_BATCH_STALE);
    ck_assert (!ht_peer_pulling (peer));
    ck_assert_int_eq (ht_peer_tick (peer, S_T0_MS + 20, S_TIMEOUT_MS),
                      HT_PEER_DO_PING | HT_PEER_DO_PULL);
    ht_peer_destroy (&peer);

    //  A prefetched batch whose predecessor failed to apply: the PULL
    //  that is out asked from beyond our cursor, so no answer from the
    //  cursor is coming and we must ask again
    peer = s_pulling_peer (5, 20);
    ck_assert_int_eq (ht_peer_batch_check (peer, s_epoch_one, true, 5), HT_PEER_BATCH_APPLY);
    ht_peer_pull_sent (peer, s_epoch_one, 10, S_T0_MS + 10);
    ck_assert_int_eq (ht_peer_batch_check (peer, s_epoch_one, true, 10), HT_PEER_BATCH_STALE);
    ck_assert (!ht_peer_pulling (peer));
    ck_assert (ht_peer_tick (peer, S_T0_MS + 20, S_TIMEOUT_MS) & HT_PEER_DO_PULL);
    ht_peer_destroy (&peer);
}
END_TEST

START_TEST (a_batch_starting_elsewhere_waits_while_a_pull_from_the_cursor_is_out)
{
    ht_peer_t *peer = s_pulling_peer (5, 20);
    ck_assert_int_eq (ht_peer_batch_check (peer, s_epoch_one, true, 2), HT_PEER_BATCH_WAIT);
    ck_assert_int_eq (ht_peer_batch_check (peer, s_epoch_one, true, 9), HT_PEER_BATCH_WAIT);
    //  The real answer is still awaited: no second PULL
    ck_assert (ht_peer_pulling (peer));
    ck_assert_int_eq (ht_peer_tick (peer, S_T0_MS + 10, S_TIMEOUT_MS), HT_PEER_DO_PING);
    ck_assert_int_eq (ht_peer_batch_check (peer, s_epoch_one, true, 5), HT_PEER_BATCH_APPLY);
    ht_peer_destroy (&peer);
}
END_TEST

START_TEST (a_batch_of_a_new_epoch_from_zero_is_applied)
{
    //  We pulled from 5 in epoch one; the peer's store was replaced, so it
    //  serves our PULL from the start of its new log
    ht_peer_t *peer = s_pulling_peer (5, 9);
    ck_assert_int_eq (ht_peer_batch_check (peer, s_epoch_two, true, 3), HT_PEER_BATCH_WAIT);
    ck_assert_int_eq (ht_peer_batch_check (peer, s_epoch_two, true, 0), HT_PEER_BATCH_APPLY);
    ck_assert_mem_eq (ht_peer_epoch (peer), s_epoch_two, HT_MSG_EPOCH_BYTES);
    ck_assert_uint_eq (ht_peer_cursor (peer), 0);
    //  That batch answered our PULL: news is pulled at once, not after
    //  the PULL times out
    ck_assert (!ht_peer_pulling (peer));
    ck_assert (!ht_peer_batch_applied (peer, s_epoch_two, 4, false, 4, 4, 4));
    ck_assert_uint_eq (ht_peer_cursor (peer), 4);
    ck_assert (ht_peer_want_pull (peer));
    //  Its sequence numbers count from there on
    ht_peer_pull_sent (peer, s_epoch_two, 4, S_T0_MS + 10);
    ck_assert_int_eq (ht_peer_batch_check (peer, s_epoch_two, true, 0), HT_PEER_BATCH_WAIT);
    ck_assert_int_eq (ht_peer_batch_check (peer, s_epoch_two, true, 4), HT_PEER_BATCH_APPLY);
    ht_peer_destroy (&peer);
}
END_TEST

START_TEST (a_legacy_batch_without_from_is_applied_only_as_the_answer_to_our_pull)
{
    ht_peer_t *peer = s_pulling_peer (5, 9);
    ck_assert_int_eq (ht_peer_batch_check (peer, s_epoch_one, false, 0), HT_PEER_BATCH_APPLY);
    ck_assert (!ht_peer_pulling (peer));
    ht_peer_batch_applied (peer, s_epoch_one, 9, false, 9, 4, 4);
    //  Unasked for: nothing says where it starts
    ck_assert_int_eq (ht_peer_batch_check (peer, s_epoch_one, false, 0), HT_PEER_BATCH_STALE);
    //  Asked for from elsewhere (a prefetch beyond our cursor): stale too
    ht_peer_pull_sent (peer, s_epoch_one, 12, S_T0_MS + 10);
    ck_assert_int_eq (ht_peer_batch_check (peer, s_epoch_one, false, 0), HT_PEER_BATCH_STALE);
    ht_peer_destroy (&peer);
}
END_TEST

START_TEST (a_peer_that_is_not_up_applies_no_batch)
{
    ht_peer_t *peer = s_pulling_peer (5, 9);
    ht_peer_down (peer);
    ck_assert_int_ne (ht_peer_batch_check (peer, s_epoch_one, true, 5), HT_PEER_BATCH_APPLY);
    ht_peer_destroy (&peer);
}
END_TEST

//  --------------------------------------------------------------------------
//  Backoff and status

START_TEST (the_backoff_doubles_from_min_to_max_and_resets_on_up)
{
    ht_peer_t *peer = ht_peer_new (S_REGION, true);
    static const int64_t expected [] = { 100, 200, 400, 800, 1600, 3200, 5000, 5000 };
    for (size_t index = 0; index < sizeof expected / sizeof expected [0]; index++)
        ck_assert_int_eq (ht_peer_backoff (peer, 100, 5000), expected [index]);
    ht_peer_connecting (peer, S_T0_MS);
    ck_assert_int_eq (ht_peer_backoff (peer, 100, 5000), 5000);
    ht_peer_up (peer, s_epoch_one, 0, S_T0_MS);
    ck_assert_int_eq (ht_peer_backoff (peer, 100, 5000), 100);
    ck_assert_int_eq (ht_peer_backoff (peer, 100, 5000), 200);
    ht_peer_destroy (&peer);
}
END_TEST

START_TEST (the_status_names_the_link_and_what_was_pulled)
{
    ht_peer_t *peer = ht_peer_new ("441802001001", false);
    json_t *status = ht_peer_status (peer, S_T0_MS);
    ck_assert_str_eq (json_string_value (json_object_get (status, "name")), "441802001001");
    ck_assert_int_eq (json_integer_value (json_object_get (status, "last_seen_ms_ago")), -1);
    ck_assert (json_is_false (json_object_get (status, "connected")));
    json_decref (status);

    ht_peer_set_label (peer, "community-a");
    ht_peer_set_label (peer, "");           //  an empty name keeps the last
    ht_peer_set_key (peer, "ab12");
    ck_assert_str_eq (ht_peer_key (peer), "ab12");
    ht_peer_up (peer, s_epoch_one, 30, S_T0_MS);
    ht_peer_pull_sent (peer, s_epoch_one, 0, S_T0_MS);
    ck_assert_int_eq (ht_peer_batch_check (peer, s_epoch_one, true, 0), HT_PEER_BATCH_APPLY);
    ht_peer_batch_applied (peer, s_epoch_one, 12, true, 30, 10, 7);
    ck_assert_int_eq (ht_peer_batch_check (peer, s_epoch_one, true, 3), HT_PEER_BATCH_STALE);
    ht_peer_sent_records (peer, 4);
    ht_peer_sent_records (peer, 2);
    ht_peer_seen (peer, S_T0_MS + 250);

    status = ht_peer_status (peer, S_T0_MS + 1000);
    ck_assert_str_eq (json_string_value (json_object_get (status, "name")), "community-a");
    ck_assert_str_eq (json_string_value (json_object_get (status, "region")), "441802001001");
    ck_assert_str_eq (json_string_value (json_object_get (status, "role")), "child");
    ck_assert (json_is_true (json_object_get (status, "connected")));
    ck_assert_int_eq (json_integer_value (json_object_get (status, "last_seen_ms_ago")), 750);
    ck_assert_int_eq (json_integer_value (json_object_get (status, "cursor")), 12);
    ck_assert_int_eq (json_integer_value (json_object_get (status, "peer_seq")), 30);
    ck_assert_int_eq (json_integer_value (json_object_get (status, "lag")), 18);
    ck_assert_int_eq (json_integer_value (json_object_get (status, "received")), 10);
    ck_assert_int_eq (json_integer_value (json_object_get (status, "applied")), 7);
    ck_assert_int_eq (json_integer_value (json_object_get (status, "sent")), 6);
    ck_assert_int_eq (json_integer_value (json_object_get (status, "stale_batches")), 1);
    ck_assert (!json_is_true (json_object_get (status, "resyncing")));
    ck_assert_int_eq (json_integer_value (json_object_get (status, "batches")), 1);
    ck_assert_int_eq (json_integer_value (json_object_get (status, "epoch_changes")), 0);
    ck_assert_int_eq (json_integer_value (json_object_get (status, "epoch_changed_ms_ago")), -1);
    ck_assert_int_eq (json_integer_value (json_object_get (status, "apply_failures")), 0);
    ck_assert_str_eq (json_string_value (json_object_get (status, "apply_error")), "");
    ck_assert_int_eq (json_integer_value (json_object_get (status, "retry_in_ms")), 0);
    //  Its clock: not read yet
    ck_assert (json_is_null (json_object_get (status, "clock_offset_ms")));
    ck_assert (json_is_null (json_object_get (status, "clock_rtt_ms")));
    ck_assert_uint_eq (json_object_size (status), 21);
    json_decref (status);

    ht_peer_t *parent = ht_peer_new (S_REGION, true);
    status = ht_peer_status (parent, S_T0_MS);
    ck_assert_str_eq (json_string_value (json_object_get (status, "role")), "parent");
    ck_assert_int_eq (json_integer_value (json_object_get (status, "lag")), 0);
    json_decref (status);
    ht_peer_destroy (&parent);
    ht_peer_destroy (&peer);
}
END_TEST

START_TEST (a_batch_that_fails_holds_pulls_back_doubling_to_a_cap_until_one_is_stored)
{
    ht_peer_t *peer = ht_peer_new ("441802001001", false);
    ht_peer_up (peer, s_epoch_one, 30, S_T0_MS);
    ht_peer_pull_sent (peer, s_epoch_one, 0, S_T0_MS);
    ck_assert_int_eq (ht_peer_batch_check (peer, s_epoch_one, true, 0), HT_PEER_BATCH_APPLY);
    ck_assert (ht_peer_may_pull (peer, S_T0_MS));

    //  Each failure in a row doubles the delay, 50 ms up to 5 s, and no
    //  PULL is due before it ends, whatever says there is news
    int64_t now = S_T0_MS, expected [] = { 50, 100, 200, 400, 800, 1600, 3200, 5000, 5000 };
    bool tell = false;
    for (size_t attempt = 0; attempt < sizeof expected / sizeof expected [0]; attempt++) {
        int64_t delay = ht_peer_apply_failed (peer, "store_full", now, 50, 5000, 60000, &tell);
        ck_assert_int_eq (delay, expected [attempt]);
        ck_assert_int_eq (ht_peer_retry_at (peer), now + delay);
        ck_assert (tell == (attempt == 0));         //  logged once, not per attempt
        ck_assert (!ht_peer_may_pull (peer, now + delay - 1));
        ck_assert (!(ht_peer_tick (peer, now + delay - 1, 1000000) & HT_PEER_DO_PULL));
        ck_assert (ht_peer_may_pull (peer, now + delay));
        ck_assert (ht_peer_tick (peer, now + delay, 1000000) & HT_PEER_DO_PULL);
        now += delay;
        ht_peer_seen (peer, now);
    }
    ck_assert_uint_eq (ht_peer_apply_failures (peer), 9);
    json_t *status = ht_peer_status (peer, now - 1000);
    ck_assert_str_eq (json_string_value (json_object_get (status, "apply_error")), "store_full");
    ck_assert_int_eq (json_integer_value (json_object_get (status, "apply_failures")), 9);
    ck_assert_int_eq (json_integer_value (json_object_get (status, "retry_in_ms")), 1000);
    json_decref (status);
    //  Still failing a minute after it was last told: told again
    ht_peer_apply_failed (peer, "store_full", now + 60000, 50, 5000, 60000, &tell);
    ck_assert (tell);

    //  One stored: the delay is gone, and the next failure starts over
    ck_assert_uint_eq (ht_peer_apply_ok (peer), 10);
    ck_assert_uint_eq (ht_peer_apply_failures (peer), 0);
    ck_assert (ht_peer_may_pull (peer, S_T0_MS));
    ck_assert_int_eq (ht_peer_apply_failed (peer, "store", now, 50, 5000, 60000, &tell), 50);
    ck_assert (tell);
    ht_peer_destroy (&peer);
}
END_TEST

START_TEST (last_seen_is_what_the_peer_said_never_our_hello)
{
    ht_peer_t *parent = ht_peer_new (S_REGION, true);
    ht_peer_connecting (parent, S_T0_MS);
    json_t *status = ht_peer_status (parent, S_T0_MS + 500);
    ck_assert_int_eq (json_integer_value (json_object_get (status, "last_seen_ms_ago")), -1);
    json_decref (status);
    ht_peer_up (parent, s_epoch_one, 0, S_T0_MS + 600);
    ht_peer_down (parent);
    //  Reconnecting says HELLO again and again: last seen still grows
    ht_peer_connecting (parent, S_T0_MS + 5000);
    status = ht_peer_status (parent, S_T0_MS + 9600);
    ck_assert_int_eq (json_integer_value (json_object_get (status, "last_seen_ms_ago")), 9000);
    json_decref (status);
    ht_peer_destroy (&parent);
}
END_TEST

START_TEST (a_new_epoch_at_the_handshake_is_counted_with_its_time)
{
    ht_peer_t *peer = ht_peer_new ("441802001001", false);
    ht_peer_resume (peer, s_epoch_one, 40, 0, NULL);
    ck_assert (!ht_peer_up (peer, s_epoch_one, 50, S_T0_MS));
    ck_assert (ht_peer_up (peer, s_epoch_two, 12, S_T0_MS + 10));
    json_t *status = ht_peer_status (peer, S_T0_MS + 1010);
    ck_assert_int_eq (json_integer_value (json_object_get (status, "epoch_changes")), 1);
    ck_assert_int_eq (json_integer_value (json_object_get (status, "epoch_changed_ms_ago")), 1000);
    json_decref (status);
    ht_peer_destroy (&peer);
}
END_TEST

START_TEST (a_child_keeps_a_copy_of_its_routing_id)
{
    ht_peer_t *peer = ht_peer_new ("441802001001", false);
    ck_assert_ptr_null (ht_peer_routing_id (peer));
    zframe_t *routing_id = zframe_new ("\0abcd", 5);
    ht_peer_set_routing_id (peer, routing_id);
    zframe_destroy (&routing_id);
    ck_assert (zframe_size (ht_peer_routing_id (peer)) == 5);
    ck_assert_mem_eq (zframe_data (ht_peer_routing_id (peer)), "\0abcd", 5);
    ht_peer_set_routing_id (peer, NULL);
    ck_assert_ptr_null (ht_peer_routing_id (peer));
    ht_peer_destroy (&peer);
}
END_TEST

//  --------------------------------------------------------------------------
//  Its clock

START_TEST (the_clock_reading_over_the_shortest_round_trip_is_the_estimate)
{
    ht_peer_t *peer = s_up_peer (0, 0);
    int64_t offset = 0, rtt = 0;
    ck_assert (!ht_peer_clock_offset (peer, &offset, &rtt));
    //  Its HELLO, one way: the estimate until a round trip is read
    ht_peer_clock_sample (peer, 600010, -1);
    ck_assert (ht_peer_clock_offset (peer, &offset, &rtt));
    ck_assert_int_eq (offset, 600010);
    ck_assert_int_eq (rtt, -1);
    //  Round trips: the shortest wins, whatever came later
    ht_peer_clock_sample (peer, 600400, 800);
    ht_peer_clock_sample (peer, 600002, 3);
    ht_peer_clock_sample (peer, 599700, 600);
    ck_assert (ht_peer_clock_offset (peer, &offset, &rtt));
    ck_assert_int_eq (offset, 600002);
    ck_assert_int_eq (rtt, 3);
    json_t *status = ht_peer_status (peer, S_T0_MS);
    ck_assert_int_eq (json_integer_value (json_object_get (status, "clock_offset_ms")), 600002);
    ck_assert_int_eq (json_integer_value (json_object_get (status, "clock_rtt_ms")), 3);
    json_decref (status);
    //  Of equal round trips the newest: a clock set right while connected
    //  shows once the readings before it are no shorter
    ht_peer_clock_sample (peer, 1, 3);
    ck_assert (ht_peer_clock_offset (peer, &offset, NULL));
    ck_assert_int_eq (offset, 1);
    //  Only the last HT_PEER_CLOCK_SAMPLES count
    for (int index = 0; index < HT_PEER_CLOCK_SAMPLES; index++)
        ht_peer_clock_sample (peer, -5000, 10);
    ck_assert (ht_peer_clock_offset (peer, &offset, &rtt));
    ck_assert_int_eq (offset, -5000);
    ck_assert_int_eq (rtt, 10);
    ht_peer_destroy (&peer);
}
END_TEST

START_TEST (a_peer_that_connects_again_is_read_afresh)
{
    ht_peer_t *peer = s_up_peer (0, 0);
    ht_peer_clock_sample (peer, 600000, 2);
    ht_peer_down (peer);
    int64_t offset = 0;
    ck_assert (ht_peer_clock_offset (peer, &offset, NULL));    //  the last reading, still shown
    ht_peer_up (peer, s_epoch_one, 0, S_T0_MS + 9000);
    ck_assert (!ht_peer_clock_offset (peer, &offset, NULL));
    ht_peer_destroy (&peer);
}
END_TEST

START_TEST (a_clock_is_off_beyond_the_limit_and_right_again_within_half_of_it)
{
    ht_peer_t *peer = s_up_peer (0, 0);
    bool skewed = true;
    //  No reading: not off
    ck_assert (!ht_peer_clock_judge (peer, 60000, &skewed));
    ck_assert (!skewed);
    ht_peer_clock_sample (peer, 59000, 1);
    ck_assert (!ht_peer_clock_judge (peer, 60000, &skewed));
    ck_assert (!skewed);
    ht_peer_clock_sample (peer, -61000, 1);
    ck_assert (ht_peer_clock_judge (peer, 60000, &skewed));
    ck_assert (skewed);
    ck_assert (!ht_peer_clock_judge (peer, 60000, &skewed));   //  said once
    //  Back under the limit but not within half of it: still off
    ht_peer_clock_sample (peer, -45000, 1);
    ck_assert (!ht_peer_clock_judge (peer, 60000, &skewed));
    ck_assert (skewed);
    ht_peer_clock_sample (peer, -29000, 1);
    ck_assert (ht_peer_clock_judge (peer, 60000, &skewed));
    ck_assert (!skewed);
    ht_peer_destroy (&peer);
}
END_TEST

static Suite *
peer_suite (void)
{
    Suite *suite = suite_create ("ht_peer");
    TCase *link = tcase_create ("link");
    tcase_add_test (link, a_parent_goes_from_down_through_connecting_to_up);
    tcase_add_test (link, a_hello_without_an_answer_within_the_timeout_is_lost);
    tcase_add_test (link, adopting_a_changed_epoch_resets_the_cursor_and_the_same_epoch_keeps_it);
    tcase_add_test (link, a_full_pass_reaches_what_the_peer_held_at_the_handshake_and_ends_with_its_log);
    tcase_add_test (link, the_handshake_forgets_a_pull_of_the_old_connection);
    tcase_add_test (link, a_peer_silent_beyond_the_timeout_is_lost_and_down);
    suite_add_tcase (suite, link);
    TCase *pulling = tcase_create ("pulling");
    tcase_add_test (pulling, an_up_peer_pings_and_pulls_when_it_has_news);
    tcase_add_test (pulling, a_pull_unanswered_beyond_the_timeout_is_forgotten_and_pulled_again);
    tcase_add_test (pulling, news_while_a_pull_is_out_is_pulled_after_the_answer);
    tcase_add_test (pulling, an_answer_that_says_more_waits_is_pulled_again);
    suite_add_tcase (suite, pulling);
    TCase *batches = tcase_create ("batches");
    tcase_add_test (batches, a_batch_starting_at_the_cursor_is_applied);
    tcase_add_test (batches, a_batch_starting_elsewhere_is_stale_and_a_pull_becomes_due);
    tcase_add_test (batches, a_batch_starting_elsewhere_waits_while_a_pull_from_the_cursor_is_out);
    tcase_add_test (batches, a_batch_of_a_new_epoch_from_zero_is_applied);
    tcase_add_test (batches, a_legacy_batch_without_from_is_applied_only_as_the_answer_to_our_pull);
    tcase_add_test (batches, a_peer_that_is_not_up_applies_no_batch);
    suite_add_tcase (suite, batches);
    TCase *status = tcase_create ("backoff and status");
    tcase_add_test (status, the_backoff_doubles_from_min_to_max_and_resets_on_up);
    tcase_add_test (status, the_status_names_the_link_and_what_was_pulled);
    tcase_add_test (status, a_batch_that_fails_holds_pulls_back_doubling_to_a_cap_until_one_is_stored);
    tcase_add_test (status, last_seen_is_what_the_peer_said_never_our_hello);
    tcase_add_test (status, a_new_epoch_at_the_handshake_is_counted_with_its_time);
    tcase_add_test (status, a_child_keeps_a_copy_of_its_routing_id);
    suite_add_tcase (suite, status);
    TCase *clock = tcase_create ("clock");
    tcase_add_test (clock, the_clock_reading_over_the_shortest_round_trip_is_the_estimate);
    tcase_add_test (clock, a_peer_that_connects_again_is_read_afresh);
    tcase_add_test (clock, a_clock_is_off_beyond_the_limit_and_right_again_within_half_of_it);
    suite_add_tcase (suite, clock);
    return suite;
}

HT_TEST_MAIN (peer_suite)

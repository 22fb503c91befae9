//  ht_refusals: a bounded table of refused keys and the budget of log
//  lines about them. A hash finds a key's entry; a list keeps the entries
//  from least to most recently refused, so the one to evict is its first.
#include <czmq.h>
#include "ht_refusals.h"

//  One refused key
typedef struct {
    char *key;                      //  the key as given (owned)
    uint64_t count;                 //  refusals while tracked
    bool logged;                    //  a line about it was ever granted
    int64_t logged_ms;              //  when the last one was
    uint64_t summarised_window;     //  window it was last counted in a summary (0: none)
    void *handle;                   //  its place in order
} s_entry_t;

struct _ht_refusals_t {
    zhashx_t *entries;              //  key -> s_entry_t (owned)
    zlistx_t *order;                //  the same entries, least recently refused first
    size_t max_keys;                //  most entries held
    int64_t interval_ms;            //  one line per key, and the budget, per this
    size_t lines_per_interval;      //  the budget
    uint64_t total;                 //  every refusal
    uint64_t others;                //  refusals of evicted keys
    bool window_open;               //  a window has started
    int64_t window_start_ms;        //  when the current window started
    uint64_t window;                //  windows started so far (the first is 1)
    size_t window_lines;            //  lines granted in the current window
    uint64_t window_refusals;       //  refusals due a line but over the budget
    uint64_t window_keys;           //  distinct keys among them
};

static void
s_entry_destroy (s_entry_t **self_p)
{
    s_entry_t *self = *self_p;
    if (self) {
        free (self->key);
        free (self);
        *self_p = NULL;
    }
}

ht_refusals_t *
ht_refusals_new (size_t max_keys, int64_t interval_ms, size_t lines_per_interval)
{
    ht_refusals_t *self = (ht_refusals_t *) zmalloc (sizeof (ht_refusals_t));
    self->entries = zhashx_new ();
    zhashx_set_destructor (self->entries, (zhashx_destructor_fn *) s_entry_destroy);
    self->order = zlistx_new ();
    self->max_keys = max_keys? max_keys: 1;
    self->interval_ms = interval_ms;
    self->lines_per_interval = lines_per_interval;
    return self;
}

void
ht_refusals_destroy (ht_refusals_t **self_p)
{
    ht_refusals_t *self = *self_p;
    if (self) {
        zlistx_destroy (&self->order);      //  borrows; the hash owns
        zhashx_destroy (&self->entries);
        free (self);
        *self_p = NULL;
    }
}

//  Start a new logging window once the current one is over; hand the
//  old window's summary to note
static void
s_roll_window (ht_refusals_t *self, int64_t now_ms, ht_refusal_note_t *note)
{
    if (self->window_open && now_ms - self->window_start_ms < self->interval_ms)
        return;
    note->summary_refusals = self->window_refusals;
    note->summary_keys = self->window_keys;
    self->window_open = true;
    self->window_start_ms = now_ms;
    self->window++;
    self->window_lines = 0;
    self->window_refusals = 0;
    self->window_keys = 0;
}

//  Make room for one more key: forget the least recently refused one
static void
s_evict_oldest (ht_refusals_t *self)
{
    s_entry_t *oldest = (s_entry_t *) zlistx_first (self->order);
    self->others += oldest->count;
    zlistx_delete (self->order, oldest->handle);
    zhashx_delete (self->entries, oldest->key);
}

//  The entry for key, made (and room made for it) if new; now the most
//  recently refused
static s_entry_t *
s_entry_for (ht_refusals_t *self, const char *key)
{
    s_entry_t *entry = (s_entry_t *) zhashx_lookup (self->entries, key);
    if (entry) {
        zlistx_move_end (self->order, entry->handle);
        return entry;
    }
    if (zhashx_size (self->entries) >= self->max_keys)
        s_evict_oldest (self);
    entry = (s_entry_t *) zmalloc (sizeof (s_entry_t));
    entry->key = strdup (key);
    zhashx_insert (self->entries, key, entry);
    entry->handle = zlistx_add_end (self->order, entry);
    return entry;
}

void
ht_refusals_add (ht_refusals_t *self, const char *key, int64_t now_ms, ht_refusal_note_t *note)
{
    assert (self && key && note);
    memset (note, 0, sizeof *note);
    self->total++;
    s_roll_window (self, now_ms, note);
    s_entry_t *entry = s_entry_for (self, key);
    note->key_refusals = ++entry->count;
    //  One line per key per interval: a key that reconnects in a loop
    //  is named once, not at every attempt
    if (entry->logged && now_ms - entry->logged_ms < self->interval_ms)
        return;
    if (self->window_lines < self->lines_per_interval) {
        self->window_lines++;
        entry->logged = true;
        entry->logged_ms = now_ms;
        note->log_key = true;
        return;
    }
    //  Over the budget: many fresh keys make one summary, not a line each
    self->window_refusals++;
    if (entry->summarised_window != self->window) {
        entry->summarised_window = self->window;
        self->window_keys++;
    }
}

uint64_t
ht_refusals_total (const ht_refusals_t *self)
{
    return self->total;
}

uint64_t
ht_refusals_others (const ht_refusals_t *self)
{
    return self->others;
}

size_t
ht_refusals_size (const ht_refusals_t *self)
{
    return zhashx_size (self->entries);
}

uint64_t
ht_refusals_count (const ht_refusals_t *self, const char *key)
{
    const s_entry_t *entry = (const s_entry_t *) zhashx_lookup (self->entries, key);
    return entry? entry->count: 0;
}

//  gen: the internal API of `hutong gen`, shared by its files and by no
//  one else. cmd_gen.c is the command; the rest build one concept each:
//
//    gen_random.c      random numbers, dates, bounded texts
//    gen_regions.c     the region tree and place names
//    gen_draft.c       setting draft fields, validating and printing drafts
//    gen_facilities.c  the facility plan and facility records
//    gen_people.c      people's names and phones, and elder records
//    gen_credit.c      credit records about the facilities
//
//  The tables all of them draw from are in gen_names.h.
#ifndef GEN_H_INCLUDED
#define GEN_H_INCLUDED

#include "hutong.h"
#include "ht_valid.h"
#include "gen_names.h"

#define GEN_QINGYUAN "441800000000"
#define GEN_MAX_COUNTIES 99         //  DD is two digits
#define GEN_NAME_BYTES 64
#define GEN_TEXT_BYTES 512
#define GEN_DATE_BYTES 16

//  --------------------------------------------------------------------------
//  Random numbers (gen_random.c): splitmix64, one generator per item of
//  each stream

typedef enum {
    GEN_STREAM_TREE = 1, GEN_STREAM_PLAN, GEN_STREAM_EXTRA, GEN_STREAM_FACILITY,
    GEN_STREAM_ELDER, GEN_STREAM_CREDIT
} gen_stream_t;

typedef struct {
    uint64_t state;                 //  splitmix64 counter
} gen_rng_t;

//  The splitmix64 finaliser: a well-mixed hash of value
uint64_t gen_mix (uint64_t value);
//  The generator of one item of a stream, for a seed
gen_rng_t gen_rng_for (uint64_t seed, gen_stream_t stream, uint64_t item);
//  Uniform in [0, bound)
uint32_t gen_below (gen_rng_t *rng, uint32_t bound);
//  Uniform in [low, high]
int gen_range (gen_rng_t *rng, int low, int high);
//  True with a chance of permille in a thousand
bool gen_chance (gen_rng_t *rng, int permille);
//  An index drawn by weights
size_t gen_weighted (gen_rng_t *rng, const int *weights, size_t count);
//  An index skewed to the front, where name tables keep frequent entries
size_t gen_skewed (gen_rng_t *rng, size_t count);
//  The item whose cumulative weight first exceeds a draw
size_t gen_cumulative (gen_rng_t *rng, const uint64_t *cumulative, size_t count);
//  snprintf for texts whose parts are known to fit
void gen_format (char *text, size_t size, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));
//  Days since 1970-01-01 of a date
int32_t gen_days (int year, int month, int day);
//  A day as YYYYMMDD in text (GEN_DATE_BYTES), which it returns
const char *gen_date (int32_t days, char *text);

#define GEN_PICK(rng, table) (table [gen_below (rng, S_COUNT (table))])
#define GEN_FREQUENT(rng, table) (table [gen_skewed (rng, S_COUNT (table))])
#define GEN_WEIGHTED(rng, weights) gen_weighted (rng, weights, S_COUNT (weights))

//  --------------------------------------------------------------------------
//  Options (parsed in cmd_gen.c)

typedef struct {
    uint64_t seed;                  //  --seed
    char city [HT_REGION_BYTES];    //  --city
    char region [HT_REGION_BYTES];  //  --region: only inside it, "" for all
    long elders;                    //  elders to print
    long facilities;                //  facilities to print
    long credit;                    //  credit records to print
    long pool;                      //  facilities credit records are about
    bool regions;                   //  print the tree only
    long counties;                  //  county-level units
    long townships;                 //  per county, 0: realistic
    long communities;               //  per township, 0: realistic
} gen_options_t;

//  --------------------------------------------------------------------------
//  Output (gen_draft.c): one fwrite per line

typedef struct {
    char *line;                     //  the line being written
    size_t capacity;                //  its size
} gen_out_t;

//  Print json on one line to stdout through out's buffer; 0 or an error
int gen_write_json (gen_out_t *self, const json_t *json);

//  --------------------------------------------------------------------------
//  The region tree (gen_regions.c), depth first: city, county, its first
//  township and that township's communities, its next township..., next
//  county

typedef enum {
    GEN_CITY, GEN_DISTRICT, GEN_COUNTY, //  市 / 区 / 县, 县级市
    GEN_STREET, GEN_TOWN, GEN_XIANG,    //  街道 / 镇 / 乡
    GEN_COMMUNITY, GEN_VILLAGE          //  社区 / 村
} gen_kind_t;

typedef struct {
    char code [HT_REGION_BYTES];    //  12-digit code
    char name [GEN_NAME_BYTES];     //  Chinese name
    gen_kind_t kind;                //  sort of place
    uint32_t county;                //  index into the tree's counties
    uint32_t township;              //  place index of its township (or self)
    int32_t lat, lon;               //  centre, micro-degrees
} gen_place_t;

typedef struct {
    uint32_t place;                 //  place index of the county
    uint32_t first, count;          //  its communities, in tree.communities
    char short_name [GEN_NAME_BYTES];   //  two characters, for document numbers
} gen_county_t;

typedef struct {
    gen_place_t *places;            //  depth first; places [0] is the city
    size_t count, capacity;         //  places used and allocated
    uint32_t *communities;          //  place indexes of communities
    uint64_t *weights;              //  cumulative elder weight per community
    size_t community_count, community_capacity;
    gen_county_t counties [GEN_MAX_COUNTIES];
    size_t county_count;
    char short_name [GEN_NAME_BYTES];   //  the city's, for document numbers
    char area_code [GEN_NAME_BYTES];    //  telephone area code
} gen_tree_t;

//  Tier of a kind: 0 city, 1 county, 2 township, 3 community
int gen_tier (gen_kind_t kind);
//  Make room for one more item of a growing array; false if out of memory
bool gen_grow (void **items, size_t *capacity, size_t count, size_t item_size);
//  centre moved by up to spread either way
int32_t gen_jitter (gen_rng_t *rng, int32_t centre, int spread);
//  Build the city's tree into self (zeroed; the caller frees its arrays);
//  HT_OK or HT_ENOMEM
int gen_tree_build (gen_tree_t *self, const gen_options_t *options);
//  Keep elders and facilities inside region (a place of the tree): the
//  list elders are drawn from, and each county's share of it, shrink to
//  the communities under region. HT_OK, or HT_ENOTFOUND if the tree has
//  no such place.
int gen_tree_restrict (gen_tree_t *self, const char *region);
//  Print the tree under region ("" for all), {"region","tier","name",
//  "parent"} per line; 0 or an error
int gen_tree_print (const gen_tree_t *self, const char *region, gen_out_t *out);
//  A street address in place into text (GEN_TEXT_BYTES)
void gen_address (const gen_tree_t *tree, gen_rng_t *rng, const gen_place_t *place,
                  char *text);

//  --------------------------------------------------------------------------
//  Drafts (gen_draft.c): the setters note the first field that could not
//  be set

typedef struct {
    ht_record_t *record;            //  the record being filled
    const char *failed;             //  first field a setter refused
} gen_draft_t;

//  Note name as the field that failed if rc is an error and none has yet
void gen_note (gen_draft_t *self, int rc, const char *name);
//  Set a text field; a NULL value fails
void gen_str (gen_draft_t *self, const char *name, const char *value);
//  Set a number field
void gen_int (gen_draft_t *self, const char *name, int64_t value);
//  Set a date field to a day since the epoch
void gen_day (gen_draft_t *self, const char *name, int32_t days);
//  Set a list field; the items are copied
void gen_strs (gen_draft_t *self, const char *name, const char *const *items, size_t count);
//  Set the region and scope
void gen_header (gen_draft_t *self, const char *region, const char *scope);
//  Set a list field to low..high distinct entries of a table
void gen_subset (gen_draft_t *self, gen_rng_t *rng, const char *name,
                 const char *const *table, size_t count, int low, int high);

//  The allowed value at index of a field in the schema registry, if the
//  registry lists exactly count of them (as many as gen has weights for);
//  else NULL, which the setters note as a failure gen_emit reports
const char *gen_choice (const char *kind, const char *field, size_t index, size_t count);

#define GEN_CHOICE(kind, field, index, weights) \
    gen_choice (kind, field, index, S_COUNT (weights))

#define GEN_SUBSET(draft, rng, name, table, low, high) \
    gen_subset (draft, rng, name, table, S_COUNT (table), low, high)

//  --------------------------------------------------------------------------
//  The generator

//  A facility the city has: its kind and place (gen_facilities.c)
typedef struct _gen_slot_t gen_slot_t;

//  An inspection that ordered rectification (gen_credit.c)
typedef struct _gen_inspection_t gen_inspection_t;

//  What credit records need to know of a facility
typedef struct {
    char key [HT_KEY_MAX_CHARS + 1];    //  as put derives it
    char uscc [HT_USCC_CHARS + 1];  //  "" without a legal entity
    char name [GEN_TEXT_BYTES];     //  its name
    uint32_t place;                 //  place index of its region
    s_facility_kind_t kind;         //  what sort
    int rating;                     //  rating_level, 0 if unrated
} gen_facility_t;

typedef struct {
    gen_options_t options;          //  what to generate
    gen_tree_t tree;                //  the city's regions
    gen_slot_t *plan;               //  the city's facilities, shuffled
    size_t plan_count, plan_capacity;
    gen_facility_t *pool;           //  facilities credit records are about
    uint64_t *subject_weights;      //  cumulative, per pool facility
    uint16_t *id_counters;          //  IDs issued per county, birth day, sex
    gen_inspection_t *open;         //  inspections awaiting rectification
    size_t open_count;
    uint64_t hlc;                   //  time drafts are validated at
    uint64_t item_seed;             //  seeds the elder, facility and credit
                                    //  streams: --seed, mixed with --region
                                    //  so runs for two regions differ
    size_t number_base;             //  first serial and document number of
                                    //  a --region run (0 without one), so
                                    //  runs for two regions share no key
    bool progress;                  //  stderr is a terminal
    gen_out_t out;                  //  line buffer
} gen_t;

//  Validate a draft and print it as a line (gen_draft.c); HT_EXIT_OK, or
//  HT_EXIT_ERROR after saying why. The caller still owns the draft.
int gen_emit (gen_t *self, gen_draft_t *draft);
//  Show done of total on a terminal, every so often (cmd_gen.c)
void gen_progress (const gen_t *self, size_t done, size_t total, const char *what);

//  A person's name of sex (1 male, 2 female), with surname or a frequent
//  one if NULL, into name (GEN_NAME_BYTES) (gen_people.c)
void gen_person_name (gen_rng_t *rng, const char *surname, int sex, char *name);
//  A mobile number into phone (GEN_NAME_BYTES) (gen_people.c)
void gen_mobile (gen_rng_t *rng, char *phone);

//  The stages, in the order cmd_gen.c runs them; what they allocate stays
//  in self until the command frees it. The int ones return HT_EXIT_OK or
//  an exit code after saying why.
//  Plan the city's facilities, shuffled; false if out of memory (gen_facilities.c)
bool gen_plan_build (gen_t *self);
//  Build the credit subjects, printing --facilities of them (gen_facilities.c)
int gen_facilities_run (gen_t *self);
//  Print --elders elder drafts (gen_people.c)
int gen_elders_print (gen_t *self);
//  Print --credit credit drafts about the pool (gen_credit.c)
int gen_credit_print (gen_t *self);

#endif

//  hutong gen: realistic synthetic data for one city, as JSON lines.
//
//  The city gets a region tree (Qingyuan, the default, gets its eight real
//  county-level units and 85 real township names), a plan of the
//  facilities such a city has (DOMAIN.md §1: a 福利院 per county, a 敬老院
//  per town, a centre per street, stations, 幸福院, 长者饭堂), then elders
//  and credit records about those facilities. Records are unsigned drafts
//  {kind, region, scope, fields}: `hutong put` derives keys and timestamps.
//
//  Each item draws from its own generator, seeded by (--seed, stream, item
//  number), so item i does not depend on how many are asked for. Two
//  pieces of state run across items to keep the data consistent: citizen
//  ID sequence numbers (never issued twice) and the inspections that
//  rectification records follow up.
#include "hutong.h"
#include "ht_valid.h"
#include "gen_names.h"

#define S_QINGYUAN "441800000000"
#define S_DEFAULT_COUNTIES 8
#define S_SAMPLE_FACILITIES 20      //  printed when no count is given; also
#define S_SAMPLE_ELDERS 100         //  the facilities credit records are
#define S_SAMPLE_CREDIT 20          //  about when --facilities is absent
#define S_MAX_ELDERS 10000000
#define S_MAX_FACILITIES 1000000    //  organisation codes stay unique below
#define S_MAX_CREDIT 1000000
#define S_MAX_COUNTIES 99           //  DD is two digits
#define S_MAX_TOWNSHIPS 99          //  streets 001-099, towns 100-199
#define S_MAX_COMMUNITIES 199       //  社区 001-199, 村 200-399
#define S_MAX_SUBSET 16             //  largest table s_subset draws from
#define S_PROGRESS_EVERY 10000
#define S_NAME_BYTES 64
#define S_TEXT_BYTES 512
#define S_DATE_BYTES 16
#define S_LINE_BYTES 4096
#define S_ID_SLOTS 499              //  sequence numbers per birth day and sex
#define S_BIRTH_DAYS 14610          //  1926-01-01 .. 1965-12-31
#define S_CITY_LAT 23680000         //  Qingyuan, micro-degrees
#define S_CITY_LON 113050000
#define S_DRAFT_KEY "draft"         //  stands in for put's key in validation

enum { S_OPT_SEED, S_OPT_CITY, S_OPT_ELDERS, S_OPT_FACILITIES, S_OPT_CREDIT,
       S_OPT_REGIONS, S_OPT_COUNTIES, S_OPT_TOWNSHIPS, S_OPT_COMMUNITIES, S_OPT_COUNT };

static const ht_option_t s_gen_options [] = {
    { "seed", true, "N", "random seed (default 1)" },
    { "city", true, "CODE", "city code or its prefix (default 4418, 清远市)" },
    { "elders", true, "N", "print N elder drafts" },
    { "facilities", true, "N", "print N facility drafts" },
    { "credit", true, "N", "print N credit drafts about those facilities" },
    { "regions", false, NULL, "print the region tree instead of records" },
    { "counties", true, "N", "county-level units (default 8)" },
    { "townships", true, "N", "townships per county (default about 10)" },
    { "communities", true, "N", "communities per township (default 5-20)" },
    { 0 }
};

static const ht_command_spec_t s_gen_spec = {
    "hutong gen [--seed N] [--city CODE] [--elders N] [--facilities N] [--credit N]\n"
    "                  [--regions] [--counties N] [--townships N] [--communities N]",
    "Generate synthetic records for one city as JSON lines on stdout:\n"
    "facilities, then elders, then credit records, as unsigned drafts for\n"
    "'hutong put' (which derives keys and timestamps). The same arguments\n"
    "give byte-identical output. With no count, prints 20 facilities, 100\n"
    "elders and 20 credit records. Credit records are about the facilities\n"
    "--facilities N prints (N = 20 without it): run gen with the same --seed,\n"
    "--city and region options and --facilities N (or more: the first N\n"
    "never change) to print them. --regions prints the region tree instead,\n"
    "{\"region\",\"tier\",\"name\",\"parent\"} per line.",
    s_gen_options
};

//  --------------------------------------------------------------------------
//  Random numbers: splitmix64, one generator per item of each stream

typedef enum {
    S_STREAM_TREE = 1, S_STREAM_PLAN, S_STREAM_EXTRA, S_STREAM_FACILITY,
    S_STREAM_ELDER, S_STREAM_CREDIT
} s_stream_t;

typedef struct {
    uint64_t state;                 //  splitmix64 counter
} s_rng_t;

static uint64_t
s_mix (uint64_t value)
{
    value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ULL;
    value = (value ^ (value >> 27)) * 0x94d049bb133111ebULL;
    return value ^ (value >> 31);
}

static s_rng_t
s_rng_for (uint64_t seed, s_stream_t stream, uint64_t item)
{
    return (s_rng_t) { s_mix (seed + s_mix (((uint64_t) stream << 40) ^ item)) };
}

static uint64_t
s_next (s_rng_t *rng)
{
    rng->state += 0x9e3779b97f4a7c15ULL;
    return s_mix (rng->state);
}

//  Uniform in [0, bound)
static uint32_t
s_below (s_rng_t *rng, uint32_t bound)
{
    return (uint32_t) (((s_next (rng) >> 32) * bound) >> 32);
}

//  Uniform in [low, high]
static int
s_range (s_rng_t *rng, int low, int high)
{
    return low + (int) s_below (rng, (uint32_t) (high - low + 1));
}

static bool
s_chance (s_rng_t *rng, int permille)
{
    return (int) s_below (rng, 1000) < permille;
}

//  An index drawn by weights
static size_t
s_weighted (s_rng_t *rng, const int *weights, size_t count)
{
    int total = 0;
    for (size_t index = 0; index < count; index++)
        total += weights [index];
    int draw = (int) s_below (rng, (uint32_t) total);
    size_t index = 0;
    while (index < count - 1 && draw >= weights [index])
        draw -= weights [index++];
    return index;
}

//  An index skewed to the front, where name tables keep frequent entries
static size_t
s_skewed (s_rng_t *rng, size_t count)
{
    size_t first = s_below (rng, (uint32_t) count);
    size_t second = s_below (rng, (uint32_t) count);
    return first < second? first: second;
}

//  The item whose cumulative weight first exceeds a draw
static size_t
s_cumulative (s_rng_t *rng, const uint64_t *cumulative, size_t count)
{
    uint64_t draw = s_next (rng) % cumulative [count - 1];
    size_t low = 0, high = count - 1;
    while (low < high) {
        size_t middle = (low + high) / 2;
        if (cumulative [middle] > draw)
            high = middle;
        else
            low = middle + 1;
    }
    return low;
}

#define S_PICK(rng, table) (table [s_below (rng, S_COUNT (table))])
#define S_FREQUENT(rng, table) (table [s_skewed (rng, S_COUNT (table))])
#define S_WEIGHTED(rng, weights) s_weighted (rng, weights, S_COUNT (weights))

//  snprintf for texts whose parts are known to fit. Nothing goes out
//  silently cut: a truncated code or date would fail validation.
static void __attribute__ ((format (printf, 3, 4)))
s_format (char *text, size_t size, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (text, size, format, args);
    va_end (args);
}

//  Days since 1970-01-01 of a date, and back (H. Hinnant's algorithms,
//  for dates after 1970-03-01 - 400 years, which is all gen needs)
static int32_t
s_days (int year, int month, int day)
{
    year -= month <= 2;
    int era = year / 400, year_of_era = year - era * 400;
    int day_of_year = (153 * (month + (month > 2? -3: 9)) + 2) / 5 + day - 1;
    return era * 146097 + year_of_era * 365 + year_of_era / 4 - year_of_era / 100
         + day_of_year - 719468;
}

static const char *
s_date (int32_t days, char *text)
{
    days += 719468;
    int era = days / 146097, day_of_era = days - era * 146097;
    int year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524
                     - day_of_era / 146096) / 365;
    int day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int shifted = (5 * day_of_year + 2) / 153, month = shifted < 10? shifted + 3: shifted - 9;
    s_format (text, S_DATE_BYTES, "%04d%02d%02d", year_of_era + era * 400 + (month <= 2),
              month, day_of_year - (153 * shifted + 2) / 5 + 1);
    return text;
}

//  --------------------------------------------------------------------------
//  Options

typedef struct {
    uint64_t seed;                  //  --seed
    char city [HT_REGION_BYTES];    //  --city
    long elders;                    //  elders to print
    long facilities;                //  facilities to print
    long credit;                    //  credit records to print
    long pool;                      //  facilities credit records are about
    bool regions;                   //  print the tree only
    long counties;                  //  county-level units
    long townships;                 //  per county, 0: realistic
    long communities;               //  per township, 0: realistic
} s_options_t;

//  Parse a count option if given; HT_EXIT_USAGE after saying why
static int
s_parse_count (const char **values, int option, long low, long high, long *value)
{
    const char *text = values [option];
    char *end = NULL;
    if (!text)
        return 0;
    errno = 0;
    *value = strtol (text, &end, 10);
    if (!*text || *end || errno || *value < low || *value > high)
        return ht_usage_error ("gen: --%s needs a whole number from %ld to %ld, not '%s'",
                               s_gen_options [option].name, low, high, text);
    return 0;
}

//  Parse --seed, --city and the counts; HT_EXIT_USAGE after saying why
static int
s_parse_values (s_options_t *self, const char **values)
{
    const char *seed = values [S_OPT_SEED], *city = values [S_OPT_CITY], *reason = NULL;
    char *end = NULL;
    if (seed) {
        errno = 0;
        self->seed = strtoull (seed, &end, 10);
        if (*seed < '0' || *seed > '9' || *end || errno)
            return ht_usage_error ("gen: --seed needs a whole number from 0 to 2^64-1, not '%s'", seed);
    }
    char expanded [HT_REGION_BYTES];
    if (city && strlen (city) < HT_REGION_DIGITS && ht_region_from_prefix (city, expanded) == HT_OK)
        city = expanded;            //  a prefix will do: 4418, 50
    if (city && ht_region_check (city, &reason))
        return ht_usage_error ("gen: --city %s: %s", city, reason);
    if (city && ht_region_tier (city) != HT_TIER_CITY)
        return ht_usage_error ("gen: --city %s is a %s, not a city (e.g. 441800000000)",
                               city, ht_tier_name (ht_region_tier (city)));
    if (city)
        strcpy (self->city, city);
    return s_parse_count (values, S_OPT_ELDERS, 0, S_MAX_ELDERS, &self->elders)
        || s_parse_count (values, S_OPT_FACILITIES, 0, S_MAX_FACILITIES, &self->facilities)
        || s_parse_count (values, S_OPT_CREDIT, 0, S_MAX_CREDIT, &self->credit)
        || s_parse_count (values, S_OPT_COUNTIES, 1, S_MAX_COUNTIES, &self->counties)
        || s_parse_count (values, S_OPT_TOWNSHIPS, 1, S_MAX_TOWNSHIPS, &self->townships)
        || s_parse_count (values, S_OPT_COMMUNITIES, 1, S_MAX_COMMUNITIES, &self->communities);
}

static int
s_options_parse (s_options_t *self, int argc, char **argv)
{
    const char *values [S_OPT_COUNT];
    int first_arg = 0;
    int rc = ht_args_parse (&s_gen_spec, argc, argv, values, &first_arg);
    if (rc)
        return rc;
    if (first_arg < argc)
        return ht_usage_error ("gen: unexpected argument '%s' (see --help)", argv [first_arg]);
    *self = (s_options_t) { 1, S_QINGYUAN, -1, -1, -1, 0, values [S_OPT_REGIONS] != NULL,
                            S_DEFAULT_COUNTIES, 0, 0 };
    if (s_parse_values (self, values))
        return HT_EXIT_USAGE;
    bool counted = self->elders >= 0 || self->facilities >= 0 || self->credit >= 0;
    if (self->regions && counted)
        return ht_usage_error ("gen: --regions prints only the region tree; "
                               "drop --elders, --facilities and --credit");
    self->pool = self->facilities >= 0? self->facilities: S_SAMPLE_FACILITIES;
    if (self->credit > 0 && self->pool == 0)
        return ht_usage_error ("gen: credit records need facilities as subjects, "
                               "but --facilities 0 leaves none");
    self->elders = self->elders >= 0? self->elders: counted? 0: S_SAMPLE_ELDERS;
    self->credit = self->credit >= 0? self->credit: counted? 0: S_SAMPLE_CREDIT;
    self->facilities = self->facilities >= 0? self->facilities: counted? 0: S_SAMPLE_FACILITIES;
    return 0;
}

//  --------------------------------------------------------------------------
//  The region tree, depth first: city, county, its first township and
//  that township's communities, its next township..., next county

typedef enum {
    S_CITY, S_DISTRICT, S_COUNTY,   //  市 / 区 / 县, 县级市
    S_STREET, S_TOWN, S_XIANG,      //  街道 / 镇 / 乡
    S_COMMUNITY, S_VILLAGE          //  社区 / 村
} s_kind_t;

typedef struct {
    char code [HT_REGION_BYTES];    //  12-digit code
    char name [S_NAME_BYTES];       //  Chinese name
    s_kind_t kind;                  //  sort of place
    uint32_t county;                //  index into the tree's counties
    uint32_t township;              //  place index of its township (or self)
    int32_t lat, lon;               //  centre, micro-degrees
} s_place_t;

typedef struct {
    uint32_t place;                 //  place index of the county
    uint32_t first, count;          //  its communities, in tree.communities
    char short_name [S_NAME_BYTES]; //  two characters, for document numbers
} s_county_t;

typedef struct {
    s_place_t *places;              //  depth first; places [0] is the city
    size_t count, capacity;         //  places used and allocated
    uint32_t *communities;          //  place indexes of communities
    uint64_t *weights;              //  cumulative elder weight per community
    size_t community_count, community_capacity;
    s_county_t counties [S_MAX_COUNTIES];
    size_t county_count;
    char short_name [S_NAME_BYTES]; //  the city's, for document numbers
    char area_code [S_NAME_BYTES];  //  telephone area code
} s_tree_t;

//  Tier of a kind: 0 city, 1 county, 2 township, 3 community
static int
s_tier (s_kind_t kind)
{
    return kind == S_CITY? 0: kind <= S_COUNTY? 1: kind <= S_XIANG? 2: 3;
}

//  Make room for one more item of a growing array; false if out of memory
static bool
s_grow (void **items, size_t *capacity, size_t count, size_t item_size)
{
    if (count < *capacity)
        return true;
    size_t larger = *capacity? *capacity * 2: 1024;
    void *grown = realloc (*items, larger * item_size);
    if (grown) {
        *items = grown;
        *capacity = larger;
    }
    return grown != NULL;
}

//  Append a place to the current county; a community also goes on the
//  list elders are drawn from, by weight
static bool
s_place_add (s_tree_t *self, const char *code, const char *name, s_kind_t kind,
             int32_t lat, int32_t lon, uint32_t weight)
{
    if (!s_grow ((void **) &self->places, &self->capacity, self->count, sizeof (s_place_t)))
        return false;
    s_place_t *place = &self->places [self->count];
    *place = (s_place_t) { "", "", kind, (uint32_t) (self->county_count? self->county_count - 1: 0),
                           (uint32_t) self->count, lat, lon };
    s_format (place->code, sizeof place->code, "%s", code);
    s_format (place->name, sizeof place->name, "%s", name);
    self->count++;
    if (s_tier (kind) < 3)
        return true;
    place->township = place [-1].township;      //  the township or a sibling
    //  The two community arrays grow in step, from one capacity
    size_t index = self->community_count, capacity = self->community_capacity;
    if (!s_grow ((void **) &self->communities, &capacity, index, sizeof (uint32_t))
    ||  !s_grow ((void **) &self->weights, &self->community_capacity, index, sizeof (uint64_t)))
        return false;
    self->communities [index] = (uint32_t) (self->count - 1);
    self->weights [index] = weight + (index? self->weights [index - 1]: 0);
    self->community_count++;
    self->counties [self->county_count - 1].count++;
    return true;
}

//  True if a child of parent (children follow it, depth first) has this name
static bool
s_name_taken (const s_tree_t *self, size_t parent, int tier, const char *name)
{
    if (parent >= self->count)
        return false;               //  the city, before it is added
    for (size_t index = parent + 1; index < self->count; index++) {
        int place_tier = s_tier (self->places [index].kind);
        if (place_tier <= s_tier (self->places [parent].kind))
            break;
        if (place_tier == tier && streq (self->places [index].name, name))
            return true;
    }
    return false;
}

//  A name ("九龙" + suffix) its siblings do not have, if 20 draws find one
static void
s_fresh_name (const s_tree_t *tree, s_rng_t *rng, size_t parent, s_kind_t kind,
              const char *suffix, char *name)
{
    for (int attempt = 0; attempt < 20; attempt++) {
        const char *first = S_PICK (rng, s_place_first);
        const char *second = S_PICK (rng, s_place_second);
        if (kind == S_COMMUNITY && s_chance (rng, 500))
            s_format (name, S_NAME_BYTES, "%s%s", S_PICK (rng, s_urban_names), suffix);
        else
            s_format (name, S_NAME_BYTES, "%s%s%s", first, second, suffix);
        if (!streq (first, second) && !s_name_taken (tree, parent, s_tier (kind), name))
            return;
    }
}

//  The real Qingyuan unit a county index stands for, or NULL
static const s_real_county_t *
s_real_county (const s_options_t *options, long index)
{
    bool qingyuan = strncmp (options->city, S_QINGYUAN, 4) == 0;
    return qingyuan && index < (long) S_COUNT (s_qingyuan_counties)
         ? &s_qingyuan_counties [index]: NULL;
}

//  The index'th county code: Qingyuan's real ones, then DD = 01, 02 ...
//  skipping those. A municipality's districts are PP01DD.
static void
s_county_code (const s_options_t *options, long index, char *code)
{
    const s_real_county_t *real = s_real_county (options, index);
    bool qingyuan = s_real_county (options, 0) != NULL;
    int district = 0;
    for (long found = qingyuan? (long) S_COUNT (s_qingyuan_counties) - 1: -1; found < index; ) {
        bool used = false;
        district++;
        for (size_t other = 0; qingyuan && other < S_COUNT (s_qingyuan_counties); other++)
            used |= atoi (s_qingyuan_counties [other].code + 4) == district;
        found += !used;
    }
    bool municipality = strncmp (options->city + 2, "00", 2) == 0;
    if (real)
        s_format (code, HT_REGION_BYTES, "%s000000", real->code);
    else
        s_format (code, HT_REGION_BYTES, "%.2s%.2s%02d000000", options->city,
                  municipality? "01": options->city + 2, district);
}

//  The index'th name of a space-separated list; false past its end
static bool
s_list_item (const char *list, long index, char *item)
{
    for (; index > 0 && list; index--)
        if ((list = strchr (list, ' ')) != NULL)
            list++;
    if (list)
        s_format (item, S_NAME_BYTES, "%.*s", (int) strcspn (list, " "), list);
    return list != NULL;
}

static int32_t
s_jitter (s_rng_t *rng, int32_t centre, int spread)
{
    return centre + s_range (rng, -spread, spread);
}

//  Communities of the township just added: 社区 first (all, in a street),
//  then 村. Urban communities hold more elders than villages.
static bool
s_communities_build (s_tree_t *self, const s_options_t *options, s_rng_t *rng)
{
    size_t township = self->count - 1;
    const s_place_t town = self->places [township];
    bool street = town.kind == S_STREET;
    int count = options->communities? (int) options->communities
              : street? s_range (rng, 5, 15): town.kind == S_TOWN? s_range (rng, 8, 20): s_range (rng, 5, 12);
    int urban = street? count: town.kind == S_TOWN? s_range (rng, 1, 2): count >= 4;
    int spread = street? 15000: 60000;
    for (int index = 0; index < count; index++) {
        bool village = index >= urban;
        char code [HT_REGION_BYTES], name [S_NAME_BYTES];
        s_format (code, sizeof code, "%.9s%03d", town.code, village? 200 + index - urban: index + 1);
        s_fresh_name (self, rng, township, village? S_VILLAGE: S_COMMUNITY,
                      village? "村": "社区", name);
        int weight = village? s_range (rng, 40, 150): street? s_range (rng, 150, 400): s_range (rng, 100, 250);
        if (!s_place_add (self, code, name, village? S_VILLAGE: S_COMMUNITY, s_jitter (rng, town.lat, spread),
                          s_jitter (rng, town.lon, spread), (uint32_t) weight))
            return false;
    }
    return true;
}

//  Kind of the index'th of count generated townships: districts are
//  mostly streets; counties are towns, a big one with a street at its
//  seat, ending with a 乡 or two
static s_kind_t
s_township_kind (s_kind_t county_kind, long index, long count)
{
    if (county_kind == S_DISTRICT)
        return index < (count * 3 + 4) / 5? S_STREET: S_TOWN;
    if (index == 0 && count >= 10)
        return S_STREET;
    return count >= 6 && index >= count - count / 8? S_XIANG: S_TOWN;
}

static bool
s_townships_build (s_tree_t *self, const s_options_t *options, s_rng_t *rng,
                   const s_real_county_t *real)
{
    size_t county = self->count - 1;
    const s_place_t seat = self->places [county];
    char name [S_NAME_BYTES], code [HT_REGION_BYTES];
    long count = options->townships;
    while (!options->townships && real && s_list_item (real->townships, count, name))
        count++;
    count = count? count: s_range (rng, 8, 13);
    int next [3] = { 1, 100, 200 };     //  next TTT of streets, towns, 乡
    for (long index = 0; index < count; index++) {
        s_kind_t kind = s_township_kind (seat.kind, index, count);
        if (real && s_list_item (real->townships, index, name))
            kind = strstr (name, "街道")? S_STREET: strstr (name, "乡")? S_XIANG: S_TOWN;
        else
            s_fresh_name (self, rng, county, kind,
                          kind == S_STREET? "街道": kind == S_TOWN? "镇": "乡", name);
        s_format (code, sizeof code, "%.6s%03d000", seat.code, next [kind - S_STREET]++);
        int spread = kind == S_STREET? 30000: 300000;
        if (!s_place_add (self, code, name, kind, s_jitter (rng, seat.lat, spread),
                          s_jitter (rng, seat.lon, spread), 0)
        ||  !s_communities_build (self, options, rng))
            return false;
    }
    return true;
}

static bool
s_county_build (s_tree_t *self, const s_options_t *options, s_rng_t *rng, long index)
{
    const s_real_county_t *real = s_real_county (options, index);
    char code [HT_REGION_BYTES], name [S_NAME_BYTES];
    s_county_code (options, index, code);
    long districts = options->counties >= 3? options->counties / 3: 1;
    s_kind_t kind = real? (real->district? S_DISTRICT: S_COUNTY): index < districts? S_DISTRICT: S_COUNTY;
    if (real)
        s_format (name, sizeof name, "%s", real->name);
    else
        s_fresh_name (self, rng, 0, kind, kind == S_DISTRICT? "区"
                      : index == options->counties - 1 && index >= 3? "市": "县", name);
    s_county_t *county = &self->counties [self->county_count++];
    *county = (s_county_t) { (uint32_t) self->count, (uint32_t) self->community_count, 0, "" };
    //  Two CJK characters are six bytes of UTF-8
    s_format (county->short_name, sizeof county->short_name, "%.6s", real? real->short_name: name);
    return s_place_add (self, code, name, kind, real? real->lat: s_jitter (rng, S_CITY_LAT, 600000),
                        real? real->lon: s_jitter (rng, S_CITY_LON, 600000), 0)
        && s_townships_build (self, options, rng, real);
}

static int
s_tree_build (s_tree_t *self, const s_options_t *options)
{
    s_rng_t rng = s_rng_for (options->seed, S_STREAM_TREE, 0);
    char name [S_NAME_BYTES] = "清远市";
    bool qingyuan = s_real_county (options, 0) != NULL;
    if (!qingyuan)
        s_fresh_name (self, &rng, 0, S_CITY, "市", name);
    s_format (self->short_name, sizeof self->short_name, "%.6s", name);
    s_format (self->area_code, sizeof self->area_code, "0%d", qingyuan? 763: s_range (&rng, 300, 999));
    if (!s_place_add (self, options->city, name, S_CITY, S_CITY_LAT, S_CITY_LON, 0))
        return HT_ENOMEM;
    for (long index = 0; index < options->counties; index++)
        if (!s_county_build (self, options, &rng, index))
            return HT_ENOMEM;
    return HT_OK;
}

//  --------------------------------------------------------------------------
//  Output: one fwrite per line

typedef struct {
    char *line;                     //  the line being written
    size_t capacity;                //  its size
} s_out_t;

static int
s_write_json (s_out_t *self, const json_t *json)
{
    size_t size = json_dumpb (json, self->line, self->capacity, JSON_COMPACT);
    if (size + 1 > self->capacity) {
        char *line = (char *) realloc (self->line, size * 2);
        if (!line)
            return HT_ENOMEM;
        self->line = line;
        self->capacity = size * 2;
        size = json_dumpb (json, self->line, self->capacity, JSON_COMPACT);
    }
    if (size == 0)
        return HT_EINVAL;
    self->line [size] = '\n';
    return fwrite (self->line, 1, size + 1, stdout) == size + 1? HT_OK: HT_EIO;
}

static int
s_tree_print (const s_tree_t *self, s_out_t *out)
{
    int rc = HT_OK;
    for (size_t index = 0; index < self->count && rc == HT_OK; index++) {
        const s_place_t *place = &self->places [index];
        char parent [HT_REGION_BYTES];
        bool has_parent = ht_region_parent (place->code, parent) == HT_OK;
        json_t *json = json_pack ("{s:s, s:s, s:s, s:s?}", "region", place->code,
                                  "tier", ht_tier_name (ht_region_tier (place->code)),
                                  "name", place->name, "parent", has_parent? parent: NULL);
        rc = json? s_write_json (out, json): HT_ENOMEM;
        json_decref (json);
    }
    return rc;
}

//  --------------------------------------------------------------------------
//  Drafts: the setters note the first field that could not be set

typedef struct {
    ht_record_t *record;            //  the record being filled
    const char *failed;             //  first field a setter refused
} s_draft_t;

static void
s_note (s_draft_t *self, int rc, const char *name)
{
    if (rc && !self->failed)
        self->failed = name;
}

static void
s_str (s_draft_t *self, const char *name, const char *value)
{
    s_note (self, ht_record_set_str (self->record, name, value), name);
}

static void
s_int (s_draft_t *self, const char *name, int64_t value)
{
    s_note (self, ht_record_set_int (self->record, name, value), name);
}

static void
s_day (s_draft_t *self, const char *name, int32_t days)
{
    char text [S_DATE_BYTES];
    s_str (self, name, s_date (days, text));
}

static void
s_strs (s_draft_t *self, const char *name, const char *const *items, size_t count)
{
    s_note (self, ht_record_set_strs (self->record, name, items, count), name);
}

static void
s_header (s_draft_t *self, const char *region, const char *scope)
{
    s_note (self, ht_record_set_region (self->record, region), "region");
    s_note (self, ht_record_set_scope (self->record, scope), "scope");
}

//  Set a list field to low..high distinct entries of a table
static void
s_subset (s_draft_t *self, s_rng_t *rng, const char *name, const char *const *table,
          size_t count, int low, int high)
{
    const char *items [S_MAX_SUBSET];
    assert (count <= S_MAX_SUBSET && (size_t) high <= count);
    memcpy (items, table, count * sizeof (char *));
    size_t wanted = (size_t) s_range (rng, low, high);
    for (size_t index = 0; index < wanted; index++) {
        size_t other = index + s_below (rng, (uint32_t) (count - index));
        const char *item = items [other];
        items [other] = items [index];
        items [index] = item;
    }
    s_strs (self, name, items, wanted);
}

#define S_SUBSET(draft, rng, name, table, low, high) \
    s_subset (draft, rng, name, table, S_COUNT (table), low, high)

//  --------------------------------------------------------------------------
//  The generator

typedef struct {
    s_facility_kind_t kind;         //  what sort of facility
    uint32_t place;                 //  place index of its region
} s_slot_t;

//  What credit records need to know of a facility
typedef struct {
    char key [HT_KEY_MAX_CHARS + 1];    //  as put derives it
    char uscc [HT_USCC_CHARS + 1];  //  "" without a legal entity
    char name [S_TEXT_BYTES];       //  its name
    uint32_t place;                 //  place index of its region
    s_facility_kind_t kind;         //  what sort
    int rating;                     //  rating_level, 0 if unrated
} s_facility_t;

//  An inspection that ordered rectification, not yet followed up
typedef struct {
    char key [HT_KEY_MAX_CHARS + 1];    //  its key, for ref
    size_t facility;                //  pool index of the subject
    int32_t date, deadline;         //  days since the epoch
    size_t dept;                    //  index into s_depts
} s_inspection_t;

typedef struct {
    s_options_t options;            //  what to generate
    s_tree_t tree;                  //  the city's regions
    s_slot_t *plan;                 //  the city's facilities, shuffled
    size_t plan_count, plan_capacity;
    s_facility_t *pool;             //  facilities credit records are about
    uint64_t *subject_weights;      //  cumulative, per pool facility
    uint16_t *id_counters;          //  IDs issued per county, birth day, sex
    s_inspection_t *open;           //  inspections awaiting rectification
    size_t open_count;
    uint64_t hlc;                   //  time drafts are validated at
    bool progress;                  //  stderr is a terminal
    s_out_t out;                    //  line buffer
} s_gen_t;

//  Validate with a stand-in key and the current time (put sets both),
//  then print without them. An invalid draft is a bug in gen.
static int
s_emit (s_gen_t *self, s_draft_t *draft)
{
    ht_record_t *record = draft->record;
    const char *reason = draft->failed;
    int rc = reason? HT_EFIELD: HT_OK;
    if (rc == HT_OK && !*ht_record_key (record))
        rc = ht_record_set_key (record, S_DRAFT_KEY);
    ht_record_set_hlc (record, self->hlc);
    if (rc == HT_OK)
        rc = ht_record_validate (record, &reason);
    if (rc) {
        fprintf (stderr, "hutong: gen: bug: generated an invalid %s: %s\n",
                 ht_record_kind (record), reason? reason: ht_strerror (rc));
        return HT_EXIT_ERROR;
    }
    json_t *json = ht_record_to_json (record);
    json_object_del (json, "key");
    json_object_del (json, "hlc");
    json_object_del (json, "deleted");
    rc = s_write_json (&self->out, json);
    json_decref (json);
    return rc? ht_fail ("gen: writing standard output", rc): HT_EXIT_OK;
}

static void
s_progress (const s_gen_t *self, size_t done, size_t total, const char *what)
{
    if (self->progress && total >= S_PROGRESS_EVERY
    &&  (done % S_PROGRESS_EVERY == 0 || done == total))
        fprintf (stderr, "\rgen: %zu/%zu %s%s", done, total, what, done == total? "\n": "");
}

static void
s_person_name (s_rng_t *rng, const char *surname, int sex, char *name)
{
    const char *given = sex == 1? S_PICK (rng, s_male_given): S_PICK (rng, s_female_given);
    const char *second = sex == 1? S_PICK (rng, s_male_given): S_PICK (rng, s_female_given);
    bool single = s_chance (rng, 300) || streq (given, second);
    s_format (name, S_NAME_BYTES, "%s%s%s", surname? surname: S_FREQUENT (rng, s_surnames),
              given, single? "": second);
}

static void
s_mobile (s_rng_t *rng, char *phone)
{
    s_format (phone, S_NAME_BYTES, "%s%08u", S_FREQUENT (rng, s_mobile_prefixes),
              s_below (rng, 100000000));
}

//  "清城区凤城街道人民路12号", or "英德市大湾镇春明村28号" in a village
static void
s_address (const s_tree_t *tree, s_rng_t *rng, const s_place_t *place, char *text)
{
    const s_place_t *township = &tree->places [place->township];
    const s_place_t *county = &tree->places [tree->counties [place->county].place];
    bool village = place->kind == S_VILLAGE;
    s_format (text, S_TEXT_BYTES, "%s%s%s%d号", county->name, township->name,
              village? place->name: S_PICK (rng, s_street_names), s_range (rng, 1, village? 180: 320));
}

//  --------------------------------------------------------------------------
//  Facilities. The plan lists what the city has, shuffled so that any
//  prefix is a fair sample; past its end, extras fill in (gen_names.h).

static bool
s_plan_add (s_gen_t *self, s_facility_kind_t kind, size_t place)
{
    if (!s_grow ((void **) &self->plan, &self->plan_capacity, self->plan_count, sizeof (s_slot_t)))
        return false;
    self->plan [self->plan_count++] = (s_slot_t) { kind, (uint32_t) place };
    return true;
}

//  Add a facility with a chance in a thousand; false if out of memory
static bool
s_plan_maybe (s_gen_t *self, s_rng_t *rng, int permille, s_facility_kind_t kind, size_t place)
{
    return !s_chance (rng, permille) || s_plan_add (self, kind, place);
}

//  Facilities at one place, at Qingyuan's rates: 176 幸福院 in ~1,000
//  villages, 57 rural stations, 21 private homes, 4 公建民营 in 85
//  townships; a station in every urban community (one per community)
static bool
s_plan_place (s_gen_t *self, s_rng_t *rng, size_t index)
{
    const s_place_t *place = &self->tree.places [index];
    bool street = self->tree.places [place->township].kind == S_STREET;
    //  The seat community follows its township; a county's follows that
    size_t seat = index + 1 + (s_tier (place->kind) == 1);
    switch (place->kind) {
        case S_DISTRICT: case S_COUNTY:
            return s_plan_add (self, S_WELFARE_HOME, seat);
        case S_STREET:
            return s_plan_add (self, S_CENTER, index)
                && s_plan_maybe (self, rng, 600, S_PRIVATE_HOME, seat);
        case S_TOWN: case S_XIANG:
            return s_plan_add (self, S_TOWN_HOME, seat)
                && s_plan_maybe (self, rng, 50, S_REGIONAL_HOME, seat)
                && s_plan_maybe (self, rng, 200, S_PRIVATE_HOME, seat);
        case S_COMMUNITY:
            return s_plan_maybe (self, rng, street? 1000: 350, S_STATION, index)
                && s_plan_maybe (self, rng, street? 150: 100, S_MEAL_POINT, index);
        case S_VILLAGE:
            return s_plan_maybe (self, rng, 180, S_VILLAGE_POINT, index)
                && s_plan_maybe (self, rng, 30, S_STATION, index)
                && s_plan_maybe (self, rng, 10, S_MEAL_POINT, index);
        case S_CITY:
            break;
    }
    return true;
}

static bool
s_plan_build (s_gen_t *self)
{
    s_rng_t rng = s_rng_for (self->options.seed, S_STREAM_PLAN, 0);
    for (size_t index = 0; index < self->tree.count; index++)
        if (!s_plan_place (self, &rng, index))
            return false;
    for (size_t index = self->plan_count; index > 1; index--) {
        size_t other = s_below (&rng, (uint32_t) index);
        s_slot_t slot = self->plan [index - 1];
        self->plan [index - 1] = self->plan [other];
        self->plan [other] = slot;
    }
    return true;
}

//  The index'th facility's kind and place: the plan's, then extras
static s_slot_t
s_slot (const s_gen_t *self, size_t index)
{
    if (index < self->plan_count)
        return self->plan [index];
    s_rng_t rng = s_rng_for (self->options.seed, S_STREAM_EXTRA, index);
    s_facility_kind_t kind = s_extra_kinds [S_WEIGHTED (&rng, s_extra_weights)];
    uint32_t place = self->tree.communities [s_below (&rng, (uint32_t) self->tree.community_count)];
    if (kind == S_VILLAGE_POINT && self->tree.places [place].kind != S_VILLAGE)
        kind = S_STATION;
    return (s_slot_t) { kind, place };
}

//  "石角镇敬老院", "九龙社区居家养老服务站", "清城区康乐护理院" ...
static void
s_facility_name (const s_tree_t *tree, s_rng_t *rng, const s_slot_t *slot, char *name)
{
    const s_profile_t *profile = &s_profiles [slot->kind];
    const s_place_t *place = &tree->places [slot->place];
    const s_place_t *named = profile->named_by == S_BY_PLACE? place
                           : profile->named_by == S_BY_TOWNSHIP? &tree->places [place->township]
                           : &tree->places [tree->counties [place->county].place];
    if (slot->kind == S_PRIVATE_HOME)
        s_format (name, S_TEXT_BYTES, "%s%s%s", named->name, S_PICK (rng, s_home_brands),
                  S_PICK (rng, s_home_suffixes));
    else
        s_format (name, S_TEXT_BYTES, profile->name_format, named->name);
}

//  GB 11714 check character of an 8-character organisation code body
static char
s_org_check (const char *body)
{
    static const int weights [8] = { 3, 7, 9, 10, 5, 8, 4, 2 };
    int sum = 0;
    for (int index = 0; index < 8; index++) {
        char c = body [index];
        sum += (c >= '0' && c <= '9'? c - '0': c - 'A' + 10) * weights [index];
    }
    int check = 11 - sum % 11;
    return check == 11? '0': check == 10? 'X': (char) ('0' + check);
}

//  A USCC: registration prefix, county, organisation code (two letters
//  and six digits, then its GB 11714 check), then the GB 32100 check
static void
s_uscc (const char *prefix, const char *county, const char *letters, uint32_t serial, char *uscc)
{
    char body [S_NAME_BYTES];
    s_format (body, sizeof body, "%.2s%06u", letters, serial % 1000000);
    s_format (uscc, HT_USCC_CHARS + 1, "%.2s%.6s%.8s%c", prefix, county, body, s_org_check (body));
    uscc [HT_USCC_CHARS - 1] = ht_uscc_check_char (uscc);
    uscc [HT_USCC_CHARS] = '\0';
}

//  USCC (or a serial for 1 in 4 幸福院), ownership, profit, operator
static void
s_facility_identity (s_draft_t *draft, s_rng_t *rng, const s_slot_t *slot,
                     const char *county, size_t index, s_facility_t *summary)
{
    s_facility_kind_t kind = slot->kind;
    const char *ownership = "公办", *profit = "非营利", *prefix = s_profiles [kind].uscc_prefix;
    if (kind == S_REGIONAL_HOME || kind == S_CENTER || (kind == S_STATION && s_chance (rng, 600)))
        ownership = "公建民营";
    else
    if (kind == S_MEAL_POINT || kind == S_PRIVATE_HOME)
        ownership = s_chance (rng, 250)? "民办公助": "民办";
    if (kind == S_PRIVATE_HOME && s_chance (rng, 300))
        profit = "营利", prefix = "91";     //  a company, not a 民办非企业单位
    //  7919 is prime to 10^6: organisation codes stay unique per facility
    uint32_t serial = (uint32_t) ((index * 7919 + 13) % 1000000);
    char text [S_NAME_BYTES];
    if (kind == S_VILLAGE_POINT && s_chance (rng, 250)) {
        s_format (text, sizeof text, "XFY%06zu", index);
        s_str (draft, "serial", text);
    }
    else {
        s_uscc (prefix, county, streq (prefix, "12")? "45": streq (prefix, "91")? "MA": "MJ",
                serial, summary->uscc);
        s_str (draft, "uscc", summary->uscc);
    }
    if (streq (ownership, "公建民营")) {
        s_uscc ("91", county, "MA", serial, text);
        s_str (draft, "operator_uscc", text);
    }
    s_str (draft, "ownership", ownership);
    s_str (draft, "profit", profit);
}

//  Beds (nursing beds >= 55% in most homes), residents, staff, services
static void
s_facility_capacity (s_draft_t *draft, s_rng_t *rng, const s_slot_t *slot, s_facility_t *summary)
{
    const s_profile_t *profile = &s_profiles [slot->kind];
    s_int (draft, "area", (int64_t) s_range (rng, profile->area_low, profile->area_high) * 100
                        + s_below (rng, 100));
    int beds = profile->beds_high? s_range (rng, profile->beds_low, profile->beds_high): 0;
    if (beds)
        s_int (draft, "beds_total", beds);
    if (slot->kind > S_PRIVATE_HOME) {
        s_int (draft, "staff", s_range (rng, 1, 8));
        if (slot->kind == S_MEAL_POINT)
            S_SUBSET (draft, rng, "services", s_meal_services, 1, 3);
        else
        if (slot->kind == S_VILLAGE_POINT)
            S_SUBSET (draft, rng, "services", s_village_services, 1, 3);
        else
            S_SUBSET (draft, rng, "services", s_station_services, 2, 5);
        return;
    }
    int share = s_chance (rng, 850)? s_range (rng, 55, 85): s_range (rng, 25, 54);
    int residents = beds * s_range (rng, 35, 90) / 100;
    s_int (draft, "beds_nursing", (beds * share + 99) / 100);
    s_int (draft, "residents", residents);
    s_int (draft, "residents_disabled", residents * s_range (rng, 20, 65) / 100);
    s_int (draft, "staff", beds / s_range (rng, 3, 5) + 2);
    S_SUBSET (draft, rng, "services", s_institution_services, 3, 6);
    bool clinic = s_chance (rng, beds >= 100? 300: 50);       //  医养结合
    s_note (draft, ht_record_set_bool (draft->record, "clinic", clinic), "clinic");
    s_note (draft, ht_record_set_bool (draft->record, "insurance_designated",
                                       clinic && s_chance (rng, 500)), "insurance_designated");
    if (s_chance (rng, 600)) {
        summary->rating = 1 + (int) S_WEIGHTED (rng, s_rating_weights);
        s_int (draft, "rating_level", summary->rating);
    }
}

//  Address, position, phone, person in charge, and an institution's 备案
static void
s_facility_contact (s_draft_t *draft, s_rng_t *rng, const s_tree_t *tree,
                    const s_slot_t *slot, size_t index)
{
    const s_place_t *place = &tree->places [slot->place];
    char text [S_TEXT_BYTES], date [S_DATE_BYTES];
    s_address (tree, rng, place, text);
    s_str (draft, "address", text);
    s_int (draft, "geo_lat", s_jitter (rng, place->lat, 3000));
    s_int (draft, "geo_lon", s_jitter (rng, place->lon, 3000));
    if (slot->kind <= S_CENTER || s_chance (rng, 500))
        s_format (text, sizeof text, "%s-%07u", tree->area_code, 3000000 + s_below (rng, 6000000));
    else
        s_mobile (rng, text);
    s_str (draft, "phone", text);
    s_person_name (rng, NULL, s_range (rng, 1, 2), text);
    s_str (draft, "person_in_charge", text);
    if (slot->kind <= S_PRIVATE_HOME) {
        int32_t filed = s_range (rng, s_days (2019, 6, 1), s_days (2025, 12, 31));
        s_format (text, sizeof text, "%s民养备〔%.4s〕%03zu号",
                  tree->counties [place->county].short_name, s_date (filed, date), index % 999 + 1);
        s_str (draft, "filing_no", text);
        s_str (draft, "filing_date", date);
    }
}

//  Build the index'th facility of the city; summary gets what others need
static s_draft_t
s_facility_build (const s_gen_t *self, size_t index, s_facility_t *summary)
{
    s_slot_t slot = s_slot (self, index);
    s_rng_t rng = s_rng_for (self->options.seed, S_STREAM_FACILITY, index);
    const s_place_t *place = &self->tree.places [slot.place];
    const char *county = self->tree.places [self->tree.counties [place->county].place].code;
    s_draft_t draft = { ht_record_new ("facility"), NULL };
    if (!draft.record)
        return draft;
    *summary = (s_facility_t) { "", "", "", slot.place, slot.kind, 0 };
    s_header (&draft, place->code, county);
    s_facility_name (&self->tree, &rng, &slot, summary->name);
    s_str (&draft, "name", summary->name);
    s_str (&draft, "type", s_profiles [slot.kind].type);
    s_facility_identity (&draft, &rng, &slot, county, index, summary);
    s_facility_capacity (&draft, &rng, &slot, summary);
    s_facility_contact (&draft, &rng, &self->tree, &slot, index);
    s_str (&draft, "status", s_chance (&rng, 20)? "suspended": "open");
    s_note (&draft, ht_record_derive_key (draft.record, NULL), "key");
    s_format (summary->key, sizeof summary->key, "%s", ht_record_key (draft.record));
    return draft;
}

//  Build the pool credit records draw subjects from, printing it if asked
static int
s_facilities_run (s_gen_t *self)
{
    size_t count = (size_t) self->options.pool;
    self->pool = (s_facility_t *) calloc (count + 1, sizeof (s_facility_t));
    self->subject_weights = (uint64_t *) calloc (count + 1, sizeof (uint64_t));
    if (!self->pool || !self->subject_weights)
        return ht_fail ("gen", HT_ENOMEM);
    int rc = HT_EXIT_OK;
    for (size_t index = 0; index < count && !rc; index++) {
        s_draft_t draft = s_facility_build (self, index, &self->pool [index]);
        if (!draft.record)
            return ht_fail ("gen", HT_ENOMEM);
        rc = self->options.facilities > 0? s_emit (self, &draft): HT_EXIT_OK;
        ht_record_destroy (&draft.record);
        self->subject_weights [index] = (index? self->subject_weights [index - 1]: 0)
                                      + (uint64_t) s_profiles [self->pool [index].kind].subject_weight;
        if (self->options.facilities > 0)
            s_progress (self, index + 1, count, "facilities");
    }
    return rc;
}

//  --------------------------------------------------------------------------
//  Elders

typedef struct {
    char id_no [S_NAME_BYTES];      //  18-character citizen ID
    int32_t birth;                  //  days since the epoch
    int sex;                        //  1 male, 2 female
    int band;                       //  index into s_band_*
} s_identity_t;

//  Draw a birth day and sex, and issue a citizen ID no one else has: the
//  n-th person of a county, day and sex gets sequence slot (h + 337n) mod
//  499, distinct for every n < 499 as 499 is prime. Full days are redrawn.
static bool
s_identity (s_gen_t *self, s_rng_t *rng, const s_place_t *home, s_identity_t *who)
{
    for (int attempt = 0; attempt < 64; attempt++) {
        who->band = (int) S_WEIGHTED (rng, s_band_weights);
        int32_t first = s_days (1961 - 5 * who->band, 1, 1);
        who->birth = first + (int32_t) s_below (rng, (uint32_t) (s_days (1966 - 5 * who->band, 1, 1) - first));
        who->sex = s_chance (rng, s_band_women [who->band])? 2: 1;
        size_t cell = ((size_t) home->county * S_BIRTH_DAYS
                    + (size_t) (who->birth - s_days (1926, 1, 1))) * 2 + (size_t) who->sex - 1;
        uint32_t issued = self->id_counters [cell];
        if (issued >= S_ID_SLOTS)
            continue;
        self->id_counters [cell]++;
        uint32_t slot = (uint32_t) ((s_mix (self->options.seed ^ cell) % S_ID_SLOTS + issued * 337) % S_ID_SLOTS);
        char date [S_DATE_BYTES];
        s_format (who->id_no, sizeof who->id_no, "%.6s%s%03u", home->code,
                  s_date (who->birth, date), who->sex == 1? 2 * slot + 1: 2 * slot + 2);
        who->id_no [17] = ht_citizen_id_check_char (who->id_no);
        who->id_no [18] = '\0';
        return true;
    }
    return false;
}

//  Usually the hukou community; 1 in 10 lives elsewhere in the county (人户分离)
static const s_place_t *
s_residence (const s_tree_t *tree, s_rng_t *rng, const s_place_t *home)
{
    const s_county_t *county = &tree->counties [home->county];
    if (county->count < 2 || !s_chance (rng, 100))
        return home;
    return &tree->places [tree->communities [county->first + s_below (rng, county->count)]];
}

//  Name, phone, and a family contact for half of them
static void
s_elder_person (s_draft_t *draft, s_rng_t *rng, const s_identity_t *who)
{
    const char *surname = S_FREQUENT (rng, s_surnames);
    char name [S_NAME_BYTES], phone [S_NAME_BYTES], contact [S_TEXT_BYTES];
    s_person_name (rng, surname, who->sex, name);
    s_str (draft, "name", name);
    if (s_chance (rng, 700)) {
        s_mobile (rng, phone);
        s_str (draft, "phone", phone);
    }
    if (s_chance (rng, 500)) {
        s_person_name (rng, s_chance (rng, 500)? surname: NULL, s_range (rng, 1, 2), name);
        s_mobile (rng, phone);
        s_format (contact, sizeof contact, "%s（%s）%s", name, S_PICK (rng, s_relations), phone);
        s_str (draft, "contact", contact);
    }
}

//  Assistance categories, ability and care levels, living arrangement
static void
s_elder_care (s_draft_t *draft, s_rng_t *rng, const s_identity_t *who, const s_place_t *home)
{
    bool assessed = s_chance (rng, 700);
    int ability = assessed? (int) s_weighted (rng, s_ability [who->band / 2], 5): 0;
    const char *categories [6];
    size_t count = 0;
    bool destitute = s_chance (rng, 10);
    const char *income = destitute? "特困": s_chance (rng, 40)? "低保": s_chance (rng, 30)? "低收入": NULL;
    if (income)
        categories [count++] = income;
    if (s_chance (rng, 15))
        categories [count++] = "优抚";
    if (s_chance (rng, ability >= 3? 150: 15))
        categories [count++] = "重度残疾";
    if (s_chance (rng, 5))
        categories [count++] = "计生特殊家庭";
    if (count)
        s_strs (draft, "categories", categories, count);
    if (assessed)
        s_int (draft, "ability_level", ability);
    if (ability > 0)
        s_int (draft, "care_level", ability);
    size_t living = s_weighted (rng, home->kind == S_VILLAGE? s_rural_living: s_urban_living, 5);
    if ((destitute && s_chance (rng, 400)) || (ability >= 3 && s_chance (rng, 150)))
        living = S_INSTITUTION;     //  集中供养, or too frail to stay home
    s_str (draft, "living", s_living [living]);
}

static int
s_elder_build (s_gen_t *self, size_t index, s_draft_t *draft)
{
    const s_tree_t *tree = &self->tree;
    s_rng_t rng = s_rng_for (self->options.seed, S_STREAM_ELDER, index);
    const s_place_t *home = &tree->places [tree->communities [
        s_cumulative (&rng, tree->weights, tree->community_count)]];
    s_identity_t who;
    if (!s_identity (self, &rng, home, &who))
        return ht_usage_error ("gen: citizen IDs of %.6s run out: ask for more counties", home->code);
    s_header (draft, home->code, home->code);
    s_str (draft, "id_type", "居民身份证");
    s_str (draft, "id_no", who.id_no);
    s_int (draft, "sex", who.sex);
    s_day (draft, "birth_date", who.birth);
    s_elder_person (draft, &rng, &who);
    const s_place_t *residence = s_residence (tree, &rng, home);
    char address [S_TEXT_BYTES];
    s_address (tree, &rng, residence, address);
    s_str (draft, "hukou_region", home->code);
    s_str (draft, "residence_region", residence->code);
    s_str (draft, "address", address);
    s_elder_care (draft, &rng, &who, home);
    int draw = (int) s_below (&rng, 1000), deaths = s_band_deaths [who.band];
    s_str (draft, "status", draw < deaths? "deceased": draw < deaths + 5? "moved": "active");
    if (draw < deaths + 5)
        s_day (draft, "status_date", s_range (&rng, s_days (2024, 1, 1), s_days (2026, 10, 31)));
    return HT_EXIT_OK;
}

static int
s_elders_print (s_gen_t *self)
{
    size_t total = (size_t) self->options.elders;
    self->id_counters = (uint16_t *) calloc (self->tree.county_count * S_BIRTH_DAYS * 2, sizeof (uint16_t));
    if (!self->id_counters)
        return ht_fail ("gen", HT_ENOMEM);
    int rc = HT_EXIT_OK;
    for (size_t index = 0; index < total && !rc; index++) {
        s_draft_t draft = { ht_record_new ("elder"), NULL };
        rc = draft.record? s_elder_build (self, index, &draft): ht_fail ("gen", HT_ENOMEM);
        rc = rc? rc: s_emit (self, &draft);
        ht_record_destroy (&draft.record);
        s_progress (self, index + 1, total, "elders");
    }
    return rc;
}

//  --------------------------------------------------------------------------
//  Credit records about pool facilities, dated 2024-01-01 to 2026-10-31
//  (inspections end in August, so follow-ups stay in the past).
//  Inspections and rectifications come from the county; penalties,
//  ratings and list entries from the city (DOMAIN.md §5).

//  Header, issuer, doc_no (unique: it carries the item number), subject;
//  then the key, which rectifications cite
static void
s_credit_common (const s_gen_t *self, s_draft_t *draft, s_credit_type_t type,
                 size_t facility, size_t dept, int32_t date, size_t index)
{
    const s_facility_t *subject = &self->pool [facility];
    const s_place_t *place = &self->tree.places [subject->place];
    const s_county_t *county = &self->tree.counties [place->county];
    bool by_city = type >= S_PENALTY;
    const char *issuer = self->tree.places [by_city? 0: county->place].code;
    char doc_no [S_TEXT_BYTES], day [S_DATE_BYTES];
    s_format (doc_no, sizeof doc_no, "%s%s%s〔%.4s〕%04zu号",
              by_city? self->tree.short_name: county->short_name, s_depts [dept].short_name,
              s_doc_marks [type], s_date (date, day), index + 1);
    s_header (draft, place->code, issuer);
    s_str (draft, "type", s_credit_types [type]);
    s_str (draft, "issuer_dept", s_depts [dept].dept);
    s_str (draft, "issuer_region", issuer);
    s_str (draft, "doc_no", doc_no);
    s_str (draft, "date", day);
    if (*subject->uscc)
        s_str (draft, "subject_uscc", subject->uscc);
    s_str (draft, "subject_facility", subject->key);
    s_str (draft, "subject_name", subject->name);
    s_note (draft, ht_record_derive_key (draft->record, NULL), "key");
}

static size_t
s_subject (const s_gen_t *self, s_rng_t *rng)
{
    return s_cumulative (rng, self->subject_weights, (size_t) self->options.pool);
}

//  Method, departments, checklist, result. An order to rectify is kept
//  for a later rectification record.
static void
s_inspection (s_gen_t *self, s_draft_t *draft, s_rng_t *rng, size_t index)
{
    size_t facility = s_subject (self, rng), dept = S_WEIGHTED (rng, s_inspection_depts);
    int32_t date = s_range (rng, s_days (2024, 1, 1), s_days (2026, 8, 15));
    s_credit_common (self, draft, S_INSPECTION, facility, dept, date, index);
    size_t method = S_WEIGHTED (rng, s_method_weights);
    s_str (draft, "method", s_methods [method]);
    char text [S_TEXT_BYTES], day [S_DATE_BYTES], first [S_NAME_BYTES], second [S_NAME_BYTES];
    if (method == 0) {          //  双随机 inspections follow a published plan
        const s_place_t *place = &self->tree.places [self->pool [facility].place];
        s_format (text, sizeof text, "%s%s双随机〔%.4s〕%d号", self->tree.counties [place->county].short_name,
                  s_depts [dept].short_name, s_date (date, day), s_range (rng, 1, 12));
        s_str (draft, "plan_no", text);
    }
    const char *departments [2] = { s_depts [dept].dept, s_depts [(dept + 1 + s_below (rng, 3)) % 4].dept };
    s_strs (draft, "departments", departments, streq (s_methods [method], "joint")? 2: 1);
    S_SUBSET (draft, rng, "checklist", s_checklist, 2, 4);
    s_person_name (rng, NULL, s_range (rng, 1, 2), first);
    s_person_name (rng, NULL, s_range (rng, 1, 2), second);
    s_strs (draft, "inspectors", (const char *[]) { first, second }, 2);
    size_t result = S_WEIGHTED (rng, s_result_weights);
    s_str (draft, "result", s_results [result]);
    if (method == 0 || s_chance (rng, 500))
        s_day (draft, "published_on", date + s_range (rng, 3, 20));
    if (result == 1 || result == 2) {
        s_inspection_t *open = &self->open [self->open_count++];
        *open = (s_inspection_t) { "", facility, date, date + s_range (rng, 15, 60), dept };
        s_format (open->key, sizeof open->key, "%s", ht_record_key (draft->record));
        s_day (draft, "deadline", open->deadline);
    }
}

//  Follows up an open inspection: same subject and issuer, its deadline
static void
s_rectification (s_gen_t *self, s_draft_t *draft, s_rng_t *rng, size_t index)
{
    size_t pick = s_below (rng, (uint32_t) self->open_count);
    s_inspection_t inspection = self->open [pick];
    self->open [pick] = self->open [--self->open_count];
    int32_t date = s_range (rng, inspection.date + 1, inspection.deadline);
    s_credit_common (self, draft, S_RECTIFICATION, inspection.facility, inspection.dept, date, index);
    s_str (draft, "ref", inspection.key);
    size_t actions = S_COUNT (s_rectify_actions), first = s_below (rng, (uint32_t) actions);
    size_t second = (first + 1 + s_below (rng, (uint32_t) actions - 1)) % actions;
    char text [S_TEXT_BYTES];
    bool both = s_chance (rng, 500);
    s_format (text, sizeof text, "%s%s%s", s_rectify_actions [first], both? "；": "",
              both? s_rectify_actions [second]: "");
    s_str (draft, "actions", text);
    s_day (draft, "deadline", inspection.deadline);
    size_t outcome = S_WEIGHTED (rng, s_outcome_weights);
    s_str (draft, "outcome", s_outcomes [outcome]);
    s_day (draft, "verified_on", streq (s_outcomes [outcome], "overdue")
                                 ? inspection.deadline + s_range (rng, 5, 30)
                                 : s_range (rng, date, inspection.deadline));
}

static void
s_penalty (s_gen_t *self, s_draft_t *draft, s_rng_t *rng, size_t index)
{
    size_t facility = s_subject (self, rng), dept = S_WEIGHTED (rng, s_penalty_depts);
    int32_t date = s_range (rng, s_days (2024, 1, 1), s_days (2026, 10, 31));
    s_credit_common (self, draft, S_PENALTY, facility, dept, date, index);
    char text [S_TEXT_BYTES], day [S_DATE_BYTES];
    s_format (text, sizeof text, "%s%s罚决〔%.4s〕%04zu号", self->tree.short_name,
              s_depts [dept].short_name, s_date (date, day), index + 1);
    s_str (draft, "decision_no", text);
    s_str (draft, "legal_basis", s_depts [dept].legal_basis);
    size_t kind = S_WEIGHTED (rng, s_penalty_weights);
    s_strs (draft, "penalty_types", s_penalty_types [kind], s_penalty_types [kind][1]? 2: 1);
    if (s_penalty_types [kind][1])      //  a fine, in fen: whole hundreds of yuan
        s_int (draft, "fine", (int64_t) s_range (rng, 50, s_fine_limits [dept] * 10) * 10000);
    s_day (draft, "publicity_from", date + 7);
    s_day (draft, "publicity_until", date + 7 + s_publicity_days [kind]);
}

//  A GB/T 37276 grade where the facility has a rating level (valid three
//  years), else the city's yearly credit grade
static void
s_rating (s_gen_t *self, s_draft_t *draft, s_rng_t *rng, size_t index)
{
    size_t facility = s_subject (self, rng);
    int32_t date = s_range (rng, s_days (2024, 1, 1), s_days (2026, 10, 31));
    s_credit_common (self, draft, S_RATING, facility, 0, date, index);
    int rating = self->pool [facility].rating;
    char scheme [S_TEXT_BYTES];
    s_format (scheme, sizeof scheme, "%s养老服务机构信用等级", self->tree.short_name);
    s_str (draft, "scheme", rating? "GB/T 37276-2018": scheme);
    s_str (draft, "level", rating? s_chinese_levels [rating - 1]: S_FREQUENT (rng, s_credit_grades));
    s_day (draft, "valid_until", date + (rating? 3 * 365: 365));
}

//  Notice, then listing after 陈述申辩, sometimes removal; never dated
//  past the end of the period
static void
s_list_entry (s_gen_t *self, s_draft_t *draft, s_rng_t *rng, size_t index)
{
    size_t facility = s_subject (self, rng);
    int32_t last = s_days (2026, 10, 31), date = s_range (rng, s_days (2024, 1, 1), last);
    int32_t listed = date + s_range (rng, 15, 30);
    s_credit_common (self, draft, S_LIST_ENTRY, facility, 0, date, index);
    s_str (draft, "list", s_chance (rng, 400)? "joint_punishment": "watch");
    size_t ground = S_WEIGHTED (rng, s_ground_weights), other = S_WEIGHTED (rng, s_ground_weights);
    s_strs (draft, "grounds", (const char *[]) { s_grounds [ground], s_grounds [other] },
            other == ground? 1: 2);
    char text [S_TEXT_BYTES], day [S_DATE_BYTES];
    s_format (text, sizeof text, "经查，%s%s%s%s。", self->pool [facility].name, s_ground_facts [ground],
              other == ground? "": "，并", other == ground? "": s_ground_facts [other]);
    s_str (draft, "facts", text);
    s_day (draft, "notice_on", date);
    if (s_chance (rng, 250))
        s_str (draft, "objection", "当事人提出陈述申辩，经复核不予采纳");
    int draw = (int) s_below (rng, 1000);
    bool notice = draw < 150 || listed > last, removed = !notice && draw >= 850 && listed + 90 <= last;
    s_str (draft, "status", notice? "notice": removed? "removed": "listed");
    if (notice)
        return;
    s_format (text, sizeof text, "%s民政信决〔%.4s〕%04zu号", self->tree.short_name,
              s_date (listed, day), index + 1);
    s_str (draft, "decision_no", text);
    s_day (draft, "listed_on", listed);
    if (removed) {
        int32_t removed_on = s_range (rng, listed + 90, last);
        s_day (draft, "removed_on", removed_on);
        s_str (draft, "removal_reason", s_removal_reasons [removed_on - listed >= 730? 1: 2 * s_below (rng, 2)]);
    }
}

static int
s_credit_print (s_gen_t *self)
{
    size_t total = (size_t) self->options.credit;
    self->open = (s_inspection_t *) calloc (total + 1, sizeof (s_inspection_t));
    if (!self->open)
        return ht_fail ("gen", HT_ENOMEM);
    void (*build []) (s_gen_t *, s_draft_t *, s_rng_t *, size_t) = {
        [S_INSPECTION] = s_inspection, [S_RECTIFICATION] = s_rectification,
        [S_PENALTY] = s_penalty, [S_RATING] = s_rating, [S_LIST_ENTRY] = s_list_entry };
    int rc = HT_EXIT_OK;
    for (size_t index = 0; index < total && !rc; index++) {
        s_draft_t draft = { ht_record_new ("credit"), NULL };
        if (!draft.record)
            return ht_fail ("gen", HT_ENOMEM);
        s_rng_t rng = s_rng_for (self->options.seed, S_STREAM_CREDIT, index);
        s_credit_type_t type = (s_credit_type_t) S_WEIGHTED (&rng, s_credit_weights);
        build [type == S_RECTIFICATION && !self->open_count? S_INSPECTION: type] (self, &draft, &rng, index);
        rc = s_emit (self, &draft);
        ht_record_destroy (&draft.record);
        s_progress (self, index + 1, total, "credit records");
    }
    return rc;
}

//  --------------------------------------------------------------------------

static void
s_gen_destroy (s_gen_t *self)
{
    free (self->tree.places);
    free (self->tree.communities);
    free (self->tree.weights);
    free (self->plan);
    free (self->pool);
    free (self->subject_weights);
    free (self->id_counters);
    free (self->open);
    free (self->out.line);
}

static int
s_gen_run (s_gen_t *self)
{
    if (s_tree_build (&self->tree, &self->options))
        return ht_fail ("gen: building the region tree", HT_ENOMEM);
    if (self->options.regions)
        return s_tree_print (&self->tree, &self->out) || fflush (stdout)
             ? ht_fail ("gen: writing standard output", HT_EIO): HT_EXIT_OK;
    if (!s_plan_build (self))
        return ht_fail ("gen: planning facilities", HT_ENOMEM);
    int rc = s_facilities_run (self);
    rc = rc? rc: s_elders_print (self);
    rc = rc? rc: s_credit_print (self);
    if (!rc && fflush (stdout))
        rc = ht_fail ("gen: writing standard output", HT_EIO);
    return rc;
}

int
ht_cmd_gen (int argc, char **argv)
{
    s_gen_t self = { 0 };
    int rc = s_options_parse (&self.options, argc, argv);
    if (rc)
        return rc == 1? HT_EXIT_OK: rc;
    self.out.capacity = S_LINE_BYTES;
    self.out.line = (char *) malloc (self.out.capacity);
    self.hlc = ht_hlc_make (ht_hlc_wall_ms (), 0);
    self.progress = ht_stderr_is_tty ();
    rc = self.out.line? s_gen_run (&self): ht_fail ("gen", HT_ENOMEM);
    s_gen_destroy (&self);
    return rc;
}

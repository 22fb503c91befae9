//  gen_regions: the city's region tree, depth first: city, county, its
//  first township and that township's communities, its next township...,
//  next county. Qingyuan, the default, gets its eight real county-level
//  units and 85 real township names (gen_names.h); elsewhere names are
//  drawn from syllables. Communities carry the weights elders are drawn by.
#include "gen.h"

#define S_CITY_LAT 23680000         //  Qingyuan, micro-degrees
#define S_CITY_LON 113050000

//  Tier of a kind: 0 city, 1 county, 2 township, 3 community
int
gen_tier (gen_kind_t kind)
{
    return kind == GEN_CITY? 0: kind <= GEN_COUNTY? 1: kind <= GEN_XIANG? 2: 3;
}

//  Make room for one more item of a growing array; false if out of memory
bool
gen_grow (void **items, size_t *capacity, size_t count, size_t item_size)
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
s_place_add (gen_tree_t *self, const char *code, const char *name, gen_kind_t kind,
             int32_t lat, int32_t lon, uint32_t weight)
{
    if (!gen_grow ((void **) &self->places, &self->capacity, self->count, sizeof (gen_place_t)))
        return false;
    gen_place_t *place = &self->places [self->count];
    *place = (gen_place_t) { "", "", kind, (uint32_t) (self->county_count? self->county_count - 1: 0),
                             (uint32_t) self->count, lat, lon };
    gen_format (place->code, sizeof place->code, "%s", code);
    gen_format (place->name, sizeof place->name, "%s", name);
    self->count++;
    if (gen_tier (kind) < 3)
        return true;
    place->township = place [-1].township;      //  the township or a sibling
    //  The two community arrays grow in step, from one capacity
    size_t index = self->community_count, capacity = self->community_capacity;
    if (!gen_grow ((void **) &self->communities, &capacity, index, sizeof (uint32_t))
    ||  !gen_grow ((void **) &self->weights, &self->community_capacity, index, sizeof (uint64_t)))
        return false;
    self->communities [index] = (uint32_t) (self->count - 1);
    self->weights [index] = weight + (index? self->weights [index - 1]: 0);
    self->community_count++;
    self->counties [self->county_count - 1].count++;
    return true;
}

//  True if a child of parent (children follow it, depth first) has this name
static bool
s_name_taken (const gen_tree_t *self, size_t parent, int tier, const char *name)
{
    if (parent >= self->count)
        return false;               //  the city, before it is added
    for (size_t index = parent + 1; index < self->count; index++) {
        int place_tier = gen_tier (self->places [index].kind);
        if (place_tier <= gen_tier (self->places [parent].kind))
            break;
        if (place_tier == tier && streq (self->places [index].name, name))
            return true;
    }
    return false;
}

//  A name ("九龙" + suffix) its siblings do not have, if 20 draws find one
static void
s_fresh_name (const gen_tree_t *tree, gen_rng_t *rng, size_t parent, gen_kind_t kind,
              const char *suffix, char *name)
{
    for (int attempt = 0; attempt < 20; attempt++) {
        const char *first = GEN_PICK (rng, s_place_first);
        const char *second = GEN_PICK (rng, s_place_second);
        if (kind == GEN_COMMUNITY && gen_chance (rng, 500))
            gen_format (name, GEN_NAME_BYTES, "%s%s", GEN_PICK (rng, s_urban_names), suffix);
        else
            gen_format (name, GEN_NAME_BYTES, "%s%s%s", first, second, suffix);
        if (!streq (first, second) && !s_name_taken (tree, parent, gen_tier (kind), name))
            return;
    }
}

//  The real Qingyuan unit a county index stands for, or NULL
static const s_real_county_t *
s_real_county (const gen_options_t *options, long index)
{
    bool qingyuan = strncmp (options->city, GEN_QINGYUAN, 4) == 0;
    return qingyuan && index < (long) S_COUNT (s_qingyuan_counties)
         ? &s_qingyuan_counties [index]: NULL;
}

//  The index'th county code: Qingyuan's real ones, then DD = 01, 02 ...
//  skipping those. A municipality's districts are PP01DD.
static void
s_county_code (const gen_options_t *options, long index, char *code)
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
        gen_format (code, HT_REGION_BYTES, "%s000000", real->code);
    else
        gen_format (code, HT_REGION_BYTES, "%.2s%.2s%02d000000", options->city,
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
        gen_format (item, GEN_NAME_BYTES, "%.*s", (int) strcspn (list, " "), list);
    return list != NULL;
}

int32_t
gen_jitter (gen_rng_t *rng, int32_t centre, int spread)
{
    return centre + gen_range (rng, -spread, spread);
}

//  Communities of the township just added: 社区 first (all, in a street),
//  then 村. Urban communities hold more elders than villages.
static bool
s_communities_build (gen_tree_t *self, const gen_options_t *options, gen_rng_t *rng)
{
    size_t township = self->count - 1;
    const gen_place_t town = self->places [township];
    bool street = town.kind == GEN_STREET;
    int count = options->communities? (int) options->communities
              : street? gen_range (rng, 5, 15): town.kind == GEN_TOWN? gen_range (rng, 8, 20): gen_range (rng, 5, 12);
    int urban = street? count: town.kind == GEN_TOWN? gen_range (rng, 1, 2): count >= 4;
    int spread = street? 15000: 60000;
    for (int index = 0; index < count; index++) {
        bool village = index >= urban;
        char code [HT_REGION_BYTES], name [GEN_NAME_BYTES];
        gen_format (code, sizeof code, "%.9s%03d", town.code, village? 200 + index - urban: index + 1);
        s_fresh_name (self, rng, township, village? GEN_VILLAGE: GEN_COMMUNITY,
                      village? "村": "社区", name);
        int weight = village? gen_range (rng, 40, 150): street? gen_range (rng, 150, 400): gen_range (rng, 100, 250);
        if (!s_place_add (self, code, name, village? GEN_VILLAGE: GEN_COMMUNITY, gen_jitter (rng, town.lat, spread),
                          gen_jitter (rng, town.lon, spread), (uint32_t) weight))
            return false;
    }
    return true;
}

//  Kind of the index'th of count generated townships: districts are
//  mostly streets; counties are towns, a big one with a street at its
//  seat, ending with a 乡 or two
static gen_kind_t
s_township_kind (gen_kind_t county_kind, long index, long count)
{
    if (county_kind == GEN_DISTRICT)
        return index < (count * 3 + 4) / 5? GEN_STREET: GEN_TOWN;
    if (index == 0 && count >= 10)
        return GEN_STREET;
    return count >= 6 && index >= count - count / 8? GEN_XIANG: GEN_TOWN;
}

static bool
s_townships_build (gen_tree_t *self, const gen_options_t *options, gen_rng_t *rng,
                   const s_real_county_t *real)
{
    size_t county = self->count - 1;
    const gen_place_t seat = self->places [county];
    char name [GEN_NAME_BYTES], code [HT_REGION_BYTES];
    long count = options->townships;
    while (!options->townships && real && s_list_item (real->townships, count, name))
        count++;
    count = count? count: gen_range (rng, 8, 13);
    int next [3] = { 1, 100, 200 };     //  next TTT of streets, towns, 乡
    for (long index = 0; index < count; index++) {
        gen_kind_t kind = s_township_kind (seat.kind, index, count);
        if (real && s_list_item (real->townships, index, name))
            kind = strstr (name, "街道")? GEN_STREET: strstr (name, "乡")? GEN_XIANG: GEN_TOWN;
        else
            s_fresh_name (self, rng, county, kind,
                          kind == GEN_STREET? "街道": kind == GEN_TOWN? "镇": "乡", name);
        gen_format (code, sizeof code, "%.6s%03d000", seat.code, next [kind - GEN_STREET]++);
        int spread = kind == GEN_STREET? 30000: 300000;
        if (!s_place_add (self, code, name, kind, gen_jitter (rng, seat.lat, spread),
                          gen_jitter (rng, seat.lon, spread), 0)
        ||  !s_communities_build (self, options, rng))
            return false;
    }
    return true;
}

static bool
s_county_build (gen_tree_t *self, const gen_options_t *options, gen_rng_t *rng, long index)
{
    const s_real_county_t *real = s_real_county (options, index);
    char code [HT_REGION_BYTES], name [GEN_NAME_BYTES];
    s_county_code (options, index, code);
    long districts = options->counties >= 3? options->counties / 3: 1;
    gen_kind_t kind = real? (real->district? GEN_DISTRICT: GEN_COUNTY): index < districts? GEN_DISTRICT: GEN_COUNTY;
    if (real)
        gen_format (name, sizeof name, "%s", real->name);
    else
        s_fresh_name (self, rng, 0, kind, kind == GEN_DISTRICT? "区"
                      : index == options->counties - 1 && index >= 3? "市": "县", name);
    gen_county_t *county = &self->counties [self->county_count++];
    *county = (gen_county_t) { (uint32_t) self->count, (uint32_t) self->community_count, 0, "" };
    //  Two CJK characters are six bytes of UTF-8
    gen_format (county->short_name, sizeof county->short_name, "%.6s", real? real->short_name: name);
    return s_place_add (self, code, name, kind, real? real->lat: gen_jitter (rng, S_CITY_LAT, 600000),
                        real? real->lon: gen_jitter (rng, S_CITY_LON, 600000), 0)
        && s_townships_build (self, options, rng, real);
}

int
gen_tree_build (gen_tree_t *self, const gen_options_t *options)
{
    gen_rng_t rng = gen_rng_for (options->seed, GEN_STREAM_TREE, 0);
    char name [GEN_NAME_BYTES] = "清远市";
    bool qingyuan = s_real_county (options, 0) != NULL;
    if (!qingyuan)
        s_fresh_name (self, &rng, 0, GEN_CITY, "市", name);
    gen_format (self->short_name, sizeof self->short_name, "%.6s", name);
    gen_format (self->area_code, sizeof self->area_code, "0%d", qingyuan? 763: gen_range (&rng, 300, 999));
    if (!s_place_add (self, options->city, name, GEN_CITY, S_CITY_LAT, S_CITY_LON, 0))
        return HT_ENOMEM;
    for (long index = 0; index < options->counties; index++)
        if (!s_county_build (self, options, &rng, index))
            return HT_ENOMEM;
    return HT_OK;
}

//  Depth first, the communities under a place are one run of the list
//  elders are drawn from: keep that run, its weights rebased to start at
//  zero, and each county's part of it
int
gen_tree_restrict (gen_tree_t *self, const char *region)
{
    bool found = false;
    for (size_t index = 0; index < self->count && !found; index++)
        found = streq (self->places [index].code, region);
    if (!found)
        return HT_ENOTFOUND;
    size_t kept = 0;
    uint64_t weight_before = 0, previous = 0;
    for (size_t index = 0; index < self->community_count; index++) {
        uint64_t weight = self->weights [index] - previous;
        previous = self->weights [index];
        if (!ht_region_covers (region, self->places [self->communities [index]].code))
            continue;
        self->communities [kept] = self->communities [index];
        self->weights [kept] = weight + weight_before;
        weight_before = self->weights [kept++];
    }
    for (size_t county = 0; county < self->county_count; county++) {
        gen_county_t *unit = &self->counties [county];
        unit->count = 0;
        for (size_t index = 0; index < kept; index++)
            if (self->places [self->communities [index]].county == county && !unit->count++)
                unit->first = (uint32_t) index;
    }
    self->community_count = kept;
    return kept? HT_OK: HT_ENOTFOUND;
}

int
gen_tree_print (const gen_tree_t *self, const char *region, gen_out_t *out)
{
    int rc = HT_OK;
    for (size_t index = 0; index < self->count && rc == HT_OK; index++) {
        const gen_place_t *place = &self->places [index];
        if (*region && !ht_region_covers (region, place->code))
            continue;
        char parent [HT_REGION_BYTES];
        bool has_parent = ht_region_parent (place->code, parent) == HT_OK;
        json_t *json = json_pack ("{s:s, s:s, s:s, s:s?}", "region", place->code,
                                  "tier", ht_tier_name (ht_region_tier (place->code)),
                                  "name", place->name, "parent", has_parent? parent: NULL);
        rc = json? gen_write_json (out, json): HT_ENOMEM;
        json_decref (json);
    }
    return rc;
}

//  "清城区凤城街道人民路12号", or "英德市大湾镇春明村28号" in a village
void
gen_address (const gen_tree_t *tree, gen_rng_t *rng, const gen_place_t *place, char *text)
{
    const gen_place_t *township = &tree->places [place->township];
    const gen_place_t *county = &tree->places [tree->counties [place->county].place];
    bool village = place->kind == GEN_VILLAGE;
    gen_format (text, GEN_TEXT_BYTES, "%s%s%s%d号", county->name, township->name,
                village? place->name: GEN_PICK (rng, s_street_names), gen_range (rng, 1, village? 180: 320));
}

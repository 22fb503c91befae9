//  gen_facilities: the facilities such a city has (DOMAIN.md §1: a 福利院
//  per county, a 敬老院 per town, a centre per street, stations, 幸福院,
//  长者饭堂), and a facility record for each. The plan lists what the
//  city has, shuffled so that any prefix is a fair sample; past its end,
//  extras fill in (gen_names.h). The facilities printed are also the pool
//  credit records are about.
#include "gen.h"

//  A facility the city has: what sort, and where
struct _gen_slot_t {
    s_facility_kind_t kind;         //  what sort of facility
    uint32_t place;                 //  place index of its region
};

static bool
s_plan_add (gen_t *self, s_facility_kind_t kind, size_t place)
{
    if (!gen_grow ((void **) &self->plan, &self->plan_capacity, self->plan_count, sizeof (gen_slot_t)))
        return false;
    self->plan [self->plan_count++] = (gen_slot_t) { kind, (uint32_t) place };
    return true;
}

//  Add a facility with a chance in a thousand; false if out of memory
static bool
s_plan_maybe (gen_t *self, gen_rng_t *rng, int permille, s_facility_kind_t kind, size_t place)
{
    return !gen_chance (rng, permille) || s_plan_add (self, kind, place);
}

//  Facilities at one place, at Qingyuan's rates: 176 幸福院 in ~1,000
//  villages, 57 rural stations, 21 private homes, 4 公建民营 in 85
//  townships; a station in every urban community (one per community)
static bool
s_plan_place (gen_t *self, gen_rng_t *rng, size_t index)
{
    const gen_place_t *place = &self->tree.places [index];
    bool street = self->tree.places [place->township].kind == GEN_STREET;
    //  The seat community follows its township; a county's follows that
    size_t seat = index + 1 + (gen_tier (place->kind) == 1);
    switch (place->kind) {
        case GEN_DISTRICT: case GEN_COUNTY:
            return s_plan_add (self, S_WELFARE_HOME, seat);
        case GEN_STREET:
            return s_plan_add (self, S_CENTER, index)
                && s_plan_maybe (self, rng, 600, S_PRIVATE_HOME, seat);
        case GEN_TOWN: case GEN_XIANG:
            return s_plan_add (self, S_TOWN_HOME, seat)
                && s_plan_maybe (self, rng, 50, S_REGIONAL_HOME, seat)
                && s_plan_maybe (self, rng, 200, S_PRIVATE_HOME, seat);
        case GEN_COMMUNITY:
            return s_plan_maybe (self, rng, street? 1000: 350, S_STATION, index)
                && s_plan_maybe (self, rng, street? 150: 100, S_MEAL_POINT, index);
        case GEN_VILLAGE:
            return s_plan_maybe (self, rng, 180, S_VILLAGE_POINT, index)
                && s_plan_maybe (self, rng, 30, S_STATION, index)
                && s_plan_maybe (self, rng, 10, S_MEAL_POINT, index);
        case GEN_CITY:
            break;
    }
    return true;
}

bool
gen_plan_build (gen_t *self)
{
    gen_rng_t rng = gen_rng_for (self->options.seed, GEN_STREAM_PLAN, 0);
    for (size_t index = 0; index < self->tree.count; index++)
        if (!s_plan_place (self, &rng, index))
            return false;
    //  Planned for the whole city, then cut to --region: the draws stay
    //  the city's, so the region has the facilities the city puts there
    size_t kept = 0;
    for (size_t index = 0; index < self->plan_count; index++)
        if (!*self->options.region
        ||  ht_region_covers (self->options.region, self->tree.places [self->plan [index].place].code))
            self->plan [kept++] = self->plan [index];
    self->plan_count = kept;
    for (size_t index = self->plan_count; index > 1; index--) {
        size_t other = gen_below (&rng, (uint32_t) index);
        gen_slot_t slot = self->plan [index - 1];
        self->plan [index - 1] = self->plan [other];
        self->plan [other] = slot;
    }
    return true;
}

//  The index'th facility's kind and place: the plan's, then extras
static gen_slot_t
s_slot (const gen_t *self, size_t index)
{
    if (index < self->plan_count)
        return self->plan [index];
    gen_rng_t rng = gen_rng_for (self->item_seed, GEN_STREAM_EXTRA, index);
    s_facility_kind_t kind = s_extra_kinds [GEN_WEIGHTED (&rng, s_extra_weights)];
    uint32_t place = self->tree.communities [gen_below (&rng, (uint32_t) self->tree.community_count)];
    if (kind == S_VILLAGE_POINT && self->tree.places [place].kind != GEN_VILLAGE)
        kind = S_STATION;
    return (gen_slot_t) { kind, place };
}

//  "石角镇敬老院", "九龙社区居家养老服务站", "清城区康乐护理院" ...
static void
s_facility_name (const gen_tree_t *tree, gen_rng_t *rng, const gen_slot_t *slot, char *name)
{
    const s_profile_t *profile = &s_profiles [slot->kind];
    const gen_place_t *place = &tree->places [slot->place];
    const gen_place_t *named = profile->named_by == S_BY_PLACE? place
                             : profile->named_by == S_BY_TOWNSHIP? &tree->places [place->township]
                           : &tree->places [tree->counties [place->county].place];
    if (slot->kind == S_PRIVATE_HOME)
        gen_format (name, GEN_TEXT_BYTES, "%s%s%s", named->name, GEN_PICK (rng, s_home_brands),
                    GEN_PICK (rng, s_home_suffixes));
    else
        gen_format (name, GEN_TEXT_BYTES, profile->name_format, named->name);
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
    char body [GEN_NAME_BYTES];
    gen_format (body, sizeof body, "%.2s%06u", letters, serial % 1000000);
    gen_format (uscc, HT_USCC_CHARS + 1, "%.2s%.6s%.8s%c", prefix, county, body, s_org_check (body));
    uscc [HT_USCC_CHARS - 1] = ht_uscc_check_char (uscc);
    uscc [HT_USCC_CHARS] = '\0';
}

//  USCC (or a serial for 1 in 4 幸福院), ownership, profit, operator
static void
s_facility_identity (gen_draft_t *draft, gen_rng_t *rng, const gen_slot_t *slot,
                     const char *county, size_t index, gen_facility_t *summary)
{
    s_facility_kind_t kind = slot->kind;
    const char *ownership = "公办", *profit = "非营利", *prefix = s_profiles [kind].uscc_prefix;
    if (kind == S_REGIONAL_HOME || kind == S_CENTER || (kind == S_STATION && gen_chance (rng, 600)))
        ownership = "公建民营";
    else
    if (kind == S_MEAL_POINT || kind == S_PRIVATE_HOME)
        ownership = gen_chance (rng, 250)? "民办公助": "民办";
    if (kind == S_PRIVATE_HOME && gen_chance (rng, 300))
        profit = "营利", prefix = "91";     //  a company, not a 民办非企业单位
    //  7919 is prime to 10^6: organisation codes stay unique per facility
    uint32_t serial = (uint32_t) ((index * 7919 + 13) % 1000000);
    char text [GEN_NAME_BYTES];
    if (kind == S_VILLAGE_POINT && gen_chance (rng, 250)) {
        gen_format (text, sizeof text, "XFY%06zu", index % 1000000);
        gen_str (draft, "serial", text);
    }
    else {
        s_uscc (prefix, county, streq (prefix, "12")? "45": streq (prefix, "91")? "MA": "MJ",
                serial, summary->uscc);
        gen_str (draft, "uscc", summary->uscc);
    }
    if (streq (ownership, "公建民营")) {
        s_uscc ("91", county, "MA", serial, text);
        gen_str (draft, "operator_uscc", text);
    }
    gen_str (draft, "ownership", ownership);
    gen_str (draft, "profit", profit);
}

//  Beds (nursing beds >= 55% in most homes), residents, staff, services
static void
s_facility_capacity (gen_draft_t *draft, gen_rng_t *rng, const gen_slot_t *slot, gen_facility_t *summary)
{
    const s_profile_t *profile = &s_profiles [slot->kind];
    gen_int (draft, "area", (int64_t) gen_range (rng, profile->area_low, profile->area_high) * 100
                          + gen_below (rng, 100));
    int beds = profile->beds_high? gen_range (rng, profile->beds_low, profile->beds_high): 0;
    if (beds)
        gen_int (draft, "beds_total", beds);
    if (slot->kind > S_PRIVATE_HOME) {
        gen_int (draft, "staff", gen_range (rng, 1, 8));
        if (slot->kind == S_MEAL_POINT)
            GEN_SUBSET (draft, rng, "services", s_meal_services, 1, 3);
        else
        if (slot->kind == S_VILLAGE_POINT)
            GEN_SUBSET (draft, rng, "services", s_village_services, 1, 3);
        else
            GEN_SUBSET (draft, rng, "services", s_station_services, 2, 5);
        return;
    }
    int share = gen_chance (rng, 850)? gen_range (rng, 55, 85): gen_range (rng, 25, 54);
    int residents = beds * gen_range (rng, 35, 90) / 100;
    gen_int (draft, "beds_nursing", (beds * share + 99) / 100);
    gen_int (draft, "residents", residents);
    gen_int (draft, "residents_disabled", residents * gen_range (rng, 20, 65) / 100);
    gen_int (draft, "staff", beds / gen_range (rng, 3, 5) + 2);
    GEN_SUBSET (draft, rng, "services", s_institution_services, 3, 6);
    bool clinic = gen_chance (rng, beds >= 100? 300: 50);       //  医养结合
    gen_note (draft, ht_record_set_bool (draft->record, "clinic", clinic), "clinic");
    gen_note (draft, ht_record_set_bool (draft->record, "insurance_designated",
                                         clinic && gen_chance (rng, 500)), "insurance_designated");
    if (gen_chance (rng, 600)) {
        summary->rating = 1 + (int) GEN_WEIGHTED (rng, s_rating_weights);
        gen_int (draft, "rating_level", summary->rating);
    }
}

//  Address, position, phone, person in charge, and an institution's 备案
static void
s_facility_contact (gen_draft_t *draft, gen_rng_t *rng, const gen_tree_t *tree,
                    const gen_slot_t *slot, size_t index)
{
    const gen_place_t *place = &tree->places [slot->place];
    char text [GEN_TEXT_BYTES], date [GEN_DATE_BYTES];
    gen_address (tree, rng, place, text);
    gen_str (draft, "address", text);
    gen_int (draft, "geo_lat", gen_jitter (rng, place->lat, 3000));
    gen_int (draft, "geo_lon", gen_jitter (rng, place->lon, 3000));
    if (slot->kind <= S_CENTER || gen_chance (rng, 500))
        gen_format (text, sizeof text, "%s-%07u", tree->area_code, 3000000 + gen_below (rng, 6000000));
    else
        gen_mobile (rng, text);
    gen_str (draft, "phone", text);
    gen_person_name (rng, NULL, gen_range (rng, 1, 2), text);
    gen_str (draft, "person_in_charge", text);
    if (slot->kind <= S_PRIVATE_HOME) {
        int32_t filed = gen_range (rng, gen_days (2019, 6, 1), gen_days (2025, 12, 31));
        gen_format (text, sizeof text, "%s民养备〔%.4s〕%03zu号",
                    tree->counties [place->county].short_name, gen_date (filed, date), index % 999 + 1);
        gen_str (draft, "filing_no", text);
        gen_str (draft, "filing_date", date);
    }
}

//  Build the index'th facility of the city; summary gets what others need
static gen_draft_t
s_facility_build (const gen_t *self, size_t index, gen_facility_t *summary)
{
    gen_slot_t slot = s_slot (self, index);
    gen_rng_t rng = gen_rng_for (self->item_seed, GEN_STREAM_FACILITY, index);
    const gen_place_t *place = &self->tree.places [slot.place];
    const char *county = self->tree.places [self->tree.counties [place->county].place].code;
    gen_draft_t draft = { ht_record_new ("facility"), NULL };
    if (!draft.record)
        return draft;
    *summary = (gen_facility_t) { "", "", "", slot.place, slot.kind, 0 };
    gen_header (&draft, place->code, county);
    s_facility_name (&self->tree, &rng, &slot, summary->name);
    gen_str (&draft, "name", summary->name);
    gen_str (&draft, "type", s_profiles [slot.kind].type);
    s_facility_identity (&draft, &rng, &slot, county, index + self->number_base, summary);
    s_facility_capacity (&draft, &rng, &slot, summary);
    s_facility_contact (&draft, &rng, &self->tree, &slot, index);
    gen_str (&draft, "status", gen_chance (&rng, 20)? "suspended": "open");
    gen_note (&draft, ht_record_derive_key (draft.record, NULL), "key");
    gen_format (summary->key, sizeof summary->key, "%s", ht_record_key (draft.record));
    return draft;
}

//  Build the pool credit records draw subjects from, printing it if asked
int
gen_facilities_run (gen_t *self)
{
    size_t count = (size_t) self->options.pool;
    self->pool = (gen_facility_t *) calloc (count + 1, sizeof (gen_facility_t));
    self->subject_weights = (uint64_t *) calloc (count + 1, sizeof (uint64_t));
    if (!self->pool || !self->subject_weights)
        return ht_fail ("gen", HT_ENOMEM);
    int rc = HT_EXIT_OK;
    for (size_t index = 0; index < count && !rc; index++) {
        gen_draft_t draft = s_facility_build (self, index, &self->pool [index]);
        if (!draft.record)
            return ht_fail ("gen", HT_ENOMEM);
        rc = self->options.facilities > 0? gen_emit (self, &draft): HT_EXIT_OK;
        ht_record_destroy (&draft.record);
        self->subject_weights [index] = (index? self->subject_weights [index - 1]: 0)
                                      + (uint64_t) s_profiles [self->pool [index].kind].subject_weight;
        if (self->options.facilities > 0)
            gen_progress (self, index + 1, count, "facilities");
    }
    return rc;
}

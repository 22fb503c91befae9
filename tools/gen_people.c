//  gen_people: names and phone numbers for anyone the records mention,
//  and the elders: a citizen ID no one else has, a home weighted towards
//  towns, a family contact, assistance categories and care levels.
#include "gen.h"

#define S_ID_SLOTS 499              //  sequence numbers per birth day and sex
#define S_BIRTH_DAYS 14610          //  1926-01-01 .. 1965-12-31

void
gen_person_name (gen_rng_t *rng, const char *surname, int sex, char *name)
{
    const char *given = sex == 1? GEN_PICK (rng, s_male_given): GEN_PICK (rng, s_female_given);
    const char *second = sex == 1? GEN_PICK (rng, s_male_given): GEN_PICK (rng, s_female_given);
    bool single = gen_chance (rng, 300) || streq (given, second);
    gen_format (name, GEN_NAME_BYTES, "%s%s%s", surname? surname: GEN_FREQUENT (rng, s_surnames),
                given, single? "": second);
}

void
gen_mobile (gen_rng_t *rng, char *phone)
{
    gen_format (phone, GEN_NAME_BYTES, "%s%08u", GEN_FREQUENT (rng, s_mobile_prefixes),
                gen_below (rng, 100000000));
}

//  --------------------------------------------------------------------------
//  Elders

typedef struct {
    char id_no [GEN_NAME_BYTES];    //  18-character citizen ID
    int32_t birth;                  //  days since the epoch
    int sex;                        //  1 male, 2 female
    int band;                       //  index into s_band_*
} s_identity_t;

//  Draw a birth day and sex, and issue a citizen ID no one else has: the
//  n-th person of a county, day and sex gets sequence slot (h + 337n) mod
//  499, distinct for every n < 499 as 499 is prime. Full days are redrawn.
static bool
s_identity (gen_t *self, gen_rng_t *rng, const gen_place_t *home, s_identity_t *who)
{
    for (int attempt = 0; attempt < 64; attempt++) {
        who->band = (int) GEN_WEIGHTED (rng, s_band_weights);
        int32_t first = gen_days (1961 - 5 * who->band, 1, 1);
        who->birth = first + (int32_t) gen_below (rng, (uint32_t) (gen_days (1966 - 5 * who->band, 1, 1) - first));
        who->sex = gen_chance (rng, s_band_women [who->band])? 2: 1;
        size_t cell = ((size_t) home->county * S_BIRTH_DAYS
                    + (size_t) (who->birth - gen_days (1926, 1, 1))) * 2 + (size_t) who->sex - 1;
        uint32_t issued = self->id_counters [cell];
        if (issued >= S_ID_SLOTS)
            continue;
        self->id_counters [cell]++;
        uint32_t slot = (uint32_t) ((gen_mix (self->item_seed ^ cell) % S_ID_SLOTS + issued * 337) % S_ID_SLOTS);
        char date [GEN_DATE_BYTES];
        gen_format (who->id_no, sizeof who->id_no, "%.6s%s%03u", home->code,
                    gen_date (who->birth, date), who->sex == 1? 2 * slot + 1: 2 * slot + 2);
        who->id_no [17] = ht_citizen_id_check_char (who->id_no);
        who->id_no [18] = '\0';
        return true;
    }
    return false;
}

//  Usually the hukou community; 1 in 10 lives elsewhere in the county (人户分离)
static const gen_place_t *
s_residence (const gen_tree_t *tree, gen_rng_t *rng, const gen_place_t *home)
{
    const gen_county_t *county = &tree->counties [home->county];
    if (county->count < 2 || !gen_chance (rng, 100))
        return home;
    return &tree->places [tree->communities [county->first + gen_below (rng, county->count)]];
}

//  Name, phone, and a family contact for half of them
static void
s_elder_person (gen_draft_t *draft, gen_rng_t *rng, const s_identity_t *who)
{
    const char *surname = GEN_FREQUENT (rng, s_surnames);
    char name [GEN_NAME_BYTES], phone [GEN_NAME_BYTES], contact [GEN_TEXT_BYTES];
    gen_person_name (rng, surname, who->sex, name);
    gen_str (draft, "name", name);
    if (gen_chance (rng, 700)) {
        gen_mobile (rng, phone);
        gen_str (draft, "phone", phone);
    }
    if (gen_chance (rng, 500)) {
        gen_person_name (rng, gen_chance (rng, 500)? surname: NULL, gen_range (rng, 1, 2), name);
        gen_mobile (rng, phone);
        gen_format (contact, sizeof contact, "%s（%s）%s", name, GEN_PICK (rng, s_relations), phone);
        gen_str (draft, "contact", contact);
    }
}

//  Assistance categories, ability and care levels, living arrangement
static void
s_elder_care (gen_draft_t *draft, gen_rng_t *rng, const s_identity_t *who, const gen_place_t *home)
{
    bool assessed = gen_chance (rng, 700);
    int ability = assessed? (int) gen_weighted (rng, s_ability [who->band / 2], 5): 0;
    const char *categories [6];
    size_t count = 0;
    bool destitute = gen_chance (rng, 10);
    const char *income = destitute? "特困": gen_chance (rng, 40)? "低保": gen_chance (rng, 30)? "低收入": NULL;
    if (income)
        categories [count++] = income;
    if (gen_chance (rng, 15))
        categories [count++] = "优抚";
    if (gen_chance (rng, ability >= 3? 150: 15))
        categories [count++] = "重度残疾";
    if (gen_chance (rng, 5))
        categories [count++] = "计生特殊家庭";
    if (count)
        gen_strs (draft, "categories", categories, count);
    if (assessed)
        gen_int (draft, "ability_level", ability);
    if (ability > 0)
        gen_int (draft, "care_level", ability);
    const int *weights = home->kind == GEN_VILLAGE? s_rural_living: s_urban_living;
    const char *living = GEN_CHOICE ("elder", "living",
                                     gen_weighted (rng, weights, S_COUNT (s_urban_living)),
                                     s_urban_living);
    if ((destitute && gen_chance (rng, 400)) || (ability >= 3 && gen_chance (rng, 150)))
        living = "institution";     //  集中供养, or too frail to stay home
    gen_str (draft, "living", living);
}

static int
s_elder_build (gen_t *self, size_t index, gen_draft_t *draft)
{
    const gen_tree_t *tree = &self->tree;
    gen_rng_t rng = gen_rng_for (self->item_seed, GEN_STREAM_ELDER, index);
    const gen_place_t *home = &tree->places [tree->communities [
        gen_cumulative (&rng, tree->weights, tree->community_count)]];
    s_identity_t who;
    if (!s_identity (self, &rng, home, &who))
        return ht_usage_error ("gen: citizen IDs of %.6s run out: ask for more counties", home->code);
    gen_header (draft, home->code, home->code);
    gen_str (draft, "id_type", "居民身份证");
    gen_str (draft, "id_no", who.id_no);
    gen_int (draft, "sex", who.sex);
    gen_day (draft, "birth_date", who.birth);
    s_elder_person (draft, &rng, &who);
    const gen_place_t *residence = s_residence (tree, &rng, home);
    char address [GEN_TEXT_BYTES];
    gen_address (tree, &rng, residence, address);
    gen_str (draft, "hukou_region", home->code);
    gen_str (draft, "residence_region", residence->code);
    gen_str (draft, "address", address);
    s_elder_care (draft, &rng, &who, home);
    int draw = (int) gen_below (&rng, 1000), deaths = s_band_deaths [who.band];
    gen_str (draft, "status", draw < deaths? "deceased": draw < deaths + 5? "moved": "active");
    if (draw < deaths + 5)
        gen_day (draft, "status_date", gen_range (&rng, gen_days (2024, 1, 1), gen_days (2026, 10, 31)));
    return HT_EXIT_OK;
}

int
gen_elders_print (gen_t *self)
{
    size_t total = (size_t) self->options.elders;
    self->id_counters = (uint16_t *) calloc (self->tree.county_count * S_BIRTH_DAYS * 2, sizeof (uint16_t));
    if (!self->id_counters)
        return ht_fail ("gen", HT_ENOMEM);
    int rc = HT_EXIT_OK;
    for (size_t index = 0; index < total && !rc; index++) {
        gen_draft_t draft = { ht_record_new ("elder"), NULL };
        rc = draft.record? s_elder_build (self, index, &draft): ht_fail ("gen", HT_ENOMEM);
        rc = rc? rc: gen_emit (self, &draft);
        ht_record_destroy (&draft.record);
        gen_progress (self, index + 1, total, "elders");
    }
    return rc;
}

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
//
//  This file is the command: options, --help and the order things are
//  printed in. The parts are in gen_*.c, over the internal API in gen.h.
#include "gen.h"

#define S_DEFAULT_COUNTIES 8
#define S_SAMPLE_FACILITIES 20      //  printed when no count is given; also
#define S_SAMPLE_ELDERS 100         //  the facilities credit records are
#define S_SAMPLE_CREDIT 20          //  about when --facilities is absent
#define S_MAX_ELDERS 10000000
#define S_MAX_FACILITIES 1000000    //  organisation codes stay unique below
#define S_MAX_CREDIT 1000000
#define S_MAX_TOWNSHIPS 99          //  streets 001-099, towns 100-199
#define S_MAX_COMMUNITIES 199       //  社区 001-199, 村 200-399
#define S_PROGRESS_EVERY 10000
#define S_LINE_BYTES 4096
#define S_REGION_NUMBERS 500000     //  number bases of --region runs

enum { S_OPT_SEED, S_OPT_CITY, S_OPT_REGION, S_OPT_ELDERS, S_OPT_FACILITIES, S_OPT_CREDIT,
       S_OPT_REGIONS, S_OPT_COUNTIES, S_OPT_TOWNSHIPS, S_OPT_COMMUNITIES, S_OPT_COUNT };

static const ht_option_t s_gen_options [] = {
    HT_OPTION_UINT ("seed", "N", 0, UINT64_MAX, "random seed (default 1)"),
    HT_OPTION_TEXT ("city", "CODE", "city code or its prefix (default 4418, 清远市)"),
    HT_OPTION_TEXT ("region", "CODE", "only records inside this county, township or community"),
    HT_OPTION_UINT ("elders", "N", 0, S_MAX_ELDERS, "print N elder drafts"),
    HT_OPTION_UINT ("facilities", "N", 0, S_MAX_FACILITIES, "print N facility drafts"),
    HT_OPTION_UINT ("credit", "N", 0, S_MAX_CREDIT, "print N credit drafts about those facilities"),
    HT_OPTION_FLAG ("regions", "print the region tree instead of records"),
    HT_OPTION_UINT ("counties", "N", 1, GEN_MAX_COUNTIES, "county-level units (default 8)"),
    HT_OPTION_UINT ("townships", "N", 1, S_MAX_TOWNSHIPS, "townships per county (default about 10)"),
    HT_OPTION_UINT ("communities", "N", 1, S_MAX_COMMUNITIES, "communities per township (default 5-20)"),
    HT_OPTION_END
};

static const ht_command_spec_t s_gen_spec = {
    "hutong gen [--seed N] [--city CODE] [--region CODE] [--elders N] [--facilities N]\n"
    "                  [--credit N] [--regions] [--counties N] [--townships N] [--communities N]",
    "Generate synthetic records for one city as JSON lines on stdout:\n"
    "facilities, then elders, then credit records, as unsigned drafts for\n"
    "'hutong put' (which derives keys and timestamps). The same arguments\n"
    "give byte-identical output. With no count, prints 20 facilities, 100\n"
    "elders and 20 credit records. Credit records are about the facilities\n"
    "--facilities N prints (N = 20 without it): run gen with the same --seed,\n"
    "--city and region options and --facilities N (or more: the first N\n"
    "never change) to print them. --regions prints the region tree instead,\n"
    "{\"region\",\"tier\",\"name\",\"parent\"} per line.\n"
    "--region CODE (a county, township or community of the tree, code or\n"
    "prefix) keeps everything inside it: elders live in its communities,\n"
    "facilities stand in it, credit records are about those facilities, and\n"
    "--regions prints its part of the tree. Places keep the names the whole\n"
    "city's tree gives them, so name a hand-built network's nodes after\n"
    "'hutong gen --regions --region CODE' with the same --seed, --city and\n"
    "tree options. Runs for two regions make different people, facilities\n"
    "and documents, so their records can go onto one network side by side.",
    s_gen_options
};

//  --------------------------------------------------------------------------
//  Options

//  A count option's value, or unset if it was not given
static long
s_count (const char **values, int option, long unset)
{
    return values [option]? (long) ht_args_number (&s_gen_spec, values, option, 0): unset;
}

//  Take --region: a valid code or prefix inside the city (whether the
//  tree has it is known once the tree is built); HT_EXIT_USAGE after
//  saying why
static int
s_parse_region (gen_options_t *self, const char *region)
{
    const char *reason = NULL;
    char expanded [HT_REGION_BYTES];
    if (strlen (region) < HT_REGION_DIGITS && ht_region_from_prefix (region, expanded) == HT_OK)
        region = expanded;
    if (ht_region_check (region, &reason))
        return ht_usage_error ("gen: --region %s: %s", region, reason);
    if (!ht_region_covers (self->city, region))
        return ht_usage_error ("gen: --region %s is not inside the city %s (--city)",
                               region, self->city);
    strcpy (self->region, region);
    return 0;
}

//  Take --seed, --city, --region and the counts (ht_args_parse has checked every
//  number against the table); HT_EXIT_USAGE after saying why
static int
s_parse_values (gen_options_t *self, const char **values)
{
    const char *city = values [S_OPT_CITY], *reason = NULL;
    self->seed = ht_args_number (&s_gen_spec, values, S_OPT_SEED, self->seed);
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
    if (values [S_OPT_REGION] && s_parse_region (self, values [S_OPT_REGION]))
        return HT_EXIT_USAGE;
    self->elders = s_count (values, S_OPT_ELDERS, self->elders);
    self->facilities = s_count (values, S_OPT_FACILITIES, self->facilities);
    self->credit = s_count (values, S_OPT_CREDIT, self->credit);
    self->counties = s_count (values, S_OPT_COUNTIES, self->counties);
    self->townships = s_count (values, S_OPT_TOWNSHIPS, self->townships);
    self->communities = s_count (values, S_OPT_COMMUNITIES, self->communities);
    return 0;
}

static int
s_options_parse (gen_options_t *self, int argc, char **argv)
{
    const char *values [S_OPT_COUNT];
    int first_arg = 0;
    int rc = ht_args_parse (&s_gen_spec, argc, argv, values, &first_arg);
    if (rc)
        return rc;
    if (first_arg < argc)
        return ht_usage_error ("gen: unexpected argument '%s' (see --help)", argv [first_arg]);
    *self = (gen_options_t) { 1, GEN_QINGYUAN, "", -1, -1, -1, 0, values [S_OPT_REGIONS] != NULL,
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
//  Progress, on a terminal only

void
gen_progress (const gen_t *self, size_t done, size_t total, const char *what)
{
    if (self->progress && total >= S_PROGRESS_EVERY
    &&  (done % S_PROGRESS_EVERY == 0 || done == total))
        fprintf (stderr, "\rgen: %zu/%zu %s%s", done, total, what, done == total? "\n": "");
}

//  --------------------------------------------------------------------------

static void
s_gen_destroy (gen_t *self)
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
s_gen_run (gen_t *self)
{
    const char *region = self->options.region;
    if (gen_tree_build (&self->tree, &self->options))
        return ht_fail ("gen: building the region tree", HT_ENOMEM);
    if (*region && gen_tree_restrict (&self->tree, region))
        return ht_usage_error ("gen: --region %s: the tree has no such place (it has %ld "
                               "counties: see 'hutong gen --regions' with the same options)",
                               region, self->options.counties);
    if (self->options.regions)
        return gen_tree_print (&self->tree, region, &self->out) || fflush (stdout)
             ? ht_fail ("gen: writing standard output", HT_EIO): HT_EXIT_OK;
    if (!gen_plan_build (self))
        return ht_fail ("gen: planning facilities", HT_ENOMEM);
    int rc = gen_facilities_run (self);
    rc = rc? rc: gen_elders_print (self);
    rc = rc? rc: gen_credit_print (self);
    if (!rc && fflush (stdout))
        rc = ht_fail ("gen: writing standard output", HT_EIO);
    return rc;
}

int
ht_cmd_gen (int argc, char **argv)
{
    gen_t self = { 0 };
    int rc = s_options_parse (&self.options, argc, argv);
    if (rc)
        return rc == 1? HT_EXIT_OK: rc;
    self.out.capacity = S_LINE_BYTES;
    self.out.line = (char *) malloc (self.out.capacity);
    self.hlc = ht_hlc_make (ht_hlc_wall_ms (), 0);
    //  The tree and the plan stay the city's; what is drawn per item, and
    //  the numbers keys derive from, differ from one region to another
    uint64_t region_mix = *self.options.region? gen_mix (strtoull (self.options.region, NULL, 10)): 0;
    self.item_seed = self.options.seed ^ region_mix;
    self.number_base = (size_t) (region_mix % S_REGION_NUMBERS);
    self.progress = ht_stderr_is_tty ();
    rc = self.out.line? s_gen_run (&self): ht_fail ("gen", HT_ENOMEM);
    s_gen_destroy (&self);
    return rc;
}

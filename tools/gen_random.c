//  gen_random: the random numbers, dates and texts every part of `hutong
//  gen` draws on. Each item draws from its own splitmix64 generator,
//  seeded by (--seed, stream, item number), so item i does not depend on
//  how many are asked for.
#include "gen.h"

uint64_t
gen_mix (uint64_t value)
{
    value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ULL;
    value = (value ^ (value >> 27)) * 0x94d049bb133111ebULL;
    return value ^ (value >> 31);
}

gen_rng_t
gen_rng_for (uint64_t seed, gen_stream_t stream, uint64_t item)
{
    return (gen_rng_t) { gen_mix (seed + gen_mix (((uint64_t) stream << 40) ^ item)) };
}

static uint64_t
s_next (gen_rng_t *rng)
{
    rng->state += 0x9e3779b97f4a7c15ULL;
    return gen_mix (rng->state);
}

//  Uniform in [0, bound)
uint32_t
gen_below (gen_rng_t *rng, uint32_t bound)
{
    return (uint32_t) (((s_next (rng) >> 32) * bound) >> 32);
}

//  Uniform in [low, high]
int
gen_range (gen_rng_t *rng, int low, int high)
{
    return low + (int) gen_below (rng, (uint32_t) (high - low + 1));
}

bool
gen_chance (gen_rng_t *rng, int permille)
{
    return (int) gen_below (rng, 1000) < permille;
}

//  An index drawn by weights
size_t
gen_weighted (gen_rng_t *rng, const int *weights, size_t count)
{
    int total = 0;
    for (size_t index = 0; index < count; index++)
        total += weights [index];
    int draw = (int) gen_below (rng, (uint32_t) total);
    size_t index = 0;
    while (index < count - 1 && draw >= weights [index])
        draw -= weights [index++];
    return index;
}

//  An index skewed to the front, where name tables keep frequent entries
size_t
gen_skewed (gen_rng_t *rng, size_t count)
{
    size_t first = gen_below (rng, (uint32_t) count);
    size_t second = gen_below (rng, (uint32_t) count);
    return first < second? first: second;
}

//  The item whose cumulative weight first exceeds a draw
size_t
gen_cumulative (gen_rng_t *rng, const uint64_t *cumulative, size_t count)
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

//  snprintf for texts whose parts are known to fit. Nothing goes out
//  silently cut: a truncated code or date would fail validation.
void
gen_format (char *text, size_t size, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (text, size, format, args);
    va_end (args);
}

//  Days since 1970-01-01 of a date, and back (H. Hinnant's algorithms,
//  for dates after 1970-03-01 - 400 years, which is all gen needs)
int32_t
gen_days (int year, int month, int day)
{
    year -= month <= 2;
    int era = year / 400, year_of_era = year - era * 400;
    int day_of_year = (153 * (month + (month > 2? -3: 9)) + 2) / 5 + day - 1;
    return era * 146097 + year_of_era * 365 + year_of_era / 4 - year_of_era / 100
         + day_of_year - 719468;
}

const char *
gen_date (int32_t days, char *text)
{
    days += 719468;
    int era = days / 146097, day_of_era = days - era * 146097;
    int year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524
                     - day_of_era / 146096) / 365;
    int day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int shifted = (5 * day_of_year + 2) / 153, month = shifted < 10? shifted + 3: shifted - 9;
    gen_format (text, GEN_DATE_BYTES, "%04d%02d%02d", year_of_era + era * 400 + (month <= 2),
                month, day_of_year - (153 * shifted + 2) / 5 + 1);
    return text;
}

//  gen_credit: credit records about pool facilities, dated 2024-01-01 to
//  2026-10-31 (inspections end in August, so follow-ups stay in the past).
//  Inspections and rectifications come from the county; penalties,
//  ratings and list entries from the city (DOMAIN.md §5). Inspections
//  that order rectification stay open until a rectification follows up.
#include "gen.h"

_Static_assert (S_COUNT (s_credit_weights) == S_CREDIT_TYPES
             && S_COUNT (s_doc_marks) == S_CREDIT_TYPES, "one weight and mark per subtype");
_Static_assert (S_COUNT (s_ground_facts) == S_COUNT (s_ground_weights),
                "one fact per ground");

#define S_DOC_BASES 9000            //  a region's first document number stays
                                    //  four digits

//  An inspection that ordered rectification, not yet followed up
struct _gen_inspection_t {
    char key [HT_KEY_MAX_CHARS + 1];    //  its key, for ref
    size_t facility;                //  pool index of the subject
    int32_t date, deadline;         //  days since the epoch
    size_t dept;                    //  index into s_depts
};

//  The number of the index'th document: counted from 1, or from a
//  region's base in a --region run
static size_t
s_doc_number (const gen_t *self, size_t index)
{
    return self->number_base % S_DOC_BASES + index + 1;
}

//  Header, issuer, doc_no (unique: it carries the item number), subject;
//  then the key, which rectifications cite
static void
s_credit_common (const gen_t *self, gen_draft_t *draft, s_credit_type_t type,
                 size_t facility, size_t dept, int32_t date, size_t index)
{
    const gen_facility_t *subject = &self->pool [facility];
    const gen_place_t *place = &self->tree.places [subject->place];
    const gen_county_t *county = &self->tree.counties [place->county];
    bool by_city = type != S_INSPECTION && type != S_RECTIFICATION;
    const char *issuer = self->tree.places [by_city? 0: county->place].code;
    char doc_no [GEN_TEXT_BYTES], day [GEN_DATE_BYTES];
    gen_format (doc_no, sizeof doc_no, "%s%s%s〔%.4s〕%04zu号",
                by_city? self->tree.short_name: county->short_name, s_depts [dept].short_name,
              s_doc_marks [type], gen_date (date, day), s_doc_number (self, index));
    gen_header (draft, place->code, issuer);
    gen_str (draft, "type", gen_choice ("credit", "type", type, S_CREDIT_TYPES));
    gen_str (draft, "issuer_dept", s_depts [dept].dept);
    gen_str (draft, "issuer_region", issuer);
    gen_str (draft, "doc_no", doc_no);
    gen_str (draft, "date", day);
    if (*subject->uscc)
        gen_str (draft, "subject_uscc", subject->uscc);
    gen_str (draft, "subject_facility", subject->key);
    gen_str (draft, "subject_name", subject->name);
    gen_note (draft, ht_record_derive_key (draft->record, NULL), "key");
}

static size_t
s_subject (const gen_t *self, gen_rng_t *rng)
{
    return gen_cumulative (rng, self->subject_weights, (size_t) self->options.pool);
}

//  Method, departments, checklist, result. An order to rectify is kept
//  for a later rectification record.
static void
s_inspection (gen_t *self, gen_draft_t *draft, gen_rng_t *rng, size_t index)
{
    size_t facility = s_subject (self, rng), dept = GEN_WEIGHTED (rng, s_inspection_depts);
    int32_t date = gen_range (rng, gen_days (2024, 1, 1), gen_days (2026, 8, 15));
    s_credit_common (self, draft, S_INSPECTION, facility, dept, date, index);
    const char *method = GEN_CHOICE ("credit", "method", GEN_WEIGHTED (rng, s_method_weights),
                                     s_method_weights);
    gen_str (draft, "method", method);
    bool planned = method && streq (method, "双随机");
    char text [GEN_TEXT_BYTES], day [GEN_DATE_BYTES], first [GEN_NAME_BYTES], second [GEN_NAME_BYTES];
    if (planned) {              //  双随机 inspections follow a published plan
        const gen_place_t *place = &self->tree.places [self->pool [facility].place];
        gen_format (text, sizeof text, "%s%s双随机〔%.4s〕%d号", self->tree.counties [place->county].short_name,
                    s_depts [dept].short_name, gen_date (date, day), gen_range (rng, 1, 12));
        gen_str (draft, "plan_no", text);
    }
    const char *departments [2] = { s_depts [dept].dept, s_depts [(dept + 1 + gen_below (rng, 3)) % 4].dept };
    gen_strs (draft, "departments", departments, method && streq (method, "joint")? 2: 1);
    GEN_SUBSET (draft, rng, "checklist", s_checklist, 2, 4);
    gen_person_name (rng, NULL, gen_range (rng, 1, 2), first);
    gen_person_name (rng, NULL, gen_range (rng, 1, 2), second);
    gen_strs (draft, "inspectors", (const char *[]) { first, second }, 2);
    const char *result = GEN_CHOICE ("credit", "result", GEN_WEIGHTED (rng, s_result_weights),
                                     s_result_weights);
    gen_str (draft, "result", result);
    if (planned || gen_chance (rng, 500))
        gen_day (draft, "published_on", date + gen_range (rng, 3, 20));
    if (result && (streq (result, "责令整改") || streq (result, "不合格"))) {
        gen_inspection_t *open = &self->open [self->open_count++];
        *open = (gen_inspection_t) { "", facility, date, date + gen_range (rng, 15, 60), dept };
        gen_format (open->key, sizeof open->key, "%s", ht_record_key (draft->record));
        gen_day (draft, "deadline", open->deadline);
    }
}

//  Follows up an open inspection: same subject and issuer, its deadline
static void
s_rectification (gen_t *self, gen_draft_t *draft, gen_rng_t *rng, size_t index)
{
    size_t pick = gen_below (rng, (uint32_t) self->open_count);
    gen_inspection_t inspection = self->open [pick];
    self->open [pick] = self->open [--self->open_count];
    int32_t date = gen_range (rng, inspection.date + 1, inspection.deadline);
    s_credit_common (self, draft, S_RECTIFICATION, inspection.facility, inspection.dept, date, index);
    gen_str (draft, "ref", inspection.key);
    size_t actions = S_COUNT (s_rectify_actions), first = gen_below (rng, (uint32_t) actions);
    size_t second = (first + 1 + gen_below (rng, (uint32_t) actions - 1)) % actions;
    char text [GEN_TEXT_BYTES];
    bool both = gen_chance (rng, 500);
    gen_format (text, sizeof text, "%s%s%s", s_rectify_actions [first], both? "；": "",
                both? s_rectify_actions [second]: "");
    gen_str (draft, "actions", text);
    gen_day (draft, "deadline", inspection.deadline);
    const char *outcome = GEN_CHOICE ("credit", "outcome", GEN_WEIGHTED (rng, s_outcome_weights),
                                      s_outcome_weights);
    gen_str (draft, "outcome", outcome);
    gen_day (draft, "verified_on", outcome && streq (outcome, "overdue")
                                   ? inspection.deadline + gen_range (rng, 5, 30)
                                 : gen_range (rng, date, inspection.deadline));
}

static void
s_penalty (gen_t *self, gen_draft_t *draft, gen_rng_t *rng, size_t index)
{
    size_t facility = s_subject (self, rng), dept = GEN_WEIGHTED (rng, s_penalty_depts);
    int32_t date = gen_range (rng, gen_days (2024, 1, 1), gen_days (2026, 10, 31));
    s_credit_common (self, draft, S_PENALTY, facility, dept, date, index);
    char text [GEN_TEXT_BYTES], day [GEN_DATE_BYTES];
    gen_format (text, sizeof text, "%s%s罚决〔%.4s〕%04zu号", self->tree.short_name,
                s_depts [dept].short_name, gen_date (date, day), s_doc_number (self, index));
    gen_str (draft, "decision_no", text);
    gen_str (draft, "legal_basis", s_depts [dept].legal_basis);
    size_t kind = GEN_WEIGHTED (rng, s_penalty_weights);
    gen_strs (draft, "penalty_types", s_penalty_types [kind], s_penalty_types [kind][1]? 2: 1);
    if (s_penalty_types [kind][1])      //  a fine, in fen: whole hundreds of yuan
        gen_int (draft, "fine", (int64_t) gen_range (rng, 50, s_fine_limits [dept] * 10) * 10000);
    gen_day (draft, "publicity_from", date + 7);
    gen_day (draft, "publicity_until", date + 7 + s_publicity_days [kind]);
}

//  A GB/T 37276 grade where the facility has a rating level (valid three
//  years), else the city's yearly credit grade
static void
s_rating (gen_t *self, gen_draft_t *draft, gen_rng_t *rng, size_t index)
{
    size_t facility = s_subject (self, rng);
    int32_t date = gen_range (rng, gen_days (2024, 1, 1), gen_days (2026, 10, 31));
    s_credit_common (self, draft, S_RATING, facility, 0, date, index);
    int rating = self->pool [facility].rating;
    char scheme [GEN_TEXT_BYTES];
    gen_format (scheme, sizeof scheme, "%s养老服务机构信用等级", self->tree.short_name);
    gen_str (draft, "scheme", rating? "GB/T 37276-2018": scheme);
    gen_str (draft, "level", rating? s_chinese_levels [rating - 1]: GEN_FREQUENT (rng, s_credit_grades));
    gen_day (draft, "valid_until", date + (rating? 3 * 365: 365));
}

//  Notice, then listing after 陈述申辩, sometimes removal; never dated
//  past the end of the period
static void
s_list_entry (gen_t *self, gen_draft_t *draft, gen_rng_t *rng, size_t index)
{
    size_t facility = s_subject (self, rng);
    int32_t last = gen_days (2026, 10, 31), date = gen_range (rng, gen_days (2024, 1, 1), last);
    int32_t listed = date + gen_range (rng, 15, 30);
    s_credit_common (self, draft, S_LIST_ENTRY, facility, 0, date, index);
    gen_str (draft, "list", gen_chance (rng, 400)? "joint_punishment": "watch");
    size_t ground = GEN_WEIGHTED (rng, s_ground_weights), other = GEN_WEIGHTED (rng, s_ground_weights);
    const char *grounds [] = { GEN_CHOICE ("credit", "grounds", ground, s_ground_weights),
                               GEN_CHOICE ("credit", "grounds", other, s_ground_weights) };
    if (grounds [0] && grounds [1])
        gen_strs (draft, "grounds", grounds, other == ground? 1: 2);
    else
        gen_note (draft, HT_EFIELD, "grounds");
    char text [GEN_TEXT_BYTES], day [GEN_DATE_BYTES];
    gen_format (text, sizeof text, "经查，%s%s%s%s。", self->pool [facility].name, s_ground_facts [ground],
                other == ground? "": "，并", other == ground? "": s_ground_facts [other]);
    gen_str (draft, "facts", text);
    gen_day (draft, "notice_on", date);
    if (gen_chance (rng, 250))
        gen_str (draft, "objection", "当事人提出陈述申辩，经复核不予采纳");
    int draw = (int) gen_below (rng, 1000);
    bool notice = draw < 150 || listed > last, removed = !notice && draw >= 850 && listed + 90 <= last;
    gen_str (draft, "status", notice? "notice": removed? "removed": "listed");
    if (notice)
        return;
    gen_format (text, sizeof text, "%s民政信决〔%.4s〕%04zu号", self->tree.short_name,
                gen_date (listed, day), s_doc_number (self, index));
    gen_str (draft, "decision_no", text);
    gen_day (draft, "listed_on", listed);
    if (removed) {
        int32_t removed_on = gen_range (rng, listed + 90, last);
        gen_day (draft, "removed_on", removed_on);
        gen_str (draft, "removal_reason", s_removal_reasons [removed_on - listed >= 730? 1: 2 * gen_below (rng, 2)]);
    }
}

int
gen_credit_print (gen_t *self)
{
    size_t total = (size_t) self->options.credit;
    self->open = (gen_inspection_t *) calloc (total + 1, sizeof (gen_inspection_t));
    if (!self->open)
        return ht_fail ("gen", HT_ENOMEM);
    void (*build []) (gen_t *, gen_draft_t *, gen_rng_t *, size_t) = {
        [S_INSPECTION] = s_inspection, [S_RECTIFICATION] = s_rectification,
        [S_PENALTY] = s_penalty, [S_RATING] = s_rating, [S_LIST_ENTRY] = s_list_entry };
    int rc = HT_EXIT_OK;
    for (size_t index = 0; index < total && !rc; index++) {
        gen_draft_t draft = { ht_record_new ("credit"), NULL };
        if (!draft.record)
            return ht_fail ("gen", HT_ENOMEM);
        gen_rng_t rng = gen_rng_for (self->item_seed, GEN_STREAM_CREDIT, index);
        s_credit_type_t type = (s_credit_type_t) GEN_WEIGHTED (&rng, s_credit_weights);
        build [type == S_RECTIFICATION && !self->open_count? S_INSPECTION: type] (self, &draft, &rng, index);
        rc = gen_emit (self, &draft);
        ht_record_destroy (&draft.record);
        gen_progress (self, index + 1, total, "credit records");
    }
    return rc;
}

/* test_form_body.c -- form_body: the fields of a form-encoded body as libmicrohttpd's parser
 * hands them over (a field at a time, a long value in pieces), under a cap on their count. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "server/form_body.h"

Test(form_body, fields_and_values_in_pieces)
{
    form_body f;
    form_body_init(&f);
    cr_assert(form_body_piece(&f, "CallSid", "CA12", 0, 4));
    cr_assert(form_body_piece(&f, "CallSid", "34", 4, 2));
    cr_assert(form_body_piece(&f, "To", "+18005550100", 0, 12));
    cr_assert(form_body_piece(&f, NULL, NULL, 0, 0)); /* a name without value: "" and "" */
    form_body_done(&f);
    cr_assert_not(f.bad);
    cr_assert_eq(f.n, 3);
    cr_assert_str_eq(f.fields[0].name, "CallSid");
    cr_assert_str_eq(f.fields[0].value, "CA1234");
    cr_assert_str_eq(f.fields[1].value, "+18005550100");
    cr_assert_str_eq(f.fields[2].name, "");
    cr_assert_str_eq(f.fields[2].value, "");
    form_body_free(&f);
    cr_assert_null(f.fields);
    cr_assert_eq(f.n, 0);
}

/* A decoded %00 ends the value (names and values are C strings). */
Test(form_body, a_value_ends_at_its_first_nul)
{
    form_body f;
    form_body_init(&f);
    cr_assert(form_body_piece(&f, "From", "+1512\0garbage", 0, 13));
    form_body_done(&f);
    cr_assert_str_eq(f.fields[0].value, "+1512");
    form_body_free(&f);
}

Test(form_body, an_empty_form_is_parsed_with_no_fields)
{
    form_body f;
    form_body_init(&f);
    form_body_done(&f);
    cr_assert_not(f.bad);
    cr_assert_not_null(f.fields);
    cr_assert_eq(f.n, 0);
    form_body_free(&f);
}

Test(form_body, a_piece_before_any_field_or_past_the_cap_makes_it_bad)
{
    form_body f;
    form_body_init(&f);
    cr_assert_not(form_body_piece(&f, "x", "more", 3, 4));
    cr_assert(f.bad);
    form_body_free(&f);

    char name[16];
    form_body_init(&f);
    for (int i = 0; i < FORM_BODY_FIELDS_MAX; i++) {
        snprintf(name, sizeof name, "f%d", i);
        cr_assert(form_body_piece(&f, name, "v", 0, 1));
    }
    cr_assert_not(form_body_piece(&f, "one_too_many", "v", 0, 1));
    cr_assert(f.bad);
    form_body_done(&f);
    cr_assert(f.bad);
    cr_assert_eq(f.n, FORM_BODY_FIELDS_MAX);
    form_body_free(&f);
}

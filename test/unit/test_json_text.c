/* test_json_text.c -- the direct JSON writer: structure, escaping and invalid UTF-8, each
 * compared with what jansson dumps for the same document. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "codec/json_text.h"

/* Writes `s` as the value of a one-member object and checks it against jansson's dump. */
static void check_string(const char *s)
{
    json_text t;
    json_text_init(&t);
    json_text_open_object(&t);
    json_text_key(&t, "k");
    json_text_string(&t, s);
    json_text_close_object(&t);
    char *mine = json_text_take(&t);
    cr_assert(mine);
    json_t *o = json_pack("{s:s}", "k", s);
    cr_assert(o, "jansson refused %s", s);
    char *theirs = json_dumps(o, JSON_COMPACT);
    cr_assert_str_eq(mine, theirs);
    free(theirs);
    json_decref(o);
    free(mine);
}

Test(json_text, strings_escape_as_jansson)
{
    static const char *const cases[] = {
        "",
        "plain",
        "quote\" back\\slash",
        "tab\tnl\ncr\rff\fbs\b",
        "\x01\x1f",
        "slash/ok",
        "caf\xc3\xa9",
        "\xe2\x82\xac euro",
        "\x7f del",
        "\xf0\x9f\x98\x80 emoji",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_string(cases[i]);
}

Test(json_text, invalid_utf8_becomes_question_marks)
{
    static const char *const bad[] = {"bad\xff", "\xc0\xaf", "\xed\xa0\x80", "\xe2\x82", "x\x80y"};
    static const char *const want[] = {"{\"k\":\"bad?\"}", "{\"k\":\"??\"}", "{\"k\":\"???\"}",
                                       "{\"k\":\"??\"}", "{\"k\":\"x?y\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_text t;
        json_text_init(&t);
        json_text_open_object(&t);
        json_text_key(&t, "k");
        json_text_string(&t, bad[i]);
        json_text_close_object(&t);
        char *s = json_text_take(&t);
        cr_assert_str_eq(s, want[i]);
        free(s);
    }
}

Test(json_text, nesting_and_values)
{
    json_text t;
    json_text_init(&t);
    json_text_open_object(&t);
    json_text_key(&t, "a");
    json_text_open_array(&t);
    json_text_int(&t, -42);
    json_text_bool(&t, true);
    json_text_null(&t);
    json_text_string(&t, NULL);
    json_text_open_object(&t);
    json_text_close_object(&t);
    json_text_open_array(&t);
    json_text_close_array(&t);
    json_text_close_array(&t);
    json_text_key(&t, "b");
    json_t *v = json_pack("{s:i, s:[s]}", "x", 1, "y", "z");
    json_text_value(&t, v);
    json_decref(v);
    json_text_key(&t, "c");
    json_text_bool(&t, false);
    json_text_close_object(&t);
    char *s = json_text_take(&t);
    cr_assert_str_eq(
        s, "{\"a\":[-42,true,null,null,{},[]],\"b\":{\"x\":1,\"y\":[\"z\"]},\"c\":false}");
    free(s);
}

Test(json_text, unbalanced_is_refused)
{
    json_text t;
    json_text_init(&t);
    json_text_open_object(&t);
    cr_assert_null(json_text_take(&t));
    json_text_init(&t);
    json_text_close_array(&t);
    cr_assert_null(json_text_take(&t));
}

Test(json_text, verbatim_value_is_spliced_as_it_is)
{
    json_text t;
    json_text_init(&t);
    json_text_open_object(&t);
    json_text_key(&t, "a");
    json_text_int(&t, 1);
    json_text_key(&t, "trace");
    json_text_verbatim(&t, "{\"x\":[1,\"y\"]}");
    json_text_close_object(&t);
    char *s = json_text_take(&t);
    cr_assert_str_eq(s, "{\"a\":1,\"trace\":{\"x\":[1,\"y\"]}}");
    free(s);
}

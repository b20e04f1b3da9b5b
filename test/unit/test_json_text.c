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

/* json_text_tree against jansson's own compact dump, on trees like the events' data. */
static void tree_matches_jansson(json_t *v)
{
    json_text t;
    json_text_init(&t);
    json_text_tree(&t, v);
    char *mine = json_text_take(&t);
    char *theirs = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    cr_assert_not_null(mine);
    cr_assert_not_null(theirs);
    cr_assert_str_eq(mine, theirs);
    free(mine);
    free(theirs);
    json_decref(v);
}

Test(json_text, tree_is_byte_for_byte_jansson)
{
    tree_matches_jansson(json_pack("{s:s, s:I, s:o, s:b, s:b, s:[s, i, {}], s:{}, s:[]}", "call_id",
                                   "0123abc", "time_ms", (json_int_t)1764115200123LL, "agent",
                                   json_null(), "t", 1, "f", 0, "list", "x", -7, "empty", "arr"));
    /* Keys and strings that need escaping, UTF-8, control characters, insertion order. */
    json_t *o = json_object();
    json_object_set_new(o, "z\"key\\", json_string("tab\there \x01 \x1f /slash"));
    json_object_set_new(o, "a", json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\x9e"));
    json_object_set_new(o, "m", json_integer(-9223372036854775807LL - 1));
    json_object_set_new(o, "nested", json_pack("{s:{s:[[],[{}]]}}", "b", "c"));
    json_object_set_new(o, "real", json_real(0.1));
    tree_matches_jansson(o);
    tree_matches_jansson(json_string("top-level \n string"));
    tree_matches_jansson(json_integer(42));
    tree_matches_jansson(json_array());
    json_text t;
    json_text_init(&t);
    json_text_tree(&t, NULL);
    char *s = json_text_take(&t);
    cr_assert_str_eq(s, "null");
    free(s);
}

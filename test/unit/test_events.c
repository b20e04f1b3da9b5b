/* test_events.c -- the SSE event bus: frames, filtering by stream, parking and waking,
 * falling behind the ring (lag), Last-Event-ID, keepalives, kill and shutdown. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "server/events.h"

typedef struct {
    int parks, wakes;
} ev_counts;

static void ev_park(void *arg)
{
    ((ev_counts *)arg)->parks++;
}

static void ev_wake(void *arg)
{
    ((ev_counts *)arg)->wakes++;
}

/* Reads everything pending into buf (NUL-terminated); returns the read's result. */
static ssize_t ev_read(events_sub *s, char *buf, size_t cap)
{
    ssize_t n = events_read(s, buf, cap - 1);
    buf[n > 0 ? n : 0] = '\0';
    return n;
}

static void ev_pub(events_bus *b, const char *type, const char *agent, bool admin, int n)
{
    events_publish(b, type, agent, admin, json_pack("{s:i}", "n", n), 1000);
}

Test(events, ready_then_frames_for_the_right_streams)
{
    char buf[4096];
    ev_counts ca = {0, 0}, cd = {0, 0};
    events_bus *b = events_bus_new(8, 5);
    events_sub *agent = events_subscribe(b, "a1", -1, ev_park, ev_wake, &ca);
    events_sub *admin = events_subscribe(b, NULL, -1, ev_park, ev_wake, &cd);
    cr_assert(ev_read(agent, buf, sizeof buf) > 0);
    cr_assert(strstr(buf, "event: ready\n") != NULL);
    cr_assert(ev_read(admin, buf, sizeof buf) > 0);
    cr_assert_eq(ev_read(agent, buf, sizeof buf), 0);
    cr_assert_eq(ca.parks, 1);
    ev_pub(b, "call.offered", "a1", false, 1);
    ev_pub(b, "call.offered", "a2", false, 2);
    ev_pub(b, "call.routed", NULL, true, 3);
    cr_assert_eq(ca.wakes, 1); /* only the event for a1 woke it */
    cr_assert(ev_read(agent, buf, sizeof buf) > 0);
    cr_assert(strstr(buf, "id: 5001\nevent: call.offered\ndata: {") == buf, "%s", buf);
    cr_assert(strstr(buf, "\"n\":1") && strstr(buf, "\"type\":\"call.offered\""));
    cr_assert(strstr(buf, "\"n\":2") == NULL);
    cr_assert(ev_read(admin, buf, sizeof buf) > 0);
    cr_assert(strstr(buf, "id: 5003\nevent: call.routed\n") == buf, "%s", buf);
    events_unsubscribe(agent);
    events_unsubscribe(admin);
    events_bus_free(b);
}

Test(events, slow_reader_gets_lag_and_resumes_at_the_oldest)
{
    char buf[8192];
    ev_counts c = {0, 0};
    events_bus *b = events_bus_new(4, 0);
    events_sub *s = events_subscribe(b, NULL, -1, ev_park, ev_wake, &c);
    for (int i = 1; i <= 10; i++)
        ev_pub(b, "x", NULL, true, i);
    cr_assert(ev_read(s, buf, sizeof buf) > 0);
    cr_assert(strstr(buf, "event: lag\n") != NULL, "%s", buf);
    cr_assert(strstr(buf, "\"resume_at\":7") != NULL, "%s", buf);
    cr_assert(strstr(buf, "id: 7\n") && strstr(buf, "id: 10\n") && !strstr(buf, "id: 6\n"));
    events_unsubscribe(s);
    events_bus_free(b);
}

Test(events, last_event_id_replays_and_large_frames_split)
{
    char buf[8192], small[40];
    ev_counts c = {0, 0};
    events_bus *b = events_bus_new(16, 0);
    for (int i = 1; i <= 3; i++)
        ev_pub(b, "x", NULL, true, i);
    events_sub *s = events_subscribe(b, NULL, 1, ev_park, ev_wake, &c);
    cr_assert(ev_read(s, buf, sizeof buf) > 0);
    cr_assert(strstr(buf, "id: 2\n") && strstr(buf, "id: 3\n") && !strstr(buf, "id: 1\n"));
    ev_pub(b, "x", NULL, true, 4);
    /* A frame larger than the whole buffer is split over several reads. */
    char joined[512] = "";
    size_t used = 0;
    ssize_t n;
    while ((n = ev_read(s, small, sizeof small)) > 0) {
        cr_assert_leq((size_t)n, sizeof small - 1);
        cr_assert_lt(used + (size_t)n, sizeof joined);
        memcpy(joined + used, small, (size_t)n + 1);
        used += (size_t)n;
    }
    cr_assert_eq(n, 0);
    cr_assert(strstr(joined, "id: 4\nevent: x\ndata: {") == joined, "%s", joined);
    cr_assert(strstr(joined, "\n\n") == joined + strlen(joined) - 2, "%s", joined);
    events_unsubscribe(s);
    events_bus_free(b);
}

Test(events, tick_kill_and_shutdown)
{
    char buf[4096];
    ev_counts c1 = {0, 0}, c2 = {0, 0};
    events_bus *b = events_bus_new(8, 0);
    events_sub *s1 = events_subscribe(b, "a1", -1, ev_park, ev_wake, &c1);
    events_sub *s2 = events_subscribe(b, "a2", -1, ev_park, ev_wake, &c2);
    ev_read(s1, buf, sizeof buf);
    cr_assert_eq(ev_read(s1, buf, sizeof buf), 0);
    events_tick(b);
    cr_assert_eq(c1.wakes, 1);
    cr_assert(ev_read(s1, buf, sizeof buf) > 0);
    cr_assert_str_eq(buf, ": keepalive\n\n");
    events_kill(b, events_sub_id(s1));
    cr_assert_eq(ev_read(s1, buf, sizeof buf), -1);
    ev_read(s2, buf, sizeof buf);
    ev_read(s2, buf, sizeof buf); /* parked */
    events_shutdown(b);
    cr_assert_eq(c2.wakes, 1);
    cr_assert_eq(ev_read(s2, buf, sizeof buf), -1);
    events_unsubscribe(s1);
    events_unsubscribe(s2);
    events_bus_free(b);
}

typedef struct {
    int calls;
    char last_type[32], last_agent[16];
    long long last_n;
} ev_tap_seen;

static void ev_tap(void *arg, const char *type, const char *agent, const json_t *data)
{
    ev_tap_seen *t = arg;
    t->calls++;
    snprintf(t->last_type, sizeof t->last_type, "%s", type);
    snprintf(t->last_agent, sizeof t->last_agent, "%s", agent);
    t->last_n = json_integer_value(json_object_get(data, "n"));
}

Test(events, taps_see_every_event_with_its_data)
{
    ev_tap_seen t1 = {0}, t2 = {0};
    events_bus *b = events_bus_new(8, 0);
    cr_assert_eq(events_bus_add_tap(b, ev_tap, &t1), 0);
    cr_assert_eq(events_bus_add_tap(b, ev_tap, &t2), 0);
    for (int i = 2; i < EVENTS_TAPS_MAX; i++)
        cr_assert_eq(events_bus_add_tap(b, ev_tap, &t2), 0);
    cr_assert_eq(events_bus_add_tap(b, ev_tap, &t2), -1, "the tap table is bounded");
    ev_pub(b, "call.offered", "a1", false, 7);
    ev_pub(b, "call.routed", NULL, true, 9);
    cr_assert_eq(t1.calls, 2);
    cr_assert_str_eq(t1.last_type, "call.routed");
    cr_assert_str_eq(t1.last_agent, "");
    cr_assert_eq(t1.last_n, 9);
    cr_assert_eq(t2.calls, 2 * (EVENTS_TAPS_MAX - 1));
    events_bus_free(b);
}

Test(events, frames_are_written_on_first_read_and_too_large_ones_dropped)
{
    char buf[16384];
    ev_counts c = {0, 0};
    events_bus *b = events_bus_new(8, 0);
    /* Published with nobody listening: kept as data, written when a stream reads it. */
    ev_pub(b, "x", NULL, true, 1);
    json_t *big = json_object();
    char *text = malloc(EVENTS_FRAME_MAX + 1);
    memset(text, 'a', EVENTS_FRAME_MAX);
    text[EVENTS_FRAME_MAX] = '\0';
    json_object_set_new(big, "text", json_string(text));
    free(text);
    events_publish(b, "big", NULL, true, big, 7);
    ev_pub(b, "x", NULL, true, 3);
    events_sub *s = events_subscribe(b, NULL, 0, ev_park, ev_wake, &c);
    cr_assert(ev_read(s, buf, sizeof buf) > 0);
    cr_assert(strstr(buf, "id: 1\nevent: x\ndata: {") && strstr(buf, "id: 3\nevent: x\n"), "%s",
              buf);
    cr_assert_null(strstr(buf, "event: big"), "a frame over EVENTS_FRAME_MAX is dropped");
    /* A second stream reads the same frames (written once) and still skips the large one. */
    events_sub *s2 = events_subscribe(b, NULL, 0, ev_park, ev_wake, &c);
    char buf2[16384];
    cr_assert(ev_read(s2, buf2, sizeof buf2) > 0);
    cr_assert(strstr(buf2, "id: 1\n") && strstr(buf2, "id: 3\n") && !strstr(buf2, "event: big"));
    events_unsubscribe(s2);
    events_unsubscribe(s);
    events_bus_free(b);
}

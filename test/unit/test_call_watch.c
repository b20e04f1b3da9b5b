/* test_call_watch.c -- the long polls' registry: woken by an event for its call only, an
 * event that came while registering, deadline and periodic re-check, the cap, cancel, a
 * client closing its socket, and shutdown. Connections are fakes that count suspends and
 * resumes. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server/call_watch.h"
#include "server/http_util.h"

typedef struct {
    atomic_int suspends, resumes;
    int reason;
    unsigned long long ticket;
} cw_conn;

static void cw_suspend(void *conn)
{
    atomic_fetch_add(&((cw_conn *)conn)->suspends, 1);
}

static void cw_resume(void *conn)
{
    atomic_fetch_add(&((cw_conn *)conn)->resumes, 1);
}

static int64_t cw_now(void)
{
    return http_mono_us() / 1000;
}

static void cw_event(events_bus *b, const char *type, const char *call_id)
{
    events_publish(b, type, NULL, true, json_pack("{s:s}", "call_id", call_id), 1000);
}

/* Waits up to ms for conn to be resumed; returns the milliseconds it took, -1 if never. */
static int cw_wait_resumed(cw_conn *c, int ms)
{
    int64_t t0 = cw_now();
    while (atomic_load(&c->resumes) == 0) {
        if (cw_now() - t0 > ms)
            return -1;
        struct timespec ts = {0, 2 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return (int)(cw_now() - t0);
}

static int cw_add(call_watch *w, const char *id, int64_t deadline, cw_conn *c)
{
    return call_watch_add(w, id, deadline, call_watch_seq(w), c, -1, &c->reason, &c->ticket);
}

Test(call_watch, an_event_wakes_the_waiters_of_its_call_only)
{
    cw_conn a = {0}, a2 = {0}, b = {0};
    events_bus *bus = events_bus_new(0, 0);
    call_watch *w = call_watch_new(bus, 0, cw_suspend, cw_resume);
    cr_assert_not_null(w);
    int64_t later = cw_now() + 30000;
    cr_assert_eq(cw_add(w, "c1", later, &a), 0);
    cr_assert_eq(cw_add(w, "c1", later, &a2), 0);
    cr_assert_eq(cw_add(w, "c2", later, &b), 0);
    cr_assert_eq(atomic_load(&a.suspends), 1);
    cr_assert_eq(call_watch_count(w), 3);
    events_publish(bus, "agent.presence", NULL, true, json_pack("{s:s}", "agent", "x"), 1);
    cw_event(bus, "call.updated", "c1");
    cr_assert_eq(atomic_load(&a.resumes), 1);
    cr_assert_eq(atomic_load(&a2.resumes), 1);
    cr_assert_eq(a.reason, CALL_WATCH_EVENT);
    cr_assert_eq(atomic_load(&b.resumes), 0);
    cr_assert_eq(b.reason, CALL_WATCH_NONE);
    cr_assert_eq(call_watch_count(w), 1);
    cw_event(bus, "call.updated", "c1"); /* nobody left for c1: no second resume */
    cr_assert_eq(atomic_load(&a.resumes), 1);
    call_watch_shutdown(w);
    cr_assert_eq(atomic_load(&b.resumes), 1);
    cr_assert_eq(b.reason, CALL_WATCH_STOP);
    call_watch_free(w);
    events_bus_free(bus);
}

Test(call_watch, an_event_that_came_while_registering_is_not_lost)
{
    cw_conn a = {0}, b = {0}, c = {0};
    events_bus *bus = events_bus_new(0, 0);
    call_watch *w = call_watch_new(bus, 0, cw_suspend, cw_resume);
    int64_t later = cw_now() + 30000;
    unsigned long long seq = call_watch_seq(w);
    cw_event(bus, "call.updated", "c1"); /* between reading the call and registering */
    cw_event(bus, "call.updated", "c9");
    cr_assert_eq(call_watch_add(w, "c1", later, seq, &a, -1, &a.reason, &a.ticket), 0);
    cr_assert_eq(atomic_load(&a.suspends), 1);
    cr_assert_eq(atomic_load(&a.resumes), 1); /* suspended, then woken at once */
    cr_assert_eq(a.reason, CALL_WATCH_EVENT);
    /* An event for another call does not wake it. */
    cr_assert_eq(call_watch_add(w, "c2", later, seq, &b, -1, &b.reason, &b.ticket), 0);
    cr_assert_eq(atomic_load(&b.resumes), 0);
    /* More events than the ring remembers: it cannot tell, so it wakes to re-check. */
    seq = call_watch_seq(w);
    for (int i = 0; i <= CALL_WATCH_RECENT; i++)
        cw_event(bus, "call.updated", "other");
    cr_assert_eq(call_watch_add(w, "c3", later, seq, &c, -1, &c.reason, &c.ticket), 0);
    cr_assert_eq(atomic_load(&c.resumes), 1);
    call_watch_shutdown(w);
    call_watch_free(w);
    events_bus_free(bus);
}

Test(call_watch, deadline_and_recheck_wake_by_timer)
{
    cw_conn soon = {0}, later = {0};
    events_bus *bus = events_bus_new(0, 0);
    call_watch *w = call_watch_new(bus, 0, cw_suspend, cw_resume);
    cr_assert_eq(cw_add(w, "c1", cw_now() + 60000, &later), 0);
    cr_assert_eq(cw_add(w, "c2", cw_now() + 100, &soon), 0);
    int took = cw_wait_resumed(&soon, 2000);
    cr_assert(took >= 50 && took < 600, "deadline woke after %d ms", took);
    cr_assert_eq(soon.reason, CALL_WATCH_TIMER);
    /* The long one is woken for a re-check about a second after it registered. */
    took = cw_wait_resumed(&later, 3000);
    cr_assert(took >= 500 && took < 2000, "re-check after %d ms", took);
    cr_assert_eq(later.reason, CALL_WATCH_TIMER);
    cr_assert_eq(call_watch_count(w), 0);
    call_watch_free(w);
    events_bus_free(bus);
}

Test(call_watch, cap_cancel_and_shutdown)
{
    cw_conn a = {0}, b = {0}, c = {0};
    events_bus *bus = events_bus_new(0, 0);
    call_watch *w = call_watch_new(bus, 2, cw_suspend, cw_resume);
    int64_t later = cw_now() + 30000;
    cr_assert_eq(cw_add(w, "c1", later, &a), 0);
    cr_assert_eq(cw_add(w, "c1", later, &b), 0);
    cr_assert_eq(cw_add(w, "c1", later, &c), -1); /* full: answered at once */
    cr_assert_eq(atomic_load(&c.suspends), 0);
    unsigned long long old = a.ticket;
    call_watch_cancel(w, a.ticket);
    cr_assert_eq(atomic_load(&a.resumes), 0); /* cancelled, not resumed */
    cr_assert_eq(call_watch_count(w), 1);
    cr_assert_eq(cw_add(w, "c1", later, &c), 0); /* the slot is free again */
    cr_assert_neq(c.ticket, old);
    call_watch_cancel(w, old); /* stale: c stays */
    call_watch_cancel(w, 0);
    cr_assert_eq(call_watch_count(w), 2);
    call_watch_shutdown(w);
    cr_assert_eq(atomic_load(&b.resumes), 1);
    cr_assert_eq(atomic_load(&c.resumes), 1);
    cr_assert_eq(c.reason, CALL_WATCH_STOP);
    cr_assert_eq(cw_add(w, "c1", later, &a), -1); /* stopping */
    cr_assert_eq(cw_add(NULL, "c1", later, &a), -1);
    cr_assert_eq(call_watch_add(w, "", later, 0, &a, -1, &a.reason, &a.ticket), -1);
    call_watch_free(w);
    call_watch_free(NULL);
    events_bus_free(bus);
}

Test(call_watch, a_client_closing_its_socket_wakes_its_waiter)
{
    int sv[2];
    cw_conn a = {0}, b = {0};
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    events_bus *bus = events_bus_new(0, 0);
    call_watch *w = call_watch_new(bus, 0, cw_suspend, cw_resume);
    int64_t later = cw_now() + 30000;
    cr_assert_eq(call_watch_add(w, "c1", later, call_watch_seq(w), &a, sv[0], &a.reason, &a.ticket),
                 0);
    cr_assert_eq(cw_add(w, "c1", later, &b), 0);
    close(sv[1]);
    int took = cw_wait_resumed(&a, 2000);
    cr_assert(took >= 0 && took < 500, "woken after %d ms", took);
    cr_assert_eq(a.reason, CALL_WATCH_GONE);
    cr_assert_eq(atomic_load(&b.resumes), 0);
    call_watch_shutdown(w);
    call_watch_free(w);
    events_bus_free(bus);
    close(sv[0]);
}

/*
 * harness.c — scenarios of the session C API against a real msim-server, with TAP-like output.
 *
 * usage: harness HOST PORT A_EMAIL A_PASSWORD B_EMAIL B_PASSWORD C_EMAIL C_PASSWORD C_USERNAME
 *
 * A and B list each other as contacts; C is offline at the start. A uses the poll-fd dispatch
 * mode (msim_session_fd + msim_session_dispatch on this thread), B the IO-thread mode, C poll
 * mode again; a fourth session tries C's e-mail with a wrong password (IO-thread mode).
 *
 * Prints "ok N - what" / "not ok N - what # why" per check and a closing "1..N" plan; the exit
 * code is the number of failed checks (a setup failure that makes the rest meaningless prints
 * "Bail out!" and counts as one more). Every wait is bounded (HARNESS_WAIT_SECONDS, default 20,
 * generous for runs under valgrind). Driven by tests/c_harness.rs, which starts the server.
 */
#define _POSIX_C_SOURCE 200809L

#include "msim.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_PEERS 8

typedef struct {
    uint32_t uid;
    msim_presence presence;
    char headline[128];
} peer;

/* Everything a session's callbacks saw. Guarded by `lock`: B's callbacks run on its IO thread. */
typedef struct {
    const char *name;
    msim_session *session;
    int poll_mode;
    int signed_on, login_failed, disconnected;
    msim_login_failure fail_reason;
    uint32_t fail_code;
    msim_disconnect_reason disc_reason;
    int contact_lists;
    uint32_t contacts[MAX_PEERS];
    size_t ncontacts;
    int ims;
    uint32_t im_from;
    char im_username[64], im_html[1024], im_plain[1024];
    int64_t im_time;
    bool im_offline;
    int typings;
    uint32_t typing_from;
    bool typing;
    int zaps;
    uint32_t zap_from, zap;
    char zap_name[32];
    int statuses;
    peer peers[MAX_PEERS];
    size_t npeers;
} client;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int wait_seconds = 20;
static int checks, failures;
static client *clients[4];
static size_t nclients;

static void copy(char *dst, size_t len, const char *src) {
    snprintf(dst, len, "%s", src ? src : "");
}

/* ---- callbacks ---- */

static void on_signed_on(void *ud, uint32_t uid, const char *username) {
    client *c = ud;
    (void)uid;
    (void)username;
    pthread_mutex_lock(&lock);
    c->signed_on = 1;
    pthread_mutex_unlock(&lock);
}

static void on_login_failed(void *ud, msim_login_failure reason, uint32_t code, const char *text) {
    client *c = ud;
    (void)text;
    pthread_mutex_lock(&lock);
    c->login_failed = 1;
    c->fail_reason = reason;
    c->fail_code = code;
    pthread_mutex_unlock(&lock);
}

static void on_disconnected(void *ud, msim_disconnect_reason reason, uint32_t code, const char *text, bool again) {
    client *c = ud;
    (void)code;
    (void)text;
    (void)again;
    pthread_mutex_lock(&lock);
    c->disconnected = 1;
    c->disc_reason = reason;
    pthread_mutex_unlock(&lock);
}

static void on_contact_list(void *ud, const msim_contact *contacts, size_t count) {
    client *c = ud;
    pthread_mutex_lock(&lock);
    c->contact_lists++;
    c->ncontacts = 0;
    for (size_t i = 0; i < count && c->ncontacts < MAX_PEERS; i++) c->contacts[c->ncontacts++] = contacts[i].uid;
    pthread_mutex_unlock(&lock);
}

static void on_im_received(void *ud, uint32_t from, const char *username, const char *html, const char *plain,
                           int64_t t, bool offline) {
    client *c = ud;
    pthread_mutex_lock(&lock);
    c->ims++;
    c->im_from = from;
    copy(c->im_username, sizeof c->im_username, username);
    copy(c->im_html, sizeof c->im_html, html);
    copy(c->im_plain, sizeof c->im_plain, plain);
    c->im_time = t;
    c->im_offline = offline;
    pthread_mutex_unlock(&lock);
}

static void on_typing(void *ud, uint32_t from, const char *username, bool typing) {
    client *c = ud;
    (void)username;
    pthread_mutex_lock(&lock);
    c->typings++;
    c->typing_from = from;
    c->typing = typing;
    pthread_mutex_unlock(&lock);
}

static void on_zap(void *ud, uint32_t from, const char *username, uint32_t zap, const char *zap_name) {
    client *c = ud;
    (void)username;
    pthread_mutex_lock(&lock);
    c->zaps++;
    c->zap_from = from;
    c->zap = zap;
    copy(c->zap_name, sizeof c->zap_name, zap_name);
    pthread_mutex_unlock(&lock);
}

static void on_buddy_status(void *ud, uint32_t uid, const char *username, msim_presence presence,
                            const char *headline) {
    client *c = ud;
    (void)username;
    pthread_mutex_lock(&lock);
    c->statuses++;
    peer *p = NULL;
    for (size_t i = 0; i < c->npeers; i++)
        if (c->peers[i].uid == uid) p = &c->peers[i];
    if (!p && c->npeers < MAX_PEERS) {
        p = &c->peers[c->npeers++];
        p->uid = uid;
    }
    if (p) {
        p->presence = presence;
        copy(p->headline, sizeof p->headline, headline);
    }
    pthread_mutex_unlock(&lock);
}

static void on_error(void *ud, msim_result result, uint32_t server_code, const char *text) {
    client *c = ud;
    /* Not a failure by itself (e.g. a sign-on warning); shown as a TAP comment for diagnosis. */
    printf("# %s: on_error %s (%d), server code %u: %s\n", c->name, msim_result_str(result), (int)result,
           server_code, text);
}

/* ---- helpers ---- */

/* Presence of `uid` as `c` last heard it (OFFLINE when never heard). Call with `lock` held. */
static msim_presence presence_of(client *c, uint32_t uid, const char **headline) {
    for (size_t i = 0; i < c->npeers; i++) {
        if (c->peers[i].uid == uid) {
            if (headline) *headline = c->peers[i].headline;
            return c->peers[i].presence;
        }
    }
    if (headline) *headline = "";
    return MSIM_PRESENCE_OFFLINE;
}

/* Runs queued callbacks of the poll-mode clients for up to `ms` milliseconds. */
static void pump(int ms) {
    struct pollfd fds[4];
    client *owner[4];
    nfds_t n = 0;
    for (size_t i = 0; i < nclients; i++) {
        if (clients[i]->poll_mode && clients[i]->session) {
            fds[n].fd = msim_session_fd(clients[i]->session);
            fds[n].events = POLLIN;
            fds[n].revents = 0;
            owner[n++] = clients[i];
        }
    }
    if (n == 0) {
        struct timespec ts = {0, (long)ms * 1000000L};
        nanosleep(&ts, NULL);
        return;
    }
    if (poll(fds, n, ms) > 0)
        for (nfds_t i = 0; i < n; i++)
            if (fds[i].revents & POLLIN) msim_session_dispatch(owner[i]->session);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sets `var` to 1 once `cond` (evaluated with `lock` held) is true, dispatching poll-mode
 * callbacks in between; to 0 when wait_seconds pass first. */
#define WAIT(var, cond)                                                                            \
    do {                                                                                           \
        double deadline_ = now_s() + wait_seconds;                                                 \
        for (;;) {                                                                                 \
            pthread_mutex_lock(&lock);                                                             \
            int done_ = (cond);                                                                    \
            pthread_mutex_unlock(&lock);                                                           \
            if (done_ || now_s() > deadline_) {                                                    \
                (var) = done_;                                                                     \
                break;                                                                             \
            }                                                                                      \
            pump(20);                                                                              \
        }                                                                                          \
    } while (0)

static int ok(int pass, const char *what, const char *why) {
    checks++;
    if (pass) {
        printf("ok %d - %s\n", checks, what);
    } else {
        failures++;
        printf("not ok %d - %s # %s\n", checks, what, why ? why : "");
    }
    fflush(stdout);
    return pass;
}

static void bail(const char *why) {
    printf("Bail out! %s\n1..%d\n", why, checks);
    exit(failures + 1);
}

static client *new_client(const char *name, int poll_mode) {
    static client storage[4];
    client *c = &storage[nclients];
    memset(c, 0, sizeof *c);
    c->name = name;
    c->poll_mode = poll_mode;

    msim_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.on_signed_on = on_signed_on;
    cb.on_login_failed = on_login_failed;
    cb.on_disconnected = on_disconnected;
    cb.on_contact_list = on_contact_list;
    cb.on_im_received = on_im_received;
    cb.on_typing = on_typing;
    cb.on_zap = on_zap;
    cb.on_buddy_status = on_buddy_status;
    cb.on_error = on_error;
    msim_session_options opts;
    msim_session_options_init(&opts);
    opts.dispatch = poll_mode ? MSIM_DISPATCH_POLL : MSIM_DISPATCH_THREAD;
    opts.disable_mail_check = true;
    c->session = msim_session_new_ex(&cb, c, &opts);
    clients[nclients++] = c;
    return c;
}

/* Reads an int field under the lock (B's callbacks write from its IO thread). */
static int get(const int *field) {
    pthread_mutex_lock(&lock);
    int v = *field;
    pthread_mutex_unlock(&lock);
    return v;
}

static int has_contact(const client *c, uint32_t uid) {
    for (size_t i = 0; i < c->ncontacts; i++)
        if (c->contacts[i] == uid) return 1;
    return 0;
}

static void connect_or_bail(client *c, const char *host, uint16_t port, const char *email, const char *password,
                            const char *what) {
    int r;
    if (msim_session_connect(c->session, host, port, email, password) != MSIM_RESULT_OK) bail("connect failed");
    WAIT(r, c->signed_on || c->login_failed);
    if (!ok(r && c->signed_on, what, c->login_failed ? "login failed" : "timed out")) bail("cannot sign on");
}

int main(int argc, char **argv) {
    if (argc != 10) {
        fprintf(stderr, "usage: %s HOST PORT A_EMAIL A_PASSWORD B_EMAIL B_PASSWORD C_EMAIL C_PASSWORD C_USERNAME\n",
                argv[0]);
        return 125;
    }
    const char *host = argv[1];
    uint16_t port = (uint16_t)atoi(argv[2]);
    const char *c_email = argv[7], *c_password = argv[8], *c_username = argv[9];
    if (getenv("HARNESS_WAIT_SECONDS")) wait_seconds = atoi(getenv("HARNESS_WAIT_SECONDS"));
    setvbuf(stdout, NULL, _IOLBF, 0);
    char why[2200];
    int r;

    /* ---- two sessions in the two dispatch modes sign on ---- */
    client *a = new_client("A", 1), *b = new_client("B", 0);
    if (!ok(a->session && b->session, "sessions are created in poll-fd (A) and IO-thread (B) mode", NULL))
        bail("msim_session_new_ex failed");
    ok(msim_session_fd(a->session) >= 0 && msim_session_fd(b->session) == -1,
       "poll-fd mode has a dispatch fd, IO-thread mode has none (-1)", NULL);
    connect_or_bail(a, host, port, argv[3], argv[4], "A signs on (poll-fd dispatch)");
    connect_or_bail(b, host, port, argv[5], argv[6], "B signs on (IO-thread dispatch)");
    uint32_t uid_a = msim_session_get_uid(a->session), uid_b = msim_session_get_uid(b->session);
    char *name_a = NULL;
    ok(uid_a && uid_b && uid_a != uid_b && msim_session_get_state(a->session) == MSIM_SESSION_STATE_SIGNED_ON &&
           msim_session_get_username(a->session, &name_a) == MSIM_RESULT_OK && name_a,
       "signed-on sessions report state, uid and username", NULL);
    char to_a[16], to_b[16];
    snprintf(to_a, sizeof to_a, "%u", uid_a);
    snprintf(to_b, sizeof to_b, "%u", uid_b);
    WAIT(r, has_contact(a, uid_b));
    ok(r, "A's contact list (on_contact_list) has B", NULL);
    WAIT(r, presence_of(a, uid_b, NULL) == MSIM_PRESENCE_ONLINE);
    ok(r, "A sees B come online", NULL);

    /* ---- IMs with markup, both ways ---- */
    int n = get(&b->ims);
    uint64_t id = 0;
    ok(msim_session_send_im(a->session, to_b, "<b>bold</b> and <i>italic</i>", &id) == MSIM_RESULT_OK && id != 0,
       "A sends HTML to B (message id given)", NULL);
    WAIT(r, b->ims > n);
    pthread_mutex_lock(&lock);
    snprintf(why, sizeof why, "from %u (%s)", b->im_from, b->im_username);
    ok(r && b->im_from == uid_a && strcmp(b->im_username, name_a) == 0, "B receives it from A's uid and username",
       why);
    snprintf(why, sizeof why, "html: %s", b->im_html);
    ok(strstr(b->im_html, "<b>bold</b>") && strstr(b->im_html, "<i>italic</i>"),
       "B's HTML keeps <b>bold</b> and <i>italic</i>", why);
    snprintf(why, sizeof why, "plain: %s", b->im_plain);
    ok(strcmp(b->im_plain, "bold and italic") == 0, "B's plain text is 'bold and italic'", why);
    int64_t now = (int64_t)time(NULL);
    ok(!b->im_offline && b->im_time > now - 60 && b->im_time <= now + 1,
       "a live IM is not flagged offline and carries the arrival time", NULL);
    pthread_mutex_unlock(&lock);

    n = get(&a->ims);
    ok(msim_session_send_im(b->session, to_a, "<i>re:</i> 5 &lt; 6 &amp; <b>yes</b>", NULL) == MSIM_RESULT_OK,
       "B sends HTML to A from its IO-thread-mode session", NULL);
    WAIT(r, a->ims > n);
    snprintf(why, sizeof why, "from %u, html: %s, plain: %s", a->im_from, a->im_html, a->im_plain);
    ok(r && a->im_from == uid_b && strstr(a->im_html, "<i>re:</i>") && strstr(a->im_html, "<b>yes</b>") &&
           strcmp(a->im_plain, "re: 5 < 6 & yes") == 0,
       "A receives it: HTML keeps the tags, plain text decodes &lt; and &amp;", why);

    /* ---- presence ---- */
    const char *headline = "";
    ok(msim_session_set_status(b->session, MSIM_STATUS_AWAY, "at lunch") == MSIM_RESULT_OK, "B sets away, 'at lunch'",
       NULL);
    WAIT(r, presence_of(a, uid_b, &headline) == MSIM_PRESENCE_AWAY && strcmp(headline, "at lunch") == 0);
    ok(r, "A sees B away with the message 'at lunch'", NULL);
    ok(msim_session_set_status(b->session, MSIM_STATUS_AVAILABLE, NULL) == MSIM_RESULT_OK, "B sets available", NULL);
    WAIT(r, presence_of(a, uid_b, NULL) == MSIM_PRESENCE_ONLINE);
    ok(r, "A sees B back online", NULL);

    /* ---- typing ---- */
    n = get(&b->typings);
    msim_session_send_typing(a->session, to_b, true);
    WAIT(r, b->typings > n && b->typing_from == uid_a && b->typing);
    ok(r, "B sees A typing", NULL);
    n = get(&b->typings);
    msim_session_send_typing(a->session, to_b, false);
    WAIT(r, b->typings > n && b->typing_from == uid_a && !b->typing);
    ok(r, "B sees A stop typing", NULL);

    /* ---- zaps, both ways ---- */
    n = get(&b->zaps);
    ok(msim_session_send_zap(a->session, to_b, 4) == MSIM_RESULT_OK, "A zaps B (4)", NULL);
    WAIT(r, b->zaps > n);
    snprintf(why, sizeof why, "from %u: %u %s", b->zap_from, b->zap, b->zap_name);
    ok(r && b->zap_from == uid_a && b->zap == 4 && strcmp(b->zap_name, "Hug") == 0, "B gets zap 4, 'Hug', from A",
       why);
    n = get(&a->zaps);
    msim_session_send_zap(b->session, to_a, 9);
    WAIT(r, a->zaps > n);
    snprintf(why, sizeof why, "from %u: %u %s", a->zap_from, a->zap, a->zap_name);
    ok(r && a->zap_from == uid_b && a->zap == 9 && strcmp(a->zap_name, "Raspberry") == 0,
       "A gets zap 9, 'Raspberry', from B", why);

    /* ---- a wrong password ---- */
    client *x = new_client("bad-password", 0);
    ok(msim_session_connect(x->session, host, port, c_email, "not-the-password") == MSIM_RESULT_OK,
       "a third session connects with a wrong password", NULL);
    WAIT(r, x->login_failed || x->signed_on);
    snprintf(why, sizeof why, "login_failed %d, reason %d, code %u", x->login_failed, (int)x->fail_reason,
             x->fail_code);
    ok(r && x->login_failed && !x->signed_on && x->fail_reason == MSIM_LOGIN_FAILURE_BAD_PASSWORD &&
           x->fail_code == 260,
       "its login fails: MSIM_LOGIN_FAILURE_BAD_PASSWORD, server error 260", why);
    pump(200);
    ok(msim_session_get_state(x->session) == MSIM_SESSION_STATE_IDLE && !get(&x->disconnected),
       "the failed session is idle again and gets no on_disconnected", NULL);
    msim_session_free(x->session);
    x->session = NULL;

    /* ---- an offline IM, delivered at the next login with its original date ---- */
    int64_t t0 = (int64_t)time(NULL);
    ok(msim_session_send_im(a->session, c_username, "<b>while you were out</b>", NULL) == MSIM_RESULT_OK,
       "A sends an IM to offline C by username", NULL);
    /* The server handles A's messages in order: once B has the next one, C's is stored. */
    n = get(&b->ims);
    msim_session_send_im(a->session, to_b, "after the offline one", NULL);
    WAIT(r, b->ims > n);
    int64_t t1 = (int64_t)time(NULL);
    while ((int64_t)time(NULL) < t1 + 2) pump(100); /* so that the delivery time differs from the date */
    client *c = new_client("C", 1);
    int64_t t_login = (int64_t)time(NULL);
    connect_or_bail(c, host, port, c_email, c_password, "C signs on (poll-fd dispatch)");
    WAIT(r, c->ims > 0);
    snprintf(why, sizeof why, "from %u, html: %s, plain: %s", c->im_from, c->im_html, c->im_plain);
    ok(r && c->im_from == uid_a && strstr(c->im_html, "<b>while you were out</b>") &&
           strcmp(c->im_plain, "while you were out") == 0,
       "C gets A's IM at its next login", why);
    ok(c->im_offline, "it is flagged offline", NULL);
    snprintf(why, sizeof why, "time %lld, sent in [%lld, %lld], login at %lld", (long long)c->im_time, (long long)t0,
             (long long)t1, (long long)t_login);
    ok(c->im_time >= t0 && c->im_time <= t1 && c->im_time < t_login, "its time is when A sent it, not the delivery",
       why);

    /* ---- signing off ---- */
    ok(msim_session_disconnect(b->session) == MSIM_RESULT_OK, "B disconnects", NULL);
    WAIT(r, b->disconnected);
    ok(r && b->disc_reason == MSIM_DISCONNECT_REASON_REQUESTED, "B gets on_disconnected(REQUESTED)", NULL);
    WAIT(r, presence_of(a, uid_b, NULL) == MSIM_PRESENCE_OFFLINE);
    ok(r, "A sees B go offline", NULL);
    ok(msim_session_send_im(b->session, to_a, "too late", NULL) == MSIM_RESULT_NOT_CONNECTED,
       "a disconnected session cannot send (MSIM_RESULT_NOT_CONNECTED)", NULL);

    msim_string_free(name_a);
    msim_session_free(a->session); /* still signed on: free logs out */
    msim_session_free(b->session);
    msim_session_free(c->session);
    a->session = b->session = c->session = NULL;
    ok(1, "all sessions freed (A and C while still signed on)", NULL);
    printf("1..%d\n", checks);
    return failures;
}

/*
 * demo.c — two MySpaceIM users chatting through libmsim's C API, in one process.
 *
 * ./demo.sh runs it against a local `msim-server --demo`. By hand:
 *
 *   cargo build --release -p msim -p msim-server
 *   target/release/msim-server --demo --db :memory: --listen 127.0.0.1:1863 &
 *   cc -std=c99 -Wall -Iinclude examples-c/demo.c -Ltarget/release -lmsim \
 *      -Wl,-rpath,$PWD/target/release -o demo
 *   ./demo 127.0.0.1 1863
 *
 * alice and bob (the demo accounts, passwords alicepw and bobpw) sign on, chat with markup,
 * type, zap, and bob goes away with a message and comes back. Both sessions use the poll-fd
 * dispatch mode: every callback runs on this one thread inside msim_session_dispatch(), so no
 * locking is needed and each step's output follows it. Exits 0 when the whole script ran, 1 when
 * a step did not happen within 10 seconds.
 */
#define _POSIX_C_SOURCE 200809L

#include "msim.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_BUDDIES 16

typedef struct {
    uint32_t uid;
    char name[64];
    msim_presence presence;
    char headline[128];
} buddy;

typedef struct {
    const char *name; /* for printing */
    const char *email, *password;
    msim_session *session;
    uint32_t uid;
    int signed_on, login_failed, disconnected;
    int ims, typing_events, zaps;
    buddy buddies[MAX_BUDDIES];
    size_t nbuddies;
} user;

static user alice = {"alice", "alice@example.com", "alicepw", NULL, 0, 0, 0, 0, 0, 0, 0, {{0, "", 0, ""}}, 0};
static user bob = {"bob", "bob@example.com", "bobpw", NULL, 0, 0, 0, 0, 0, 0, 0, {{0, "", 0, ""}}, 0};

static const char *presence_name(msim_presence p) {
    switch (p) {
    case MSIM_PRESENCE_OFFLINE: return "offline";
    case MSIM_PRESENCE_ONLINE: return "online";
    case MSIM_PRESENCE_IDLE: return "idle";
    case MSIM_PRESENCE_AWAY: return "away";
    }
    return "?";
}

/* The buddy entry for `uid`; with `add`, a new one when there is none (NULL when full). */
static buddy *find_buddy(user *u, uint32_t uid, int add) {
    for (size_t i = 0; i < u->nbuddies; i++)
        if (u->buddies[i].uid == uid) return &u->buddies[i];
    if (!add || u->nbuddies == MAX_BUDDIES) return NULL;
    buddy *b = &u->buddies[u->nbuddies++];
    b->uid = uid;
    snprintf(b->name, sizeof b->name, "%u", uid);
    b->presence = MSIM_PRESENCE_OFFLINE;
    b->headline[0] = '\0';
    return b;
}

static const char *who(user *u, uint32_t uid, const char *username) {
    if (username) return username;
    buddy *b = find_buddy(u, uid, 0);
    return b ? b->name : "someone";
}

/* ---- callbacks: each gets the user it belongs to as userdata ---- */

static void on_signed_on(void *ud, uint32_t uid, const char *username) {
    user *u = ud;
    u->uid = uid;
    u->signed_on = 1;
    printf("%-5s | signed on as %s (uid %u)\n", u->name, username ? username : "(no username)", uid);
    printf("%-5s | buddy list:", u->name);
    for (size_t i = 0; i < u->nbuddies; i++)
        printf(" %s (%s)%s", u->buddies[i].name, presence_name(u->buddies[i].presence),
               i + 1 < u->nbuddies ? "," : "");
    printf("\n");
}

static void on_login_failed(void *ud, msim_login_failure reason, uint32_t code, const char *text) {
    user *u = ud;
    u->login_failed = 1;
    printf("%-5s | login failed (reason %d, server code %u): %s\n", u->name, (int)reason, code, text);
}

static void on_disconnected(void *ud, msim_disconnect_reason reason, uint32_t code, const char *text, bool again) {
    user *u = ud;
    u->disconnected = 1;
    (void)code;
    (void)again;
    printf("%-5s | disconnected (%s)\n", u->name, reason == MSIM_DISCONNECT_REASON_REQUESTED ? "signed off" : text);
}

static void on_contact_list(void *ud, const msim_contact *contacts, size_t count) {
    user *u = ud;
    for (size_t i = 0; i < count; i++) {
        buddy *b = find_buddy(u, contacts[i].uid, 1);
        if (b && contacts[i].username) snprintf(b->name, sizeof b->name, "%s", contacts[i].username);
    }
}

static void on_user_info(void *ud, const msim_user_info *info) {
    user *u = ud;
    buddy *b = find_buddy(u, info->uid, 0); /* only names buddies; this may be our own info */
    const char *name = info->username ? info->username : info->display_name; /* carol has no username */
    if (b && name) snprintf(b->name, sizeof b->name, "%s", name);
}

static void on_buddy_status(void *ud, uint32_t uid, const char *username, msim_presence presence,
                            const char *headline) {
    user *u = ud;
    buddy *b = find_buddy(u, uid, 1);
    if (!b) return;
    if (presence == MSIM_PRESENCE_OFFLINE) headline = ""; /* the server says "Offline" */
    int changed = b->presence != presence || strcmp(b->headline, headline) != 0;
    if (username) snprintf(b->name, sizeof b->name, "%s", username);
    b->presence = presence;
    snprintf(b->headline, sizeof b->headline, "%s", headline);
    /* Before sign-on the buddy list printed by on_signed_on says it; repeats say nothing new. */
    if (!u->signed_on || !changed) return;
    printf("%-5s | %s is now %s%s%s%s\n", u->name, b->name, presence_name(presence), *headline ? " (\"" : "",
           headline, *headline ? "\")" : "");
}

static void on_im_received(void *ud, uint32_t from, const char *username, const char *html, const char *plain,
                           int64_t t, bool offline) {
    user *u = ud;
    char when[16] = "";
    time_t tt = (time_t)t;
    struct tm tm;
    if (localtime_r(&tt, &tm)) strftime(when, sizeof when, "%H:%M:%S", &tm);
    u->ims++;
    printf("%-5s | IM from %s at %s%s\n", u->name, who(u, from, username), when, offline ? " (offline)" : "");
    printf("      |   html:  %s\n", html);
    printf("      |   plain: %s\n", plain);
}

static void on_typing(void *ud, uint32_t from, const char *username, bool typing) {
    user *u = ud;
    u->typing_events++;
    printf("%-5s | %s %s\n", u->name, who(u, from, username), typing ? "is typing..." : "stopped typing");
}

static void on_zap(void *ud, uint32_t from, const char *username, uint32_t zap, const char *zap_name) {
    user *u = ud;
    u->zaps++;
    printf("%-5s | %s zapped you: %s (zap %u)\n", u->name, who(u, from, username), zap_name, zap);
}

static void on_error(void *ud, msim_result result, uint32_t server_code, const char *text) {
    user *u = ud;
    printf("%-5s | error: %s (%d, server code %u): %s\n", u->name, msim_result_str(result), (int)result, server_code,
           text);
}

/* ---- the event loop: dispatch both sessions until a condition holds ---- */

/* Runs callbacks of both sessions until `done()` is true (10 s at most; then exits 1). */
static void run_until(int (*done)(void), const char *what) {
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (!done()) {
        struct pollfd fds[2] = {{msim_session_fd(alice.session), POLLIN, 0}, {msim_session_fd(bob.session), POLLIN, 0}};
        if (poll(fds, 2, 100) > 0) {
            if (fds[0].revents & POLLIN) msim_session_dispatch(alice.session);
            if (fds[1].revents & POLLIN) msim_session_dispatch(bob.session);
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= 10) {
            fprintf(stderr, "demo: timed out waiting for: %s\n", what);
            exit(1);
        }
    }
}

/* Lets pending callbacks run for `ms` milliseconds, so that "X did Y" is followed by its effect. */
static void settle(int ms) {
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (elapsed >= ms) return;
        struct pollfd fds[2] = {{msim_session_fd(alice.session), POLLIN, 0}, {msim_session_fd(bob.session), POLLIN, 0}};
        if (poll(fds, 2, (int)(ms - elapsed)) > 0) {
            if (fds[0].revents & POLLIN) msim_session_dispatch(alice.session);
            if (fds[1].revents & POLLIN) msim_session_dispatch(bob.session);
        }
    }
}

static int n_bob_ims, n_alice_ims, n_bob_typing, n_alice_typing, n_bob_zaps;
static int alice_signed_on(void) { return alice.signed_on || alice.login_failed; }
static int bob_signed_on(void) { return bob.signed_on || bob.login_failed; }
static int bob_got_im(void) { return bob.ims > n_bob_ims; }
static int alice_got_im(void) { return alice.ims > n_alice_ims; }
static int bob_got_typing(void) { return bob.typing_events > n_bob_typing; }
static int alice_got_typing(void) { return alice.typing_events > n_alice_typing; }
static int bob_got_zap(void) { return bob.zaps > n_bob_zaps; }
static msim_presence bob_seen_by_alice(void) {
    buddy *b = find_buddy(&alice, bob.uid, 0);
    return b ? b->presence : MSIM_PRESENCE_OFFLINE;
}
static int alice_sees_bob_online(void) { return bob_seen_by_alice() == MSIM_PRESENCE_ONLINE; }
static int alice_sees_bob_away(void) { return bob_seen_by_alice() == MSIM_PRESENCE_AWAY; }
static int alice_sees_bob_offline(void) { return bob_seen_by_alice() == MSIM_PRESENCE_OFFLINE; }
static int both_disconnected(void) { return alice.disconnected && bob.disconnected; }

static void check(msim_result r, const char *what) {
    if (r != MSIM_RESULT_OK) {
        fprintf(stderr, "demo: %s: %s (%d)\n", what, msim_result_str(r), (int)r);
        exit(1);
    }
}

/* Sends an IM from `from` to `to` and prints what was sent. */
static void say(user *from, user *to, const char *html) {
    char uid[16];
    snprintf(uid, sizeof uid, "%u", to->uid);
    printf("%-5s | says to %s: %s\n", from->name, to->name, html);
    check(msim_session_send_im(from->session, uid, html, NULL), "send_im");
}

static void typing(user *from, user *to, bool on) {
    char uid[16];
    snprintf(uid, sizeof uid, "%u", to->uid);
    check(msim_session_send_typing(from->session, uid, on), "send_typing");
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s HOST PORT   (an msim-server started with --demo)\n", argv[0]);
        return 2;
    }
    const char *host = argv[1];
    uint16_t port = (uint16_t)atoi(argv[2]);
    setvbuf(stdout, NULL, _IOLBF, 0);

    msim_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.on_signed_on = on_signed_on;
    cb.on_login_failed = on_login_failed;
    cb.on_disconnected = on_disconnected;
    cb.on_contact_list = on_contact_list;
    cb.on_user_info = on_user_info;
    cb.on_buddy_status = on_buddy_status;
    cb.on_im_received = on_im_received;
    cb.on_typing = on_typing;
    cb.on_zap = on_zap;
    cb.on_error = on_error;

    msim_session_options opts;
    check(msim_session_options_init(&opts), "options_init");
    opts.dispatch = MSIM_DISPATCH_POLL; /* callbacks run here, in msim_session_dispatch() */
    opts.disable_mail_check = true;
    alice.session = msim_session_new_ex(&cb, &alice, &opts);
    bob.session = msim_session_new_ex(&cb, &bob, &opts);
    if (!alice.session || !bob.session) {
        fprintf(stderr, "demo: cannot create sessions\n");
        return 1;
    }

    printf("== alice and bob sign on to %s:%u\n", host, (unsigned)port);
    check(msim_session_connect(alice.session, host, port, alice.email, alice.password), "connect alice");
    run_until(alice_signed_on, "alice to sign on");
    check(msim_session_connect(bob.session, host, port, bob.email, bob.password), "connect bob");
    run_until(bob_signed_on, "bob to sign on");
    if (alice.login_failed || bob.login_failed) return 1;
    run_until(alice_sees_bob_online, "alice to see bob online");
    settle(100);

    printf("\n== a conversation (markup in, HTML and plain text out)\n");
    n_bob_typing = bob.typing_events;
    typing(&alice, &bob, true);
    run_until(bob_got_typing, "bob to see alice typing");
    n_bob_ims = bob.ims;
    say(&alice, &bob, "Hi Bob! Have you seen the <b>new</b> <i>msim</i> library?");
    run_until(bob_got_im, "bob to get alice's IM");

    n_alice_typing = alice.typing_events;
    typing(&bob, &alice, true);
    run_until(alice_got_typing, "alice to see bob typing");
    n_alice_ims = alice.ims;
    say(&bob, &alice, "Yes! It speaks <font color=\"#ff0000\">MySpaceIM</font> &amp; C.");
    run_until(alice_got_im, "alice to get bob's IM");

    printf("\n== a zap\n");
    n_bob_zaps = bob.zaps;
    printf("alice | zaps bob with a hug\n");
    char bob_uid[16];
    snprintf(bob_uid, sizeof bob_uid, "%u", bob.uid);
    check(msim_session_send_zap(alice.session, bob_uid, 4), "send_zap");
    run_until(bob_got_zap, "bob to get the zap");

    printf("\n== bob steps away and comes back\n");
    printf("bob   | sets status: away, \"lunch, back in 5\"\n");
    check(msim_session_set_status(bob.session, MSIM_STATUS_AWAY, "lunch, back in 5"), "set_status away");
    run_until(alice_sees_bob_away, "alice to see bob away");
    n_bob_ims = bob.ims;
    say(&alice, &bob, "Enjoy your lunch :)");
    run_until(bob_got_im, "bob to get alice's IM");
    printf("bob   | sets status: available\n");
    check(msim_session_set_status(bob.session, MSIM_STATUS_AVAILABLE, NULL), "set_status available");
    run_until(alice_sees_bob_online, "alice to see bob online again");

    printf("\n== sign off\n");
    check(msim_session_disconnect(bob.session), "disconnect bob");
    run_until(alice_sees_bob_offline, "alice to see bob offline");
    check(msim_session_disconnect(alice.session), "disconnect alice");
    run_until(both_disconnected, "both sessions to end");

    msim_session_free(alice.session);
    msim_session_free(bob.session);
    printf("\ndemo finished.\n");
    return 0;
}

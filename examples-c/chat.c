/*
 * chat.c — a small MySpaceIM client on libmsim's session API: a poll() loop over stdin and
 * msim_session_fd(), with every callback run by msim_session_dispatch() on this thread.
 *
 * Build (from the repository root, after `cargo build --release -p msim`):
 *
 *   cc -std=c99 -Wall -Iinclude examples-c/chat.c -Ltarget/release -lmsim \
 *      -Wl,-rpath,$PWD/target/release -o chat
 *
 * or through pkg-config (README "Building against libmsim"):
 *
 *   scripts/msim-pc.sh > target/release/msim.pc
 *   cc -std=c99 -Wall examples-c/chat.c $(PKG_CONFIG_PATH=target/release pkg-config --cflags --libs msim) -o chat
 *
 * Run:   ./chat HOST PORT EMAIL [PASSWORD]
 *        e.g. against `target/release/msim-server --demo` (127.0.0.1:1863):
 *        MSIM_PASSWORD=alicepw ./chat 127.0.0.1 1863 alice@example.com
 *
 * Each argument may instead come from the environment: MSIM_HOST, MSIM_PORT, MSIM_EMAIL,
 * MSIM_PASSWORD (prefer the variable for the password: arguments are visible in `ps`).
 *
 * Commands (one per line on stdin):
 *   /to WHO TEXT        send TEXT (HTML allowed: <b>, <i>, <font color=...>) to WHO, a uid,
 *                       username or e-mail; later lines without a command go to WHO too
 *   /zap WHO [N]        zap WHO (0 Zap, 1 Whack, ... 4 Hug, ... 9 Raspberry; default 0)
 *   /status available|away|idle|invisible [MESSAGE]
 *   /list               buddies and their presence
 *   /quit               sign off (end of input does the same)
 */
#define _POSIX_C_SOURCE 200809L

#include "msim.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define MAX_BUDDIES 1000 /* the server's MaxContacts (SPEC §8) */

typedef struct {
    uint32_t uid;
    char name[64];
    msim_presence presence;
    char headline[128];
} buddy;

static buddy buddies[MAX_BUDDIES];
static size_t nbuddies;
static int running = 1, signed_on, exit_code;
static int quitting;  /* 1: /quit, sign off now; 2: end of input, sign off once signed on */
static char peer[128]; /* where lines without a command go */

static const char *presence_name(msim_presence p) {
    switch (p) {
    case MSIM_PRESENCE_OFFLINE: return "offline";
    case MSIM_PRESENCE_ONLINE: return "online";
    case MSIM_PRESENCE_IDLE: return "idle";
    case MSIM_PRESENCE_AWAY: return "away";
    }
    return "?";
}

static buddy *find_buddy(uint32_t uid, int add) {
    for (size_t i = 0; i < nbuddies; i++)
        if (buddies[i].uid == uid) return &buddies[i];
    if (!add || nbuddies == MAX_BUDDIES) return NULL;
    buddy *b = &buddies[nbuddies++];
    memset(b, 0, sizeof *b);
    b->uid = uid;
    snprintf(b->name, sizeof b->name, "%u", uid);
    return b;
}

/* A printable name for a sender: its username, else what the buddy list knows, else the uid. */
static const char *name_of(uint32_t uid, const char *username, char *buf, size_t len) {
    buddy *b = find_buddy(uid, 0);
    snprintf(buf, len, "%s", username ? username : b ? b->name : "");
    if (!*buf) snprintf(buf, len, "%u", uid);
    return buf;
}

static void stamp(int64_t t) {
    time_t tt = (time_t)t;
    struct tm tm;
    char s[32] = "";
    if (localtime_r(&tt, &tm)) strftime(s, sizeof s, "%H:%M", &tm);
    printf("[%s] ", s);
}

static void list_buddies(void) {
    printf("buddies (%zu):\n", nbuddies);
    for (size_t i = 0; i < nbuddies; i++)
        printf("  %-20s uid %-8u %-8s %s\n", buddies[i].name, buddies[i].uid, presence_name(buddies[i].presence),
               buddies[i].headline);
}

/* ---- callbacks (POLL mode: they run inside msim_session_dispatch() in main's loop) ---- */

static void on_progress(void *ud, uint32_t step, uint32_t total, const char *text) {
    (void)ud;
    printf("* %s (%u/%u)\n", text, step, total);
}

static void on_signed_on(void *ud, uint32_t uid, const char *username) {
    (void)ud;
    signed_on = 1;
    printf("* signed on as %s (uid %u). /to WHO TEXT to chat, /quit to leave.\n",
           username ? username : "(no username)", uid);
    list_buddies();
}

static void on_login_failed(void *ud, msim_login_failure reason, uint32_t code, const char *text) {
    (void)ud;
    if (reason == MSIM_LOGIN_FAILURE_BAD_PASSWORD)
        fprintf(stderr, "* login failed: wrong password (server error %u)\n", code);
    else
        fprintf(stderr, "* login failed: %s (reason %d, server error %u)\n", text, (int)reason, code);
    running = 0;
    exit_code = 1;
}

static void on_disconnected(void *ud, msim_disconnect_reason reason, uint32_t code, const char *text,
                            bool reconnecting) {
    (void)ud;
    (void)code;
    if (reason == MSIM_DISCONNECT_REASON_REQUESTED)
        printf("* signed off\n");
    else
        printf("* disconnected: %s%s\n", text, reconnecting ? " (reconnecting)" : "");
    if (!reconnecting) running = 0;
}

static void on_username_required(void *ud, uint32_t uid) {
    (void)ud;
    printf("* account %u has no username yet; choose one with the official client or msim-server's\n"
           "  `account` command. Signing on without one.\n", uid);
}

static void on_contact_list(void *ud, const msim_contact *contacts, size_t count) {
    (void)ud;
    for (size_t i = 0; i < count; i++) {
        if (contacts[i].blocked) continue;
        buddy *b = find_buddy(contacts[i].uid, 1);
        if (b && contacts[i].username) snprintf(b->name, sizeof b->name, "%s", contacts[i].username);
    }
}

static void on_user_info(void *ud, const msim_user_info *info) {
    (void)ud;
    buddy *b = find_buddy(info->uid, 0);
    const char *name = info->username ? info->username : info->display_name;
    if (b && name) snprintf(b->name, sizeof b->name, "%s", name);
}

static void on_buddy_status(void *ud, uint32_t uid, const char *username, msim_presence presence,
                            const char *headline) {
    (void)ud;
    buddy *b = find_buddy(uid, 1);
    if (!b) return;
    if (presence == MSIM_PRESENCE_OFFLINE) headline = "";
    if (username) snprintf(b->name, sizeof b->name, "%s", username);
    if (b->presence == presence && strcmp(b->headline, headline) == 0) return;
    b->presence = presence;
    snprintf(b->headline, sizeof b->headline, "%s", headline);
    if (signed_on) /* before that, the buddy list printed at sign-on shows it */
        printf("* %s is %s%s%s\n", b->name, presence_name(presence), *headline ? ": " : "", headline);
}

static void on_im_received(void *ud, uint32_t from, const char *username, const char *html, const char *plain,
                           int64_t t, bool offline) {
    char name[64];
    (void)ud;
    (void)html; /* a GUI would show the HTML; a terminal shows the plain text */
    stamp(t);
    printf("%s%s: %s\n", name_of(from, username, name, sizeof name), offline ? " (while you were away)" : "", plain);
}

static void on_im_failed(void *ud, uint64_t id, msim_result result, const char *text) {
    (void)ud;
    printf("* message %llu not delivered: %s (%s)\n", (unsigned long long)id, text, msim_result_str(result));
}

static void on_typing(void *ud, uint32_t from, const char *username, bool typing) {
    char name[64];
    (void)ud;
    printf("* %s %s\n", name_of(from, username, name, sizeof name), typing ? "is typing..." : "stopped typing");
}

static void on_zap(void *ud, uint32_t from, const char *username, uint32_t zap, const char *zap_name) {
    char name[64];
    (void)ud;
    (void)zap;
    printf("* %s zapped you: %s!\n", name_of(from, username, name, sizeof name), zap_name);
}

static void on_error(void *ud, msim_result result, uint32_t server_code, const char *text) {
    (void)ud;
    printf("* error: %s (%s, server code %u)\n", text, msim_result_str(result), server_code);
}

/* ---- commands ---- */

static void report(msim_result r, const char *what) {
    if (r != MSIM_RESULT_OK) printf("* %s: %s\n", what, msim_result_str(r));
}

/* Splits off the first word of *s (in place) and returns it; *s then points after the spaces. */
static char *word(char **s) {
    char *w = *s;
    while (*w == ' ') w++;
    char *end = w;
    while (*end && *end != ' ') end++;
    *s = end;
    if (*end) {
        *end = '\0';
        *s = end + 1;
        while (**s == ' ') (*s)++;
    }
    return w;
}

static void command(msim_session *s, char *line) {
    if (line[0] != '/') {
        if (!*line) return;
        if (!*peer) {
            printf("* who to? use /to WHO TEXT first\n");
            return;
        }
        report(msim_session_send_im(s, peer, line, NULL), "send");
        return;
    }
    char *rest = line + 1;
    char *cmd = word(&rest);
    if (strcmp(cmd, "to") == 0 || strcmp(cmd, "msg") == 0) {
        char *who = word(&rest);
        if (!*who) {
            printf("* usage: /to WHO TEXT\n");
            return;
        }
        snprintf(peer, sizeof peer, "%s", who);
        if (*rest) report(msim_session_send_im(s, peer, rest, NULL), "send");
    } else if (strcmp(cmd, "zap") == 0) {
        char *who = word(&rest);
        report(msim_session_send_zap(s, who, (uint32_t)atoi(rest)), "zap");
    } else if (strcmp(cmd, "status") == 0) {
        static const char *const names[] = {"available", "away", "idle", "invisible"};
        static const msim_status codes[] = {MSIM_STATUS_AVAILABLE, MSIM_STATUS_AWAY, MSIM_STATUS_IDLE,
                                            MSIM_STATUS_INVISIBLE};
        char *which = word(&rest);
        for (size_t i = 0; i < 4; i++) {
            if (strcasecmp(which, names[i]) == 0) {
                report(msim_session_set_status(s, (uint32_t)codes[i], *rest ? rest : NULL), "status");
                return;
            }
        }
        printf("* usage: /status available|away|idle|invisible [MESSAGE]\n");
    } else if (strcmp(cmd, "list") == 0) {
        list_buddies();
    } else if (strcmp(cmd, "quit") == 0) {
        quitting = 1;
    } else {
        printf("* commands: /to WHO TEXT, /zap WHO [N], /status available|away|idle|invisible [MSG], /list, "
               "/quit\n");
    }
}

static const char *arg(int argc, char **argv, int i, const char *env) {
    if (i < argc) return argv[i];
    const char *v = getenv(env);
    return v && *v ? v : NULL;
}

int main(int argc, char **argv) {
    const char *host = arg(argc, argv, 1, "MSIM_HOST");
    const char *port = arg(argc, argv, 2, "MSIM_PORT");
    const char *email = arg(argc, argv, 3, "MSIM_EMAIL");
    const char *password = arg(argc, argv, 4, "MSIM_PASSWORD");
    if (!host || !port || !email || !password || argc > 5) {
        fprintf(stderr, "usage: %s HOST PORT EMAIL [PASSWORD]\n"
                        "       (or MSIM_HOST, MSIM_PORT, MSIM_EMAIL, MSIM_PASSWORD in the environment)\n",
                argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    msim_callbacks cb;
    memset(&cb, 0, sizeof cb); /* every callback left NULL is simply not called */
    cb.on_progress = on_progress;
    cb.on_signed_on = on_signed_on;
    cb.on_login_failed = on_login_failed;
    cb.on_disconnected = on_disconnected;
    cb.on_username_required = on_username_required;
    cb.on_contact_list = on_contact_list;
    cb.on_user_info = on_user_info;
    cb.on_buddy_status = on_buddy_status;
    cb.on_im_received = on_im_received;
    cb.on_im_failed = on_im_failed;
    cb.on_typing = on_typing;
    cb.on_zap = on_zap;
    cb.on_error = on_error;

    msim_session_options opts;
    msim_session_options_init(&opts);
    opts.dispatch = MSIM_DISPATCH_POLL;
    opts.auto_reconnect = true;
    opts.skip_username = true;
    msim_session *s = msim_session_new_ex(&cb, NULL, &opts);
    if (!s) {
        fprintf(stderr, "cannot create a session\n");
        return 1;
    }
    msim_result r = msim_session_connect(s, host, (uint16_t)atoi(port), email, password);
    if (r != MSIM_RESULT_OK) {
        fprintf(stderr, "connect: %s\n", msim_result_str(r));
        msim_session_free(s);
        return 1;
    }

    char buf[4096];
    size_t used = 0;
    int stdin_open = 1, disconnecting = 0;
    while (running) {
        /* Sign off: at once for /quit; at end of input only once signed on, so that piped lines
         * (queued by msim_session_send_im while connecting) are sent first. */
        if (quitting && !disconnecting &&
            (quitting == 1 || msim_session_get_state(s) == MSIM_SESSION_STATE_SIGNED_ON)) {
            disconnecting = 1;
            if (msim_session_disconnect(s) != MSIM_RESULT_OK) break; /* not connected: done */
        }
        struct pollfd fds[2] = {{msim_session_fd(s), POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}};
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            perror("poll");
            break;
        }
        if (fds[0].revents & POLLIN) msim_session_dispatch(s); /* on_disconnected ends the loop */
        if (fds[1].revents & (POLLIN | POLLHUP)) {
            ssize_t n = read(0, buf + used, sizeof buf - 1 - used);
            if (n <= 0) {
                stdin_open = 0;
                if (!quitting) quitting = 2;
                if (used > 0) buf[used++] = '\n'; /* a last line without newline */
            } else {
                used += (size_t)n;
            }
            char *start = buf, *nl;
            while (!quitting || quitting == 2) {
                nl = memchr(start, '\n', used - (size_t)(start - buf));
                if (!nl) break;
                *nl = '\0';
                if (nl > start && nl[-1] == '\r') nl[-1] = '\0';
                command(s, start);
                start = nl + 1;
            }
            used -= (size_t)(start - buf);
            memmove(buf, start, used);
            if (used == sizeof buf - 1) { /* a line longer than the buffer: send what there is */
                buf[used] = '\0';
                command(s, buf);
                used = 0;
            }
        }
    }
    msim_session_free(s); /* logs out if still signed on */
    printf("* bye\n");
    return exit_code;
}

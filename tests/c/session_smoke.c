/*
 * session_smoke.c — two sessions sign on through the C API and exchange an IM.
 *
 * usage: session_smoke HOST PORT EMAIL_A PASSWORD_A EMAIL_B PASSWORD_B thread|poll
 * Prints "session_smoke: OK" and exits 0 on success; exits 1 with a reason otherwise.
 * Driven by tests/client_c.rs against a real msim-server.
 */
#include "msim.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const char *name;
    int signed_on;
    int failed;
    int got_im;
    uint32_t im_from;
    char im_plain[256];
    char im_html[512];
} client;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;

static void on_signed_on(void *ud, uint32_t uid, const char *username) {
    client *c = (client *)ud;
    pthread_mutex_lock(&lock);
    c->signed_on = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    printf("%s: signed on as %u (%s)\n", c->name, uid, username ? username : "(no username)");
}

static void on_login_failed(void *ud, msim_login_failure reason, uint32_t code, const char *text) {
    client *c = (client *)ud;
    pthread_mutex_lock(&lock);
    c->failed = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    fprintf(stderr, "%s: login failed (%d, code %u): %s\n", c->name, (int)reason, code, text);
}

static void on_disconnected(void *ud, msim_disconnect_reason reason, uint32_t code, const char *text, bool reconnecting) {
    client *c = (client *)ud;
    printf("%s: disconnected (%d, code %u, reconnecting %d): %s\n", c->name, (int)reason, code, (int)reconnecting, text);
}

static void on_im_received(void *ud, uint32_t from, const char *username, const char *html, const char *plain, int64_t t, bool offline) {
    client *c = (client *)ud;
    (void)t;
    (void)offline;
    pthread_mutex_lock(&lock);
    c->got_im = 1;
    c->im_from = from;
    snprintf(c->im_plain, sizeof c->im_plain, "%s", plain);
    snprintf(c->im_html, sizeof c->im_html, "%s", html);
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    printf("%s: IM from %u (%s): %s\n", c->name, from, username ? username : "-", plain);
}

static void on_error(void *ud, msim_result result, uint32_t server_code, const char *text) {
    client *c = (client *)ud;
    printf("%s: error %d (%s), server code %u: %s\n", c->name, (int)result, msim_result_str(result), server_code, text);
}

static int poll_mode;
static msim_session *sessions[2];

/* Waits until *flag (guarded by lock) is set, dispatching in poll mode. */
static int wait_for(int *flag, int *fail) {
    time_t deadline = time(NULL) + 20;
    for (;;) {
        pthread_mutex_lock(&lock);
        int done = *flag, bad = fail ? *fail : 0;
        pthread_mutex_unlock(&lock);
        if (done) return 1;
        if (bad || time(NULL) > deadline) return 0;
        if (poll_mode) {
            struct pollfd p[2];
            for (int i = 0; i < 2; i++) {
                p[i].fd = msim_session_fd(sessions[i]);
                p[i].events = POLLIN;
                p[i].revents = 0;
            }
            if (poll(p, 2, 200) > 0) {
                for (int i = 0; i < 2; i++)
                    if (p[i].revents & POLLIN) msim_session_dispatch(sessions[i]);
            }
        } else {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 200 * 1000 * 1000;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec += 1;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_mutex_lock(&lock);
            if (!*flag) pthread_cond_timedwait(&changed, &lock, &ts);
            pthread_mutex_unlock(&lock);
        }
    }
}

#define CHECK(cond, what)                                   \
    do {                                                    \
        if (!(cond)) {                                      \
            fprintf(stderr, "session_smoke: FAILED: %s\n", what); \
            return 1;                                       \
        }                                                   \
    } while (0)

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: %s HOST PORT EMAIL_A PASSWORD_A EMAIL_B PASSWORD_B thread|poll\n", argv[0]);
        return 2;
    }
    poll_mode = strcmp(argv[7], "poll") == 0;
    uint16_t port = (uint16_t)atoi(argv[2]);
    client a = {"A", 0, 0, 0, 0, "", ""}, b = {"B", 0, 0, 0, 0, "", ""};

    msim_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.on_signed_on = on_signed_on;
    cb.on_login_failed = on_login_failed;
    cb.on_disconnected = on_disconnected;
    cb.on_im_received = on_im_received;
    cb.on_error = on_error;

    msim_session_options opts;
    CHECK(msim_session_options_init(&opts) == MSIM_RESULT_OK, "options_init");
    opts.dispatch = poll_mode ? MSIM_DISPATCH_POLL : MSIM_DISPATCH_THREAD;
    opts.disable_mail_check = true;
    sessions[0] = msim_session_new_ex(&cb, &a, &opts);
    sessions[1] = msim_session_new_ex(&cb, &b, &opts);
    CHECK(sessions[0] && sessions[1], "session_new_ex");
    CHECK(poll_mode ? msim_session_fd(sessions[0]) >= 0 : msim_session_fd(sessions[0]) == -1, "session_fd");

    /* Argument checking. */
    uint64_t id = 0;
    CHECK(msim_session_send_im(NULL, "1", "x", &id) == MSIM_RESULT_NULL_PARAMETER, "NULL session");
    CHECK(msim_session_send_im(sessions[0], NULL, "x", &id) == MSIM_RESULT_NULL_PARAMETER, "NULL who");
    CHECK(msim_session_send_im(sessions[0], "1", "\xff\xfe", &id) == MSIM_RESULT_INVALID_UTF8, "bad UTF-8");
    CHECK(msim_session_send_im(sessions[0], "1", "x", &id) == MSIM_RESULT_NOT_CONNECTED, "not connected");
    CHECK(msim_session_set_status(sessions[0], 99, NULL) == MSIM_RESULT_INVALID_ARGUMENT, "bad status");

    CHECK(msim_session_connect(sessions[0], argv[1], port, argv[3], argv[4]) == MSIM_RESULT_OK, "connect A");
    CHECK(msim_session_connect(sessions[1], argv[1], port, argv[5], argv[6]) == MSIM_RESULT_OK, "connect B");
    CHECK(msim_session_connect(sessions[1], argv[1], port, argv[5], argv[6]) == MSIM_RESULT_ALREADY_CONNECTED, "connect twice");
    CHECK(wait_for(&a.signed_on, &a.failed), "A signs on");
    CHECK(wait_for(&b.signed_on, &b.failed), "B signs on");
    CHECK(msim_session_get_state(sessions[0]) == MSIM_SESSION_STATE_SIGNED_ON, "state");

    uint32_t uid_a = msim_session_get_uid(sessions[0]), uid_b = msim_session_get_uid(sessions[1]);
    CHECK(uid_a != 0 && uid_b != 0 && uid_a != uid_b, "uids");
    char *name = NULL;
    CHECK(msim_session_get_username(sessions[1], &name) == MSIM_RESULT_OK, "get_username");
    printf("B is %u (%s)\n", uid_b, name ? name : "(none)");
    msim_string_free(name);

    char who[16];
    snprintf(who, sizeof who, "%u", uid_b);
    CHECK(msim_session_send_im(sessions[0], who, "<b>hello</b> B", &id) == MSIM_RESULT_OK && id != 0, "send A->B");
    CHECK(wait_for(&b.got_im, NULL), "B gets the IM");
    CHECK(b.im_from == uid_a && strstr(b.im_plain, "hello") != NULL, "B's IM content");

    snprintf(who, sizeof who, "%u", uid_a);
    CHECK(msim_session_send_im(sessions[1], who, "hi A", &id) == MSIM_RESULT_OK, "send B->A");
    CHECK(wait_for(&a.got_im, NULL), "A gets the IM");
    CHECK(a.im_from == uid_b && strcmp(a.im_plain, "hi A") == 0, "A's IM content");

    CHECK(msim_session_disconnect(sessions[0]) == MSIM_RESULT_OK, "disconnect");
    msim_session_free(sessions[0]);
    msim_session_free(sessions[1]); /* still connected: free must disconnect */
    msim_session_free(NULL);
    printf("session_smoke: OK (%s mode)\n", poll_mode ? "poll" : "thread");
    return 0;
}

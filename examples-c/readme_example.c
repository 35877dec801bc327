#define _POSIX_C_SOURCE 200809L /* poll() under -std=c99 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include "msim.h"

static void on_im(void *userdata, uint32_t from, const char *username, const char *html,
                  const char *plain, int64_t time, bool offline) {
    (void)userdata, (void)html, (void)time, (void)offline;
    printf("%s (%u): %s\n", username ? username : "?", from, plain);
}

static void on_login_failed(void *userdata, msim_login_failure why, uint32_t code, const char *text) {
    (void)userdata, (void)why, (void)code;
    fprintf(stderr, "login failed: %s\n", text); /* e.g. no server running on 127.0.0.1 */
    exit(1);
}

int main(void) {
    msim_callbacks cb = {0};
    cb.on_im_received = on_im;
    cb.on_login_failed = on_login_failed;
    msim_session_options opt;
    msim_session_options_init(&opt);
    opt.dispatch = MSIM_DISPATCH_POLL; /* callbacks run inside msim_session_dispatch() */
    msim_session *s = msim_session_new_ex(&cb, NULL, &opt);
    msim_session_connect(s, "127.0.0.1", 1863, "alice@example.com", "alicepw");
    msim_session_send_im(s, "bob", "<b>Hi</b> Bob!", NULL); /* queued until signed on */
    struct pollfd p = {msim_session_fd(s), POLLIN, 0};
    while (poll(&p, 1, -1) > 0) msim_session_dispatch(s);
    msim_session_free(s);
    return 0;
}

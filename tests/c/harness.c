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
#include "harness_common.h"

/* A session with the callbacks these scenarios check (harness_more.c registers the others);
 * poll_mode 1: poll-fd dispatch, 0: IO thread. */
static client *new_client(const char *name, int poll_mode) {
    const msim_callbacks cb = {.on_signed_on = on_signed_on, .on_login_failed = on_login_failed,
                               .on_disconnected = on_disconnected, .on_contact_list = on_contact_list,
                               .on_im_received = on_im_received, .on_typing = on_typing, .on_zap = on_zap,
                               .on_buddy_status = on_buddy_status, .on_error = on_error};
    return new_client_with(name, poll_mode, &cb);
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
    harness_start();
    char why[2200];
    int r;

    /* ---- two sessions in the two dispatch modes sign on ---- */
    client *a = new_client("A", 1), *b = new_client("B", 0);
    if (!ok(a->session && b->session, "sessions are created in poll-fd (A) and IO-thread (B) mode", NULL))
        bail("msim_session_new_ex failed");
    ok(msim_session_fd(a->session) >= 0 && msim_session_fd(b->session) == -1,
       "poll-fd mode has a dispatch fd, IO-thread mode has none (-1)", NULL);
    sign_on(a, host, port, argv[3], argv[4], "A signs on (poll-fd dispatch)");
    sign_on(b, host, port, argv[5], argv[6], "B signs on (IO-thread dispatch)");
    uint32_t uid_a = msim_session_get_uid(a->session), uid_b = msim_session_get_uid(b->session);
    char *name_a = NULL;
    ok(uid_a && uid_b && uid_a != uid_b && msim_session_get_state(a->session) == MSIM_SESSION_STATE_SIGNED_ON &&
           msim_session_get_username(a->session, &name_a) == MSIM_RESULT_OK && name_a,
       "signed-on sessions report state, uid and username", NULL);
    ok(msim_session_get_port(a->session) == port && msim_session_get_port(b->session) == port,
       "signed-on sessions report the port that worked", NULL);
    char to_a[16], to_b[16];
    snprintf(to_a, sizeof to_a, "%u", uid_a);
    snprintf(to_b, sizeof to_b, "%u", uid_b);
    WAIT(r, contact(a, uid_b) != NULL);
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
    sign_on(c, host, port, c_email, c_password, "C signs on (poll-fd dispatch)");
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

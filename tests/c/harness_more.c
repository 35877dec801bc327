/*
 * harness_more.c — the rest of the session C API from C, against a real msim-server, with the
 * TAP-like output and exit code of harness.c: every callback and operation harness.c does not reach.
 *
 * usage: harness_more HOST PORT FAKE_PORT
 *
 * The driver (tests/c_harness_more.rs) creates these accounts on the server at HOST:PORT:
 *   alice@example.com/alicepw "alice" (Alice)   lists bob
 *   bob@example.com/bobpw     "bob"   (Bob)     lists alice
 *   dave@example.com/davepw   "dave"  (Dave)    lists alice (so alice's import finds him)
 *   new@example.com/newpw     no username (Carol)
 * FAKE_PORT (on HOST) is a scripted server in the driver: it accepts fake@example.com/fakepw,
 * signs it on with an empty list, then sends two messages msim does not act on, a mood (bm 126)
 * and a profile (bm 124) message from uid 4243, and the SPEC §25 variants of S17.
 *
 * Sessions: A = alice (poll-fd dispatch, every callback and on_trace), B = bob (IO thread,
 * msim_session_new_ex), N = new (msim_session_new: IO thread, default options), F = fake (poll).
 * Check texts start with their scenario, S1..S17; docs/C_API_COVERAGE.md refers to them.
 * Every wait is bounded (HARNESS_WAIT_SECONDS, default 20).
 */
#include "harness_common.h"

/* A session with every callback (on_trace only when asked); mode as for new_client_with. */
static client *new_client(const char *name, int mode, int with_trace) {
    msim_callbacks cb = all_callbacks(with_trace);
    client *c = new_client_with(name, mode, &cb);
    if (!c->session) bail("cannot create a session");
    return c;
}

static const group_rec *group(const client *c, const char *name) {
    for (size_t i = 0; i < c->ngroups; i++)
        if (strcmp(c->groups[i].name, name) == 0) return &c->groups[i];
    return NULL;
}

/* Looks `who` up and waits for the answer: the result is in c->lk*. Also a round trip: the server
 * has handled everything `c` sent before. Returns the request id, 0 on failure. */
static uint32_t lookup(client *c, const char *who) {
    uint32_t req = 0;
    int r = 0;
    if (msim_session_lookup_user(c->session, who, &req) == MSIM_RESULT_OK) WAIT(r, c->lookups && c->lk_request == req);
    return r ? req : 0;
}

/* Username check/set; waits for on_username_result with that request id. */
static int username_op(client *c, int set, const char *name) {
    uint32_t req = 0;
    int r = 0;
    msim_result res = set ? msim_session_set_username(c->session, name, &req)
                          : msim_session_check_username(c->session, name, &req);
    if (res == MSIM_RESULT_OK && req) WAIT(r, c->username_results && c->ur_request == req);
    return r && strcmp(c->ur_name, name) == 0;
}

static char why[4096];

static size_t count(const char *hay, const char *needle) {
    size_t n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    return n;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s HOST PORT FAKE_PORT\n", argv[0]);
        return 125;
    }
    const char *host = argv[1];
    uint16_t port = (uint16_t)atoi(argv[2]);
    uint16_t fake_port = (uint16_t)atoi(argv[3]);
    harness_start();
    int r;
    uint32_t req = 0;

    /* ---- S1: every IM reported once: on_im_sent (queued or not), on_im_failed for an unknown name ---- */
    client *b = new_client("B", 0, 0);
    uint64_t id1 = 0, id2 = 0, id3 = 0;
    ok(msim_session_connect(b->session, host, port, "bob@example.com", "bobpw") == MSIM_RESULT_OK &&
           msim_session_get_state(b->session) != MSIM_SESSION_STATE_IDLE,
       "S1 B connects (IO-thread dispatch); the state leaves IDLE at once", NULL);
    ok(msim_session_send_im(b->session, "alice", "<b>queued</b> while connecting", &id1) == MSIM_RESULT_OK && id1,
       "S1 B sends an IM to offline alice by username while still connecting (queued, id given)", NULL);
    WAIT(r, b->signed_on || b->login_failed);
    if (!ok(r && b->signed_on, "S1 B signs on", NULL)) bail("B cannot sign on");
    WAIT(r, b->ims_sent >= 1);
    snprintf(why, sizeof why, "%d on_im_sent, first id %llu, sent id %llu", b->ims_sent,
             (unsigned long long)b->sent_ids[0], (unsigned long long)id1);
    ok(r && b->sent_ids[0] == id1, "S1 on_im_sent(id) once the queued IM went out after sign-on and the name lookup",
       why);
    ok(msim_session_send_im(b->session, "alice", "second, to a known name", &id2) == MSIM_RESULT_OK && id2 != id1,
       "S1 a second IM to the now known name is accepted with a new id", NULL);
    ok(msim_session_send_im(b->session, "no_such_user_x", "into the void", &id3) == MSIM_RESULT_OK,
       "S1 an IM to an unknown username is accepted (it waits for the lookup)", NULL);
    WAIT(r, b->ims_failed);
    ok(r && b->failed_id == id3 && b->failed_result == MSIM_RESULT_NO_SUCH_USER,
       "S1 on_im_failed(its id, MSIM_RESULT_NO_SUCH_USER)", NULL);
    WAIT(r, b->ims_sent >= 2);
    pthread_mutex_lock(&lock);
    int second_reported = r && b->ims_sent == 2 && b->sent_ids[1] == id2;
    pthread_mutex_unlock(&lock);
    ok(second_reported, "S1 the IM to the known name is reported once too: on_im_sent(its id)", NULL);
    uint32_t uid_b = msim_session_get_uid(b->session);
    char to_b[16], to_a[16];
    snprintf(to_b, sizeof to_b, "%u", uid_b);

    /* ---- S2: A signs on: progress, server info, own user info, offline IMs ---- */
    client *a = new_client("A", 1, 1);
    sign_on(a, host, port, "alice@example.com", "alicepw", "S2 A signs on (poll-fd dispatch, on_trace set)");
    uint32_t uid_a = msim_session_get_uid(a->session);
    snprintf(to_a, sizeof to_a, "%u", uid_a);
    pthread_mutex_lock(&lock);
    snprintf(why, sizeof why, "%d steps: %u/%u %u/%u %u/%u %u/%u, %d empty texts", a->nprogress, a->progress[0],
             a->progress_total[0], a->progress[1], a->progress_total[1], a->progress[2], a->progress_total[2],
             a->progress[3], a->progress_total[3], a->progress_text_empty);
    int steps_ok = a->nprogress == 4 && !a->progress_text_empty;
    for (int i = 0; i < a->nprogress && i < 4; i++)
        steps_ok &= a->progress[i] == (uint32_t)i + 1 && a->progress_total[i] == 4;
    ok(steps_ok, "S2 on_progress: steps 1, 2, 3, 4 of 4 in order, each with a text", why);
    snprintf(why, sizeof why, "%d calls, MaxContacts %s", a->server_infos, a->max_contacts);
    ok(a->server_infos >= 1 && strcmp(a->max_contacts, "1000") == 0,
       "S2 on_server_info at login, with the server's MaxContacts=1000", why);
    const info_rec *own = NULL;
    for (int i = 0; i < a->ninfos; i++)
        if (a->infos[i].uid == uid_a) own = &a->infos[i];
    snprintf(why, sizeof why, "%d infos; own: %s/%s", a->ninfos, own ? own->username : "-", own ? own->display_name : "-");
    ok(uid_a && own && strcmp(own->username, "alice") == 0 && strcmp(own->display_name, "Alice") == 0,
       "S2 on_user_info: A's own info at sign-on (uid, username alice, display name Alice)", why);
    pthread_mutex_unlock(&lock);
    WAIT(r, a->offline_ims >= 2);
    snprintf(why, sizeof why, "%d IMs, %d offline, last from %u: %s", a->ims, a->offline_ims, a->im_from, a->im_plain);
    ok(r && a->ims == 2 && a->im_from == uid_b && strcmp(a->im_plain, "second, to a known name") == 0,
       "S2 both IMs B sent to alice arrive at her login, flagged offline; the unknown name's did not", why);

    /* ---- S3: check_mail → on_mail_alert (the server's Mail=On after offline IMs) ---- */
    ok(msim_session_check_mail(a->session) == MSIM_RESULT_OK, "S3 A checks mail (periodic checks are disabled)", NULL);
    WAIT(r, a->mails);
    snprintf(why, sizeof why, "%d alerts, new %u, all %u", a->mails, a->mail_new, a->mail_all);
    ok(r && a->mail_new == MSIM_MAIL_FLAG_MAIL && a->mail_all == MSIM_MAIL_FLAG_MAIL,
       "S3 on_mail_alert(new MAIL, all MAIL): offline IMs were delivered at this login", why);
    msim_session_check_mail(a->session);
    ok(lookup(a, "bob") && get(&a->mails) == 1, "S3 a second check reports nothing new: no second on_mail_alert", NULL);
    msim_session_check_mail(b->session);
    ok(lookup(b, "alice") && get(&b->mails) == 0, "S3 B had no offline IMs: its check_mail gives no on_mail_alert",
       NULL);

    /* ---- S4: lookups by id, username and e-mail ---- */
    const char *keys[] = {to_b, "bob", "BOB@example.com"};
    for (int i = 0; i < 3; i++) {
        req = lookup(a, keys[i]);
        pthread_mutex_lock(&lock);
        snprintf(why, sizeof why, "request %u, result %d, found %d: %u %s %s friends %lld", req, (int)a->lk_result,
                 a->lk_found, a->lk.uid, a->lk.username, a->lk.display_name, (long long)a->lk.total_friends);
        char what[160];
        snprintf(what, sizeof what,
                 "S4 lookup_user(%s): on_lookup_result with its request id, uid, username bob, display name Bob, "
                 "total friends %s",
                 keys[i], i == 0 ? "1 (by id)" : "-1 (unknown by name)");
        ok(req && a->lk_result == MSIM_RESULT_OK && a->lk_found && a->lk.uid == uid_b &&
               strcmp(a->lk.username, "bob") == 0 && strcmp(a->lk.display_name, "Bob") == 0 &&
               a->lk.total_friends == (i == 0 ? 1 : -1),
           what, why);
        pthread_mutex_unlock(&lock);
    }
    req = lookup(a, "no_such_user_x");
    ok(req && a->lk_result == MSIM_RESULT_OK && !a->lk_found, "S4 an unknown username: on_lookup_result(OK, NULL)",
       NULL);

    /* ---- S5: an account without a username chooses one ---- */
    client *n = new_client("N", 2, 0);
    ok(msim_session_fd(n->session) == -1, "S5 msim_session_new gives an IO-thread session (no dispatch fd)", NULL);
    ok(msim_session_connect(n->session, host, port, "new@example.com", "newpw") == MSIM_RESULT_OK,
       "S5 N (no username yet) connects", NULL);
    WAIT(r, n->username_required || n->signed_on || n->login_failed);
    uint32_t uid_n = msim_session_get_uid(n->session);
    snprintf(why, sizeof why, "required %d (uid %u), signed on %d, get_uid %u", n->username_required,
             n->required_uid, n->signed_on, uid_n);
    ok(r && n->username_required == 1 && !n->signed_on && uid_n && n->required_uid == uid_n,
       "S5 on_username_required(its uid); no on_signed_on yet", why);
    snprintf(why, sizeof why, "state %d, %d progress steps at the callback",
             (int)msim_session_get_state(n->session), n->progress_at_required);
    ok(msim_session_get_state(n->session) == MSIM_SESSION_STATE_CHOOSING_USERNAME && n->progress_at_required == 3,
       "S5 state CHOOSING_USERNAME; progress stopped after step 3", why);
    char *name = (char *)why; /* must become NULL */
    ok(msim_session_get_username(n->session, &name) == MSIM_RESULT_OK && name == NULL,
       "S5 msim_session_get_username writes NULL while the account has none", NULL);
    ok(username_op(n, 0, "bob") && n->ur_result == MSIM_USERNAME_RESULT_TAKEN,
       "S5 check_username(bob): on_username_result(same request id, bob, TAKEN)", NULL);
    ok(username_op(n, 0, "free_name") && n->ur_result == MSIM_USERNAME_RESULT_AVAILABLE,
       "S5 check_username(free_name): AVAILABLE", NULL);
    ok(username_op(n, 1, "alice") && n->ur_result == MSIM_USERNAME_RESULT_FAILED && n->ur_text[0] &&
           msim_session_get_state(n->session) == MSIM_SESSION_STATE_CHOOSING_USERNAME,
       "S5 set_username(alice), taken: FAILED with a reason; still choosing", n->ur_text);
    ok(username_op(n, 1, "free_name") && n->ur_result == MSIM_USERNAME_RESULT_SET,
       "S5 set_username(free_name): SET", NULL);
    WAIT(r, n->signed_on);
    snprintf(why, sizeof why, "signed on as %s, %d progress steps, last %u", n->signed_name, n->nprogress,
             n->nprogress ? n->progress[n->nprogress - 1] : 0);
    ok(r && strcmp(n->signed_name, "free_name") == 0 && n->nprogress == 4 && n->progress[3] == 4,
       "S5 sign-on continues: progress step 4, on_signed_on(free_name)", why);
    name = NULL;
    ok(msim_session_get_username(n->session, &name) == MSIM_RESULT_OK && name && strcmp(name, "free_name") == 0,
       "S5 msim_session_get_username gives free_name", NULL);
    msim_string_free(name);
    ok(msim_session_set_username(n->session, "other_name", NULL) == MSIM_RESULT_WRONG_STATE,
       "S5 set_username on an account that has one: MSIM_RESULT_WRONG_STATE", NULL);
    sign_off(n);
    ok(msim_session_get_state(n->session) == MSIM_SESSION_STATE_IDLE, "S5 N signs off: state IDLE", NULL);
    sign_on(n, host, port, "new@example.com", "newpw", "S5 N signs on again");
    ok(get(&n->username_required) == 1 && strcmp(n->signed_name, "free_name") == 0,
       "S5 the next login uses free_name: no second on_username_required", n->signed_name);
    req = lookup(a, "free_name");
    snprintf(why, sizeof why, "found %d: %u %s", a->lk_found, a->lk.uid, a->lk.display_name);
    ok(req && a->lk_found && a->lk.uid == uid_n && strcmp(a->lk.display_name, "Carol") == 0,
       "S5 A finds the new user by the new name (uid, display name Carol)", why);

    /* ---- S6: import, remove, add, contact info ---- */
    ok(lookup(a, "dave@example.com") && a->lk_found, "S6 A looks dave up by e-mail", NULL);
    uint32_t uid_d = a->lk.uid;
    char to_d[16];
    snprintf(to_d, sizeof to_d, "%u", uid_d);
    int lists = get(&a->contact_lists);
    ok(msim_session_import_friends(a->session, &req) == MSIM_RESULT_OK && req, "S6 A imports friends", NULL);
    WAIT(r, a->imports);
    pthread_mutex_lock(&lock);
    snprintf(why, sizeof why, "result %d, count %u, %zu contacts, %d lists", (int)a->import_result, a->import_count,
             a->ncontacts, a->contact_lists);
    ok(r && a->import_result == MSIM_RESULT_OK && a->contact_lists == lists + 1 && contact(a, uid_d) &&
           contact(a, uid_b) && a->import_count == a->ncontacts && a->ncontacts == 2,
       "S6 on_contact_list with dave (who lists alice), then on_import_result(OK, the list's size 2)", why);
    pthread_mutex_unlock(&lock);
    ok(msim_session_remove_buddy(a->session, "dave") == MSIM_RESULT_OK, "S6 A removes dave", NULL);
    WAIT(r, a->removed);
    ok(r && a->removed_uid == uid_d && strcmp(a->removed_name, "dave") == 0,
       "S6 on_buddy_removed(dave's uid, dave)", a->removed_name);
    ok(msim_session_add_buddy(a->session, "dave", "Work") == MSIM_RESULT_OK, "S6 A adds dave to group Work", NULL);
    WAIT(r, a->added);
    snprintf(why, sizeof why, "%u %s %s", a->added_uid, a->added_name, a->added_group);
    ok(r && a->added_uid == uid_d && strcmp(a->added_name, "dave") == 0 && strcmp(a->added_group, "Work") == 0,
       "S6 on_buddy_added(dave's uid, dave, Work)", why);
    ok(msim_session_set_contact_info(a->session, "dave", "Pals", "Davey") == MSIM_RESULT_OK,
       "S6 A sets dave's group Pals and nickname Davey (checked after re-login, S8)", NULL);
    int errors = get(&a->errors);
    ok(msim_session_set_contact_info(a->session, "4000000000", NULL, NULL) == MSIM_RESULT_OK,
       "S6 set_contact_info for a uid that does not exist is accepted", NULL);
    WAIT(r, a->errors > errors);
    ok(r && a->error_result == MSIM_RESULT_SERVER_ERROR, "S6 ... and fails through on_error(MSIM_RESULT_SERVER_ERROR)",
       NULL);

    /* ---- S7: block, unblock ---- */
    ok(msim_session_block(a->session, "bob") == MSIM_RESULT_OK, "S7 A blocks bob", NULL);
    WAIT(r, a->blocks);
    ok(r && a->blocked_uid == uid_b && strcmp(a->blocked_name, "bob") == 0 && a->blocked,
       "S7 on_buddy_blocked(bob's uid, bob, true)", NULL);
    lookup(a, to_b); /* the server has handled the block list change */
    int ims = get(&a->ims);
    msim_session_send_im(b->session, to_a, "let me in", NULL);
    ok(lookup(b, to_a) != 0, "S7 B sends A an IM (and a lookup: the server has handled the IM)", NULL);
    WAIT_FOR(r, 1.0, a->ims > ims);
    ok(!r, "S7 the blocked user's IM is not delivered (nothing within 1 s after)", a->im_plain);

    /* ---- S8: re-login shows contact info and the block; unblock; remove ---- */
    sign_off(a);
    ok(msim_session_get_state(a->session) == MSIM_SESSION_STATE_IDLE, "S8 A signs off: state IDLE", NULL);
    sign_on(a, host, port, "alice@example.com", "alicepw", "S8 A signs on again on the same session");
    pthread_mutex_lock(&lock);
    const contact_rec *cd = contact(a, uid_d), *cb = contact(a, uid_b);
    snprintf(why, sizeof why, "dave: %s/%s/%d, bob: %s/%d", cd ? cd->group : "-", cd ? cd->nickname : "-",
             cd ? cd->blocked : -1, cb ? cb->group : "-", cb ? cb->blocked : -1);
    ok(cd && strcmp(cd->group, "Pals") == 0 && strcmp(cd->nickname, "Davey") == 0 && !cd->blocked,
       "S8 the contact list has dave in group Pals with nickname Davey (set_contact_info)", why);
    ok(cb && cb->blocked, "S8 ... and bob as blocked", why);
    pthread_mutex_unlock(&lock);
    int blocks = get(&a->blocks);
    ok(msim_session_unblock(a->session, "bob") == MSIM_RESULT_OK, "S8 A unblocks bob", NULL);
    WAIT(r, a->blocks > blocks);
    ok(r && a->blocked_uid == uid_b && strcmp(a->blocked_name, "bob") == 0 && !a->blocked,
       "S8 on_buddy_blocked(bob's uid, bob, false)", NULL);
    lookup(a, to_b);
    ims = get(&a->ims);
    msim_session_send_im(b->session, to_a, "thanks", NULL);
    WAIT(r, a->ims > ims);
    ok(r && a->im_from == uid_b && strcmp(a->im_plain, "thanks") == 0, "S8 bob's IMs arrive again", a->im_plain);
    int removed = get(&a->removed);
    ok(msim_session_remove_buddy(a->session, to_d) == MSIM_RESULT_OK, "S8 A removes dave again, by uid", NULL);
    WAIT(r, a->removed > removed);
    ok(r && a->removed_uid == uid_d && strcmp(a->removed_name, "dave") == 0, "S8 on_buddy_removed(dave)", NULL);
    /* Blocking took bob off the buddy list and unblocking deleted the block marker (SPEC §18.3, as
     * Pidgin does): he is re-added, into the default group. */
    int added = get(&a->added);
    ok(msim_session_add_buddy(a->session, "bob", NULL) == MSIM_RESULT_OK, "S8 A adds bob back (group NULL)", NULL);
    WAIT(r, a->added > added);
    ok(r && a->added_uid == uid_b && strcmp(a->added_name, "bob") == 0 && strcmp(a->added_group, "IM Friends") == 0,
       "S8 on_buddy_added(bob's uid, bob, IM Friends)", a->added_group);
    sign_off(a);
    sign_on(a, host, port, "alice@example.com", "alicepw", "S8 A signs on a third time");
    pthread_mutex_lock(&lock);
    cb = contact(a, uid_b);
    snprintf(why, sizeof why, "%zu contacts; dave %d; bob %s/%d", a->ncontacts, contact(a, uid_d) != NULL,
             cb ? cb->group : "-", cb ? cb->blocked : -1);
    ok(!contact(a, uid_d), "S8 dave is no longer on the contact list", why);
    ok(cb && !cb->blocked && strcmp(cb->group, "IM Friends") == 0, "S8 bob is listed again, in IM Friends, not blocked",
       why);
    pthread_mutex_unlock(&lock);

    /* ---- S9: groups ---- */
    req = 0;
    ok(msim_session_request_groups(a->session, &req) == MSIM_RESULT_OK && req, "S9 A requests its groups", NULL);
    WAIT(r, a->group_lists);
    pthread_mutex_lock(&lock);
    why[0] = '\0';
    for (size_t i = 0; i < a->ngroups; i++) {
        size_t l = strlen(why);
        snprintf(why + l, sizeof why - l, "%s/%u/%u ", a->groups[i].name, a->groups[i].position, a->groups[i].flags);
    }
    const group_rec *g1 = group(a, "IM Friends"), *g2 = group(a, "MySpaceIM Rooms"), *g3 = group(a, "Recent Contacts");
    ok(r && g1 && g1->position == 1 && g1->flags == 131073 && g2 && g2->position == 2 && g2->flags == 196612 && g3 &&
           g3->position == 3 && g3->flags == 196610,
       "S9 on_groups: the server's defaults IM Friends/1/131073, MySpaceIM Rooms/2/196612, Recent Contacts/3/196610",
       why);
    ok(group(a, "Work") && group(a, "Pals"), "S9 ... and Work and Pals, named in S6's contact writes", why);
    pthread_mutex_unlock(&lock);

    /* ---- S10: A's trace over three logins ---- */
    pthread_mutex_lock(&lock);
    const char *t = a->trace ? a->trace : "";
    snprintf(why, sizeof why, "%d in, %d out, %d not whole frames", a->traces_in, a->traces_out, a->bad_traces);
    ok(a->traces_in > 20 && a->traces_out > 20 && a->bad_traces == 0,
       "S10 on_trace: frames in and out, each one whole wire message (\\...\\final\\)", why);
    ok(strstr(t, "\\bm\\1\\") && strstr(t, "\\persist\\1\\") && strstr(t, "\\lc\\2\\"),
       "S10 the trace has the IMs, persist requests and the login reply", NULL);
    size_t logins = count(t, "\\login2\\"), redacted = count(t, "\\response\\[redacted]\\");
    snprintf(why, sizeof why, "%zu login2, %zu redacted responses", logins, redacted);
    ok(logins == 3 && redacted == 3, "S10 each of the 3 login2 frames shows its response as [redacted]", why);
    ok(!strstr(t, "alicepw"), "S10 the password never appears", NULL);
    /* Recompute each login's response from the traced challenge: it must not be in the trace. */
    size_t challenges = 0, leaks = 0;
    for (const char *p = strstr(t, "\\nc\\"); p; p = strstr(p + 4, "\\nc\\")) {
        char nc[256], *resp = NULL; /* top-level base64 is not escaped on the wire (SPEC §3) */
        const char *end = strchr(p + 4, '\\');
        snprintf(nc, sizeof nc, "%.*s", (int)(end ? end - (p + 4) : 0), p + 4);
        if (msim_login_response(nc, "alice@example.com", "alicepw", &resp) != MSIM_RESULT_OK) continue;
        challenges++;
        leaks += strstr(t, resp) != NULL;
        msim_string_free(resp);
    }
    snprintf(why, sizeof why, "%zu challenges, %zu responses found", challenges, leaks);
    ok(challenges == 3 && leaks == 0,
       "S10 no login response (recomputed with msim_login_response from each traced challenge) is in the trace", why);
    pthread_mutex_unlock(&lock);

    /* ---- S11: on_unhandled, from the driver's scripted server ---- */
    msim_callbacks fcb = all_callbacks(0);
    fcb.on_buddy_status_ex = on_buddy_status_ex; /* S17: instead of on_buddy_status */
    fcb.on_group_chat = on_group_chat;
    client *f = new_client_with("F", 1, &fcb);
    if (!f->session) bail("cannot create a session");
    sign_on(f, host, fake_port, "fake@example.com", "fakepw", "S11 F signs on at the scripted server");
    WAIT(r, f->unhandled >= 2);
    ok(r && f->unhandled == 2 && strstr(f->unhandled_frames, "\\futurekind\\1\\greeting\\hello\\final\\\n") &&
           strstr(f->unhandled_frames, "\\persistr\\") && strstr(f->unhandled_frames, "\\rid\\999999\\"),
       "S11 on_unhandled: an unknown message kind and a persist reply nobody asked for, as wire text",
       f->unhandled_frames);
    WAIT(r, f->notices >= 2);

    /* ---- S17: SPEC §25 variants at S11's scripted server ---- */
    WAIT(r, f->statuses_ex >= 1);
    pthread_mutex_lock(&lock);
    snprintf(why, sizeof why, "%d: uid %u code %u presence %d %s/%s ts %lld caps %s, on_buddy_status %d",
             f->statuses_ex, f->sx_uid, f->sx_code, (int)f->sx_presence, f->sx_username, f->sx_headline,
             (long long)f->sx_ts, f->sx_caps, f->statuses);
    ok(r && f->sx_uid == 4243 && f->sx_code == 5 && f->sx_presence == MSIM_PRESENCE_AWAY &&
           strcmp(f->sx_username, "(null)") == 0 && strcmp(f->sx_headline, "away/afk") == 0 &&
           f->sx_ts == 1262304000 && strcmp(f->sx_caps, "557056") == 0 && f->statuses == 0,
       "S17 on_buddy_status_ex(4243, AWAY, code 5, \"away/afk\", ts 1262304000, caps \"557056\"); "
       "on_buddy_status is not called",
       why);
    pthread_mutex_unlock(&lock);
    WAIT(r, f->chats >= 2);
    pthread_mutex_lock(&lock);
    snprintf(why, sizeof why, "%d chats: %u/%u/%u %d %s %s html %d; %u/%u %d %s; %d IMs", f->chats, f->chat[0].gid,
             f->chat[0].from, f->chat[0].actor, (int)f->chat[0].kind, f->chat[0].username, f->chat[0].plain,
             f->chat[0].html_has_text, f->chat[1].gid, f->chat[1].actor, (int)f->chat[1].kind, f->chat[1].plain, f->ims);
    ok(r && f->chats == 2 && f->chat[0].gid == 77 && f->chat[0].from == 4243 && f->chat[0].actor == 4244 &&
           f->chat[0].kind == MSIM_GROUP_CHAT_KIND_MESSAGE && strcmp(f->chat[0].plain, "hi all") == 0 &&
           f->chat[0].html_has_text && strcmp(f->chat[0].username, "(null)") == 0 && f->chat[1].gid == 77 &&
           f->chat[1].actor == 4243 && f->chat[1].kind == MSIM_GROUP_CHAT_KIND_LEFT && strcmp(f->chat[1].plain, "") == 0 &&
           f->ims == 0,
       "S17 on_group_chat(77, actor 4244, MESSAGE, \"hi all\"), then (77, actor 4243, LEFT); no on_im_received", why);
    pthread_mutex_unlock(&lock);
    /* Group rename and delete by id; the scripted server checks the bytes and answers as SPEC says. */
    uint32_t rreq = 0, dreq = 0;
    ok(msim_session_rename_group(f->session, 25760888, "Old Friends", &rreq) == MSIM_RESULT_OK && rreq,
       "S17 F renames group 25760888 to \"Old Friends\"", NULL);
    WAIT(r, f->groups_saved && f->gs_request == rreq);
    snprintf(why, sizeof why, "%d: %d %u %s text empty %d", f->groups_saved, (int)f->gs_result, f->gs.id, f->gs.name,
             f->gs_text_empty);
    ok(r && f->gs_result == MSIM_RESULT_OK && f->gs.id == 25760888 && strcmp(f->gs.name, "Old Friends") == 0 &&
           f->gs_text_empty,
       "S17 on_group_saved(its request id, OK, group 25760888 \"Old Friends\", \"\")", why);
    ok(msim_session_remove_group(f->session, 25760888, &dreq) == MSIM_RESULT_OK && dreq && dreq != rreq,
       "S17 F removes group 25760888", NULL);
    WAIT(r, f->groups_removed && f->gr_request == dreq);
    snprintf(why, sizeof why, "%d: %u %d", f->groups_removed, f->gr_id, (int)f->gr_result);
    ok(r && f->gr_id == 25760888 && f->gr_result == MSIM_RESULT_OK && f->gr_text_empty,
       "S17 on_group_removed(its request id, 25760888, OK, \"\")", why);
    ok(msim_session_rename_group(f->session, 0, "x", NULL) == MSIM_RESULT_INVALID_ARGUMENT &&
           msim_session_rename_group(f->session, 1, "", NULL) == MSIM_RESULT_INVALID_ARGUMENT &&
           msim_session_remove_group(f->session, 0, NULL) == MSIM_RESULT_INVALID_ARGUMENT,
       "S17 group id 0 or an empty name: MSIM_RESULT_INVALID_ARGUMENT", NULL);
    sign_off(f);

    /* ---- S12: privacy: ShowOnlyToList hides A from N (not on A's list) until A permits N ---- */
    pthread_mutex_lock(&lock);
    snprintf(why, sizeof why, "%d calls, last %d/%u/%u", a->privacies, a->priv_show, a->priv_mode, a->priv_offline);
    ok(a->privacies == 3 && !a->priv_show && a->priv_mode == 0 && a->priv_offline == 1,
       "S12 on_privacy at each of A's 3 sign-ons: ShowOnlyToList off, PrivacyMode 0, OfflineMessageMode 1", why);
    pthread_mutex_unlock(&lock);
    int nadded = get(&n->added);
    ok(msim_session_add_buddy(n->session, "alice", NULL) == MSIM_RESULT_OK, "S12 N adds alice", NULL);
    WAIT(r, n->added > nadded && n->status_uid == uid_a && n->status_presence == MSIM_PRESENCE_ONLINE);
    ok(r, "S12 ... and sees her online", NULL);
    ok(msim_session_set_privacy(a->session, true, false) == MSIM_RESULT_OK, "S12 A sets ShowOnlyToList on", NULL);
    WAIT(r, n->status_uid == uid_a && n->status_presence == MSIM_PRESENCE_OFFLINE);
    ok(r, "S12 N is not on A's list: A looks offline to N at once", NULL);
    ok(msim_session_permit(a->session, "free_name") == MSIM_RESULT_OK, "S12 A permits N by username", NULL);
    WAIT(r, n->status_uid == uid_a && n->status_presence == MSIM_PRESENCE_ONLINE);
    ok(r, "S12 permitted (a+): N sees A online again", NULL);
    char to_n[16];
    snprintf(to_n, sizeof to_n, "%u", uid_n);
    ok(msim_session_unpermit(a->session, to_n) == MSIM_RESULT_OK, "S12 A unpermits N by uid", NULL);
    WAIT(r, n->status_uid == uid_a && n->status_presence == MSIM_PRESENCE_OFFLINE);
    ok(r, "S12 unpermitted (a-): A looks offline to N again", NULL);
    ok(msim_session_set_privacy(a->session, false, true) == MSIM_RESULT_OK,
       "S12 A sets ShowOnlyToList off and PrivacyMode bit 0 on", NULL);
    WAIT(r, n->status_uid == uid_a && n->status_presence == MSIM_PRESENCE_ONLINE);
    ok(r, "S12 ShowOnlyToList off: N sees A online", NULL);
    sign_off(a);
    sign_on(a, host, port, "alice@example.com", "alicepw", "S12 A signs on a fourth time");
    pthread_mutex_lock(&lock);
    snprintf(why, sizeof why, "%d calls, last %d/%u/%u", a->privacies, a->priv_show, a->priv_mode, a->priv_offline);
    ok(a->privacies == 4 && !a->priv_show && a->priv_mode == 1,
       "S12 on_privacy reports the stored settings: ShowOnlyToList off, PrivacyMode 1", why);
    pthread_mutex_unlock(&lock);

    /* ---- S13: saving a group ---- */
    req = 0;
    ok(msim_session_save_group(a->session, "Games", 9, 0, &req) == MSIM_RESULT_OK && req,
       "S13 A saves group Games at position 9 (flags left out)", NULL);
    WAIT(r, a->groups_saved && a->gs_request == req);
    pthread_mutex_lock(&lock);
    snprintf(why, sizeof why, "result %d, group %d: %s/%u/%u", (int)a->gs_result, a->gs_has_group, a->gs.name,
             a->gs.position, a->gs.flags);
    ok(r && a->gs_result == MSIM_RESULT_OK && a->gs_has_group && a->gs_text_empty && strcmp(a->gs.name, "Games") == 0 &&
           a->gs.position == 9 && a->gs.flags == 0,
       "S13 on_group_saved(its request id, OK, the echoed group Games/9, \"\")", why);
    pthread_mutex_unlock(&lock);
    ok(msim_session_save_group(a->session, "", 1, 1, NULL) == MSIM_RESULT_INVALID_ARGUMENT,
       "S13 an empty group name: MSIM_RESULT_INVALID_ARGUMENT", NULL);
    int glists = get(&a->group_lists);
    msim_session_request_groups(a->session, NULL);
    WAIT(r, a->group_lists > glists);
    pthread_mutex_lock(&lock);
    const group_rec *games = group(a, "Games");
    snprintf(why, sizeof why, "Games: %u/%u", games ? games->position : 0, games ? games->flags : 0);
    ok(r && games && games->position == 9 && games->flags == 131073,
       "S13 the next on_groups lists Games at position 9 with the server's default flags 131073", why);
    pthread_mutex_unlock(&lock);

    /* ---- S14: web challenge ---- */
    ok(msim_session_request_web_challenge(a->session) == MSIM_RESULT_OK, "S14 A requests a web challenge", NULL);
    WAIT(r, a->web_challenges);
    pthread_mutex_lock(&lock);
    snprintf(why, sizeof why, "%zu pairs: %llu/%zu bytes, %llu/%zu bytes", a->nchallenges,
             (unsigned long long)a->ch_value[0], a->ch_len[0], (unsigned long long)a->ch_value[1], a->ch_len[1]);
    ok(r && a->nchallenges == 2 && a->ch_len[0] == 64 && a->ch_len[1] == 64 && a->ch_value[0] >= 1000000000ULL &&
           a->ch_value[1] >= 1000000000ULL && a->ch_distinct,
       "S14 on_web_challenge: 2 pairs of a 10-digit challenge and 64 distinct decoded bytes", why);
    pthread_mutex_unlock(&lock);

    /* ---- S15: window opened (bm 122) and client version (bm 200); mood and profile (S11's server) ---- */
    int typing_on = get(&b->typing_on), typing_off = get(&b->typing_off);
    ok(msim_session_send_window_opened(a->session, "bob") == MSIM_RESULT_OK, "S15 A tells B it opened a window",
       NULL);
    WAIT(r, b->typing_on > typing_on && b->typing_off > typing_off);
    ok(r && b->typing_from == uid_a, "S15 B gets on_typing(true) then on_typing(false) from A", NULL);
    ok(msim_session_send_client_version(a->session, "bob", NULL) == MSIM_RESULT_OK,
       "S15 A sends B its client version (NULL = msim's own)", NULL);
    ok(msim_session_send_client_version(a->session, "bob", "final") == MSIM_RESULT_INVALID_ARGUMENT,
       "S15 a client version of exactly \"final\": MSIM_RESULT_INVALID_ARGUMENT", NULL);
    WAIT(r, b->notices);
    char want[64];
    snprintf(want, sizeof want, "msim %s", msim_version());
    pthread_mutex_lock(&lock);
    snprintf(why, sizeof why, "%d notices, first %u %s kind %d: %s", b->notices, b->notice[0].from,
             b->notice[0].username, (int)b->notice[0].kind, b->notice[0].text);
    ok(r && b->notices == 1 && b->notice[0].from == uid_a && strcmp(b->notice[0].username, "alice") == 0 &&
           b->notice[0].kind == MSIM_NOTICE_KIND_CLIENT_VERSION && strcmp(b->notice[0].text, want) == 0,
       "S15 on_buddy_notice(A's uid, alice, CLIENT_VERSION, \"msim <version>\")", why);
    snprintf(why, sizeof why, "%d notices: %u %d %s / %u %d %s", f->notices, f->notice[0].from,
             (int)f->notice[0].kind, f->notice[0].text, f->notice[1].from, (int)f->notice[1].kind, f->notice[1].text);
    ok(f->notices == 2 && f->notice[0].from == 4243 && f->notice[0].kind == MSIM_NOTICE_KIND_MOOD &&
           strcmp(f->notice[0].text, "feeling fine") == 0 && strcmp(f->notice[0].username, "(null)") == 0 &&
           f->notice[1].kind == MSIM_NOTICE_KIND_PROFILE && strcmp(f->notice[1].text, "") == 0,
       "S15 S11's scripted server: on_buddy_notice(4243, NULL, MOOD, \"feeling fine\"), then PROFILE with \"\"", why);
    pthread_mutex_unlock(&lock);

    /* ---- S16: own profile (setinfo): B looks A up; B, who lists A, gets the headline as presence ---- */
    msim_profile prof = {0};
    prof.display_name = "Alice Liddell";
    prof.headline = "down the rabbit hole";
    prof.band = "The White Rabbits";
    prof.song = "Late = Late | Late/Later";
    ok(msim_session_set_profile(a->session, &prof) == MSIM_RESULT_OK,
       "S16 A sets display name, headline, band and song (image URL left as it is)", NULL);
    WAIT(r, b->status_uid == uid_a && strcmp(b->status_headline, "down the rabbit hole") == 0);
    pthread_mutex_lock(&lock);
    snprintf(why, sizeof why, "last status: uid %u, presence %d, headline %s", b->status_uid,
             (int)b->status_presence, b->status_headline);
    ok(r && b->status_presence == MSIM_PRESENCE_ONLINE,
       "S16 B (lists A) gets on_buddy_status(A, ONLINE, the new headline)", why);
    pthread_mutex_unlock(&lock);
    req = lookup(b, "alice");
    pthread_mutex_lock(&lock);
    snprintf(why, sizeof why, "found %d: %s / %s / %s / %s / %s", b->lk_found, b->lk.display_name, b->lk.band,
             b->lk.song, b->lk.headline, b->lk.image_url);
    ok(req && b->lk_found && b->lk.uid == uid_a && strcmp(b->lk.display_name, "Alice Liddell") == 0 &&
           strcmp(b->lk.band, "The White Rabbits") == 0 && strcmp(b->lk.song, "Late = Late | Late/Later") == 0 &&
           strcmp(b->lk.headline, "(null)") == 0 && strcmp(b->lk.image_url, "(null)") == 0,
       "S16 B's lookup of alice: the new display name, band and song; no headline in lookups (SPEC 7.5), no image",
       why);
    pthread_mutex_unlock(&lock);
    msim_profile clear = {0};
    clear.band = "";
    ok(msim_session_set_profile(a->session, &clear) == MSIM_RESULT_OK, "S16 A clears the band (\"\")", NULL);
    lookup(a, "alice"); /* a round trip on A's connection: the server has handled the setinfo */
    req = lookup(b, "alice");
    pthread_mutex_lock(&lock);
    snprintf(why, sizeof why, "%s / %s / %s", b->lk.display_name, b->lk.band, b->lk.song);
    ok(req && strcmp(b->lk.band, "(null)") == 0 && strcmp(b->lk.song, "Late = Late | Late/Later") == 0 &&
           strcmp(b->lk.display_name, "Alice Liddell") == 0,
       "S16 ... B's next lookup: no band; the song and display name unchanged (NULL members)", why);
    pthread_mutex_unlock(&lock);
    msim_profile bad = {0};
    bad.headline = "final";
    ok(msim_session_set_profile(a->session, &bad) == MSIM_RESULT_INVALID_ARGUMENT &&
           msim_session_set_profile(a->session, NULL) == MSIM_RESULT_NULL_PARAMETER,
       "S16 a headline of exactly \"final\": INVALID_ARGUMENT; a NULL profile: NULL_PARAMETER", NULL);

    /* ---- the end ---- */
    sign_off(b);
    msim_session_free(a->session); /* still signed on: free logs out */
    msim_session_free(b->session);
    msim_session_free(n->session);
    msim_session_free(f->session);
    free(a->trace);
    ok(1, "all sessions freed", NULL);
    printf("1..%d\n", checks);
    return failures;
}

/*
 * A libpurple null client (after libpurple/example/nullclient.c) that loads prpl-msim from a
 * plugin directory and exercises it against a running msim-server. Driven by
 * tests/purple_harness.rs, which starts the server and acts on the lines this program prints
 * starting with "# harness:" (sign B on elsewhere, stop the server, change B's picture, let C list
 * A, check A's contact record of B in the server's database).
 *
 *   purple_harness HOST PORT PLUGIN_DIR USER_DIR  A_EMAIL A_PASS A_NAME  B_EMAIL B_PASS B_NAME
 *                  C_EMAIL C_PASS C_NAME  D_EMAIL D_PASS  E_EMAIL E_PASS
 *
 * A and B list each other as contacts on the server; C is on nobody's list; D and E have no
 * username yet (D chooses one, E cancels). Environment: HARNESS_B_PICTURE and
 * HARNESS_B_PICTURE2 (files: B's picture now and after the change), HARNESS_B_UID,
 * HARNESS_ICON_DATADIR. Every check prints "ok N - what" or "not ok N - what (why)"; the exit code
 * is the number of failures (a crash or the overall alarm is a failure too). HARNESS_DEBUG=1
 * prints libpurple's debug log on stderr. The files of the harness: purple_harness.h.
 */
#include <signal.h>
#include <unistd.h>

#include "purple_harness.h"

#define OVERALL_SECONDS 150

static void alias_set(PurpleAccount *acc, const char *alias) {
    (void)acc;
    st.alias_answers++;
    st.alias_ok = alias != NULL && strcmp(alias, "Bobby Tables") == 0;
}

static void alias_failed(PurpleAccount *acc, const char *error) {
    (void)acc;
    st.alias_answers++;
    printf("# set_public_alias failed: %s\n", error);
}

static gboolean tick(gpointer d) {
    (void)d;
    return TRUE; /* keeps the loop waking up so that deadlines are noticed */
}


int main(int argc, char **argv) {
    if (argc != 18) {
        fprintf(stderr, "usage: %s HOST PORT PLUGIN_DIR USER_DIR A_EMAIL A_PASS A_NAME B_EMAIL B_PASS B_NAME "
                        "C_EMAIL C_PASS C_NAME D_EMAIL D_PASS E_EMAIL E_PASS\n", argv[0]);
        return 100;
    }
    const char *host = argv[1];
    int port = atoi(argv[2]);
    const char *plugin_dir = argv[3], *user_dir = argv[4];
    st.a_name = argv[7];
    st.b_name = argv[10];
    st.c_name = argv[13];
    harness_init_state();
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    alarm(OVERALL_SECONDS); /* the default action ends the process: a hang is a failure */

    GMainLoop *loop = g_main_loop_new(NULL, FALSE);
    (void)loop;
    g_timeout_add(50, tick, NULL);

    purple_util_set_user_dir(user_dir);
    harness_set_ui_ops();
    purple_plugins_add_search_path(plugin_dir);
    if (!purple_core_init(UI_ID)) {
        printf("not ok 1 - libpurple core init\n");
        return 1;
    }
    purple_set_blist(purple_blist_new());
    purple_blist_load();
    purple_prefs_set_string("/purple/away/idle_reporting", "none");
    purple_prefs_set_bool("/purple/away/away_when_idle", FALSE);
    connect_signals();
    printf("# libpurple %s\n", purple_core_get_version());

    gboolean ok;
    PurplePlugin *prpl = purple_find_prpl("prpl-msim");
    check(prpl != NULL && purple_plugin_is_loaded(prpl), "prpl-msim is found and loaded from the plugin dir",
          "purple_find_prpl gave %p", (void *)prpl);
    if (prpl == NULL) {
        return 1 + harness_failures();
    }
    PurplePluginProtocolInfo *info = PURPLE_PLUGIN_PROTOCOL_INFO(prpl);
    check(purple_plugin_get_name(prpl) != NULL && strcmp(purple_plugin_get_name(prpl), "MySpaceIM") == 0,
          "plugin name is MySpaceIM", "%s", purple_plugin_get_name(prpl));
    GString *opts = g_string_new(NULL);
    for (GList *l = info->protocol_options; l != NULL; l = l->next) {
        g_string_append_printf(opts, "%s ", purple_account_option_get_setting(l->data));
    }
    check(strcmp(opts->str, "server port mail_alerts ") == 0, "account options: server, port, inbox alerts",
          "%s", opts->str);
    g_string_free(opts, TRUE);

    /* Pidgin 2.x loads a protocol's icon from DATADIR/pixmaps/pidgin/protocols/<size>/<list_icon>.png
     * and floods its log with GLib assertions when there is none (issue 10 item 8): the plugin's
     * `make install-icons`, run by the test into HARNESS_ICON_DATADIR, must provide all three. */
    const char *icon_datadir = getenv("HARNESS_ICON_DATADIR");
    const char *icon = info->list_icon != NULL ? info->list_icon(NULL, NULL) : NULL;
    int icons_found = 0;
    static const char *const icon_sizes[] = {"16", "22", "48"};
    for (size_t i = 0; icon_datadir != NULL && icon != NULL && i < G_N_ELEMENTS(icon_sizes); i++) {
        char *file = g_strconcat(icon, ".png", NULL);
        char *path = g_build_filename(icon_datadir, "pixmaps", "pidgin", "protocols", icon_sizes[i], file, NULL);
        icons_found += g_file_test(path, G_FILE_TEST_IS_REGULAR) ? 1 : 0;
        g_free(path);
        g_free(file);
    }
    printf("# list_icon: %s\n", icon != NULL ? icon : "(null)");
    check(icons_found == 3, "list_icon names an installed 16, 22 and 48 px protocol icon",
          "list_icon %s, %d of 3 under %s", icon != NULL ? icon : "(null)", icons_found,
          icon_datadir != NULL ? icon_datadir : "(HARNESS_ICON_DATADIR unset)");

    /* --- bad password */
    st.c = new_account(argv[11], "definitely-wrong", host, port);
    purple_account_set_enabled(st.c, UI_ID, TRUE);
    WAIT_UNTIL(ok, st.error_c != 0, WAIT_MS);
    check(ok && st.error_c == PURPLE_CONNECTION_ERROR_AUTHENTICATION_FAILED + 1,
          "bad password gives PURPLE_CONNECTION_ERROR_AUTHENTICATION_FAILED", "error %d", st.error_c - 1);
    run_for(200); /* let libpurple run the scheduled disconnect */

    /* --- sign on A and B */
    st.a = new_account(argv[5], argv[6], host, port);
    st.b = new_account(argv[8], argv[9], host, port);
    /* B does without inbox alerts (the account option); A keeps the default (on). */
    purple_account_set_bool(st.b, "mail_alerts", FALSE);
    /* B first: at A's sign-on the server then sends B's presence before A's contact list,
     * i.e. before B is a buddy in libpurple; the plugin must not lose it. */
    purple_account_set_enabled(st.b, UI_ID, TRUE);
    WAIT_UNTIL(ok, st.signed_on_b, WAIT_MS);
    /* B writes to A while A is offline: the server keeps the IM with its date (SPEC §11.1) and
     * delivers it right after A's login, before A's contact list names anyone. */
    time_t offline_sent = time(NULL);
    serv_send_im(purple_account_get_connection(st.b), st.a_name, "while you were <i>away</i>", 0);
    run_for(2500); /* stored; A signs on seconds later, so its receive time differs from the date */
    time_t a_signs_on = time(NULL);
    purple_account_set_enabled(st.a, UI_ID, TRUE);
    WAIT_UNTIL(ok, st.signed_on_a && st.signed_on_b, WAIT_MS);
    check(ok, "both accounts sign on", "A %d B %d, errors A %d B %d", st.signed_on_a, st.signed_on_b, st.error_a,
          st.error_b);
    if (!ok) {
        return harness_failures();
    }
    check(strcmp(purple_connection_get_display_name(purple_account_get_connection(st.a)), st.a_name) == 0,
          "display name is the username", "%s", purple_connection_get_display_name(purple_account_get_connection(st.a)));
    check(st.progress_steps_a >= 4 && st.progress_ordered_a, "connection progress: steps in order",
          "%s", st.progress_a->str);

    /* --- the offline IM: in B's own conversation (named by B's username, never by B's uid), after
     * A signed on, with the time B sent it */
    WAIT_UNTIL(ok, find_im(st.ims_a, st.b_name, "while you were") != NULL, WAIT_MS);
    const im *off = find_im(st.ims_a, st.b_name, "while you were");
    PurpleConversation *oconv = purple_find_conversation_with_account(PURPLE_CONV_TYPE_IM, st.b_name, st.a);
    int numeric = numeric_conversations(st.a);
    check(ok && off->connected && oconv != NULL && numeric == 0,
          "the offline IM from B arrives after A signed on, in B's own conversation (none named by a uid)",
          "received %d, after sign-on %d, B's conversation %p, %d numeric conversations", ok,
          off ? off->connected : -1, (void *)oconv, numeric);
    time_t shown = history_time(oconv, "while you were");
    check(shown != 0 && shown >= offline_sent - 1 && shown <= offline_sent + 1 && shown < a_signs_on,
          "the offline IM shows the time B sent it, not the time A received it",
          "shown %lld, sent %lld, A signed on %lld", (long long)shown, (long long)offline_sent,
          (long long)a_signs_on);

    check_mail_alert_on();

    /* --- buddy list from the server, presence at sign-on */
    PurpleBuddy *bb = b_in_a();
    check(bb != NULL && strcmp(purple_group_get_name(purple_buddy_get_group(bb)), "IM Friends") == 0,
          "the server's contact list is A's buddy list (B in IM Friends)", "buddy %p", (void *)bb);
    WAIT_UNTIL(ok, b_in_a() != NULL && PURPLE_BUDDY_IS_ONLINE(b_in_a()), WAIT_MS);
    check(ok, "A sees B online (presence that came before the contact list)", "B is %s", b_status_id());
    check_buddy_icon();
    check_normalize(info);

    /* --- IM both ways, as HTML */
    serv_send_im(purple_account_get_connection(st.a), st.b_name, "<b>hello</b> bob", 0);
    WAIT_UNTIL(ok, find_im(st.ims_b, st.a_name, "hello") != NULL, WAIT_MS);
    const im *m = find_im(st.ims_b, st.a_name, "hello");
    check(ok && strstr(m->message, "<b>hello</b>") != NULL, "IM A -> B arrives as HTML (received-im-msg)", "%s",
          m ? m->message : "nothing");
    serv_send_im(purple_account_get_connection(st.b), st.a_name, "hi <i>alice</i> &amp; co", 0);
    WAIT_UNTIL(ok, find_im(st.ims_a, st.b_name, "alice") != NULL, WAIT_MS);
    m = find_im(st.ims_a, st.b_name, "alice");
    check(ok && strstr(m->message, "<i>alice</i>") != NULL && strstr(m->message, "&amp;") != NULL,
          "IM B -> A arrives as HTML", "%s", m ? m->message : "nothing");

    /* --- presence and status message */
    int before = st.status_changes_of_b;
    purple_account_set_status(st.b, "away", TRUE, "message", "at lunch", NULL);
    WAIT_UNTIL(ok, b_is("away", "at lunch"), WAIT_MS);
    check(ok && st.status_changes_of_b > before, "B away with a status message reaches A (buddy-status-changed)",
          "B is %s (%s), %d signals", b_status_id(), b_status_message() ? b_status_message() : "",
          st.status_changes_of_b - before);
    check_away_tooltip(info);
    purple_account_set_status(st.b, "available", TRUE, "message", "back <b>now</b>", NULL);
    WAIT_UNTIL(ok, b_is("available", "back now"), WAIT_MS);
    check(ok, "B available again, the message as plain text", "B is %s (%s)", b_status_id(),
          b_status_message() ? b_status_message() : "");

    /* --- idle (set_idle) */
    int idle_before = st.idle_changes_of_b;
    purple_presence_set_idle(purple_account_get_presence(st.b), TRUE, time(NULL) - 600);
    WAIT_UNTIL(ok, b_idle(), WAIT_MS);
    check(ok && st.idle_changes_of_b > idle_before && b_is("available", "back now"),
          "B idle reaches A as available + idle", "idle %d, B is %s", (int)b_idle(), b_status_id());
    purple_presence_set_idle(purple_account_get_presence(st.b), FALSE, 0);
    WAIT_UNTIL(ok, !b_idle(), WAIT_MS);
    check(ok, "B back from idle", "still idle");

    /* --- invisible */
    purple_account_set_status(st.b, "invisible", TRUE, NULL);
    WAIT_UNTIL(ok, b_in_a() != NULL && !PURPLE_BUDDY_IS_ONLINE(b_in_a()), WAIT_MS);
    check(ok, "B invisible looks offline to A", "B is %s", b_status_id());
    purple_account_set_status(st.b, "available", TRUE, "message", "visible", NULL);
    WAIT_UNTIL(ok, b_is("available", "visible"), WAIT_MS);
    check(ok, "B visible again", "B is %s", b_status_id());
    char *text = info->status_text(b_in_a());
    check(text != NULL && strcmp(text, "visible") == 0, "status_text is B's headline", "%s", text ? text : "NULL");
    g_free(text);
    PurpleNotifyUserInfo *tip = purple_notify_user_info_new();
    info->tooltip_text(b_in_a(), tip, TRUE);
    text = purple_notify_user_info_get_text_with_newline(tip, "\n");
    check(strstr(text, "visible") != NULL && strstr(text, "User ID") != NULL, "tooltip: headline and user id",
          "%s", text);
    g_free(text);
    purple_notify_user_info_destroy(tip);

    /* --- typing */
    serv_send_typing(purple_account_get_connection(st.a), st.b_name, PURPLE_TYPING);
    WAIT_UNTIL(ok, st.typing_at_b > 0, WAIT_MS);
    check(ok, "typing A -> B (buddy-typing)", "no signal");
    serv_send_typing(purple_account_get_connection(st.a), st.b_name, PURPLE_NOT_TYPING);
    WAIT_UNTIL(ok, st.typing_stopped_at_b > 0, WAIT_MS);
    check(ok, "stopped typing A -> B (buddy-typing-stopped)", "no signal");

    /* --- attention: the 10 zaps */
    GList *types = info->get_attention_types(st.a);
    check(g_list_length(types) == 10 &&
              strcmp(purple_attention_type_get_name(g_list_nth_data(types, 4)), "Hug") == 0 &&
              strcmp(purple_attention_type_get_name(g_list_nth_data(types, 9)), "Raspberry") == 0,
          "10 attention types, in zap order", "%u types", g_list_length(types));
    purple_prpl_send_attention(purple_account_get_connection(st.a), st.b_name, 4);
    WAIT_UNTIL(ok, st.attention_at_b != 0, WAIT_MS);
    check(ok && st.attention_at_b == 4 + 1, "zap 4 (Hug) A -> B (got-attention)", "type %d", st.attention_at_b - 1);
    check_zap_menu(info);

    /* --- get_info */
    serv_get_info(purple_account_get_connection(st.a), st.b_name);
    WAIT_UNTIL(ok, st.userinfo_seen, WAIT_MS);
    check(ok && strcmp(st.userinfo_who, st.b_name) == 0 && strstr(st.userinfo_text, st.b_name) != NULL,
          "get_info shows B's profile", "%s", st.userinfo_text ? st.userinfo_text : "nothing");
    check_buddy_icon_change();

    /* --- own profile on B: set_public_alias (DisplayName) and the tune status (BandName, SongName),
     * seen in A's get_info of B. setinfo has no reply: A asks again until the server has it. */
    purple_account_set_public_alias(st.b, "Bobby Tables", alias_set, alias_failed);
    WAIT_UNTIL(ok, st.alias_answers > 0, WAIT_MS);
    check(ok && st.alias_ok, "set_public_alias on B answers success with the alias", "%d answers",
          st.alias_answers);
    purple_account_set_status(st.b, "tune", TRUE, PURPLE_TUNE_ARTIST, "The Band", PURPLE_TUNE_TITLE, "The Song",
                              NULL);
#define B_INFO_UNTIL(ok, cond)                                                               \
    for (int try_ = 0; try_ < 20; try_++) {                                                  \
        st.userinfo_seen = FALSE;                                                            \
        serv_get_info(purple_account_get_connection(st.a), st.b_name);                       \
        WAIT_UNTIL(ok, st.userinfo_seen, WAIT_MS);                                           \
        if ((ok = ok && (cond))) break;                                                      \
        run_for(100);                                                                        \
    }
    B_INFO_UNTIL(ok, strstr(st.userinfo_text, "Bobby Tables") && strstr(st.userinfo_text, "The Band") &&
                         strstr(st.userinfo_text, "The Song"));
    check(ok, "A's get_info of B shows the public alias as display name, and the tune's artist and title",
          "%s", st.userinfo_text ? st.userinfo_text : "nothing");
    PurpleBuddy *b_at_a = purple_find_buddy(st.a, st.b_name);
    PurpleStatus *tune = b_at_a ? purple_presence_get_status(purple_buddy_get_presence(b_at_a), "tune") : NULL;
    const char *artist = tune ? purple_status_get_attr_string(tune, PURPLE_TUNE_ARTIST) : NULL;
    const char *title = tune ? purple_status_get_attr_string(tune, PURPLE_TUNE_TITLE) : NULL;
    check(tune && purple_status_is_active(tune) && artist && strcmp(artist, "The Band") == 0 && title &&
              strcmp(title, "The Song") == 0,
          "A shows B's tune status (artist, title) from B's profile", "active %d, %s - %s",
          tune ? purple_status_is_active(tune) : -1, artist ? artist : "(none)", title ? title : "(none)");
    purple_account_set_status(st.b, "tune", FALSE, NULL);
    B_INFO_UNTIL(ok, !strstr(st.userinfo_text, "The Band") && !strstr(st.userinfo_text, "The Song") &&
                         strstr(st.userinfo_text, "Bobby Tables"));
    check(ok, "tune off on B: band and song cleared, the display name stays", "%s",
          st.userinfo_text ? st.userinfo_text : "nothing");
    check(tune && !purple_status_is_active(tune), "A shows B's tune status off again", "still active");

    /* --- block / unblock (the server drops a blocked sender's IMs) */
    purple_privacy_deny_add(st.a, st.b_name, FALSE);
    char *blocked_line = g_strdup_printf("(%s) blocked", st.b_name);
    WAIT_UNTIL(ok, debug_has(blocked_line), WAIT_MS);
    check(ok, "add_deny blocks B on the server", "no confirmation");
    serv_send_im(purple_account_get_connection(st.b), st.a_name, "while blocked", 0);
    run_for(1000);
    check(find_im(st.ims_a, st.b_name, "while blocked") == NULL, "a blocked buddy's IM does not arrive", "it did");
    purple_privacy_deny_remove(st.a, st.b_name, FALSE);
    char *unblocked_line = g_strdup_printf("(%s) unblocked", st.b_name);
    char *readded_line = g_strdup_printf("(%s) added", st.b_name);
    WAIT_UNTIL(ok, debug_has(unblocked_line) && debug_has(readded_line), WAIT_MS);
    check(ok, "rem_deny unblocks B and puts it back on the server's list (still a local buddy)", "%s",
          debug_has(unblocked_line) ? "not re-added" : "no confirmation");
    g_free(readded_line);
    serv_send_im(purple_account_get_connection(st.b), st.a_name, "after unblock", 0);
    WAIT_UNTIL(ok, find_im(st.ims_a, st.b_name, "after unblock") != NULL, WAIT_MS);
    check(ok && find_im(st.ims_a, st.b_name, "while blocked") == NULL, "after unblocking, IMs arrive again",
          "after unblock %s", ok ? "arrived, but so did the blocked one" : "missing");
    g_free(blocked_line);
    g_free(unblocked_line);
    check_nickname_and_group();
    check_account_actions(prpl);
    check_find_people(prpl);
    check_change_profile(prpl);

    /* --- add and remove a buddy: C appears online to A only once A has added C */
    PurpleGroup *g = purple_find_group("IM Friends");
    PurpleBuddy *cb = purple_buddy_new(st.a, st.c_name, NULL);
    purple_blist_add_buddy(cb, NULL, g, NULL);
    purple_account_add_buddy(st.a, cb);
    char *added_line = g_strdup_printf("(%s) added", st.c_name);
    WAIT_UNTIL(ok, debug_has(added_line), WAIT_MS);
    check(ok, "add_buddy adds C on the server", "no confirmation");
    g_free(added_line);
    purple_account_set_password(st.c, argv[12]);
    st.error_c = 0;
    purple_account_connect(st.c);
    WAIT_UNTIL(ok, st.signed_on_c > 0, WAIT_MS);
    check(ok, "C signs on with the right password after the failure", "error %d", st.error_c - 1);
    WAIT_UNTIL(ok, purple_find_buddy(st.a, st.c_name) != NULL && PURPLE_BUDDY_IS_ONLINE(purple_find_buddy(st.a, st.c_name)),
               WAIT_MS);
    check(ok, "A sees its new buddy C online", "C offline");
    /* --- privacy: C (who does not list A) shows presence only to its list; permitting A shows it */
    PurpleConnection *cgc = purple_account_get_connection(st.c);
    purple_account_set_privacy_type(st.c, PURPLE_PRIVACY_ALLOW_USERS);
    serv_set_permit_deny(cgc);
    WAIT_UNTIL(ok, !PURPLE_BUDDY_IS_ONLINE(purple_find_buddy(st.a, st.c_name)), WAIT_MS);
    check(ok, "set_permit_deny(ALLOW_USERS) on C: A (not on C's list) sees C offline", "C still online");
    purple_privacy_permit_add(st.c, st.a_name, FALSE);
    WAIT_UNTIL(ok, PURPLE_BUDDY_IS_ONLINE(purple_find_buddy(st.a, st.c_name)), WAIT_MS);
    check(ok, "add_permit(A) on C: A sees C online again", "C offline");
    purple_privacy_permit_remove(st.c, st.a_name, FALSE);
    WAIT_UNTIL(ok, !PURPLE_BUDDY_IS_ONLINE(purple_find_buddy(st.a, st.c_name)), WAIT_MS);
    check(ok, "rem_permit(A) on C: C offline to A again", "C still online");
    purple_account_set_privacy_type(st.c, PURPLE_PRIVACY_ALLOW_ALL);
    serv_set_permit_deny(cgc);
    WAIT_UNTIL(ok, PURPLE_BUDDY_IS_ONLINE(purple_find_buddy(st.a, st.c_name)), WAIT_MS);
    check(ok, "set_permit_deny(ALLOW_ALL) on C: A sees C online", "C offline");
    cb = purple_find_buddy(st.a, st.c_name);
    purple_account_remove_buddy(st.a, cb, g);
    purple_blist_remove_buddy(cb);
    char *removed_line = g_strdup_printf("(%s) removed", st.c_name);
    WAIT_UNTIL(ok, debug_has(removed_line), WAIT_MS);
    check(ok, "remove_buddy removes C on the server", "no confirmation");
    g_free(removed_line);
    check_import_friends(prpl);

    /* --- groups by their server ids (SPEC §25): rename IM Friends (B is in it) and back; remove */
    WAIT_UNTIL(ok, debug_has("groups on the server\n"), WAIT_MS);
    purple_blist_rename_group(g, "Best Friends");
    WAIT_UNTIL(ok, debug_has("renaming group \"IM Friends\" (id ") && debug_has("saved as \"Best Friends\""), WAIT_MS);
    check(ok, "rename_group renames IM Friends on the server by its id", "no request or no answer");
    purple_blist_rename_group(g, "IM Friends");
    WAIT_UNTIL(ok, debug_has("saved as \"IM Friends\""), WAIT_MS);
    check(ok, "rename_group back to IM Friends", "no answer");
    PurpleGroup *rc = purple_group_new("Recent Contacts");
    purple_blist_add_group(rc, NULL);
    purple_blist_remove_group(rc);
    WAIT_UNTIL(ok, debug_has("removing group \"Recent Contacts\" (id "), WAIT_MS);
    check(ok, "remove_group of an empty group asks the server to delete it by its id", "no request");

    /* --- sign off and on again: A sees B go and come back */
    purple_account_set_enabled(st.b, UI_ID, FALSE);
    WAIT_UNTIL(ok, b_in_a() != NULL && !PURPLE_BUDDY_IS_ONLINE(b_in_a()), WAIT_MS);
    check(ok, "B signs off: A sees B offline", "B is %s", b_status_id());
    /* Stored for B, who then signs on with inbox alerts off. */
    serv_send_im(purple_account_get_connection(st.a), st.b_name, "for when you are back", 0);
    run_for(300);
    purple_account_set_enabled(st.b, UI_ID, TRUE);
    WAIT_UNTIL(ok, st.signed_on_b >= 2 && b_in_a() != NULL && PURPLE_BUDDY_IS_ONLINE(b_in_a()), WAIT_MS);
    check(ok, "B signs on again: A sees B online", "B is %s, signed on %d times", b_status_id(), st.signed_on_b);
    check_mail_alert_off();

    /* --- the same account signs on elsewhere: the server ends this session with error 6 */
    st.error_b = 0;
    printf("%s\n", "# harness: sign on B elsewhere now");
    fflush(stdout);
    WAIT_UNTIL(ok, st.error_b != 0, WAIT_MS);
    check(ok && st.error_b == PURPLE_CONNECTION_ERROR_NAME_IN_USE + 1,
          "B signing on elsewhere gives PURPLE_CONNECTION_ERROR_NAME_IN_USE", "error %d", st.error_b - 1);
    run_for(200);
    int before_on = st.signed_on_b;
    purple_account_connect(st.b);
    WAIT_UNTIL(ok, st.signed_on_b > before_on, WAIT_MS);
    check(ok, "B signs on again after being replaced", "error %d", st.error_b - 1);

    /* --- accounts without a username: D chooses one, E cancels (SPEC §6.7) */
    st.d = new_account(argv[14], argv[15], host, port);
    st.e = new_account(argv[16], argv[17], host, port);
    check_username_flow();

    /* --- server shutdown */
    st.error_a = st.error_b = st.error_c = 0;
    printf("# harness: stop the server now\n");
    fflush(stdout);
    WAIT_UNTIL(ok, st.error_a && st.error_b && st.error_c, 3 * WAIT_MS);
    check(ok && st.error_a == PURPLE_CONNECTION_ERROR_NETWORK_ERROR + 1 &&
              st.error_b == PURPLE_CONNECTION_ERROR_NETWORK_ERROR + 1 &&
              st.error_c == PURPLE_CONNECTION_ERROR_NETWORK_ERROR + 1,
          "server shutdown gives every account PURPLE_CONNECTION_ERROR_NETWORK_ERROR", "errors A %d B %d C %d",
          st.error_a - 1, st.error_b - 1, st.error_c - 1);
    run_for(500); /* libpurple disconnects the accounts: prpl close frees the sessions */
    check(purple_account_is_disconnected(st.a) && purple_account_is_disconnected(st.b) &&
              purple_account_is_disconnected(st.c),
          "every account ends disconnected, no crash", "still connected");

    purple_core_quit();
    printf("# %d checks, %d failed\n", harness_checks(), harness_failures());
    return harness_failures() > 99 ? 99 : harness_failures();
}

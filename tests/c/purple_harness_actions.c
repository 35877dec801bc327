/*
 * prpl-msim's account actions and the username flow, used as a person would: the action is
 * chosen, its dialog answered (purple_harness_ui.c records the dialogs), and what libpurple then
 * shows is checked, along with what the other account sees (issue 12).
 */
#include "purple_harness.h"

#define USERNAME_TITLE "MySpaceIM username"

static const char *const ACTIONS[] = {"Set username...", "Find people...", "Import friends", "Change profile...", NULL};

/* Runs the account action `label` of `acc`, as Pidgin's Accounts menu does. */
static gboolean run_action(PurplePlugin *prpl, PurpleAccount *acc, const char *label) {
    PurpleConnection *gc = purple_account_get_connection(acc);
    gboolean found = FALSE;
    GList *list = prpl->info->actions != NULL ? prpl->info->actions(prpl, gc) : NULL;
    for (GList *l = list; l != NULL; l = l->next) {
        PurplePluginAction *act = l->data;
        if (act != NULL && strcmp(act->label, label) == 0 && !found) {
            act->plugin = prpl;
            act->context = gc;
            printf("# action %s on %s\n", label, purple_account_get_username(acc));
            act->callback(act);
            found = TRUE;
        }
        if (act != NULL) purple_plugin_action_free(act);
    }
    g_list_free(list);
    return found;
}

void check_account_actions(PurplePlugin *prpl) {
    GList *list = prpl->info->actions != NULL ? prpl->info->actions(prpl, purple_account_get_connection(st.a)) : NULL;
    GString *labels = g_string_new(NULL);
    for (GList *l = list; l != NULL; l = l->next) {
        PurplePluginAction *act = l->data;
        g_string_append_printf(labels, "%s|", act != NULL ? act->label : "(separator)");
        if (act != NULL) purple_plugin_action_free(act);
    }
    g_list_free(list);
    char *want = g_strjoinv("|", (char **)ACTIONS);
    char *want_bar = g_strconcat(want, "|", NULL);
    check(strcmp(labels->str, want_bar) == 0, "account actions: set username, find people, import friends, profile",
          "%s", labels->str);
    g_free(want);
    g_free(want_bar);
    g_string_free(labels, TRUE);

    /* A has a username: the action says so instead of offering a change (SPEC §6.7). */
    int before = st.notices;
    run_action(prpl, st.a, "Set username...");
    check(st.notices == before + 1 && strstr(st.notice_secondary, st.a_name) != NULL &&
              strstr(st.notice_secondary, "cannot be changed") != NULL,
          "Set username… on an account that has one says which and that it cannot change", "%d notices: %s",
          st.notices - before, st.notice_secondary ? st.notice_secondary : "");
}

void check_find_people(PurplePlugin *prpl) {
    gboolean ok;
    int before = st.searches;
    run_action(prpl, st.a, "Find people...");
    dialog *d = open_dialog("Find people");
    check(d != NULL && d->type == PURPLE_REQUEST_INPUT, "Find people… asks for a name, e-mail or id", "no dialog");
    if (d == NULL) return;
    /* By e-mail address (SPEC §9.1: 5/7 Email=). */
    answer_input(d, "carol@example.com");
    WAIT_UNTIL(ok, st.searches > before, WAIT_MS);
    GList *row = ok && st.search != NULL ? purple_notify_searchresults_row_get(st.search, 0) : NULL;
    check(row != NULL && strcmp(row->data, st.c_name) == 0 && strcmp(g_list_nth_data(row, 1), "Carol") == 0,
          "Find people… by e-mail shows C: username and display name", "%s, %s",
          row ? (char *)row->data : "no row", row ? (char *)g_list_nth_data(row, 1) : "");
    /* Its IM button opens a conversation with C, as in Pidgin's search window. */
    for (GList *b = st.search != NULL ? st.search->buttons : NULL; row != NULL && b != NULL; b = b->next) {
        PurpleNotifySearchButton *btn = b->data;
        if (btn->type == PURPLE_NOTIFY_BUTTON_IM) btn->callback(purple_account_get_connection(st.a), row, NULL);
    }
    check(purple_find_conversation_with_account(PURPLE_CONV_TYPE_IM, st.c_name, st.a) != NULL,
          "the result's IM button opens a conversation with C", "no conversation");

    int notices = st.notices;
    run_action(prpl, st.a, "Find people...");
    d = open_dialog("Find people");
    if (d != NULL) answer_input(d, "nobody_here");
    WAIT_UNTIL(ok, st.notices > notices, WAIT_MS);
    check(ok && strcmp(st.notice_primary, "No one found") == 0 && strstr(st.notice_secondary, "nobody_here"),
          "Find people… for an unknown name says no one was found", "%s %s", st.notice_primary ? st.notice_primary : "",
          st.notice_secondary ? st.notice_secondary : "");
}

void check_import_friends(PurplePlugin *prpl) {
    gboolean ok;
    /* C lists A on the server now (the driver writes it): importing brings C onto A's list (SPEC §18.6). */
    printf("# harness: C lists A now\n");
    fflush(stdout);
    run_for(300);
    int notices = st.notices;
    run_action(prpl, st.a, "Import friends");
    WAIT_UNTIL(ok, st.notices > notices, WAIT_MS);
    check(ok && strstr(st.notice_secondary, "buddies were added or updated") != NULL &&
              purple_find_buddy(st.a, st.c_name) != NULL,
          "Import friends adds C (who lists A) and says how many were added", "%s, C %s",
          st.notice_secondary ? st.notice_secondary : "no notice", purple_find_buddy(st.a, st.c_name) ? "in" : "not in");
}

/* Asks for B's profile from A until `needle` is in it. */
static gboolean b_info_has(const char *needle) {
    gboolean ok = FALSE;
    for (int i = 0; i < 20 && !ok; i++) {
        st.userinfo_seen = FALSE;
        serv_get_info(purple_account_get_connection(st.a), st.b_name);
        WAIT_UNTIL(ok, st.userinfo_seen, WAIT_MS);
        ok = ok && strstr(st.userinfo_text, needle) != NULL;
        if (!ok) run_for(100);
    }
    return ok;
}

void check_change_profile(PurplePlugin *prpl) {
    gboolean ok;
    run_action(prpl, st.b, "Change profile...");
    dialog *d = open_dialog("Change profile");
    check(d != NULL && d->type == PURPLE_REQUEST_FIELDS && d->fields != NULL &&
              purple_request_fields_get_field(d->fields, "display_name") != NULL &&
              purple_request_fields_get_field(d->fields, "headline") != NULL &&
              purple_request_fields_get_field(d->fields, "band") != NULL &&
              purple_request_fields_get_field(d->fields, "song") != NULL,
          "Change profile… asks for display name, headline and now playing", "dialog %p", (void *)d);
    if (d == NULL || d->fields == NULL) return;
    purple_request_field_string_set_value(purple_request_fields_get_field(d->fields, "display_name"), "Bob Builder");
    purple_request_field_string_set_value(purple_request_fields_get_field(d->fields, "headline"), "fixing it");
    purple_request_field_string_set_value(purple_request_fields_get_field(d->fields, "band"), "Profile Band");
    purple_request_field_string_set_value(purple_request_fields_get_field(d->fields, "song"), "Profile Song");
    answer_fields(d);
    ok = b_info_has("Bob Builder") && b_info_has("Profile Band") && b_info_has("Profile Song");
    check(ok, "Change profile… on B: A's get_info of B shows the new display name and now playing", "%s",
          st.userinfo_text ? st.userinfo_text : "nothing");
    /* The headline is B's status text for those who list B (SPEC §12). */
    WAIT_UNTIL(ok, b_status_message() != NULL && strcmp(b_status_message(), "fixing it") == 0, WAIT_MS);
    check(ok, "Change profile… headline: A sees it as B's status message", "%s",
          b_status_message() ? b_status_message() : "(none)");
}

void check_username_flow(void) {
    gboolean ok;
    /* D has no username: it must not sign on without one; a dialog asks instead. */
    purple_account_set_enabled(st.d, UI_ID, TRUE);
    WAIT_UNTIL(ok, open_dialog(USERNAME_TITLE) != NULL, WAIT_MS);
    run_for(300);
    check(ok && st.signed_on_d == 0 && !purple_account_is_connected(st.d),
          "an account without a username asks for one and does not sign on nameless", "dialog %d, signed on %d", ok,
          st.signed_on_d);
    if (!ok) return;
    int asked = dialogs_titled(USERNAME_TITLE);
    answer_input(open_dialog(USERNAME_TITLE), "12345"); /* all digits: refused before asking the server */
    dialog *d = open_dialog(USERNAME_TITLE);
    check(d != NULL && dialogs_titled(USERNAME_TITLE) == asked + 1 && strstr(d->secondary, "cannot be a username"),
          "an all-digit username is refused and asked again", "%s", d ? d->secondary : "no dialog");
    if (d == NULL) return;
    asked = dialogs_titled(USERNAME_TITLE);
    answer_input(d, st.b_name); /* taken */
    WAIT_UNTIL(ok, dialogs_titled(USERNAME_TITLE) > asked, WAIT_MS);
    d = open_dialog(USERNAME_TITLE);
    check(ok && d != NULL && strstr(d->secondary, "is taken") != NULL,
          "a taken username (checked on the server) is asked again", "%s", d ? d->secondary : "no dialog");
    if (d == NULL) return;
    asked = dialogs_titled(USERNAME_TITLE);
    answer_input(d, "Dave_1");
    WAIT_UNTIL(ok, dialogs_titled(USERNAME_TITLE) > asked, WAIT_MS);
    d = open_dialog(USERNAME_TITLE);
    check(ok && d != NULL && d->type == PURPLE_REQUEST_ACTION && strstr(d->primary, "is available") != NULL,
          "a free username is confirmed before it is set", "%s", d ? d->primary : "no dialog");
    if (d == NULL) return;
    answer_action(d, 0);
    WAIT_UNTIL(ok, st.signed_on_d > 0, WAIT_MS);
    const char *shown = ok ? purple_connection_get_display_name(purple_account_get_connection(st.d)) : NULL;
    check(ok && shown != NULL && strcmp(shown, "Dave_1") == 0, "after setting the username D signs on under it",
          "signed on %d as %s", st.signed_on_d, shown ? shown : "?");

    /* E cancels: no nameless sign-on, a clear error instead. */
    purple_account_set_enabled(st.e, UI_ID, TRUE);
    WAIT_UNTIL(ok, open_dialog(USERNAME_TITLE) != NULL, WAIT_MS);
    if (ok) cancel_dialog(open_dialog(USERNAME_TITLE));
    WAIT_UNTIL(ok, st.error_e != 0, WAIT_MS);
    check(ok && st.error_e == PURPLE_CONNECTION_ERROR_OTHER_ERROR + 1 && st.error_text_e != NULL &&
              strstr(st.error_text_e, "No username set") != NULL,
          "cancelling the username dialog ends the connection with \"No username set\"", "error %d: %s",
          st.error_e - 1, st.error_text_e ? st.error_text_e : "");
    run_for(200);
}

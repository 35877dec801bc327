/*
 * Choosing a username (SPEC §6.7). An account without one stops at on_username_required after
 * the login; the user is asked for a name, libmsim checks that it is free
 * (msim_session_check_username: a 5/7 lookup), the user confirms, and msim_session_set_username
 * stores it (9/14), after which sign-on continues. A taken or refused name asks again; cancelling
 * any dialog ends the connection, as Pidgin's msimprpl did ("No username set"), since the account
 * cannot sign on without one. A username cannot be changed once set.
 */
#include "msim_purple.h"

#define USERNAME_RULES                                                                                          \
    "1 to 25 letters, digits or _, not only digits. Others find you by it, and it cannot be changed " \
    "once set."

static void username_cancelled(void *data, const char *value) {
    msim_purple *mp = data;
    (void)value;
    fail(mp, PURPLE_CONNECTION_ERROR_OTHER_ERROR, "No username set: a MySpaceIM account needs one to sign on");
}

static void username_cancelled_action(void *data, int choice) {
    (void)choice;
    username_cancelled(data, NULL);
}

static void username_entered(void *data, const char *value) {
    msim_purple *mp = data;
    char *name = g_strstrip(g_strdup(value != NULL ? value : ""));
    uint32_t id = 0;
    msim_result r = msim_session_check_username(mp->session, name, &id);
    if (r != MSIM_RESULT_OK) {
        /* Refused before asking the server: a name breaking the rules, mostly. */
        char *why = g_strdup_printf("\"%s\" cannot be a username (%s).", name, msim_result_str((int)r));
        ask_username(mp, why);
        g_free(why);
        g_free(name);
        return;
    }
    g_free(mp->wanted_username);
    mp->wanted_username = name;
    mp->username_check = id;
}

void ask_username(msim_purple *mp, const char *why) {
    char *secondary = g_strdup_printf("%s%s%s", why != NULL ? why : "", why != NULL ? "\n\n" : "", USERNAME_RULES);
    purple_request_input(mp->gc, "MySpaceIM username", "Choose a username for this account", secondary,
                         mp->wanted_username, FALSE, FALSE, NULL, "Check", G_CALLBACK(username_entered), "Cancel",
                         G_CALLBACK(username_cancelled), mp->account, NULL, NULL, mp);
    g_free(secondary);
}

/* The answer to "«name» is available: set it?" */
static void username_confirmed(void *data, int choice) {
    msim_purple *mp = data;
    (void)choice;
    uint32_t id = 0;
    msim_result r = msim_session_set_username(mp->session, mp->wanted_username, &id);
    if (r != MSIM_RESULT_OK) {
        ask_username(mp, msim_result_str((int)r));
        return;
    }
    mp->username_set = id;
}

static void username_other(void *data, int choice) {
    (void)choice;
    ask_username(data, NULL);
}

void cb_username_required(void *ud, uint32_t uid) {
    msim_purple *mp = ud;
    if (mp->dead) {
        return;
    }
    purple_debug_info(PRPL_ID, "account %u has no username yet: asking for one\n", (unsigned)uid);
    ask_username(mp, "This account has no username yet.");
}

void cb_username_result(void *ud, uint32_t request_id, const char *name, msim_username_result result,
                        const char *text) {
    msim_purple *mp = ud;
    if (mp->dead) {
        return;
    }
    char *msg = NULL;
    if (result == MSIM_USERNAME_RESULT_AVAILABLE && request_id == mp->username_check) {
        char *primary = g_strdup_printf("\"%s\" is available", name);
        purple_request_action(mp->gc, "MySpaceIM username", primary,
                              "Set it as this account's username? It cannot be changed later.", 0, mp->account,
                              NULL, NULL, mp, 3, "Set username", G_CALLBACK(username_confirmed), "Choose another",
                              G_CALLBACK(username_other), "Cancel", G_CALLBACK(username_cancelled_action));
        g_free(primary);
    } else if (result == MSIM_USERNAME_RESULT_TAKEN) {
        msg = g_strdup_printf("\"%s\" is taken.", name);
    } else if (result == MSIM_USERNAME_RESULT_SET) {
        purple_debug_info(PRPL_ID, "username set: %s\n", name);
        g_free(mp->wanted_username);
        mp->wanted_username = NULL;
        /* Sign-on continues: on_signed_on follows with the name. */
    } else {
        msg = g_strdup_printf("\"%s\" could not be %s: %s", name,
                              request_id == mp->username_set ? "set" : "checked", text);
    }
    if (msg != NULL) {
        purple_debug_info(PRPL_ID, "username: %s\n", msg);
        ask_username(mp, msg);
        g_free(msg);
    }
}

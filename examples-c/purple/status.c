/*
 * Own presence and profile -> msim: the status types, the active status (and idle), the tune
 * status, and the public alias.
 */
#include "msim_purple.h"

/* Sends the account's active status (and idle, SPEC §12: after every status change an idle
 * account that is not invisible sends code 2 with the same text). */
void push_status(msim_purple *mp, PurpleStatus *status) {
    const char *id = purple_status_get_id(status);
    const char *html = purple_status_get_attr_string(status, "message");
    char *plain = html != NULL ? purple_markup_strip_html(html) : NULL;
    uint32_t code;
    if (strcmp(id, ST_AWAY) == 0) {
        code = MSIM_STATUS_AWAY;
    } else if (strcmp(id, ST_INVISIBLE) == 0) {
        code = MSIM_STATUS_INVISIBLE;
    } else if (strcmp(id, ST_OFFLINE) == 0) {
        g_free(plain); /* libpurple disconnects the account itself */
        return;
    } else {
        code = MSIM_STATUS_AVAILABLE;
    }
    if (mp->idle && code != MSIM_STATUS_INVISIBLE) {
        code = MSIM_STATUS_IDLE;
    }
    msim_result r = msim_session_set_status(mp->session, code, plain);
    if (r != MSIM_RESULT_OK) {
        purple_debug_warning(PRPL_ID, "set_status: %s\n", msim_result_str((int)r));
    }
    g_free(plain);
}

GList *prpl_status_types(PurpleAccount *account) {
    GList *types = NULL;
    (void)account;
    types = g_list_append(types, purple_status_type_new_with_attrs(
        PURPLE_STATUS_AVAILABLE, ST_AVAILABLE, NULL, TRUE, TRUE, FALSE,
        "message", "Message", purple_value_new(PURPLE_TYPE_STRING), NULL));
    types = g_list_append(types, purple_status_type_new_with_attrs(
        PURPLE_STATUS_AWAY, ST_AWAY, NULL, TRUE, TRUE, FALSE,
        "message", "Message", purple_value_new(PURPLE_TYPE_STRING), NULL));
    types = g_list_append(types, purple_status_type_new_with_attrs(
        PURPLE_STATUS_INVISIBLE, ST_INVISIBLE, NULL, TRUE, TRUE, FALSE,
        "message", "Message", purple_value_new(PURPLE_TYPE_STRING), NULL));
    types = g_list_append(types, purple_status_type_new_full(PURPLE_STATUS_OFFLINE, ST_OFFLINE, NULL, TRUE,
                                                             TRUE, FALSE));
    /* Own "now playing": BandName/SongName of the profile (SPEC §9.2, §9.3). */
    types = g_list_append(types, purple_status_type_new_with_attrs(
        PURPLE_STATUS_TUNE, ST_TUNE, NULL, FALSE, TRUE, TRUE,
        PURPLE_TUNE_ARTIST, "Artist", purple_value_new(PURPLE_TYPE_STRING),
        PURPLE_TUNE_TITLE, "Title", purple_value_new(PURPLE_TYPE_STRING), NULL));
    return types;
}

/* The tune status sets the profile's band and song; switching it off clears both ("" clears, NULL
 * would leave a field as it is). */
static void push_tune(msim_purple *mp, PurpleStatus *status) {
    gboolean on = purple_status_is_active(status);
    const char *artist = on ? purple_status_get_attr_string(status, PURPLE_TUNE_ARTIST) : NULL;
    const char *title = on ? purple_status_get_attr_string(status, PURPLE_TUNE_TITLE) : NULL;
    msim_profile p = {0};
    p.band = artist != NULL ? artist : "";
    p.song = title != NULL ? title : "";
    if (send_result(msim_session_set_profile(mp->session, &p), "set_profile (tune)") > 0) {
        purple_debug_info(PRPL_ID, "tune set: %s - %s\n", p.band, p.song);
    }
}

void prpl_set_status(PurpleAccount *account, PurpleStatus *status) {
    msim_purple *mp = mp_of(purple_account_get_connection(account));
    if (mp == NULL) {
        return;
    }
    if (strcmp(purple_status_get_id(status), ST_TUNE) == 0) {
        push_tune(mp, status); /* independent: also when it is switched off */
        return;
    }
    if (!purple_status_is_active(status)) {
        return;
    }
    push_status(mp, status);
}

/* set_public_alias (libpurple 2.7+): the profile's DisplayName. libpurple wants the answer
 * asynchronously, so it is given from a 0 ms timeout. setinfo has no reply on the wire (SPEC §5):
 * success means libmsim accepted and sent it. */
typedef struct {
    msim_purple *mp;
    guint timer;
    char *alias, *error;
    PurpleSetPublicAliasSuccessCallback success_cb;
    PurpleSetPublicAliasFailureCallback failure_cb;
} alias_answer;

static void free_alias_answer(alias_answer *a) {
    g_free(a->alias);
    g_free(a->error);
    g_free(a);
}

static gboolean answer_alias(gpointer data) {
    alias_answer *a = data;
    a->mp->alias_answers = g_slist_remove(a->mp->alias_answers, a);
    if (a->error == NULL && a->success_cb != NULL) {
        a->success_cb(a->mp->account, a->alias);
    } else if (a->error != NULL && a->failure_cb != NULL) {
        a->failure_cb(a->mp->account, a->error);
    }
    free_alias_answer(a);
    return FALSE;
}

/* Closing drops the answers still waiting for their timer: their connection is gone. */
void drop_alias_answers(msim_purple *mp) {
    for (GSList *l = mp->alias_answers; l != NULL; l = l->next) {
        alias_answer *a = l->data;
        purple_timeout_remove(a->timer);
        free_alias_answer(a);
    }
    g_slist_free(mp->alias_answers);
    mp->alias_answers = NULL;
}

void prpl_set_public_alias(PurpleConnection *gc, const char *alias, PurpleSetPublicAliasSuccessCallback success_cb,
                           PurpleSetPublicAliasFailureCallback failure_cb) {
    msim_purple *mp = mp_of(gc);
    if (mp == NULL) {
        if (failure_cb != NULL) {
            failure_cb(purple_connection_get_account(gc), msim_result_str(MSIM_RESULT_NOT_CONNECTED));
        }
        return;
    }
    msim_profile p = {0};
    p.display_name = alias != NULL ? alias : ""; /* NULL = back to the default: the server shows the username */
    msim_result r = msim_session_set_profile(mp->session, &p);
    alias_answer *a = g_new0(alias_answer, 1);
    a->mp = mp;
    a->alias = g_strdup(p.display_name);
    a->error = r == MSIM_RESULT_OK ? NULL : g_strdup(msim_result_str((int)r));
    a->success_cb = success_cb;
    a->failure_cb = failure_cb;
    if (send_result(r, "set_public_alias") > 0) {
        purple_debug_info(PRPL_ID, "public alias set: %s\n", a->alias);
    }
    a->timer = purple_timeout_add(0, answer_alias, a);
    mp->alias_answers = g_slist_prepend(mp->alias_answers, a);
}

void prpl_set_idle(PurpleConnection *gc, int idle_seconds) {
    msim_purple *mp = mp_of(gc);
    mp->idle = idle_seconds > 0;
    /* Idle is a status code of its own (SPEC §12): re-send the active status, as idle or not. */
    push_status(mp, purple_account_get_active_status(mp->account));
}

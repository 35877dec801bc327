/*
 * msim -> libpurple: the session's callbacks and the watch on its fd.
 */
#include "msim_purple.h"

/* The callbacks all run inside msim_session_dispatch(), on libpurple's thread; strings are borrowed. */

static void cb_progress(void *ud, uint32_t step, uint32_t total, const char *text) {
    msim_purple *mp = ud;
    if (!mp->dead && step >= 1 && step <= total) {
        /* libpurple counts steps from 0 and shows "connected" itself. */
        purple_connection_update_progress(mp->gc, text, step - 1, total + 1);
    }
}

static void cb_signed_on(void *ud, uint32_t uid, const char *username) {
    msim_purple *mp = ud;
    char buf[16];
    if (mp->dead) {
        return;
    }
    mp->own_uid = uid;
    purple_connection_set_display_name(mp->gc, user_name(uid, username, buf));
    groups_signed_on(mp);
    purple_debug_info(PRPL_ID, "signed on as %s (uid %u)\n", user_name(uid, username, buf), (unsigned)uid);
    purple_connection_set_state(mp->gc, PURPLE_CONNECTED);
}

static void cb_login_failed(void *ud, msim_login_failure reason, uint32_t code, const char *text) {
    msim_purple *mp = ud;
    PurpleConnectionError err;
    char *msg;
    if (reason == MSIM_LOGIN_FAILURE_BAD_PASSWORD || code == 260) {
        err = PURPLE_CONNECTION_ERROR_AUTHENTICATION_FAILED;
        /* SPEC §16.2: only the first 10 characters of a password count; say so when it matters. */
        const char *pw = purple_connection_get_password(mp->gc);
        if (pw != NULL && g_utf8_strlen(pw, -1) > 10) {
            msg = g_strdup_printf("Incorrect e-mail or password. MySpaceIM only uses the first 10 "
                                  "characters of a password: %s", text);
        } else {
            msg = g_strdup_printf("Incorrect e-mail or password: %s", text);
        }
        /* As Pidgin's msimprpl: forget a wrong password unless the user asked to keep it. */
        if (!purple_account_get_remember_password(mp->account)) {
            purple_account_set_password(mp->account, NULL);
        }
    } else if (reason == MSIM_LOGIN_FAILURE_LOGGED_IN_ELSEWHERE || code == 6) {
        err = PURPLE_CONNECTION_ERROR_NAME_IN_USE;
        msg = g_strdup_printf("Logged in from another location: %s", text);
    } else if (reason == MSIM_LOGIN_FAILURE_UNKNOWN_ACCOUNT) {
        err = PURPLE_CONNECTION_ERROR_INVALID_USERNAME;
        msg = g_strdup_printf("No such account: %s", text);
    } else if (reason == MSIM_LOGIN_FAILURE_CLIENT_TOO_OLD) {
        /* Retrying cannot help: libpurple must not reconnect (a non-network error). */
        err = PURPLE_CONNECTION_ERROR_OTHER_ERROR;
        msg = g_strdup_printf("The server refuses this client version: %s", text);
    } else if (reason == MSIM_LOGIN_FAILURE_SERVER_ERROR) {
        err = PURPLE_CONNECTION_ERROR_NETWORK_ERROR; /* Pidgin: "Protocol error, code N" */
        msg = g_strdup_printf("Protocol error, code %u: %s", (unsigned)code, text);
    } else {
        err = PURPLE_CONNECTION_ERROR_NETWORK_ERROR;
        msg = g_strdup(text);
    }
    fail(mp, err, msg);
    g_free(msg);
}

static void cb_disconnected(void *ud, msim_disconnect_reason reason, uint32_t code, const char *text,
                            bool reconnecting) {
    msim_purple *mp = ud;
    char *msg;
    if (reconnecting || reason == MSIM_DISCONNECT_REASON_REQUESTED) {
        return;
    }
    if (reason == MSIM_DISCONNECT_REASON_LOGGED_IN_ELSEWHERE || code == 6) {
        fail(mp, PURPLE_CONNECTION_ERROR_NAME_IN_USE, "You have signed on from another location");
        return;
    }
    if (reason == MSIM_DISCONNECT_REASON_SERVER_ERROR && code == 260) {
        fail(mp, PURPLE_CONNECTION_ERROR_AUTHENTICATION_FAILED, text);
        return;
    }
    /* Server closed, network, timeout, protocol, session expired: transient as far as libpurple
     * is concerned (it reconnects, which logs in afresh). */
    if (code != 0) {
        msg = g_strdup_printf("Protocol error, code %u: %s", (unsigned)code, text);
    } else {
        msg = g_strdup_printf("Connection lost: %s", text);
    }
    fail(mp, PURPLE_CONNECTION_ERROR_NETWORK_ERROR, msg);
    g_free(msg);
}

static void cb_im_received(void *ud, uint32_t from, const char *username, const char *html, const char *plain,
                           int64_t time, bool offline) {
    msim_purple *mp = ud;
    char buf[16];
    (void)plain;
    if (mp->dead) {
        return;
    }
    const char *who = user_name(from, username, buf);
    serv_got_im(mp->gc, who, html, offline ? PURPLE_MESSAGE_RECV | PURPLE_MESSAGE_DELAYED : PURPLE_MESSAGE_RECV,
                (time_t)time);
}

static void cb_im_failed(void *ud, uint64_t id, msim_result r, const char *text) {
    msim_purple *mp = ud;
    (void)id;
    purple_debug_warning(PRPL_ID, "an IM could not be sent: %s (%s)\n", text, msim_result_str((int)r));
    if (!mp->dead) {
        purple_notify_error(mp->gc, PRPL_NAME, "A message could not be sent", text);
    }
}

static void cb_typing(void *ud, uint32_t from, const char *username, bool typing) {
    msim_purple *mp = ud;
    char buf[16];
    if (mp->dead) {
        return;
    }
    const char *who = user_name(from, username, buf);
    if (typing) {
        serv_got_typing(mp->gc, who, 0, PURPLE_TYPING);
    } else {
        serv_got_typing_stopped(mp->gc, who);
    }
}

static void cb_zap(void *ud, uint32_t from, const char *username, uint32_t zap, const char *name) {
    msim_purple *mp = ud;
    char buf[16];
    (void)name;
    if (mp->dead) {
        return;
    }
    /* The index is that of get_attention_types (SPEC §11.4: 0–9, already clamped). */
    purple_prpl_got_attention(mp->gc, user_name(from, username, buf), zap);
}

static void cb_buddy_status(void *ud, uint32_t uid, const char *username, msim_presence presence,
                            const char *headline) {
    msim_purple *mp = ud;
    char buf[16];
    if (mp->dead) {
        return;
    }
    const char *who = user_name(uid, username, buf);
    last_presence *lp = g_new0(last_presence, 1);
    lp->presence = presence;
    lp->headline = g_strdup(headline);
    g_hash_table_replace(mp->seen, GUINT_TO_POINTER(uid), lp);
    note_user(mp->infos, who, uid, NULL);
    apply_presence(mp, who, presence, headline);
}

/* A buddy's "now playing" (SPEC §9.3): BandName and SongName as the tune status; both empty = off. */
static void show_tune(msim_purple *mp, const char *who, const msim_user_info *info) {
    if (info->uid == mp->own_uid || purple_find_buddy(mp->account, who) == NULL) {
        return;
    }
    const char *band = info->band != NULL && info->band[0] != '\0' ? info->band : NULL;
    const char *song = info->song != NULL && info->song[0] != '\0' ? info->song : NULL;
    if (band == NULL && song == NULL) {
        purple_prpl_got_user_status_deactive(mp->account, who, ST_TUNE);
    } else {
        purple_prpl_got_user_status(mp->account, who, ST_TUNE, PURPLE_TUNE_ARTIST, band, PURPLE_TUNE_TITLE, song,
                                    NULL);
    }
}

static void cb_user_info(void *ud, const msim_user_info *info) {
    msim_purple *mp = ud;
    char buf[16];
    if (mp->dead) {
        return;
    }
    const char *who = user_name(info->uid, info->username, buf);
    pending_contact *c = g_hash_table_lookup(mp->pending, GUINT_TO_POINTER(info->uid));
    if (c != NULL) {
        place_contact(mp, info->uid, who, c->group, c->nickname, c->blocked);
        g_hash_table_remove(mp->pending, GUINT_TO_POINTER(info->uid));
    }
    /* Own info comes right after the login, before on_signed_on. */
    gboolean own = info->uid == msim_session_get_uid(mp->session);
    if (own) {
        note_own_profile(mp, info);
    }
    update_icon(mp, who, info->image_url);
    if (info->display_name != NULL && info->display_name[0] != '\0') {
        if (own) {
            purple_connection_set_display_name(mp->gc, who);
        } else {
            serv_got_alias(mp->gc, who, info->display_name);
        }
    }
    note_user(mp->infos, who, info->uid, info->display_name);
    show_tune(mp, who, info);
}

static void cb_contact_list(void *ud, const msim_contact *contacts, size_t count) {
    msim_purple *mp = ud;
    if (mp->dead) {
        return;
    }
    for (size_t i = 0; i < count; i++) {
        const msim_contact *c = &contacts[i];
        if (c->username == NULL || c->username[0] == '\0') {
            /* on_user_info for this uid follows (msim.h); wait for the name. */
            pending_contact *p = g_new0(pending_contact, 1);
            p->group = g_strdup(c->group);
            p->nickname = g_strdup(c->nickname);
            p->blocked = c->blocked;
            g_hash_table_replace(mp->pending, GUINT_TO_POINTER(c->uid), p);
            continue;
        }
        note_user(mp->infos, c->username, c->uid, NULL);
        place_contact(mp, c->uid, c->username, c->group, c->nickname, c->blocked);
    }
}

/* A contact's picture URL from the contact list (after on_contact_list placed the buddies). */
static void cb_buddy_picture(void *ud, uint32_t uid, const char *username, const char *image_url) {
    msim_purple *mp = ud;
    (void)uid;
    if (!mp->dead && username != NULL) {
        update_icon(mp, username, image_url); /* unnamed contacts: on_user_info brings the URL */
    }
}

static void cb_lookup_result(void *ud, uint32_t request_id, msim_result r, const msim_user_info *info) {
    msim_purple *mp = ud;
    if (mp->dead) {
        return;
    }
    if (info != NULL) {
        char buf[16];
        update_icon(mp, user_name(info->uid, info->username, buf), info->image_url);
    }
    if (show_find_result(mp, request_id, r, info)) {
        return;
    }
    char *who = g_hash_table_lookup(mp->lookups, GUINT_TO_POINTER(request_id));
    if (who == NULL) {
        return;
    }
    PurpleNotifyUserInfo *ui = purple_notify_user_info_new();
    if (info == NULL) {
        purple_notify_user_info_add_pair_plaintext(
            ui, "Error", r == MSIM_RESULT_OK ? "No such user" : msim_result_str((int)r));
    } else {
        char num[16];
        g_snprintf(num, sizeof num, "%u", (unsigned)info->uid);
        purple_notify_user_info_add_pair_plaintext(ui, "User ID", num);
        if (info->username != NULL) purple_notify_user_info_add_pair_plaintext(ui, "Username", info->username);
        if (info->display_name != NULL) purple_notify_user_info_add_pair_plaintext(ui, "Display name", info->display_name);
        if (info->headline != NULL) purple_notify_user_info_add_pair_plaintext(ui, "Headline", info->headline);
        if (info->gender != NULL) purple_notify_user_info_add_pair_plaintext(ui, "Gender", info->gender);
        if (info->age != 0) {
            g_snprintf(num, sizeof num, "%u", (unsigned)info->age);
            purple_notify_user_info_add_pair_plaintext(ui, "Age", num);
        }
        if (info->location != NULL) purple_notify_user_info_add_pair_plaintext(ui, "Location", info->location);
        if (info->band != NULL) purple_notify_user_info_add_pair_plaintext(ui, "Band", info->band);
        if (info->song != NULL) purple_notify_user_info_add_pair_plaintext(ui, "Song", info->song);
        if (info->total_friends >= 0) {
            g_snprintf(num, sizeof num, "%lld", (long long)info->total_friends);
            purple_notify_user_info_add_pair_plaintext(ui, "Total friends", num);
        }
        show_tune(mp, who, info);
    }
    purple_notify_userinfo(mp->gc, who, ui, NULL, NULL);
    purple_notify_user_info_destroy(ui);
    g_hash_table_remove(mp->lookups, GUINT_TO_POINTER(request_id));
}

static void cb_buddy_added(void *ud, uint32_t uid, const char *username, const char *group) {
    (void)ud;
    purple_debug_info(PRPL_ID, "buddy %u (%s) added to %s\n", (unsigned)uid, username ? username : "?", group);
}

static void cb_buddy_removed(void *ud, uint32_t uid, const char *username) {
    (void)ud;
    purple_debug_info(PRPL_ID, "buddy %u (%s) removed\n", (unsigned)uid, username ? username : "?");
}

static void cb_buddy_blocked(void *ud, uint32_t uid, const char *username, bool blocked) {
    (void)ud;
    purple_debug_info(PRPL_ID, "buddy %u (%s) %s\n", (unsigned)uid, username ? username : "?",
                      blocked ? "blocked" : "unblocked");
}

static void cb_privacy(void *ud, bool show_only_to_list, uint32_t privacy_mode, uint32_t offline_message_mode) {
    msim_purple *mp = ud;
    (void)offline_message_mode;
    mp->privacy_mode = privacy_mode;
    purple_debug_info(PRPL_ID, "own privacy: show only to list %d, privacy mode %u\n", (int)show_only_to_list,
                      (unsigned)privacy_mode);
}

static void cb_error(void *ud, msim_result r, uint32_t code, const char *text) {
    (void)ud;
    /* Non-fatal (a failed request, a skipped message, a sign-on warning): the debug log. */
    purple_debug_warning(PRPL_ID, "%s (server code %u): %s\n", msim_result_str((int)r), (unsigned)code, text);
}

/* libmsim -> libpurple thread: the fd is readable while events are queued. */
void input_cb(gpointer data, gint fd, PurpleInputCondition cond) {
    msim_purple *mp = data;
    (void)fd;
    (void)cond;
    /* A callback may end in prpl close (a UI reacting synchronously), which frees mp and the
     * session: nothing may touch mp after this call. */
    msim_session_dispatch(mp->session);
}

/* The callbacks above as the session's table (prpl_login passes it to msim_session_new_ex). */
void fill_callbacks(msim_callbacks *cb) {
    memset(cb, 0, sizeof *cb);
    cb->on_progress = cb_progress;
    cb->on_signed_on = cb_signed_on;
    cb->on_login_failed = cb_login_failed;
    cb->on_disconnected = cb_disconnected;
    cb->on_im_received = cb_im_received;
    cb->on_im_failed = cb_im_failed;
    cb->on_typing = cb_typing;
    cb->on_zap = cb_zap;
    cb->on_buddy_status = cb_buddy_status;
    cb->on_user_info = cb_user_info;
    cb->on_lookup_result = cb_lookup_result;
    cb->on_contact_list = cb_contact_list;
    cb->on_buddy_added = cb_buddy_added;
    cb->on_buddy_removed = cb_buddy_removed;
    cb->on_buddy_blocked = cb_buddy_blocked;
    cb->on_privacy = cb_privacy;
    cb->on_error = cb_error;
    groups_callbacks(cb);
    cb->on_username_required = cb_username_required; /* username.c */
    cb->on_username_result = cb_username_result;
    cb->on_import_result = cb_import_result; /* actions.c */
    cb->on_mail_alert = cb_mail_alert;       /* mail.c */
    cb->on_buddy_picture = cb_buddy_picture;
}

/*
 * libmsim-purple.so — a libpurple 2.x protocol plugin (Pidgin, Finch, any libpurple client) for
 * MySpaceIM, built on libmsim's C API (include/msim.h).
 *
 * What lives here is only the mapping between libpurple's prpl callbacks and msim sessions;
 * the protocol is libmsim's. One msim_session per PurpleConnection, created in POLL dispatch
 * mode: libmsim's IO thread queues events and makes msim_session_fd() readable, and
 * purple_input_add() on that fd runs msim_session_dispatch() on libpurple's own thread, so every
 * libpurple call below happens where libpurple expects it.
 *
 * Names: a buddy is named by its MySpace username, or by its numeric uid when it has none.
 * The account name is the login e-mail address.
 *
 * Build and install: see README.md beside this file.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#ifndef PURPLE_PLUGINS
#define PURPLE_PLUGINS
#endif

#include <account.h>
#include <accountopt.h>
#include <blist.h>
#include <connection.h>
#include <conversation.h>
#include <debug.h>
#include <eventloop.h>
#include <notify.h>
#include <plugin.h>
#include <privacy.h>
#include <prpl.h>
#include <server.h>
#include <status.h>
#include <util.h>
#include <version.h>

#include "msim.h"

#define PRPL_ID "prpl-msim"
#define PRPL_NAME "MySpaceIM"
#define PLUGIN_VERSION "0.1.0"
#define DEFAULT_SERVER "im.myspace.akadns.net"
#define DEFAULT_PORT 1863
#define DEFAULT_GROUP "IM Friends"

/* Status ids (PurpleStatusType ids); "message" is the status message attribute. */
#define ST_AVAILABLE "available"
#define ST_AWAY "away"
#define ST_INVISIBLE "invisible"
#define ST_OFFLINE "offline"
/* The independent "now playing" status; its attributes are PURPLE_TUNE_ARTIST and _TITLE. */
#define ST_TUNE "tune"

/* A contact the server listed before its username was known (SPEC §10.1): added to the buddy
 * list when on_user_info brings the name, so that a buddy never changes name. */
typedef struct {
    char *group;
    char *nickname;
    gboolean blocked;
} pending_contact;

typedef struct {
    PurpleConnection *gc;
    PurpleAccount *account;
    msim_session *session;
    guint watch;         /* purple_input_add handle of msim_session_fd() */
    gboolean dead;       /* an error was reported to libpurple: ignore what follows */
    gboolean idle;       /* set_idle(>0) and not back yet */
    uint32_t own_uid;
    GHashTable *lookups; /* request id (GUINT_TO_POINTER) -> who (char*) asked by get_info */
    GHashTable *pending; /* uid (GUINT_TO_POINTER) -> pending_contact* */
    GHashTable *infos;   /* user name -> user_facts*, for tooltips */
    GHashTable *seen;    /* uid -> last_presence*: presence that may precede the buddy */
    uint32_t privacy_mode; /* PrivacyMode as on_privacy last reported it (kept by set_permit_deny) */
    GSList *alias_answers; /* alias_answer*: set_public_alias answers not yet given (timers) */
} msim_purple;

/* The last presence reported for a user. At sign-on the server sends the presence of online
 * contacts before the contact list arrives, i.e. before those buddies exist in libpurple (and
 * before their usernames are known: the event carries only the uid); it is applied by uid when
 * the buddy is placed. */
typedef struct {
    msim_presence presence;
    char *headline;
} last_presence;

/* What the tooltip shows beyond the status: learnt from the contact list, presence and user info. */
typedef struct {
    uint32_t uid;
    char *display_name; /* NULL until on_user_info brings one */
} user_facts;

static void free_user_facts(gpointer p) {
    user_facts *f = p;
    g_free(f->display_name);
    g_free(f);
}

static void free_last_presence(gpointer p) {
    last_presence *lp = p;
    g_free(lp->headline);
    g_free(lp);
}

/* ------------------------------------------------------------------ helpers */

static void note_user(GHashTable *infos, const char *who, uint32_t uid, const char *display_name) {
    user_facts *f = g_hash_table_lookup(infos, who);
    if (f == NULL) {
        f = g_new0(user_facts, 1);
        g_hash_table_insert(infos, g_strdup(who), f);
    }
    f->uid = uid;
    if (display_name != NULL && display_name[0] != '\0') {
        g_free(f->display_name);
        f->display_name = g_strdup(display_name);
    }
}

/* The buddy name for a user: the username, else the uid in decimal (in buf). */
static const char *user_name(uint32_t uid, const char *username, char buf[16]) {
    if (username != NULL && username[0] != '\0') {
        return username;
    }
    g_snprintf(buf, 16, "%u", (unsigned)uid);
    return buf;
}

static msim_purple *mp_of(PurpleConnection *gc) {
    return gc != NULL ? purple_connection_get_protocol_data(gc) : NULL;
}

static void free_pending(gpointer p) {
    pending_contact *c = p;
    g_free(c->group);
    g_free(c->nickname);
    g_free(c);
}

/* Reports a fatal error once; libpurple then schedules the account's disconnect (prpl close). */
static void fail(msim_purple *mp, PurpleConnectionError reason, const char *text) {
    if (mp->dead) {
        return;
    }
    mp->dead = TRUE;
    purple_connection_error_reason(mp->gc, reason, text);
}

static PurpleGroup *group_named(const char *name) {
    const char *n = (name != NULL && name[0] != '\0') ? name : DEFAULT_GROUP;
    PurpleGroup *g = purple_find_group(n);
    if (g == NULL) {
        g = purple_group_new(n);
        purple_blist_add_group(g, NULL);
    }
    return g;
}

static void apply_presence(msim_purple *mp, const char *who, msim_presence presence, const char *headline);

/* Puts a server-side contact on the local lists (without calling back into the prpl), with
 * the presence already seen for it. */
static void place_contact(msim_purple *mp, uint32_t uid, const char *name, const char *group,
                          const char *nickname, gboolean blocked) {
    if (blocked) {
        purple_privacy_deny_add(mp->account, name, TRUE);
        return;
    }
    if (purple_find_buddy(mp->account, name) == NULL) {
        const char *alias = (nickname != NULL && nickname[0] != '\0') ? nickname : NULL;
        PurpleBuddy *b = purple_buddy_new(mp->account, name, alias);
        purple_blist_add_buddy(b, NULL, group_named(group), NULL);
    }
    last_presence *lp = g_hash_table_lookup(mp->seen, GUINT_TO_POINTER(uid));
    if (lp != NULL) {
        apply_presence(mp, name, lp->presence, lp->headline);
    }
}

/* ------------------------------------------------------------------ msim callbacks
 * All run inside msim_session_dispatch(), on libpurple's thread; strings are borrowed. */

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
    /* Server closed, network, timeout, protocol: transient as far as libpurple is concerned. */
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

/* Tells libpurple a buddy's presence (ignored by libpurple for names not on the buddy list). */
static void apply_presence(msim_purple *mp, const char *who, msim_presence presence, const char *headline) {
    /* The headline is plain text; libpurple shows status messages as HTML. */
    char *msg = (headline != NULL && headline[0] != '\0') ? g_markup_escape_text(headline, -1) : NULL;
    switch (presence) {
    case MSIM_PRESENCE_OFFLINE:
        purple_prpl_got_user_status(mp->account, who, ST_OFFLINE, NULL);
        break;
    case MSIM_PRESENCE_AWAY:
        purple_prpl_got_user_status(mp->account, who, ST_AWAY, "message", msg, NULL);
        break;
    default: /* ONLINE, IDLE (= available + idle) */
        purple_prpl_got_user_status(mp->account, who, ST_AVAILABLE, "message", msg, NULL);
        break;
    }
    if (presence != MSIM_PRESENCE_OFFLINE) {
        purple_prpl_got_user_idle(mp->account, who, presence == MSIM_PRESENCE_IDLE, 0);
    }
    g_free(msg);
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
    if (info->display_name != NULL && info->display_name[0] != '\0') {
        if (info->uid == mp->own_uid) {
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

static void cb_lookup_result(void *ud, uint32_t request_id, msim_result r, const msim_user_info *info) {
    msim_purple *mp = ud;
    char *who = g_hash_table_lookup(mp->lookups, GUINT_TO_POINTER(request_id));
    if (who == NULL || mp->dead) {
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
static void input_cb(gpointer data, gint fd, PurpleInputCondition cond) {
    msim_purple *mp = data;
    (void)fd;
    (void)cond;
    /* A callback may end in prpl close (a UI reacting synchronously), which frees mp and the
     * session: nothing may touch mp after this call. */
    msim_session_dispatch(mp->session);
}

/* ------------------------------------------------------------------ status */

/* Sends the account's active status (and idle, SPEC §12: after every status change an idle
 * account that is not invisible sends code 2 with the same text). */
static void push_status(msim_purple *mp, PurpleStatus *status) {
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

/* ------------------------------------------------------------------ prpl callbacks */

static const char *prpl_list_icon(PurpleAccount *account, PurpleBuddy *buddy) {
    (void)account;
    (void)buddy;
    return "myspace";
}

static GList *prpl_status_types(PurpleAccount *account) {
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

static char *prpl_status_text(PurpleBuddy *buddy) {
    PurpleStatus *st = purple_presence_get_active_status(purple_buddy_get_presence(buddy));
    const char *msg = st != NULL ? purple_status_get_attr_string(st, "message") : NULL;
    return (msg != NULL && msg[0] != '\0') ? g_strdup(msg) : NULL; /* already escaped */
}

static void prpl_tooltip_text(PurpleBuddy *buddy, PurpleNotifyUserInfo *ui, gboolean full) {
    PurplePresence *pr = purple_buddy_get_presence(buddy);
    PurpleStatus *st = purple_presence_get_active_status(pr);
    const char *msg = st != NULL ? purple_status_get_attr_string(st, "message") : NULL;
    if (msg != NULL && msg[0] != '\0') {
        purple_notify_user_info_add_pair(ui, "Headline", msg); /* HTML (escaped on receipt) */
    }
    if (!full) {
        return;
    }
    PurpleConnection *gc = purple_account_get_connection(purple_buddy_get_account(buddy));
    msim_purple *mp = mp_of(gc);
    const user_facts *f = mp != NULL ? g_hash_table_lookup(mp->infos, purple_buddy_get_name(buddy)) : NULL;
    if (f != NULL) {
        char num[16];
        g_snprintf(num, sizeof num, "%u", (unsigned)f->uid);
        purple_notify_user_info_add_pair_plaintext(ui, "User ID", num);
        if (f->display_name != NULL) {
            purple_notify_user_info_add_pair_plaintext(ui, "Display name", f->display_name);
        }
    }
}

static void prpl_login(PurpleAccount *account) {
    PurpleConnection *gc = purple_account_get_connection(account);
    msim_purple *mp = g_new0(msim_purple, 1);
    mp->gc = gc;
    mp->account = account;
    mp->lookups = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    mp->pending = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, free_pending);
    mp->infos = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, free_user_facts);
    mp->seen = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, free_last_presence);
    purple_connection_set_protocol_data(gc, mp);
    gc->flags |= PURPLE_CONNECTION_HTML | PURPLE_CONNECTION_NO_BGCOLOR | PURPLE_CONNECTION_NO_URLDESC;

    msim_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.on_progress = cb_progress;
    cb.on_signed_on = cb_signed_on;
    cb.on_login_failed = cb_login_failed;
    cb.on_disconnected = cb_disconnected;
    cb.on_im_received = cb_im_received;
    cb.on_im_failed = cb_im_failed;
    cb.on_typing = cb_typing;
    cb.on_zap = cb_zap;
    cb.on_buddy_status = cb_buddy_status;
    cb.on_user_info = cb_user_info;
    cb.on_lookup_result = cb_lookup_result;
    cb.on_contact_list = cb_contact_list;
    cb.on_buddy_added = cb_buddy_added;
    cb.on_buddy_removed = cb_buddy_removed;
    cb.on_buddy_blocked = cb_buddy_blocked;
    cb.on_privacy = cb_privacy;
    cb.on_error = cb_error;

    msim_session_options opts;
    msim_session_options_init(&opts);
    opts.dispatch = MSIM_DISPATCH_POLL; /* events on libpurple's thread via purple_input_add */
    opts.disable_mail_check = true;
    opts.skip_username = true; /* an account without a username signs on without one */
    mp->session = msim_session_new_ex(&cb, mp, &opts);
    if (mp->session == NULL) {
        fail(mp, PURPLE_CONNECTION_ERROR_OTHER_ERROR, "libmsim could not create a session");
        return;
    }
    mp->watch = purple_input_add(msim_session_fd(mp->session), PURPLE_INPUT_READ, input_cb, mp);

    /* Kept by the session and sent at sign-on. */
    push_status(mp, purple_account_get_active_status(account));

    const char *host = purple_account_get_string(account, "server", DEFAULT_SERVER);
    int port = purple_account_get_int(account, "port", DEFAULT_PORT);
    const char *password = purple_connection_get_password(gc);
    if (port <= 0 || port > 65535) {
        fail(mp, PURPLE_CONNECTION_ERROR_INVALID_SETTINGS, "The port must be between 1 and 65535");
        return;
    }
    msim_result r = msim_session_connect(mp->session, host, (uint16_t)port, purple_account_get_username(account),
                                         password != NULL ? password : "");
    if (r != MSIM_RESULT_OK) {
        fail(mp, r == MSIM_RESULT_INVALID_UTF8 || r == MSIM_RESULT_INVALID_ARGUMENT
                     ? PURPLE_CONNECTION_ERROR_INVALID_SETTINGS
                     : PURPLE_CONNECTION_ERROR_NETWORK_ERROR,
             msim_result_str((int)r));
    }
}

static void drop_alias_answers(msim_purple *mp); /* set_public_alias, below */

static void prpl_close(PurpleConnection *gc) {
    msim_purple *mp = mp_of(gc);
    if (mp == NULL) {
        return;
    }
    if (mp->watch != 0) {
        purple_input_remove(mp->watch);
    }
    drop_alias_answers(mp);
    /* Logs out if still connected; no callback of this session runs after this returns. */
    msim_session_free(mp->session);
    g_hash_table_destroy(mp->lookups);
    g_hash_table_destroy(mp->pending);
    g_hash_table_destroy(mp->infos);
    g_hash_table_destroy(mp->seen);
    purple_connection_set_protocol_data(gc, NULL);
    g_free(mp);
}

static int send_result(msim_result r, const char *what) {
    if (r == MSIM_RESULT_OK) {
        return 1;
    }
    purple_debug_warning(PRPL_ID, "%s: %s\n", what, msim_result_str((int)r));
    switch (r) {
    case MSIM_RESULT_NOT_CONNECTED:
    case MSIM_RESULT_NOT_SIGNED_ON:
    case MSIM_RESULT_CLOSED:
        return -ENOTCONN;
    case MSIM_RESULT_QUEUE_FULL:
        return -EAGAIN;
    default:
        return -EINVAL;
    }
}

static int prpl_send_im(PurpleConnection *gc, const char *who, const char *message, PurpleMessageFlags flags) {
    msim_purple *mp = mp_of(gc);
    (void)flags;
    /* `message` is libpurple's HTML; libmsim converts it to MSIM markup (SPEC §15.4). */
    return send_result(msim_session_send_im(mp->session, who, message, NULL), "send_im");
}

static unsigned int prpl_send_typing(PurpleConnection *gc, const char *who, PurpleTypingState state) {
    msim_purple *mp = mp_of(gc);
    send_result(msim_session_send_typing(mp->session, who, state == PURPLE_TYPING), "send_typing");
    return 0; /* no need for libpurple to repeat "typing" */
}

static void prpl_get_info(PurpleConnection *gc, const char *who) {
    msim_purple *mp = mp_of(gc);
    uint32_t id = 0;
    msim_result r = msim_session_lookup_user(mp->session, who, &id);
    if (r != MSIM_RESULT_OK) {
        PurpleNotifyUserInfo *ui = purple_notify_user_info_new();
        purple_notify_user_info_add_pair_plaintext(ui, "Error", msim_result_str((int)r));
        purple_notify_userinfo(gc, who, ui, NULL, NULL);
        purple_notify_user_info_destroy(ui);
        return;
    }
    g_hash_table_replace(mp->lookups, GUINT_TO_POINTER(id), g_strdup(who));
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

static void prpl_set_status(PurpleAccount *account, PurpleStatus *status) {
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
static void drop_alias_answers(msim_purple *mp) {
    for (GSList *l = mp->alias_answers; l != NULL; l = l->next) {
        alias_answer *a = l->data;
        purple_timeout_remove(a->timer);
        free_alias_answer(a);
    }
    g_slist_free(mp->alias_answers);
    mp->alias_answers = NULL;
}

static void prpl_set_public_alias(PurpleConnection *gc, const char *alias,
                                  PurpleSetPublicAliasSuccessCallback success_cb,
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

static void prpl_set_idle(PurpleConnection *gc, int idle_seconds) {
    msim_purple *mp = mp_of(gc);
    mp->idle = idle_seconds > 0;
    /* Idle is a status code of its own (SPEC §12): re-send the active status, as idle or not. */
    push_status(mp, purple_account_get_active_status(mp->account));
}

static void prpl_add_buddy(PurpleConnection *gc, PurpleBuddy *buddy, PurpleGroup *group) {
    msim_purple *mp = mp_of(gc);
    const char *g = group != NULL ? purple_group_get_name(group) : NULL;
    send_result(msim_session_add_buddy(mp->session, purple_buddy_get_name(buddy), g), "add_buddy");
}

static void prpl_remove_buddy(PurpleConnection *gc, PurpleBuddy *buddy, PurpleGroup *group) {
    msim_purple *mp = mp_of(gc);
    (void)group;
    send_result(msim_session_remove_buddy(mp->session, purple_buddy_get_name(buddy)), "remove_buddy");
}

static void prpl_add_deny(PurpleConnection *gc, const char *who) {
    msim_purple *mp = mp_of(gc);
    send_result(msim_session_block(mp->session, who), "block");
}

static void prpl_rem_deny(PurpleConnection *gc, const char *who) {
    msim_purple *mp = mp_of(gc);
    if (send_result(msim_session_unblock(mp->session, who), "unblock") < 0) {
        return;
    }
    /* Blocking takes a contact off the server's list (SPEC §18.3) while libpurple keeps the
     * buddy; put a buddy that is still on the local list back, or its presence would stop. */
    PurpleBuddy *b = purple_find_buddy(mp->account, who);
    if (b != NULL) {
        PurpleGroup *g = purple_buddy_get_group(b);
        send_result(msim_session_add_buddy(mp->session, who, g != NULL ? purple_group_get_name(g) : NULL),
                    "add_buddy after unblock");
    }
}

/* The permit list is the server's allow list (SPEC §18.4). */
static void prpl_add_permit(PurpleConnection *gc, const char *who) {
    msim_purple *mp = mp_of(gc);
    if (send_result(msim_session_permit(mp->session, who), "permit") > 0) {
        purple_debug_info(PRPL_ID, "(%s) permitted\n", who);
    }
}

static void prpl_rem_permit(PurpleConnection *gc, const char *who) {
    msim_purple *mp = mp_of(gc);
    if (send_result(msim_session_unpermit(mp->session, who), "unpermit") > 0) {
        purple_debug_info(PRPL_ID, "(%s) unpermitted\n", who);
    }
}

/* libpurple's privacy modes onto ShowOnlyToList (SPEC §9.4): "allow only the users below" and
 * "allow only the users on my buddy list" show presence only to the list (plus, on msim-server,
 * the permitted users); every other mode shows it to everyone (blocking stays per user, add_deny).
 * PrivacyMode bit 0 is kept as the server reported it. */
static void prpl_set_permit_deny(PurpleConnection *gc) {
    msim_purple *mp = mp_of(gc);
    PurplePrivacyType t = purple_account_get_privacy_type(mp->account);
    gboolean only_list = t == PURPLE_PRIVACY_ALLOW_USERS || t == PURPLE_PRIVACY_ALLOW_BUDDYLIST;
    if (send_result(msim_session_set_privacy(mp->session, only_list, (mp->privacy_mode & 1) != 0), "set_privacy") >
        0) {
        purple_debug_info(PRPL_ID, "show only to list: %d\n", (int)only_list);
    }
}

/* The zaps of SPEC §11.4, in wire order (the index is the zap number). */
static const char *const zap_names[10][3] = {
    {"Zap", "zapped", "Zapping"},        {"Whack", "whacked", "Whacking"},
    {"Torch", "torched", "Torching"},    {"Smooch", "smooched", "Smooching"},
    {"Hug", "hugged", "Hugging"},        {"Slap", "slapped", "Slapping"},
    {"Goose", "goosed", "Goosing"},      {"High-five", "high-fived", "High-fiving"},
    {"Punk", "punk'd", "Punking"},       {"Raspberry", "raspberried", "Raspberry'ing"},
};

static GList *attention_types; /* built once; libpurple does not free it */

static GList *prpl_get_attention_types(PurpleAccount *account) {
    (void)account;
    if (attention_types == NULL) {
        for (int i = 0; i < 10; i++) {
            char *in = g_strdup_printf("%%s has %s you!", zap_names[i][1]);
            char *out = g_strdup_printf("%s %%s...", zap_names[i][2]);
            /* libpurple keeps these pointers: they live as long as the plugin. */
            attention_types = g_list_append(attention_types,
                                            purple_attention_type_new(zap_names[i][0], zap_names[i][0], in, out));
        }
    }
    return attention_types;
}

static gboolean prpl_send_attention(PurpleConnection *gc, const char *who, guint type) {
    msim_purple *mp = mp_of(gc);
    if (type > 9) {
        return FALSE;
    }
    return send_result(msim_session_send_zap(mp->session, who, type), "send_zap") > 0;
}

static gboolean prpl_offline_message(const PurpleBuddy *buddy) {
    (void)buddy;
    return TRUE; /* the server stores IMs for offline users (SPEC §24) */
}

/* ------------------------------------------------------------------ plugin */

static PurplePluginProtocolInfo prpl_info = {
    0,                        /* options */
    NULL,                     /* user_splits */
    NULL,                     /* protocol_options: plugin_init */
    NO_BUDDY_ICONS,
    prpl_list_icon,
    NULL, /* list_emblem */
    prpl_status_text,
    prpl_tooltip_text,
    prpl_status_types,
    NULL, /* blist_node_menu */
    NULL, /* chat_info */
    NULL, /* chat_info_defaults */
    prpl_login,
    prpl_close,
    prpl_send_im,
    NULL, /* set_info */
    prpl_send_typing,
    prpl_get_info,
    prpl_set_status,
    prpl_set_idle,
    NULL, /* change_passwd */
    prpl_add_buddy,
    NULL, /* add_buddies */
    prpl_remove_buddy,
    NULL, /* remove_buddies */
    prpl_add_permit,
    prpl_add_deny,
    prpl_rem_permit,
    prpl_rem_deny,
    prpl_set_permit_deny,
    NULL, /* join_chat */
    NULL, /* reject_chat */
    NULL, /* get_chat_name */
    NULL, /* chat_invite */
    NULL, /* chat_leave */
    NULL, /* chat_whisper */
    NULL, /* chat_send */
    NULL, /* keepalive: libmsim answers the server's \ka\ and detects dead connections */
    NULL, /* register_user */
    NULL, /* get_cb_info */
    NULL, /* get_cb_away */
    NULL, /* alias_buddy */
    NULL, /* group_buddy */
    NULL, /* rename_group */
    NULL, /* buddy_free */
    NULL, /* convo_closed */
    NULL, /* normalize */
    NULL, /* set_buddy_icon */
    NULL, /* remove_group */
    NULL, /* get_cb_real_name */
    NULL, /* set_chat_topic */
    NULL, /* find_blist_chat */
    NULL, /* roomlist_get_list */
    NULL, /* roomlist_cancel */
    NULL, /* roomlist_expand_category */
    NULL, /* can_receive_file */
    NULL, /* send_file */
    NULL, /* new_xfer */
    prpl_offline_message,
    NULL, /* whiteboard_prpl_ops */
    NULL, /* send_raw */
    NULL, /* roomlist_room_serialize */
    NULL, /* unregister_user */
    prpl_send_attention,
    prpl_get_attention_types,
    sizeof(PurplePluginProtocolInfo), /* struct_size */
    NULL, /* get_account_text_table */
    NULL, /* initiate_media */
    NULL, /* get_media_caps */
    NULL, /* get_moods */
    prpl_set_public_alias, /* 2.7+: present, struct_size covers it */
    NULL, /* get_public_alias */
    NULL, /* add_buddy_with_invite */
    NULL, /* add_buddies_with_invite */
    NULL, /* get_cb_alias */
    NULL, /* chat_can_receive_file */
    NULL, /* chat_send_file */
};

static gboolean plugin_load(PurplePlugin *plugin) {
    (void)plugin;
    purple_debug_info(PRPL_ID, "libmsim %s loaded\n", msim_version());
    return TRUE;
}

static gboolean plugin_unload(PurplePlugin *plugin) {
    (void)plugin;
    return TRUE;
}

static PurplePluginInfo info = {
    PURPLE_PLUGIN_MAGIC,
    PURPLE_MAJOR_VERSION,
    10, /* minor_version: loads on libpurple 2.10 and later 2.x (nothing newer is used) */
    PURPLE_PLUGIN_PROTOCOL,
    NULL, /* ui_requirement */
    0,    /* flags */
    NULL, /* dependencies */
    PURPLE_PRIORITY_DEFAULT,
    PRPL_ID,
    PRPL_NAME,
    PLUGIN_VERSION,
    "MySpaceIM protocol plugin (libmsim)",
    "MySpaceIM instant messaging through libmsim: IMs, typing, zaps, presence, status messages, "
    "the server-side contact and block lists.",
    "msim contributors",
    "",   /* homepage */
    plugin_load,
    plugin_unload,
    NULL, /* destroy */
    NULL, /* ui_info */
    &prpl_info,
    NULL, /* prefs_info */
    NULL, /* actions */
    NULL,
    NULL,
    NULL,
    NULL,
};

static void plugin_init(PurplePlugin *plugin) {
    (void)plugin;
    prpl_info.protocol_options = g_list_append(prpl_info.protocol_options,
                                               purple_account_option_string_new("Server", "server", DEFAULT_SERVER));
    prpl_info.protocol_options = g_list_append(prpl_info.protocol_options,
                                               purple_account_option_int_new("Port", "port", DEFAULT_PORT));
}

PURPLE_INIT_PLUGIN(msim, plugin_init, info)

/*
 * Other msim users as libpurple knows them: their buddy names, the facts the tooltip shows, the
 * server's contacts placed on the buddy and deny lists, and their presence.
 */
#include "msim_purple.h"

/* Remembers for the tooltip what is known of a user (a display name only when one is given). */
void note_user(GHashTable *infos, const char *who, uint32_t uid, const char *display_name) {
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

/* SPEC §19: names compare without case, spaces or Unicode form differences ("Tom", "tom",
 * "t om"), and an all-digit name is the user with that uid when the session knows its username
 * (6221 = tom). libpurple's convention: the result lives in a static buffer until the next call. */
const char *prpl_normalize(const PurpleAccount *account, const char *who) {
    static char buf[256];
    if (who == NULL) {
        return NULL;
    }
    const char *name = who;
    PurpleConnection *gc = account != NULL ? purple_account_get_connection((PurpleAccount *)account) : NULL;
    msim_purple *mp = mp_of(gc);
    if (mp != NULL && who[0] != '\0' && strspn(who, "0123456789") == strlen(who)) {
        GHashTableIter it;
        gpointer key, value;
        g_hash_table_iter_init(&it, mp->infos);
        while (g_hash_table_iter_next(&it, &key, &value)) {
            const user_facts *f = value;
            if (f->uid != 0 && g_ascii_strtoull(who, NULL, 10) == f->uid) {
                name = key;
                break;
            }
        }
    }
    GString *s = g_string_new(NULL);
    for (const char *p = name; *p != '\0'; p++) {
        if (*p != ' ') g_string_append_c(s, *p);
    }
    char *lower = g_utf8_strdown(s->str, -1);
    char *norm = lower != NULL ? g_utf8_normalize(lower, -1, G_NORMALIZE_DEFAULT) : NULL;
    g_strlcpy(buf, norm != NULL ? norm : name, sizeof buf);
    g_free(norm);
    g_free(lower);
    g_string_free(s, TRUE);
    return buf;
}

/* The buddy name for a user: the username, else the uid in decimal (in buf). */
const char *user_name(uint32_t uid, const char *username, char buf[16]) {
    if (username != NULL && username[0] != '\0') {
        return username;
    }
    g_snprintf(buf, 16, "%u", (unsigned)uid);
    return buf;
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

/* Puts a server-side contact on the local lists (without calling back into the prpl), with
 * the presence already seen for it. */
void place_contact(msim_purple *mp, uint32_t uid, const char *name, const char *group, const char *nickname,
                   gboolean blocked) {
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

/* Tells libpurple a buddy's presence (ignored by libpurple for names not on the buddy list). */
void apply_presence(msim_purple *mp, const char *who, msim_presence presence, const char *headline) {
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

/* How libpurple shows a buddy: its icon, status text and tooltip. */

const char *prpl_list_icon(PurpleAccount *account, PurpleBuddy *buddy) {
    (void)account;
    (void)buddy;
    return "myspace";
}

/* An online buddy who is not available (away), as its status's name ("Away"); NULL otherwise. */
static const char *away_name(PurpleBuddy *buddy) {
    PurplePresence *pr = purple_buddy_get_presence(buddy);
    PurpleStatus *st = purple_presence_get_active_status(pr);
    if (st == NULL || !purple_presence_is_online(pr) || purple_status_is_available(st)) {
        return NULL;
    }
    return purple_status_get_name(st);
}

/* The headline (status message, HTML: escaped on receipt), or "Away" for an away buddy without one. */
char *prpl_status_text(PurpleBuddy *buddy) {
    PurpleStatus *st = purple_presence_get_active_status(purple_buddy_get_presence(buddy));
    const char *msg = st != NULL ? purple_status_get_attr_string(st, "message") : NULL;
    if (msg != NULL && msg[0] != '\0') {
        return g_strdup(msg);
    }
    const char *away = away_name(buddy);
    return away != NULL ? g_markup_escape_text(away, -1) : NULL;
}

/* "Status: Away" (with the message) for away buddies, as Pidgin's msimprpl showed; the headline
 * of available ones. */
void prpl_tooltip_text(PurpleBuddy *buddy, PurpleNotifyUserInfo *ui, gboolean full) {
    PurplePresence *pr = purple_buddy_get_presence(buddy);
    PurpleStatus *st = purple_presence_get_active_status(pr);
    const char *msg = st != NULL ? purple_status_get_attr_string(st, "message") : NULL;
    gboolean has_msg = msg != NULL && msg[0] != '\0';
    const char *away = away_name(buddy);
    if (away != NULL) {
        char *name = g_markup_escape_text(away, -1);
        char *text = has_msg ? g_strdup_printf("%s: %s", name, msg) : g_strdup(name);
        purple_notify_user_info_add_pair(ui, "Status", text);
        g_free(text);
        g_free(name);
    } else if (has_msg) {
        purple_notify_user_info_add_pair(ui, "Headline", msg);
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

/*
 * The other prpl operations, each a request to the session: IMs, typing, get_info, the buddy,
 * deny and permit lists, privacy, and zaps.
 */
#include <errno.h>

#include "msim_purple.h"

/* A request's msim_result as libpurple's send_im wants it (> 0 sent, -errno not); failures go to
 * the debug log, since most prpl operations have no way to report them. */
int send_result(msim_result r, const char *what) {
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

int prpl_send_im(PurpleConnection *gc, const char *who, const char *message, PurpleMessageFlags flags) {
    msim_purple *mp = mp_of(gc);
    (void)flags;
    /* `message` is libpurple's HTML; libmsim converts it to MSIM markup (SPEC §15.4). */
    return send_result(msim_session_send_im(mp->session, who, message, NULL), "send_im");
}

unsigned int prpl_send_typing(PurpleConnection *gc, const char *who, PurpleTypingState state) {
    msim_purple *mp = mp_of(gc);
    send_result(msim_session_send_typing(mp->session, who, state == PURPLE_TYPING), "send_typing");
    return 0; /* no need for libpurple to repeat "typing" */
}

void prpl_get_info(PurpleConnection *gc, const char *who) {
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

void prpl_add_buddy(PurpleConnection *gc, PurpleBuddy *buddy, PurpleGroup *group) {
    msim_purple *mp = mp_of(gc);
    const char *g = group != NULL ? purple_group_get_name(group) : NULL;
    send_result(msim_session_add_buddy(mp->session, purple_buddy_get_name(buddy), g), "add_buddy");
}

void prpl_remove_buddy(PurpleConnection *gc, PurpleBuddy *buddy, PurpleGroup *group) {
    msim_purple *mp = mp_of(gc);
    (void)group;
    send_result(msim_session_remove_buddy(mp->session, purple_buddy_get_name(buddy)), "remove_buddy");
}

void prpl_add_deny(PurpleConnection *gc, const char *who) {
    msim_purple *mp = mp_of(gc);
    send_result(msim_session_block(mp->session, who), "block");
}

void prpl_rem_deny(PurpleConnection *gc, const char *who) {
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
void prpl_add_permit(PurpleConnection *gc, const char *who) {
    msim_purple *mp = mp_of(gc);
    if (send_result(msim_session_permit(mp->session, who), "permit") > 0) {
        purple_debug_info(PRPL_ID, "(%s) permitted\n", who);
    }
}

void prpl_rem_permit(PurpleConnection *gc, const char *who) {
    msim_purple *mp = mp_of(gc);
    if (send_result(msim_session_unpermit(mp->session, who), "unpermit") > 0) {
        purple_debug_info(PRPL_ID, "(%s) unpermitted\n", who);
    }
}

/* libpurple's privacy modes onto ShowOnlyToList (SPEC §9.4): "allow only the users below" and
 * "allow only the users on my buddy list" show presence only to the list (plus, on msim-server,
 * the permitted users); every other mode shows it to everyone (blocking stays per user, add_deny).
 * PrivacyMode bit 0 is kept as the server reported it. */
void prpl_set_permit_deny(PurpleConnection *gc) {
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

GList *prpl_get_attention_types(PurpleAccount *account) {
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

gboolean prpl_send_attention(PurpleConnection *gc, const char *who, guint type) {
    msim_purple *mp = mp_of(gc);
    if (type > 9) {
        return FALSE;
    }
    return send_result(msim_session_send_zap(mp->session, who, type), "send_zap") > 0;
}

gboolean prpl_offline_message(const PurpleBuddy *buddy) {
    (void)buddy;
    return TRUE; /* the server stores IMs for offline users (SPEC §24) */
}

/* The buddy menu: a "Zap" submenu with every zap (SPEC §11.4), as Pidgin's msimprpl had; each
 * goes through libpurple's attention call, which also notes it in the conversation. */
static void zap_chosen(PurpleBlistNode *node, gpointer data) {
    PurpleBuddy *b = (PurpleBuddy *)node;
    PurpleConnection *gc = purple_account_get_connection(purple_buddy_get_account(b));
    if (gc != NULL) {
        purple_prpl_send_attention(gc, purple_buddy_get_name(b), GPOINTER_TO_UINT(data));
    }
}

GList *prpl_blist_node_menu(PurpleBlistNode *node) {
    if (!PURPLE_BLIST_NODE_IS_BUDDY(node)) {
        return NULL;
    }
    GList *zaps = NULL;
    for (guint i = 0; i < G_N_ELEMENTS(zap_names); i++) {
        zaps = g_list_append(zaps, purple_menu_action_new(zap_names[i][0], PURPLE_CALLBACK(zap_chosen),
                                                          GUINT_TO_POINTER(i), NULL));
    }
    return g_list_append(NULL, purple_menu_action_new("Zap", NULL, NULL, zaps));
}

/* The group a buddy is in on the local list, as the server should have it. */
static const char *group_of(PurpleBuddy *b) {
    PurpleGroup *g = b != NULL ? purple_buddy_get_group(b) : NULL;
    return g != NULL ? purple_group_get_name(g) : NULL;
}

/* A local alias is the contact's nickname on the server (0/9 contact-info write, SPEC §18.5); the
 * write carries the group too, so it is the buddy's current one. */
void prpl_alias_buddy(PurpleConnection *gc, const char *who, const char *alias) {
    msim_purple *mp = mp_of(gc);
    PurpleBuddy *b = purple_find_buddy(mp->account, who);
    const char *nick = alias != NULL && alias[0] != '\0' ? alias : NULL;
    if (send_result(msim_session_set_contact_info(mp->session, who, group_of(b), nick), "alias_buddy") > 0) {
        purple_debug_info(PRPL_ID, "(%s) nickname %s\n", who, nick != NULL ? nick : "(none)");
    }
}

/* Moving a buddy to another group is a 0/9 write with the new group and the nickname kept. */
void prpl_group_buddy(PurpleConnection *gc, const char *who, const char *old_group, const char *new_group) {
    msim_purple *mp = mp_of(gc);
    (void)old_group;
    PurpleBuddy *b = purple_find_buddy(mp->account, who);
    const char *nick = b != NULL ? purple_buddy_get_local_buddy_alias(b) : NULL;
    if (send_result(msim_session_set_contact_info(mp->session, who, new_group, nick), "group_buddy") > 0) {
        purple_debug_info(PRPL_ID, "(%s) moved to %s\n", who, new_group);
    }
}

/*
 * The account actions (PurplePluginInfo.actions; Pidgin: Accounts → <account>, Finch: the
 * account's actions menu), each a libpurple request dialog and one libmsim call:
 *   Set username…            the SPEC §6.7 flow (username.c), or what the username is
 *   Find people…             msim_session_lookup_user by username, e-mail or id → search results
 *   Import friends           msim_session_import_friends (SPEC §18.6) → how many were added
 *   Change profile…          display name, headline, now playing → msim_session_set_profile
 */
#include "msim_purple.h"

/* The connection an action runs for (context is the PurpleConnection); NULL when it is gone. */
static msim_purple *action_mp(PurplePluginAction *action) {
    PurpleConnection *gc = action != NULL ? action->context : NULL;
    msim_purple *mp = gc != NULL && PURPLE_CONNECTION_IS_VALID(gc) ? mp_of(gc) : NULL;
    return mp != NULL && !mp->dead ? mp : NULL;
}

/* ------------------------------------------------------------------ Set username… */

static void act_set_username(PurplePluginAction *action) {
    msim_purple *mp = action_mp(action);
    if (mp == NULL) {
        return;
    }
    char *name = NULL;
    if (msim_session_get_username(mp->session, &name) == MSIM_RESULT_OK && name != NULL) {
        char *msg = g_strdup_printf("This account's username is %s. MySpace usernames cannot be changed once set.",
                                    name);
        purple_notify_info(mp->gc, "MySpaceIM username", "The username is set", msg);
        g_free(msg);
        msim_string_free(name);
        return;
    }
    ask_username(mp, NULL);
}

/* ------------------------------------------------------------------ Find people… */

static void find_entered(void *data, const char *value) {
    msim_purple *mp = data;
    char *query = g_strstrip(g_strdup(value != NULL ? value : ""));
    uint32_t id = 0;
    msim_result r = query[0] != '\0' ? msim_session_lookup_user(mp->session, query, &id) : MSIM_RESULT_INVALID_ARGUMENT;
    if (r != MSIM_RESULT_OK) {
        purple_notify_error(mp->gc, "Find people", "The search could not be sent", msim_result_str((int)r));
        g_free(query);
        return;
    }
    g_hash_table_replace(mp->finds, GUINT_TO_POINTER(id), query);
}

static void act_find_people(PurplePluginAction *action) {
    msim_purple *mp = action_mp(action);
    if (mp == NULL) {
        return;
    }
    purple_request_input(mp->gc, "Find people", "Find a MySpace user",
                         "A username, an e-mail address or a numeric user id.", NULL, FALSE, FALSE, NULL, "Find",
                         G_CALLBACK(find_entered), "Cancel", NULL, mp->account, NULL, NULL, mp);
}

/* A search result row's first column is the user's buddy name. */
static void result_add(PurpleConnection *gc, GList *row, gpointer data) {
    (void)data;
    purple_blist_request_add_buddy(purple_connection_get_account(gc), row->data, NULL, NULL);
}

static void result_im(PurpleConnection *gc, GList *row, gpointer data) {
    (void)data;
    PurpleConversation *c = purple_conversation_new(PURPLE_CONV_TYPE_IM, purple_connection_get_account(gc), row->data);
    purple_conversation_present(c);
}

static void result_info(PurpleConnection *gc, GList *row, gpointer data) {
    (void)data;
    serv_get_info(gc, row->data);
}

gboolean show_find_result(msim_purple *mp, uint32_t request_id, msim_result r, const msim_user_info *info) {
    const char *query = g_hash_table_lookup(mp->finds, GUINT_TO_POINTER(request_id));
    if (query == NULL) {
        return FALSE; /* not a search */
    }
    if (info == NULL) {
        char *msg = r == MSIM_RESULT_OK ? g_strdup_printf("No MySpace user matches \"%s\".", query)
                                        : g_strdup_printf("Searching for \"%s\" failed: %s", query,
                                                          msim_result_str((int)r));
        purple_notify_info(mp->gc, "Find people", "No one found", msg);
        g_free(msg);
    } else {
        char buf[16], id[16];
        PurpleNotifySearchResults *res = purple_notify_searchresults_new();
        purple_notify_searchresults_column_add(res, purple_notify_searchresults_column_new("Username"));
        purple_notify_searchresults_column_add(res, purple_notify_searchresults_column_new("Display name"));
        purple_notify_searchresults_column_add(res, purple_notify_searchresults_column_new("User ID"));
        g_snprintf(id, sizeof id, "%u", (unsigned)info->uid);
        GList *row = NULL;
        row = g_list_append(row, g_strdup(user_name(info->uid, info->username, buf)));
        row = g_list_append(row, g_strdup(info->display_name != NULL ? info->display_name : ""));
        row = g_list_append(row, g_strdup(id));
        purple_notify_searchresults_row_add(res, row);
        purple_notify_searchresults_button_add(res, PURPLE_NOTIFY_BUTTON_ADD, result_add);
        purple_notify_searchresults_button_add(res, PURPLE_NOTIFY_BUTTON_IM, result_im);
        purple_notify_searchresults_button_add(res, PURPLE_NOTIFY_BUTTON_INFO, result_info);
        char *primary = g_strdup_printf("MySpace users matching \"%s\"", query);
        purple_notify_searchresults(mp->gc, "Find people", primary, NULL, res, NULL, NULL);
        g_free(primary);
    }
    g_hash_table_remove(mp->finds, GUINT_TO_POINTER(request_id));
    return TRUE;
}

/* ------------------------------------------------------------------ Import friends */

static void act_import(PurplePluginAction *action) {
    msim_purple *mp = action_mp(action);
    if (mp == NULL) {
        return;
    }
    msim_result r = msim_session_import_friends(mp->session, NULL);
    if (r != MSIM_RESULT_OK) {
        purple_notify_error(mp->gc, "Import friends", "Importing friends failed", msim_result_str((int)r));
    }
}

/* The new contacts have come with on_contact_list just before (events.c places them). */
void cb_import_result(void *ud, msim_result result, uint32_t count, const char *text) {
    msim_purple *mp = ud;
    if (mp->dead) {
        return;
    }
    if (result == MSIM_RESULT_OK) {
        char *msg = g_strdup_printf("%u buddies were added or updated.", (unsigned)count); /* Pidgin's words */
        purple_notify_info(mp->gc, "Import friends", "Your MySpace friends were imported", msg);
        g_free(msg);
    } else {
        purple_notify_error(mp->gc, "Import friends", "Importing friends failed", text);
    }
}

/* ------------------------------------------------------------------ Change profile… */

static void set_own(char **slot, const char *value) {
    g_free(*slot);
    *slot = g_strdup(value);
}

void note_own_profile(msim_purple *mp, const msim_user_info *info) {
    if (info->display_name != NULL) set_own(&mp->own_display_name, info->display_name);
    if (info->headline != NULL) set_own(&mp->own_headline, info->headline);
    if (info->band != NULL) set_own(&mp->own_band, info->band);
    if (info->song != NULL) set_own(&mp->own_song, info->song);
}

/* A field's new value, or NULL when the user left it as it was (NULL leaves the profile field
 * unchanged: the headline, for one, is not in lookup replies and may be unknown here). */
static const char *changed(PurpleRequestFields *fields, const char *id, const char *before) {
    const char *v = purple_request_fields_get_string(fields, id);
    if (v == NULL) v = "";
    return strcmp(v, before != NULL ? before : "") != 0 ? v : NULL;
}

static void profile_ok(void *data, PurpleRequestFields *fields) {
    msim_purple *mp = data;
    msim_profile p = {0};
    p.display_name = changed(fields, "display_name", mp->own_display_name);
    p.headline = changed(fields, "headline", mp->own_headline);
    p.band = changed(fields, "band", mp->own_band);
    p.song = changed(fields, "song", mp->own_song);
    msim_result r = msim_session_set_profile(mp->session, &p);
    if (r != MSIM_RESULT_OK) {
        purple_notify_error(mp->gc, "Change profile", "The profile could not be changed", msim_result_str((int)r));
        return;
    }
    /* setinfo has no reply (SPEC §5): what was sent is the profile now. */
    if (p.display_name != NULL) set_own(&mp->own_display_name, p.display_name);
    if (p.headline != NULL) set_own(&mp->own_headline, p.headline);
    if (p.band != NULL) set_own(&mp->own_band, p.band);
    if (p.song != NULL) set_own(&mp->own_song, p.song);
    purple_debug_info(PRPL_ID, "profile set: display name %s, headline %s, now playing %s - %s\n",
                      p.display_name ? p.display_name : "(same)", p.headline ? p.headline : "(same)",
                      p.band ? p.band : "(same)", p.song ? p.song : "(same)");
}

static void act_profile(PurplePluginAction *action) {
    msim_purple *mp = action_mp(action);
    if (mp == NULL) {
        return;
    }
    PurpleRequestFields *fields = purple_request_fields_new();
    PurpleRequestFieldGroup *g = purple_request_field_group_new(NULL);
    purple_request_fields_add_group(fields, g);
    purple_request_field_group_add_field(
        g, purple_request_field_string_new("display_name", "Display name", mp->own_display_name, FALSE));
    purple_request_field_group_add_field(
        g, purple_request_field_string_new("headline", "Headline (also your status message)", mp->own_headline,
                                           FALSE));
    purple_request_field_group_add_field(
        g, purple_request_field_string_new("band", "Now playing: artist", mp->own_band, FALSE));
    purple_request_field_group_add_field(
        g, purple_request_field_string_new("song", "Now playing: title", mp->own_song, FALSE));
    purple_request_fields(mp->gc, "Change profile", "Your MySpaceIM profile",
                          "What others see in your profile and buddy lists. Empty fields are cleared.", fields,
                          "Save", G_CALLBACK(profile_ok), "Cancel", NULL, mp->account, NULL, NULL, mp);
}

GList *prpl_actions(PurplePlugin *plugin, gpointer context) {
    (void)plugin;
    (void)context;
    GList *l = NULL;
    l = g_list_append(l, purple_plugin_action_new("Set username...", act_set_username));
    l = g_list_append(l, purple_plugin_action_new("Find people...", act_find_people));
    l = g_list_append(l, purple_plugin_action_new("Import friends", act_import));
    l = g_list_append(l, purple_plugin_action_new("Change profile...", act_profile));
    return l;
}

/*
 * Contact groups on the server (SPEC §10.2, §25): their ids, listed at sign-on, and libpurple's
 * rename_group / remove_group mapped onto msim_session_rename_group / msim_session_remove_group,
 * which name a group by its id.
 */
#include "msim_purple.h"

/* The server's groups: name -> id (GUINT_TO_POINTER), created on first use. */
static GHashTable *ids(msim_purple *mp) {
    if (mp->group_ids == NULL) {
        mp->group_ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    }
    return mp->group_ids;
}

static uint32_t group_id(msim_purple *mp, const char *name) {
    return GPOINTER_TO_UINT(g_hash_table_lookup(ids(mp), name));
}

/* Signed on: learn the server's groups and their ids (answered by cb_groups). */
void groups_signed_on(msim_purple *mp) {
    msim_result r = msim_session_request_groups(mp->session, NULL);
    if (r != MSIM_RESULT_OK) {
        purple_debug_warning(PRPL_ID, "cannot list the server's groups: %s\n", msim_result_str(r));
    }
}

static void cb_groups(void *ud, const msim_group *groups, size_t count) {
    msim_purple *mp = ud;
    if (mp->dead) {
        return;
    }
    g_hash_table_remove_all(ids(mp));
    for (size_t i = 0; i < count; i++) {
        if (groups[i].id != 0) {
            g_hash_table_insert(ids(mp), g_strdup(groups[i].name), GUINT_TO_POINTER(groups[i].id));
        }
    }
    purple_debug_info(PRPL_ID, "%u groups on the server\n", (unsigned)count);
}

static void cb_group_saved(void *ud, uint32_t request_id, msim_result r, const msim_group *g, const char *text) {
    (void)ud;
    (void)request_id;
    if (r == MSIM_RESULT_OK && g != NULL) {
        purple_debug_info(PRPL_ID, "group %u saved as \"%s\"\n", (unsigned)g->id, g->name);
    } else {
        purple_debug_warning(PRPL_ID, "saving a group failed: %s\n", text);
    }
}

static void cb_group_removed(void *ud, uint32_t request_id, uint32_t id, msim_result r, const char *text) {
    (void)ud;
    (void)request_id;
    if (r == MSIM_RESULT_OK) {
        purple_debug_info(PRPL_ID, "group %u removed\n", (unsigned)id);
    } else {
        purple_debug_warning(PRPL_ID, "removing group %u failed: %s\n", (unsigned)id, text);
    }
}

/* Adds this file's callbacks to the session's table. */
void groups_callbacks(msim_callbacks *cb) {
    cb->on_groups = cb_groups;
    cb->on_group_saved = cb_group_saved;
    cb->on_group_removed = cb_group_removed;
}

/* libpurple renamed a group (moved_buddies: the buddies in it, locally already moved). The server
 * group of that name is renamed by its id. A group the server does not have changes nothing there,
 * nor does a rename onto a server group's name: libpurple then merges, moving the buddies
 * (group_buddy) and removing the old group (remove_group). */
void prpl_rename_group(PurpleConnection *gc, const char *old_name, PurpleGroup *group, GList *moved_buddies) {
    msim_purple *mp = mp_of(gc);
    const char *name = purple_group_get_name(group);
    uint32_t id = mp != NULL ? group_id(mp, old_name) : 0;
    (void)moved_buddies;
    if (id == 0 || group_id(mp, name) != 0) {
        purple_debug_info(PRPL_ID, "group \"%s\" renamed to \"%s\" here only\n", old_name, name);
        return;
    }
    msim_result r = msim_session_rename_group(mp->session, id, name, NULL);
    if (r != MSIM_RESULT_OK) {
        purple_debug_warning(PRPL_ID, "renaming group \"%s\": %s\n", old_name, msim_result_str(r));
        return;
    }
    purple_debug_info(PRPL_ID, "renaming group \"%s\" (id %u) to \"%s\"\n", old_name, (unsigned)id, name);
    g_hash_table_remove(ids(mp), old_name);
    g_hash_table_insert(ids(mp), g_strdup(name), GUINT_TO_POINTER(id));
}

/* libpurple removed an (empty) group. */
void prpl_remove_group(PurpleConnection *gc, PurpleGroup *group) {
    msim_purple *mp = mp_of(gc);
    const char *name = purple_group_get_name(group);
    uint32_t id = mp != NULL ? group_id(mp, name) : 0;
    if (id == 0) {
        return; /* not on the server */
    }
    msim_result r = msim_session_remove_group(mp->session, id, NULL);
    if (r != MSIM_RESULT_OK) {
        purple_debug_warning(PRPL_ID, "removing group \"%s\": %s\n", name, msim_result_str(r));
        return;
    }
    purple_debug_info(PRPL_ID, "removing group \"%s\" (id %u)\n", name, (unsigned)id);
    g_hash_table_remove(ids(mp), name);
}

void groups_free(msim_purple *mp) {
    if (mp->group_ids != NULL) {
        g_hash_table_destroy(mp->group_ids);
        mp->group_ids = NULL;
    }
}

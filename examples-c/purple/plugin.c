/*
 * The plugin's tables for libpurple (PurplePluginProtocolInfo, PurplePluginInfo) and its init.
 */
#include "msim_purple.h"

static PurplePluginProtocolInfo prpl_info = {
    0,                        /* options */
    NULL,                     /* user_splits */
    NULL,                     /* protocol_options: plugin_init */
    /* Buddy icons: received only (icons.c says why the own icon is not uploaded). */
    {"png,gif,jpeg", 0, 0, 96, 96, 0, PURPLE_ICON_SCALE_DISPLAY},
    prpl_list_icon,
    NULL, /* list_emblem */
    prpl_status_text,
    prpl_tooltip_text,
    prpl_status_types,
    prpl_blist_node_menu,
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
    prpl_alias_buddy,
    prpl_group_buddy,
    prpl_rename_group,
    NULL, /* buddy_free */
    NULL, /* convo_closed */
    prpl_normalize,
    NULL, /* set_buddy_icon */
    prpl_remove_group,
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
    "buddy icons, inbox alerts, the server-side contact and block lists.",
    "msim contributors",
    "",   /* homepage */
    plugin_load,
    plugin_unload,
    NULL, /* destroy */
    NULL, /* ui_info */
    &prpl_info,
    NULL, /* prefs_info */
    prpl_actions,
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
    prpl_info.protocol_options = g_list_append(
        prpl_info.protocol_options,
        purple_account_option_bool_new("Show inbox alerts (new mail, comments, friend requests)", OPT_MAIL_ALERTS,
                                       TRUE));
}

PURPLE_INIT_PLUGIN(msim, plugin_init, info)

/*
 * libmsim-purple.so — a libpurple 2.x protocol plugin (Pidgin, Finch, any libpurple client) for
 * MySpaceIM, built on libmsim's C API (include/msim.h).
 *
 * What lives here is only the mapping between libpurple's prpl callbacks and msim sessions;
 * the protocol is libmsim's. One msim_session per PurpleConnection, created in POLL dispatch
 * mode: libmsim's IO thread queues events and makes msim_session_fd() readable, and
 * purple_input_add() on that fd runs msim_session_dispatch() on libpurple's own thread, so every
 * libpurple call in this plugin happens where libpurple expects it.
 *
 * Names: a buddy is named by its MySpace username, or by its numeric uid when it has none.
 * The account name is the login e-mail address.
 *
 * This header is what the plugin's files share: the per-connection state and the functions one
 * file calls in another. The files:
 *   connection.c  login and close: the per-connection state's life, fatal errors
 *   buddies.c     other users on libpurple's lists: names, placement, presence, tooltips
 *   events.c      msim -> libpurple: the session's callbacks and the fd watch
 *   status.c      own status, tune, public alias and idle -> msim
 *   requests.c    the other prpl operations: IMs, typing, get_info, buddy and privacy lists, zaps,
 *                 the buddy menu, alias and group moves
 *   username.c    choosing a username for an account without one (SPEC §6.7), with dialogs
 *   actions.c     the account actions: set username, find people, import friends, profile
 *   icons.c       buddy icons: the users' pictures fetched over HTTP, the URL as checksum
 *   mail.c        inbox alerts (SPEC §13) as libpurple mail notifications
 *   groups.c      the server's groups: their ids, rename_group and remove_group
 *   plugin.c      the PurplePluginProtocolInfo / PurplePluginInfo tables and plugin init
 *
 * Build and install: see README.md beside this file.
 */
#ifndef MSIM_PURPLE_H
#define MSIM_PURPLE_H

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
#include <proxy.h>
#include <prpl.h>
#include <request.h>
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
/* Account option: show inbox alerts (SPEC §13); on unless the user turns it off. */
#define OPT_MAIL_ALERTS "mail_alerts"

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

/* The per-connection state: the PurpleConnection's protocol data (mp_of), from login to close. */
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
    GHashTable *group_ids; /* server group name -> id (GUINT_TO_POINTER), groups.c; NULL until used */
    GSList *icon_fetches;  /* icon_fetch* (icons.c): pictures on their way */
    GHashTable *finds;     /* request id -> query (char*) of "Find people…" */
    uint32_t username_check, username_set; /* request ids of the username flow (username.c) */
    char *wanted_username; /* the name the user asked for, while it is checked or set */
    /* Own profile as this session last learnt or set it, to prefill "Change profile…". */
    char *own_display_name, *own_headline, *own_band, *own_song;
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

/* Shared between the plugin's files; G_GNUC_INTERNAL keeps them out of the .so's dynamic symbols
 * (only purple_init_plugin is exported), so no other loaded library can interpose on them. */

/* connection.c */
G_GNUC_INTERNAL msim_purple *mp_of(PurpleConnection *gc);
G_GNUC_INTERNAL void fail(msim_purple *mp, PurpleConnectionError reason, const char *text);
G_GNUC_INTERNAL void prpl_login(PurpleAccount *account);
G_GNUC_INTERNAL void prpl_close(PurpleConnection *gc);

/* buddies.c */
G_GNUC_INTERNAL const char *user_name(uint32_t uid, const char *username, char buf[16]);
G_GNUC_INTERNAL void note_user(GHashTable *infos, const char *who, uint32_t uid, const char *display_name);
G_GNUC_INTERNAL void place_contact(msim_purple *mp, uint32_t uid, const char *name, const char *group,
                                   const char *nickname, gboolean blocked);
G_GNUC_INTERNAL void apply_presence(msim_purple *mp, const char *who, msim_presence presence, const char *headline);
G_GNUC_INTERNAL const char *prpl_list_icon(PurpleAccount *account, PurpleBuddy *buddy);
G_GNUC_INTERNAL char *prpl_status_text(PurpleBuddy *buddy);
G_GNUC_INTERNAL const char *prpl_normalize(const PurpleAccount *account, const char *who);
G_GNUC_INTERNAL void prpl_tooltip_text(PurpleBuddy *buddy, PurpleNotifyUserInfo *ui, gboolean full);

/* events.c */
G_GNUC_INTERNAL void fill_callbacks(msim_callbacks *cb);
G_GNUC_INTERNAL void input_cb(gpointer data, gint fd, PurpleInputCondition cond);

/* status.c */
G_GNUC_INTERNAL void push_status(msim_purple *mp, PurpleStatus *status);
G_GNUC_INTERNAL void drop_alias_answers(msim_purple *mp);
G_GNUC_INTERNAL GList *prpl_status_types(PurpleAccount *account);
G_GNUC_INTERNAL void prpl_set_status(PurpleAccount *account, PurpleStatus *status);
G_GNUC_INTERNAL void prpl_set_public_alias(PurpleConnection *gc, const char *alias,
                                           PurpleSetPublicAliasSuccessCallback success_cb,
                                           PurpleSetPublicAliasFailureCallback failure_cb);
G_GNUC_INTERNAL void prpl_set_idle(PurpleConnection *gc, int idle_seconds);

/* requests.c */
G_GNUC_INTERNAL int send_result(msim_result r, const char *what);
G_GNUC_INTERNAL int prpl_send_im(PurpleConnection *gc, const char *who, const char *message,
                                 PurpleMessageFlags flags);
G_GNUC_INTERNAL unsigned int prpl_send_typing(PurpleConnection *gc, const char *who, PurpleTypingState state);
G_GNUC_INTERNAL void prpl_get_info(PurpleConnection *gc, const char *who);
G_GNUC_INTERNAL void prpl_add_buddy(PurpleConnection *gc, PurpleBuddy *buddy, PurpleGroup *group);
G_GNUC_INTERNAL void prpl_remove_buddy(PurpleConnection *gc, PurpleBuddy *buddy, PurpleGroup *group);
G_GNUC_INTERNAL void prpl_add_deny(PurpleConnection *gc, const char *who);
G_GNUC_INTERNAL void prpl_rem_deny(PurpleConnection *gc, const char *who);
G_GNUC_INTERNAL void prpl_add_permit(PurpleConnection *gc, const char *who);
G_GNUC_INTERNAL void prpl_rem_permit(PurpleConnection *gc, const char *who);
G_GNUC_INTERNAL void prpl_set_permit_deny(PurpleConnection *gc);
G_GNUC_INTERNAL GList *prpl_get_attention_types(PurpleAccount *account);
G_GNUC_INTERNAL gboolean prpl_send_attention(PurpleConnection *gc, const char *who, guint type);
G_GNUC_INTERNAL gboolean prpl_offline_message(const PurpleBuddy *buddy);
G_GNUC_INTERNAL GList *prpl_blist_node_menu(PurpleBlistNode *node);
G_GNUC_INTERNAL void prpl_alias_buddy(PurpleConnection *gc, const char *who, const char *alias);
G_GNUC_INTERNAL void prpl_group_buddy(PurpleConnection *gc, const char *who, const char *old_group,
                                      const char *new_group);

/* username.c */
G_GNUC_INTERNAL void ask_username(msim_purple *mp, const char *why);
G_GNUC_INTERNAL void cb_username_required(void *ud, uint32_t uid);
G_GNUC_INTERNAL void cb_username_result(void *ud, uint32_t request_id, const char *name, msim_username_result result,
                                        const char *text);

/* actions.c */
G_GNUC_INTERNAL GList *prpl_actions(PurplePlugin *plugin, gpointer context);
G_GNUC_INTERNAL gboolean show_find_result(msim_purple *mp, uint32_t request_id, msim_result r,
                                          const msim_user_info *info);
G_GNUC_INTERNAL void note_own_profile(msim_purple *mp, const msim_user_info *info);
G_GNUC_INTERNAL void cb_import_result(void *ud, msim_result result, uint32_t count, const char *text);

/* icons.c */
G_GNUC_INTERNAL void update_icon(msim_purple *mp, const char *who, const char *url);
G_GNUC_INTERNAL void cancel_icon_fetches(msim_purple *mp);

/* mail.c */
G_GNUC_INTERNAL void cb_mail_alert(void *ud, uint32_t new_flags, uint32_t all_flags);

/* groups.c */
G_GNUC_INTERNAL void groups_signed_on(msim_purple *mp);
G_GNUC_INTERNAL void groups_callbacks(msim_callbacks *cb);
G_GNUC_INTERNAL void groups_free(msim_purple *mp);
G_GNUC_INTERNAL void prpl_rename_group(PurpleConnection *gc, const char *old_name, PurpleGroup *group,
                                       GList *moved_buddies);
G_GNUC_INTERNAL void prpl_remove_group(PurpleConnection *gc, PurpleGroup *group);

#endif /* MSIM_PURPLE_H */

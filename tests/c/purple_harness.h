/*
 * What the files of the libpurple null-client harness share (tests/purple_harness.rs builds them
 * together): the recorded state, the checks and waits, the scripted dialogs.
 *   purple_harness.c          main: the accounts and the core script (sign-on, IMs, presence, …)
 *   purple_harness_ui.c       the event loop, libpurple signals and UI ops that record what
 *                             prpl-msim shows (notifications, dialogs, debug log), checks, waits
 *   purple_harness_actions.c  the account actions and the username flow (issue 12)
 *   purple_harness_buddies.c  buddy icons, the zap menu, names, tooltips, nicknames and groups,
 *                             inbox alerts (issue 12)
 */
#ifndef PURPLE_HARNESS_H
#define PURPLE_HARNESS_H

#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>
#include <purple.h>

#define UI_ID "msim-harness"
#define WAIT_MS 10000

typedef struct {
    char *from;
    char *message;
    gboolean connected; /* the account was connected (signed on) when it arrived */
} im;

/* A dialog prpl-msim opened (purple_request_*), waiting for the script to answer it. */
typedef struct {
    PurpleRequestType type;
    char *title, *primary, *secondary, *default_value;
    GCallback ok_cb, cancel_cb;
    GCallback actions[4]; /* request_action's buttons, in order */
    size_t action_count;
    PurpleRequestFields *fields;
    void *user_data;
    gboolean closed; /* closed by libpurple (its connection went away) */
} dialog;

typedef struct {
    PurpleAccount *a, *b, *c, *d, *e;
    const char *a_name, *b_name, *c_name;
    GPtrArray *ims_a, *ims_b; /* im* received by A / B */
    int signed_on_a, signed_on_b, signed_on_c, signed_on_d;
    int error_a, error_b, error_c, error_d, error_e; /* last PurpleConnectionError + 1, 0 = none */
    char *error_text_e;
    int status_changes_of_b; /* buddy-status-changed for B in A's list */
    int idle_changes_of_b;
    int typing_at_b, typing_stopped_at_b; /* buddy-typing(-stopped) from A, at B */
    int attention_at_b;                   /* got-attention from A at B: type + 1 */
    gboolean userinfo_seen;
    char *userinfo_who;
    char *userinfo_text;
    int alias_answers, alias_ok; /* set_public_alias callbacks */
    GString *debug;              /* prpl-msim's debug lines */
    GString *progress_a;         /* A's connect_progress texts, "step/count text;" each */
    int progress_steps_a, progress_last_a, progress_ordered_a;
    GPtrArray *dialogs; /* dialog*, every one opened, oldest first */
    /* notify_message: the last one's primary and secondary texts, and how many came */
    char *notice_primary, *notice_secondary;
    int notices;
    /* notify_emails per account: calls, and the first subject and URL of the last call */
    int emails_a, emails_b;
    char *email_subject_a, *email_url_a;
    /* notify_searchresults: the last results and how many came */
    PurpleNotifySearchResults *search;
    int searches;
} harness_state;

extern harness_state st;

/* purple_harness_ui.c */
void harness_init_state(void);
void harness_set_ui_ops(void);
void connect_signals(void);
void check(gboolean ok, const char *what, const char *why_fmt, ...);
gboolean step_until(gint64 deadline);
gint64 deadline_in(int ms);
void run_for(int ms);
int harness_failures(void);
int harness_checks(void);
const im *find_im(GPtrArray *ims, const char *from, const char *needle);
time_t history_time(PurpleConversation *conv, const char *needle);
int numeric_conversations(PurpleAccount *acc);
PurpleBuddy *b_in_a(void);
const char *b_status_id(void);
const char *b_status_message(void);
gboolean b_is(const char *id, const char *message);
gboolean b_idle(void);
gboolean debug_has(const char *needle);
int debug_count(const char *needle);
PurpleAccount *new_account(const char *email, const char *password, const char *host, int port);
/* The newest dialog still open whose title is `title` (NULL = any); NULL when there is none. */
dialog *open_dialog(const char *title);
int dialogs_titled(const char *title);
/* Answer a dialog as a user would: type text and press OK, press Cancel, press a button, or
 * press OK on a fields dialog. Each closes the dialog the way a UI does afterwards. */
void answer_input(dialog *d, const char *value);
void cancel_dialog(dialog *d);
void answer_action(dialog *d, size_t index);
void answer_fields(dialog *d);
/* The text of a tooltip/user-info block as libpurple renders it. */
char *user_info_text(PurpleNotifyUserInfo *ui);

/* Runs the loop until `cond` holds (ok = TRUE) or `ms` pass (ok = FALSE). */
#define WAIT_UNTIL(ok, cond, ms)                                   \
    do {                                                           \
        gint64 dl_ = deadline_in(ms);                              \
        while (!((ok) = (cond)) && step_until(dl_)) {              \
        }                                                          \
    } while (0)

/* purple_harness_actions.c */
void check_account_actions(PurplePlugin *prpl);
void check_find_people(PurplePlugin *prpl);
void check_import_friends(PurplePlugin *prpl);
void check_change_profile(PurplePlugin *prpl);
void check_username_flow(void);

/* purple_harness_buddies.c */
void check_buddy_icon(void);
void check_buddy_icon_change(void);
void check_zap_menu(PurplePluginProtocolInfo *info);
void check_normalize(PurplePluginProtocolInfo *info);
void check_away_tooltip(PurplePluginProtocolInfo *info);
void check_nickname_and_group(void);
void check_mail_alert_on(void);
void check_mail_alert_off(void);

#endif /* PURPLE_HARNESS_H */

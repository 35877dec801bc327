/*
 * Inbox alerts (SPEC §13): libmsim checks 7/18 at sign-on and every minute and reports each kind
 * of item (mail, comments, friend requests) the first time it appears in a session; they become
 * libpurple mail notifications (Pidgin: the "You have mail" box with its links; Finch: a
 * notification window), with the texts and links Pidgin's msimprpl used. The account option
 * "Show inbox alerts" (OPT_MAIL_ALERTS, on by default) turns the checks off altogether
 * (msim_session_options.disable_mail_check, connection.c).
 */
#include "msim_purple.h"

static const struct {
    uint32_t flag;
    const char *text;
    const char *url;
} alerts[] = {
    {MSIM_MAIL_FLAG_MAIL, "New Mail messages", "http://messaging.myspace.com/index.cfm?fuseaction=mail.inbox"},
    {MSIM_MAIL_FLAG_BLOG_COMMENT, "New Blog Comments", "http://blog.myspace.com/index.cfm?fuseaction=blog"},
    {MSIM_MAIL_FLAG_PROFILE_COMMENT, "New Profile Comments", "http://home.myspace.com/index.cfm?fuseaction=user"},
    {MSIM_MAIL_FLAG_FRIEND_REQUEST, "New Friend Requests!",
     "http://messaging.myspace.com/index.cfm?fuseaction=mail.friendRequests"},
    {MSIM_MAIL_FLAG_PICTURE_COMMENT, "New Picture Comments", "http://home.myspace.com/index.cfm?fuseaction=user"},
    /* Not handled by Pidgin (SPEC §13: [S] only); the events page is the closest link known. */
    {MSIM_MAIL_FLAG_EVENT_INVITATION, "New Event Invitations", "http://home.myspace.com/index.cfm?fuseaction=user"},
};

void cb_mail_alert(void *ud, uint32_t new_flags, uint32_t all_flags) {
    msim_purple *mp = ud;
    (void)all_flags;
    if (mp->dead) {
        return;
    }
    const char *subjects[G_N_ELEMENTS(alerts)], *froms[G_N_ELEMENTS(alerts)], *tos[G_N_ELEMENTS(alerts)],
        *urls[G_N_ELEMENTS(alerts)];
    size_t n = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(alerts); i++) {
        if (new_flags & alerts[i].flag) {
            subjects[n] = alerts[i].text;
            froms[n] = "MySpace";
            tos[n] = purple_account_get_username(mp->account);
            urls[n] = alerts[i].url;
            n++;
        }
    }
    if (n == 0) {
        return;
    }
    purple_debug_info(PRPL_ID, "inbox alerts: %u new kind(s) (flags 0x%x)\n", (unsigned)n, (unsigned)new_flags);
    purple_notify_emails(mp->gc, n, TRUE, subjects, froms, tos, urls, NULL, NULL);
}

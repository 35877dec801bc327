/*
 * harness_common.h — what the two TAP harnesses share: harness.c and harness_more.c each include it
 * once (one translation unit each). A client records everything its session's callbacks report
 * (guarded by `lock`: IO-thread sessions call back from their own thread); pump() and WAIT run the
 * poll-mode sessions' callbacks while waiting, bounded by wait_seconds (HARNESS_WAIT_SECONDS,
 * default 20, generous for valgrind); ok() prints one TAP line per check and bail() ends the run.
 * Each program picks which recorders it registers. Every function is `static inline`, so a program
 * that leaves one unused builds warning-free under -Wall -Werror.
 */
#ifndef HARNESS_COMMON_H
#define HARNESS_COMMON_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "msim.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAXN 16
#define MAX_CLIENTS 4

typedef struct {
    uint32_t uid;
    char username[32], display_name[64], headline[64], band[64], song[64], image_url[128];
    int64_t total_friends;
} info_rec;

typedef struct {
    uint32_t uid;
    char group[32], nickname[32];
    bool blocked;
} contact_rec;

typedef struct {
    char name[32];
    uint32_t id, position, flags;
} group_rec;

typedef struct {
    uint32_t from;
    msim_notice_kind kind;
    char username[32], text[128];
} notice_rec;

typedef struct {
    uint32_t gid, from, actor;
    msim_group_chat_kind kind;
    char username[32], plain[64];
    int html_has_text;
} chat_rec;

/* A peer's presence as last reported by on_buddy_status. */
typedef struct {
    uint32_t uid;
    msim_presence presence;
    char headline[128];
} peer_rec;

/* Everything a session's callbacks saw, guarded by `lock`. Absent strings are "(null)". */
typedef struct {
    const char *name;
    msim_session *session;
    int poll_mode;
    int signed_on, login_failed, disconnected; /* counts */
    char signed_name[32];
    msim_login_failure fail_reason; /* the last on_login_failed */
    uint32_t fail_code;
    msim_disconnect_reason disc_reason; /* the last on_disconnected */
    uint32_t progress[MAXN], progress_total[MAXN];
    int nprogress, progress_text_empty, progress_at_required;
    int username_required, username_results;
    uint32_t required_uid, ur_request;
    char ur_name[32], ur_text[128];
    msim_username_result ur_result;
    int ims, offline_ims; /* on_im_received: the last one */
    uint32_t im_from;
    char im_username[64], im_html[1024], im_plain[1024];
    int64_t im_time;
    bool im_offline;
    int ims_sent, ims_failed;
    uint64_t sent_ids[MAXN], failed_id;
    msim_result failed_result;
    int ninfos;
    info_rec infos[MAXN];
    int lookups, lk_found;
    uint32_t lk_request;
    msim_result lk_result;
    info_rec lk;
    int contact_lists;
    contact_rec contacts[MAXN];
    size_t ncontacts;
    int added, removed, blocks;
    uint32_t added_uid, removed_uid, blocked_uid;
    char added_name[32], added_group[32], removed_name[32], blocked_name[32];
    bool blocked;
    int group_lists;
    group_rec groups[MAXN];
    size_t ngroups;
    int imports;
    msim_result import_result;
    uint32_t import_count;
    int mails;
    uint32_t mail_new, mail_all;
    int server_infos;
    char max_contacts[16];
    int errors;
    msim_result error_result;
    int unhandled;
    char unhandled_frames[1024];
    int statuses; /* on_buddy_status: the last one, and each peer's last one */
    uint32_t status_uid;
    msim_presence status_presence;
    char status_headline[128];
    peer_rec peers[MAXN];
    size_t npeers;
    int typings, typing_on, typing_off; /* on_typing: the last one */
    uint32_t typing_from;
    bool typing;
    int zaps; /* on_zap: the last one */
    uint32_t zap_from, zap;
    char zap_name[32];
    int privacies; /* on_privacy: the last one */
    bool priv_show;
    uint32_t priv_mode, priv_offline;
    int groups_saved; /* on_group_saved: the last one */
    uint32_t gs_request;
    msim_result gs_result;
    int gs_has_group, gs_text_empty;
    group_rec gs;
    int web_challenges; /* on_web_challenge: the last one */
    size_t nchallenges;
    uint64_t ch_value[MAXN];
    size_t ch_len[MAXN];
    int ch_distinct;
    int notices;
    notice_rec notice[MAXN];
    int statuses_ex; /* on_buddy_status_ex: the last one */
    uint32_t sx_uid, sx_code;
    msim_presence sx_presence;
    int64_t sx_ts;
    char sx_username[32], sx_headline[64], sx_caps[32];
    int chats; /* on_group_chat, in order */
    chat_rec chat[MAXN];
    int groups_removed; /* on_group_removed: the last one */
    uint32_t gr_request, gr_id;
    msim_result gr_result;
    int gr_text_empty;
    int traces_in, traces_out, bad_traces;
    char *trace; /* every traced frame, one per line */
    size_t trace_len, trace_cap;
} client;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int wait_seconds = 20;
static int checks, failures;
static client clients[MAX_CLIENTS];
static size_t nclients;

static inline void copy(char *dst, size_t len, const char *src) {
    snprintf(dst, len, "%s", src ? src : "(null)");
}

/* Runs `body` with `lock` held and `self` the client `c`. */
#define LOCKED(c, body)                                                                            \
    do {                                                                                           \
        client *self = (c);                                                                        \
        pthread_mutex_lock(&lock);                                                                 \
        body;                                                                                      \
        pthread_mutex_unlock(&lock);                                                               \
    } while (0)

/* `uid`'s entry in c->peers, added when new; NULL when the table is full. Call with `lock` held. */
static inline peer_rec *peer_slot(client *c, uint32_t uid) {
    for (size_t i = 0; i < c->npeers; i++)
        if (c->peers[i].uid == uid) return &c->peers[i];
    if (c->npeers == MAXN) return NULL;
    peer_rec *p = &c->peers[c->npeers++];
    p->uid = uid;
    return p;
}

/* ---- callbacks: each records what it got into the client (its userdata) ---- */

static inline void on_progress(void *ud, uint32_t step, uint32_t total, const char *text) {
    LOCKED(ud, if (self->nprogress < MAXN) {
        self->progress[self->nprogress] = step;
        self->progress_total[self->nprogress++] = total;
    } if (!text || !*text) self->progress_text_empty++);
}
static inline void on_signed_on(void *ud, uint32_t uid, const char *username) {
    (void)uid;
    LOCKED(ud, self->signed_on++; copy(self->signed_name, sizeof self->signed_name, username));
}
static inline void on_login_failed(void *ud, msim_login_failure reason, uint32_t code, const char *text) {
    printf("# %s: login failed (%d, %u): %s\n", ((client *)ud)->name, (int)reason, code, text);
    LOCKED(ud, self->login_failed++; self->fail_reason = reason; self->fail_code = code);
}
static inline void on_disconnected(void *ud, msim_disconnect_reason reason, uint32_t code, const char *text,
                                   bool again) {
    (void)code, (void)text, (void)again;
    LOCKED(ud, self->disconnected++; self->disc_reason = reason);
}
static inline void on_username_required(void *ud, uint32_t uid) {
    LOCKED(ud, self->username_required++; self->required_uid = uid; self->progress_at_required = self->nprogress);
}
static inline void on_username_result(void *ud, uint32_t req, const char *name, msim_username_result result,
                               const char *text) {
    LOCKED(ud, self->username_results++; self->ur_request = req; self->ur_result = result;
           copy(self->ur_name, sizeof self->ur_name, name); copy(self->ur_text, sizeof self->ur_text, text));
}
static inline void on_im_received(void *ud, uint32_t from, const char *username, const char *html, const char *plain,
                           int64_t t, bool offline) {
    LOCKED(ud, self->ims++; self->offline_ims += offline; self->im_offline = offline; self->im_from = from;
           self->im_time = t; copy(self->im_username, sizeof self->im_username, username);
           copy(self->im_html, sizeof self->im_html, html); copy(self->im_plain, sizeof self->im_plain, plain));
}
static inline void on_im_sent(void *ud, uint64_t id) {
    LOCKED(ud, if (self->ims_sent < MAXN) self->sent_ids[self->ims_sent++] = id);
}
static inline void on_im_failed(void *ud, uint64_t id, msim_result result, const char *text) {
    printf("# %s: IM %llu failed: %s\n", ((client *)ud)->name, (unsigned long long)id, text);
    LOCKED(ud, self->ims_failed++; self->failed_id = id; self->failed_result = result);
}
static inline void fill_info(info_rec *r, const msim_user_info *i) {
    r->uid = i->uid;
    copy(r->username, sizeof r->username, i->username);
    copy(r->display_name, sizeof r->display_name, i->display_name);
    copy(r->headline, sizeof r->headline, i->headline);
    copy(r->band, sizeof r->band, i->band);
    copy(r->song, sizeof r->song, i->song);
    copy(r->image_url, sizeof r->image_url, i->image_url);
    r->total_friends = i->total_friends;
}
static inline void on_user_info(void *ud, const msim_user_info *info) {
    LOCKED(ud, fill_info(&self->infos[self->ninfos < MAXN ? self->ninfos++ : MAXN - 1], info));
}
static inline void on_lookup_result(void *ud, uint32_t req, msim_result result, const msim_user_info *info) {
    LOCKED(ud, self->lookups++; self->lk_request = req; self->lk_result = result; self->lk_found = info != NULL;
           if (info) fill_info(&self->lk, info));
}
static inline void on_contact_list(void *ud, const msim_contact *list, size_t count) {
    LOCKED(ud, self->contact_lists++; self->ncontacts = 0; for (size_t i = 0; i < count && i < MAXN; i++) {
        contact_rec *r = &self->contacts[self->ncontacts++];
        r->uid = list[i].uid;
        r->blocked = list[i].blocked;
        copy(r->group, sizeof r->group, list[i].group);
        copy(r->nickname, sizeof r->nickname, list[i].nickname);
    });
}
static inline void on_buddy_added(void *ud, uint32_t uid, const char *username, const char *group) {
    LOCKED(ud, self->added++; self->added_uid = uid; copy(self->added_name, sizeof self->added_name, username);
           copy(self->added_group, sizeof self->added_group, group));
}
static inline void on_buddy_removed(void *ud, uint32_t uid, const char *username) {
    LOCKED(ud, self->removed++; self->removed_uid = uid; copy(self->removed_name, sizeof self->removed_name, username));
}
static inline void on_buddy_blocked(void *ud, uint32_t uid, const char *username, bool blocked) {
    LOCKED(ud, self->blocks++; self->blocked_uid = uid; self->blocked = blocked;
           copy(self->blocked_name, sizeof self->blocked_name, username));
}
static inline void on_groups(void *ud, const msim_group *groups, size_t count) {
    LOCKED(ud, self->group_lists++; self->ngroups = 0; for (size_t i = 0; i < count && i < MAXN; i++) {
        group_rec *g = &self->groups[self->ngroups++];
        copy(g->name, sizeof g->name, groups[i].name);
        g->id = groups[i].id;
        g->position = groups[i].position;
        g->flags = groups[i].flags;
    });
}
static inline void on_import_result(void *ud, msim_result result, uint32_t count, const char *text) {
    (void)text;
    LOCKED(ud, self->imports++; self->import_result = result; self->import_count = count);
}
static inline void on_mail_alert(void *ud, uint32_t new_flags, uint32_t all_flags) {
    LOCKED(ud, self->mails++; self->mail_new = new_flags; self->mail_all = all_flags);
}
static inline void on_server_info(void *ud, const char *const *keys, const char *const *values, size_t count) {
    LOCKED(ud, self->server_infos++; for (size_t i = 0; i < count; i++) {
        if (strcmp(keys[i], "MaxContacts") == 0) copy(self->max_contacts, sizeof self->max_contacts, values[i]);
    });
}
static inline void on_error(void *ud, msim_result result, uint32_t code, const char *text) {
    printf("# %s: on_error %s (%d), server code %u: %s\n", ((client *)ud)->name, msim_result_str(result),
           (int)result, code, text);
    LOCKED(ud, self->errors++; self->error_result = result);
}
static inline void on_unhandled(void *ud, const char *frame) {
    LOCKED(ud, self->unhandled++; size_t n = strlen(self->unhandled_frames);
           snprintf(self->unhandled_frames + n, sizeof self->unhandled_frames - n, "%s\n", frame));
}
static inline void on_trace(void *ud, msim_direction dir, const char *frame) {
    size_t len = strlen(frame);
    int framed = len >= 8 && frame[0] == '\\' && strcmp(frame + len - 7, "\\final\\") == 0 && !strchr(frame, '\n');
    LOCKED(ud, if (dir == MSIM_DIRECTION_IN) self->traces_in++; else self->traces_out++;
           self->bad_traces += !framed; if (self->trace_len + len + 2 > self->trace_cap) {
               self->trace_cap = (self->trace_len + len + 2) * 2;
               self->trace = realloc(self->trace, self->trace_cap);
           } if (self->trace) {
               memcpy(self->trace + self->trace_len, frame, len);
               self->trace_len += len;
               self->trace[self->trace_len++] = '\n';
               self->trace[self->trace_len] = '\0';
           });
}

static inline void on_buddy_status(void *ud, uint32_t uid, const char *username, msim_presence presence,
                                   const char *headline) {
    (void)username;
    LOCKED(ud, self->statuses++; self->status_uid = uid; self->status_presence = presence;
           copy(self->status_headline, sizeof self->status_headline, headline);
           peer_rec *p = peer_slot(self, uid); if (p) {
               p->presence = presence;
               copy(p->headline, sizeof p->headline, headline);
           });
}
static inline void on_typing(void *ud, uint32_t from, const char *username, bool typing) {
    (void)username;
    LOCKED(ud, self->typings++; if (typing) self->typing_on++; else self->typing_off++; self->typing_from = from;
           self->typing = typing);
}
static inline void on_zap(void *ud, uint32_t from, const char *username, uint32_t zap, const char *zap_name) {
    (void)username;
    LOCKED(ud, self->zaps++; self->zap_from = from; self->zap = zap;
           copy(self->zap_name, sizeof self->zap_name, zap_name));
}
static inline void on_group_saved(void *ud, uint32_t req, msim_result result, const msim_group *g, const char *text) {
    LOCKED(ud, self->groups_saved++; self->gs_request = req; self->gs_result = result; self->gs_has_group = g != NULL;
           self->gs_text_empty = text && !*text; if (g) {
               copy(self->gs.name, sizeof self->gs.name, g->name);
               self->gs.id = g->id;
               self->gs.position = g->position;
               self->gs.flags = g->flags;
           });
}
static inline void on_privacy(void *ud, bool show_only_to_list, uint32_t privacy_mode, uint32_t offline_message_mode) {
    LOCKED(ud, self->privacies++; self->priv_show = show_only_to_list; self->priv_mode = privacy_mode;
           self->priv_offline = offline_message_mode);
}
static inline void on_web_challenge(void *ud, const msim_web_challenge *ch, size_t count) {
    LOCKED(ud, self->web_challenges++; self->nchallenges = count;
           self->ch_distinct = count >= 2 && ch[0].data_len == ch[1].data_len &&
                               memcmp(ch[0].data, ch[1].data, ch[0].data_len) != 0;
           for (size_t i = 0; i < count && i < MAXN; i++) {
               self->ch_value[i] = ch[i].challenge;
               self->ch_len[i] = ch[i].data_len;
           });
}
static inline void on_buddy_notice(void *ud, uint32_t from, const char *username, msim_notice_kind kind, const char *text) {
    LOCKED(ud, if (self->notices < MAXN) {
        notice_rec *n = &self->notice[self->notices++];
        n->from = from;
        n->kind = kind;
        copy(n->username, sizeof n->username, username);
        copy(n->text, sizeof n->text, text);
    });
}

static inline void on_buddy_status_ex(void *ud, const msim_buddy_status *s) {
    LOCKED(ud, self->statuses_ex++; self->sx_uid = s->uid; self->sx_code = s->code; self->sx_presence = s->presence;
           self->sx_ts = s->ts; copy(self->sx_username, sizeof self->sx_username, s->username);
           copy(self->sx_headline, sizeof self->sx_headline, s->headline);
           copy(self->sx_caps, sizeof self->sx_caps, s->caps));
}

static inline void on_group_chat(void *ud, const msim_group_chat *g) {
    LOCKED(ud, if (self->chats < MAXN) {
        chat_rec *c = &self->chat[self->chats++];
        c->gid = g->gid;
        c->from = g->from_uid;
        c->actor = g->actor_uid;
        c->kind = g->kind;
        copy(c->username, sizeof c->username, g->actor_username);
        copy(c->plain, sizeof c->plain, g->plain);
        c->html_has_text = strstr(g->html, c->plain) != NULL && *g->html;
    });
}

static inline void on_group_removed(void *ud, uint32_t req, uint32_t id, msim_result result, const char *text) {
    LOCKED(ud, self->groups_removed++; self->gr_request = req; self->gr_id = id; self->gr_result = result;
           self->gr_text_empty = text && !*text);
}

/* Every recorder but on_zap (harness.c checks zaps); on_trace only when asked. */
static inline msim_callbacks all_callbacks(int with_trace) {
    const msim_callbacks cb = {
        .on_progress = on_progress, .on_signed_on = on_signed_on, .on_login_failed = on_login_failed,
        .on_disconnected = on_disconnected, .on_username_required = on_username_required,
        .on_username_result = on_username_result, .on_im_received = on_im_received, .on_im_sent = on_im_sent,
        .on_im_failed = on_im_failed, .on_user_info = on_user_info, .on_lookup_result = on_lookup_result,
        .on_contact_list = on_contact_list, .on_buddy_added = on_buddy_added, .on_buddy_removed = on_buddy_removed,
        .on_buddy_blocked = on_buddy_blocked, .on_groups = on_groups, .on_import_result = on_import_result,
        .on_mail_alert = on_mail_alert, .on_server_info = on_server_info, .on_error = on_error,
        .on_unhandled = on_unhandled, .on_buddy_status = on_buddy_status, .on_typing = on_typing,
        .on_group_saved = on_group_saved, .on_privacy = on_privacy, .on_web_challenge = on_web_challenge,
        .on_buddy_notice = on_buddy_notice, .on_group_removed = on_group_removed, .on_trace = with_trace ? on_trace : NULL};
    return cb;
}

/* ---- reading what was recorded (with `lock` held, or in a WAIT condition) ---- */

/* Presence of `uid` as `c` last heard it (OFFLINE when never heard), and its headline. */
static inline msim_presence presence_of(const client *c, uint32_t uid, const char **headline) {
    for (size_t i = 0; i < c->npeers; i++) {
        if (c->peers[i].uid == uid) {
            if (headline) *headline = c->peers[i].headline;
            return c->peers[i].presence;
        }
    }
    if (headline) *headline = "";
    return MSIM_PRESENCE_OFFLINE;
}

/* `uid`'s entry in the last contact list, NULL when it is not on it. */
static inline const contact_rec *contact(const client *c, uint32_t uid) {
    for (size_t i = 0; i < c->ncontacts; i++)
        if (c->contacts[i].uid == uid) return &c->contacts[i];
    return NULL;
}

/* Reads an int field under the lock (IO-thread sessions write from their own thread). */
static inline int get(const int *field) {
    pthread_mutex_lock(&lock);
    int v = *field;
    pthread_mutex_unlock(&lock);
    return v;
}

/* ---- waiting ---- */

/* Runs queued callbacks of the poll-mode clients for up to `ms` milliseconds. */
static inline void pump(int ms) {
    struct pollfd fds[MAX_CLIENTS];
    client *owner[MAX_CLIENTS];
    nfds_t n = 0;
    for (size_t i = 0; i < nclients; i++) {
        if (clients[i].poll_mode && clients[i].session) {
            fds[n].fd = msim_session_fd(clients[i].session);
            fds[n].events = POLLIN;
            fds[n].revents = 0;
            owner[n++] = &clients[i];
        }
    }
    if (n == 0) {
        struct timespec ts = {0, (long)ms * 1000000L};
        nanosleep(&ts, NULL);
        return;
    }
    if (poll(fds, n, ms) > 0)
        for (nfds_t i = 0; i < n; i++)
            if (fds[i].revents & POLLIN) msim_session_dispatch(owner[i]->session);
}

static inline double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* `var` = 1 once `cond` (read with `lock` held) holds, 0 after `secs` seconds; dispatches meanwhile. */
#define WAIT_FOR(var, secs, cond)                                                                  \
    do {                                                                                           \
        double deadline_ = now_s() + (secs);                                                       \
        for (;;) {                                                                                 \
            pthread_mutex_lock(&lock);                                                             \
            int done_ = (cond);                                                                    \
            pthread_mutex_unlock(&lock);                                                           \
            if (done_ || now_s() > deadline_) {                                                    \
                (var) = done_;                                                                     \
                break;                                                                             \
            }                                                                                      \
            pump(20);                                                                              \
        }                                                                                          \
    } while (0)
#define WAIT(var, cond) WAIT_FOR(var, wait_seconds, cond)

/* ---- TAP output ---- */

/* Line-buffered stdout and HARNESS_WAIT_SECONDS: call first in main. */
static inline void harness_start(void) {
    if (getenv("HARNESS_WAIT_SECONDS")) wait_seconds = atoi(getenv("HARNESS_WAIT_SECONDS"));
    setvbuf(stdout, NULL, _IOLBF, 0);
}

/* One check: "ok N - what", or "not ok N - what # why" (counted in `failures`). Returns `pass`. */
static inline int ok(int pass, const char *what, const char *why) {
    checks++;
    if (pass)
        printf("ok %d - %s\n", checks, what);
    else {
        failures++;
        printf("not ok %d - %s # %s\n", checks, what, why ? why : "");
    }
    fflush(stdout);
    return pass;
}

/* A setup failure that makes the rest meaningless: the exit code is the failures plus one. */
static inline void bail(const char *why) {
    printf("Bail out! %s\n1..%d\n", why, checks);
    exit(failures + 1);
}

/* ---- sessions ---- */

/* A session recording into a new client through `cb`; mode 0 IO thread, 1 poll fd, 2
 * msim_session_new (default options). c->session is NULL when it could not be created. */
static inline client *new_client_with(const char *name, int mode, const msim_callbacks *cb) {
    if (nclients == MAX_CLIENTS) bail("too many clients");
    client *c = &clients[nclients++];
    memset(c, 0, sizeof *c);
    c->name = name;
    c->poll_mode = mode == 1;
    if (mode == 2) {
        c->session = msim_session_new(cb, c);
    } else {
        msim_session_options opts;
        msim_session_options_init(&opts);
        opts.dispatch = mode ? MSIM_DISPATCH_POLL : MSIM_DISPATCH_THREAD;
        opts.disable_mail_check = true;
        c->session = msim_session_new_ex(cb, c, &opts);
    }
    return c;
}

/* Connects and waits for the sign-on (one more on_signed_on); a check named `what`. Bails when
 * it does not sign on. */
static inline void sign_on(client *c, const char *host, uint16_t port, const char *email, const char *password,
                           const char *what) {
    int r, n = get(&c->signed_on);
    if (msim_session_connect(c->session, host, port, email, password) != MSIM_RESULT_OK) bail("connect failed");
    WAIT(r, c->signed_on > n || c->login_failed);
    if (!ok(r && c->signed_on > n, what, c->login_failed ? "login failed" : "timed out")) bail("cannot sign on");
}

/* Disconnects and waits for on_disconnected; bails without it. */
static inline void sign_off(client *c) {
    int r, n = get(&c->disconnected);
    msim_session_disconnect(c->session);
    WAIT(r, c->disconnected > n);
    if (!r) bail("no on_disconnected");
}

#endif /* HARNESS_COMMON_H */

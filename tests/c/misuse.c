/*
 * misuse.c — the C API under misuse: NULL for every pointer argument of every export, invalid
 * UTF-8, every operation before connect, while connecting, after disconnect and twice, calls from
 * many threads at once and from inside callbacks, and msim_session_free from inside a callback,
 * while connecting and while connected. Every call must return its documented result; nothing
 * may crash or hang.
 *
 * usage: misuse HOST PORT
 * The server must have the accounts ma@example.com/mapw (username "ma"),
 * mb@example.com/mbpw ("mb") and mc@example.com/mcpw ("mc").
 * Prints "misuse: OK (N checks)" and exits 0 on success; lists each failed check and exits 1.
 * Driven by tests/c_misuse.rs (plain, AddressSanitizer, valgrind).
 */
#include "msim.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *host;
static uint16_t port;

/* ---- checks ---- */

static pthread_mutex_t check_lock = PTHREAD_MUTEX_INITIALIZER;
static int checks, failures;

static void check(int line, const char *what, long got, long want) {
    pthread_mutex_lock(&check_lock);
    checks++;
    if (got != want) {
        failures++;
        fprintf(stderr, "misuse.c:%d: %s = %ld (%s), want %ld (%s)\n", line, what, got,
                msim_result_str((int)got), want, msim_result_str((int)want));
    }
    pthread_mutex_unlock(&check_lock);
}

#define CHECK(expr, want) check(__LINE__, #expr, (long)(expr), (long)(want))
#define CHECK_TRUE(cond) check(__LINE__, #cond, (long)!!(cond), 1L)
/* A result that may legitimately be one of two codes (e.g. a request cap under load). */
#define CHECK_EITHER(expr, a, b)                                                \
    do {                                                                        \
        long got_ = (long)(expr);                                               \
        check(__LINE__, #expr, got_ == (long)(b) ? (long)(a) : got_, (long)(a)); \
    } while (0)

static const char bad_utf8[] = "\xff\xfe\xfd";

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- per-session state shared with callbacks ---- */

typedef struct {
    const char *name;
    msim_session *session;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int signed_on, login_failed, disconnected, ims_received, im_failed, im_sent, lookups, errors;
    int freed;           /* the session was freed (callbacks after this are bugs) */
    int after_free;      /* callbacks that ran after the free */
    int mode;            /* what the callbacks do, per scenario */
    int reconnected;     /* scenario "inside": second sign-on seen */
} client;

static void client_init(client *c, const char *name) {
    memset(c, 0, sizeof *c);
    c->name = name;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->changed, NULL);
}

/* Counts a callback in `*field` (none for NULL) and one after the free if the session was freed. */
static void bump(client *c, int *field) {
    pthread_mutex_lock(&c->lock);
    if (c->freed)
        c->after_free++;
    if (field)
        (*field)++;
    pthread_cond_broadcast(&c->changed);
    pthread_mutex_unlock(&c->lock);
}

/* From here on, a callback of `c` is counted in after_free. */
static void mark_freed(client *c) {
    pthread_mutex_lock(&c->lock);
    c->freed = 1;
    pthread_mutex_unlock(&c->lock);
}

/* Marks `c` freed, then frees its session (also from inside one of its callbacks). */
static void free_session(client *c) {
    mark_freed(c);
    msim_session_free(c->session);
}

/* Frees the thread-mode session of `c` while its IO thread may be delivering callbacks, and checks
 * free returns within 5 s and, `settle_ms` later, that no callback ran after it. The contract
 * (msim.h): no callback starts after free returns. One already running on the IO thread while free
 * is called (a progress step, an IM's on_im_sent, say) may still finish during the call, so
 * `freed` is raised when free has returned, not before. */
static void free_while_busy(client *c, int settle_ms) {
    double t0 = now_s();
    msim_session_free(c->session);
    mark_freed(c);
    CHECK_TRUE(now_s() - t0 < 5.0);
    sleep_ms(settle_ms);
    CHECK(c->after_free, 0);
}

/* Waits until *field >= n (thread-mode sessions), at most `secs`. */
static int wait_count(client *c, int *field, int n, double secs) {
    double deadline = now_s() + secs;
    pthread_mutex_lock(&c->lock);
    while (*field < n && now_s() < deadline) {
        pthread_mutex_unlock(&c->lock);
        sleep_ms(5);
        pthread_mutex_lock(&c->lock);
    }
    int ok = *field >= n;
    pthread_mutex_unlock(&c->lock);
    return ok;
}

enum { MODE_NONE, MODE_INSIDE, MODE_FREE_ON_IM, MODE_FREE_ON_SIGNED_ON };

static void inside_ops(msim_session *s);

static void cb_signed_on(void *ud, uint32_t uid, const char *username) {
    client *c = (client *)ud;
    (void)uid, (void)username;
    pthread_mutex_lock(&c->lock);
    int first = c->signed_on == 0;
    pthread_mutex_unlock(&c->lock);
    if (c->mode == MODE_INSIDE && first) {
        /* Every operation from inside a callback, then a disconnect from inside it too. */
        inside_ops(c->session);
        CHECK(msim_session_disconnect(c->session), MSIM_RESULT_OK);
        CHECK(msim_session_disconnect(c->session), MSIM_RESULT_NOT_CONNECTED);
    }
    if (c->mode == MODE_INSIDE && !first)
        c->reconnected = 1;
    bump(c, &c->signed_on);
    /* Free the session from inside its own callback. */
    if ((c->mode == MODE_INSIDE && !first) || c->mode == MODE_FREE_ON_SIGNED_ON)
        free_session(c);
}

static void cb_login_failed(void *ud, msim_login_failure r, uint32_t code, const char *text) {
    client *c = (client *)ud;
    fprintf(stderr, "%s: login failed (%d, %u): %s\n", c->name, (int)r, code, text);
    bump(c, &c->login_failed);
}

static void cb_disconnected(void *ud, msim_disconnect_reason r, uint32_t code, const char *text, bool re) {
    client *c = (client *)ud;
    (void)code, (void)re, (void)text;
    if (c->mode == MODE_INSIDE && r == MSIM_DISCONNECT_REASON_REQUESTED && !c->freed) {
        CHECK(msim_session_get_state(c->session), MSIM_SESSION_STATE_IDLE);
        /* Connect again from inside on_disconnected. */
        CHECK(msim_session_connect(c->session, host, port, "mc@example.com", "mcpw"), MSIM_RESULT_OK);
        CHECK(msim_session_connect(c->session, host, port, "mc@example.com", "mcpw"), MSIM_RESULT_ALREADY_CONNECTED);
    }
    bump(c, &c->disconnected);
}

static void cb_im(void *ud, uint32_t from, const char *user, const char *html, const char *plain, int64_t t, bool off) {
    client *c = (client *)ud;
    (void)from, (void)user, (void)html, (void)t, (void)off;
    int free_now = c->mode == MODE_FREE_ON_IM && !c->freed;
    bump(c, &c->ims_received);
    if (free_now) {
        free_session(c);
        /* The borrowed strings stay valid until this callback returns. */
        CHECK_TRUE(strlen(plain) < 100000);
    }
}

/* The other callbacks only count. */
#define BUMP(ud, field) bump((client *)(ud), &((client *)(ud))->field)

static void cb_im_failed(void *ud, uint64_t id, msim_result r, const char *text) {
    (void)id, (void)r, (void)text;
    BUMP(ud, im_failed);
}

static void cb_im_sent(void *ud, uint64_t id) {
    (void)id;
    BUMP(ud, im_sent);
}

static void cb_lookup(void *ud, uint32_t rid, msim_result r, const msim_user_info *info) {
    (void)rid, (void)r, (void)info;
    BUMP(ud, lookups);
}

static void cb_error(void *ud, msim_result r, uint32_t code, const char *text) {
    (void)r, (void)code, (void)text;
    BUMP(ud, errors);
}

static void cb_progress(void *ud, uint32_t step, uint32_t total, const char *text) {
    (void)step, (void)total, (void)text;
    bump((client *)ud, NULL);
}

static const msim_callbacks callbacks = {
    .on_progress = cb_progress, .on_signed_on = cb_signed_on, .on_login_failed = cb_login_failed,
    .on_disconnected = cb_disconnected, .on_im_received = cb_im, .on_im_failed = cb_im_failed,
    .on_im_sent = cb_im_sent, .on_lookup_result = cb_lookup, .on_error = cb_error};

static msim_session *new_session(client *c, msim_dispatch mode) {
    msim_session_options o;
    CHECK(msim_session_options_init(&o), MSIM_RESULT_OK);
    o.dispatch = (uint32_t)mode;
    o.disable_mail_check = true;
    c->session = msim_session_new_ex(&callbacks, c, &o);
    CHECK_TRUE(c->session != NULL);
    return c->session;
}

/* ---- the operations: one row each, for the argument checks (1, 2) and the state checks (3) ---- */

/* Where an operation writes: its output parameters point here. */
typedef struct {
    char *str;
    uint32_t rid;
    uint64_t mid;
} outs;

/* An operation called with the string slots `a` (its other arguments are fixed). An output slot
 * passes its `outs` member, or NULL when the slot is NULL. */
typedef long (*op_call)(msim_session *s, const char *const *a, outs *o);

typedef struct {
    const char *name;
    /* One letter a slot: 's' a required string (NULL → NULL_PARAMETER), 'o' an optional string,
     * 'h' connect's host (NULL is the default server: only its UTF-8 is checked), 'P' a required
     * output or profile pointer (NULL → NULL_PARAMETER), 'p' an optional output pointer. */
    const char *slots;
    const char *args[4]; /* valid arguments: what the state checks send */
    long null_session;   /* the result for a NULL session */
    long idle_optional;  /* the result on an idle session with every optional slot NULL */
    int flags;
    op_call call;
} op;

enum { FREE_FN = 0, SESSION = 1, SIGNED_ON = 2 | SESSION /* also a state check (signed_on_ops) */ };

#define NONCE "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define OUT "out"
#define A(...) {__VA_ARGS__}
#define NP MSIM_RESULT_NULL_PARAMETER
#define NC MSIM_RESULT_NOT_CONNECTED
#define STR(i) (a[i] ? &o->str : NULL)
#define RID(i) (a[i] ? &o->rid : NULL)
#define MID(i) (a[i] ? &o->mid : NULL)

static const msim_profile song_profile = {.song = "Misuse Song"};

/* name, slots, valid arguments, NULL-session result, idle result without the optional ones, flags, call */
#define OPERATIONS(X)                                                                                         \
    X(login_response, "sssP", A(NONCE, "e@x", "pw", OUT), 0, 0, FREE_FN,                                      \
      msim_login_response(a[0], a[1], a[2], STR(3)))                                                          \
    X(login_verify, "ssss", A(NONCE, "e@x", "pw", "AAAA"), 0, 0, FREE_FN, msim_login_verify(a[0], a[1], a[2], a[3])) \
    X(connect, "hss", A("localhost", "a@x", "pw"), NP, 0, SESSION, msim_session_connect(s, a[0], port, a[1], a[2])) \
    X(disconnect, "", A(NULL), NP, 0, SESSION, msim_session_disconnect(s))                                    \
    X(send_im, "ssp", A("1", "x", OUT), NP, NC, SESSION, msim_session_send_im(s, a[0], a[1], MID(2)))         \
    X(send_typing, "s", A("mb"), NP, 0, SIGNED_ON, msim_session_send_typing(s, a[0], true))                   \
    X(send_zap, "s", A("mb"), NP, 0, SIGNED_ON, msim_session_send_zap(s, a[0], 4))                            \
    X(set_status, "o", A("x"), NP, MSIM_RESULT_OK, SESSION, msim_session_set_status(s, MSIM_STATUS_AWAY, a[0])) \
    X(add_buddy, "so", A("1", "g"), NP, NC, SESSION, msim_session_add_buddy(s, a[0], a[1]))                   \
    X(remove_buddy, "s", A("424242"), NP, 0, SIGNED_ON, msim_session_remove_buddy(s, a[0]))                   \
    X(block, "s", A("424242"), NP, 0, SIGNED_ON, msim_session_block(s, a[0]))                                 \
    X(unblock, "s", A("424242"), NP, 0, SIGNED_ON, msim_session_unblock(s, a[0]))                             \
    X(set_contact_info, "soo", A("mb", "Friends", "bee"), NP, NC, SIGNED_ON,                                  \
      msim_session_set_contact_info(s, a[0], a[1], a[2]))                                                     \
    X(lookup_user, "sp", A("1", OUT), NP, NC, SESSION, msim_session_lookup_user(s, a[0], RID(1)))             \
    X(check_username, "sp", A("abc", OUT), NP, NC, SESSION, msim_session_check_username(s, a[0], RID(1)))     \
    X(set_username, "sp", A("abc", OUT), NP, NC, SESSION, msim_session_set_username(s, a[0], RID(1)))         \
    X(request_groups, "p", A(OUT), NP, NC, SIGNED_ON, msim_session_request_groups(s, RID(0)))                 \
    X(import_friends, "p", A(OUT), NP, NC, SESSION, msim_session_import_friends(s, RID(0)))                   \
    X(check_mail, "", A(NULL), NP, 0, SIGNED_ON, msim_session_check_mail(s))                                  \
    X(set_privacy, "", A(NULL), NP, 0, SIGNED_ON, msim_session_set_privacy(s, false, false))                  \
    X(set_proxy, "soo", A("127.0.0.1", "u", "p"), NP, 0, SESSION,                                             \
      msim_session_set_proxy(s, MSIM_PROXY_TYPE_SOCKS5, a[0], 1080, a[1], a[2]))                              \
    X(permit, "s", A("424242"), NP, 0, SIGNED_ON, msim_session_permit(s, a[0]))                               \
    X(unpermit, "s", A("424242"), NP, 0, SIGNED_ON, msim_session_unpermit(s, a[0]))                           \
    X(save_group, "sp", A("Misuse", OUT), NP, NC, SIGNED_ON, msim_session_save_group(s, a[0], 0, 0, RID(1)))  \
    X(rename_group, "sp", A("Misuse2", OUT), NP, NC, SIGNED_ON, msim_session_rename_group(s, 1, a[0], RID(1))) \
    X(remove_group, "p", A(OUT), NP, NC, SIGNED_ON, msim_session_remove_group(s, 1, RID(0)))                  \
    X(request_web_challenge, "", A(NULL), NP, 0, SIGNED_ON, msim_session_request_web_challenge(s))            \
    X(send_window_opened, "s", A("mb"), NP, 0, SIGNED_ON, msim_session_send_window_opened(s, a[0]))           \
    X(send_client_version, "so", A("mb", NULL), NP, NC, SIGNED_ON, msim_session_send_client_version(s, a[0], a[1])) \
    X(set_profile, "P", A(OUT), NP, 0, SIGNED_ON, msim_session_set_profile(s, a[0] ? &song_profile : NULL))   \
    X(get_username, "P", A(OUT), NP, 0, SESSION, msim_session_get_username(s, STR(0)))                        \
    X(get_uid, "", A(NULL), 0, 0, SESSION, msim_session_get_uid(s))                                           \
    X(get_port, "", A(NULL), 0, 0, SESSION, msim_session_get_port(s))                                         \
    X(get_state, "", A(NULL), MSIM_SESSION_STATE_IDLE, 0, SESSION, msim_session_get_state(s))                 \
    X(fd, "", A(NULL), -1, 0, SESSION, msim_session_fd(s))                                                    \
    X(dispatch, "", A(NULL), 0, 0, SESSION, msim_session_dispatch(s))

#define DEFINE_CALL(name, slots, args, null_session, idle_optional, flags, call)                              \
    static long call_##name(msim_session *s, const char *const *a, outs *o) {                                 \
        (void)s, (void)a, (void)o;                                                                            \
        return (long)(call);                                                                                  \
    }
#define ROW(name, slots, args, null_session, idle_optional, flags, call)                                      \
    {#name, slots, args, (long)(null_session), (long)(idle_optional), flags, call_##name},
OPERATIONS(DEFINE_CALL)
static const op ops[] = {OPERATIONS(ROW)};
#define NOPS (sizeof ops / sizeof ops[0])

/* Calls `r` with its valid arguments but slot `i` set to `v` (i < 0: as they are), checks the
 * result is `want` and names the check "name(what)". */
static void check_op(msim_session *s, const op *r, int i, const char *v, long want, outs *o, const char *what) {
    const char *a[4];
    memcpy(a, r->args, sizeof a);
    if (i >= 0)
        a[i] = v;
    char name[96];
    snprintf(name, sizeof name, "%s(%s)", r->name, what);
    check(__LINE__, name, r->call(s, a, o), want);
}

/* The argument checks on the idle session `s` (free functions get none): NULL for every
 * required slot (and for the session), or invalid UTF-8 in every string slot. */
static void argument_checks(msim_session *s, int utf8_checks, outs *o) {
    for (const op *r = ops; r < ops + NOPS; r++) {
        char what[48];
        int optional = 0;
        if (!utf8_checks && (r->flags & SESSION))
            check_op(NULL, r, -1, NULL, r->null_session, o, "NULL session");
        for (int i = 0; r->slots[i]; i++) {
            char k = r->slots[i];
            optional |= k == 'o' || k == 'p';
            snprintf(what, sizeof what, "argument %d %s", i + 1, utf8_checks ? "invalid UTF-8" : "NULL");
            if (!utf8_checks && (k == 's' || k == 'P'))
                check_op(s, r, i, NULL, MSIM_RESULT_NULL_PARAMETER, o, what);
            if (utf8_checks && (k == 's' || k == 'o' || k == 'h'))
                check_op(s, r, i, bad_utf8, MSIM_RESULT_INVALID_UTF8, o, what);
        }
        if (!utf8_checks && optional) {
            /* Optional pointers (documented "may be NULL"): the state decides. */
            const char *a[4];
            memcpy(a, r->args, sizeof a);
            for (int i = 0; r->slots[i]; i++)
                if (r->slots[i] == 'o' || r->slots[i] == 'p')
                    a[i] = NULL;
            char name[96];
            snprintf(name, sizeof name, "%s(optional arguments NULL)", r->name);
            check(__LINE__, name, r->call(s, a, o), r->idle_optional);
        }
    }
}

/* ---- 1. NULL for every pointer argument ---- */

static void nulls(void) {
    msim_profile profile = {0};
    outs o = {NULL, 0, 0};

    CHECK_TRUE(msim_result_str(-1) != NULL && msim_result_str(123456) != NULL);
    CHECK_TRUE(msim_version() != NULL);
    CHECK(msim_session_options_init(NULL), MSIM_RESULT_NULL_PARAMETER);
    msim_string_free(NULL);
    msim_session_free(NULL);

    /* NULL callbacks / options / userdata are allowed. */
    msim_session *s = msim_session_new(NULL, NULL);
    CHECK_TRUE(s != NULL);
    msim_session_free(s);
    s = msim_session_new_ex(NULL, NULL, NULL);
    CHECK_TRUE(s != NULL);

    /* Every operation with a NULL session, every required pointer argument NULL on a valid session
     * (argument checks come first), and every optional one NULL. */
    argument_checks(s, 0, &o);
    CHECK_TRUE(o.str == NULL); /* output parameters are written only on success */
    CHECK_TRUE(o.mid == 0 && o.rid == 0);

    /* A profile size that is no whole number of members; a newer header's member set. */
    CHECK(msim_session_set_profile_sized(s, &profile, 0), MSIM_RESULT_INVALID_ARGUMENT);
    CHECK(msim_session_set_profile_sized(s, &profile, sizeof profile - 1), MSIM_RESULT_INVALID_ARGUMENT);
    {
        struct {
            msim_profile known;
            const char *future;
        } newer = {{0}, "set"};
        CHECK(msim_session_set_profile_sized(s, &newer.known, sizeof newer), MSIM_RESULT_INVALID_ARGUMENT);
        newer.future = NULL;
        CHECK(msim_session_set_profile_sized(s, &newer.known, sizeof newer), MSIM_RESULT_NOT_CONNECTED);
    }
    msim_session_free(s);
}

/* ---- 2. invalid UTF-8 in every string argument ---- */

static void utf8(void) {
    outs o = {NULL, 0, 0};
    msim_session *s = msim_session_new(NULL, NULL);
    argument_checks(s, 1, &o);
    CHECK_TRUE(o.str == NULL && o.mid == 0 && o.rid == 0);
    {
        /* Each member of msim_profile. */
        msim_profile p = {0};
        const char **members[] = {&p.display_name, &p.headline, &p.band, &p.song, &p.image_url};
        for (size_t i = 0; i < sizeof members / sizeof members[0]; i++) {
            msim_profile zero = {0};
            p = zero;
            *members[i] = bad_utf8;
            CHECK(msim_session_set_profile(s, &p), MSIM_RESULT_INVALID_UTF8);
        }
    }
    CHECK(msim_session_get_state(s), MSIM_SESSION_STATE_IDLE);
    msim_session_free(s);
}

/* ---- 3. state: before connect, while connecting, signed on, after disconnect, twice ---- */

/* Operations that need a signed-on session, with the given expected result. */
static void signed_on_ops(msim_session *s, msim_result want, int line) {
    for (const op *r = ops; r < ops + NOPS; r++) {
        if ((r->flags & SIGNED_ON) == SIGNED_ON) {
            outs o = {NULL, 0, 0};
            check(line, r->name, r->call(s, r->args, &o), want);
            msim_string_free(o.str);
        }
    }
}

/* A listening socket that accepts TCP connections (backlog) but never speaks: a session
 * connected to it stays in "challenged" until its login timeout. */
static int silent_listener(uint16_t *out_port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        perror("silent listener");
        exit(2);
    }
    *out_port = ntohs(a.sin_port);
    return fd;
}

static void states(void) {
    client c;
    client_init(&c, "states");
    msim_session *s = new_session(&c, MSIM_DISPATCH_THREAD);
    uint32_t rid = 0;
    uint64_t mid = 0;
    char *name = (char *)1;

    /* Before connect. */
    CHECK(msim_session_get_state(s), MSIM_SESSION_STATE_IDLE);
    CHECK(msim_session_get_uid(s), 0);
    CHECK(msim_session_get_port(s), 0);
    CHECK(msim_session_get_username(s, &name), MSIM_RESULT_OK);
    CHECK_TRUE(name == NULL);
    CHECK(msim_session_disconnect(s), MSIM_RESULT_NOT_CONNECTED);
    CHECK(msim_session_send_im(s, "mb", "hi", &mid), MSIM_RESULT_NOT_CONNECTED);
    signed_on_ops(s, MSIM_RESULT_NOT_CONNECTED, __LINE__);
    CHECK(msim_session_add_buddy(s, "mb", NULL), MSIM_RESULT_NOT_CONNECTED);
    CHECK(msim_session_lookup_user(s, "mb", &rid), MSIM_RESULT_NOT_CONNECTED);
    CHECK(msim_session_check_username(s, "free_name", &rid), MSIM_RESULT_NOT_CONNECTED);
    CHECK(msim_session_set_username(s, "free_name", &rid), MSIM_RESULT_NOT_CONNECTED);
    CHECK(msim_session_import_friends(s, &rid), MSIM_RESULT_NOT_CONNECTED);
    CHECK(msim_session_set_status(s, MSIM_STATUS_AWAY, "kept for sign-on"), MSIM_RESULT_OK);
    CHECK(msim_session_set_status(s, 99, NULL), MSIM_RESULT_INVALID_ARGUMENT);
    CHECK(msim_session_set_status(s, MSIM_STATUS_AVAILABLE, "final"), MSIM_RESULT_INVALID_ARGUMENT);
    {
        msim_profile p = {0};
        p.headline = "final"; /* it would become the status text (SPEC §2.2) */
        CHECK(msim_session_set_profile(s, &p), MSIM_RESULT_INVALID_ARGUMENT);
    }
    CHECK(msim_session_send_zap(s, "mb", 10), MSIM_RESULT_INVALID_ARGUMENT);
    CHECK(msim_session_send_im(s, "", "x", NULL), MSIM_RESULT_INVALID_ARGUMENT);
    CHECK(msim_session_connect(s, "", port, "ma@example.com", "mapw"), MSIM_RESULT_INVALID_ARGUMENT);

    /* While connecting: a server that accepts but never sends the challenge. */
    uint16_t silent_port;
    int lfd = silent_listener(&silent_port);
    CHECK(msim_session_connect(s, host, silent_port, "ma@example.com", "mapw"), MSIM_RESULT_OK);
    CHECK(msim_session_connect(s, host, silent_port, "ma@example.com", "mapw"), MSIM_RESULT_ALREADY_CONNECTED);
    CHECK(msim_session_connect(s, host, port, "mb@example.com", "mbpw"), MSIM_RESULT_ALREADY_CONNECTED);
    CHECK(msim_session_send_im(s, "mb", "queued while connecting", &mid), MSIM_RESULT_OK);
    CHECK_TRUE(mid != 0);
    signed_on_ops(s, MSIM_RESULT_NOT_SIGNED_ON, __LINE__);
    CHECK(msim_session_add_buddy(s, "mb", NULL), MSIM_RESULT_NOT_SIGNED_ON);
    CHECK(msim_session_lookup_user(s, "mb", &rid), MSIM_RESULT_NOT_SIGNED_ON);
    CHECK(msim_session_check_username(s, "free_name", &rid), MSIM_RESULT_NOT_SIGNED_ON);
    CHECK(msim_session_import_friends(s, &rid), MSIM_RESULT_NOT_SIGNED_ON);
    /* Disconnect while connecting: the queued IM is reported failed. */
    CHECK(msim_session_disconnect(s), MSIM_RESULT_OK);
    CHECK(msim_session_disconnect(s), MSIM_RESULT_NOT_CONNECTED);
    CHECK_TRUE(wait_count(&c, &c.im_failed, 1, 10));
    CHECK_TRUE(wait_count(&c, &c.disconnected, 1, 10));
    CHECK(msim_session_get_state(s), MSIM_SESSION_STATE_IDLE);

    /* Signed on. */
    CHECK(msim_session_connect(s, host, port, "ma@example.com", "mapw"), MSIM_RESULT_OK);
    CHECK_TRUE(wait_count(&c, &c.signed_on, 1, 20));
    CHECK(msim_session_get_state(s), MSIM_SESSION_STATE_SIGNED_ON);
    CHECK_TRUE(msim_session_get_uid(s) != 0);
    CHECK(msim_session_get_username(s, &name), MSIM_RESULT_OK);
    CHECK_TRUE(name != NULL && strcmp(name, "ma") == 0);
    msim_string_free(name);
    CHECK(msim_session_connect(s, host, port, "ma@example.com", "mapw"), MSIM_RESULT_ALREADY_CONNECTED);
    signed_on_ops(s, MSIM_RESULT_OK, __LINE__);
    /* Twice in a row. */
    signed_on_ops(s, MSIM_RESULT_OK, __LINE__);
    CHECK(msim_session_add_buddy(s, "mb", NULL), MSIM_RESULT_OK);
    CHECK(msim_session_add_buddy(s, "mb", NULL), MSIM_RESULT_OK);
    CHECK(msim_session_lookup_user(s, "mb", &rid), MSIM_RESULT_OK);
    CHECK_TRUE(rid != 0);
    CHECK(msim_session_check_username(s, "free_name", &rid), MSIM_RESULT_OK);
    CHECK(msim_session_set_username(s, "other_name", &rid), MSIM_RESULT_WRONG_STATE);
    CHECK(msim_session_set_username(s, "other_name", &rid), MSIM_RESULT_WRONG_STATE);
    CHECK(msim_session_send_im(s, "mb", "hello", &mid), MSIM_RESULT_OK);
    CHECK(msim_session_send_im(s, "mb", "hello again", &mid), MSIM_RESULT_OK);
    CHECK(msim_session_set_status(s, MSIM_STATUS_IDLE, "idle"), MSIM_RESULT_OK);
    CHECK(msim_session_set_status(s, MSIM_STATUS_IDLE, "idle"), MSIM_RESULT_OK);
    CHECK(msim_session_fd(s), -1);
    CHECK(msim_session_dispatch(s), 0);
    CHECK_TRUE(wait_count(&c, &c.lookups, 1, 10));

    /* After disconnect. */
    CHECK(msim_session_disconnect(s), MSIM_RESULT_OK);
    CHECK(msim_session_disconnect(s), MSIM_RESULT_NOT_CONNECTED);
    CHECK(msim_session_get_state(s), MSIM_SESSION_STATE_IDLE);
    CHECK(msim_session_send_im(s, "mb", "too late", &mid), MSIM_RESULT_NOT_CONNECTED);
    signed_on_ops(s, MSIM_RESULT_NOT_CONNECTED, __LINE__);
    CHECK(msim_session_lookup_user(s, "mb", &rid), MSIM_RESULT_NOT_CONNECTED);
    CHECK_TRUE(wait_count(&c, &c.disconnected, 2, 10));
    /* And connect again on the same session. */
    CHECK(msim_session_connect(s, host, port, "ma@example.com", "mapw"), MSIM_RESULT_OK);
    CHECK_TRUE(wait_count(&c, &c.signed_on, 2, 20));
    msim_session_free(s); /* while connected */
    close(lfd);
}

/* ---- 4. many threads at once ---- */

#define WORKERS 8
#define ROUNDS 40

static client ta, tb;
static volatile int dispatcher_stop;

static void *worker(void *arg) {
    long id = (long)arg;
    uint32_t rid;
    char text[64];
    for (int i = 0; i < ROUNDS; i++) {
        snprintf(text, sizeof text, "w%ld-%d", id, i);
        CHECK(msim_session_send_im(ta.session, "mb", text, NULL), MSIM_RESULT_OK);
        CHECK(msim_session_send_typing(ta.session, "mb", i % 2), MSIM_RESULT_OK);
        CHECK(msim_session_set_status(ta.session, (uint32_t)(i % 3), text), MSIM_RESULT_OK);
        CHECK_EITHER(msim_session_lookup_user(ta.session, "mb", &rid), MSIM_RESULT_OK, MSIM_RESULT_QUEUE_FULL);
        CHECK(msim_session_get_state(ta.session), MSIM_SESSION_STATE_SIGNED_ON);
        CHECK_TRUE(msim_session_get_uid(ta.session) != 0);
        char *name = NULL;
        CHECK(msim_session_get_username(ta.session, &name), MSIM_RESULT_OK);
        msim_string_free(name);
        /* The poll-mode session is used from these threads while another thread dispatches. */
        CHECK(msim_session_send_typing(tb.session, "ma", i % 2), MSIM_RESULT_OK);
        CHECK(msim_session_get_state(tb.session), MSIM_SESSION_STATE_SIGNED_ON);
        CHECK_TRUE(msim_session_fd(tb.session) >= 0);
        CHECK(msim_session_get_state(NULL), MSIM_SESSION_STATE_IDLE);
    }
    return NULL;
}

/* Creates, connects and frees private sessions, concurrently with the workers. */
static void *churner(void *arg) {
    (void)arg;
    for (int i = 0; i < 10; i++) {
        msim_session *s = msim_session_new(NULL, NULL);
        CHECK(msim_session_connect(s, host, port, "mc@example.com", "mcpw"), MSIM_RESULT_OK);
        if (i % 2)
            sleep_ms(20);
        msim_session_free(s); /* while connecting or logging in */
    }
    return NULL;
}

static void *dispatcher(void *arg) {
    (void)arg;
    int fd = msim_session_fd(tb.session);
    while (!dispatcher_stop) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 20) > 0)
            msim_session_dispatch(tb.session);
    }
    return NULL;
}

static void threads(void) {
    client_init(&ta, "threads-a");
    client_init(&tb, "threads-b");
    new_session(&ta, MSIM_DISPATCH_THREAD);
    new_session(&tb, MSIM_DISPATCH_POLL);
    pthread_t disp;
    pthread_create(&disp, NULL, dispatcher, NULL);
    CHECK(msim_session_connect(tb.session, host, port, "mb@example.com", "mbpw"), MSIM_RESULT_OK);
    CHECK(msim_session_connect(ta.session, host, port, "ma@example.com", "mapw"), MSIM_RESULT_OK);
    CHECK_TRUE(wait_count(&ta, &ta.signed_on, 1, 20));
    CHECK_TRUE(wait_count(&tb, &tb.signed_on, 1, 20));

    pthread_t w[WORKERS], churn;
    double t0 = now_s();
    pthread_create(&churn, NULL, churner, NULL);
    for (long i = 0; i < WORKERS; i++)
        pthread_create(&w[i], NULL, worker, (void *)i);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(w[i], NULL);
    pthread_join(churn, NULL);
    /* Every IM from every thread arrives: nothing lost or interleaved on the wire. */
    int all = wait_count(&tb, &tb.ims_received, WORKERS * ROUNDS, 30);
    if (!all)
        fprintf(stderr, "threads: %d of %d IMs arrived\n", tb.ims_received, WORKERS * ROUNDS);
    CHECK_TRUE(all);
    CHECK(ta.im_failed, 0);
    printf("threads: %d workers x %d rounds in %.2f s\n", WORKERS, ROUNDS, now_s() - t0);

    /* Free while connected, with the dispatcher stopped first (free must not race with it). */
    dispatcher_stop = 1;
    pthread_join(disp, NULL);
    free_session(&tb);
    /* Thread mode: free while the IO thread may be delivering callbacks. */
    CHECK(msim_session_send_im(ta.session, "mb", "in flight at free", NULL), MSIM_RESULT_OK);
    free_while_busy(&ta, 200);
    CHECK(tb.after_free, 0);
}

/* ---- 5. from inside callbacks, and free from inside a callback ---- */

static void inside_ops(msim_session *s) {
    uint32_t rid;
    uint64_t mid;
    char *name = NULL;
    CHECK(msim_session_get_state(s), MSIM_SESSION_STATE_SIGNED_ON);
    CHECK(msim_session_get_username(s, &name), MSIM_RESULT_OK);
    msim_string_free(name);
    CHECK(msim_session_send_im(s, "ma", "from inside a callback", &mid), MSIM_RESULT_OK);
    CHECK(msim_session_set_status(s, MSIM_STATUS_AWAY, "inside"), MSIM_RESULT_OK);
    CHECK(msim_session_lookup_user(s, "ma", &rid), MSIM_RESULT_OK);
    CHECK(msim_session_check_username(s, "free_name", &rid), MSIM_RESULT_OK);
    CHECK(msim_session_set_username(s, "x_name", &rid), MSIM_RESULT_WRONG_STATE);
    CHECK(msim_session_connect(s, host, port, "mc@example.com", "mcpw"), MSIM_RESULT_ALREADY_CONNECTED);
    CHECK(msim_session_dispatch(s), 0);
    signed_on_ops(s, MSIM_RESULT_OK, __LINE__);
}

static void inside_callbacks(void) {
    /* Thread mode: ops, disconnect and connect from inside callbacks, then free from inside. */
    client c;
    client_init(&c, "inside");
    c.mode = MODE_INSIDE;
    new_session(&c, MSIM_DISPATCH_THREAD);
    CHECK(msim_session_connect(c.session, host, port, "mc@example.com", "mcpw"), MSIM_RESULT_OK);
    CHECK_TRUE(wait_count(&c, &c.signed_on, 2, 30));
    CHECK_TRUE(c.reconnected);
    sleep_ms(300);
    CHECK(c.after_free, 0);

    /* Poll mode: free from inside on_signed_on during msim_session_dispatch. */
    client p;
    client_init(&p, "inside-poll");
    p.mode = MODE_FREE_ON_SIGNED_ON;
    new_session(&p, MSIM_DISPATCH_POLL);
    int fd = msim_session_fd(p.session);
    CHECK(msim_session_connect(p.session, host, port, "mc@example.com", "mcpw"), MSIM_RESULT_OK);
    double deadline = now_s() + 20;
    while (!p.freed && now_s() < deadline) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, 20) > 0)
            msim_session_dispatch(p.session);
    }
    CHECK_TRUE(p.freed);
    CHECK(p.after_free, 0);

    /* Thread mode: free from inside on_im_received while more IMs are arriving. */
    client r, s;
    client_init(&r, "free-on-im");
    client_init(&s, "sender");
    r.mode = MODE_FREE_ON_IM;
    new_session(&r, MSIM_DISPATCH_THREAD);
    new_session(&s, MSIM_DISPATCH_THREAD);
    CHECK(msim_session_connect(r.session, host, port, "mb@example.com", "mbpw"), MSIM_RESULT_OK);
    CHECK(msim_session_connect(s.session, host, port, "ma@example.com", "mapw"), MSIM_RESULT_OK);
    /* r may be freed before it signs on: an offline IM (sent to mb above) arrives first. */
    double until = now_s() + 20;
    while (!r.signed_on && !r.freed && now_s() < until)
        sleep_ms(5);
    CHECK_TRUE(r.signed_on || r.freed);
    CHECK_TRUE(wait_count(&s, &s.signed_on, 1, 20));
    for (int i = 0; i < 20; i++)
        CHECK(msim_session_send_im(s.session, "mb", "burst", NULL), MSIM_RESULT_OK);
    CHECK_TRUE(wait_count(&r, &r.ims_received, 1, 20));
    sleep_ms(300);
    CHECK(r.after_free, 0);
    CHECK(r.ims_received, 1);
    msim_session_free(s.session);
}

/* ---- 6. free while connecting and while logging in ---- */

static void free_early(void) {
    uint16_t silent_port;
    int lfd = silent_listener(&silent_port);
    for (int i = 0; i < 3; i++) {
        client c;
        client_init(&c, "free-early");
        new_session(&c, MSIM_DISPATCH_THREAD);
        CHECK(msim_session_connect(c.session, host, silent_port, "ma@example.com", "mapw"), MSIM_RESULT_OK);
        CHECK(msim_session_send_im(c.session, "mb", "never sent", NULL), MSIM_RESULT_OK);
        sleep_ms(i * 30);
        free_while_busy(&c, 50);
    }
    /* A poll-mode session freed with undispatched callbacks queued. */
    client q;
    client_init(&q, "free-queued");
    new_session(&q, MSIM_DISPATCH_POLL);
    CHECK(msim_session_connect(q.session, host, port, "ma@example.com", "mapw"), MSIM_RESULT_OK);
    sleep_ms(300);
    free_session(&q);
    CHECK(q.after_free, 0);
    close(lfd);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s HOST PORT\n", argv[0]);
        return 2;
    }
    host = argv[1];
    port = (uint16_t)atoi(argv[2]);
    double t0 = now_s();
    nulls();
    utf8();
    states();
    threads();
    inside_callbacks();
    free_early();
    if (failures) {
        fprintf(stderr, "misuse: %d of %d checks FAILED\n", failures, checks);
        return 1;
    }
    printf("misuse: OK (%d checks in %.1f s)\n", checks, now_s() - t0);
    return 0;
}

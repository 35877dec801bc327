/*
 * loader — a Pidgin-like plugin loader for msim plugins.
 *
 * Like libpurple's plugin loader it scans a directory for *.so, dlopen()s each one
 * (RTLD_NOW | RTLD_LOCAL), looks up the entry point (msim_plugin_init), and rejects, with a
 * message, anything that is not a compatible msim plugin before moving on to the next file.
 * It never links to libmsim: msim.h is included only for the descriptor's layout and constants,
 * and a session is driven through the descriptor's operations table alone, with callbacks
 * delivered through the poll-fd dispatch (poll() on the session's fd, then `dispatch`).
 *
 *   loader --dir DIR --list
 *   loader --dir DIR --run --host H --port P --email E --password W
 *          [--to WHO --message HTML] [--until-im TEXT] [--timeout SECONDS] [--id PLUGIN_ID]
 *
 * --run signs on with the first accepted plugin (or the one with --id), prints every event on
 * stdout, one line each, and sends --message to --to once signed on. It stops:
 *   - with --until-im: when an IM whose plain text contains TEXT arrives (exit 0);
 *   - otherwise after sending (or right after sign-on without --to): it closes the session and
 *     exits 0 when the close is confirmed, so the IM is on the wire before the logout;
 *   - after --timeout seconds (default 20): exit 3.
 * Exit codes: 0 ok, 1 usage or no usable plugin, 2 login failed, 3 timeout, 4 disconnected.
 *
 * Build: make -C examples-c/loader   (needs only msim.h and libdl).
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msim.h"

/* ---------------------------------------------------------------- loading */

typedef struct {
    char *path;
    void *handle;
    const msim_plugin_info *info;
} plugin;

typedef struct {
    plugin *items;
    size_t count;
} plugin_list;

/* Checks a descriptor against this host's ABI. Returns NULL when acceptable, else a reason
 * written into buf. */
static const char *check_descriptor(const msim_plugin_info *info, char *buf, size_t len) {
    if (info == NULL) {
        return "msim_plugin_init returned NULL";
    }
    if (info->magic != MSIM_PLUGIN_MAGIC) {
        snprintf(buf, len, "not an msim plugin: bad magic 0x%08lX (expected 0x%08lX)",
                 (unsigned long)info->magic, (unsigned long)MSIM_PLUGIN_MAGIC);
        return buf;
    }
    if (info->abi_major != MSIM_PLUGIN_ABI_MAJOR) {
        snprintf(buf, len, "incompatible ABI %u.%u: major must be %u",
                 (unsigned)info->abi_major, (unsigned)info->abi_minor, (unsigned)MSIM_PLUGIN_ABI_MAJOR);
        return buf;
    }
    if (info->abi_minor > MSIM_PLUGIN_ABI_MINOR) {
        snprintf(buf, len, "incompatible ABI %u.%u: needs a newer host (this host has ABI %u.%u)",
                 (unsigned)info->abi_major, (unsigned)info->abi_minor,
                 (unsigned)MSIM_PLUGIN_ABI_MAJOR, (unsigned)MSIM_PLUGIN_ABI_MINOR);
        return buf;
    }
    if (info->struct_size < offsetof(msim_plugin_info, options_init)) {
        snprintf(buf, len, "descriptor too small (%lu bytes)", (unsigned long)info->struct_size);
        return buf;
    }
    if (info->id == NULL || info->id[0] == '\0') {
        return "descriptor has no plugin id";
    }
    /* The operations this host calls. All of minor 0 must be set, but a host checks what it uses
     * (MSIM_PLUGIN_HAS_OP also covers operations appended after the plugin's minor). */
#define NEED(op)                                                                \
    if (!MSIM_PLUGIN_HAS_OP(info, op)) {                                         \
        snprintf(buf, len, "missing operation %s", #op);                        \
        return buf;                                                              \
    }
    NEED(options_init) NEED(session_new) NEED(session_free) NEED(connect) NEED(close)
    NEED(send_im) NEED(fd) NEED(dispatch) NEED(result_str)
#undef NEED
    return NULL;
}

static int has_suffix(const char *name, const char *suffix) {
    size_t n = strlen(name), s = strlen(suffix);
    return n > s && strcmp(name + n - s, suffix) == 0;
}

static int so_filter(const struct dirent *e) {
    return has_suffix(e->d_name, ".so");
}

/* Loads every acceptable plugin of `dir` into `out`; reports every rejected file on stderr.
 * Returns -1 when the directory cannot be read. */
static int load_dir(const char *dir, plugin_list *out) {
    struct dirent **names = NULL;
    int n = scandir(dir, &names, so_filter, alphasort); /* sorted: stable output */
    if (n < 0) {
        fprintf(stderr, "loader: cannot read %s: %s\n", dir, strerror(errno));
        return -1;
    }
    out->items = calloc((size_t)n + 1, sizeof(plugin));
    out->count = 0;
    for (int i = 0; i < n; i++) {
        char path[PATH_MAX];
        char why[256];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        free(names[i]);

        void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (h == NULL) {
            fprintf(stderr, "loader: rejected %s: cannot load: %s\n", path, dlerror());
            continue;
        }
        void *sym = dlsym(h, MSIM_PLUGIN_INIT_SYMBOL);
        if (sym == NULL) {
            fprintf(stderr, "loader: rejected %s: not a plugin (no %s symbol)\n", path,
                    MSIM_PLUGIN_INIT_SYMBOL);
            dlclose(h);
            continue;
        }
        /* ISO C has no object-to-function pointer conversion; POSIX guarantees this copy works. */
        msim_plugin_init_fn init;
        memcpy(&init, &sym, sizeof init);
        const msim_plugin_info *info = init();
        const char *reason = check_descriptor(info, why, sizeof why);
        if (reason == NULL) {
            for (size_t k = 0; k < out->count; k++) {
                if (strcmp(out->items[k].info->id, info->id) == 0) {
                    snprintf(why, sizeof why, "duplicate plugin id %s (already loaded from %s)", info->id,
                             out->items[k].path);
                    reason = why;
                    break;
                }
            }
        }
        if (reason != NULL) {
            fprintf(stderr, "loader: rejected %s: %s\n", path, reason);
            dlclose(h);
            continue;
        }
        plugin *p = &out->items[out->count++];
        p->path = strdup(path);
        p->handle = h;
        p->info = info;
    }
    free(names);
    return 0;
}

static void unload_all(plugin_list *list) {
    for (size_t i = 0; i < list->count; i++) {
        dlclose(list->items[i].handle);
        free(list->items[i].path);
    }
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

static const char *or_empty(const char *s) {
    return s != NULL ? s : "";
}

static void print_list(const plugin_list *list) {
    for (size_t i = 0; i < list->count; i++) {
        const msim_plugin_info *in = list->items[i].info;
        printf("plugin %s \"%s\" version %s ABI %u.%u: %s (%s)\n", in->id, or_empty(in->name),
               or_empty(in->version), (unsigned)in->abi_major, (unsigned)in->abi_minor,
               or_empty(in->summary), list->items[i].path);
    }
    printf("%lu plugin(s) loaded\n", (unsigned long)list->count);
}

/* ---------------------------------------------------------------- running a session */

typedef struct {
    const msim_plugin_info *ops;
    msim_session *session;
    const char *to;
    const char *message;
    const char *until_im;
    int done;      /* set by a callback: stop the loop */
    int exit_code; /* valid once done */
    int closing;   /* we asked for the close */
} run_state;

static void finish(run_state *st, int code) {
    if (!st->done) {
        st->done = 1;
        st->exit_code = code;
    }
}

static void close_session(run_state *st) {
    st->closing = 1;
    msim_result r = st->ops->close(st->session);
    if (r != MSIM_RESULT_OK) {
        printf("close-failed %s\n", st->ops->result_str((int)r));
        finish(st, 0);
    }
}

static void on_progress(void *ud, uint32_t step, uint32_t total, const char *text) {
    (void)ud;
    printf("progress %u/%u %s\n", (unsigned)step, (unsigned)total, text);
}

static void on_signed_on(void *ud, uint32_t uid, const char *username) {
    run_state *st = ud;
    printf("signed-on uid=%u username=%s\n", (unsigned)uid, username != NULL ? username : "(none)");
    if (st->to != NULL) {
        /* An operation added after minor 0: use it only when this plugin's table has it, as a
         * host built against a newer header must. Opening a window is what the official client
         * announced before the first IM (bm 122); the peer sees it as a typing blip. */
        if (MSIM_PLUGIN_HAS_OP(st->ops, send_window_opened)) {
            msim_result w = st->ops->send_window_opened(st->session, st->to);
            printf("window-opened to=%s %s\n", st->to, st->ops->result_str((int)w));
        } else {
            printf("window-opened unsupported (plugin ABI %u.%u)\n", (unsigned)st->ops->abi_major,
                   (unsigned)st->ops->abi_minor);
        }
        uint64_t id = 0;
        msim_result r = st->ops->send_im(st->session, st->to, st->message, &id);
        if (r != MSIM_RESULT_OK) {
            printf("send-failed %s\n", st->ops->result_str((int)r));
            finish(st, 4);
            return;
        }
        printf("sent to=%s id=%llu\n", st->to, (unsigned long long)id);
    }
    if (st->until_im == NULL) {
        close_session(st);
    }
    fflush(stdout);
}

static void on_login_failed(void *ud, msim_login_failure reason, uint32_t code, const char *text) {
    printf("login-failed reason=%d code=%u %s\n", (int)reason, (unsigned)code, text);
    finish(ud, 2);
}

static void on_disconnected(void *ud, msim_disconnect_reason reason, uint32_t code, const char *text,
                            bool reconnecting) {
    run_state *st = ud;
    printf("disconnected reason=%d code=%u reconnecting=%d %s\n", (int)reason, (unsigned)code,
           (int)reconnecting, text);
    if (!reconnecting) {
        finish(st, st->closing ? 0 : 4);
    }
}

static void on_im_received(void *ud, uint32_t from, const char *username, const char *html, const char *plain,
                           int64_t t, bool offline) {
    run_state *st = ud;
    (void)t;
    printf("im from=%u username=%s offline=%d html=%s plain=%s\n", (unsigned)from,
           username != NULL ? username : "(none)", (int)offline, html, plain);
    if (st->until_im != NULL && strstr(plain, st->until_im) != NULL) {
        close_session(st);
    }
}

static void on_typing(void *ud, uint32_t from, const char *username, bool typing) {
    (void)ud;
    printf("typing from=%u username=%s typing=%d\n", (unsigned)from, or_empty(username), (int)typing);
}

static void on_zap(void *ud, uint32_t from, const char *username, uint32_t zap, const char *name) {
    (void)ud;
    printf("zap from=%u username=%s zap=%u %s\n", (unsigned)from, or_empty(username), (unsigned)zap, name);
}

static void on_buddy_status(void *ud, uint32_t uid, const char *username, msim_presence p, const char *headline) {
    (void)ud;
    printf("status uid=%u username=%s presence=%d headline=%s\n", (unsigned)uid, or_empty(username), (int)p,
           headline);
}

static void on_contact_list(void *ud, const msim_contact *contacts, size_t count) {
    (void)ud;
    printf("contact-list %lu\n", (unsigned long)count);
    for (size_t i = 0; i < count; i++) {
        printf("contact uid=%u username=%s group=%s blocked=%d\n", (unsigned)contacts[i].uid,
               or_empty(contacts[i].username), contacts[i].group, (int)contacts[i].blocked);
    }
}

static void on_im_failed(void *ud, uint64_t id, msim_result r, const char *text) {
    run_state *st = ud;
    printf("im-failed id=%llu %s: %s\n", (unsigned long long)id, st->ops->result_str((int)r), text);
}

static void on_error(void *ud, msim_result r, uint32_t code, const char *text) {
    run_state *st = ud;
    printf("error %s code=%u %s\n", st->ops->result_str((int)r), (unsigned)code, text);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
    const char *host, *email, *password, *to, *message, *until_im, *id;
    unsigned port;
    double timeout;
} run_args;

static int run_session(const plugin_list *list, const run_args *a) {
    const msim_plugin_info *ops = NULL;
    for (size_t i = 0; i < list->count && ops == NULL; i++) {
        if (a->id == NULL || strcmp(list->items[i].info->id, a->id) == 0) {
            ops = list->items[i].info;
        }
    }
    if (ops == NULL) {
        fprintf(stderr, "loader: no plugin %s%sto run\n", a->id != NULL ? a->id : "", a->id != NULL ? " " : "");
        return 1;
    }
    run_state st;
    memset(&st, 0, sizeof st);
    st.ops = ops;
    st.to = a->to;
    st.message = a->message;
    st.until_im = a->until_im;

    msim_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.on_progress = on_progress;
    cb.on_signed_on = on_signed_on;
    cb.on_login_failed = on_login_failed;
    cb.on_disconnected = on_disconnected;
    cb.on_im_received = on_im_received;
    cb.on_im_failed = on_im_failed;
    cb.on_typing = on_typing;
    cb.on_zap = on_zap;
    cb.on_buddy_status = on_buddy_status;
    cb.on_contact_list = on_contact_list;
    cb.on_error = on_error;

    msim_session_options opts;
    ops->options_init(&opts, sizeof opts);
    opts.dispatch = MSIM_DISPATCH_POLL;
    opts.disable_mail_check = true;
    opts.skip_username = true;
    st.session = ops->session_new(&cb, sizeof cb, &st, &opts, sizeof opts);
    if (st.session == NULL) {
        fprintf(stderr, "loader: %s: session_new failed\n", ops->id);
        return 1;
    }
    int fd = ops->fd(st.session);
    msim_result r = ops->connect(st.session, a->host, (uint16_t)a->port, a->email, a->password);
    if (r != MSIM_RESULT_OK) {
        fprintf(stderr, "loader: connect: %s\n", ops->result_str((int)r));
        ops->session_free(st.session);
        return 1;
    }
    double deadline = now_s() + a->timeout;
    while (!st.done) {
        double left = deadline - now_s();
        if (left <= 0) {
            printf("timeout after %.1f s\n", a->timeout);
            finish(&st, 3);
            break;
        }
        struct pollfd p = {fd, POLLIN, 0};
        int n = poll(&p, 1, (int)(left * 1000) + 1);
        if (n < 0 && errno != EINTR) {
            perror("loader: poll");
            finish(&st, 1);
        } else if (n > 0) {
            ops->dispatch(st.session);
        }
        fflush(stdout);
    }
    ops->session_free(st.session);
    fflush(stdout);
    return st.exit_code;
}

/* ---------------------------------------------------------------- main */

static int usage(void) {
    fprintf(stderr,
            "usage: loader --dir DIR --list\n"
            "       loader --dir DIR --run --host H --port P --email E --password W\n"
            "              [--to WHO --message HTML] [--until-im TEXT] [--timeout SECONDS] [--id PLUGIN_ID]\n");
    return 1;
}

int main(int argc, char **argv) {
    const char *dir = NULL;
    int list = 0, run = 0;
    run_args a;
    memset(&a, 0, sizeof a);
    a.timeout = 20;
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(k, "--list") == 0) {
            list = 1;
            continue;
        }
        if (strcmp(k, "--run") == 0) {
            run = 1;
            continue;
        }
        if (v == NULL) {
            return usage();
        }
        i++;
        if (strcmp(k, "--dir") == 0) dir = v;
        else if (strcmp(k, "--host") == 0) a.host = v;
        else if (strcmp(k, "--port") == 0) a.port = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(k, "--email") == 0) a.email = v;
        else if (strcmp(k, "--password") == 0) a.password = v;
        else if (strcmp(k, "--to") == 0) a.to = v;
        else if (strcmp(k, "--message") == 0) a.message = v;
        else if (strcmp(k, "--until-im") == 0) a.until_im = v;
        else if (strcmp(k, "--timeout") == 0) a.timeout = strtod(v, NULL);
        else if (strcmp(k, "--id") == 0) a.id = v;
        else return usage();
    }
    if (dir == NULL || list == run || (run && (a.email == NULL || a.password == NULL)) ||
        (a.to != NULL) != (a.message != NULL) || a.port > 65535) {
        return usage();
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    plugin_list plugins;
    if (load_dir(dir, &plugins) != 0) {
        return 1;
    }
    int rc;
    if (list) {
        print_list(&plugins);
        rc = plugins.count > 0 ? 0 : 1;
    } else {
        rc = run_session(&plugins, &a);
    }
    unload_all(&plugins);
    return rc;
}

/*
 * The null client's side of libpurple: an event loop on GLib (as libpurple's nullclient example),
 * signal handlers and UI ops that record what prpl-msim makes libpurple show (IMs, presence,
 * notifications, search results, mail, dialogs, the debug log), and the checks and waits the
 * scripts use. Dialogs are not answered here: they wait in st.dialogs until a script answers them
 * the way a user would (purple_harness.h).
 */
#include "purple_harness.h"

harness_state st;

/* ------------------------------------------------------------------ event loop (as nullclient) */

#define READ_COND (G_IO_IN | G_IO_HUP | G_IO_ERR)
#define WRITE_COND (G_IO_OUT | G_IO_HUP | G_IO_ERR | G_IO_NVAL)

typedef struct {
    PurpleInputFunction function;
    guint result;
    gpointer data;
} io_closure;

static gboolean io_invoke(GIOChannel *source, GIOCondition condition, gpointer data) {
    io_closure *c = data;
    int cond = 0;
    if (condition & READ_COND) cond |= PURPLE_INPUT_READ;
    if (condition & WRITE_COND) cond |= PURPLE_INPUT_WRITE;
    c->function(c->data, g_io_channel_unix_get_fd(source), (PurpleInputCondition)cond);
    return TRUE;
}

static guint input_add(gint fd, PurpleInputCondition condition, PurpleInputFunction function, gpointer data) {
    io_closure *c = g_new0(io_closure, 1);
    GIOCondition cond = 0;
    c->function = function;
    c->data = data;
    if (condition & PURPLE_INPUT_READ) cond |= READ_COND;
    if (condition & PURPLE_INPUT_WRITE) cond |= WRITE_COND;
    GIOChannel *ch = g_io_channel_unix_new(fd);
    c->result = g_io_add_watch_full(ch, G_PRIORITY_DEFAULT, cond, io_invoke, c, g_free);
    g_io_channel_unref(ch);
    return c->result;
}

static PurpleEventLoopUiOps eventloop_ops = {
    g_timeout_add, g_source_remove, input_add, g_source_remove, NULL, g_timeout_add_seconds, NULL, NULL, NULL,
};

/* ------------------------------------------------------------------ signals */

static int *per_account(PurpleAccount *acc, int *a, int *b, int *c, int *d) {
    return acc == st.a ? a : acc == st.b ? b : acc == st.c ? c : acc == st.d ? d : NULL;
}

static void on_signed_on(PurpleConnection *gc, gpointer data) {
    (void)data;
    int *n = per_account(purple_connection_get_account(gc), &st.signed_on_a, &st.signed_on_b, &st.signed_on_c,
                         &st.signed_on_d);
    if (n) (*n)++;
}

static void on_connection_error(PurpleConnection *gc, PurpleConnectionError err, const gchar *desc, gpointer data) {
    (void)data;
    PurpleAccount *acc = purple_connection_get_account(gc);
    printf("# %s: connection error %d: %s\n", purple_account_get_username(acc), (int)err, desc);
    if (acc == st.e) {
        st.error_e = (int)err + 1;
        g_free(st.error_text_e);
        st.error_text_e = g_strdup(desc);
        return;
    }
    int *n = per_account(acc, &st.error_a, &st.error_b, &st.error_c, &st.error_d);
    if (n) *n = (int)err + 1;
}

static void on_received_im(PurpleAccount *acc, char *sender, char *message, PurpleConversation *conv,
                           PurpleMessageFlags flags, gpointer data) {
    (void)conv;
    (void)flags;
    (void)data;
    im *m = g_new0(im, 1);
    m->from = g_strdup(sender);
    m->message = g_strdup(message);
    m->connected = purple_account_is_connected(acc);
    printf("# %s received from %s: %s\n", purple_account_get_username(acc), sender, message);
    if (acc == st.a) g_ptr_array_add(st.ims_a, m);
    else if (acc == st.b) g_ptr_array_add(st.ims_b, m);
}

static void on_buddy_status_changed(PurpleBuddy *buddy, PurpleStatus *old, PurpleStatus *new_status, gpointer d) {
    (void)old;
    (void)d;
    if (purple_buddy_get_account(buddy) == st.a && strcmp(purple_buddy_get_name(buddy), st.b_name) == 0) {
        st.status_changes_of_b++;
        const char *msg = purple_status_get_attr_string(new_status, "message");
        printf("# A sees %s: %s (%s)\n", st.b_name, purple_status_get_id(new_status), msg ? msg : "");
    }
}

static void on_buddy_idle_changed(PurpleBuddy *buddy, gboolean old, gboolean idle, gpointer d) {
    (void)old;
    (void)d;
    if (purple_buddy_get_account(buddy) == st.a && strcmp(purple_buddy_get_name(buddy), st.b_name) == 0) {
        st.idle_changes_of_b++;
        printf("# A sees %s idle=%d\n", st.b_name, (int)idle);
    }
}

static void on_buddy_typing(PurpleAccount *acc, const char *name, gpointer d) {
    (void)d;
    if (acc == st.b && strcmp(name, st.a_name) == 0) st.typing_at_b++;
}

static void on_buddy_typing_stopped(PurpleAccount *acc, const char *name, gpointer d) {
    (void)d;
    if (acc == st.b && strcmp(name, st.a_name) == 0) st.typing_stopped_at_b++;
}

static void on_got_attention(PurpleAccount *acc, const char *who, PurpleConversation *conv, guint type, gpointer d) {
    (void)conv;
    (void)d;
    printf("# %s got attention %u from %s\n", purple_account_get_username(acc), type, who);
    if (acc == st.b && strcmp(who, st.a_name) == 0) st.attention_at_b = (int)type + 1;
}

void connect_signals(void) {
    static int handle;
    void *conn = purple_connections_get_handle();
    void *conv = purple_conversations_get_handle();
    void *blist = purple_blist_get_handle();
    purple_signal_connect(conn, "signed-on", &handle, PURPLE_CALLBACK(on_signed_on), NULL);
    purple_signal_connect(conn, "connection-error", &handle, PURPLE_CALLBACK(on_connection_error), NULL);
    purple_signal_connect(conv, "received-im-msg", &handle, PURPLE_CALLBACK(on_received_im), NULL);
    purple_signal_connect(conv, "buddy-typing", &handle, PURPLE_CALLBACK(on_buddy_typing), NULL);
    purple_signal_connect(conv, "buddy-typing-stopped", &handle, PURPLE_CALLBACK(on_buddy_typing_stopped), NULL);
    purple_signal_connect(conv, "got-attention", &handle, PURPLE_CALLBACK(on_got_attention), NULL);
    purple_signal_connect(blist, "buddy-status-changed", &handle, PURPLE_CALLBACK(on_buddy_status_changed), NULL);
    purple_signal_connect(blist, "buddy-idle-changed", &handle, PURPLE_CALLBACK(on_buddy_idle_changed), NULL);
}

/* ------------------------------------------------------------------ notify UI ops */

static void *notify_userinfo(PurpleConnection *gc, const char *who, PurpleNotifyUserInfo *info) {
    (void)gc;
    g_free(st.userinfo_who);
    g_free(st.userinfo_text);
    st.userinfo_who = g_strdup(who);
    st.userinfo_text = purple_notify_user_info_get_text_with_newline(info, "\n");
    st.userinfo_seen = TRUE;
    printf("# user info for %s: %s\n", who, st.userinfo_text);
    return NULL;
}

static void *notify_message(PurpleNotifyMsgType type, const char *title, const char *primary,
                            const char *secondary) {
    printf("# notify %d: %s: %s %s\n", (int)type, title ? title : "", primary ? primary : "",
           secondary ? secondary : "");
    g_free(st.notice_primary);
    g_free(st.notice_secondary);
    st.notice_primary = g_strdup(primary ? primary : "");
    st.notice_secondary = g_strdup(secondary ? secondary : "");
    st.notices++;
    return NULL;
}

static void *notify_emails(PurpleConnection *gc, size_t count, gboolean detailed, const char **subjects,
                           const char **froms, const char **tos, const char **urls) {
    (void)detailed;
    (void)froms;
    (void)tos;
    PurpleAccount *acc = purple_connection_get_account(gc);
    printf("# %s: %u mail notification(s): %s %s\n", purple_account_get_username(acc), (unsigned)count,
           count > 0 && subjects ? subjects[0] : "", count > 0 && urls ? urls[0] : "");
    if (acc == st.a) {
        st.emails_a++;
        g_free(st.email_subject_a);
        g_free(st.email_url_a);
        st.email_subject_a = g_strdup(count > 0 && subjects ? subjects[0] : "");
        st.email_url_a = g_strdup(count > 0 && urls ? urls[0] : "");
    } else if (acc == st.b) {
        st.emails_b++;
    }
    return NULL;
}

/* libpurple hands a single mail to notify_email. */
static void *notify_email(PurpleConnection *gc, const char *subject, const char *from, const char *to,
                          const char *url) {
    return notify_emails(gc, 1, TRUE, &subject, &from, &to, &url);
}

static void *notify_searchresults(PurpleConnection *gc, const char *title, const char *primary,
                                  const char *secondary, PurpleNotifySearchResults *results, gpointer user_data) {
    (void)gc;
    (void)title;
    (void)secondary;
    (void)user_data;
    printf("# search results: %s (%u rows)\n", primary ? primary : "",
           purple_notify_searchresults_get_rows_count(results));
    st.search = results;
    st.searches++;
    return results; /* non-NULL: libpurple keeps the results until the connection closes them */
}

static void close_notify(PurpleNotifyType type, void *ui_handle) {
    (void)type;
    if (ui_handle == st.search) st.search = NULL;
}

static PurpleNotifyUiOps notify_ops = {
    notify_message, notify_email, notify_emails, NULL, notify_searchresults, NULL, notify_userinfo, NULL, close_notify,
    NULL,           NULL, NULL,          NULL,
};

/* ------------------------------------------------------------------ request UI ops (dialogs) */

static dialog *new_dialog(PurpleRequestType type, const char *title, const char *primary, const char *secondary,
                          void *user_data) {
    dialog *d = g_new0(dialog, 1);
    d->type = type;
    d->title = g_strdup(title ? title : "");
    d->primary = g_strdup(primary ? primary : "");
    d->secondary = g_strdup(secondary ? secondary : "");
    d->user_data = user_data;
    g_ptr_array_add(st.dialogs, d);
    printf("# dialog: %s: %s | %s\n", d->title, d->primary, d->secondary);
    return d;
}

static void *request_input(const char *title, const char *primary, const char *secondary, const char *default_value,
                           gboolean multiline, gboolean masked, gchar *hint, const char *ok_text, GCallback ok_cb,
                           const char *cancel_text, GCallback cancel_cb, PurpleAccount *account, const char *who,
                           PurpleConversation *conv, void *user_data) {
    (void)multiline, (void)masked, (void)hint, (void)ok_text, (void)cancel_text, (void)account, (void)who,
        (void)conv;
    dialog *d = new_dialog(PURPLE_REQUEST_INPUT, title, primary, secondary, user_data);
    d->default_value = g_strdup(default_value);
    d->ok_cb = ok_cb;
    d->cancel_cb = cancel_cb;
    return d;
}

static void *request_action(const char *title, const char *primary, const char *secondary, int default_action,
                            PurpleAccount *account, const char *who, PurpleConversation *conv, void *user_data,
                            size_t action_count, va_list actions) {
    (void)default_action, (void)account, (void)who, (void)conv;
    dialog *d = new_dialog(PURPLE_REQUEST_ACTION, title, primary, secondary, user_data);
    for (size_t i = 0; i < action_count; i++) {
        (void)va_arg(actions, const char *); /* button text */
        GCallback cb = va_arg(actions, GCallback);
        if (i < G_N_ELEMENTS(d->actions)) d->actions[i] = cb;
    }
    d->action_count = action_count;
    return d;
}

static void *request_fields(const char *title, const char *primary, const char *secondary,
                            PurpleRequestFields *fields, const char *ok_text, GCallback ok_cb,
                            const char *cancel_text, GCallback cancel_cb, PurpleAccount *account, const char *who,
                            PurpleConversation *conv, void *user_data) {
    (void)ok_text, (void)cancel_text, (void)account, (void)who, (void)conv;
    dialog *d = new_dialog(PURPLE_REQUEST_FIELDS, title, primary, secondary, user_data);
    d->fields = fields;
    d->ok_cb = ok_cb;
    d->cancel_cb = cancel_cb;
    return d;
}

static void close_request(PurpleRequestType type, void *ui_handle) {
    (void)type;
    dialog *d = ui_handle;
    d->closed = TRUE;
    d->fields = NULL; /* freed by libpurple */
}

static PurpleRequestUiOps request_ops = {
    request_input, NULL, request_action, request_fields, NULL, close_request, NULL, NULL, NULL, NULL, NULL,
};

dialog *open_dialog(const char *title) {
    for (guint i = st.dialogs->len; i > 0; i--) {
        dialog *d = g_ptr_array_index(st.dialogs, i - 1);
        if (!d->closed && (title == NULL || strcmp(d->title, title) == 0)) return d;
    }
    return NULL;
}

int dialogs_titled(const char *title) {
    int n = 0;
    for (guint i = 0; i < st.dialogs->len; i++) {
        dialog *d = g_ptr_array_index(st.dialogs, i);
        if (strcmp(d->title, title) == 0) n++;
    }
    return n;
}

/* A UI calls the callback, then closes the request (which frees libpurple's side of it). */
void answer_input(dialog *d, const char *value) {
    printf("# answer %s: %s\n", d->title, value);
    if (d->ok_cb) ((PurpleRequestInputCb)d->ok_cb)(d->user_data, value);
    if (!d->closed) purple_request_close(d->type, d);
}

void cancel_dialog(dialog *d) {
    printf("# cancel %s\n", d->title);
    if (d->type == PURPLE_REQUEST_INPUT && d->cancel_cb) ((PurpleRequestInputCb)d->cancel_cb)(d->user_data, NULL);
    if (d->type == PURPLE_REQUEST_FIELDS && d->cancel_cb)
        ((PurpleRequestFieldsCb)d->cancel_cb)(d->user_data, d->fields);
    if (!d->closed) purple_request_close(d->type, d);
}

void answer_action(dialog *d, size_t index) {
    printf("# answer %s: button %u\n", d->title, (unsigned)index);
    if (index < d->action_count && d->actions[index]) ((PurpleRequestActionCb)d->actions[index])(d->user_data, (int)index);
    if (!d->closed) purple_request_close(d->type, d);
}

void answer_fields(dialog *d) {
    printf("# answer %s: OK\n", d->title);
    if (d->ok_cb) ((PurpleRequestFieldsCb)d->ok_cb)(d->user_data, d->fields);
    if (!d->closed) purple_request_close(d->type, d);
}

/* ------------------------------------------------------------------ debug and connection UI ops */

static void debug_print(PurpleDebugLevel level, const char *category, const char *arg) {
    if (category != NULL && strcmp(category, "prpl-msim") == 0) {
        g_string_append(st.debug, arg);
    }
    if (getenv("HARNESS_DEBUG") != NULL) {
        fprintf(stderr, "[%d] %s: %s", (int)level, category ? category : "", arg);
    }
}

static gboolean debug_enabled(PurpleDebugLevel level, const char *category) {
    (void)level;
    (void)category;
    return TRUE;
}

static PurpleDebugUiOps debug_ops = {debug_print, debug_enabled, NULL, NULL, NULL, NULL};

static void connect_progress(PurpleConnection *gc, const char *text, size_t step, size_t count) {
    if (purple_connection_get_account(gc) != st.a) return;
    g_string_append_printf(st.progress_a, "%u/%u %s; ", (unsigned)step, (unsigned)count, text);
    if (st.progress_steps_a > 0 && (int)step <= st.progress_last_a) st.progress_ordered_a = 0;
    st.progress_steps_a++;
    st.progress_last_a = (int)step;
}

static PurpleConnectionUiOps connection_ops = {
    connect_progress, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
};

static void ui_init(void) {
    purple_notify_set_ui_ops(&notify_ops);
    purple_request_set_ui_ops(&request_ops);
    purple_connections_set_ui_ops(&connection_ops);
}

static PurpleCoreUiOps core_ops = {NULL, NULL, ui_init, NULL, NULL, NULL, NULL, NULL};

void harness_set_ui_ops(void) {
    purple_debug_set_ui_ops(&debug_ops);
    purple_core_set_ui_ops(&core_ops);
    purple_eventloop_set_ui_ops(&eventloop_ops);
}

void harness_init_state(void) {
    st.ims_a = g_ptr_array_new();
    st.ims_b = g_ptr_array_new();
    st.debug = g_string_new(NULL);
    st.progress_a = g_string_new(NULL);
    st.progress_ordered_a = 1;
    st.dialogs = g_ptr_array_new();
}

/* ------------------------------------------------------------------ checks and waiting */

static int checks, failures;

int harness_failures(void) {
    return failures;
}

int harness_checks(void) {
    return checks;
}

void check(gboolean ok, const char *what, const char *why_fmt, ...) {
    checks++;
    if (ok) {
        printf("ok %d - %s\n", checks, what);
    } else {
        char why[512] = "";
        va_list ap;
        va_start(ap, why_fmt);
        vsnprintf(why, sizeof why, why_fmt, ap);
        va_end(ap);
        failures++;
        printf("not ok %d - %s (%s)\n", checks, what, why);
    }
    fflush(stdout);
}

gint64 deadline_in(int ms) {
    return g_get_monotonic_time() + (gint64)ms * 1000;
}

/* One main-loop iteration unless the deadline has passed. */
gboolean step_until(gint64 deadline) {
    if (g_get_monotonic_time() >= deadline) return FALSE;
    g_main_context_iteration(NULL, TRUE);
    return TRUE;
}

/* Runs the loop for `ms` regardless. */
void run_for(int ms) {
    gint64 dl = deadline_in(ms);
    while (step_until(dl)) {
    }
}

const im *find_im(GPtrArray *ims, const char *from, const char *needle) {
    for (guint i = 0; i < ims->len; i++) {
        const im *m = g_ptr_array_index(ims, i);
        if (strcmp(m->from, from) == 0 && strstr(m->message, needle) != NULL) return m;
    }
    return NULL;
}

/* The timestamp libpurple keeps for the message of `conv` that contains `needle`; 0 = none. */
time_t history_time(PurpleConversation *conv, const char *needle) {
    for (GList *l = conv ? purple_conversation_get_message_history(conv) : NULL; l != NULL; l = l->next) {
        const char *text = purple_conversation_message_get_message(l->data);
        if (text != NULL && strstr(text, needle) != NULL) return purple_conversation_message_get_timestamp(l->data);
    }
    return 0;
}

/* IM conversations of `acc` named by a number (a uid): what a sender without a name looks like. */
int numeric_conversations(PurpleAccount *acc) {
    int n = 0;
    for (GList *l = purple_get_ims(); l != NULL; l = l->next) {
        const char *name = purple_conversation_get_name(l->data);
        if (purple_conversation_get_account(l->data) == acc && name != NULL && name[0] != '\0' &&
            strspn(name, "0123456789") == strlen(name)) {
            n++;
        }
    }
    return n;
}

PurpleBuddy *b_in_a(void) {
    return purple_find_buddy(st.a, st.b_name);
}

const char *b_status_id(void) {
    PurpleBuddy *b = b_in_a();
    if (b == NULL) return "(no buddy)";
    return purple_status_get_id(purple_presence_get_active_status(purple_buddy_get_presence(b)));
}

const char *b_status_message(void) {
    PurpleBuddy *b = b_in_a();
    if (b == NULL) return NULL;
    return purple_status_get_attr_string(purple_presence_get_active_status(purple_buddy_get_presence(b)), "message");
}

gboolean b_is(const char *id, const char *message) {
    const char *m = b_status_message();
    return strcmp(b_status_id(), id) == 0 && (message == NULL || (m != NULL && strcmp(m, message) == 0));
}

gboolean b_idle(void) {
    PurpleBuddy *b = b_in_a();
    return b != NULL && purple_presence_is_idle(purple_buddy_get_presence(b));
}

gboolean debug_has(const char *needle) {
    return strstr(st.debug->str, needle) != NULL;
}

int debug_count(const char *needle) {
    int n = 0;
    for (const char *p = strstr(st.debug->str, needle); p != NULL; p = strstr(p + 1, needle)) n++;
    return n;
}

char *user_info_text(PurpleNotifyUserInfo *ui) {
    return purple_notify_user_info_get_text_with_newline(ui, "\n");
}

PurpleAccount *new_account(const char *email, const char *password, const char *host, int port) {
    PurpleAccount *acc = purple_account_new(email, "prpl-msim");
    purple_account_set_password(acc, password);
    purple_account_set_remember_password(acc, TRUE);
    purple_account_set_string(acc, "server", host);
    purple_account_set_int(acc, "port", port);
    purple_accounts_add(acc);
    purple_account_set_status(acc, "available", TRUE, NULL);
    return acc;
}

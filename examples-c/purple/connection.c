/*
 * Login and close: the life of the per-connection state (msim_purple) and its msim_session, and
 * how a fatal error reaches libpurple.
 */
#include "msim_purple.h"

/* The connection's state; NULL once prpl_close has freed it. */
msim_purple *mp_of(PurpleConnection *gc) {
    return gc != NULL ? purple_connection_get_protocol_data(gc) : NULL;
}

/* Reports a fatal error once; libpurple then schedules the account's disconnect (prpl close). */
void fail(msim_purple *mp, PurpleConnectionError reason, const char *text) {
    if (mp->dead) {
        return;
    }
    mp->dead = TRUE;
    purple_connection_error_reason(mp->gc, reason, text);
}

/* Value destructors of the state's hash tables. */
static void free_user_facts(gpointer p) {
    user_facts *f = p;
    g_free(f->display_name);
    g_free(f);
}

static void free_last_presence(gpointer p) {
    last_presence *lp = p;
    g_free(lp->headline);
    g_free(lp);
}

static void free_pending(gpointer p) {
    pending_contact *c = p;
    g_free(c->group);
    g_free(c->nickname);
    g_free(c);
}

/* The account's proxy (Pidgin's account Proxy tab, or the global/environment one it points to)
 * becomes the session's: SOCKS5 (Tor is one) and HTTP CONNECT. Returns FALSE after failing the
 * connection for a proxy type libmsim cannot use. */
static gboolean use_account_proxy(msim_purple *mp) {
    PurpleProxyInfo *info = purple_proxy_get_setup(mp->account);
    if (info == NULL) {
        return TRUE;
    }
    uint32_t kind;
    switch (purple_proxy_info_get_type(info)) {
    case PURPLE_PROXY_SOCKS5:
    case PURPLE_PROXY_TOR:
        kind = MSIM_PROXY_TYPE_SOCKS5;
        break;
    case PURPLE_PROXY_HTTP:
        kind = MSIM_PROXY_TYPE_HTTP;
        break;
    case PURPLE_PROXY_SOCKS4:
        fail(mp, PURPLE_CONNECTION_ERROR_INVALID_SETTINGS,
             "SOCKS4 proxies are not supported by MySpaceIM; use SOCKS5 or HTTP");
        return FALSE;
    default:
        return TRUE; /* none */
    }
    const char *host = purple_proxy_info_get_host(info);
    int port = purple_proxy_info_get_port(info);
    msim_result r = msim_session_set_proxy(mp->session, kind, host != NULL ? host : "",
                                           (uint16_t)(port > 0 && port <= 65535 ? port : 0),
                                           purple_proxy_info_get_username(info),
                                           purple_proxy_info_get_password(info));
    if (r != MSIM_RESULT_OK) {
        char *msg = g_strdup_printf("Unusable proxy settings: %s", msim_result_str((int)r));
        fail(mp, PURPLE_CONNECTION_ERROR_INVALID_SETTINGS, msg);
        g_free(msg);
        return FALSE;
    }
    return TRUE;
}

void prpl_login(PurpleAccount *account) {
    PurpleConnection *gc = purple_account_get_connection(account);
    msim_purple *mp = g_new0(msim_purple, 1);
    mp->gc = gc;
    mp->account = account;
    mp->lookups = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    mp->pending = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, free_pending);
    mp->infos = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, free_user_facts);
    mp->seen = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, free_last_presence);
    mp->finds = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    purple_connection_set_protocol_data(gc, mp);
    gc->flags |= PURPLE_CONNECTION_HTML | PURPLE_CONNECTION_NO_BGCOLOR | PURPLE_CONNECTION_NO_URLDESC;

    msim_callbacks cb;
    fill_callbacks(&cb);

    msim_session_options opts;
    msim_session_options_init(&opts);
    opts.dispatch = MSIM_DISPATCH_POLL; /* events on libpurple's thread via purple_input_add */
    /* Inbox alerts (mail.c) unless the account turned them off. An account without a username
     * stops at on_username_required and asks for one (username.c). */
    opts.disable_mail_check = !purple_account_get_bool(account, OPT_MAIL_ALERTS, TRUE);
    mp->session = msim_session_new_ex(&cb, mp, &opts);
    if (mp->session == NULL) {
        fail(mp, PURPLE_CONNECTION_ERROR_OTHER_ERROR, "libmsim could not create a session");
        return;
    }
    mp->watch = purple_input_add(msim_session_fd(mp->session), PURPLE_INPUT_READ, input_cb, mp);

    /* Kept by the session and sent at sign-on. */
    push_status(mp, purple_account_get_active_status(account));

    const char *host = purple_account_get_string(account, "server", DEFAULT_SERVER);
    int port = purple_account_get_int(account, "port", DEFAULT_PORT);
    const char *password = purple_connection_get_password(gc);
    if (port <= 0 || port > 65535) {
        fail(mp, PURPLE_CONNECTION_ERROR_INVALID_SETTINGS, "The port must be between 1 and 65535");
        return;
    }
    if (!use_account_proxy(mp)) {
        return;
    }
    msim_result r = msim_session_connect(mp->session, host, (uint16_t)port, purple_account_get_username(account),
                                         password != NULL ? password : "");
    if (r != MSIM_RESULT_OK) {
        fail(mp, r == MSIM_RESULT_INVALID_UTF8 || r == MSIM_RESULT_INVALID_ARGUMENT
                     ? PURPLE_CONNECTION_ERROR_INVALID_SETTINGS
                     : PURPLE_CONNECTION_ERROR_NETWORK_ERROR,
             msim_result_str((int)r));
    }
}

void prpl_close(PurpleConnection *gc) {
    msim_purple *mp = mp_of(gc);
    if (mp == NULL) {
        return;
    }
    if (mp->watch != 0) {
        purple_input_remove(mp->watch);
    }
    drop_alias_answers(mp);
    cancel_icon_fetches(mp);
    /* Dialogs of this connection (username, search, profile) must not call back into mp. */
    purple_request_close_with_handle(gc);
    /* Logs out if still connected; no callback of this session runs after this returns. */
    msim_session_free(mp->session);
    g_hash_table_destroy(mp->lookups);
    g_hash_table_destroy(mp->pending);
    g_hash_table_destroy(mp->infos);
    g_hash_table_destroy(mp->seen);
    groups_free(mp);
    g_hash_table_destroy(mp->finds);
    g_free(mp->wanted_username);
    g_free(mp->own_display_name);
    g_free(mp->own_headline);
    g_free(mp->own_band);
    g_free(mp->own_song);
    purple_connection_set_protocol_data(gc, NULL);
    g_free(mp);
}

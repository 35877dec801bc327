/*
 * prpl-msim and other users, as libpurple shows them (issue 12): buddy icons fetched from
 * msim-server's HTTP side once per picture, the zap submenu, case-insensitive names, the tooltip
 * of an away buddy, nicknames and group moves written to the server, and inbox alerts.
 */
#include "purple_harness.h"

/* The bytes of the file named by environment variable `var` (a GBytes, or NULL). */
static GBytes *file_from_env(const char *var) {
    const char *path = getenv(var);
    gchar *data = NULL;
    gsize len = 0;
    if (path == NULL || !g_file_get_contents(path, &data, &len, NULL)) return NULL;
    return g_bytes_new_take(data, len);
}

/* B's icon at A: whether its bytes are `want`, and its checksum (copied into `sum`). */
static gboolean icon_is(GBytes *want, char sum[256]) {
    sum[0] = '\0';
    PurpleBuddyIcon *icon = purple_buddy_icons_find(st.a, st.b_name);
    if (icon == NULL) return FALSE;
    size_t len = 0;
    gconstpointer data = purple_buddy_icon_get_data(icon, &len);
    const char *c = purple_buddy_icon_get_checksum(icon);
    g_strlcpy(sum, c != NULL ? c : "", 256);
    gboolean same = want != NULL && data != NULL && len == g_bytes_get_size(want) &&
                    memcmp(data, g_bytes_get_data(want, NULL), len) == 0;
    purple_buddy_icon_unref(icon);
    return same;
}

static char *fetch_line(void) {
    return g_strdup_printf("fetching the buddy icon of %s from", st.b_name);
}

void check_buddy_icon(void) {
    gboolean ok;
    char sum[256];
    GBytes *want = file_from_env("HARNESS_B_PICTURE");
    /* The contact list's AvatarUrl (on_buddy_picture) → HTTP fetch from msim-server → the icon. */
    WAIT_UNTIL(ok, icon_is(want, sum), WAIT_MS);
    char *pic = g_strdup_printf("/pictures/%s/1.png", getenv("HARNESS_B_UID") ? getenv("HARNESS_B_UID") : "?");
    check(ok && g_str_has_prefix(sum, "http://") && g_str_has_suffix(sum, pic),
          "B's buddy icon at A is B's picture fetched from msim-server, the URL as checksum", "same bytes %d, %s", ok,
          sum);
    g_free(pic);
    g_bytes_unref(want);
}

void check_buddy_icon_change(void) {
    gboolean ok;
    char sum[256];
    char *line = fetch_line();
    /* get_info just reported the same URL again: no second fetch (SPEC §9.3). */
    check(debug_count(line) == 1, "the picture is fetched once per URL (get_info repeats it, no new fetch)",
          "%d fetches", debug_count(line));
    printf("# harness: change B's picture now\n");
    fflush(stdout);
    GBytes *want = file_from_env("HARNESS_B_PICTURE2");
    ok = FALSE;
    for (int i = 0; i < 20 && !ok; i++) {
        serv_get_info(purple_account_get_connection(st.a), st.b_name); /* a lookup brings the new URL */
        WAIT_UNTIL(ok, icon_is(want, sum), 500);
    }
    check(ok && g_str_has_suffix(sum, "/2.png") && debug_count(line) == 2,
          "a new picture (new URL) replaces B's icon: fetched once more", "same bytes %d, %s, %d fetches", ok, sum,
          debug_count(line));
    g_bytes_unref(want);
    g_free(line);
}

void check_zap_menu(PurplePluginProtocolInfo *info) {
    gboolean ok;
    PurpleBlistNode *node = (PurpleBlistNode *)b_in_a();
    GList *menu = info->blist_node_menu != NULL && node != NULL ? info->blist_node_menu(node) : NULL;
    PurpleMenuAction *zap = menu != NULL ? menu->data : NULL;
    GList *kids = zap != NULL ? zap->children : NULL;
    PurpleMenuAction *slap = g_list_nth_data(kids, 5);
    check(g_list_length(menu) == 1 && strcmp(zap->label, "Zap") == 0 && g_list_length(kids) == 10 && slap != NULL &&
              strcmp(slap->label, "Slap") == 0,
          "the buddy menu has a Zap submenu with the 10 zaps", "%u items, %u zaps", g_list_length(menu),
          g_list_length(kids));
    st.attention_at_b = 0;
    if (slap != NULL && slap->callback != NULL) {
        ((void (*)(PurpleBlistNode *, gpointer))slap->callback)(node, slap->data);
    }
    WAIT_UNTIL(ok, st.attention_at_b != 0, WAIT_MS);
    check(ok && st.attention_at_b == 5 + 1, "Zap → Slap from the buddy menu reaches B as zap 5", "type %d",
          st.attention_at_b - 1);
    for (GList *l = kids; l != NULL; l = l->next) purple_menu_action_free(l->data);
    if (zap != NULL) {
        zap->children = NULL;
        purple_menu_action_free(zap);
    }
    g_list_free(menu);
}

void check_normalize(PurplePluginProtocolInfo *info) {
    gboolean ok;
    char *spaced = g_strdup_printf(" %c %s", g_ascii_toupper(st.b_name[0]), st.b_name + 1);
    char *upper = g_ascii_strup(st.b_name, -1);
    const char *n = info->normalize != NULL ? info->normalize(st.a, spaced) : NULL;
    check(n != NULL && strcmp(n, st.b_name) == 0, "normalize: case and spaces do not matter", "%s -> %s", spaced,
          n ? n : "NULL");
    const char *uid = getenv("HARNESS_B_UID");
    n = info->normalize != NULL && uid != NULL ? info->normalize(st.a, uid) : NULL;
    check(n != NULL && strcmp(n, st.b_name) == 0, "normalize: B's uid names B (SPEC §19)", "%s -> %s",
          uid ? uid : "?", n ? n : "NULL");
    check(purple_find_buddy(st.a, upper) == b_in_a() && b_in_a() != NULL, "libpurple finds B by its name in capitals",
          "%s not found", upper);
    serv_send_im(purple_account_get_connection(st.a), upper, "to your capitals", 0);
    WAIT_UNTIL(ok, find_im(st.ims_b, st.a_name, "to your capitals") != NULL, WAIT_MS);
    check(ok, "an IM to B's name in capitals reaches B", "not received");
    g_free(spaced);
    g_free(upper);
}

void check_away_tooltip(PurplePluginProtocolInfo *info) {
    gboolean ok;
    /* B is away with "at lunch" (purple_harness.c). */
    PurpleNotifyUserInfo *tip = purple_notify_user_info_new();
    info->tooltip_text(b_in_a(), tip, FALSE);
    char *text = user_info_text(tip);
    check(strstr(text, "Status") != NULL && strstr(text, "Away: at lunch") != NULL,
          "tooltip of an away buddy: \"Status: Away: <message>\"", "%s", text);
    g_free(text);
    purple_notify_user_info_destroy(tip);
    purple_account_set_status(st.b, "away", TRUE, NULL);
    WAIT_UNTIL(ok, b_is("away", NULL) && (b_status_message() == NULL || b_status_message()[0] == '\0'), WAIT_MS);
    char *status = info->status_text(b_in_a());
    tip = purple_notify_user_info_new();
    info->tooltip_text(b_in_a(), tip, FALSE);
    text = user_info_text(tip);
    check(ok && status != NULL && strcmp(status, "Away") == 0 && strstr(text, "Away") != NULL,
          "an away buddy without a message: status text and tooltip say Away", "status text %s, tooltip %s",
          status ? status : "NULL", text);
    g_free(status);
    g_free(text);
    purple_notify_user_info_destroy(tip);
}

void check_nickname_and_group(void) {
    gboolean ok;
    PurpleBuddy *bb = b_in_a();
    if (bb == NULL) return;
    /* An alias is B's nickname on the server (0/9 contact write, SPEC §18.5). */
    purple_blist_alias_buddy(bb, "Bobby");
    serv_alias_buddy(bb);
    char *nick_line = g_strdup_printf("(%s) nickname Bobby", st.b_name);
    WAIT_UNTIL(ok, debug_has(nick_line), WAIT_MS);
    check(ok, "alias_buddy sends B's nickname to the server", "no write");
    run_for(300);
    printf("# harness: expect A's contact B: group IM Friends, nickname Bobby\n");
    fflush(stdout);
    /* Moving B to another group writes the group, the nickname kept. */
    PurpleGroup *pals = purple_group_new("Pals");
    purple_blist_add_group(pals, NULL);
    purple_blist_add_buddy(bb, NULL, pals, NULL);
    char *move_line = g_strdup_printf("(%s) moved to Pals", st.b_name);
    WAIT_UNTIL(ok, debug_has(move_line), WAIT_MS);
    check(ok, "moving B to group Pals (group_buddy) sends the new group", "no write");
    run_for(300);
    printf("# harness: expect A's contact B: group Pals, nickname Bobby\n");
    fflush(stdout);
    g_free(nick_line);
    g_free(move_line);
}

void check_mail_alert_on(void) {
    gboolean ok;
    /* A received an offline IM at sign-on: msim-server reports Mail (SPEC §13). */
    WAIT_UNTIL(ok, st.emails_a > 0, WAIT_MS);
    check(ok && strcmp(st.email_subject_a, "New Mail messages") == 0 && strstr(st.email_url_a, "mail.inbox") != NULL,
          "inbox alert at A: a mail notification with Pidgin's text and inbox link", "%d notifications: %s %s",
          st.emails_a, st.email_subject_a ? st.email_subject_a : "", st.email_url_a ? st.email_url_a : "");
    run_for(300);
    check(st.emails_a == 1, "inbox alerts are shown once per kind per session", "%d notifications", st.emails_a);
}

void check_mail_alert_off(void) {
    gboolean ok;
    /* B received an offline IM at this sign-on too, but has inbox alerts off. */
    WAIT_UNTIL(ok, find_im(st.ims_b, st.a_name, "for when you are back") != NULL, WAIT_MS);
    run_for(1500);
    check(ok && st.emails_b == 0, "with the account option off, B gets no inbox alert", "offline IM %d, %d alerts", ok,
          st.emails_b);
}

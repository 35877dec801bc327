/*
 * Buddy icons: a user's profile picture is the URL in ImageURL (lookups, user info) or AvatarUrl
 * (contact records, on_buddy_picture), fetched over HTTP with libpurple's fetcher and given to
 * libpurple with the URL as the icon's checksum (SPEC §9.3, as Pidgin's msimprpl did). libpurple
 * keeps icons and their checksums across sessions (~/.purple/icons, blist.xml), so a picture is
 * fetched once per change of URL, not once per sign-on.
 *
 * Own icon: not uploaded (set_buddy_icon is NULL). The protocol has no known way to upload one:
 * SPEC §25 names 8/13 "set profile picture" from one source only, without its body; pictures
 * are set on the server (msim-server's `account set-picture`), as MySpace's were on its web site.
 */
#include "msim_purple.h"

/* Pidgin's msimprpl treated this placeholder as "no picture" (SPEC §9.3). */
#define NO_PICTURE_URL "http://x.myspace.com/images/no_pic.gif"

/* Largest picture fetched: msim-server accepts up to 256 KiB; twice that leaves room for other
 * servers without letting one URL fill memory. */
#define MAX_ICON_BYTES (512 * 1024)

typedef struct {
    msim_purple *mp;
    char *who;
    char *url;
    PurpleUtilFetchUrlData *fetch;
} icon_fetch;

static void free_fetch(icon_fetch *f) {
    g_free(f->who);
    g_free(f->url);
    g_free(f);
}

/* The fetch in flight for `who`, if any. */
static icon_fetch *fetch_for(msim_purple *mp, const char *who) {
    for (GSList *l = mp->icon_fetches; l != NULL; l = l->next) {
        icon_fetch *f = l->data;
        if (purple_strequal(f->who, who)) {
            return f;
        }
    }
    return NULL;
}

/* What libpurple's icon loaders read, by signature. */
static gboolean is_picture(const guchar *b, gsize len) {
    return (len >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0) || (len >= 6 && memcmp(b, "GIF8", 4) == 0) ||
           (len >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) || (len >= 2 && b[0] == 'B' && b[1] == 'M');
}

static void icon_fetched(PurpleUtilFetchUrlData *data, gpointer user_data, const gchar *bytes, gsize len,
                         const gchar *error) {
    icon_fetch *f = user_data;
    msim_purple *mp = f->mp;
    (void)data;
    mp->icon_fetches = g_slist_remove(mp->icon_fetches, f);
    if (error != NULL || bytes == NULL || len == 0) {
        purple_debug_warning(PRPL_ID, "buddy icon for %s: cannot fetch %s: %s\n", f->who, f->url,
                             error != NULL ? error : "empty reply");
    } else if (!is_picture((const guchar *)bytes, len)) {
        /* libpurple's fetcher hands over error pages too (it reports no HTTP status). */
        purple_debug_warning(PRPL_ID, "buddy icon for %s: %s is not a PNG, GIF, JPEG or BMP picture\n", f->who,
                             f->url);
    } else if (purple_find_buddy(mp->account, f->who) != NULL) {
        /* libpurple takes the data; the URL is the checksum (SPEC §9.3). */
        guchar *copy = g_malloc(len);
        memcpy(copy, bytes, len);
        purple_buddy_icons_set_for_user(mp->account, f->who, copy, len, f->url);
        purple_debug_info(PRPL_ID, "buddy icon for %s set from %s (%" G_GSIZE_FORMAT " bytes)\n", f->who, f->url,
                          len);
    }
    free_fetch(f);
}

void update_icon(msim_purple *mp, const char *who, const char *url) {
    if (url == NULL || mp->dead) {
        return; /* the reply said nothing about the picture */
    }
    PurpleBuddy *b = purple_find_buddy(mp->account, who);
    if (b == NULL) {
        return; /* libpurple keeps icons for buddies */
    }
    gboolean none = url[0] == '\0' || strcmp(url, NO_PICTURE_URL) == 0 ||
                    (g_ascii_strncasecmp(url, "http://", 7) != 0 && g_ascii_strncasecmp(url, "https://", 8) != 0);
    const char *have = purple_buddy_icons_get_checksum_for_user(b);
    icon_fetch *f = fetch_for(mp, who);
    if (f != NULL && !none && strcmp(f->url, url) == 0) {
        return; /* already on its way */
    }
    if (f != NULL) {
        /* An older picture still on its way: the newer URL wins. */
        purple_util_fetch_url_cancel(f->fetch);
        mp->icon_fetches = g_slist_remove(mp->icon_fetches, f);
        free_fetch(f);
    }
    if (none) {
        if (have != NULL) {
            purple_buddy_icons_set_for_user(mp->account, who, NULL, 0, NULL);
            purple_debug_info(PRPL_ID, "buddy icon for %s removed\n", who);
        }
        return;
    }
    if (purple_strequal(have, url)) {
        return; /* this picture is the icon already */
    }
    f = g_new0(icon_fetch, 1);
    f->mp = mp;
    f->who = g_strdup(who);
    f->url = g_strdup(url);
    purple_debug_info(PRPL_ID, "fetching the buddy icon of %s from %s\n", who, url);
    /* Listed first: when the connect fails at once, libpurple runs icon_fetched (which unlists
     * and frees f) before returning NULL. */
    mp->icon_fetches = g_slist_prepend(mp->icon_fetches, f);
    /* Through the account's proxy, like the IM connection; HTTP/1.0, redirects followed.
     * full = FALSE: the request line carries the path ("GET /pictures/…"), which every server
     * reads, rather than the whole URL (absolute form, meant for proxies). */
    PurpleUtilFetchUrlData *fetch = purple_util_fetch_url_request_len_with_account(
        mp->account, url, FALSE, NULL, FALSE, NULL, FALSE, MAX_ICON_BYTES, icon_fetched, f);
    if (fetch != NULL) {
        f->fetch = fetch;
    } else if (g_slist_find(mp->icon_fetches, f) != NULL) {
        mp->icon_fetches = g_slist_remove(mp->icon_fetches, f); /* refused without a callback */
        free_fetch(f);
    }
}

void cancel_icon_fetches(msim_purple *mp) {
    for (GSList *l = mp->icon_fetches; l != NULL; l = l->next) {
        icon_fetch *f = l->data;
        purple_util_fetch_url_cancel(f->fetch);
        free_fetch(f);
    }
    g_slist_free(mp->icon_fetches);
    mp->icon_fetches = NULL;
}

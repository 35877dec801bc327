/*
 * header_smoke.c — compiled as C99 and as C++11 against include/msim.h and run by tests/c_header.rs.
 * Exercises every export of the foundation: version, result texts, login response/verify, the
 * argument checks (NULL, invalid UTF-8), output parameters untouched on failure, msim_string_free(NULL),
 * and the plugin descriptor (msim_plugin_init, its #defines and MSIM_PLUGIN_HAS_OP).
 * Prints "header_smoke: N checks passed" and exits 0, or lists the failed checks and exits 1.
 */
#include "msim.h"

#include <stdio.h>
#include <string.h>

static int checks = 0;
static int failures = 0;

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        checks++;                                                                        \
        if (!(cond)) {                                                                   \
            failures++;                                                                  \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);      \
        }                                                                                \
    } while (0)

/* Every code in the header; tests/c_header.rs checks that none is missing from this list. */
static const msim_result ALL_RESULTS[] = {
    MSIM_RESULT_OK,
    MSIM_RESULT_NULL_PARAMETER,
    MSIM_RESULT_INVALID_UTF8,
    MSIM_RESULT_INVALID_ARGUMENT,
    MSIM_RESULT_BUFFER_TOO_SMALL,
    MSIM_RESULT_NOT_CONNECTED,
    MSIM_RESULT_ALREADY_CONNECTED,
    MSIM_RESULT_NOT_SIGNED_ON,
    MSIM_RESULT_ALREADY_SIGNED_ON,
    MSIM_RESULT_CLOSED,
    MSIM_RESULT_WOULD_DEADLOCK,
    MSIM_RESULT_QUEUE_FULL,
    MSIM_RESULT_WRONG_STATE,
    MSIM_RESULT_CONNECT_FAILED,
    MSIM_RESULT_DNS,
    MSIM_RESULT_TIMEOUT,
    MSIM_RESULT_CONNECTION_LOST,
    MSIM_RESULT_IO,
    MSIM_RESULT_PROTOCOL,
    MSIM_RESULT_FRAME_TOO_LARGE,
    MSIM_RESULT_BAD_CHALLENGE,
    MSIM_RESULT_ENCODE,
    MSIM_RESULT_EMBEDDED_NUL,
    MSIM_RESULT_SERVER_ERROR,
    MSIM_RESULT_AUTH_FAILED,
    MSIM_RESULT_UNKNOWN_EMAIL,
    MSIM_RESULT_LOGGED_IN_ELSEWHERE,
    MSIM_RESULT_NO_SUCH_USER,
    MSIM_RESULT_USERNAME_TAKEN,
    MSIM_RESULT_SESSION_EXPIRED,
    MSIM_RESULT_CLIENT_TOO_OLD,
    MSIM_RESULT_CONTACT_LIST_UNAVAILABLE,
    MSIM_RESULT_ALREADY_BUDDY,
    MSIM_RESULT_NOT_BUDDY,
    MSIM_RESULT_PANIC,
};

/* Row 1 of tests/data/login-vectors.tsv. */
static const char NONCE[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==";
static const char EMAIL[] = "myspace@example.com";
static const char PASSWORD[] = "password";
static const char EXPECTED[] = "FK88egCwkdkWYn21Xz2Dnyt2eL2D1Fot6S0ZUBD/NM6wwOfRAWlPzi0YuVGFIhnWVBiNrLl4dbg=";

/* 0xFF never occurs in UTF-8. */
static const char BAD_UTF8[] = "\xff\xfe";

static void test_version(void) {
    const char *v = msim_version();
    CHECK(v != NULL);
    CHECK(v != NULL && strlen(v) >= 5 && strchr(v, '.') != NULL);
    printf("msim_version: %s\n", v ? v : "(null)");
}

static void test_result_str(void) {
    size_t n = sizeof ALL_RESULTS / sizeof ALL_RESULTS[0];
    size_t i, j;
    CHECK(MSIM_RESULT_OK == 0);
    for (i = 0; i < n; i++) {
        const char *s = msim_result_str(ALL_RESULTS[i]);
        CHECK(s != NULL);
        if (s == NULL) continue;
        CHECK(s[0] != '\0');
        CHECK(strcmp(s, "unknown result") != 0);
        for (j = 0; j < i; j++) {
            CHECK(strcmp(s, msim_result_str(ALL_RESULTS[j])) != 0);
        }
    }
    CHECK(strcmp(msim_result_str(-1), "unknown result") == 0);
    CHECK(strcmp(msim_result_str(1), "unknown result") == 0);
    CHECK(strcmp(msim_result_str(12345), "unknown result") == 0);
    CHECK(strcmp(msim_result_str(MSIM_RESULT_OK), "ok") == 0);
    printf("result codes: %u\n", (unsigned)n);
}

static void test_login(void) {
    char *response = NULL;
    msim_result r = msim_login_response(NONCE, EMAIL, PASSWORD, &response);
    CHECK(r == MSIM_RESULT_OK);
    CHECK(response != NULL && strcmp(response, EXPECTED) == 0);
    if (response != NULL) {
        CHECK(msim_login_verify(NONCE, EMAIL, PASSWORD, response) == MSIM_RESULT_OK);
        CHECK(msim_login_verify(NONCE, "MySpace@Example.COM", PASSWORD, response) == MSIM_RESULT_OK);
        CHECK(msim_login_verify(NONCE, EMAIL, "wrong", response) == MSIM_RESULT_AUTH_FAILED);
        CHECK(msim_login_verify(NONCE, "other@example.com", PASSWORD, response) == MSIM_RESULT_AUTH_FAILED);
        CHECK(msim_login_verify(NONCE, EMAIL, PASSWORD, "not base64!") == MSIM_RESULT_AUTH_FAILED);
        msim_string_free(response);
    }
    CHECK(msim_login_verify(NONCE, EMAIL, PASSWORD, EXPECTED) == MSIM_RESULT_OK);
}

static void test_bad_arguments(void) {
    /* Output parameters are written only on success: the sentinel must survive every failure. */
    char sentinel = 0;
    char *out = &sentinel;

    CHECK(msim_login_response(NULL, EMAIL, PASSWORD, &out) == MSIM_RESULT_NULL_PARAMETER);
    CHECK(msim_login_response(NONCE, NULL, PASSWORD, &out) == MSIM_RESULT_NULL_PARAMETER);
    CHECK(msim_login_response(NONCE, EMAIL, NULL, &out) == MSIM_RESULT_NULL_PARAMETER);
    CHECK(msim_login_response(NONCE, EMAIL, PASSWORD, NULL) == MSIM_RESULT_NULL_PARAMETER);
    CHECK(msim_login_response(BAD_UTF8, EMAIL, PASSWORD, &out) == MSIM_RESULT_INVALID_UTF8);
    CHECK(msim_login_response(NONCE, BAD_UTF8, PASSWORD, &out) == MSIM_RESULT_INVALID_UTF8);
    CHECK(msim_login_response(NONCE, EMAIL, BAD_UTF8, &out) == MSIM_RESULT_INVALID_UTF8);
    /* 63 bytes of nonce, then not base64 at all. */
    CHECK(msim_login_response("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+",
                              EMAIL, PASSWORD, &out) == MSIM_RESULT_BAD_CHALLENGE);
    CHECK(msim_login_response("***", EMAIL, PASSWORD, &out) == MSIM_RESULT_BAD_CHALLENGE);
    CHECK(out == &sentinel);

    CHECK(msim_login_verify(NULL, EMAIL, PASSWORD, EXPECTED) == MSIM_RESULT_NULL_PARAMETER);
    CHECK(msim_login_verify(NONCE, NULL, PASSWORD, EXPECTED) == MSIM_RESULT_NULL_PARAMETER);
    CHECK(msim_login_verify(NONCE, EMAIL, NULL, EXPECTED) == MSIM_RESULT_NULL_PARAMETER);
    CHECK(msim_login_verify(NONCE, EMAIL, PASSWORD, NULL) == MSIM_RESULT_NULL_PARAMETER);
    CHECK(msim_login_verify(NONCE, EMAIL, BAD_UTF8, EXPECTED) == MSIM_RESULT_INVALID_UTF8);
    CHECK(msim_login_verify(NONCE, EMAIL, PASSWORD, BAD_UTF8) == MSIM_RESULT_INVALID_UTF8);
    CHECK(msim_login_verify("***", EMAIL, PASSWORD, EXPECTED) == MSIM_RESULT_BAD_CHALLENGE);

    msim_string_free(NULL);
}

/* Converts with f and compares; frees the result. */
static void expect_conversion(msim_result (*f)(const char *, char **), const char *in, const char *want) {
    char *out = NULL;
    CHECK(f(in, &out) == MSIM_RESULT_OK);
    CHECK(out != NULL && strcmp(out, want) == 0);
    if (out != NULL && strcmp(out, want) != 0) {
        fprintf(stderr, "  converted \"%s\" to \"%s\", want \"%s\"\n", in, out, want);
    }
    msim_string_free(out);
}

static void test_markup(void) {
    expect_conversion(msim_markup_to_html, "<f s='1'>hi</f> <i n='happy'/>", "<b>hi</b> :)");
    expect_conversion(msim_markup_to_html, "<a h='javascript:alert(1)'/>", "javascript:alert(1)");
    expect_conversion(msim_markup_to_html, "1 < 2 & 3", "1 &lt; 2 &amp; 3");
    expect_conversion(msim_html_to_markup, "<b>bold</b> :)", "<f s='1'>bold</f> <i n=\"happy\"/>");
    expect_conversion(msim_html_to_markup, "final", "<p>final</p>");
    expect_conversion(msim_markup_to_plain, "<p><c v='red'>x &amp; y</c></p>", "x & y");
    expect_conversion(msim_html_to_plain, "a<br>b &lt;3", "a\nb <3");

    char sentinel = 0;
    char *out = &sentinel;
    CHECK(msim_markup_to_html(NULL, &out) == MSIM_RESULT_NULL_PARAMETER);
    CHECK(msim_markup_to_html("x", NULL) == MSIM_RESULT_NULL_PARAMETER);
    CHECK(msim_html_to_markup(BAD_UTF8, &out) == MSIM_RESULT_INVALID_UTF8);
    CHECK(msim_markup_to_plain(BAD_UTF8, &out) == MSIM_RESULT_INVALID_UTF8);
    CHECK(msim_html_to_plain(NULL, &out) == MSIM_RESULT_NULL_PARAMETER);
    CHECK(out == &sentinel);
}

/* The plugin descriptor as a dlopen()ing host sees it (tests/plugin_loader.rs does the dlopen). */
static void test_plugin_descriptor(void) {
    const msim_plugin_info *info = msim_plugin_init();
    CHECK(info != NULL);
    if (info == NULL) {
        return;
    }
    CHECK(info == msim_plugin_init());
    CHECK(info->magic == MSIM_PLUGIN_MAGIC && MSIM_PLUGIN_MAGIC == 0x4D53494Du);
    CHECK(info->abi_major == MSIM_PLUGIN_ABI_MAJOR && info->abi_minor == MSIM_PLUGIN_ABI_MINOR);
    CHECK(info->struct_size == sizeof(msim_plugin_info));
    CHECK(strcmp(info->id, "prpl-msim") == 0 && strcmp(info->version, msim_version()) == 0);
    CHECK(MSIM_PLUGIN_HAS_OP(info, options_init) && MSIM_PLUGIN_HAS_OP(info, string_free));
    CHECK(strcmp(info->result_str(MSIM_RESULT_QUEUE_FULL), msim_result_str(MSIM_RESULT_QUEUE_FULL)) == 0);
    msim_plugin_init_fn init = msim_plugin_init;
    CHECK(init() == info);
}

/* The _sized creation functions, as a program built against an older (shorter) or a newer (longer)
 * header would call them (src/ffi/create.rs). */
static void test_struct_growth(void) {
    /* options_init writes exactly the bytes it is given: an older header's shorter struct is
     * filled up to its size, a newer header's longer one has its unknown tail zeroed. */
    unsigned char buf[sizeof(msim_session_options) + 16];
    size_t older = offsetof(msim_session_options, max_queued_events);
    memset(buf, 0xAB, sizeof buf);
    CHECK(msim_session_options_init_sized((msim_session_options *)buf, older) == MSIM_RESULT_OK);
    CHECK(buf[older - 1] == 0 && buf[older] == 0xAB);
    memset(buf, 0xAB, sizeof buf);
    CHECK(msim_session_options_init_sized((msim_session_options *)buf, sizeof buf) == MSIM_RESULT_OK);
    size_t zeros = 0;
    for (size_t i = 0; i < sizeof buf; i++) {
        zeros += buf[i] == 0;
    }
    CHECK(zeros == sizeof buf); /* every default is zero, and so is the unknown tail */
    CHECK(msim_session_options_init_sized(NULL, sizeof buf) == MSIM_RESULT_NULL_PARAMETER);
    CHECK(msim_session_options_init_sized((msim_session_options *)buf, 0) == MSIM_RESULT_INVALID_ARGUMENT);

    /* The macros pass this header's sizes. */
    msim_session_options o;
    memset(&o, 0xAB, sizeof o);
    CHECK(msim_session_options_init(&o) == MSIM_RESULT_OK && o.dispatch == MSIM_DISPATCH_THREAD);
    msim_callbacks cb;
    memset(&cb, 0, sizeof cb);
    msim_session *s = msim_session_new_ex(&cb, NULL, &o);
    CHECK(s != NULL);
    msim_session_free(s);

    /* Callbacks: an older header's prefix works; a newer header's extra callbacks are ignored;
     * a size that is not whole function pointers is refused. */
    unsigned char cbuf[sizeof(msim_callbacks) + 2 * sizeof(void *)];
    memset(cbuf, 0, sizeof cbuf);
    s = msim_session_new_sized((const msim_callbacks *)cbuf, offsetof(msim_callbacks, on_im_received), NULL, NULL, 0);
    CHECK(s != NULL);
    msim_session_free(s);
    memset(cbuf + sizeof(msim_callbacks), 0x11, 2 * sizeof(void *));
    s = msim_session_new_sized((const msim_callbacks *)cbuf, sizeof cbuf, NULL, NULL, 0);
    CHECK(s != NULL);
    msim_session_free(s);
    CHECK(msim_session_new_sized((const msim_callbacks *)cbuf, 3, NULL, NULL, 0) == NULL);
    CHECK(msim_session_new_sized((const msim_callbacks *)cbuf, 0, NULL, NULL, 0) == NULL);
    s = msim_session_new_sized(NULL, 3, NULL, NULL, 0); /* the size is ignored for NULL callbacks */
    CHECK(s != NULL);
    msim_session_free(s);

    /* Options: a newer header's unknown option must be zero; an older header's prefix works and
     * the options it lacks take their defaults. */
    memset(buf, 0, sizeof buf);
    msim_session_options_init_sized((msim_session_options *)buf, sizeof buf);
    s = msim_session_new_sized(NULL, 0, NULL, (const msim_session_options *)buf, sizeof buf);
    CHECK(s != NULL);
    msim_session_free(s);
    buf[sizeof(msim_session_options) + 3] = 1;
    CHECK(msim_session_new_sized(NULL, 0, NULL, (const msim_session_options *)buf, sizeof buf) == NULL);
    buf[sizeof(msim_session_options) + 3] = 0;
    ((msim_session_options *)buf)->dispatch = MSIM_DISPATCH_POLL;
    s = msim_session_new_sized(NULL, 0, NULL, (const msim_session_options *)buf, older);
    CHECK(s != NULL && msim_session_fd(s) >= 0);
    msim_session_free(s);
    CHECK(msim_session_new_sized(NULL, 0, NULL, (const msim_session_options *)buf, 0) == NULL);
}

int main(void) {
    test_plugin_descriptor();
    test_struct_growth();
    test_version();
    test_markup();
    test_result_str();
    test_login();
    test_bad_arguments();
    if (failures != 0) {
        fprintf(stderr, "header_smoke: %d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("header_smoke: %d checks passed\n", checks);
    return 0;
}

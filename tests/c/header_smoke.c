/*
 * header_smoke.c — compiled as C99 and as C++11 against include/msim.h and run by tests/c_header.rs.
 * Exercises every export of the foundation: version, result texts, login response/verify, the
 * argument checks (NULL, invalid UTF-8), output parameters untouched on failure, msim_string_free(NULL).
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
    MSIM_RESULT_PANIC,
};

/* Row 1 of ../shared/protocol/login-vectors.tsv. */
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

int main(void) {
    test_version();
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

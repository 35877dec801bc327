/* Compiled as C99 and as C++ by tests/client_c.rs: include/msim.h must be clean in both. */
#include "msim.h"

#include <string.h>

static void on_contacts(void *ud, const msim_contact *c, size_t n) {
    (void)ud;
    (void)c;
    (void)n;
}

int main(void) {
    msim_callbacks cb;
    msim_session_options o;
    msim_user_info info;
    msim_group g;
    msim_status st = MSIM_STATUS_AWAY;
    msim_mail_flag mf = MSIM_MAIL_FLAG_FRIEND_REQUEST;
    memset(&cb, 0, sizeof cb);
    cb.on_contact_list = on_contacts;
    (void)info;
    (void)g;
    (void)st;
    (void)mf;
    if (msim_session_options_init(&o) != MSIM_RESULT_OK) return 1;
    o.dispatch = MSIM_DISPATCH_POLL;
    msim_session *s = msim_session_new_ex(&cb, 0, &o);
    int fd = msim_session_fd(s);
    msim_session_free(s);
    return fd >= 0 ? 0 : 1;
}

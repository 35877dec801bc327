/*
 * e2e.c — the end-to-end benchmark's C host, compiled and driven by benches/e2e.rs.
 *
 * Everything msim does here goes through include/msim.h and the shared library, exactly as a C
 * host (a libpurple plugin, a bot) would use it; the baselines are plain sockets in this same
 * process, so both sides pay the same process, thread and clock costs.
 *
 *   e2e im HOST MSIM_PORT RELAY_PORT EMAIL_A PW_A EMAIL_B PW_B UID_A UID_B TEXT WIRE_SIZE
 *          ROUNDS PINGS BURST
 *     Rounds alternate between three transports, each carrying messages of WIRE_SIZE bytes:
 *       msim   A --msim_session_send_im--> msim-server --> B's on_im_received (and back)
 *       direct A --write--> B (one loopback TCP connection)
 *       relay  A --write--> forwarder thread --> B (two connections, one copy loop per direction)
 *     Latency: PINGS ping-pongs per round (B answers each message, A sends the next one from its
 *     receive path); one message's latency is half a round trip.
 *     Throughput: A sends BURST messages back to back; B counts them.
 *
 *   e2e ingest HOST PORT RAW_PORT EMAIL PW N ROUNDS BYTES
 *     One signed-on session; per round the server writes N messages (BYTES bytes in all) as fast
 *     as it can. Rounds alternate between the session (counting on_im_received/on_buddy_status)
 *     and a raw socket that receives the same bytes (counting bytes, no parsing). Before each
 *     round this program prints "go msim" or "go raw" and the driver starts writing.
 *
 *   e2e sent HOST PORT EMAIL PW TEXT N ROUNDS
 *     msim_session_send_im -> on_im_sent, N per round, one at a time, alternating with the
 *     baseline: the same two thread hops with nothing else (eventfd + poll there, mutex/condvar
 *     back).
 *
 * Output, one line per measurement (all times in nanoseconds):
 *   latency NAME COUNT MEDIAN P10 P90 P99      over all single-message samples of all rounds
 *   rate NAME ROUNDS MEDIAN P10 P90            messages per second, over rounds
 * Exit status 0 on success; 1 with a reason on stderr.
 */
#include "msim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Bytes per read() on the baseline sockets: generous, so the baselines are the floor. */
#define RAW_READ 65536

static void die(const char *what) {
    fprintf(stderr, "e2e: %s (errno %d: %s)\n", what, errno, strerror(errno));
    exit(1);
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---------------------------------------------------------------- statistics */

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(const uint64_t *sorted, size_t n, double p) {
    return (double)sorted[(size_t)((double)(n - 1) * p + 0.5)];
}

static void print_latency(const char *name, uint64_t *v, size_t n) {
    qsort(v, n, sizeof *v, cmp_u64);
    printf("latency %s %zu %.0f %.0f %.0f %.0f\n", name, n, pct(v, n, 0.5), pct(v, n, 0.1), pct(v, n, 0.9),
           pct(v, n, 0.99));
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void print_rate(const char *name, double *v, size_t n) {
    qsort(v, n, sizeof *v, cmp_double);
    printf("rate %s %zu %.0f %.0f %.0f\n", name, n, v[(n - 1) / 2], v[(size_t)((double)(n - 1) * 0.1 + 0.5)],
           v[(size_t)((double)(n - 1) * 0.9 + 0.5)]);
}

/* ---------------------------------------------------------------- sockets */

static int tcp_connect(const char *host, int port) {
    struct sockaddr_in sa;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) die("inet_pton");
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) die("connect");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* as msim does */
    return fd;
}

/* Two ends of one loopback connection. */
static void tcp_pair(int *a, int *b) {
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int one = 1;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    if (l < 0) die("socket");
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(l, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(l, 1) != 0) die("bind/listen");
    if (getsockname(l, (struct sockaddr *)&sa, &len) != 0) die("getsockname");
    *a = tcp_connect("127.0.0.1", ntohs(sa.sin_port));
    *b = accept(l, NULL, NULL);
    if (*b < 0) die("accept");
    setsockopt(*b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    close(l);
}

static void write_full(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) die("write");
        p += w;
        n -= (size_t)w;
    }
}

static void read_full(int fd, char *p, size_t n) {
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) die("read");
        p += r;
        n -= (size_t)r;
    }
}

/* ---------------------------------------------------------------- shared state */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
/* Set (under lock) when the current round's last message arrived, with its time. */
static int round_done;
static uint64_t round_end;

static void finish_round(uint64_t t) {
    pthread_mutex_lock(&lock);
    round_done = 1;
    round_end = t;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void start_round(void) {
    pthread_mutex_lock(&lock);
    round_done = 0;
    pthread_mutex_unlock(&lock);
}

/* Waits for finish_round (at most 60 s) and returns its time. */
static uint64_t wait_round(const char *what) {
    struct timespec ts;
    uint64_t t;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 60;
    pthread_mutex_lock(&lock);
    while (!round_done) {
        if (pthread_cond_timedwait(&changed, &lock, &ts) == ETIMEDOUT) {
            fprintf(stderr, "e2e: %s: a round did not finish within 60 s\n", what);
            exit(1);
        }
    }
    t = round_end;
    pthread_mutex_unlock(&lock);
    return t;
}

/* ---------------------------------------------------------------- raw baselines */

/* The receiving end of a raw connection: echoes each message (ping-pong) or counts bytes and
 * ends the round after `burst_bytes` (throughput). */
typedef struct {
    int fd;
    size_t size;
    int echo;
    size_t burst_bytes;
} raw_peer;

static void *raw_peer_main(void *arg) {
    raw_peer *p = (raw_peer *)arg;
    char *buf = malloc(RAW_READ);
    size_t got = 0;
    if (!buf) die("malloc");
    for (;;) {
        if (p->echo) {
            read_full(p->fd, buf, p->size);
            write_full(p->fd, buf, p->size);
        } else {
            ssize_t r = read(p->fd, buf, RAW_READ);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) die("read");
            got += (size_t)r;
            if (got >= p->burst_bytes) {
                got -= p->burst_bytes;
                finish_round(now_ns());
            }
        }
    }
    return NULL;
}

static void start_peer(raw_peer *p) {
    pthread_t t;
    if (pthread_create(&t, NULL, raw_peer_main, p) != 0) die("pthread_create");
    pthread_detach(t);
}

/* PINGS round trips on `fd` (its peer echoes); samples are half round trips. */
static void raw_pingpong(int fd, const char *msg, size_t size, uint64_t *samples, size_t pings) {
    char *buf = malloc(size);
    size_t i;
    if (!buf) die("malloc");
    for (i = 0; i < pings; i++) {
        uint64_t t0 = now_ns();
        write_full(fd, msg, size);
        read_full(fd, buf, size);
        samples[i] = (now_ns() - t0) / 2;
    }
    free(buf);
}

/* BURST messages, one write each (msim writes each IM with one call too); returns msgs/s. */
static double raw_burst(int fd, const char *msg, size_t size, size_t burst) {
    size_t i;
    uint64_t t0, t1;
    start_round();
    t0 = now_ns();
    for (i = 0; i < burst; i++) write_full(fd, msg, size);
    t1 = wait_round("raw burst");
    return (double)burst * 1e9 / (double)(t1 - t0);
}

/* ---------------------------------------------------------------- msim sessions */

enum phase { IDLE, PINGPONG, BURST };

typedef struct {
    const char *name;
    msim_session *s;
    const char *peer; /* the other side's uid, as text */
    int signed_on, failed;
} client;

static client ca = {"A", NULL, NULL, 0, 0}, cb = {"B", NULL, NULL, 0, 0};
static const char *text;
/* Written by the main thread between rounds (under lock), read by callbacks. */
static enum phase phase;
static size_t pings_left, burst_left;
static uint64_t ping_sent;
static uint64_t *ping_samples;
static size_t ping_count;

static void on_signed_on(void *ud, uint32_t uid, const char *username) {
    client *c = (client *)ud;
    (void)uid;
    (void)username;
    pthread_mutex_lock(&lock);
    c->signed_on = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void on_login_failed(void *ud, msim_login_failure reason, uint32_t code, const char *t) {
    client *c = (client *)ud;
    fprintf(stderr, "e2e: %s: login failed (%d, code %u): %s\n", c->name, (int)reason, code, t);
    pthread_mutex_lock(&lock);
    c->failed = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void on_error(void *ud, msim_result r, uint32_t code, const char *t) {
    fprintf(stderr, "e2e: %s: error %d, server code %u: %s\n", ((client *)ud)->name, (int)r, code, t);
}

static void on_disconnected(void *ud, msim_disconnect_reason reason, uint32_t code, const char *t, bool again) {
    (void)again;
    fprintf(stderr, "e2e: %s: disconnected (%d, code %u): %s\n", ((client *)ud)->name, (int)reason, code, t);
    exit(1);
}

static void send_im(client *c) {
    msim_result r = msim_session_send_im(c->s, c->peer, text, NULL);
    if (r != MSIM_RESULT_OK) {
        fprintf(stderr, "e2e: %s: send_im: %s\n", c->name, msim_result_str(r));
        exit(1);
    }
}

/* B answers every ping (ping-pong) or counts the burst. A times each answer and sends the next
 * ping from here, as the raw ping-pong does from its read loop: no extra thread hop on
 * either side. */
static void on_im_received(void *ud, uint32_t from, const char *username, const char *html, const char *plain,
                           int64_t t, bool offline) {
    client *c = (client *)ud;
    enum phase ph;
    (void)from, (void)username, (void)html, (void)plain, (void)t, (void)offline;
    pthread_mutex_lock(&lock);
    ph = phase;
    pthread_mutex_unlock(&lock);
    if (ph == PINGPONG) {
        if (c == &cb) {
            send_im(&cb);
            return;
        }
        {
            uint64_t now = now_ns();
            ping_samples[ping_count++] = (now - ping_sent) / 2;
            if (--pings_left == 0) {
                finish_round(now);
                return;
            }
            ping_sent = now_ns();
            send_im(&ca);
        }
    } else if (ph == BURST && c == &cb) {
        if (--burst_left == 0) finish_round(now_ns());
    }
}

static void set_phase(enum phase p, size_t pings, size_t burst) {
    pthread_mutex_lock(&lock);
    phase = p;
    pings_left = pings;
    burst_left = burst;
    round_done = 0;
    ping_sent = now_ns(); /* last: the first ping goes out right after */
    pthread_mutex_unlock(&lock);
}

static msim_callbacks callbacks(void) {
    msim_callbacks cbs;
    memset(&cbs, 0, sizeof cbs);
    cbs.on_signed_on = on_signed_on;
    cbs.on_login_failed = on_login_failed;
    cbs.on_disconnected = on_disconnected;
    cbs.on_error = on_error;
    cbs.on_im_received = on_im_received;
    return cbs;
}

static void sign_on(client *c, const msim_callbacks *cbs, const char *host, int port, const char *email,
                    const char *pw) {
    msim_session_options o;
    struct timespec ts;
    msim_session_options_init(&o);
    o.dispatch = MSIM_DISPATCH_THREAD;
    o.disable_mail_check = true;
    c->s = msim_session_new_ex(cbs, c, &o);
    if (!c->s) die("msim_session_new_ex");
    if (msim_session_connect(c->s, host, (uint16_t)port, email, pw) != MSIM_RESULT_OK) die("msim_session_connect");
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 30;
    pthread_mutex_lock(&lock);
    while (!c->signed_on && !c->failed)
        if (pthread_cond_timedwait(&changed, &lock, &ts) == ETIMEDOUT) break;
    pthread_mutex_unlock(&lock);
    if (!c->signed_on) {
        fprintf(stderr, "e2e: %s did not sign on\n", c->name);
        exit(1);
    }
}

static void msim_pingpong(uint64_t *samples, size_t pings) {
    ping_samples = samples;
    ping_count = 0;
    set_phase(PINGPONG, pings, 0);
    send_im(&ca);
    wait_round("msim ping-pong");
    set_phase(IDLE, 0, 0);
}

static double msim_burst(size_t burst) {
    size_t i;
    uint64_t t0, t1;
    set_phase(BURST, 0, burst);
    t0 = now_ns();
    for (i = 0; i < burst; i++) send_im(&ca);
    t1 = wait_round("msim burst");
    set_phase(IDLE, 0, 0);
    return (double)burst * 1e9 / (double)(t1 - t0);
}

static int cmd_im(char **a) {
    const char *host = a[0];
    int msim_port = atoi(a[1]), relay_port = atoi(a[2]);
    size_t size = (size_t)atol(a[10]), rounds = (size_t)atol(a[11]), pings = (size_t)atol(a[12]),
           burst = (size_t)atol(a[13]);
    static raw_peer peers[4];
    int pp_direct[2], tp_direct[2], pp_relay[2], tp_relay[2];
    char *wire = malloc(size);
    uint64_t *lat[3];
    double *rate[3];
    size_t r, k;
    msim_callbacks cbs = callbacks();

    text = a[9];
    ca.peer = a[8]; /* A talks to B's uid */
    cb.peer = a[7];
    if (!wire) die("malloc");
    memset(wire, 'x', size);
    for (k = 0; k < 3; k++) {
        lat[k] = calloc(rounds * pings, sizeof(uint64_t));
        rate[k] = calloc(rounds, sizeof(double));
        if (!lat[k] || !rate[k]) die("calloc");
    }

    /* Raw connections: a ping-pong pair and a burst pair, direct and through the relay (which
     * pairs its connections in accept order: 1st with 2nd, 3rd with 4th). */
    tcp_pair(&pp_direct[0], &pp_direct[1]);
    tcp_pair(&tp_direct[0], &tp_direct[1]);
    pp_relay[0] = tcp_connect(host, relay_port);
    pp_relay[1] = tcp_connect(host, relay_port);
    tp_relay[0] = tcp_connect(host, relay_port);
    tp_relay[1] = tcp_connect(host, relay_port);
    peers[0] = (raw_peer){pp_direct[1], size, 1, 0};
    peers[1] = (raw_peer){tp_direct[1], size, 0, size * burst};
    peers[2] = (raw_peer){pp_relay[1], size, 1, 0};
    peers[3] = (raw_peer){tp_relay[1], size, 0, size * burst};
    for (k = 0; k < 4; k++) start_peer(&peers[k]);

    sign_on(&ca, &cbs, host, msim_port, a[3], a[4]);
    sign_on(&cb, &cbs, host, msim_port, a[5], a[6]);

    /* Warm-up: one short round of each. */
    msim_pingpong(lat[0], pings < 50 ? pings : 50);
    raw_pingpong(pp_direct[0], wire, size, lat[1], pings < 50 ? pings : 50);
    raw_pingpong(pp_relay[0], wire, size, lat[2], pings < 50 ? pings : 50);

    for (r = 0; r < rounds; r++) {
        msim_pingpong(lat[0] + r * pings, pings);
        raw_pingpong(pp_direct[0], wire, size, lat[1] + r * pings, pings);
        raw_pingpong(pp_relay[0], wire, size, lat[2] + r * pings, pings);
        rate[0][r] = msim_burst(burst);
        rate[1][r] = raw_burst(tp_direct[0], wire, size, burst);
        rate[2][r] = raw_burst(tp_relay[0], wire, size, burst);
    }
    print_latency("msim", lat[0], rounds * pings);
    print_latency("direct", lat[1], rounds * pings);
    print_latency("relay", lat[2], rounds * pings);
    print_rate("msim", rate[0], rounds);
    print_rate("direct", rate[1], rounds);
    print_rate("relay", rate[2], rounds);
    fflush(stdout);
    msim_session_free(ca.s);
    msim_session_free(cb.s);
    return 0;
}

/* ---------------------------------------------------------------- ingest */

/* Set under the lock before a round; then only the session's IO thread touches it. */
static size_t ingest_left;

static void count_one(void) {
    if (--ingest_left == 0) finish_round(now_ns());
}

static void on_ingest_im(void *ud, uint32_t from, const char *username, const char *html, const char *plain,
                         int64_t t, bool offline) {
    (void)ud, (void)from, (void)username, (void)html, (void)plain, (void)t, (void)offline;
    count_one();
}

static void on_ingest_status(void *ud, uint32_t uid, const char *username, msim_presence p, const char *headline) {
    (void)ud, (void)uid, (void)username, (void)p, (void)headline;
    count_one();
}

static int cmd_ingest(char **a) {
    const char *host = a[0];
    int port = atoi(a[1]), raw_port = atoi(a[2]);
    size_t n = (size_t)atol(a[5]), rounds = (size_t)atol(a[6]), bytes = (size_t)atol(a[7]);
    msim_callbacks cbs = callbacks();
    double *rate[2];
    char *buf = malloc(RAW_READ);
    size_t r;
    int raw;

    cbs.on_im_received = on_ingest_im;
    cbs.on_buddy_status = on_ingest_status;
    rate[0] = calloc(rounds, sizeof(double));
    rate[1] = calloc(rounds, sizeof(double));
    if (!buf || !rate[0] || !rate[1]) die("malloc");
    sign_on(&ca, &cbs, host, port, a[3], a[4]);
    raw = tcp_connect(host, raw_port);

    for (r = 0; r < rounds; r++) {
        uint64_t t0, t1;
        size_t got = 0;

        pthread_mutex_lock(&lock);
        ingest_left = n;
        round_done = 0;
        pthread_mutex_unlock(&lock);
        t0 = now_ns();
        printf("go msim\n");
        fflush(stdout);
        t1 = wait_round("ingest");
        rate[0][r] = (double)n * 1e9 / (double)(t1 - t0);

        t0 = now_ns();
        printf("go raw\n");
        fflush(stdout);
        while (got < bytes) {
            ssize_t k = read(raw, buf, RAW_READ);
            if (k < 0 && errno == EINTR) continue;
            if (k <= 0) die("read");
            got += (size_t)k;
        }
        rate[1][r] = (double)n * 1e9 / (double)(now_ns() - t0);
    }
    print_rate("ingest-msim", rate[0], rounds);
    print_rate("ingest-raw", rate[1], rounds);
    fflush(stdout);
    msim_session_free(ca.s);
    close(raw);
    return 0;
}

/* ---------------------------------------------------------------- send_im -> on_im_sent */

/* How soon a callback caused by an API call arrives: msim_session_send_im on this thread, then
 * on_im_sent on the session's IO thread (which must be woken by the call, write, and call back).
 * Baseline: the same two thread hops with nothing else, an eventfd write that a poll()ing
 * thread wakes on (as the IO thread does), answered through the same mutex/condvar. */
static int sent_flag, wake_fd;
static uint64_t sent_at;

static void mark_sent(void) {
    uint64_t t = now_ns();
    pthread_mutex_lock(&lock);
    sent_at = t, sent_flag = 1;
    pthread_cond_signal(&changed);
    pthread_mutex_unlock(&lock);
}

static void on_im_sent(void *ud, uint64_t id) {
    (void)ud, (void)id;
    mark_sent();
}

static uint64_t wait_sent(void) {
    uint64_t t;
    pthread_mutex_lock(&lock);
    while (!sent_flag) pthread_cond_wait(&changed, &lock);
    sent_flag = 0, t = sent_at;
    pthread_mutex_unlock(&lock);
    return t;
}

static void *waker_main(void *arg) {
    struct pollfd p = {wake_fd, POLLIN, 0};
    uint64_t v;
    (void)arg;
    for (;;) {
        if (poll(&p, 1, -1) < 0 && errno == EINTR) continue;
        if (read(wake_fd, &v, 8) == 8) mark_sent();
    }
    return NULL;
}

static int cmd_sent(char **a) {
    size_t n = (size_t)atol(a[5]), rounds = (size_t)atol(a[6]), r, i;
    uint64_t *lat[2], one = 1;
    msim_callbacks cbs = callbacks();
    pthread_t waker;

    text = a[4];
    cbs.on_im_sent = on_im_sent;
    lat[0] = calloc(n * rounds, sizeof(uint64_t));
    lat[1] = calloc(n * rounds, sizeof(uint64_t));
    wake_fd = eventfd(0, 0);
    if (!lat[0] || !lat[1] || wake_fd < 0) die("setup");
    if (pthread_create(&waker, NULL, waker_main, NULL) != 0) die("pthread_create");
    sign_on(&ca, &cbs, a[0], atoi(a[1]), a[2], a[3]);
    ca.peer = "bob";
    for (r = 0; r < rounds; r++) {
        for (i = 0; i < n; i++) {
            uint64_t t0 = now_ns();
            send_im(&ca);
            lat[0][r * n + i] = wait_sent() - t0;
        }
        for (i = 0; i < n; i++) {
            uint64_t t0 = now_ns();
            if (write(wake_fd, &one, 8) != 8) die("write");
            lat[1][r * n + i] = wait_sent() - t0;
        }
    }
    print_latency("im-sent", lat[0], n * rounds);
    print_latency("wakeup", lat[1], n * rounds);
    fflush(stdout);
    msim_session_free(ca.s);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 16 && strcmp(argv[1], "im") == 0) return cmd_im(argv + 2);
    if (argc == 10 && strcmp(argv[1], "ingest") == 0) return cmd_ingest(argv + 2);
    if (argc == 9 && strcmp(argv[1], "sent") == 0) return cmd_sent(argv + 2);
    fprintf(stderr,
            "usage: %s im HOST MSIM_PORT RELAY_PORT EMAIL_A PW_A EMAIL_B PW_B UID_A UID_B TEXT WIRE_SIZE ROUNDS "
            "PINGS BURST\n"
            "       %s ingest HOST PORT RAW_PORT EMAIL PW N ROUNDS BYTES\n"
            "       %s sent HOST PORT EMAIL PW TEXT N ROUNDS\n",
            argv[0], argv[0], argv[0]);
    return 2;
}

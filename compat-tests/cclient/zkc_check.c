/*
 * The ZooKeeper C client (Debian's libzookeeper-mt, 3.8) against one server.
 *
 *   gcc -DTHREADED -o zkc_check zkc_check.c -lzookeeper_mt && ./zkc_check HOST:PORT
 *
 * Prints "PASS name" / "FAIL name: detail" per check; exits 1 if any check failed, 2 if the
 * watchdog (alarm) fired. Every wait is bounded. The expectations hold against Apache
 * ZooKeeper 3.8 with extendedTypesEnabled=true (TTL nodes) on a fresh server.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

#define WAIT_MS 10000
#define ROOT "/cclient"
/* base64(sha1("cuser:cpw")): the digest id the server derives for "digest cuser:cpw" */
#define CUSER_DIGEST "cuser:DzS0u7He87Oqg/l9eIWyaH9kGoE="

static const char *hosts;
static int passes, failures;
static char failed_names[64][160];

static void pass(const char *name) {
    passes++;
    printf("PASS  %s\n", name);
    fflush(stdout);
}

static void failf(const char *name, const char *fmt, ...) {
    va_list ap;
    if (failures < 64) snprintf(failed_names[failures], sizeof failed_names[0], "%s", name);
    failures++;
    printf("FAIL  %s: ", name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

/* rc check: got must equal want (both ZOO error codes) */
static int expect_rc(const char *name, int got, int want) {
    if (got == want) {
        pass(name);
        return 1;
    }
    failf(name, "rc %d (%s), want %d (%s)", got, zerror(got), want, zerror(want));
    return 0;
}

static int expect_true(const char *name, int ok, const char *fmt, ...) {
    va_list ap;
    char buf[512];
    if (ok) {
        pass(name);
        return 1;
    }
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    failf(name, "%s", buf);
    return 0;
}

static int expect_str(const char *name, const char *got, const char *want) {
    return expect_true(name, got && want && strcmp(got, want) == 0, "got \"%s\", want \"%s\"",
                       got ? got : "(null)", want ? want : "(null)");
}

/* --- events ---------------------------------------------------------------------------- */
#define MAX_EVENTS 256
struct event {
    zhandle_t *zh;
    int type, state;
    char path[256];
    const char *tag; /* watcher context: which watcher saw it */
};
static struct event events[MAX_EVENTS];
static int nevents;
static pthread_mutex_t ev_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ev_cv = PTHREAD_COND_INITIALIZER;

static const char *type_name(int t) {
    if (t == ZOO_CREATED_EVENT) return "CREATED";
    if (t == ZOO_DELETED_EVENT) return "DELETED";
    if (t == ZOO_CHANGED_EVENT) return "CHANGED";
    if (t == ZOO_CHILD_EVENT) return "CHILD";
    if (t == ZOO_SESSION_EVENT) return "SESSION";
    if (t == ZOO_NOTWATCHING_EVENT) return "NOTWATCHING";
    return "?";
}

static const char *state_name(int s) {
    if (s == ZOO_CONNECTED_STATE) return "CONNECTED";
    if (s == ZOO_CONNECTING_STATE) return "CONNECTING";
    if (s == ZOO_ASSOCIATING_STATE) return "ASSOCIATING";
    if (s == ZOO_EXPIRED_SESSION_STATE) return "EXPIRED";
    if (s == ZOO_AUTH_FAILED_STATE) return "AUTH_FAILED";
    if (s == 0) return "CLOSED";
    return "?";
}

static void watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    pthread_mutex_lock(&ev_mu);
    if (nevents < MAX_EVENTS) {
        struct event *e = &events[nevents++];
        e->zh = zh;
        e->type = type;
        e->state = state;
        snprintf(e->path, sizeof e->path, "%s", path ? path : "");
        e->tag = ctx ? (const char *)ctx : "default";
    }
    pthread_cond_broadcast(&ev_cv);
    pthread_mutex_unlock(&ev_mu);
}

static void deadline_in(struct timespec *ts, int ms) {
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static int event_mark(void) {
    int n;
    pthread_mutex_lock(&ev_mu);
    n = nevents;
    pthread_mutex_unlock(&ev_mu);
    return n;
}

/* Wait (bounded) for an event on zh at index >= *from matching type/path/tag; advance *from
 * past it. Returns 1 if found. */
static int wait_event(zhandle_t *zh, int *from, int type, const char *path, const char *tag, int ms) {
    struct timespec ts;
    int found = 0;
    deadline_in(&ts, ms);
    pthread_mutex_lock(&ev_mu);
    for (;;) {
        for (int i = *from; i < nevents; i++) {
            struct event *e = &events[i];
            if (e->zh == zh && e->type == type && strcmp(e->path, path) == 0 &&
                (!tag || strcmp(e->tag, tag) == 0)) {
                *from = i + 1;
                found = 1;
                break;
            }
        }
        if (found || pthread_cond_timedwait(&ev_cv, &ev_mu, &ts) == ETIMEDOUT) break;
    }
    pthread_mutex_unlock(&ev_mu);
    return found;
}

/* Events on zh with a path (watch events, not session events) at index >= from. */
static int count_watch_events(zhandle_t *zh, int from) {
    int n = 0;
    pthread_mutex_lock(&ev_mu);
    for (int i = from; i < nevents; i++)
        if (events[i].zh == zh && events[i].type != ZOO_SESSION_EVENT) n++;
    pthread_mutex_unlock(&ev_mu);
    return n;
}

static void dump_events(int from) {
    pthread_mutex_lock(&ev_mu);
    for (int i = from; i < nevents; i++)
        printf("        event: %s state=%s path=%s watcher=%s\n", type_name(events[i].type),
               state_name(events[i].state), events[i].path, events[i].tag);
    pthread_mutex_unlock(&ev_mu);
}

static zhandle_t *connect_client(const char *name) {
    int mark = event_mark();
    zhandle_t *zh = zookeeper_init(hosts, watcher, 10000, 0, NULL, 0);
    if (!zh) {
        failf(name, "zookeeper_init failed: %s", strerror(errno));
        return NULL;
    }
    struct timespec ts;
    deadline_in(&ts, WAIT_MS);
    pthread_mutex_lock(&ev_mu);
    while (zoo_state(zh) != ZOO_CONNECTED_STATE) {
        if (pthread_cond_timedwait(&ev_cv, &ev_mu, &ts) == ETIMEDOUT) break;
    }
    pthread_mutex_unlock(&ev_mu);
    if (zoo_state(zh) != ZOO_CONNECTED_STATE) {
        failf(name, "not connected within %d ms (state %d)", WAIT_MS, zoo_state(zh));
        dump_events(mark);
        return zh;
    }
    pass(name);
    return zh;
}

/* --- completions for async calls -------------------------------------------------------- */
struct done {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int finished, rc;
};

static void done_init(struct done *d) {
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    d->finished = 0;
    d->rc = -9999;
}

static void void_done(int rc, const void *data) {
    struct done *d = (struct done *)data;
    pthread_mutex_lock(&d->mu);
    d->rc = rc;
    d->finished = 1;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

static void string_done(int rc, const char *value, const void *data) {
    (void)value;
    void_done(rc, data);
}

static int done_wait(struct done *d, int ms) {
    struct timespec ts;
    deadline_in(&ts, ms);
    pthread_mutex_lock(&d->mu);
    while (!d->finished)
        if (pthread_cond_timedwait(&d->cv, &d->mu, &ts) == ETIMEDOUT) break;
    int rc = d->finished ? d->rc : -9999;
    pthread_mutex_unlock(&d->mu);
    return rc;
}

/* --- helpers ------------------------------------------------------------------------------- */
/* Before zh reads what another session wrote: in an ensemble the two may be on different
 * servers, and ZooKeeper promises a session every write acknowledged before its sync() only
 * after that sync completes (zoo_async). A standalone server is already up to date. */
static void catch_up(zhandle_t *zh, const char *path) {
    struct done d;
    done_init(&d);
    if (zoo_async(zh, path, string_done, &d) == ZOK) done_wait(&d, WAIT_MS);
}

static int strcmp_p(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* children of path, sorted (ZooKeeper leaves the order unspecified), joined with ',' */
static int children_sorted(zhandle_t *zh, const char *path, char *out, size_t outlen) {
    struct String_vector sv = {0, NULL};
    int rc = zoo_get_children(zh, path, 0, &sv);
    out[0] = 0;
    if (rc != ZOK) return rc;
    qsort(sv.data, sv.count, sizeof(char *), strcmp_p);
    for (int i = 0; i < sv.count; i++) {
        if (i) strncat(out, ",", outlen - strlen(out) - 1);
        strncat(out, sv.data[i], outlen - strlen(out) - 1);
    }
    deallocate_String_vector(&sv);
    return ZOK;
}

static int seq_suffix_ok(const char *path, const char *prefix) {
    size_t n = strlen(prefix);
    if (strncmp(path, prefix, n) != 0 || strlen(path) != n + 10) return 0;
    for (size_t i = n; i < n + 10; i++)
        if (path[i] < '0' || path[i] > '9') return 0;
    return 1;
}

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "FAIL  watchdog: the whole run exceeded its time budget\n";
    if (write(1, msg, sizeof msg - 1) < 0) { /* nothing to do */ }
    _exit(2);
}

/* ------------------------------------------------------------------------------------------- */
static void test_create(zhandle_t *zh) {
    char buf[512];
    struct Stat st;
    int rc;

    rc = zoo_create(zh, ROOT, "root", 4, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, buf, sizeof buf);
    if (expect_rc("create persistent " ROOT, rc, ZOK)) expect_str("create returns the path", buf, ROOT);
    expect_rc("create existing -> ZNODEEXISTS",
              zoo_create(zh, ROOT, "x", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, buf, sizeof buf), ZNODEEXISTS);
    expect_rc("create without parent -> ZNONODE",
              zoo_create(zh, ROOT "/nope/x", "x", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, buf, sizeof buf), ZNONODE);
    expect_rc("create with a bad path -> ZBADARGUMENTS",
              zoo_create(zh, ROOT "/bad/", "x", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, buf, sizeof buf), ZBADARGUMENTS);

    memset(&st, 0, sizeof st);
    rc = zoo_create2(zh, ROOT "/c2", "abc", 3, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, buf, sizeof buf, &st);
    if (expect_rc("create2", rc, ZOK))
        expect_true("create2 returns the stat", st.czxid > 0 && st.czxid == st.mzxid && st.dataLength == 3 &&
                    st.version == 0, "czxid %lld mzxid %lld dataLength %d version %d",
                    (long long)st.czxid, (long long)st.mzxid, st.dataLength, st.version);

    rc = zoo_create(zh, ROOT "/eph", "e", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, buf, sizeof buf);
    expect_rc("create ephemeral", rc, ZOK);
    rc = zoo_exists(zh, ROOT "/eph", 0, &st);
    if (expect_rc("exists on the ephemeral", rc, ZOK))
        expect_true("ephemeralOwner is our session id", st.ephemeralOwner == zoo_client_id(zh)->client_id,
                    "ephemeralOwner 0x%llx session 0x%llx", (long long)st.ephemeralOwner,
                    (long long)zoo_client_id(zh)->client_id);
    expect_rc("child of an ephemeral -> ZNOCHILDRENFOREPHEMERALS",
              zoo_create(zh, ROOT "/eph/c", "x", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, buf, sizeof buf),
              ZNOCHILDRENFOREPHEMERALS);

    char s1[512], s2[512];
    rc = zoo_create(zh, ROOT "/seq-", "s", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_SEQUENCE, s1, sizeof s1);
    if (expect_rc("create sequential", rc, ZOK))
        expect_true("sequential name has a 10-digit suffix", seq_suffix_ok(s1, ROOT "/seq-"), "%s", s1);
    rc = zoo_create(zh, ROOT "/seq-", "s", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL_SEQUENTIAL, s2, sizeof s2);
    if (expect_rc("create ephemeral sequential", rc, ZOK))
        expect_true("sequence numbers increase", seq_suffix_ok(s2, ROOT "/seq-") && strcmp(s2, s1) > 0,
                    "%s then %s", s1, s2);
    /* the sequence number is the parent's cversion: c2, eph and seq- were created before */
    expect_str("first sequence number is the parent's cversion", s1, ROOT "/seq-0000000002");

    rc = zoo_create_ttl(zh, ROOT "/ttl", "t", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_WITH_TTL, 60000, buf, sizeof buf);
    expect_rc("create with TTL", rc, ZOK);
    rc = zoo_create2_ttl(zh, ROOT "/ttls-", "t", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_SEQUENTIAL_WITH_TTL, 60000,
                         buf, sizeof buf, &st);
    if (expect_rc("create2 sequential with TTL", rc, ZOK))
        expect_true("sequential TTL name", seq_suffix_ok(buf, ROOT "/ttls-"), "%s", buf);
    rc = zoo_create(zh, ROOT "/cont", NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_CONTAINER, buf, sizeof buf);
    expect_rc("create container", rc, ZOK);
    rc = zoo_exists(zh, ROOT "/cont", 0, &st);
    if (expect_rc("exists on the container", rc, ZOK))
        expect_true("container: clients see ephemeralOwner 0", st.ephemeralOwner == 0, "0x%llx",
                    (long long)st.ephemeralOwner);
}

static void test_get_set(zhandle_t *zh) {
    char buf[512];
    int len;
    struct Stat st;
    int rc;

    len = sizeof buf;
    rc = zoo_get(zh, ROOT, 0, buf, &len, &st);
    if (expect_rc("get", rc, ZOK)) {
        expect_true("get returns the data", len == 4 && memcmp(buf, "root", 4) == 0, "len %d", len);
        expect_true("get stat: version 0, dataLength 4", st.version == 0 && st.dataLength == 4,
                    "version %d dataLength %d", st.version, st.dataLength);
    }
    len = sizeof buf;
    expect_rc("get missing -> ZNONODE", zoo_get(zh, ROOT "/missing", 0, buf, &len, &st), ZNONODE);

    rc = zoo_set(zh, ROOT, "v1", 2, 0);
    expect_rc("set with the current version", rc, ZOK);
    expect_rc("set with a stale version -> ZBADVERSION", zoo_set(zh, ROOT, "v2", 2, 0), ZBADVERSION);
    rc = zoo_set2(zh, ROOT, "v2", 2, 1, &st);
    if (expect_rc("set2 with version 1", rc, ZOK))
        expect_true("set2 returns the new stat", st.version == 2 && st.dataLength == 2 && st.mzxid > st.czxid,
                    "version %d dataLength %d", st.version, st.dataLength);
    rc = zoo_set(zh, ROOT, "v3", 2, -1);
    expect_rc("set with version -1 (any)", rc, ZOK);
    len = sizeof buf;
    rc = zoo_get(zh, ROOT, 0, buf, &len, &st);
    expect_true("get after sets", rc == ZOK && len == 2 && memcmp(buf, "v3", 2) == 0 && st.version == 3,
                "rc %d len %d version %d", rc, len, st.version);
    expect_rc("set missing -> ZNONODE", zoo_set(zh, ROOT "/missing", "x", 1, -1), ZNONODE);

    /* null data and empty data are different: null comes back as length -1 */
    rc = zoo_create(zh, ROOT "/null", NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, buf, sizeof buf);
    expect_rc("create with null data", rc, ZOK);
    len = sizeof buf;
    rc = zoo_get(zh, ROOT "/null", 0, buf, &len, &st);
    expect_true("null data reads back as length -1", rc == ZOK && len == -1 && st.dataLength == 0,
                "rc %d len %d dataLength %d", rc, len, st.dataLength);
    rc = zoo_create(zh, ROOT "/empty", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, buf, sizeof buf);
    len = sizeof buf;
    rc = zoo_get(zh, ROOT "/empty", 0, buf, &len, &st);
    expect_true("empty data reads back as length 0", rc == ZOK && len == 0, "rc %d len %d", rc, len);
}

static void test_watches(zhandle_t *zh, zhandle_t *other) {
    char buf[512];
    int len;
    struct Stat st;
    int rc, mark;
    struct String_vector sv;

    /* exists watch on a missing node, fired by another client's create */
    mark = event_mark();
    rc = zoo_exists(zh, ROOT "/w", 1, &st);
    expect_rc("exists with watch on a missing node -> ZNONODE", rc, ZNONODE);
    zoo_create(other, ROOT "/w", "w", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, buf, sizeof buf);
    if (!expect_true("exists watch fires CREATED", wait_event(zh, &mark, ZOO_CREATED_EVENT, ROOT "/w", NULL, WAIT_MS),
                     "no event within %d ms", WAIT_MS))
        dump_events(0);

    /* data watch via wget with its own watcher */
    mark = event_mark();
    len = sizeof buf;
    rc = zoo_wget(zh, ROOT "/w", watcher, "wget", buf, &len, &st);
    expect_rc("wget", rc, ZOK);
    zoo_set(other, ROOT "/w", "w2", 2, -1);
    expect_true("wget watcher gets CHANGED", wait_event(zh, &mark, ZOO_CHANGED_EVENT, ROOT "/w", "wget", WAIT_MS),
                "no event");
    int after = event_mark();
    zoo_set(other, ROOT "/w", "w3", 2, -1);
    usleep(300 * 1000);
    expect_true("watch is one-shot", count_watch_events(zh, after) == 0, "%d more events",
                count_watch_events(zh, after));

    /* child watch */
    mark = event_mark();
    memset(&sv, 0, sizeof sv);
    rc = zoo_wget_children(zh, ROOT "/w", watcher, "children", &sv);
    if (expect_rc("wget_children", rc, ZOK)) deallocate_String_vector(&sv);
    zoo_create(other, ROOT "/w/kid", "k", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, buf, sizeof buf);
    expect_true("child watch gets CHILD", wait_event(zh, &mark, ZOO_CHILD_EVENT, ROOT "/w", "children", WAIT_MS),
                "no event");

    /* exists watch on an existing node fires DELETED; default watcher */
    mark = event_mark();
    rc = zoo_exists(zh, ROOT "/w/kid", 1, &st);
    expect_rc("exists with watch on an existing node", rc, ZOK);
    zoo_delete(other, ROOT "/w/kid", -1);
    expect_true("exists watch fires DELETED", wait_event(zh, &mark, ZOO_DELETED_EVENT, ROOT "/w/kid", NULL, WAIT_MS),
                "no event");

    /* one watcher registered by get and exists on the same node fires once per registration kind */
    mark = event_mark();
    len = sizeof buf;
    zoo_wget(zh, ROOT "/w", watcher, "both", buf, &len, &st);
    zoo_wexists(zh, ROOT "/w", watcher, "both", &st);
    zoo_delete(other, ROOT "/w", -1);
    expect_true("data watch fires DELETED on delete", wait_event(zh, &mark, ZOO_DELETED_EVENT, ROOT "/w", "both", WAIT_MS),
                "no event");

    /* remove watches */
    mark = event_mark();
    len = sizeof buf;
    zoo_wget(zh, ROOT, watcher, "removed", buf, &len, &st);
    rc = zoo_remove_watches(zh, ROOT, ZWATCHTYPE_DATA, watcher, "removed", 0);
    expect_rc("remove_watches (data)", rc, ZOK);
    zoo_set(other, ROOT, "v4", 2, -1);
    usleep(300 * 1000);
    {
        int n = 0;
        pthread_mutex_lock(&ev_mu);
        for (int i = mark; i < nevents; i++)
            if (events[i].zh == zh && events[i].type == ZOO_CHANGED_EVENT) n++;
        pthread_mutex_unlock(&ev_mu);
        if (!expect_true("removed watch does not fire", n == 0, "%d CHANGED events", n)) dump_events(mark);
    }
    expect_rc("remove_watches with none left -> ZNOWATCHER",
              zoo_remove_watches(zh, ROOT, ZWATCHTYPE_DATA, watcher, "removed", 0), ZNOWATCHER);
}

#define KIDS_PREFIX "c2,cont,empty,eph,null,seq-0000000002,seq-0000000003,ttl,ttls-"
static void test_children_delete(zhandle_t *zh) {
    char kids[1024], buf[512];
    struct String_vector sv;
    struct Stat st;
    int rc;

    rc = children_sorted(zh, ROOT, kids, sizeof kids);
    if (expect_rc("get_children", rc, ZOK)) {
        /* ZooKeeper does not order children; compare sorted */
        expect_true("get_children (sorted) lists every child",
                    strncmp(kids, KIDS_PREFIX, strlen(KIDS_PREFIX)) == 0,
                    "got %s", kids);
    }
    memset(&sv, 0, sizeof sv);
    rc = zoo_get_children2(zh, ROOT, 0, &sv, &st);
    if (expect_rc("get_children2", rc, ZOK)) {
        expect_true("get_children2 stat numChildren matches", st.numChildren == sv.count && sv.count == 9,
                    "numChildren %d count %d", st.numChildren, sv.count);
        deallocate_String_vector(&sv);
    }
    memset(&sv, 0, sizeof sv);
    expect_rc("get_children of a missing node -> ZNONODE", zoo_get_children(zh, ROOT "/missing", 0, &sv), ZNONODE);
    rc = children_sorted(zh, ROOT "/c2", kids, sizeof kids);
    expect_true("get_children of a leaf is empty", rc == ZOK && kids[0] == 0, "rc %d kids %s", rc, kids);

    expect_rc("delete non-empty -> ZNOTEMPTY", zoo_delete(zh, ROOT, -1), ZNOTEMPTY);
    expect_rc("delete missing -> ZNONODE", zoo_delete(zh, ROOT "/missing", -1), ZNONODE);
    expect_rc("delete with a wrong version -> ZBADVERSION", zoo_delete(zh, ROOT "/c2", 5), ZBADVERSION);
    expect_rc("delete with the right version", zoo_delete(zh, ROOT "/c2", 0), ZOK);
    expect_rc("deleted node is gone", zoo_exists(zh, ROOT "/c2", 0, &st), ZNONODE);
    expect_rc("delete the root -> ZBADARGUMENTS", zoo_delete(zh, "/", -1), ZBADARGUMENTS);
    (void)buf;
}

static void test_multi(zhandle_t *zh) {
    zoo_op_t ops[5];
    zoo_op_result_t res[5];
    char p0[256], p1[256];
    struct Stat st1;
    int rc;

    zoo_create(zh, ROOT "/m", "m", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
    zoo_create(zh, ROOT "/m/old", "o", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
    memset(res, 0, sizeof res);
    zoo_create_op_init(&ops[0], ROOT "/m/a", "a", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, p0, sizeof p0);
    zoo_create_op_init(&ops[1], ROOT "/m/s-", "s", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_SEQUENCE, p1, sizeof p1);
    zoo_set_op_init(&ops[2], ROOT "/m/a", "a2", 2, 0, &st1);
    zoo_check_op_init(&ops[3], ROOT "/m", 0);
    zoo_delete_op_init(&ops[4], ROOT "/m/old", 0);
    rc = zoo_multi(zh, 5, ops, res);
    if (expect_rc("multi (create, create seq, set, check, delete)", rc, ZOK)) {
        int allok = 1;
        for (int i = 0; i < 5; i++) allok &= res[i].err == ZOK;
        expect_true("multi: every result ZOK", allok, "%d %d %d %d %d", res[0].err, res[1].err, res[2].err,
                    res[3].err, res[4].err);
        expect_str("multi: create result path", res[0].value, ROOT "/m/a");
        expect_true("multi: sequential create result path", res[1].value && seq_suffix_ok(res[1].value, ROOT "/m/s-"),
                    "%s", res[1].value ? res[1].value : "(null)");
        expect_true("multi: set result stat", st1.version == 1 && st1.dataLength == 2, "version %d dataLength %d",
                    st1.version, st1.dataLength);
    }
    struct Stat st;
    expect_rc("multi: delete applied", zoo_exists(zh, ROOT "/m/old", 0, &st), ZNONODE);

    /* failing multi: nothing applied; results OK / BADVERSION / RUNTIMEINCONSISTENCY */
    memset(res, 0, sizeof res);
    zoo_create_op_init(&ops[0], ROOT "/m/x", "x", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, p0, sizeof p0);
    zoo_check_op_init(&ops[1], ROOT "/m", 99);
    zoo_create_op_init(&ops[2], ROOT "/m/y", "y", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, p1, sizeof p1);
    rc = zoo_multi(zh, 3, ops, res);
    expect_rc("failing multi returns the failing op's error (ZBADVERSION)", rc, ZBADVERSION);
    expect_true("failing multi results: ZOK, ZBADVERSION, ZRUNTIMEINCONSISTENCY",
                res[0].err == ZOK && res[1].err == ZBADVERSION && res[2].err == ZRUNTIMEINCONSISTENCY,
                "%d %d %d", res[0].err, res[1].err, res[2].err);
    expect_rc("failing multi left nothing behind (x)", zoo_exists(zh, ROOT "/m/x", 0, &st), ZNONODE);
    expect_rc("failing multi left nothing behind (y)", zoo_exists(zh, ROOT "/m/y", 0, &st), ZNONODE);

    memset(res, 0, sizeof res);
    zoo_set_op_init(&ops[0], ROOT "/m/a", "zz", 2, -1, &st1);
    zoo_delete_op_init(&ops[1], ROOT "/m/missing", -1);
    rc = zoo_multi(zh, 2, ops, res);
    expect_rc("failing multi (delete missing) -> ZNONODE", rc, ZNONODE);
    expect_true("failing multi results: ZOK, ZNONODE", res[0].err == ZOK && res[1].err == ZNONODE, "%d %d",
                res[0].err, res[1].err);
    char buf[16];
    int len = sizeof buf;
    rc = zoo_get(zh, ROOT "/m/a", 0, buf, &len, &st);
    expect_true("failing multi did not apply the set", rc == ZOK && len == 2 && memcmp(buf, "a2", 2) == 0,
                "rc %d len %d", rc, len);
}

static void test_acl(zhandle_t *zh) {
    char buf[512];
    int len, rc;
    struct Stat st;
    struct ACL_vector acl;
    struct done d;

    /* creator ACL needs an authenticated identity */
    expect_rc("CREATOR_ALL_ACL without auth -> ZINVALIDACL",
              zoo_create(zh, ROOT "/secure", "s", 1, &ZOO_CREATOR_ALL_ACL, ZOO_PERSISTENT, buf, sizeof buf),
              ZINVALIDACL);

    zhandle_t *authed = connect_client("second client connects");
    if (!authed) return;
    done_init(&d);
    rc = zoo_add_auth(authed, "digest", "cuser:cpw", 9, void_done, &d);
    expect_rc("zoo_add_auth digest queued", rc, ZOK);
    expect_rc("zoo_add_auth digest completes with ZOK", done_wait(&d, WAIT_MS), ZOK);

    rc = zoo_create(authed, ROOT "/secure", "s", 1, &ZOO_CREATOR_ALL_ACL, ZOO_PERSISTENT, buf, sizeof buf);
    expect_rc("create with CREATOR_ALL_ACL after auth", rc, ZOK);
    memset(&acl, 0, sizeof acl);
    rc = zoo_get_acl(authed, ROOT "/secure", &acl, &st);
    if (expect_rc("get_acl", rc, ZOK)) {
        expect_true("ACL is digest " CUSER_DIGEST " with all perms",
                    acl.count == 1 && strcmp(acl.data[0].id.scheme, "digest") == 0 &&
                        strcmp(acl.data[0].id.id, CUSER_DIGEST) == 0 && acl.data[0].perms == ZOO_PERM_ALL,
                    "count %d first %s:%s perms %d", acl.count, acl.count ? acl.data[0].id.scheme : "",
                    acl.count ? acl.data[0].id.id : "", acl.count ? acl.data[0].perms : -1);
        expect_true("get_acl stat", st.aversion == 0 && st.dataLength == 1, "aversion %d", st.aversion);
        deallocate_ACL_vector(&acl);
    }
    len = sizeof buf;
    expect_rc("owner can read", zoo_get(authed, ROOT "/secure", 0, buf, &len, &st), ZOK);
    catch_up(zh, ROOT "/secure");
    len = sizeof buf;
    expect_rc("unauthenticated get -> ZNOAUTH", zoo_get(zh, ROOT "/secure", 0, buf, &len, &st), ZNOAUTH);
    expect_rc("unauthenticated set -> ZNOAUTH", zoo_set(zh, ROOT "/secure", "x", 1, -1), ZNOAUTH);
    expect_rc("unauthenticated create child -> ZNOAUTH",
              zoo_create(zh, ROOT "/secure/c", "c", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, buf, sizeof buf), ZNOAUTH);
    memset(&acl, 0, sizeof acl);
    expect_rc("unauthenticated get_acl -> ZNOAUTH", zoo_get_acl(zh, ROOT "/secure", &acl, &st), ZNOAUTH);
    /* ZOOKEEPER-2590: from 3.8.4 and 3.9.2 on, exists() checks READ on an existing node. */
    const char *checks_read = getenv("COMPAT_EXISTS_CHECKS_READ");
    if (checks_read && strcmp(checks_read, "1") == 0)
        expect_rc("unauthenticated exists -> ZNOAUTH (3.8.4+/3.9.2+)", zoo_exists(zh, ROOT "/secure", 0, &st), ZNOAUTH);
    else
        expect_rc("unauthenticated exists is allowed (before 3.8.4)", zoo_exists(zh, ROOT "/secure", 0, &st), ZOK);

    expect_rc("set_acl with a wrong version -> ZBADVERSION",
              zoo_set_acl(authed, ROOT "/secure", 3, &ZOO_READ_ACL_UNSAFE), ZBADVERSION);
    expect_rc("set_acl to world:anyone:r", zoo_set_acl(authed, ROOT "/secure", 0, &ZOO_READ_ACL_UNSAFE), ZOK);
    catch_up(zh, ROOT "/secure");
    len = sizeof buf;
    expect_rc("anyone can read now", zoo_get(zh, ROOT "/secure", 0, buf, &len, &st), ZOK);
    expect_true("aversion bumped by set_acl", st.aversion == 1, "aversion %d", st.aversion);
    expect_rc("read-only ACL: set -> ZNOAUTH", zoo_set(authed, ROOT "/secure", "x", 1, -1), ZNOAUTH);
    expect_rc("read-only ACL: set_acl without ADMIN -> ZNOAUTH",
              zoo_set_acl(authed, ROOT "/secure", -1, &ZOO_OPEN_ACL_UNSAFE), ZNOAUTH);
    expect_rc("delete needs DELETE on the parent only", zoo_delete(zh, ROOT "/secure", -1), ZOK);

    /* an unknown auth scheme fails the auth and the session */
    zhandle_t *bad = connect_client("third client connects");
    if (bad) {
        int mark = event_mark();
        done_init(&d);
        rc = zoo_add_auth(bad, "nosuchscheme", "x", 1, void_done, &d);
        expect_rc("zoo_add_auth with an unknown scheme completes with ZAUTHFAILED", done_wait(&d, WAIT_MS), ZAUTHFAILED);
        struct timespec ts;
        deadline_in(&ts, WAIT_MS);
        pthread_mutex_lock(&ev_mu);
        while (zoo_state(bad) != ZOO_AUTH_FAILED_STATE)
            if (pthread_cond_timedwait(&ev_cv, &ev_mu, &ts) == ETIMEDOUT) break;
        pthread_mutex_unlock(&ev_mu);
        if (!expect_true("handle goes to AUTH_FAILED state", zoo_state(bad) == ZOO_AUTH_FAILED_STATE, "state %d",
                         zoo_state(bad)))
            dump_events(mark);
        zookeeper_close(bad);
    }
    zookeeper_close(authed);
}

static void test_async_sync(zhandle_t *zh) {
    struct done d;
    done_init(&d);
    int rc = zoo_async(zh, ROOT, string_done, &d);
    expect_rc("zoo_async (sync) queued", rc, ZOK);
    expect_rc("sync completes with ZOK", done_wait(&d, WAIT_MS), ZOK);
}

static void test_close(zhandle_t *zh) {
    char buf[256];
    struct Stat st;
    zhandle_t *tmp = connect_client("fourth client connects");
    if (!tmp) return;
    zoo_create(tmp, ROOT "/tmp-eph", "e", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, buf, sizeof buf);
    catch_up(zh, ROOT);
    expect_rc("fourth client's ephemeral exists", zoo_exists(zh, ROOT "/tmp-eph", 0, &st), ZOK);
    expect_rc("zookeeper_close", zookeeper_close(tmp), ZOK);
    catch_up(zh, ROOT);
    expect_rc("its ephemeral is gone right after close", zoo_exists(zh, ROOT "/tmp-eph", 0, &st), ZNONODE);
}

/* Wait until zh has gone through a disconnect and is CONNECTED again (session events after mark). */
static int wait_reconnected(zhandle_t *zh, int mark, int ms) {
    struct timespec ts;
    int saw_disconnect = 0, ok = 0;
    deadline_in(&ts, ms);
    pthread_mutex_lock(&ev_mu);
    for (;;) {
        for (int i = mark; i < nevents; i++) {
            struct event *e = &events[i];
            if (e->zh != zh || e->type != ZOO_SESSION_EVENT) continue;
            if (e->state == ZOO_CONNECTING_STATE || e->state == ZOO_ASSOCIATING_STATE) saw_disconnect = 1;
            if (saw_disconnect && e->state == ZOO_CONNECTED_STATE) ok = 1;
        }
        if (ok || pthread_cond_timedwait(&ev_cv, &ev_mu, &ts) == ETIMEDOUT) break;
    }
    pthread_mutex_unlock(&ev_mu);
    return ok;
}

/* The number of zh's session events after mark. */
static int session_events(zhandle_t *zh, int mark) {
    int n = 0;
    pthread_mutex_lock(&ev_mu);
    for (int i = mark; i < nevents; i++)
        if (events[i].zh == zh && events[i].type == ZOO_SESSION_EVENT) n++;
    pthread_mutex_unlock(&ev_mu);
    return n;
}

/* Wait until zh has reconnected and then stayed connected for SETTLE_MS. While a restarted
 * ensemble elects, a member may take a client and drop it again (Apache ZooKeeper's do too):
 * any number of disconnect/reconnect rounds pass, as long as the last leaves it connected. */
#define SETTLE_MS 3000
static int wait_settled(zhandle_t *zh, int mark, int ms) {
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    if (!wait_reconnected(zh, mark, ms)) return 0;
    for (;;) {
        int before = session_events(zh, mark);
        usleep(SETTLE_MS * 1000);
        if (session_events(zh, mark) == before && zoo_state(zh) == ZOO_CONNECTED_STATE) return 1;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - start.tv_sec) * 1000 > ms) return 0;
        int again = event_mark();
        if (zoo_state(zh) != ZOO_CONNECTED_STATE && !wait_reconnected(zh, again, ms)) return 0;
    }
}

/* Restart the server (same port and data) under a live session: the session, its ephemerals
 * and its watches (re-sent by the C client as SetWatches, opcode 101) must survive. */
static void test_restart(zhandle_t *zh, zhandle_t *other) {
    const char *cmd = getenv("COMPAT_RESTART_CMD");
    char buf[512];
    int len, rc;
    struct Stat st;
    struct String_vector sv;
    if (!cmd || !*cmd) {
        printf("SKIP  server restart (COMPAT_RESTART_CMD is not set)\n");
        return;
    }
    int64_t sid = zoo_client_id(zh)->client_id;
    zoo_create(zh, ROOT "/rs", "x", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
    zoo_create(zh, ROOT "/rs/eph", "e", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, NULL, 0);
    int mark = event_mark();
    len = sizeof buf;
    expect_rc("restart: wget before the restart", zoo_wget(zh, ROOT "/rs", watcher, "rs-data", buf, &len, &st), ZOK);
    memset(&sv, 0, sizeof sv);
    rc = zoo_wget_children(zh, ROOT "/rs", watcher, "rs-child", &sv);
    if (expect_rc("restart: wget_children before the restart", rc, ZOK)) deallocate_String_vector(&sv);
    expect_rc("restart: wexists on a missing node before the restart",
              zoo_wexists(zh, ROOT "/rs/new", watcher, "rs-exists", &st), ZNONODE);

    fflush(stdout);
    rc = system(cmd);
    if (!expect_true("restart: server restarted", rc == 0, "`%s` exited with %d", cmd, rc)) return;
    if (!expect_true("restart: client reconnects", wait_settled(zh, mark, 60000), "not connected for 3 s within 60 s")) {
        dump_events(mark);
        return;
    }
    expect_true("restart: same session after reconnect", zoo_client_id(zh)->client_id == sid,
                "0x%llx, was 0x%llx", (long long)zoo_client_id(zh)->client_id, (long long)sid);
    expect_true("restart: other client reconnects too", wait_settled(other, mark, 60000),
                "not connected for 3 s within 60 s");
    catch_up(other, ROOT "/rs");
    rc = zoo_exists(other, ROOT "/rs/eph", 0, &st);
    expect_true("restart: ephemeral survived with its owner", rc == ZOK && st.ephemeralOwner == sid,
                "rc %d owner 0x%llx", rc, (long long)st.ephemeralOwner);

    int m2 = event_mark();
    expect_rc("restart: set by the other client", zoo_set(other, ROOT "/rs", "y", 1, -1), ZOK);
    expect_true("restart: data watch re-registered (SetWatches)",
                wait_event(zh, &m2, ZOO_CHANGED_EVENT, ROOT "/rs", "rs-data", WAIT_MS), "no CHANGED event");
    m2 = event_mark();
    expect_rc("restart: create by the other client",
              zoo_create(other, ROOT "/rs/new", "n", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0), ZOK);
    int m3 = m2;
    expect_true("restart: exists watch re-registered (SetWatches)",
                wait_event(zh, &m2, ZOO_CREATED_EVENT, ROOT "/rs/new", "rs-exists", WAIT_MS), "no CREATED event");
    expect_true("restart: child watch re-registered (SetWatches)",
                wait_event(zh, &m3, ZOO_CHILD_EVENT, ROOT "/rs", "rs-child", WAIT_MS), "no CHILD event");
}

static void cleanup(zhandle_t *zh, const char *path) {
    struct String_vector sv;
    char child[512];
    memset(&sv, 0, sizeof sv);
    if (zoo_get_children(zh, path, 0, &sv) == ZOK) {
        for (int i = 0; i < sv.count; i++) {
            snprintf(child, sizeof child, "%s/%s", path, sv.data[i]);
            cleanup(zh, child);
        }
        deallocate_String_vector(&sv);
    }
    zoo_delete(zh, path, -1);
}

int main(int argc, char **argv) {
    struct Stat st;
    if (argc < 2) {
        fprintf(stderr, "usage: %s HOST:PORT [budget-seconds]\n", argv[0]);
        return 2;
    }
    hosts = argv[1];
    signal(SIGALRM, on_alarm);
    alarm(argc > 2 ? atoi(argv[2]) : 60);
    zoo_set_debug_level(ZOO_LOG_LEVEL_WARN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    struct timeval t0, t1;
    gettimeofday(&t0, NULL);
    zhandle_t *zh = connect_client("connect");
    zhandle_t *other = connect_client("connect another client");
    if (!zh || !other || zoo_state(zh) != ZOO_CONNECTED_STATE || zoo_state(other) != ZOO_CONNECTED_STATE) {
        printf("cclient: cannot connect to %s\n", hosts);
        return 1;
    }
    const clientid_t *cid = zoo_client_id(zh);
    expect_true("session id is non-zero", cid->client_id != 0, "0");
    int to = zoo_recv_timeout(zh);
    expect_true("negotiated session timeout 10000 ms", to == 10000, "got %d", to);
    if (zoo_exists(zh, ROOT, 0, &st) != ZNONODE) {
        printf("FAIL  fresh server: %s already exists\n", ROOT);
        return 1;
    }

    test_create(zh);
    test_get_set(zh);
    test_watches(zh, other);
    test_children_delete(zh);
    test_multi(zh);
    test_acl(zh);
    test_async_sync(zh);
    test_close(zh);
    test_restart(zh, other);

    /* zh may have reconnected to another member during the restart: bring that member up to
     * date with the other client's writes before listing what to delete. */
    catch_up(zh, ROOT);
    cleanup(zh, ROOT);
    expect_rc("cleanup removed " ROOT, zoo_exists(zh, ROOT, 0, &st), ZNONODE);
    expect_rc("close another client", zookeeper_close(other), ZOK);
    expect_rc("close", zookeeper_close(zh), ZOK);

    gettimeofday(&t1, NULL);
    printf("cclient: %d passed, %d failed (%.1fs)\n", passes, failures,
           (t1.tv_sec - t0.tv_sec) + (t1.tv_usec - t0.tv_usec) / 1e6);
    for (int i = 0; i < failures && i < 64; i++) printf("  failed: %s\n", failed_names[i]);
    return failures ? 1 : 0;
}

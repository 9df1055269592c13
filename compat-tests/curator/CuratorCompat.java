// Apache Curator 5.4 (Debian's libcurator-*-java) recipes against one ZooKeeper-protocol server.
//
//   java -cp <classes>:<curator and zookeeper jars> CuratorCompat HOST:PORT
//
// Prints one "PASS name" / "FAIL name: detail" line per check and exits 1 if any check failed
// (2 if the global watchdog fired). Every wait is bounded. The expectations hold against
// Apache ZooKeeper 3.8 with extendedTypesEnabled=true (TTL nodes).

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.api.transaction.CuratorOp;
import org.apache.curator.framework.api.transaction.CuratorTransactionResult;
import org.apache.curator.framework.api.transaction.OperationType;
import org.apache.curator.framework.recipes.atomic.AtomicValue;
import org.apache.curator.framework.recipes.atomic.DistributedAtomicLong;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
import org.apache.curator.framework.recipes.locks.Lease;
import org.apache.curator.framework.recipes.nodes.PersistentNode;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.curator.retry.RetryNTimes;
import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.server.auth.DigestAuthenticationProvider;
import org.apache.zookeeper.data.Stat;

public class CuratorCompat {
    static final String ROOT = "/curator";
    static final long WAIT_S = 15;
    static int passes = 0;
    static final List<String> failures = new ArrayList<>();
    static String hosts;

    interface Check {
        void run() throws Exception;
    }

    static synchronized void pass(String name) {
        passes++;
        System.out.println("PASS  " + name);
    }

    static synchronized void fail(String name, String detail) {
        failures.add(name);
        System.out.println("FAIL  " + name + ": " + detail);
    }

    static void check(boolean ok, String name, String detail) {
        if (ok) pass(name); else fail(name, detail);
    }

    static <T> void eq(T got, T want, String name) {
        check(want == null ? got == null : want.equals(got), name, "got " + got + ", want " + want);
    }

    /** Run one group of checks; an exception fails the group and the run goes on. */
    static void group(String name, Check body) {
        System.out.println("--- " + name);
        long t0 = System.nanoTime();
        try {
            body.run();
        } catch (Throwable t) {
            fail(name, "exception " + t);
            t.printStackTrace(System.out);
        }
        System.out.printf("    (%s: %.1fs)%n", name, (System.nanoTime() - t0) / 1e9);
    }

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String s(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    static CuratorFramework newClient() throws InterruptedException {
        CuratorFramework c = CuratorFrameworkFactory.builder()
                .connectString(hosts)
                .sessionTimeoutMs(10000)
                .connectionTimeoutMs(5000)
                .retryPolicy(new ExponentialBackoffRetry(100, 3))
                .build();
        c.start();
        if (!c.blockUntilConnected((int) WAIT_S, TimeUnit.SECONDS)) {
            throw new IllegalStateException("client did not connect to " + hosts + " within " + WAIT_S + "s");
        }
        return c;
    }

    static long sessionId(CuratorFramework c) throws Exception {
        return c.getZookeeperClient().getZooKeeper().getSessionId();
    }

    static Stat waitExists(CuratorFramework c, String path, boolean exists) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_S);
        while (true) {
            Stat st = c.checkExists().forPath(path);
            if ((st != null) == exists || System.nanoTime() > deadline) return st;
            Thread.sleep(20);
        }
    }

    /** One check whose exception fails only that check. */
    static void attempt(String name, Check body) {
        try {
            body.run();
        } catch (Throwable t) {
            fail(name, "exception " + t);
        }
    }

    @SuppressWarnings("unchecked")
    static <E extends Throwable> E expectThrows(Class<E> type, String name, Check body) {
        try {
            body.run();
            fail(name, "no exception, expected " + type.getSimpleName());
        } catch (Throwable t) {
            if (type.isInstance(t)) {
                pass(name);
                return (E) t;
            }
            fail(name, "got " + t + ", expected " + type.getSimpleName());
        }
        return null;
    }

    public static void main(String[] args) throws Exception {
        hosts = args[0];
        long budget = args.length > 1 ? Long.parseLong(args[1]) : 90;
        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep(TimeUnit.SECONDS.toMillis(budget));
                System.out.println("FAIL  watchdog: whole run exceeded " + budget + "s");
                System.out.flush();
                Runtime.getRuntime().halt(2);
            } catch (InterruptedException e) {
                // finished in time
            }
        });
        watchdog.setDaemon(true);
        watchdog.start();
        long t0 = System.nanoTime();

        CuratorFramework c1 = newClient();
        CuratorFramework c2 = newClient();
        pass("two clients connected to " + hosts);
        if (c1.checkExists().forPath(ROOT) != null) {
            fail("fresh server", ROOT + " already exists; this program expects a fresh server");
            Runtime.getRuntime().halt(1);
        }

        group("crud", () -> crud(c1, c2));
        group("transactions", () -> transactions(c1));
        group("ttl and container nodes", () -> ttlAndContainer(c1));
        group("CuratorCache", () -> cache(c1, c2));
        group("ACLs, watchers, sync", () -> aclWatchSync(c1, c2));
        group("InterProcessMutex", () -> mutex(c1, c2));
        group("InterProcessSemaphoreV2", () -> semaphore(c1, c2));
        group("LeaderLatch", () -> leaderLatch(c1, c2));
        group("DistributedAtomicLong", () -> atomicLong(c1, c2));
        group("PersistentNode", () -> persistentNode(c1, c2));
        group("session close removes ephemerals", () -> sessionClose(c1, c2));

        group("cleanup", () -> {
            c1.delete().deletingChildrenIfNeeded().forPath(ROOT);
            eq(c1.checkExists().forPath(ROOT), null, "cleanup: delete().deletingChildrenIfNeeded() of " + ROOT);
        });
        c1.close();

        System.out.printf("curator: %d passed, %d failed (%.1fs)%n", passes, failures.size(),
                (System.nanoTime() - t0) / 1e9);
        for (String f : failures) System.out.println("  failed: " + f);
        System.out.flush();
        Runtime.getRuntime().halt(failures.isEmpty() ? 0 : 1);
    }

    // --- CuratorFramework CRUD --------------------------------------------------------------
    static void crud(CuratorFramework c1, CuratorFramework c2) throws Exception {
        String base = ROOT + "/crud";
        String deep = base + "/a/b/c";
        String created = c1.create().creatingParentContainersIfNeeded().forPath(deep, b("deep"));
        eq(created, deep, "create().creatingParentContainersIfNeeded() returns the path");
        check(c1.checkExists().forPath(base + "/a/b") != null, "parents were created", "missing parent");
        syncNow(c2, deep);
        eq(s(c2.getData().forPath(deep)), "deep", "getData from another client");

        Stat st = new Stat();
        c1.getData().storingStatIn(st).forPath(deep);
        eq(st.getVersion(), 0, "new node has version 0");
        eq(st.getDataLength(), 4, "dataLength");
        eq(st.getEphemeralOwner(), 0L, "persistent node has no ephemeralOwner");

        Stat created2 = new Stat();
        c1.create().storingStatIn(created2).forPath(base + "/withstat", b("x"));
        check(created2.getCzxid() > 0 && created2.getCzxid() == created2.getMzxid(),
                "create2 returns the new node's stat", "stat " + created2);

        Stat set = c1.setData().withVersion(0).forPath(deep, b("v1"));
        eq(set.getVersion(), 1, "setData().withVersion(0) bumps the version");
        expectThrows(KeeperException.BadVersionException.class,
                "setData().withVersion(stale) -> BadVersion", () -> c1.setData().withVersion(0).forPath(deep, b("v2")));
        eq(s(c1.getData().forPath(deep)), "v1", "data unchanged after BadVersion");
        expectThrows(KeeperException.NodeExistsException.class, "create existing -> NodeExists",
                () -> c1.create().forPath(deep));
        expectThrows(KeeperException.NoNodeException.class, "create without parent -> NoNode",
                () -> c1.create().forPath(base + "/nope/x"));
        expectThrows(KeeperException.NoNodeException.class, "getData missing -> NoNode",
                () -> c1.getData().forPath(base + "/missing"));
        expectThrows(KeeperException.NotEmptyException.class, "delete non-empty -> NotEmpty",
                () -> c1.delete().forPath(base + "/a"));
        expectThrows(KeeperException.BadVersionException.class, "delete().withVersion(wrong) -> BadVersion",
                () -> c1.delete().withVersion(7).forPath(deep));

        String seqPrefix = base + "/es-";
        String e1 = c1.create().withMode(CreateMode.EPHEMERAL_SEQUENTIAL).forPath(seqPrefix, b("e"));
        String e2 = c1.create().withMode(CreateMode.EPHEMERAL_SEQUENTIAL).forPath(seqPrefix, b("e"));
        check(e1.matches("\\Q" + seqPrefix + "\\E\\d{10}"), "EPHEMERAL_SEQUENTIAL path has a 10-digit suffix", e1);
        check(Long.parseLong(e2.substring(seqPrefix.length())) > Long.parseLong(e1.substring(seqPrefix.length())),
                "sequence numbers increase", e1 + " then " + e2);
        syncNow(c2, base);
        Stat es = c2.checkExists().forPath(e1);
        check(es != null && es.getEphemeralOwner() == sessionId(c1),
                "ephemeral's owner is the creating session", "stat " + es + " session " + Long.toHexString(sessionId(c1)));
        expectThrows(KeeperException.NoChildrenForEphemeralsException.class,
                "child of an ephemeral -> NoChildrenForEphemerals", () -> c1.create().forPath(e1 + "/child"));

        List<String> kids = new ArrayList<>(c2.getChildren().forPath(base));
        Collections.sort(kids);
        eq(kids, Arrays.asList("a", e1.substring(base.length() + 1), e2.substring(base.length() + 1), "withstat"),
                "getChildren (sorted)");

        c1.delete().withVersion(1).forPath(deep);
        eq(c1.checkExists().forPath(deep), null, "delete().withVersion(current)");
        c1.delete().deletingChildrenIfNeeded().forPath(base);
        eq(c1.checkExists().forPath(base), null, "delete().deletingChildrenIfNeeded() removes the subtree");
        c1.delete().quietly().forPath(base + "/gone");
        pass("delete().quietly() of a missing node");
        c1.create().forPath(ROOT + "/guaranteed");
        c1.delete().guaranteed().forPath(ROOT + "/guaranteed");
        eq(c1.checkExists().forPath(ROOT + "/guaranteed"), null, "delete().guaranteed()");
    }

    // --- transactions (multi) -----------------------------------------------------------------
    static void transactions(CuratorFramework c) throws Exception {
        String base = ROOT + "/txn";
        c.create().creatingParentsIfNeeded().forPath(base);
        c.create().forPath(base + "/existing", b("e"));
        List<CuratorOp> ops = Arrays.asList(
                c.transactionOp().create().forPath(base + "/a", b("1")),
                c.transactionOp().create().withMode(CreateMode.PERSISTENT_SEQUENTIAL).forPath(base + "/s-", b("2")),
                c.transactionOp().setData().withVersion(0).forPath(base + "/a", b("3")),
                c.transactionOp().check().withVersion(0).forPath(base + "/existing"),
                c.transactionOp().delete().forPath(base + "/existing"));
        List<CuratorTransactionResult> res = c.transaction().forOperations(ops);
        eq(res.size(), 5, "transaction: one result per op");
        if (res.size() == 5) {
            eq(res.get(0).getType(), OperationType.CREATE, "txn result 0 type");
            eq(res.get(0).getResultPath(), base + "/a", "txn result 0 path");
            check(res.get(1).getResultPath() != null && res.get(1).getResultPath().matches("\\Q" + base + "/s-\\E\\d{10}"),
                    "txn sequential create returns the sequential path", "" + res.get(1).getResultPath());
            eq(res.get(2).getType(), OperationType.SET_DATA, "txn result 2 type");
            check(res.get(2).getResultStat() != null && res.get(2).getResultStat().getVersion() == 1,
                    "txn setData returns the new stat", "" + res.get(2).getResultStat());
            eq(res.get(3).getType(), OperationType.CHECK, "txn result 3 type");
            eq(res.get(4).getType(), OperationType.DELETE, "txn result 4 type");
            for (int i = 0; i < 5; i++) eq(res.get(i).getError(), 0, "txn result " + i + " error is 0");
        }
        eq(s(c.getData().forPath(base + "/a")), "3", "transaction applied all ops");
        eq(c.checkExists().forPath(base + "/existing"), null, "transaction delete applied");

        // A failing transaction: nothing is applied, and each op reports its own result.
        List<CuratorOp> bad = Arrays.asList(
                c.transactionOp().create().forPath(base + "/b", b("x")),
                c.transactionOp().setData().withVersion(99).forPath(base + "/a", b("y")),
                c.transactionOp().create().forPath(base + "/c", b("z")));
        KeeperException.BadVersionException e = expectThrows(KeeperException.BadVersionException.class,
                "failing transaction throws the failing op's error (BadVersion)", () -> c.transaction().forOperations(bad));
        if (e != null) {
            List<OpResult> r = e.getResults();
            List<Integer> codes = new ArrayList<>();
            if (r != null) for (OpResult o : r) codes.add(o instanceof OpResult.ErrorResult ? ((OpResult.ErrorResult) o).getErr() : 999);
            eq(codes, Arrays.asList(0, KeeperException.Code.BADVERSION.intValue(),
                    KeeperException.Code.RUNTIMEINCONSISTENCY.intValue()),
                    "failed multi results: OK / BADVERSION / RUNTIMEINCONSISTENCY");
        }
        eq(c.checkExists().forPath(base + "/b"), null, "failing transaction left nothing behind (b)");
        eq(c.checkExists().forPath(base + "/c"), null, "failing transaction left nothing behind (c)");
        eq(s(c.getData().forPath(base + "/a")), "3", "failing transaction did not change a");

        List<CuratorOp> badCheck = Arrays.asList(
                c.transactionOp().create().forPath(base + "/d", b("x")),
                c.transactionOp().check().withVersion(42).forPath(base + "/a"));
        expectThrows(KeeperException.BadVersionException.class, "transaction with a failing check -> BadVersion",
                () -> c.transaction().forOperations(badCheck));
        eq(c.checkExists().forPath(base + "/d"), null, "failing check left nothing behind");
        List<CuratorOp> noNode = Arrays.asList(
                c.transactionOp().delete().forPath(base + "/missing"));
        expectThrows(KeeperException.NoNodeException.class, "transaction deleting a missing node -> NoNode",
                () -> c.transaction().forOperations(noNode));
    }

    // --- TTL and container nodes ----------------------------------------------------------------
    static void ttlAndContainer(CuratorFramework c) throws Exception {
        String base = ROOT + "/ttl";
        c.create().creatingParentsIfNeeded().forPath(base);
        String p = c.create().withTtl(60000).withMode(CreateMode.PERSISTENT_WITH_TTL).forPath(base + "/t", b("ttl"));
        eq(p, base + "/t", "create PERSISTENT_WITH_TTL");
        Stat st = c.checkExists().forPath(p);
        check(st != null && st.getEphemeralOwner() == 0, "TTL node exists; clients see ephemeralOwner 0", "" + st);
        eq(s(c.getData().forPath(p)), "ttl", "TTL node data");
        String sp = c.create().withTtl(60000).withMode(CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL).forPath(base + "/ts-", b("x"));
        check(sp.matches("\\Q" + base + "/ts-\\E\\d{10}"), "create PERSISTENT_SEQUENTIAL_WITH_TTL", sp);
        c.create().withTtl(60000).withMode(CreateMode.PERSISTENT_WITH_TTL).forPath(base + "/t/child", b("c"));
        pass("TTL node can have children");

        String cont = ROOT + "/container";
        eq(c.create().withMode(CreateMode.CONTAINER).forPath(cont, b("c")), cont, "create CONTAINER");
        c.create().forPath(cont + "/child");
        Stat cs = c.checkExists().forPath(cont);
        check(cs != null && cs.getNumChildren() == 1 && cs.getEphemeralOwner() == 0,
                "container with a child; clients see ephemeralOwner 0", "" + cs);
        c.delete().forPath(cont + "/child");
        c.delete().forPath(cont);
        eq(c.checkExists().forPath(cont), null, "container can be deleted explicitly");
        c.create().creatingParentContainersIfNeeded().forPath(ROOT + "/cparent/x/leaf");
        check(c.checkExists().forPath(ROOT + "/cparent/x") != null, "creatingParentContainersIfNeeded made the parents", "missing");
    }

    // --- CuratorCache ---------------------------------------------------------------------------
    static void cache(CuratorFramework c1, CuratorFramework c2) throws Exception {
        String base = ROOT + "/cache";
        c2.create().creatingParentsIfNeeded().forPath(base + "/pre", b("p"));
        syncNow(c1, base);
        BlockingQueue<String> events = new LinkedBlockingQueue<>();
        CountDownLatch initialized = new CountDownLatch(1);
        CuratorCacheListener listener = CuratorCacheListener.builder()
                .forCreates(n -> events.add("CREATED " + n.getPath() + " " + s(n.getData())))
                .forChanges((o, n) -> events.add("CHANGED " + n.getPath() + " " + s(o.getData()) + "->" + s(n.getData())))
                .forDeletes(o -> events.add("DELETED " + o.getPath()))
                .forInitialized(initialized::countDown)
                .build();
        try (CuratorCache cache = CuratorCache.build(c1, base)) {
            cache.listenable().addListener(listener);
            cache.start();
            check(initialized.await(WAIT_S, TimeUnit.SECONDS), "CuratorCache initialized", "no initialized event");
            Set<String> initial = new HashSet<>();
            events.drainTo(initial);
            eq(initial, new HashSet<>(Arrays.asList("CREATED " + base + " ", "CREATED " + base + "/pre p")),
                    "CuratorCache initial creates");
            eq(cache.get(base + "/pre").map(d -> s(d.getData())).orElse(null), "p", "CuratorCache.get");

            c2.create().forPath(base + "/a", b("1"));
            eq(events.poll(WAIT_S, TimeUnit.SECONDS), "CREATED " + base + "/a 1", "CuratorCache sees create");
            c2.setData().forPath(base + "/a", b("2"));
            eq(events.poll(WAIT_S, TimeUnit.SECONDS), "CHANGED " + base + "/a 1->2", "CuratorCache sees change");
            c2.create().forPath(base + "/a/deep", b("d"));
            eq(events.poll(WAIT_S, TimeUnit.SECONDS), "CREATED " + base + "/a/deep d", "CuratorCache sees a grandchild");
            c2.setData().forPath(base + "/a/deep", b("e"));
            eq(events.poll(WAIT_S, TimeUnit.SECONDS), "CHANGED " + base + "/a/deep d->e", "CuratorCache sees a grandchild change");
            c2.delete().forPath(base + "/a/deep");
            eq(events.poll(WAIT_S, TimeUnit.SECONDS), "DELETED " + base + "/a/deep", "CuratorCache sees a grandchild delete");
            c2.delete().forPath(base + "/a");
            eq(events.poll(WAIT_S, TimeUnit.SECONDS), "DELETED " + base + "/a", "CuratorCache sees delete");
            c2.setData().forPath(base, b("root"));
            eq(events.poll(WAIT_S, TimeUnit.SECONDS), "CHANGED " + base + " ->root", "CuratorCache sees its root change");
            String extra = events.poll(300, TimeUnit.MILLISECONDS);
            eq(extra, null, "CuratorCache: no unexpected events");
            eq(cache.size(), 2, "CuratorCache size");
        }
    }

    // --- ACLs with digest auth, watchers (one-shot and persistent), sync -------------------------
    static void aclWatchSync(CuratorFramework c1, CuratorFramework c2) throws Exception {
        String base = ROOT + "/misc";
        c1.create().creatingParentsIfNeeded().forPath(base);
        String digest = DigestAuthenticationProvider.generateDigest("alice:secret");
        List<ACL> acls = Collections.singletonList(new ACL(ZooDefs.Perms.ALL, new Id("digest", digest)));
        CuratorFramework alice = CuratorFrameworkFactory.builder().connectString(hosts)
                .sessionTimeoutMs(10000).connectionTimeoutMs(5000)
                .retryPolicy(new ExponentialBackoffRetry(100, 3))
                .authorization("digest", b("alice:secret")).build();
        alice.start();
        try {
            check(alice.blockUntilConnected((int) WAIT_S, TimeUnit.SECONDS), "client with digest auth connects", "timeout");
            alice.create().withACL(acls).forPath(base + "/private", b("mine"));
            eq(s(alice.getData().forPath(base + "/private")), "mine", "owner reads its digest-protected node");
            eq(alice.getACL().forPath(base + "/private"), acls, "getACL returns the digest ACL");
            syncNow(c2, base + "/private");
            expectThrows(KeeperException.NoAuthException.class, "other client: getData -> NoAuth",
                    () -> c2.getData().forPath(base + "/private"));
            expectThrows(KeeperException.NoAuthException.class, "other client: setData -> NoAuth",
                    () -> c2.setData().forPath(base + "/private", b("x")));
            if ("1".equals(System.getenv("COMPAT_EXISTS_CHECKS_READ"))) {
                // ZOOKEEPER-2590: from 3.8.4 and 3.9.2 on, exists() checks READ.
                expectThrows(KeeperException.NoAuthException.class, "other client: checkExists -> NoAuth (3.8.4+/3.9.2+)",
                        () -> c2.checkExists().forPath(base + "/private"));
            } else {
                attempt("other client: checkExists needs no permission", () -> {
                    Stat ps = c2.checkExists().forPath(base + "/private");
                    check(ps != null && ps.getDataLength() == 4, "other client: checkExists needs no permission", "" + ps);
                });
            }
            Stat st = alice.setACL().withVersion(0).withACL(ZooDefs.Ids.OPEN_ACL_UNSAFE).forPath(base + "/private");
            eq(st.getAversion(), 1, "setACL().withVersion(0) bumps aversion");
            syncNow(c2, base + "/private");
            eq(s(c2.getData().forPath(base + "/private")), "mine", "readable by all after setACL");
            expectThrows(KeeperException.InvalidACLException.class, "create with an empty ACL list -> InvalidACL",
                    () -> c1.create().withACL(Collections.emptyList()).forPath(base + "/noacl"));
        } finally {
            alice.close();
        }

        BlockingQueue<String> events = new LinkedBlockingQueue<>();
        Watcher w = (WatchedEvent e) -> events.add(e.getType() + " " + e.getPath());
        c1.getChildren().usingWatcher(w).forPath(base);
        c2.create().forPath(base + "/kid");
        eq(events.poll(WAIT_S, TimeUnit.SECONDS), "NodeChildrenChanged " + base, "getChildren watch fires");
        c1.getData().usingWatcher(w).forPath(base + "/kid");
        c2.setData().forPath(base + "/kid", b("v"));
        eq(events.poll(WAIT_S, TimeUnit.SECONDS), "NodeDataChanged " + base + "/kid", "getData watch fires");
        c2.setData().forPath(base + "/kid", b("v2"));
        eq(events.poll(300, TimeUnit.MILLISECONDS), null, "one-shot watch does not fire twice");

        Watcher pw = (WatchedEvent e) -> events.add("P " + e.getType() + " " + e.getPath());
        c1.watchers().add().withMode(AddWatchMode.PERSISTENT).usingWatcher(pw).forPath(base + "/kid");
        c2.setData().forPath(base + "/kid", b("p1"));
        eq(events.poll(WAIT_S, TimeUnit.SECONDS), "P NodeDataChanged " + base + "/kid", "persistent watch fires");
        c2.setData().forPath(base + "/kid", b("p2"));
        eq(events.poll(WAIT_S, TimeUnit.SECONDS), "P NodeDataChanged " + base + "/kid", "persistent watch fires again");
        c1.watchers().remove(pw).forPath(base + "/kid");
        eq(events.poll(WAIT_S, TimeUnit.SECONDS), "P PersistentWatchRemoved " + base + "/kid", "watchers().remove() of a persistent watch");
        c2.setData().forPath(base + "/kid", b("p3"));
        eq(events.poll(300, TimeUnit.MILLISECONDS), null, "removed watch does not fire");

        CountDownLatch synced = new CountDownLatch(1);
        int[] rc = {-1};
        c1.sync().inBackground((cl, ev) -> { rc[0] = ev.getResultCode(); synced.countDown(); }).forPath(base);
        check(synced.await(WAIT_S, TimeUnit.SECONDS) && rc[0] == 0, "sync() completes with OK", "rc " + rc[0]);

        byte[] config = c1.getConfig().forEnsemble();
        if ("1".equals(System.getenv("COMPAT_ENSEMBLE"))) {
            String text = config == null ? "" : new String(config, StandardCharsets.UTF_8);
            check(text.startsWith("server.1=") && text.contains("\nserver.3=") && text.endsWith("\nversion=0"),
                    "getConfig on an ensemble: its server.N lines and version", text);
        } else {
            eq(config == null ? -1 : config.length, 0, "getConfig on a standalone server: empty");
        }
        eq(c1.getZookeeperClient().getZooKeeper().getAllChildrenNumber(base), 2, "getAllChildrenNumber");
        c1.create().withMode(CreateMode.EPHEMERAL).forPath(base + "/eph");
        eq(c1.getZookeeperClient().getZooKeeper().getEphemerals(base), Collections.singletonList(base + "/eph"),
                "getEphemerals(prefix)");
    }

    // --- InterProcessSemaphoreV2 ------------------------------------------------------------------
    static void semaphore(CuratorFramework c1, CuratorFramework c2) throws Exception {
        String path = ROOT + "/semaphore";
        InterProcessSemaphoreV2 s1 = new InterProcessSemaphoreV2(c1, path, 2);
        InterProcessSemaphoreV2 s2 = new InterProcessSemaphoreV2(c2, path, 2);
        Lease a = s1.acquire(WAIT_S, TimeUnit.SECONDS);
        Lease b = s2.acquire(WAIT_S, TimeUnit.SECONDS);
        check(a != null && b != null, "two leases of a 2-lease semaphore", a + " " + b);
        eq(s2.acquire(300, TimeUnit.MILLISECONDS), null, "a third lease times out");
        s1.returnLease(a);
        Lease c = s2.acquire(WAIT_S, TimeUnit.SECONDS);
        check(c != null, "a lease is available again after one is returned", "null");
        s2.returnLease(b);
        s2.returnLease(c);
        syncNow(c1, path);
        eq(s1.getParticipantNodes().size(), 0, "no participants after every lease is returned");
    }

    // --- InterProcessMutex ------------------------------------------------------------------------
    static void mutex(CuratorFramework c1, CuratorFramework c2) throws Exception {
        String path = ROOT + "/locks/m";
        InterProcessMutex m1 = new InterProcessMutex(c1, path);
        InterProcessMutex m2 = new InterProcessMutex(c2, path);
        check(m1.acquire(WAIT_S, TimeUnit.SECONDS), "client 1 acquires the free mutex", "timed out");
        ExecutorService pool = Executors.newFixedThreadPool(2);
        // InterProcessMutex belongs to the thread that acquired it: client 2 uses one thread here.
        ExecutorService t2 = Executors.newSingleThreadExecutor();
        try {
            Future<Boolean> blocked = t2.submit(() -> m2.acquire(500, TimeUnit.MILLISECONDS));
            eq(blocked.get(WAIT_S, TimeUnit.SECONDS), false, "client 2 cannot acquire while client 1 holds it");
            Future<Boolean> waiting = t2.submit(() -> m2.acquire(WAIT_S, TimeUnit.SECONDS));
            Thread.sleep(200);
            check(!waiting.isDone(), "client 2 waits for the holder", "acquired while held");
            m1.release();
            eq(waiting.get(WAIT_S + 5, TimeUnit.SECONDS), true, "client 2 acquires after client 1 releases");
            t2.submit(() -> { m2.release(); return null; }).get(WAIT_S, TimeUnit.SECONDS);

            // Contention: both clients loop acquire/release; at most one holder at any time.
            AtomicInteger holders = new AtomicInteger();
            AtomicInteger maxHolders = new AtomicInteger();
            AtomicInteger acquired = new AtomicInteger();
            final int rounds = 15;
            List<Future<Void>> fs = new ArrayList<>();
            for (InterProcessMutex m : Arrays.asList(m1, m2)) {
                fs.add(pool.submit(() -> {
                    for (int i = 0; i < rounds; i++) {
                        if (!m.acquire(WAIT_S, TimeUnit.SECONDS)) throw new IllegalStateException("acquire timed out");
                        try {
                            int h = holders.incrementAndGet();
                            maxHolders.accumulateAndGet(h, Math::max);
                            acquired.incrementAndGet();
                            Thread.sleep(2);
                            holders.decrementAndGet();
                        } finally {
                            m.release();
                        }
                    }
                    return null;
                }));
            }
            for (Future<Void> f : fs) f.get(60, TimeUnit.SECONDS);
            eq(acquired.get(), 2 * rounds, "every contended acquire succeeded");
            eq(maxHolders.get(), 1, "mutual exclusion: never two holders");
            syncNow(c1, path);
            List<String> left = c1.getChildren().forPath(path);
            eq(left, Collections.emptyList(), "no lock nodes left after release");
        } finally {
            pool.shutdownNow();
            t2.shutdownNow();
        }
    }

    // --- LeaderLatch --------------------------------------------------------------------------------
    static void leaderLatch(CuratorFramework c1, CuratorFramework c2) throws Exception {
        String path = ROOT + "/leader";
        LeaderLatch l1 = new LeaderLatch(c1, path, "one");
        LeaderLatch l2 = new LeaderLatch(c2, path, "two");
        l1.start();
        l2.start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_S);
            while (!(l1.hasLeadership() || l2.hasLeadership()) && System.nanoTime() < deadline) Thread.sleep(20);
            Thread.sleep(300); // let both settle: a second leader would show up here
            int leaders = (l1.hasLeadership() ? 1 : 0) + (l2.hasLeadership() ? 1 : 0);
            eq(leaders, 1, "exactly one leader");
            syncNow(c1, path);
            eq(l1.getParticipants().size(), 2, "two participants");
            LeaderLatch leader = l1.hasLeadership() ? l1 : l2;
            LeaderLatch other = leader == l1 ? l2 : l1;
            eq(other.getLeader().getId(), leader.getId(), "both agree on the leader");
            leader.close();
            check(other.await(WAIT_S, TimeUnit.SECONDS), "leadership moves when the leader closes", "no new leader");
            eq(other.getParticipants().size(), 1, "one participant left");
        } finally {
            for (LeaderLatch l : Arrays.asList(l1, l2)) {
                if (l.getState() == LeaderLatch.State.STARTED) l.close();
            }
        }
    }

    // --- DistributedAtomicLong ----------------------------------------------------------------------
    static void atomicLong(CuratorFramework c1, CuratorFramework c2) throws Exception {
        String path = ROOT + "/counter";
        final int perClient = 20;
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<Integer>> fs = new ArrayList<>();
            for (CuratorFramework c : Arrays.asList(c1, c2)) {
                DistributedAtomicLong counter = new DistributedAtomicLong(c, path, new RetryNTimes(100, 5));
                fs.add(pool.submit(() -> {
                    int ok = 0;
                    for (int i = 0; i < perClient; i++) {
                        for (int attempt = 0; attempt < 50; attempt++) {
                            AtomicValue<Long> v = counter.increment();
                            if (v.succeeded()) {
                                if (v.postValue() != v.preValue() + 1) throw new IllegalStateException("pre " + v.preValue() + " post " + v.postValue());
                                ok++;
                                break;
                            }
                        }
                    }
                    return ok;
                }));
            }
            int total = 0;
            for (Future<Integer> f : fs) total += f.get(60, TimeUnit.SECONDS);
            eq(total, 2 * perClient, "every increment succeeded");
            syncNow(c1, path);
            AtomicValue<Long> v = new DistributedAtomicLong(c1, path, new RetryNTimes(3, 10)).get();
            check(v.succeeded() && v.postValue() == 2L * perClient, "final counter value is exact",
                    "got " + v.postValue() + ", want " + 2 * perClient);
            DistributedAtomicLong d = new DistributedAtomicLong(c2, path, new RetryNTimes(3, 10));
            syncNow(c2, path);
            AtomicValue<Long> cas = d.compareAndSet(2L * perClient, 100L);
            check(cas.succeeded(), "compareAndSet with the current value", "failed");
            AtomicValue<Long> cas2 = d.compareAndSet(2L * perClient, 7L);
            check(!cas2.succeeded(), "compareAndSet with a stale value fails", "succeeded");
            eq(d.get().postValue(), 100L, "value after compareAndSet");
        } finally {
            pool.shutdownNow();
        }
    }

    /** sync(path) on client c, waiting for it: what c reads next includes every write
     *  acknowledged before. */
    static void syncNow(CuratorFramework c, String path) throws Exception {
        CountDownLatch done = new CountDownLatch(1);
        c.sync().inBackground((cl, ev) -> done.countDown()).forPath(path);
        check(done.await(WAIT_S, TimeUnit.SECONDS), "sync before a cross-client read", "timed out");
    }

    // --- PersistentNode -------------------------------------------------------------------------------
    static void persistentNode(CuratorFramework c1, CuratorFramework c2) throws Exception {
        String path = ROOT + "/pnode/me";
        c1.create().creatingParentsIfNeeded().forPath(ROOT + "/pnode");
        try (PersistentNode node = new PersistentNode(c1, CreateMode.EPHEMERAL, false, path, b("alive"))) {
            node.start();
            check(node.waitForInitialCreate(WAIT_S, TimeUnit.SECONDS), "PersistentNode initial create", "timed out");
            // Client 2 may be connected to another member of an ensemble: sync first, as
            // ZooKeeper's consistency model asks of a client that must see another's write.
            syncNow(c2, path);
            Stat st = c2.checkExists().forPath(path);
            check(st != null && st.getEphemeralOwner() == sessionId(c1), "PersistentNode is an ephemeral of client 1", "" + st);
            for (int round = 1; round <= 2; round++) {
                c2.delete().forPath(path);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_S);
                Stat back = null;
                while (System.nanoTime() < deadline) {
                    try {
                        back = c2.checkExists().forPath(path);
                    } catch (Exception e) {
                        back = null;
                    }
                    if (back != null) break;
                    Thread.sleep(20);
                }
                check(back != null && back.getEphemeralOwner() == sessionId(c1),
                        "PersistentNode recreated after another client deleted it (round " + round + ")", "" + back);
                eq(back == null ? null : s(c2.getData().forPath(path)), "alive", "recreated node has the data (round " + round + ")");
            }
            node.setData(b("updated"));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_S);
            String data = null;
            while (System.nanoTime() < deadline && !"updated".equals(data = s(c2.getData().forPath(path)))) Thread.sleep(20);
            eq(data, "updated", "PersistentNode.setData");
        }
        eq(waitExists(c2, path, false), null, "PersistentNode.close() deletes the node");
    }

    // --- closing a session removes its ephemerals at once ---------------------------------------------
    static void sessionClose(CuratorFramework c1, CuratorFramework c2) throws Exception {
        String path = ROOT + "/eph-of-c2";
        c2.create().withMode(CreateMode.EPHEMERAL).forPath(path, b("x"));
        syncNow(c1, path);
        check(c1.checkExists().forPath(path) != null, "client 2's ephemeral exists", "missing");
        c2.close();
        eq(waitExists(c1, path, false), null, "ephemeral removed when its client closes");
    }
}

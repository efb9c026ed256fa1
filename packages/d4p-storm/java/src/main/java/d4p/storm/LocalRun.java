package d4p.storm;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import org.apache.storm.Config;
import org.apache.storm.LocalCluster;
import org.apache.storm.generated.ErrorInfo;
import org.apache.storm.generated.KillOptions;
import org.apache.storm.generated.StormTopology;
import org.apache.storm.generated.TopologyInfo;
import org.apache.storm.generated.TopologySummary;
import org.apache.storm.utils.Utils;

/**
 * Runs d4p topologies on an in-process Storm LocalCluster.
 *
 * <p>The driver (d4p-storm's Python side) talks to this process over its
 * standard input and output, one command per line:
 *
 * <pre>
 *   submit NAME TOPOLOGY_FILE CONF_FILE   -> d4p:submitted NAME | d4p:error NAME MESSAGE
 *   kill NAME                             -> d4p:killed NAME    | d4p:error NAME MESSAGE
 *   quit (or end of input)                -> shuts the cluster down and exits
 * </pre>
 *
 * The topology file is a Thrift-serialised (TBinaryProtocol) StormTopology,
 * the conf file a JSON object. Errors that Storm records for a running
 * topology are reported as {@code d4p:topology-error NAME MESSAGE}. Every
 * reply line starts with {@code d4p:} so that anything else a library prints
 * on standard output is ignored. {@code d4p:ready} is printed once the
 * cluster is up. Arguments: {@code [--nimbus-port PORT]} also starts a real
 * Nimbus Thrift server on that port.
 *
 * <p>Everything the cluster writes goes to the scratch folder the driver
 * made for this JVM ({@code -Dd4p.scratch=DIR}, with {@code java.io.tmpdir}
 * inside it). The driver removes it after the JVM ended; when the input ends
 * without {@code quit} the driver is gone, so this JVM removes it before it
 * exits (within {@link #LAST_WORDS_MS} even if the cluster does not shut down).
 */
public final class LocalRun {
    private static final PrintStream OUT = System.out;
    private static final Set<String> RUNNING = ConcurrentHashMap.newKeySet();
    private static final Map<String, Integer> REPORTED = new ConcurrentHashMap<>();
    /** How long shutting the cluster down may take once the driver is gone. */
    static final long LAST_WORDS_MS = 30_000;
    private static volatile boolean driverGone = false;

    private LocalRun() {
    }

    private static synchronized void reply(String line) {
        OUT.println("d4p:" + line.replace('\n', ' ').replace('\r', ' '));
        OUT.flush();
    }

    public static void main(String[] args) throws Exception {
        // Storm and its libraries must not write on the reply channel.
        System.setOut(System.err);
        Integer nimbusPort = null;
        for (int i = 0; i < args.length; i++) {
            if ("--nimbus-port".equals(args[i]) && i + 1 < args.length) {
                nimbusPort = Integer.parseInt(args[++i]);
            }
        }
        Map<String, Object> daemonConf = new HashMap<>();
        LocalCluster.Builder builder = new LocalCluster.Builder()
            .withSupervisors(1)
            .withPortsPerSupervisor(4);
        if (nimbusPort != null) {
            daemonConf.put(Config.NIMBUS_THRIFT_PORT, nimbusPort);
            daemonConf.put(Config.NIMBUS_SEEDS, List.of("127.0.0.1"));
            builder = builder.withNimbusDaemon(true);
        }
        builder = builder.withDaemonConf(daemonConf);
        int status = 0;
        try (LocalCluster cluster = builder.build()) {
            Thread watcher = new Thread(() -> watchErrors(cluster), "d4p-error-watcher");
            watcher.setDaemon(true);
            watcher.start();
            reply("ready");
            BufferedReader input = new BufferedReader(
                new InputStreamReader(System.in, StandardCharsets.UTF_8));
            while (true) {
                String line = input.readLine();
                if (line == null) {
                    driverGone = true;
                    break;
                }
                String[] words = line.trim().split(" ");
                if (words.length == 0 || words[0].isEmpty()) {
                    continue;
                }
                if ("quit".equals(words[0])) {
                    break;
                }
                handle(cluster, words);
            }
            startDeadline(1);
        } catch (Throwable error) {
            System.err.println("d4p-storm launcher: " + error);
            error.printStackTrace();
            status = 1;
        }
        if (driverGone) {
            removeScratch();
        }
        // As LocalCluster.main does: some Storm threads never end by themselves.
        System.exit(status);
    }

    /** Ends this JVM if shutting the cluster down hangs (nobody else would). */
    private static void startDeadline(int status) {
        Thread deadline = new Thread(() -> {
            try {
                Thread.sleep(LAST_WORDS_MS);
            } catch (InterruptedException stop) {
                return;
            }
            System.err.println("d4p-storm launcher: the cluster did not shut down; halting");
            if (driverGone) {
                removeScratch();
            }
            Runtime.getRuntime().halt(status);
        }, "d4p-deadline");
        deadline.setDaemon(true);
        deadline.start();
    }

    /** Deletes the scratch folder ({@code -Dd4p.scratch}): the driver is gone. */
    private static void removeScratch() {
        String where = System.getProperty("d4p.scratch");
        if (where == null || where.isEmpty()) {
            return;
        }
        Path root = Paths.get(where);
        // Files may still vanish or appear while Storm's last threads end.
        for (int attempt = 0; attempt < 5 && Files.exists(root); attempt++) {
            try (Stream<Path> walk = Files.walk(root)) {
                walk.sorted(Comparator.reverseOrder()).forEach(LocalRun::deleteQuietly);
            } catch (IOException | UncheckedIOException retry) {
                // walk again
            }
        }
    }

    private static void deleteQuietly(Path path) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException ignored) {
            // a folder that is not empty yet: the next walk
        }
    }

    private static void handle(LocalCluster cluster, String[] words) {
        String name = words.length > 1 ? words[1] : "";
        try {
            if ("submit".equals(words[0]) && words.length == 4) {
                byte[] bytes = Files.readAllBytes(Paths.get(words[2]));
                StormTopology topology = Utils.thriftDeserialize(StormTopology.class, bytes);
                String json = Files.readString(Paths.get(words[3]), StandardCharsets.UTF_8);
                Map<String, Object> conf = Utils.parseJson(json);
                cluster.submitTopology(name, conf, topology);
                RUNNING.add(name);
                reply("submitted " + name);
            } else if ("kill".equals(words[0]) && words.length == 2) {
                RUNNING.remove(name);
                KillOptions options = new KillOptions();
                options.set_wait_secs(0);
                cluster.killTopologyWithOpts(name, options);
                waitUntilGone(cluster, name);
                REPORTED.remove(name);
                reply("killed " + name);
            } else {
                reply("error " + name + " unknown command: " + String.join(" ", words));
            }
        } catch (Throwable error) {
            reply("error " + name + " " + error);
        }
    }

    private static void waitUntilGone(LocalCluster cluster, String name) throws Exception {
        long deadline = System.currentTimeMillis() + 60_000;
        while (System.currentTimeMillis() < deadline) {
            boolean present = false;
            for (TopologySummary summary : cluster.getClusterInfo().get_topologies()) {
                if (summary.get_name().equals(name)) {
                    present = true;
                }
            }
            if (!present) {
                return;
            }
            Thread.sleep(50);
        }
    }

    /** Reports errors Storm records for running topologies (e.g. a shell process that died). */
    private static void watchErrors(LocalCluster cluster) {
        while (true) {
            for (String name : RUNNING) {
                try {
                    TopologyInfo info = cluster.getTopologyInfoByName(name);
                    int seen = 0;
                    for (Map.Entry<String, List<ErrorInfo>> entry : info.get_errors().entrySet()) {
                        for (ErrorInfo error : entry.getValue()) {
                            seen++;
                            if (seen > REPORTED.getOrDefault(name, 0)) {
                                reply("topology-error " + name + " " + entry.getKey() + ": "
                                    + error.get_error().split("\n")[0]);
                            }
                        }
                    }
                    REPORTED.put(name, Math.max(seen, REPORTED.getOrDefault(name, 0)));
                } catch (Throwable ignored) {
                    // not yet (or no longer) known to Nimbus
                }
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException stop) {
                return;
            }
        }
    }
}

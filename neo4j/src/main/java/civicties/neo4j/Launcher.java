package civicties.neo4j;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.io.ByteUnit;

/**
 * Runs Neo4j Community (embedded DBMS) with a Bolt connector, so that any Neo4j
 * driver can talk to it exactly as to a stand-alone server.
 *
 * Started by scripts/neo4j; configured through environment variables:
 *   NEO4J_HOME       home folder (data/ and logs/ live below it)   default .neo4j
 *   NEO4J_HOST       Bolt listen host                              default localhost
 *   NEO4J_PORT       Bolt listen port                              default 7687
 *   NEO4J_PASSWORD   password of user "neo4j"; "none" disables auth default civicties-dev
 *   NEO4J_PAGECACHE  page cache size                               default 512m
 *
 * SIGTERM (scripts/neo4j stop) runs the shutdown hook, which shuts the DBMS down
 * cleanly (checkpoint, close the store) before the JVM exits.
 */
public final class Launcher {

    private static String env(String name, String fallback) {
        String value = System.getenv(name);
        return value == null || value.isEmpty() ? fallback : value;
    }

    public static void main(String[] args) throws Exception {
        Path home = Path.of(env("NEO4J_HOME", ".neo4j")).toAbsolutePath();
        String host = env("NEO4J_HOST", "localhost");
        int port = Integer.parseInt(env("NEO4J_PORT", "7687"));
        String password = env("NEO4J_PASSWORD", "civicties-dev");
        boolean auth = !"none".equalsIgnoreCase(password);

        long t0 = System.nanoTime();
        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress(host, port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress(host, port))
                .setConfig(GraphDatabaseSettings.auth_enabled, auth)
                .setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.parse(env("NEO4J_PAGECACHE", "512m")))
                .build();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("civicties-neo4j: shutting down");
            try {
                dbms.shutdown();
            } finally {
                System.out.println("civicties-neo4j: stopped");
                stopped.countDown();
            }
        }, "civicties-neo4j-shutdown"));

        if (auth) {
            // The embedded API is not subject to auth: set the password of the built-in
            // user on every start, so NEO4J_PASSWORD is always the one in force and the
            // first-login "change your password" requirement never applies.
            GraphDatabaseService system = dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME);
            try {
                system.executeTransactionally(
                        "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED",
                        Map.of("password", password));
            } catch (RuntimeException e) {
                // Neo4j refuses to "change" a password to the one already set: fine.
                String message = String.valueOf(e.getMessage());
                if (!message.contains("cannot be the same")) {
                    throw e;
                }
                system.executeTransactionally("ALTER USER neo4j SET PASSWORD CHANGE NOT REQUIRED");
            }
        }

        long ms = (System.nanoTime() - t0) / 1_000_000;
        System.out.printf("civicties-neo4j: ready bolt://%s:%d auth=%s home=%s (%d ms)%n",
                host, port, auth ? "on" : "off", home, ms);
        System.out.flush();
        stopped.await();
    }
}

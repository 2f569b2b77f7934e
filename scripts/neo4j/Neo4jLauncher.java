import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.time.Duration;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;

/**
 * Runs a Neo4j Community DBMS with only Bolt on 127.0.0.1:<port>, data in <dir>, for the graph
 * sink's tests (test/helpers/neo4j.ts). Usage: Neo4jLauncher <dir> <boltPort> <password>.
 * Prints "NEO4J READY" once Bolt accepts the password; SIGTERM shuts down cleanly (a restart on
 * the same dir keeps every committed transaction; so does SIGKILL, through the transaction log).
 * The password is set on the system database (no forced change), so the driver logs in as neo4j.
 */
public final class Neo4jLauncher {
  public static void main(String[] args) {
    if (args.length != 3) {
      System.err.println("usage: Neo4jLauncher <dir> <boltPort> <password>");
      System.exit(2);
    }
    Path home = Path.of(args[0]);
    int port = Integer.parseInt(args[1]);
    String password = args[2];
    // A restart on the same dir keeps the password it set the first time (setting it again fails).
    boolean fresh = !Files.exists(home.resolve("data").resolve("databases").resolve("system"));
    DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
        .setConfig(BoltConnector.enabled, true)
        .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
        .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
        .setConfig(HttpConnector.enabled, false)
        .setConfig(GraphDatabaseSettings.auth_enabled, true)
        // Small and quick: tests need seconds, not a production page cache.
        .setConfig(GraphDatabaseSettings.pagecache_memory, 64L * 1024 * 1024)
        .setConfig(GraphDatabaseSettings.shutdown_transaction_end_timeout, Duration.ofSeconds(2))
        .build();
    Runtime.getRuntime().addShutdownHook(new Thread(dbms::shutdown, "neo4j-shutdown"));
    if (fresh) {
      GraphDatabaseService system = dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME);
      system.executeTransactionally("ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED", Map.of("password", password));
    }
    System.out.println("NEO4J READY " + port);
    System.out.flush();
  }
}

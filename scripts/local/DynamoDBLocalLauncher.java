import com.amazonaws.services.dynamodbv2.local.server.DynamoDBProxyServer;
import com.amazonaws.services.dynamodbv2.local.server.LocalDynamoDBRequestHandler;
import com.amazonaws.services.dynamodbv2.local.server.LocalDynamoDBServerHandler;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * DynamoDB Local listening on 127.0.0.1 only, with no telemetry.
 *
 * <p>DynamoDBLocal.jar's own main listens on every interface (it has no host option) and
 * accepts any credentials, so anyone on the network could read the data. This serves the
 * same request handler through a Jetty connector bound to loopback instead. It never calls
 * ServerRunner or DynamoDBProxyServer.start, the only code that sets up or sends telemetry
 * (the CLI's -disableTelemetry flag is parsed but not read in 1.25.1; the environment
 * variable DDB_LOCAL_TELEMETRY=0, which the Python side also sets, is what the jar checks).
 * No CORS either: no web page in a local browser can read its answers.
 *
 * <p>Run in source-file mode (needs a JDK):
 * java -Djava.library.path=LIB -cp 'DynamoDBLocal.jar:DynamoDBLocal_lib/*' DynamoDBLocalLauncher.java
 * -port N (-inMemory | -dbPath DIR) [-sharedDb]
 */
public final class DynamoDBLocalLauncher {
    private static final String HOST = "127.0.0.1";
    private static final String USAGE = "usage: -port N (-inMemory | -dbPath DIR) [-sharedDb]";

    public static void main(String[] args) throws Exception {
        int port = -1;
        boolean inMemory = false;
        String dbPath = null;
        boolean sharedDb = false;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("-port") && i + 1 < args.length) {
                port = Integer.parseInt(args[++i]);
            } else if (args[i].equals("-dbPath") && i + 1 < args.length) {
                dbPath = args[++i];
            } else if (args[i].equals("-inMemory")) {
                inMemory = true;
            } else if (args[i].equals("-sharedDb")) {
                sharedDb = true;
            } else {
                fail("unknown argument " + args[i] + "; " + USAGE, 2);
            }
        }
        if (port < 0 || inMemory == (dbPath != null)) {
            fail(USAGE, 2);
        }
        // What ServerRunner sets for Jetty: no version banner, warnings only.
        System.setProperty("org.eclipse.jetty.util.log.announce", "false");
        System.setProperty("org.eclipse.jetty.LEVEL", "WARN");

        LocalDynamoDBServerHandler handler = new LocalDynamoDBServerHandler(
                new LocalDynamoDBRequestHandler(0, inMemory, dbPath, sharedDb, false), null);
        Server server = new Server();
        ServerConnector connector = new ServerConnector(server);
        connector.setHost(HOST);
        connector.setPort(port);
        server.addConnector(connector);
        // The proxy server is only asked for its handler tree; its own all-interfaces Jetty never starts.
        server.setHandler(new DynamoDBProxyServer(port, handler).setUpHandler(handler));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                server.stop();
            } catch (Exception e) {
                System.err.println("error stopping Jetty: " + e);
            }
            handler.close(); // closes the SQLite files cleanly
        }));
        try {
            server.start();
        } catch (Exception e) {
            fail("cannot listen on " + HOST + ":" + port + ": " + e.getMessage(), 1);
        }
        System.out.println("DynamoDB Local on http://" + HOST + ":" + port
                + (inMemory ? " in memory" : " with data in " + dbPath) + (sharedDb ? ", shared db" : ""));
        server.join();
    }

    private static void fail(String message, int code) {
        System.err.println("error: " + message);
        System.exit(code);
    }
}

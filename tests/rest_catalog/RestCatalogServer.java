// An Iceberg REST catalog for the tests, listening on 127.0.0.1 only.
//
// Run from source (java -cp CLASSPATH RestCatalogServer.java PORT key=value ...); the key=value
// pairs are the properties of the catalog behind it, e.g. catalog-impl, uri, jdbc.user and
// warehouse for a JDBC catalog. Iceberg's own REST servlet serves that catalog over HTTP, as
// the REST catalog servers teams deploy do. Iceberg's RESTCatalogServer fixture listens on every
// address; this one binds the loopback address alone.
import java.util.HashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.iceberg.CatalogUtil;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.rest.RESTCatalogAdapter;
import org.apache.iceberg.rest.RESTCatalogServlet;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

public class RestCatalogServer {
  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    Map<String, String> properties = new HashMap<>();
    for (int i = 1; i < args.length; i++) {
      String[] keyValue = args[i].split("=", 2);
      properties.put(keyValue[0], keyValue[1]);
    }
    Catalog backend = CatalogUtil.buildIcebergCatalog("backend", properties, new Configuration());

    ServletContextHandler context = new ServletContextHandler();
    RESTCatalogServlet servlet = new RESTCatalogServlet(new RESTCatalogAdapter(backend));
    context.addServlet(new ServletHolder(servlet), "/*");

    Server server = new Server();
    ServerConnector connector = new ServerConnector(server);
    connector.setHost("127.0.0.1");
    connector.setPort(port);
    server.addConnector(connector);
    server.setHandler(context);
    server.start();
    System.out.println("serving the Iceberg REST catalog on http://127.0.0.1:" + port);
    server.join();
  }
}

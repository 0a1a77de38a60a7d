// A tiny OAuth 2.0 token endpoint for the test broker (deploy/kafka/kafka.sh): the client
// credentials grant only, RS256-signed JWT access tokens, and the JWKS that Kafka's
// OAuthBearerValidatorCallbackHandler verifies them with. JDK only, run as a single source file:
//
//   java TokenServer.java --port 9100 --client-id sinkhost --client-secret sinkhost-secret \
//        --audience sinkhost-kafka --lifetime 15 --log tokens.log [--port-file F] [--issuer URL]
//
//   GET  /jwks   {"keys":[{kty:RSA, kid, use:sig, alg:RS256, n, e}]}; the key pair is made at start
//   POST /token  grant_type=client_credentials; client authentication with HTTP Basic
//                (client_id:client_secret, each form-URL-encoded, RFC 6749 2.3.1; librdkafka sends
//                this) or the form fields client_id and client_secret; optional scope.
//                200 {access_token, token_type:"Bearer", expires_in, scope}
//                    the JWT has iss, sub (= the client id), aud, iat, nbf, exp, jti, scope, azp
//                400 {"error":"unsupported_grant_type"} or {"error":"invalid_request"}
//                401 {"error":"invalid_client"} for an unknown client id or a wrong secret
//   GET  /health "ok"
//   GET  /.well-known/openid-configuration  issuer, token_endpoint, jwks_uri
//
// Every answer of /token appends one line to the --log file, for tests to count refreshes:
//   <ISO time> issued sub=<client id> scope=<scope> iat=<s> exp=<s> jti=<n>
//   <ISO time> refused status=<401|400> client_id=<id or -> reason=<text>
// Binds 127.0.0.1 only. --port 0 takes a free port; --port-file receives the port once bound.
// Test use only: no persistence, the key lives in memory and changes at every start.

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.FileWriter;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.Signature;
import java.security.interfaces.RSAPublicKey;
import java.time.Instant;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

public final class TokenServer {
  private static final Base64.Encoder B64URL = Base64.getUrlEncoder().withoutPadding();

  private final String clientId;
  private final String clientSecret;
  private final String audience;
  private final long lifetimeSeconds;
  private final String defaultScope;
  private final PrintWriter log;
  private final KeyPair keys;
  private final String kid;
  private final AtomicLong serial = new AtomicLong();
  private String issuer;
  private int port;

  private TokenServer(Map<String, String> opts) throws Exception {
    clientId = require(opts, "client-id");
    clientSecret = require(opts, "client-secret");
    audience = opts.getOrDefault("audience", "sinkhost-kafka");
    lifetimeSeconds = Long.parseLong(opts.getOrDefault("lifetime", "15"));
    if (lifetimeSeconds < 1) throw new IllegalArgumentException("--lifetime must be at least 1 second");
    defaultScope = opts.getOrDefault("scope", "kafka");
    log = new PrintWriter(new FileWriter(require(opts, "log"), StandardCharsets.UTF_8, true), true);
    KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
    generator.initialize(2048);
    keys = generator.generateKeyPair();
    // kid: a short digest of the modulus, so each start's key has its own id.
    byte[] digest = MessageDigest.getInstance("SHA-256").digest(((RSAPublicKey) keys.getPublic()).getModulus().toByteArray());
    kid = B64URL.encodeToString(java.util.Arrays.copyOf(digest, 9));
    issuer = opts.get("issuer");
  }

  private static String require(Map<String, String> opts, String key) {
    String v = opts.get(key);
    if (v == null || v.isEmpty()) throw new IllegalArgumentException("--" + key + " is required");
    return v;
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = new HashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        System.err.println("TokenServer: bad arguments (want --key value pairs; see the file's header)");
        System.exit(2);
      }
      opts.put(args[i].substring(2), args[++i]);
    }
    TokenServer server;
    try {
      server = new TokenServer(opts);
    } catch (IllegalArgumentException e) {
      System.err.println("TokenServer: " + e.getMessage());
      System.exit(2);
      return;
    }
    server.serve(Integer.parseInt(opts.getOrDefault("port", "0")), opts.get("port-file"));
  }

  private void serve(int wantPort, String portFile) throws IOException {
    HttpServer http = HttpServer.create(new InetSocketAddress("127.0.0.1", wantPort), 32);
    port = http.getAddress().getPort();
    if (issuer == null) issuer = "http://127.0.0.1:" + port;
    http.createContext("/jwks", ex -> handle(ex, this::jwks));
    http.createContext("/token", ex -> handle(ex, this::token));
    http.createContext("/health", ex -> handle(ex, e -> reply(e, 200, "text/plain", "ok\n")));
    http.createContext("/.well-known/openid-configuration", ex -> handle(ex, this::discovery));
    http.setExecutor(Executors.newFixedThreadPool(2));
    http.start();
    if (portFile != null) {
      Path tmp = Path.of(portFile + ".tmp");
      Files.writeString(tmp, port + "\n");
      Files.move(tmp, Path.of(portFile), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }
    System.out.println("TokenServer: listening on http://127.0.0.1:" + port + " (kid " + kid + ", client " + clientId
        + ", lifetime " + lifetimeSeconds + " s, audience " + audience + ", issuer " + issuer + ")");
    System.out.flush();
  }

  private interface Handler {
    void run(HttpExchange ex) throws Exception;
  }

  private static void handle(HttpExchange ex, Handler h) {
    try (ex) {
      h.run(ex);
    } catch (Exception e) {
      try {
        reply(ex, 500, "application/json", "{\"error\":\"server_error\",\"error_description\":" + json(String.valueOf(e)) + "}");
      } catch (IOException ignored) {
        // the client went away
      }
    }
  }

  private static void reply(HttpExchange ex, int status, String type, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", type);
    ex.getResponseHeaders().set("Cache-Control", "no-store");
    ex.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }

  private void jwks(HttpExchange ex) throws IOException {
    if (!ex.getRequestMethod().equals("GET")) {
      reply(ex, 405, "application/json", "{\"error\":\"method_not_allowed\"}");
      return;
    }
    RSAPublicKey pub = (RSAPublicKey) keys.getPublic();
    String body = "{\"keys\":[{\"kty\":\"RSA\",\"use\":\"sig\",\"alg\":\"RS256\",\"kid\":" + json(kid)
        + ",\"n\":" + json(unsigned(pub.getModulus())) + ",\"e\":" + json(unsigned(pub.getPublicExponent())) + "}]}";
    reply(ex, 200, "application/json", body);
  }

  private void discovery(HttpExchange ex) throws IOException {
    String base = "http://127.0.0.1:" + port;
    reply(ex, 200, "application/json", "{\"issuer\":" + json(issuer) + ",\"token_endpoint\":" + json(base + "/token")
        + ",\"jwks_uri\":" + json(base + "/jwks") + ",\"grant_types_supported\":[\"client_credentials\"]"
        + ",\"token_endpoint_auth_methods_supported\":[\"client_secret_basic\",\"client_secret_post\"]"
        + ",\"id_token_signing_alg_values_supported\":[\"RS256\"]}");
  }

  private void token(HttpExchange ex) throws Exception {
    if (!ex.getRequestMethod().equals("POST")) {
      reply(ex, 405, "application/json", "{\"error\":\"method_not_allowed\"}");
      return;
    }
    Map<String, String> form = parseForm(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
    String id = form.get("client_id");
    String secret = form.get("client_secret");
    String auth = ex.getRequestHeaders().getFirst("Authorization");
    if (auth != null && auth.regionMatches(true, 0, "Basic ", 0, 6)) {
      String pair;
      try {
        pair = new String(Base64.getDecoder().decode(auth.substring(6).trim()), StandardCharsets.UTF_8);
      } catch (IllegalArgumentException e) {
        refuse(ex, 401, "invalid_client", null, "Authorization header is not base64");
        return;
      }
      int colon = pair.indexOf(':');
      if (colon < 0) {
        refuse(ex, 401, "invalid_client", null, "Authorization Basic without ':'");
        return;
      }
      id = URLDecoder.decode(pair.substring(0, colon), StandardCharsets.UTF_8);
      secret = URLDecoder.decode(pair.substring(colon + 1), StandardCharsets.UTF_8);
    }
    String grant = form.get("grant_type");
    if (grant == null) {
      refuse(ex, 400, "invalid_request", id, "no grant_type");
      return;
    }
    if (!grant.equals("client_credentials")) {
      refuse(ex, 400, "unsupported_grant_type", id, "grant_type " + grant);
      return;
    }
    if (id == null || secret == null) {
      refuse(ex, 401, "invalid_client", id, "no client credentials (HTTP Basic or client_id/client_secret)");
      return;
    }
    if (!MessageDigest.isEqual(id.getBytes(StandardCharsets.UTF_8), clientId.getBytes(StandardCharsets.UTF_8))) {
      refuse(ex, 401, "invalid_client", id, "unknown client id");
      return;
    }
    if (!MessageDigest.isEqual(secret.getBytes(StandardCharsets.UTF_8), clientSecret.getBytes(StandardCharsets.UTF_8))) {
      refuse(ex, 401, "invalid_client", id, "wrong client secret");
      return;
    }
    String scope = form.getOrDefault("scope", "").trim();
    if (scope.isEmpty()) scope = defaultScope;
    long now = Instant.now().getEpochSecond();
    long exp = now + lifetimeSeconds;
    long jti = serial.incrementAndGet();
    String header = "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":" + json(kid) + "}";
    String payload = "{\"iss\":" + json(issuer) + ",\"sub\":" + json(id) + ",\"aud\":" + json(audience)
        + ",\"azp\":" + json(id) + ",\"scope\":" + json(scope) + ",\"iat\":" + now + ",\"nbf\":" + now
        + ",\"exp\":" + exp + ",\"jti\":" + json(Long.toString(jti)) + "}";
    String signingInput = B64URL.encodeToString(header.getBytes(StandardCharsets.UTF_8)) + "."
        + B64URL.encodeToString(payload.getBytes(StandardCharsets.UTF_8));
    Signature signer = Signature.getInstance("SHA256withRSA");
    signer.initSign(keys.getPrivate());
    signer.update(signingInput.getBytes(StandardCharsets.US_ASCII));
    String jwt = signingInput + "." + B64URL.encodeToString(signer.sign());
    log("issued sub=" + id + " scope=" + scope.replace(' ', '+') + " iat=" + now + " exp=" + exp + " jti=" + jti);
    reply(ex, 200, "application/json", "{\"access_token\":" + json(jwt) + ",\"token_type\":\"Bearer\",\"expires_in\":"
        + lifetimeSeconds + ",\"scope\":" + json(scope) + "}");
  }

  private void refuse(HttpExchange ex, int status, String error, String id, String reason) throws IOException {
    log("refused status=" + status + " client_id=" + (id == null ? "-" : id.replaceAll("\\s", "_")) + " reason=" + reason);
    if (status == 401) ex.getResponseHeaders().set("WWW-Authenticate", "Basic realm=\"sinkhost-test\"");
    reply(ex, status, "application/json", "{\"error\":" + json(error) + ",\"error_description\":" + json(reason) + "}");
  }

  private synchronized void log(String line) {
    log.println(Instant.now() + " " + line);
  }

  private static Map<String, String> parseForm(String body) {
    Map<String, String> form = new HashMap<>();
    for (String part : body.split("&")) {
      if (part.isEmpty()) continue;
      int eq = part.indexOf('=');
      String k = eq < 0 ? part : part.substring(0, eq);
      String v = eq < 0 ? "" : part.substring(eq + 1);
      form.put(URLDecoder.decode(k, StandardCharsets.UTF_8), URLDecoder.decode(v, StandardCharsets.UTF_8));
    }
    return form;
  }

  // Base64url of the big-endian magnitude without a leading zero byte (RFC 7518 6.3.1).
  private static String unsigned(BigInteger v) {
    byte[] b = v.toByteArray();
    if (b.length > 1 && b[0] == 0) b = java.util.Arrays.copyOfRange(b, 1, b.length);
    return B64URL.encodeToString(b);
  }

  private static String json(String s) {
    StringBuilder out = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
          else out.append(c);
        }
      }
    }
    return out.append('"').toString();
  }
}

// Starts sinkhost daemons for the client tests: free ports, a data directory of their own, and
// optionally TLS (a CA and a server certificate made here with openssl) and users (made with
// `sinkhost user add`). The binary comes from SINKHOST_BINARY (ctest sets it).
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const binary = process.env.SINKHOST_BINARY;
if (!binary) throw new Error("SINKHOST_BINARY is not set: run these tests through ctest (tests/kurrentdb_clients/run.sh)");

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// A CA and a certificate for localhost / 127.0.0.1 signed by it, in `dir`.
export function makeCertificates(dir) {
  const run = (...args) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=sinkhost test CA",
      "-keyout", "ca.key", "-out", "ca.pem");
  run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr");
  writeFileSync(join(dir, "san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
      "-extfile", "san.ext", "-out", "server.pem");
  return { ca: join(dir, "ca.pem"), cert: join(dir, "server.pem"), key: join(dir, "server.key") };
}

function accepts(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.on("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });
}

export async function startSinkhost({ tls = false, users = {}, env = {}, args = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "sinkhost-clients-"));
  const data = join(dir, "data");
  const httpPort = await freePort();
  const grpcPort = await freePort();
  const extra = [...args];
  let certificates;
  if (tls) {
    certificates = makeCertificates(dir);
    extra.push("--tls-cert", certificates.cert, "--tls-key", certificates.key);
  }
  for (const [name, password] of Object.entries(users)) {
    execFileSync(binary, ["user", "add", name, "--data-dir", data], { input: password + "\n", stdio: "pipe" });
  }
  if (Object.keys(users).length > 0) extra.push("--auth", "basic");
  const logPath = join(dir, "sinkhost.log");
  const child = spawn(binary, ["--data-dir", data, "--listen", `127.0.0.1:${httpPort}`,
                               "--grpc-listen", `127.0.0.1:${grpcPort}`, ...extra],
                      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));

  // Ready once both listeners take connections (the gRPC one opens after the HTTP one).
  const deadline = Date.now() + 20000;
  while (!(await accepts(grpcPort)) || !(await accepts(httpPort))) {
    if (child.exitCode !== null) throw new Error(`sinkhost exited during start-up:\n${log}`);
    if (Date.now() > deadline) throw new Error(`sinkhost was not ready within 20 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }

  return {
    httpPort,
    grpcPort,
    certificates,
    dir,
    pid: child.pid,
    // Resident memory of the daemon, KiB.
    rssKiB: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))[1]),
    running: () => child.exitCode === null,
    log: () => log,
    http: (method, path, body) =>
      fetch(`http://127.0.0.1:${httpPort}${path}`, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10000);
        const { code, signal } = await exited;
        clearTimeout(timer);
        if (code !== 0) throw new Error(`sinkhost stopped with ${code ?? signal}:\n${log}`);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Reads every event a client iterator yields into an array.
export async function collect(iterable) {
  const out = [];
  for await (const e of iterable) out.push(e);
  return out;
}

// The key=value lines of the Kafka broker's kafka.env (deploy/kafka/kafka.sh), when ctest gave one.
export function kafkaEnv() {
  const path = process.env.SINKHOST_TEST_KAFKA_ENV;
  if (!path) return null;
  const env = {};
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

// Benchmark: events/s appended over gRPC (the official Node.js client) and over HTTP (fetch,
// keep-alive) to one sinkhost, side by side and interleaved, with the same ~250-byte JSON
// events, batch sizes and concurrency; then events/s a catch-up subscription to $all delivers to
// the Node.js client, next to paging the same log over HTTP. Prints medians and ratios.
// Run: tests/bench/kurrentdb_clients_bench.sh [--rounds N] [--events N]
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { KurrentDBClient, jsonEvent, START } from "@kurrent/kurrentdb-client";
import { startSinkhost } from "../harness.mjs";

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const rounds = arg("rounds", 3);
const perRun = arg("events", 20000);
const concurrency = arg("concurrency", 8);

const data = (i) => ({ orderId: `order-${i}`, customer: "c-42", total: 12.5, currency: "EUR",
                       lines: [{ sku: "sku-1", qty: 2 }, { sku: "sku-2", qty: 1 }], note: "x".repeat(90) });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

let host;
// CPU seconds the daemon used so far (utime + stime from /proc).
function daemonCpu() {
  const fields = readFileSync(`/proc/${host.pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

// Wall seconds of fn; adds the daemon's and this client's CPU seconds to `cpu`.
async function timed(fn, cpu = { daemon: 0, client: 0 }) {
  const daemonBefore = daemonCpu();
  const clientBefore = process.cpuUsage();
  const start = process.hrtime.bigint();
  await fn();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const client = process.cpuUsage(clientBefore);
  cpu.daemon += daemonCpu() - daemonBefore;
  cpu.client += (client.user + client.system) / 1e6;
  return seconds;
}
const micros = (seconds, events) => ((seconds * 1e6) / events).toFixed(1);

// `writers` concurrent loops, each appending batches of `batch` to its own stream.
async function appendGrpc(client, batch) {
  const per = perRun / concurrency;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    const stream = `bench-grpc-${randomUUID()}`;
    for (let i = 0; i < per; i += batch) {
      await client.appendToStream(stream, Array.from({ length: batch }, (_, j) => jsonEvent({ type: "OrderPlaced", data: data(i + j) })));
    }
  }));
}

async function appendHttp(host, batch) {
  const per = perRun / concurrency;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    const stream = `bench-http-${randomUUID()}`;
    for (let i = 0; i < per; i += batch) {
      const body = Array.from({ length: batch }, (_, j) => ({ eventId: randomUUID(), eventType: "OrderPlaced", data: data(i + j) }));
      const response = await host.http("POST", `/streams/${stream}`, body);
      if (response.status !== 201) throw new Error(`HTTP append: ${response.status} ${await response.text()}`);
      await response.arrayBuffer();
    }
  }));
}

async function subscribeAll(client, count) {
  const subscription = client.subscribeToAll({ fromPosition: START });
  let n = 0;
  for await (const _ of subscription) if (++n === count) break;
  await subscription.unsubscribe();
}

async function pageHttp(host, count) {
  let from = 1;
  let n = 0;
  while (n < count) {
    const page = await (await host.http("GET", `/streams/$all?from=${from}&count=1000`)).json();
    n += page.events.length;
    if (page.nextFrom == null) break;
    from = page.nextFrom;
  }
}

host = await startSinkhost({ args: ["--log-level", "warn"] });
const client = KurrentDBClient.connectionString(`kurrentdb://127.0.0.1:${host.grpcPort}?tls=false`);
try {
  console.log(`sinkhost ${host.grpcPort}: ${rounds} rounds x ${perRun} events, ${concurrency} concurrent writers, ~250 B JSON`);
  for (const batch of [1, 100]) {
    const grpcRates = [];
    const httpRates = [];
    const cpu = { grpc: { daemon: 0, client: 0 }, http: { daemon: 0, client: 0 } };
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? ["http", "grpc"] : ["grpc", "http"];
      for (const face of order) {
        const seconds = await timed(() => (face === "grpc" ? appendGrpc(client, batch) : appendHttp(host, batch)), cpu[face]);
        (face === "grpc" ? grpcRates : httpRates).push(perRun / seconds);
      }
    }
    const g = median(grpcRates);
    const h = median(httpRates);
    console.log(`append, batches of ${String(batch).padStart(3)}: gRPC ${g.toFixed(0).padStart(7)} ev/s  HTTP ${h.toFixed(0).padStart(7)} ev/s  gRPC/HTTP ${(g / h).toFixed(2)}`);
    const events = rounds * perRun;
    console.log(`  CPU per event: gRPC daemon ${micros(cpu.grpc.daemon, events)} us, client ${micros(cpu.grpc.client, events)} us;` +
                ` HTTP daemon ${micros(cpu.http.daemon, events)} us, client ${micros(cpu.http.client, events)} us`);
  }
  const total = 2 * rounds * 2 * perRun;  // everything appended above: two batch sizes, two faces
  const subRates = [];
  const pageRates = [];
  const readCpu = { grpc: { daemon: 0, client: 0 }, http: { daemon: 0, client: 0 } };
  for (let r = 0; r < rounds; r++) {
    subRates.push(total / (await timed(() => subscribeAll(client, total), readCpu.grpc)));
    pageRates.push(total / (await timed(() => pageHttp(host, total), readCpu.http)));
  }
  const s = median(subRates);
  const p = median(pageRates);
  console.log(`catch-up of ${total} events: gRPC subscription ${s.toFixed(0)} ev/s  HTTP paging (1000/page) ${p.toFixed(0)} ev/s  ratio ${(s / p).toFixed(2)}`);
  console.log(`  CPU per event: gRPC daemon ${micros(readCpu.grpc.daemon, rounds * total)} us, client ${micros(readCpu.grpc.client, rounds * total)} us;` +
              ` HTTP daemon ${micros(readCpu.http.daemon, rounds * total)} us, client ${micros(readCpu.http.client, rounds * total)} us`);
  console.log(`daemon RSS at the end: ${(host.rssKiB() / 1024).toFixed(1)} MiB`);
} finally {
  await client.dispose();
  await host.stop();
}

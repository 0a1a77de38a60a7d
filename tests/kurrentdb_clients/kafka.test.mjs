// What an official client appends reaches Kafka: a kafka-sink connector (created over the HTTP
// API, as a KurrentDB user would) delivers the events a Node.js client appended over gRPC, in
// order, with the esdb-* headers naming their stream, revision, log position and event id.
// kcat reads the topic. Needs the broker of the ctest fixture (SINKHOST_TEST_KAFKA_ENV).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";

import { KurrentDBClient, jsonEvent } from "@kurrent/kurrentdb-client";

import { startSinkhost, kafkaEnv } from "./harness.mjs";

const env = kafkaEnv();
let host;
let client;

before(async () => {
  assert.ok(env, "SINKHOST_TEST_KAFKA_ENV is not set: run this test through ctest, whose fixture starts the broker");
  host = await startSinkhost();
  client = KurrentDBClient.connectionString(`kurrentdb://127.0.0.1:${host.grpcPort}?tls=false`);
});

after(async () => {
  await client?.dispose();
  await host?.stop();
});

// Every message of `topic` (kcat's JSON envelope), waiting until `count` arrived.
function consume(topic, count) {
  return new Promise((resolve, reject) => {
    execFile("kcat", ["-C", "-b", env.KAFKA_BOOTSTRAP, "-t", topic, "-o", "beginning", "-c", String(count), "-J",
                      "-m", "30", "-q"],
             { timeout: 60000, maxBuffer: 64 * 1024 * 1024 },
             (error, stdout, stderr) => {
               if (error) return reject(new Error(`kcat: ${error.message}\n${stderr}`));
               resolve(stdout.trim().split("\n").filter(Boolean).map((line) => JSON.parse(line)));
             });
  });
}

const header = (message, name) => {
  const headers = message.headers ?? [];
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return headers[i + 1];
  return undefined;
};

test("a kafka-sink connector delivers, in order, what the Node.js client appended", async () => {
  const stream = `orders-${randomUUID().slice(0, 8)}`;
  const topic = `clients-${stream}`;
  const id = `from-node-${randomUUID().slice(0, 8)}`;
  const created = await host.http("POST", `/connectors/${id}`, {
    settings: {
      instanceTypeName: "kafka-sink",
      topic,
      bootstrapServers: env.KAFKA_BOOTSTRAP,
      "subscription:filter:scope": "stream",
      "subscription:filter:filterType": "streamId",
      "subscription:filter:expression": stream,
      "subscription:initialPosition": "earliest",
      "partitionKeyExtraction:enabled": "true",
      "partitionKeyExtraction:source": "stream",
    },
  });
  assert.equal(created.status, 200, await created.text());
  const started = await host.http("POST", `/connectors/${id}/start`);
  assert.equal(started.status, 200, await started.text());

  const appended = [];
  for (let batch = 0; batch < 5; batch++) {
    const events = Array.from({ length: 20 }, (_, i) =>
      jsonEvent({ id: randomUUID(), type: i % 2 ? "OrderPaid" : "OrderPlaced", data: { n: batch * 20 + i } }));
    const result = await client.appendToStream(stream, events);
    appended.push(...events.map((e) => ({ id: e.id, type: e.type, n: e.data.n })));
    assert.equal(result.nextExpectedRevision, BigInt(appended.length - 1));
  }

  const messages = await consume(topic, appended.length);
  assert.equal(messages.length, appended.length, host.log());
  messages.forEach((m, i) => {
    assert.deepEqual(JSON.parse(m.payload), { n: appended[i].n }, `message ${i}: the event's data, byte for byte`);
    assert.equal(m.key, stream, `message ${i}: keyed by the stream`);
    assert.equal(header(m, "esdb-record-stream-id"), stream);
    assert.equal(header(m, "esdb-record-stream-revision"), String(i));
    assert.equal(header(m, "esdb-record-id"), appended[i].id);
    assert.equal(header(m, "esdb-record-schema-subject"), appended[i].type);
    assert.ok(Number(header(m, "esdb-record-log-position")) > 0);
  });
  assert.equal(new Set(messages.map((m) => m.partition)).size, 1, "one stream, one key, one partition");
});

// Hostile input on the gRPC face: malformed protobuf, an oversize message, 1,000 concurrent
// subscriptions, and a subscriber that stops reading. The daemon stays up, answers the next
// client, keeps its memory bounded, and loses nothing.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";

import http2 from "node:http2";

import grpc from "@grpc/grpc-js";
import { KurrentDBClient, jsonEvent, START } from "@kurrent/kurrentdb-client";

import streamsPb from "@kurrent/kurrentdb-client/generated/kurrentdb/protocols/v1/streams_pb.js";
import sharedPb from "@kurrent/kurrentdb-client/generated/kurrentdb/protocols/v1/shared_pb.js";

import { startSinkhost, collect } from "./harness.mjs";

let host;
let client;
let raw;

before(async () => {
  host = await startSinkhost();
  client = KurrentDBClient.connectionString(`kurrentdb://127.0.0.1:${host.grpcPort}?tls=false`);
  raw = new grpc.Client(`127.0.0.1:${host.grpcPort}`, grpc.credentials.createInsecure(),
                        { "grpc.max_send_message_length": 64 * 1024 * 1024 });
});

after(async () => {
  raw?.close();
  await client?.dispose();
  await host?.stop();
});

const identity = (b) => b;

// A raw server-streaming call: resolves with the final status.
function rawRead(bytes) {
  return new Promise((resolve) => {
    const call = raw.makeServerStreamRequest("/event_store.client.streams.Streams/Read", identity, identity, bytes);
    call.on("data", () => {});
    call.on("error", (error) => resolve(error));
    call.on("status", (status) => resolve(status));
  });
}

// A raw client-streaming call sending `messages`: resolves with the error (or null).
function rawAppend(messages) {
  return new Promise((resolve) => {
    const call = raw.makeClientStreamRequest("/event_store.client.streams.Streams/Append", identity, identity,
                                             (error) => resolve(error));
    for (const m of messages) call.write(m);
    call.end();
  });
}

// The daemon is up and answers a new client (a fresh connection: the attack may have left the
// shared client's own connection in any state).
async function stillServes() {
  assert.ok(host.running(), host.log());
  const fresh = KurrentDBClient.connectionString(`kurrentdb://127.0.0.1:${host.grpcPort}?tls=false`);
  try {
    const stream = `alive-${randomUUID()}`;
    await fresh.appendToStream(stream, [jsonEvent({ type: "Alive", data: {} })]);
    assert.equal((await collect(fresh.readStream(stream))).length, 1);
  } finally {
    await fresh.dispose();
  }
}

test("malformed protobuf is refused with a status, and the daemon goes on", async () => {
  for (const bytes of [Buffer.from([0xff, 0xff, 0xff, 0xff]), Buffer.from([0x0a, 0x7f]), Buffer.alloc(64, 0x0a)]) {
    const readStatus = await rawRead(bytes);
    assert.notEqual(readStatus.code, grpc.status.OK, "a read of garbage does not succeed");
    const appendError = await rawAppend([bytes, bytes]);
    assert.ok(appendError, "an append of garbage does not succeed");
    assert.notEqual(appendError.code, grpc.status.OK);
  }
  await stillServes();
});

test("an append whose client goes away after some of its events writes none of them", async () => {
  const stream = `cancelled-${randomUUID()}`;
  const options = new streamsPb.AppendReq.Options();
  const id = new sharedPb.StreamIdentifier();
  id.setStreamName(Buffer.from(stream));
  options.setStreamIdentifier(id);
  options.setAny(new sharedPb.Empty());
  const first = new streamsPb.AppendReq();
  first.setOptions(options);
  const event = () => {
    const message = new streamsPb.AppendReq.ProposedMessage();
    const uuid = new sharedPb.UUID();
    uuid.setString(randomUUID());
    message.setId(uuid);
    message.getMetadataMap().set("type", "Half");
    message.getMetadataMap().set("content-type", "application/json");
    message.setData(Buffer.from("{}"));
    const req = new streamsPb.AppendReq();
    req.setProposedMessage(message);
    return Buffer.from(req.serializeBinary());
  };
  // The client goes away mid-append: its connection drops after the options and two events,
  // with no end of stream (as when the process dies). A plain HTTP/2 client, so that nothing
  // closes the request stream first.
  const frame = (bytes) => {
    const header = Buffer.alloc(5);
    header.writeUInt32BE(bytes.length, 1);
    return Buffer.concat([header, bytes]);
  };
  const session = http2.connect(`http://127.0.0.1:${host.grpcPort}`);
  session.on("error", () => {});
  const request = session.request({ ":method": "POST", ":path": "/event_store.client.streams.Streams/Append",
                                    "content-type": "application/grpc", te: "trailers" });
  request.on("error", () => {});
  request.write(frame(Buffer.from(first.serializeBinary())));
  request.write(frame(event()));
  await new Promise((r) => request.write(frame(event()), r));
  await new Promise((r) => setTimeout(r, 300));
  session.destroy();
  await new Promise((r) => setTimeout(r, 200));
  await assert.rejects(collect(client.readStream(stream)), (error) => error.type === "stream-not-found",
                       "a cancelled append left events behind");
  await stillServes();
});

test("an oversize message is RESOURCE_EXHAUSTED, and nothing is appended", async () => {
  const stream = `huge-${randomUUID()}`;
  const big = jsonEvent({ type: "Huge", data: { blob: "x".repeat(17 * 1024 * 1024) } });
  await assert.rejects(client.appendToStream(stream, [big]), (error) => {
    assert.match(String(error.message ?? error), /RESOURCE_EXHAUSTED|larger than max|exceeds/i);
    return true;
  });
  await assert.rejects(collect(client.readStream(stream)), (error) => error.type === "stream-not-found");
  await stillServes();
});

test("1,000 concurrent subscriptions each get the event; memory stays bounded", async (t) => {
  const stream = `fanout-${randomUUID()}`;
  const before = host.rssKiB();
  const subscriptions = Array.from({ length: 1000 }, () => client.subscribeToStream(stream, { fromRevision: START }));
  const received = subscriptions.map(async (s) => {
    for await (const e of s) return e.event.streamId;
  });
  await new Promise((r) => setTimeout(r, 1000));
  await client.appendToStream(stream, [jsonEvent({ type: "Fanout", data: {} })]);
  const streams = await Promise.all(received);
  assert.equal(streams.filter((s) => s === stream).length, 1000);
  const grown = host.rssKiB() - before;
  t.diagnostic(`daemon RSS +${grown} KiB with 1,000 subscriptions`);
  await Promise.all(subscriptions.map((s) => s.unsubscribe()));
  assert.ok(grown < 200 * 1024, `RSS grew by ${grown} KiB for 1,000 subscriptions`);
  await stillServes();
});

test("a subscriber that stops reading holds the server's memory bounded and loses nothing", async (t) => {
  const stream = `backlog-${randomUUID()}`;
  const payload = "y".repeat(1000);
  const total = 40000;  // ~40 MB of events
  for (let i = 0; i < total; i += 500) {
    await client.appendToStream(stream, Array.from({ length: 500 }, (_, j) => jsonEvent({ type: "B", data: { n: i + j, payload } })));
  }
  const before = host.rssKiB();
  const subscription = client.subscribeToStream(stream, { fromRevision: START });
  // Nobody reads it for a while: the client's buffer fills, flow control stops the server.
  await new Promise((r) => setTimeout(r, 3000));
  const stalled = host.rssKiB() - before;
  t.diagnostic(`daemon RSS +${stalled} KiB while a subscriber did not read a 40 MB backlog`);
  let n = 0;
  for await (const e of subscription) {
    assert.equal(e.event.data.n, n, "in order, no gap");
    if (++n === total) break;
  }
  await subscription.unsubscribe();
  assert.equal(n, total);
  assert.ok(stalled < 30 * 1024, `RSS grew by ${stalled} KiB while the subscriber did not read 40 MB`);
  await stillServes();
});

test("an idle subscription outlives the clients' keep-alive pings (every 10 s) and still gets events", async () => {
  const stream = `idle-${randomUUID()}`;
  const subscription = client.subscribeToStream(stream, { fromRevision: START });
  let dropped = null;
  subscription.on("error", (error) => (dropped = error));
  // gRPC's default policy answers the third ping within 5 min without data with GOAWAY
  // too_many_pings: wait for four.
  await new Promise((r) => setTimeout(r, 45000));
  assert.equal(dropped, null, `the idle subscription was dropped: ${dropped}`);
  await client.appendToStream(stream, [jsonEvent({ type: "AfterIdle", data: {} })]);
  for await (const e of subscription) {
    assert.equal(e.event.type, "AfterIdle");
    break;
  }
  await subscription.unsubscribe();
});

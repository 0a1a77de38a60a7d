// The official KurrentDB Node.js client, unmodified, against sinkhost's gRPC face: appends with
// every expected-revision case, reads in both directions of a stream and of $all, catch-up and
// live subscriptions with each filter kind and their checkpoints, and one log shared with the
// HTTP API. Each assertion is what an application using the client would notice.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";

import {
  KurrentDBClient,
  jsonEvent,
  binaryEvent,
  FORWARDS,
  BACKWARDS,
  START,
  END,
  ANY,
  NO_STREAM,
  STREAM_EXISTS,
  streamNameFilter,
  eventTypeFilter,
  excludeSystemEvents,
  WrongExpectedVersionError,
  StreamNotFoundError,
  AccessDeniedError,
} from "@kurrent/kurrentdb-client";

import { startSinkhost, collect } from "./harness.mjs";

let host;
let client;

before(async () => {
  host = await startSinkhost();
  client = KurrentDBClient.connectionString(`kurrentdb://127.0.0.1:${host.grpcPort}?tls=false`);
});

after(async () => {
  await client?.dispose();
  await host?.stop();
});

const unique = (name) => `${name}-${randomUUID().slice(0, 8)}`;
const events = (n, type = "Happened") => Array.from({ length: n }, (_, i) => jsonEvent({ type, data: { i } }));

// Waits until `predicate` holds, polling; fails with `what` after `ms`.
async function eventually(predicate, what, ms = 10000) {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// Reads a subscription until `count` events arrived (or `ms` passed), then unsubscribes.
async function take(subscription, count, ms = 10000) {
  const out = [];
  const timer = setTimeout(() => subscription.unsubscribe(), ms);
  for await (const e of subscription) {
    out.push(e);
    if (out.length >= count) break;
  }
  clearTimeout(timer);
  await subscription.unsubscribe();
  return out;
}

// The Node.js client appends with BatchAppend when the server lists it and the call carries no
// credentials of its own, and with Append otherwise: every case runs through both. (Credentials
// are ignored by a daemon without --auth.)
for (const rpc of ["BatchAppend", "Append"]) {
const via = rpc === "Append" ? { credentials: { username: "any", password: "any" } } : {};
describe(`append (${rpc})`, () => {
  test("any: creates the stream and returns the next expected revision and the log position", async () => {
    const stream = unique("any");
    const first = await client.appendToStream(stream, events(3), via);
    assert.equal(first.success, true);
    assert.equal(first.nextExpectedRevision, 2n);
    assert.ok(first.position.commit > 0n);
    assert.equal(first.position.commit, first.position.prepare);
    const second = await client.appendToStream(stream, events(1), { streamState: ANY, ...via });
    assert.equal(second.nextExpectedRevision, 3n);
    assert.equal(second.position.commit, first.position.commit + 1n);
  });

  test("no_stream: succeeds on a new stream, refuses an existing one with expected and actual", async () => {
    const stream = unique("nostream");
    const created = await client.appendToStream(stream, events(2), { streamState: NO_STREAM, ...via });
    assert.equal(created.nextExpectedRevision, 1n);
    await assert.rejects(client.appendToStream(stream, events(1), { streamState: NO_STREAM, ...via }), (error) => {
      assert.ok(error instanceof WrongExpectedVersionError, String(error));
      assert.equal(error.streamName, stream);
      assert.equal(error.expectedState, NO_STREAM);
      assert.equal(error.actualState, 1n);
      return true;
    });
    assert.equal((await collect(client.readStream(stream))).length, 2, "nothing was appended by the refused call");
  });

  test("stream_exists: refuses a missing stream, succeeds on an existing one", async () => {
    const stream = unique("exists");
    await assert.rejects(client.appendToStream(stream, events(1), { streamState: STREAM_EXISTS, ...via }), (error) => {
      assert.ok(error instanceof WrongExpectedVersionError, String(error));
      assert.equal(error.expectedState, STREAM_EXISTS);
      assert.equal(error.actualState, NO_STREAM);
      return true;
    });
    await client.appendToStream(stream, events(1), via);
    const result = await client.appendToStream(stream, events(1), { streamState: STREAM_EXISTS, ...via });
    assert.equal(result.nextExpectedRevision, 1n);
  });

  test("an exact revision: succeeds when it is the last one, refuses any other", async () => {
    const stream = unique("exact");
    await client.appendToStream(stream, events(3), via);
    const ok = await client.appendToStream(stream, events(1), { streamState: 2n, ...via });
    assert.equal(ok.nextExpectedRevision, 3n);
    await assert.rejects(client.appendToStream(stream, events(1), { streamState: 1n, ...via }), (error) => {
      assert.ok(error instanceof WrongExpectedVersionError, String(error));
      assert.equal(error.expectedState, 1n);
      assert.equal(error.actualState, 3n);
      return true;
    });
    await assert.rejects(client.appendToStream(unique("exact-missing"), events(1), { streamState: 0n, ...via }),
                         (error) => error instanceof WrongExpectedVersionError && error.actualState === NO_STREAM);
  });

  test("an append of no events checks the expected revision and writes nothing", async () => {
    const stream = unique("empty");
    const none = await client.appendToStream(stream, [], { streamState: NO_STREAM, ...via });
    assert.equal(none.success, true);
    await assert.rejects(collect(client.readStream(stream)), (error) => error instanceof StreamNotFoundError);
    await client.appendToStream(stream, events(2), via);
    const ok = await client.appendToStream(stream, [], { streamState: 1n, ...via });
    assert.equal(ok.nextExpectedRevision, 1n);
    await assert.rejects(client.appendToStream(stream, [], { streamState: NO_STREAM, ...via }),
                         (error) => error instanceof WrongExpectedVersionError && error.actualState === 1n);
    assert.equal((await collect(client.readStream(stream))).length, 2);
  });

  test("retrying the same event ids is accepted and appends nothing twice", async () => {
    const stream = unique("idempotent");
    const batch = events(3).map((e) => ({ ...e, id: randomUUID() }));
    const first = await client.appendToStream(stream, batch, via);
    const retry = await client.appendToStream(stream, batch, via);
    assert.equal(retry.success, true);
    assert.equal(retry.nextExpectedRevision, first.nextExpectedRevision);
    const read = await collect(client.readStream(stream));
    assert.deepEqual(read.map((e) => e.event.id), batch.map((e) => e.id));
  });

  test("event ids reused with other events are refused (FAILED_PRECONDITION) and nothing is appended", async () => {
    const stream = unique("reused");
    const id = randomUUID();
    await client.appendToStream(stream, [{ ...events(1)[0], id }, ...events(1)], via);
    await assert.rejects(client.appendToStream(stream, [{ ...events(1)[0], id }, ...events(2)], via),
                         (error) => /is already in stream .* but the rest of this batch differs/.test(error.message));
    assert.equal((await collect(client.readStream(stream))).length, 2);
  });

  test("JSON and binary events keep their data, metadata, type and content type", async () => {
    const stream = unique("kinds");
    const bytes = Uint8Array.from([0, 1, 2, 250, 255]);
    await client.appendToStream(stream, [
      jsonEvent({ type: "Json", data: { text: "héllo", n: 1 }, metadata: { correlationId: "c-1" } }),
      binaryEvent({ type: "Bin", data: bytes, metadata: Uint8Array.from([9, 8, 7]) }),
    ], via);
    const [json, bin] = await collect(client.readStream(stream));
    assert.equal(json.event.type, "Json");
    assert.equal(json.event.isJson, true);
    assert.deepEqual(json.event.data, { text: "héllo", n: 1 });
    assert.deepEqual(json.event.metadata, { correlationId: "c-1" });
    assert.equal(json.event.streamId, stream);
    assert.ok(Math.abs(new Date(json.event.created).getTime() - Date.now()) < 60000, `created ${json.event.created}`);
    assert.equal(bin.event.type, "Bin");
    assert.equal(bin.event.isJson, false);
    assert.deepEqual(Uint8Array.from(bin.event.data), bytes);
    assert.deepEqual(Uint8Array.from(bin.event.metadata), Uint8Array.from([9, 8, 7]));
  });

  test("a system stream ($...) is refused as access denied, and nothing is appended", async () => {
    await assert.rejects(client.appendToStream("$settings", events(1), via), (error) => error instanceof AccessDeniedError);
  });
});
}

describe("connect", () => {
  test("esdb:// and discovery connection strings find this node as the leader (Gossip)", async () => {
    for (const url of [`esdb://127.0.0.1:${host.grpcPort}?tls=false`,
                       `kurrentdb+discover://127.0.0.1:${host.grpcPort}?tls=false`,
                       `kurrentdb://127.0.0.1:${host.grpcPort},127.0.0.1:${host.grpcPort}?tls=false`]) {
      const other = KurrentDBClient.connectionString(url);
      try {
        const stream = unique("connect");
        await other.appendToStream(stream, events(1));
        assert.equal((await collect(other.readStream(stream))).length, 1, url);
      } finally {
        await other.dispose();
      }
    }
  });
});

describe("read", () => {
  let stream;
  let positions;

  before(async () => {
    stream = unique("read");
    positions = [];
    for (let i = 0; i < 5; i++) positions.push((await client.appendToStream(stream, events(1))).position.commit);
  });

  test("a stream forwards from the start, from a revision, with a count", async () => {
    const all = await collect(client.readStream(stream, { direction: FORWARDS, fromRevision: START }));
    assert.deepEqual(all.map((e) => e.event.revision), [0n, 1n, 2n, 3n, 4n]);
    assert.deepEqual(all.map((e) => e.event.position.commit), positions);
    assert.deepEqual(all.map((e) => e.event.data.i), [0, 0, 0, 0, 0]);
    const some = await collect(client.readStream(stream, { fromRevision: 2n, maxCount: 2 }));
    assert.deepEqual(some.map((e) => e.event.revision), [2n, 3n]);
  });

  test("a stream backwards from the end and from a revision", async () => {
    const back = await collect(client.readStream(stream, { direction: BACKWARDS, fromRevision: END }));
    assert.deepEqual(back.map((e) => e.event.revision), [4n, 3n, 2n, 1n, 0n]);
    const fromTwo = await collect(client.readStream(stream, { direction: BACKWARDS, fromRevision: 2n, maxCount: 10 }));
    assert.deepEqual(fromTwo.map((e) => e.event.revision), [2n, 1n, 0n]);
  });

  test("$all forwards from a position and backwards from the end", async () => {
    const from = { commit: positions[1], prepare: positions[1] };
    const forwards = await collect(client.readAll({ fromPosition: from, maxCount: 100 }));
    const mine = forwards.filter((e) => e.event?.streamId === stream);
    assert.deepEqual(mine.map((e) => e.event.revision), [1n, 2n, 3n, 4n]);
    const ordered = forwards.map((e) => e.event.position.commit);
    assert.deepEqual(ordered, [...ordered].sort((a, b) => (a < b ? -1 : 1)));
    const backwards = await collect(client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 3 }));
    assert.equal(backwards.length, 3);
    assert.ok(backwards[0].event.position.commit > backwards[1].event.position.commit);
  });

  test("an unknown stream is StreamNotFoundError", async () => {
    await assert.rejects(collect(client.readStream(unique("missing"))), (error) => error instanceof StreamNotFoundError);
  });

  test("events appended over HTTP and over gRPC are one log", async () => {
    const shared = unique("shared");
    const viaHttp = await host.http("POST", `/streams/${shared}`, [
      { eventId: randomUUID(), eventType: "FromHttp", data: { via: "http" } },
    ]);
    assert.equal(viaHttp.status, 201, await viaHttp.text());
    const viaGrpc = await client.appendToStream(shared, [jsonEvent({ type: "FromGrpc", data: { via: "grpc" } })],
                                                { streamState: 0n });
    assert.equal(viaGrpc.nextExpectedRevision, 1n);
    const read = await collect(client.readStream(shared));
    assert.deepEqual(read.map((e) => [e.event.type, e.event.data.via]), [["FromHttp", "http"], ["FromGrpc", "grpc"]]);
    const httpEvents = (await (await host.http("GET", `/streams/${shared}?from=0&count=10`)).json()).events;
    assert.equal(httpEvents.length, 2);
    assert.equal(BigInt(httpEvents[1].position), viaGrpc.position.commit);
  });
});

describe("subscribe", () => {
  test("to a stream: catch-up then live, confirmation first, no gap or duplicate at the switch", async () => {
    const stream = unique("sub");
    await client.appendToStream(stream, events(3));
    const subscription = client.subscribeToStream(stream, { fromRevision: START });
    let confirmed = false;
    let caughtUp = false;
    subscription.on("confirmation", () => (confirmed = true));
    subscription.on("caughtUp", () => (caughtUp = true));
    const writer = (async () => {
      await eventually(() => caughtUp, "caughtUp");
      await client.appendToStream(stream, events(2));
    })();
    const got = await take(subscription, 5);
    await writer;
    assert.ok(confirmed);
    assert.deepEqual(got.map((e) => e.event.revision), [0n, 1n, 2n, 3n, 4n]);
  });

  test("to a stream from a revision: only the events after it", async () => {
    const stream = unique("subrev");
    await client.appendToStream(stream, events(4));
    const got = await take(client.subscribeToStream(stream, { fromRevision: 1n }), 2);
    assert.deepEqual(got.map((e) => e.event.revision), [2n, 3n]);
  });

  test("to $all from the end: only what is appended afterwards", async () => {
    const stream = unique("suball");
    const subscription = client.subscribeToAll({ fromPosition: END });
    let confirmed = false;
    subscription.on("confirmation", () => (confirmed = true));
    const writer = (async () => {
      await eventually(() => confirmed, "confirmation");
      await client.appendToStream(stream, events(2));
    })();
    const got = await take(subscription, 2);
    await writer;
    assert.deepEqual(got.map((e) => [e.event.streamId, e.event.revision]), [[stream, 0n], [stream, 1n]]);
  });

  // Each filter kind, on a log where most events do not match.
  const filterCases = [
    ["stream-name prefixes", (p) => streamNameFilter({ prefixes: [`${p}-keep`] })],
    ["stream-name regex (a search, not a whole-name match)", (p) => streamNameFilter({ regex: `${p}-ke+p` })],
    ["event-type prefixes", (p) => eventTypeFilter({ prefixes: [`Kept${p}`] })],
    ["event-type regex", (p) => eventTypeFilter({ regex: `^Kept${p}$` })],
  ];
  for (const [name, makeFilter] of filterCases) {
    test(`to $all with a server-side filter: ${name}`, async () => {
      const p = randomUUID().slice(0, 8);
      const start = (await client.appendToStream(unique("before"), events(1))).position;
      await client.appendToStream(`${p}-keep-1`, events(2, `Kept${p}`));
      await client.appendToStream(`${p}-drop-1`, events(3, `Dropped${p}`));
      await client.appendToStream(`${p}-keep-2`, events(1, `Kept${p}`));
      const got = await take(client.subscribeToAll({ fromPosition: start, filter: makeFilter(p) }), 3);
      assert.deepEqual(got.map((e) => e.event.streamId), [`${p}-keep-1`, `${p}-keep-1`, `${p}-keep-2`]);
    });
  }

  test("checkpoints arrive at the requested interval with positions that only move forward", async () => {
    const p = randomUUID().slice(0, 8);
    const start = (await client.appendToStream(unique("cp-before"), events(1))).position;
    for (let i = 0; i < 10; i++) await client.appendToStream(`${p}-noise`, events(10, "Noise"));
    await client.appendToStream(`${p}-wanted`, events(1));
    const checkpoints = [];
    const filter = streamNameFilter({
      prefixes: [`${p}-wanted`],
      maxSearchWindow: 8,
      checkpointInterval: 2,
      checkpointReached: (_, position) => checkpoints.push(position.commit),
    });
    const got = await take(client.subscribeToAll({ fromPosition: start, filter }), 1);
    assert.equal(got[0].event.streamId, `${p}-wanted`);
    // 100 noise events looked at, a checkpoint every 8 x 2 of them.
    assert.ok(checkpoints.length >= 100 / 16 - 1, `checkpoints: ${checkpoints}`);
    assert.deepEqual(checkpoints, [...checkpoints].sort((a, b) => (a < b ? -1 : 1)));
    assert.ok(checkpoints[0] > start.commit);
  });

  test("excludeSystemEvents keeps every event a client appended", async () => {
    const stream = unique("nosys");
    const start = (await client.appendToStream(unique("nosys-before"), events(1))).position;
    await client.appendToStream(stream, events(2));
    const got = await take(client.subscribeToAll({ fromPosition: start, filter: excludeSystemEvents() }), 2);
    assert.deepEqual(got.map((e) => e.event.streamId), [stream, stream]);
  });
});

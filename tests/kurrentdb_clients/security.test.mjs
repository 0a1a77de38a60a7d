// TLS and HTTP Basic credentials on the gRPC face: the same certificate and users as the HTTP
// API. A client with the CA and a valid user works; a wrong password or no credentials is
// refused, and nothing is appended.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";

import { KurrentDBClient, jsonEvent, AccessDeniedError } from "@kurrent/kurrentdb-client";

import { startSinkhost, collect } from "./harness.mjs";

let host;
const clients = [];

before(async () => {
  host = await startSinkhost({ tls: true, users: { alice: "s3cret-Pass_1" } });
});

after(async () => {
  for (const c of clients) await c.dispose();
  await host?.stop();
});

function connect(userinfo) {
  const ca = encodeURIComponent(host.certificates.ca);
  const client = KurrentDBClient.connectionString(
    `kurrentdb://${userinfo}127.0.0.1:${host.grpcPort}?tls=true&tlsCAFile=${ca}`);
  clients.push(client);
  return client;
}

describe("TLS and credentials", () => {
  test("a valid user over TLS appends, reads and subscribes", async () => {
    const client = connect("alice:s3cret-Pass_1@");
    const stream = `secure-${randomUUID()}`;
    const result = await client.appendToStream(stream, [jsonEvent({ type: "T", data: { n: 1 } })]);
    assert.equal(result.nextExpectedRevision, 0n);
    const read = await collect(client.readStream(stream));
    assert.deepEqual(read.map((e) => e.event.data), [{ n: 1 }]);
    const subscription = client.subscribeToStream(stream);
    for await (const e of subscription) {
      assert.equal(e.event.streamId, stream);
      break;
    }
    await subscription.unsubscribe();
  });

  test("a wrong password is refused (AccessDeniedError) and appends nothing", async () => {
    const stream = `wrong-${randomUUID()}`;
    await assert.rejects(connect("alice:wrong@").appendToStream(stream, [jsonEvent({ type: "T", data: {} })]),
                         (error) => error instanceof AccessDeniedError);
    const good = connect("alice:s3cret-Pass_1@");
    await assert.rejects(collect(good.readStream(stream)), (error) => error.type === "stream-not-found");
  });

  test("no credentials are refused for reads and subscriptions too", async () => {
    const anonymous = connect("");
    await assert.rejects(collect(anonymous.readAll({ maxCount: 1 })), (error) => error instanceof AccessDeniedError);
    const subscription = anonymous.subscribeToAll();
    await assert.rejects(
      (async () => {
        for await (const e of subscription) assert.fail(`an event reached an anonymous subscriber: ${e.event?.id}`);
      })(),
      (error) => error instanceof AccessDeniedError);
  });

  test("a plaintext client cannot talk to the TLS listener", async () => {
    const plain = KurrentDBClient.connectionString(`kurrentdb://alice:x@127.0.0.1:${host.grpcPort}?tls=false`);
    clients.push(plain);
    await assert.rejects(plain.appendToStream("never", [jsonEvent({ type: "T", data: {} })]));
  });
});

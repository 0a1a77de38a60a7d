// A real daemon answers a run of requests covering every operation of the description; each
// response is checked against it: its status is described for that operation, its content type
// too, and its body fits the schema (Ajv, draft 2020-12). Every operation must have answered
// with a 2xx (or the redirect it describes) at least once, and GET /openapi.json must serve the file itself.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { startSinkhost } from "../kurrentdb_clients/harness.mjs";
import { checkResponse, findOperation, loadDescription, operations, pointer, schemaCompiler } from "./openapi.mjs";

const doc = loadDescription();
const compile = schemaCompiler(doc);
const covered = new Set();  // "GET /connectors/{id}" that answered 2xx
const problems = [];

// One request over node:http (fetch refuses a GET with a body, which the list route takes).
function send(port, method, target, { body, type = "application/json", headers = {} } = {}) {
  const payload = body === undefined ? undefined : typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, method, path: target,
                              // Content-Length always: Node sends a GET's body without one (nor chunked).
                              headers: { ...(payload !== undefined ? { "content-type": type, "content-length": Buffer.byteLength(payload) } : {}),
                                         ...headers } }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, headers: new Headers(res.headers), body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

// Sends a request, checks the response against the description and returns it (body parsed).
async function call(port, method, target, options = {}, expected = undefined) {
  const response = await send(port, method, target, options);
  const found = findOperation(doc, method, target);
  if (found?.operation) {
    problems.push(...checkResponse(doc, compile, found, response));
    if (response.status < 400) covered.add(`${method} ${found.path}`);
  } else {
    // Not an operation of the description: the server must not serve it.
    assert.ok([404, 405].includes(response.status), `${method} ${target} is not described but answered ${response.status}`);
    const validate = compile(pointer("components", "schemas", "Status"));
    if (!validate(JSON.parse(response.body))) problems.push(`${method} ${target}: ${JSON.stringify(validate.errors)}`);
  }
  if (expected !== undefined) assert.equal(response.status, expected, `${method} ${target}: ${response.body}`);
  const json = (response.headers.get("content-type") || "").startsWith("application/json") ? JSON.parse(response.body) : response.body;
  return { ...response, json };
}

const uuid = (n) => `0f9a1f2c-5a6b-4c7d-8e9f-${String(n).padStart(12, "0")}`;
let host;
let port;

before(async () => {
  host = await startSinkhost();
  port = host.httpPort;
});
after(async () => host && (await host.stop()));

test("health, readiness, metrics and the description", async () => {
  await call(port, "GET", "/health", {}, 200);
  for (let i = 0; i < 200 && (await call(port, "GET", "/ready")).status !== 200; ++i) await new Promise((r) => setTimeout(r, 50));
  await call(port, "GET", "/ready", {}, 200);
  const served = await call(port, "GET", "/openapi.json", {}, 200);
  assert.equal(served.headers.get("content-type"), "application/json");
  const file = loadDescription();
  assert.equal(typeof served.json.info.version, "string");
  file.info.version = served.json.info.version;  // the host's own version is served
  assert.deepEqual(served.json, file, "GET /openapi.json serves management_api/openapi/openapi.json");
  await call(port, "DELETE", "/health", {}, 405);
  await call(port, "GET", "/no-such-route", {}, 404);
});

test("streams: append, read, errors", async () => {
  const batch = [
    { eventId: uuid(1), eventType: "OrderPlaced", data: { orderId: "order-1", total: 12.5 }, metadata: { tenant: "acme" } },
    { eventId: uuid(2), eventType: "OrderPaid", data: { orderId: "order-1" } },
  ];
  const appended = await call(port, "POST", "/streams/order-1", { body: batch, type: "application/vnd.eventstore.events+json" }, 201);
  assert.equal(appended.headers.get("location"), "/streams/order-1/0");
  await call(port, "POST", "/streams/order-1", { body: batch }, 201);  // idempotent re-send
  await call(port, "POST", "/streams/order-1",
             { body: { orderId: "order-1", carrier: "ups" }, headers: { "es-eventtype": "OrderShipped", "es-eventid": uuid(3) } }, 201);
  await call(port, "POST", "/streams/blobs-1",
             { body: Buffer.from("not json \x01\x02"), type: "application/octet-stream", headers: { "es-eventtype": "Blob", "es-eventid": uuid(4) } }, 201);
  const conflict = await call(port, "POST", "/streams/order-1",
                              { body: [{ eventId: uuid(5), eventType: "X" }], headers: { "es-expectedversion": "1" } }, 409);
  assert.equal(conflict.headers.get("es-currentversion"), "2");
  await call(port, "POST", "/streams/$system", { body: [{ eventId: uuid(6), eventType: "X" }] }, 403);
  await call(port, "POST", "/streams/order-1", { body: "[]", type: "text/plain" }, 415);
  const bad = await call(port, "POST", "/streams/order-1", { body: [{ eventId: "nope", eventType: "" }] }, 400);
  assert.deepEqual(bad.json.details[0]?.fieldViolations.map((v) => v.field), ["[0].eventId", "[0].eventType"], bad.body);

  const page = await call(port, "GET", "/streams/order-1?from=0&count=2", {}, 200);
  assert.equal(page.json.nextFrom, 2);
  await call(port, "GET", "/streams/order-1?direction=backward&count=1", {}, 200);
  await call(port, "GET", "/streams/order-1?count=0", {}, 400);
  await call(port, "GET", "/streams/no-such-stream", {}, 404);
  const all = await call(port, "GET", "/streams/$all?from=1&count=10", {}, 200);
  assert.equal(all.json.events.at(-1).dataBase64, Buffer.from("not json \x01\x02").toString("base64"));
  await call(port, "GET", "/streams/%24all?direction=backward", {}, 200);
});

test("connector plugins and validation", async () => {
  await call(port, "GET", "/connector-plugins", {}, 200);
  await call(port, "PUT", "/connector-plugins/kafka-sink/config/validate",
             { body: { topic: "orders", BootstrapServers: "127.0.0.1:9092" } }, 200);
  // The connection report (nothing listens on port 1: the check fails, and says where).
  const checked = await call(port, "PUT", "/connector-plugins/kafka-sink/config/validate?checkConnection=true&timeoutSeconds=2",
                             { body: { settings: { topic: "orders", bootstrapServers: "127.0.0.1:1" } } }, 200);
  assert.equal(checked.json.connection.ok, false);
  const invalid = await call(port, "PUT", "/connector-plugins/logger-sink/config/validate",
                             { body: { output: "file", colour: "blue" } }, 400);
  assert.ok(invalid.json.details[0]?.fieldViolations.some((v) => v.field === "colour"), invalid.body);
  await call(port, "PUT", "/connector-plugins/logger-sink/config/validate?checkConnection=maybe", { body: {} }, 400);
  await call(port, "PUT", "/connector-plugins/no-such-sink/config/validate", { body: {} }, 404);
});

test("connectors: create, read, list, reconfigure, rename", async () => {
  const settings = { instanceTypeName: "logger-sink", "subscription:filter:scope": "stream",
                     "subscription:filter:filterType": "prefix", "subscription:filter:expression": "order-",
                     "subscription:initialPosition": "earliest" };
  assert.deepEqual((await call(port, "POST", "/connectors/demo-sink", { body: { name: "Demo logger", settings } }, 200)).json, {});
  await call(port, "POST", "/connectors/nested-sink",
             { body: { configuration: { instanceTypeName: "logger-sink", subscription: { initialPosition: "earliest" },
                                        autocommit: { interval: 1000 } } } }, 200);
  const warned = await call(port, "POST", "/connectors/compat-sink",
                            { body: { settings: { instanceTypeName: "logger-sink", "resilience:enabled": "true" } } }, 200);
  assert.equal(warned.json.warnings[0].field, "resilience:enabled");
  const exists = await call(port, "POST", "/connectors/demo-sink", { body: { settings } }, 409);
  assert.equal(exists.json.code, 6);
  const broken = await call(port, "POST", "/connectors/broken-sink",
                            { body: { settings: { instanceTypeName: "logger-sink", output: "file", colour: "blue" } } }, 400);
  assert.deepEqual(broken.json.details[0]?.fieldViolations.map((v) => v.field).sort(), ["colour", "path"], broken.body);
  await call(port, "POST", "/connectors/x", { body: { settings } }, 400);
  await call(port, "POST", "/connectors/demo-sink", { body: "{", type: "application/json" }, 400);

  assert.equal((await call(port, "GET", "/connectors/demo-sink", {}, 200)).json.state, "CONNECTOR_STATE_STOPPED");
  await call(port, "GET", "/connectors/no-such-sink", {}, 404);
  assert.equal((await call(port, "GET", "/connectors", {}, 200)).json.totalSize, 3);
  const withSettings = await call(port, "GET", "/connectors?includeSettings=true", {}, 200);
  assert.equal(withSettings.json.items.find((c) => c.connectorId === "demo-sink").settings["subscription:filter:expression"], "order-");
  await call(port, "GET", "/connectors?includeConfiguration=true&state=stopped&instanceTypeName=logger-sink", {}, 200);
  await call(port, "GET", "/connectors?pageSize=1&page=2&connectorId=demo-sink&connectorId=nested-sink", {}, 200);
  await call(port, "GET", "/connectors?paging.pageSize=1&paging.page=1&showDeleted=false", {}, 200);
  await call(port, "GET", "/connectors", { body: { state: [], instanceType: [], connectorId: [] } }, 200);
  const filtered = await call(port, "GET", "/connectors", { body: { connectorId: ["nested-sink"], paging: { pageSize: 1 } } }, 200);
  assert.deepEqual(filtered.json.items.map((c) => c.connectorId), ["nested-sink"]);
  const badList = await call(port, "GET", "/connectors?state=sleeping&pageSize=1000&colour=blue", {}, 400);
  assert.equal(badList.json.details[0]?.fieldViolations.length, 3, badList.body);

  await call(port, "GET", "/connectors/nested-sink/settings", {}, 200);
  await call(port, "GET", "/connectors/nested-sink/configuration", {}, 200);
  await call(port, "GET", "/connectors/no-such-sink/settings", {}, 404);
  await call(port, "PUT", "/connectors/demo-sink/settings",
             { body: { instanceTypeName: "logger-sink", includeHeaders: "true", "subscription:initialPosition": "earliest" } }, 200);
  await call(port, "PUT", "/connectors/nested-sink/configuration",
             { body: { instanceTypeName: "logger-sink", subscription: { filter: { expression: "^order-" } } } }, 200);
  const compat = await call(port, "PUT", "/connectors/nested-sink",
                            { body: { instanceTypeName: "logger-sink", "subscription:filter:expression": "^order-", "resilience:enabled": "true" } }, 200);
  assert.equal(compat.json.warnings.length, 1);
  await call(port, "PUT", "/connectors/demo-sink/settings", { body: { instanceTypeName: "logger-sink", colour: "blue" } }, 400);
  await call(port, "PUT", "/connectors/no-such-sink/settings", { body: { instanceTypeName: "logger-sink" } }, 404);
  await call(port, "PUT", "/connectors/demo-sink/rename", { body: { name: "Orders logger" } }, 200);
  await call(port, "PUT", "/connectors/demo-sink/rename", { body: { title: "x" } }, 400);
  await call(port, "PUT", "/connectors/no-such-sink/rename", { body: { name: "Orders logger" } }, 404);
});

test("connectors: start, stop, reset, delete", async () => {
  await call(port, "POST", "/connectors/demo-sink/start", {}, 200);
  assert.equal((await call(port, "GET", "/connectors/demo-sink", {}, 200)).json.state, "CONNECTOR_STATE_RUNNING");
  assert.equal((await call(port, "POST", "/connectors/demo-sink/start", {}, 409)).json.code, 9);
  await call(port, "POST", "/connectors/demo-sink/reset", {}, 409);
  await call(port, "DELETE", "/connectors/demo-sink", {}, 409);
  await call(port, "GET", "/connectors?state=CONNECTOR_STATE_RUNNING&includeSettings=true", {}, 200);
  const metrics = await call(port, "GET", "/metrics", {}, 200);
  assert.match(metrics.body, /sinkhost_connector_state\{connector="demo-sink",type="logger-sink",state="CONNECTOR_STATE_RUNNING"\} 1/);
  await call(port, "POST", "/connectors/demo-sink/stop", {}, 200);
  await call(port, "POST", "/connectors/demo-sink/stop", {}, 200);
  await call(port, "POST", "/connectors/demo-sink/start/3", {}, 200);
  await call(port, "POST", "/connectors/demo-sink/stop", {}, 200);
  await call(port, "POST", "/connectors/demo-sink/reset", {}, 200);
  await call(port, "POST", "/connectors/demo-sink/stop", {}, 200);
  await call(port, "POST", "/connectors/demo-sink/reset/2", {}, 200);
  await call(port, "POST", "/connectors/demo-sink/reset/2", {}, 409);
  await call(port, "POST", "/connectors/demo-sink/stop", {}, 200);
  // Give the connector time to commit, so the position field shows (schema: integer).
  await call(port, "GET", "/connectors/demo-sink", {}, 200);
  await call(port, "POST", "/connectors/demo-sink/start/abc", {}, 400);
  await call(port, "POST", "/connectors/demo-sink/reset/-1", {}, 400);
  await call(port, "POST", "/connectors/no-such-sink/start", {}, 404);
  await call(port, "POST", "/connectors/no-such-sink/start/1", {}, 404);
  await call(port, "POST", "/connectors/no-such-sink/stop", {}, 404);
  await call(port, "POST", "/connectors/no-such-sink/reset", {}, 404);
  await call(port, "POST", "/connectors/no-such-sink/reset/1", {}, 404);
  await call(port, "POST", "/connectors/demo-sink/stop/1", {}, 404);
  await call(port, "GET", "/connectors/demo-sink/start", {}, 405);
  await call(port, "DELETE", "/connectors/demo-sink", {}, 200);
  await call(port, "DELETE", "/connectors/demo-sink", {}, 404);
  await call(port, "GET", "/connectors/demo-sink", {}, 404);
  const deleted = await call(port, "GET", "/connectors?showDeleted=true&connectorId=demo-sink", {}, 200);
  assert.equal(typeof deleted.json.items[0].deleteTime, "string");
});

test("the status page", async () => {
  const page = await call(port, "GET", "/ui/", {}, 200);
  assert.match(page.body, /<script src="app.js"><\/script>/);
  await call(port, "HEAD", "/ui/", {}, 200);
  assert.equal((await call(port, "GET", "/ui", {}, 301)).headers.get("location"), "/ui/");
  await call(port, "HEAD", "/ui", {}, 301);
  await call(port, "GET", "/ui/app.js", {}, 200);
  await call(port, "HEAD", "/ui/style.css", {}, 200);
  await call(port, "GET", "/ui/secrets.txt", {}, 404);
  await call(port, "POST", "/ui/", { body: {} }, 405);
});

test("with --auth basic: 401 without credentials, probes open", async () => {
  const secured = await startSinkhost({ users: { alice: "alice-password-1" } });
  try {
    const p = secured.httpPort;
    const denied = await call(p, "GET", "/connectors", {}, 401);
    assert.equal(denied.headers.get("www-authenticate"), 'Basic realm="sinkhost"');
    await call(p, "GET", "/openapi.json", {}, 401);
    await call(p, "GET", "/health", {}, 200);
    const basic = { authorization: "Basic " + Buffer.from("alice:alice-password-1").toString("base64") };
    await call(p, "GET", "/openapi.json", { headers: basic }, 200);
    await call(p, "GET", "/metrics", { headers: { authorization: "Basic " + Buffer.from("alice:wrong").toString("base64") } }, 401);
  } finally {
    await secured.stop();
  }
});

test("every response fitted the description, and every operation answered 2xx (or 3xx) once", () => {
  assert.deepEqual(problems, []);
  const missing = operations(doc).map((o) => `${o.method} ${o.path}`).filter((o) => !covered.has(o));
  assert.deepEqual(missing, [], "operations this test never got a 2xx from");
});

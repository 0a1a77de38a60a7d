// The status page (GET /ui/) in a real browser: Debian's headless Chromium, driven with
// puppeteer-core, against a sinkhost with --auth basic over HTTPS. It asserts what a user sees:
// the connector rows (state, position, delivered count), the buttons' effect, and API errors
// shown on the page; and it keeps a screenshot (SINKHOST_UI_ARTIFACTS, docs/status-page.md).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import puppeteer from "puppeteer-core";
import { startSinkhost } from "../kurrentdb_clients/harness.mjs";

const user = "operator";
const password = "ui-test-password-1";
const host = await startSinkhost({ tls: true, users: { [user]: password } });
const base = `https://127.0.0.1:${host.httpPort}`;
const browser = await puppeteer.launch({
  executablePath: process.env.SINKHOST_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  // Root in a container: no sandbox. The test CA is not in the browser's store.
  args: ["--no-sandbox", "--ignore-certificate-errors", "--disable-gpu"],
  defaultViewport: { width: 1200, height: 360 },
});
after(async () => {
  await browser.close();
  await host.stop();
});

// The HTTP API with the test user, through curl (the server's certificate checked with the test CA).
function api(method, path, body) {
  const args = ["-sS", "--cacert", host.certificates.ca, "-u", `${user}:${password}`, "-X", method,
                "-w", "\n%{http_code}", `${base}${path}`];
  if (body !== undefined) args.push("-H", "content-type: application/json", "-d", JSON.stringify(body));
  const out = execFileSync("curl", args, { encoding: "utf8" });
  const cut = out.lastIndexOf("\n");
  return { status: Number(out.slice(cut + 1)), body: out.slice(0, cut) };
}

async function rowText(page, id) {
  return page.$eval(`tr[data-connector-id="${id}"]`, (row) => ({
    state: row.querySelector(".state").textContent,
    position: row.querySelector(".position").textContent,
    delivered: row.querySelector(".delivered").textContent,
    error: row.querySelector(".error-cell").textContent,
  }));
}

async function waitForRow(page, id, predicate, what) {
  const deadline = Date.now() + 15000;
  let last;
  while (Date.now() < deadline) {
    last = await page.$(`tr[data-connector-id="${id}"]`) ? await rowText(page, id) : undefined;
    if (last && predicate(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`row ${id}: ${what}; last seen ${JSON.stringify(last)}`);
}

test("the page shows each connector with state, position and delivered count, live", async () => {
  assert.equal(api("POST", "/connectors/ui-orders", { settings: { instanceTypeName: "logger-sink",
    "subscription:filter:scope": "stream", "subscription:filter:filterType": "prefix",
    "subscription:filter:expression": "order-" } }).status, 200);
  assert.equal(api("POST", "/connectors/ui-audit", { settings: { instanceTypeName: "logger-sink" } }).status, 200);
  assert.equal(api("POST", "/connectors/ui-orders/start").status, 200);

  const page = await browser.newPage();
  await page.authenticate({ username: user, password });
  const response = await page.goto(`${base}/ui/`, { waitUntil: "load" });
  assert.equal(response.status(), 200);
  assert.equal(await page.title(), "sinkhost connectors");

  await waitForRow(page, "ui-orders", (r) => r.state === "RUNNING", "running");
  const audit = await waitForRow(page, "ui-audit", (r) => r.state === "STOPPED", "stopped");
  assert.equal(audit.delivered, "0");

  const events = Array.from({ length: 5 }, (_, i) => ({ eventId: crypto.randomUUID(), eventType: "OrderPlaced",
                                                        data: { order: i } }));
  assert.equal(api("POST", "/streams/order-1", events).status, 201);
  const orders = await waitForRow(page, "ui-orders", (r) => r.delivered === "5" && r.position !== "—",
                                  "5 delivered and a position");
  assert.match(orders.position, /^\d+$/);

  // A few more batches, a second apart, so the throughput chart in the screenshot has a shape.
  for (let batch = 1; batch <= 6; batch++) {
    const more = Array.from({ length: 10 * batch }, (_, i) => ({ eventId: crypto.randomUUID(),
                                                                 eventType: "OrderPaid", data: { order: i } }));
    assert.equal(api("POST", `/streams/order-${batch + 1}`, more).status, 201);
    await new Promise((r) => setTimeout(r, 1000));
  }
  await waitForRow(page, "ui-orders", (r) => r.delivered === String(5 + 210), "215 delivered");
  assert.equal(await page.$eval("#error", (e) => e.hidden), true, "no error banner");

  mkdirSync(process.env.SINKHOST_UI_ARTIFACTS || join(host.dir, "artifacts"), { recursive: true });
  await page.screenshot({ path: join(process.env.SINKHOST_UI_ARTIFACTS || join(host.dir, "artifacts"),
                                     "status-page.png") });
  await page.close();
});

test("the buttons start and stop a connector through the API", async () => {
  const page = await browser.newPage();
  await page.authenticate({ username: user, password });
  await page.goto(`${base}/ui/`, { waitUntil: "load" });
  await waitForRow(page, "ui-audit", (r) => r.state === "STOPPED", "stopped");
  await page.click('tr[data-connector-id="ui-audit"] button[data-action="start"]');
  await waitForRow(page, "ui-audit", (r) => r.state === "RUNNING", "running after Start");
  assert.match(api("GET", "/connectors/ui-audit").body, /CONNECTOR_STATE_RUNNING/);
  await page.click('tr[data-connector-id="ui-audit"] button[data-action="stop"]');
  await waitForRow(page, "ui-audit", (r) => r.state === "STOPPED", "stopped after Stop");
  assert.match(api("GET", "/connectors/ui-audit").body, /CONNECTOR_STATE_STOPPED/);
  await page.close();
});

test("an API error is shown on the page, not swallowed", async () => {
  const page = await browser.newPage();
  await page.authenticate({ username: user, password });
  await page.goto(`${base}/ui/`, { waitUntil: "load" });
  await waitForRow(page, "ui-audit", (r) => r.state === "STOPPED", "stopped");
  // Freeze the page's view: its refreshes fail (shown as an error), so the row stays as it was.
  await page.setRequestInterception(true);
  page.on("request", (request) => (request.url().includes("/connectors?") ? request.abort() : request.continue()));
  await page.waitForFunction(() => !document.getElementById("error").hidden, { timeout: 10000 });
  assert.match(await page.$eval("#error-text", (e) => e.textContent), /cannot reach sinkhost/);
  // Behind the page's back the connector starts; the page's Start is then refused by the server.
  assert.equal(api("POST", "/connectors/ui-audit/start").status, 200);
  await page.click('tr[data-connector-id="ui-audit"] button[data-action="start"]');
  await page.waitForFunction(() => /start: (4\d\d)/.test(document.getElementById("error-text").textContent),
                             { timeout: 10000 });
  // It stays while the refreshes keep failing: the answer to the click matters more.
  await new Promise((r) => setTimeout(r, 2500));
  const shown = await page.$eval("#error-text", (e) => e.textContent);
  assert.match(shown, /POST \/connectors\/ui-audit\/start: 4\d\d .+/);
  await page.close();
});

test("without credentials the page is refused with 401", async () => {
  // A context of its own: the other pages' credentials are cached per context.
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  const answer = page.waitForResponse((response) => response.url() === `${base}/ui/`, { timeout: 10000 });
  // Headless Chromium has nobody to ask for a password: it ends the navigation on the 401.
  await assert.rejects(page.goto(`${base}/ui/`, { waitUntil: "load" }), /ERR_INVALID_AUTH_CREDENTIALS/);
  assert.equal((await answer).status(), 401);
  await context.close();
});

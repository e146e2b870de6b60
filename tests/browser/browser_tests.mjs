// Browser end-to-end tests: the demo page in headless Chromium, served by
// the real `tidings` binary (memory storage), the live view through a TCP
// proxy that can drop the connection.

import { createHmac } from "node:crypto";

import { ADMIN_TOKEN, EDITOR_TOKEN, eventually, openPage, screenshot, sleep, startServer, test } from "./harness.mjs";

function assert(ok, message) {
  if (!ok) throw new Error(message);
}

function assertNoPageErrors(page) {
  // A stream cut on purpose may log a network error; nothing else may.
  const errors = page.errors.filter((e) => !/api\/events|ERR_(CONNECTION|EMPTY|NETWORK|INCOMPLETE)/.test(e));
  assert(errors.length === 0, `page errors:\n${errors.join("\n")}`);
}

async function publish(server, type, data, topics) {
  const body = topics ? { type, data, topics, private: false } : { type, data };
  const res = await fetch(`${server.base}/api/publish`, {
    method: "POST",
    headers: { authorization: `Bearer ${EDITOR_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  assert(res.status === 202, `publish answered ${res.status}`);
  return (await res.json()).id;
}

async function simReady(page) {
  await eventually(() => page.evaluate(() => document.body.dataset.simReady), 15_000, "the simulator to load");
  assert((await page.evaluate(() => document.body.dataset.simReady)) === "yes", "the wasm simulator did not load");
}

const card = (name) => `article.client[data-client="${name}"]`;

// ---- simulator --------------------------------------------------------

test("simulator: a client stalled past the ring shows a lagged stream.reset, and the ring its head", async (ctx) => {
  const page = await openPage(ctx.browser, `${ctx.server.base}/?seed=7&ring=8&batch=2&clock=paused`);
  ctx.simPage = page;
  await simReady(page);
  // The default scenario connects A, B and C.
  for (const name of ["A", "B", "C"]) await page.waitForSelector(`${card(name)}[data-state="live"]`);

  await page.click(`${card("B")} [data-action="stall:B"]`);
  await page.waitForSelector(`${card("B")}[data-state="stalled"]`);
  assert((await page.textContent("#sim-stream-past-ring")).includes("(12)"), "past a ring of 8 is 12 events");
  await page.click("#sim-stream-past-ring");
  await page.waitForSelector(`${card("B")}[data-state="behind"]`);
  await page.waitForSelector('#timeline g.lane-behind[data-client="B"]');
  await screenshot(page, "simulator-behind-the-ring");

  await page.click(`${card("B")} [data-action="resume:B"]`);
  const reset = await page.waitForSelector(`${card("B")} li[data-kind="reset"][data-reason="lagged"]`);
  const text = await reset.textContent();
  assert(text.includes("stream.reset") && text.includes("lagged") && text.includes("s7-12"), `reset row: ${text}`);
  assert((await page.textContent("#ring-head")) === "s7-12", "ring head");
  assert((await page.textContent("#ring-tail")) === "s7-5", "ring tail");
  // After the reset B continues from the ring's tail: 5..12.
  const bIds = await page.$$eval(`${card("B")} li[data-kind="event"]`, (rows) => rows.map((r) => r.dataset.id));
  assert(bIds.join() === "s7-5,s7-6,s7-7,s7-8,s7-9,s7-10,s7-11,s7-12", `B got ${bIds}`);
  const aIds = await page.$$eval(`${card("A")} li[data-kind="event"]`, (rows) => rows.map((r) => r.dataset.id));
  assert(aIds.length === 12, `A, never stalled, got all 12 live: ${aIds}`);
  assert((await page.$$(`${card("A")} li[data-kind="reset"]`)).length === 0, "A was never reset");
  assert((await page.textContent('[data-stat="lagged"] dd')) === "1", "lagged counter");
  await page.waitForSelector(`${card("B")}[data-state="live"]`);
  const url = new URL(page.url());
  assert(url.searchParams.get("script") === "connect:A,connect:B,connect:C,stall:B,stream:12,resume:B", `script in the URL: ${url.search}`);
  await screenshot(page, "simulator-lagged-reset");
  assertNoPageErrors(page);
});

test("simulator: the share link replays the same scenario exactly", async (ctx) => {
  const first = ctx.simPage;
  const logOf = (page, name) => page.$eval(`${card(name)} ol.log`, (ol) => ol.innerText);
  const again = await openPage(ctx.browser, first.url());
  await simReady(again);
  await again.waitForSelector(`${card("B")} li[data-kind="reset"][data-reason="lagged"]`);
  for (const name of ["A", "B", "C"]) {
    assert((await logOf(again, name)) === (await logOf(first, name)), `log of ${name} differs after replaying the link`);
  }
  assert((await again.textContent("#ring-head")) === "s7-12", "ring head after replay");
  await again.close();
});

test("simulator: reconnecting with the last id replays; an old boot's id is reset", async (ctx) => {
  const page = ctx.simPage;
  await page.click(`${card("A")} [data-action="disconnect:A"]`);
  await page.waitForSelector(`${card("A")}[data-state="offline"]`);
  await page.click("#sim-publish-5");
  // Stored in the millisecond of the stream's last wake-up, the burst waits
  // for the next one; the page says when.
  assert((await page.textContent("#sim-flush")) === "events wait for the wake-up at 12 ms", "pending wake-up shown");
  assert((await page.$$(`${card("B")} li[data-id="s7-13"]`)).length === 0, "not delivered before the wake-up");
  await page.click(`${card("A")} [data-action="connect:A"]`);
  await page.waitForSelector(`${card("A")}[data-state="live"]`);
  const replayed = await page.$$eval(`${card("A")} li.phase-replay`, (rows) => rows.map((r) => r.dataset.id));
  assert(replayed.join() === "s7-13,s7-14,s7-15,s7-16,s7-17", `replayed ${replayed}`);
  const connect = await page.$$eval(`${card("A")} li[data-kind="connect"]`, (rows) => rows.map((r) => r.textContent));
  assert(connect.at(-1).includes("Last-Event-ID s7-12"), `connect row: ${connect.at(-1)}`);

  await page.click(`${card("C")} [data-action="disconnect:C"]`);
  await page.click(`${card("C")} [data-action^="connect-id:C:boot0-"]`);
  await page.waitForSelector(`${card("C")} li[data-kind="reset"][data-reason="unknown_epoch"]`);
  await page.click('[data-action="advance:1"]');
  await page.waitForSelector(`${card("B")} li[data-id="s7-17"]`);
  assert(await page.$eval("#sim-flush", (el) => el.hidden), "no wake-up pending");
  assertNoPageErrors(page);
});

test("simulator: storage failures degrade after the threshold; read-only wins and refuses writes", async (ctx) => {
  const page = ctx.simPage;
  await page.click("#sim-storage");
  assert((await page.textContent("#sim-storage")) === "Storage: down", "storage toggled");
  await page.click('[data-action="advance:1000"]');
  await page.click('[data-action="advance:1000"]');
  assert((await page.textContent("#sim-mode")) === "normal", "two failed probes are not enough");
  await page.click('[data-action="advance:1000"]');
  await eventually(async () => (await page.textContent("#sim-mode")) === "degraded", 5000, "degraded");
  assert((await page.textContent("#transitions")).includes("storage_unhealthy"), "transition listed");
  await page.click("#sim-readonly");
  await eventually(async () => (await page.textContent("#sim-mode")) === "read_only", 5000, "read_only");
  await page.click("#sim-publish-1");
  await eventually(async () => (await page.textContent("#sim-status")).includes("read_only"), 5000, "the refusal shown");
  // Every client saw the changes as stored server.state events.
  const states = await page.$$eval(`${card("B")} li[data-kind="event"]`, (rows) => rows.filter((r) => r.textContent.includes("server.state")).length);
  assert(states === 2, `B saw ${states} mode changes`);
  await screenshot(page, "simulator-read-only");
  assertNoPageErrors(page);
  await page.close();
});

test("simulator: with a commit latency, published events are shown committing until their write ends, then delivered", async (ctx) => {
  const page = await openPage(ctx.browser, `${ctx.server.base}/?seed=5&clock=paused`);
  await simReady(page);
  for (const name of ["A", "B", "C"]) await page.waitForSelector(`${card(name)}[data-state="live"]`);
  const script = () => new URL(page.url()).searchParams.get("script");
  await page.selectOption("#sim-latency", "200");
  await eventually(() => script() === "connect:A,connect:B,connect:C,latency:200", 5000, "the latency in the link");

  await page.click("#sim-publish-1");
  await page.waitForSelector('#timeline rect.cell.pending[data-phase="writing"]');
  assert((await page.textContent("#sim-commit")) === "1 event committing, stored at 200 ms", await page.textContent("#sim-commit"));
  await page.click("#sim-publish-5");
  await eventually(async () => (await page.$$('#timeline rect.cell.pending[data-phase="queued"]')).length === 5, 5000, "five queued cells");
  const commit = await page.textContent("#sim-commit");
  assert(commit === "1 event committing, stored at 200 ms · 5 events queued for the next write", commit);
  assert((await page.textContent("#ring-head")) === "—", "no id before the commit");
  assert((await page.$$(`${card("A")} li[data-kind="event"]`)).length === 0, "nothing delivered while committing");
  await screenshot(page, "simulator-committing");

  await page.click('[data-action="advance:100"]');
  assert((await page.$$(`${card("A")} li[data-kind="event"]`)).length === 0, "nothing delivered before the write ends");
  await page.click('[data-action="advance:100"]');
  const first = await page.waitForSelector(`${card("A")} li[data-id="s5-1"]`);
  assert((await first.textContent()).startsWith("200 ms"), `delivered at the commit: ${await first.textContent()}`);
  assert((await page.textContent("#ring-head")) === "s5-1", "the first id, given at the commit");
  // The five published during the first write are written together.
  await eventually(async () => (await page.$$('#timeline rect.cell.pending[data-phase="writing"]')).length === 5, 5000, "the second write");
  assert((await page.textContent("#sim-commit")) === "5 events committing, stored at 400 ms", await page.textContent("#sim-commit"));

  await page.click('[data-action="advance:1000"]');
  await page.waitForSelector(`${card("A")} li[data-id="s5-6"]`);
  assert((await page.$$("#timeline rect.cell.pending")).length === 0, "nothing committing");
  assert(await page.$eval("#sim-commit", (el) => el.hidden), "no write under way");
  for (const name of ["A", "B", "C"]) {
    const ids = await page.$$eval(`${card(name)} li[data-kind="event"]`, (rows) => rows.map((r) => r.dataset.id));
    assert(ids.join() === "s5-1,s5-2,s5-3,s5-4,s5-5,s5-6", `${name} got ${ids}`);
  }
  assert((await page.textContent('[data-stat="commits"] dd')) === "2", "two writes");
  assert(script() === "connect:A,connect:B,connect:C,latency:200,publish:1,publish:5,advance:1200", script());

  // The link replays the same, latency included.
  const again = await openPage(ctx.browser, page.url());
  await simReady(again);
  await again.waitForSelector(`${card("A")} li[data-id="s5-6"]`);
  const logOf = (p) => p.$eval(`${card("A")} ol.log`, (ol) => ol.innerText);
  assert((await logOf(again)) === (await logOf(page)), "the replayed log differs");
  assert((await again.inputValue("#sim-latency")) === "200", "the picker shows the latency");
  assertNoPageErrors(page);
  assertNoPageErrors(again);
  await again.close();
  await page.close();
});

test("simulator: a shared scenario with a live, a reset and an offline client (the README picture)", async (ctx) => {
  const script = "connect:A,connect:B,connect:C,stall:B,stream:12,resume:B,disconnect:C,publish:3,advance:1,stall:A,publish:2,advance:1";
  const page = await openPage(ctx.browser, `${ctx.server.base}/?seed=7&ring=8&batch=2&clock=paused&script=${script}`, { width: 1280, height: 1000 });
  await simReady(page);
  await page.waitForSelector(`${card("A")}[data-state="stalled"]`);
  await page.waitForSelector(`${card("B")}[data-state="live"] li[data-reason="lagged"]`);
  await page.waitForSelector(`${card("C")}[data-state="offline"]`);
  assert((await page.textContent("#ring-head")) === "s7-17", "ring head");
  // Show each log from its start, where the story is.
  await page.$$eval("ol.log", (logs) => logs.forEach((l) => (l.scrollTop = 0)));
  await screenshot(page, "simulator-demo");
  assertNoPageErrors(page);
  await page.close();
});

test("simulator: the clock follows real time, and the link stays one advance long", async (ctx) => {
  const page = await openPage(ctx.browser, `${ctx.server.base}/?seed=3&hb=500`);
  await simReady(page);
  await eventually(async () => (await page.$$(`${card("A")} li[data-kind="heartbeat"]`)).length >= 2, 10_000, "two heartbeats");
  await page.click("#sim-run");
  const url = new URL(page.url());
  await eventually(() => /^connect:A,connect:B,connect:C,advance:\d+$/.test(new URL(page.url()).searchParams.get("script")), 5000, `a merged advance in ${url.search}`);
  const paused = await page.textContent("#sim-clock");
  await sleep(300);
  assert((await page.textContent("#sim-clock")) === paused, "the clock stops when paused");
  assert(!(await page.isVisible(`${card("A")} li[data-kind="heartbeat"]`)), "heartbeats are hidden until asked for");
  await page.check("#sim-heartbeats");
  assert(await page.isVisible(`${card("A")} li[data-kind="heartbeat"]`), "and shown when asked");
  assertNoPageErrors(page);
  await page.close();
});

test("simulator: + Client adds D, Chaos takes seeded steps, Restart clears", async (ctx) => {
  const page = await openPage(ctx.browser, `${ctx.server.base}/?seed=11&clock=paused`);
  await simReady(page);
  await page.click("#sim-add-client");
  await page.waitForSelector(`${card("D")}[data-state="live"]`);
  await page.click('[data-action="chaos:20"]');
  const script = new URL(page.url()).searchParams.get("script");
  assert(script === "connect:A,connect:B,connect:C,connect:D,chaos:20", script);
  const published = Number(await page.textContent('[data-stat="published"] dd'));
  assert(published > 0, "chaos published");
  await page.click("#sim-restart");
  await eventually(async () => (await page.textContent('[data-stat="published"] dd')) === "0", 5000, "a fresh start");
  assert((await page.$$("article.client")).length === 3, "back to A, B, C");
  assertNoPageErrors(page);
  await page.close();
});

test("simulator: the topics scenario shows a private event only for the granted clients, and a new grant replays it", async (ctx) => {
  const page = await openPage(ctx.browser, `${ctx.server.base}/?seed=5&clock=paused`, { width: 1280, height: 1100 });
  await simReady(page);
  await page.click("#sim-topics-demo");
  for (const name of ["A", "B", "C", "D"]) await page.waitForSelector(`${card(name)}[data-state="live"]`);
  const text = (sel) => page.textContent(sel);
  assert((await text(`${card("A")} .filter-line .selects`)) === "https://example.com/items/P-001", "A selects one item");
  assert((await text(`${card("B")} .filter-line .selects`)) === "urlpattern:/items/:pn", "B selects every item");
  assert((await text(`${card("B")} .filter-line .grants`)) === "https://example.com/items/P-002", "B may see P-002's private events");
  assert((await text(`${card("C")} .filter-line .grants`)) === "none", "C has no grant");
  assert((await text(`${card("D")} .filter-line .grants`)) === "*", "D has every grant");

  const update = async (pn, isPrivate) => {
    await page.fill("#sim-topic", `https://example.com/items/${pn}`);
    await page.setChecked("#sim-private", isPrivate);
    await page.click("#sim-update");
    await page.click('[data-action="advance:1"]'); // the flush, for every update after the first
  };
  await update("P-002", true); // seq 1
  await update("P-001", false); // seq 2
  await update("P-001", true); // seq 3
  const seen = (seq) =>
    page.$$eval(`#deliveries tr[data-seq="${seq}"] td[data-client]`, (tds) =>
      tds
        .filter((td) => td.dataset.seen === "yes")
        .map((td) => td.dataset.client)
        .sort()
        .join(""),
    );
  await eventually(async () => (await seen(3)) === "D", 5000, "seq 3 read by D alone");
  assert((await seen(1)) === "BD", `the private update of P-002 was read by ${await seen(1)}`);
  assert((await seen(2)) === "ABCD", `the public update of P-001 was read by ${await seen(2)}`);
  assert((await page.$$("#deliveries tr[data-private=yes]")).length === 2, "two private rows");
  const privateRows = (name) => page.$$eval(`${card(name)} li[data-kind="event"][data-private="yes"]`, (rows) => rows.map((r) => r.dataset.seq).join());
  assert((await privateRows("A")) === "" && (await privateRows("C")) === "", "A and C saw no private event");
  assert((await privateRows("B")) === "1" && (await privateRows("D")) === "1,3", "B and D saw theirs");
  assert((await page.textContent(`${card("B")} li[data-seq="1"]`)).includes("/items/P-002"), "the log row shows the topic");
  assert((await text('[data-stat="routes"] dd')) === "4", "four filters, four routes");
  assert((await text('[data-stat="idle wake-ups"] dd')) === "0", "nobody woken for nothing");
  const script = () => new URL(page.url()).searchParams.get("script");
  assert(script().includes(",update:type=item.updated;topic=https://example.com/items/P-002;private=on;data="), script());
  await screenshot(page, "simulator-topics");

  // Granting C every topic reconnects it with its last id: it is replayed
  // the private event it could not see before.
  await page.click(`${card("C")} details.filter summary`);
  await page.fill(`${card("C")} .filter-grants`, "*");
  await page.click(`${card("C")} .filter-apply`);
  await page.waitForSelector(`${card("C")} li.phase-replay[data-seq="3"][data-private="yes"]`);
  assert((await text(`${card("C")} .filter-line .grants`)) === "*", "C's new grant");
  assert(script().endsWith(",disconnect:C,filter:C:grant=*,connect:C"), script());

  // The link replays the same deliveries.
  const again = await openPage(ctx.browser, page.url(), { width: 1280, height: 1100 });
  await simReady(again);
  await again.waitForSelector(`${card("C")} li.phase-replay[data-seq="3"]`);
  const table = (p) => p.$eval("#deliveries", (t) => t.innerText);
  assert((await table(again)) === (await table(page)), "the replayed table differs");
  assertNoPageErrors(page);
  assertNoPageErrors(again);
  await again.close();
  await page.close();
});

test("simulator: fits a 375 px phone screen", async (ctx) => {
  const url = `${ctx.server.base}/?seed=7&ring=8&batch=2&clock=paused&script=connect:A,connect:B,connect:C,stall:B,stream:12,resume:B,disconnect:C,publish:3`;
  const page = await openPage(ctx.browser, url, { width: 375, height: 812 });
  await simReady(page);
  await page.waitForSelector(`${card("B")} li[data-kind="reset"][data-reason="lagged"]`);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert(width <= 375, `page is ${width} px wide at 375`);
  for (const sel of ["#sim-stream-past-ring", `${card("B")} [data-action="stall:B"]`, "#live-drop", "#item-create"]) {
    const box = await (await page.$(sel)).boundingBox();
    assert(box && box.x >= 0 && box.x + box.width <= 375, `${sel} is off screen: ${JSON.stringify(box)}`);
  }
  await screenshot(page, "phone-375", { fullPage: true });
  assertNoPageErrors(page);
  await page.close();
});

// ---- live -------------------------------------------------------------

async function livePage(ctx) {
  if (ctx.livePage) return ctx.livePage;
  const page = await openPage(ctx.browser, `${ctx.proxy.base}/?clock=paused#live`);
  await page.waitForSelector('#live-status[data-state="open"]');
  ctx.livePage = page;
  return page;
}

const liveRow = (id) => `#live-log li[data-id="${id}"]`;

test("live: shows an event published through the API, and the current mode", async (ctx) => {
  const page = await livePage(ctx);
  assert((await page.textContent("#live-mode")) === "normal", "mode from the connect-time server.state");
  const id = await publish(ctx.server, "note", { hello: "browser" });
  const row = await page.waitForSelector(liveRow(id));
  assert((await row.textContent()).includes('"hello":"browser"'), "data shown");
  assert((await page.textContent("#live-last-id")) === id, "last id");
  assertNoPageErrors(page);
});

test("live: after a network drop the browser reconnects by itself with Last-Event-ID and shows what it missed", async (ctx) => {
  const page = await livePage(ctx);
  const before = await publish(ctx.server, "note", { n: 0 });
  await page.waitForSelector(liveRow(before));
  const streamsBefore = ctx.proxy.streams.length;

  ctx.proxy.hold();
  ctx.proxy.cut();
  await page.waitForSelector('#live-status[data-state="reconnecting"]');
  const missed = [];
  for (let n = 1; n <= 3; n++) missed.push(await publish(ctx.server, "note", { n, while: "disconnected" }));
  await sleep(700); // the browser's retry (300 ms) is now waiting on the proxy
  for (const id of missed) assert((await page.$(liveRow(id))) === null, `${id} arrived while disconnected`);
  ctx.proxy.release();

  for (const id of missed) await page.waitForSelector(liveRow(id));
  await page.waitForSelector('#live-status[data-state="open"]');
  const reconnect = ctx.proxy.streams.slice(streamsBefore);
  assert(reconnect.length >= 1, "the browser opened a new stream");
  assert(reconnect[0].lastEventId === before, `the browser sent Last-Event-ID ${reconnect[0].lastEventId}, expected ${before}`);
  assert(!reconnect[0].requestLine.includes("last_event_id="), "it was the browser's own reconnect, not the page's");
  for (const id of [before, ...missed]) {
    const n = await page.$$eval(liveRow(id), (rows) => rows.length);
    assert(n === 1, `${id} shown ${n} times`);
  }
  const notes = await page.$$eval("#live-log li.kind-note", (rows) => rows.map((r) => r.textContent).join("\n"));
  assert(notes.includes(`the browser reconnected by itself, sending Last-Event-ID: ${before}`), notes);
  await screenshot(page, "live-after-reconnect");
  assertNoPageErrors(page);
});

test("live: Disconnect, then Reconnect with last id, resumes with ?last_event_id", async (ctx) => {
  const page = await livePage(ctx);
  const last = await page.textContent("#live-last-id");
  await page.click("#live-drop");
  await page.waitForSelector('#live-status[data-state="closed"]');
  const missed = [await publish(ctx.server, "note", { gap: 1 }), await publish(ctx.server, "note", { gap: 2 })];
  const streamsBefore = ctx.proxy.streams.length;
  await page.click("#live-resume");
  for (const id of missed) await page.waitForSelector(liveRow(id));
  const stream = ctx.proxy.streams[streamsBefore];
  assert(stream.requestLine.includes(`last_event_id=${encodeURIComponent(last)}`), stream.requestLine);
  assertNoPageErrors(page);
});

test("live: the item form creates, updates and deletes, and each write comes back as an event", async (ctx) => {
  const page = await livePage(ctx);
  await page.fill("#api-token", EDITOR_TOKEN);
  await page.fill("#item-pn", "E2E-1");
  await page.fill("#item-desc", "made by the browser test");
  await page.click("#item-create");
  await page.waitForSelector('#api-result[data-status="201"]');
  await page.waitForSelector('#live-log li[data-type="item.created"]:has-text("E2E-1")');
  await page.fill("#item-desc", "changed");
  await page.click("#item-update");
  await page.waitForSelector('#api-result[data-status="200"]');
  await page.waitForSelector('#live-log li[data-type="item.updated"]:has-text("changed")');
  await page.click("#item-delete");
  await page.waitForSelector('#api-result[data-status="204"]');
  await page.waitForSelector('#live-log li[data-type="item.deleted"]:has-text("E2E-1")');
  await page.fill("#api-token", "wrong");
  await page.click("#item-create");
  await page.waitForSelector('#api-result[data-status="403"]');
  page.errors = page.errors.filter((e) => !e.includes("status of 403"));
  assertNoPageErrors(page);
});

test("live: a mode flip by SIGUSR1 appears on the page, and the operator form flips it back", async (ctx) => {
  const page = await livePage(ctx);
  process.kill(ctx.server.pid, "SIGUSR1");
  await eventually(async () => (await page.textContent("#live-mode")) === "read_only", 10_000, "read_only after SIGUSR1");
  await page.waitForSelector('#live-log li[data-type="server.state"][data-id]:has-text("read_only")');
  await screenshot(page, "live-read-only");
  await page.fill("#admin-token", ADMIN_TOKEN);
  await page.click("#admin-toggle");
  await page.waitForSelector('#api-result[data-status="200"]');
  await eventually(async () => (await page.textContent("#live-mode")) === "normal", 10_000, "normal after the operator form");
  process.kill(ctx.server.pid, "SIGUSR1");
  await eventually(async () => (await page.textContent("#live-mode")) === "read_only", 10_000, "read_only after a second SIGUSR1");
  assertNoPageErrors(page);
});

test("live: a match= selector read with fetch gets only its topic's events, and resumes with a Last-Event-ID header after a drop", async (ctx) => {
  // The operator test leaves the server read-only.
  const writable = await fetch(`${ctx.server.base}/api/admin/read-only`, {
    method: "PUT",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ read_only: false }),
  });
  assert(writable.status === 200, `read-only off answered ${writable.status}`);
  const page = await openPage(ctx.browser, `${ctx.proxy.base}/?clock=paused#live`);
  await page.waitForSelector('#live-status[data-state="open"]');
  const a = "https://example.com/demo/a";
  const b = "https://example.com/demo/b";
  const token = "pasted.subscriber.token";
  await page.fill("#sub-match", a);
  await page.fill("#sub-token", token);
  const before = ctx.proxy.streams.length;
  await page.click("#sub-apply");
  const selected = () => ctx.proxy.streams.slice(before).filter((s) => s.requestLine.includes("match="));
  await eventually(() => selected().length === 1, 5000, "the selector stream");
  await page.waitForSelector('#live-status[data-state="open"]');
  assert((await page.textContent("#live-transport")) === "fetch", "read with fetch");
  const [opened] = selected();
  assert(opened.requestLine.includes(`/api/events?match=${encodeURIComponent(a)} `), opened.requestLine);
  // The token goes in the header (an EventSource could only send a cookie).
  // The server checks it once subscriber keys are configured; this one has
  // none, so only the selector decides here.
  assert(opened.authorization === `Bearer ${token}`, `authorization ${opened.authorization}`);
  assert(opened.lastEventId === null, "a fresh subscription sends no last id");

  const mine = [];
  const others = [];
  for (let n = 0; n < 3; n++) {
    mine.push(await publish(ctx.server, "note", { n, on: "a" }, [a]));
    others.push(await publish(ctx.server, "note", { n, on: "b" }, [b]));
  }
  others.push(await publish(ctx.server, "note", { on: "nothing" }));
  for (const id of mine) await page.waitForSelector(liveRow(id));

  const streamsBefore = ctx.proxy.streams.length;
  ctx.proxy.hold();
  ctx.proxy.cut();
  await page.waitForSelector('#live-status[data-state="reconnecting"]');
  const missed = [await publish(ctx.server, "note", { gap: 1 }, [a])];
  others.push(await publish(ctx.server, "note", { gap: 2 }, [b]));
  missed.push(await publish(ctx.server, "note", { gap: 3 }, [b, a]));
  await sleep(700); // the page's retry (the server's 300 ms) now waits on the proxy
  for (const id of missed) assert((await page.$(liveRow(id))) === null, `${id} arrived while disconnected`);
  ctx.proxy.release();

  for (const id of missed) await page.waitForSelector(liveRow(id));
  await page.waitForSelector('#live-status[data-state="open"]');
  const resumed = ctx.proxy.streams.slice(streamsBefore).find((s) => s.requestLine.includes("match="));
  assert(resumed, "the page opened a new selector stream");
  assert(resumed.lastEventId === mine.at(-1), `it sent Last-Event-ID ${resumed.lastEventId}, expected ${mine.at(-1)}`);
  assert(resumed.authorization === `Bearer ${token}`, "and the token again");
  for (const id of others) assert((await page.$(liveRow(id))) === null, `${id} is not on the selected topic`);
  for (const id of [...mine, ...missed]) {
    const n = await page.$$eval(liveRow(id), (rows) => rows.length);
    assert(n === 1, `${id} shown ${n} times`);
  }
  const notes = await page.$$eval("#live-log li.kind-note", (rows) => rows.map((r) => r.textContent).join("\n"));
  assert(notes.includes(`the page reconnected, sending Last-Event-ID: ${mine.at(-1)}`), notes);
  await screenshot(page, "live-selector-after-reconnect");

  // Back to everything: an EventSource again.
  await page.click("#sub-clear");
  await eventually(async () => (await page.textContent("#live-transport")) === "EventSource", 5000, "the EventSource");
  await page.waitForSelector('#live-status[data-state="open"]');
  assertNoPageErrors(page);
  await page.close();
});

// ---- live, with subscriber tokens -----------------------------------------

const ISSUER = "https://example.com";
const HUB_URL = "https://hub.example.com/.well-known/mercure";
const SUBSCRIBER_SECRET = "a subscriber secret of at least 32 bytes, for HS256";

/** An RFC 9068 access token granting `subscribe` on `topics`, HS256 with `secret`. */
function subscriberToken(topics, secret = SUBSCRIBER_SECRET) {
  const b64 = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: ISSUER,
    aud: HUB_URL,
    sub: "urn:example:browser-test",
    client_id: ISSUER,
    iat: now,
    exp: now + 3600,
    jti: `urn:example:token:${now}:${topics.join()}`,
    authorization_details: [{ type: "https://mercure.rocks/authorization-detail", actions: ["subscribe"], topics: topics.map((match) => ({ match })) }],
  };
  const signed = `${b64({ alg: "HS256", typ: "at+jwt" })}.${b64(claims)}`;
  return `${signed}.${createHmac("sha256", secret).update(signed).digest("base64url")}`;
}

test("live: a pasted subscriber token lets the fetch stream see the private events it grants, and a forged one is refused", async (ctx) => {
  const server = await startServer(["--subscriber-jwt-key", SUBSCRIBER_SECRET, "--jwt-issuer", ISSUER, "--hub-url", HUB_URL, "--anonymous"]);
  try {
    const page = await openPage(ctx.browser, `${server.base}/?clock=paused#live`);
    await page.waitForSelector('#live-status[data-state="open"]');
    const mine = "https://example.com/private/a";
    const other = "https://example.com/private/b";
    const post = async (topics, isPrivate, n) => {
      const res = await fetch(`${server.base}/api/publish`, {
        method: "POST",
        headers: { authorization: `Bearer ${EDITOR_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ type: "note", data: { n }, topics, private: isPrivate }),
      });
      assert(res.status === 202, `publish answered ${res.status}`);
      return (await res.json()).id;
    };
    const subscribe = async (token) => {
      await page.fill("#sub-match", `${mine}\n${other}`);
      await page.fill("#sub-token", token);
      await page.click("#sub-apply");
    };

    await subscribe(subscriberToken([mine]));
    await page.waitForSelector('#live-status[data-state="open"]');
    await page.waitForSelector('#live-log li.kind-control[data-type="server.state"]:last-child');
    const granted = await post([mine], true, 1);
    const hidden = await post([other], true, 2);
    const open = await post([other], false, 3);
    await page.waitForSelector(liveRow(open));
    assert((await page.$(liveRow(granted))) !== null, "the private event its token grants");
    assert((await page.$(liveRow(hidden))) === null, "a private event of another topic");

    // Anonymous (--anonymous): public events only.
    await subscribe("");
    await eventually(async () => (await page.$$("#live-log li.kind-note")).length >= 3, 5000, "the anonymous stream");
    await page.waitForSelector('#live-status[data-state="open"]');
    const secret = await post([mine], true, 4);
    const seen = await post([mine], false, 5);
    await page.waitForSelector(liveRow(seen));
    assert((await page.$(liveRow(secret))) === null, "no private event without a token");

    // A token signed with another key: 401 with the challenge, no retry.
    await subscribe(subscriberToken([mine], "another secret, also long enough for HS256 use"));
    const refused = await page.waitForSelector('#live-log li.kind-lost[data-status="401"]');
    assert((await refused.textContent()).includes('error="invalid_token"'), await refused.textContent());
    await page.waitForSelector('#live-status[data-state="closed"]');
    await screenshot(page, "live-token-refused");
    page.errors = page.errors.filter((e) => !e.includes("status of 401"));
    assertNoPageErrors(page);
    await page.close();
  } finally {
    await server.stop();
  }
});

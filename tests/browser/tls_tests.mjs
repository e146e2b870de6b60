// Headless Chromium against the hub serving TLS itself (a certificate made
// by openssl for 127.0.0.1; the browser runs with
// --ignore-certificate-errors): its EventSources share one HTTP/2
// connection, so ten streams of one origin all open and receive every
// event, where over plain HTTP/1.1 the seventh waits for a free
// connection; and the `__Secure-` token cookie, set for the https origin,
// reaches the hub over TLS and unlocks private updates.

import { EDITOR_TOKEN, launchBrowser, makeCertificate, openPage, startServer, test } from "./harness.mjs";
import { afterFence, assert, assertIds, closeStreams, openStream } from "./page_streams.mjs";
import { TOKEN_FLAGS, accessToken } from "./tokens.mjs";

const COOKIE = "__Secure-mercure_access_token";
const GRANTED = "https://example.com/private/a";

/** Publishes from `page` (same origin) with the editor token; returns the id. */
async function pagePublishJson(page, body) {
  const { status, id } = await page.evaluate(
    async ({ body, token }) => {
      const res = await fetch("/api/publish", {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, id: (await res.json()).id };
    },
    { body, token: EDITOR_TOKEN },
  );
  assert(status === 202, `publish answered ${status}`);
  return id;
}

/** The protocol the page's own document came over (`h2`, `http/1.1`). */
const protocolOf = (page) =>
  page.evaluate(() => performance.getEntriesByType("navigation")[0].nextHopProtocol);

async function withTls(flags, fn) {
  const tls = makeCertificate();
  const server = await startServer(flags, { tls });
  const browser = await launchBrowser(["--ignore-certificate-errors"]);
  try {
    await fn(server, browser);
  } finally {
    await browser.close();
    await server.stop();
  }
}

test("tls: ten EventSources of one origin share HTTP/2 and all receive every event; over plain HTTP/1.1 the seventh waits", async (ctx) => {
  const names = Array.from({ length: 10 }, (_, i) => `s${i}`);
  await withTls([], async (server, browser) => {
    const page = await openPage(browser, `${server.base}/health`);
    assert((await protocolOf(page)) === "h2", `the page came over ${await protocolOf(page)}`);
    for (const name of names) {
      const state = await openStream(page, name, `${server.base}/api/events`);
      assert(state === "open", `stream ${name} is ${state}`);
    }
    const ids = [];
    for (let n = 0; n < 3; n++) ids.push(await pagePublishJson(page, { data: { n } }));
    const got = await afterFence(page, names, ids.at(-1));
    for (const name of names) assertIds(got, name, ids);
    await closeStreams(page);
    assert(page.errors.length === 0, page.errors.join("\n"));
  });

  // The same on the shared plain-HTTP server: six connections per origin.
  const page = await openPage(ctx.browser, `${ctx.server.base}/health`);
  try {
    assert((await protocolOf(page)) === "http/1.1", "plain HTTP is HTTP/1.1");
    const states = [];
    for (const name of names.slice(0, 7)) states.push(await openStream(page, name, `${ctx.server.base}/api/events`));
    assert(states.slice(0, 6).every((s) => s === "open"), `the first six: ${states}`);
    assert(states[6] === "pending", `the seventh over HTTP/1.1 is ${states[6]}, not waiting`);
    await closeStreams(page);
  } finally {
    await page.close();
  }
});

test("tls: the __Secure- token cookie reaches the hub over TLS; without it public updates only", async () => {
  await withTls([...TOKEN_FLAGS, "--anonymous"], async (server, browser) => {
    await browser.context.addCookies([
      {
        name: COOKIE,
        value: await accessToken(["subscribe"], [GRANTED]),
        url: server.base,
        httpOnly: true,
        secure: true,
        sameSite: "Strict",
      },
    ]);
    const page = await openPage(browser, `${server.base}/health`);
    const url = `${server.base}/api/events`;
    assert((await openStream(page, "with", url)) === "open", "the stream with the cookie opens");
    const hidden = await pagePublishJson(page, { data: 1, topics: [GRANTED], private: true });
    const open = await pagePublishJson(page, { data: 2, topics: [GRANTED] });
    assertIds(await afterFence(page, ["with"], open), "with", [hidden, open]);
    await closeStreams(page);

    await browser.context.clearCookies();
    assert((await openStream(page, "without", url)) === "open", "the stream without the cookie opens");
    const hidden2 = await pagePublishJson(page, { data: 3, topics: [GRANTED], private: true });
    const open2 = await pagePublishJson(page, { data: 4, topics: [GRANTED] });
    assertIds(await afterFence(page, ["without"], open2), "without", [open2]);
    assert(hidden2 !== open2);
    await closeStreams(page);
  });
});

// Private updates to headless Chromium's own `EventSource`, the subscriber
// token in an HttpOnly cookie set through the browser context (the way a
// site's login answer would set it; no page script can). The server checks
// subscriber tokens, lets token-less streams in for public events
// (`--anonymous`) and allows one other origin (`--cors-origin`).
//
// The cookie keeps its default name, `__Secure-mercure_access_token`:
// Chromium stores and sends a Secure cookie to loopback over plain HTTP.
// The other origins are other ports of 127.0.0.1: cross-origin, same-site,
// so a SameSite=Strict cookie goes along once `withCredentials` asks for it.

import { EDITOR_TOKEN, eventually, openPage, startOrigin, startServer, test } from "./harness.mjs";
import { afterFence, assert, assertIds, closeStreams, openStream, setTokenCookie } from "./page_streams.mjs";
import { TOKEN_FLAGS, accessToken } from "./tokens.mjs";

const COOKIE = "__Secure-mercure_access_token";
const GRANTED = "https://example.com/private/a";
const OTHER = "https://example.com/private/b";
const STREAMS = ["native", "hub"];
const streamUrls = (base) => ({
  native: `${base}/api/events`,
  hub: `${base}/.well-known/mercure?match=${encodeURIComponent(GRANTED)}&match=${encodeURIComponent(OTHER)}`,
});

async function publish(server, topics, isPrivate) {
  const res = await fetch(`${server.base}/api/publish`, {
    method: "POST",
    headers: { authorization: `Bearer ${EDITOR_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ data: { topics, private: isPrivate }, topics, private: isPrivate }),
  });
  assert(res.status === 202, `publish answered ${res.status}`);
  return (await res.json()).id;
}

/**
 * Publishes a private update on the granted topic, one on the other, a
 * public one, then a public fence on both; returns their ids as each
 * stream spells them (`/api/events` natively, the hub with a `#`).
 */
async function publishRound(server) {
  const ids = {
    granted: await publish(server, [GRANTED], true),
    hidden: await publish(server, [OTHER], true),
    open: await publish(server, [OTHER], false),
    fence: await publish(server, [GRANTED, OTHER], false),
  };
  const hub = Object.fromEntries(Object.entries(ids).map(([k, v]) => [k, `#${v}`]));
  return { native: ids, hub };
}

/** Opens both streams in `page`, asserting each opened; returns after a round their ids. */
async function round(server, page, base, withCredentials) {
  const urls = streamUrls(base);
  for (const name of STREAMS) {
    const state = await openStream(page, name, urls[name], withCredentials);
    assert(state === "open", `the ${name} stream is ${state}`);
  }
  const ids = await publishRound(server);
  const got = await afterFence(page, STREAMS, (name) => ids[name].fence);
  await closeStreams(page);
  return { got, ids };
}

const withPrivate = (ids) => [ids.granted, ids.open, ids.fence];
const publicOnly = (ids) => [ids.open, ids.fence];

test("cookie: the browser's EventSource with the token cookie receives the private updates it grants, same-origin and from an allowed origin; without it public ones only", async (ctx) => {
  const allowed = await startOrigin();
  const unlisted = await startOrigin();
  const server = await startServer([...TOKEN_FLAGS, "--anonymous", "--cors-origin", allowed.base]);
  const pages = [];
  try {
    await setTokenCookie(ctx.browser, COOKIE, await accessToken(["subscribe"], [GRANTED]));
    const cookies = await ctx.browser.context.cookies(server.base);
    assert(cookies.some((c) => c.name === COOKIE && c.httpOnly), "the HttpOnly token cookie is set");

    // Same-origin: a page the hub serves; the cookie goes with every request.
    const home = await openPage(ctx.browser, `${server.base}/health`);
    pages.push(home);
    assert((await home.evaluate(() => document.cookie)) === "", "page scripts cannot read the cookie");
    let { got, ids } = await round(server, home, "", true);
    for (const name of STREAMS) assertIds(got, name, withPrivate(ids[name]));

    // The allowed origin, with credentials: the cookie, and the CORS grant.
    const app = await openPage(ctx.browser, `${allowed.base}/`);
    pages.push(app);
    ({ got, ids } = await round(server, app, server.base, true));
    for (const name of STREAMS) assertIds(got, name, withPrivate(ids[name]));

    // The allowed origin without credentials: no cookie, so anonymous.
    ({ got, ids } = await round(server, app, server.base, false));
    for (const name of STREAMS) assertIds(got, name, publicOnly(ids[name]));

    // An origin not on the list: the browser fails the stream.
    const stranger = await openPage(ctx.browser, `${unlisted.base}/`);
    pages.push(stranger);
    const urls = streamUrls(server.base);
    for (const name of STREAMS) {
      const state = await openStream(stranger, name, urls[name], true);
      assert(state === "closed", `the ${name} stream from an unlisted origin is ${state}`);
    }
    // Failed by the browser: the answer carries no CORS grant for this origin.
    const blocked = (e) => e.includes("blocked by CORS policy") || e.includes("net::ERR_FAILED");
    await eventually(() => stranger.errors.filter(blocked).length === 2 * STREAMS.length, 5000, "the CORS errors");
    const cors = stranger.errors.filter((e) => e.includes("CORS policy"));
    assert(cors.every((e) => e.includes(`'${server.base}/`) && e.includes("No 'Access-Control-Allow-Origin'")), cors.join("\n"));
    stranger.errors = stranger.errors.filter((e) => !blocked(e));

    // The cookie gone, even the hub's own page is anonymous.
    await ctx.browser.context.clearCookies({ name: COOKIE });
    ({ got, ids } = await round(server, home, "", true));
    for (const name of STREAMS) assertIds(got, name, publicOnly(ids[name]));

    for (const page of pages) assert(page.errors.length === 0, `page errors:\n${page.errors.join("\n")}`);
  } finally {
    await ctx.browser.context.clearCookies({ name: COOKIE });
    for (const page of pages) await page.close();
    await server.stop();
    await allowed.stop();
    await unlisted.stop();
  }
});

// The Mercure hub endpoint, `/.well-known/mercure`, from a page on the
// hub's origin: the browser's `EventSource` on each selector type, a
// publish through the page's `fetch` (a publisher token in the
// Authorization header, a form body) answering 200 with the update's id,
// which then arrives as `lastEventId` on exactly the streams whose selector
// matches; private updates only while the subscriber token cookie is set.
// Both revisions: Mercure 1.0 (`match`, `match_exact`, `match_urlpattern`,
// `at+jwt` tokens, the `__Secure-mercure_access_token` cookie) and, with
// `--mercure-v0`, v0.24 (`topic=` URI templates, `mercure` claim tokens,
// the `mercureAuthorization` cookie).

import { openPage, startServer, test } from "./harness.mjs";
import { afterFence, assert, assertIds, closeStreams, openStream, pagePublish, setTokenCookie } from "./page_streams.mjs";
import { TOKEN_FLAGS, accessToken, v0Token } from "./tokens.mjs";

const BOOK = (n) => `https://example.com/books/${n}`;
const AUTHOR = "https://example.com/authors/1";
const GENERATED_ID = /^#[0-9a-z]+-[0-9]+$/;

/** Opens `streams` (name → query) on the hub in `page`, asserting each opened. */
async function openAll(page, streams) {
  for (const [name, query] of Object.entries(streams)) {
    const state = await openStream(page, name, `/.well-known/mercure?${query}`);
    assert(state === "open", `the ${name} stream is ${state}`);
  }
}

/** Publishes through the page; asserts the 200 text answer; returns the id. */
async function publishOk(page, fields, token) {
  const answer = await pagePublish(page, fields, token);
  assert(answer.status === 200, `publish answered ${answer.status}: ${answer.body}`);
  assert(answer.type === "text/plain; charset=utf-8", `content-type ${answer.type}`);
  if (fields.id) assert(answer.body === fields.id, `answered ${answer.body}, published id ${fields.id}`);
  else assert(GENERATED_ID.test(answer.body), `a generated id is #<epoch>-<seq>: ${answer.body}`);
  return answer.body;
}

const q = (name, value) => `${name}=${encodeURIComponent(value)}`;

/**
 * Runs the selector round on a server: `streams` open with the cookie set,
 * `updates(publish)` publishes and returns the ids, `expected(ids)` says
 * which ids each stream gets; then the cookie is removed, the streams
 * reopened, and `anonymous` checks that private updates stop.
 */
async function hubRound(ctx, { flags, cookie, subscribe, publisher, streams, updates, expected, anonymous }) {
  const server = await startServer(flags);
  let page;
  try {
    await setTokenCookie(ctx.browser, cookie, subscribe);
    page = await openPage(ctx.browser, `${server.base}/health`);
    await openAll(page, streams);
    const publish = (fields) => publishOk(page, fields, publisher);
    const ids = await updates(publish);
    const got = await afterFence(page, Object.keys(streams), ids.fence);
    for (const [name, want] of Object.entries(expected(ids))) assertIds(got, name, want);
    await closeStreams(page);

    // A cookie alone does not publish: this origin is not on --cors-origin.
    const refused = await pagePublish(page, { topic: BOOK(1), data: "by cookie" });
    assert(refused.status === 403, `a cookie-only publish answered ${refused.status}`);
    page.errors = page.errors.filter((e) => !e.includes("status of 403"));

    await ctx.browser.context.clearCookies({ name: cookie });
    await openAll(page, streams);
    const later = await anonymous.updates(publish);
    const anon = await afterFence(page, Object.keys(streams), later.fence);
    for (const [name, want] of Object.entries(anonymous.expected(later))) assertIds(anon, name, want);
    assert(page.errors.length === 0, `page errors:\n${page.errors.join("\n")}`);
  } finally {
    await ctx.browser.context.clearCookies({ name: cookie });
    await page?.close();
    await server.stop();
  }
}

test("hub: EventSources on match, match_exact and match_urlpattern get a page's fetch publishes by their ids, private ones only with the cookie", async (ctx) => {
  const books = { match: "https://example.com/books/:id", match_type: "urlpattern" };
  await hubRound(ctx, {
    flags: [...TOKEN_FLAGS, "--anonymous"],
    cookie: "__Secure-mercure_access_token",
    subscribe: await accessToken(["subscribe"], [books]),
    publisher: await accessToken(["publish"], [{ match: "https://example.com/*", match_type: "urlpattern" }]),
    streams: {
      match: q("match", BOOK(1)),
      match_exact: q("match_exact", BOOK(2)),
      match_urlpattern: q("match_urlpattern", "https://example.com/books/:id"),
      unmatched: q("match", AUTHOR),
    },
    updates: async (publish) => ({
      one: await publish({ topic: BOOK(1), data: "public, generated id" }),
      two: await publish({ topic: BOOK(2), data: "private", private: true, id: "urn:uuid:book-2" }),
      three: await publish({ topic: BOOK(3), data: "public", id: "urn:uuid:book-3" }),
      fence: await publish({ topic: [AUTHOR, BOOK(1), BOOK(2)], data: "fence" }),
    }),
    expected: (ids) => ({
      match: [ids.one, ids.fence],
      match_exact: [ids.two, ids.fence],
      match_urlpattern: [ids.one, ids.two, ids.three, ids.fence],
      unmatched: [ids.fence],
    }),
    anonymous: {
      updates: async (publish) => ({
        secret: await publish({ topic: BOOK(2), data: "private", private: true }),
        open: await publish({ topic: BOOK(2), data: "public" }),
        fence: await publish({ topic: [AUTHOR, BOOK(1), BOOK(2)], data: "fence" }),
      }),
      expected: (ids) => ({
        match: [ids.fence],
        match_exact: [ids.open, ids.fence],
        match_urlpattern: [ids.open, ids.fence],
        unmatched: [ids.fence],
      }),
    },
  });
});

test("hub, v0.24 (--mercure-v0): EventSources on topic= URI templates, exact topics and * get a page's fetch publishes, private ones only with the mercureAuthorization cookie", async (ctx) => {
  const template = "https://example.com/books/{id}";
  await hubRound(ctx, {
    flags: [...TOKEN_FLAGS, "--anonymous", "--mercure-v0"],
    cookie: "mercureAuthorization",
    subscribe: await v0Token({ subscribe: [template] }),
    publisher: await v0Token({ publish: [template, "https://example.com/authors/{id}"] }),
    streams: {
      template: q("topic", template),
      exact: q("topic", BOOK(1)),
      every: q("topic", "*"),
      unmatched: q("topic", "https://example.com/authors/{id}"),
    },
    updates: async (publish) => ({
      one: await publish({ topic: BOOK(1), data: "public, generated id" }),
      two: await publish({ topic: BOOK(2), data: "private", private: true, id: "urn:uuid:v0-book-2" }),
      fence: await publish({ topic: [AUTHOR, BOOK(1)], data: "fence" }),
    }),
    expected: (ids) => ({
      template: [ids.one, ids.two, ids.fence],
      exact: [ids.one, ids.fence],
      every: [ids.one, ids.two, ids.fence],
      unmatched: [ids.fence],
    }),
    anonymous: {
      updates: async (publish) => ({
        secret: await publish({ topic: BOOK(1), data: "private", private: true }),
        open: await publish({ topic: BOOK(1), data: "public" }),
        fence: await publish({ topic: [AUTHOR, BOOK(1)], data: "fence" }),
      }),
      expected: (ids) => ({
        template: [ids.open, ids.fence],
        exact: [ids.open, ids.fence],
        every: [ids.open, ids.fence],
        unmatched: [ids.fence],
      }),
    },
  });
});

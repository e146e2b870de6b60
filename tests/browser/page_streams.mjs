// The browser's own `EventSource`, driven inside a page: open named
// streams, read what each received (`lastEventId` and data of its
// `message` events), publish a Mercure form through the page's `fetch`,
// and token cookies set through the browser context (HttpOnly, so no page
// script could set or read them).
//
// Negative checks use a fence: the last update of a step carries a topic
// every open stream selects, and a stream holds its events in publish
// order, so once each stream has the fence, an update it lacks never
// reached it.

import { eventually } from "./harness.mjs";

export function assert(ok, message) {
  if (!ok) throw new Error(message);
}

/**
 * Opens `new EventSource(url, { withCredentials })` in `page` as `name`;
 * resolves `"open"` once the stream answered, `"closed"` if the browser
 * failed it (a refused status, a CORS answer it may not read), or
 * `"pending"` after 5 s.
 */
export function openStream(page, name, url, withCredentials = false) {
  return page.evaluate(
    ({ name, url, withCredentials }) => {
      window.streams ??= {};
      const es = new EventSource(url, { withCredentials });
      const stream = { es, got: [] };
      window.streams[name] = stream;
      es.onmessage = (e) => stream.got.push({ id: e.lastEventId, data: e.data });
      return new Promise((resolve) => {
        setTimeout(() => resolve("pending"), 5000);
        es.onopen = () => resolve("open");
        es.onerror = () => {
          if (es.readyState === EventSource.CLOSED) resolve("closed");
        };
      });
    },
    { name, url, withCredentials },
  );
}

/** The `lastEventId`s stream `name` received, in order. */
export function idsOf(page, name) {
  return page.evaluate((name) => window.streams[name].got.map((e) => e.id), name);
}

/** Closes every stream of `page`. */
export function closeStreams(page) {
  return page.evaluate(() => {
    for (const stream of Object.values(window.streams ?? {})) stream.es.close();
    window.streams = {};
  });
}

/**
 * Waits until each of `names` received `fence` (an id, or a function of
 * the name for streams that spell it differently); then their ids, by name.
 */
export async function afterFence(page, names, fence) {
  const all = {};
  for (const name of names) {
    const want = typeof fence === "function" ? fence(name) : fence;
    all[name] = await eventually(async () => {
      const ids = await idsOf(page, name);
      return ids.includes(want) && ids;
    }, 10_000, `${want} on the ${name} stream`);
  }
  return all;
}

/** Asserts that `got[name]` is exactly `expected` (ids, in order). */
export function assertIds(got, name, expected) {
  const ids = got[name];
  assert(ids.join() === expected.join(), `the ${name} stream got [${ids}], expected [${expected}]`);
}

/**
 * POSTs a Mercure form (`fields`: name → value or array of values;
 * `private: true` sends the field) to the hub through the page's `fetch`,
 * with `Authorization: Bearer <token>` when a token is given; returns
 * `{ status, type, body }`.
 */
export function pagePublish(page, fields, token) {
  return page.evaluate(
    async ({ fields, token }) => {
      const form = new URLSearchParams();
      for (const [name, value] of Object.entries(fields)) {
        if (value === true) form.append(name, "on");
        else for (const v of [value].flat()) form.append(name, v);
      }
      const headers = token ? { authorization: `Bearer ${token}` } : {};
      const res = await fetch("/.well-known/mercure", { method: "POST", headers, body: form });
      return { status: res.status, type: res.headers.get("content-type"), body: await res.text() };
    },
    { fields, token },
  );
}

/** Sets an HttpOnly, Secure, SameSite=Strict cookie for 127.0.0.1 in the browser context. */
export function setTokenCookie(browser, name, value) {
  // By domain rather than URL: for an http URL Chromium refuses a Secure
  // cookie, which the `__Secure-` prefix needs; set so, Chromium sends it
  // to loopback over plain HTTP, a secure context.
  return browser.context.addCookies([
    { name, value, domain: "127.0.0.1", path: "/", httpOnly: true, secure: true, sameSite: "Strict" },
  ]);
}

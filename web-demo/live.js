// The live view: a stream of the running server's /api/events, the current
// mode, a way to drop the stream and resume it with the last id, and forms
// that write through the API so the round trip shows in the stream.
//
// Two transports, one log. Without selectors or a token the page opens an
// EventSource, which reconnects by itself and sends Last-Event-ID. With
// topic selectors (`match=`, `match_urlpattern=`) or a pasted token it
// reads the stream with fetch, sending `Authorization: Bearer` (a page
// cannot set the HttpOnly cookie a browser would send to an EventSource),
// parses the SSE with ./sse.js, and after a drop waits the server's
// `retry:` and reconnects with a Last-Event-ID header, as an EventSource
// would.

import { byId, clip, h, typeClass } from "./dom.js";
import { SseParser } from "./sse.js";

/** Types an EventSource listens for; a type published from the form is added. */
const TYPES = [
  "server.state",
  "stream.reset",
  "stream.expired",
  "heartbeat",
  "item.created",
  "item.updated",
  "item.deleted",
  "revision.created",
  "note",
  "message",
];
const MAX_ROWS = 300;
/** An EventSource's reconnection delay before the server sent `retry:`. */
const DEFAULT_RETRY_MS = 2000;

function clock() {
  return new Date().toLocaleTimeString([], { hour12: false });
}

/** Non-empty lines of a textarea. */
function lines(el) {
  return el.value
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
}

export function startLive() {
  const ui = {
    status: byId("live-status"),
    mode: byId("live-mode"),
    lastId: byId("live-last-id"),
    beats: byId("live-heartbeats"),
    transport: byId("live-transport"),
    log: byId("live-log"),
    drop: byId("live-drop"),
    resume: byId("live-resume"),
    fresh: byId("live-fresh"),
    result: byId("api-result"),
    token: byId("api-token"),
    adminToken: byId("admin-token"),
    match: byId("sub-match"),
    urlpattern: byId("sub-urlpattern"),
    subToken: byId("sub-token"),
  };
  // Item events have the topic <origin>/items/<part number>: the hub URL's
  // origin, else the address the server listens on, which serves this page.
  ui.match.placeholder = `${location.origin}/items/DEMO-1`;
  byId("pub-topics").placeholder = `${location.origin}/items/DEMO-1`;
  const types = new Set(TYPES);
  /** The stream open now: `{ close() }`, an EventSource or a fetch stream. */
  let stream = null;
  let connection = 0;
  let lastId = "";
  let mode = "unknown";
  let heartbeats = 0;
  /** What the stream asks for: selectors and a token; none: an EventSource. */
  let subscription = { match: [], urlpattern: [], token: "" };

  function setStatus(state, text) {
    ui.status.dataset.state = state;
    ui.status.textContent = text;
    const open = state === "open" || state === "connecting" || state === "reconnecting";
    ui.drop.hidden = !open;
    ui.resume.hidden = open;
    ui.fresh.hidden = open;
  }

  function row(kind, ...content) {
    const li = h("li", { class: `entry kind-${kind}`, "data-kind": kind }, h("span", { class: "at" }, clock()), ...content);
    const atBottom = ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 24;
    ui.log.append(li);
    while (ui.log.childElementCount > MAX_ROWS) ui.log.firstElementChild.remove();
    if (atBottom) ui.log.scrollTop = ui.log.scrollHeight;
    return li;
  }

  function setMode(next, reason) {
    mode = next;
    ui.mode.textContent = next;
    ui.mode.className = `badge mode-${next}`;
    ui.mode.title = reason ? `reason: ${reason}` : "";
  }

  /** Shows one event of either transport; `own` is its id, null for id-less control events. */
  function show(type, data, own) {
    if (own) {
      lastId = own;
      ui.lastId.textContent = own;
    }
    if (type === "heartbeat") {
      heartbeats += 1;
      ui.beats.textContent = `${heartbeats} heartbeats`;
      return;
    }
    if (type === "server.state") {
      try {
        const t = JSON.parse(data);
        setMode(t.to, t.reason);
      } catch {
        // Shown as it came.
      }
    }
    if (type === "stream.reset") {
      let reason = "";
      try {
        reason = JSON.parse(data).reason;
      } catch {
        reason = data;
      }
      const li = row("reset", h("span", { class: "chip t-reset" }, "stream.reset"), h("strong", { class: "reason" }, reason), h("span", { class: "dim" }, " — refetch state"));
      li.dataset.reason = reason;
      return;
    }
    const li = row(
      own ? "event" : "control",
      h("code", { class: "id" }, own ?? "—"),
      h("span", { class: `chip ${typeClass(type)}` }, type),
      h("span", { class: "data", title: data }, clip(data, 90)),
    );
    li.dataset.type = type;
    if (own) li.dataset.id = own;
  }

  function listen(source, type, state) {
    source.addEventListener(type, (ev) => {
      // MessageEvent.lastEventId is the stream's last id, which id-less
      // control events leave unchanged: an event carried an id iff it moved.
      const own = ev.lastEventId !== state.prev ? ev.lastEventId : null;
      state.prev = ev.lastEventId;
      show(type, ev.data, own);
    });
  }

  function openEventSource(resumeFrom) {
    const url = resumeFrom ? `/api/events?last_event_id=${encodeURIComponent(resumeFrom)}` : "/api/events";
    const source = new EventSource(url);
    const state = { prev: "", opened: false };
    const handle = {
      close: () => source.close(),
      addType: (type) => listen(source, type, state),
    };
    stream = handle;
    row(
      "note",
      h("span", { class: "what" }, `connection #${connection}: `),
      resumeFrom ? h("span", {}, "opened with ", h("code", {}, `?last_event_id=${resumeFrom}`)) : h("span", {}, "opened with no last id (live only)"),
    );
    source.addEventListener("open", () => {
      if (stream !== handle) return;
      if (state.opened) {
        row("note", h("span", { class: "what" }, "the browser reconnected by itself, sending "), h("code", {}, `Last-Event-ID: ${lastId || "(none)"}`));
      }
      state.opened = true;
      setStatus("open", "open");
    });
    source.addEventListener("error", () => {
      if (stream !== handle) return;
      if (source.readyState === EventSource.CONNECTING) {
        setStatus("reconnecting", "reconnecting…");
        row("lost", h("span", { class: "what" }, "connection lost — the browser retries by itself and will send "), h("code", {}, `Last-Event-ID: ${lastId || "(none)"}`));
      } else {
        setStatus("closed", "no stream (is the server running?)");
        row("lost", h("span", { class: "what" }, "the stream could not be opened"));
      }
    });
    for (const type of types) listen(source, type, state);
  }

  function streamUrl(sub) {
    const params = new URLSearchParams();
    for (const topic of sub.match) params.append("match", topic);
    for (const pattern of sub.urlpattern) params.append("match_urlpattern", pattern);
    const query = params.toString();
    return query ? `/api/events?${query}` : "/api/events";
  }

  function openFetch(resumeFrom, sub) {
    const controller = new AbortController();
    const handle = { close: () => controller.abort(), addType: () => {} };
    stream = handle;
    const url = streamUrl(sub);
    const live = () => stream === handle && !controller.signal.aborted;
    let parser = new SseParser(resumeFrom ?? "");
    const sent = (id) => h("code", {}, `Last-Event-ID: ${id || "(none)"}`);
    row(
      "note",
      h("span", { class: "what" }, `connection #${connection} (fetch): `),
      h("code", {}, url),
      sub.token ? h("span", {}, " with ", h("code", {}, "Authorization: Bearer …")) : null,
      resumeFrom ? h("span", {}, ", ", sent(resumeFrom)) : h("span", { class: "dim" }, ", no last id (live only)"),
    );

    // Like an EventSource: wait the server's retry, then resume with the
    // stream's last id, in a header.
    function again(why) {
      const wait = parser.retry ?? DEFAULT_RETRY_MS;
      setStatus("reconnecting", "reconnecting…");
      row("lost", h("span", { class: "what" }, `${why} — the page retries in ${wait} ms and will send `), sent(parser.lastEventId));
      setTimeout(() => {
        if (live()) attempt(true);
      }, wait);
    }

    async function attempt(retrying) {
      const headers = { accept: "text/event-stream" };
      if (sub.token) headers.authorization = `Bearer ${sub.token}`;
      if (parser.lastEventId) headers["last-event-id"] = parser.lastEventId;
      setStatus(retrying ? "reconnecting" : "connecting", retrying ? "reconnecting…" : "connecting…");
      let res;
      try {
        res = await fetch(url, { headers, signal: controller.signal, cache: "no-store" });
      } catch {
        if (live()) again("the stream could not be opened");
        return;
      }
      if (!live()) return;
      if (!res.ok) {
        const body = await res.text().catch(() => "");
        const challenge = res.headers.get("www-authenticate");
        const li = row("lost", h("span", { class: "what" }, `the server refused the stream: ${res.status} `), h("code", {}, clip(body, 120)), challenge ? h("code", {}, ` WWW-Authenticate: ${challenge}`) : null);
        li.dataset.status = String(res.status);
        if (res.status >= 500) again(`${res.status} from the server`);
        else setStatus("closed", `refused (${res.status})`);
        return;
      }
      if (retrying) row("note", h("span", { class: "what" }, "the page reconnected, sending "), sent(headers["last-event-id"]));
      setStatus("open", "open");
      // A new response is a new stream: only the last id carries over.
      parser = new SseParser(parser.lastEventId);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done || !live()) break;
          for (const ev of parser.feed(value)) show(ev.type, ev.data, ev.id);
        }
      } catch {
        // A network error ends the stream like its end does.
      }
      if (live()) again("connection lost");
    }
    attempt(false);
  }

  function open(resumeFrom) {
    if (stream) stream.close();
    connection += 1;
    const fetchIt = subscription.match.length > 0 || subscription.urlpattern.length > 0 || subscription.token !== "";
    ui.transport.textContent = fetchIt ? "fetch" : "EventSource";
    setStatus("connecting", "connecting…");
    if (fetchIt) openFetch(resumeFrom, subscription);
    else openEventSource(resumeFrom);
  }

  ui.drop.addEventListener("click", () => {
    if (stream) stream.close();
    stream = null;
    setStatus("closed", "closed by you");
    row("lost", h("span", { class: "what" }, `you closed the stream; last id ${lastId || "(none)"}`));
  });
  ui.resume.addEventListener("click", () => open(lastId || undefined));
  ui.fresh.addEventListener("click", () => open(undefined));

  byId("subscribe-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    subscription = { match: lines(ui.match), urlpattern: lines(ui.urlpattern), token: ui.subToken.value.trim() };
    open(undefined);
  });
  byId("sub-clear").addEventListener("click", () => {
    ui.match.value = "";
    ui.urlpattern.value = "";
    ui.subToken.value = "";
    subscription = { match: [], urlpattern: [], token: "" };
    open(undefined);
  });

  async function call(method, path, body, token) {
    const headers = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    ui.result.textContent = `${method} ${path} …`;
    try {
      const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      let shown = text;
      try {
        shown = JSON.stringify(JSON.parse(text), null, 2);
      } catch {
        // Not JSON: shown as it came.
      }
      ui.result.dataset.status = String(res.status);
      ui.result.textContent = `${method} ${path} → ${res.status} ${res.statusText}\n${shown}`;
      return res;
    } catch (err) {
      ui.result.dataset.status = "error";
      ui.result.textContent = `${method} ${path} failed: ${err.message}`;
      return null;
    }
  }

  function jsonField(id) {
    const text = byId(id).value.trim() || "{}";
    try {
      return JSON.parse(text);
    } catch (err) {
      ui.result.dataset.status = "error";
      ui.result.textContent = `${id}: not JSON (${err.message})`;
      return undefined;
    }
  }

  byId("item-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const verb = ev.submitter?.value ?? "create";
    const pn = byId("item-pn").value.trim();
    const description = byId("item-desc").value;
    const path = `/api/items/${encodeURIComponent(pn)}`;
    if (verb === "delete") return call("DELETE", path, undefined, ui.token.value);
    const properties = jsonField("item-props");
    if (properties === undefined) return;
    if (verb === "update") return call("PUT", path, { description, properties }, ui.token.value);
    return call("POST", "/api/items", { part_number: pn, description, properties }, ui.token.value);
  });

  byId("publish-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const type = byId("pub-type").value.trim();
    const data = jsonField("pub-data");
    if (data === undefined) return;
    if (!types.has(type)) {
      types.add(type);
      stream?.addType(type);
    }
    const topics = lines(byId("pub-topics"));
    const body = { type, data };
    if (topics.length) body.topics = topics;
    if (byId("pub-private").checked) body.private = true;
    call("POST", "/api/publish", body, ui.token.value);
  });

  byId("admin-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    call("PUT", "/api/admin/read-only", { read_only: mode !== "read_only" }, ui.adminToken.value);
  });

  open(undefined);
  return {
    get lastId() {
      return lastId;
    },
    get transport() {
      return ui.transport.textContent;
    },
  };
}

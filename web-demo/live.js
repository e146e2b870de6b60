// The live view: an EventSource on the running server's /api/events, the
// current mode, a way to drop the stream and resume it with the last id, and
// forms that write through the API so the round trip shows in the stream.

import { byId, clip, h, typeClass } from "./dom.js";

/** Types the page listens for; a type published from the form is added. */
const TYPES = [
  "server.state",
  "stream.reset",
  "heartbeat",
  "item.created",
  "item.updated",
  "item.deleted",
  "revision.created",
  "note",
];
const MAX_ROWS = 300;

function clock() {
  return new Date().toLocaleTimeString([], { hour12: false });
}

export function startLive() {
  const ui = {
    status: byId("live-status"),
    mode: byId("live-mode"),
    lastId: byId("live-last-id"),
    beats: byId("live-heartbeats"),
    log: byId("live-log"),
    drop: byId("live-drop"),
    resume: byId("live-resume"),
    fresh: byId("live-fresh"),
    result: byId("api-result"),
    token: byId("api-token"),
    adminToken: byId("admin-token"),
  };
  const types = new Set(TYPES);
  let es = null;
  let connection = 0;
  let lastId = "";
  let mode = "unknown";
  let heartbeats = 0;

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

  function listen(source, type, state) {
    source.addEventListener(type, (ev) => {
      // MessageEvent.lastEventId is the stream's last id, which id-less
      // control events leave unchanged: an event carried an id iff it moved.
      const own = ev.lastEventId !== state.prev ? ev.lastEventId : null;
      state.prev = ev.lastEventId;
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
          const t = JSON.parse(ev.data);
          setMode(t.to, t.reason);
        } catch {
          // Shown as it came.
        }
      }
      if (type === "stream.reset") {
        let reason = "";
        try {
          reason = JSON.parse(ev.data).reason;
        } catch {
          reason = ev.data;
        }
        const li = row("reset", h("span", { class: "chip t-reset" }, "stream.reset"), h("strong", { class: "reason" }, reason), h("span", { class: "dim" }, " — refetch state"));
        li.dataset.reason = reason;
        return;
      }
      const li = row(
        own ? "event" : "control",
        h("code", { class: "id" }, own ?? "—"),
        h("span", { class: `chip ${typeClass(type)}` }, type),
        h("span", { class: "data", title: ev.data }, clip(ev.data, 90)),
      );
      li.dataset.type = type;
      if (own) li.dataset.id = own;
    });
  }

  function open(resumeFrom) {
    if (es) es.close();
    connection += 1;
    const url = resumeFrom ? `/api/events?last_event_id=${encodeURIComponent(resumeFrom)}` : "/api/events";
    const source = new EventSource(url);
    es = source;
    const state = { prev: "", opened: false };
    row(
      "note",
      h("span", { class: "what" }, `connection #${connection}: `),
      resumeFrom ? h("span", {}, "opened with ", h("code", {}, `?last_event_id=${resumeFrom}`)) : h("span", {}, "opened with no last id (live only)"),
    );
    setStatus("connecting", "connecting…");
    source.addEventListener("open", () => {
      if (source !== es) return;
      if (state.opened) {
        row("note", h("span", { class: "what" }, "the browser reconnected by itself, sending "), h("code", {}, `Last-Event-ID: ${lastId || "(none)"}`));
      }
      state.opened = true;
      setStatus("open", "open");
    });
    source.addEventListener("error", () => {
      if (source !== es) return;
      if (source.readyState === EventSource.CONNECTING) {
        setStatus("reconnecting", "reconnecting…");
        row("lost", h("span", { class: "what" }, "connection lost — the browser retries by itself and will send "), h("code", {}, `Last-Event-ID: ${lastId || "(none)"}`));
      } else {
        setStatus("closed", "no stream (is the server running?)");
        row("lost", h("span", { class: "what" }, "the stream could not be opened"));
      }
    });
    for (const type of types) listen(source, type, state);
    source.tidingsState = state;
  }

  ui.drop.addEventListener("click", () => {
    if (es) es.close();
    es = null;
    setStatus("closed", "closed by you");
    row("lost", h("span", { class: "what" }, `you closed the stream; last id ${lastId || "(none)"}`));
  });
  ui.resume.addEventListener("click", () => open(lastId || undefined));
  ui.fresh.addEventListener("click", () => open(undefined));

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
      if (es) listen(es, type, es.tidingsState);
    }
    call("POST", "/api/publish", { type, data }, ui.token.value);
  });

  byId("admin-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    call("PUT", "/api/admin/read-only", { read_only: mode !== "read_only" }, ui.adminToken.value);
  });

  open(undefined);
  return { get lastId() { return lastId; } };
}

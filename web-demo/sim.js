// The offline replay simulator: tidings-core compiled to WebAssembly, driven
// by buttons, drawn as a ring on a timeline with one log per client. The
// seed, the configuration and every action live in the URL's query (the
// hash is left to the page's section links), so a scenario is reproducible
// and shareable.

import { byId, clip, h, typeClass } from "./dom.js";
import { drawTimeline } from "./timeline.js";
import { drawDeliveries, filterEditor, filterSummary, matcherText, topicChips } from "./topics.js";

const DEFAULTS = {
  seed: 1,
  ringSize: 16,
  batchSize: 4,
  flushIntervalMs: 1,
  heartbeatIntervalMs: 5000,
  probeIntervalMs: 1000,
  failThreshold: 3,
  recoverThreshold: 2,
  commitLatencyMs: 0,
  publishQueue: 1024,
};
/** Short URL names of the config fields. */
const URL_KEYS = {
  seed: "seed",
  ringSize: "ring",
  batchSize: "batch",
  flushIntervalMs: "flush",
  heartbeatIntervalMs: "hb",
  probeIntervalMs: "probe",
  failThreshold: "fail",
  recoverThreshold: "recover",
  commitLatencyMs: "latency",
  publishQueue: "queue",
};
const START_SCRIPT = "connect:A,connect:B,connect:C";
/**
 * The topics scenario: A selects one item, B every item with a grant for
 * P-002's private events, C everything public, D everything (`*` granted).
 */
const TOPICS_SCRIPT = [
  "filter:A:match=https://example.com/items/P-001",
  "filter:B:match_urlpattern=/items/:pn;grant=https://example.com/items/P-002",
  "filter:D:grant=*",
  "connect:A,connect:B,connect:C,connect:D",
].join(",");
const MAX_ROWS = 400;

/** Reads the config and the script from a URL query. */
export function readQuery(search) {
  const params = new URLSearchParams(search);
  const config = { ...DEFAULTS };
  for (const [field, key] of Object.entries(URL_KEYS)) {
    if (params.has(key)) config[field] = Number(params.get(key));
  }
  const script = params.has("script") ? params.get("script") : START_SCRIPT;
  return { config, script };
}

/**
 * Writes the config (the seed and non-defaults) and the script as a URL
 * query, keeping parameters that are not the simulator's (`clock`).
 */
export function writeQuery(config, script, search = "") {
  const parts = [];
  const keep = new URLSearchParams(search);
  for (const key of [...Object.values(URL_KEYS), "script"]) keep.delete(key);
  for (const [field, key] of Object.entries(URL_KEYS)) {
    if (config[field] !== DEFAULTS[field] || field === "seed") parts.push(`${key}=${config[field]}`);
  }
  // Script tokens hold no `&`, `+`, `#` or space (they are percent-encoded
  // in the script), only `%` needs escaping so that reading the query
  // gives the script back; `:`, `/`, `;`, `=`, `*` stay readable.
  parts.push(`script=${script.replace(/%/g, "%25")}`);
  const rest = keep.toString();
  return `?${parts.join("&")}${rest ? `&${rest}` : ""}`;
}

function fmtMs(ms) {
  return ms < 10_000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 100_000 ? 2 : 1)} s`;
}

function seqOf(id) {
  return id ? id.slice(id.lastIndexOf("-") + 1) : "";
}

function logRow(e) {
  const row = h("li", {
    class: `entry kind-${e.kind}${e.phase ? ` phase-${e.phase}` : ""}`,
    "data-kind": e.kind,
    "data-reason": e.reason ?? undefined,
    "data-id": e.id ?? undefined,
  });
  row.append(h("span", { class: "at" }, fmtMs(e.at)));
  switch (e.kind) {
    case "connect":
      row.append(
        h("span", { class: "what" }, `connected (#${e.connection}) `),
        e.id ? h("span", {}, "with Last-Event-ID ", h("code", {}, e.id)) : h("span", { class: "dim" }, "with no last id"),
      );
      break;
    case "disconnect":
      row.append(h("span", { class: "what" }, "disconnected"));
      break;
    case "stall":
      row.append(h("span", { class: "what" }, "stalled — stops reading"));
      break;
    case "resume":
      row.append(h("span", { class: "what" }, "resumed reading"));
      break;
    case "event": {
      row.dataset.seq = e.seq;
      if (e.private) row.dataset.private = "yes";
      row.append(
        h("code", { class: "id", title: e.id }, e.seq === Number(seqOf(e.id)) ? e.seq : e.id),
        h("span", { class: `chip ${typeClass(e.type)}` }, e.type),
        ...topicChips(e),
      );
      if (e.phase === "replay") row.append(h("span", { class: "tag tag-replay" }, "replay"));
      if (e.phase === "catch_up") row.append(h("span", { class: "tag tag-catchup" }, "catch-up"));
      row.append(h("span", { class: "data", title: e.data }, clip(e.data, 60)));
      break;
    }
    case "state": {
      let to = "";
      try {
        to = JSON.parse(e.data).to;
      } catch {
        to = e.data;
      }
      row.append(h("span", { class: "chip t-state" }, "server.state"), h("span", { class: "dim" }, `mode ${to} (on connect)`));
      break;
    }
    case "reset": {
      let head = "";
      try {
        head = JSON.parse(e.data).head;
      } catch {
        head = "";
      }
      row.append(
        h("span", { class: "chip t-reset" }, "stream.reset"),
        h("strong", { class: "reason" }, e.reason),
        h("span", { class: "dim" }, ` head ${head} — refetch state`),
      );
      break;
    }
    case "heartbeat":
      row.append(h("span", { class: "chip t-heartbeat" }, "heartbeat"));
      break;
    default:
      row.append(h("span", {}, e.kind));
  }
  return row;
}

function clientStatus(c) {
  if (!c.connected) return ["offline", "offline"];
  if (c.behindRing) return ["behind", "behind the ring"];
  if (c.stalled) return ["stalled", "stalled"];
  return ["live", "live"];
}

/** What the publish queue's writer is doing, for the state row. */
function commitText(stats) {
  if (stats.commitDue === null) return "";
  const n = (k) => `${k} event${k === 1 ? "" : "s"}`;
  const queued = stats.queued ? ` · ${n(stats.queued)} queued for the next write` : "";
  return `${n(stats.writing)} committing, stored at ${fmtMs(stats.commitDue)}${queued}`;
}

/** Starts the simulator inside the page's #simulator section. */
export async function startSimulator() {
  const status = byId("sim-status");
  let wasm;
  try {
    wasm = await import("./pkg/tidings_wasm.js");
    await wasm.default();
  } catch (err) {
    status.textContent = `The simulator's WebAssembly is not built (${err.message}). Run ./scripts/run, or ./scripts/build-web, and reload.`;
    status.classList.add("error");
    return null;
  }
  const { Simulation } = wasm;
  const params = new URLSearchParams(location.search);

  const ui = {
    clock: byId("sim-clock"),
    mode: byId("sim-mode"),
    stats: byId("sim-stats"),
    ringSummary: byId("ring-summary"),
    svg: byId("timeline"),
    clients: byId("clients"),
    transitions: byId("transitions"),
    script: byId("sim-script"),
    run: byId("sim-run"),
    storage: byId("sim-storage"),
    readOnly: byId("sim-readonly"),
    deliveries: byId("deliveries"),
    topic: byId("sim-topic"),
    private: byId("sim-private"),
    streamPastRing: byId("sim-stream-past-ring"),
    burstPastRing: byId("sim-burst-past-ring"),
    flush: byId("sim-flush"),
    commit: byId("sim-commit"),
    latency: byId("sim-latency"),
    heartbeats: byId("sim-heartbeats"),
    form: byId("sim-config"),
  };

  let sim;
  let config;
  let cards = new Map();
  let running = params.get("clock") !== "paused";
  let lastSignature = "";
  let lastHashWrite = 0;

  function setStatus(text, isError = false) {
    status.textContent = text;
    status.classList.toggle("error", isError);
  }

  function build(cfg, script) {
    config = cfg;
    try {
      sim = Simulation.replay(cfg, script);
      setStatus("");
    } catch (err) {
      setStatus(`Could not replay the link: ${err.message}. Started afresh.`, true);
      config = { ...DEFAULTS, seed: Number.isFinite(cfg.seed) ? cfg.seed : 1 };
      sim = Simulation.replay(config, START_SCRIPT);
    }
    for (const [field, value] of Object.entries(config)) {
      const input = ui.form.elements.namedItem(field);
      if (input) input.value = value;
    }
    ui.clients.replaceChildren();
    cards = new Map();
    lastSignature = "";
    render(true);
  }

  /** Runs `change` on the simulation, shows its error if it throws, redraws. */
  function run(change) {
    try {
      change(sim);
      setStatus("");
    } catch (err) {
      setStatus(err.message, true);
    }
    render(true);
  }

  function act(action) {
    run((s) => s.apply(action));
  }

  /** Gives a client a filter; a connected one reconnects with its last id to use it. */
  function refilter(view, filter) {
    run((s) => {
      if (view.connected) s.disconnect(view.name);
      s.setFilter(view.name, filter);
      if (view.connected) s.connect(view.name, true);
    });
  }

  let updates = 0;
  function publishUpdate() {
    const topic = ui.topic.value.trim();
    const isPrivate = ui.private.checked;
    updates += 1;
    const data = JSON.stringify({ topic: topic.slice(topic.lastIndexOf("/") + 1), private: isPrivate, n: updates });
    run((s) => s.publishUpdate({ type: "item.updated", data, topics: [topic], private: isPrivate }));
  }

  /** Shows the commit latency in its picker, adding a choice for a value set by a link. */
  function showLatency(ms) {
    const value = String(ms);
    if (![...ui.latency.options].some((o) => o.value === value)) {
      ui.latency.append(h("option", { value }, fmtMs(ms)));
    }
    ui.latency.value = value;
  }

  function nextClientName() {
    const taken = new Set(sim.clients().map((c) => c.name));
    for (const ch of "ABCDEFGHIJKLMNOPQRSTUVWXYZ") if (!taken.has(ch)) return ch;
    return `C${taken.size}`;
  }

  function card(name) {
    let c = cards.get(name);
    if (c) return c;
    const title = h("h3", {}, name);
    const pill = h("span", { class: "pill" });
    const facts = h("p", { class: "facts" });
    const filter = h("p", { class: "filter-line" });
    const editor = h("div", { class: "filter-editor" });
    const buttons = h("div", { class: "card-buttons" });
    const log = h("ol", { class: "log", "aria-label": `log of client ${name}` });
    const root = h("article", { class: "client", "data-client": name }, h("header", {}, title, pill), facts, filter, buttons, editor, log);
    ui.clients.append(root);
    c = { root, pill, facts, filter, editor, buttons, log, offset: 0, buttonsKey: "", filterKey: "" };
    cards.set(name, c);
    return c;
  }

  function updateCard(c, view) {
    const [state, label] = clientStatus(view);
    c.root.dataset.state = state;
    c.pill.className = `pill pill-${state}`;
    c.pill.textContent = label;
    const facts = [];
    if (view.connected) {
      facts.push(`cursor ${view.cursor}`, `backlog ${view.backlog}`);
    }
    facts.push(
      `last id ${view.lastId ?? "none"}`,
      `${view.received} received`,
      `${view.privateReceived} private`,
      `${view.resets} resets`,
      `${view.writes} writes`,
      `${view.wakeups} wake-ups (${view.idleWakeups} idle)`,
    );
    c.facts.textContent = facts.join(" · ");

    const filterKey = `${view.connected}/${view.selectors.map(matcherText)}/${view.grants.map(matcherText)}`;
    if (c.filterKey !== filterKey) {
      c.filterKey = filterKey;
      c.filter.replaceChildren(...filterSummary(view));
      const open = c.editor.querySelector("details")?.open ?? false;
      const editor = filterEditor(view, (filter) => refilter(view, filter));
      editor.open = open;
      c.editor.replaceChildren(editor);
    }

    const key = `${view.connected}/${view.stalled}`;
    if (c.buttonsKey !== key) {
      c.buttonsKey = key;
      const n = view.name;
      const btn = (label, action, title) =>
        h("button", { type: "button", title, "data-action": action, onclick: () => act(action) }, label);
      const stale = `connect-id:${n}:boot0-${Math.max(1, Number(seqOf(view.lastId)) || 1)}`;
      c.buttons.replaceChildren(
        ...(view.connected
          ? [
              view.stalled
                ? btn("Resume", `resume:${n}`, "Read again: catch up from the ring, or get a lagged reset")
                : btn("Stall", `stall:${n}`, "Stop reading; the backlog stays in the ring"),
              btn("Disconnect", `disconnect:${n}`, "Drop the connection; the client keeps its last id"),
            ]
          : [
              btn("Reconnect with last id", `connect:${n}`, "Send Last-Event-ID: replay what was missed"),
              btn("Reconnect fresh", `connect-live:${n}`, "No last id: live events only"),
              btn("Use an old boot's id", stale, "An id from another epoch: stream.reset unknown_epoch"),
            ]),
      );
    }

    const fresh = sim.log(view.name, c.offset);
    if (fresh.length > 0) {
      const atBottom = c.log.scrollHeight - c.log.scrollTop - c.log.clientHeight < 24;
      c.log.append(...fresh.map(logRow));
      c.offset += fresh.length;
      while (c.log.childElementCount > MAX_ROWS) c.log.firstElementChild.remove();
      if (atBottom) c.log.scrollTop = c.log.scrollHeight;
    }
  }

  function render(force = false) {
    const stats = sim.stats();
    ui.clock.textContent = `t = ${fmtMs(stats.now)}`;
    ui.flush.hidden = stats.flushDue === null;
    ui.flush.textContent = stats.flushDue === null ? "" : `events wait for the wake-up at ${fmtMs(stats.flushDue)}`;
    ui.commit.hidden = stats.commitDue === null;
    ui.commit.textContent = commitText(stats);
    const clients = sim.clients();
    // Cheap to compute every frame; the ring and the mode are fetched only
    // when something changed (mode changes are published events).
    const { now: _clock, flushDue: _due, ...counters } = stats;
    const signature = JSON.stringify([clients, counters]);
    const now = performance.now();
    if (force || now - lastHashWrite > 1000) {
      const query = writeQuery(config, sim.script, location.search);
      if (location.search !== query) history.replaceState(null, "", `${query}${location.hash}`);
      lastHashWrite = now;
      ui.script.textContent = sim.script;
    }
    if (!force && signature === lastSignature) return;
    lastSignature = signature;
    const mode = sim.mode();
    const ring = sim.ring();

    ui.mode.textContent = mode.mode;
    ui.mode.className = `badge mode-${mode.mode}`;
    ui.storage.textContent = mode.storageUp ? "Storage: up" : "Storage: down";
    ui.storage.setAttribute("aria-pressed", String(!mode.storageUp));
    ui.storage.dataset.action = mode.storageUp ? "storage:down" : "storage:up";
    ui.readOnly.setAttribute("aria-pressed", String(mode.readOnly));
    ui.readOnly.textContent = mode.readOnly ? "Read-only: on" : "Read-only: off";
    showLatency(stats.commitLatencyMs);
    const past = config.ringSize + 4;
    ui.streamPastRing.textContent = `Stream past the ring (${past})`;
    ui.streamPastRing.dataset.action = `stream:${past}`;
    ui.burstPastRing.textContent = `Burst past the ring (${past})`;
    ui.burstPastRing.dataset.action = `publish:${past}`;

    ui.stats.replaceChildren(
      ...[
        ["published", stats.published],
        ["delivered", stats.delivered],
        ["catch-ups", stats.catchUps],
        ["resets", stats.resets],
        ["lagged", stats.lagged],
        ["wake-ups", stats.wakeups],
        ["routes", stats.routes],
        ["bells", stats.bells],
        ["idle wake-ups", stats.idleWakeups],
        ["matcher evaluations", stats.matcherEvaluations],
        ["connected", stats.subscribers],
        ["commits", stats.commits],
        ["refused", stats.refused],
      ].map(([k, v]) => h("div", { class: "stat", "data-stat": k }, h("dt", {}, k), h("dd", {}, v))),
    );
    const tailId = ring.events.length ? ring.events[0].id : "—";
    const headId = ring.head ? `${ring.epoch}-${ring.head}` : "—";
    ui.ringSummary.replaceChildren(
      h("span", {}, "epoch ", h("code", {}, ring.epoch)),
      h("span", {}, "tail ", h("code", { id: "ring-tail" }, tailId)),
      h("span", {}, "head ", h("code", { id: "ring-head" }, headId)),
      h("span", {}, `${ring.events.length}/${ring.capacity} held`),
    );
    const pending = stats.commitDue === null ? [] : sim.committing();
    drawTimeline(ui.svg, ring, clients, pending, ui.svg.clientWidth || ui.svg.parentElement.clientWidth || 800);
    drawDeliveries(ui.deliveries, ring, clients);
    for (const view of clients) updateCard(card(view.name), view);

    ui.transitions.replaceChildren(
      ...mode.transitions.map((t) =>
        h("li", {}, h("span", { class: "at" }, fmtMs(t.at)), h("span", { class: `badge small mode-${t.to}` }, t.to), ` ${t.reason}`),
      ),
    );
  }

  // Toolbar: every button with data-action applies that action.
  byId("sim-toolbar").addEventListener("click", (ev) => {
    const button = ev.target.closest("button");
    if (!button) return;
    if (button.dataset.action) act(button.dataset.action);
  });
  ui.latency.addEventListener("change", () => act(`latency:${ui.latency.value}`));
  byId("sim-add-client").addEventListener("click", () => act(`connect:${nextClientName()}`));
  byId("sim-restart").addEventListener("click", () => build(config, START_SCRIPT));
  byId("sim-topics-demo").addEventListener("click", () => build(config, TOPICS_SCRIPT));
  byId("sim-update").addEventListener("click", publishUpdate);
  byId("sim-share").addEventListener("click", async () => {
    render(true);
    try {
      await navigator.clipboard.writeText(location.href);
      setStatus("Link copied: it replays this exact scenario.");
    } catch {
      setStatus(`Share this link: ${location.href}`);
    }
  });
  ui.heartbeats.addEventListener("change", () => {
    ui.clients.classList.toggle("hide-heartbeats", !ui.heartbeats.checked);
  });
  ui.clients.classList.toggle("hide-heartbeats", !ui.heartbeats.checked);
  ui.form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const cfg = {};
    for (const field of Object.keys(DEFAULTS)) {
      cfg[field] = Number(ui.form.elements.namedItem(field).value);
    }
    build(cfg, START_SCRIPT);
  });

  function setRunning(on) {
    running = on;
    ui.run.textContent = on ? "Pause clock" : "Run clock";
    ui.run.setAttribute("aria-pressed", String(!on));
  }
  ui.run.addEventListener("click", () => setRunning(!running));
  setRunning(running);

  // The virtual clock follows real time while running.
  let last = performance.now();
  let carry = 0;
  function frame(t) {
    const dt = Math.min(250, t - last);
    last = t;
    if (running && document.visibilityState === "visible") {
      carry += dt;
      const ms = Math.floor(carry);
      if (ms >= 1) {
        carry -= ms;
        sim.advance(ms);
        render();
      }
    }
    requestAnimationFrame(frame);
  }
  requestAnimationFrame(frame);

  window.addEventListener("resize", () => render(true));

  const initial = readQuery(location.search);
  build(initial.config, initial.script);
  return { get sim() { return sim; } };
}

// The picture of the simulator: the history ring as a window over the
// timeline of event seqs, the published events still on their way into it,
// and one lane per client with its cursor.

import { s, typeClass } from "./dom.js";

const LABEL_W = 72;
const CELL_GAP = 2;
const ROW_H = 26;
const TOP = 30;

function laneState(c) {
  if (!c.connected) return "offline";
  if (c.behindRing) return "behind";
  if (c.stalled) return "stalled";
  return "live";
}

/** The seq a client would resume after, from its last id. */
function lastSeq(c) {
  if (!c.lastId) return 0;
  const n = Number(c.lastId.slice(c.lastId.lastIndexOf("-") + 1));
  return Number.isFinite(n) ? n : 0;
}

/** What a held event's cell says on hover: id, type, topics, data, readers. */
function eventTitle(ev) {
  const topics = ev.topics.length ? ` on ${ev.topics.join(", ")}` : "";
  const readers = ev.seenBy.length ? `read by ${ev.seenBy.join(", ")}` : "read by no client yet";
  return `${ev.suppliedId ?? ev.id} ${ev.type}${ev.private ? " (private)" : ""}${topics}: ${ev.data} — ${readers}`;
}

/** An event committing: outlined in its type's colour, with no id yet. */
function pendingCell(p, x0, cellW) {
  const what = p.phase === "writing" ? "being written" : "queued for the next write";
  return s(
    "rect",
    {
      x: x0 + CELL_GAP / 2 + 1,
      y: TOP + 1,
      width: Math.max(1, cellW - CELL_GAP - 2),
      height: ROW_H - 8,
      rx: 3,
      class: `cell pending phase-${p.phase} ${typeClass(p.type)}`,
      "data-phase": p.phase,
    },
    s("title", {}, `${p.type} ${p.data}: ${what}, stored at ${p.commitAt} ms (its id is given then)`),
  );
}

/**
 * Redraws `svg` for `ring` (RingView), `pending` (PendingEvent[], what is
 * committing) and `clients` (ClientView[]) at the given pixel width.
 */
export function drawTimeline(svg, ring, clients, pending, width) {
  const usable = Math.max(200, width - LABEL_W - 8);
  const cells = Math.max(8, Math.min(64, Math.floor(usable / 22)));
  // Events committing are drawn right of the head, in the order they will
  // get their ids, but in at most half the width so the ring stays in view.
  const shown = pending.slice(0, Math.floor(cells / 2));
  // Until the ring has filled once, show its whole capacity, empty slots
  // dashed, so its size is visible.
  const hi = Math.max(ring.head + shown.length + 2, Math.min(ring.capacity + 1, cells));
  const lo = Math.max(1, hi - cells + 1);
  const cellW = Math.min(40, usable / (hi - lo + 1));
  const x = (seq) => LABEL_W + (seq - lo) * cellW;
  const height = TOP + ROW_H + 14 + clients.length * ROW_H + 6;

  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("height", height);

  const bySeq = new Map(ring.events.map((e) => [e.seq, e]));
  const cellsGroup = s("g", { class: "cells" });
  for (let seq = lo; seq <= hi; seq++) {
    const p = shown[seq - ring.head - 1];
    if (p) {
      cellsGroup.append(pendingCell(p, x(seq), cellW));
      continue;
    }
    const ev = bySeq.get(seq);
    const kind = ev ? `in-ring ${typeClass(ev.type)}${ev.private ? " private" : ""}` : seq > ring.head ? "future" : "evicted";
    const cell = s(
      "rect",
      {
        x: x(seq) + CELL_GAP / 2,
        y: TOP,
        width: Math.max(1, cellW - CELL_GAP),
        height: ROW_H - 6,
        rx: 3,
        class: `cell ${kind}`,
      },
      s("title", {}, ev ? eventTitle(ev) : seq > ring.head ? `s${seq}: not yet published` : `seq ${seq}: evicted from the ring`),
    );
    cellsGroup.append(cell);
    if (cellW >= 18) {
      cellsGroup.append(
        s("text", { x: x(seq) + cellW / 2, y: TOP + 14, class: "cell-label" }, seq),
      );
    }
  }
  svg.append(s("text", { x: 4, y: TOP + 14, class: "lane-label" }, "history"));
  svg.append(cellsGroup);
  if (shown.length > 0) {
    // Under the committing cells: when the write under way ends.
    const more = pending.length - shown.length;
    const label = `commit at ${shown[0].commitAt} ms${more > 0 ? ` (+${more} more)` : ""}`;
    const x0 = Math.min(x(ring.head + 1), width - 150);
    svg.append(s("text", { x: Math.max(LABEL_W, x0), y: TOP + ROW_H + 6, class: "commit-label" }, label));
  }

  // The ring's window, bracketed above the cells.
  if (ring.events.length > 0) {
    const from = Math.max(lo, ring.tail);
    const x0 = x(from);
    const x1 = x(ring.head) + cellW;
    svg.append(
      s("path", { d: `M${x0 + 1},${TOP - 4} v-6 H${x1 - 1} v6`, class: "ring-bracket" }),
      s(
        "text",
        { x: Math.max(x0, Math.min((x0 + x1) / 2, width - 80)), y: TOP - 14, class: "ring-label" },
        `ring ${ring.events.length}/${ring.capacity}`,
      ),
    );
  }
  if (lo > 1) {
    svg.append(s("text", { x: LABEL_W - 4, y: TOP + 14, class: "more-left" }, "◀"));
  }

  clients.forEach((c, i) => {
    const y = TOP + ROW_H + 14 + i * ROW_H;
    const state = laneState(c);
    const g = s("g", { class: `lane lane-${state}`, "data-client": c.name });
    g.append(s("text", { x: 4, y: y + 14, class: "lane-label" }, c.name));
    g.append(s("line", { x1: LABEL_W, x2: x(hi) + cellW, y1: y + 10, y2: y + 10, class: "lane-base" }));
    const cursor = c.connected ? c.cursor : lastSeq(c) + 1;
    const cx = x(Math.max(lo, Math.min(cursor, hi)));
    // What it has read: up to its cursor.
    g.append(s("line", { x1: LABEL_W, x2: cx, y1: y + 10, y2: y + 10, class: "lane-read" }));
    if (c.connected && cursor <= ring.head && (c.backlog > 0 || c.behindRing)) {
      // Its backlog waits in the ring (or was evicted from it); events
      // past its cursor that its filter does not admit are none of it.
      g.append(
        s("line", { x1: cx, x2: x(ring.head) + cellW, y1: y + 10, y2: y + 10, class: "lane-backlog" }),
      );
    }
    const marker = s(
      "path",
      { d: `M${cx - 6},${y + 2} L${cx + 6},${y + 2} L${cx},${y + 12} Z`, class: "cursor" },
      s("title", {}, `${c.name}: ${c.connected ? `cursor at seq ${cursor}` : `offline, last id ${c.lastId ?? "none"}`}`),
    );
    g.append(marker);
    if (cursor < lo) {
      g.append(s("text", { x: LABEL_W + 12, y: y + 22, class: "behind-label" }, `${lo - cursor} more behind`));
    }
    const note = { live: "", stalled: "stalled", behind: "behind the ring", offline: "offline" }[state];
    if (note) {
      g.append(s("text", { x: width - 6, y: y + 22, class: "lane-note" }, note));
    }
    svg.append(g);
  });
}

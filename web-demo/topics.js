// Topics in the simulator view: a client's selectors and grants as text
// and back, the filter editor of a client card, the chips of an event's
// topics, and the table of which client read which event of the ring.

import { h, typeClass } from "./dom.js";

/** The simulated hub's origin: topics under it are shown without it. */
const ORIGIN = "https://example.com";

/** The topics the simulator's bursts publish on, one per item. */
export const ITEM_TOPICS = ["P-001", "P-002", "P-003", "P-004"].map((pn) => `${ORIGIN}/items/${pn}`);

/** Rows of the table of who read what: the newest events of the ring. */
const TABLE_ROWS = 12;

/** A matcher as text: its pattern, prefixed with its type unless exact. */
export function matcherText(m) {
  return m.matchType === "exact" ? m.match : `${m.matchType}:${m.match}`;
}

/**
 * Space-separated matchers, as `matcherText` writes them, to matcher
 * objects: a `urlpattern:` or `uritemplate:` prefix picks the type, anything
 * else is an exact topic (`*` is every topic).
 */
export function parseMatchers(text) {
  return text
    .split(/\s+/)
    .filter(Boolean)
    .map((word) => {
      const m = /^(exact|urlpattern|uritemplate):(.+)$/.exec(word);
      return m ? { match: m[2], matchType: m[1] } : { match: word, matchType: "exact" };
    });
}

/** A topic for display: without the simulated hub's origin. */
export function shortTopic(topic) {
  return topic.startsWith(`${ORIGIN}/`) ? topic.slice(ORIGIN.length) : topic;
}

/** The chips of a stored event's topics, and a tag when it is private. */
export function topicChips(e) {
  const chips = e.topics.map((t) => h("span", { class: "topic", title: t }, shortTopic(t)));
  if (e.private) chips.push(h("span", { class: "tag tag-private", title: "only clients granted one of its topics receive it" }, "private"));
  return chips;
}

/** What a client's connections select and may see, in one line. */
export function filterSummary(view) {
  const list = (ms, none) => (ms.length ? ms.map(matcherText).join(" ") : none);
  return [
    h("span", {}, "selects ", h("code", { class: "selects" }, list(view.selectors, "every event"))),
    h("span", {}, "grants ", h("code", { class: "grants" }, list(view.grants, "none"))),
  ];
}

/**
 * The filter editor of a client card: its selectors and grants as text;
 * submitting calls `apply({ selectors, grants })`.
 */
export function filterEditor(view, apply) {
  const field = (cls, label, list, placeholder) =>
    h("label", {}, label, h("input", { class: cls, value: list.map(matcherText).join(" "), placeholder, "aria-label": `${label} of ${view.name}` }));
  const selects = field("filter-selects", "selects", view.selectors, "every event");
  const grants = field("filter-grants", "grants", view.grants, "none");
  const form = h(
    "form",
    {
      class: "filter-form",
      onsubmit: (ev) => {
        ev.preventDefault();
        const value = (cls) => form.querySelector(`.${cls}`).value;
        apply({ selectors: parseMatchers(value("filter-selects")), grants: parseMatchers(value("filter-grants")) });
      },
    },
    selects,
    grants,
    h("p", { class: "dim" }, "Space-separated; an exact topic, ", h("code", {}, "*"), ", ", h("code", {}, "urlpattern:/items/:pn"), " or ", h("code", {}, "uritemplate:…"), ". Grants are what the client's token allows: a private event needs one."),
    h("button", { type: "submit", class: "filter-apply" }, view.connected ? "Apply and reconnect" : "Apply"),
  );
  return h("details", { class: "filter" }, h("summary", {}, "Topics and grants"), form);
}

/**
 * Redraws `table` with the newest events of `ring` (RingView), one row
 * each, and one column per client of `clients` (ClientView[]): ✓ where the
 * client read the event.
 */
export function drawDeliveries(table, ring, clients) {
  const events = ring.events.slice(-TABLE_ROWS).reverse();
  const head = h(
    "tr",
    {},
    h("th", { scope: "col" }, "seq"),
    h("th", { scope: "col" }, "type"),
    h("th", { scope: "col" }, "topics"),
    ...clients.map((c) => h("th", { scope: "col", "data-client": c.name }, c.name)),
  );
  const rows = events.map((e) => {
    const seen = new Set(e.seenBy);
    return h(
      "tr",
      { "data-seq": e.seq, "data-private": e.private ? "yes" : "no", class: e.private ? "private" : undefined },
      h("td", { class: "seq", title: e.id }, e.suppliedId ?? e.seq),
      h("td", {}, h("span", { class: `chip ${typeClass(e.type)}` }, e.type)),
      h("td", { class: "topics" }, ...(e.topics.length ? topicChips(e) : [h("span", { class: "dim" }, "no topic")])),
      ...clients.map((c) =>
        h("td", { "data-client": c.name, "data-seen": seen.has(c.name) ? "yes" : "no", title: `${c.name} ${seen.has(c.name) ? "read it" : "did not read it"}` }, seen.has(c.name) ? "✓" : ""),
      ),
    );
  });
  const body = rows.length ? rows : [h("tr", {}, h("td", { colspan: 3 + clients.length, class: "dim" }, "No event in the ring yet."))];
  table.replaceChildren(h("thead", {}, head), h("tbody", {}, ...body));
}

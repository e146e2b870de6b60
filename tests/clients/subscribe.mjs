// Subscribes with the npm `eventsource` package (a WHATWG EventSource for
// Node) and prints one JSON line per event: {"open": n} on each
// (re)connection, {"id", "data"} per message. Exits after `count` messages.
// The package reconnects on its own, sending Last-Event-ID.
//
//   node subscribe.mjs <url> <count>
import { EventSource } from "eventsource";

const [url, count] = process.argv.slice(2);
let opens = 0;
let messages = 0;
const source = new EventSource(url);
source.onopen = () => {
  opens += 1;
  console.log(JSON.stringify({ open: opens }));
};
source.onmessage = (event) => {
  console.log(JSON.stringify({ id: event.lastEventId, data: event.data }));
  messages += 1;
  if (messages >= Number(count)) {
    source.close();
    process.exit(0);
  }
};
source.onerror = (error) => {
  console.log(JSON.stringify({ error: String(error.message ?? error.code ?? "error") }));
};

// A text/event-stream parser that reads a stream as the HTML standard has
// an EventSource read it, for the live view's `fetch` streams (which can
// send headers an EventSource cannot). Plain JavaScript, so the live view
// needs no WebAssembly; the package tests hold it to the core's parser.
//
// The rules: chunks may split anywhere, even between the CR and LF of one
// line ending; CR, LF and CRLF each end a line; one BOM at the very start
// is dropped; lines starting with `:` are comments; a line without `:` is
// a field with an empty value, and one space after the `:` is dropped;
// unknown fields are ignored; an `id` containing NUL is ignored; `retry`
// counts only when it is all ASCII digits; a blank line dispatches the
// event, unless no `data` line came (the id still counts); an event cut
// off by the end of the stream is never dispatched.

/** One dispatched event. */
export class SseParser {
  /** A parser at the start of a stream, remembering `lastEventId` from an earlier one. */
  constructor(lastEventId = "") {
    this.lastEventId = lastEventId;
    /** The last valid `retry:` in milliseconds, or null. */
    this.retry = null;
    this.line = "";
    this.started = false;
    this.afterCR = false;
    this.resetBlock();
  }

  resetBlock() {
    this.data = null;
    this.type = "";
    this.ownId = null;
  }

  /**
   * Parses the next chunk of text and returns the events it completes:
   * `{ type, data, id, lastEventId }`, `id` being the id field of the
   * event's own block (or null), `lastEventId` the stream's after it.
   */
  feed(chunk) {
    let text = chunk;
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    const out = [];
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      if (c === 10 && this.afterCR && i === start && this.line === "") {
        // The LF of a CRLF whose CR ended the previous line.
        this.afterCR = false;
        start = i + 1;
        continue;
      }
      this.line += text.slice(start, i);
      this.afterCR = c === 13;
      this.take(this.line, out);
      this.line = "";
      start = i + 1;
    }
    if (start < text.length) {
      this.line += text.slice(start);
      this.afterCR = false;
    }
    return out;
  }

  /** Whether a partial line or event is pending: what the end of the stream would lose. */
  pending() {
    return this.line !== "" || this.data !== null || this.type !== "" || this.ownId !== null;
  }

  take(line, out) {
    if (line === "") {
      if (this.data !== null) {
        out.push({ type: this.type || "message", data: this.data.slice(0, -1), id: this.ownId, lastEventId: this.lastEventId });
      }
      this.resetBlock();
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "event":
        this.type = value;
        break;
      case "data":
        this.data = `${this.data ?? ""}${value}\n`;
        break;
      case "id":
        if (!value.includes("\0")) {
          this.lastEventId = value;
          this.ownId = value;
        }
        break;
      case "retry":
        if (/^[0-9]+$/.test(value)) this.retry = Number(value);
        break;
      default:
        break;
    }
  }
}

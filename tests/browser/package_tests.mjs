// Tests of the built npm package (web-demo/pkg) under Node: it installs by
// name, its types declare every export, and every export's JavaScript doc
// example runs and holds.

import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";

import { ROOT, test } from "./harness.mjs";

const PKG = path.join(ROOT, "web-demo", "pkg");

/**
 * The JSDoc examples of the exported classes, their members and functions,
 * from the generated TypeScript declarations (what a user of the package
 * reads). Returns `{ name, examples: [code] }` per export.
 */
export function docExamples(dts) {
  const lines = dts.split("\n");
  const stop = lines.findIndex((l) => l.startsWith("export type InitInput"));
  const out = [];
  let doc = [];
  let inDoc = false;
  let owner = null;
  for (const raw of lines.slice(0, stop < 0 ? lines.length : stop)) {
    const line = raw.trim();
    if (line.startsWith("/**")) {
      inDoc = !line.endsWith("*/");
      doc = [line];
      continue;
    }
    if (inDoc) {
      doc.push(raw);
      if (line.endsWith("*/")) inDoc = false;
      continue;
    }
    let name = null;
    let m;
    if ((m = line.match(/^export (?:class|function) (\w+)/))) {
      name = m[1];
      if (line.startsWith("export class")) owner = name;
    } else if (owner && (m = line.match(/^(?:static |readonly )?(\w+)[(:?]/))) {
      name = `${owner}.${m[1]}`;
    } else if (line === "}") {
      owner = null;
    }
    if (name && !/\.(free)$/.test(name)) {
      const text = doc.map((l) => l.replace(/^\s*\* ?/, "")).join("\n");
      const examples = [...text.matchAll(/```js\n([\s\S]*?)```/g)].map((x) => x[1]);
      out.push({ name, examples });
    }
    if (line && !line.startsWith("//")) doc = [];
  }
  return out;
}

/** Loads the package's module in Node, initialised from the wasm bytes. */
async function loadPackage() {
  const mod = await import(pathToFileURL(path.join(PKG, "tidings_wasm.js")).href);
  mod.initSync({ module: readFileSync(path.join(PKG, "tidings_wasm_bg.wasm")) });
  return mod;
}

const assertingConsole = {
  ...console,
  assert(ok, what) {
    if (!ok) throw new Error(`assertion failed: ${what}`);
  },
};

test("package: every export has a JavaScript example in its types, and each one runs", async () => {
  const dts = readFileSync(path.join(PKG, "tidings_wasm.d.ts"), "utf8");
  const exports = docExamples(dts);
  const missing = exports.filter((e) => e.examples.length === 0).map((e) => e.name);
  if (missing.length) throw new Error(`exports without a \`\`\`js example: ${missing.join(", ")}`);
  const names = exports.map((e) => e.name);
  for (const want of ["Simulation", "Simulation.constructor", "Simulation.publishBurst", "Simulation.now", "SseParser.feed", "encodeEvent", "parseEventId"]) {
    if (!names.includes(want)) throw new Error(`${want} not found among ${names.join(", ")}`);
  }
  const mod = await loadPackage();
  const AsyncFunction = (async () => {}).constructor;
  let ran = 0;
  for (const { name, examples } of exports) {
    for (const code of examples) {
      // Imports and init are the page's business; the bindings are in scope.
      const body = code
        .split("\n")
        .filter((l) => !/^\s*import\b/.test(l) && !/^\s*await init\(\);/.test(l))
        .map((l) => l.replace(/console\.assert\((.*)\);\s*$/, (_, expr) => `console.assert(${expr}, ${JSON.stringify(expr)});`))
        .join("\n");
      const fn = new AsyncFunction("Simulation", "SseParser", "encodeEvent", "parseEventId", "console", body);
      try {
        await fn(mod.Simulation, mod.SseParser, mod.encodeEvent, mod.parseEventId, assertingConsole);
      } catch (err) {
        throw new Error(`example of ${name}: ${err.message}\n${body}`);
      }
      ran += 1;
    }
  }
  if (ran < exports.length) throw new Error(`only ${ran} examples for ${exports.length} exports`);
  console.log(`     ${ran} examples of ${exports.length} exports ran`);
});

test("package: installs by name from node_modules, with types, module and files", async () => {
  const meta = JSON.parse(readFileSync(path.join(PKG, "package.json"), "utf8"));
  if (meta.name !== "tidings-wasm" || !/^\d+\.\d+\.\d+/.test(meta.version)) throw new Error(`name/version: ${meta.name} ${meta.version}`);
  for (const file of [meta.module, meta.types, ...meta.files]) {
    if (!existsSync(path.join(PKG, file))) throw new Error(`package.json names missing file ${file}`);
  }
  // A consumer that depends on it: import by name, resolve the wasm through
  // the package's exports, run a scenario.
  const app = mkdtempSync(path.join(os.tmpdir(), "tidings-consumer-"));
  try {
    mkdirSync(path.join(app, "node_modules"));
    symlinkSync(PKG, path.join(app, "node_modules", "tidings-wasm"), "dir");
    writeFileSync(path.join(app, "package.json"), JSON.stringify({ type: "module", dependencies: { "tidings-wasm": meta.version } }));
    writeFileSync(
      path.join(app, "main.js"),
      `import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { initSync, Simulation } from "tidings-wasm";
const wasm = fileURLToPath(import.meta.resolve("tidings-wasm/tidings_wasm_bg.wasm"));
initSync({ module: readFileSync(wasm) });
const sim = new Simulation({ ringSize: 4 });
sim.connect("A", true);
sim.stall("A");
sim.publishBurst(6);
sim.resume("A");
console.log(sim.log("A").find((e) => e.kind === "reset").reason);
`,
    );
    const out = execFileSync(process.execPath, ["main.js"], { cwd: app, encoding: "utf8" }).trim();
    if (out !== "lagged") throw new Error(`consumer printed ${JSON.stringify(out)}`);
  } finally {
    rmSync(app, { recursive: true, force: true });
  }
});

test("package: the live view's SSE parser (web-demo/sse.js) reads every stream as the core's parser does, split anywhere", async () => {
  const mod = await loadPackage();
  const { SseParser: JsParser } = await import(pathToFileURL(path.join(ROOT, "web-demo", "sse.js")).href);
  const streams = [
    "\uFEFFid: 1\nevent: greet\ndata: hel\ndata: lo\n\n",
    "data: a\r\ndata: b\r\rid: 2\r\n\r\n: comment\n\nevent: x\n\n",
    "retry: 1500\nretry: 2s\nid\ndata\n\nid: a\0b\ndata: nul id ignored\n\n",
    "data:no space\ndata:  two spaces\nunknown: field\ndata\n\n",
    "id: 7\n\ndata: the id of a data-less block still counts\n\n",
    "event: é ü\ndata: ünïcödé ✓\nid: s1-9\n\ndata: cut off at the end\n",
    "\r\n\r\ndata: leading blank lines\r\n\r\n",
  ];
  const run = (Parser, chunks) => {
    const parser = new Parser();
    const events = chunks.flatMap((c) => (Parser === JsParser ? parser.feed(c) : [...parser.feed(c)]));
    const shape = events.map((e) => ({ type: e.type, data: e.data, id: e.id ?? null, lastEventId: e.lastEventId }));
    const retry = parser.retry ?? null;
    return JSON.stringify({ shape, lastEventId: parser.lastEventId, retry, pending: parser.pending() });
  };
  let compared = 0;
  for (const text of streams) {
    const whole = run(mod.SseParser, [text]);
    const chars = [...text];
    const splits = [chars.map((c) => c)];
    for (let i = 0; i <= chars.length; i++) {
      for (const j of [i, Math.min(chars.length, i + 1), Math.min(chars.length, i + 3)]) {
        splits.push([chars.slice(0, i).join(""), chars.slice(i, j).join(""), chars.slice(j).join("")]);
      }
    }
    for (const chunks of splits) {
      const js = run(JsParser, chunks);
      if (js !== whole) throw new Error(`sse.js differs on ${JSON.stringify(chunks)}:\n  js   ${js}\n  core ${whole}`);
      compared += 1;
    }
  }
  console.log(`     ${compared} chunkings compared`);
});

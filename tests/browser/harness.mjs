// Helpers of the browser tests: the real `tidings` binary on a free port, a
// TCP proxy that can cut and hold connections (a network drop the browser
// must recover from by itself), a static page on another origin, headless
// Chromium, and a tiny test runner that prints `N passed, N failed`.

import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const ARTIFACTS = path.join(ROOT, "artifacts", "browser");
export const EDITOR_TOKEN = "t";
export const ADMIN_TOKEN = "a";

/** A port nobody listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a truthy value or `ms` pass. */
export async function eventually(check, ms = 10_000, what = "condition") {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
    await sleep(50);
  }
}

/** The binary: $TIDINGS_BIN, or the debug build in $CARGO_TARGET_DIR. */
export function tidingsBin() {
  if (process.env.TIDINGS_BIN) return process.env.TIDINGS_BIN;
  const target = process.env.CARGO_TARGET_DIR ?? path.join(os.homedir(), ".cache/tidings/target");
  return path.join(target, "debug", "tidings");
}

/**
 * A self-signed certificate for 127.0.0.1 made by openssl in a new temp
 * folder: `{ cert, key, pem }` (file paths, and the certificate's PEM).
 */
export function makeCertificate() {
  const dir = mkdtempSync(path.join(os.tmpdir(), "tidings-tls-"));
  const [cert, key] = [path.join(dir, "cert.pem"), path.join(dir, "key.pem")];
  const made = spawnSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
    "-addext", "basicConstraints=critical,CA:FALSE", "-days", "1",
    "-keyout", key, "-out", cert,
  ], { encoding: "utf8" });
  if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr}`);
  return { cert, key, pem: readFileSync(cert, "utf8") };
}

/** The status of GET `url`, over https trusting `ca` (PEM) only. */
function httpsStatus(url, ca) {
  return new Promise((resolve, reject) => {
    https.get(url, { ca }, (res) => {
      res.resume();
      resolve(res.statusCode);
    }).on("error", reject);
  });
}

/**
 * Starts `tidings` with memory storage and the test tokens; waits for
 * /ready. With `tls` (from `makeCertificate`) it serves TLS and `base` is
 * `https://`.
 */
export async function startServer(extra = [], { tls } = {}) {
  const port = await freePort();
  const args = [
    "--listen", `127.0.0.1:${port}`,
    "--storage", "memory",
    "--web-dir", path.join(ROOT, "web-demo"),
    "--editor-token", EDITOR_TOKEN,
    "--admin-token", ADMIN_TOKEN,
    "--retry-ms", "300",
    ...(tls ? ["--tls-cert", tls.cert, "--tls-key", tls.key] : []),
    ...extra,
  ];
  const child = spawn(tidingsBin(), args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const base = `${tls ? "https" : "http"}://127.0.0.1:${port}`;
  try {
    await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`tidings exited with ${child.exitCode}:\n${output}`);
      if (tls) return (await httpsStatus(`${base}/ready`, tls.pem)) === 200;
      const res = await fetch(`${base}/ready`);
      return res.status === 200;
    }, 20_000, "tidings /ready");
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
  return {
    base,
    port,
    pid: child.pid,
    output: () => output,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await Promise.race([exited, sleep(5000)]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
    },
  };
}

/**
 * A TCP proxy in front of `port`. `cut()` destroys every open connection (a
 * network drop); while `hold()` is on, new connections wait unanswered
 * until `release()`. Requests to /api/events are recorded with their
 * Last-Event-ID and Authorization headers.
 */
export async function startProxy(port) {
  const sockets = new Set();
  const waiting = [];
  const streams = [];
  let holding = false;

  function pipe(client) {
    const upstream = net.connect(port, "127.0.0.1");
    sockets.add(client);
    sockets.add(upstream);
    // Every request head on the connection, not only the first: a browser
    // reuses idle keep-alive connections, a stream's request included.
    let buf = Buffer.alloc(0);
    let body = 0;
    client.on("data", (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const skipped = Math.min(body, buf.length);
        buf = buf.subarray(skipped);
        body -= skipped;
        if (body > 0) return;
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) {
          if (buf.length > 65536) buf = Buffer.alloc(0);
          return;
        }
        const [requestLine, ...lines] = buf.subarray(0, end).toString("latin1").split("\r\n");
        buf = buf.subarray(end + 4);
        const header = (name) => {
          const line = lines.find((l) => l.toLowerCase().startsWith(`${name}:`));
          return line ? line.slice(line.indexOf(":") + 1).trim() : null;
        };
        if (requestLine.includes(" /api/events")) {
          streams.push({ requestLine, lastEventId: header("last-event-id"), authorization: header("authorization") });
        }
        body = Number(header("content-length") ?? 0);
      }
    });
    client.pipe(upstream);
    upstream.pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", close);
    upstream.on("error", close);
    client.on("close", close);
    upstream.on("close", close);
  }

  const server = net.createServer((client) => {
    if (holding) waiting.push(client);
    else pipe(client);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const proxyPort = server.address().port;
  return {
    base: `http://127.0.0.1:${proxyPort}`,
    streams,
    cut() {
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      for (const client of waiting.splice(0)) if (!client.destroyed) pipe(client);
    },
    async stop() {
      for (const s of [...sockets, ...waiting]) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * Another origin on loopback: a static server answering every GET with an
 * empty HTML page, for pages that talk to the hub cross-origin.
 */
export async function startOrigin() {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end("<!doctype html><title>another origin</title>");
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    base: `http://127.0.0.1:${port}`,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * Headless Chromium (Debian's) in a fresh profile, as TOOLCHAIN.md says,
 * with `extraArgs` (e.g. `--ignore-certificate-errors`).
 */
export async function launchBrowser(extraArgs = []) {
  const { chromium } = await import("playwright-core");
  const profile = mkdtempSync(path.join(os.tmpdir(), "tidings-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      ...extraArgs,
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A new page that records uncaught errors and console errors. */
export async function openPage(browser, url, viewport) {
  const page = await browser.context.newPage();
  if (viewport) await page.setViewportSize(viewport);
  page.errors = [];
  page.on("pageerror", (err) => page.errors.push(`pageerror: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") page.errors.push(`console: ${msg.text()}`);
  });
  // On a page that is not the demo (a JSON answer of the hub, as an
  // origin to script from) Chromium asks for /favicon.ico, which is a 404.
  await page.route("**/favicon.ico", (route) => route.fulfill({ status: 204 }));
  await page.goto(url);
  return page;
}

export async function screenshot(page, name, options = {}) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, ...options });
  return file;
}

const tests = [];

/** Registers a test; `fn` gets the shared context object. */
export function test(name, fn) {
  tests.push({ name, fn });
}

/** Runs every test in order; prints one line each and `N passed, N failed`. */
export async function run(setup, teardown) {
  const started = Date.now();
  let passed = 0;
  let failed = 0;
  const only = process.env.TIDINGS_BROWSER_ONLY;
  let ctx;
  try {
    ctx = await setup();
  } catch (err) {
    console.log(`setup failed: ${err.stack ?? err}`);
    console.log(`0 passed, ${tests.length} failed`);
    return false;
  }
  for (const t of tests) {
    if (only && !t.name.includes(only)) continue;
    const t0 = Date.now();
    try {
      await t.fn(ctx);
      passed += 1;
      console.log(`ok   ${t.name} (${Date.now() - t0} ms)`);
    } catch (err) {
      failed += 1;
      console.log(`FAIL ${t.name} (${Date.now() - t0} ms)\n     ${String(err.stack ?? err).split("\n").join("\n     ")}`);
    }
  }
  try {
    await teardown(ctx);
  } catch (err) {
    console.log(`teardown: ${err.message}`);
  }
  console.log(`${passed} passed, ${failed} failed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return failed === 0 && passed > 0;
}

// Runs the web tests: the npm package under Node (doc examples, install by
// name), then the demo page in headless Chromium against the real server,
// then the browser's own EventSource with token cookies and on the hub
// endpoint.
// Prints `N passed, N failed`; exits non-zero on any failure.
//
// TIDINGS_BIN picks the binary (default: the debug build in
// $CARGO_TARGET_DIR); TIDINGS_BROWSER_ONLY=<text> runs only matching tests;
// TIDINGS_UPDATE_DEMO_PNG=1 copies the main screenshot to docs/demo.png.

import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import path from "node:path";

import { ARTIFACTS, ROOT, launchBrowser, run, startProxy, startServer, tidingsBin } from "./harness.mjs";
import "./package_tests.mjs";
import "./browser_tests.mjs";
import "./cookie_tests.mjs";
import "./hub_tests.mjs";
import "./tls_tests.mjs";

const ok = await run(
  async () => {
    if (!existsSync(path.join(ROOT, "web-demo/pkg/tidings_wasm_bg.wasm"))) {
      throw new Error("web-demo/pkg is missing: run scripts/build-web first");
    }
    if (!existsSync(tidingsBin())) throw new Error(`${tidingsBin()} is missing: cargo build -p tidings-host`);
    const server = await startServer();
    const proxy = await startProxy(server.port);
    const browser = await launchBrowser();
    return { server, proxy, browser };
  },
  async (ctx) => {
    await ctx.browser.close();
    await ctx.proxy.stop();
    await ctx.server.stop();
    if (process.env.TIDINGS_UPDATE_DEMO_PNG) {
      mkdirSync(path.join(ROOT, "docs"), { recursive: true });
      copyFileSync(path.join(ARTIFACTS, "simulator-demo.png"), path.join(ROOT, "docs/demo.png"));
      console.log("copied the simulator screenshot to docs/demo.png");
    }
  },
);
console.log(`screenshots: ${path.relative(process.cwd(), ARTIFACTS) || ARTIFACTS}`);
process.exit(ok ? 0 : 1);

// Smoke check of headless Chromium driven by playwright-core: serves a page on 127.0.0.1,
// clicks its button, checks the text changed and saves a screenshot.
// Usage: node tests/tooling/chromium-smoke.mjs WEB_DIR SCREENSHOT.png
// WEB_DIR is the folder whose node_modules holds playwright-core (tests/web).
import { createRequire } from "node:module";
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import path from "node:path";

const [webDir, screenshotPath] = process.argv.slice(2);
if (!webDir || !screenshotPath) {
  console.error("usage: chromium-smoke.mjs WEB_DIR SCREENSHOT.png");
  process.exit(2);
}
const require = createRequire(path.resolve(webDir, "package.json"));
const { chromium } = require("playwright-core");

const page = `<!doctype html>
<html><head><meta charset="utf-8"><title>smoke</title></head>
<body>
  <h1 id="state">locked</h1>
  <button id="toggle" onclick="document.getElementById('state').textContent = 'unlocked'">Unlock</button>
</body></html>`;

const server = createServer((req, res) => {
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
  res.end(page);
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const url = `http://127.0.0.1:${server.address().port}/`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
});
try {
  const tab = await browser.newPage();
  await tab.goto(url);
  const before = await tab.textContent("#state");
  await tab.click("#toggle");
  const after = await tab.textContent("#state");
  if (before !== "locked" || after !== "unlocked") {
    throw new Error(`expected locked -> unlocked, saw ${before} -> ${after}`);
  }
  await tab.screenshot({ path: screenshotPath });
  const png = readFileSync(screenshotPath);
  if (png.length < 100 || png.readUInt32BE(0) !== 0x89504e47) {
    throw new Error(`${screenshotPath} is not a PNG`);
  }
  console.log(`chromium ${browser.version()}: ${before} -> ${after}, screenshot ${png.length} bytes`);
} finally {
  await browser.close();
  server.close();
}

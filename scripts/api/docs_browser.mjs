// Browser check of the Swagger UI served at /docs.
//
// Usage: node docs_browser.mjs BASE_URL SCREENSHOT_PATH [REQUEST_LOG]
//
// Drives Debian's headless Chromium (/usr/bin/chromium) with playwright-core:
// the page must render the API title and the predict operation, and "Try it
// out" + "Execute" with the documented example body must show a 200 whose
// rendered body contains churn_probability. Every request the browser makes
// is recorded; any request to a host outside the loopback range fails the
// check (the page must work offline: assets are embedded in the binary).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [base, screenshot, requestLog] = process.argv.slice(2);
if (!base || !screenshot) {
  console.error('usage: node docs_browser.mjs BASE_URL SCREENSHOT_PATH [REQUEST_LOG]');
  process.exit(2);
}

const TITLE = 'Churn Prediction API';
const PREDICT_PATH = '/api/v1/predict';
const STEP_TIMEOUT_MS = 20_000;
const EXECUTABLE = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Loopback only: 127.0.0.0/8, localhost, [::1]. */
function isLoopback(host) {
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** URLs that do not touch the network at all. */
function isLocalScheme(url) {
  return /^(data|blob|about|chrome|chrome-extension|devtools):/.test(url);
}

const userDataDir = mkdtempSync(join(tmpdir(), 'churn-docs-chromium-'));
const requests = [];
const offHost = [];
const consoleErrors = [];
let context;
let page;
let failed = false;

function fail(message) {
  console.error(`     error: ${message}`);
  failed = true;
}

try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: EXECUTABLE,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
    ],
    viewport: { width: 1280, height: 900 },
    timeout: 60_000,
  });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);

  // Recorded on the context, so requests from every page and worker count.
  context.on('request', (request) => {
    const url = request.url();
    requests.push(`${request.method()} ${url}`);
    if (isLocalScheme(url)) return;
    let host;
    try {
      host = new URL(url).hostname;
    } catch {
      offHost.push(url);
      return;
    }
    if (!isLoopback(host)) offHost.push(url);
  });

  page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(`pageerror: ${error.message}`));

  const response = await page.goto(`${base}/docs/`, { waitUntil: 'load' });
  if (!response || response.status() !== 200) {
    throw new Error(`GET /docs/ answered ${response ? response.status() : 'nothing'}`);
  }

  // Title, rendered by Swagger UI from /openapi.json.
  const title = page.locator('.information-container .title').first();
  await title.waitFor({ state: 'visible' });
  const titleText = (await title.innerText()).trim();
  if (!titleText.includes(TITLE)) throw new Error(`title is '${titleText}', expected '${TITLE}'`);
  console.log(`ok   title rendered: ${titleText.split('\n')[0]}`);

  // The predict operation (exact path: not /api/v1/predict/batch).
  const op = page
    .locator('.opblock')
    .filter({ has: page.locator(`.opblock-summary-path[data-path="${PREDICT_PATH}"]`) })
    .first();
  await op.waitFor({ state: 'visible' });
  console.log(`ok   operation POST ${PREDICT_PATH} listed`);

  await op.locator('.opblock-summary').first().click();
  await op.locator('.opblock-body').waitFor({ state: 'visible' });

  // With tryItOutEnabled the block may already be in try-it-out mode
  // (button reads "Cancel"); otherwise press "Try it out".
  const tryOut = op.locator('button.try-out__btn');
  await tryOut.waitFor({ state: 'visible' });
  const tryOutText = (await tryOut.innerText()).trim();
  if (/try it out/i.test(tryOutText)) {
    await tryOut.click();
    console.log('ok   clicked "Try it out"');
  } else {
    console.log(`ok   already in try-it-out mode (button reads '${tryOutText}')`);
  }

  const body = op.locator('textarea.body-param__text');
  await body.waitFor({ state: 'visible' });
  const example = JSON.parse(await body.inputValue());
  if (example.geography === undefined || example.credit_score === undefined) {
    throw new Error(`request body is not the documented example: ${JSON.stringify(example)}`);
  }
  console.log(`ok   example body pre-filled (customer_id ${example.customer_id ?? '-'})`);

  const responded = page.waitForResponse(
    (r) => new URL(r.url()).pathname === PREDICT_PATH && r.request().method() === 'POST',
  );
  responded.catch(() => {});
  await op.locator('button.execute').click();
  let apiResponse;
  try {
    apiResponse = await responded;
  } catch {
    // Swagger UI refuses to send when a required parameter is empty: say which.
    const shown = (await op.locator('.validation-errors').allInnerTexts())
      .map((t) => t.replace(/\s+/g, ' ').trim())
      .filter(Boolean);
    throw new Error(`"Execute" sent no POST ${PREDICT_PATH}${shown.length ? ` (Swagger UI says: ${shown.join('; ')})` : ''}`);
  }
  console.log(`ok   clicked "Execute": POST ${PREDICT_PATH} -> ${apiResponse.status()}`);

  // What Swagger UI renders: the live response's status and body.
  const live = op.locator('.live-responses-table .response').first();
  await live.waitFor({ state: 'visible' });
  const status = (await live.locator('.response-col_status').innerText()).trim();
  const rendered = op.locator('.live-responses-table .response-col_description pre, .live-responses-table .response-col_description code').first();
  await rendered.waitFor({ state: 'visible' });
  const renderedText = await live.locator('.response-col_description').innerText();
  if (status !== '200') fail(`rendered response status is '${status}', expected 200`);
  if (!renderedText.includes('churn_probability')) {
    fail(`rendered response has no churn_probability: ${renderedText.slice(0, 300)}`);
  } else {
    const m = renderedText.match(/"churn_probability":\s*([0-9.eE+-]+)/);
    console.log(`ok   rendered response ${status} with churn_probability ${m ? m[1] : '(found)'}`);
  }

  // From the title down to the rendered live response (the whole page is
  // several screens of schemas).
  const box = await live.boundingBox();
  const scrollY = await page.evaluate(() => window.scrollY);
  const bottom = box ? Math.ceil(box.y + scrollY + box.height + 24) : 900;
  await page.screenshot({ path: screenshot, fullPage: true, clip: { x: 0, y: 0, width: 1280, height: bottom } });
  console.log(`ok   screenshot ${screenshot}`);
} catch (error) {
  fail(error.message.split('\n')[0]);
  if (page) {
    const shot = screenshot.replace(/\.png$/, '') + '-failure.png';
    await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
    console.error(`     failure screenshot: ${shot}`);
  }
} finally {
  if (context) await context.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
}

if (requestLog) writeFileSync(requestLog, requests.join('\n') + '\n');
console.log(`     browser made ${requests.length} requests${requestLog ? ` (listed in ${requestLog})` : ''}`);
if (offHost.length > 0) {
  fail(`${offHost.length} request(s) to non-loopback hosts:\n  ${offHost.join('\n  ')}`);
} else if (requests.length > 0) {
  console.log('ok   every request went to a loopback host');
}
if (consoleErrors.length > 0) {
  console.log(`note console errors:\n  ${consoleErrors.join('\n  ')}`);
}
if (requests.length === 0) fail('no request was recorded');

if (failed) process.exit(1);
console.log('ok   Swagger UI works offline: title, predict operation, Try it out + Execute -> 200 with churn_probability');

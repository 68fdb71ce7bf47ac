// The preview page in real headless Chromium: sign in, type a broken definition, see its
// diagnostic and line, fix it, pick the blueprint, see its diagram, save a screenshot.
//
//   TEAMFLOW_BIN=build/dev/tools/teamflow/teamflow node --test tests/browser/preview.spec.mjs
//   node --test tests/browser/preview.spec.mjs -- <path to teamflow>
//
// Environment: TEAMFLOW_BIN (the built binary), CHROMIUM (default /usr/bin/chromium),
// TEAMFLOW_ARTIFACTS (default <repo>/artifacts; the screenshot is preview.png there).

import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const binary = process.env.TEAMFLOW_BIN || process.argv.slice(2).find((a) => !a.startsWith('-'));
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const artifacts = process.env.TEAMFLOW_ARTIFACTS || join(repo, 'artifacts');
const TOKEN = 'browser-test-token-ada';
const OUTSIDER_TOKEN = 'browser-test-token-bob';

const PUBLISHED = `role Support
user ada { name "Ada Lovelace"  roles Support }
user bob { name "Bob Outsider"  roles Support }
module Requests {
  field title: text required
  field status: picklist ["Open", "Done"] default "Open"
}
blueprint RequestFlow on Requests.status {
  transition Finish from "Open" to "Done" {
    by role Support
  }
}
teamspace Ops {
  members ada
  admins ada
  module Incidents {
    field title: text required
    field status: picklist ["Open", "Closed"] default "Open"
  }
}
blueprint IncidentFlow on Incidents.status {
  transition Close from "Open" to "Closed" { by owner }
}
`;

// Line 13 names a state that does not exist.
const BROKEN = `role Support

user ada { name "Ada Lovelace"  roles Support }

module Tickets {
  field title: text required
  field status: picklist ["New", "Triage", "Resolved"] default "New"
}

blueprint TicketFlow on Tickets.status {
  transition Sort from "New" to "Triage" {
    by role Support
  }
  transition Resolve from "Triag" to "Resolved" {
    by role Support
    note required
  }
}
`;
const BROKEN_LINE = BROKEN.split('\n').findIndex((l) => l.includes('"Triag"')) + 1;

let server;
let serverLog = '';
let baseUrl;
let workDir;
let browser; // a persistent context: one browser with a fresh profile

/** Starts `teamflow serve` on port 0 and resolves to its base URL, from the "listening" log line. */
function startServer() {
  workDir = mkdtempSync(join(tmpdir(), 'teamflow-browser-'));
  const definitions = join(workDir, 'definitions');
  mkdirSync(definitions);
  writeFileSync(join(definitions, 'requests.flow'), PUBLISHED);
  const config = join(workDir, 'teamflow.toml');
  writeFileSync(config, [
    '[server]',
    'listen = "127.0.0.1:0"',
    '[store]',
    `url = "sqlite://${join(workDir, 'teamflow.db')}"`,
    '[definitions]',
    `dir = "${definitions}"`,
    '[auth]',
    'org_admins = ["ada"]',
    `tokens = { ada = "${TOKEN}", bob = "${OUTSIDER_TOKEN}" }`,
    '[log]',
    'level = "info"',
    '',
  ].join('\n'));
  server = spawn(binary, ['serve', '--config', config], { cwd: workDir, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`teamflow serve did not start:\n${serverLog}`)), 20000);
    let pending = '';
    const onData = (chunk) => {
      serverLog += chunk;
      pending += chunk;
      let nl;
      while ((nl = pending.indexOf('\n')) !== -1) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        const port = /"msg":"listening".*"port":(\d+)/.exec(line);
        if (port) {
          clearTimeout(timer);
          resolvePort(`http://127.0.0.1:${port[1]}`);
        }
      }
    };
    server.stderr.setEncoding('utf8');
    server.stdout.setEncoding('utf8');
    server.stderr.on('data', onData);
    server.stdout.on('data', onData);
    server.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`teamflow serve exited with ${code}:\n${serverLog}`));
    });
  });
}

before(async () => {
  assert.ok(binary && existsSync(binary), `set TEAMFLOW_BIN to the built teamflow binary (got ${binary})`);
  assert.ok(existsSync(chromiumPath), `${chromiumPath} is missing: apt-get install chromium`);
  mkdirSync(artifacts, { recursive: true });
  baseUrl = await startServer();
  // A fresh profile (playwright passes it as --user-data-dir) in the temporary folder.
  browser = await chromium.launchPersistentContext(join(workDir, 'chromium-profile'), {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  // Generous waits: the machine may be busy with parallel tests (the waits end at the condition).
  browser.setDefaultTimeout(60000);
});

after(async () => {
  if (browser) await browser.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (server.exitCode === null) server.kill('SIGKILL');
  }
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

test('a team admin edits, checks and draws a blueprint', { timeout: 180000 }, async () => {
  const page = await browser.newPage();
  const outside = [];
  const consoleErrors = [];
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(baseUrl) && !url.startsWith('blob:') && !url.startsWith('data:')) outside.push(url);
  });
  page.on('console', (m) => {
    // The refused token's 401 is logged by Chromium itself; anything else is a bug of the page.
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) consoleErrors.push(m.text());
  });
  const diagrams = [];
  // Pass every drawing through unchanged, keeping a copy of what the page received.
  await page.route('**/v1/diagram?*', async (route) => {
    const response = await route.fetch();
    const body = await response.text();
    if (response.status() === 200) diagrams.push(body);
    await route.fulfill({ response, body });
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));

  await page.goto(`${baseUrl}/`);
  await page.getByRole('heading', { name: /teamflow/ }).waitFor();

  // A wrong token is refused with a clear message; the right one signs in.
  await page.getByLabel('Access token').fill('not-the-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#signin-error').filter({ hasText: /not accepted/ }).waitFor();
  await page.getByLabel('Access token').fill(TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#session').waitFor({ state: 'visible' });
  assert.equal(await page.evaluate(() => sessionStorage.getItem('teamflow.token')), TOKEN);

  // Type a broken definition: its diagnostic appears with its line, highlighted in the gutter.
  const editor = page.locator('#source');
  await editor.fill('');
  await editor.fill(BROKEN);
  const diagnostic = page.locator('#diagnostics button.error').first();
  await diagnostic.waitFor();
  const text = await diagnostic.textContent();
  assert.match(text, /Triag/);
  assert.match(text, new RegExp(`:${BROKEN_LINE}:\\d+`));
  await page.locator(`#gutter-lines .ln.error >> text="${BROKEN_LINE}"`).waitFor();
  assert.match(await page.locator('#check-status').textContent(), /does not compile/i);
  assert.ok(await page.locator('#publish').isDisabled(), 'publish is disabled while it does not compile');

  // Clicking the diagnostic selects its line in the editor.
  await diagnostic.click();
  await page.screenshot({ path: join(artifacts, 'preview-diagnostics.png') });
  const selected = await editor.evaluate((ta) => ta.value.slice(ta.selectionStart, ta.selectionEnd));
  assert.match(selected, /from "Triag" to "Resolved"/);

  // Fix it: the diagnostics clear, the blueprint is offered and drawn.
  await editor.fill(BROKEN.replace('"Triag"', '"Triage"'));
  await page.locator('#check-status').filter({ hasText: /^Compiles/ }).waitFor();
  await page.locator('#diagnostics .empty').waitFor();
  await page.getByLabel('Blueprint', { exact: true }).selectOption('TicketFlow');
  const img = page.locator('#diagram img[data-blueprint="TicketFlow"]');
  await img.waitFor();
  await page.waitForFunction(() => {
    const i = document.querySelector('#diagram img');
    return i && i.complete && i.naturalWidth > 0;
  });
  // The drawing the page received (a superseded request may have been aborted: take the last).
  for (let i = 0; i < 50 && !diagrams.some((d) => d.includes('<svg')); i += 1) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const svg = diagrams.filter((d) => d.includes('<svg')).at(-1) || diagrams.join('\n');
  assert.match(svg, /<svg/);
  assert.match(svg, /Triage/);
  assert.match(await img.getAttribute('src'), /^blob:/);
  assert.match(await img.getAttribute('alt'), /TicketFlow/);
  assert.ok(await page.locator('#publish').isEnabled(), 'publish is enabled once it compiles');

  // Keyboard: Ctrl+Enter checks at once.
  await editor.focus();
  await page.keyboard.press('Control+Enter');
  await page.locator('#check-status').filter({ hasText: /^Compiles/ }).waitFor();

  await page.screenshot({ path: join(artifacts, 'preview.png') });
  assert.deepEqual(outside, [], 'the page asks nothing of other hosts');
  assert.deepEqual(consoleErrors, []);
  await page.close();
});

test('the blueprint picker leaves out another team\'s published blueprints', { timeout: 120000 }, async () => {
  const page = await browser.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(`${baseUrl}/`);
  await page.getByRole('heading', { name: /teamflow/ }).waitFor();
  await page.getByLabel('Access token').fill(OUTSIDER_TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#session').waitFor({ state: 'visible' });
  // The published set is loaded and compiles; bob is not in Ops, so IncidentFlow is not offered.
  await page.locator('#check-status').filter({ hasText: /^Compiles/ }).waitFor();
  const picker = page.getByLabel('Blueprint', { exact: true });
  await page.waitForFunction(() =>
    [...document.querySelectorAll('#blueprint option')].some((o) => o.value === 'RequestFlow'));
  const offered = await picker.evaluate((s) => [...s.options].map((o) => o.value));
  assert.deepEqual(offered, ['RequestFlow']);
  // The server agrees: the blueprint is 404 to bob, and listed for ada (an org admin).
  const asBob = await page.request.get(`${baseUrl}/v1/blueprints/IncidentFlow`,
                                       { headers: { Authorization: `Bearer ${OUTSIDER_TOKEN}` } });
  assert.equal(asBob.status(), 404);
  const asAda = await page.request.get(`${baseUrl}/v1/blueprints/IncidentFlow`,
                                       { headers: { Authorization: `Bearer ${TOKEN}` } });
  assert.equal(asAda.status(), 200);
  assert.deepEqual(pageErrors, []);
  await page.close();
});

// Offline codes on the lock page, in a real browser against the real access-server:
// sign in, set up a property, unit and lock, pair it (through the API, as the pairing phone
// does), give a window code with the keyboard (shown once, whole hours only), see it listed
// with its window, revoke it through the confirmation (after backing out once), see it
// revoked, and see keypad guessing in the lock's log marked. Every step saves a screenshot
// under $ARTIFACTS_DIR.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startServer, login } from './lib/server.mjs';
import { openBrowser, screenshotter, eventually } from './lib/browser.mjs';
import { lockedOut, logPage, reportKey, wrongCode } from './lib/lock-log.mjs';

let server;
let browser;
let page;
let errors;
let shot;
let adminToken;

const LOCK = 'Birch 4 side door';
const LABEL = 'Tour, Ms Rivera';

before(async () => {
  server = await startServer();
  ({ browser, page, errors } = await openBrowser());
  shot = screenshotter(page, 'offline-codes');
  adminToken = await login(server, server.admin.email, server.admin.password);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Once a step fails, the later ones (which build on it) fail at once. */
let broken = null;
function step(t, name, fn) {
  return t.test(name, async () => {
    if (broken) throw new Error(`not run: the earlier step "${broken}" failed`);
    try {
      await fn();
    } catch (e) {
      broken = name;
      throw e;
    }
  });
}

/** `YYYY-MM-DDTHH:mm` in local time (the browser and this process share the time zone). */
function localInput(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

// Tomorrow, 14:00 to 16:00 local time: a window in the future, on whole hours.
const start = new Date();
start.setDate(start.getDate() + 1);
start.setHours(14, 0, 0, 0);
const end = new Date(start.getTime() + 2 * 3_600_000);

const offline = () => page.getByRole('region', { name: 'Offline codes' });
const codeRow = () => offline().getByRole('row', { name: new RegExp(LABEL) });
let lockId;
let shownCode;

test('offline codes on the lock page', async (t) => {
  await step(t, 'sign in and set up a property, unit and lock', async () => {
    await page.goto(server.url);
    await page.getByLabel('Email').fill(server.admin.email);
    await page.getByLabel('Password').fill(server.admin.password);
    await page.getByLabel('Password').press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Manage Access' }).waitFor();
    await page.getByRole('link', { name: 'Properties and units' }).click();
    await page.getByLabel('Property name').fill('Birch Lane');
    await page.getByRole('button', { name: 'Create property' }).click();
    await page.getByRole('heading', { level: 2, name: 'Birch Lane' }).waitFor();
    await page.getByLabel('New unit in Birch Lane').fill('4');
    await page.getByLabel('New unit in Birch Lane').press('Enter');
    await page.getByRole('region', { name: 'Birch Lane', exact: true }).locator('.unit-name', { hasText: '4' }).waitFor();
    await page.getByRole('region', { name: 'Birch Lane', exact: true }).getByLabel('Lock name').fill(LOCK);
    await page.getByRole('region', { name: 'Birch Lane', exact: true }).getByRole('button', { name: 'Add lock' }).click();
    await page.getByRole('link', { name: LOCK }).waitFor();
    await shot('set-up');
    const locks = await server.api('GET', '/locks', undefined, adminToken);
    lockId = locks.body.items.find((l) => l.name === LOCK).id;
  });

  await step(t, 'an unpaired lock gets no offline code, with the reason', async () => {
    await page.getByRole('link', { name: LOCK }).click();
    await page.getByRole('heading', { level: 1, name: LOCK }).waitFor();
    await offline().getByText('No offline codes on this lock.').waitFor();
    await offline().getByLabel('Offline code label').fill(LABEL);
    await offline().getByRole('button', { name: 'Give offline code' }).click();
    await offline().getByRole('alert').getByText(/not paired yet/).waitFor();
    await shot('unpaired-refused');
  });

  await step(t, 'give a window code with the keyboard; it is shown once', async () => {
    // The pairing phone reports the lock's identity key at the end of pairing.
    const paired = await server.api('PUT', `/locks/${lockId}/identity`,
      { identity_public_key: randomBytes(32).toString('base64'), firmware: '1.0.0' }, adminToken);
    assert.equal(paired.status, 200, JSON.stringify(paired.body));
    await page.reload();
    await page.getByRole('heading', { level: 1, name: LOCK }).waitFor();

    const form = page.getByRole('form', { name: 'Give offline code' });
    await form.getByLabel('Offline code kind').selectOption('window');
    await form.getByLabel('Who it is for (class)').selectOption('tour');
    await form.getByLabel('Offline code label').fill(LABEL);
    // Minutes other than :00 are refused in the page.
    await form.getByLabel('Valid from').fill(localInput(new Date(start.getTime() + 30 * 60_000)));
    await form.getByLabel('Valid until').fill(localInput(end));
    await form.getByLabel('Offline code label').focus();
    await page.keyboard.press('Enter');
    await form.getByText('Offline codes start and end on a whole hour: set the minutes to 00.').waitFor();
    assert.equal(await form.getByLabel('Valid from').getAttribute('aria-invalid'), 'true');
    await shot('whole-hours-only');

    await form.getByLabel('Valid from').fill(localInput(start));
    await form.getByLabel('Valid from').press('Enter');
    const issued = form.locator('.issued-code');
    await issued.waitFor();
    shownCode = await issued.locator('[data-code]').getAttribute('data-code');
    assert.match(shownCode, /^\d{14}$/);
    // Grouped for reading.
    assert.match(await issued.locator('[data-code]').textContent(), /^\d{4} \d{4} \d{4} \d{2}$/);
    assert.equal(await form.locator('[aria-live="polite"]').count(), 1, 'the new code is announced');
    await shot('code-given');

    const listed = (await server.api('GET', `/locks/${lockId}/offline-codes`, undefined, adminToken)).body.items;
    assert.equal(listed.length, 1);
    assert.equal(listed[0].code, shownCode);
    assert.equal(listed[0].class, 'tour');
    assert.equal(listed[0].kind, 'window');
    assert.equal(new Date(listed[0].starts_at).getTime(), start.getTime());
    assert.equal(new Date(listed[0].ends_at).getTime(), end.getTime());
  });

  await step(t, 'the code is listed with its window, class, uses and issuer, not its digits', async () => {
    const row = codeRow();
    await row.waitFor();
    const times = await row.locator('td.window time').evaluateAll((els) => els.map((e) => e.getAttribute('datetime')));
    assert.deepEqual(times.map((x) => new Date(x).getTime()), [start.getTime(), end.getTime()]);
    const text = await row.textContent();
    assert.match(text, /Tour/);
    assert.match(text, /Time window/);
    assert.match(text, /Not yet valid/);
    assert.match(text, /You \(/, 'issued by the signed-in admin');
    assert.ok(!text.includes(shownCode), 'the digits are shown once, not in the list');
    // Offline codes are not repeated in the BLE list.
    assert.equal(await page.getByRole('region', { name: 'Access codes' }).getByText(LABEL).count(), 0);
    // After a reload the code is gone from the screen.
    await page.reload();
    await codeRow().waitFor();
    assert.equal(await page.locator('.issued-code').count(), 0);
    assert.ok(!(await page.locator('main').textContent()).includes(shownCode));
    await offline().getByText('Revoking: the worst case.').waitFor();
    await shot('code-listed');
  });

  await step(t, 'revoke it: the confirmation states the worst case, cancel then confirm', async () => {
    const revoke = codeRow().getByRole('button', { name: `Revoke ${LABEL}` });
    await revoke.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: `Revoke the offline code "${LABEL}"?` });
    await dialog.waitFor();
    await dialog.getByText(/up to the end of its window plus 5 minutes, at worst 30 days and 5 minutes/).waitFor();
    await shot('revoke-confirm');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    const still = (await server.api('GET', `/locks/${lockId}/offline-codes`, undefined, adminToken)).body.items[0];
    assert.equal(still.revoked_at, null, 'backing out revokes nothing');

    await revoke.click();
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Revoke code' }).click();
    await offline().getByRole('status').getByText(`"${LABEL}" is revoked.`, { exact: false }).waitFor();
    await eventually(async () => assert.match(await codeRow().textContent(), /Revoked/));
    assert.match(await codeRow().textContent(), /by You \(/);
    assert.equal(await codeRow().getByRole('button', { name: /Revoke/ }).count(), 0, 'no second revoke');
    const done = (await server.api('GET', `/locks/${lockId}/offline-codes`, undefined, adminToken)).body.items[0];
    assert.ok(done.revoked_at, 'revoked on the server');
    await shot('revoked');
  });

  await step(t, 'give a one-time guest code: this hour for 24 hours', async () => {
    const form = page.getByRole('form', { name: 'Give offline code' });
    await form.getByLabel('Offline code kind').selectOption('one_time');
    assert.equal(await form.getByLabel('Valid from').isVisible(), false, 'a one-time code takes no window');
    await form.getByLabel('Who it is for (class)').selectOption('guest');
    await form.getByLabel('Offline code label').fill('Plumber, one visit');
    await form.getByRole('button', { name: 'Give offline code' }).click();
    await form.locator('.issued-code').getByText('Plumber, one visit').waitFor();
    const row = offline().getByRole('row', { name: /Plumber, one visit/ });
    await row.waitFor();
    assert.match(await row.textContent(), /Guest.*One-time.*Valid now/);
    const times = await row.locator('td.window time').evaluateAll((els) => els.map((e) => new Date(e.getAttribute('datetime')).getTime()));
    assert.equal(times[1] - times[0], 24 * 3_600_000);
    assert.equal(times[0] % 3_600_000, 0);
    assert.ok(times[0] <= Date.now() && Date.now() < times[0] + 3_600_000, 'starts this hour');
    await shot('one-time-given');
  });

  await step(t, 'keypad guessing in the lock log is marked and can be shown alone', async () => {
    // The lock's own page, MACed under its report key: the server takes nothing else.
    const at = Math.floor(Date.now() / 1000) - 60;
    const entries = [1, 2, 3, 4, 5].map((n) => wrongCode(n, at));
    const until = Math.floor(Date.now() / 1000) + 60;
    entries.push(lockedOut(6, at, until));
    const pages = [logPage(reportKey(server.dbPath, lockId), lockId, entries)];
    const up = await server.api('POST', `/locks/${lockId}/logs`, { pages }, adminToken);
    assert.equal(up.status, 200, JSON.stringify(up.body));
    await page.reload();
    const log = page.getByRole('region', { name: 'Access log' });
    await log.getByText('Keypad guessing:').waitFor();
    assert.match(await log.locator('.guessing-summary').textContent(), /5 wrong codes and 1 lockout/);
    assert.equal(await log.locator('tr.guess-wrong').count(), 5);
    assert.equal(await log.locator('tr.guess-lockout').count(), 1);
    await log.getByText('Keypad lockout', { exact: true }).waitFor();
    assert.match(await log.locator('tr.guess-lockout').textContent(), /keypad refuses input until [A-Z][a-z]{2} \d+, \d{4}/);
    await shot('log-guessing');
    const all = await log.locator('tbody tr:visible').count();
    await log.getByLabel('Show only keypad guessing').check();
    assert.equal(await log.locator('tbody tr:visible').count(), 6);
    assert.ok(all > 6, `the log has other entries too (${all})`);
    await shot('log-guessing-only');
  });

  await t.test('no errors in the page', () => {
    assert.deepEqual(errors, []);
  });
});

// The users table pages through many users with the server's cursors: pages do not overlap,
// together they hold every user, and Previous returns to the same rows. Driven by keyboard.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, login } from './lib/server.mjs';
import { openBrowser, screenshotter } from './lib/browser.mjs';

const INVITES = 60;

let server;
let browser;
let page;
let errors;
let shot;

before(async () => {
  server = await startServer();
  ({ browser, page, errors } = await openBrowser());
  shot = screenshotter(page, 'pagination');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const rowIds = () => page.locator('table.users tbody tr[data-user-id]').evaluateAll(
  (rows) => rows.map((r) => r.dataset.userId),
);

test('Next and Previous walk every user once, with the keyboard', async () => {
  const admin = await login(server, server.admin.email, server.admin.password);
  for (let i = 0; i < INVITES; i += 1) {
    const res = await server.api('POST', '/invitations', {
      user_type: 'team_member',
      email: `worker${String(i).padStart(3, '0')}@example.com`,
      permissions: ['view_logs'],
      access: { type: 'all_locks' },
    }, admin);
    assert.equal(res.status, 201, JSON.stringify(res.body));
  }
  const total = (await server.api('GET', '/access/summary', undefined, admin)).body.total_users;

  await page.goto(server.url);
  await page.getByLabel('Email').fill(server.admin.email);
  await page.getByLabel('Password').fill(server.admin.password);
  await page.getByLabel('Password').press('Enter');
  await page.getByRole('heading', { level: 1, name: 'Manage Access' }).waitFor();
  assert.equal(await page.locator('[data-counter="total_users"] .count').textContent(), String(total));

  const seen = [];
  const pages = [];
  for (let n = 1; ; n += 1) {
    await page.getByText(`Page ${n}`, { exact: true }).waitFor();
    const ids = await rowIds();
    assert.ok(ids.length > 0 && ids.length <= 25, `page ${n} holds ${ids.length} rows`);
    pages.push(ids);
    seen.push(...ids);
    const next = page.getByRole('button', { name: 'Next' });
    if (await next.isDisabled()) break;
    if (n === 1) await shot('page-1');
    await next.focus();
    await page.keyboard.press('Enter');
    assert.ok(n < 10, 'too many pages');
  }
  assert.equal(new Set(seen).size, seen.length, 'no user on two pages');
  const listed = (await server.api('GET', '/users?limit=1000', undefined, admin)).body.items.map((u) => u.id);
  assert.ok(listed.length >= INVITES);
  assert.deepEqual([...seen].sort(), [...listed].sort(), 'every user on some page');
  assert.equal(pages.length, Math.ceil(listed.length / 25));

  // Back one page: the same rows as before.
  await page.getByRole('button', { name: 'Previous' }).focus();
  await page.keyboard.press('Enter');
  await page.getByText(`Page ${pages.length - 1}`, { exact: true }).waitFor();
  assert.deepEqual(await rowIds(), pages[pages.length - 2]);
  // The browser's Back button too.
  await page.goBack();
  await page.getByText(`Page ${pages.length}`, { exact: true }).waitFor();
  assert.deepEqual(await rowIds(), pages[pages.length - 1]);

  // A bigger page size holds everything at once.
  await page.getByLabel('Rows per page').selectOption('100');
  await page.getByText('Page 1', { exact: true }).waitFor();
  assert.equal((await rowIds()).length, listed.length);
  assert.equal(await page.getByRole('button', { name: 'Next' }).isDisabled(), true);
  await shot('100-per-page');
  assert.deepEqual(errors, []);
});

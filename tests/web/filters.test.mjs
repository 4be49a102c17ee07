// The Manage Access table filters by type and status, searches by name or email and sorts
// by each column, all done by the server (the page sends type/status/q/sort/order).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, login, register } from './lib/server.mjs';
import { openBrowser, screenshotter, eventually } from './lib/browser.mjs';

let server;
let browser;
let page;
let errors;
let shot;
let admin;

const TEAM = ['casey.ng@example.com', 'blake.orr@example.com'];
const RESIDENTS = ['dana.park@example.net', 'ellis.quinn@example.net'];

before(async () => {
  server = await startServer();
  ({ browser, page, errors } = await openBrowser());
  shot = screenshotter(page, 'filters');
  admin = await login(server, server.admin.email, server.admin.password);
  const prop = await server.api('POST', '/properties', { name: 'Birch House' }, admin);
  const unit = await server.api('POST', `/properties/${prop.body.id}/units`, { name: '1A' }, admin);
  for (const email of TEAM) {
    const res = await server.api('POST', '/invitations', {
      user_type: 'team_member', email, permissions: ['view_logs'], access: { type: 'all_locks' },
    }, admin);
    assert.equal(res.status, 201, JSON.stringify(res.body));
  }
  for (const email of RESIDENTS) {
    const res = await server.api('POST', '/invitations', {
      user_type: 'resident', email, permissions: [], access: { type: 'units', unit_ids: [unit.body.id] },
    }, admin);
    assert.equal(res.status, 201, JSON.stringify(res.body));
  }
  // One registers under a name and another email: searchable by both.
  await register(server, admin, {
    invitedEmail: 'blake.orr@example.com',
    email: 'zed.works@example.org',
    phone: '+15552223333',
    password: 'blake password 12345',
    name: 'Blake Orr',
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const rows = () => page.locator('table.users tbody tr[data-user-id]');
const rowTexts = () => rows().allTextContents();
/** The rows shown equal `expected` (substrings, one per row, in any order). */
async function shows(expected) {
  await eventually(async () => {
    const texts = await rowTexts();
    assert.equal(texts.length, expected.length, texts.join(' | '));
    for (const e of expected) assert.ok(texts.some((t) => t.includes(e)), `${e} in ${texts.join(' | ')}`);
  });
}
const names = () => page.locator('table.users tbody tr th[scope="row"]').allTextContents();

test('filter by type and status, search by name or email, sort', async () => {
  await page.goto(server.url);
  await page.getByLabel('Email').fill(server.admin.email);
  await page.getByLabel('Password').fill(server.admin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Manage Access' }).waitFor();

  await page.getByLabel('Type', { exact: true }).selectOption('resident');
  await shows(RESIDENTS);
  await shot('residents');
  await page.getByLabel('Type', { exact: true }).selectOption('team_member');
  await eventually(async () => {
    const texts = await rowTexts();
    assert.ok(texts.every((t) => t.includes('Team Member')), texts.join(' | '));
    assert.ok(texts.some((t) => t.includes('casey.ng@example.com')));
    assert.ok(texts.some((t) => t.includes('Blake Orr')));
    assert.ok(!texts.some((t) => t.includes('example.net')));
  });
  await page.getByLabel('Type', { exact: true }).selectOption('');

  await page.getByLabel('Status', { exact: true }).selectOption('active');
  await eventually(async () => {
    const texts = await rowTexts();
    assert.ok(texts.length >= 1);
    assert.ok(texts.every((t) => t.includes('Active')), texts.join(' | '));
    assert.ok(texts.some((t) => t.includes('Blake Orr')));
  });
  await page.getByLabel('Status', { exact: true }).selectOption('pending');
  await shows(['casey.ng@example.com', ...RESIDENTS]);
  await page.getByLabel('Status', { exact: true }).selectOption('');

  // Search: by name, by the invited email, by the email used at registration.
  const search = page.getByLabel('Search by name, username or email');
  await search.fill('blake');
  await shows(['Blake Orr']);
  await search.fill('ZED.WORKS');
  await shows(['Blake Orr']);
  await search.fill('example.net');
  await shows(RESIDENTS);
  await shot('search');
  await search.fill('no such person');
  await page.getByText('No users match these filters.').waitFor();
  await search.fill('');
  await eventually(async () => assert.ok((await rowTexts()).length >= 4));

  // Sort by name, both ways; the header says which.
  await page.getByRole('button', { name: /^Name/ }).click();
  await page.locator('th[aria-sort="ascending"]', { hasText: 'Name' }).waitFor();
  const asc = await names();
  assert.deepEqual(asc, [...asc].sort((a, b) => a.localeCompare(b, 'en', { sensitivity: 'base' })));
  await page.getByRole('button', { name: /^Name/ }).click();
  await page.locator('th[aria-sort="descending"]', { hasText: 'Name' }).waitFor();
  assert.deepEqual(await names(), [...asc].reverse());
  await shot('sorted-by-name');

  // Filters combine: pending residents, sorted by name.
  await page.getByLabel('Type', { exact: true }).selectOption('resident');
  await page.getByLabel('Status', { exact: true }).selectOption('pending');
  await shows(RESIDENTS);
  assert.deepEqual(await names(), [...RESIDENTS].sort().reverse());
  assert.deepEqual(errors, []);
});

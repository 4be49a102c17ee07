// A signed-in resident sees a refusal, not the page (team members get the page their
// permissions allow: delegation.test.mjs); a visitor without a session sees the sign-in form.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, login, register } from './lib/server.mjs';
import { openBrowser, screenshotter } from './lib/browser.mjs';

let server;
let browser;
let page;
let errors;
let shot;

before(async () => {
  server = await startServer();
  ({ browser, page, errors } = await openBrowser());
  shot = screenshotter(page, 'refusal');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('a resident is refused', async () => {
  const admin = await login(server, server.admin.email, server.admin.password);
  const property = await server.api('POST', '/properties', { name: 'Fir Lane' }, admin);
  const unit = await server.api('POST', `/properties/${property.body.id}/units`, { name: '4' }, admin);
  const invite = await server.api('POST', '/invitations', {
    user_type: 'resident',
    email: 'sam.field@example.com',
    access: { type: 'units', unit_ids: [unit.body.id] },
  }, admin);
  assert.equal(invite.status, 201, JSON.stringify(invite.body));
  await register(server, admin, {
    invitedEmail: 'sam.field@example.com',
    email: 'sam.field@example.com',
    phone: '+15559876543',
    password: 'sam field password 7',
    name: 'Sam Field',
  });

  // Straight to the Manage Access route: sign-in first, then the refusal.
  await page.goto(`${server.url}/#/access/locks/manage`);
  await page.getByLabel('Email').fill('sam.field@example.com');
  await page.getByLabel('Password').fill('sam field password 7');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'This page is for team members' }).waitFor();
  await page.getByText('NoKey Resident app').waitFor();
  assert.equal(await page.locator('#counters').count(), 0, 'no counters');
  assert.equal(await page.getByRole('button', { name: 'Invite User' }).count(), 0, 'no Invite User');
  assert.equal(await page.locator('table').count(), 0, 'no users table');
  assert.equal(await page.getByRole('navigation', { name: 'Access' }).isVisible(), false);
  await shot('resident-refused');

  // Other routes are refused too.
  await page.goto(`${server.url}/#/access/outbox`);
  await page.getByRole('heading', { level: 1, name: 'This page is for team members' }).waitFor();
  assert.equal(await page.locator('article[data-channel]').count(), 0);
  await page.goto(`${server.url}/#/access/locks`);
  await page.getByRole('heading', { level: 1, name: 'This page is for team members' }).waitFor();

  // The API refuses as well, whatever the page does.
  const samToken = await login(server, 'sam.field@example.com', 'sam field password 7');
  assert.equal((await server.api('GET', '/access/summary', undefined, samToken)).status, 403);

  await page.locator('#account').getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to Lock Access' }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('lock-access.token')), null);
  assert.deepEqual(errors, []);
});

test('without a session the page asks to sign in', async () => {
  const fresh = await browser.newPage();
  await fresh.goto(`${server.url}/#/access/users/00000000-0000-0000-0000-000000000000`);
  await fresh.getByRole('heading', { name: 'Sign in to Lock Access' }).waitFor();
  await fresh.getByRole('button', { name: 'Sign in' }).click();
  await fresh.getByText('Enter your email address.').first().waitFor();
  assert.equal(await fresh.getByLabel('Email').getAttribute('aria-invalid'), 'true');
  await fresh.close();
});

// Keyboard only: sign in, invite a user through the dialog (Tab, Space, Enter), open the
// user, and back out of the revoke confirmation with Escape. No mouse clicks anywhere.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, login } from './lib/server.mjs';
import { openBrowser, screenshotter } from './lib/browser.mjs';

let server;
let browser;
let page;
let errors;
let shot;

before(async () => {
  server = await startServer();
  ({ browser, page, errors } = await openBrowser());
  shot = screenshotter(page, 'keyboard');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** What has focus: its accessible-ish name (label text, or its own text). */
const focused = () => page.evaluate(() => {
  const el = document.activeElement;
  if (!el) return '';
  const label = el.id && document.querySelector(`label[for="${el.id}"]`);
  return (label ? label.textContent : el.textContent || el.getAttribute('aria-label') || '').trim();
});

/** Presses Tab until the focused element is named `name`; fails if it is never reached. */
async function tabTo(name, max = 60) {
  for (let i = 0; i < max; i += 1) {
    if ((await focused()) === name) return;
    await page.keyboard.press('Tab');
  }
  assert.fail(`"${name}" is not reachable with Tab (last: "${await focused()}")`);
}

test('invite and manage a user with the keyboard alone', async () => {
  const admin = await login(server, server.admin.email, server.admin.password);
  const prop = await server.api('POST', '/properties', { name: 'Cedar Row' }, admin);
  await server.api('POST', `/properties/${prop.body.id}/units`, { name: 'B2' }, admin);

  await page.goto(server.url);
  await page.keyboard.type(server.admin.email);
  await page.keyboard.press('Tab');
  await page.keyboard.type(server.admin.password);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: 'Manage Access' }).waitFor();

  await tabTo('Invite User');
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: 'Invite User' });
  await dialog.waitFor();
  assert.equal(await focused(), 'Team Member', 'focus starts in the dialog');
  await tabTo('Email address');
  await page.keyboard.type('kim.keys@example.com');
  await tabTo('Can view access logs');
  await page.keyboard.press('Space');
  await tabTo('B2');
  await page.keyboard.press('Space');
  await shot('invite-by-keyboard');
  await tabTo('Add User');
  await page.keyboard.press('Enter');
  await dialog.waitFor({ state: 'detached' });
  const row = page.locator('table.users tbody tr', { hasText: 'kim.keys@example.com' });
  await row.waitFor();

  // Escape closes a dialog without doing anything.
  await tabTo('Invite User');
  await page.keyboard.press('Enter');
  await dialog.waitFor();
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.equal(await focused(), 'Invite User', 'focus returns to the button that opened it');

  await tabTo('kim.keys@example.com');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: 'kim.keys@example.com' }).waitFor();
  assert.equal(await page.getByRole('checkbox', { name: 'Can view access logs' }).isChecked(), true);
  await tabTo('Manage Access');
  await page.keyboard.press('Enter');
  assert.equal(await focused(), 'Revoke access');
  await page.keyboard.press('Enter');
  const confirm = page.getByRole('dialog', { name: 'Revoke access for kim.keys@example.com?' });
  await confirm.waitFor();
  await page.keyboard.press('Escape');
  await confirm.waitFor({ state: 'detached' });
  const users = (await server.api('GET', '/users?limit=1000', undefined, admin)).body.items;
  assert.equal(users.find((u) => u.invited_email === 'kim.keys@example.com').status, 'pending', 'Escape revoked nothing');

  await tabTo('Resend Invite');
  await page.keyboard.press('Enter');
  await page.getByText('Invitation sent again to kim.keys@example.com.').waitFor();
  await shot('resent-by-keyboard');
  assert.deepEqual(errors, []);
});

// An invitation that names the invitee's phone: typed in the Invite User dialog, checked by
// the server, and only that phone completes the registration.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, login, invitationToken } from './lib/server.mjs';
import { openBrowser, screenshotter } from './lib/browser.mjs';

let server;
let browser;
let page;
let shot;

before(async () => {
  server = await startServer();
  ({ browser, page } = await openBrowser());
  shot = screenshotter(page, 'invite-phone');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('only the phone named in the invitation can register from it', async () => {
  const admin = await login(server, server.admin.email, server.admin.password);
  const property = await server.api('POST', '/properties', { name: 'Birch House' }, admin);
  assert.equal(property.status, 201, JSON.stringify(property.body));
  const unit = await server.api('POST', `/properties/${property.body.id}/units`, { name: '7' }, admin);
  assert.equal(unit.status, 201, JSON.stringify(unit.body));

  await page.goto(`${server.url}/#/access/locks/manage`);
  await page.getByLabel('Email').fill(server.admin.email);
  await page.getByLabel('Password').fill(server.admin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Invite User' }).click();
  const dialog = page.getByRole('dialog', { name: 'Invite User' });
  await dialog.getByLabel('Resident').check();
  await dialog.getByLabel('Email address', { exact: true }).fill('robin@example.com');
  await dialog.getByRole('group', { name: 'Birch House' }).getByLabel('7').check();
  const phone = dialog.getByLabel('Their mobile phone (optional)');
  await phone.fill('555-0100');
  await dialog.getByRole('button', { name: 'Add User' }).click();
  await page.waitForFunction(() => document.querySelector('input[name="phone"]')?.getAttribute('aria-invalid') === 'true');
  assert.match(await dialog.textContent(), /\+1/, 'the error says how to write the number');
  await shot('phone-refused');
  await phone.fill('+1 555 210 0300');
  await dialog.getByRole('button', { name: 'Add User' }).click();
  await dialog.waitFor({ state: 'detached' });

  const token = await invitationToken(server, admin, 'robin@example.com');
  const reg = (p) => server.api('POST', '/registrations', {
    token, email: 'robin@example.com', phone: p, password: 'robin password 1', name: 'Robin',
  });
  const thief = await reg('+15552100999');
  assert.equal(thief.status, 422, JSON.stringify(thief.body));
  assert.equal(thief.body.error.code, 'invalid_phone');
  const owner = await reg('+15552100300');
  assert.equal(owner.status, 201, JSON.stringify(owner.body));
});

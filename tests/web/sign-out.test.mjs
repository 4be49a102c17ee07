// Sign out ends the session on the server: the token the page held stops working.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { openBrowser, screenshotter } from './lib/browser.mjs';

let server;
let browser;
let page;
let shot;

before(async () => {
  server = await startServer();
  ({ browser, page } = await openBrowser());
  shot = screenshotter(page, 'sign-out');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('Sign out makes the page\'s token invalid on the server', async () => {
  await page.goto(`${server.url}/#/access/locks/manage`);
  await page.getByLabel('Email').fill(server.admin.email);
  await page.getByLabel('Password').fill(server.admin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Invite User' }).waitFor();
  const token = await page.evaluate(() => sessionStorage.getItem('lock-access.token'));
  assert.ok(token, 'the page holds a token after sign-in');
  assert.equal((await server.api('GET', '/me', undefined, token)).status, 200);

  await page.getByRole('button', { name: 'Sign out' }).first().click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await shot('signed-out');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('lock-access.token')), null);
  const after = await server.api('GET', '/me', undefined, token);
  assert.equal(after.status, 401, 'the old token is refused by the server');
});

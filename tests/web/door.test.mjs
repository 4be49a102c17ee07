// The lock page shows what the door holds: in step or codes waiting, the last contact and
// by which app, a low battery.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, hkdfSync } from 'node:crypto';
import { reportKey, uuidBytes } from './lib/lock-log.mjs';
import { startServer, login, register } from './lib/server.mjs';
import { openBrowser, screenshotter } from './lib/browser.mjs';

/** The lock's receipt for a status report (`lock_protocol::door::receipt`). */
function receipt(reportKeyBytes, lockId, version, battery, clock, firmware) {
  const key = Buffer.from(hkdfSync('sha256', reportKeyBytes,
    Buffer.from('lock-protocol receipt v1'), Buffer.from('receipt'), 32));
  const u64 = (n) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; };
  const fw = Buffer.from(firmware);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(fw.length);
  return createHmac('sha256', key)
    .update(Buffer.concat([uuidBytes(lockId), u64(version), Buffer.from([battery]), u64(clock), len, fw]))
    .digest('base64');
}

let server;
let browser;
let page;
let shot;

before(async () => {
  server = await startServer();
  ({ browser, page } = await openBrowser());
  shot = screenshotter(page, 'door');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('a lock page shows codes waiting, the last contact and a low battery', async () => {
  const admin = await login(server, server.admin.email, server.admin.password);
  const property = await server.api('POST', '/properties', { name: 'Cedar Row' }, admin);
  const unit = await server.api('POST', `/properties/${property.body.id}/units`, { name: '3' }, admin);
  const lock = await server.api('POST', '/locks', { unit_id: unit.body.id, name: 'Cedar 3 door' }, admin);
  assert.equal(lock.status, 201, JSON.stringify(lock.body));
  const lockId = lock.body.id;
  const paired = await server.api('PUT', `/locks/${lockId}/identity`, { identity_public_key: Buffer.alloc(32, 7).toString('base64') }, admin);
  assert.equal(paired.status, 200, JSON.stringify(paired.body));
  const invite = await server.api('POST', '/invitations', {
    user_type: 'resident', email: 'kim@example.com', access: { type: 'units', unit_ids: [unit.body.id] },
  }, admin);
  assert.equal(invite.status, 201, JSON.stringify(invite.body));
  const resident = await register(server, admin, {
    invitedEmail: 'kim@example.com', email: 'kim@example.com', phone: '+15552100400',
    password: 'kim password 1', name: 'Kim',
  });
  const clock = 1_800_000_000;
  const seen = await server.api('POST', `/locks/${lockId}/contact`, {
    door_version: 0, battery: 12, clock, firmware: 'vlock-1',
    receipt: receipt(reportKey(server.dbPath, lockId), lockId, 0, 12, clock, 'vlock-1'),
  }, resident);
  assert.equal(seen.status, 200, JSON.stringify(seen.body));

  await page.goto(`${server.url}/#/access/locks/${lockId}`);
  await page.getByLabel('Email').fill(server.admin.email);
  await page.getByLabel('Password').fill(server.admin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Cedar 3 door' }).waitFor();
  const door = page.locator('dd[data-door]');
  assert.equal(await door.getAttribute('data-door'), 'waiting');
  // The resident's passcode and the administrator's (all locks) wait for the lock.
  assert.equal(seen.body.pending_codes, 2);
  assert.match(await door.textContent(), /2 codes waiting until a phone reaches the lock/);
  const details = await page.locator('dl.details').textContent();
  assert.match(details, /12% \(low\)/);
  assert.match(details, /Last contact.*by NoKey Resident/s);
  await shot('lock-door');
});

test('one access code is revoked alone from the lock page', async () => {
  const admin = await login(server, server.admin.email, server.admin.password);
  const property = await server.api('POST', '/properties', { name: 'Birch Row' }, admin);
  const unit = await server.api('POST', `/properties/${property.body.id}/units`, { name: '7' }, admin);
  const lock = await server.api('POST', '/locks', { unit_id: unit.body.id, name: 'Birch 7 door' }, admin);
  const lockId = lock.body.id;
  const paired = await server.api('PUT', `/locks/${lockId}/identity`, { identity_public_key: Buffer.alloc(32, 7).toString('base64') }, admin);
  assert.equal(paired.status, 200, JSON.stringify(paired.body));
  for (const label of ['Cleaner', 'Plumber']) {
    const given = await server.api('POST', `/locks/${lockId}/access-codes`, { kind: 'permanent', label }, admin);
    assert.equal(given.status, 201, JSON.stringify(given.body));
  }

  await page.goto(`${server.url}/#/access/locks/${lockId}`);
  await page.getByRole('heading', { level: 1, name: 'Birch 7 door' }).waitFor();
  const row = (label) => page.locator('tr', { has: page.getByRole('rowheader', { name: label }) });
  await row('Cleaner').getByRole('button', { name: 'Revoke Cleaner' }).click();
  const dialog = page.getByRole('dialog', { name: 'Revoke the code "Cleaner"?' });
  await dialog.getByText(/leaves the lock the next time a phone reaches it/).waitFor();
  await dialog.getByRole('button', { name: 'Revoke code' }).click();
  await page.getByRole('heading', { level: 1, name: 'Birch 7 door' }).waitFor();
  await row('Cleaner').getByText('Revoked').waitFor();
  assert.equal(await row('Cleaner').getByRole('button', { name: /Revoke/ }).count(), 0, 'no second revoke');
  assert.equal(await row('Plumber').getByRole('button', { name: 'Revoke Plumber' }).count(), 1, 'the other code stays');
  const codes = (await server.api('GET', `/locks/${lockId}/access-codes`, undefined, admin)).body.items;
  const byLabel = Object.fromEntries(codes.map((c) => [c.label, c]));
  assert.ok(byLabel.Cleaner.revoked_at, 'revoked on the server');
  assert.equal(byLabel.Plumber.revoked_at, null);
  await shot('code-revoked');
});

test('one passcode is renewed alone from the user page', async () => {
  const admin = await login(server, server.admin.email, server.admin.password);
  const users = (await server.api('GET', '/users?q=kim%40example.com', undefined, admin)).body.items;
  const kim = users[0].id;
  const before = (await server.api('GET', `/users/${kim}`, undefined, admin)).body.passcodes;
  assert.equal(before.length, 1, JSON.stringify(before));

  await page.goto(`${server.url}/#/access/users/${kim}`);
  await page.getByRole('heading', { level: 2, name: 'Generated passcodes' }).waitFor();
  await page.getByRole('button', { name: 'Renew the passcode on Cedar 3 door' }).click();
  const dialog = page.getByRole('dialog', { name: 'Renew the passcode on Cedar 3 door?' });
  await dialog.getByText(/the old one stops opening the next time a phone reaches the lock/).waitFor();
  await dialog.getByRole('button', { name: 'Renew passcode' }).click();
  await page.getByText(/The passcode on Cedar 3 door is renewed/).waitFor();
  const after = (await server.api('GET', `/users/${kim}`, undefined, admin)).body.passcodes;
  assert.notEqual(after[0].code, before[0].code);
  assert.equal(after[0].sync_state, 'pending');
  await page.locator('td.code', { hasText: after[0].code }).waitFor();
  await shot('passcode-renewed');
});

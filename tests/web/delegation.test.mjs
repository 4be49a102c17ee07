// The desktop page for every team member, by permission: a leasing agent with only
// `view_logs` and `give_access` gives a code and reads a log from their desk and sees no
// other action; a delegated manager of one unit invites within that unit only.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, login, register } from './lib/server.mjs';
import { openBrowser, screenshotter } from './lib/browser.mjs';

let server;
let browser;
let page;
let errors;
let shot;
let admin;
let site;

before(async () => {
  server = await startServer();
  ({ browser, page, errors } = await openBrowser());
  shot = screenshotter(page, 'delegation');
  admin = await login(server, server.admin.email, server.admin.password);
  const property = await server.api('POST', '/properties', { name: 'Linden Court' }, admin);
  const unitA = await server.api('POST', `/properties/${property.body.id}/units`, { name: 'A1' }, admin);
  const unitB = await server.api('POST', `/properties/${property.body.id}/units`, { name: 'B2' }, admin);
  const lockA = await server.api('POST', '/locks', { unit_id: unitA.body.id, name: 'Linden A1 door' }, admin);
  const lockB = await server.api('POST', '/locks', { unit_id: unitB.body.id, name: 'Linden B2 door' }, admin);
  assert.equal(lockA.status, 201, JSON.stringify(lockA.body));
  site = { unitA: unitA.body.id, unitB: unitB.body.id, lockA: lockA.body.id, lockB: lockB.body.id };
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function teamMember(email, permissions, unitIds, phone) {
  const invite = await server.api('POST', '/invitations', {
    user_type: 'team_member', email, permissions, access: { type: 'units', unit_ids: unitIds },
  }, admin);
  assert.equal(invite.status, 201, JSON.stringify(invite.body));
  await register(server, admin, {
    invitedEmail: email, email, phone, password: `${email} password`, name: email.split('@')[0],
  });
}

async function signIn(email) {
  await page.goto(`${server.url}/#/signin`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(`${email} password`);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function signOut() {
  await page.locator('#account').getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to Lock Access' }).waitFor();
}

test('a team member with only view_logs and give_access works from the desktop', async () => {
  await teamMember('leasing@linden.example', ['view_logs', 'give_access'], [site.unitA], '+15552200101');
  await signIn('leasing@linden.example');
  // They land on their locks, with no Manage Access, properties or outbox in the navigation.
  await page.getByRole('heading', { level: 1, name: 'Locks' }).waitFor();
  const nav = page.getByRole('navigation', { name: 'Access' });
  assert.equal(await nav.getByRole('link', { name: 'Locks', exact: true }).isVisible(), true);
  for (const hidden of ['Manage Access', 'Properties and units', 'Outbox']) {
    assert.equal(await nav.getByRole('link', { name: hidden }).isVisible(), false, hidden);
  }
  // Only the lock of their unit is listed.
  await page.getByRole('link', { name: 'Linden A1 door' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Linden B2 door' }).count(), 0);
  await shot('agent-locks');

  // The lock page: codes and the log, no mode, rename, master code or reset.
  await page.getByRole('link', { name: 'Linden A1 door' }).click();
  await page.getByRole('heading', { level: 1, name: 'Linden A1 door' }).waitFor();
  await page.getByRole('heading', { level: 2, name: 'Access codes' }).waitFor();
  await page.getByRole('heading', { level: 2, name: 'Access log' }).waitFor();
  for (const absent of ['Change mode', 'Rename', 'Show master code', 'Reset codes']) {
    assert.equal(await page.getByRole('button', { name: absent }).count(), 0, absent);
  }
  assert.equal(await page.getByRole('heading', { level: 2, name: 'Actions' }).count(), 0);

  // Give a code from the desk: it is listed, and the server stored it for this lock.
  await page.getByLabel('For whom (label)').fill('Mover Tuesday');
  await page.getByRole('button', { name: 'Give access code' }).click();
  await page.getByRole('row', { name: /Mover Tuesday/ }).waitFor();
  const codes = await server.api('GET', `/locks/${site.lockA}/access-codes`, undefined, admin);
  assert.ok(codes.body.items.some((c) => c.label === 'Mover Tuesday'), JSON.stringify(codes.body));
  await shot('agent-gave-a-code');

  // Manage Access by its address: refused with the reason, and by the server as well.
  await page.goto(`${server.url}/#/access/locks/manage`);
  await page.getByRole('heading', { level: 1, name: 'You do not have permission to manage lock access' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Invite User' }).count(), 0);
  const token = await login(server, 'leasing@linden.example', 'leasing@linden.example password');
  assert.equal((await server.api('GET', '/users', undefined, token)).status, 403);
  assert.equal((await server.api('PATCH', `/locks/${site.lockA}`, { name: 'Mine' }, token)).status, 403);
  assert.equal((await server.api('GET', `/locks/${site.lockB}`, undefined, token)).status, 403);
  await signOut();
  assert.deepEqual(errors, []);
});

test('a delegated unit manager invites within their unit only', async () => {
  await teamMember('unit-lead@linden.example', ['manage_access', 'give_access'], [site.unitA], '+15552200102');
  // Someone of unit B the manager must not see.
  const other = await server.api('POST', '/invitations', {
    user_type: 'resident', email: 'b-resident@linden.example', access: { type: 'units', unit_ids: [site.unitB] },
  }, admin);
  assert.equal(other.status, 201);

  await signIn('unit-lead@linden.example');
  await page.getByRole('heading', { level: 1, name: 'Manage Access' }).waitFor();
  const table = page.locator('table');
  await table.getByText('unit-lead@linden.example').first().waitFor();
  assert.equal(await table.getByText('b-resident@linden.example').count(), 0, 'unit B is not theirs');
  assert.equal(await table.getByText(server.admin.email).count(), 0, 'nor is the administrator');
  const nav = page.getByRole('navigation', { name: 'Access' });
  assert.equal(await nav.getByRole('link', { name: 'Outbox' }).isVisible(), false);

  await page.getByRole('button', { name: 'Invite User' }).click();
  const dialog = page.getByRole('dialog', { name: 'Invite User' });
  await dialog.waitFor();
  // Only unit A to pick, no "All locks", and only the permissions the manager holds.
  await dialog.getByLabel('A1', { exact: true }).waitFor();
  assert.equal(await dialog.getByLabel('B2', { exact: true }).count(), 0);
  assert.equal(await dialog.getByLabel('All locks').isDisabled(), true);
  assert.equal(await dialog.getByLabel('Can give access to the property').isDisabled(), false);
  assert.equal(await dialog.getByLabel('Can view master code').isDisabled(), true);
  assert.equal(await dialog.getByLabel('Can change lock modes').isDisabled(), true);
  await shot('unit-manager-invite');

  await dialog.getByLabel('Email address', { exact: true }).fill('new-agent@linden.example');
  await dialog.getByLabel('Can give access to the property').check();
  await dialog.getByLabel('A1', { exact: true }).check();
  await dialog.getByRole('button', { name: 'Add User' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await table.getByText('new-agent@linden.example').first().waitFor();
  const invited = (await server.api('GET', '/users?q=new-agent', undefined, admin)).body.items[0];
  const detail = (await server.api('GET', `/users/${invited.id}`, undefined, admin)).body;
  assert.deepEqual(detail.permissions, ['give_access']);
  assert.deepEqual(detail.access, { type: 'units', unit_ids: [site.unitA] });

  // What the dialog cannot offer, the server refuses too.
  const token = await login(server, 'unit-lead@linden.example', 'unit-lead@linden.example password');
  const beyond = await server.api('POST', '/invitations', {
    user_type: 'resident', email: 'sneaky@linden.example', access: { type: 'units', unit_ids: [site.unitB] },
  }, token);
  assert.equal(beyond.status, 403, JSON.stringify(beyond.body));
  await signOut();
  assert.deepEqual(errors, []);
});

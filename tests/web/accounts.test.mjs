// Accounts on the web page: inviting an existing user by username adds access to their
// account; an expired invitation is shown (table, counter, filter, profile) and revived by
// Resend Invite; a password reset from the sign-in page (mail and SMS read from the outbox).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startServer, login, outbox, invitationToken, register } from './lib/server.mjs';
import { openBrowser, screenshotter, eventually } from './lib/browser.mjs';

let server;
let browser;
let page;
let errors;
let shot;
let admin;

before(async () => {
  server = await startServer();
  ({ browser, page, errors } = await openBrowser());
  shot = screenshotter(page, 'accounts');
  admin = await login(server, server.admin.email, server.admin.password);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function signIn(email, password) {
  await page.goto(`${server.url}/#/signin`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function invite(email) {
  const res = await server.api('POST', '/invitations', {
    user_type: 'team_member', email, permissions: ['view_logs'], access: { type: 'all_locks' },
  }, admin);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.user_id;
}

const userRow = (id) => page.locator(`tr[data-user-id="${id}"]`);

test('an existing user invited by username gets the access on their account', async () => {
  const id = await invite('kim@web.example');
  const token = await invitationToken(server, admin, 'kim@web.example');
  const reg = await server.api('POST', '/registrations', {
    token, email: 'kim@web.example', phone: '+15557770001', password: 'password-123', name: 'Kim Lee', username: 'kim.lee',
  });
  assert.equal(reg.status, 201, JSON.stringify(reg.body));
  const sms = (await outbox(server, admin)).find((m) => m.channel === 'sms' && m.to === '+15557770001');
  const code = sms.body.match(/\b(\d{6})\b/)[1];
  const ok = await server.api('POST', `/registrations/${reg.body.registration_id}/verify`, { code });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));

  await signIn(server.admin.email, server.admin.password);
  await page.getByRole('button', { name: 'Invite User' }).waitFor();
  await userRow(id).getByRole('cell', { name: 'kim.lee' }).waitFor();
  const total = (await server.api('GET', '/users', undefined, admin)).body.total;

  await page.getByRole('button', { name: 'Invite User' }).click();
  const d = page.getByRole('dialog', { name: 'Invite User' });
  await d.getByLabel('Team Member').check();
  await d.getByLabel('Existing user (search by username)').check();
  await d.getByLabel('Username', { exact: true }).fill('kim');
  // The field suggests the usernames that match.
  await eventually(async () => {
    assert.equal(await d.locator('datalist option[value="kim.lee"]').count(), 1);
  });
  await d.getByLabel('Username', { exact: true }).fill('kim.lee');
  await d.getByLabel('Can rename locks').check();
  await d.getByLabel('All locks').check();
  await shot('username-invite');
  await d.getByRole('button', { name: 'Add User' }).click();
  await d.waitFor({ state: 'detached' });
  await page.getByText('Access added to kim.lee\'s existing account').first().waitFor();
  await shot('username-linked');

  const after = await server.api('GET', '/users', undefined, admin);
  assert.equal(after.body.total, total, 'no second user');
  const detail = await server.api('GET', `/users/${id}`, undefined, admin);
  assert.deepEqual(detail.body.permissions.sort(), ['rename_locks', 'view_logs']);
  assert.equal(detail.body.status, 'active');
});

test('an expired invitation is shown, counted, filtered and revived by Resend Invite', async () => {
  const id = await invite('late@web.example');
  const oldToken = await invitationToken(server, admin, 'late@web.example');
  // Time passes: the invitation's validity ends (the data file, written as the days would).
  execFileSync('sqlite3', [server.dbPath,
    `UPDATE invitations SET expires_at = CAST(strftime('%s','now') AS INTEGER) - 60 WHERE user_id = '${id}'`]);

  await page.goto(`${server.url}/#/access/locks/manage`);
  await page.reload();
  const counter = (key) => page.locator(`[data-counter="${key}"] .count`);
  await eventually(async () => assert.equal(await counter('expired_invites').textContent(), '1'));
  assert.equal(await counter('pending_invites').textContent(), '0');
  await userRow(id).getByText('Expired', { exact: true }).waitFor();

  await page.getByLabel('Status').selectOption({ label: 'Expired' });
  await eventually(async () => {
    assert.match(page.url(), /status=expired/);
    assert.equal(await page.locator('tbody tr[data-user-id]').count(), 1);
  });
  await userRow(id).waitFor();
  await shot('expired-filtered');
  await page.getByLabel('Status').selectOption({ label: 'Pending' });
  await eventually(async () => assert.equal(await userRow(id).count(), 0));

  await page.goto(`${server.url}/#/access/users/${id}`);
  await page.getByRole('heading', { name: 'Expired invitation' }).waitFor();
  await page.getByText('Invitation expired', { exact: true }).waitFor();
  await shot('expired-profile');
  await page.getByRole('button', { name: 'Resend Invite' }).click();
  await page.getByRole('heading', { name: 'Pending invitation' }).waitFor();
  await shot('revived');
  const detail = await server.api('GET', `/users/${id}`, undefined, admin);
  assert.equal(detail.body.status, 'pending');
  const newToken = await invitationToken(server, admin, 'late@web.example');
  assert.notEqual(newToken, oldToken);
  const dead = await server.api('POST', '/registrations', {
    token: oldToken, email: 'late@web.example', phone: '+15557770002', password: 'password-123', name: 'Late',
  });
  assert.equal(dead.status, 404, 'the old link is dead');
  const summary = await server.api('GET', '/access/summary', undefined, admin);
  assert.equal(summary.body.expired_invites, 0);
});

test('a password reset from the sign-in page: mail link, SMS code, new password', async () => {
  await invite('ivy@web.example');
  await register(server, admin, {
    invitedEmail: 'ivy@web.example', email: 'ivy@web.example', phone: '+15557770003', password: 'password-123', name: 'Ivy',
  });
  await page.evaluate(() => sessionStorage.clear());
  await page.goto(`${server.url}/#/signin`);
  await page.getByRole('link', { name: 'Forgot password?' }).click();
  await page.getByRole('heading', { name: 'Reset your password' }).waitFor();
  await page.getByLabel('Email').fill('ivy@web.example');
  await page.getByRole('button', { name: 'Send reset link' }).click();
  await page.getByText('a link to reset the password is on its way').waitFor();
  await shot('reset-requested');

  const messages = await eventually(async () => {
    const all = await outbox(server, admin);
    const mail = all.find((m) => m.channel === 'email' && m.to === 'ivy@web.example' && /Reset/.test(m.subject));
    const sms = all.find((m) => m.channel === 'sms' && m.to === '+15557770003' && /password reset/.test(m.body));
    assert.ok(mail && sms, 'the reset mail and SMS are in the outbox');
    return { mail, sms };
  });
  const link = messages.mail.body.match(/(http\S+\/reset-password\?token=[A-Za-z0-9_-]+)/)[1];
  const code = messages.sms.body.match(/\b(\d{6})\b/)[1];
  await page.goto(link.replace(/^http:\/\/[^/]+/, server.url));
  await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
  await page.getByLabel('SMS code').fill(code === '000000' ? '111111' : '000000');
  await page.getByLabel('New password', { exact: true }).fill('brand-new-pass-1');
  await page.getByRole('button', { name: 'Set new password' }).click();
  await page.getByText('That code is not right').waitFor();
  await page.getByLabel('SMS code').fill(code);
  await page.getByRole('button', { name: 'Set new password' }).click();
  await page.getByText('Your password is changed').waitFor();
  await shot('reset-done');
  assert.equal(new URL(page.url()).pathname, '/', 'off the link');

  await page.getByLabel('Email').fill('ivy@web.example');
  await page.getByLabel('Password').fill('brand-new-pass-1');
  await page.getByRole('button', { name: 'Sign in' }).click();
  // A team member without the manage right: signed in, on the locks of their scope.
  await page.getByRole('heading', { level: 1, name: 'Locks' }).waitFor();
  const old = await server.api('POST', '/sessions', { email: 'ivy@web.example', password: 'password-123' });
  assert.equal(old.status, 401);
  assert.deepEqual(errors, []);
});

// The seed article's whole flow in a real browser against the real access-server:
// sign in, set up properties/units/locks, invite a team member (three permissions, two units)
// and a resident, counters, outbox, registration of the invitee (through the API, as the app
// does it), the email used, a permission change, revoke, and resending a pending invite.
// Filters, search and sorting of the table are in filters.test.mjs.
// Every step saves a screenshot under $ARTIFACTS_DIR.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, login, outbox, invitationToken, register } from './lib/server.mjs';
import { openBrowser, screenshotter, eventually } from './lib/browser.mjs';

let server;
let browser;
let page;
let errors;
let shot;
let adminToken;

const TEAM_EMAIL = 'alex.rivera@example.com';
const TEAM_USED_EMAIL = 'alex.personal@example.org';
const RESIDENT_EMAIL = 'jordan.lee@example.net';

before(async () => {
  server = await startServer();
  ({ browser, page, errors } = await openBrowser());
  shot = screenshotter(page, 'manage-access');
  adminToken = await login(server, server.admin.email, server.admin.password);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const counter = async (key) => Number(await page.locator(`[data-counter="${key}"] .count`).textContent());
const counters = async () => ({
  total_users: await counter('total_users'),
  team_members: await counter('team_members'),
  residents: await counter('residents'),
  pending_invites: await counter('pending_invites'),
});
/** The page's counters equal the API's summary. */
async function countersMatchApi() {
  const summary = (await server.api('GET', '/access/summary', undefined, adminToken)).body;
  await eventually(async () => {
    const shown = await counters();
    assert.deepEqual(shown, {
      total_users: summary.total_users,
      team_members: summary.team_members,
      residents: summary.residents,
      pending_invites: summary.pending_invites,
    });
  });
  return summary;
}
const row = (text) => page.locator('table.users tbody tr', { hasText: text });
const dialog = () => page.getByRole('dialog', { name: 'Invite User' });
async function gotoManageAccess() {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Access' }).click();
  await page.getByRole('heading', { level: 1, name: 'Access' }).waitFor();
  await page.getByRole('navigation', { name: 'Access' }).getByRole('link', { name: 'Locks', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: 'Locks' }).waitFor();
  await page.getByRole('main').getByRole('link', { name: 'Manage Access' }).click();
  await page.getByRole('heading', { level: 1, name: 'Manage Access' }).waitFor();
}

/** Runs a step of the flow; once one fails, the later ones fail at once (each builds on the
 *  previous), so the first failure is the one to read. */
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

let baseline;
let teamId;
let residentId;

test('the article flow', async (t) => {
  await step(t, 'sign in with the keyboard', async () => {
    await page.goto(server.url);
    await page.getByRole('heading', { name: 'Sign in to Lock Access' }).waitFor();
    // A wrong password is refused on the page.
    await page.keyboard.type(server.admin.email);
    await page.keyboard.press('Tab');
    await page.keyboard.type('not the password');
    await page.keyboard.press('Enter');
    await page.getByRole('alert').filter({ hasText: /./ }).waitFor();
    await shot('sign-in-refused');
    await page.getByLabel('Password').fill('');
    await page.getByLabel('Password').focus();
    await page.keyboard.type(server.admin.password);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Manage Access' }).waitFor();
    assert.ok(await page.evaluate(() => sessionStorage.getItem('lock-access.token')), 'token kept in sessionStorage');
    await shot('signed-in');
  });

  await step(t, 'set up properties, units and a lock', async () => {
    await page.getByRole('link', { name: 'Properties and units' }).click();
    await page.getByRole('heading', { level: 1, name: 'Properties and units' }).waitFor();
    // An empty name is refused in the page.
    await page.getByRole('button', { name: 'Create property' }).click();
    await page.getByText('Enter a name.').waitFor();
    for (const name of ['Maple Court', 'Oak Terrace <East>']) {
      await page.getByLabel('Property name').fill(name);
      await page.getByRole('button', { name: 'Create property' }).click();
      await page.getByRole('heading', { level: 2, name }).waitFor();
    }
    for (const [property, unit] of [['Maple Court', '101'], ['Maple Court', '102'], ['Maple Court', '103'], ['Oak Terrace <East>', 'A1']]) {
      await page.getByLabel(`New unit in ${property}`).fill(unit);
      await page.getByLabel(`New unit in ${property}`).press('Enter');
      await page.getByRole('region', { name: property, exact: true }).locator('.unit-name', { hasText: unit }).waitFor();
    }
    await page.getByLabel('Unit for the new lock in Maple Court').selectOption({ label: '101' });
    await page.getByRole('region', { name: 'Maple Court', exact: true }).getByLabel('Lock name').fill('Maple 101 front door');
    await page.getByRole('region', { name: 'Maple Court', exact: true }).getByRole('button', { name: 'Add lock' }).click();
    await page.getByRole('link', { name: 'Maple 101 front door' }).waitFor();
    await shot('properties-units-locks');
  });

  await step(t, 'Access -> Locks -> Manage Access shows the four counters', async () => {
    await gotoManageAccess();
    for (const label of ['Total Users', 'Team Members', 'Residents', 'Pending Invites']) {
      await page.locator('.counters .label', { hasText: label }).waitFor();
    }
    baseline = await countersMatchApi();
    await shot('manage-access-empty');
  });

  await step(t, 'Invite User refuses bad input with clear messages', async () => {
    await page.getByRole('button', { name: 'Invite User' }).click();
    await dialog().waitFor();
    await dialog().getByRole('button', { name: 'Add User' }).click();
    const alert = dialog().getByRole('alert');
    await alert.getByText('Add a recipient: enter the email address to invite.').waitFor();
    await alert.getByText('Select at least one unit, or choose "All locks".').waitFor();
    await shot('invite-no-recipient-no-units');
    await dialog().getByLabel('Email address', { exact: true }).fill('alex at example');
    await dialog().getByRole('button', { name: 'Add User' }).click();
    await alert.getByText('"alex at example" is not a valid email address. Use the form name@example.com.').waitFor();
    assert.equal(await dialog().getByLabel('Email address', { exact: true }).getAttribute('aria-invalid'), 'true');
    // A whole property at once.
    await dialog().getByRole('button', { name: 'Select all units of Maple Court' }).click();
    await dialog().getByText('3 units selected').waitFor();
    for (const unit of ['101', '102', '103']) {
      assert.equal(await dialog().getByRole('group', { name: 'Maple Court' }).getByLabel(unit).isChecked(), true);
    }
    // The server refuses too: an existing username that does not exist.
    await dialog().getByLabel('Existing user (search by username)').check();
    await dialog().getByLabel('Username', { exact: true }).fill('nobody-by-this-name');
    await dialog().getByLabel('All locks').check();
    await dialog().getByRole('button', { name: 'Add User' }).click();
    await alert.getByText(/^The server refused the invitation: ./).waitFor();
    await shot('invite-refused-by-server');
    await dialog().getByRole('button', { name: 'Cancel' }).click();
    await dialog().waitFor({ state: 'detached' });
    const after = await countersMatchApi();
    assert.deepEqual(after, baseline, 'nothing was invited');
  });

  await step(t, 'invite a team member with three permissions and two units', async () => {
    await page.getByRole('button', { name: 'Invite User' }).click();
    const d = dialog();
    await d.getByLabel('Team Member').check();
    await d.getByText('The Access Manager app invitation is sent automatically.').waitFor();
    await d.getByLabel('New email address').check();
    await d.getByLabel('Email address', { exact: true }).fill(TEAM_EMAIL);
    // The six permissions, each with the article's description.
    for (const [label, description] of [
      ['Can give access to the property', 'Provide codes to any property'],
      ['Can reset access codes and locks', 'Allows resetting codes or locks within the app.'],
      ['Can view access logs', 'Allows viewing activity history for locks.'],
      ['Can rename locks', 'Allows editing the lock alias/name.'],
      ['Can change lock modes', 'Allows switching lock modes (for example, Tour to Resident).'],
      ['Can view master code', 'Grants visibility into the master access code.'],
    ]) {
      const box = d.getByRole('checkbox', { name: label, exact: true });
      assert.equal(await box.count(), 1, label);
      assert.equal(await box.evaluate((el) => document.getElementById(el.getAttribute('aria-describedby')).textContent), description);
    }
    await d.getByRole('checkbox', { name: 'Can give access to the property' }).check();
    await d.getByRole('checkbox', { name: 'Can view access logs' }).check();
    await d.getByRole('checkbox', { name: 'Can rename locks' }).check();
    await d.getByLabel('Selected units only').check();
    // The unit picker: grouped by property, with search.
    await d.getByRole('group', { name: 'Oak Terrace <East>' }).waitFor();
    await d.getByLabel('Search units').fill('maple');
    assert.equal(await d.getByRole('group', { name: 'Oak Terrace <East>' }).isVisible(), false);
    const maple = d.getByRole('group', { name: 'Maple Court' });
    await maple.getByLabel('101').check();
    await maple.getByLabel('102').check();
    await d.getByText('2 units selected').waitFor();
    await shot('invite-team-member');
    await d.getByRole('button', { name: 'Add User' }).click();
    await d.waitFor({ state: 'detached' });
    await page.getByText(`Invitation sent to ${TEAM_EMAIL} (Access Manager app).`).first().waitFor();
    await row(TEAM_EMAIL).waitFor();
    assert.match(await row(TEAM_EMAIL).textContent(), /Team Member.*Pending.*Selected units.*Not registered yet/);
    const now = await countersMatchApi();
    assert.equal(now.team_members, baseline.team_members + 1);
    assert.equal(now.pending_invites, baseline.pending_invites + 1);
    assert.equal(now.total_users, baseline.total_users + 1);
    teamId = await row(TEAM_EMAIL).getAttribute('data-user-id');
    const detail = (await server.api('GET', `/users/${teamId}`, undefined, adminToken)).body;
    assert.deepEqual([...detail.permissions].sort(), ['give_access', 'rename_locks', 'view_logs']);
    assert.equal(detail.access.type, 'units');
    assert.equal(detail.access.unit_ids.length, 2);
    await shot('team-member-invited');
  });

  await step(t, 'invite a resident', async () => {
    await page.getByRole('button', { name: 'Invite User' }).click();
    const d = dialog();
    await d.getByLabel('Resident').check();
    await d.getByText('The NoKey Resident app invitation is sent automatically.').waitFor();
    assert.equal(await d.getByRole('checkbox', { name: 'Can view master code' }).isVisible(), false, 'residents get no permissions');
    assert.equal(await d.getByLabel('All locks').isDisabled(), true, 'residents get their units only');
    await d.getByLabel('Email address', { exact: true }).fill(RESIDENT_EMAIL);
    await d.getByRole('group', { name: 'Maple Court' }).getByLabel('103').check();
    await shot('invite-resident');
    await d.getByRole('button', { name: 'Add User' }).click();
    await d.waitFor({ state: 'detached' });
    await row(RESIDENT_EMAIL).waitFor();
    residentId = await row(RESIDENT_EMAIL).getAttribute('data-user-id');
    const now = await countersMatchApi();
    assert.equal(now.residents, baseline.residents + 1);
    assert.equal(now.pending_invites, baseline.pending_invites + 2);
    assert.equal(now.total_users, baseline.total_users + 2);
    await shot('counters-after-invites');
  });

  await step(t, 'the outbox shows both invitations, each naming its app', async () => {
    await page.getByRole('link', { name: 'Outbox' }).click();
    await page.getByRole('heading', { level: 1, name: 'Outbox' }).waitFor();
    const teamMail = page.locator('article[data-channel="email"]', { hasText: TEAM_EMAIL });
    const residentMail = page.locator('article[data-channel="email"]', { hasText: RESIDENT_EMAIL });
    await teamMail.waitFor();
    assert.match(await teamMail.textContent(), /Access Manager/);
    assert.match(await teamMail.textContent(), /token=/);
    assert.match(await residentMail.textContent(), /NoKey Resident/);
    await shot('outbox');
    // The link in the mail, opened on a desktop, says what to do and shows the code.
    const link = (await teamMail.locator('pre').textContent()).match(/https?:\/\/\S*token=\S+/)[0];
    const token = await invitationToken(server, adminToken, TEAM_EMAIL);
    await page.goto(link);
    await page.getByRole('heading', { level: 1, name: 'Finish your registration in the app' }).waitFor();
    assert.equal(await page.getByLabel('Invitation code').inputValue(), token);
    await shot('invitation-link');
    await page.goBack();
    await page.getByRole('heading', { level: 1, name: 'Outbox' }).waitFor();
  });

  await step(t, 'the invitee registers (through the API) and the page shows the email used', async () => {
    await register(server, adminToken, {
      invitedEmail: TEAM_EMAIL,
      email: TEAM_USED_EMAIL,
      phone: '+1 (555) 123-4567',
      password: 'alex secret password 9',
      name: 'Alex Rivera',
    });
    await page.getByRole('link', { name: 'Outbox' }).click();
    await page.reload();
    await page.locator('article[data-channel="sms"]', { hasText: '+15551234567' }).waitFor();
    await shot('outbox-with-sms');
    await gotoManageAccess();
    await row('Alex Rivera').waitFor();
    assert.match(await row('Alex Rivera').textContent(), new RegExp(`Active.*${TEAM_USED_EMAIL.replace(/\./g, '\\.')}`));
    const now = await countersMatchApi();
    assert.equal(now.pending_invites, baseline.pending_invites + 1);
    await shot('registered-in-table');
    await row('Alex Rivera').getByRole('link', { name: 'Alex Rivera' }).click();
    await page.getByRole('heading', { level: 1, name: 'Alex Rivera' }).waitFor();
    const info = page.getByRole('region', { name: 'User information' });
    assert.match(await info.textContent(), new RegExp(`Email used at registration${TEAM_USED_EMAIL.replace(/\./g, '\\.')}`));
    assert.match(await info.textContent(), new RegExp(`Invited email${TEAM_EMAIL.replace(/\./g, '\\.')}`));
    assert.match(await info.textContent(), /Invitation date[A-Z][a-z]{2} \d{1,2}, \d{4}/);
    assert.match(await info.textContent(), /Phone\+15551234567/);
    // Generated passcodes: one per lock in scope (the lock of unit 101).
    const codes = page.getByRole('region', { name: 'Generated passcodes' });
    await codes.getByRole('row', { name: /Maple 101 front door/ }).waitFor();
    assert.match(await codes.textContent(), /\d{4,}/);
    await shot('user-page');
  });

  await step(t, 'change a permission: confirmed, saved, applied', async () => {
    const form = page.getByRole('form', { name: 'App permissions and access' });
    assert.equal(await form.getByRole('checkbox', { name: 'Can view access logs' }).isChecked(), true);
    assert.equal(await form.getByRole('checkbox', { name: 'Can change lock modes' }).isChecked(), false);
    await form.getByRole('checkbox', { name: 'Can change lock modes' }).check();
    await form.getByRole('button', { name: 'Save changes' }).click();
    const confirm = page.getByRole('dialog', { name: 'Apply changes for Alex Rivera?' });
    await confirm.getByText('Grant: Can change lock modes').waitFor();
    await shot('permission-confirm');
    await confirm.getByRole('button', { name: 'Apply changes' }).click();
    await page.getByText('Changes saved for Alex Rivera. They apply immediately.').waitFor();
    await eventually(async () => {
      const detail = (await server.api('GET', `/users/${teamId}`, undefined, adminToken)).body;
      assert.deepEqual([...detail.permissions].sort(), ['change_modes', 'give_access', 'rename_locks', 'view_logs']);
    });
    await eventually(async () => assert.equal(
      await page.getByRole('form', { name: 'App permissions and access' }).getByRole('checkbox', { name: 'Can change lock modes' }).isChecked(), true));
    await shot('permission-saved');
  });

  await step(t, 'Manage Access -> Revoke access, with a confirm step', async () => {
    const alexToken = await login(server, TEAM_USED_EMAIL, 'alex secret password 9');
    assert.equal((await server.api('GET', '/me', undefined, alexToken)).status, 200);
    await page.getByRole('button', { name: 'Manage Access' }).click();
    await page.getByRole('button', { name: 'Revoke access' }).click();
    const confirm = page.getByRole('dialog', { name: 'Revoke access for Alex Rivera?' });
    await confirm.waitFor();
    await shot('revoke-confirm');
    // Cancel first: nothing happens.
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await server.api('GET', `/users/${teamId}`, undefined, adminToken)).body.status, 'active');
    await page.getByRole('button', { name: 'Revoke access' }).click();
    await page.getByRole('dialog', { name: 'Revoke access for Alex Rivera?' }).getByRole('button', { name: 'Revoke access' }).click();
    await page.getByText('Access revoked for Alex Rivera.').waitFor();
    await page.locator('.head-badges', { hasText: 'Revoked' }).waitFor();
    assert.equal((await server.api('GET', `/users/${teamId}`, undefined, adminToken)).body.status, 'revoked');
    assert.equal((await server.api('GET', '/me', undefined, alexToken)).status, 401, 'their sessions end at once');
    await shot('revoked');
  });

  await step(t, 'resend a pending invite from the bottom of the user page', async () => {
    const oldToken = await invitationToken(server, adminToken, RESIDENT_EMAIL);
    await gotoManageAccess();
    await row(RESIDENT_EMAIL).getByRole('link').click();
    await page.getByRole('heading', { level: 1, name: RESIDENT_EMAIL }).waitFor();
    const resend = page.getByRole('button', { name: 'Resend Invite' });
    // It is the last thing on the page.
    const last = await page.locator('main > *').last().evaluate((el) => el.textContent);
    assert.match(last, /Resend Invite/);
    await resend.click();
    await page.getByText(`Invitation sent again to ${RESIDENT_EMAIL}.`).waitFor();
    await shot('resent');
    const mails = (await outbox(server, adminToken)).filter((m) => m.channel === 'email' && m.to === RESIDENT_EMAIL);
    assert.equal(mails.length, 2);
    const newToken = await invitationToken(server, adminToken, RESIDENT_EMAIL);
    assert.notEqual(newToken, oldToken);
    const stale = await server.api('POST', '/registrations', {
      token: oldToken, email: 'jordan@example.net', phone: '+15557654321', password: 'resident password 1', name: 'Jordan Lee',
    });
    assert.ok(stale.status >= 400 && stale.status < 500, `old link refused, got ${stale.status}`);
  });

  await step(t, 'a lock page shows mode, battery, codes with sync state and the log', async () => {
    await page.getByRole('navigation', { name: 'Access' }).getByRole('link', { name: 'Locks', exact: true }).click();
    await page.getByRole('link', { name: 'Maple 101 front door' }).click();
    await page.getByRole('heading', { level: 1, name: 'Maple 101 front door' }).waitFor();
    await page.getByLabel('Lock mode').selectOption('tour');
    await page.getByRole('button', { name: 'Change mode' }).click();
    await page.getByText('Mode changed to Tour.').waitFor();
    await page.getByRole('region', { name: 'Lock', exact: true }).getByText('Tour').waitFor();
    await page.getByLabel('For whom (label)').fill('Plumber visit');
    await page.getByRole('button', { name: 'Give access code' }).click();
    const codes = page.getByRole('region', { name: 'Access codes' });
    await codes.getByRole('row', { name: /Plumber visit/ }).waitFor();
    assert.match(await codes.getByRole('row', { name: /Plumber visit/ }).textContent(), /Waiting to be installed|Installed|Failed/);
    const log = page.getByRole('region', { name: 'Access log' });
    await log.getByRole('row').nth(1).waitFor();
    assert.match(await log.textContent(), /mode/i);
    assert.match(await page.getByRole('region', { name: 'Lock', exact: true }).textContent(), /Battery/);
    await shot('lock-page');
  });

  await t.test('no errors in the page', () => {
    assert.deepEqual(errors, []);
  });
});

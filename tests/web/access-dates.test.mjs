// Access with dates on the web page: start, end and weekly hours set in the Invite User
// dialog and on a user's page (checked in the browser, stored by the server), the table's
// "Access ends" column and its "Ending this week" filter.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, login } from './lib/server.mjs';
import { openBrowser, screenshotter, eventually } from './lib/browser.mjs';

let server;
let browser;
let page;
let errors;
let shot;
let admin;
let unitId;

before(async () => {
  server = await startServer();
  // A browser away from UTC, so the offset the hours carry is a real one.
  ({ browser, page, errors } = await openBrowser({ timezoneId: 'America/Chicago' }));
  shot = screenshotter(page, 'access-dates');
  admin = await login(server, server.admin.email, server.admin.password);
  const prop = await server.api('POST', '/properties', { name: 'Cedar Court' }, admin);
  const unit = await server.api('POST', `/properties/${prop.body.id}/units`, { name: '2B' }, admin);
  unitId = unit.body.id;
  // A resident staying on, with no end.
  const staying = await server.api('POST', '/invitations', {
    user_type: 'resident', email: 'staying@example.net', access: { type: 'units', unit_ids: [unitId] },
  }, admin);
  assert.equal(staying.status, 201, JSON.stringify(staying.body));
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** `datetime-local` text `days` from now at `hh:mm` in the browser's time zone. */
async function localIn(days, hhmm) {
  return page.evaluate(([d, t]) => {
    const x = new Date(Date.now() + d * 86_400_000);
    const pad = (n) => String(n).padStart(2, '0');
    return `${x.getFullYear()}-${pad(x.getMonth() + 1)}-${pad(x.getDate())}T${t}`;
  }, [days, hhmm]);
}

/** What the browser sends for a `datetime-local` text. */
const isoOf = (local) => page.evaluate((v) => new Date(v).toISOString(), local);

async function userByEmail(email) {
  const list = await server.api('GET', `/users?q=${encodeURIComponent(email)}`, undefined, admin);
  assert.equal(list.body.items.length, 1, JSON.stringify(list.body));
  const detail = await server.api('GET', `/users/${list.body.items[0].id}`, undefined, admin);
  return detail.body;
}

const rows = () => page.locator('table.users tbody tr[data-user-id]');

test('dates set in the invite dialog and on the profile, and the "Ending this week" filter', async () => {
  await page.goto(`${server.url}/#/access/locks/manage`);
  await page.getByLabel('Email').fill(server.admin.email);
  await page.getByLabel('Password').fill(server.admin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();

  // ---- the invite dialog: start, end, weekly hours ----
  await page.getByRole('button', { name: 'Invite User' }).click();
  const dialog = page.getByRole('dialog', { name: 'Invite User' });
  await dialog.getByLabel('Team Member').check();
  await dialog.getByLabel('Email address', { exact: true }).fill('vendor@example.com');
  await dialog.getByRole('group', { name: 'Cedar Court' }).getByLabel('2B').check();
  const start = await localIn(-1, '08:00');
  const end = await localIn(3, '18:00');
  // An end before the start is caught before anything is sent.
  await dialog.getByLabel('Access starts').fill(end);
  await dialog.getByLabel('Access ends').fill(start);
  await dialog.getByRole('button', { name: 'Add User' }).click();
  await eventually(async () => {
    assert.equal(await dialog.getByLabel('Access ends').getAttribute('aria-invalid'), 'true');
  });
  assert.match(await dialog.textContent(), /The access end must be after its start/);
  await shot('invite-end-before-start');
  await dialog.getByLabel('Access starts').fill(start);
  await dialog.getByLabel('Access ends').fill(end);
  await dialog.getByLabel('Only during weekly hours').check();
  await dialog.getByLabel('From', { exact: true }).fill('07:30');
  await dialog.getByLabel('To', { exact: true }).fill('16:00');
  await shot('invite-with-dates');
  await dialog.getByRole('button', { name: 'Add User' }).click();
  await dialog.waitFor({ state: 'detached' });

  const vendor = await userByEmail('vendor@example.com');
  const offset = await page.evaluate(() => 0 - new Date().getTimezoneOffset());
  assert.ok(offset === -360 || offset === -300, `Chicago is UTC-6 or UTC-5: ${offset}`);
  assert.equal(vendor.period.starts_at.slice(0, 16), (await isoOf(start)).slice(0, 16));
  assert.equal(vendor.period.ends_at.slice(0, 16), (await isoOf(end)).slice(0, 16));
  assert.deepEqual(vendor.period.weekly_hours, {
    days: 0b0011111, from_minute: 7 * 60 + 30, to_minute: 16 * 60, utc_offset_minutes: offset,
  });

  // ---- the table shows the end; "Ending this week" keeps only that user ----
  await eventually(async () => assert.equal(await rows().count(), 3)); // with the administrator
  const vendorRow = page.locator(`tr[data-user-id="${vendor.id}"]`);
  assert.notEqual((await vendorRow.locator('td.access-ends time').count()), 0, 'the end shows in the table');
  await page.getByLabel('Access ends').selectOption('week');
  await eventually(async () => {
    const texts = await rows().allTextContents();
    assert.equal(texts.length, 1, texts.join(' | '));
    assert.ok(texts[0].includes('vendor@example.com'), texts[0]);
  });
  assert.match(page.url(), /ending=week/);
  await shot('ending-this-week');

  // ---- the profile: a later end, saved on its own ----
  await vendorRow.getByRole('link').click();
  await page.getByRole('heading', { name: 'Access dates', level: 2 }).waitFor();
  const form = page.locator('form', { has: page.getByRole('heading', { name: 'Access dates', level: 2 }) });
  assert.equal(await form.getByLabel('Access ends').inputValue(), end, 'the stored end, in local time');
  assert.equal(await form.getByLabel('Only during weekly hours').isChecked(), true);
  const later = await localIn(20, '12:00');
  await form.getByLabel('Access ends').fill(later);
  await form.getByLabel('Only during weekly hours').uncheck();
  await form.getByRole('button', { name: 'Save access dates' }).click();
  await eventually(async () => {
    const v = await userByEmail('vendor@example.com');
    assert.equal(v.period.ends_at.slice(0, 16), (await isoOf(later)).slice(0, 16));
    assert.equal(v.period.weekly_hours, null);
  });
  await eventually(async () => {
    assert.match(await page.locator('#access-period').textContent(), /Until/);
  });
  await shot('profile-dates-saved');

  // No longer ending this week.
  await page.goto(`${server.url}/#/access/locks/manage?ending=week`);
  await eventually(async () => {
    assert.match(await page.locator('table.users tbody').textContent(), /No users match these filters/);
  });
  assert.deepEqual(errors, []);
});

// Access -> Locks: every lock with mode and battery; a lock's page with its codes and their
// sync state, its offline codes (offline.js), its log with keypad guessing marked, and the
// actions the user's permissions allow (rights.js).

import { ApiError, get, getAll, patch, post, put, query } from './api.js';
import {
  h, uid, time, badge, breadcrumb, messageBox, busy, toast, confirmDialog, errorFor, fieldError,
  clearFieldErrors, MODES, SYNC_STATE, mount,
} from './dom.js';
import { offlineCodesSection, isOfflineCode, guessing, logDetail } from './offline.js';
import { holds } from './rights.js';

const KINDS = { permanent: 'Permanent', window: 'Time window', one_time: 'One-time (first use within 24 h)' };
const METHODS = { ble: 'Bluetooth (app)', keypad: 'Keypad', master_code: 'Master code', admin: 'Admin action' };

const battery = (b) => (b === null || b === undefined
  ? h('span', { class: 'muted' }, 'Unknown')
  : h('span', { class: b <= LOW_BATTERY ? 'battery low' : 'battery' }, `${b}%`, b <= LOW_BATTERY ? ' (low)' : ''));

/** The server's `LOW_BATTERY_PERCENT`. */
const LOW_BATTERY = 20;

/** Whether the lock holds what the platform wants, in words. */
function doorText(door) {
  if (door instanceof Error) return h('span', { class: 'muted' }, `Unknown (${door.message})`);
  if (door.in_step) return badge('in-step', 'In step');
  const waiting = door.pending_codes > 0
    ? `${door.pending_codes} code${door.pending_codes === 1 ? '' : 's'} waiting`
    : 'Changes waiting';
  return h('span', {}, badge('waiting', waiting), ' until a phone reaches the lock');
}

function lastContact(door) {
  if (door instanceof Error || !door.last_contact_at) return h('span', { class: 'muted' }, 'Never');
  return h('span', {}, time(door.last_contact_at, true), door.last_contact_app ? ` by ${door.last_contact_app}` : '');
}

export async function renderList(ctx) {
  const locks = await getAll('/locks');
  if (!ctx.current()) return;
  mount(ctx.main,
    breadcrumb([['Access', '#/access'], ['Locks']]),
    h('div', { class: 'page-head' },
      h('h1', {}, 'Locks'),
      h('a', { class: 'btn primary', href: '#/access/locks/manage' }, 'Manage Access')),
    locks.length === 0
      ? h('p', {}, 'No locks yet. ', h('a', { href: '#/access/properties' }, 'Add properties, units and locks'), '.')
      : h('div', { class: 'table-wrap' }, h('table', { class: 'data' },
        h('caption', {}, `${locks.length} lock${locks.length === 1 ? '' : 's'}`),
        h('thead', {}, h('tr', {}, ['Lock', 'Property', 'Unit', 'Mode', 'Battery', 'Paired']
          .map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, locks.map((l) => h('tr', {},
          h('th', { scope: 'row' }, h('a', { href: `#/access/locks/${encodeURIComponent(l.id)}` }, l.name)),
          h('td', {}, l.property_name),
          h('td', {}, l.unit_name),
          h('td', {}, badge(`mode-${l.mode}`, MODES[l.mode] || l.mode)),
          h('td', {}, battery(l.battery)),
          h('td', {}, l.paired ? 'Yes' : 'Not yet paired on site')))))),
  );
}

async function loadCodes(id, lock) {
  if (Array.isArray(lock.access_codes)) return lock.access_codes;
  const page = await get(`/locks/${encodeURIComponent(id)}/access-codes`);
  return page.items || [];
}

export async function renderLock(ctx) {
  const [id] = ctx.params;
  const path = `/locks/${encodeURIComponent(id)}`;
  const lock = await get(path);
  // Only what the user's permissions allow is asked for and shown; the server refuses the
  // rest anyway.
  const may = (permission) => holds(ctx.me, permission);
  const [allCodes, logs, offline, door] = await Promise.all([
    may('give_access') ? loadCodes(id, lock).catch((e) => e) : null,
    may('view_logs') ? get(`${path}/logs${query({ limit: 100 })}`).catch((e) => e) : null,
    may('give_access') ? get(`${path}/offline-codes`).then((p) => p.items || [], (e) => e) : null,
    get(`${path}/door`).catch((e) => e),
  ]);
  // Offline codes have their own panel (window, uses, revocation); this list is the BLE ones.
  const codes = allCodes instanceof Error || allCodes === null ? allCodes : allCodes.filter((c) => !isOfflineCode(c));
  if (!ctx.current()) return;
  const reload = () => ctx.navigate(`#/access/locks/${encodeURIComponent(id)}`);
  const box = messageBox();

  const details = h('section', { class: 'panel', 'aria-labelledby': 'lock-info' },
    h('h2', { id: 'lock-info' }, 'Lock'),
    h('dl', { class: 'details' },
      h('dt', {}, 'Property'), h('dd', {}, lock.property_name),
      h('dt', {}, 'Unit'), h('dd', {}, lock.unit_name),
      h('dt', {}, 'Mode'), h('dd', {}, badge(`mode-${lock.mode}`, MODES[lock.mode] || lock.mode)),
      h('dt', {}, 'Battery'), h('dd', {}, battery(lock.battery)),
      h('dt', {}, 'At the door'), h('dd', { dataset: { door: door.in_step ? 'in-step' : 'waiting' } }, doorText(door)),
      h('dt', {}, 'Last contact'), h('dd', {}, lastContact(door)),
      h('dt', {}, 'Firmware'), h('dd', {}, lock.firmware || h('span', { class: 'muted' }, 'Unknown')),
      h('dt', {}, 'Paired'), h('dd', {}, lock.paired ? 'Yes' : 'Not yet paired on site')));

  // Mode.
  const modeId = uid('mode');
  const modeSel = h('select', { id: modeId, name: 'mode' },
    Object.entries(MODES).map(([v, l]) => h('option', { value: v, selected: v === lock.mode }, l)));
  const modeBtn = h('button', { type: 'submit', class: 'btn' }, 'Change mode');
  const modeForm = h('form', { class: 'inline-form' },
    h('div', { class: 'field' }, h('label', { for: modeId }, 'Lock mode'), modeSel), modeBtn);
  modeForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (modeSel.value === lock.mode) { box.ok(`The lock is already in ${MODES[lock.mode]} mode.`); return; }
    try {
      await busy(modeBtn, () => put(`${path}/mode`, { mode: modeSel.value }));
    } catch (e) { box.error(`Mode not changed: ${e.message}`); return; }
    toast(`Mode changed to ${MODES[modeSel.value]}.`);
    reload();
  });

  // Rename.
  const nameId = uid('lock-name');
  const nameInput = h('input', { id: nameId, type: 'text', name: 'name', value: lock.name, maxlength: '200' });
  const nameErr = errorFor(nameInput);
  const renameBtn = h('button', { type: 'submit', class: 'btn' }, 'Rename');
  const renameForm = h('form', { class: 'inline-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: nameId }, 'Lock name'), nameInput, nameErr), renameBtn);
  renameForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(renameForm);
    const name = nameInput.value.trim();
    if (!name) { fieldError(nameInput, nameErr, 'Enter a name.'); nameInput.focus(); return; }
    try {
      await busy(renameBtn, () => patch(path, { name }));
    } catch (e) { fieldError(nameInput, nameErr, `Not renamed: ${e.message}`); return; }
    toast(`Lock renamed to "${name}".`);
    reload();
  });

  // Master code, shown on request only.
  const masterOut = h('output', { class: 'code', 'aria-live': 'polite' });
  const masterBtn = h('button', { type: 'button', class: 'btn' }, 'Show master code');
  masterBtn.addEventListener('click', async () => {
    try {
      const res = await busy(masterBtn, () => get(`${path}/master-code`));
      masterOut.textContent = `Master code: ${res.code}`;
    } catch (e) { box.error(`Master code not shown: ${e.message}`); }
  });

  // Reset codes, after a confirmation.
  const resetBtn = h('button', { type: 'button', class: 'btn danger' }, 'Reset codes');
  resetBtn.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: `Reset the codes of ${lock.name}?`,
      body: 'Every access code on this lock is replaced; the new codes are installed the next time a phone reaches the lock.',
      confirm: 'Reset codes',
      danger: true,
    });
    if (!ok) return;
    try {
      await busy(resetBtn, () => post(`${path}/reset-codes`));
    } catch (e) { box.error(`Codes not reset: ${e.message}`); return; }
    toast('Codes reset.');
    reload();
  });

  const allowedActions = [
    may('change_modes') ? modeForm : null,
    may('rename_locks') ? renameForm : null,
    may('view_master_code') ? h('div', { class: 'inline-form' }, masterBtn, masterOut) : null,
    may('reset_codes') ? h('div', { class: 'inline-form' }, resetBtn) : null,
  ].filter(Boolean);
  const actions = allowedActions.length === 0 ? null : h('section', { class: 'panel', 'aria-labelledby': 'lock-actions' },
    h('h2', { id: 'lock-actions' }, 'Actions'),
    ...allowedActions);

  // Codes with their sync state, and giving a new one.
  const codesSection = codes === null ? null : h('section', { class: 'panel', 'aria-labelledby': 'codes-title' },
    h('h2', { id: 'codes-title' }, 'Access codes'),
    codes instanceof Error
      ? h('p', { class: 'message error' }, `The codes could not be loaded: ${codes.message}`)
      : codes.length === 0
        ? h('p', { class: 'muted' }, 'No access codes on this lock.')
        : h('table', { class: 'data' },
          h('thead', {}, h('tr', {}, ['Label', 'Kind', 'Code', 'Valid', 'Sync state', 'Action']
            .map((c) => h('th', { scope: 'col' }, c)))),
          h('tbody', {}, codes.map((c) => h('tr', { class: c.revoked_at ? 'is-revoked' : null, dataset: { codeId: c.id } },
            h('th', { scope: 'row' }, c.label || h('span', { class: 'muted' }, 'Unlabelled')),
            h('td', {}, KINDS[c.kind] || c.kind),
            h('td', { class: 'code' }, c.code),
            h('td', {}, c.starts_at || c.ends_at ? [time(c.starts_at, true), ' – ', time(c.ends_at, true)] : 'Always'),
            h('td', {}, c.revoked_at
              ? [badge('revoked', 'Revoked'), h('span', { class: 'muted' }, ' (leaves the lock the next time a phone reaches it)')]
              : [badge(`sync-${c.sync_state}`, SYNC_STATE[c.sync_state] || c.sync_state),
                c.failure_reason ? h('span', { class: 'muted' }, ` (${c.failure_reason})`) : null]),
            h('td', {}, c.revoked_at ? h('span', { class: 'muted' }, '—') : revokeButton(c)))))),
    giveAccessForm(path, box, reload));

  // One code revoked alone: the lock's next door update no longer holds it.
  function revokeButton(c) {
    const label = c.label || 'Unlabelled code';
    const button = h('button', { type: 'button', class: 'btn danger small', 'aria-label': `Revoke ${label}` }, 'Revoke');
    button.addEventListener('click', async () => {
      const ok = await confirmDialog({
        title: `Revoke the code "${label}"?`,
        body: 'Only this code stops working: it leaves the lock the next time a phone reaches it (a resident\'s '
          + 'or a team member\'s); until then the lock still opens with it. Other codes stay.',
        confirm: 'Revoke code',
        danger: true,
      });
      if (!ok) return;
      try {
        await busy(button, () => post(`${path}/access-codes/${encodeURIComponent(c.id)}/revoke`));
      } catch (e) {
        box.error(`The code was not revoked: ${e.message}`);
        return;
      }
      toast(`"${label}" is revoked; it leaves the lock the next time a phone reaches it.`);
      reload();
    });
    return button;
  }

  const logSection = logs === null ? null : logPanel(logs);

  mount(ctx.main,
    breadcrumb([['Access', '#/access'], ['Locks', '#/access/locks'], [lock.name]]),
    h('h1', {}, lock.name),
    box.el,
    details,
    actions,
    codesSection,
    offline === null ? null : offlineCodesSection({ path, lock, me: ctx.me, codes: offline }),
    logSection,
  );
}

function giveAccessForm(path, box, reload) {
  const kindId = uid('kind');
  const labelId = uid('code-label');
  const startId = uid('starts');
  const endId = uid('ends');
  const kind = h('select', { id: kindId, name: 'kind' },
    Object.entries(KINDS).map(([v, l]) => h('option', { value: v }, l)));
  const label = h('input', { id: labelId, name: 'label', type: 'text', maxlength: '200' });
  const starts = h('input', { id: startId, name: 'starts_at', type: 'datetime-local' });
  const ends = h('input', { id: endId, name: 'ends_at', type: 'datetime-local' });
  const endsErr = errorFor(ends);
  const windowFields = h('div', { class: 'inline', hidden: true },
    h('div', { class: 'field' }, h('label', { for: startId }, 'Starts'), starts),
    h('div', { class: 'field' }, h('label', { for: endId }, 'Ends'), ends, endsErr));
  kind.addEventListener('change', () => { windowFields.hidden = kind.value !== 'window'; });
  const submit = h('button', { type: 'submit', class: 'btn' }, 'Give access code');
  const form = h('form', { class: 'give-access', novalidate: true },
    h('h3', {}, 'Give access'),
    h('div', { class: 'inline' },
      h('div', { class: 'field' }, h('label', { for: kindId }, 'Kind of code'), kind),
      h('div', { class: 'field' }, h('label', { for: labelId }, 'For whom (label)'), label)),
    windowFields,
    submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    const body = { kind: kind.value, label: label.value.trim() || null };
    if (kind.value === 'window') {
      const s = starts.value ? new Date(starts.value) : null;
      const e = ends.value ? new Date(ends.value) : null;
      if (!s || !e || e <= s) {
        fieldError(ends, endsErr, 'A time-window code needs a start and an end after it.');
        ends.focus();
        return;
      }
      body.starts_at = s.toISOString();
      body.ends_at = e.toISOString();
    }
    try {
      await busy(submit, () => post(`${path}/access-codes`, body));
    } catch (e) {
      box.error(`No code was given: ${e instanceof ApiError ? e.message : e}`);
      return;
    }
    toast('Access code created; it is installed the next time a phone reaches the lock.');
    reload();
  });
  return form;
}

/** The lock's log, with keypad guessing (wrong codes, lockouts) marked and filterable. */
function logPanel(logs) {
  const section = h('section', { class: 'panel', 'aria-labelledby': 'log-title' }, h('h2', { id: 'log-title' }, 'Access log'));
  if (logs instanceof Error) {
    section.append(h('p', { class: 'message error' }, `The log could not be loaded: ${logs.message}`));
    return section;
  }
  const items = logs.items || [];
  if (items.length === 0) {
    section.append(h('p', { class: 'muted' }, 'Nothing logged yet.'));
    return section;
  }
  const marked = items.map((e) => [e, guessing(e)]);
  const wrong = marked.filter(([, g]) => g && g.kind === 'wrong').length;
  const lockouts = marked.filter(([, g]) => g && g.kind === 'lockout').length;
  const rows = marked.map(([e, g]) => h('tr', { class: g ? `guess guess-${g.kind}` : null },
    h('td', {}, time(e.at, true)),
    h('td', {}, g ? [badge(g.kind === 'lockout' ? 'lockout' : 'wrong', g.text), ' '] : null,
      e.action.replace(/_/g, ' '), e.detail ? h('span', { class: 'muted' }, ` — ${logDetail(e)}`) : null),
    h('td', {}, e.user_name || e.code_label || h('span', { class: 'muted' }, 'Unknown')),
    h('td', {}, METHODS[e.method] || e.method),
    h('td', {}, e.source === 'lock' ? `Lock (#${e.lock_seq ?? '?'})` : 'Platform')));
  if (wrong + lockouts > 0) {
    const onlyId = uid('only-guessing');
    const only = h('input', { type: 'checkbox', id: onlyId });
    const shown = h('p', { class: 'visually-hidden', 'aria-live': 'polite' });
    only.addEventListener('change', () => {
      marked.forEach(([, g], i) => { rows[i].hidden = only.checked && !g; });
      shown.textContent = only.checked ? `Showing ${wrong + lockouts} keypad guessing entries.` : `Showing all ${items.length} entries.`;
    });
    section.append(
      h('div', { class: 'message warn guessing-summary', role: 'note' },
        h('p', {}, h('strong', {}, 'Keypad guessing: '),
          `${wrong} wrong code${wrong === 1 ? '' : 's'} and ${lockouts} lockout${lockouts === 1 ? '' : 's'} `
          + `in the last ${items.length} entries. After 5 wrong entries in a row the keypad locks for 1 minute, `
          + 'doubling up to 1 hour per entry.')),
      h('div', { class: 'checks-inline' }, only, h('label', { for: onlyId }, 'Show only keypad guessing')),
      shown);
  }
  section.append(h('table', { class: 'data' },
    h('thead', {}, h('tr', {}, ['When', 'What', 'Who', 'How', 'Source'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows)));
  return section;
}

// Offline codes on a lock's page: the 14-digit codes the lock checks by itself,
// with their windows, uses and revocations; giving one (shown once); revoking one, with the
// honest worst case; and the keypad guessing the lock logs. See docs/offline-codes.md.

import { ApiError, get, post } from './api.js';
import {
  h, uid, time, badge, busy, hideToast, confirmDialog, errorFor, fieldError, clearFieldErrors,
  displayName, formatDateTime, messageBox, mount,
} from './dom.js';

export const CLASSES = {
  guest: 'Guest (vendors, visitors): opens in Vacant and Maintenance mode',
  tour: 'Tour: opens in Tour mode only',
};
const CLASS_SHORT = { guest: 'Guest', tour: 'Tour' };
const KINDS = { window: 'Time window', one_time: 'One-time' };

/** The worst case of a revocation, as docs/offline-codes.md states it. */
export const WORST_CASE = 'The lock is offline: it refuses a revoked code only once a phone that synced '
  + 'after the revocation has been near it (any contact carries the lock\'s signed update). Until then the code keeps '
  + 'opening up to the end of its window plus 5 minutes, at worst 30 days and 5 minutes after it was given. '
  + 'To stop it sooner, send someone with a synced phone to the door, or reset the lock\'s codes on site '
  + '(that voids every offline code of the lock).';

const HOUR_MS = 3_600_000;

/** `12345678901234` -> `1234 5678 9012 34`, for reading aloud or copying by hand. */
export const groupDigits = (code) => String(code).replace(/(\d{4})(?=\d)/g, '$1 ');

/** True for a code the lock checks by itself (14 digits), as opposed to a BLE-installed one. */
export const isOfflineCode = (c) => /^\d{14}$/.test(c.code || '');

/** `YYYY-MM-DDTHH:00` in local time, for a datetime-local input. */
function localInput(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:00`;
}

/** A datetime-local value as a Date on a whole hour (UTC), or an error message. */
function wholeHour(value, what) {
  if (!value) return { error: `Enter when the code ${what}.` };
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return { error: `Enter a valid date and time for when the code ${what}.` };
  if (d.getTime() % HOUR_MS !== 0) return { error: 'Offline codes start and end on a whole hour: set the minutes to 00.' };
  return { date: d };
}

function status(c, now) {
  if (c.revoked_at) return badge('revoked', 'Revoked');
  if (new Date(c.valid_until).getTime() <= now) return badge('expired', 'Window over');
  if (new Date(c.valid_from).getTime() > now) return badge('upcoming', 'Not yet valid');
  return badge('active', 'Valid now');
}

/** Names of the users who issued or revoked codes: the caller, else their user record. */
async function userNames(ids, me) {
  const names = new Map();
  if (me) names.set(me.id, `You (${me.name || me.email})`);
  const missing = [...new Set(ids)].filter((id) => id && !names.has(id));
  const found = await Promise.allSettled(missing.map((id) => get(`/users/${encodeURIComponent(id)}`)));
  found.forEach((r, i) => {
    names.set(missing[i], r.status === 'fulfilled' ? displayName(r.value) : 'Another user');
  });
  return names;
}

/**
 * The "Offline codes" panel of a lock page. `codes` is the first answer of
 * `GET {path}/offline-codes` (or an Error); the panel refreshes itself after giving or
 * revoking, so a newly given code stays on screen.
 */
export function offlineCodesSection({ path, lock, me, codes }) {
  const box = messageBox();
  const worstId = uid('worst-case');
  const tableHolder = h('div', {});
  const section = h('section', { class: 'panel offline-codes', 'aria-labelledby': 'offline-title' },
    h('h2', { id: 'offline-title' }, 'Offline codes'),
    h('p', { class: 'hint' },
      '14-digit codes the lock checks by itself, for a window of whole hours (up to 30 days), with 5 minutes of clock '
      + 'tolerance at each end. Nothing has to reach the lock first.'),
    box.el,
    tableHolder,
    h('div', { class: 'message warn', id: worstId },
      h('p', {}, h('strong', {}, 'Revoking: the worst case. '), WORST_CASE)),
    giveOfflineForm({ path, lock, box, refresh: () => refresh() }));

  async function render(list) {
    if (list instanceof Error) {
      mount(tableHolder, h('p', { class: 'message error', role: 'alert' }, `The offline codes could not be loaded: ${list.message}`));
      return;
    }
    if (list.length === 0) {
      mount(tableHolder, h('p', { class: 'muted' }, 'No offline codes on this lock.'));
      return;
    }
    const names = await userNames(list.flatMap((c) => [c.created_by, c.revoked_by]), me);
    const now = Date.now();
    const sorted = [...list].sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
    mount(tableHolder, h('div', { class: 'table-wrap' }, h('table', { class: 'data offline' },
      h('caption', {}, `${list.length} offline code${list.length === 1 ? '' : 's'}`),
      h('thead', {}, h('tr', {}, ['Label', 'Class', 'Kind', 'Window', 'Uses', 'Status', 'Given by', 'Action']
        .map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, sorted.map((c) => {
        const label = c.label || 'Unlabelled code';
        let action = null;
        if (!c.revoked_at && new Date(c.valid_until).getTime() > now) {
          action = h('button', {
            type: 'button', class: 'btn danger small', 'aria-label': `Revoke ${label}`, 'aria-describedby': worstId,
          }, 'Revoke');
          action.addEventListener('click', () => revoke(c, label, action));
        }
        return h('tr', { class: c.revoked_at ? 'is-revoked' : null, dataset: { codeId: c.id } },
          h('th', { scope: 'row' }, c.label || h('span', { class: 'muted' }, 'Unlabelled')),
          h('td', {}, CLASS_SHORT[c.class] || c.class),
          h('td', {}, KINDS[c.kind] || c.kind),
          h('td', { class: 'window' }, time(c.starts_at, true), ' – ', time(c.ends_at, true)),
          h('td', {}, String(c.uses ?? 0),
            c.last_used_at ? h('span', { class: 'muted' }, ' (last ', time(c.last_used_at, true), ')') : null),
          h('td', {}, status(c, now),
            c.revoked_at
              ? h('span', { class: 'muted revoked-by' }, ' ', time(c.revoked_at, true), ' by ', names.get(c.revoked_by) || 'Unknown')
              : null),
          h('td', {}, names.get(c.created_by) || 'Unknown'),
          h('td', {}, action || h('span', { class: 'muted' }, '—')));
      })))));
  }

  async function refresh() {
    const list = await get(`${path}/offline-codes`).then((p) => p.items || [], (e) => e);
    await render(list);
  }

  async function revoke(c, label, button) {
    const ok = await confirmDialog({
      title: `Revoke the offline code "${label}"?`,
      body: [
        `It is valid ${formatDateTime(c.starts_at)} to ${formatDateTime(c.ends_at)}.`,
        WORST_CASE,
      ],
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
    await refresh();
    const message = `"${label}" is revoked. The lock refuses it once a staff phone has been near it; until then it works up to the end of its window.`;
    box.ok(message);
    section.querySelector('h2').setAttribute('tabindex', '-1');
    section.querySelector('h2').focus();
  }

  render(codes);
  return section;
}

function giveOfflineForm({ path, lock, box, refresh }) {
  const ids = {
    kind: uid('off-kind'), cls: uid('off-class'), label: uid('off-label'), start: uid('off-start'), end: uid('off-end'),
  };
  const kind = h('select', { id: ids.kind, name: 'kind' },
    h('option', { value: 'window' }, 'Time window'),
    h('option', { value: 'one_time' }, 'One-time (void after first use)'));
  const defaultClass = lock.mode === 'tour' ? 'tour' : 'guest';
  const cls = h('select', { id: ids.cls, name: 'class' },
    Object.entries(CLASSES).map(([v, l]) => h('option', { value: v, selected: v === defaultClass }, l)));
  const label = h('input', { id: ids.label, name: 'label', type: 'text', maxlength: '100', autocomplete: 'off' });
  const labelErr = errorFor(label);
  const next = new Date(Math.ceil(Date.now() / HOUR_MS) * HOUR_MS);
  const starts = h('input', { id: ids.start, name: 'starts_at', type: 'datetime-local', step: '3600', value: localInput(next) });
  const ends = h('input', {
    id: ids.end, name: 'ends_at', type: 'datetime-local', step: '3600', value: localInput(new Date(next.getTime() + 2 * HOUR_MS)),
  });
  const startsErr = errorFor(starts);
  const endsErr = errorFor(ends);
  const windowHint = h('p', { class: 'hint', id: uid('hint') }, 'Whole hours only; 1 hour to 30 days.');
  starts.setAttribute('aria-describedby', `${windowHint.id} ${starts.getAttribute('aria-describedby')}`);
  ends.setAttribute('aria-describedby', `${windowHint.id} ${ends.getAttribute('aria-describedby')}`);
  const oneTimeHint = h('p', { class: 'hint', hidden: true }, 'A one-time code is valid from this hour for 24 hours and is void after its first use.');
  const windowFields = h('div', {},
    h('div', { class: 'inline' },
      h('div', { class: 'field' }, h('label', { for: ids.start }, 'Valid from'), starts, startsErr),
      h('div', { class: 'field' }, h('label', { for: ids.end }, 'Valid until'), ends, endsErr)),
    windowHint);
  kind.addEventListener('change', () => {
    windowFields.hidden = kind.value !== 'window';
    oneTimeHint.hidden = kind.value === 'window';
  });
  const issued = h('div', { class: 'issued', 'aria-live': 'polite', 'aria-atomic': 'true' });
  const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Give offline code');
  const headId = uid('give-offline');
  const form = h('form', { class: 'give-offline', novalidate: true, 'aria-labelledby': headId },
    h('h3', { id: headId }, 'Give offline code'),
    h('div', { class: 'inline' },
      h('div', { class: 'field' }, h('label', { for: ids.kind }, 'Offline code kind'), kind),
      h('div', { class: 'field' }, h('label', { for: ids.cls }, 'Who it is for (class)'), cls),
      h('div', { class: 'field' }, h('label', { for: ids.label }, 'Offline code label'), label, labelErr)),
    windowFields, oneTimeHint,
    submit,
    issued);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    box.clear();
    hideToast();
    issued.replaceChildren();
    const body = { delivery: 'offline', kind: kind.value, class: cls.value, label: label.value.trim() || null };
    if (body.label === null) {
      fieldError(label, labelErr, 'Enter a label, e.g. who the code is for, so the log can name it.');
      label.focus();
      return;
    }
    if (kind.value === 'window') {
      const s = wholeHour(starts.value, 'starts');
      const e = wholeHour(ends.value, 'ends');
      let bad = null;
      if (s.error) { fieldError(starts, startsErr, s.error); bad = bad || starts; }
      if (e.error) { fieldError(ends, endsErr, e.error); bad = bad || ends; }
      if (!bad && e.date <= s.date) { fieldError(ends, endsErr, 'The window must end after it starts.'); bad = ends; }
      if (!bad && e.date - s.date > 30 * 24 * HOUR_MS) { fieldError(ends, endsErr, 'The window lasts at most 30 days.'); bad = ends; }
      if (bad) { bad.focus(); return; }
      body.starts_at = s.date.toISOString().replace('.000Z', 'Z');
      body.ends_at = e.date.toISOString().replace('.000Z', 'Z');
    }
    let code;
    try {
      code = await busy(submit, () => post(`${path}/access-codes`, body));
    } catch (e) {
      box.error(`No offline code was given: ${e instanceof ApiError ? e.message : e}`);
      return;
    }
    await refresh();
    showIssued(issued, code);
    label.value = '';
  });
  return form;
}

/** The new code, once: grouped for reading, copied as bare digits. */
function showIssued(holder, c) {
  const copy = h('button', { type: 'button', class: 'btn' }, 'Copy code');
  const copied = h('span', { class: 'muted', role: 'status' });
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(c.code);
      copied.textContent = 'Copied.';
    } catch {
      copied.textContent = 'Copying is not allowed here: select the code and copy it.';
    }
  });
  const label = c.label || 'the new code';
  mount(holder, h('div', { class: 'message ok issued-code' },
    h('p', {}, `Offline code for "${label}": `,
      h('strong', { class: 'code big', dataset: { code: c.code } }, groupDigits(c.code))),
    h('p', {}, `${CLASS_SHORT[c.class] || c.class} code, valid ${formatDateTime(c.starts_at)} `
      + `to ${formatDateTime(c.ends_at)} (the lock allows 5 minutes either side). `
      + 'It is shown only now: give it to the visitor or write it down before leaving this page.'),
    h('p', {}, copy, ' ', copied)));
}

/** A lockout's detail `until <unix seconds>` as a date, other details as they are. */
export function logDetail(entry) {
  const m = /^until (\d{9,11})\b(.*)$/.exec(entry.detail || '');
  if (entry.action !== 'keypad_locked_out' || !m) return entry.detail;
  return `keypad refuses input until ${formatDateTime(new Date(Number(m[1]) * 1000).toISOString())}${m[2]}`;
}

/** What a log entry says about keypad guessing: null, or { kind, text } for a badge. */
export function guessing(entry) {
  if (entry.action === 'keypad_locked_out') return { kind: 'lockout', text: 'Keypad lockout' };
  if (entry.action === 'keypad_refused' && /wrong/i.test(entry.detail || '')) return { kind: 'wrong', text: 'Wrong code' };
  return null;
}

// The "Invite User" dialog: user type, recipient (existing username or new email), the
// permissions the manager may grant, access type with the unit picker, and "Add User".

import { ApiError, get, getAll, post, query } from './api.js';
import {
  h, uid, messageBox, errorFor, fieldError, clearFieldErrors, busy, toast, displayName,
} from './dom.js';
import { PERMISSIONS, APP_BY_USER_TYPE } from './domain.js';
import { unitPicker } from './units.js';
import { holds } from './rights.js';
import { periodFields } from './period.js';

const EMAIL_RE = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;

/** Whether `s` looks like an email address a mail server would take. */
export const isEmail = (s) => EMAIL_RE.test(s);

/**
 * The permission checkboxes, each labelled and described as the article does. Those the
 * signed-in manager (`me`) does not hold are shown but cannot be changed: nobody grants
 * more than they hold.
 */
export function permissionChecks(selected = [], me = null) {
  const checks = PERMISSIONS.map((p) => {
    const id = uid(`perm-${p.name}`);
    const descId = `${id}-desc`;
    const box = h('input', {
      type: 'checkbox', id, name: 'permissions', value: p.name,
      checked: selected.includes(p.name), 'aria-describedby': descId,
      disabled: me !== null && !holds(me, p.name),
    });
    return h('li', {}, box,
      h('div', {}, h('label', { for: id }, p.label), h('p', { class: 'hint', id: descId }, p.description)));
  });
  const el = h('ul', { class: 'checks permissions' }, checks);
  return {
    el,
    values: () => [...el.querySelectorAll('input:checked')].map((i) => i.value),
  };
}

/** Opens the dialog; `onInvited(message)` runs after the server accepted the invitation. */
export async function openInvite({ me, onInvited }) {
  const back = document.activeElement;
  const properties = await getAll('/properties');
  const box = messageBox();
  const titleId = uid('invite-title');

  // User type.
  const typeRadios = [['team_member', 'Team Member'], ['resident', 'Resident']].map(([value, label]) => {
    const id = uid('type');
    return h('div', { class: 'radio' },
      h('input', { type: 'radio', name: 'user_type', id, value, checked: value === 'team_member' }),
      h('label', { for: id }, label));
  });
  const appNote = h('p', { class: 'hint', 'aria-live': 'polite' });

  // Recipient.
  const recipientRadios = [['email', 'New email address'], ['username', 'Existing user (search by username)']].map(([value, label]) => {
    const id = uid('recipient');
    return h('div', { class: 'radio' },
      h('input', { type: 'radio', name: 'recipient_kind', id, value, checked: value === 'email' }),
      h('label', { for: id }, label));
  });
  const emailId = uid('invite-email');
  const email = h('input', { id: emailId, type: 'email', name: 'email', autocomplete: 'off', placeholder: 'name@example.com' });
  const emailErr = errorFor(email);
  const emailField = h('div', { class: 'field' }, h('label', { for: emailId }, 'Email address'), email, emailErr);
  const phoneId = uid('invite-phone');
  const phone = h('input', { id: phoneId, type: 'tel', name: 'phone', autocomplete: 'off', placeholder: '+15551234567' });
  const phoneErr = errorFor(phone);
  const phoneField = h('div', { class: 'field' },
    h('label', { for: phoneId }, 'Their mobile phone (optional)'), phone,
    h('p', { class: 'hint' }, 'When given, only this phone can complete the registration, so a forwarded link is of no use to anyone else.'),
    phoneErr);
  const usernameId = uid('invite-username');
  const listId = uid('usernames');
  const username = h('input', { id: usernameId, type: 'text', name: 'username', list: listId, autocomplete: 'off', placeholder: 'Start typing a username' });
  const usernameErr = errorFor(username);
  const datalist = h('datalist', { id: listId });
  const usernameField = h('div', { class: 'field', hidden: true },
    h('label', { for: usernameId }, 'Username'), username, datalist, usernameErr);
  let searchTimer;
  username.addEventListener('input', () => {
    clearTimeout(searchTimer);
    const term = username.value.trim();
    const lower = term.toLowerCase();
    if (term.length < 2) return;
    searchTimer = setTimeout(async () => {
      try {
        const page = await get(`/users${query({ q: term, limit: 10 })}`);
        datalist.replaceChildren(...page.items.filter((u) => u.username && u.username.toLowerCase().includes(lower))
          .map((u) => h('option', { value: u.username }, displayName(u))));
      } catch {
        // Suggestions are a convenience; the invitation itself reports any problem.
      }
    }, 250);
  });

  // Permissions (team members only).
  const perms = permissionChecks([], me);
  const permsSet = h('fieldset', { class: 'group' },
    h('legend', {}, 'Permissions'),
    h('p', { class: 'hint' }, 'They apply both on the platform and in the mobile app. Select only what this person\'s role needs.'),
    perms.el);

  // Access type.
  const accessRadios = [
    ['units', 'Selected units only', 'For in-house vendors, maintenance staff and leasing agents of specific buildings.'],
    ['all_locks', 'All locks', 'Every lock of the organization: administrators, operations leads, system managers.'],
  ].map(([value, label, hint]) => {
    const id = uid('access');
    return h('div', { class: 'radio' },
      h('input', { type: 'radio', name: 'access_type', id, value, checked: value === 'units', 'aria-describedby': `${id}-hint` }),
      h('div', {}, h('label', { for: id }, label), h('p', { class: 'hint', id: `${id}-hint` }, hint)));
  });
  const picker = unitPicker({ properties, legend: 'Units' });
  const accessSet = h('fieldset', { class: 'group' }, h('legend', {}, 'Access type'), accessRadios, picker.el);
  const period = periodFields();

  const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Add User');
  const cancel = h('button', { type: 'button', class: 'btn' }, 'Cancel');
  const form = h('form', { novalidate: true, class: 'invite' },
    h('div', { class: 'dialog-head' }, h('h2', { id: titleId }, 'Invite User')),
    box.el,
    h('fieldset', { class: 'group' }, h('legend', {}, 'User type'), h('div', { class: 'inline' }, typeRadios), appNote),
    h('fieldset', { class: 'group' }, h('legend', {}, 'Recipient'), h('div', { class: 'inline' }, recipientRadios), emailField, usernameField, phoneField),
    permsSet,
    accessSet,
    period.el,
    h('div', { class: 'actions' }, cancel, submit));
  const dialog = h('dialog', { class: 'invite-dialog', 'aria-labelledby': titleId }, form);

  const value = (name) => form.querySelector(`input[name="${name}"]:checked`).value;
  const sync = () => {
    const type = value('user_type');
    const resident = type === 'resident';
    appNote.textContent = `The ${APP_BY_USER_TYPE[type]} app invitation is sent automatically.`;
    permsSet.hidden = resident;
    // Residents get access to their own unit(s) only, and a manager of some units gives
    // access to those units only.
    const allLocks = form.querySelector('input[name="access_type"][value="all_locks"]');
    allLocks.disabled = resident || me?.access?.type !== 'all_locks';
    if (resident) form.querySelector('input[name="access_type"][value="units"]').checked = true;
    picker.el.hidden = value('access_type') !== 'units';
    const byEmail = value('recipient_kind') === 'email';
    emailField.hidden = !byEmail;
    usernameField.hidden = byEmail;
  };
  form.addEventListener('change', sync);
  sync();

  cancel.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (back && back.focus) back.focus();
  });

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    box.clear();
    const type = value('user_type');
    const byEmail = value('recipient_kind') === 'email';
    const access = value('access_type');
    const unitIds = picker.selectedIds();
    const errors = [];
    if (byEmail) {
      const v = email.value.trim();
      if (!v) errors.push(fieldError(email, emailErr, 'Add a recipient: enter the email address to invite.'));
      else if (!isEmail(v)) errors.push(fieldError(email, emailErr, `"${v}" is not a valid email address. Use the form name@example.com.`));
    } else if (!username.value.trim()) {
      errors.push(fieldError(username, usernameErr, 'Add a recipient: search for an existing username.'));
    }
    if (access === 'units' && unitIds.length === 0) {
      errors.push(fieldError(picker.groupsEl, picker.error, 'Select at least one unit, or choose "All locks".'));
    }
    const dates = period.read();
    if (dates.errors) errors.push(...dates.errors);
    if (errors.length) {
      box.error('The invitation was not sent:', errors);
      const first = form.querySelector('[aria-invalid]');
      (first.matches('input') ? first : first.querySelector('input') || first).focus();
      return;
    }
    const body = {
      user_type: type,
      permissions: type === 'team_member' ? perms.values() : [],
      access: access === 'units' ? { type: 'units', unit_ids: unitIds } : { type: 'all_locks' },
    };
    if (byEmail) body.email = email.value.trim(); else body.username = username.value.trim();
    if (phone.value.trim()) body.phone = phone.value.trim();
    body.period = dates.period;
    let res;
    try {
      res = await busy(submit, () => post('/invitations', body));
    } catch (e) {
      if (e instanceof ApiError && e.code === 'invalid_phone') {
        box.error('The invitation was not sent:', [fieldError(phone, phoneErr, e.message)]);
        phone.focus();
        return;
      }
      const prefix = e instanceof ApiError && e.status ? 'The server refused the invitation: ' : '';
      box.error(prefix + e.message);
      box.el.setAttribute('tabindex', '-1');
      box.el.focus();
      return;
    }
    const who = byEmail ? body.email : body.username;
    const message = res && res.linked
      ? `Access added to ${who}'s existing account: they sign in to the ${APP_BY_USER_TYPE[type]} app as before.`
      : `Invitation sent to ${who} (${APP_BY_USER_TYPE[type]} app).`;
    dialog.close();
    toast(message);
    onInvited(message);
  });

  document.body.append(dialog);
  dialog.showModal();
  form.querySelector('input[name="user_type"]:checked').focus();
}

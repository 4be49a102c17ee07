// A user's page: information, invitation date, email used at registration, generated
// passcodes, permissions and access (edited, applied on save after a confirmation),
// "Manage Access" -> "Revoke access", "Resend Invite" at the bottom for pending and expired
// invitations, "Reinstate" for revoked users.

import { get, getAll, post, put } from './api.js';
import {
  h, time, formatDateTime, badge, breadcrumb, displayName, messageBox, confirmDialog, busy, toast, uid,
  fieldError, clearFieldErrors, USER_TYPE, STATUS, SYNC_STATE, mount,
} from './dom.js';
import { PERMISSIONS, APP_BY_USER_TYPE } from './domain.js';
import { permissionChecks } from './invite.js';
import { unitPicker } from './units.js';
import { periodFields, periodText } from './period.js';

const LABEL = Object.fromEntries(PERMISSIONS.map((p) => [p.name, p.label]));
const sameSet = (a, b) => a.length === b.length && a.every((x) => b.includes(x));

function row(term, value) {
  return [h('dt', {}, term), h('dd', {}, value ?? h('span', { class: 'muted' }, '—'))];
}

export async function render(ctx) {
  const [id] = ctx.params;
  const [u, properties] = await Promise.all([get(`/users/${encodeURIComponent(id)}`), getAll('/properties')]);
  if (!ctx.current()) return;
  const rerender = () => ctx.navigate(`#/access/users/${encodeURIComponent(id)}`);
  const box = messageBox();
  const unitName = new Map(properties.flatMap((p) => (p.units || []).map((un) => [un.id, `${p.name} · ${un.name}`])));
  const revoked = u.status === 'revoked';
  // Pending, or expired: invited, not registered yet.
  const invited = u.status === 'pending' || u.status === 'expired';

  const info = h('section', { 'aria-labelledby': 'info-title', class: 'panel' },
    h('h2', { id: 'info-title' }, 'User information'),
    h('dl', { class: 'details' },
      row('Name', u.name),
      row('User type', USER_TYPE[u.user_type]),
      row('App', APP_BY_USER_TYPE[u.user_type]),
      row('Status', badge(u.status, STATUS[u.status] || u.status)),
      row('Invited email', u.invited_email),
      row('Username', u.username),
      row('Email used at registration', u.registered_email
        || h('span', { class: 'muted' }, 'Not registered yet')),
      row('Phone', u.phone),
      row('Invitation date', time(u.invited_at, true)),
      row('Access dates', h('span', { id: 'access-period' }, periodText(u.period, formatDateTime) || 'No start, end or hours')),
      invited ? row(u.status === 'expired' ? 'Invitation expired' : 'Invitation expires',
        h('span', { id: 'invitation-expires' }, time(u.invitation_expires_at, true))) : null));

  const passcodes = h('section', { 'aria-labelledby': 'codes-title', class: 'panel' },
    h('h2', { id: 'codes-title' }, 'Generated passcodes'),
    (u.passcodes || []).length === 0
      ? h('p', { class: 'muted' }, invited
        ? 'Passcodes are generated when the user completes registration.'
        : 'No passcodes: no locks are in this user\'s access.')
      : h('table', { class: 'data' },
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, 'Lock'), h('th', { scope: 'col' }, 'Passcode'), h('th', { scope: 'col' }, 'Sync state'),
          h('th', { scope: 'col' }, 'Action'))),
        h('tbody', {}, u.passcodes.map((c) => h('tr', {},
          h('th', { scope: 'row' }, h('a', { href: `#/access/locks/${encodeURIComponent(c.lock_id)}` }, c.lock_name)),
          h('td', { class: 'code' }, c.code),
          h('td', {}, badge(`sync-${c.sync_state}`, SYNC_STATE[c.sync_state] || c.sync_state),
            c.failure_reason ? h('span', { class: 'muted' }, ` (${c.failure_reason})`) : null),
          h('td', {}, renewButton(c)))))));

  // One passcode replaced alone (say it was seen): the old one leaves the lock at the next
  // contact, the new one is installed then.
  function renewButton(c) {
    const button = h('button', { type: 'button', class: 'btn small', 'aria-label': `Renew the passcode on ${c.lock_name}` }, 'Renew');
    button.addEventListener('click', async () => {
      const ok = await confirmDialog({
        title: `Renew the passcode on ${c.lock_name}?`,
        body: 'A new passcode replaces this one: the old one stops opening the next time a phone reaches the lock, and the new one works from then. The other passcodes stay.',
        confirm: 'Renew passcode',
      });
      if (!ok) return;
      try {
        await busy(button, () => post(`/users/${encodeURIComponent(id)}/passcodes/${encodeURIComponent(c.lock_id)}/renew`));
      } catch (e) { box.error(`The passcode was not renewed: ${e.message}`); return; }
      toast(`The passcode on ${c.lock_name} is renewed; the new one works once a phone reaches the lock.`);
      rerender();
    });
    return button;
  }

  // Permissions and access, edited together and applied on save after a confirmation.
  const teamMember = u.user_type === 'team_member';
  const perms = permissionChecks(u.permissions || [], ctx.me);
  if (revoked) perms.el.querySelectorAll('input').forEach((i) => { i.disabled = true; });
  const currentAccess = u.access?.type || 'units';
  const currentUnits = u.access?.type === 'units' ? u.access.unit_ids : [];
  const accessRadios = [['units', 'Selected units only'], ['all_locks', 'All locks']].map(([value, label]) => {
    const rid = uid('access');
    return h('div', { class: 'radio' },
      h('input', {
        type: 'radio', name: 'access_type', id: rid, value, checked: value === currentAccess,
        disabled: revoked || (value === 'all_locks' && (!teamMember || ctx.me.access?.type !== 'all_locks')),
      }),
      h('label', { for: rid }, label));
  });
  const picker = unitPicker({ properties, selected: currentUnits, legend: 'Units' });
  const save = h('button', { type: 'submit', class: 'btn primary', disabled: revoked }, 'Save changes');
  const editBox = messageBox();
  const form = h('form', { class: 'panel', novalidate: true, 'aria-labelledby': 'perm-title' },
    h('h2', { id: 'perm-title' }, teamMember ? 'App permissions and access' : 'Access'),
    editBox.el,
    teamMember ? h('fieldset', { class: 'group' }, h('legend', {}, 'App permissions'), perms.el) : null,
    h('fieldset', { class: 'group' }, h('legend', {}, 'Access type'), h('div', { class: 'inline' }, accessRadios), picker.el),
    revoked ? h('p', { class: 'muted' }, 'Access was revoked; this user can no longer be edited.') : null,
    h('div', { class: 'actions' }, save));
  const accessValue = () => form.querySelector('input[name="access_type"]:checked').value;
  const syncPicker = () => { picker.el.hidden = accessValue() !== 'units'; };
  form.addEventListener('change', syncPicker);
  syncPicker();

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    editBox.clear();
    const newPerms = teamMember ? perms.values() : u.permissions || [];
    const newAccessType = accessValue();
    const newUnits = picker.selectedIds();
    if (newAccessType === 'units' && newUnits.length === 0) {
      editBox.error('Nothing was saved:', [fieldError(picker.groupsEl, picker.error, 'Select at least one unit, or choose "All locks".')]);
      picker.el.querySelector('input[type=checkbox]')?.focus();
      return;
    }
    const permsChanged = teamMember && !sameSet(newPerms, u.permissions || []);
    const accessChanged = newAccessType !== currentAccess || (newAccessType === 'units' && !sameSet(newUnits, currentUnits));
    if (!permsChanged && !accessChanged) {
      editBox.ok('No changes to save.');
      return;
    }
    const changes = [];
    if (permsChanged) {
      const added = newPerms.filter((p) => !(u.permissions || []).includes(p));
      const removed = (u.permissions || []).filter((p) => !newPerms.includes(p));
      added.forEach((p) => changes.push(`Grant: ${LABEL[p]}`));
      removed.forEach((p) => changes.push(`Remove: ${LABEL[p]}`));
    }
    if (accessChanged) {
      changes.push(newAccessType === 'all_locks'
        ? 'Access: all locks'
        : `Access: selected units (${newUnits.map((x) => unitName.get(x) || x).join(', ')})`);
    }
    const ok = await confirmDialog({
      title: `Apply changes for ${displayName(u)}?`,
      body: [h('ul', {}, changes.map((c) => h('li', {}, c))), 'Changes apply immediately, on the platform and in the app.'],
      confirm: 'Apply changes',
    });
    if (!ok) return;
    try {
      await busy(save, async () => {
        if (permsChanged) await put(`/users/${encodeURIComponent(id)}/permissions`, { permissions: newPerms });
        if (accessChanged) {
          await put(`/users/${encodeURIComponent(id)}/access`, newAccessType === 'units'
            ? { type: 'units', unit_ids: newUnits } : { type: 'all_locks' });
        }
      });
    } catch (e) {
      editBox.error(`The server refused the change: ${e.message}`);
      return;
    }
    toast(`Changes saved for ${displayName(u)}. They apply immediately.`);
    rerender();
  });

  // Access dates: start, end and weekly hours, saved on their own.
  const period = periodFields(u.period || {}, { disabled: revoked, legend: 'Start, end and weekly hours' });
  const savePeriod = h('button', { type: 'submit', class: 'btn primary', id: 'save-period', disabled: revoked }, 'Save access dates');
  const periodBox = messageBox();
  const periodForm = h('form', { class: 'panel', novalidate: true, 'aria-labelledby': 'period-title' },
    h('h2', { id: 'period-title' }, 'Access dates'),
    periodBox.el,
    period.el,
    h('div', { class: 'actions' }, savePeriod));
  periodForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(periodForm);
    periodBox.clear();
    const read = period.read();
    if (read.errors) {
      periodBox.error('Nothing was saved:', read.errors);
      return;
    }
    try {
      await busy(savePeriod, () => put(`/users/${encodeURIComponent(id)}/period`, { period: read.period }));
    } catch (e) {
      periodBox.error(`The server refused the change: ${e.message}`);
      return;
    }
    toast(`Access dates saved for ${displayName(u)}. They apply immediately.`);
    rerender();
  });

  // Manage Access -> Revoke access, behind a disclosure and a confirm step.
  const revokeBtn = h('button', { type: 'button', class: 'btn danger', id: 'revoke-access' }, 'Revoke access');
  const manageRegion = h('div', { id: 'manage-access-actions', hidden: true },
    h('p', {}, 'Revoking immediately removes this user\'s lock access and signs them out of the app.'),
    revokeBtn);
  const manageBtn = h('button', {
    type: 'button', class: 'btn', 'aria-expanded': 'false', 'aria-controls': 'manage-access-actions',
  }, 'Manage Access');
  manageBtn.addEventListener('click', () => {
    const open = manageRegion.hidden;
    manageRegion.hidden = !open;
    manageBtn.setAttribute('aria-expanded', String(open));
    if (open) revokeBtn.focus();
  });
  revokeBtn.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: `Revoke access for ${displayName(u)}?`,
      body: 'This immediately removes their lock access. Their sessions end and their passcodes stop working.',
      confirm: 'Revoke access',
      danger: true,
    });
    if (!ok) return;
    try {
      await busy(revokeBtn, () => post(`/users/${encodeURIComponent(id)}/revoke`));
    } catch (e) {
      box.error(`The server refused to revoke access: ${e.message}`);
      return;
    }
    toast(`Access revoked for ${displayName(u)}.`);
    rerender();
  });
  const manage = revoked ? null : h('section', { class: 'panel', 'aria-labelledby': 'manage-title' },
    h('h2', { id: 'manage-title', class: 'visually-hidden' }, 'Manage access'), manageBtn, manageRegion);

  // Pending and expired invitations: "Resend Invite" at the bottom of the page.
  let resend = null;
  if (invited) {
    const resendBtn = h('button', { type: 'button', class: 'btn primary', id: 'resend-invite' }, 'Resend Invite');
    const resendBox = messageBox();
    resendBtn.addEventListener('click', async () => {
      resendBox.clear();
      let res;
      try {
        res = await busy(resendBtn, () => post(`/users/${encodeURIComponent(id)}/resend-invite`));
      } catch (e) {
        resendBox.error(`The server refused to resend the invitation: ${e.message}`);
        return;
      }
      const to = u.invited_email || u.username;
      let until = ' The previous link no longer works.';
      if (res && res.expires_at) {
        until = ` The new link is valid until ${formatDateTime(res.expires_at)}; the previous link no longer works.`;
        document.getElementById('invitation-expires')?.replaceChildren(time(res.expires_at, true));
      }
      if (u.status === 'expired') {
        // Revived: pending again, with its new expiry and status.
        toast(`Invitation sent again to ${to}.${until}`);
        rerender();
        return;
      }
      resendBox.ok(`Invitation sent again to ${to}.${until}`);
    });
    resend = h('section', { class: 'panel resend', 'aria-labelledby': 'resend-title' },
      h('h2', { id: 'resend-title' }, u.status === 'expired' ? 'Expired invitation' : 'Pending invitation'),
      h('p', {}, u.status === 'expired'
        ? 'The invitation expired before the user registered. Resend it: a fresh link goes out and the invitation is pending again.'
        : 'The user has not accepted the invitation yet. Resend it if the email was deleted, the invite expired, or it never arrived.'),
      resendBox.el,
      resendBtn);
  }

  // Revoked users: "Reinstate" sends them a new invitation (same user, history kept).
  let reinstate = null;
  if (revoked) {
    const reinstateBtn = h('button', { type: 'button', class: 'btn primary', id: 'reinstate-user' }, 'Reinstate');
    const reinstateBox = messageBox();
    reinstateBtn.addEventListener('click', async () => {
      const ok = await confirmDialog({
        title: `Reinstate ${displayName(u)}?`,
        body: 'A new invitation goes to their email. They register again in the app (their old password does not come back); their history stays.',
        confirm: 'Send invitation',
      });
      if (!ok) return;
      try {
        await busy(reinstateBtn, () => post(`/users/${encodeURIComponent(id)}/reinstate`));
      } catch (e) {
        reinstateBox.error(`The server refused to reinstate this user: ${e.message}`);
        return;
      }
      toast(`${displayName(u)} is invited again; they are pending until they register.`);
      rerender();
    });
    reinstate = h('section', { class: 'panel', 'aria-labelledby': 'reinstate-title' },
      h('h2', { id: 'reinstate-title' }, 'Revoked access'),
      h('p', {}, 'This user\'s access was revoked. Reinstating sends them a new invitation with the permissions and access shown above.'),
      reinstateBox.el,
      reinstateBtn);
  }

  mount(ctx.main,
    breadcrumb([['Access', '#/access'], ['Locks', '#/access/locks'], ['Manage Access', '#/access/locks/manage'], [displayName(u)]]),
    h('div', { class: 'page-head' },
      h('h1', {}, displayName(u)),
      h('span', { class: 'head-badges' }, badge('type', USER_TYPE[u.user_type]), ' ', badge(u.status, STATUS[u.status]))),
    box.el,
    info,
    passcodes,
    form,
    periodForm,
    manage,
    resend,
    reinstate,
  );
}

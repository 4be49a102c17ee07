// Small DOM helpers. Text always goes in through textContent, never innerHTML, so names
// with HTML metacharacters show as typed.

/**
 * Creates an element: h('a', {href: '#/x', class: 'btn'}, 'text', child, [more]).
 * Attributes starting with `on` are listeners; `false`/`null` attributes are left out.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'checked' || k === 'value' || k === 'disabled' || k === 'selected') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

let ids = 0;
/** A fresh id for label/aria wiring. */
export const uid = (prefix = 'id') => `${prefix}-${++ids}`;

/** Shows a short message in the polite live region (bottom of the page). */
export function toast(message) {
  const el = document.getElementById('toast');
  el.textContent = '';
  // A new text node after clearing makes screen readers announce repeats too.
  clearTimeout(toast.showTimer);
  toast.showTimer = setTimeout(() => {
    el.textContent = message;
    el.classList.add('visible');
  }, 30);
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => el.classList.remove('visible'), 6000);
}

/** Hides the toast at once. */
export function hideToast() {
  clearTimeout(toast.timer);
  clearTimeout(toast.showTimer);
  document.getElementById('toast').classList.remove('visible');
}

/** A message box inside a view: role=alert for errors, role=status for news. */
export function messageBox() {
  const el = h('div', { class: 'message', hidden: true });
  return {
    el,
    error(text, items = []) {
      el.hidden = false;
      el.className = 'message error';
      el.setAttribute('role', 'alert');
      mount(el, h('p', {}, text), items.length ? h('ul', {}, items.map((i) => h('li', {}, i))) : null);
    },
    ok(text) {
      el.hidden = false;
      el.className = 'message ok';
      el.setAttribute('role', 'status');
      el.replaceChildren(h('p', {}, text));
    },
    clear() { el.hidden = true; el.replaceChildren(); },
  };
}

/**
 * Asks a yes/no question in a modal dialog; resolves true on confirm. Escape or Cancel
 * resolves false. Focus returns to the element that had it.
 */
export function confirmDialog({ title, body, confirm, danger = false }) {
  return new Promise((resolve) => {
    const back = document.activeElement;
    const titleId = uid('confirm-title');
    const okBtn = h('button', { type: 'submit', value: 'ok', class: danger ? 'btn danger' : 'btn primary' }, confirm);
    const dialog = h('dialog', { class: 'confirm', 'aria-labelledby': titleId },
      h('form', { method: 'dialog' },
        h('h2', { id: titleId }, title),
        (Array.isArray(body) ? body : [body]).map((b) => (b instanceof Node ? b : h('p', {}, b))),
        h('div', { class: 'actions' },
          h('button', { type: 'submit', value: 'cancel', class: 'btn' }, 'Cancel'),
          okBtn)));
    dialog.addEventListener('close', () => {
      dialog.remove();
      if (back && back.focus) back.focus();
      resolve(dialog.returnValue === 'ok');
    });
    document.body.append(dialog);
    dialog.showModal();
    okBtn.focus();
  });
}

const dateFmt = new Intl.DateTimeFormat('en-US', { year: 'numeric', month: 'short', day: 'numeric' });
const dateTimeFmt = new Intl.DateTimeFormat('en-US', {
  year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit',
});

/** "Dec 5, 2026, 4:01 PM" for an RFC 3339 string. */
export const formatDateTime = (iso) => dateTimeFmt.format(new Date(iso));

/** A <time> element for an RFC 3339 string; a dash when missing. */
export function time(iso, withTime = false) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return h('span', {}, iso);
  return h('time', { datetime: iso, title: d.toISOString() }, (withTime ? dateTimeFmt : dateFmt).format(d));
}

export const USER_TYPE = { team_member: 'Team Member', resident: 'Resident' };
export const STATUS = { pending: 'Pending', expired: 'Expired', active: 'Active', revoked: 'Revoked' };
export const ACCESS_TYPE = { units: 'Selected units', all_locks: 'All locks' };
export const SYNC_STATE = { pending: 'Waiting to be installed', installed: 'Installed', failed: 'Failed' };
export const MODES = { vacant: 'Vacant', tour: 'Tour', resident: 'Resident', maintenance: 'Maintenance' };

/** A coloured status pill with text (colour is never the only signal). */
export const badge = (kind, text) => h('span', { class: `badge badge-${kind}` }, text);

/** The name to show for a user row: name, else username, else invited email. */
export const displayName = (u) => u.name || u.username || u.invited_email || 'Unnamed user';

/** Marks a field invalid and links its message; returns the message for the summary. */
export function fieldError(input, errorEl, message) {
  input.setAttribute('aria-invalid', 'true');
  errorEl.textContent = message;
  errorEl.hidden = false;
  return message;
}

/** Clears every field error inside `root`. */
export function clearFieldErrors(root) {
  root.querySelectorAll('[aria-invalid]').forEach((el) => el.removeAttribute('aria-invalid'));
  root.querySelectorAll('.field-error').forEach((el) => { el.hidden = true; el.textContent = ''; });
}

/** An empty field error element wired to an input with aria-describedby. */
export function errorFor(input) {
  const el = h('p', { class: 'field-error', id: uid('err'), hidden: true });
  const prev = input.getAttribute('aria-describedby');
  input.setAttribute('aria-describedby', prev ? `${prev} ${el.id}` : el.id);
  return el;
}

/** Breadcrumb navigation: [['Access', '#/access'], ['Locks', '#/access/locks'], ['Manage Access']]. */
export function breadcrumb(items) {
  return h('nav', { 'aria-label': 'Breadcrumb', class: 'breadcrumb' },
    h('ol', {}, items.map(([label, href], i) => h('li', {},
      href && i < items.length - 1 ? h('a', { href }, label) : h('span', { 'aria-current': 'page' }, label)))));
}

/** Puts a submit button into a busy state while `work` runs. */
export async function busy(button, work) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

/** Replaces the children of `root`, flattening arrays and leaving out null/false. */
export function mount(root, ...children) {
  const flat = children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false);
  root.replaceChildren(...flat);
}

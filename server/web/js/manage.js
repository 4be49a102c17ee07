// Access -> Locks -> Manage Access: the four counters and the users table, with filters,
// search, sorting and cursor pagination done by the server (thousands of users).

import { get, query } from './api.js';
import {
  h, uid, time, badge, breadcrumb, displayName, messageBox, USER_TYPE, STATUS, ACCESS_TYPE, mount,
} from './dom.js';
import { openInvite } from './invite.js';

const COUNTERS = [
  ['total_users', 'Total Users', {}],
  ['team_members', 'Team Members', { type: 'team_member' }],
  ['residents', 'Residents', { type: 'resident' }],
  ['pending_invites', 'Pending Invites', { status: 'pending' }],
  ['expired_invites', 'Expired Invites', { status: 'expired' }],
];

/** Sortable columns: [API sort key, heading]. */
const COLUMNS = [
  ['name', 'Name'],
  [null, 'Username'],
  ['type', 'Type'],
  ['status', 'Status'],
  ['access_type', 'Access type'],
  ['email', 'Email used'],
  ['invited_at', 'Invitation date'],
];

const PAGE_SIZES = [25, 50, 100];

/** Refreshes the counters on the page, if shown. Called after every change. */
export async function refreshSummary() {
  const list = document.getElementById('counters');
  if (!list) return;
  const s = await get('/access/summary');
  for (const [key] of COUNTERS) {
    const el = list.querySelector(`[data-counter="${key}"] .count`);
    if (el) el.textContent = String(s[key] ?? 0);
  }
}

/** Reads the table state from the route's query. */
function stateFrom(q) {
  const order = q.get('order') === 'asc' ? 'asc' : 'desc';
  const sort = q.get('sort') && COLUMNS.some(([k]) => k === q.get('sort')) ? q.get('sort') : 'invited_at';
  const limit = PAGE_SIZES.includes(Number(q.get('limit'))) ? Number(q.get('limit')) : PAGE_SIZES[0];
  return {
    type: USER_TYPE[q.get('type')] ? q.get('type') : '',
    status: STATUS[q.get('status')] ? q.get('status') : '',
    q: q.get('q') || '',
    ending: q.get('ending') === 'week' ? 'week' : '',
    sort,
    order,
    limit,
    cursor: q.get('cursor') || '',
    page: Math.max(1, Number(q.get('page')) || 1),
    prev: q.get('prev') || '',
  };
}

const hashFor = (st) => `#/access/locks/manage${query({
  type: st.type, status: st.status, ending: st.ending, q: st.q, sort: st.sort, order: st.order,
  limit: st.limit === PAGE_SIZES[0] ? '' : st.limit, cursor: st.cursor,
  page: st.page > 1 ? st.page : '', prev: st.prev,
})}`;

/** The control that caused the last re-render, to give focus back to it. */
let refocus = null;

export async function render(ctx) {
  const st = stateFrom(ctx.query);
  const go = (changes) => {
    refocus = document.activeElement && document.activeElement.id ? document.activeElement.name : null;
    ctx.navigate(hashFor({ ...st, cursor: '', page: 1, prev: '', ...changes }));
  };

  const [summary, page] = await Promise.all([
    get('/access/summary'),
    get(`/users${query({
      type: st.type, status: st.status, ending: st.ending, q: st.q, sort: st.sort, order: st.order,
      limit: st.limit, after: st.cursor,
    })}`),
  ]);
  if (!ctx.current()) return;

  const box = messageBox();
  const inviteBtn = h('button', { type: 'button', class: 'btn primary', id: 'invite-user' }, 'Invite User');
  inviteBtn.addEventListener('click', () => openInvite({
    me: ctx.me,
    onInvited: (message) => {
      refreshSummary().catch(() => {});
      ctx.navigate(hashFor({ ...st, cursor: '', page: 1, prev: '' }));
      box.ok(message);
    },
  }));

  const counters = h('ul', { class: 'counters', id: 'counters', 'aria-label': 'Summary' },
    COUNTERS.map(([key, label, filter]) => h('li', { dataset: { counter: key } },
      h('a', { href: hashFor({ ...stateFrom(new URLSearchParams()), ...filter }) },
        h('span', { class: 'count' }, String(summary[key] ?? 0)),
        h('span', { class: 'label' }, label)))));

  // Filters: a search form; selects apply at once, the search box after a short pause.
  const qId = uid('q');
  const typeId = uid('type');
  const statusId = uid('status');
  const sizeId = uid('size');
  const endingId = uid('ending');
  const search = h('input', { id: qId, type: 'search', name: 'q', value: st.q, placeholder: 'Name, username or email', autocomplete: 'off' });
  const typeSel = h('select', { id: typeId, name: 'type' },
    h('option', { value: '' }, 'All types'),
    Object.entries(USER_TYPE).map(([v, l]) => h('option', { value: v, selected: v === st.type }, `${l}s`)));
  const statusSel = h('select', { id: statusId, name: 'status' },
    h('option', { value: '' }, 'All statuses'),
    Object.entries(STATUS).map(([v, l]) => h('option', { value: v, selected: v === st.status }, l)));
  const endingSel = h('select', { id: endingId, name: 'ending' },
    h('option', { value: '' }, 'Any end date'),
    h('option', { value: 'week', selected: st.ending === 'week' }, 'Ending this week'));
  const sizeSel = h('select', { id: sizeId, name: 'limit' },
    PAGE_SIZES.map((n) => h('option', { value: String(n), selected: n === st.limit }, String(n))));
  const filters = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter users' },
    h('div', { class: 'field' }, h('label', { for: qId }, 'Search by name, username or email'), search),
    h('div', { class: 'field' }, h('label', { for: typeId }, 'Type'), typeSel),
    h('div', { class: 'field' }, h('label', { for: statusId }, 'Status'), statusSel),
    h('div', { class: 'field' }, h('label', { for: endingId }, 'Access ends'), endingSel),
    h('div', { class: 'field' }, h('label', { for: sizeId }, 'Rows per page'), sizeSel));
  // Every filter change carries all the controls' current values: a second change made
  // before the re-render of the first must not undo it with this view's older state.
  const filterValues = () => ({
    type: typeSel.value, status: statusSel.value, ending: endingSel.value, limit: Number(sizeSel.value), q: search.value.trim(),
  });
  filters.addEventListener('submit', (ev) => { ev.preventDefault(); go(filterValues()); });
  typeSel.addEventListener('change', () => go(filterValues()));
  statusSel.addEventListener('change', () => go(filterValues()));
  endingSel.addEventListener('change', () => go(filterValues()));
  sizeSel.addEventListener('change', () => go(filterValues()));
  let timer;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => go(filterValues()), 350);
  });

  const filtered = st.type || st.status || st.ending || st.q;
  const captionText = filtered ? 'Users matching the filters' : 'All invited users';
  const table = h('table', { class: 'data users' },
    h('caption', {}, captionText, typeof page.total === 'number' ? ` (${page.total})` : ''),
    h('thead', {}, h('tr', {}, COLUMNS.map(([key, label]) => {
      if (!key) return h('th', { scope: 'col' }, label);
      const active = st.sort === key;
      const nextOrder = active && st.order === 'asc' ? 'desc' : 'asc';
      return h('th', { scope: 'col', 'aria-sort': active ? (st.order === 'asc' ? 'ascending' : 'descending') : null },
        h('button', {
          type: 'button',
          class: 'sort', name: `sort-${key}`,
          onclick: () => go({ sort: key, order: nextOrder, q: search.value.trim() }),
        }, label, h('span', { class: 'sort-mark', 'aria-hidden': 'true' }, active ? (st.order === 'asc' ? ' ▲' : ' ▼') : ' ↕'),
        h('span', { class: 'visually-hidden' }, active ? '' : ', sortable')));
    }), h('th', { scope: 'col' }, 'Access ends'))),
    h('tbody', {}, page.items.length === 0
      ? h('tr', {}, h('td', { colspan: COLUMNS.length + 1, class: 'empty' },
        filtered ? 'No users match these filters.' : 'No users yet. Click "Invite User" to add the first one.'))
      : page.items.map((u) => h('tr', { dataset: { userId: u.id } },
        h('th', { scope: 'row' }, h('a', { href: `#/access/users/${encodeURIComponent(u.id)}` }, displayName(u))),
        h('td', { class: 'username' }, u.username || h('span', { class: 'muted' }, '—')),
        h('td', {}, USER_TYPE[u.user_type] || u.user_type),
        h('td', {}, badge(u.status, STATUS[u.status] || u.status)),
        h('td', {}, ACCESS_TYPE[u.access_type] || u.access_type),
        h('td', {}, u.registered_email || h('span', { class: 'muted' }, 'Not registered yet')),
        h('td', {}, time(u.invited_at)),
        h('td', { class: 'access-ends' }, u.period?.ends_at ? time(u.period.ends_at, true) : h('span', { class: 'muted' }, 'No end'))))));

  // Cursor pagination: "Next" follows the server's cursor; "Previous" pops the cursor
  // chain kept in the route (comma-separated), so back/forward in the browser work too.
  const prevChain = st.prev ? st.prev.split(',') : [];
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pagination' },
    h('button', {
      type: 'button', class: 'btn', disabled: st.page <= 1,
      onclick: () => {
        const chain = prevChain.slice(0, -1);
        const back = prevChain[prevChain.length - 1] || '';
        ctx.navigate(hashFor({ ...st, cursor: back === '-' ? '' : back, page: st.page - 1, prev: chain.join(',') }));
      },
    }, 'Previous'),
    h('span', { 'aria-live': 'polite' }, `Page ${st.page}`),
    h('button', {
      type: 'button', class: 'btn', disabled: !page.next,
      onclick: () => ctx.navigate(hashFor({
        ...st, cursor: page.next, page: st.page + 1, prev: [...prevChain, st.cursor || '-'].join(','),
      })),
    }, 'Next'));

  mount(ctx.main,
    breadcrumb([['Access', '#/access'], ['Locks', '#/access/locks'], ['Manage Access']]),
    h('div', { class: 'page-head' }, h('h1', {}, 'Manage Access'), inviteBtn),
    box.el,
    counters,
    filters,
    h('div', { class: 'table-wrap' }, table),
    pager,
  );
  const again = refocus && ctx.main.querySelector(`[name="${refocus}"]`);
  refocus = null;
  if (again) {
    if (again.type === 'search') again.setSelectionRange(again.value.length, again.value.length);
    return { focus: again };
  }
  return undefined;
}

// Invitees register from their phones and other administrators work too: refresh the
// counters when the tab comes back and every 30 s while it is shown.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') refreshSummary().catch(() => {});
});
setInterval(() => {
  if (document.visibilityState === 'visible') refreshSummary().catch(() => {});
}, 30_000);

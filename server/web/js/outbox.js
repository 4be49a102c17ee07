// The outbox: the mail and SMS the server sent or would send, newest first.

import { get, query } from './api.js';
import { h, time, breadcrumb, badge, mount } from './dom.js';

/** What happened to a message, in words. */
function deliveryText(m) {
  switch (m.delivery) {
    case 'sent': return 'Sent';
    case 'queued': return 'Sending';
    case 'outbox_only': return 'Not sent: read it here';
    case 'failed': return `Delivery failed${m.delivery_error ? `: ${m.delivery_error}` : ''}`;
    case 'refused': return `Not sent: ${m.delivery_error || 'refused'}`;
    default: return m.delivery || '';
  }
}

export async function render(ctx) {
  const cursor = ctx.query.get('cursor') || '';
  const page = await get(`/outbox${query({ limit: 50, after: cursor })}`);
  if (!ctx.current()) return;
  const items = page.items || [];
  mount(ctx.main,
    breadcrumb([['Access', '#/access'], ['Outbox']]),
    h('h1', {}, 'Outbox'),
    h('p', { class: 'hint' }, 'Invitations and SMS codes, newest first. Without an SMTP server or SMS gateway configured, this is where they land; with one, the links and codes they carried are not kept here.'),
    items.length === 0
      ? h('p', { class: 'muted' }, 'Nothing has been sent yet.')
      : h('ol', { class: 'outbox' }, items.map((m) => {
        const headingId = `msg-${m.id}`;
        return h('li', {},
          h('article', { class: 'panel message-card', 'aria-labelledby': headingId, dataset: { channel: m.channel } },
            h('header', {},
              badge(m.channel, m.channel === 'sms' ? 'SMS' : 'Email'),
              h('h2', { id: headingId }, m.subject || (m.channel === 'sms' ? `SMS to ${m.to}` : '(no subject)')),
              h('p', { class: 'meta' }, 'To ', h('strong', {}, m.to), ' · ', time(m.created_at, true),
                ' · ', h('span', { class: 'delivery', dataset: { delivery: m.delivery } }, deliveryText(m)))),
            h('pre', { class: 'body' }, m.body)));
      })),
    h('nav', { class: 'pager', 'aria-label': 'Pagination' },
      cursor ? h('a', { class: 'btn', href: '#/access/outbox' }, 'Newest') : null,
      page.next ? h('a', { class: 'btn', href: `#/access/outbox${query({ cursor: page.next })}` }, 'Older') : null),
  );
}

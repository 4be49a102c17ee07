// Access dates: the start and end of a user's access (move-in and move-out, a vendor's
// contract) and optional weekly hours, as the invite dialog and the user's page edit them.
// Weekly hours are sent with this browser's UTC offset; they do not follow daylight saving
// time (see server/README.md, "Access with dates").

import { h, uid, errorFor, fieldError } from './dom.js';

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

const pad = (n) => String(n).padStart(2, '0');

/** An RFC 3339 time as a `datetime-local` value in this browser's time zone. */
function localInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

const minutes = (hhmm) => {
  const [hh, mm] = hhmm.split(':').map(Number);
  return hh * 60 + mm;
};
const hhmm = (m) => (m >= 1440 ? '24:00' : `${pad(Math.floor(m / 60))}:${pad(m % 60)}`);

/** "Mon-Fri 08:00-17:00" from the API's weekly hours. */
export function hoursText(w) {
  if (!w) return '';
  const days = DAYS.filter((_, i) => w.days & (1 << i));
  const off = w.utc_offset_minutes;
  const zone = off === 0 - new Date().getTimezoneOffset() ? ''
    : ` (UTC${off < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)})`;
  return `${days.join(', ')} ${hhmm(w.from_minute)}-${hhmm(w.to_minute)}${zone}`;
}

/** One line for a period: "From ... · Until ... · Mon, Tue 08:00-17:00", or "". */
export function periodText(p, format) {
  if (!p) return '';
  const parts = [];
  if (p.starts_at) parts.push(`From ${format(p.starts_at)}`);
  if (p.ends_at) parts.push(`Until ${format(p.ends_at)}`);
  if (p.weekly_hours) parts.push(hoursText(p.weekly_hours));
  return parts.join(' · ');
}

/**
 * The fields of an access period, filled from `initial` (the API's period). `read()` checks
 * them and answers `{ period }` or `{ errors }` (each error already shown by its field).
 */
export function periodFields(initial = {}, { disabled = false, legend = 'Access dates' } = {}) {
  const startId = uid('access-start');
  const endId = uid('access-end');
  const start = h('input', { id: startId, name: 'access_starts_at', type: 'datetime-local', value: localInput(initial.starts_at), disabled });
  const end = h('input', { id: endId, name: 'access_ends_at', type: 'datetime-local', value: localInput(initial.ends_at), disabled });
  const startErr = errorFor(start);
  const endErr = errorFor(end);
  const w = initial.weekly_hours;
  const hoursId = uid('access-hours');
  const hoursOn = h('input', { id: hoursId, type: 'checkbox', name: 'weekly_hours', checked: !!w, disabled });
  const dayBoxes = DAYS.map((d, i) => {
    const id = uid(`day-${d}`);
    return h('span', { class: 'radio' },
      h('input', { id, type: 'checkbox', name: 'hours_day', value: String(i), checked: w ? !!(w.days & (1 << i)) : i < 5, disabled }),
      h('label', { for: id }, d));
  });
  const fromId = uid('hours-from');
  const toId = uid('hours-to');
  const from = h('input', { id: fromId, type: 'time', name: 'hours_from', value: w ? hhmm(w.from_minute) : '08:00', disabled });
  const to = h('input', { id: toId, type: 'time', name: 'hours_to', value: w && w.to_minute < 1440 ? hhmm(w.to_minute) : '17:00', disabled });
  const hoursErr = errorFor(from);
  const daysWrap = h('div', { class: 'inline', role: 'group', 'aria-label': 'Days of the week' }, dayBoxes);
  const hoursDetail = h('div', { class: 'hours' },
    daysWrap,
    h('div', { class: 'inline' },
      h('div', { class: 'field' }, h('label', { for: fromId }, 'From'), from),
      h('div', { class: 'field' }, h('label', { for: toId }, 'To'), to)),
    h('p', { class: 'hint' }, 'In this browser\'s time zone; the hours do not move with daylight saving time.'),
    hoursErr);
  const sync = () => { hoursDetail.hidden = !hoursOn.checked; };
  hoursOn.addEventListener('change', sync);
  sync();
  const el = h('fieldset', { class: 'group period' },
    h('legend', {}, legend),
    h('p', { class: 'hint' }, 'Optional: when the access starts and ends (move-in and move-out, a contract). Outside them the apps, the credentials and the passcodes stop working on their own.'),
    h('div', { class: 'inline' },
      h('div', { class: 'field' }, h('label', { for: startId }, 'Access starts'), start, startErr),
      h('div', { class: 'field' }, h('label', { for: endId }, 'Access ends'), end, endErr)),
    h('div', { class: 'radio' }, hoursOn, h('label', { for: hoursId }, 'Only during weekly hours')),
    hoursDetail);

  function read() {
    const errors = [];
    const period = { starts_at: null, ends_at: null, weekly_hours: null };
    if (start.value) period.starts_at = new Date(start.value).toISOString();
    if (end.value) period.ends_at = new Date(end.value).toISOString();
    if (period.starts_at && period.ends_at && new Date(period.ends_at) <= new Date(period.starts_at)) {
      errors.push(fieldError(end, endErr, 'The access end must be after its start.'));
    }
    if (hoursOn.checked) {
      const days = dayBoxes.reduce((acc, b) => {
        const box = b.querySelector('input');
        return box.checked ? acc | (1 << Number(box.value)) : acc;
      }, 0);
      const fromM = from.value ? minutes(from.value) : NaN;
      // "00:00" as the end means midnight at the end of the day.
      const toM = to.value ? (minutes(to.value) || 1440) : NaN;
      if (!days) errors.push(fieldError(from, hoursErr, 'Choose at least one day for the weekly hours.'));
      else if (!(fromM < toM)) errors.push(fieldError(from, hoursErr, 'The weekly hours must end after they start, within one day.'));
      period.weekly_hours = {
        days, from_minute: fromM, to_minute: toM, utc_offset_minutes: 0 - new Date().getTimezoneOffset(),
      };
    }
    return errors.length ? { errors } : { period };
  }
  return { el, read };
}

// Properties and units: create a property, its units, and the locks in each unit.

import { getAll, post } from './api.js';
import {
  h, uid, breadcrumb, messageBox, busy, toast, errorFor, fieldError, clearFieldErrors, mount,
} from './dom.js';

/** A one-field "name" form: label, input, button; `onSubmit(name)` may throw ApiError. */
function nameForm({ label, button, onSubmit, extra = null, className = 'inline-form' }) {
  const id = uid('name');
  const input = h('input', { id, type: 'text', name: 'name', autocomplete: 'off', maxlength: '200' });
  const err = errorFor(input);
  const submit = h('button', { type: 'submit', class: 'btn' }, button);
  const form = h('form', { class: className, novalidate: true },
    extra,
    h('div', { class: 'field' }, h('label', { for: id }, label), input, err),
    submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    const name = input.value.trim();
    if (!name) {
      fieldError(input, err, 'Enter a name.');
      input.focus();
      return;
    }
    try {
      await busy(submit, () => onSubmit(name, form));
    } catch (e) {
      fieldError(input, err, `Not saved: ${e.message}`);
      input.focus();
    }
  });
  return form;
}

export async function render(ctx) {
  const [properties, locks] = await Promise.all([getAll('/properties'), getAll('/locks')]);
  if (!ctx.current()) return;
  const box = messageBox();
  const reload = () => ctx.navigate('#/access/properties');
  const locksByUnit = new Map();
  for (const l of locks) {
    if (!locksByUnit.has(l.unit_id)) locksByUnit.set(l.unit_id, []);
    locksByUnit.get(l.unit_id).push(l);
  }

  const newProperty = nameForm({
    label: 'Property name',
    button: 'Create property',
    onSubmit: async (name) => {
      await post('/properties', { name });
      toast(`Property "${name}" created.`);
      reload();
    },
  });

  const sections = properties.map((p) => {
    const headingId = uid('property');
    const unitRows = (p.units || []).map((un) => h('li', {},
      h('span', { class: 'unit-name' }, un.name),
      ' ',
      (locksByUnit.get(un.id) || []).length
        ? h('span', { class: 'muted' }, ' — locks: ', (locksByUnit.get(un.id) || []).flatMap((l, i) => [
          i ? ', ' : '', h('a', { href: `#/access/locks/${encodeURIComponent(l.id)}` }, l.name)]))
        : h('span', { class: 'muted' }, ' — no lock yet')));
    const addUnit = nameForm({
      label: `New unit in ${p.name}`,
      button: 'Add unit',
      onSubmit: async (name) => {
        await post(`/properties/${encodeURIComponent(p.id)}/units`, { name });
        toast(`Unit "${name}" added to ${p.name}.`);
        reload();
      },
    });
    let addLock = null;
    if ((p.units || []).length) {
      const unitId = uid('lock-unit');
      const unitSel = h('select', { id: unitId, name: 'unit_id' },
        p.units.map((un) => h('option', { value: un.id }, un.name)));
      addLock = nameForm({
        label: 'Lock name',
        button: 'Add lock',
        extra: h('div', { class: 'field' }, h('label', { for: unitId }, `Unit for the new lock in ${p.name}`), unitSel),
        onSubmit: async (name) => {
          await post('/locks', { unit_id: unitSel.value, name });
          toast(`Lock "${name}" added.`);
          reload();
        },
      });
    }
    return h('section', { class: 'panel', 'aria-labelledby': headingId },
      h('h2', { id: headingId }, p.name),
      unitRows.length ? h('ul', { class: 'units' }, unitRows) : h('p', { class: 'muted' }, 'No units yet.'),
      addUnit,
      addLock);
  });

  mount(ctx.main,
    breadcrumb([['Access', '#/access'], ['Properties and units']]),
    h('h1', {}, 'Properties and units'),
    box.el,
    h('section', { class: 'panel', 'aria-labelledby': 'new-property' },
      h('h2', { id: 'new-property' }, 'New property'), newProperty),
    properties.length ? sections : h('p', { class: 'muted' }, 'No properties yet.'),
  );
}

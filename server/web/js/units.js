// The unit picker: checkboxes grouped by property, with a search box.

import { h, uid, errorFor } from './dom.js';

/**
 * Builds the picker. `properties` as GET /properties gives them (each with `units`).
 * Returns { el, selectedIds(), error (field error element), search (input) }.
 */
export function unitPicker({ properties, selected = [], legend = 'Units' }) {
  const chosen = new Set(selected);
  const searchId = uid('unit-search');
  const search = h('input', { id: searchId, type: 'search', autocomplete: 'off', placeholder: 'Property or unit name' });
  const count = h('p', { class: 'muted', 'aria-live': 'polite' });
  const none = h('p', { class: 'muted', hidden: true }, 'No units match the search.');
  const withUnits = properties.filter((p) => (p.units || []).length > 0);

  const updateCount = () => {
    const n = chosen.size;
    count.textContent = n === 1 ? '1 unit selected' : `${n} units selected`;
  };

  const groups = withUnits.map((p) => {
    const boxes = p.units.map((u) => {
      const id = uid('unit');
      const box = h('input', { type: 'checkbox', id, value: u.id, checked: chosen.has(u.id), name: 'unit_ids' });
      box.addEventListener('change', () => {
        if (box.checked) chosen.add(u.id); else chosen.delete(u.id);
        updateCount();
      });
      return h('li', { dataset: { name: `${p.name} ${u.name}`.toLowerCase() } },
        box, h('label', { for: id }, u.name));
    });
    // Whole properties at once: maintenance staff and leasing agents often cover a building.
    const all = h('button', { type: 'button', class: 'btn link select-all', 'aria-label': `Select all units of ${p.name}` }, 'Select all');
    all.addEventListener('click', () => {
      for (const box of boxes.map((li) => li.querySelector('input'))) {
        if (!box.closest('li').hidden && !box.checked) {
          box.checked = true;
          chosen.add(box.value);
        }
      }
      updateCount();
    });
    return h('fieldset', { class: 'unit-group', dataset: { property: p.name.toLowerCase() } },
      h('legend', {}, p.name), all, h('ul', { class: 'checks' }, boxes));
  });

  search.addEventListener('input', () => {
    const term = search.value.trim().toLowerCase();
    let shown = 0;
    for (const g of groups) {
      const propertyHit = g.dataset.property.includes(term);
      let any = false;
      for (const li of g.querySelectorAll('li')) {
        const hit = !term || propertyHit || li.dataset.name.includes(term);
        li.hidden = !hit;
        any = any || hit;
      }
      g.hidden = !any;
      if (any) shown += 1;
    }
    none.hidden = shown > 0;
  });
  // Enter in the search box must not submit the surrounding form.
  search.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') ev.preventDefault(); });

  const groupsEl = h('div', { class: 'unit-groups', tabindex: '-1' }, groups);
  const error = errorFor(groupsEl);
  updateCount();
  const el = h('fieldset', { class: 'unit-picker' },
    h('legend', {}, legend),
    withUnits.length === 0
      ? h('p', {}, 'There are no units yet. ', h('a', { href: '#/access/properties' }, 'Create a property and its units'), ' first.')
      : [h('div', { class: 'field' }, h('label', { for: searchId }, 'Search units'), search), count, error, groupsEl, none]);
  return { el, selectedIds: () => [...chosen], error, groupsEl, search };
}

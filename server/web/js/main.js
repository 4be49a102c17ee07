// The page shell: hash routes, sign-in, the navigation each user's permissions allow, the
// refusal for residents, and error handling shared by every view.

import { ApiError, del, get, post, session } from './api.js';
import { h, hideToast, messageBox, uid, errorFor, fieldError, clearFieldErrors, busy, breadcrumb, mount } from './dom.js';
import * as manage from './manage.js';
import * as user from './user.js';
import * as setup from './setup.js';
import * as locks from './locks.js';
import * as outbox from './outbox.js';
import { managesAccess, managesOrganization, usesDesktop } from './rights.js';

const main = document.getElementById('main');
const state = { me: null, afterSignIn: null, renderSeq: 0, lastPath: null };

const everyone = () => true;

/** [pattern, view, nav key, who may open it]; the first match wins. */
const ROUTES = [
  [/^\/access\/locks\/manage$/, manage.render, 'manage', managesAccess],
  [/^\/access\/users\/([^/]+)$/, user.render, 'manage', managesAccess],
  [/^\/access\/locks$/, locks.renderList, 'locks', everyone],
  [/^\/access\/locks\/([^/]+)$/, locks.renderLock, 'locks', everyone],
  [/^\/access\/properties$/, setup.render, 'properties', managesOrganization],
  [/^\/access\/outbox$/, outbox.render, 'outbox', managesOrganization],
  [/^\/access$/, renderAccessHome, 'access', everyone],
];

/** Where a user lands: Manage Access for those who manage it, the locks for the others. */
const DEFAULT_ROUTE = '#/access/locks/manage';
const LOCKS_ROUTE = '#/access/locks';
function homeOf(me) {
  return managesAccess(me) ? DEFAULT_ROUTE : LOCKS_ROUTE;
}

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, qs = ''] = raw.split('?');
  return { path, query: new URLSearchParams(qs) };
}

/** Changes the route; also re-renders when the hash is already that route. */
export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

async function route() {
  const seq = ++state.renderSeq;
  const { path, query } = parseHash();
  // A message about the previous page must not linger over another one.
  if (state.lastPath !== null && path !== state.lastPath) hideToast();
  state.lastPath = path;
  // The link of a password reset mail: /reset-password?token=..., signed in or not.
  if (location.pathname === '/reset-password') {
    showChrome(false);
    return renderReset();
  }
  if (path === '/forgot') {
    showChrome(false);
    return renderForgot();
  }
  if (path === '/signin' || !session.token) {
    if (path !== '/signin' && path !== '/') state.afterSignIn = location.hash;
    showChrome(false);
    return renderSignIn();
  }
  try {
    if (!state.me) state.me = await get('/me');
  } catch (e) {
    return handleError(e);
  }
  showChrome(true);
  if (!usesDesktop(state.me)) return renderRefusal();
  const match = ROUTES.map(([re, view, nav, may]) => [path.match(re), view, nav, may]).find(([m]) => m);
  if (!match) {
    location.replace(homeOf(state.me));
    return undefined;
  }
  const [m, view, nav, may] = match;
  if (!may(state.me)) return renderNotYours();
  markNav(nav);
  const ctx = {
    main, query, params: m.slice(1).map(decodeURIComponent), me: state.me, navigate,
    // A view may ask whether it is still the current one after an await.
    current: () => seq === state.renderSeq,
  };
  try {
    const result = await view(ctx);
    if (!ctx.current()) return undefined;
    // A view re-rendered from its own control (a filter, the search box) keeps focus there.
    if (result && result.focus) {
      result.focus.focus();
      document.title = `${main.querySelector('h1')?.textContent || 'Lock Access'} · Lock Access`;
    } else {
      focusHeading();
    }
  } catch (e) {
    if (ctx.current()) handleError(e);
  }
  return undefined;
}

function focusHeading() {
  const h1 = main.querySelector('h1');
  if (h1) {
    h1.setAttribute('tabindex', '-1');
    h1.focus({ preventScroll: true });
    document.title = `${h1.textContent} · Lock Access`;
  }
}

function markNav(key) {
  document.querySelectorAll('[data-nav]').forEach((a) => {
    if (a.dataset.nav === key) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
}

function showChrome(signedIn) {
  const shown = signedIn && usesDesktop(state.me);
  document.getElementById('main-nav').hidden = !shown;
  document.getElementById('side-nav').hidden = !shown;
  // Each link of the navigation shows only where its page would open.
  document.querySelectorAll('[data-nav]').forEach((a) => {
    a.closest('li').hidden = !shown || !ROUTES.some(([, , nav, may]) => nav === a.dataset.nav && may(state.me));
  });
  document.querySelector('.brand').setAttribute('href', homeOf(state.me));
  const account = document.getElementById('account');
  account.replaceChildren();
  if (signedIn && state.me) {
    account.append(
      h('span', { class: 'who' }, state.me.name || state.me.email),
      h('button', { type: 'button', class: 'btn link', onclick: signOut }, 'Sign out'),
    );
  }
}

/** Ends the session on the server (the token stops working there), then here. */
async function signOut() {
  try {
    await del('/sessions/current');
  } catch {
    // Offline or already ended: the token is forgotten here all the same.
  }
  session.token = null;
  state.me = null;
  state.afterSignIn = null;
  navigate('#/signin');
}

/** Errors that escape a view: session over, refusal, not found, or a retry message. */
function handleError(e) {
  if (e instanceof ApiError && e.status === 401) {
    session.token = null;
    state.me = null;
    showChrome(false);
    return renderSignIn('Your session has ended. Sign in again.');
  }
  if (e instanceof ApiError && e.status === 403) {
    return usesDesktop(state.me) ? renderNotYours(e.message) : renderRefusal(e.message);
  }
  const box = messageBox();
  const notFound = e instanceof ApiError && e.status === 404;
  mount(main,
    h('h1', {}, notFound ? 'Not found' : 'Something went wrong'),
    box.el,
    h('p', {}, h('a', { href: homeOf(state.me) }, managesAccess(state.me) ? 'Back to Manage Access' : 'Back to the locks')),
  );
  box.error(e.message || String(e));
  focusHeading();
  return undefined;
}

/** For residents: this page is for team members. */
function renderRefusal(detail) {
  markNav(null);
  document.getElementById('main-nav').hidden = true;
  document.getElementById('side-nav').hidden = true;
  mount(main,h('section', { class: 'refusal', 'aria-labelledby': 'refusal-title' },
    h('h1', { id: 'refusal-title' }, 'This page is for team members'),
    h('p', { role: 'alert' },
      'Residents open their doors and share guest codes in the NoKey Resident app. ',
      'Ask your property manager if you think you should have team access.'),
    detail ? h('p', { class: 'muted' }, `Server: ${detail}`) : null,
    h('p', {}, h('button', { type: 'button', class: 'btn', onclick: signOut }, 'Sign out'))));
  focusHeading();
}

/** A page the user's permissions do not open (a link from elsewhere, a refusal). */
function renderNotYours(detail) {
  markNav(null);
  mount(main,h('section', { class: 'refusal', 'aria-labelledby': 'refusal-title' },
    h('h1', { id: 'refusal-title' }, managesAccess(state.me)
      ? 'This is beyond your access'
      : 'You do not have permission to manage lock access'),
    h('p', { role: 'alert' }, managesAccess(state.me)
      ? 'It needs units or permissions you do not hold, or access to all locks. '
      : 'Inviting users, changing their permissions and revoking access need the "Can manage lock access" permission. ',
    'Ask a manager of your organization if you need this.'),
    detail ? h('p', { class: 'muted' }, `Server: ${detail}`) : null,
    h('p', {}, h('a', { href: homeOf(state.me) }, managesAccess(state.me) ? 'Back to Manage Access' : 'Back to the locks'))));
  focusHeading();
}

function renderSignIn(notice, done) {
  const box = messageBox();
  const emailId = uid('email');
  const passwordId = uid('password');
  const email = h('input', { id: emailId, name: 'email', type: 'email', autocomplete: 'username', required: true });
  const password = h('input', { id: passwordId, name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const emailErr = errorFor(email);
  const passwordErr = errorFor(password);
  const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Sign in');
  const form = h('form', { class: 'signin', novalidate: true, 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in to Lock Access'),
    box.el,
    h('div', { class: 'field' }, h('label', { for: emailId }, 'Email'), email, emailErr),
    h('div', { class: 'field' }, h('label', { for: passwordId }, 'Password'), password, passwordErr),
    h('div', { class: 'actions' }, submit,
      h('a', { href: '#/forgot', id: 'forgot-password', class: 'btn link' }, 'Forgot password?')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    box.clear();
    const errors = [];
    if (!email.value.trim()) errors.push(fieldError(email, emailErr, 'Enter your email address.'));
    if (!password.value) errors.push(fieldError(password, passwordErr, 'Enter your password.'));
    if (errors.length) {
      box.error('Sign-in needs both fields:', errors);
      form.querySelector('[aria-invalid]').focus();
      return;
    }
    try {
      await busy(submit, async () => {
        const res = await post('/sessions', { email: email.value.trim(), password: password.value });
        session.token = res.token;
        state.me = res.user || null;
      });
    } catch (e) {
      box.error(e.message);
      password.focus();
      return;
    }
    if (!state.me) {
      try { state.me = await get('/me'); } catch { /* the route loads it again */ }
    }
    const next = state.afterSignIn || homeOf(state.me);
    state.afterSignIn = null;
    navigate(next);
  });
  mount(main,form);
  if (notice) box.error(notice);
  if (done) box.ok(done);
  document.title = 'Sign in · Lock Access';
  email.focus();
}

/** Forgot password: the email gets a link, the account's phone a code. */
function renderForgot() {
  const box = messageBox();
  const emailId = uid('email');
  const email = h('input', { id: emailId, name: 'email', type: 'email', autocomplete: 'username', required: true });
  const emailErr = errorFor(email);
  const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Send reset link');
  const form = h('form', { class: 'signin', novalidate: true, 'aria-labelledby': 'forgot-title' },
    h('h1', { id: 'forgot-title' }, 'Reset your password'),
    h('p', {}, 'Enter the email you sign in with. We send a reset link to it and a code to your phone.'),
    box.el,
    h('div', { class: 'field' }, h('label', { for: emailId }, 'Email'), email, emailErr),
    h('div', { class: 'actions' }, submit, h('a', { href: '#/signin', class: 'btn link' }, 'Back to sign in')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    box.clear();
    if (!email.value.trim()) {
      box.error('The reset link was not sent:', [fieldError(email, emailErr, 'Enter your email address.')]);
      email.focus();
      return;
    }
    try {
      const res = await busy(submit, () => post('/auth/password-reset', { email: email.value.trim() }));
      box.ok(res.message);
    } catch (e) {
      box.error(e.message);
    }
  });
  mount(main, form);
  document.title = 'Reset your password · Lock Access';
  email.focus();
}

/** The page of the reset link: the SMS code and the new password. */
function renderReset() {
  const token = new URLSearchParams(location.search).get('token') || '';
  const box = messageBox();
  const codeId = uid('code');
  const passwordId = uid('password');
  const code = h('input', { id: codeId, name: 'sms_code', inputmode: 'numeric', autocomplete: 'one-time-code', required: true });
  const password = h('input', { id: passwordId, name: 'new_password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8 });
  const codeErr = errorFor(code);
  const passwordErr = errorFor(password);
  const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Set new password');
  const form = h('form', { class: 'signin', novalidate: true, 'aria-labelledby': 'reset-title' },
    h('h1', { id: 'reset-title' }, 'Choose a new password'),
    h('p', {}, 'Enter the code we sent by SMS to your phone, and your new password (at least 8 characters).'),
    box.el,
    h('div', { class: 'field' }, h('label', { for: codeId }, 'SMS code'), code, codeErr),
    h('div', { class: 'field' }, h('label', { for: passwordId }, 'New password'), password, passwordErr),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    box.clear();
    const errors = [];
    if (!code.value.trim()) errors.push(fieldError(code, codeErr, 'Enter the code from the SMS.'));
    if (password.value.length < 8) errors.push(fieldError(password, passwordErr, 'The password must be at least 8 characters long.'));
    if (errors.length) {
      box.error('The password was not changed:', errors);
      form.querySelector('[aria-invalid]').focus();
      return;
    }
    try {
      await busy(submit, () => post('/auth/password-reset/confirm', {
        token, sms_code: code.value.trim(), new_password: password.value,
      }));
    } catch (e) {
      box.error(e.message);
      code.focus();
      return;
    }
    session.token = null;
    state.me = null;
    // Off the link (its token is used up), back to the page's sign-in.
    history.replaceState(null, '', '/#/signin');
    state.lastPath = '/signin';
    renderSignIn(null, 'Your password is changed and every session of the account ended. Sign in with the new password.');
  });
  mount(main, form);
  document.title = 'Choose a new password · Lock Access';
  if (!token) box.error('This page needs the link from the password reset email.');
  code.focus();
}

async function renderAccessHome({ main: root, me }) {
  const card = (href, title, text) => h('li', { class: 'card' }, h('h2', {}, h('a', { href }, title)), h('p', {}, text));
  mount(root,
    breadcrumb([['Access']]),
    h('h1', {}, 'Access'),
    h('ul', { class: 'cards' },
      card('#/access/locks', 'Locks', 'The locks of your units with their mode, battery, codes and log.'),
      managesAccess(me) ? card('#/access/locks/manage', 'Manage Access', 'Who may open what: invite users, set their permissions and access.') : null,
      managesOrganization(me) ? card('#/access/properties', 'Properties and units', 'Set up properties, their units and the locks in them.') : null,
      managesOrganization(me) ? card('#/access/outbox', 'Outbox', 'The invitations and SMS codes the platform sent or would send.') : null),
  );
}

document.getElementById('skip-link').addEventListener('click', (ev) => {
  ev.preventDefault();
  main.focus();
});
window.addEventListener('hashchange', route);
route();

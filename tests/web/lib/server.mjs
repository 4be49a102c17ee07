// Starts the real access-server binary on a free port with a fresh data directory, and
// talks to its JSON API (for the steps the article leaves to the invitee's phone).

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const targetDir = process.env.CARGO_TARGET_DIR || '/var/cache/lock-access/target';
export const SERVER_BIN = process.env.ACCESS_SERVER_BIN || join(targetDir, 'debug', 'access-server');

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the server; resolves to { url, admin: {email, password}, api(method, path, body, token),
 * stop() }. The server's output goes to a log file printed when startup fails.
 */
export async function startServer() {
  const dataDir = mkdtempSync(join(tmpdir(), 'lock-access-web-'));
  const port = await freePort();
  const admin = { email: 'admin@example.com', password: 'correct horse battery staple 42' };
  const logPath = join(dataDir, 'server.log');
  const log = openSync(logPath, 'a');
  // Mail and SMS go to the outbox: no SMTP server or SMS gateway from the caller's environment.
  const env = { ...process.env };
  delete env.ACCESS_SMTP_URL;
  delete env.ACCESS_SMS_WEBHOOK_URL;
  delete env.ACCESS_DATABASE_URL;
  const child = spawn(SERVER_BIN, [], {
    env: {
      ...env,
      ACCESS_LISTEN: `127.0.0.1:${port}`,
      ACCESS_DATA_DIR: join(dataDir, 'data'),
      ACCESS_ADMIN_EMAIL: admin.email,
      ACCESS_ADMIN_PASSWORD: admin.password,
      RUST_LOG: process.env.RUST_LOG || 'info',
    },
    stdio: ['ignore', log, log],
  });
  let exited = null;
  child.on('exit', (code, signal) => { exited = { code, signal }; });
  // A test process that ends abruptly must not leave the server running.
  process.on('exit', () => { if (!exited) child.kill('SIGKILL'); });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) {
      throw new Error(`access-server exited (${JSON.stringify(exited)}) before answering:\n${readFileSync(logPath, 'utf8')}`);
    }
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`access-server did not answer /healthz within 30 s:\n${readFileSync(logPath, 'utf8')}`);
    }
    await sleep(100);
  }

  /** Calls the JSON API; resolves to { status, body }. */
  async function api(method, path, body, token) {
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(`${url}/api/v1${path}`, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = text; }
    return { status: res.status, body: json };
  }

  async function stop() {
    if (!exited) {
      child.kill('SIGTERM');
      const until = Date.now() + 10_000;
      while (!exited && Date.now() < until) await sleep(50);
      if (!exited) child.kill('SIGKILL');
    }
    rmSync(dataDir, { recursive: true, force: true });
  }

  return { url, admin, api, stop, logPath, dbPath: join(dataDir, 'data', 'access.db') };
}

/** Signs in through the API; resolves to the bearer token. */
export async function login(server, email, password) {
  const res = await server.api('POST', '/sessions', { email, password });
  if (res.status !== 200 && res.status !== 201) throw new Error(`login ${email}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.token;
}

/** The whole outbox, newest first. */
export async function outbox(server, token) {
  const items = [];
  let cursor = null;
  do {
    const q = cursor ? `?after=${encodeURIComponent(cursor)}` : '';
    const res = await server.api('GET', `/outbox${q}`, undefined, token);
    if (res.status !== 200) throw new Error(`outbox: ${res.status} ${JSON.stringify(res.body)}`);
    items.push(...res.body.items);
    cursor = res.body.next;
  } while (cursor);
  return items;
}

/** The invitation token from the newest invitation mail to `email`. */
export async function invitationToken(server, adminToken, email) {
  const mail = (await outbox(server, adminToken)).find((m) => m.channel === 'email' && m.to === email);
  if (!mail) throw new Error(`no invitation mail to ${email}`);
  const m = mail.body.match(/token=([A-Za-z0-9_\-.~%]+)/);
  if (!m) throw new Error(`no token= in the mail to ${email}: ${mail.body}`);
  return decodeURIComponent(m[1]);
}

/**
 * Registers an invitee the way the app does: registration with the invitation token, then
 * verify with the SMS code from the outbox. Resolves to the session token.
 */
export async function register(server, adminToken, { invitedEmail, email, phone, password, name }) {
  const token = await invitationToken(server, adminToken, invitedEmail);
  const reg = await server.api('POST', '/registrations', { token, email, phone, password, name });
  if (reg.status !== 201) throw new Error(`registration: ${reg.status} ${JSON.stringify(reg.body)}`);
  const sms = (await outbox(server, adminToken)).find((m) => m.channel === 'sms' && m.to === reg.body.phone);
  if (!sms) throw new Error(`no SMS to ${reg.body.phone}`);
  const code = sms.body.match(/\b(\d{6})\b/);
  if (!code) throw new Error(`no 6-digit code in the SMS: ${sms.body}`);
  const verify = await server.api('POST', `/registrations/${reg.body.registration_id}/verify`, { code: code[1] });
  if (verify.status !== 200 && verify.status !== 201) throw new Error(`verify: ${verify.status} ${JSON.stringify(verify.body)}`);
  return verify.body.token;
}

// app.js: sign-in and the choice of view. A kiosk token gets the kiosk
// view; a technician (or admin) token the technician view.
import { token, api, APIError, byId, say } from './api.js';
import { startKiosk } from './kiosk.js';
import { startTechnician } from './technician.js';

const views = ['signin', 'kiosk', 'tech'];
let stopView = null;

function show(view) {
  for (const v of views) byId(v).hidden = v !== view;
}

function problem(text) {
  const p = byId('page-problem');
  p.textContent = text;
  p.hidden = !text;
}

// A policy violation is a defect of this page: say so where it shows.
document.addEventListener('securitypolicyviolation', (e) => {
  problem('This page broke its own security policy (' + e.violatedDirective + '). Please report it.');
  console.error('content security policy violation:', e.violatedDirective, e.blockedURI);
});
window.addEventListener('unhandledrejection', (e) => {
  problem('Something went wrong: ' + (e.reason && e.reason.message ? e.reason.message : e.reason));
});

function signOut(message, kind = 'bad') {
  if (stopView) stopView();
  stopView = null;
  token.clear();
  byId('whoami').hidden = true;
  byId('signout').hidden = true;
  show('signin');
  say(byId('signin-msg'), message || '', message ? kind : '');
  byId('signin-token').focus();
}

// role asks the API which view the token may use: status answers a
// technician or admin token, the disclosure a kiosk token.
async function role() {
  try {
    await api('GET', '/v1/status');
    return 'tech';
  } catch (e) {
    if (!(e instanceof APIError) || e.status !== 403) throw e;
  }
  await api('GET', '/v1/disclosure');
  return 'kiosk';
}

async function enter() {
  let view;
  try {
    view = await role();
  } catch (e) {
    if (e instanceof APIError && (e.status === 401 || e.status === 403)) {
      signOut(e.status === 401 ? 'That token is unknown or revoked.' : 'That token has no view on this page (kiosk or technician tokens do).');
      return;
    }
    signOut('Could not check the token: ' + e.message);
    return;
  }
  const onUnauthorized = () => signOut('The token stopped working (revoked?). Sign in again.');
  byId('whoami').textContent = view === 'kiosk' ? 'Kiosk' : 'Technician';
  byId('whoami').hidden = false;
  byId('signout').hidden = false;
  show(view);
  stopView = view === 'kiosk' ? startKiosk({ onUnauthorized }) : startTechnician({ onUnauthorized });
}

function main() {
  byId('signin-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = byId('signin-token');
    const t = input.value.trim();
    input.value = '';
    if (!t) {
      say(byId('signin-msg'), 'Paste a token first.', 'bad');
      return;
    }
    token.set(t);
    say(byId('signin-msg'), 'Checking…');
    enter();
  });
  byId('signout').addEventListener('click', () => signOut('Signed out.', 'good'));
  if (token.get()) {
    enter();
  } else {
    show('signin');
  }
}

main();

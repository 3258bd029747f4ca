// kiosk.js: the consent screen. The disclosure in force and the retention
// schedule, a consent form, a confirmation that shows the withdrawal code
// and the deletion token once, and withdrawal.
import { api, APIError, byId, el, say, busy } from './api.js';

// How long the confirmation (with its codes) stays on screen.
const clearAfterMs = 3 * 60 * 1000;

// groupCode writes a 32-digit id in groups of four, easier to copy.
function groupCode(id) {
  return id.replace(/(.{4})(?=.)/g, '$1 ');
}

// readCode accepts a withdrawal code typed with spaces, dashes or capitals.
function readCode(s) {
  const c = s.toLowerCase().replace(/[\s-]/g, '');
  return /^[0-9a-f]{32}$/.test(c) ? c : '';
}

// renderDisclosure shows the plain text: paragraphs, and lines starting
// with "- " as lists.
function renderDisclosure(node, text) {
  node.replaceChildren();
  for (const para of text.split(/\n{2,}/)) {
    const lines = para.split('\n').filter((l) => l.trim() !== '');
    if (lines.length === 0) continue;
    let list = null;
    let first = true;
    for (const line of lines) {
      if (line.startsWith('- ')) {
        if (!list) { list = el('ul'); node.append(list); }
        list.append(el('li', { text: line.slice(2) }));
      } else {
        list = null;
        node.append(first && node.childElementCount === 0 ? el('p', { class: 'lead' }, el('strong', { text: line })) : el('p', { text: line }));
      }
      first = false;
    }
  }
}

export function startKiosk({ onUnauthorized }) {
  const form = byId('k-form');
  const msg = byId('k-form-msg');
  const purposes = byId('k-purposes');
  let disclosure = null;
  let clearTimer = 0;
  let shown = null; // the subject id on the confirmation screen
  const abort = new AbortController();
  const on = (node, ev, fn) => node.addEventListener(ev, fn, { signal: abort.signal });

  function failed(node, e, what) {
    if (e instanceof APIError && e.status === 401) { onUnauthorized(); return; }
    say(node, what + ': ' + e.message, 'bad');
  }

  async function load() {
    try {
      const [d, r] = await Promise.all([api('GET', '/v1/disclosure'), api('GET', '/v1/retention')]);
      disclosure = d;
      renderDisclosure(byId('k-disclosure'), d.text);
      byId('k-disc-version').textContent = d.version;
      purposes.replaceChildren(purposes.querySelector('legend'));
      for (const p of d.purposes) {
        const id = 'k-p-' + p.purpose;
        purposes.append(el('div', { class: 'check' },
          el('input', { id, type: 'checkbox', value: p.purpose }),
          el('label', { for: id, text: p.text })));
      }
      const body = byId('k-retention').tBodies[0];
      body.replaceChildren(...r.items.map((it) => el('tr', {},
        el('td', { 'data-label': 'What', text: it.data }),
        el('td', { 'data-label': 'How long', text: it.kept }))));
    } catch (e) {
      failed(msg, e, 'The consent text could not be loaded');
    }
  }

  function showTab(which) {
    const consent = which === 'consent';
    byId('k-tab-consent').setAttribute('aria-pressed', String(consent));
    byId('k-tab-withdraw').setAttribute('aria-pressed', String(!consent));
    byId('k-consent').hidden = !consent || shown !== null;
    byId('k-done').hidden = !consent || shown === null;
    byId('k-withdraw').hidden = consent;
  }

  function finish() {
    clearTimeout(clearTimer);
    shown = null;
    byId('k-done-code').textContent = '';
    byId('k-done-token').textContent = '';
    showTab('consent');
    window.scrollTo(0, 0);
    byId('k-name').focus();
  }

  on(form, 'submit', async (e) => {
    e.preventDefault();
    if (!disclosure) { say(msg, 'The consent text is not loaded yet.', 'bad'); return; }
    const chosen = [...purposes.querySelectorAll('input[type=checkbox]:checked')].map((c) => c.value);
    if (chosen.length === 0) {
      say(msg, 'Choose at least one use of your voice.', 'bad');
      purposes.querySelector('input').focus();
      return;
    }
    if (!byId('k-agree').checked) { say(msg, 'Tick “I agree” to give consent.', 'bad'); return; }
    const body = {
      display_name: byId('k-name').value.trim(),
      contact: byId('k-contact').value.trim(),
      consent: {
        disclosure_sha256: disclosure.sha256,
        agreed: true,
        signature: byId('k-signature').value.trim(),
        purposes: chosen,
      },
    };
    await busy(byId('k-submit'), async () => {
      try {
        const r = await api('POST', '/v1/subjects', body);
        form.reset();
        say(msg, '');
        shown = r.subject_id;
        byId('k-done-code').textContent = groupCode(r.subject_id);
        byId('k-done-token').textContent = r.deletion_token;
        showTab('consent');
        byId('k-done-h').focus();
        clearTimeout(clearTimer);
        clearTimer = setTimeout(finish, clearAfterMs);
      } catch (err) {
        if (err instanceof APIError && err.code === 'stale_disclosure') {
          await load();
          say(msg, 'The consent text changed while you read it. Please read it again, then agree.', 'bad');
          return;
        }
        failed(msg, err, 'Your consent could not be recorded');
      }
    });
  });

  async function withdraw(code, button) {
    const out = byId('k-w-result');
    await busy(button, async () => {
      try {
        const r = await api('POST', '/v1/subjects/' + code + '/withdraw');
        const erased = Object.entries(r.receipt.erased || {}).map(([k, n]) => n + ' ' + k).join(', ');
        out.replaceChildren(
          el('p', { class: 'message good' }, el('strong', { text: 'Your consent is withdrawn.' }),
            ' Recognition of your voice has stopped and your data is erased.'),
          el('p', { class: 'small', text: 'Receipt: ' + (erased || 'nothing left to erase') + '; at ' +
            new Date(r.receipt.time).toLocaleString() + '; audit entry ' + r.receipt.audit_seq + '.' }));
        byId('k-w-code').value = '';
      } catch (err) {
        if (err instanceof APIError && err.status === 404) {
          out.replaceChildren(el('p', { class: 'message bad', text: 'No consent has that code (it may already be withdrawn). Check the code, or ask the technician.' }));
        } else if (err instanceof APIError && err.status === 401) {
          onUnauthorized();
          return;
        } else {
          out.replaceChildren(el('p', { class: 'message bad', text: 'The withdrawal failed: ' + err.message }));
        }
      }
      out.focus();
    });
  }

  on(byId('k-w-form'), 'submit', async (e) => {
    e.preventDefault();
    const code = readCode(byId('k-w-code').value);
    if (!code) {
      byId('k-w-result').replaceChildren(el('p', { class: 'message bad', text: 'A withdrawal code is 32 letters (a–f) and digits.' }));
      return;
    }
    await withdraw(code, byId('k-w-submit'));
  });

  on(byId('k-done-finish'), 'click', finish);
  on(byId('k-done-withdraw'), 'click', async () => {
    const code = shown;
    finish();
    showTab('withdraw');
    await withdraw(code, byId('k-w-submit'));
  });
  on(byId('k-tab-consent'), 'click', () => showTab('consent'));
  on(byId('k-tab-withdraw'), 'click', () => { showTab('withdraw'); byId('k-w-code').focus(); });

  showTab('consent');
  load();
  return () => {
    abort.abort();
    finish();
    byId('k-w-result').replaceChildren();
  };
}

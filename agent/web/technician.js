// technician.js: status and level meter, subjects, enrolment with its
// quality figures, and sessions with their live speaker labels.
import { api, APIError, streamEvents, byId, el, say, busy, clockTime, fixed } from './api.js';

// How often status (and with it the level meter) is read while the page
// is visible, and the subject list.
const statusEveryMs = 500;
const subjectsEveryMs = 5000;
// How many of a session's turns the page keeps on screen (the oldest go).
const maxTurnsShown = 500;

// Plain words for the enrolment gates' reasons.
const issueText = {
  too_short: 'not enough speech',
  no_voice: 'no voice found (a tone, hum or noise)',
  clipped: 'too loud: the recording clips',
  too_noisy: 'too noisy',
};

function describeIssue(issue, q) {
  const req = q.required || {};
  switch (issue) {
    case 'too_short':
      return issueText.too_short + ': ' + fixed(q.speech_seconds) + ' s of speech, ' + fixed(req.speech_seconds) + ' s needed';
    case 'too_noisy':
      return issueText.too_noisy + ': signal-to-noise below ' + fixed(req.snr_db) + ' dB';
    case 'clipped':
      return issueText.clipped + ': more than ' + fixed(100 * (req.max_clipped_fraction || 0), 2) + ' % of samples at full scale';
    default:
      return issueText[issue] || issue;
  }
}

// figures is the table of an enrolment's quality figures.
function figures(q) {
  const cols = [
    ['Seconds', (s) => fixed(s.seconds)],
    ['Speech (s)', (s) => fixed(s.speech_seconds)],
    ['SNR (dB)', (s) => fixed(s.snr_db)],
    ['Clipped (%)', (s) => fixed(100 * s.clipped_fraction, 2)],
    ['Level (dBFS)', (s) => fixed(s.level_dbfs)],
  ];
  return el('table', { class: 'figures cards' },
    el('caption', { text: 'Quality figures (needed: ' + fixed(q.required.speech_seconds) + ' s of speech, SNR ≥ ' +
      fixed(q.required.snr_db) + ' dB, clipped ≤ ' + fixed(100 * q.required.max_clipped_fraction, 2) + ' %)' }),
    el('thead', {}, el('tr', {}, ...cols.map(([h]) => el('th', { scope: 'col', text: h })))),
    el('tbody', {}, ...(q.samples || []).map((s) => el('tr', {}, ...cols.map(([h, f]) => el('td', { 'data-label': h, text: f(s) }))))));
}

function size(bytes) {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let n = bytes;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? String(n) : n.toFixed(n < 10 ? 1 : 0)) + ' ' + units[i];
}

// matched reports whether the running model matches one of the subject's
// templates: one enrolled with an earlier model is kept but never matched.
function matched(s) {
  return s.templates.some((t) => t.current);
}

function subjectState(s) {
  if (s.status === 'withdrawn') return 'withdrawn';
  if (s.status === 'restricted') return 'restricted' + (s.template_count > 0 ? ' (enrolled, not matched)' : '');
  if (s.template_count > 0 && !matched(s)) return 'enrolled with an earlier model: enrol again';
  return s.template_count > 0 ? 'enrolled' : 'consented, not enrolled';
}

export function startTechnician({ onUnauthorized }) {
  const abort = new AbortController();
  const on = (node, ev, fn) => node.addEventListener(ev, fn, { signal: abort.signal });
  let statusTimer = 0;
  let subjectsTimer = 0;
  let subjects = [];
  const seen = new Map(); // subject id → true while listed; ids that vanish were withdrawn or erased
  const gone = new Set();
  const streams = new Map(); // session id → {card, controller}
  const titles = new Map(); // session id → title typed here (status does not show titles)
  let lastSubjectCount = -1;
  let stopped = false;

  function failed(node, e, what) {
    if (e instanceof APIError && e.status === 401) { onUnauthorized(); return; }
    say(node, what + ': ' + e.message, 'bad');
  }

  // ---- status and level meter ----
  function renderStatus(st) {
    const cap = byId('t-capture');
    cap.textContent = st.capture.open ? 'open' : 'closed';
    cap.className = 'pill ' + (st.capture.open ? 'open' : 'closed');
    byId('t-capture-reason').textContent = st.capture.reason;
    const src = st.source || {};
    byId('t-source').textContent = (src.kind || '?') + (src.device ? ': ' + src.device : '') +
      (src.native_rate ? ' (' + src.native_rate + ' Hz, ' + src.native_channels + ' ch)' : '') + (src.real_time === false ? ', faster than real time' : '');
    byId('t-pipeline').textContent = st.pipeline.state;
    const v = st.vault;
    const rec = v.records || {};
    byId('t-vault').textContent = (rec.subject || 0) + ' subjects, ' + (rec.template || 0) + ' voiceprints, ' + v.audit_entries +
      ' audit entries, ' + size(v.file_bytes) + (v.max_bytes ? ' of ' + size(v.max_bytes) + ' allowed' : '') + ', key epoch ' + v.kek_epoch;
    byId('t-outbox').textContent = st.outbox.entries + ' de-identified record' + (st.outbox.entries === 1 ? '' : 's') + ' waiting for sync';
    const sp = st.speakers || {};
    byId('t-model').textContent = sp.model + ' · ' + (sp.matches || 0) + ' named turns, ' + (sp.unknown || 0) + ' unknown';
    const ret = st.retention || {};
    byId('t-retention').textContent = ret.ok === false ? 'error: ' + (ret.error || 'a deadline was missed') : 'ok';
    const meter = byId('t-level');
    const lvl = st.levels || {};
    if (st.capture.open && lvl.samples > 0) {
      meter.value = Math.max(-90, Math.min(0, lvl.rms_dbfs));
      byId('t-level-text').textContent = fixed(lvl.rms_dbfs) + ' dBFS RMS, peak ' + fixed(lvl.peak_dbfs) + ' dBFS' + (lvl.clipped ? ', ' + lvl.clipped + ' clipped' : '');
    } else {
      meter.value = -90;
      byId('t-level-text').textContent = st.capture.open ? 'waiting for audio' : 'no audio: capture closed';
    }
    // Live sessions listed by status get a card, those this page started
    // or found; sessions that ended drop theirs.
    const live = new Set(st.sessions.map((s) => s.id));
    for (const s of st.sessions) {
      const c = streams.get(s.id);
      if (!c) watch(s.id);
      const card = streams.get(s.id);
      if (card) {
        card.facts.textContent = s.participants + ' participant' + (s.participants === 1 ? '' : 's') + ', ' + s.enrolled + ' enrolled' + (s.expired ? ', expired' : '') +
          (s.label_threshold === null ? '' : '; names a voice from score ' + s.label_threshold.toFixed(2) +
            (s.label_threshold_band_limited > s.label_threshold ? ' (' + s.label_threshold_band_limited.toFixed(2) + ' for 8 kHz audio against a voice enrolled from 8 kHz audio)' : '') +
            (s.threshold_from === 'venue' ? ', set by the ' + s.venue_voices + ' other enrolled voices' : ", the model's threshold") +
            (s.threshold_from !== 'venue' && s.venue_voices > 0 ? ' (' + s.venue_voices + ' other enrolled voice' + (s.venue_voices === 1 ? '' : 's') + ': too few to set it)' : ''));
        card.facts.dataset.thresholdFrom = s.threshold_from || '';
      }
    }
    for (const [id, c] of streams) if (!live.has(id) && !c.ended) endCard(id, 'Session ended.');
    if (rec.subject !== lastSubjectCount) {
      lastSubjectCount = rec.subject;
      loadSubjects();
    }
  }

  async function pollStatus() {
    clearTimeout(statusTimer);
    if (stopped) return;
    try {
      renderStatus(await api('GET', '/v1/status', undefined, { signal: abort.signal }));
      say(byId('t-status-msg'), '');
    } catch (e) {
      if (e.name === 'AbortError') return;
      failed(byId('t-status-msg'), e, 'Status could not be read');
    }
    if (!stopped && !document.hidden) statusTimer = setTimeout(pollStatus, statusEveryMs);
  }
  on(document, 'visibilitychange', () => { if (!document.hidden) pollStatus(); });

  // ---- subjects ----
  function renderSubjects() {
    const body = byId('t-subjects').tBodies[0];
    const rows = subjects.map((s) => {
      const actions = el('td', { 'data-label': 'Actions' });
      if (s.status === 'active') {
        const b = el('button', { type: 'button', class: 'small secondary', text: 'Restrict', 'aria-label': 'Restrict ' + s.display_name });
        b.addEventListener('click', () => restrict(s, 'POST', b));
        actions.append(b);
      } else if (s.status === 'restricted') {
        const b = el('button', { type: 'button', class: 'small secondary', text: 'Resume', 'aria-label': 'Resume matching ' + s.display_name });
        b.addEventListener('click', () => restrict(s, 'DELETE', b));
        actions.append(b);
      }
      return el('tr', { 'data-subject': s.id, 'data-state': subjectState(s) },
        el('td', { 'data-label': 'Name' }, s.display_name, el('br'), el('span', { class: 'small', text: s.id.slice(0, 8) + '…' })),
        el('td', { 'data-label': 'State', class: 'state', text: subjectState(s) }),
        el('td', { 'data-label': 'Purposes', text: s.purposes.join(', ') || 'none' }),
        actions);
    });
    for (const id of gone) {
      rows.push(el('tr', { 'data-subject': id, 'data-state': 'withdrawn' },
        el('td', { 'data-label': 'Name' }, el('em', { text: 'erased' }), el('br'), el('span', { class: 'small', text: id.slice(0, 8) + '…' })),
        el('td', { 'data-label': 'State', class: 'state', text: 'withdrawn (erased)' }),
        el('td', { 'data-label': 'Purposes', text: 'none' }),
        el('td', { 'data-label': 'Actions', text: '–' })));
    }
    body.replaceChildren(...rows);
    byId('t-subjects-empty').hidden = rows.length > 0;

    // The enrolment choice and the session's participants.
    const sel = byId('t-e-subject');
    const before = sel.value;
    sel.replaceChildren(el('option', { value: '', text: 'Choose a subject' }),
      ...subjects.filter((s) => s.status === 'active').map((s) => el('option', { value: s.id, text: s.display_name + ' (' + subjectState(s) + ')' })));
    sel.value = subjects.some((s) => s.id === before && s.status === 'active') ? before : '';
    const fs = byId('t-s-participants');
    const ticked = new Set([...fs.querySelectorAll('input:checked')].map((c) => c.value));
    const eligible = subjects.filter((s) => s.status === 'active' && s.purposes.includes('recognition'));
    fs.replaceChildren(fs.querySelector('legend'), ...eligible.map((s) => {
      const id = 't-s-p-' + s.id;
      return el('div', { class: 'check' },
        el('input', { id, type: 'checkbox', value: s.id, checked: ticked.has(s.id) }),
        el('label', { for: id, text: s.display_name + (matched(s) ? '' : s.template_count > 0 ? ' (enrolled with an earlier model: labelled unknown)' : ' (not enrolled: labelled unknown)') }));
    }));
    if (eligible.length === 0) fs.append(el('p', { class: 'small', text: 'Nobody can take part yet: a participant must have consented to recognition.' }));
  }

  async function loadSubjects() {
    clearTimeout(subjectsTimer);
    if (stopped) return;
    try {
      const list = await api('GET', '/v1/subjects', undefined, { signal: abort.signal });
      subjects = list.subjects;
      const now = new Set(subjects.map((s) => s.id));
      for (const id of seen.keys()) if (!now.has(id)) { gone.add(id); seen.delete(id); forget(id); }
      for (const id of now) seen.set(id, true);
      renderSubjects();
      say(byId('t-subjects-msg'), '');
    } catch (e) {
      if (e.name === 'AbortError') return;
      failed(byId('t-subjects-msg'), e, 'The subjects could not be read');
    }
    if (!stopped) subjectsTimer = setTimeout(loadSubjects, subjectsEveryMs);
  }

  // forget takes an erased subject's name off the page: their past turns
  // and an enrolment result about them (the box no longer holds it).
  function forget(id) {
    for (const li of document.querySelectorAll('#t-sessions .turn[data-subject="' + id + '"]')) {
      li.className = 'turn unknown';
      li.querySelector('.who').textContent = 'withdrawn speaker';
    }
    const res = byId('t-e-result');
    if (res.dataset.subject === id) { res.replaceChildren(); delete res.dataset.subject; }
  }

  async function restrict(s, method, button) {
    await busy(button, async () => {
      try {
        const r = await api(method, '/v1/subjects/' + s.id + '/restrict');
        say(byId('t-subjects-msg'), s.display_name + ' is now ' + r.status + (r.sessions_stopped ? '; ' + r.sessions_stopped + ' session(s) stopped' : '') + '.', 'good');
      } catch (e) {
        failed(byId('t-subjects-msg'), e, 'Could not change ' + s.display_name);
      }
      loadSubjects();
      pollStatus();
    });
  }

  // ---- enrolment ----
  const fromLive = () => byId('t-e-from-live').checked;
  function syncFrom() {
    byId('t-e-file-row').hidden = fromLive();
    byId('t-e-live-row').hidden = !fromLive();
  }
  on(byId('t-e-from-file'), 'change', syncFrom);
  on(byId('t-e-from-live'), 'change', syncFrom);

  on(byId('t-enrol-form'), 'submit', async (e) => {
    e.preventDefault();
    const out = byId('t-e-result');
    const id = byId('t-e-subject').value;
    const subject = subjects.find((s) => s.id === id);
    const who = subject ? subject.display_name : id;
    if (!id) { out.replaceChildren(el('p', { class: 'message bad', text: 'Choose the subject to enrol.' })); return; }
    let body;
    let opts = {};
    if (fromLive()) {
      const secs = Number(byId('t-e-seconds').value);
      if (!(secs >= 5 && secs <= 60)) { out.replaceChildren(el('p', { class: 'message bad', text: 'Record 5 to 60 seconds.' })); return; }
      body = { capture_seconds: secs };
      out.replaceChildren(el('p', { class: 'message', text: 'Recording ' + secs + ' s from the live source: the speaker should talk now…' }));
    } else {
      const f = byId('t-e-file').files[0];
      if (!f) { out.replaceChildren(el('p', { class: 'message bad', text: 'Choose a WAV file.' })); return; }
      body = f;
      opts = { contentType: 'audio/wav' };
      out.replaceChildren(el('p', { class: 'message', text: 'Checking ' + f.name + '…' }));
    }
    out.dataset.subject = id;
    await busy(byId('t-e-submit'), async () => {
      try {
        const r = await api('POST', '/v1/subjects/' + id + '/enrollments', body, opts);
        out.replaceChildren(
          el('p', { class: 'message good', 'data-outcome': 'enrolled' }, el('strong', { text: 'Enrolled: ' }),
            who + ' — ' + fixed(r.quality.speech_seconds) + ' s of speech, voiceprint ' + r.template_id.slice(0, 8) + '… stored' +
            (r.replaced ? ' (replaces ' + r.replaced + ' earlier)' : '') + '.'),
          figures(r.quality));
      } catch (err) {
        if (err instanceof APIError && err.code === 'quality' && err.body && err.body.quality) {
          const q = err.body.quality;
          out.replaceChildren(
            el('p', { class: 'message bad', 'data-outcome': 'refused' }, el('strong', { text: 'Refused, nothing stored: ' }), who),
            el('ul', { class: 'issues' }, ...(q.issues || []).map((i) => el('li', { 'data-issue': i }, el('code', { text: i }), ' — ' + describeIssue(i, q)))),
            figures(q));
        } else if (err instanceof APIError && err.status === 401) {
          onUnauthorized();
          return;
        } else {
          out.replaceChildren(el('p', { class: 'message bad', 'data-outcome': 'error', text: 'Enrolment failed: ' + err.message }));
        }
      }
      loadSubjects();
    });
  });

  // ---- sessions and live labels ----
  function endCard(id, text) {
    const c = streams.get(id);
    if (!c || c.ended) return;
    c.ended = true;
    c.controller.abort();
    c.card.dataset.state = 'ended';
    c.state.textContent = text;
    c.stop.hidden = true;
    say(byId('t-s-msg'), '');
    pollStatus();
  }

  function watch(id) {
    const controller = new AbortController();
    const list = el('ol', { class: 'turns', 'aria-label': 'Speaker turns', 'aria-live': 'polite' });
    const state = el('p', { class: 'small state', text: 'Connecting to the speaker labels…' });
    const facts = el('p', { class: 'small' });
    const stop = el('button', { type: 'button', class: 'secondary', text: 'Stop session' });
    const title = titles.get(id);
    const card = el('section', { class: 'session', 'data-session': id, 'data-state': 'connecting', 'aria-label': 'Session ' + (title || id.slice(0, 8)) },
      el('h3', { text: (title ? title + ' ' : 'Session ') + '(' + id.slice(0, 8) + '…)' }), facts, state, stop, list);
    const c = { card, controller, state, stop, facts, ended: false };
    streams.set(id, c);
    byId('t-sessions').prepend(card);
    stop.addEventListener('click', () => busy(stop, async () => {
      try {
        await api('POST', '/v1/sessions/' + id + '/stop');
        endCard(id, 'Session stopped.');
      } catch (e) {
        failed(byId('t-s-msg'), e, 'Could not stop the session');
      }
    }));
    streamEvents('/v1/sessions/' + id + '/events', {
      signal: controller.signal,
      onOpen() {
        card.dataset.state = 'listening';
        state.textContent = 'Listening: speaker turns appear below as they end.';
      },
      onEvent(name, data) {
        if (name === 'end') { endCard(id, 'Session ended.'); return; }
        if (name !== 'turn') return;
        let ev;
        try { ev = JSON.parse(data); } catch { return; }
        const known = typeof ev.display_name === 'string';
        list.append(el('li', { class: 'turn ' + (known ? 'known' : 'unknown'), 'data-subject': known ? ev.subject_id : '' },
          el('span', { class: 'who', text: known ? ev.display_name : 'unknown' }),
          el('span', { class: 'when', text: clockTime(ev.start) + '–' + clockTime(ev.end) }),
          el('span', { class: 'score', text: 'score ' + fixed(ev.score, 2) })));
        while (list.childElementCount > maxTurnsShown) list.firstElementChild.remove();
      },
    }).then(() => endCard(id, 'Session ended.'), (e) => {
      if (e.name === 'AbortError') return;
      if (e instanceof APIError && e.status === 401) { onUnauthorized(); return; }
      endCard(id, e instanceof APIError && e.status === 404 ? 'Session ended.' : 'The label stream broke: ' + e.message);
    });
  }

  on(byId('t-s-form'), 'submit', async (e) => {
    e.preventDefault();
    const msg = byId('t-s-msg');
    const participants = [...byId('t-s-participants').querySelectorAll('input:checked')].map((c) => c.value);
    if (participants.length === 0) { say(msg, 'Choose at least one participant.', 'bad'); return; }
    const title = byId('t-s-title').value.trim();
    await busy(byId('t-s-start'), async () => {
      try {
        const r = await api('POST', '/v1/sessions', { title, participants });
        titles.set(r.session_id, title);
        say(msg, 'Session started; capture is ' + (r.capture.open ? 'open' : 'closed') + '.', 'good');
        if (!streams.has(r.session_id)) watch(r.session_id);
        pollStatus();
      } catch (err) {
        failed(msg, err, 'The session could not start');
      }
    });
  });

  syncFrom();
  pollStatus();
  loadSubjects();
  return () => {
    stopped = true;
    abort.abort();
    clearTimeout(statusTimer);
    clearTimeout(subjectsTimer);
    for (const c of streams.values()) c.controller.abort();
    streams.clear();
    byId('t-sessions').replaceChildren();
    byId('t-e-result').replaceChildren();
  };
}

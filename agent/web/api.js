// api.js: the token, calls to the daemon's /v1 API, the event stream
// reader and small DOM helpers. Plain JavaScript, no build step.
//
// The token is kept in this tab's sessionStorage (gone when the tab
// closes) and sent only in the Authorization header: never in an address,
// never written to the console.

const tokenKey = 'voxward.token';

export const token = {
  get() { return sessionStorage.getItem(tokenKey) || ''; },
  set(t) { sessionStorage.setItem(tokenKey, t); },
  clear() { sessionStorage.removeItem(tokenKey); },
};

// APIError is a refused or failed call: the HTTP status (0 when the box
// did not answer), the API's error code and message, and the whole body.
export class APIError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.name = 'APIError';
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

function headers(extra) {
  return Object.assign({ Authorization: 'Bearer ' + token.get() }, extra || {});
}

// api calls the API. body is undefined (no body), a Blob or File (sent
// as is, with opts.contentType), or a value sent as JSON.
export async function api(method, path, body, opts = {}) {
  const h = {};
  let payload;
  if (body instanceof Blob) {
    h['Content-Type'] = opts.contentType || body.type || 'application/octet-stream';
    payload = body;
  } else if (body !== undefined) {
    h['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, {
      method, headers: headers(h), body: payload,
      cache: 'no-store', credentials: 'omit', redirect: 'error', signal: opts.signal,
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new APIError(0, 'unreachable', 'The box did not answer (' + e.message + ').', null);
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    const e = (data && data.error) || {};
    throw new APIError(res.status, e.code || 'http_' + res.status, e.message || res.statusText || 'HTTP ' + res.status, data);
  }
  return data;
}

// streamEvents reads a Server-Sent Events stream with fetch, so that the
// token can go in a header (EventSource cannot send one). onOpen is
// called once the stream is answered, onEvent(name, data) for every
// event. It resolves when the stream ends and rejects with an APIError
// when it is refused.
export async function streamEvents(path, { onOpen, onEvent, signal }) {
  let res;
  try {
    res = await fetch(path, {
      headers: headers({ Accept: 'text/event-stream' }),
      cache: 'no-store', credentials: 'omit', redirect: 'error', signal,
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new APIError(0, 'unreachable', 'The box did not answer (' + e.message + ').', null);
  }
  if (!res.ok) {
    let data = null;
    try { data = await res.json(); } catch { data = null; }
    const e = (data && data.error) || {};
    throw new APIError(res.status, e.code || 'http_' + res.status, e.message || 'HTTP ' + res.status, data);
  }
  if (onOpen) onOpen();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value.replace(/\r\n?/g, '\n');
    let cut;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      let name = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue; // a comment: keep-alive
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let v = colon < 0 ? '' : line.slice(colon + 1);
        if (v.startsWith(' ')) v = v.slice(1);
        if (field === 'event') name = v;
        else if (field === 'data') data.push(v);
      }
      if (data.length > 0) onEvent(name, data.join('\n'));
    }
  }
}

// el builds an element: el('p', {class: 'x'}, 'text', child...). Text is
// always set as text, never parsed as HTML.
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export function byId(id) {
  const e = document.getElementById(id);
  if (!e) throw new Error('page element #' + id + ' is missing');
  return e;
}

// say puts a message in a status region: kind '', 'good' or 'bad'.
export function say(node, text, kind = '') {
  node.textContent = text;
  node.classList.remove('good', 'bad');
  if (kind) node.classList.add(kind);
}

// busy disables a button while a call runs.
export async function busy(button, fn) {
  button.disabled = true;
  try { return await fn(); } finally { button.disabled = false; }
}

export function clockTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function fixed(x, digits = 1) {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : '–';
}

// api.js -- the pages' client of the SureConnect API (docs/openapi.yaml): JSON requests
// with a bearer secret, API errors as ApiError (status, code, field, message), the event
// streams read with fetch() (EventSource cannot send an Authorization header), and small
// DOM and formatting helpers shared by the dashboard and the agent console.

// An API failure: the HTTP status and the body's {"error": {code, message, field}}.
export class ApiError extends Error {
  constructor(status, code, field, message) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

// A client that sends `secret` as Authorization: Bearer on every request.
export function client(secret) {
  async function request(method, path, body) {
    const headers = { authorization: `Bearer ${secret}` };
    let payload;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, { method, headers, body: payload, cache: 'no-store' });
    } catch (e) {
      throw new ApiError(0, 'network', null, `the server cannot be reached (${e.message})`);
    }
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    if (!res.ok) {
      const e = (json && json.error) || {};
      throw new ApiError(res.status, e.code || `http_${res.status}`, e.field || null, e.message || text || res.statusText);
    }
    return json;
  }
  return {
    get: (path) => request('GET', path),
    post: (path, body = {}) => request('POST', path, body),
    patch: (path, body) => request('PATCH', path, body),
    put: (path, body) => request('PUT', path, body),
    del: (path) => request('DELETE', path),
    // Opens an SSE stream (see openStream); the page keeps it open while it shows.
    stream: (path, handlers) => openStream(path, secret, handlers),
  };
}

// Reads a Server-Sent Events stream with fetch(): calls onEvent(name, data) per event and
// onState('open' | 'retrying' | 'denied', detail). A dropped stream is opened again after a
// second with Last-Event-ID; 401/403 stop it. Returns {close()}. Closing the page aborts
// the request, so the server sees the stream end at once.
export function openStream(path, secret, { onEvent, onState = () => {} }) {
  let ac = null;
  let closed = false;
  let lastId = null;
  async function run() {
    while (!closed) {
      ac = new AbortController();
      try {
        const headers = { authorization: `Bearer ${secret}`, accept: 'text/event-stream' };
        if (lastId) headers['last-event-id'] = lastId;
        const res = await fetch(path, { headers, signal: ac.signal, cache: 'no-store' });
        if (res.status === 401 || res.status === 403) {
          onState('denied', res.status);
          return;
        }
        if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const frame = buf.slice(0, i);
            buf = buf.slice(i + 2);
            let name = null;
            let data = '';
            for (const line of frame.split('\n')) {
              if (line.startsWith('id: ')) lastId = line.slice(4);
              else if (line.startsWith('event: ')) name = line.slice(7);
              else if (line.startsWith('data: ')) data += line.slice(6);
            }
            if (!name) continue;
            if (name === 'ready') onState('open');
            let parsed = null;
            try { parsed = JSON.parse(data); } catch { /* keep null */ }
            onEvent(name, parsed);
          }
        }
      } catch (e) {
        if (closed) return;
      }
      if (closed) return;
      onState('retrying');
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  run();
  return { close() { closed = true; if (ac) ac.abort(); } };
}

// Creates an element: el('td', {class: 'x', dataset: {id: 1}, onclick}, child, 'text', ...).
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'value') e.value = v;
    else if (k === 'checked') e.checked = !!v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// Replaces the children of the element with id `id`.
export function fill(id, ...children) {
  const node = document.getElementById(id);
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
  return node;
}

// "1m 05s" for a duration in milliseconds.
export function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

// Local clock time of a Unix millisecond time.
export function clock(ms) {
  return ms ? new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }) : '';
}

// Milliseconds of today's local midnight.
export function midnight() {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

// Shows an API error next to the field at fault inside `form`: the input whose data-field
// is the error's field, else the nearest enclosing path ("rules[0].states[1]" falls back
// to "rules[0].states", then "rules[0]"); the message also goes to the form's .form-error.
export function showFieldError(form, err) {
  clearErrors(form);
  let path = err.field || '';
  let target = null;
  while (path && !target) {
    target = form.querySelector(`[data-field="${CSS.escape(path)}"]`);
    if (!target) path = path.replace(/(\[\d+\]|\.[^.[\]]+)$/, '');
  }
  const text = `${err.message}${err.field ? ` (${err.field})` : ''}`;
  if (target) {
    target.classList.add('invalid');
    target.setAttribute('aria-invalid', 'true');
    const note = el('span', { class: 'field-error', role: 'alert' }, err.message);
    target.insertAdjacentElement('afterend', note);
    if (target.focus) target.focus();
  }
  const general = form.querySelector('.form-error');
  if (general) general.textContent = text;
}

// Removes the error marks left by showFieldError.
export function clearErrors(form) {
  form.querySelectorAll('.field-error').forEach((n) => n.remove());
  form.querySelectorAll('.invalid').forEach((n) => { n.classList.remove('invalid'); n.removeAttribute('aria-invalid'); });
  const general = form.querySelector('.form-error');
  if (general) general.textContent = '';
  const ok = form.querySelector('.form-ok');
  if (ok) ok.textContent = '';
}

// "TX, CA" → ["TX", "CA"]; empty → [].
export function list(text) {
  return text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
}

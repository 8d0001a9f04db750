/* global document, fetch, location, history, sessionStorage, Option, AbortController, TextDecoder, URLSearchParams, setInterval, clearInterval */
// Herald debug console: plain browser JavaScript, no build step. The token travels only
// in the Authorization header (never in a URL the server could log).
const $ = (id) => document.getElementById(id);
const MAX_ROWS = 500;
let token = sessionStorage.getItem('heraldConsoleToken') ?? '';
let app = '';
let paused = false;
let stream;
let refresher;
let droppedTotal = 0;

// The demo banner's link carries the token in the fragment, which browsers never send.
const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.get('token')) {
  token = fragment.get('token');
  history.replaceState(null, '', location.pathname);
}
$('token').value = token;

function status(text, error = false) {
  $('status').textContent = text;
  $('status').className = error ? 'error' : '';
}

async function api(path, init = {}) {
  const response = await fetch(`/console/api/${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.body ? { 'content-type': 'application/json' } : {}) } });
  if (response.status === 401) {
    status('Token refused (401): check console.token', true);
    throw new Error('unauthorized');
  }
  return response;
}

function matches(li) {
  const filter = $('filter').value.trim().toLowerCase();
  return filter === '' || li.textContent.toLowerCase().includes(filter);
}

function show(event) {
  const li = document.createElement('li');
  // The type's first word is the row's class (apns, fcm, webpush, device…); a push result's outcome marks refusals.
  li.className = event.type.split('.')[0];
  li.dataset.type = event.type;
  if (typeof event.detail.outcome === 'string') li.dataset.outcome = event.detail.outcome;
  const time = new Date(event.at).toISOString().slice(11, 23);
  const type = document.createElement('span');
  type.className = 'type';
  type.textContent = event.type;
  li.append(`${time} `, type, JSON.stringify(event.detail));
  li.hidden = !matches(li);
  const list = $('events');
  list.prepend(li);
  while (list.children.length > MAX_ROWS) list.lastChild.remove();
}

async function connect() {
  stream?.abort();
  clearInterval(refresher);
  token = $('token').value.trim();
  sessionStorage.setItem('heraldConsoleToken', token);
  let apps;
  try {
    apps = (await (await api('apps')).json()).apps;
  } catch {
    return;
  }
  const select = $('app');
  if (select.options.length === 0) {
    for (const { id } of apps) select.append(new Option(id, id));
  }
  app = select.value || apps[0]?.id;
  stream = new AbortController();
  const response = await api(`stream?app=${encodeURIComponent(app)}`, { signal: stream.signal });
  if (!response.ok) return status(`Stream refused (${response.status})`, true);
  status(`Connected to ${app}`);
  document.body.dataset.connected = app;
  refresher = setInterval(refresh, 2000);
  void refresh();
  void read(response.body.getReader());
}

async function read(reader) {
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        handle(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
    status('Stream closed by the server (reconnect to resume)', true);
  } catch (err) {
    if (err.name !== 'AbortError') status('Stream lost', true);
  }
}

function handle(block) {
  let kind = 'message';
  let data = '';
  for (const line of block.split('\n')) {
    if (line.startsWith('event: ')) kind = line.slice(7);
    else if (line.startsWith('data: ')) data += line.slice(6);
  }
  if (!data) return;
  const payload = JSON.parse(data);
  if (kind === 'dropped') {
    droppedTotal += payload.count;
    $('dropped').textContent = `${droppedTotal} events skipped (over the rate cap)`;
  } else if (kind === 'event' && !paused) {
    show(payload);
  }
}

async function refresh() {
  try {
    const { channels } = await (await api(`channels?app=${encodeURIComponent(app)}`)).json();
    const body = $('channels').tBodies[0];
    body.replaceChildren(
      ...channels.map((c) => {
        const row = document.createElement('tr');
        const members = c.members ? ` (${c.members.map((m) => m.userId).join(', ')})` : '';
        for (const cell of [c.name + members, c.subscriptionCount, c.userCount ?? '']) row.insertCell().textContent = String(cell);
        return row;
      }),
    );
    $('stats').textContent = JSON.stringify(await (await api('stats')).json(), null, 1);
  } catch {
    clearInterval(refresher);
  }
}

async function submit(path, body) {
  try {
    const response = await api(path, { method: 'POST', body: JSON.stringify({ app, ...body }) });
    const answer = await response.json();
    $('result').textContent = response.ok ? `${path}: ${JSON.stringify(answer)}` : `${path} refused: ${answer.error}`;
  } catch {
    // api() already showed the refusal.
  }
}

$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  void connect();
});
$('pause').addEventListener('click', () => {
  paused = !paused;
  $('pause').textContent = paused ? 'Resume' : 'Pause';
});
$('clear').addEventListener('click', () => $('events').replaceChildren());
$('filter').addEventListener('input', () => {
  for (const li of $('events').children) li.hidden = !matches(li);
});
$('publish').addEventListener('submit', (e) => {
  e.preventDefault();
  void submit('events', { channel: $('pub-channel').value, event: $('pub-event').value, data: $('pub-data').value });
});
$('notify').addEventListener('submit', (e) => {
  e.preventDefault();
  void submit('notifications', { token: $('push-token').value.trim(), alert: $('push-alert').value });
});
if (token) void connect();
$('app').addEventListener('change', () => void connect());

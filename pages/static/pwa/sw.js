// Claude Code Server's service worker (spec M1, M2), served from the app's root so its scope is the whole app.
// It shows the offline page when a navigation cannot reach the server, shows pushed notifications with their
// actions, and answers an approval from a notification's action through the API (the login cookie goes along).
'use strict';

const CACHE = 'ccs-shell-v1';  // a new name when offline.html or the icon changes: installed workers fetch them again
const SCOPE = self.registration.scope; // the app's root, mount prefix included, ending in '/'
const OFFLINE_URL = new URL('offline.html', SCOPE).href;
const ICON_URL = new URL('icons/icon-192.png', SCOPE).href;

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll([OFFLINE_URL, ICON_URL]))
    .then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((n) => n.startsWith('ccs-') && n !== CACHE).map((n) => caches.delete(n))))
    .then(() => self.clients.claim()));
});

// Only page loads are touched, and only when the network fails: everything else goes straight to the server.
self.addEventListener('fetch', (event) => {
  if (event.request.mode !== 'navigate') return;
  event.respondWith(fetch(event.request).catch(async () => {
    const cached = await caches.match(OFFLINE_URL);
    return cached || new Response('Claude Code Server cannot be reached.', {status: 503, headers: {'Content-Type': 'text/plain'}});
  }));
});

self.addEventListener('push', (event) => {
  let payload;
  try {
    payload = event.data ? event.data.json() : {};
  } catch (e) {
    payload = {title: 'Claude Code Server', body: event.data ? event.data.text() : ''};
  }
  event.waitUntil(show(payload));
});

function show(payload) {
  const actions = (payload.actions || []).map((a) => ({action: a.action, title: a.title}));
  return self.registration.showNotification(payload.title || 'Claude Code Server', {
    body: payload.body || '',
    tag: payload.tag || undefined,
    icon: ICON_URL,
    badge: ICON_URL,
    data: payload,
    actions: actions,
    requireInteraction: actions.length > 0,
  });
}

async function openUrl(url) {
  const target = new URL(url || '', SCOPE).href;
  const windows = await self.clients.matchAll({type: 'window', includeUncontrolled: true});
  const same = windows.find((w) => w.url === target);
  if (same) return same.focus();
  if (self.clients.openWindow) return self.clients.openWindow(target);
  return null;
}

// What an action of a notification does: answer the approval through the API; when that cannot be done
// (logged out, already answered, no network) open the job instead. Returns {ok, status}.
async function runAction(payload, action) {
  const chosen = (payload.actions || []).find((a) => a.action === action);
  if (!chosen || !payload.approval_id) {
    await openUrl(payload.url);
    return {ok: false, status: 0};
  }
  const body = {behavior: chosen.behavior};
  if (chosen.behavior === 'deny') body.message = 'Denied from a notification.';
  let status = 0;
  try {
    const response = await fetch(new URL('api/approvals/' + encodeURIComponent(payload.approval_id), SCOPE).href, {
      method: 'POST', credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', 'Accept': 'application/json'},
      body: JSON.stringify(body),
    });
    status = response.status;
  } catch (e) {
    status = 0;
  }
  const ok = status >= 200 && status < 300;
  if (!ok) await openUrl(payload.url);
  return {ok: ok, status: status};
}

self.addEventListener('notificationclick', (event) => {
  const notification = event.notification;
  const payload = notification.data || {};
  notification.close();
  event.waitUntil(event.action ? runAction(payload, event.action) : openUrl(payload.url));
});

// The same paths on request from a page of this app (its settings page tests them; browsers offer no way
// to press a notification's button from a script): {type: 'notification-action', payload, action}.
self.addEventListener('message', (event) => {
  const message = event.data || {};
  if (message.type !== 'notification-action') return;
  const reply = (result) => event.ports && event.ports[0] && event.ports[0].postMessage(result);
  event.waitUntil(runAction(message.payload || {}, message.action).then(reply, (e) => reply({ok: false, error: String(e)})));
});

// Every page (spec M1, M2): the manifest link and the service worker's registration, and window.ccsPush, what
// the notification settings use to turn this browser's push subscription on and off. window.ccsRoot is the
// app's root path ('' or a prefix such as '/claude'), set just before this script.
(function () {
  const root = window.ccsRoot || '';
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register(root + '/sw.js', {scope: root + '/'})
      .catch((e) => console.warn('service worker not registered:', e && e.message));
  }

  function keyBytes(text) {
    const padded = (text + '='.repeat((4 - text.length % 4) % 4)).replace(/-/g, '+').replace(/_/g, '/');
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }

  function sameKey(buffer, text) {
    if (!buffer) return false;
    const a = new Uint8Array(buffer), b = keyBytes(text);
    return a.length === b.length && a.every((v, i) => v === b[i]);
  }

  async function api(method, path, body) {
    const response = await fetch(root + '/api' + path, {
      method: method, credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', 'Accept': 'application/json'},
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) throw new Error((data && data.detail) || ('the server answered ' + response.status));
    return data;
  }

  function supported() {
    return 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
  }

  window.ccsPush = {
    // {supported, permission, subscribed}: subscribed when this browser has a subscription made with the
    // server's current key (the server keeps it: subscribe() posts it again, which is harmless).
    async state() {
      if (!supported()) return {supported: false, permission: 'unsupported', subscribed: false};
      const registration = await navigator.serviceWorker.ready;
      const subscription = await registration.pushManager.getSubscription();
      let subscribed = false;
      if (subscription) {
        const key = (await api('GET', '/push/key')).public_key;
        subscribed = sameKey(subscription.options.applicationServerKey, key);
      }
      return {supported: true, permission: Notification.permission, subscribed: subscribed};
    },
    async subscribe() {
      try {
        if (!supported()) return {ok: false, error: 'This browser cannot receive push notifications.'};
        const permission = await Notification.requestPermission();
        if (permission !== 'granted') {
          return {ok: false, error: 'Notifications are blocked for this site: allow them in the browser\u2019s site settings.'};
        }
        const registration = await navigator.serviceWorker.ready;
        const key = (await api('GET', '/push/key')).public_key;
        let subscription = await registration.pushManager.getSubscription();
        if (subscription && !sameKey(subscription.options.applicationServerKey, key)) {
          await subscription.unsubscribe();  // made with an older key of the server
          subscription = null;
        }
        if (!subscription) {
          subscription = await registration.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: keyBytes(key)});
        }
        await api('POST', '/push/subscriptions', subscription.toJSON());
        return {ok: true};
      } catch (e) {
        return {ok: false, error: (e && e.message) || String(e)};
      }
    },
    async unsubscribe() {
      try {
        if (!supported()) return {ok: true};
        const registration = await navigator.serviceWorker.ready;
        const subscription = await registration.pushManager.getSubscription();
        if (subscription) {
          await api('DELETE', '/push/subscriptions', {endpoint: subscription.endpoint});
          await subscription.unsubscribe();
        }
        return {ok: true};
      } catch (e) {
        return {ok: false, error: (e && e.message) || String(e)};
      }
    },
  };
})();

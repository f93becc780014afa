// Service worker: the app shell (HTML, JS, wasm, icons) is served cache-first so the installed
// app opens offline; it never caches calls to backends (other origins or non-GET requests).
const CACHE = "nexus-shell-v1";
const SHELL = [
  "./", "./index.html", "./main.css", "./look.js", "./boot.js", "./app.js", "./worker.js", "./opencode-nexus.js", "./opencode-nexus_bg.wasm",
  "./nexus-store.js", "./nexus-store_bg.wasm",
  "./manifest.webmanifest", "./icons/icon.svg", "./icons/icon-192.png", "./icons/icon-512.png",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  // Network first so a new build is picked up; the cache answers when offline.
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        const copy = response.clone();
        caches.open(CACHE).then((c) => c.put(event.request, copy));
        return response;
      })
      .catch(() => caches.match(event.request)),
  );
});

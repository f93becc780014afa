#!/usr/bin/env python3
"""The browser budgets, side by side in one run: the app's bundle (scripts/build-web.sh) and a
bare Dioxus web counter (bare-counter/) built the same way.

  sizes: the wasm the page loads before its first paint (gzip -9), all of dist/ (every file
         gzip -9, not counting the precompressed copies), the bare counter's wasm.
  paint: time to first contentful paint in headless Chromium, cold (a fresh browser profile
         each load), the two pages alternated, medians.

  served: with NEXUS_SERVE_WEB_BIN (the opencode-nexus binary), the bytes its `serve-web` sends
         for a cold load of the app's page (precompressed copies), counted by a proxy in front.

Usage: web_budget.py APP_DIST BARE_DIST [LOADS]
"""
import functools
import gzip
import http.server
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime, timezone

def gz(path):
    with open(path, "rb") as f:
        return len(gzip.compress(f.read(), 9))


def files(root):
    for d, _, names in os.walk(root):
        for n in names:
            if not n.endswith((".gz", ".br")):
                yield os.path.join(d, n)


def only(root, prefix):
    found = [f for f in os.listdir(root) if f.startswith(prefix) and f.endswith(".wasm")]
    if len(found) != 1:
        sys.exit(f"expected one {prefix}*.wasm in {root}, found {found}")
    return os.path.join(root, found[0])


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A page closed while its worker still fetches the store's module: not an error here.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def serve(root):
    handler = functools.partial(Quiet, directory=root)
    server = Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def wd(port, method, path, body=None):
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())["value"]


def wait_until_answers(url):
    """Poll a local server for up to 10 s until it answers."""
    for _ in range(100):
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.1)


def start_chromedriver():
    """chromedriver on a free-ish port, once it answers: (port, process)."""
    port = 9515 + os.getpid() % 400
    driver = subprocess.Popen([os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"), f"--port={port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until_answers(f"http://127.0.0.1:{port}/status")
    return port, driver


# Set before any of the page's own scripts run (Page.addScriptToEvaluateOnNewDocument): marks
# when a Dioxus page's module has put its first frame into `#main`, the same for both pages.
MOUNT_MARK = """
new MutationObserver((_, o) => {
  const m = document.getElementById('main');
  if (m && m.firstElementChild) { performance.mark('nexus-mounted'); o.disconnect(); }
}).observe(document, { subtree: true, childList: true });
"""

PAINT = """
const e = performance.getEntriesByName('first-contentful-paint');
const at = (name) => { const m = performance.getEntriesByName(name); return m.length ? m[0].startTime : null; };
if (!e.length || at('nexus-mounted') === null) return null;
const wasm = performance.getEntriesByType('resource').filter((r) => r.name.endsWith('.wasm'))
  .map((r) => [r.name.split('/').pop().split('.')[0], r.responseEnd]);
return [e[0].startTime, at('nexus-mounted'), at('nexus-init-start'), at('nexus-init-done'), wasm];
"""


def chromium_caps(profile, console=False):
    """A new session's capabilities: headless Chromium at 1280x800 on the profile folder given;
    with `console`, the page's console kept for chromedriver's log endpoint."""
    match = {
        "goog:chromeOptions": {
            "binary": os.environ.get("CHROMIUM", "/usr/bin/chromium"),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,800", f"--user-data-dir={profile}"],
        }
    }
    if console:
        match["goog:loggingPrefs"] = {"browser": "ALL"}
    return {"capabilities": {"alwaysMatch": match}}


def first_paint(driver_port, url):
    """A cold load: (first contentful paint, the module's first frame in #main), in ms."""
    profile = tempfile.mkdtemp(prefix="nexus-paint-")
    caps = chromium_caps(profile)
    session = wd(driver_port, "POST", "/session", caps)["sessionId"]
    try:
        wd(driver_port, "POST", f"/session/{session}/goog/cdp/execute",
           {"cmd": "Page.addScriptToEvaluateOnNewDocument", "params": {"source": MOUNT_MARK}})
        wd(driver_port, "POST", f"/session/{session}/url", {"url": url})
        deadline = time.time() + 30
        while time.time() < deadline:
            got = wd(driver_port, "POST", f"/session/{session}/execute/sync", {"script": PAINT, "args": []})
            if got is not None:
                if os.environ.get("NEXUS_BUDGET_VERBOSE"):
                    print(f"  {url}: {got}")
                return got[0], got[1]
            time.sleep(0.05)
        sys.exit(f"no first contentful paint and first frame from {url} within 30 s")
    finally:
        wd(driver_port, "DELETE", f"/session/{session}")
        subprocess.run(["rm", "-rf", profile])


class CountingProxy:
    """A loopback TCP proxy in front of a server that counts the bytes the server sends: what
    a cold load costs on the wire, the storage worker's own fetches included (they do not show
    in the page's resource timing)."""

    def __init__(self, target_port):
        import socket
        self.target = target_port
        self.sent = 0
        self.last = time.time()
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        import socket
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self.pipe, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self.pipe, args=(upstream, client, True), daemon=True).start()

    def pipe(self, src, dst, count):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if count:
                    with self.lock:
                        self.sent += len(data)
                        self.last = time.time()
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(2)
                except OSError:
                    pass


def served_cold_load(driver_port, binary, dist):
    """Bytes `opencode-nexus serve-web` (which sends the precompressed copies) puts on the wire
    for a cold load of the app's page in Chromium: everything fetched until the page has painted
    and nothing more was sent for 2 s (the storage worker's module and its database start
    included), headers and all."""
    port = 18000 + os.getpid() % 1000
    server = subprocess.Popen([binary, "serve-web", "--dir", dist, "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    profile = tempfile.mkdtemp(prefix="nexus-served-")
    try:
        wait_until_answers(f"http://127.0.0.1:{port}/")
        proxy = CountingProxy(port)
        session = wd(driver_port, "POST", "/session", chromium_caps(profile))["sessionId"]
        try:
            wd(driver_port, "POST", f"/session/{session}/goog/cdp/execute",
               {"cmd": "Page.addScriptToEvaluateOnNewDocument", "params": {"source": MOUNT_MARK}})
            wd(driver_port, "POST", f"/session/{session}/url", {"url": f"http://127.0.0.1:{proxy.port}/"})
            deadline = time.time() + 30
            while time.time() < deadline:
                painted = wd(driver_port, "POST", f"/session/{session}/execute/sync", {"script": PAINT, "args": []})
                if painted is not None and time.time() - proxy.last > 2:
                    return proxy.sent
                time.sleep(0.1)
            sys.exit("the page served by serve-web did not finish loading within 30 s")
        finally:
            wd(driver_port, "DELETE", f"/session/{session}")
    finally:
        server.terminate()
        server.wait()
        subprocess.run(["rm", "-rf", profile])


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    app_dist, bare_dist = sys.argv[1], sys.argv[2]
    loads = int(sys.argv[3]) if len(sys.argv) > 3 else 9
    page = only(app_dist, "opencode-nexus_bg.")
    store = only(app_dist, "nexus-store_bg.")
    bare = only(bare_dist, "")
    page_gz, store_gz, bare_gz = gz(page), gz(store), gz(bare)
    dist_gz = sum(gz(f) for f in files(app_dist))
    print(f"date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}, "
          f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} cores")
    print(f"page wasm before first paint: {page_gz / 1000:.1f} KB gzip "
          f"(bare counter {bare_gz / 1000:.1f} KB: {page_gz / bare_gz:.2f}x; budget 875 KB)")
    print(f"storage worker wasm (loaded after the first paint): {store_gz / 1000:.1f} KB gzip")
    print(f"all of dist/: {dist_gz / 1000:.1f} KB gzip (budget 1300 KB)")

    port, driver = start_chromedriver()
    app_srv, bare_srv = serve(app_dist), serve(bare_dist)
    try:
        urls = {"app": f"http://127.0.0.1:{app_srv.server_port}/",
                "bare": f"http://127.0.0.1:{bare_srv.server_port}/"}
        first_paint(port, urls["bare"])  # warm the browser binary's own files once
        times = {"app": [], "bare": []}
        for i in range(loads):
            for name in (("app", "bare") if i % 2 == 0 else ("bare", "app")):
                times[name].append(first_paint(port, urls[name]))
        for k, what in ((0, "first contentful paint (the app's: its prerendered first frame)"),
                        (1, "first frame from the module (in #main)")):
            a = statistics.median(t[k] for t in times["app"])
            b = statistics.median(t[k] for t in times["bare"])
            budget = " (budget 1.5x)" if k == 0 else ""
            print(f"{what}, {loads} cold loads each, medians: app {a:.0f} ms, "
                  f"bare counter {b:.0f} ms: {a / b:.2f}x{budget}")
            print(f"  app:  {' '.join(f'{t[k]:.0f}' for t in times['app'])}")
            print(f"  bare: {' '.join(f'{t[k]:.0f}' for t in times['bare'])}")
        binary = os.environ.get("NEXUS_SERVE_WEB_BIN")
        if binary:
            sent = served_cold_load(port, binary, app_dist)
            print(f"served for a cold page load by serve-web (brotli copies): {sent / 1000:.1f} KB "
                  f"on the wire, headers included")
    finally:
        driver.terminate()
        app_srv.shutdown()
        bare_srv.shutdown()


if __name__ == "__main__":
    main()

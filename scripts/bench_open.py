#!/usr/bin/env python3
"""Opening a long conversation, N times, on a large history: in the desktop app, or in the
browser build in headless Chromium.

Usage: bench_open.py APP_BINARY DATA_DIR LONG_ID SHORT_ID [OPENS] [--web DIST]

DATA_DIR holds the history (`history.db`), e.g. the 1,000,000-message one `benches/search.rs`
builds (NEXUS_BENCH_DB), where LONG_ID is its 5,000-message conversation and SHORT_ID a
10-message one. Those two are pinned (and nothing else, with APP_BINARY's `history pin`), so
the conversation list beside the chat shows them at its top: the long one first (pinned last).
Each round opens the short conversation, waits for it, then the long one and waits for it. The
app logs every open (`conversation opened`), timed from the moment it takes the click's request:
until its store requests are answered, and until the next animation frame after the frame
holding the thread (it has been painted by then). The long conversation's times are reported
as p50, p95 and max, with the date and the load average.

- Desktop (default): the app starts on the X display in $DISPLAY; rows are clicked with
  xdotool; the times are read from the app's log file.
- `--web DIST` (a `scripts/build-web.sh` output): DIST is served on loopback; a page of that
  origin first streams the history into the browser's private storage (OPFS) where the storage
  worker opens it (the pool file layout of sqlite-wasm-vfs's `sahpool`: a 4096-byte header
  naming the database, then its bytes; the copy is switched to a rollback journal first, as
  the browser store uses), then the app is loaded; rows are clicked in the page (chromedriver)
  and the times are read from the browser console.
"""

import glob
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

# Where the conversation list puts its first two rows in the 1100x760 desktop window.
LONG_ROW, SHORT_ROW = (200, 131), (200, 165)
LINE = re.compile(
    r"conversation=(\S+) messages=(\d+) mounted=(\d+) loaded_ms=\"?([\d.]+)\"? painted_ms=\"?([\d.]+)\"?"
)
# The browser store's database path (src/platform/web.rs) and the pool's folder.
WEB_DB_PATH = "/opencode-nexus/history.db"
# SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_CREATE | SQLITE_OPEN_READWRITE, as the pool records a
# database it created.
WEB_DB_FLAGS = 0x100 | 0x4 | 0x2
PLACE_HISTORY = """
const done = arguments[arguments.length - 1];
(async () => {
  const root = await navigator.storage.getDirectory();
  const pool = await root.getDirectoryHandle('.opfs-sahpool', { create: true });
  const opaque = await pool.getDirectoryHandle('.opaque', { create: true });
  const file = await opaque.getFileHandle('benchhistory', { create: true });
  const out = await file.createWritable();
  const header = new Uint8Array(4096);
  header.set(new TextEncoder().encode(arguments[0]), 0);
  new DataView(header.buffer).setUint32(512, arguments[1]);
  await out.write(header);
  const response = await fetch('/bench-history.db');
  if (!response.ok) throw new Error('history not served: ' + response.status);
  await response.body.pipeTo(out);
  const written = await file.getFile();
  done(written.size);
})().catch((e) => done('failed: ' + e));
"""


def cli(app, data, *args):
    out = subprocess.run([app, "--data-dir", data, *args], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(args)}: {out.stderr}")
    return out.stdout


def pin_only_the_two(app, data, long_id, short_id):
    for c in json.loads(cli(app, data, "history", "list", "--json", "--limit", "100000")):
        if c.get("pinned"):
            cli(app, data, "history", "pin", c["id"], "--off")
    cli(app, data, "history", "pin", short_id)
    cli(app, data, "history", "pin", long_id)


def next_open(text, seen):
    """A wait for the next `conversation opened` line in what `text()` returns; `seen` (a
    one-element list) counts the lines already taken."""

    def wait_for(name, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = list(LINE.finditer(text()))
            if len(found) > seen[0]:
                seen[0] += 1
                return found[seen[0] - 1]
            time.sleep(0.02)
        sys.exit(f"no open of the {name} conversation logged within {timeout} s")

    return wait_for


def run_rounds(opens, open_row, wait_for, long_id, short_id):
    """Open short, then long, `opens` times; the long one's (loaded, painted, match) each time."""
    long_times, long_loaded, found = [], [], None
    for _ in range(opens):
        for name in ("short", "long"):
            open_row(name)
            found = wait_for(name)
            if found.group(1) != (long_id if name == "long" else short_id):
                sys.exit(f"the {name} row opened another conversation: {found.group(0)}")
            if name == "long":
                long_loaded.append(float(found.group(4)))
                long_times.append(float(found.group(5)))
            time.sleep(0.3)
    return long_times, long_loaded, found


def desktop(app, data, long_id, short_id, opens):
    def log_text():
        text = ""
        for path in sorted(glob.glob(os.path.join(data, "logs", "*"))):
            with open(path, errors="replace") as f:
                text += f.read()
        return re.sub(r"\x1b\[[0-9;]*m", "", text)

    def xdotool(*args):
        return subprocess.run(["xdotool", *args], capture_output=True, text=True).stdout.strip()

    env = dict(os.environ, WEBKIT_DISABLE_DMABUF_RENDERER="1", NO_AT_BRIDGE="1")
    proc = subprocess.Popen(
        [app, "--data-dir", data], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        window = ""
        while not window:
            if time.monotonic() > deadline:
                sys.exit("the app's window did not appear within 60 s")
            window = xdotool("search", "--onlyvisible", "--pid", str(proc.pid)).split("\n")[0]
            time.sleep(0.1)
        # The list beside the chat fills once the store answers.
        time.sleep(5)
        seen = [len(LINE.findall(log_text()))]

        def open_row(name):
            row = LONG_ROW if name == "long" else SHORT_ROW
            xdotool("mousemove", "--window", window, str(row[0]), str(row[1]), "click", "1")

        return run_rounds(opens, open_row, next_open(log_text, seen), long_id, short_id)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def web(dist, data, long_id, short_id, opens):
    from web_budget import chromium_caps, serve, start_chromedriver, wd

    served = tempfile.mkdtemp(prefix="nexus-open-web-")
    profile = tempfile.mkdtemp(prefix="nexus-open-chromium-")
    for name in os.listdir(dist):
        os.symlink(os.path.join(os.path.abspath(dist), name), os.path.join(served, name))
    # The browser store keeps a rollback journal; the copy is switched to one before it moves.
    history = os.path.join(served, "bench-history.db")
    shutil.copyfile(os.path.join(data, "history.db"), history)
    with sqlite3.connect(history) as db:
        db.execute("PRAGMA journal_mode=DELETE").fetchall()
    with open(os.path.join(served, "bench-setup.html"), "w") as f:
        f.write("<!doctype html><title>setup</title>")
    server = serve(served)
    base = f"http://127.0.0.1:{server.server_port}"
    port, driver = start_chromedriver()
    session = None
    try:
        session = wd(port, "POST", "/session", chromium_caps(profile, console=True))["sessionId"]
        s = f"/session/{session}"
        wd(port, "POST", f"{s}/timeouts", {"script": 900_000})
        wd(port, "POST", f"{s}/url", {"url": f"{base}/bench-setup.html"})
        size = wd(port, "POST", f"{s}/execute/async",
                  {"script": PLACE_HISTORY, "args": [WEB_DB_PATH, WEB_DB_FLAGS]})
        if not isinstance(size, int) or size != os.path.getsize(history) + 4096:
            sys.exit(f"placing the history in the browser's storage: {size}")
        os.remove(history)
        wd(port, "POST", f"{s}/url", {"url": f"{base}/"})
        console = []

        def drain():
            for e in wd(port, "POST", f"{s}/se/log", {"type": "browser"}):
                console.append(e.get("message", ""))

        # The list beside the chat fills once the worker has opened the history.
        deadline = time.monotonic() + 300
        while True:
            rows = wd(port, "POST", f"{s}/execute/sync", {
                "script": "return document.querySelectorAll('#sidebar .side-row').length;",
                "args": []})
            if rows >= 2:
                break
            if time.monotonic() > deadline:
                drain()
                sys.exit("the conversation list did not fill within 300 s:\n" + "\n".join(console[-20:]))
            time.sleep(0.2)
        time.sleep(2)
        drain()
        seen = [len(LINE.findall("\n".join(console)))]

        def open_row(name):
            index = 0 if name == "long" else 1
            wd(port, "POST", f"{s}/execute/sync", {
                "script": "document.querySelectorAll('#sidebar .side-row')[arguments[0]].click();",
                "args": [index]})

        def console_text():
            drain()
            return "\n".join(console)

        return run_rounds(opens, open_row, next_open(console_text, seen), long_id, short_id)
    finally:
        if session:
            wd(port, "DELETE", f"/session/{session}")
        driver.terminate()
        server.shutdown()
        shutil.rmtree(served, ignore_errors=True)
        shutil.rmtree(profile, ignore_errors=True)


def main():
    args = sys.argv[1:]
    dist = None
    if "--web" in args:
        at = args.index("--web")
        dist = args[at + 1]
        del args[at:at + 2]
    if len(args) < 4:
        sys.exit(__doc__)
    app, data, long_id, short_id = args[:4]
    opens = int(args[4]) if len(args) > 4 else 50
    pin_only_the_two(app, data, long_id, short_id)
    if dist:
        long_times, long_loaded, found = web(dist, data, long_id, short_id, opens)
    else:
        long_times, long_loaded, found = desktop(app, data, long_id, short_id, opens)
    messages, mounted = found.group(2), found.group(3)

    def pct(values, p):
        s = sorted(values)
        return s[min(len(s) - 1, round((len(s) - 1) * p))]

    load = os.getloadavg()
    where = "in headless Chromium (the browser build)" if dist else "in the desktop app"
    print(f"date: {datetime.now(timezone.utc).isoformat(timespec='seconds')}")
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"opens of the long conversation {where}: {len(long_times)} "
          f"({messages} messages read before its first paint, {mounted} mounted)")
    print(
        f"  store requests  p50 {statistics.median(long_loaded):7.1f} ms  "
        f"p95 {pct(long_loaded, 0.95):7.1f} ms  max {max(long_loaded):7.1f} ms"
    )
    print(
        f"  open to paint   p50 {statistics.median(long_times):7.1f} ms  "
        f"p95 {pct(long_times, 0.95):7.1f} ms  max {max(long_times):7.1f} ms   (budget 150 ms)"
    )
    return 0 if pct(long_times, 0.95) <= 150 else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Opening a long conversation in the desktop app, N times, on a large history.

Usage: bench_open.py APP_BINARY DATA_DIR LONG_ID SHORT_ID [OPENS]

DATA_DIR holds the history (`history.db`), e.g. the 1,000,000-message one `benches/search.rs`
builds (NEXUS_BENCH_DB), where LONG_ID is its 5,000-message conversation and SHORT_ID a
10-message one. Those two are pinned (and nothing else), so the conversation list beside the
chat shows them at its top: the long one first (pinned last). The app starts on the X display
in $DISPLAY. Each round clicks the short conversation, waits for it, then clicks the long one
and waits for it. The app logs every open (`conversation opened`), timed from the
moment it takes the click's request: until its store requests are answered, and until the next
animation frame after the frame holding the thread (it has been painted by then). The long
conversation's times are reported as p50, p95 and max, with the date and the load average.
"""

import glob
import json
import os
import re
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone

APP, DATA, LONG_ID, SHORT_ID = sys.argv[1:5]
OPENS = int(sys.argv[5]) if len(sys.argv) > 5 else 50
# Where the conversation list puts its first two rows in the 1100x760 window.
LONG_ROW, SHORT_ROW = (200, 131), (200, 165)
LINE = re.compile(
    r"conversation=(\S+) messages=(\d+) mounted=(\d+) loaded_ms=\"?([\d.]+)\"? painted_ms=\"?([\d.]+)\"?"
)


def log_text():
    text = ""
    for path in sorted(glob.glob(os.path.join(DATA, "logs", "*"))):
        with open(path, errors="replace") as f:
            text += f.read()
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def opens():
    return [m for m in LINE.finditer(log_text())]


def xdotool(*args):
    return subprocess.run(["xdotool", *args], capture_output=True, text=True).stdout.strip()


def wait_for(count, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = opens()
        if len(found) >= count:
            return found[count - 1]
        time.sleep(0.02)
    sys.exit(f"no open of the {what} conversation logged within {timeout} s")


def cli(*args):
    out = subprocess.run([APP, "--data-dir", DATA, *args], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(args)}: {out.stderr}")
    return out.stdout


def pin_only_the_two():
    for c in json.loads(cli("history", "list", "--json", "--limit", "100000")):
        if c.get("pinned"):
            cli("history", "pin", c["id"], "--off")
    cli("history", "pin", SHORT_ID)
    cli("history", "pin", LONG_ID)


def main():
    pin_only_the_two()
    env = dict(os.environ, WEBKIT_DISABLE_DMABUF_RENDERER="1", NO_AT_BRIDGE="1")
    app = subprocess.Popen(
        [APP, "--data-dir", DATA],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        window = ""
        while not window:
            if time.monotonic() > deadline:
                sys.exit("the app's window did not appear within 60 s")
            window = xdotool("search", "--onlyvisible", "--pid", str(app.pid)).split("\n")[0]
            time.sleep(0.1)
        # The list beside the chat fills once the store answers.
        time.sleep(5)
        long_times, long_loaded = [], []
        seen = len(opens())
        for _ in range(OPENS):
            for row, name in ((SHORT_ROW, "short"), (LONG_ROW, "long")):
                xdotool("mousemove", "--window", window, str(row[0]), str(row[1]), "click", "1")
                found = wait_for(seen + 1, name)
                seen += 1
                if found.group(1) != (LONG_ID if name == "long" else SHORT_ID):
                    sys.exit(f"the {name} row opened another conversation: {found.group(0)}")
                if name == "long":
                    long_loaded.append(float(found.group(4)))
                    long_times.append(float(found.group(5)))
                time.sleep(0.3)
        messages, mounted = found.group(2), found.group(3)
    finally:
        app.terminate()
        app.wait(timeout=10)

    def pct(values, p):
        s = sorted(values)
        return s[min(len(s) - 1, round((len(s) - 1) * p))]

    load = os.getloadavg()
    print(f"date: {datetime.now(timezone.utc).isoformat(timespec='seconds')}")
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"opens of the {messages}-message conversation ({mounted} mounted): {len(long_times)}")
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

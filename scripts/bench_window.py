#!/usr/bin/env python3
"""Start-up time and idle memory of the app against a bare Dioxus window.

Usage: bench_window.py APP_BINARY BARE_BINARY [ROUNDS]

Both binaries are started alternately on the X display in $DISPLAY (the app with a fresh,
empty data directory each time). Measured per start:

- start-up: from spawning the process to its window being mapped and visible
  (`xdotool search --onlyvisible --pid`, polled every 10 ms);
- idle memory: after 5 s without input, the proportional set size (PSS) summed over the process
  and all its descendants (the webview runs in separate WebKit processes, which a bare window
  has as well).

Prints medians and the ratios against the budgets (start-up <= 1.15x, idle memory <= 1.10x).
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def descendants(pid):
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        except OSError:
            continue
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def pss_kib(pid):
    total = 0
    for p in descendants(pid):
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total


def one_run(binary, args, env):
    log = tempfile.TemporaryFile()
    start = time.monotonic()
    proc = subprocess.Popen([binary, *args], env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        # Polled rather than `--sync`: windows appearing and going during start-up make a
        # waiting xdotool fail with BadWindow.
        while True:
            found = subprocess.run(
                ["xdotool", "search", "--onlyvisible", "--pid", str(proc.pid)],
                env=env, capture_output=True, timeout=10,
            )
            if found.stdout.strip():
                break
            if proc.poll() is not None or time.monotonic() - start > 60:
                log.seek(0)
                raise SystemExit(f"{binary}: no window: {log.read().decode(errors='replace')[-2000:]}")
            time.sleep(0.01)
        startup_ms = (time.monotonic() - start) * 1000
        time.sleep(5)
        if proc.poll() is not None:
            log.seek(0)
            raise SystemExit(f"{binary} exited: {log.read().decode(errors='replace')[-2000:]}")
        memory = pss_kib(proc.pid)
    finally:
        proc.kill()
        proc.wait()
        log.close()
    return startup_ms, memory


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    app, bare = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    env = dict(os.environ)
    env.update({
        "WEBKIT_DISABLE_DMABUF_RENDERER": "1",
        "WEBKIT_DISABLE_COMPOSITING_MODE": "1",
        "LIBGL_ALWAYS_SOFTWARE": "1",
        "NO_AT_BRIDGE": "1",
    })
    results = {"app": [], "bare": []}
    # One start of each first, not counted: it fills the disk cache for both.
    data = tempfile.mkdtemp(prefix="nexus-bench-")
    one_run(bare, [], env)
    one_run(app, ["--data-dir", data], env)
    shutil.rmtree(data, ignore_errors=True)
    for _ in range(rounds):
        results["bare"].append(one_run(bare, [], env))
        data = tempfile.mkdtemp(prefix="nexus-bench-")
        results["app"].append(one_run(app, ["--data-dir", data], env))
        shutil.rmtree(data, ignore_errors=True)

    def med(name, i):
        return statistics.median(r[i] for r in results[name])

    s_app, s_bare = med("app", 0), med("bare", 0)
    m_app, m_bare = med("app", 1) / 1024, med("bare", 1) / 1024
    print(f"window start-up and idle memory, median of {rounds} starts each:")
    print(f"  bare Dioxus window: {s_bare:7.0f} ms to a visible window, {m_bare:6.1f} MB PSS idle")
    print(f"  OpenCode Nexus:     {s_app:7.0f} ms to a visible window, {m_app:6.1f} MB PSS idle")
    print(f"  start-up ratio {s_app / s_bare:.2f}x (budget 1.15x); "
          f"idle memory ratio {m_app / m_bare:.2f}x (budget 1.10x)")


if __name__ == "__main__":
    main()

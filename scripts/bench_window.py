#!/usr/bin/env python3
"""Start-up time and idle memory of the app against a bare Dioxus window.

Usage: bench_window.py APP_BINARY BARE_BINARY [ROUNDS] [APP_DATA_DIR]

Both binaries are started alternately on the X display in $DISPLAY (the app with a fresh,
empty data directory each time, or with APP_DATA_DIR, e.g. one holding a 1M-message history).
Measured per start:

- window mapped: from spawning the process to its window being mapped and visible
  (`xdotool search --onlyvisible --pid`, polled every 10 ms);
- content painted: from spawning to the first screenshot of that window (`xwd`, polled as fast
  as it answers, ~10-30 ms) that is no longer one flat colour: the bare window's line of
  text, the app's shell. This is what the user waits for;
- the in-process trace both print on stderr: the root component created and the first frame
  painted (two animation frames after the first render), in ms since `main`; and from the
  page, in ms since its navigation: DOMContentLoaded, the first render applied, its frame
  painted;
- idle memory: after 5 s without input, the proportional set size (PSS) summed over the process
  and all its descendants (the webview runs in separate WebKit processes, which a bare window
  has as well).

Prints medians and the ratios against the budgets (start-up <= 1.15x, idle memory <= 1.10x).
"""

import os
import re
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


def flat(window, env):
    """True while the window shows one colour (nothing painted yet)."""
    shot = subprocess.run(["xwd", "-silent", "-id", window], env=env, capture_output=True, timeout=10)
    if shot.returncode != 0 or len(shot.stdout) < 4:
        return True
    # XWD: a header of big-endian 32-bit fields (its size first, the colour count 20th), the
    # colour map (12 bytes a colour), then the pixels.
    header = int.from_bytes(shot.stdout[:4], "big")
    ncolors = int.from_bytes(shot.stdout[76:80], "big")
    pixels = shot.stdout[header + 12 * ncolors:]
    # Every 7th pixel of the 32-bit image: enough to catch a line of text.
    seen = {pixels[i:i + 3] for i in range(0, len(pixels) - 4, 28)}
    return len(seen) < 3


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
                window = found.stdout.split()[-1].decode()
                break
            if proc.poll() is not None or time.monotonic() - start > 60:
                log.seek(0)
                raise SystemExit(f"{binary}: no window: {log.read().decode(errors='replace')[-2000:]}")
            time.sleep(0.01)
        startup_ms = (time.monotonic() - start) * 1000
        while flat(window, env):
            if proc.poll() is not None or time.monotonic() - start > 60:
                raise SystemExit(f"{binary}: nothing painted in its window")
        painted_ms = (time.monotonic() - start) * 1000
        time.sleep(5)
        if proc.poll() is not None:
            log.seek(0)
            raise SystemExit(f"{binary} exited: {log.read().decode(errors='replace')[-2000:]}")
        memory = pss_kib(proc.pid)
    finally:
        proc.kill()
        proc.wait()
        log.seek(0)
        # Without the colour codes a log writer may add around field names.
        text = re.sub(r"\x1b\[[0-9;]*m", "", log.read().decode(errors="replace"))
        log.close()
    root = re.search(r"root component created.*?\bms=(\d+)", text)
    frame = re.search(r"first frame painted.*?\bpainted_ms=(\d+)", text)
    trace = (int(root.group(1)) if root else float("nan"), int(frame.group(1)) if frame else float("nan"))

    def page(name):
        found = re.search(r"first frame painted.*?\b" + name + r"=(-?\d+)", text)
        return int(found.group(1)) if found and int(found.group(1)) >= 0 else float("nan")

    return (startup_ms, memory, painted_ms, trace[0], trace[1],
            page("page_loaded_ms"), page("page_applied_ms"), page("page_painted_ms"), page("page_fcp_ms"))


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    app, bare = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    history = sys.argv[4] if len(sys.argv) > 4 else None
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
        if history:
            results["app"].append(one_run(app, ["--data-dir", history], env))
        else:
            data = tempfile.mkdtemp(prefix="nexus-bench-")
            results["app"].append(one_run(app, ["--data-dir", data], env))
            shutil.rmtree(data, ignore_errors=True)

    def med(name, i):
        return statistics.median(r[i] for r in results[name])

    s_app, s_bare = med("app", 0), med("bare", 0)
    m_app, m_bare = med("app", 1) / 1024, med("bare", 1) / 1024
    p_app, p_bare = med("app", 2), med("bare", 2)
    r_app, r_bare = med("app", 3), med("bare", 3)
    f_app, f_bare = med("app", 4), med("bare", 4)
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    what = f"with the history in {history}" if history else "empty data directory"
    print(f"window start-up and idle memory, median of {rounds} alternated starts each "
          f"({time.strftime('%Y-%m-%d %H:%M')}, load average {load}; app: {what}):")
    print(f"  bare Dioxus window: {s_bare:7.0f} ms mapped, {p_bare:7.0f} ms content painted, {m_bare:6.1f} MB PSS idle")
    print(f"  OpenCode Nexus:     {s_app:7.0f} ms mapped, {p_app:7.0f} ms content painted, {m_app:6.1f} MB PSS idle")
    print(f"  in-process trace since main: root component created {r_bare:.0f} ms (bare) vs {r_app:.0f} ms (app); "
          f"first frame painted {f_bare:.0f} ms vs {f_app:.0f} ms")
    pl_app, pl_bare = med("app", 5), med("bare", 5)
    pa_app, pa_bare = med("app", 6), med("bare", 6)
    pp_app, pp_bare = med("app", 7), med("bare", 7)
    pf_app, pf_bare = med("app", 8), med("bare", 8)
    print(f"  in the page, ms since its navigation: DOMContentLoaded {pl_bare:.0f} vs {pl_app:.0f}; "
          f"first render applied {pa_bare:.0f} vs {pa_app:.0f}; its frame painted {pp_bare:.0f} vs {pp_app:.0f}; "
          f"first contentful paint {pf_bare:.0f} vs {pf_app:.0f}")
    print(f"  content-painted ratio {p_app / p_bare:.2f}x (budget 1.15x); mapped ratio {s_app / s_bare:.2f}x; "
          f"idle memory ratio {m_app / m_bare:.2f}x (budget 1.10x)")


if __name__ == "__main__":
    main()

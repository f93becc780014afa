#!/usr/bin/env python3
"""Reads and edits wasm modules for scripts/build-web.sh.

  wasm_module.py low-memory-unused FILE
      Exits 0 when nothing in the module is placed below 1 KiB of memory (the stack pointer's
      start and every active data segment with a constant offset), which makes wasm-opt's
      `--low-memory-unused` safe for it; 1 otherwise.

  wasm_module.py snip IN OUT PATTERN...
      Replaces the bodies of named functions with `unreachable`, so that wasm-opt then drops
      what only they call: for code a module carries but can never run. Each PATTERN is a
      regular expression over the functions' (mangled) names in the module's name section,
      and must match exactly one function: a pattern that matches none (a toolchain that
      renamed it) or several (one that matches more than was meant) stops the build with a
      message. Run on rustc's output, before wasm-bindgen (which removes the name section).

  wasm_module.py short-imports WASM JS
      Gives the module's imports short names, in the module and in wasm-bindgen's glue that
      supplies them: the glue's one import namespace (`"./NAME_bg.js"`) becomes `"w"` and each
      import (`__wbg_<name>_<16 hex digits>`, a few hundred of them) a name of one to three
      letters. Those long names were stored twice, in the module's import section and as the
      keys of the glue's import object, and the hex digits do not compress. Each name must
      appear exactly once in the glue, as a key of that object (`NAME:`), and the namespace
      exactly once: anything else (another wasm-bindgen layout) stops the build with a
      message. Run on the final module and its glue (after wasm-opt, which keeps import names).

What the browser page snips (scripts/build-web.sh): the printing of a captured backtrace, and
the symbol demangler only it uses. `anyhow` (through Dioxus) formats its errors with their
backtrace, so the formatting code is reachable; but `std::backtrace::Backtrace::capture` reads
RUST_BACKTRACE from the environment, which wasm32-unknown-unknown does not have, so a backtrace
is never captured in the browser and that code never runs.
"""
import re
import sys


def leb(b, i, signed=False):
    r = s = 0
    while True:
        x = b[i]
        i += 1
        r |= (x & 0x7F) << s
        s += 7
        if x < 0x80:
            if signed and x & 0x40:
                r -= 1 << s
            return r, i


def enc(n):
    out = bytearray()
    while True:
        x = n & 0x7F
        n >>= 7
        out.append(x | (0x80 if n else 0))
        if not n:
            return bytes(out)


def sections(b):
    i = 8
    while i < len(b):
        sid = b[i]
        n, j = leb(b, i + 1)
        yield sid, i, j, j + n
        i = j + n


def function_names(b):
    """(index in the function index space, name) from the name section."""
    for sid, _, s, e in sections(b):
        if sid != 0:
            continue
        ln, k = leb(b, s)
        if b[k:k + ln] != b"name":
            continue
        k += ln
        while k < e:
            sub = b[k]
            size, k = leb(b, k + 1)
            end = k + size
            if sub == 1:
                count, k = leb(b, k)
                for _ in range(count):
                    index, k = leb(b, k)
                    n, k = leb(b, k)
                    yield index, b[k:k + n].decode("utf-8", "replace")
                    k += n
            k = end


def imports(b, s):
    """The entries of the import section starting at `s`: (module, field, kind, the offset of
    the entry's description, the offset after it)."""
    count, k = leb(b, s)
    for _ in range(count):
        n, k = leb(b, k)
        module = b[k:k + n].decode()
        k += n
        n, k = leb(b, k)
        field = b[k:k + n].decode()
        k += n
        desc = k
        kind = b[k]
        k += 1
        if kind == 0:  # function: type index
            _, k = leb(b, k)
        elif kind == 1:  # table: reference type, limits
            flags = b[k + 1]
            _, k = leb(b, k + 2)
            if flags & 1:
                _, k = leb(b, k)
        elif kind == 2:  # memory: limits
            flags = b[k]
            _, k = leb(b, k + 1)
            if flags & 1:
                _, k = leb(b, k)
        elif kind == 3:  # global: value type, mutability
            k += 2
        elif kind == 4:  # tag
            _, k = leb(b, k + 1)
        else:
            sys.exit(f"wasm_module: import kind {kind} of {module}.{field} is not known here")
        yield module, field, kind, desc, k


def imported_functions(b):
    """How many functions the module imports (they come first in the index space)."""
    for sid, _, s, _ in sections(b):
        if sid == 2:
            return sum(1 for _, _, kind, _, _ in imports(b, s) if kind == 0)
    return 0


def low_memory_unused(path):
    b = open(path, "rb").read()
    low = []
    for sid, _, s, e in sections(b):
        if sid == 6 and b[s + 3] == 0x41:  # globals: the first, the stack pointer, i32.const
            low.append(leb(b, s + 4, True)[0])
        elif sid == 6:
            low.append(0)
        if sid == 11:  # active data segments with a constant offset
            count, k = leb(b, s)
            for _ in range(count):
                flag, k = leb(b, k)
                if flag != 0:
                    break
                offset, k = leb(b, k + 1, True)
                n, k = leb(b, k + 1)
                k += n
                low.append(offset)
    sys.exit(0 if low and min(low) >= 1024 else 1)


def snip(src, dst, patterns):
    b = open(src, "rb").read()
    assert b[:4] == b"\0asm", f"{src} is not a wasm module"
    imported = imported_functions(b)
    named = [(i, n) for i, n in function_names(b) if i >= imported]
    chosen = {}
    for p in patterns:
        rx = re.compile(p)
        hits = [(i, n) for i, n in named if rx.search(n)]
        if len(hits) != 1:
            sys.exit(f"wasm_module: {p!r} matches {len(hits)} functions, not one: "
                     + ", ".join(n for _, n in hits[:5]))
        i, n = hits[0]
        chosen[i - imported] = n
    (s, _), = [(s, e) for sid, _, s, e in sections(b) if sid == 10]
    count, k = leb(b, s)
    body = bytearray(enc(count))
    for f in range(count):
        size, k2 = leb(b, k)
        # No locals, `unreachable`, `end`: valid whatever the function's type.
        body += enc(3) + b"\x00\x00\x0b" if f in chosen else b[k:k2 + size]
        k = k2 + size
    open(dst, "wb").write(replace_section(b, 10, body))
    for n in chosen.values():
        print(f"[web] snipped {n}", file=sys.stderr)


def short_name(n):
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = letters[n % 52]
    n //= 52
    while n:
        n -= 1
        out = letters[n % 52] + out
        n //= 52
    return out


def short_imports(wasm_path, js_path):
    b = open(wasm_path, "rb").read()
    assert b[:4] == b"\0asm", f"{wasm_path} is not a wasm module"
    js = open(js_path).read()
    ident = r"[A-Za-z0-9_$]"
    found = [s for sid, _, s, _ in sections(b) if sid == 2]
    if not found:
        return
    count, _ = leb(b, found[0])
    body = bytearray(enc(count))
    modules, renamed = set(), {}
    for i, (module, field, _, desc, end) in enumerate(imports(b, found[0])):
        modules.add(module)
        new = short_name(i)
        renamed[field] = new
        body += enc(1) + b"w" + enc(len(new)) + new.encode() + b[desc:end]
    if len(modules) != 1:
        sys.exit(f"wasm_module: the module imports from {sorted(modules)}, not from one namespace")
    (module,) = modules
    key = f'"{module}":'
    if js.count(key) != 1:
        sys.exit(f"wasm_module: the glue names the namespace {key} {js.count(key)} times, not once")
    js = js.replace(key, '"w":')
    for field, new in renamed.items():
        anywhere = re.findall(f"(?<!{ident}){re.escape(field)}(?!{ident})", js)
        as_key = re.compile(f"(?<!{ident}){re.escape(field)}:")
        if len(anywhere) != 1 or len(as_key.findall(js)) != 1:
            sys.exit(f"wasm_module: the import {field} appears {len(anywhere)} times in the glue, not once as a key")
        js = as_key.sub(new + ":", js)
    open(wasm_path, "wb").write(replace_section(b, 2, body))
    open(js_path, "w").write(js)
    print(f"[web] {count} imports renamed in {wasm_path}", file=sys.stderr)


def replace_section(b, wanted, body):
    """The module `b` with the contents of its section `wanted` (a known, unique one) replaced."""
    out = bytearray(b[:8])
    for sid, start, _, e in sections(b):
        out += bytes([sid]) + enc(len(body)) + body if sid == wanted else b[start:e]
    return bytes(out)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "low-memory-unused":
        low_memory_unused(sys.argv[2])
    elif len(sys.argv) >= 5 and sys.argv[1] == "snip":
        snip(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif len(sys.argv) == 4 and sys.argv[1] == "short-imports":
        short_imports(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)

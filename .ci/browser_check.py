#!/usr/bin/env python3
"""Open pages in headless Chromium and check them as a person would see them.

Speaks the Chrome DevTools Protocol over a WebSocket (standard library only). For each page:
navigate, wait for `load`, then fail on
  - console errors, uncaught exceptions and error log entries,
  - links and media sources that name a missing file (every `a[href]`, `img`, `audio`,
    `video`, `source`),
  - pictures that did not decode (`img.naturalWidth == 0` once loaded),
  - media that do not load: each `<audio>`/`<video>` (and each on-demand `data-src` player) is
    asked to load (`preload = auto`, `load()`) and must reach `readyState >= HAVE_METADATA`
    without `error`,
  - a file table that does not filter, sort by size both ways, or play when its button is pressed,
and take a screenshot. Prints one JSON line per page with what it measured (load time, sizes,
media counts) and exits 1 when any page has a problem.

Usage: browser_check.py [--chromium PATH] [--screenshot-dir DIR] [--width PX] [--height PX]
                        [--media-limit N] [--expect-table-rows N] PAGE.html...
"""

import argparse
import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request


class WebSocket:
    """A minimal RFC 6455 client: text frames out (masked), text/continuation frames in."""

    def __init__(self, url):
        u = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=60)
        key = base64.b64encode(os.urandom(16)).decode()
        req = (
            f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(req.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise RuntimeError("DevTools closed the connection during the handshake")
            head += chunk
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status:
            raise RuntimeError(f"DevTools refused the WebSocket: {status!r}")
        self.buf = head.split(b"\r\n\r\n", 1)[1]

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise RuntimeError("DevTools closed the connection")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, text):
        data = text.encode()
        n = len(data)
        if n < 126:
            header = struct.pack("!BB", 0x81, 0x80 | n)
        elif n < 1 << 16:
            header = struct.pack("!BBH", 0x81, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.sock.sendall(header + mask + masked)

    def recv(self):
        message = b""
        while True:
            b0, b1 = self._read(2)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                (n,) = struct.unpack("!H", self._read(2))
            elif n == 127:
                (n,) = struct.unpack("!Q", self._read(8))
            if b1 & 0x80:
                mask = self._read(4)
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(self._read(n)))
            else:
                payload = self._read(n)
            if opcode == 0x8:
                raise RuntimeError("DevTools closed the WebSocket")
            if opcode in (0x9, 0xA):  # ping/pong: ignore
                continue
            message += payload
            if b0 & 0x80:
                return message.decode()


class Cdp:
    def __init__(self, ws):
        self.ws, self.next_id, self.events = ws, 0, []

    def call(self, method, timeout=120, **params):
        self.next_id += 1
        mine = self.next_id
        self.ws.send(json.dumps({"id": mine, "method": method, "params": params}))
        deadline = time.time() + timeout
        while time.time() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mine:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)
        raise RuntimeError(f"{method}: no answer in {timeout} s")

    def wait_event(self, name, timeout=120):
        deadline = time.time() + timeout
        for i, e in enumerate(self.events):
            if e["method"] == name:
                return self.events.pop(i)
        while time.time() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("method") == name:
                return msg
            if "method" in msg:
                self.events.append(msg)
        raise RuntimeError(f"no {name} in {timeout} s")

    def eval(self, expression, timeout=300):
        r = self.call("Runtime.evaluate", timeout=timeout, expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"evaluating a check failed: {r['exceptionDetails']}")
        return r["result"].get("value")


# Collected in the page: every link and source, pictures' state, and each media element loaded.
CHECK_JS = r"""
(async (mediaLimit) => {
  const abs = (u) => new URL(u, document.baseURI).href;
  const links = [...document.querySelectorAll('a[href]')].map(a => abs(a.getAttribute('href')))
    .filter(h => !h.startsWith(location.href.split('#')[0] + '#'));
  const sources = [...document.querySelectorAll('img[src],audio[src],video[src],source[src]')]
    .map(e => abs(e.getAttribute('src')))
    .concat([...document.querySelectorAll('[data-src]')].map(e => abs(e.dataset.src)));
  const imgs = [...document.querySelectorAll('img')];
  imgs.forEach(i => { i.loading = 'eager'; });
  await Promise.all(imgs.map(i => i.complete ? null : new Promise(r => { i.onload = i.onerror = r; })));
  const badImages = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => abs(i.getAttribute('src')));
  // Players that load on demand (a table's play buttons) are checked as audio elements.
  const onDemand = [...document.querySelectorAll('[data-src]')].map(b => {
    const a = new Audio(); a.preload = 'none'; a.src = b.dataset.src; return a; });
  const media = [...document.querySelectorAll('audio,video'), ...onDemand];
  const checked = mediaLimit >= 0 ? media.slice(0, mediaLimit) : media;
  const results = await Promise.all(checked.map(m => new Promise(resolve => {
    const done = () => resolve({src: m.currentSrc || m.src, tag: m.tagName.toLowerCase(), readyState: m.readyState,
                                error: m.error ? (m.error.code + ' ' + (m.error.message || '')) : null,
                                duration: m.duration, videoWidth: m.videoWidth || 0});
    if (m.readyState >= 1 || m.error) return done();
    m.addEventListener('loadedmetadata', done, {once: true});
    m.addEventListener('error', done, {once: true});
    setTimeout(done, 20000);
    m.preload = 'auto';
    m.load();
  })));
  // Use the first table as a person would: filter it, sort it by size both ways, press play.
  const interaction = [];
  const table = document.querySelector('table.sortable');
  if (table) {
    const rows = () => [...table.tBodies[0].rows];
    const visible = () => rows().filter(r => !r.hidden).length;
    const input = document.querySelector('input[data-for="' + table.id + '"]');
    const total = rows().length;
    if (!input) interaction.push('the table has no filter box');
    else {
      const word = rows()[total - 1].cells[2].textContent.trim();
      input.value = word; input.dispatchEvent(new Event('input'));
      const n = visible();
      if (!(n >= 1 && n <= total)) interaction.push(`filtering by ${word} left ${n} of ${total} rows`);
      if (word && rows().some(r => !r.hidden && !r.textContent.toLowerCase().includes(word.toLowerCase())))
        interaction.push(`filtering by ${word} shows rows without it`);
      input.value = ''; input.dispatchEvent(new Event('input'));
      if (visible() !== total) interaction.push('clearing the filter did not show every row');
    }
    const th = [...table.tHead.rows[0].cells].find(c => c.textContent.trim() === 'size');
    const col = th ? th.cellIndex : -1;
    const sizes = () => rows().map(r => Number(r.cells[col].dataset.v));
    if (!th) interaction.push('the table has no size column');
    else {
      th.click();
      const up = sizes();
      if (up.some((v, i) => i > 0 && v < up[i - 1])) interaction.push('sorting by size did not sort ascending');
      th.click();
      const down = sizes();
      if (down.some((v, i) => i > 0 && v > down[i - 1])) interaction.push('sorting by size again did not sort descending');
    }
    const play = table.querySelector('button.play');
    if (play) {
      play.click();
      if (typeof player !== 'undefined' && player.readyState < 1 && !player.error)
        await new Promise(r => {
          player.addEventListener('loadedmetadata', r, {once: true});
          player.addEventListener('error', r, {once: true});
          setTimeout(r, 20000);
        });
      if (typeof player === 'undefined' || player.error || player.readyState < 1)
        interaction.push(`pressing play did not load ${play.dataset.src}`);
      if (typeof player !== 'undefined') player.pause();
    }
  }
  const nav = performance.getEntriesByType('navigation')[0];
  const rows = [...document.querySelectorAll('table.sortable tbody tr')].length;
  return {links, sources, badImages, media: results, mediaTotal: media.length, rows, interaction,
          loadMs: nav ? nav.loadEventEnd - nav.startTime : null,
          domReadyMs: nav ? nav.domContentLoadedEventEnd - nav.startTime : null,
          domNodes: document.getElementsByTagName('*').length,
          height: document.documentElement.scrollHeight,
          mp4: document.createElement('video').canPlayType('video/mp4; codecs="avc1.42E01E, opus"')};
})
"""


def file_of(url):
    u = urllib.parse.urlparse(url)
    return urllib.parse.unquote(u.path) if u.scheme == "file" else None


def check_page(cdp, page, args):
    url = "file://" + urllib.parse.quote(os.path.abspath(page))
    cdp.events.clear()
    t0 = time.time()
    cdp.call("Page.navigate", url=url)
    cdp.wait_event("Page.loadEventFired", timeout=120)
    wall_ms = (time.time() - t0) * 1000
    r = cdp.eval(f"({CHECK_JS})({args.media_limit})")
    problems = []
    for e in cdp.events:
        m, p = e["method"], e.get("params", {})
        if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            problems.append(f"console error: {text}")
        elif m == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            problems.append(f"uncaught exception: {d.get('exception', {}).get('description') or d.get('text')}")
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            entry = p["entry"]
            problems.append(f"error logged: {entry.get('text')} {entry.get('url', '')}".strip())
    for link in sorted(set(r["links"] + r["sources"])):
        path = file_of(link)
        if path is None:
            if not link.startswith(("http:", "https:", "mailto:")):
                continue
            problems.append(f"link leaves the site (the page must work offline): {link}")
        elif not os.path.exists(path):
            problems.append(f"broken link: {link}")
    problems += [f"picture did not load: {s}" for s in r["badImages"]]
    for m in r["media"]:
        if m["error"] or m["readyState"] < 1:
            problems.append(f"{m['tag']} did not load: {m['src']} (readyState {m['readyState']}, error {m['error']})")
    problems += [f"table: {p}" for p in r["interaction"]]
    if args.expect_table_rows is not None and r["rows"] != args.expect_table_rows:
        problems.append(f"expected {args.expect_table_rows} table rows, found {r['rows']}")
    shot = None
    if args.screenshot_dir:
        os.makedirs(args.screenshot_dir, exist_ok=True)
        height = min(r["height"], args.height)
        cdp.call("Emulation.setDeviceMetricsOverride", width=args.width, height=height, deviceScaleFactor=1, mobile=False)
        cdp.call("Runtime.evaluate", expression="window.scrollTo(0,0)")
        time.sleep(0.3)
        data = cdp.call("Page.captureScreenshot", format="png")["data"]
        shot = os.path.join(args.screenshot_dir, os.path.splitext(os.path.basename(page))[0] + ".png")
        with open(shot, "wb") as f:
            f.write(base64.b64decode(data))
        cdp.call("Emulation.clearDeviceMetricsOverride")
    return {
        "page": page, "ok": not problems, "problems": problems, "bytes": os.path.getsize(page),
        "load_ms": r["loadMs"], "dom_ready_ms": r["domReadyMs"], "navigate_ms": round(wall_ms, 1), "dom_nodes": r["domNodes"],
        "table_rows": r["rows"], "media": r["mediaTotal"], "media_checked": len(r["media"]),
        "media_loaded": sum(1 for m in r["media"] if m["readyState"] >= 1 and not m["error"]),
        "videos_with_frames": sum(1 for m in r["media"] if m["tag"] == "video" and m["videoWidth"] > 0),
        "can_play_h264_opus_mp4": r["mp4"], "screenshot": shot,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("pages", nargs="+")
    ap.add_argument("--chromium", default=shutil.which("chromium") or shutil.which("chromium-browser")
                    or shutil.which("google-chrome"))
    ap.add_argument("--screenshot-dir")
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--height", type=int, default=1800, help="most screenshot height (px)")
    ap.add_argument("--media-limit", type=int, default=-1, help="check only the first N media elements")
    ap.add_argument("--expect-table-rows", type=int)
    args = ap.parse_args()
    if not args.chromium:
        print("browser_check: no chromium found (apt-get install chromium)", file=sys.stderr)
        return 2
    for p in args.pages:
        if not os.path.isfile(p):
            print(f"browser_check: {p}: no such page", file=sys.stderr)
            return 2
    profile = tempfile.mkdtemp(prefix="ntsbuild-chromium-")
    cmd = [args.chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--mute-audio",
           "--disable-background-networking", "--remote-debugging-port=0", f"--user-data-dir={profile}",
           "--allow-file-access-from-files", "about:blank"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    failed = False
    try:
        port_file = os.path.join(profile, "DevToolsActivePort")
        deadline = time.time() + 60
        while not (os.path.exists(port_file) and open(port_file).read().count("\n") >= 1):
            if proc.poll() is not None or time.time() > deadline:
                err = proc.stderr.read().decode(errors="replace")[-2000:] if proc.poll() is not None else ""
                print(f"browser_check: chromium did not start: {err}", file=sys.stderr)
                return 2
            time.sleep(0.1)
        port = open(port_file).read().split("\n")[0].strip()
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30))
        page = next(t for t in targets if t["type"] == "page")
        cdp = Cdp(WebSocket(page["webSocketDebuggerUrl"]))
        for domain in ("Page", "Runtime", "Log"):
            cdp.call(f"{domain}.enable")
        for p in args.pages:
            result = check_page(cdp, p, args)
            print(json.dumps(result), flush=True)
            for problem in result["problems"]:
                print(f"{p}: {problem}", file=sys.stderr)
            failed |= not result["ok"]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

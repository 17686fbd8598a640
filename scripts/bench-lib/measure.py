#!/usr/bin/env python3
"""The measuring half of scripts/bench (the bash script starts and stops the processes; this drives them).

Seeds a bench tenant through the admin API, checks every path answers as it should (loudly fails otherwise),
warms up, runs wrk (scripts/bench-lib/wrk.lua) per target and concurrency, measures streaming time to first
byte (scripts/bench-lib/ttfb.mjs), WASM sizes, then prints ONE table and writes the JSON report.

usage: measure.py --platform URL --sim URL --duration S --out FILE [--warmup S] [--pgids 1,2] [--log-dir DIR]
ADMIN_TOKEN comes from the environment (not argv: it would show in ps).
"""
import argparse
import datetime
import glob
import gzip
import json
import os
import platform as pyplatform
import re
import resource
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LIB = os.path.join(ROOT, "scripts", "bench-lib")
BODY = {"model": "bench-model", "messages": [{"role": "user", "content": "Say hello"}], "max_tokens": 16}
SIM_KEY = "sk-bench"
CONCURRENCY = [(1, 1), (16, 2), (64, 2)]  # (connections, wrk threads)
TARGETS = {
    "direct": "POST simulator /v1/chat/completions",
    "through": "POST platform /v1/chat/completions",
    "cached": "POST platform, x-de-cache hit",
    "auth-only": "GET platform /v1/me (diagnostic)",
    "ceiling": "GET platform /health",
}
# Goals of the issue (docs/benchmarks.md).
GOAL_OVERHEAD_P50_MS = 1.0
GOAL_OVERHEAD_P99_MS = 5.0
GOAL_CEILING_SHARE = 0.5
GOAL_WASM_GZIP_BYTES = 1024 * 1024


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def die(msg):
    print(f"[bench] FAILED: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


# ---------------------------------------------------------------- HTTP helpers

def http(method, url, token=None, body=None, headers=None, timeout=30):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def admin(base, token, method, path, body=None, want=(200, 201)):
    status, _, raw = http(method, base + path, token, body)
    if status not in want:
        die(f"{method} {path}: {status} {raw[:500].decode(errors='replace')}")
    return json.loads(raw) if raw else None


def seed(base, token, sim):
    """A fresh tenant: org/instance, provider key at the simulator, a model, a high key-scope limit, a key."""
    org = admin(base, token, "POST", "/admin/orgs", {"name": "Bench", "slug": "bench"})
    ins = admin(base, token, "POST", f"/admin/orgs/{org['id']}/instances", {"name": "Bench", "slug": "bench"})
    iid = ins["id"]
    admin(base, token, "PUT", f"/admin/instances/{iid}/provider-keys/openai",
          {"api_key": SIM_KEY, "base_url": sim + "/v1"})
    admin(base, token, "POST", f"/admin/instances/{iid}/models",
          {"id": "bench-model", "provider": "openai", "upstream_model": "bench-model",
           "input_price_per_mtok": 0.15, "output_price_per_mtok": 0.6})
    # Far above the load, so every request goes through the limiter Durable Object and is admitted.
    # tokens_per_minute: 1e9 is the API's maximum (tenancy::inputs::policy::LIMIT_MAX).
    admin(base, token, "PUT", f"/admin/instances/{iid}/rate-limits/key/*",
          {"requests_per_minute": 100_000_000, "tokens_per_minute": 1_000_000_000})
    key = admin(base, token, "POST", f"/admin/instances/{iid}/keys", {"name": "bench", "scopes": ["generate"]})
    return {"org_id": org["id"], "instance_id": iid, "key_id": key["id"], "api_key": key["secret"]}


# ---------------------------------------------------------------- targets

def targets(platform, sim, api_key):
    chat = json.dumps(BODY, separators=(",", ":"))
    cached = json.dumps({**BODY, "temperature": 0}, separators=(",", ":"))
    return {
        "direct": {"url": sim + "/v1/chat/completions", "method": "POST", "body": chat,
                   "auth": "Bearer " + SIM_KEY, "headers": ""},
        "through": {"url": platform + "/v1/chat/completions", "method": "POST", "body": chat,
                    "auth": "Bearer " + api_key, "headers": ""},
        "cached": {"url": platform + "/v1/chat/completions", "method": "POST", "body": cached,
                   "auth": "Bearer " + api_key, "headers": "x-de-cache: true"},
        "auth-only": {"url": platform + "/v1/me", "method": "GET", "body": "",
                      "auth": "Bearer " + api_key, "headers": ""},
        "ceiling": {"url": platform + "/health", "method": "GET", "body": "", "auth": "", "headers": ""},
    }


def precheck(t):
    """Every target answers 200 with the expected shape before anything is measured; fail loudly otherwise."""
    def call(name, extra=None):
        spec = t[name]
        headers = {"Authorization": spec["auth"]} if spec["auth"] else {}
        for line in filter(None, spec["headers"].split("\n")):
            k, v = line.split(":", 1)
            headers[k.strip()] = v.strip()
        headers.update(extra or {})
        body = json.loads(spec["body"]) if spec["body"] else None
        status, hdrs, raw = http(spec["method"], spec["url"], None, body, headers)
        if status != 200:
            die(f"{name}: {spec['method']} {spec['url']} answered {status}: {raw[:500].decode(errors='replace')}")
        return {k.lower(): v for k, v in hdrs.items()}, raw

    for name in ("direct", "through"):
        _, raw = call(name)
        reply = json.loads(raw)
        if reply.get("object") != "chat.completion" or not reply.get("choices"):
            die(f"{name}: not a chat.completion: {raw[:300]!r}")
    hdrs, _ = call("through")
    if "x-ratelimit-limit-requests" not in hdrs:
        die("through: no x-ratelimit-* headers: the key-scope policy (limiter Durable Object) is not applied")
    call("cached")
    hdrs, _ = call("cached")
    if hdrs.get("x-de-cache") != "hit":
        die(f"cached: the second identical request was not a cache hit (x-de-cache={hdrs.get('x-de-cache')!r})")
    call("auth-only")
    call("ceiling")
    return {"through_overhead_header_ms": hdrs.get("x-de-overhead-ms")}


# ---------------------------------------------------------------- CPU accounting

CLK = os.sysconf("SC_CLK_TCK")


def cpu_total_busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v[:8]) - idle, sum(v[:8])


def cpu_of_groups(pgids):
    """utime+stime (ticks) of every live process in the given process groups (the runner's and the simulator's)."""
    total = 0
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                s = f.read()
        except OSError:
            continue
        fields = s[s.rfind(")") + 2:].split()
        if int(fields[2]) in pgids:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total


class CpuWindow:
    """CPU used during a window: ours (stack + simulator + wrk/node children) vs everything else on the machine."""

    def __init__(self, pgids):
        self.pgids = pgids

    def __enter__(self):
        self.busy0, self.all0 = cpu_total_busy()
        self.ours0 = cpu_of_groups(self.pgids)
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.kids0 = ru.ru_utime + ru.ru_stime
        self.t0 = time.monotonic()
        return self

    def __exit__(self, *exc):
        busy1, all1 = cpu_total_busy()
        ours = (cpu_of_groups(self.pgids) - self.ours0) / CLK
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        kids = ru.ru_utime + ru.ru_stime - self.kids0
        wall = time.monotonic() - self.t0
        busy = (busy1 - self.busy0) / CLK
        self.result = {
            "wall_s": round(wall, 2),
            "machine_busy_cores": round(busy / wall, 2),
            "stack_cores": round(ours / wall, 2),
            "loadgen_cores": round(kids / wall, 2),
            "other_cores": round(max(0.0, busy - ours - kids) / wall, 2),
        }
        return False


def settle(pgids, max_s=20.0):
    """Waits until the stack is idle (background usage writes drained): < 5% of a core for 0.5 s."""
    deadline = time.monotonic() + max_s
    while time.monotonic() < deadline:
        a = cpu_of_groups(pgids)
        time.sleep(0.5)
        if (cpu_of_groups(pgids) - a) / CLK / 0.5 < 0.05:
            return
    log(f"the stack did not go idle within {max_s:.0f} s; measuring anyway")


def machine_idle_share(seconds=1.0):
    b0, a0 = cpu_total_busy()
    time.sleep(seconds)
    b1, a1 = cpu_total_busy()
    return 1.0 - (b1 - b0) / max(1, a1 - a0)


# ---------------------------------------------------------------- wrk

def run_wrk(spec, conns, threads, duration, pgids):
    env = dict(os.environ, BENCH_METHOD=spec["method"], BENCH_BODY=spec["body"], BENCH_AUTH=spec["auth"],
               BENCH_HEADERS=spec["headers"])
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}s", "--timeout", "10s",
           "-s", os.path.join(LIB, "wrk.lua"), spec["url"]]
    with CpuWindow(pgids) as w:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("BENCHJSON ")), None)
    if proc.returncode != 0 or line is None:
        die(f"wrk failed ({proc.returncode}): {proc.stdout}\n{proc.stderr}")
    out = json.loads(line[len("BENCHJSON "):])
    out["cpu"] = w.result
    return out


# ---------------------------------------------------------------- streaming TTFB

def ttfb(url, auth, n):
    body = json.dumps({**BODY, "stream": True}, separators=(",", ":"))
    proc = subprocess.run(["node", os.path.join(LIB, "ttfb.mjs"), "--url", url, "--auth", auth, "--body", body,
                           "-n", str(n), "--warmup", "20"], capture_output=True, text=True)
    if proc.returncode != 0:
        die(f"ttfb {url}: {proc.stderr}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if out["non_200"] or out["not_event_stream"]:
        die(f"ttfb {url}: {out['non_200']} non-200 (first {out['first_bad_status']}), "
            f"{out['not_event_stream']} not text/event-stream")
    return out


# ---------------------------------------------------------------- WASM sizes

def wasm_sizes():
    sizes = []
    for path in sorted(glob.glob(os.path.join(ROOT, "workers", "*", "build", "**", "*.wasm"), recursive=True)):
        raw = open(path, "rb").read()
        sizes.append({"worker": os.path.relpath(path, ROOT).split(os.sep)[1], "path": os.path.relpath(path, ROOT), "raw_bytes": len(raw),
                      "gzip_bytes": len(gzip.compress(raw, compresslevel=9))})
    return sizes


# ---------------------------------------------------------------- meta

def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT).stdout.strip()
    except OSError:
        return ""


def pkg_version(name):
    try:
        with open(os.path.join(ROOT, "node_modules", name, "package.json")) as f:
            return json.load(f)["version"]
    except OSError:
        return None


def meta(duration, idle_before):
    cpu = ""
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    dirty = sh(["git", "status", "--porcelain", "--", "workers", "shared"])
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git_commit": sh(["git", "rev-parse", "--short", "HEAD"]),
        "workers_dirty": bool(dirty),
        "machine": {"cores": os.cpu_count(), "cpu": cpu, "kernel": pyplatform.release(),
                    "idle_share_before": round(idle_before, 2),
                    "loadavg_before": open("/proc/loadavg").read().split()[:3]},
        "runner": f"Miniflare {pkg_version('miniflare')} Node API (workerd {pkg_version('workerd')}), "
                  f"no wrangler dev proxy; worker options from wrangler {pkg_version('wrangler')} "
                  "unstable_getMiniflareWorkerOptions",
        "load_generator": sh(["wrk", "--version"]).splitlines()[0] if sh(["wrk", "--version"]) else "wrk",
        "ttfb_client": "Node node:http, one keep-alive connection, sequential (scripts/bench-lib/ttfb.mjs)",
        "duration_s": duration,
        "same_cores": "load generator, simulator and workerd share the same cores",
    }


# ---------------------------------------------------------------- report

def fmt(x, nd=2):
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{nd}f}"


def render(report):
    rows = []  # (measurement, c, req/s, p50, p99, non-2xx, notes)
    res = {(r["target"], r["connections"]): r for r in report["runs"]}
    checks = report["checks"]
    for conns, _ in CONCURRENCY:
        for name in TARGETS:
            r = res.get((name, conns))
            if not r:
                continue
            errs = r["errors"]
            sock = errs["connect"] + errs["read"] + errs["write"] + errs["timeout"]
            notes = []
            if sock:
                notes.append(f"{sock} socket errors")
            if r["cpu"]["other_cores"] > 0.1:
                notes.append(f"other procs {r['cpu']['other_cores']:.2f} cores")
            if name == "through" and conns == 16:
                notes.append(f"{checks['through_vs_ceiling_c16']['value']:.0%} of ceiling "
                             f"(goal >= {GOAL_CEILING_SHARE:.0%}: {checks['through_vs_ceiling_c16']['verdict']})")
            rows.append((f"{name:<9} {TARGETS[name]}", conns, fmt(r["rps"], 0), fmt(r["latency_ms"]["p50"]),
                         fmt(r["latency_ms"]["p99"]), str(errs["status"]), "; ".join(notes)))
        if conns == 1:
            o = report["overhead_c1_ms"]
            rows.append(("overhead  through - direct", 1, "-", fmt(o["p50"]), fmt(o["p99"]), "-",
                         f"goal p50 <= {GOAL_OVERHEAD_P50_MS:g} ms: {checks['overhead_p50_c1']['verdict']}; "
                         f"p99 <= {GOAL_OVERHEAD_P99_MS:g} ms: {checks['overhead_p99_c1']['verdict']}"))
    t = report["stream_ttfb"]
    for name in ("direct", "through"):
        s = t[name]
        rows.append((f"ttfb      stream {name} (n={s['n']}, sequential)", 1, "-", fmt(s["ttfb_ms"]["p50"]),
                     fmt(s["ttfb_ms"]["p99"]), str(s["non_200"]),
                     f"whole stream p50 {fmt(s['total_ms']['p50'])} ms"))
    rows.append(("ttfb      overhead through - direct", 1, "-", fmt(t["overhead_ms"]["p50"]),
                 fmt(t["overhead_ms"]["p99"]), "-", ""))
    for w in report["wasm"]:
        ok = "ok" if w["gzip_bytes"] <= GOAL_WASM_GZIP_BYTES else "OVER"
        rows.append((f"wasm      {w['worker']}", "-", "-", "-", "-", "-",
                     f"raw {w['raw_bytes']:,} B, gzip -9 {w['gzip_bytes']:,} B (goal <= 1 MiB: {ok})"))
    u = report.get("usage")
    if u:
        rows.append(("usage     rows recorded / through+cached sent", "-", "-", "-", "-", "-",
                     f"{u['recorded']:,} / {u['sent']:,} (avg_overhead_ms reported {fmt(u['avg_overhead_ms'])})"))

    head = ("measurement", "c", "req/s", "p50 ms", "p99 ms", "non-2xx", "notes")
    cols = list(zip(*([head] + [tuple(str(c) for c in r) for r in rows])))
    widths = [max(len(v) for v in col) for col in cols]
    right = {1, 2, 3, 4, 5}

    def line(vals):
        cells = [(v.rjust(w) if i in right else v.ljust(w)) for i, (v, w) in enumerate(zip(vals, widths))]
        return "| " + " | ".join(cells) + " |"

    sep = "|" + "|".join(("-" * (w + 1) + ":") if i in right else ("-" * (w + 2)) for i, w in enumerate(widths)) + "|"
    out = [line(head), sep] + [line(tuple(str(c) for c in r)) for r in rows]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--platform", required=True)
    ap.add_argument("--sim", required=True)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--ttfb-n", type=int, default=200)
    ap.add_argument("--out", required=True)
    ap.add_argument("--pgids", default="")
    ap.add_argument("--mode", default="full")
    args = ap.parse_args()
    token = os.environ.get("ADMIN_TOKEN") or die("ADMIN_TOKEN is not set")
    pgids = {int(p) for p in args.pgids.split(",") if p}

    idle_before = machine_idle_share()
    if idle_before < 0.8:
        log(f"WARNING: the machine is busy before the start ({1 - idle_before:.0%} of the CPU in use by other "
            "processes): figures will be low and noisy")

    log("seeding the bench tenant")
    tenant = seed(args.platform, token, args.sim)
    t = targets(args.platform, args.sim, tenant["api_key"])
    log("checking every path answers 200")
    pre = precheck(t)

    log(f"warming up ({args.warmup} s per path at c=16)")
    for name in TARGETS:
        run_wrk(t[name], 16, 2, args.warmup, pgids)
    settle(pgids)

    runs = []
    for conns, threads in CONCURRENCY:
        for name in TARGETS:
            r = run_wrk(t[name], conns, threads, args.duration, pgids)
            r.update({"target": name, "what": TARGETS[name], "connections": conns, "threads": threads,
                      "url": t[name]["url"]})
            runs.append(r)
            log(f"c={conns:<3} {name:<9} {r['rps']:>9,.0f} req/s  p50 {r['latency_ms']['p50']:.2f} ms  "
                f"p99 {r['latency_ms']['p99']:.2f} ms  non-2xx {r['errors']['status']}  "
                f"cpu stack {r['cpu']['stack_cores']} wrk {r['cpu']['loadgen_cores']} other {r['cpu']['other_cores']}")
            settle(pgids)

    log(f"streaming time to first byte ({args.ttfb_n} sequential requests each)")
    stream = {
        "direct": ttfb(t["direct"]["url"], t["direct"]["auth"], args.ttfb_n),
        "through": ttfb(t["through"]["url"], t["through"]["auth"], args.ttfb_n),
    }
    stream["overhead_ms"] = {p: round(stream["through"]["ttfb_ms"][p] - stream["direct"]["ttfb_ms"][p], 3)
                             for p in ("p50", "p99")}
    settle(pgids)

    # Usage rows are written after each response (waitUntil): how many made it, and the platform's own overhead.
    usage = None
    status, _, raw = http("GET", f"{args.platform}/admin/instances/{tenant['instance_id']}/usage?group_by=model",
                          token)
    if status == 200:
        data = json.loads(raw)["data"]
        recorded = sum(d["requests"] for d in data)
        sent = sum(r["requests"] for r in runs if r["target"] in ("through", "cached"))
        oh = [d.get("avg_overhead_ms") for d in data if d.get("avg_overhead_ms") is not None]
        usage = {"recorded": recorded, "sent": sent, "note": "sent counts measured runs only (not warm-up/checks)",
                 "avg_overhead_ms": oh[0] if len(oh) == 1 else None, "by_model": data}

    res = {(r["target"], r["connections"]): r for r in runs}
    d1, t1 = res[("direct", 1)]["latency_ms"], res[("through", 1)]["latency_ms"]
    overhead = {p: round(t1[p] - d1[p], 3) for p in ("p50", "p90", "p99")}
    share = res[("through", 16)]["rps"] / res[("ceiling", 16)]["rps"]
    wasm = wasm_sizes()
    verdict = lambda ok: "PASS" if ok else "FAIL"  # noqa: E731
    checks = {
        "overhead_p50_c1": {"value": overhead["p50"], "goal": f"<= {GOAL_OVERHEAD_P50_MS} ms",
                            "verdict": verdict(overhead["p50"] <= GOAL_OVERHEAD_P50_MS)},
        "overhead_p99_c1": {"value": overhead["p99"], "goal": f"<= {GOAL_OVERHEAD_P99_MS} ms",
                            "verdict": verdict(overhead["p99"] <= GOAL_OVERHEAD_P99_MS)},
        "through_vs_ceiling_c16": {"value": round(share, 3), "goal": f">= {GOAL_CEILING_SHARE}",
                                   "verdict": verdict(share >= GOAL_CEILING_SHARE)},
        "wasm_gzip": {"value": {w["worker"]: w["gzip_bytes"] for w in wasm}, "goal": "<= 1 MiB each",
                      "verdict": verdict(all(w["gzip_bytes"] <= GOAL_WASM_GZIP_BYTES for w in wasm))},
    }
    m = meta(args.duration, idle_before)
    m["mode"] = args.mode
    m["loadavg_after"] = open("/proc/loadavg").read().split()[:3]
    report = {"meta": m, "body": BODY, "precheck": pre, "runs": runs, "overhead_c1_ms": overhead,
              "stream_ttfb": stream, "wasm": wasm, "usage": usage, "checks": checks}
    table = render(report)
    report["table"] = table

    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)
    stamp = m["date"].replace(":", "").replace("-", "")
    with open(os.path.join(os.path.dirname(args.out), f"run-{stamp}.json"), "w") as f:
        json.dump(report, f, indent=2)

    print()
    print(f"Distributed Electrons benchmark — {m['date']}, {m['machine']['cores']} cores ({m['machine']['cpu']}), "
          f"commit {m['git_commit']}{' + local changes' if m['workers_dirty'] else ''}, {args.duration} s per wrk run")
    print(f"runner: {m['runner']}; load: {m['load_generator']} on the same cores")
    print()
    print(table)
    print()
    other = max(r["cpu"]["other_cores"] for r in runs)
    if idle_before < 0.8 or other > 0.1:
        print(f"WARNING: other processes used up to {other:.2f} cores during the runs "
              f"(idle before start {idle_before:.0%}): these figures are depressed and noisy.")
    print(f"JSON: {os.path.relpath(args.out, ROOT)}")


if __name__ == "__main__":
    main()

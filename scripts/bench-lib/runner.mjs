// Runs the platform's three workers in ONE Miniflare instance (workerd), WITHOUT wrangler's dev proxy, for the
// benchmark (scripts/bench). Bindings come from the wrangler.toml files through wrangler's programmatic
// `unstable_getMiniflareWorkerOptions` (not declared twice here); the modules are the prebuilt
// `build/index.js` + `build/index_bg.wasm` of each worker (nothing is rebuilt); secrets come from `.dev.vars`.
//
//   node scripts/bench-lib/runner.mjs --persist-to DIR [-c CONFIG]... [--port 0] [--host 127.0.0.1] [--log-file FILE]
//                                    [--inspector-port P] [--floor-upstream URL]
//
// The workers: the `-c` configs in order, by default the WORKER_CONFIGS list of scripts/stack (the one list of
// the stack's workers); the first one (the front door) is served on host:port. An assets-only config (no
// `main`) gets wrangler's own no-op user worker, as `wrangler dev` does.
//
// DIR is the same directory `wrangler d1 migrations apply --persist-to DIR` used: state lives in DIR/v3/...
// (wrangler's layout). Prints `ready http://HOST:PORT` once the front door answers GET /health. Stops cleanly
// on SIGINT/SIGTERM. Workers' console output and Miniflare's request log are NOT printed (printing costs
// throughput); console output goes to --log-file when given.
//
// --floor-upstream URL adds the benchmark's floor: two plain JavaScript workers with no logic, reached through
// the same entry worker on `/floor/*` (a Miniflare route): `floor-front` hands the request to `floor-back`
// through a service binding, `floor-back` reads the body, POSTs it to URL/v1/chat/completions and returns the
// answer. The platform's path with nothing of ours in it: what the runtime itself costs for that shape.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare, convertV4MiniflareOptions, NoOpLog } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

// `WORKER_CONFIGS=(a b c)` in scripts/stack: the front door first.
function stackConfigs() {
  const m = /^WORKER_CONFIGS=\(([^)]*)\)/m.exec(fs.readFileSync(path.join(ROOT, "scripts/stack"), "utf8"));
  if (!m) throw new Error("scripts/stack has no WORKER_CONFIGS=(...) line: pass the configs with -c");
  return m[1].trim().split(/\s+/);
}

function parseArgs(argv) {
  const args = {
    port: 0, host: "127.0.0.1", persistTo: null, logFile: null, inspectorPort: null, floorUpstream: null, configs: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
      return argv[++i];
    };
    switch (argv[i]) {
      case "--port": args.port = Number(next()); break;
      case "--host": args.host = next(); break;
      case "--persist-to": args.persistTo = path.resolve(next()); break;
      case "--log-file": args.logFile = path.resolve(next()); break;
      case "--inspector-port": args.inspectorPort = Number(next()); break;
      case "--floor-upstream": args.floorUpstream = next(); break;
      case "-c": case "--config": args.configs.push(next()); break;
      default: throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  if (!args.persistTo) throw new Error("--persist-to DIR is required");
  if (args.configs.length === 0) args.configs = stackConfigs();
  return args;
}

// .dev.vars: KEY=VALUE lines (optionally quoted); comments and blank lines ignored.
function readDevVars(file) {
  const vars = {};
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m || line.trimStart().startsWith("#")) continue;
    let value = m[2];
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    vars[m[1]] = value;
  }
  return vars;
}

// Every .js/.mjs (ES module) and .wasm (compiled module) under build/, the entry (main) first.
function buildModules(main) {
  const buildDir = path.dirname(main);
  const found = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        // worker/shim.mjs only re-exports index.js (kept by worker-build for backwards compatibility).
        if (p !== path.join(buildDir, "worker")) walk(p);
      } else if (/\.m?js$/.test(entry.name)) found.push({ type: "ESModule", path: p });
      else if (entry.name.endsWith(".wasm")) found.push({ type: "CompiledWasm", path: p });
    }
  };
  walk(buildDir);
  if (!found.some((m) => m.path === main)) throw new Error(`${main} is missing: build the workers first`);
  found.sort((a, b) => (a.path === main ? -1 : b.path === main ? 1 : a.path.localeCompare(b.path)));
  return { modulesRoot: buildDir, modules: found };
}

// What `wrangler dev` runs as the user worker of an assets-only config (templates/no-op-worker.js).
function noOpModules() {
  const file = path.join(ROOT, "node_modules/wrangler/templates/no-op-worker.js");
  const contents = fs.existsSync(file)
    ? fs.readFileSync(file, "utf8")
    : 'export default { fetch() { return new Response("Not found", { status: 404 }); } };';
  return { modulesRoot: path.dirname(file), modules: [{ type: "ESModule", path: file, contents }] };
}

function workerOptions(configPath, secrets) {
  const abs = path.resolve(ROOT, configPath);
  const config = unstable_readConfig({ config: abs });
  const { workerOptions: wo, main } = unstable_getMiniflareWorkerOptions(config);
  const { modulesRules: _rules, rootPath, ...rest } = wo;
  if (!main && !wo.assets) throw new Error(`${configPath}: neither main nor [assets]`);
  return {
    name: config.name,
    ...rest,
    rootPath: path.resolve(ROOT, rootPath ?? path.dirname(configPath)),
    ...(main ? buildModules(path.resolve(path.dirname(abs), main)) : noOpModules()),
    bindings: { ...(wo.bindings ?? {}), ...secrets },
    unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
  };
}

// The floor (see the header): the same hops as the platform's path, none of its work.
const FLOOR_FRONT = `export default {
  fetch(request, env) { return env.BACK.fetch(request); },
};`;
const FLOOR_BACK = `export default {
  async fetch(request, env) {
    const body = await request.arrayBuffer();
    const upstream = await fetch(env.UPSTREAM + "/v1/chat/completions", {
      method: "POST",
      headers: { authorization: "Bearer sk-floor", "content-type": "application/json" },
      body,
    });
    return new Response(await upstream.arrayBuffer(), {
      status: upstream.status,
      headers: { "content-type": "application/json" },
    });
  },
};`;

function floorWorkers(upstream, compatibilityDate) {
  const common = { modules: true, compatibilityDate, unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }] };
  return [
    { ...common, name: "floor-front", script: FLOOR_FRONT, routes: ["*/floor/*"], serviceBindings: { BACK: "floor-back" } },
    { ...common, name: "floor-back", script: FLOOR_BACK, bindings: { UPSTREAM: upstream.replace(/\/$/, "") } },
  ];
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const secrets = readDevVars(path.join(ROOT, ".dev.vars"));
  const workers = args.configs.map((c) => workerOptions(c, secrets));
  if (args.floorUpstream) workers.push(...floorWorkers(args.floorUpstream, workers[0].compatibilityDate));

  const logStream = args.logFile ? fs.createWriteStream(args.logFile, { flags: "a" }) : null;
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      rootPath: ROOT,
      host: args.host,
      port: args.port,
      // wrangler's --persist-to DIR layout: DIR/v3/{d1,kv,do,...}
      resourcePersistencePath: path.join(args.persistTo, "v3"),
      resourceTmpPath: path.join(args.persistTo, "tmp"),
      cf: false, // offline: do not fetch the Request.cf blob
      // Profiling: V8 inspector (CPU profiles of each worker; scripts/bench-lib/profile.mjs).
      ...(args.inspectorPort !== null ? { inspectorPort: args.inspectorPort } : {}),
      log: new NoOpLog(),
      logRequests: false,
      handleStructuredLogs: logStream
        ? ({ timestamp, level, message }) => logStream.write(`${new Date(timestamp).toISOString()} ${level} ${message}\n`)
        : () => {},
      workers,
    }),
  );

  let stopping = false;
  const stop = async (code) => {
    if (stopping) return;
    stopping = true;
    try { await mf.dispose(); } catch {}
    logStream?.end();
    process.exit(code);
  };
  process.on("SIGINT", () => stop(0));
  process.on("SIGTERM", () => stop(0));

  const url = await mf.ready;
  const base = `http://${args.host}:${url.port}`;
  // Diagnostic entrances: each worker's own socket, which skips Miniflare's entry worker (the front door's
  // assets router still runs on de-gateway's). Printed before `ready`, one `direct NAME URL` line each.
  for (const w of workers) {
    const direct = await mf.unsafeGetDirectURL(w.name);
    console.log(`direct ${w.name} http://${args.host}:${direct.port}`);
  }
  for (let i = 0; ; i++) {
    try {
      const res = await fetch(`${base}/health`);
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {}
    if (i > 300) { console.error(`runner: ${base}/health never answered 200`); await stop(1); }
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log(`ready ${base}`);
}

main().catch((err) => {
  console.error("runner:", err?.stack ?? err);
  process.exit(1);
});

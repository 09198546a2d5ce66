// The script-facing API, written in the sandbox's own JavaScript over the host bridge: agent, check,
// parallel, pipeline, dag, workflow, phase, log and the file helpers, plus a seeded Math.random. Evaluated once per
// sandbox as a function of (bridge, seed); the bridge itself stays in its closure, out of the script's reach.
export const PRELUDE = String.raw`(function (host, seed) {
  "use strict";
  const g = globalThis;
  const define = (name, value) => Object.defineProperty(g, name, { value, writable: false, enumerable: false, configurable: false });

  // Deterministic randomness (mulberry32): the same seed gives the same sequence on every resume.
  let state = seed >>> 0;
  Math.random = function random() {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  // Built-ins whose one call can run long on a big string or array: QuickJS asks its interrupt handler only every
  // ten thousand steps, so a loop of them could hold OpenCode's thread for minutes. A call on more than LARGE
  // characters or elements (its receiver times its arguments, strings inside small arrays counted) first asks the
  // host whether the script's time is up (it throws then; the run ends with the time limit's message). Small calls
  // skip the question: it costs a host call, and ten thousand of them are quick anyway.
  const tick = host.__tick;
  const LARGE = 1024;
  const isArray = Array.isArray;
  const arraySize = (a) => {
    if (a.length > LARGE) return a.length;
    let n = a.length;
    for (let i = 0; i < a.length; i++) {
      const e = a[i];
      if (typeof e === "string" || isArray(e)) n += e.length;
    }
    return n;
  };
  const sizeOf = (v) => (typeof v === "string" ? v.length : typeof v === "number" ? v : isArray(v) ? arraySize(v) : 1);
  const byContent = (self, rest) => {
    let cost = sizeOf(self);
    for (let i = 0; i < rest.length && cost <= LARGE; i++) cost *= Math.max(1, sizeOf(rest[i]));
    return cost > LARGE;
  };
  const byLength = (self) => self !== null && self !== undefined && self.length > LARGE;
  const always = () => true;
  const guard = (owner, names, large) => {
    for (const name of names) {
      const original = owner[name];
      if (typeof original !== "function") continue;
      const guarded = { [name](...rest) { if (large(this, rest)) tick(); return Reflect.apply(original, this, rest); } }[name];
      Object.defineProperty(owner, name, { value: guarded, writable: true, configurable: true, enumerable: false });
    }
  };
  guard(String.prototype, ["repeat", "padStart", "padEnd", "split", "replace", "replaceAll", "toUpperCase", "toLowerCase", "toLocaleUpperCase", "toLocaleLowerCase", "normalize", "concat", "localeCompare"], byContent);
  guard(Array.prototype, ["join", "toString", "fill", "concat", "flat", "slice", "splice", "toSpliced"], byContent);
  guard(Array.prototype, ["sort", "toSorted", "reverse", "toReversed", "indexOf", "includes", "lastIndexOf", "copyWithin"], byLength);
  guard(String.prototype, ["indexOf", "includes", "lastIndexOf", "slice", "substring"], byLength);
  guard(JSON, ["parse"], (self, rest) => sizeOf(rest[0]) > LARGE);
  guard(JSON, ["stringify"], always);

  const describe = (value) => (typeof value === "string" ? value : (() => { try { return JSON.stringify(value); } catch (e) { return String(value); } })());
  const settleThunk = (thunk, what) => {
    if (typeof thunk !== "function") return Promise.reject(new TypeError(what + " must be a function, got " + typeof thunk));
    try { return Promise.resolve(thunk()); } catch (error) { return Promise.reject(error); }
  };

  function agent(prompt, opts) { return host.agent(prompt, opts === undefined ? null : opts); }

  function parallel(thunks) {
    if (!Array.isArray(thunks)) return Promise.reject(new TypeError("parallel(thunks): thunks must be an array of functions"));
    return Promise.all(thunks.map((thunk, i) => settleThunk(thunk, "parallel(thunks): thunks[" + i + "]")));
  }

  function pipeline(items, ...stages) {
    if (!Array.isArray(items)) return Promise.reject(new TypeError("pipeline(items, ...stages): items must be an array"));
    for (let i = 0; i < stages.length; i++) {
      if (typeof stages[i] !== "function") return Promise.reject(new TypeError("pipeline(items, ...stages): stage " + (i + 1) + " is not a function"));
    }
    return Promise.all(items.map(async (item, index) => {
      let value = item;
      for (const stage of stages) value = await stage(value, index);
      return value;
    }));
  }

  function checkDag(nodes) {
    if (!Array.isArray(nodes)) throw new TypeError("dag(nodes, run): nodes must be an array of { id, deps? }");
    const byId = new Map();
    nodes.forEach((node, i) => {
      if (!node || typeof node !== "object" || typeof node.id !== "string" || node.id === "") throw new TypeError("dag: nodes[" + i + "] needs a non-empty string id");
      if (byId.has(node.id)) throw new TypeError("dag: duplicate node id " + JSON.stringify(node.id));
      if (node.deps !== undefined && (!Array.isArray(node.deps) || node.deps.some((d) => typeof d !== "string"))) throw new TypeError("dag: deps of " + JSON.stringify(node.id) + " must be an array of ids");
      byId.set(node.id, node);
    });
    for (const node of nodes) for (const dep of node.deps || []) {
      if (!byId.has(dep)) throw new TypeError("dag: node " + JSON.stringify(node.id) + " depends on unknown node " + JSON.stringify(dep));
    }
    // Cycle check: repeatedly take nodes whose dependencies are all taken; whatever is left is on a cycle.
    const done = new Set();
    let progressed = true;
    while (progressed) {
      progressed = false;
      for (const node of nodes) if (!done.has(node.id) && (node.deps || []).every((d) => done.has(d))) { done.add(node.id); progressed = true; }
    }
    if (done.size !== nodes.length) throw new TypeError("dag: a cycle among " + nodes.filter((n) => !done.has(n.id)).map((n) => JSON.stringify(n.id)).join(", "));
  }

  function dag(nodes, run) {
    try {
      checkDag(nodes);
      if (typeof run !== "function") throw new TypeError("dag(nodes, run): run must be a function (node, depResults) => result");
    } catch (error) { return Promise.reject(error); }
    return new Promise((resolve, reject) => {
      const results = {};
      const finished = new Set();
      const started = new Set();
      let failed = false;
      const launch = () => {
        if (failed) return;
        if (finished.size === nodes.length) return resolve(results);
        for (const node of nodes) {
          if (started.has(node.id) || !(node.deps || []).every((d) => finished.has(d))) continue;
          started.add(node.id);
          const inputs = {};
          for (const dep of node.deps || []) inputs[dep] = results[dep];
          settleThunk(() => run(node, inputs), "dag run").then((value) => {
            results[node.id] = value;
            finished.add(node.id);
            launch();
          }, (error) => {
            failed = true;
            reject(new Error("dag node " + JSON.stringify(node.id) + " failed: " + (error && error.message ? error.message : String(error))));
          });
        }
      };
      launch();
    });
  }

  function workflow(name, args) { return host.workflow(name, args === undefined ? null : args); }
  function phase(title) { host.phase(describe(title)); }
  function log(...parts) { host.log(parts.map(describe).join(" ")); }

  define("agent", agent);
  define("merge", (changes) => host.merge(changes === undefined ? null : changes));
  define("check", (command, opts) => host.check(command, opts === undefined ? null : opts));
  define("projectChecks", () => host.projectChecks());
  define("parallel", parallel);
  define("pipeline", pipeline);
  define("dag", dag);
  define("workflow", workflow);
  define("phase", phase);
  define("log", log);
  define("readFile", (path) => host.readFile(path));
  define("writeFile", (path, text) => host.writeFile(path, text));
  define("glob", (pattern) => host.glob(pattern));
  define("exists", (path) => host.exists(path));
  define("console", Object.freeze({ log, info: log, warn: log, error: log }));

  // The result must survive JSON: a function, symbol, BigInt or cycle is named with its path instead of vanishing.
  function serialisable(value, path, seen) {
    const type = typeof value;
    if (type === "function" || type === "symbol" || type === "bigint") throw new TypeError("the workflow's result is not serialisable: " + path + " is a " + type);
    if (value === null || type !== "object") return;
    if (seen.has(value)) throw new TypeError("the workflow's result is not serialisable: " + path + " refers back to itself (a cycle)");
    seen.add(value);
    if (Array.isArray(value)) value.forEach((v, i) => serialisable(v, path + "[" + i + "]", seen));
    else for (const key of Object.keys(value)) serialisable(value[key], path + "." + key, seen);
    seen.delete(value);
  }

  define("__continuumRun", async (main, args) => {
    const value = await main(args);
    if (value === undefined) return undefined;
    serialisable(value, "result", new Set());
    return JSON.stringify(value);
  });
})`;

// W1-W7 of WORKLOADS.md for Node.js.
//
//     node node_bench.js W1 [--scale S]
//
// Runs one workload once and prints one JSON line:
// {"workload", "ops", "seconds", "ops_per_sec", "peak_rss_mib", "note"}.
// W1, W2, W6 and W7 hop through the loop with setImmediate (the call_soon
// equivalent); W1-micro, W2-micro, W6-micro and W7-micro use microtasks
// instead. The clock starts on the loop, in the first callback or at the top
// of the first async function, and stops on the loop when completion is
// detected. Counts and checksums are checked when the loop has nothing left
// to do ('beforeExit'); a mismatch exits 1.
'use strict';

const { performance } = require('node:perf_hooks');
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');

const scaled = (n, scale) => Math.max(1, Math.trunc(n * scale));

// A run is what a workload reports: ops, the timed interval, and check()
// which returns an error message or '' once the loop has drained.
class Run {
  constructor(ops, note = '') {
    this.ops = ops;
    this.note = note;
    this.t0 = 0;
    this.t1 = 0;
    this.check = () => '';
  }
  start() { this.t0 = performance.now(); }
  stop() { this.t1 = performance.now(); }
}

// W1: from a running callback, schedule N counting callbacks and a sentinel.
function w1(scale, micro) {
  const n = scaled(1_000_000, scale);
  const run = new Run(n);
  const hop = micro ? queueMicrotask : setImmediate;
  let count = 0;
  const cb = () => { count++; };
  setImmediate(() => {
    run.start();
    for (let i = 0; i < n; i++) hop(cb);
    hop(() => run.stop());
  });
  run.check = () => (count === n ? '' : `counter ${count}, want ${n}`);
  return run;
}

// W2: each callback schedules the next until N have run.
function w2(scale, micro) {
  const n = scaled(1_000_000, scale);
  const run = new Run(n);
  const hop = micro ? queueMicrotask : setImmediate;
  let count = 0;
  const cb = () => {
    count++;
    if (count < n) hop(cb);
    else run.stop();
  };
  setImmediate(() => {
    run.start();
    hop(cb);
  });
  run.check = () => (count === n ? '' : `counter ${count}, want ${n}`);
  return run;
}

// w3Delays returns the W3 delays in ms: a 32-bit LCG from 12345, each
// x/2^32 of 50 ms.
function w3Delays(n) {
  const delays = new Array(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(1664525, x) + 1013904223) >>> 0;
    delays[i] = x / 2 ** 32 * 50;
  }
  return delays;
}

// W3: N setTimeout with the LCG delays, the odd ones cleared.
function w3(scale) {
  const n = scaled(200_000, scale);
  const delays = w3Delays(n);
  const sum = delays.reduce((a, d) => a + d, 0);
  const run = new Run(n + Math.floor(n / 2), `delay_sum_ms=${sum.toFixed(3)}`);
  const want = Math.floor((n + 1) / 2);
  let fired = 0;
  let wrong = 0;
  const cb = (i) => {
    if (i % 2) {
      wrong++;
      return;
    }
    fired++;
    if (fired === want) run.stop();
  };
  setImmediate(() => {
    run.start();
    const hs = new Array(n);
    for (let i = 0; i < n; i++) hs[i] = setTimeout(cb, delays[i], i);
    for (let i = 1; i < n; i += 2) clearTimeout(hs[i]);
  });
  run.check = () => (fired === want && wrong === 0 ? ''
    : `fired ${fired} (want ${want}), cancelled timers fired ${wrong}`);
  return run;
}

// W4: 4 worker threads, released by a gate message once all are ready, each
// post N/4 messages to the main thread.
function w4(scale) {
  const producers = 4;
  const n = scaled(1_000_000, scale);
  const run = new Run(n);
  let count = 0;
  let ready = 0;
  const workers = [];
  const cb = () => {
    count++;
    if (count === n) {
      run.stop();
      for (const w of workers) w.terminate();
    }
  };
  const onReady = () => {
    ready++;
    if (ready < producers) return;
    for (const w of workers) w.removeListener('message', onReady).on('message', cb);
    run.start();
    for (const w of workers) w.postMessage('go');
  };
  for (let p = 0; p < producers; p++) {
    const k = Math.floor(n / producers) + (p < n % producers ? 1 : 0);
    workers.push(new Worker(__filename, { workerData: k }).on('message', onReady));
  }
  run.check = () => (count === n ? '' : `counter ${count}, want ${n}`);
  return run;
}

// producer is a W4 worker: report ready, wait for the gate, post k messages.
function producer(k) {
  parentPort.once('message', () => {
    for (let i = 0; i < k; i++) parentPort.postMessage(0);
  });
  parentPort.postMessage('ready');
}

// W5: create a promise, attach a then-callback, resolve it; N times.
function w5(scale) {
  const n = scaled(1_000_000, scale);
  const run = new Run(n);
  let count = 0;
  let sum = 0;
  const cb = (v) => {
    count++;
    sum += v;
    if (count === n) run.stop();
  };
  setImmediate(() => {
    run.start();
    for (let i = 0; i < n; i++) {
      let res;
      const p = new Promise((r) => { res = r; });
      p.then(cb);
      res(i);
    }
  });
  const want = n * (n - 1) / 2;
  run.check = () => (count === n && sum === want ? ''
    : `counter ${count} sum ${sum}, want ${n} and ${want}`);
  return run;
}

// W6: one async function awaits N promises, each resolved one hop later.
function w6(scale, micro) {
  const n = scaled(200_000, scale);
  const run = new Run(n);
  const resolveLater = micro
    ? (i) => new Promise((r) => queueMicrotask(() => r(i)))
    : (i) => new Promise((r) => setImmediate(r, i));
  let s = 0;
  const main = async () => {
    run.start();
    for (let i = 0; i < n; i++) s += await resolveLater(i);
    run.stop();
    run.note = `${((run.t1 - run.t0) * 1e6 / n).toFixed(0)} ns/await`;
  };
  setImmediate(main);
  const want = n * (n - 1) / 2;
  run.check = () => (s === want ? '' : `sum ${s}, want ${want}`);
  return run;
}

// W7: T async functions each yield 10 times; main awaits them all.
function w7(scale, micro) {
  const t = scaled(100_000, scale);
  const steps = 10;
  const run = new Run(steps * t);
  const sleep0 = micro ? () => null : () => new Promise((r) => setImmediate(r));
  let done = 0;
  const task = async () => {
    for (let k = 0; k < steps; k++) {
      await sleep0();
      done++;
    }
  };
  const main = async () => {
    run.start();
    const tasks = new Array(t);
    for (let i = 0; i < t; i++) tasks[i] = task();
    await Promise.all(tasks);
    run.stop();
  };
  setImmediate(main);
  run.check = () => (done === steps * t ? '' : `steps ${done}, want ${steps * t}`);
  return run;
}

const WORKLOADS = {
  W1: (s) => w1(s, false), 'W1-micro': (s) => w1(s, true),
  W2: (s) => w2(s, false), 'W2-micro': (s) => w2(s, true),
  W3: w3,
  W4: w4,
  W5: w5,
  W6: (s) => w6(s, false), 'W6-micro': (s) => w6(s, true),
  W7: (s) => w7(s, false), 'W7-micro': (s) => w7(s, true),
};

function main(argv) {
  const name = argv[0];
  let scale = 1;
  const i = argv.indexOf('--scale');
  if (i >= 0) scale = Number(argv[i + 1]);
  if (!(name in WORKLOADS) || !(scale > 0)) {
    console.error(`usage: node node_bench.js {${Object.keys(WORKLOADS).join(',')}} [--scale S]`);
    process.exitCode = 2;
    return;
  }
  const run = WORKLOADS[name](scale);
  process.once('beforeExit', () => {
    let err = run.check();
    if (!err && run.t1 === 0) err = 'completion was never detected';
    if (err) {
      console.error(`node_bench: ${name}: ${err}`);
      process.exitCode = 1;
      return;
    }
    const seconds = (run.t1 - run.t0) / 1000;
    process.stdout.write(JSON.stringify({
      workload: name,
      ops: run.ops,
      seconds,
      ops_per_sec: run.ops / seconds,
      peak_rss_mib: process.resourceUsage().maxRSS / 1024,
      note: run.note,
    }) + '\n');
  });
}

if (isMainThread) main(process.argv.slice(2));
else producer(workerData);

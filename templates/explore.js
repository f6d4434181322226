/* symgd's explorer: runs symgd's optimizers on f in the page. DATA (the settings, the
   optimizers of symgd's registry, the words of each status and outcome and the script's own
   words, all in the page's language) and MODEL (f, its
   gradient and Hessian, printed from the exact expressions by SymPy) are defined above. The
   arithmetic follows symgd.descend operation by operation; window.symgd.run is the API. */

// -- numeric helpers: the formulas of symgd.expr.lambdify; in strict mode they throw where
//    Python's math raises (DOMAIN: a value outside the function's domain; OVERFLOW)
const DOMAIN = { kind: "domain" };
const OVERFLOW = { kind: "overflow" };
let STRICT = false;
function _fin(v) { return Number.isFinite(v); }
function _big(r, a) { if (STRICT && !_fin(r) && _fin(a)) { throw OVERFLOW; } return r; }
function _div(a, b) { if (STRICT && b === 0) { throw DOMAIN; } return a / b; }
function _pow(a, b) {
  if (STRICT && _fin(a) && _fin(b)) {
    if (a === 0 && b < 0) { throw DOMAIN; }
    if (a < 0 && !Number.isInteger(b)) { throw DOMAIN; }
  }
  const r = Math.pow(a, b);
  if (STRICT && !_fin(r) && _fin(a) && _fin(b)) { throw OVERFLOW; }
  return r;
}
function _sqrt(a) { if (STRICT && a < 0) { throw DOMAIN; } return Math.sqrt(a); }
function _log(a) { if (STRICT && a <= 0) { throw DOMAIN; } return Math.log(a); }
function _exp(a) { return _big(Math.exp(a), a); }
function _sinh(a) { return _big(Math.sinh(a), a); }
function _cosh(a) { return _big(Math.cosh(a), a); }
function _asin(a) { if (STRICT && Math.abs(a) > 1) { throw DOMAIN; } return Math.asin(a); }
function _acos(a) { if (STRICT && Math.abs(a) > 1) { throw DOMAIN; } return Math.acos(a); }
function _acosh(a) { if (STRICT && a < 1) { throw DOMAIN; } return Math.acosh(a); }
function _atanh(a) { if (STRICT && Math.abs(a) >= 1) { throw DOMAIN; } return Math.atanh(a); }
function _cot(z) { return _div(Math.cos(z), Math.sin(z)); }
function _sec(z) { return _div(1.0, Math.cos(z)); }
function _csc(z) { return _div(1.0, Math.sin(z)); }
function _coth(z) { return _div(1.0, Math.tanh(z)); }
function _sech(z) { return _div(1.0, _cosh(z)); }
function _csch(z) { return _div(1.0, _sinh(z)); }
function _acot(z) { return Math.atan(_div(1.0, z)); }
function _asec(z) { return _acos(_div(1.0, z)); }
function _acsc(z) { return _asin(_div(1.0, z)); }
function _acoth(z) { return _atanh(_div(1.0, z)); }
function _sign(z) { return z === 0 ? 0.0 : (z < 0 || Object.is(z, -0) ? -1.0 : 1.0); }
function _max() { let r = arguments[0]; for (let i = 1; i < arguments.length; i++) { if (arguments[i] > r) { r = arguments[i]; } } return r; }
function _min() { let r = arguments[0]; for (let i = 1; i < arguments.length; i++) { if (arguments[i] < r) { r = arguments[i]; } } return r; }
function _sigmoid(z) {
  if (z >= 0) { return 1.0 / (1.0 + Math.exp(-z)); }
  const ez = Math.exp(z);
  return ez / (1.0 + ez);
}
function _softplus(z) { return (0.0 > z ? 0.0 : z) + Math.log1p(Math.exp(-Math.abs(z))); }
function _relu(z) { return z > 0 ? z : 0.0; }
function _leaky_relu(z, slope) { return z > 0 ? z : (slope === undefined ? 0.01 : slope) * z; }
function _heaviside(z, h) { return z > 0 ? 1.0 : (z === 0 ? (h === undefined ? 0.0 : h) : 0.0); }
function _dirac() { return 0.0; }

const N = DATA.names.length;
const RUNAWAY = DATA.runaway;
const EPS = Math.pow(2, -52);
const METHODS = {};
DATA.methods.forEach(function (m) { METHODS[m.name] = m; });

function evalF(x) { return N === 1 ? MODEL.f(x[0]) : MODEL.f(x[0], x[1]); }
function evalG(x) { return N === 1 ? MODEL.grad(x[0]) : MODEL.grad(x[0], x[1]); }
function evalH(x) { return N === 1 ? MODEL.hess(x[0]) : MODEL.hess(x[0], x[1]); }
function plain(fn, x) { STRICT = false; return fn(x); }
function norm(g) { let s = 0; for (let i = 0; i < g.length; i++) { s += g[i] * g[i]; } return Math.sqrt(s); }
function rowmax(a) { let r = a.length ? a[0] : 0; for (let i = 1; i < a.length; i++) { r = Math.max(r, a[i]); } return r; }
function absmax(a) { return rowmax(a.map(Math.abs)); }
function gap(a, b) { return absmax(a.map(function (v, i) { return v - b[i]; })); }

// -- the update rules of symgd.numeric.optimizers, in the same order of operations
const RULES = {
  gd: function (g, b, t, c) { return [g.map(function (gi) { return (-c.lr) * gi; }), b]; },
  ascent: function (g, b, t, c) { return [g.map(function (gi) { return c.lr * gi; }), b]; },
  momentum: function (g, b, t, c) {
    const buf = g.map(function (gi, i) { return b[0][i] * c.momentum + gi; });
    return [buf.map(function (v) { return (-c.lr) * v; }), [buf]];
  },
  nesterov: function (g, b, t, c) {
    const buf = g.map(function (gi, i) { return b[0][i] * c.momentum + gi; });
    return [g.map(function (gi, i) { return (-c.lr) * (gi + c.momentum * buf[i]); }), [buf]];
  },
  adagrad: function (g, b, t, c) {
    const total = g.map(function (gi, i) { return b[0][i] + gi * gi; });
    const clr = c.lr_decay !== 0 ? c.lr / ((t - 1) * c.lr_decay + 1) : c.lr;
    const step = g.map(function (gi, i) { return (-clr) * _div(gi, Math.sqrt(total[i]) + c.eps); });
    return [step, [total]];
  },
  rmsprop: function (g, b, t, c) {
    const oneMinus = 1 - c.alpha;
    const avgSq = g.map(function (gi, i) { return b[0][i] * c.alpha + (oneMinus * gi) * gi; });
    const avg = avgSq.map(function (v) { return Math.sqrt(v) + c.eps; });
    if (c.momentum > 0) {
      const buf = g.map(function (gi, i) { return b[1][i] * c.momentum + _div(gi, avg[i]); });
      return [buf.map(function (v) { return (-c.lr) * v; }), [avgSq, buf]];
    }
    return [g.map(function (gi, i) { return (-c.lr) * _div(gi, avg[i]); }), [avgSq, b[1]]];
  },
  adam: function (g, b, t, c) {
    const w = 1 - c.beta1;
    const m = g.map(function (gi, i) {
      const diff = gi - b[0][i];
      return Math.abs(w) < 0.5 ? b[0][i] + w * diff : gi - diff * (1 - w);
    });
    const oneMinus2 = 1 - c.beta2;
    const s = g.map(function (gi, i) { return b[1][i] * c.beta2 + (oneMinus2 * gi) * gi; });
    const stepSize = c.lr / (1 - Math.pow(c.beta1, t));
    const bias2Sqrt = Math.pow(1 - Math.pow(c.beta2, t), 0.5);
    const step = m.map(function (mi, i) {
      return (-stepSize) * _div(mi, _div(Math.sqrt(s[i]), bias2Sqrt) + c.eps);
    });
    return [step, [m, s]];
  }
};

function initialBuffers(method, hyper) {
  const zeros = function () { return new Array(N).fill(0.0); };
  if (method === "adagrad") { return [new Array(N).fill(hyper.initial_accumulator_value)]; }
  if (method === "momentum" || method === "nesterov") { return [zeros()]; }
  if (method === "rmsprop" || method === "adam") { return [zeros(), zeros()]; }
  return [];
}

// -- Newton's step: numpy's solve (LU with partial pivoting) and the singular test
function newtonSingular(h) {
  if (!h.every(function (row) { return row.every(_fin); })) { return true; }
  if (N === 1) { const s = Math.abs(h[0][0]); return !(s * 1e15 > s); }
  const a = h[0][0], b = h[0][1], c = h[1][0], d = h[1][1];
  const p = Math.hypot(a + d, b - c), q = Math.hypot(a - d, b + c);
  const largest = 0.5 * (p + q);
  const smallest = largest > 0 ? Math.abs(a * d - b * c) / largest : 0;
  return !(smallest * 1e15 > largest);
}
function solve(h, g) {
  if (N === 1) { return [g[0] / h[0][0]]; }
  let a = h[0][0], b = h[0][1], c = h[1][0], d = h[1][1], g0 = g[0], g1 = g[1];
  if (Math.abs(c) > Math.abs(a)) { [a, b, c, d, g0, g1] = [c, d, a, b, g1, g0]; }
  const l = c * (1 / a);
  const x1 = (g1 - l * g0) / (d - l * b);
  return [(g0 - x1 * b) / a, x1];
}

// -- a run: symgd.descend's stop rules (converged, max_steps, diverged, domain, singular)
function hyperValues(method, given) {
  const spec = METHODS[method];
  const values = {};
  spec.hyper.forEach(function (h) {
    values[h.name] = given[h.name] === undefined ? h.default : Number(given[h.name]);
  });
  return values;
}

// the page's words (DATA.words, in the page's language): a template's {name} filled from values
function fill(template, values) {
  const value = function (whole, name) { return values && values[name] !== undefined ? String(values[name]) : whole; };
  return String(template).replace(/\{(\w+)\}/g, value);
}
function say(key, values) { return fill(DATA.words[key], values); }

function checkSettings(o) {
  const spec = METHODS[o.method];
  if (!spec) { return say("unknownMethod", { method: String(o.method) }); }
  if (!(o.lr > 0) || !_fin(o.lr)) { return say("badRate"); }
  if (!Number.isInteger(o.steps) || o.steps < 0 || o.steps > DATA.maxSteps) {
    return say("badSteps", { max: DATA.maxSteps });
  }
  if (!Array.isArray(o.start) || o.start.length !== N || !o.start.every(_fin)) {
    return say("badStart", { n: N });
  }
  for (const h of spec.hyper) {
    const v = o.hyper[h.name];
    if (!_fin(v) || v < 0 || (h.below_one && v >= 1)) { return say("badHyper", { name: h.name, allowed: h.words }); }
  }
  if (o.method === "nesterov" && !(o.hyper.momentum > 0)) { return say("nesterov"); }
  return "";
}

function firstStop(x, f, gn, tol, squared) {
  const bad = !x.every(_fin) || x.some(function (v) { return Math.abs(v) > RUNAWAY; }) ||
    !_fin(f) || Math.abs(f) > RUNAWAY || !_fin(gn);
  if (bad) { return "diverged"; }
  return (squared ? gn * gn < tol * tol : gn < tol) ? "converged" : "";
}

function strictError(x) {
  STRICT = true;
  try { evalF(x); evalG(x); return null; } catch (e) { return e; } finally { STRICT = false; }
}

function descend(o) {
  const spec = METHODS[o.method];
  const c = Object.assign({ lr: o.lr }, o.hyper);
  const xs = [], fs = [], gns = [];
  let x = o.start.slice(), buffers = initialBuffers(o.method, o.hyper), status = "max_steps";
  for (let k = 0; ; k++) {
    const f = plain(evalF, x), g = plain(evalG, x), gn = norm(g);
    xs.push(x); fs.push(f); gns.push(gn);
    const stop = firstStop(x, f, gn, o.tol, spec.newton);
    if (stop) { status = stop; break; }
    if (k >= o.steps) { break; }
    let step;
    if (spec.newton) {
      const h = plain(evalH, x);
      if (newtonSingular(h)) { status = "singular"; break; }
      step = solve(h, g).map(function (d) { return (-o.lr) * d; });
    } else {
      try {
        STRICT = true;
        const gs = evalG(x);
        const out = RULES[o.method](gs, buffers, k + 1, c);
        step = out[0]; buffers = out[1];
      } catch (e) { status = "diverged"; break; } finally { STRICT = false; }
    }
    x = x.map(function (v, i) { return v + step[i]; });
  }
  const last = xs[xs.length - 1];
  if (status === "diverged" && last.every(function (v) { return _fin(v) && Math.abs(v) <= RUNAWAY; }) &&
      !(_fin(fs[fs.length - 1]) && _fin(gns[gns.length - 1])) && strictError(last) === DOMAIN) {
    status = "domain";
  }
  return { xs: xs, fs: fs, grad_norms: gns, status: status, steps: xs.length - 1 };
}

// -- the outcome: the rules of symgd.numeric.outcomes for one run
function symmetricEigen(h) {
  if (N === 1) { return { values: [h[0][0]], vectors: [[1]] }; }
  const a = h[0][0], b = 0.5 * (h[0][1] + h[1][0]), d = h[1][1];
  const mean = 0.5 * (a + d), radius = Math.hypot(0.5 * (a - d), b);
  const angle = 0.5 * Math.atan2(2.0 * b, a - d), cs = Math.cos(angle), sn = Math.sin(angle);
  return { values: [mean - radius, mean + radius], vectors: [[-sn, cs], [cs, sn]] };
}
function newtonStep(x) {
  const g = plain(evalG, x), h = plain(evalH, x);
  const finite = g.every(_fin) && h.every(function (r) { return r.every(_fin); });
  const safe = finite ? h : h.map(function (r) { return r.map(function () { return 0.0; }); });
  const e = symmetricEigen(safe), lam = e.values, v = e.vectors;
  const largest = Math.max(Math.abs(lam[0]), Math.abs(lam[N - 1]));
  const sg = finite ? g : g.map(function () { return 0.0; });
  const along = lam.map(function (l, i) {
    let s = 0; for (let j = 0; j < N; j++) { s += v[j][i] * sg[j]; }
    return Math.abs(l) > 1e-8 * largest ? s * (1.0 / l) : s * 0.0;
  });
  const step = x.map(function (_, i) {
    let s = 0; for (let j = 0; j < N; j++) { s += v[i][j] * along[j]; }
    return -s;
  });
  return { g: g, values: lam, step: step, usable: finite };
}
function kind(values) {
  const low = values[0], high = values[N - 1], largest = Math.max(Math.abs(low), Math.abs(high));
  const zero = 1e-8 * largest;
  if (high > zero && low < -zero) { return "saddle"; }
  if (low > zero && largest > 0) { return "minimum"; }
  if (high < -zero && largest > 0) { return "maximum"; }
  return "degenerate";
}
function criticalPoint(x, scale, near, iterate) {
  const s = newtonStep(x), gnorm = norm(s.g), size = absmax(s.step);
  if (s.usable && (gnorm === 0 || size <= 64 * EPS * absmax(x))) { return kind(s.values); }
  if (s.usable && size <= near * scale) {
    const after = plain(evalG, x.map(function (v, i) { return v + s.step[i]; }));
    if (norm(after) <= 1e-3 * gnorm) { return kind(s.values); }
    return iterate ? newtonTail(x, s.step, scale, near) : "flat";
  }
  return !s.usable && _fin(gnorm) ? "degenerate" : "flat";
}
function newtonTail(x, first, scale, near) {
  let travelled = absmax(first), previous = travelled, ratio = Infinity;
  let y = x.map(function (v, i) { return v + first[i]; });
  for (let it = 0; it < 6; it++) {
    const s = newtonStep(y), size = absmax(s.step);
    if (!(s.usable && _fin(size))) { return "flat"; }
    if (norm(s.g) === 0 || size <= 64 * EPS * absmax(y)) {
      return travelled <= near * scale ? kind(s.values) : "flat";
    }
    ratio = size / (previous > 0 ? previous : Infinity);
    travelled += size; previous = size;
    y = y.map(function (v, i) { return v + s.step[i]; });
  }
  const bounded = Math.min(ratio, 0.9);
  const distance = travelled + previous * bounded / (1.0 - bounded);
  return ratio <= 0.9 && distance <= near * scale ? "degenerate" : "flat";
}
function findCycle(tail) {
  const L = tail.length, steps = [];
  for (let i = 0; i + 1 < L; i++) { steps.push(gap(tail[i + 1], tail[i])); }
  if (L < 2) { return { period: 0, stalled: false }; }
  const rounding = 64 * EPS * absmax(tail[L - 1]);
  const stalled = L >= 3 && steps[L - 2] <= rounding && steps[L - 3] <= rounding;
  const largest = [];
  let running = -Infinity;
  for (let k = steps.length - 1; k >= 0; k--) { running = Math.max(running, steps[k]); largest.push(running); }
  for (let p = 2; p <= 8 && 2 * p <= L; p++) {
    const amplitude = largest[2 * p - 2], bound = 1e-6 * amplitude;
    if (!(amplitude > rounding)) { continue; }
    let close = true;
    for (let j = 0; j < p && close; j++) { close = gap(tail[L - 1 - j], tail[L - 1 - j - p]) <= bound; }
    if (close) { return { period: p, stalled: false }; }
  }
  return { period: 0, stalled: stalled };
}
function outcomeOf(run, minimizes) {
  const xs = run.xs, x0 = xs[0], last = xs[xs.length - 1], status = run.status;
  if (status === "domain" || status === "singular") { return { outcome: status }; }
  if (status === "diverged") {
    const sign = minimizes ? 1.0 : -1.0, fl = run.fs[run.fs.length - 1];
    const fell = sign * fl < -RUNAWAY && sign * fl < sign * run.fs[0];
    return { outcome: fell ? "unbounded" : "diverged" };
  }
  const size = absmax(last), moved = gap(last, x0);
  const scale = Math.max(Number.isNaN(size) ? 1.0 : size, Number.isNaN(moved) ? 1.0 : moved, 1.0);
  if (status === "converged") { return { outcome: criticalPoint(last, scale, 0.05, true) }; }
  const tail = xs.slice(-16), cycle = findCycle(tail);
  if (cycle.period) { return { outcome: "cycle", cycle_period: cycle.period }; }
  if (cycle.stalled) { return { outcome: criticalPoint(last, scale, 0.05, true) }; }
  if (tail.length >= 2 && gap(tail[tail.length - 1], tail[tail.length - 2]) > 1e-3 * scale) {
    return { outcome: "unfinished" };
  }
  const found = criticalPoint(last, scale, 1e-6, false);
  return { outcome: ["minimum", "maximum", "saddle"].indexOf(found) >= 0 ? found : "unfinished" };
}

function run(options) {
  const o = options || {};
  const method = String(o.method || "gd");
  const spec = METHODS[method];
  const given = {};
  if (spec) { spec.hyper.forEach(function (h) { if (o[h.name] !== undefined) { given[h.name] = o[h.name]; } }); }
  const settings = {
    method: method,
    lr: o.lr === undefined && spec ? spec.defaultLr : Number(o.lr),
    steps: o.steps === undefined ? 100 : Number(o.steps),
    start: typeof o.start === "number" ? [o.start] : (o.start || []).map(Number),
    tol: o.tol === undefined ? DATA.tol : Number(o.tol),
    hyper: spec ? hyperValues(method, given) : {}
  };
  const problem = checkSettings(settings);
  if (problem) { throw new RangeError(problem); }
  const result = descend(settings);
  return Object.assign(result, outcomeOf(result, spec.minimizes), {
    method: method, lr: settings.lr, hyperparameters: settings.hyper
  });
}
window.symgd = Object.freeze({ run: run });

// -- the page: controls, stage, charts, the URL fragment and the command line
const root = document.getElementById("explore-root");
if (root) { setUp(root); }

function setUp(el) {
  const q = function (name) { return el.querySelector("[data-x=" + name + "]"); };
  const live = q("live"), stage = q("stage"), marker = q("marker"), chart = q("chart");
  const select = q("method"), lrRange = q("lr-range"), lrBox = q("lr"), stepsRange = q("steps-range");
  const stepsBox = q("steps"), hyperBox = q("hyper"), said = q("outcome"), command = q("command");
  const lesson = DATA.lesson, lo = DATA.region.lo, hi = DATA.region.hi;
  const exponent = Math.floor(Math.log10(lesson.lr));
  let state = null, background = null, last = null, sizes = null;
  live.hidden = false;
  el.classList.add("explore-js");
  DATA.methods.forEach(function (m) {
    const option = document.createElement("option");
    option.value = m.name; option.textContent = m.label; select.appendChild(option);
  });
  lrRange.min = String(exponent - 3); lrRange.max = String(exponent + 2); lrRange.step = "0.01";
  stepsRange.min = "1"; stepsRange.max = String(DATA.sliderSteps); stepsBox.max = String(DATA.maxSteps);

  function fromLesson() {
    return { method: lesson.method, lr: lesson.lr, steps: lesson.steps, start: lesson.start.slice(),
      hyper: hyperValues(lesson.method, {}) };
  }
  function fromHash() {
    const text = decodeURIComponent(location.hash || "");
    if (text.indexOf("#explore:") !== 0) { return null; }
    const s = fromLesson(), given = {};
    text.slice(9).split("&").forEach(function (pair) {
      const cut = pair.indexOf("="), key = pair.slice(0, cut), value = pair.slice(cut + 1);
      if (key === "method" && METHODS[value]) { s.method = value; }
      else if (key === "start") {
        const p = value.split(",").map(Number);
        if (p.length === N && p.every(_fin)) { s.start = p; }
      } else if (key === "lr" && Number(value) > 0 && _fin(Number(value))) { s.lr = Number(value); }
      else if (key === "steps" && Number.isInteger(Number(value)) && Number(value) >= 0) {
        s.steps = Math.min(Number(value), DATA.maxSteps);
      } else if (key && _fin(Number(value))) { given[key] = Number(value); }
    });
    s.hyper = hyperValues(s.method, given);
    return s;
  }
  function hyperInputs() {
    hyperBox.textContent = "";
    METHODS[state.method].hyper.filter(function (h) { return h.common; }).forEach(function (h) {
      const label = document.createElement("label"), input = document.createElement("input");
      label.textContent = h.symbol + " (" + h.meaning + ") ";
      input.type = "number"; input.step = "any"; input.min = "0";
      if (h.below_one) { input.max = "0.999999"; }
      input.value = String(state.hyper[h.name]);
      input.addEventListener("input", function () {
        if (input.value !== "" && _fin(Number(input.value))) { state.hyper[h.name] = Number(input.value); update(); }
      });
      label.appendChild(input); hyperBox.appendChild(label);
    });
  }
  function show(s) {
    state = s;
    select.value = s.method; lrBox.value = String(s.lr); lrRange.value = String(Math.log10(s.lr));
    stepsBox.value = String(s.steps); stepsRange.value = String(Math.min(s.steps, DATA.sliderSteps));
    hyperInputs(); update();
  }
  select.addEventListener("change", function () {
    state.method = select.value; state.hyper = hyperValues(state.method, {}); hyperInputs(); update();
  });
  lrRange.addEventListener("input", function () {
    state.lr = Number(Math.pow(10, Number(lrRange.value)).toPrecision(3)); lrBox.value = String(state.lr); update();
  });
  lrBox.addEventListener("input", function () {
    const v = Number(lrBox.value);
    if (v > 0 && _fin(v)) { state.lr = v; lrRange.value = String(Math.log10(v)); update(); }
  });
  stepsRange.addEventListener("input", function () { state.steps = Number(stepsRange.value); stepsBox.value = stepsRange.value; update(); });
  stepsBox.addEventListener("input", function () {
    const v = Number(stepsBox.value);
    if (Number.isInteger(v) && v >= 0 && v <= DATA.maxSteps) { state.steps = v; stepsRange.value = String(Math.min(v, DATA.sliderSteps)); update(); }
  });
  q("reset").addEventListener("click", function () { show(fromLesson()); });
  q("copy").addEventListener("click", function () {
    const text = command.textContent, note = q("copied");
    const done = function (ok) { note.textContent = say(ok ? "copied" : "copyByHand"); };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(false); });
    } else { done(false); }
  });
  marker.addEventListener("keydown", function (e) {
    const moves = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowDown: [1, -1], ArrowUp: [1, 1] };
    const m = moves[e.key];
    if (!m) { return; }
    e.preventDefault();
    const axis = N === 1 ? 0 : m[0], size = (hi[axis] - lo[axis]) / (e.shiftKey ? 10 : 100);
    state.start[axis] = Number((state.start[axis] + m[1] * size).toPrecision(6));
    update();
  });
  stage.addEventListener("click", function (e) {
    const box = stage.getBoundingClientRect();
    const u = (e.clientX - box.left) / box.width, v = (e.clientY - box.top) / box.height;
    const p = [lo[0] + u * (hi[0] - lo[0])];
    if (N === 2) { p.push(hi[1] - v * (hi[1] - lo[1])); }
    state.start = p.map(function (c) { return Number(c.toPrecision(4)); });
    update();
  });
  // widths are measured once and on resize: reading them after each change would lay out
  // the whole page again
  function measure() { sizes = [stage.parentNode.clientWidth, chart.parentNode.clientWidth]; }
  window.addEventListener("resize", function () { measure(); background = null; draw(); });
  window.addEventListener("hashchange", function () { const s = fromHash(); if (s) { show(s); } });

  let opening = true;
  function update() {
    const options = Object.assign({ method: state.method, lr: state.lr, steps: state.steps, start: state.start }, state.hyper);
    try { last = run(options); } catch (err) { last = null; said.textContent = String(err.message); }
    draw(); describe(); remember();
  }
  function describe() {
    if (!last) { return; }
    const end = last.xs[last.xs.length - 1], n = last.steps;
    const words = DATA.words, outcome = words.outcomes[last.outcome] || last.outcome;
    said.textContent = fill(words.said[n === 1 ? 0 : 1], {
      status: words.statuses[last.status] || last.status, n: n,
      outcome: last.cycle_period ? say("cycle", { outcome: outcome, period: last.cycle_period }) : outcome,
      words: DATA.outcomes[last.outcome], point: end.map(function (v) { return fmt(v); }).join(", "),
      f: fmt(last.fs[n]), grad: fmt(last.grad_norms[n]) });
  }
  function remember() {
    const parts = ["method=" + state.method, "lr=" + state.lr, "steps=" + state.steps, "start=" + state.start.join(",")];
    METHODS[state.method].hyper.forEach(function (h) { parts.push(h.name + "=" + state.hyper[h.name]); });
    // the address follows the controls once a reader moves them (opening the page changes
    // nothing, so it neither rewrites the address nor jumps to this section)
    if (!opening) {
      try { history.replaceState(null, "", "#explore:" + parts.join("&")); } catch (err) { /* a page that may not change its address keeps it */ }
    }
    const quote = function (s) { return "'" + String(s).split("'").join("'\\''") + "'"; };
    let text = "symgd explain " + quote(DATA.source) + " --start=" + state.start.join(",") +
      " --lr " + state.lr + " --steps " + state.steps + " --methods " + state.method + DATA.words.langOption;
    const changed = METHODS[state.method].hyper.filter(function (h) { return state.hyper[h.name] !== h.default; });
    if (changed.length) {
      text += "\nsymgd descend " + quote(DATA.source) + " --method " + state.method + " --start=" +
        state.start.join(",") + " --lr " + state.lr + " --steps " + state.steps +
        changed.map(function (h) { return " --" + h.name + " " + state.hyper[h.name]; }).join("");
    }
    command.textContent = text;
  }
  function fmt(v) { return _fin(v) ? String(Number(v.toPrecision(6))) : String(v); }

  function draw() {
    if (!sizes) { measure(); }
    const width = Math.max(200, Math.floor(sizes[0]));
    const height = N === 2 ? Math.round(width * Math.min(Math.max((hi[1] - lo[1]) / (hi[0] - lo[0]), 0.55), 1.1)) : Math.round(width * 0.6);
    if (stage.width !== width || stage.height !== height) { stage.width = width; stage.height = height; background = null; }
    const ctx = stage.getContext("2d");
    if (!background) { background = N === 2 ? levels(width, height) : curve(width, height); }
    ctx.putImageData(background.image, 0, 0);
    if (N === 1) { ctx.strokeStyle = "#222"; ctx.lineWidth = 2; ctx.stroke(background.line); }
    drawMarkers(ctx);
    if (last) { drawPath(ctx, width, height); drawChart(); }
    const p = toPixel(state.start, width, height);
    marker.style.left = (100 * p[0] / width) + "%"; marker.style.top = (100 * p[1] / height) + "%";
    marker.setAttribute("aria-label", say("marker", { point: state.start.join(", ") }));
  }
  function toPixel(x, width, height) {
    const px = (x[0] - lo[0]) / (hi[0] - lo[0]) * width;
    if (N === 2) { return [px, height - (x[1] - lo[1]) / (hi[1] - lo[1]) * height]; }
    const f = plain(evalF, x);
    return [px, background.top + (background.high - f) / (background.high - background.low) * background.span];
  }
  function levels(width, height) {
    const w = Math.ceil(width / 2), h = Math.ceil(height / 2), values = new Float64Array(w * h);
    for (let j = 0; j < h; j++) {
      for (let i = 0; i < w; i++) {
        values[j * w + i] = plain(evalF, [lo[0] + (i + 0.5) / w * (hi[0] - lo[0]), hi[1] - (j + 0.5) / h * (hi[1] - lo[1])]);
      }
    }
    const sorted = Array.from(values).filter(_fin).sort(function (a, b) { return a - b; });
    const cuts = [];
    for (let k = 1; k < 14; k++) { cuts.push(sorted[Math.floor(k * sorted.length / 14)]); }
    const band = new Int8Array(w * h);
    values.forEach(function (v, i) { let b = 0; while (b < cuts.length && v >= cuts[b]) { b++; } band[i] = _fin(v) ? b : -1; });
    const image = new ImageData(width, height), d = image.data;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = Math.min(h - 1, y >> 1) * w + Math.min(w - 1, x >> 1), b = band[i];
        const edge = (x >> 1) + 1 < w && band[i + 1] !== b || (y >> 1) + 1 < h && band[i + w] !== b;
        const t = b < 0 ? 0.93 : 0.2 + 0.75 * b / 13, k = 4 * (y * width + x), shade = edge && (x & 1) && (y & 1) ? 0.85 : 1;
        d[k] = Math.round(shade * (35 + t * 210)); d[k + 1] = Math.round(shade * (57 + t * 190)); d[k + 2] = Math.round(shade * (93 + t * 160)); d[k + 3] = 255;
      }
    }
    return { image: image };
  }
  function curve(width, height) {
    const xs = [], fs = [];
    for (let i = 0; i <= 400; i++) { const x = lo[0] + i / 400 * (hi[0] - lo[0]); xs.push(x); fs.push(plain(evalF, [x])); }
    const finite = fs.filter(_fin);
    const low = Math.min.apply(null, finite), high = Math.max.apply(null, finite);
    const pad = 0.08 * (high - low || 1), out = { top: 8, span: height - 16, low: low - pad, high: high + pad };
    const image = new ImageData(width, height);
    image.data.fill(255);
    out.image = image; background = out;
    out.line = new Path2D();
    let drawing = false;
    xs.forEach(function (x, i) {
      if (!_fin(fs[i])) { drawing = false; return; }
      const p = toPixel([x], width, height);
      if (drawing) { out.line.lineTo(p[0], p[1]); } else { out.line.moveTo(p[0], p[1]); drawing = true; }
    });
    return out;
  }
  function drawMarkers(ctx) {
    DATA.markers.forEach(function (m) {
      const p = toPixel(m.point.slice(0, N), stage.width, stage.height);
      ctx.fillStyle = "#fff"; ctx.strokeStyle = "#111"; ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.arc(p[0], p[1], 5, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
      if (m.kind === "saddle") { ctx.beginPath(); ctx.moveTo(p[0] - 4, p[1] - 4); ctx.lineTo(p[0] + 4, p[1] + 4); ctx.moveTo(p[0] + 4, p[1] - 4); ctx.lineTo(p[0] - 4, p[1] + 4); ctx.stroke(); }
    });
  }
  function drawPath(ctx, width, height) {
    const points = last.xs.filter(function (x) { return x.every(_fin); }).map(function (x) { return toPixel(x, width, height); });
    const line = new Path2D();
    points.forEach(function (p, i) { if (i) { line.lineTo(p[0], p[1]); } else { line.moveTo(p[0], p[1]); } });
    ctx.lineJoin = "round"; ctx.strokeStyle = "rgba(255,255,255,0.85)"; ctx.lineWidth = 4.5; ctx.stroke(line);
    ctx.strokeStyle = METHODS[state.method].colour; ctx.lineWidth = 2; ctx.stroke(line);
    ctx.fillStyle = METHODS[state.method].colour;
    points.slice(0, 60).forEach(function (p) { ctx.fillRect(p[0] - 2, p[1] - 2, 4, 4); });
  }
  function drawChart() {
    const w = Math.max(200, Math.floor(sizes[1])), h = 150;
    if (chart.width !== w) { chart.width = w; chart.height = h; }
    const ctx = chart.getContext("2d"), half = Math.floor(w / 2);
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, w, h);
    panel(ctx, 0, half - 8, h, last.fs, false, "f(xₖ)");
    panel(ctx, half + 8, w - half - 8, h, last.grad_norms, true, say("gradientChart"));
  }
  function panel(ctx, left, width, h, values, log, title) {
    const ys = values.map(function (v) { return log ? (v > 0 ? Math.log10(v) : NaN) : v; });
    const finite = ys.filter(_fin), low = Math.min.apply(null, finite), high = Math.max.apply(null, finite);
    ctx.strokeStyle = "#999"; ctx.lineWidth = 1; ctx.strokeRect(left + 0.5, 18.5, width - 1, h - 38);
    ctx.fillStyle = "#333"; ctx.font = "12px sans-serif"; ctx.fillText(title, left + 2, 12);
    ctx.fillText("k = 0 … " + (values.length - 1), left + 2, h - 4);
    if (!finite.length) { return; }
    const line = new Path2D(), span = high - low || 1;
    ys.forEach(function (y, k) {
      if (!_fin(y)) { return; }
      const px = left + 2 + (width - 4) * (values.length > 1 ? k / (values.length - 1) : 0);
      const py = 20 + (h - 42) * (high - y) / span;
      if (k) { line.lineTo(px, py); } else { line.moveTo(px, py); }
    });
    ctx.strokeStyle = METHODS[state.method].colour; ctx.lineWidth = 1.5; ctx.stroke(line);
  }
  const linked = location.hash.indexOf("#explore:") === 0;
  show(fromHash() || fromLesson());
  opening = false;
  if (linked) { el.scrollIntoView(); }
}

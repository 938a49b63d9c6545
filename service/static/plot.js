// Small inline-SVG plots: an activation function with this input's (z, a), for one neuron or a whole layer,
// weight bar charts, and a curve over a log axis (the loss after one step against the learning rate).

import { css, diverging } from "./colors.js";

const SVG = "http://www.w3.org/2000/svg";

/** f(z) for each activation name; softmax is seen from one output neuron, the other logits held fixed. */
export function activationCurve(name, params = {}) {
  const alpha = params.leaky_alpha ?? 0.01;
  const eluAlpha = params.elu_alpha ?? 1;
  const others = params.others ?? 0; // Σ e^(other logits), for softmax
  return {
    relu: (z) => Math.max(0, z),
    sigmoid: (z) => 1 / (1 + Math.exp(-z)),
    tanh: Math.tanh,
    leaky_relu: (z) => (z > 0 ? z : alpha * z),
    elu: (z) => (z > 0 ? z : eluAlpha * Math.expm1(z)),
    maxout: (z) => z, // the winning piece passes through unchanged
    softmax: (z) => 1 / (1 + others * Math.exp(-z)),
  }[name];
}

export const FORMULAS = {
  relu: "a = max(0, z)",
  sigmoid: "a = 1 / (1 + e^−z)",
  tanh: "a = tanh(z)",
  leaky_relu: "a = z if z > 0, else αz",
  elu: "a = z if z > 0, else α(e^z − 1)",
  maxout: "a = the largest of the neuron's k pieces zₖ = wₖ·x + bₖ (z shown: the winner)",
  softmax: "a = e^z / Σ e^(all logits): this neuron's probability, the other logits held fixed",
};

function el(name, attrs, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** An SVG of f drawn over [−span, span] with its axes; x() and y() place more marks on it. */
function curveFrame(f, span, moreYs, label) {
  const W = 320, H = 200, P = 28;
  const zs = Array.from({ length: 161 }, (_, i) => -span + (2 * span * i) / 160);
  const ys = zs.map(f);
  const lo = Math.min(0, ...ys, ...moreYs), hi = Math.max(1, ...ys, ...moreYs);
  const x = (v) => P + ((v + span) / (2 * span)) * (W - 2 * P);
  const y = (v) => H - P - ((v - lo) / (hi - lo || 1)) * (H - 2 * P);
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label, class: "plot" });
  svg.append(
    el("line", { x1: P, x2: W - P, y1: y(0), y2: y(0), class: "axis" }),
    el("line", { x1: x(0), x2: x(0), y1: P / 2, y2: H - P, class: "axis" }),
    el("text", { x: W - P, y: y(0) - 6, "text-anchor": "end", class: "axis-label" }, "z"),
    el("text", { x: x(0) + 6, y: P / 2 + 10, class: "axis-label" }, "a"),
    el("polyline", { points: zs.map((v, i) => `${x(v).toFixed(1)},${y(ys[i]).toFixed(1)}`).join(" "), class: "curve" }),
    el("text", { x: P, y: H - 6, class: "tick" }, (-span).toFixed(1)),
    el("text", { x: W - P, y: H - 6, "text-anchor": "end", class: "tick" }, span.toFixed(1)),
  );
  return { svg, x, y };
}

/** Draw f over a range that contains z, with the point (z, a) marked. */
export function plotActivation(root, f, z, a, label) {
  const { svg, x, y } = curveFrame(f, Math.max(4, Math.abs(z) * 1.4), [a], label);
  svg.append(
    el("line", { x1: x(z), x2: x(z), y1: y(0), y2: y(a), class: "guide" }),
    el("circle", { cx: x(z), cy: y(a), r: 7, class: "point", "data-testid": "activation-point" }),
  );
  root.replaceChildren(svg);
}

/** Draw f with every neuron of one input on it: series = [{z: [...], a: [...]}], one colour per hidden layer. */
export function plotActivationPoints(root, f, series, label) {
  const zs = series.flatMap((s) => s.z);
  const span = Math.max(4, Math.max(...zs.map(Math.abs)) * 1.05);
  const { svg, x, y } = curveFrame(f, span, series.flatMap((s) => s.a), label);
  series.forEach((s, k) => {
    const dots = el("g", { class: `dots dots-${k}` });
    s.z.forEach((z, i) => dots.append(el("circle", { cx: x(z).toFixed(1), cy: y(s.a[i]).toFixed(1), r: 3 })));
    svg.insertBefore(dots, svg.querySelector(".curve")); // the curve stays visible on top of its dots
  });
  svg.dataset.points = zs.length;
  root.replaceChildren(svg);
}

/** Bars for a deeper layer's incoming weights (one per neuron of the layer below), blue − / red +. */
export function plotBars(canvas, values) {
  const ctx = canvas.getContext("2d");
  const W = (canvas.width = 280), H = (canvas.height = 140);
  const scale = Math.max(...values.map(Math.abs)) || 1;
  const w = W / values.length;
  ctx.clearRect(0, 0, W, H);
  values.forEach((v, i) => {
    ctx.fillStyle = css(diverging(v / scale));
    const h = (Math.abs(v) / scale) * (H / 2);
    ctx.fillRect(i * w, v >= 0 ? H / 2 - h : H / 2, Math.max(w - 0.5, 0.5), h);
  });
  ctx.fillStyle = "#64748b";
  ctx.fillRect(0, H / 2, W, 1);
  return scale;
}

/**
 * A curve over a log-scaled x axis: points [{x, y}] with x > 0 and y ≥ 0 (y null or above yMax: drawn at the top),
 * a dashed horizontal reference line, a shaded band from x = band rightwards, and the point at x = mark marked.
 * Returns the marked point {x, y}.
 */
export function plotLogCurve(root, points, { mark, reference, band, yMax, label, tick, format, names }) {
  const W = 360, H = 160, L = 44, R = 22, T = 12, B = 24;
  const lx = points.map((p) => Math.log10(p.x));
  const [lo, hi] = [Math.floor(Math.min(...lx)), Math.ceil(Math.max(...lx))];
  const x = (v) => L + ((Math.log10(v) - lo) / (hi - lo || 1)) * (W - L - R);
  const top = (v) => (v === null || v > yMax ? yMax : v);
  const y = (v) => T + (1 - top(v) / (yMax || 1)) * (H - T - B);
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "plot curve-plot", "aria-label": label });
  if (band !== undefined && band < 10 ** hi) {
    const x0 = Math.max(x(band), L);
    svg.append(
      el("rect", { x: x0, y: T, width: W - R - x0, height: H - T - B, class: "band" }),
      el("text", { x: W - R - 4, y: H - B - 5, "text-anchor": "end", class: "band-label" }, names.band),
    );
  }
  svg.append(
    el("line", { x1: L, x2: W - R, y1: y(0), y2: y(0), class: "axis" }),
    el("line", { x1: L, x2: L, y1: T, y2: y(0), class: "axis" }),
    el("text", { x: L - 4, y: T + 8, "text-anchor": "end", class: "tick" }, format(yMax)),
    el("text", { x: L - 4, y: y(0), "text-anchor": "end", class: "tick" }, format(0)),
    el("line", { x1: L, x2: W - R, y1: y(reference), y2: y(reference), class: "reference" }),
    el("text", { x: W - R - 4, y: y(reference) - 4, "text-anchor": "end", class: "tick" }, names.reference),
  );
  for (let k = lo; k <= hi; k += 1) {
    svg.append(el("text", { x: x(10 ** k), y: H - 6, "text-anchor": "middle", class: "tick" }, tick(10 ** k)));
  }
  svg.append(el("polyline", { points: points.map((p) => `${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`).join(" "), class: "curve" }));
  const here = points.find((p) => p.x === mark);
  if (here) {
    svg.append(
      el("line", { x1: x(here.x), x2: x(here.x), y1: T, y2: y(0), class: "guide" }),
      el("circle", { cx: x(here.x), cy: y(here.y), r: 5, class: "point" }),
    );
  }
  root.replaceChildren(svg);
  return here;
}

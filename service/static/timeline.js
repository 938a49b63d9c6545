// The training timeline: a slider over the weight snapshots training kept (GET /api/history), a play button, and
// the training loss and validation accuracy curves with the picked snapshot marked. Moving the slider asks the
// page to answer the drawing again with that snapshot's network (?snapshot=K); it does not fetch anything itself
// but the history.

import { ServiceError, getHistory } from "./api.js";

const SVG = "http://www.w3.org/2000/svg";
const PLAY_MS = 700; // per snapshot while playing, after its answer has arrived
const $ = (id) => document.getElementById(id);

function el(name, attrs, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

const fmtPct = (v) => `${(v * 100).toFixed(1)} %`;
const fmtInt = (v) => Math.round(v).toLocaleString("en");

/**
 * A small SVG curve of one figure over the training steps, x on a log scale (the snapshots are log-spaced),
 * with snapshot `current` marked. points: [{step, value}] (value null: no point).
 */
export function plotCurve(root, points, current, { label, format, fixedMax }) {
  const W = 320, H = 130, L = 40, R = 10, T = 12, B = 24;
  const known = points.filter((p) => p.value !== null && p.value !== undefined);
  root.replaceChildren();
  if (!known.length) return;
  const lx = (step) => Math.log10(1 + step);
  const xMax = lx(Math.max(1, ...points.map((p) => p.step)));
  const yMax = fixedMax ?? Math.max(...known.map((p) => p.value)) * 1.05;
  const x = (step) => L + (lx(step) / xMax) * (W - L - R);
  const y = (v) => T + (1 - v / (yMax || 1)) * (H - T - B);
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "plot curve-plot", "aria-label": label });
  svg.append(
    el("line", { x1: L, x2: W - R, y1: y(0), y2: y(0), class: "axis" }),
    el("line", { x1: L, x2: L, y1: T, y2: y(0), class: "axis" }),
    el("text", { x: L - 4, y: T + 8, "text-anchor": "end", class: "tick" }, format(yMax)),
    el("text", { x: L - 4, y: y(0), "text-anchor": "end", class: "tick" }, format(0)),
    el("polyline", { points: known.map((p) => `${x(p.step).toFixed(1)},${y(p.value).toFixed(1)}`).join(" "), class: "curve" }),
  );
  for (let tick = 1; tick <= 10 ** xMax; tick *= 10) {
    svg.append(el("text", { x: x(tick), y: H - 6, "text-anchor": "middle", class: "tick" }, fmtInt(tick)));
  }
  const here = points[current];
  if (here) {
    svg.append(el("line", { x1: x(here.step), x2: x(here.step), y1: T, y2: y(0), class: "guide" }));
    if (here.value !== null && here.value !== undefined) {
      svg.append(el("circle", { cx: x(here.step), cy: y(here.value), r: 5, class: "point" }));
    }
  }
  root.append(svg);
}

export class Timeline {
  /** onPick(k) answers the drawing with snapshot k (null: the served weights) and resolves when it has. */
  constructor(onPick) {
    this.onPick = onPick;
    this.snapshots = [];
    this.current = null; // null until the learner moves the slider: the served (final) weights
    this.playing = false;
    this.slider = $("timeline");
    this.slider.addEventListener("input", () => {
      this.pause();
      this.pick(Number(this.slider.value));
    });
    $("timeline-play").addEventListener("click", () => (this.playing ? this.pause() : this.play()));
  }

  /** Read MODEL's history; without one (404 no_history) the card stays hidden. */
  async load(model) {
    this.pause();
    this.current = null;
    try {
      this.snapshots = (await getHistory(model)).snapshots;
    } catch (err) {
      if (!(err instanceof ServiceError)) throw err;
      this.snapshots = [];
    }
    $("timeline-card").hidden = this.snapshots.length === 0;
    if (!this.snapshots.length) return;
    this.slider.max = String(this.snapshots.length - 1);
    this.slider.value = this.slider.max;
    this.render();
  }

  /** Show snapshot k and have the page answer with it. */
  async pick(k) {
    this.current = k;
    this.slider.value = String(k);
    this.render();
    const card = $("timeline-card");
    card.dataset.state = "busy";
    try {
      await this.onPick(k);
    } finally {
      if (this.current === k) card.dataset.state = "idle"; // tests wait for idle
    }
  }

  /** Step through the snapshots from the one shown (or the start), each once its answer has arrived. */
  async play() {
    const run = (this.run = (this.run ?? 0) + 1); // a pause and a new play must not leave two loops running
    this.playing = true;
    this.renderButton();
    const last = this.snapshots.length - 1;
    let k = this.current === null || this.current >= last ? 0 : this.current + 1;
    while (this.playing && this.run === run && k <= last) {
      await this.pick(k);
      await new Promise((resolve) => setTimeout(resolve, PLAY_MS));
      k += 1;
    }
    if (this.run === run) this.pause();
  }

  pause() {
    this.playing = false;
    this.renderButton();
  }

  renderButton() {
    const button = $("timeline-play");
    button.textContent = this.playing ? "❚❚ Pause" : "▶ Play";
    button.setAttribute("aria-pressed", String(this.playing));
  }

  render() {
    const k = this.current ?? this.snapshots.length - 1;
    const s = this.snapshots[k];
    const loss = s.loss === null ? "— (nothing learnt yet)" : s.loss.toFixed(3);
    const acc = s.val_accuracy === null ? "—" : fmtPct(s.val_accuracy);
    const which = this.current === null
      ? "The trained network as served (drag the slider, or press Play, to go back in its training)"
      : `Snapshot ${k + 1} of ${this.snapshots.length}${k === 0 ? ": the random initialisation" : ""}`;
    $("timeline-which").textContent = which;
    const figures = {
      "timeline-step": fmtInt(s.step),
      "timeline-epoch": s.epoch.toFixed(2),
      "timeline-seen": fmtInt(s.seen_images),
      "timeline-loss": loss,
      "timeline-acc": acc,
    };
    for (const [id, text] of Object.entries(figures)) $(id).textContent = text;
    this.slider.setAttribute("aria-valuetext", `step ${fmtInt(s.step)}, validation accuracy ${acc}`);
    const series = (key) => this.snapshots.map((snap) => ({ step: snap.step, value: snap[key] }));
    plotCurve($("timeline-loss-plot"), series("loss"), k, {
      label: `Training loss over the steps; now ${loss}`,
      format: (v) => v.toFixed(1),
    });
    plotCurve($("timeline-acc-plot"), series("val_accuracy"), k, {
      label: `Validation accuracy over the steps; now ${acc}`,
      format: (v) => `${Math.round(v * 100)} %`,
      fixedMax: 1,
    });
  }
}

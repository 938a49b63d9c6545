// The compare view: the current drawing through every served model at once, one card per model, grouped by what
// the model changes from the reference (the zoo's `baseline`, else the default model).
//
// One request per model, all sent at once, each carrying the 28×28 pixels the picked model's answer returned
// (input.pixels) rather than the drawing: the server then decodes and preprocesses the drawing once, not once per
// model. Measured in Chromium against gunicorn with the zoo's 13 models (benchmarks/compare_requests.py,
// docs/zoo.md): 148 ms median, against 326 ms for the PNG to every model at once and 355 ms one after the other.

import { predictPixels } from "./api.js";
import { Network } from "./network.js";
import { FORMULAS, activationCurve, plotActivationPoints } from "./plot.js";

const REFERENCE = "baseline"; // the model `make zoo` varies one choice of at a time

/** What counts as switched off, for one neuron on one input, per activation (the same in benchmarks/zoo.py). */
export const INACTIVE = {
  relu: { label: "dead (a = 0)", test: (a) => a <= 0 },
  leaky_relu: { label: "on the 0.01 slope (a < 0)", test: (a) => a < 0 },
  elu: { label: "saturated (a < −0.99α)", test: (a, alpha) => a < -0.99 * alpha },
  sigmoid: { label: "saturated (a < 0.01 or a > 0.99)", test: (a) => a < 0.01 || a > 0.99 },
  tanh: { label: "saturated (|a| > 0.99)", test: (a) => Math.abs(a) > 0.99 },
  maxout: { label: "never: maxout has no flat part", test: () => false },
};

/** Groups in the order shown (the zoo's small groups first fill a row beside the reference); a model that differs
 *  in more than one way (or in width) goes to "other". */
const GROUPS = {
  reference: ["Reference", "the network every other one changes one choice of"],
  init: ["Initialisation", "how the weights started: He, Xavier (Glorot) or a plain normal with σ = 0.01"],
  depth: ["Depth", "one hidden layer or more"],
  activation: ["Activation function", "the same network with another f(z): where do its neurons sit on the curve?"],
  regularisation: ["Regularisation", "dropout while training, and batch normalisation between z and f"],
  other: ["Other differences", "more than one choice changed, or the width"],
};

const fmtPct = (v) => `${(v * 100).toFixed(1)} %`;
const sizes = (arch) => arch.layer_sizes.join("-");

/** [{kind, text}] for every architecture field where ARCH differs from REF. */
export function differences(arch, ref) {
  const out = [];
  if (arch.activation !== ref.activation) out.push({ kind: "activation", text: arch.activation });
  if (arch.init !== ref.init) out.push({ kind: "init", text: `${arch.init} init` });
  if (arch.dropout !== ref.dropout) out.push({ kind: "regularisation", text: `dropout ${arch.dropout}` });
  if (arch.batch_norm !== ref.batch_norm) {
    out.push({ kind: "regularisation", text: arch.batch_norm ? "batch norm" : "no batch norm" });
  }
  const [h, r] = [arch.hidden, ref.hidden];
  if (h.length !== r.length) out.push({ kind: "depth", text: `${h.length} hidden layers (${h.join(", ")})` });
  else if (h.join() !== r.join()) out.push({ kind: "width", text: `${h.join(", ")} hidden neurons` });
  return out;
}

export function groupOf(diffs) {
  if (diffs.length === 0) return "reference";
  const kinds = new Set(diffs.map((d) => d.kind));
  const [kind] = kinds;
  return kinds.size === 1 && kind in GROUPS ? kind : "other";
}

/** The share of each hidden layer's neurons switched off for this input: [{name, share}]. */
export function inactiveShares(layers, arch) {
  const rule = INACTIVE[arch.activation];
  const alpha = arch.elu_alpha ?? 1;
  return layers
    .filter((l) => l.name !== "output")
    .map(({ name, a }) => ({ name, share: rule ? a.filter((v) => rule.test(v, alpha)).length / a.length : NaN }));
}

/** An element with properties (dataset entries under `data`) and children (nodes or text). */
function el(tag, { data = {}, ...props } = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  Object.assign(node.dataset, data);
  node.append(...children);
  return node;
}

const hiddenLayers = (arch) =>
  arch.layer_sizes.slice(1, -1).map((size, i) => ({ name: `hidden${i + 1}`, size, activation: arch.activation }));

/** One model's card: built when the list of models changes, refilled after every prediction. */
class Card {
  constructor(model, diffs, onPick) {
    this.model = model;
    const arch = model.architecture;
    const accuracy = model.test_accuracy == null ? "" : ` · ${fmtPct(model.test_accuracy)} on MNIST test`;
    const formula = `${FORMULAS[arch.activation] ?? arch.activation}; one dot per hidden neuron`;
    this.digit = el("span", { className: "cmp-digit", data: { testid: "compare-digit" } }, "?");
    this.confidence = el("span", { className: "cmp-confidence" });
    this.bars = el("ol", { className: "cmp-bars" }, ...Array.from({ length: 10 }, (_, d) => el("li", {}, `${d}`)));
    this.bars.setAttribute("aria-label", `${model.name}: probability of each digit`);
    this.inactive = el("p", { className: "cmp-inactive", data: { testid: "compare-inactive" } });
    this.curve = el("div", { className: "cmp-curve", data: { testid: "compare-curve" } });
    const readout = el("p", { className: "cmp-readout" }, "\u00a0");
    const grids = el("div", { className: "layers" });
    const pick = (layer, i) => onPick(model.name, layer, i);
    this.network = new Network(grids, hiddenLayers(arch), pick, readout, { testid: "compare-neuron" });
    this.root = el(
      "article",
      { className: "cmp-card", data: { testid: "compare-model", model: model.name, state: "empty" } },
      el("header", { className: "cmp-head" }, el("h4", {}, model.name),
        el("span", { className: "cmp-diff" }, diffs.map((d) => d.text).join(" · ") || "reference")),
      el("p", { className: "cmp-meta" }, `${sizes(arch)} · ${arch.activation} · ${arch.init}${accuracy}`),
      el("div", { className: "cmp-verdict" }, this.digit, this.confidence),
      this.bars, grids, readout, this.inactive,
      el("figure", { className: "cmp-fig" }, this.curve, el("figcaption", {}, formula)),
    );
  }

  busy() {
    this.root.dataset.state = "busy";
  }

  show(p) {
    const arch = this.model.architecture;
    this.root.dataset.state = "done";
    this.digit.textContent = `${p.digit}`;
    this.confidence.textContent = `${fmtPct(p.confidence)} sure${p.uncertain ? " · uncertain" : ""}`;
    this.root.classList.toggle("is-uncertain", Boolean(p.uncertain));
    [...this.bars.children].forEach((li, d) => {
      li.style.setProperty("--p", p.probabilities[d]);
      li.classList.toggle("winner", d === p.digit);
      li.title = `${d}: ${fmtPct(p.probabilities[d])}`;
    });
    this.network.update(p.layers);
    const shares = inactiveShares(p.layers, arch);
    const perLayer = shares.map((s) => `${s.name.replace("hidden", "layer ")}: ${fmtPct(s.share)}`).join(" · ");
    this.inactive.textContent = `${perLayer} ${INACTIVE[arch.activation]?.label ?? ""}`;
    this.inactive.dataset.shares = JSON.stringify(shares.map((s) => s.share));
    this.drawCurve(p.layers.filter((l) => l.name !== "output"));
  }

  /** The activation function with every hidden neuron's (z, a) for this input on it. */
  drawCurve(hidden) {
    const arch = this.model.architecture;
    const f = activationCurve(arch.activation, arch);
    if (!f) return;
    // Batch norm sits between z and f, so the reported z (before it) is not f's input: place each dot at f's input
    // recovered from a where f can be inverted, and relu's zeros at 0.
    const series = hidden.map(({ z, a }) => ({ z: arch.batch_norm ? a.map((v) => inverse(arch, v)) : z, a }));
    plotActivationPoints(this.curve, f, series, `${arch.activation} with this input's neurons on it`);
  }

  fail(message) {
    this.root.dataset.state = "failed";
    this.digit.textContent = "!";
    this.confidence.textContent = message;
  }

  clear() {
    this.root.dataset.state = "empty";
    this.digit.textContent = "?";
    this.confidence.textContent = "";
    this.inactive.textContent = "";
    this.curve.replaceChildren();
    this.network.clear();
    [...this.bars.children].forEach((li) => li.style.setProperty("--p", 0));
  }
}

/** f⁻¹(a) for the invertible activations (relu and maxout: a itself, zeros at 0). */
function inverse(arch, a) {
  const clamp = (v) => Math.min(Math.max(v, -1 + 1e-7), 1 - 1e-7);
  switch (arch.activation) {
    case "sigmoid": return Math.log(clamp(a) / (1 - clamp(a)));
    case "tanh": return Math.atanh(clamp(a));
    case "leaky_relu": return a < 0 ? a / (arch.leaky_alpha ?? 0.01) : a;
    case "elu": return a < 0 ? Math.log1p(clamp(a / (arch.elu_alpha ?? 1))) : a;
    default: return a;
  }
}

export class Compare {
  /** root holds the groups; status says what happened; onPick(model, layer, index) opens a neuron elsewhere. */
  constructor(root, status, onPick) {
    Object.assign(this, { root, status, onPick, cards: new Map(), key: "", inflight: null, lastMs: null });
    this.setState("empty");
  }

  setState(state) {
    this.root.dataset.state = state; // "empty", "busy" or "idle": tests wait for idle
  }

  /** Build the cards for the ready models of /api/models (again only when the list or a version changed). */
  setModels(listing) {
    const ready = listing.models.filter((m) => m.state === "ready" && m.architecture);
    const key = ready.map((m) => `${m.name}@${m.version}`).join(" ");
    if (key === this.key) return false;
    this.key = key;
    const reference = ready.find((m) => m.name === REFERENCE) ?? ready.find((m) => m.default) ?? ready[0];
    const groups = new Map(Object.keys(GROUPS).map((g) => [g, []]));
    this.cards = new Map();
    for (const model of ready) {
      const diffs = model === reference ? [] : differences(model.architecture, reference.architecture);
      const card = new Card(model, diffs, this.onPick);
      this.cards.set(model.name, card);
      groups.get(model === reference ? "reference" : groupOf(diffs)).push(card);
    }
    this.root.replaceChildren(...[...groups].filter(([, cards]) => cards.length).map(([g, cards]) => el(
      "section",
      { className: "cmp-group", data: { group: g }, style: `--n: ${cards.length}` },
      el("h3", {}, GROUPS[g][0]),
      el("p", { className: "muted cmp-why" }, GROUPS[g][1]),
      el("div", { className: "cmp-cards" }, ...cards.map((c) => c.root)),
    )));
    return true;
  }

  /** Send PIXELS (28×28, from an answer's input.pixels) to every model at once; each card fills in on arrival. */
  async run(pixels) {
    this.inflight?.abort();
    const controller = (this.inflight = new AbortController());
    const cards = [...this.cards.values()];
    const start = performance.now();
    this.setState("busy");
    this.status.textContent = `Asking ${cards.length} networks…`;
    cards.forEach((c) => c.busy());
    const results = await Promise.allSettled(cards.map(async (card) => {
      const p = await predictPixels(pixels, controller.signal, card.model.name);
      if (!controller.signal.aborted) card.show(p);
    }));
    if (controller.signal.aborted) return;
    this.inflight = null;
    results.forEach((r, i) => r.status === "rejected" && cards[i].fail(r.reason.message));
    this.lastMs = performance.now() - start;
    const failed = results.filter((r) => r.status === "rejected").length;
    const ms = Math.round(this.lastMs);
    this.status.textContent = `${cards.length - failed} of ${cards.length} networks answered in ${ms} ms ` +
      "(one request each, all at once, with the 28 × 28 pixels above).";
    this.setState("idle");
  }

  clear() {
    this.inflight?.abort();
    this.inflight = null;
    this.cards.forEach((c) => c.clear());
    this.status.textContent = "Draw a digit: every network below answers it.";
    this.setState("empty");
  }
}

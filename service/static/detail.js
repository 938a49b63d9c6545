// The neuron detail panel: weights as a picture (or bars), bias, z = w·x + b written out with this input's numbers,
// a = f(z) and its plot, top images.

import { paintPicture } from "./colors.js";
import { FORMULAS, activationCurve, plotActivation, plotBars } from "./plot.js";

const $ = (id) => document.getElementById(id);
/** Show a number to 4 significant digits, keeping the full value in data-value (for tests and copy-paste). */
function setNumber(id, v, fallback = "—") {
  const known = typeof v === "number" && !Number.isNaN(v);
  $(id).textContent = known ? num(v) : fallback;
  $(id).dataset.value = known ? String(v) : "";
}

const num = (v) => (v === undefined || v === null || Number.isNaN(v) ? "—" : Number(v).toPrecision(4));

/** The neuron document as pieces [{w, b}]: one piece, or maxout's k; plus its top images. */
function normalise(data) {
  const many = Array.isArray(data.weights[0]);
  const ws = many ? data.weights : [data.weights];
  const bs = many ? data.bias : [data.bias];
  const images = (data.top_images ?? []).map((im) => ({ png: im.png, value: im.activation, index: im.test_index }));
  return { pieces: ws.map((w, k) => ({ w, b: bs[k] })), images };
}

const dot = (w, x) => w.reduce((s, v, j) => s + v * x[j], 0);

/** The layer's input for this prediction: the pixels, or the activations of the layer below. */
function layerInput(prediction, layer) {
  const layers = prediction?.layers ?? [];
  const pos = layers.findIndex((l) => l.name === layer);
  return pos === 0 ? prediction?.input?.pixels : layers[pos - 1]?.a;
}

/** What input j of LAYER is: a pixel of the picture, or a neuron of the layer below. */
function inputName(prediction, layer, j) {
  const layers = prediction.layers;
  const pos = layers.findIndex((l) => l.name === layer);
  return pos === 0 ? `pixel (row ${Math.floor(j / 28)}, col ${j % 28})` : `${layers[pos - 1].name} neuron ${j}, a`;
}

const FORMULA_TERMS = 5;

/** z = w·x + b in parts: the `count` terms wⱼxⱼ of largest size, the sum of the others, the bias, the total. */
export function formulaTerms(w, x, b, count = FORMULA_TERMS) {
  const terms = w.map((wj, j) => ({ j, x: x[j], w: wj, product: wj * x[j] }));
  const top = [...terms].sort((p, q) => Math.abs(q.product) - Math.abs(p.product)).slice(0, count);
  const shown = new Set(top.map((t) => t.j));
  const others = terms.filter((t) => !shown.has(t.j));
  const rest = others.reduce((s, t) => s + t.product, 0);
  const zeros = others.filter((t) => t.product === 0).length;
  return { top, rest, restCount: others.length, zeros, total: terms.reduce((s, t) => s + t.product, 0) + b };
}

const signed = (v) => (v >= 0 ? `+${num(v)}` : `−${num(-v)}`);

export class Detail {
  constructor(modelParams) {
    this.modelParams = modelParams; // {leaky_alpha, elu_alpha} when the model reports them
    this.current = null; // {layer, index, neuron}
  }

  /** Show one neuron; `prediction` is the last answer (or null before any). */
  show(layer, index, data, prediction) {
    this.current = { layer, index, neuron: normalise(data), piece: 0 };
    $("detail-empty").hidden = true;
    $("detail-body").hidden = false;
    const name = layer === "output" ? `Output neuron ${index} (digit ${index})` : `${layer.replace("hidden", "Hidden layer ")} · neuron ${index}`;
    $("detail-title").textContent = name;
    this.update(prediction);
    this.drawImages();
  }

  drawWeights() {
    const { layer, neuron, piece } = this.current;
    const { w } = neuron.pieces[piece];
    const pic = $("weights-pic");
    const isPicture = w.length === 784;
    pic.classList.toggle("bars", !isPicture);
    if (isPicture) {
      pic.width = pic.height = 28;
      const scale = paintPicture(pic, w);
      $("weights-caption").innerHTML = `Incoming weights, one per pixel: <span class="neg">blue −</span> / <span class="pos">red +</span> (±${num(scale)})`;
    } else {
      const scale = plotBars(pic, w);
      $("weights-caption").innerHTML = `${w.length} incoming weights, one per neuron of the layer below: <span class="neg">blue −</span> / <span class="pos">red +</span> (±${num(scale)})`;
    }
    pic.setAttribute("aria-label", `Incoming weights of ${layer} neuron ${this.current.index}`);
  }

  /** Refresh z, a, the plot and the contribution picture for a new prediction. */
  update(prediction) {
    if (!this.current) return;
    const { layer, index, neuron } = this.current;
    const x = layerInput(prediction, layer);
    this.current.piece = this.winningPiece(x);
    this.drawWeights();
    const piece = neuron.pieces[this.current.piece];
    setNumber("n-bias", piece.b);
    const traced = prediction?.layers?.find((l) => l.name === layer);
    const activation = traced?.activation ?? (layer === "output" ? "softmax" : this.modelParams.activation);
    const z = traced?.z?.[index];
    const a = traced?.a?.[index];
    setNumber("n-z", z, "draw a digit first");
    setNumber("n-a", a);
    $("n-a-label").textContent = layer === "output" ? "a = softmax(z)" : `a = ${activation}(z)`;
    this.drawContribution(piece.w, x);
    this.drawFormula(piece, x, prediction);
    const others = traced && layer === "output" ? traced.z.reduce((s, v, i) => (i === index ? s : s + Math.exp(v - z)), 0) : 0;
    const f = activationCurve(activation, { ...this.modelParams, others });
    if (f && z !== undefined) {
      plotActivation($("fplot"), f, z, a, `Plot of ${activation}, with this input's point z = ${num(z)}, a = ${num(a)}`);
    } else {
      $("fplot").replaceChildren();
    }
    $("fplot-caption").textContent = FORMULAS[activation] ?? activation ?? "";
  }

  /** Maxout: the piece with the largest w·x + b is the one that sets a; others have one piece. */
  winningPiece(x) {
    const { pieces } = this.current.neuron;
    if (pieces.length === 1 || !x) return 0;
    const zs = pieces.map(({ w, b }) => dot(w, x) + b);
    return zs.indexOf(Math.max(...zs));
  }

  /** z = w·x + b with this input's numbers: the largest terms (input, x, w, product), the rest, b and the total. */
  drawFormula({ w, b }, x, prediction) {
    const box = $("formula");
    box.hidden = !Array.isArray(x);
    if (box.hidden) return;
    const { top, rest, restCount, zeros, total } = formulaTerms(w, x, b);
    const { layer } = this.current;
    const cell = (text, className = "") => `<td class="${className}">${text}</td>`;
    const rows = top.map((t) => `<tr>${cell(inputName(prediction, layer, t.j), "what")}${cell(num(t.x))}${cell(num(t.w))}${cell(signed(t.product))}</tr>`);
    const why = zeros ? `, ${zeros} of them 0 (${layer === "hidden1" ? "no ink there" : "inputs at 0"})` : "";
    rows.push(`<tr class="rest">${cell(`the other ${restCount} terms${why}`, "what")}<td></td><td></td>${cell(signed(rest))}</tr>`);
    rows.push(`<tr class="rest">${cell("bias b", "what")}<td></td><td></td>${cell(signed(b))}</tr>`);
    rows.push(`<tr class="total">${cell("z = w·x + b", "what")}<td></td><td></td>${cell(num(total))}</tr>`);
    box.innerHTML = `<table><caption>z = w·x + b with this input's numbers: ${w.length} terms w·x, the ${top.length} largest shown</caption>
      <thead><tr><th scope="col">input</th><th scope="col">x</th><th scope="col">w</th><th scope="col">w·x</th></tr></thead>
      <tbody>${rows.join("")}</tbody></table>`;
    const totalCell = box.querySelector(".total td:last-child");
    totalCell.dataset.testid = "formula-total";
    totalCell.dataset.value = String(total);
  }

  drawContribution(w, x) {
    const show = w.length === 784 && Array.isArray(x);
    $("contrib-fig").hidden = !show;
    if (show) paintPicture($("contrib-pic"), w.map((v, i) => v * x[i]));
  }

  drawImages() {
    const list = $("excite");
    const { images } = this.current.neuron;
    $("excite-box").hidden = images.length === 0;
    list.replaceChildren(...images.map((im, i) => {
      const li = document.createElement("li");
      const img = document.createElement("img");
      img.src = im.png;
      img.alt = `Test image ${i + 1}${im.label !== undefined ? `, a ${im.label}` : ""}`;
      const cap = document.createElement("span");
      cap.textContent = im.value !== undefined ? `a = ${num(im.value)}` : "";
      li.append(img, cap);
      return li;
    }));
  }
}

// "Teach it this is a …": one step of gradient descent on the drawing (POST /api/teach), on a copy of the network.
// Shows the loss and the ten probabilities before → after the step, the error signal δ = ∂L/∂z of every neuron as
// a grid coloured like the activations, and for the neuron open in the detail panel its weights beside their
// gradient ∂L/∂w. A learning-rate slider (log scale) and beside it the loss after one step for every η (sweep.js)
// show how small steps barely move the loss and what too large a step does.

import { ServiceError, teachStep } from "./api.js";
import { gradient, paintPicture } from "./colors.js";
import { DigitPicker, Requests } from "./lesson.js";
import { Network } from "./network.js";
import { plotBars } from "./plot.js";
import { showSweep } from "./sweep.js";

const $ = (id) => document.getElementById(id);
// The learning rates on the slider: a log scale in 1-2-5 steps, from steps too small to notice to ones that overshoot.
export const LEARNING_RATES = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50];
const FIRST_LR = 3; // 0.1

const pct = (v) => `${(v * 100).toFixed(1)} %`;
const num = (v) => Number(v).toPrecision(3);

export class Teach {
  /** page: {prediction(), model(), snapshot(), neuron(), openNeuron(layer, index)}, read at each request. */
  constructor(page) {
    this.page = page;
    this.target = undefined;
    this.network = null;
    this.shape = "";
    this.requests = new Requests($("teach"));
    this.picker = new DigitPicker($("teach-digits"), { testid: "teach-digit", onPick: (d) => this.pick(d) });
    const slider = $("teach-lr");
    Object.assign(slider, { min: 0, max: LEARNING_RATES.length - 1, step: 1, value: FIRST_LR });
    slider.addEventListener("input", () => this.showLearningRate());
    slider.addEventListener("change", () => this.refresh());
    this.showLearningRate();
    this.buildBars();
  }

  get lr() {
    return LEARNING_RATES[Number($("teach-lr").value)];
  }

  showLearningRate() {
    $("teach-lr-value").textContent = String(this.lr);
    $("teach-lr-value").dataset.value = String(this.lr);
    $("teach-lr").setAttribute("aria-valuetext", `η = ${this.lr}`);
  }

  pick(digit) {
    this.target = digit;
    this.refresh();
  }

  /** Ask again: after a new drawing, another snapshot or model, another neuron, target or learning rate. */
  refresh() {
    const pixels = this.page.prediction()?.input?.pixels;
    if (this.target === undefined || !pixels) {
      this.requests.stop();
      this.hideAnswer();
      $("teach-status").textContent = pixels ? "Pick the digit it really is." : "Draw a digit first, then pick what it is.";
      return;
    }
    const current = this.page.neuron();
    const params = { target: this.target, lr: this.lr, neuron: current && `${current.layer}:${current.index}` };
    $("teach-status").textContent = `One step towards “${this.target}” with η = ${params.lr}…`;
    this.requests.run(
      (signal) => teachStep(pixels, params, this.page.model(), this.page.snapshot(), signal),
      (answer) => this.show(answer, current),
      (err) => ($("teach-status").textContent = err instanceof ServiceError ? err.message : `Could not teach it: ${err.message}`),
    );
  }

  clear() {
    this.requests.stop();
    this.hideAnswer();
    $("teach-status").textContent = "Draw a digit first, then pick what it is.";
  }

  hideAnswer() {
    $("teach-body").hidden = true;
    $("teach-sweep-fig").hidden = true;
  }

  show(answer, current) {
    $("teach-body").hidden = false;
    $("teach-sweep-fig").hidden = false;
    const worse = answer.loss_after > answer.loss;
    const t = answer.target;
    const [before, after] = [answer.probabilities_before[t], answer.probabilities_after[t]];
    const certain = after > 0.999 && before < 0.5;
    $("teach-status").textContent = worse
      ? `η = ${answer.lr} is too large a step: it overshot, and the loss went up. Try a smaller learning rate.`
      : `One step with η = ${answer.lr}: p(${t}) went from ${pct(before)} to ${pct(after)}.${
        certain ? " One step this large makes it certain at once: it has learnt your drawing by heart, and in training, steps like it would overshoot and undo what other images taught it." : ""
      }`;
    $("teach").classList.toggle("overshoot", worse);
    $("teach-loss").innerHTML = `loss L = −log p(${t}): <b>${num(answer.loss)}</b> → <b>${num(answer.loss_after)}</b>`;
    showSweep(answer);
    this.drawBars(answer);
    this.drawDeltas(answer.layers);
    this.drawNeuron(answer.neuron, current);
  }

  buildBars() {
    $("teach-bars").replaceChildren(...Array.from({ length: 10 }, (_, d) => {
      const li = document.createElement("li");
      li.className = "tbar";
      li.dataset.testid = "teach-bar";
      li.innerHTML = `<span class="bar-digit">${d}</span><span class="tbar-tracks"><span class="bar-track"><span class="bar-fill before"></span></span><span class="bar-track"><span class="bar-fill after"></span></span></span><span class="tbar-value"></span>`;
      return li;
    }));
  }

  drawBars({ probabilities_before: before, probabilities_after: after, target }) {
    [...$("teach-bars").children].forEach((li, d) => {
      li.querySelector(".before").style.width = `${before[d] * 100}%`;
      li.querySelector(".after").style.width = `${after[d] * 100}%`;
      li.querySelector(".tbar-value").textContent = `${pct(before[d])} → ${pct(after[d])}`;
      li.dataset.before = String(before[d]);
      li.dataset.after = String(after[d]);
      li.classList.toggle("winner", d === target);
      li.setAttribute("aria-label", `Digit ${d}: ${pct(before[d])} before, ${pct(after[d])} after the step`);
    });
  }

  /** δ of every neuron, in grids like the activations' (built again only when the model's shape changes). */
  drawDeltas(layers) {
    const shape = JSON.stringify(layers.map((l) => [l.name, l.size]));
    if (shape !== this.shape) {
      this.shape = shape;
      const grids = layers.map((l) => ({ name: l.name, size: l.size, activation: "δ = ∂L/∂z" }));
      this.network = new Network($("teach-layers"), grids, (layer, i) => this.page.openNeuron(layer, i), $("teach-readout"), {
        testid: "delta-neuron",
      });
      $("teach-legend").style.background = gradient(true);
    }
    this.network.update(layers.map((l) => ({ name: l.name, a: l.delta })));
    for (const { name, delta, gradient_norm: norms } of layers) {
      const grid = this.network.grids.get(name);
      const scale = Math.max(...delta.map(Math.abs)) || 1;
      grid.title.textContent = `colour scale ±${num(name === "output" ? 1 : scale)}`;
      grid.cells.forEach((cell, i) => {
        cell.title = `${grid.label}, neuron ${i}: δ = ${num(delta[i])}, |∂L/∂w| = ${num(norms[i])}`;
        cell.setAttribute("aria-label", cell.title);
        cell.dataset.value = String(delta[i]);
      });
    }
  }

  /** The open neuron's weights beside their gradient: the step moves every weight against its gradient. */
  drawNeuron(neuron, current) {
    $("teach-neuron").hidden = !neuron || !current;
    if (!neuron || !current) return;
    const w = current.neuron.pieces[current.piece].w;
    const g = neuron.weight_gradient.flat();
    const paint = (canvas, values) => {
      const picture = values.length === 784;
      canvas.classList.toggle("bars", !picture);
      if (picture) canvas.width = canvas.height = 28;
      return picture ? paintPicture(canvas, values) : plotBars(canvas, values);
    };
    const ws = paint($("teach-w"), w);
    const gs = paint($("teach-g"), g);
    const name = neuron.layer === "output" ? `output neuron ${neuron.index} (digit ${neuron.index})` : `${neuron.layer} neuron ${neuron.index}`;
    $("teach-neuron-title").textContent = `The neuron you opened: ${name}`;
    $("teach-w-caption").textContent = `its weights w (±${num(ws)})`;
    $("teach-g-caption").textContent = `their gradient ∂L/∂w = δ · input (±${num(gs)})`;
    $("teach-delta").textContent = `δ = ∂L/∂z = ${num(neuron.delta)}: the step w ← w − η ∂L/∂w moves each weight against its gradient, so z ${
      neuron.delta < 0 ? "rises" : neuron.delta > 0 ? "falls" : "stays"
    } for this drawing.`;
    $("teach-delta").dataset.value = String(neuron.delta);
  }
}

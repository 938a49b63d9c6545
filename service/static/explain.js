// "Why this answer": which pixels pushed the network towards a digit (POST /api/explain, Captum on the server),
// painted over what the network sees: red pushes towards the digit, blue away. For the answer or any digit, with
// the method picked. And, in the neuron panel, the conductance of the open hidden neuron: how much of the digit's
// logit flowed from each pixel through that one neuron.

import { ServiceError, explainAnswer } from "./api.js";
import { diverging } from "./colors.js";
import { DigitPicker, Requests } from "./lesson.js";

const $ = (id) => document.getElementById(id);
const num = (v) => (v === null || v === undefined ? "—" : Number(v).toPrecision(4));

const METHODS = {
  integrated_gradients:
    "Integrated gradients: the gradient averaged along the way from a black image to yours, times the pixel. " +
    "The map adds up to the digit's logit for your drawing minus its logit for a black image.",
  gradient_x_input: "Gradient × input: how much each inked pixel moves the logit, to first order.",
  saliency: "Saliency |∂z/∂x|: how sensitive the logit is to each pixel, whichever way (so never blue).",
};

/**
 * Paint a 28×28 attribution map over the input: the input's pixels dimmed to grey, each pixel tinted by its
 * attribution (red +, blue −) in proportion to its size against the largest. Returns that largest |value|.
 */
export function paintAttribution(canvas, values, pixels) {
  const scale = Math.max(...values.map(Math.abs)) || 1;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(28, 28);
  values.forEach((v, i) => {
    const grey = 40 + 110 * (pixels?.[i] ?? 0);
    const t = Math.min(Math.abs(v) / scale, 1) ** 0.5; // lift the small ones, so the shape shows
    const tint = diverging(Math.sign(v) * Math.max(t, 0.35)); // a visible hue however small (t sets how much)
    img.data.set([...tint.map((c) => Math.round(grey + (c - grey) * t)), 255], i * 4);
  });
  ctx.putImageData(img, 0, 0);
  return scale;
}

const sum = (values) => values.reduce((s, v) => s + v, 0);

export class Explain {
  /** page: {prediction(), model(), snapshot(), neuron()}, read at each request. */
  constructor(page) {
    this.page = page;
    this.requests = new Requests($("why"));
    this.conductance = new Requests($("conductance-fig"));
    this.picker = new DigitPicker($("why-digits"), { testid: "attribution-digit", answer: true, onPick: () => this.refresh() });
    this.picker.set(null);
    $("why-method").addEventListener("change", () => this.refresh());
  }

  /** The digit explained: the one picked, else the answer. */
  target() {
    return this.picker.value ?? this.page.prediction()?.digit;
  }

  /** Ask again for the map, and for the open neuron's conductance. */
  refresh() {
    const pixels = this.page.prediction()?.input?.pixels;
    if (!pixels) return this.clear();
    const method = $("why-method").value;
    $("why-caption").textContent = METHODS[method];
    $("why-status").textContent = `Explaining “${this.target()}”…`;
    this.requests.run(
      (signal) => explainAnswer(pixels, { method, target: this.target() }, this.page.model(), this.page.snapshot(), signal),
      (answer) => this.show(answer, pixels),
      (err) => ($("why-status").textContent = err instanceof ServiceError ? err.message : `Could not explain it: ${err.message}`),
    );
    this.refreshNeuron();
  }

  clear() {
    this.requests.stop();
    this.conductance.stop();
    $("why-body").hidden = true;
    $("conductance-fig").hidden = true;
    $("why-status").textContent = "Draw a digit first.";
  }

  show(answer, pixels) {
    $("why-body").hidden = false;
    const values = answer.attributions.flat();
    const scale = paintAttribution($("attribution"), values, pixels);
    const total = sum(values);
    $("why-status").textContent = `Why “${answer.target}”: red pixels push towards ${answer.target}, blue ones away (±${num(scale)}).`;
    $("attribution").setAttribute("aria-label", `Attribution of digit ${answer.target} to each pixel, ${answer.method}`);
    $("attribution").dataset.target = String(answer.target);
    $("why-sum").textContent = num(total);
    $("why-sum").dataset.value = String(total);
    const base = answer.baseline_logit < 0 ? `(${num(answer.baseline_logit)})` : num(answer.baseline_logit);
    $("why-logit").textContent = `${num(answer.logit)} − ${base} = ${num(answer.logit - answer.baseline_logit)}`;
    $("why-delta").textContent = answer.delta === null ? "— (not an integral)" : num(answer.delta);
  }

  /** The open hidden neuron's conductance for the digit explained; hidden for output neurons. */
  refreshNeuron() {
    const current = this.page.neuron();
    const pixels = this.page.prediction()?.input?.pixels;
    const show = Boolean(current && pixels && current.layer !== "output");
    $("conductance-fig").hidden = !show;
    if (!show) return this.conductance.stop();
    const target = this.target();
    const params = { method: "conductance", target, neuron: `${current.layer}:${current.index}` };
    $("conductance-caption").textContent = `Conductance: how much of digit ${target}'s logit flows from each pixel through this neuron…`;
    this.conductance.run(
      (signal) => explainAnswer(pixels, params, this.page.model(), this.page.snapshot(), signal),
      (answer) => {
        const values = answer.attributions.flat();
        const scale = paintAttribution($("conductance"), values, pixels);
        const total = sum(values);
        $("conductance").dataset.value = String(total);
        $("conductance-caption").textContent =
          `Conductance: of digit ${target}'s logit (${num(answer.logit)} against ${num(answer.baseline_logit)} for a black ` +
          `image), ${num(total)} flowed through this neuron; red pixels pushed it up, blue down (±${num(scale)}).`;
      },
      (err) => ($("conductance-caption").textContent = err instanceof ServiceError ? err.message : String(err)),
    );
  }
}

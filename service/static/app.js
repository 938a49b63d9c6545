// The page: draw or upload → debounced prediction → answer, bars, neuron grids and the neuron detail, for the
// model picked; or, in the compare tab, the same drawing through every served model.

import { ServiceError, getModel, getNeuron, listModels, predict } from "./api.js";
import { gradient } from "./colors.js";
import { Compare } from "./compare.js";
import { Detail } from "./detail.js";
import { Explain } from "./explain.js";
import { Network } from "./network.js";
import { Pad } from "./pad.js";
import { Teach } from "./teach.js";
import { Timeline } from "./timeline.js";

const DEBOUNCE_MS = 150;
const $ = (id) => document.getElementById(id);

const state = {
  prediction: null,
  network: null,
  networkShape: "",
  detail: new Detail({ activation: "relu" }),
  inflight: null,
  timer: 0,
  blob: null, // the last drawing or upload, sent again when another model is picked
  model: null, // the picked model's name (null until /api/models answers: the service's default)
  models: [], // the ready models of /api/models
  modelsKey: "",
  compare: null,
  snapshot: null, // the training snapshot picked on the timeline (null: the served weights)
};
window.digits = state; // for tests and curious students: the last prediction lives here

const pad = new Pad($("pad"), () => schedule());

// The lessons: the training timeline, one step of backprop, and attributions; they read the page's state.
const lessonPage = {
  prediction: () => state.prediction,
  model: () => state.model,
  snapshot: () => state.snapshot,
  neuron: () => state.detail.current,
  openNeuron: (layer, index) => openFromLesson(layer, index),
};
const timeline = new Timeline(atSnapshot);
const teach = new Teach(lessonPage);
const why = new Explain(lessonPage);

/** The timeline moved: answer the drawing with snapshot k's network, and show the open neuron's weights at k. */
async function atSnapshot(k) {
  state.snapshot = k;
  const open = state.detail.current;
  await Promise.all([open && openNeuron(open.layer, open.index, false), state.blob && send(state.blob)]);
}

/** A neuron clicked in a lesson (the δ grid) opens in the detail panel, selected in the network too. */
function openFromLesson(layer, index) {
  const cell = document.querySelector(`[data-testid=neuron][data-layer="${layer}"][data-index="${index}"]`);
  if (cell) state.network.select(cell);
  return openNeuron(layer, index);
}

/** "pending" (waiting for the pen to pause), "busy" (asking the server) or "idle": tests wait for idle. */
function setPhase(phase) {
  document.body.dataset.state = phase;
}

function schedule() {
  clearTimeout(state.timer);
  setPhase("pending");
  state.timer = setTimeout(() => {
    state.timer = 0;
    pad.toBlob().then(send);
  }, DEBOUNCE_MS);
}

/** Send one image to the picked model; a newer request aborts the older one so answers never arrive out of order.
 *  With the compare tab open, the 28×28 pixels of its answer then go to every model (compareAll). */
async function send(blob) {
  state.blob = blob;
  state.inflight?.abort();
  const controller = (state.inflight = new AbortController());
  setPhase("busy");
  try {
    show(await predict(blob, controller.signal, state.model, undefined, state.snapshot));
  } catch (err) {
    if (err.name === "AbortError") return;
    state.compare.clear();
    showError(err instanceof ServiceError ? err.message : `Something went wrong: ${err.message}`);
  } finally {
    if (state.inflight === controller) {
      state.inflight = null;
      if (!state.timer) setPhase("idle");
    }
  }
}

function show(p) {
  state.prediction = p;
  showError("");
  $("prediction").textContent = `${p.digit}`;
  $("prediction").setAttribute("aria-label", `Prediction: ${p.digit}`);
  $("confidence").textContent = `${(p.confidence * 100).toFixed(1)} % sure`;
  $("uncertain").hidden = !p.uncertain;
  document.querySelector(".answer").classList.toggle("is-uncertain", Boolean(p.uncertain));
  if (p.input?.png) {
    $("seen").src = p.input.png;
    $("seen").hidden = false;
    $("seen-empty").hidden = true;
  }
  drawBars(p.probabilities, p.digit);
  compareAll();
  if (p.layers) {
    ensureNetwork(p.layers);
    state.network.update(p.layers);
    state.detail.update(p);
  }
  teach.refresh();
  why.refresh();
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

function buildBars() {
  $("bars").replaceChildren(...Array.from({ length: 10 }, (_, d) => {
    const li = document.createElement("li");
    li.className = "bar";
    li.innerHTML = `<span class="bar-digit">${d}</span><span class="bar-track"><span class="bar-fill"></span></span><span class="bar-value">–</span>`;
    return li;
  }));
}

function drawBars(probabilities, winner) {
  [...$("bars").children].forEach((li, d) => {
    const pct = (probabilities[d] ?? 0) * 100;
    li.querySelector(".bar-fill").style.width = `${pct}%`;
    li.querySelector(".bar-value").textContent = `${pct < 0.1 && pct > 0 ? "<0.1" : pct.toFixed(1)} %`;
    li.classList.toggle("winner", d === winner);
    li.setAttribute("aria-label", `Digit ${d}: ${pct.toFixed(1)} percent`);
  });
}

/** Build the grids for this model's layers (again only when the shape changes, e.g. after picking a model). */
function ensureNetwork(layers) {
  const shape = layers.map(({ name, size, activation, a }) => ({ name, size: size ?? a.length, activation }));
  if (shape.some((l) => !l.size) || JSON.stringify(shape) === state.networkShape) return;
  state.networkShape = JSON.stringify(shape);
  state.network = new Network($("layers"), shape, openNeuron, $("readout"));
  const negative = layers.some((l) => l.name !== "output" && ["tanh", "leaky_relu", "elu", "maxout"].includes(l.activation));
  $("legend-bar").style.background = gradient(negative);
  $("legend-min").textContent = negative ? "−max" : "0";
}

async function openNeuron(layer, index, scroll = true) {
  $("detail-title").textContent = `Loading ${layer} neuron ${index}…`;
  try {
    const { snapshot } = state;
    const version = state.models.find((m) => m.name === state.model)?.version;
    const data = await getNeuron(layer, index, state.model, version, snapshot);
    if (snapshot !== state.snapshot) return; // the timeline moved on while this one loaded
    state.detail.show(layer, index, data, state.prediction);
    teach.refresh();
    why.refreshNeuron();
    if (scroll && window.matchMedia("(max-width: 1100px)").matches) $("detail").scrollIntoView({ block: "start" });
  } catch (err) {
    showError(err instanceof ServiceError ? err.message : `Could not load that neuron: ${err.message}`);
  }
}

function reset() {
  clearTimeout(state.timer);
  state.timer = 0;
  state.inflight?.abort();
  setPhase("idle");
  pad.clear();
  state.prediction = null;
  showError("");
  $("prediction").textContent = "?";
  $("prediction").removeAttribute("aria-label");
  $("confidence").textContent = "Draw a digit to start";
  $("uncertain").hidden = true;
  $("seen").hidden = true;
  $("seen").removeAttribute("src");
  $("seen-empty").hidden = false;
  drawBars(Array(10).fill(0), -1);
  state.network?.clear();
  state.detail.update(null);
  state.blob = null;
  state.compare.clear();
  teach.clear();
  why.clear();
}

async function upload(file) {
  if (!file) return;
  clearTimeout(state.timer);
  state.timer = 0;
  try {
    pad.showImage(await createImageBitmap(file));
  } catch {
    pad.clear(); // the browser cannot read it either; the server will say why
  }
  send(file);
}

function wireUpload() {
  $("file").addEventListener("change", (e) => {
    upload(e.target.files[0]);
    e.target.value = ""; // choosing the same file again still fires change
  });
  const zone = $("dropzone");
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("dragging");
    upload(e.dataTransfer.files[0]);
  });
}

const pct = (v) => (v === undefined || v === null ? undefined : `${(v * 100).toFixed(2)} %`);

/** Fill the model panel from /api/model. */
function showModel(m) {
  const arch = m.architecture ?? {};
  const config = arch.config ?? {};
  const metrics = m.metrics ?? m.training ?? {};
  const sizes = arch.layer_sizes;
  const accuracy = pct(metrics.test_accuracy);
  const facts = {
    Layers: sizes?.join(" → "),
    Activation: arch.activation,
    Parameters: arch.parameters?.toLocaleString("en"),
    "Test accuracy": accuracy,
    "Trained for": metrics.epochs !== undefined ? `${metrics.epochs} epochs` : undefined,
    Dropout: config.dropout ? `${config.dropout}` : undefined,
  };
  $("facts").replaceChildren(...Object.entries(facts).filter(([, v]) => v !== undefined).map(([k, v]) => {
    const div = document.createElement("div");
    div.append(Object.assign(document.createElement("dt"), { textContent: k }));
    div.append(Object.assign(document.createElement("dd"), { textContent: v }));
    return div;
  }));
  $("model-line").textContent = [sizes && `${sizes.join(" → ")} neurons`, arch.activation,
    accuracy && `${accuracy} right on 10,000 test digits`].filter(Boolean).join(" · ");
  state.detail.modelParams = { activation: arch.activation, leaky_alpha: config.leaky_alpha, elu_alpha: config.elu_alpha };
  if (arch.layers) ensureNetwork(arch.layers);
}

function loadModel() {
  return getModel(state.model).then(showModel).catch((err) => {
    $("model-line").textContent = "";
    showError(err instanceof ServiceError ? `The model could not be loaded: ${err.message}` : String(err));
  });
}

/** Fill the picker with the ready models of /api/models (the default first and selected); feed the compare view. */
async function loadModels() {
  const listing = await listModels();
  const ready = listing.models.filter((m) => m.state === "ready");
  if (state.compare.setModels(listing)) compareAll();
  const key = ready.map((m) => `${m.name}@${m.version}`).join(" ");
  if (key === state.modelsKey) return; // rebuilding the options of an open <select> would close it
  state.models = ready;
  state.modelsKey = key;
  const gone = !ready.some((m) => m.name === state.model); // at start (null), or its file was removed
  const picker = $("model-picker");
  picker.replaceChildren(...state.models.map((m) => {
    const arch = m.architecture;
    const label = `${m.name}: ${arch.layer_sizes.join("-")} ${arch.activation}${m.default ? " (default)" : ""}`;
    return new Option(label, m.name, m.default, m.name === (gone ? listing.default : state.model));
  }));
  picker.disabled = state.models.length < 2;
  picker.dataset.ready = "true";
  if (gone && state.model !== null) pickModel(listing.default);
  else if (gone) state.model = listing.default;
}

/** Switch the main view to another model: new grids and detail, and the current drawing sent to it. */
async function pickModel(name) {
  state.model = name;
  state.snapshot = null;
  timeline.load(name);
  $("model-picker").value = name;
  state.detail.current = null;
  $("detail-body").hidden = true;
  $("detail-empty").hidden = false;
  $("detail-title").textContent = "Pick a neuron";
  await loadModel();
  if (state.blob) await send(state.blob);
}

const comparing = () => !$("compare").hidden;

/** With the compare tab open, run what the picked model saw through every model. */
function compareAll() {
  const pixels = state.prediction?.input?.pixels;
  if (comparing() && pixels) state.compare.run(pixels);
}

/** The two tabs: one network inside out, or every network side by side. */
function showTab(compare) {
  $("compare").hidden = !compare;
  $("network-view").hidden = compare;
  $("tab-compare").setAttribute("aria-selected", String(compare));
  $("tab-network").setAttribute("aria-selected", String(!compare));
  $("tab-compare").tabIndex = compare ? 0 : -1;
  $("tab-network").tabIndex = compare ? -1 : 0;
  if (!compare) return;
  loadModels().catch(() => {}); // new files in the models folder show up without a reload of the page
  compareAll();
}

/** A neuron clicked in a compare card opens in the single-network view, on that card's model. */
async function openFromCompare(model, layer, index) {
  showTab(false);
  if (model !== state.model) await pickModel(model);
  const cell = document.querySelector(`[data-testid=neuron][data-layer="${layer}"][data-index="${index}"]`);
  if (!cell) return;
  state.network.select(cell);
  cell.scrollIntoView({ block: "center" });
  await openNeuron(layer, index);
}

function wireTabs() {
  $("tab-network").addEventListener("click", () => showTab(false));
  $("tab-compare").addEventListener("click", () => showTab(true));
  $("tabs").addEventListener("keydown", (e) => {
    if (!["ArrowLeft", "ArrowRight"].includes(e.key)) return;
    const next = comparing() ? $("tab-network") : $("tab-compare");
    next.click();
    next.focus();
  });
  $("model-picker").addEventListener("change", (e) => pickModel(e.target.value));
  $("model-picker").addEventListener("focus", () => loadModels().catch(() => {}));
}

state.compare = new Compare($("compare-groups"), $("compare-status"), openFromCompare);
$("compare-legend").style.background = gradient(true);
$("clear").addEventListener("click", reset);
setPhase("idle");
buildBars();
wireUpload();
wireTabs();
state.compare.clear();
loadModel();
timeline.load(null);
loadModels().catch((err) => showError(err instanceof ServiceError ? `The models could not be listed: ${err.message}` : String(err)));

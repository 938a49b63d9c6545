// The service's JSON API, with its errors turned into one readable Error type. Every call names its model
// (null: the service's default), so every view works for any served network.

export class ServiceError extends Error {
  constructor(message, code, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

const FRIENDLY = {
  no_ink: "No ink found. Draw a digit (or upload a picture of one) and try again.",
  invalid_image: "That file could not be read as an image. Try a PNG or JPEG of a digit.",
  image_too_large: "That picture has too many pixels. Try a smaller one.",
  request_too_large: "That file is too large. Try a smaller picture.",
};

/** The 415 message, with the formats the server reads (the page's body carries decode.NAMES). */
function unsupported() {
  const formats = document.body.dataset.formats;
  return `That file is not an image this service reads.${formats ? ` Try one of: ${formats}.` : ""}`;
}

async function request(url, options = {}) {
  let response;
  try {
    response = await fetch(url, options);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ServiceError("The server did not answer. Is it still running?", "network", 0);
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const error = (body && body.error) || {};
    const refused = response.status === 415 || error.code === "unsupported_media_type";
    const byStatus = response.status === 413 ? FRIENDLY.request_too_large : null;
    const message = refused ? unsupported() : FRIENDLY[error.code] || byStatus || error.message || `The server answered ${response.status}.`;
    throw new ServiceError(message, error.code || String(response.status), response.status);
  }
  return body;
}

/** A URL with ?model=NAME added when a model is named, after any other query parameters. */
function withModel(path, model, query = "") {
  const params = new URLSearchParams(query);
  if (model) params.set("model", model);
  const search = params.toString();
  return search ? `${path}?${search}` : path;
}

/** QUERY with snapshot=K added when a snapshot is named (null: the served weights). */
function withSnapshot(query, snapshot) {
  const params = new URLSearchParams(query);
  if (snapshot !== null && snapshot !== undefined) params.set("snapshot", String(snapshot));
  return params.toString();
}

/** Send an image (Blob or File) to MODEL (as it was at SNAPSHOT, if named) and get the prediction with every layer's activations. */
export function predict(blob, signal, model = null, query = "activations=1&input=1&top=5", snapshot = null) {
  const form = new FormData();
  form.append("image", blob, blob.name || "drawing.png");
  return request(withModel("/api/predict", model, withSnapshot(query, snapshot)), { method: "POST", body: form, signal });
}

/** Send the 28×28 pixels an earlier answer returned (input.pixels) to MODEL: no second decoding or preprocessing. */
export function predictPixels(pixels, signal, model = null, query = "activations=1") {
  // PIXELS are the network's 0–1 inputs (an answer's input.pixels); the JSON "pixels" format is 0–255 intensities
  const body = JSON.stringify({ pixels: pixels.map((v) => v * 255) });
  const headers = { "Content-Type": "application/json" };
  return request(withModel("/api/predict", model, query), { method: "POST", body, headers, signal });
}

/** Every served model: {default, models: [{name, state, architecture, test_accuracy, version, …}]}. */
export function listModels() {
  return request("/api/models");
}

export function getModel(model = null) {
  return request(withModel("/api/model", model));
}

const neuronCache = new Map();

/** One neuron's weights, bias and top images (cached per model version and snapshot: they change only when the file does). */
export function getNeuron(layer, index, model = null, version = "", snapshot = null) {
  const key = `${model ?? ""}@${version}#${snapshot ?? ""}/${layer}/${index}`;
  if (!neuronCache.has(key)) {
    const path = `/api/layers/${encodeURIComponent(layer)}/neurons/${index}`;
    const p = request(withModel(path, model, withSnapshot("", snapshot)));
    p.catch(() => neuronCache.delete(key));
    neuronCache.set(key, p);
  }
  return neuronCache.get(key);
}

/** MODEL's training timeline: {model, snapshots: [{step, epoch, seen_images, loss, val_accuracy}]}, step 0 first. */
export function getHistory(model = null) {
  return request(withModel("/api/history", model));
}

/** POST the network's input (28×28 pixels from 0 to 1, as an answer's input.pixels) to a lesson route. */
function postPixels(path, pixels, params, model, snapshot, signal) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null));
  const body = JSON.stringify({ pixels: pixels.map((v) => v * 255) }); // the JSON format counts 0 … 255
  const headers = { "Content-Type": "application/json" };
  return request(withModel(path, model, withSnapshot(query, snapshot)), { method: "POST", body, headers, signal });
}

/** One step of gradient descent towards params.target with params.lr (and params.neuron's gradient): /api/teach. */
export function teachStep(pixels, params, model = null, snapshot = null, signal = undefined) {
  return postPixels("/api/teach", pixels, params, model, snapshot, signal);
}

/** Attributions of params.target (default: the answer) by params.method (and params.neuron): /api/explain. */
export function explainAnswer(pixels, params, model = null, snapshot = null, signal = undefined) {
  return postPixels("/api/explain", pixels, params, model, snapshot, signal);
}

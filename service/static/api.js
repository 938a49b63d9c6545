// The service's JSON API, with its errors turned into one readable Error type.

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
  unsupported_media_type: "That file is not an image this service reads. Try a PNG, JPEG, GIF, BMP, WebP or TIFF.",
};

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
    const byStatus = { 413: FRIENDLY.request_too_large, 415: FRIENDLY.unsupported_media_type }[response.status];
    const message = FRIENDLY[error.code] || byStatus || error.message || `The server answered ${response.status}.`;
    throw new ServiceError(message, error.code || String(response.status), response.status);
  }
  return body;
}

/** Send an image (Blob or File) and get the prediction with every layer's activations. */
export function predict(blob, signal) {
  const form = new FormData();
  form.append("image", blob, blob.name || "drawing.png");
  return request("/api/predict?activations=1&input=1&top=5", { method: "POST", body: form, signal });
}

export function getModel() {
  return request("/api/model");
}

const neuronCache = new Map();

/** One neuron's weights, bias and top exciting images (cached: they never change while the page lives). */
export function getNeuron(layer, index) {
  const key = `${layer}/${index}`;
  if (!neuronCache.has(key)) {
    const p = request(`/api/layers/${encodeURIComponent(layer)}/neurons/${index}`);
    p.catch(() => neuronCache.delete(key));
    neuronCache.set(key, p);
  }
  return neuronCache.get(key);
}

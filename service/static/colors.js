// Colour scales shared by the neuron grid, the legend and the weight pictures.

const ZERO = [238, 242, 247];
const POSITIVE = [ZERO, [253, 224, 160], [251, 154, 75], [224, 64, 42], [128, 10, 16]];
const NEGATIVE = [ZERO, [160, 200, 235], [80, 140, 210], [31, 78, 154]];

function lerp(stops, t) {
  const x = Math.min(Math.max(t, 0), 1) * (stops.length - 1);
  const i = Math.min(Math.floor(x), stops.length - 2);
  const f = x - i;
  return stops[i].map((c, k) => Math.round(c + (stops[i + 1][k] - c) * f));
}

/** Colour for a value in [-1, 1]: blue below zero, pale at zero, warm to dark red above. */
export function diverging(t) {
  return t >= 0 ? lerp(POSITIVE, t) : lerp(NEGATIVE, -t);
}

export function css(rgb) {
  return `rgb(${rgb[0]} ${rgb[1]} ${rgb[2]})`;
}

/** A CSS linear-gradient showing the scale from -1 (or 0) to 1. */
export function gradient(withNegative) {
  const n = 12;
  const from = withNegative ? -1 : 0;
  const stops = Array.from({ length: n + 1 }, (_, i) => css(diverging(from + ((1 - from) * i) / n)));
  return `linear-gradient(to right, ${stops.join(", ")})`;
}

/** Paint a side×side picture of values (e.g. weights) on a canvas, scaled by the largest magnitude. */
export function paintPicture(canvas, values, side = 28) {
  const scale = Math.max(...values.map(Math.abs)) || 1;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(side, side);
  values.forEach((v, i) => {
    const [r, g, b] = diverging(v / scale);
    img.data.set([r, g, b, 255], i * 4);
  });
  ctx.putImageData(img, 0, 0);
  return scale;
}

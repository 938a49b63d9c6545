// "Loss after one step vs learning rate": the sweep POST /api/teach answers (lr_sweep), drawn beside the η slider
// with the current η marked, the loss before the step as a reference line, and a sentence saying what it shows.
//
// On a ReLU network the loss on the drawing alone mostly falls however large the step (measured: docs/api.md; the
// default bumps up a little at η = 0.1–0.3 on some wrong labels, tanh and maxout overshoot for real); too large a
// step shows on the other digits instead. So the band marks the steps that move the weights by more than BREAKS of
// their size: from 0.2–3 % on (about 1 %), such a step cost the networks we measured a point of accuracy on other
// test digits, and soon after their accuracy fell to chance.

import { plotLogCurve } from "./plot.js";

const $ = (id) => document.getElementById(id);
const BREAKS = 0.01; // ‖η·g‖ / ‖w‖ where a step starts to break what the network knew (docs/api.md)
const num = (v) => Number(v).toPrecision(3);

/** The first η whose loss is above the lowest loss of the smaller steps by more than a twentieth of the loss before. */
export function risesAt(sweep, lossBefore) {
  let lowest = Infinity;
  for (const { lr, loss_after: loss } of sweep) {
    const value = loss ?? Infinity; // null: float32 overflowed, far above any loss on the scale
    if (value > lowest + Math.max(1e-3, 0.05 * lossBefore)) return lr;
    lowest = Math.min(lowest, value);
  }
  return null;
}

/** Draw the answer's sweep with its η marked, and say what the curve shows. */
export function showSweep(answer) {
  const sweep = answer.lr_sweep;
  const size = sweep[0].weight_change / sweep[0].lr; // ‖g‖ / ‖w‖: the change grows with η
  const rise = risesAt(sweep, answer.loss);
  const here = plotLogCurve($("teach-sweep"), sweep.map((p) => ({ x: p.lr, y: p.loss_after })), {
    mark: answer.lr,
    reference: answer.loss,
    band: size > 0 ? BREAKS / size : undefined,
    yMax: 1.6 * answer.loss || 1,
    label: `Loss after one step against the learning rate; with η = ${answer.lr}: ${num(answer.loss_after)}`,
    tick: (v) => String(v),
    format: num,
    names: { reference: "loss before the step", band: "step moves w by > 1 %" },
  });
  Object.assign($("teach-sweep").dataset, { lr: String(here.x), loss: String(here.y), risesAt: String(rise) });
  $("teach-sweep").title = `η = ${here.x}: loss ${num(answer.loss)} → ${num(here.y)} after one step`;
  $("teach-sweep-says").textContent = rise !== null
    ? `Too small a step barely moves the loss; past η ≈ ${num(rise)} it rises again: that step overshoots.`
    : "Too small a step barely moves the loss; larger ones drive it to 0 and, on your drawing alone, never overshoot, but a step in the red band moves the weights by over 1 %, and steps that large made the networks we measured misread other digits.";
}

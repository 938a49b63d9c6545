// The drawing pad: white ink on black, like MNIST, drawn with mouse, finger or pen via pointer events.

const INK = "#fff";
const PAPER = "#000";

export class Pad {
  /** onChange() is called whenever the picture changes (while drawing, too). */
  constructor(canvas, onChange) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.onChange = onChange;
    this.hasInk = false;
    this.showingFile = false;
    this.last = null;
    this.clear();
    canvas.addEventListener("pointerdown", (e) => this.down(e));
    canvas.addEventListener("pointermove", (e) => this.move(e));
    for (const type of ["pointerup", "pointercancel", "lostpointercapture"]) {
      canvas.addEventListener(type, () => this.up());
    }
  }

  clear() {
    this.ctx.fillStyle = PAPER;
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.hasInk = false;
    this.showingFile = false;
  }

  /** Show an uploaded picture on the pad, fitted inside it (drawing again starts afresh). */
  showImage(bitmap) {
    this.clear();
    const { width: w, height: h } = this.canvas;
    const s = Math.min(w / bitmap.width, h / bitmap.height);
    const dw = bitmap.width * s;
    const dh = bitmap.height * s;
    this.ctx.drawImage(bitmap, (w - dw) / 2, (h - dh) / 2, dw, dh);
    this.showingFile = true;
  }

  toBlob() {
    return new Promise((resolve) => this.canvas.toBlob(resolve, "image/png"));
  }

  point(e) {
    const r = this.canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * this.canvas.width) / r.width, ((e.clientY - r.top) * this.canvas.height) / r.height];
  }

  down(e) {
    if (e.button !== 0 && e.pointerType === "mouse") return;
    e.preventDefault();
    if (this.showingFile) this.clear();
    this.canvas.setPointerCapture(e.pointerId);
    this.last = this.point(e);
    this.stroke([this.last]);
  }

  move(e) {
    if (!this.last) return;
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
    this.stroke((events.length ? events : [e]).map((ev) => this.point(ev)));
  }

  up() {
    this.last = null;
  }

  stroke(points) {
    const ctx = this.ctx;
    ctx.strokeStyle = INK;
    ctx.lineWidth = this.canvas.width / 12; // ≈ 2.3 of MNIST's 28 pixels, like a pen stroke there
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(...this.last);
    for (const p of points) ctx.lineTo(...p);
    if (points.length === 1) ctx.lineTo(points[0][0] + 0.01, points[0][1]);
    ctx.stroke();
    this.last = points[points.length - 1];
    this.hasInk = true;
    this.onChange();
  }
}

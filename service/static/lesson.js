// What the teach and explain views share: a row of digit buttons, one request at a time per view (a newer one
// aborts the older, so answers never arrive out of order), and the view's state on its element for tests.

/** Ten digit buttons (and optionally "the answer" first) in ROOT; onPick(d) with d a digit or null. */
export class DigitPicker {
  constructor(root, { testid, answer = false, onPick }) {
    this.root = root;
    this.value = undefined; // nothing picked yet
    const choices = [...(answer ? [null] : []), ...Array.from({ length: 10 }, (_, d) => d)];
    this.buttons = choices.map((d) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "digit-choice";
      b.textContent = d === null ? "the answer" : String(d);
      b.dataset.testid = testid;
      b.dataset.digit = d === null ? "" : String(d);
      b.setAttribute("aria-pressed", "false");
      b.addEventListener("click", () => {
        this.set(d);
        onPick(d);
      });
      return b;
    });
    root.append(...this.buttons);
  }

  set(d) {
    this.value = d;
    for (const b of this.buttons) b.setAttribute("aria-pressed", String(b.dataset.digit === (d === null ? "" : String(d))));
  }
}

/** One view's requests: run(ask) aborts the one in flight and marks ELEMENT busy, then idle or failed. */
export class Requests {
  constructor(element) {
    this.element = element;
    this.controller = null;
    this.mark("empty");
  }

  mark(state) {
    this.element.dataset.state = state; // "empty", "busy", "idle" or "failed": tests wait for idle
  }

  /** ask(signal) → the answer; show(answer) draws it; fail(err) says why not. Stale answers are dropped. */
  async run(ask, show, fail) {
    this.controller?.abort();
    const controller = (this.controller = new AbortController());
    this.mark("busy");
    try {
      const answer = await ask(controller.signal);
      if (this.controller !== controller) return;
      show(answer);
      this.mark("idle");
    } catch (err) {
      if (err.name === "AbortError" || this.controller !== controller) return;
      fail(err);
      this.mark("failed");
    }
  }

  stop() {
    this.controller?.abort();
    this.controller = null;
    this.mark("empty");
  }
}

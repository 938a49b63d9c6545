// The neuron grids: built once per model, recoloured after every prediction.

import { css, diverging } from "./colors.js";

const fmt = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3));

function columnsFor(name, size) {
  if (name === "output") return size;
  return Math.max(8, Math.ceil(Math.sqrt(size * 2) / 4) * 4); // 800 → 40, 128 → 16: about twice as wide as tall
}

export class Network {
  /** layers: [{name, size, activation}]; onPick(name, index) opens a neuron's detail; testid names the cells. */
  constructor(root, layers, onPick, readout, { testid = "neuron" } = {}) {
    this.root = root;
    this.testid = testid; // the compare view's small grids use their own, so page-wide "neuron" stays unique
    this.readout = readout; // one line that echoes the hovered or focused neuron, for sighted keyboard users
    this.onPick = onPick;
    this.grids = new Map();
    root.replaceChildren(...layers.map((layer) => this.buildLayer(layer)));
  }

  buildLayer({ name, size, activation }) {
    const section = document.createElement("div");
    section.className = `layer layer-${name === "output" ? "output" : "hidden"}`;
    const title = document.createElement("h3");
    title.className = "layer-title";
    const label = name === "output" ? "Output layer" : `Hidden layer ${name.replace("hidden", "")}`;
    title.innerHTML = `<span>${label}</span> <small>${size} neurons · ${activation}</small> <small class="scale"></small>`;
    const grid = document.createElement("div");
    grid.className = "grid";
    grid.setAttribute("role", "group");
    grid.setAttribute("aria-label", `${label}: ${size} neurons`);
    const cols = columnsFor(name, size);
    grid.style.setProperty("--cols", cols);
    const cells = Array.from({ length: size }, (_, i) => this.buildNeuron(name, i, label));
    cells[0].tabIndex = 0; // roving tabindex: one stop per layer, arrows move inside it
    grid.append(...cells);
    grid.addEventListener("click", (e) => this.pick(e.target.closest(".neuron")));
    grid.addEventListener("keydown", (e) => this.key(e, cells, cols));
    for (const type of ["mouseover", "focusin"]) {
      grid.addEventListener(type, (e) => {
        const cell = e.target.closest(".neuron");
        if (cell) this.readout.textContent = cell.title;
      });
    }
    this.grids.set(name, { cells, title: title.querySelector(".scale"), label });
    section.append(title, grid);
    return section;
  }

  buildNeuron(layer, i, label) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "neuron";
    b.tabIndex = -1;
    b.dataset.testid = this.testid;
    b.dataset.layer = layer;
    b.dataset.index = i;
    if (layer === "output") b.textContent = i;
    b.title = `${label}, neuron ${i}`;
    b.setAttribute("aria-label", b.title);
    return b;
  }

  pick(cell) {
    if (!cell) return;
    this.select(cell);
    this.onPick(cell.dataset.layer, Number(cell.dataset.index));
  }

  select(cell) {
    this.root.querySelectorAll(".neuron[aria-pressed=true]").forEach((c) => c.setAttribute("aria-pressed", "false"));
    cell.setAttribute("aria-pressed", "true");
  }

  key(e, cells, cols) {
    const i = Number(e.target.dataset.index);
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: cols, ArrowUp: -cols, Home: -i, End: cells.length - 1 - i };
    if (!(e.key in moves)) return;
    e.preventDefault();
    const next = cells[Math.min(Math.max(i + moves[e.key], 0), cells.length - 1)];
    e.target.tabIndex = -1;
    next.tabIndex = 0;
    next.focus();
  }

  /** Colour every neuron by its activation, scaled per layer by its largest |a| for this input. */
  update(layers) {
    for (const { name, a } of layers) {
      const grid = this.grids.get(name);
      if (!grid) continue;
      const scale = name === "output" ? 1 : Math.max(...a.map(Math.abs)) || 1;
      grid.title.textContent = name === "output" ? "colour = probability" : `colour scale ±${fmt(scale)}`;
      a.forEach((v, i) => {
        const cell = grid.cells[i];
        const rgb = diverging(v / scale);
        cell.style.backgroundColor = css(rgb);
        cell.style.color = rgb[0] * 0.3 + rgb[1] * 0.59 + rgb[2] * 0.11 > 140 ? "#111" : "#fff";
        const text = `${grid.label}, neuron ${i}: a = ${name === "output" ? `${(v * 100).toFixed(1)} %` : fmt(v)}`;
        cell.title = text;
        cell.setAttribute("aria-label", text);
      });
    }
  }

  clear() {
    for (const grid of this.grids.values()) {
      grid.title.textContent = "";
      grid.cells.forEach((c, i) => {
        c.style.backgroundColor = "";
        c.style.color = "";
        c.title = `${grid.label}, neuron ${i}`;
        c.setAttribute("aria-label", c.title);
      });
    }
  }
}

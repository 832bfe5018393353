// Injection timeline for msc-notebooks: an anywidget ES module (no build step, no imports).
//
// Synced traitlets (see msc_notebooks/widgets/timeline.py):
//   patient_id (string), assessments ([{day, score}]), injections ([day, ...]),
//   selected (index into the sorted injections, -1 for none), error (string),
//   time_kind ("date": days since 1970-01-01; "day": the patient's own day offset),
//   score_label (string).
// Markers can be added (double-click on the axis, or the Add button), dragged with the
// pointer, removed (Delete key or the Remove button) and moved with the keyboard
// (Tab to a marker, ArrowLeft/ArrowRight by 1 day, with Shift by 7 days; the edit is sent
// when the key is released, so a key held down sends one edit).

const WIDTH = 720;
const HEIGHT = 190;
const MARGIN = { left: 48, right: 16, top: 30, bottom: 38 };
const KEY_COMMIT_MS = 300;

// The SVG namespace, taken from the parser rather than spelled out.
function svgNamespace() {
  const probe = document.createElement("div");
  probe.innerHTML = "<svg></svg>";
  return probe.firstChild.namespaceURI;
}

function niceStep(span) {
  const steps = [1, 2, 7, 14, 30, 61, 91, 182, 365, 730, 1461];
  for (const s of steps) {
    if (span / s <= 9) return s;
  }
  return Math.ceil(span / 9);
}

function dayLabel(day, timeKind) {
  if (timeKind === "date") {
    const d = new Date(Math.round(day) * 86400000);
    return d.toISOString().slice(0, 10);
  }
  return `day ${Math.round(day)}`;
}

function render({ model, el }) {
  const NS = svgNamespace();
  const make = (tag, attrs = {}, parent = null) => {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (parent) parent.appendChild(node);
    return node;
  };

  const root = document.createElement("div");
  root.className = "msc-timeline-view";

  const toolbar = document.createElement("div");
  toolbar.className = "msc-timeline-toolbar";
  const title = document.createElement("span");
  title.className = "msc-timeline-title";
  const addButton = document.createElement("button");
  addButton.type = "button";
  addButton.className = "msc-timeline-add";
  addButton.textContent = "Add injection";
  const removeButton = document.createElement("button");
  removeButton.type = "button";
  removeButton.className = "msc-timeline-remove";
  removeButton.textContent = "Remove selected";
  const readout = document.createElement("span");
  readout.className = "msc-timeline-readout";
  readout.setAttribute("aria-live", "polite");
  toolbar.append(title, addButton, removeButton, readout);

  const errorBox = document.createElement("div");
  errorBox.className = "msc-timeline-error";
  errorBox.setAttribute("role", "alert");

  const svg = make("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    class: "msc-timeline-svg",
    role: "group",
  });
  const help = document.createElement("div");
  help.className = "msc-timeline-help";
  help.textContent =
    "Double-click to add an injection; drag a marker to move it; Tab to a marker, then " +
    "ArrowLeft/ArrowRight move it 1 day (Shift: 7 days) and Delete removes it.";

  root.append(toolbar, errorBox, svg, help);
  el.appendChild(root);

  // Local copy of the injection days: dragging and key presses change it at once,
  // the model is updated on release (pointer) or after a short pause (keys).
  let days = [];
  let selected = -1;
  let scale = null;
  let keyTimer = null;
  let drag = null;
  let own = false; // true while the view itself updates the model (no redraw needed)

  const sortedCopy = () => (model.get("injections") || []).map(Number).sort((a, b) => a - b);

  function commit() {
    if (keyTimer !== null) {
      clearTimeout(keyTimer);
      keyTimer = null;
    }
    const moved = selected >= 0 ? days[selected] : null;
    const next = days.map((d) => Math.round(d)).sort((a, b) => a - b);
    own = true;
    try {
      model.set("injections", next);
      model.set("selected", moved === null ? -1 : next.indexOf(Math.round(moved)));
      model.save_changes();
    } finally {
      own = false;
    }
    sync();
  }

  function domain() {
    const assess = (model.get("assessments") || []).map((a) => Number(a.day));
    const all = assess.concat(days);
    if (all.length === 0) return [0, 365];
    let lo = Math.min(...all);
    let hi = Math.max(...all);
    const pad = Math.max(14, (hi - lo) * 0.06);
    return [lo - pad, hi + pad];
  }

  function scores() {
    const s = (model.get("assessments") || [])
      .map((a) => Number(a.score))
      .filter((v) => Number.isFinite(v));
    if (s.length === 0) return [0, 48];
    let lo = Math.min(...s);
    let hi = Math.max(...s);
    if (hi - lo < 4) {
      lo -= 2;
      hi += 2;
    }
    return [lo, hi];
  }

  function toSvgX(clientX) {
    const rect = svg.getBoundingClientRect();
    if (!rect.width) return MARGIN.left;
    return ((clientX - rect.left) * WIDTH) / rect.width;
  }

  function markerLabel(i) {
    return `Injection ${i + 1} at ${dayLabel(days[i], model.get("time_kind"))}`;
  }

  function draw(keepFocus) {
    const focusIndex = keepFocus ? selected : -1;
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const [d0, d1] = domain();
    const [s0, s1] = scores();
    const x = (d) => MARGIN.left + ((d - d0) / (d1 - d0)) * (WIDTH - MARGIN.left - MARGIN.right);
    const y = (s) => HEIGHT - MARGIN.bottom - ((s - s0) / (s1 - s0)) * (HEIGHT - MARGIN.top - MARGIN.bottom);
    scale = { x, invert: (px) => d0 + ((px - MARGIN.left) / (WIDTH - MARGIN.left - MARGIN.right)) * (d1 - d0) };
    const timeKind = model.get("time_kind");
    svg.setAttribute("aria-label", `Injection timeline of patient ${model.get("patient_id")}`);
    title.textContent = `Patient ${model.get("patient_id") || "-"}`;

    // Background catches double-clicks (add an injection there).
    const bg = make("rect", {
      x: MARGIN.left,
      y: MARGIN.top,
      width: WIDTH - MARGIN.left - MARGIN.right,
      height: HEIGHT - MARGIN.top - MARGIN.bottom,
      class: "msc-timeline-background",
    }, svg);
    bg.addEventListener("dblclick", (event) => {
      const day = Math.round(scale.invert(toSvgX(event.clientX)));
      days.push(day);
      selected = days.length - 1;
      commit();
    });

    // Time axis with ticks.
    const axisY = HEIGHT - MARGIN.bottom;
    make("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: axisY, y2: axisY, class: "msc-timeline-axis" }, svg);
    const step = niceStep(d1 - d0);
    for (let t = Math.ceil(d0 / step) * step; t <= d1; t += step) {
      make("line", { x1: x(t), x2: x(t), y1: axisY, y2: axisY + 5, class: "msc-timeline-tick" }, svg);
      const label = make("text", { x: x(t), y: axisY + 18, class: "msc-timeline-tick-label", "text-anchor": "middle" }, svg);
      label.textContent = dayLabel(t, timeKind);
    }
    const yLabel = make("text", { x: 4, y: 12, class: "msc-timeline-score-label" }, svg);
    yLabel.textContent = model.get("score_label") || "score";
    for (const s of [s0, s1]) {
      const t = make("text", { x: MARGIN.left - 6, y: y(s) + 4, class: "msc-timeline-tick-label", "text-anchor": "end" }, svg);
      t.textContent = String(Math.round(s * 10) / 10);
    }

    // Assessments.
    for (const a of model.get("assessments") || []) {
      const day = Number(a.day);
      const score = Number(a.score);
      if (!Number.isFinite(day)) continue;
      const c = make("circle", {
        cx: x(day),
        cy: Number.isFinite(score) ? y(score) : axisY - 4,
        r: 4,
        class: "msc-timeline-assessment",
      }, svg);
      const tip = make("title", {}, c);
      tip.textContent = `Assessment at ${dayLabel(day, timeKind)}: ${Number.isFinite(score) ? score : "no score"}`;
    }

    // Injection markers.
    days.forEach((day, i) => {
      const g = make("g", {
        class: "msc-timeline-injection" + (i === selected ? " msc-selected" : ""),
        tabindex: 0,
        role: "slider",
        "aria-label": markerLabel(i),
        "aria-valuenow": Math.round(day),
        "aria-valuetext": dayLabel(day, timeKind),
        "data-index": i,
        transform: `translate(${x(day)},0)`,
      }, svg);
      make("line", { x1: 0, x2: 0, y1: MARGIN.top, y2: axisY, class: "msc-timeline-injection-line" }, g);
      make("path", { d: `M -7 ${MARGIN.top - 2} L 7 ${MARGIN.top - 2} L 0 ${MARGIN.top + 10} Z`, class: "msc-timeline-injection-handle" }, g);
      make("rect", { x: -6, y: MARGIN.top, width: 12, height: axisY - MARGIN.top, class: "msc-timeline-injection-hit" }, g);
      const num = make("text", { x: 0, y: MARGIN.top - 5, "text-anchor": "middle", class: "msc-timeline-injection-number" }, g);
      num.textContent = String(i + 1);

      g.addEventListener("focus", () => {
        if (selected !== i) {
          selected = i;
          readout.textContent = markerLabel(i);
          for (const other of svg.querySelectorAll(".msc-timeline-injection")) {
            other.classList.toggle("msc-selected", Number(other.getAttribute("data-index")) === i);
          }
          own = true;
          try {
            model.set("selected", i);
            model.save_changes();
          } finally {
            own = false;
          }
        }
      });
      g.addEventListener("keydown", (event) => {
        let delta = 0;
        if (event.key === "ArrowLeft") delta = event.shiftKey ? -7 : -1;
        else if (event.key === "ArrowRight") delta = event.shiftKey ? 7 : 1;
        if (delta !== 0) {
          event.preventDefault();
          selected = i;
          days[i] = Math.round(days[i]) + delta;
          readout.textContent = markerLabel(i);
          g.setAttribute("transform", `translate(${scale.x(days[i])},0)`);
          g.setAttribute("aria-valuenow", Math.round(days[i]));
          g.setAttribute("aria-valuetext", dayLabel(days[i], timeKind));
          g.setAttribute("aria-label", markerLabel(i));
          // sent when the key is released (one edit for a key held down); the timer
          // is the fallback when the release never reaches the marker (focus moved)
          if (keyTimer !== null) clearTimeout(keyTimer);
          keyTimer = setTimeout(commit, KEY_COMMIT_MS);
        } else if (event.key === "Delete" || event.key === "Backspace") {
          event.preventDefault();
          days.splice(i, 1);
          selected = Math.min(i, days.length - 1);
          commit();
        }
      });
      g.addEventListener("keyup", (event) => {
        if ((event.key === "ArrowLeft" || event.key === "ArrowRight") && keyTimer !== null) {
          commit();
        }
      });
      g.addEventListener("pointerdown", (event) => {
        event.preventDefault();
        g.focus();
        selected = i;
        drag = { index: i, pointerId: event.pointerId, node: g };
        g.setPointerCapture(event.pointerId);
        g.classList.add("msc-dragging");
      });
      g.addEventListener("pointermove", (event) => {
        if (!drag || drag.pointerId !== event.pointerId) return;
        const day = Math.round(scale.invert(toSvgX(event.clientX)));
        days[drag.index] = day;
        g.setAttribute("transform", `translate(${scale.x(day)},0)`);
        readout.textContent = markerLabel(drag.index);
      });
      const endDrag = (event) => {
        if (!drag || drag.pointerId !== event.pointerId) return;
        g.releasePointerCapture(event.pointerId);
        g.classList.remove("msc-dragging");
        drag = null;
        commit();
      };
      g.addEventListener("pointerup", endDrag);
      g.addEventListener("pointercancel", endDrag);
    });

    removeButton.disabled = selected < 0 || selected >= days.length;
    if (focusIndex >= 0 && focusIndex < days.length) {
      const node = svg.querySelector(`.msc-timeline-injection[data-index="${focusIndex}"]`);
      if (node) node.focus();
    }
  }

  function showError() {
    const text = model.get("error") || "";
    errorBox.textContent = text;
    errorBox.style.display = text ? "block" : "none";
  }

  function sync() {
    if (drag) return; // never yank a marker out from under the pointer
    const hadFocus = svg.contains(document.activeElement);
    days = sortedCopy();
    selected = Number(model.get("selected"));
    if (!(selected >= 0 && selected < days.length)) selected = -1;
    draw(hadFocus);
  }

  addButton.addEventListener("click", () => {
    const [, d1] = domain();
    const next = days.length ? Math.max(...days) + 91 : Math.round(d1);
    days.push(Math.round(next));
    selected = days.length - 1;
    commit();
  });
  removeButton.addEventListener("click", () => {
    if (selected < 0 || selected >= days.length) return;
    days.splice(selected, 1);
    selected = Math.min(selected, days.length - 1);
    commit();
  });

  const onChange = () => {
    if (!own) sync();
  };
  const onError = () => showError();
  const names = ["injections", "assessments", "selected", "patient_id", "time_kind", "score_label"];
  for (const name of names) model.on(`change:${name}`, onChange);
  model.on("change:error", onError);
  sync();
  showError();

  return () => {
    for (const name of names) model.off(`change:${name}`, onChange);
    model.off("change:error", onError);
    if (keyTimer !== null) clearTimeout(keyTimer);
  };
}

export default { render };

// Hover preview for a plotly scatter elsewhere on the page (the embedding map).
// data = {target: "<class of the chart's container>", preview: {row, lines: [..], src} | null}
// The chart's traces carry customdata = row number and hoverinfo "none"; this listens to the
// chart's plotly_hover / plotly_unhover events, shows a tooltip at the cursor, and asks Python
// for the row's details through the state value `hovered` (answered in data.preview).
export default function ({ data, parentElement, setStateValue }) {
  const root = parentElement.querySelector(".wb-hover");
  const st = parentElement.__wbHover || (parentElement.__wbHover = { cache: new Map(), row: null, timer: null, x: 0, y: 0 });
  st.setStateValue = setStateValue;
  st.target = (data && data.target) || "";
  if (!st.tip) {
    st.tip = document.createElement("div");
    st.tip.className = "wb-tip";
    st.tip.hidden = true;
    root.appendChild(st.tip);
  }
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

  const place = () => {
    const pad = 16, w = st.tip.offsetWidth || 200, h = st.tip.offsetHeight || 200;
    let left = st.x + pad, top = st.y + pad;
    if (left + w > window.innerWidth - 4) left = st.x - pad - w;
    if (top + h > window.innerHeight - 4) top = Math.max(4, st.y - pad - h);
    st.tip.style.left = `${left}px`;
    st.tip.style.top = `${top}px`;
  };
  const render = (preview) => {
    if (!preview) {
      st.tip.innerHTML = `<div class="wb-tip-text">…</div>`;
    } else {
      st.tip.innerHTML =
        (preview.src ? `<img src="${preview.src}" alt="${esc(preview.lines && preview.lines[0])}"/>` : "") +
        `<div class="wb-tip-text">${(preview.lines || []).map((l, i) => (i === 0 ? `<b>${esc(l)}</b>` : esc(l))).join("<br/>")}</div>`;
    }
    st.tip.hidden = false;
    place();
  };

  // A preview Python sent for the row under the cursor: remember it and show it.
  const preview = data && data.preview;
  if (preview && typeof preview.row === "number") {
    st.cache.set(preview.row, preview);
    if (st.cache.size > 500) st.cache.delete(st.cache.keys().next().value);
    if (preview.row === st.row) render(preview);
  }

  const onHover = (event) => {
    const point = event && event.points && event.points[0];
    if (!point) return;
    const row = Array.isArray(point.customdata) ? point.customdata[0] : point.customdata;
    if (typeof row !== "number") return;
    if (event.event) { st.x = event.event.clientX; st.y = event.event.clientY; }
    st.row = row;
    render(st.cache.get(row));
    clearTimeout(st.timer);
    if (!st.cache.has(row)) {
      st.timer = setTimeout(() => { if (st.row === row) st.setStateValue("hovered", row); }, 90);
    }
  };
  const onUnhover = () => { st.row = null; clearTimeout(st.timer); st.tip.hidden = true; };

  // The chart may mount after this component, or be redrawn as a new element: keep looking.
  const attach = () => {
    const host = st.target && document.getElementsByClassName(st.target)[0];
    const gd = host && host.querySelector(".js-plotly-plot");
    if (!gd || typeof gd.on !== "function" || gd.__wbHoverAttached) return;
    gd.__wbHoverAttached = true;
    gd.on("plotly_hover", (e) => parentElement.__wbHover.onHover(e));
    gd.on("plotly_unhover", () => parentElement.__wbHover.onUnhover());
  };
  st.onHover = onHover;
  st.onUnhover = onUnhover;
  attach();
  const poll = setInterval(attach, 400);
  return () => clearInterval(poll);
}

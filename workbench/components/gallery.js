// Thumbnail grid: one DOM pass per data change, no Streamlit element per image.
// data = {items: [{id, src, caption, sub, tone, title}], min_px}
// Clicking (or Enter on) a card sends the trigger value `clicked` = the item's id.
export default function ({ data, parentElement, setTriggerValue }) {
  const root = parentElement.querySelector(".wb-gallery");
  const items = (data && data.items) || [];
  root.style.setProperty("--wb-min", `${(data && data.min_px) || 112}px`);
  if (!items.length) {
    root.innerHTML = `<div class="wb-empty">${(data && data.empty) || "No images match."}</div>`;
    return;
  }
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  root.innerHTML = items
    .map(
      (it, i) => `<button class="wb-card ${esc(it.tone)}" data-i="${i}" title="${esc(it.title || it.id)}">
        ${it.src ? `<img src="${it.src}" alt="${esc(it.id)}" loading="eager" decoding="async"/>` : `<span class="wb-noimg">no thumbnail: rescan</span>`}
        <span class="wb-cap">${esc(it.caption)}</span>
        ${it.sub ? `<span class="wb-sub">${esc(it.sub)}</span>` : ""}
      </button>`
    )
    .join("");
  const onClick = (event) => {
    const card = event.target.closest(".wb-card");
    if (!card) return;
    setTriggerValue("clicked", items[Number(card.dataset.i)].id);
  };
  root.addEventListener("click", onClick);
  return () => root.removeEventListener("click", onClick);
}

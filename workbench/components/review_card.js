// The review card of the Issues page: the image large, given vs suggested label, probability bars,
// reference images of both classes, and the keyboard shortcuts.
// data = {item: {id, src, pixelated, given, suggested, score, kinds, flags, bars: [{label, p, role}],
//          refs: [{title, role, images: [{src, id}]}]} | null, notice, empty, keys: {key: action}}
// `keys` is review.py's SHORTCUTS (K keep, A/Enter accept, R relabel, D drop, M ambiguous, S skip,
// U undo): a new action needs no change here. A shortcut sends the trigger value `action` =
// {action, id} (id: the item on screen, so a key pressed while the next item loads cannot decide
// the wrong image).
export default function ({ data, parentElement, setTriggerValue }) {
  const root = parentElement.querySelector(".wb-review");
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const item = data && data.item;
  const notice = data && data.notice ? `<div class="wb-notice">${esc(data.notice)}</div>` : "";
  if (!item) {
    root.innerHTML = `${notice}<div class="wb-empty">${esc((data && data.empty) || "Nothing to review.")}</div>`;
  } else {
    const bars = (item.bars || [])
      .map(
        (b) => `<div class="wb-bar ${esc(b.role)}"><span class="wb-bar-label" title="${esc(b.label)}">${esc(b.label)}</span>
          <span class="wb-bar-track"><span class="wb-bar-fill" style="width:${(100 * b.p).toFixed(1)}%"></span></span>
          <span class="wb-bar-p">${(100 * b.p).toFixed(1)}%</span></div>`
      )
      .join("");
    const refs = (item.refs || [])
      .map(
        (r) => `<div class="wb-ref ${esc(r.role)}"><div class="wb-ref-title">${esc(r.title)}</div><div class="wb-ref-row">${
          r.images.length
            ? r.images.map((im) => `<img src="${im.src}" title="${esc(im.id)}" alt="${esc(im.id)}"/>`).join("")
            : '<span class="wb-ref-none">no confident example</span>'
        }</div></div>`
      )
      .join("");
    root.innerHTML = `${notice}
      <div class="wb-card-main">
        <div class="wb-big"><img class="${item.pixelated ? "pixelated" : ""}" src="${item.src}" alt="${esc(item.id)}"/></div>
        <div class="wb-info">
          <div class="wb-id" data-id="${esc(item.id)}">${esc(item.id)}</div>
          <div class="wb-flags">${(item.flags || []).map((f) => `<span class="wb-flag">${esc(f)}</span>`).join("")}</div>
          <div class="wb-labels">
            <div class="wb-given"><span class="wb-k">given</span><span class="wb-v">${esc(item.given)}</span></div>
            <div class="wb-arrow">→</div>
            <div class="wb-suggested"><span class="wb-k">suggested</span><span class="wb-v">${esc(item.suggested)}</span></div>
          </div>
          <div class="wb-score">label score ${esc(item.score)} · ${esc(item.position)}</div>
          <div class="wb-bars">${bars}</div>
        </div>
      </div>
      <div class="wb-refs">${refs}</div>
      <div class="wb-keys">${esc(data.hint || "")}</div>`;
  }
  const keys = (data && data.keys) || {};
  const itemId = item ? item.id : null;
  let sent = false;
  const onKey = (event) => {
    if (!itemId || sent || event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    const target = event.composedPath ? event.composedPath()[0] : event.target;
    const tag = target && target.tagName ? target.tagName.toLowerCase() : "";
    if (tag === "input" || tag === "textarea" || tag === "select" || (target && target.isContentEditable)) return;
    if (tag === "button" && (event.key === "Enter" || event.key === " ")) return; // the focused button acts
    if (document.querySelector('[role="dialog"]')) return;
    const action = keys[event.key.toLowerCase()];
    if (!action) return;
    event.preventDefault();
    sent = true; // one decision per item on screen; the next render arms it again
    root.classList.add("wb-busy");
    setTriggerValue("action", { action, id: itemId });
  };
  // One listener per page: a re-render replaces the previous one.
  if (window.__wbReviewKeys) document.removeEventListener("keydown", window.__wbReviewKeys);
  window.__wbReviewKeys = onKey;
  document.addEventListener("keydown", onKey);
  return () => {
    document.removeEventListener("keydown", onKey);
    if (window.__wbReviewKeys === onKey) window.__wbReviewKeys = null;
  };
}

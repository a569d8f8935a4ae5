// CreditRadar workspace: live watchlist over server-sent events, and the lazily loaded
// "as of" explanation. Everything inserted is HTML the server rendered and escaped.
"use strict";

function liveWatchlist() {
  const live = document.getElementById("live");
  const body = document.getElementById("watchlist-body");
  if (!live || !body || !window.EventSource) return;
  let busy = false, again = false;
  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const answer = await fetch(live.dataset.rows + window.location.search,
                                 {credentials: "same-origin"});
      if (answer.ok) body.innerHTML = await answer.text();
    } finally {
      busy = false;
      if (again) { again = false; refresh(); }
    }
  }
  const events = new EventSource(live.dataset.events);
  events.addEventListener("changed", refresh);
  events.addEventListener("hello", () => live.classList.add("connected"));
  events.onerror = () => live.classList.remove("connected");
}

async function loadExplanation(attempt = 0) {
  const box = document.getElementById("explain");
  if (!box || !box.dataset.src) return;
  box.classList.add("loading");
  const answer = await fetch(box.dataset.src, {credentials: "same-origin"});
  if (answer.status === 503 && attempt < 10) {  // busy: other explanations are being worked out
    setTimeout(() => loadExplanation(attempt + 1), 3000);
    return;
  }
  box.classList.remove("loading");
  if (answer.ok) {
    box.innerHTML = await answer.text();
  } else {
    const note = document.createElement("p");
    note.className = "muted";
    note.textContent = "The explanation could not be loaded now: open the link to try again.";
    box.append(note);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  liveWatchlist();
  loadExplanation();
});

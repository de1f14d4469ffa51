// Copy-to-clipboard buttons: <button data-copy-target="#id">.
document.addEventListener("click", function (event) {
  const button = event.target.closest("[data-copy-target]");
  if (!button) return;
  const target = document.querySelector(button.dataset.copyTarget);
  if (!target) return;
  const text = target.value !== undefined && target.tagName === "INPUT" ? target.value : target.textContent;
  navigator.clipboard.writeText(text.trim()).then(function () {
    const original = button.innerHTML;
    button.innerHTML = '<i class="bi bi-check2"></i> Copied';
    setTimeout(function () { button.innerHTML = original; }, 1500);
  });
});
// Confirmation for dangerous forms: <form data-confirm="Are you sure?">.
document.addEventListener("submit", function (event) {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
// Parts of a page that refresh themselves while it is open (the webhook delivery log):
// <div data-refresh-url="…" data-refresh-seconds="4">. Only while the tab is visible; the
// <details> a reader opened (data-key) stay open across refreshes.
document.querySelectorAll("[data-refresh-url]").forEach(function (container) {
  const seconds = Number(container.dataset.refreshSeconds || 5);
  function refresh() {
    if (document.hidden) return;
    fetch(container.dataset.refreshUrl, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) return;
        const open = new Set(Array.from(container.querySelectorAll("details[open][data-key]")).map(function (d) { return d.dataset.key; }));
        container.innerHTML = html;
        container.querySelectorAll("details[data-key]").forEach(function (d) { if (open.has(d.dataset.key)) d.open = true; });
      })
      .catch(function () { /* offline for a moment: the next tick tries again */ });
  }
  setInterval(refresh, seconds * 1000);
});

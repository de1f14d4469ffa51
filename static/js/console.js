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

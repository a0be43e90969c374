// A "Copy" button next to a value shown once (a pickup code): copies the element named by data-copy.
// Without JavaScript (or a clipboard) the button stays hidden and the value is selected by hand.
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    if (!navigator.clipboard) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      await navigator.clipboard.writeText(document.getElementById(button.dataset.copy).textContent.trim());
      button.textContent = button.dataset.copied;
    });
  }
});

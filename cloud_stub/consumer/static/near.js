// The locator's "Use my position": the phone's position (Geolocation API) fills the form and submits it.
// A file of its own: the pages' Content-Security-Policy runs no inline script.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("locate");
  const problem = document.getElementById("locate-problem");
  if (!button || !("geolocation" in navigator)) return;
  button.hidden = false;
  button.addEventListener("click", () => {
    navigator.geolocation.getCurrentPosition(
      (position) => {
        document.getElementById("lat").value = position.coords.latitude.toFixed(5);
        document.getElementById("lon").value = position.coords.longitude.toFixed(5);
        document.getElementById("near-form").submit();
      },
      () => {
        problem.textContent = button.dataset.failed;
        problem.hidden = false;
      },
      { timeout: 10000, maximumAge: 60000 },
    );
  });
});

// The office app's own script: behaviour the Content-Security-Policy allows (no inline code, no eval).
// A button with data-copy-from="ID" copies that field's value and says so.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy-from]");
  if (!button) return;
  var field = document.getElementById(button.getAttribute("data-copy-from"));
  if (!field) return;
  navigator.clipboard.writeText(field.value).then(function () {
    button.textContent = "Copied";
  });
});

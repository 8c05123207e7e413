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

// A list that refreshes itself (hx-trigger="every Ns") skips a refresh while something in it matches its
// data-refresh-unless selector (an open form, a ticked box), so a person's half-typed note is never wiped.
// Done here rather than in an hx-trigger filter, which htmx evaluates as code: the CSP allows no eval.
document.addEventListener("htmx:beforeRequest", function (event) {
  var list = event.detail.elt;
  var busy = list && list.getAttribute && list.getAttribute("data-refresh-unless");
  if (busy && list.querySelector(busy)) event.preventDefault();
});

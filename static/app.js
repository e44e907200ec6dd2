// The only script of the app besides htmx: show a notice when an htmx request fails,
// because htmx does not swap error responses into the page.
(function () {
  "use strict";
  function notice(text) {
    var box = document.getElementById("notice");
    if (!box) { return; }
    box.textContent = text;
    box.hidden = false;
    clearTimeout(box._timer);
    box._timer = setTimeout(function () { box.hidden = true; }, 12000);
  }
  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    var type = xhr.getResponseHeader("Content-Type") || "";
    var text = type.indexOf("text/plain") === 0 && xhr.responseText
      ? xhr.responseText
      : "No se pudo completar la acción (error " + xhr.status + "). Intenta de nuevo.";
    if (type.indexOf("text/html") === 0 && xhr.responseText.indexOf("error-panel") !== -1) {
      // A 403 panel (auth.views.forbidden): show its sentence, not markup.
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      text = doc.body.textContent.trim() || text;
    }
    notice(text);
  });
  // A live check re-renders dependent selects with the values sent a moment ago. If the
  // person chose another option meanwhile (and the server did not set one on purpose),
  // keep that newer choice when it is still offered.
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var fragment = evt.detail.fragment;
    if (!fragment || !fragment.querySelectorAll) { return; }
    var selects = fragment.querySelectorAll("select[data-sent]:not([data-server-set])");
    Array.prototype.forEach.call(selects, function (incoming) {
      var current = document.getElementById(incoming.id);
      if (!current || current.value === incoming.getAttribute("data-sent")) { return; }
      var wanted = current.value;
      var offered = Array.prototype.some.call(incoming.options, function (o) {
        return o.value === wanted;
      });
      if (!offered) { return; }
      Array.prototype.forEach.call(incoming.options, function (o) {
        o.selected = o.value === wanted;
        if (o.selected) { o.setAttribute("selected", ""); } else { o.removeAttribute("selected"); }
      });
    });
  });
  document.addEventListener("htmx:sendError", function () {
    notice("No hay conexión con apunto-fact. ¿Sigue abierta la ventana donde se inició?");
  });
  document.addEventListener("click", function (evt) {
    if (evt.target && evt.target.id === "notice") { evt.target.hidden = true; }
    // Autocomplete pick lists: put the chosen key in its input and let htmx re-check it.
    var option = evt.target.closest ? evt.target.closest("[data-pick-value]") : null;
    if (!option) { return; }
    var input = document.getElementById(option.getAttribute("data-pick-target"));
    if (!input) { return; }
    input.value = option.getAttribute("data-pick-value");
    var list = option.closest(".picklist-box");
    if (list) { list.innerHTML = ""; }
    var search = document.getElementById(option.getAttribute("data-pick-clear") || "");
    if (search) { search.value = ""; }
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });
})();

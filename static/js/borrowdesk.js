// The desk's page behaviour, from a file: the Content-Security-Policy runs no inline script or
// handler attribute, so forms and widgets say what they need with data- attributes instead.
(function () {
  "use strict";

  // <form data-confirm="…">: ask before posting (it moves money or inventory). Capturing, so a
  // refused confirmation stops htmx's own submit handler too.
  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      var message = form instanceof HTMLFormElement ? form.getAttribute("data-confirm") : null;
      // A button marked data-no-confirm submits without asking (a preview moves nothing).
      if (event.submitter && event.submitter.hasAttribute("data-no-confirm")) message = null;
      if (message && !window.confirm(message)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true
  );

  // <select data-autosubmit>: a filter that applies as soon as it changes.
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field instanceof HTMLSelectElement && field.hasAttribute("data-autosubmit") && field.form) {
      if (field.form.requestSubmit) field.form.requestSubmit();
      else field.form.submit();
    }
  });

  // <div data-width="42">: a bar's width in percent (style attributes are not allowed; CSSOM is).
  function sizeBars(root) {
    root.querySelectorAll("[data-width]").forEach(function (bar) {
      bar.style.width = Math.max(0, Math.min(100, Number(bar.getAttribute("data-width")) || 0)) + "%";
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    sizeBars(document);
  });
  document.addEventListener("htmx:load", function (event) {
    sizeBars(event.target);
  });
})();

// A "Print" button (data-print): the printable pages (reconciled statements) print themselves.
document.addEventListener("click", (event) => {
  if (event.target instanceof Element && event.target.closest("[data-print]")) {
    window.print();
  }
});

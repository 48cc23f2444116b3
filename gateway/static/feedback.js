/* Feedback while a form is being sent (progressive enhancement, served from 'self').

   When a POST form is submitted, its submit buttons are disabled and a status beside the
   clicked button says « Traitement en cours… », so a slow answer (issuing a plan, rendering a
   PDF) is not sent twice. The buttons are disabled just after the browser has read the form,
   so the clicked button's name and value still go with it. A second submission of the same
   form is ignored. If the page is still shown much later (the answer was a download), or comes
   back from the browser's cache, the buttons work again. Without JavaScript, nothing changes. */
(function () {
  "use strict";
  var STATUS = "Traitement en cours…";
  var RELEASE_AFTER_MS = 20000;

  function buttonsOf(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.type === "submit" && !el.disabled;
    });
  }

  function release(form) {
    delete form.dataset.sending;
    form.querySelectorAll("[data-busy-disabled]").forEach(function (el) {
      el.disabled = false;
      el.removeAttribute("data-busy-disabled");
    });
    form.querySelectorAll(".busy-status").forEach(function (el) { el.textContent = ""; });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || (form.method || "").toLowerCase() !== "post") { return; }
    if (form.dataset.sending) { event.preventDefault(); return; }
    form.dataset.sending = "1";
    var submitter = event.submitter || buttonsOf(form)[0];
    var status = form.querySelector(".busy-status");
    if (!status) {
      status = document.createElement("span");
      status.className = "busy-status";
      status.setAttribute("role", "status");
      (submitter && submitter.parentNode === form ? submitter : form.lastElementChild || form)
        .insertAdjacentElement("afterend", status);
    }
    window.setTimeout(function () {
      buttonsOf(form).forEach(function (el) {
        el.disabled = true;
        el.setAttribute("data-busy-disabled", "");
      });
      status.textContent = STATUS;
    }, 0);
    window.setTimeout(function () { release(form); }, RELEASE_AFTER_MS);
  });

  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { document.querySelectorAll("form[data-sending]").forEach(release); }
  });
})();

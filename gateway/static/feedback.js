/* Feedback on work that takes time (progressive enhancement, served from 'self').

   1. Work being prepared in the background (an application's receipt, a plan being issued,
   a plan's preview): an element with ``data-poll`` (a status region) asks its JSON URL, less
   and less often, while the answer says ``pending``, and shows the answer's ``message`` (the
   progress, in French) in its ``data-poll-message`` element. When the answer says ``ready``,
   the region shows the link to the result (``url``, labelled by ``data-ready-text``), and a
   screen reader announces it; a region marked ``data-go`` goes to the result instead (the
   issued plan). When it says ``failed``, the page is shown again (``url``): the server says
   why and offers to try again. Without JavaScript the page refreshes itself (a <meta>
   refresh inside <noscript>) until the work is done.

   2. A form being sent:

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

  function showResult(region, url) {
    var paragraph = document.createElement("p");
    var link = document.createElement("a");
    link.href = url;
    link.textContent = region.dataset.readyText;
    paragraph.appendChild(link);
    region.textContent = "";
    region.appendChild(paragraph);
    region.removeAttribute("data-poll");
  }

  function poll(region) {
    var delay = 1000;
    function again() {
      delay = Math.min(delay * 1.5, 10000);
      window.setTimeout(ask, delay);
    }
    function ask() {
      fetch(region.dataset.poll, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          // A refusal (4xx) will not change by asking again; an unavailable service may.
          if (response.ok) { return response.json(); }
          return response.status >= 500 ? { pending: true } : { pending: false };
        })
        .then(function (state) {
          var note = region.querySelector("[data-poll-message]");
          if (note && state.message && note.textContent !== state.message) {
            note.textContent = state.message;
          }
          if (state.failed && state.url) { window.location.assign(state.url); }
          else if (state.ready && state.url && region.hasAttribute("data-go")) {
            window.location.assign(state.url);
          }
          else if (state.ready && state.url) { showResult(region, state.url); }
          else if (state.pending) { again(); }
        }, again);
    }
    window.setTimeout(ask, delay);
  }

  document.querySelectorAll("[data-poll]").forEach(poll);

  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { document.querySelectorAll("form[data-sending]").forEach(release); }
  });
})();

// The review desk (templates/admin/campaigns/review_desk.html): failed checklist items pre-fill
// the rejection reason with their canned texts, and keys a (approve), r (reject), n (next).
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    var form = document.getElementById("decision-form");
    var reason = document.getElementById("id_reason");
    if (!form || !reason) return;
    // What we wrote last: the reviewer's own words are never overwritten.
    var prefilled = "";

    function cannedReason() {
      var texts = [];
      form.querySelectorAll(".checklist-item").forEach(function (row) {
        var failed = row.querySelector("input.check-fail");
        if (failed && failed.checked) texts.push(row.dataset.rejectionText);
      });
      return texts.join("\n\n");
    }

    form.addEventListener("change", function (event) {
      if (!event.target.name || event.target.name.indexOf("check-") !== 0) return;
      if (reason.value.trim() !== "" && reason.value !== prefilled) return;
      prefilled = cannedReason();
      reason.value = prefilled;
    });

    function click(id) {
      var element = document.getElementById(id);
      if (element) element.click();
    }

    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      var tag = (event.target.tagName || "").toLowerCase();
      if (tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable) return;
      if (event.key === "a") { event.preventDefault(); click("approve-campaign"); }
      else if (event.key === "r") {
        event.preventDefault();
        if (reason.value.trim() === "") { reason.focus(); return; } // a rejection needs its why
        click("reject-campaign");
      }
      else if (event.key === "n") { event.preventDefault(); click("next-campaign"); }
    });
  });
})();

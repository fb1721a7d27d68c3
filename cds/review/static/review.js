// Small conveniences; every page works without them.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // A fixture patient's expected outcome holds on its own as-of date.
  const fixture = document.getElementById("fixture");
  const asOf = document.getElementById("as_of");
  if (fixture && asOf) {
    fixture.addEventListener("change", () => {
      const date = fixture.selectedOptions[0] && fixture.selectedOptions[0].dataset.asOf;
      if (date) asOf.value = date;
    });
  }
  // After a refused submission, put the keyboard where the problem is.
  const invalid = document.querySelector("[aria-invalid='true']");
  if (invalid) {
    invalid.focus();
  } else {
    const problem = document.querySelector(".error");
    if (problem) { problem.setAttribute("tabindex", "-1"); problem.focus(); }
  }
});

/** The rename form: ask the server for a new name; the rename broadcast confirms it. */
const OFFLINE = "You are offline; try again when the status says Online.";

export function setUpRename({ form, input, error, me, send }) {
  function fail(detail) {
    error.textContent = detail;
    error.hidden = false;
    input.setAttribute("aria-invalid", "true");
  }

  function clearError() {
    error.hidden = true;
    input.removeAttribute("aria-invalid");
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = input.value.trim();
    if (!name) return fail("The name needs at least one visible character.");
    clearError();
    if (name !== me.name && !send({ type: "rename", name })) fail(OFFLINE);
  });

  return {
    failed: fail,
    renamed(member) {
      me.name = member.name;
      input.value = member.name;
      clearError();
    },
  };
}

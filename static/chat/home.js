/** The home form: Enter in the room code field joins that room instead of creating a new one. */
const code = document.getElementById("id_code");
const join = document.querySelector('button[name="action"][value="join"]');

code?.addEventListener("keydown", (event) => {
  if (event.key !== "Enter" || event.isComposing) return;
  event.preventDefault();
  join.click();
});

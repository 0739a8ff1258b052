/** The copy-link button: the room's address to the clipboard, with visible feedback. */
const FEEDBACK_MS = 2500;

/** Put text on the clipboard; false if the browser would not. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard API outside secure contexts: fall back to a selected, hidden field.
    const field = document.createElement("textarea");
    field.value = text;
    field.readOnly = true;
    field.className = "visually-hidden";
    document.body.append(field);
    field.select();
    const copied = document.execCommand("copy");
    field.remove();
    return copied;
  }
}

export function setUpCopyLink({ button, feedback }) {
  const label = button.textContent;
  let timer = null;
  button.addEventListener("click", async () => {
    const url = button.dataset.url;
    const copied = await copyText(url);
    const message = copied ? "Link copied" : `Copy this link: ${url}`;
    button.textContent = copied ? "Copied!" : label;
    feedback.textContent = message;
    clearTimeout(timer);
    timer = setTimeout(() => {
      button.textContent = label;
      feedback.textContent = "";
    }, copied ? FEEDBACK_MS : FEEDBACK_MS * 4);
  });
}

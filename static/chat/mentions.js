/** The @ autocomplete of the composer: members whose name starts like what follows the @. */
const MAX_SHOWN = 8;
const QUERY_MAX = 32; // characters after the @ that can still be a name being typed

export function createMentionAutocomplete({ input, listbox, candidates }) {
  let shown = []; // members listed
  let active = -1;
  let start = -1; // where the @ is in the input

  /** The @query being typed before the caret, or null. */
  function query() {
    const caret = input.selectionStart;
    if (caret !== input.selectionEnd) return null;
    const before = input.value.slice(0, caret);
    const at = before.lastIndexOf("@");
    if (at < 0 || caret - at - 1 > QUERY_MAX) return null;
    if (at > 0 && /[\p{L}\p{N}_]/u.test(before[at - 1])) return null; // an e-mail address, not a mention
    const text = before.slice(at + 1);
    if (text.includes("\n") || /\s\s/.test(text)) return null;
    return { at, text: text.toLocaleLowerCase() };
  }

  function close() {
    listbox.hidden = true;
    listbox.replaceChildren();
    shown = [];
    active = -1;
    input.removeAttribute("aria-activedescendant");
  }

  function highlight(index) {
    active = index;
    for (const [n, option] of Array.from(listbox.children).entries()) option.setAttribute("aria-selected", String(n === index));
    const option = listbox.children[index];
    if (option) {
      input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    }
  }

  function update() {
    const found = query();
    if (!found) return close();
    const seen = new Set();
    shown = candidates()
      .filter((member) => {
        const name = member.name.toLocaleLowerCase();
        const fits = name.startsWith(found.text) || name.split(/\s+/).some((word) => word.startsWith(found.text));
        if (!fits || seen.has(member.id)) return false;
        seen.add(member.id);
        return true;
      })
      .slice(0, MAX_SHOWN);
    if (!shown.length) return close();
    start = found.at;
    listbox.replaceChildren(
      ...shown.map((member, n) => {
        const option = document.createElement("li");
        option.id = `mention-option-${n}`;
        option.setAttribute("role", "option");
        option.textContent = member.name;
        option.addEventListener("pointerdown", (event) => {
          event.preventDefault(); // keep the focus in the composer
          choose(n);
        });
        return option;
      }),
    );
    listbox.hidden = false;
    highlight(0);
  }

  function choose(index) {
    const member = shown[index];
    if (!member) return;
    const caret = input.selectionStart;
    const text = `@${member.name} `;
    input.value = input.value.slice(0, start) + text + input.value.slice(caret);
    const at = start + text.length;
    input.setSelectionRange(at, at);
    close();
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }

  /** Keys while the list is open; true if the key was the autocomplete's. */
  function handleKey(event) {
    if (listbox.hidden || !shown.length) return false;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      const step = event.key === "ArrowDown" ? 1 : -1;
      highlight((active + step + shown.length) % shown.length);
    } else if (event.key === "Enter" || event.key === "Tab") {
      choose(active);
    } else if (event.key === "Escape") {
      close();
    } else {
      return false;
    }
    event.preventDefault();
    return true;
  }

  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-controls", listbox.id);
  input.addEventListener("input", update);
  input.addEventListener("click", update);
  input.addEventListener("blur", close);
  return { handleKey, close };
}

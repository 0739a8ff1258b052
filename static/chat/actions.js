/**
 * What a person can do with a message: its ⋯ menu (reply, react, copy link, and for their own
 * edit and delete), the delete confirmation, the emoji picker, and the reaction buttons.
 * One menu and one picker for the whole log, moved to the message they are opened for.
 */
import { copyText } from "./share.js";

const PICKER_EMOJI = ["👍", "❤️", "😂", "🎉", "😮", "😢", "🙏", "👀", "🔥", "✅"];
const ONE_EMOJI = (() => {
  try {
    return new RegExp("^\\p{RGI_Emoji}$", "v"); // emoji sequences as Unicode lists them
  } catch {
    return null; // a browser without the v flag: one grapheme passes, the server decides
  }
})();

/** An emoji someone typed in the picker's field, if it looks like exactly one (the server decides). */
function typedEmoji(text) {
  const value = text.trim();
  if (!value) return null;
  if (ONE_EMOJI) return ONE_EMOJI.test(value) ? value : null;
  return [...new Intl.Segmenter().segment(value)].length === 1 ? value : null;
}

export function createMessageActions({ list, menu, picker, confirm, me, roomCode, editWindowMs, messages, send, composer, announce }) {
  let target = null; // {li, id, button} the menu or the picker is open for
  // What other modules add (moderation.js): who else may delete, and more menu items.
  const extra = { canDelete: () => false, items: {} };

  function place(popup, anchor) {
    const box = anchor.getBoundingClientRect();
    popup.hidden = false;
    const height = popup.offsetHeight;
    const width = popup.offsetWidth;
    const below = box.bottom + 4 + height < window.innerHeight;
    popup.style.top = `${Math.max(4, below ? box.bottom + 4 : box.top - 4 - height)}px`;
    popup.style.left = `${Math.max(4, Math.min(window.innerWidth - width - 4, box.right - width))}px`;
  }

  function canEdit(frame) {
    if (frame.author.id !== me.id) return false;
    return editWindowMs === 0 || Date.now() - Date.parse(frame.sent_at) < editWindowMs;
  }

  // ---- the menu ----

  const menuItems = () => Array.from(menu.querySelectorAll("[role=menuitem]:not([hidden])"));

  function openMenu(button) {
    const li = button.closest("li.message");
    const frame = messages.frameOf(li.dataset.id);
    if (!frame) return;
    closePopups();
    target = { li, id: frame.id, button };
    menu.querySelector("[data-action=edit]").hidden = !canEdit(frame);
    menu.querySelector("[data-action=delete]").hidden = frame.author.id !== me.id && !extra.canDelete(frame);
    for (const [name, action] of Object.entries(extra.items)) {
      menu.querySelector(`[data-action=${name}]`).hidden = !action.shown(frame);
    }
    button.setAttribute("aria-expanded", "true");
    li.classList.add("menu-open");
    place(menu, button);
    menuItems()[0].focus();
  }

  function closePopups({ restoreFocus = false } = {}) {
    const was = target;
    menu.hidden = true;
    picker.hidden = true;
    if (was) {
      was.button.setAttribute("aria-expanded", "false");
      was.li.classList.remove("menu-open");
      if (restoreFocus && was.button.isConnected) was.button.focus();
    }
    target = null;
  }

  const ACTIONS = {
    reply: (frame) => composer.replyTo(frame),
    react: (frame, button) => openPicker(frame, button),
    link: async (frame) => {
      const url = `${location.origin}/rooms/${roomCode}/m/${frame.id}/`;
      announce((await copyText(url)) ? "Link to the message copied" : `Link to the message: ${url}`);
    },
    edit: (frame) => composer.edit(frame),
    delete: (frame) => askDelete(frame),
  };

  menu.addEventListener("click", (event) => {
    const item = event.target.closest("[role=menuitem]");
    if (!item || !target) return;
    const frame = messages.frameOf(target.id);
    const button = target.button;
    const action = item.dataset.action;
    closePopups({ restoreFocus: action === "link" });
    if (frame) (ACTIONS[action] ?? extra.items[action].run)(frame, button);
  });

  menu.addEventListener("keydown", (event) => {
    const all = menuItems();
    const at = all.indexOf(document.activeElement);
    const moves = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: all.length - 1 };
    if (event.key in moves) {
      event.preventDefault();
      all[(moves[event.key] + all.length) % all.length].focus();
    } else if (event.key === "Escape" || event.key === "Tab") {
      event.preventDefault();
      closePopups({ restoreFocus: true });
    }
  });

  // ---- the emoji picker ----

  function openPicker(frame, anchor) {
    const li = anchor.closest("li.message");
    closePopups();
    target = { li, id: frame.id, button: anchor };
    picker.querySelector(".picker-error").hidden = true;
    picker.querySelector("input").value = "";
    li.classList.add("menu-open");
    place(picker, anchor);
    picker.querySelector("button").focus();
  }

  function react(id, emoji) {
    send({ type: "react", id, emoji });
  }

  picker.addEventListener("click", (event) => {
    const choice = event.target.closest("button[data-emoji]");
    if (!choice || !target) return;
    const id = target.id;
    closePopups({ restoreFocus: true });
    react(id, choice.dataset.emoji);
  });

  picker.querySelector("form").addEventListener("submit", (event) => {
    event.preventDefault();
    const emoji = typedEmoji(picker.querySelector("input").value);
    if (!emoji || !target) {
      const error = picker.querySelector(".picker-error");
      error.textContent = "Type one emoji, like 🙂";
      error.hidden = false;
      return;
    }
    const id = target.id;
    closePopups({ restoreFocus: true });
    react(id, emoji);
  });

  picker.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      closePopups({ restoreFocus: true });
    }
  });

  for (const emoji of PICKER_EMOJI) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.emoji = emoji;
    button.textContent = emoji;
    button.setAttribute("aria-label", `React with ${emoji}`);
    picker.querySelector(".picker-grid").append(button);
  }

  // ---- delete, with a confirmation ----

  function askDelete(frame) {
    confirm.querySelector(".confirm-excerpt").textContent = frame.body.slice(0, 140);
    confirm.returnValue = "";
    confirm.onclose = () => {
      if (confirm.returnValue === "delete") send({ type: "delete", id: frame.id });
      const button = list.querySelector(`li.message[data-id="${frame.id}"] .actions-button`);
      (button || list.closest("[tabindex]") || document.body).focus();
    };
    confirm.showModal();
  }

  // ---- the log's own buttons: ⋯, reactions, reply quotes ----

  list.addEventListener("click", (event) => {
    const actions = event.target.closest(".actions-button");
    if (actions) {
      if (target && target.button === actions) closePopups();
      else openMenu(actions);
      return;
    }
    const reaction = event.target.closest(".reaction");
    if (reaction) {
      const li = reaction.closest("li.message");
      react(Number(li.dataset.id), reaction.dataset.emoji);
      return;
    }
    const quote = event.target.closest(".reply-quote");
    if (quote) messages.jumpTo(Number(quote.dataset.target));
  });

  document.addEventListener("pointerdown", (event) => {
    if (target && !menu.contains(event.target) && !picker.contains(event.target) && !event.target.closest(".actions-button")) {
      closePopups();
    }
  });
  window.addEventListener("resize", () => closePopups());

  /** Add what another module offers: `canDelete(frame)`, and menu items {name: {shown, run}}. */
  function extend({ canDelete, ...items }) {
    if (canDelete) extra.canDelete = canDelete;
    Object.assign(extra.items, items);
  }

  return { close: closePopups, canEdit, extend };
}

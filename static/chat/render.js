/** One message as DOM: its header, the reply it quotes, its formatted body, its reactions. */
import { plainPreview, renderBody } from "./format.js";

const GROUP_MS = 5 * 60 * 1000; // one author's messages this close together share a header
const CLOCK = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const FULL_DATE = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });

export function make(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

function setTime(time, iso) {
  const when = new Date(iso);
  time.dateTime = iso;
  time.textContent = CLOCK.format(when);
  time.title = FULL_DATE.format(when);
}

/**
 * What drawing a message needs to know about the page: `me`, `nameOf(id)` (a member's current
 * name, or null).
 */
export function createRenderer({ me, nameOf }) {
  function mentionNames(mentions) {
    return (mentions || []).map((id) => (id === me.id ? me.name : nameOf(id))).filter(Boolean);
  }

  function fillBody(li, body, mentions) {
    renderBody(li.querySelector(".body"), body, mentionNames(mentions));
    li.classList.toggle("mentions-me", (mentions || []).includes(me.id));
  }

  function fillQuote(quote, reply) {
    quote.dataset.target = reply.id;
    quote.replaceChildren();
    const author = make("span", "reply-author", reply.author.name);
    author.dataset.author = reply.author.id;
    const excerpt = reply.excerpt === null ? "Original message deleted" : plainPreview(reply.excerpt);
    quote.append(author, " ", make("span", reply.excerpt === null ? "reply-excerpt gone" : "reply-excerpt", excerpt));
    quote.setAttribute("aria-label", `Reply to ${reply.author.name}: ${excerpt}. Show the original`);
  }

  function whoReacted(members) {
    const names = members.map((id) => (id === me.id ? "you" : nameOf(id) || "someone"));
    return names.length <= 6 ? names.join(", ") : `${names.slice(0, 6).join(", ")} and ${names.length - 6} more`;
  }

  function fillReactions(list, reactions) {
    list.replaceChildren();
    list.hidden = reactions.length === 0;
    for (const { emoji, count, members } of reactions) {
      const mine = members.includes(me.id);
      const button = make("button", mine ? "reaction mine" : "reaction");
      button.type = "button";
      button.dataset.emoji = emoji;
      button.setAttribute("aria-pressed", String(mine));
      const who = whoReacted(members);
      button.setAttribute("aria-label", `${emoji} ${count}: ${who}`);
      button.append(make("span", "reaction-emoji", emoji), make("span", "reaction-count", String(count)));
      button.append(make("span", "reaction-who", who));
      const item = make("li");
      item.append(button);
      list.append(item);
    }
  }

  /** A message frame (or a pending message, without id, seq or sent_at) as an <li>. */
  function messageItem(frame) {
    const { id, seq, author, body, sent_at: sentAt } = frame;
    const mine = author.id === me.id;
    const li = make("li", mine ? "message mine" : "message");
    if (id !== undefined) Object.assign(li.dataset, { id, seq });
    li.dataset.author = author.id;
    const avatar = make("img", "avatar");
    Object.assign(avatar, { src: author.avatar, alt: "", width: 32, height: 32 });
    const main = make("div", "message-main");
    const meta = make("div", "message-meta");
    meta.append(make("span", "author", author.name), " ");
    if (author.bot) meta.append(make("span", "bot-badge", "bot"), " ");
    if (sentAt) setTime(meta.appendChild(make("time")), sentAt);
    const edited = make("span", "edited", "(edited)");
    edited.hidden = !frame.edited_at;
    meta.append(" ", edited);
    main.append(meta);
    if (frame.reply_to) {
      const quote = make("button", "reply-quote");
      quote.type = "button";
      fillQuote(quote, frame.reply_to);
      main.append(quote);
    }
    main.append(make("div", "body"));
    const reactions = make("ul", "reactions");
    reactions.setAttribute("aria-label", "Reactions");
    main.append(reactions);
    li.append(avatar, main);
    fillBody(li, body, frame.mentions);
    fillReactions(reactions, frame.reactions || []);
    if (id !== undefined) {
      const actions = make("button", "actions-button", "⋯");
      actions.type = "button";
      actions.setAttribute("aria-haspopup", "menu");
      actions.setAttribute("aria-expanded", "false");
      actions.setAttribute("aria-label", `Actions for the message from ${author.name}`);
      li.append(actions);
    }
    return li;
  }

  function showEdit(li, { body, edited_at: editedAt, mentions }) {
    fillBody(li, body, mentions);
    li.querySelector(".edited").hidden = !editedAt;
  }

  function showReactions(li, reactions) {
    fillReactions(li.querySelector(".reactions"), reactions);
  }

  /** The quotes of replies to a message that changed or went away. */
  function showOriginal(quote, reply) {
    fillQuote(quote, reply);
  }

  return { messageItem, showEdit, showReactions, showOriginal, mentionNames };
}

/** Mark `li` as continuing its predecessor's group: same author, sent shortly after. */
export function regroup(li) {
  if (!li || !li.classList.contains("message")) return;
  const prev = li.previousElementSibling;
  const isMessage = prev && prev.classList.contains("message");
  const gap = isMessage && Date.parse(li.querySelector("time")?.dateTime) - Date.parse(prev.querySelector("time")?.dateTime);
  li.classList.toggle("continued", Boolean(isMessage) && prev.dataset.author === li.dataset.author && gap < GROUP_MS);
}

/** One message as DOM: text through textContent, http(s) links as <a>, times in the reader's zone. */
const GROUP_MS = 5 * 60 * 1000; // one author's messages this close together share a header
const LINK = /\bhttps?:\/\/[^\s<>"'`]+/g;
const LINK_TRAILING = /[.,;:!?)\]}'"]+$/;
const CLOCK = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const FULL_DATE = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });

export function make(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

/** Text with its http(s) links as <a> elements; everything else stays text. */
function fillBody(el, text) {
  let at = 0;
  for (const match of text.matchAll(LINK)) {
    const url = match[0].replace(LINK_TRAILING, "");
    el.append(text.slice(at, match.index));
    const link = make("a", "", url);
    link.href = url;
    link.rel = "noopener noreferrer nofollow";
    link.target = "_blank";
    el.append(link);
    at = match.index + url.length;
  }
  el.append(text.slice(at));
}

function setTime(time, iso) {
  const when = new Date(iso);
  time.dateTime = iso;
  time.textContent = CLOCK.format(when);
  time.title = FULL_DATE.format(when);
}

/** A message frame (or a pending message, without id, seq or sent_at) as an <li>. */
export function messageItem({ id, seq, author, body, sent_at: sentAt }, mine) {
  const li = make("li", mine ? "message mine" : "message");
  if (id !== undefined) Object.assign(li.dataset, { id, seq });
  li.dataset.author = author.id;
  const avatar = make("img", "avatar");
  Object.assign(avatar, { src: author.avatar, alt: "", width: 32, height: 32 });
  const main = make("div", "message-main");
  const meta = make("div", "message-meta");
  meta.append(make("span", "author", author.name), " ");
  if (sentAt) setTime(meta.appendChild(make("time")), sentAt);
  const text = make("div", "body");
  fillBody(text, body);
  main.append(meta, text);
  li.append(avatar, main);
  return li;
}

/** A server-rendered <li> (plain text, UTC time) made to look like one built here. */
export function adoptItem(li) {
  const time = li.querySelector("time");
  if (time) setTime(time, time.dateTime);
  const body = li.querySelector(".body");
  const text = body.textContent;
  body.textContent = "";
  fillBody(body, text);
}

/** Mark `li` as continuing its predecessor's group: same author, sent shortly after. */
export function regroup(li) {
  if (!li) return;
  const prev = li.previousElementSibling;
  const gap = prev && Date.parse(li.querySelector("time")?.dateTime) - Date.parse(prev.querySelector("time")?.dateTime);
  li.classList.toggle("continued", Boolean(prev) && prev.dataset.author === li.dataset.author && gap < GROUP_MS);
}

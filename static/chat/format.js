/**
 * The light formatting people type, drawn as DOM nodes from the plain text: **bold**, *italic*
 * (or _italic_), `code`, ``` fenced blocks ```, "> " quotes, http(s) links and @mentions.
 *
 * A small renderer rather than a Markdown library: it builds elements and text nodes only, so no
 * HTML string from a message ever exists (nothing parses markup, no sanitizer to trust), and it knows
 * only these few forms, so a line starting with "1." or "#" stays what the person typed. Links
 * are made only from text that starts with http:// or https://: no other scheme (javascript:,
 * data:) can become one, and [text](url) stays text.
 */
const FENCE = /^```[^\n`]*$/;
const QUOTE = /^> ?/;
const LINK = /\bhttps?:\/\/[^\s<>"'`]+/g;
const LINK_TRAILING = /[.,;:!?)\]}'"*_]+$/;
const INLINE = [
  // [name, pattern]: the earliest match wins, a tie goes to the first listed.
  ["code", /`([^`\n]+)`/g],
  ["link", LINK],
  ["strong", /\*\*(\S(?:[^\n]*?\S)?)\*\*/g],
  ["em", /(?<![\p{L}\p{N}*\\])\*([^\s*](?:[^*\n]*?[^\s*])?)\*/gu],
  ["em", /(?<![\p{L}\p{N}_])_([^\s_](?:[^_\n]*?[^\s_])?)_(?![\p{L}\p{N}_])/gu],
];

function make(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A pattern for "@Name" of any of these names (longest first), or null. */
export function mentionPattern(names) {
  const unique = [...new Set(names.filter(Boolean))].sort((a, b) => b.length - a.length);
  if (!unique.length) return null;
  return new RegExp(`(?<![\\p{L}\\p{N}_])@(?:${unique.map(escapeRegExp).join("|")})(?![\\p{L}\\p{N}_])`, "giu");
}

function firstMatch(text, patterns) {
  let best = null;
  for (const [name, pattern] of patterns) {
    pattern.lastIndex = 0;
    const match = pattern.exec(text);
    if (match && (best === null || match.index < best.match.index)) best = { name, match };
  }
  return best;
}

function link(url) {
  const a = make("a", "", url);
  a.href = url; // only ever http(s): LINK starts with the scheme
  a.rel = "noopener noreferrer nofollow";
  a.target = "_blank";
  return a;
}

/** Append `text` to `el` with inline formatting; `mentions` is a pattern or null. */
function inline(el, text, mentions) {
  const patterns = mentions ? [...INLINE, ["mention", mentions]] : INLINE;
  let rest = text;
  while (rest) {
    const found = firstMatch(rest, patterns);
    if (!found) break;
    const { name, match } = found;
    el.append(rest.slice(0, match.index));
    let used = match[0];
    if (name === "code") el.append(make("code", "", match[1]));
    else if (name === "link") {
      used = used.replace(LINK_TRAILING, "");
      el.append(link(used));
    } else if (name === "mention") el.append(make("span", "mention", used));
    else {
      const wrap = make(name);
      inline(wrap, match[1], mentions);
      el.append(wrap);
    }
    rest = rest.slice(match.index + used.length);
  }
  el.append(rest);
}

/** Split the body into blocks: ["text", lines] | ["code", lines] | ["quote", lines]. */
function blocks(text) {
  const out = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i];
    if (FENCE.test(line)) {
      const code = [];
      for (i += 1; i < lines.length && lines[i] !== "```"; i += 1) code.push(lines[i]);
      out.push(["code", code]);
      continue;
    }
    const kind = QUOTE.test(line) ? "quote" : "text";
    const last = out[out.length - 1];
    const content = kind === "quote" ? line.replace(QUOTE, "") : line;
    if (last && last[0] === kind) last[1].push(content);
    else out.push([kind, [content]]);
  }
  return out;
}

/** Fill `el` with `text`, formatted; names in `mentionNames` are marked where they follow an @. */
export function renderBody(el, text, mentionNames = []) {
  const mentions = mentionPattern(mentionNames);
  el.replaceChildren();
  for (const [kind, lines] of blocks(text)) {
    if (kind === "code") {
      const pre = make("pre");
      pre.append(make("code", "", lines.join("\n")));
      el.append(pre);
    } else if (kind === "quote") {
      const quote = make("blockquote");
      inline(quote, lines.join("\n"), mentions);
      el.append(quote);
    } else {
      const span = make("span", "text");
      inline(span, lines.join("\n"), mentions);
      el.append(span);
    }
  }
}

/** The text as one line without formatting marks, for previews (reply excerpts, notifications). */
export function plainPreview(text) {
  return text
    .replace(/```[^\n]*\n?/g, "")
    .replace(/^> ?/gm, "")
    .replace(/\*\*(\S(?:[^\n]*?\S)?)\*\*/g, "$1")
    .replace(/`([^`\n]+)`/g, "$1")
    .replace(/\s+/g, " ")
    .trim();
}

/**
 * A room's own moderation on the page (issue 15): roles marked in the member list and on
 * messages, a member menu (ignore for everyone; promote, mute, kick, ban for those who may),
 * the room's settings and the Reports and Bans lists for moderators, the topic under the
 * room's name, the ignore list, and why a kicked or banned person's page stopped.
 */
import { make } from "./render.js";

const MUTE_SECONDS = 600;
const BAN_CHOICES = [
  ["86400", "1 day"],
  ["3600", "1 hour"],
  ["604800", "1 week"],
  ["", "For good"],
];
const LABEL = { owner: "owner", moderator: "mod" };

export function createModeration({ me, boot, send, announce, els }) {
  const { memberList, messageList, menu, dialog, settings, reports, bansPanel, topic, notice } = els;
  const roles = new Map(); // id -> "owner" | "moderator" (members are not kept)
  const muted = new Map(); // id -> muted_until (ISO)
  let ignored = new Set(boot.ignored || []);
  let room = { topic: boot.topic || "", slowmode: boot.slowmode || 0, locked: Boolean(boot.locked) };
  let menuFor = null; // {id, name} the member menu is open for
  const openReports = new Map(); // report id -> report frame

  const myRole = () => me.role || "member";
  const isModerator = () => myRole() === "owner" || myRole() === "moderator";
  const roleOf = (id) => roles.get(id) || "member";

  /** Whether I may act on this member: nobody on the owner; a moderator on members only. */
  function mayActOn(id) {
    if (id === me.id || roleOf(id) === "owner") return false;
    return myRole() === "owner" || (myRole() === "moderator" && roleOf(id) === "member");
  }

  function setRole(member) {
    if (!member.role) return;
    if (member.role === "member") roles.delete(member.id);
    else roles.set(member.id, member.role);
    if (member.id === me.id) me.role = member.role;
  }

  // ---- marks: the member list, the messages, ignored people ----

  function badge(role) {
    const el = make("span", `role-badge role-${role}`, LABEL[role]);
    el.title = role;
    return el;
  }

  function markMember(li) {
    li.querySelector(".role-badge")?.remove();
    const role = roleOf(li.dataset.id);
    li.dataset.role = role;
    if (LABEL[role]) li.querySelector(".name")?.after(" ", badge(role));
    li.classList.toggle("ignored", ignored.has(li.dataset.id));
    li.tabIndex = 0;
    li.classList.add("member-menu-opener");
  }

  function markMessage(li) {
    if (!li.classList?.contains("message")) return;
    const id = li.dataset.author;
    li.hidden = ignored.has(id);
    const author = li.querySelector(".author");
    if (!author) return;
    author.classList.add("member-menu-opener");
    author.dataset.member = id;
    li.querySelector(".message-meta .role-badge")?.remove();
    if (LABEL[roleOf(id)]) author.after(" ", badge(roleOf(id)));
  }

  function markAll() {
    Array.from(memberList.children).forEach(markMember);
    messageList.querySelectorAll("li.message").forEach(markMessage);
    document.body.classList.toggle("can-moderate", isModerator());
    settings.hidden = !isModerator();
    reports.hidden = !isModerator();
    bansPanel.hidden = !isModerator();
    showRoom();
  }

  new MutationObserver((changes) => {
    for (const change of changes) change.addedNodes.forEach((node) => node.nodeType === 1 && markMember(node));
  }).observe(memberList, { childList: true });
  new MutationObserver((changes) => {
    for (const change of changes) change.addedNodes.forEach((node) => node.nodeType === 1 && markMessage(node));
  }).observe(messageList, { childList: true });

  // ---- the room's settings and topic ----

  function showRoom() {
    topic.textContent = room.topic;
    topic.hidden = !room.topic;
    const form = settings.querySelector("form");
    if (document.activeElement?.closest("form") !== form) {
      form.elements.topic.value = room.topic;
      form.elements.slowmode.value = String(room.slowmode);
      form.elements.locked.checked = room.locked;
    }
    settings.querySelector(".room-state").textContent =
      [room.slowmode ? `Slow mode: one message per ${room.slowmode} s` : "", room.locked ? "Locked" : ""].filter(Boolean).join(" · ");
  }

  settings.querySelector("form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    const frame = { type: "room" };
    if (form.elements.topic.value.trim() !== room.topic) frame.topic = form.elements.topic.value;
    if (Number(form.elements.slowmode.value) !== room.slowmode) frame.slowmode = Number(form.elements.slowmode.value);
    if (form.elements.locked.checked !== room.locked) frame.locked = form.elements.locked.checked;
    if (Object.keys(frame).length > 1 && send(frame)) announce("Room settings saved");
  });

  // ---- the member menu ----

  function openMenu(id, name, anchor) {
    menuFor = { id, name };
    menu.querySelector(".member-menu-name").textContent = name;
    const show = (action, shown) => (menu.querySelector(`[data-action=${action}]`).hidden = !shown);
    show("ignore", id !== me.id && !ignored.has(id));
    show("unignore", ignored.has(id));
    show("promote", myRole() === "owner" && id !== me.id && roleOf(id) === "member");
    show("demote", myRole() === "owner" && roleOf(id) === "moderator");
    const may = mayActOn(id);
    const isMuted = muted.has(id) && Date.parse(muted.get(id)) > Date.now();
    show("mute", may && !isMuted);
    show("unmute", may && isMuted);
    show("kick", may);
    show("ban", may);
    const box = anchor.getBoundingClientRect();
    menu.hidden = false;
    menu.style.top = `${Math.min(window.innerHeight - menu.offsetHeight - 4, box.bottom + 4)}px`;
    menu.style.left = `${Math.max(4, Math.min(window.innerWidth - menu.offsetWidth - 4, box.left))}px`;
    menu.querySelector("button:not([hidden])")?.focus();
  }

  function closeMenu() {
    menu.hidden = true;
    menuFor = null;
  }

  function opener(event) {
    const li = event.target.closest(".member-list li");
    if (li) return { id: li.dataset.id, name: li.querySelector(".name")?.textContent || "", anchor: li };
    const author = event.target.closest(".author.member-menu-opener");
    if (author) return { id: author.dataset.member, name: author.textContent, anchor: author };
    return null;
  }

  for (const root of [memberList, messageList]) {
    root.addEventListener("click", (event) => {
      const found = opener(event);
      if (found) openMenu(found.id, found.name, found.anchor);
    });
    root.addEventListener("keydown", (event) => {
      if (event.key !== "Enter") return;
      const found = opener(event);
      if (found) openMenu(found.id, found.name, found.anchor);
    });
  }
  document.addEventListener("pointerdown", (event) => {
    if (!menu.hidden && !menu.contains(event.target) && !opener(event)) closeMenu();
  });
  menu.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeMenu();
  });

  const MENU = {
    ignore: ({ id }) => send({ type: "ignore", member: id, on: true }),
    unignore: ({ id }) => send({ type: "ignore", member: id, on: false }),
    promote: ({ id }) => send({ type: "role", member: id, role: "moderator" }),
    demote: ({ id }) => send({ type: "role", member: id, role: "member" }),
    mute: ({ id }) => send({ type: "mute", member: id, seconds: MUTE_SECONDS }),
    unmute: ({ id }) => send({ type: "mute", member: id, seconds: 0 }),
    kick: ({ id, name }) => ask({ title: `Remove ${name} from the room?`, action: "Kick", durations: false },
      (reason) => send({ type: "kick", member: id, reason })),
    ban: ({ id, name }) => ask({ title: `Ban ${name}?`, action: "Ban", durations: true },
      (reason, seconds) => send({ type: "ban", member: id, seconds, reason })),
  };

  menu.addEventListener("click", (event) => {
    const item = event.target.closest("button[data-action]");
    if (!item || !menuFor) return;
    const target = menuFor;
    closeMenu();
    MENU[item.dataset.action](target);
  });

  // ---- the reason dialog (kick, ban, report) ----

  function ask({ title, action, durations }, then) {
    const form = dialog.querySelector("form");
    dialog.querySelector(".moderation-dialog-title").textContent = title;
    dialog.querySelector("[value=confirm]").textContent = action;
    form.elements.reason.value = "";
    const select = form.elements.duration;
    select.replaceChildren(...BAN_CHOICES.map(([value, label]) => Object.assign(make("option", "", label), { value })));
    select.closest(".duration").hidden = !durations;
    dialog.returnValue = "";
    dialog.onclose = () => {
      if (dialog.returnValue !== "confirm") return;
      then(form.elements.reason.value.trim(), select.value === "" ? null : Number(select.value));
    };
    dialog.showModal();
  }

  /** The message menu's "Report…" (rooms/static/chat/actions.js calls it). */
  function reportMessage(frame) {
    ask({ title: `Report this message from ${frame.author.name}?`, action: "Report", durations: false },
      (reason) => send({ type: "report", id: frame.id, reason }));
  }

  // ---- reports and bans, for moderators ----

  function reportItem(frame) {
    const li = make("li", "report");
    li.dataset.report = frame.report;
    const text = make("p", "report-text");
    text.append(make("strong", "", frame.message.author.name), ": ", make("span", "report-excerpt", frame.message.body.slice(0, 140)));
    const why = make("p", "report-why", `Reported by ${frame.reporter.name}${frame.reason ? `: ${frame.reason}` : ""}`);
    const buttons = make("div", "report-buttons");
    const author = frame.message.author.id;
    const button = (label, onClick) => {
      const b = make("button", "", label);
      b.type = "button";
      b.addEventListener("click", onClick);
      buttons.append(b);
    };
    button("Delete message", () => send({ type: "delete", id: frame.message.id }));
    if (mayActOn(author)) {
      button("Mute 10 min", () => send({ type: "mute", member: author, seconds: MUTE_SECONDS }));
      button("Ban…", () => MENU.ban({ id: author, name: frame.message.author.name }));
    }
    button("Dismiss", () => send({ type: "dismiss", report: frame.report }));
    li.append(text, why, buttons);
    return li;
  }

  function showReports() {
    const list = reports.querySelector("ol");
    list.replaceChildren(...Array.from(openReports.values(), reportItem));
    reports.querySelector(".reports-empty").hidden = openReports.size > 0;
    reports.querySelector(".badge").textContent = openReports.size;
  }

  function showBans(bans) {
    const list = bansPanel.querySelector("ol");
    list.replaceChildren(...bans.map((ban) => {
      const li = make("li", "ban");
      const until = ban.until ? `until ${new Date(ban.until).toLocaleString()}` : "for good";
      li.append(make("span", "", `${ban.name} (${until})${ban.reason ? `: ${ban.reason}` : ""} `));
      const unban = make("button", "link-button", "Unban");
      unban.type = "button";
      unban.addEventListener("click", () => send({ type: "unban", ban: ban.id }));
      li.append(unban);
      return li;
    }));
    bansPanel.querySelector(".bans-empty").hidden = bans.length > 0;
  }

  bansPanel.addEventListener("toggle", () => {
    if (bansPanel.open) send({ type: "bans" });
  });

  // ---- why this page stopped ----

  function stopped(frame) {
    notice.hidden = false;
    notice.querySelector(".notice-text").textContent = frame.detail;
    notice.querySelector(".notice-rejoin").hidden = frame.code !== "kicked";
    document.body.classList.add("removed");
  }

  // ---- frames ----

  return {
    mayActOn,
    isModerator,
    ignores: (id) => ignored.has(id),
    reportMessage,
    hello(hello) {
      roles.clear();
      for (const member of [...hello.room.moderators, ...hello.members, hello.you]) setRole(member);
      room = { topic: hello.room.topic, slowmode: hello.room.slowmode, locked: hello.room.locked };
      ignored = new Set(hello.ignored || []);
      markAll();
      if (isModerator()) send({ type: "reports" });
    },
    join(member) {
      setRole(member);
    },
    /** A `room` or `member` change (live, or replayed by hello and sync). */
    change(frame) {
      if (frame.type === "room") {
        room = { topic: frame.topic, slowmode: frame.slowmode, locked: frame.locked };
      } else {
        setRole(frame.member);
        if (frame.member.muted_until) muted.set(frame.member.id, frame.member.muted_until);
        else muted.delete(frame.member.id);
        if (frame.member.id === me.id && frame.member.muted_until) {
          announce(`You are muted until ${new Date(frame.member.muted_until).toLocaleTimeString()}`);
        }
      }
      markAll();
    },
    frames: {
      report: (frame) => {
        openReports.set(frame.report, frame);
        showReports();
        announce(`New report: a message from ${frame.message.author.name}`);
      },
      reports: ({ reports: list }) => {
        openReports.clear();
        for (const frame of list) openReports.set(frame.report, frame);
        showReports();
      },
      bans: ({ bans }) => showBans(bans),
      ignored: (frame) => {
        ignored = new Set(frame.ignored);
        markAll();
      },
      reported: () => announce("Thank you: the room's moderators were told"),
      delete: ({ id }) => {
        for (const [reportId, frame] of openReports) if (frame.message.id === id) openReports.delete(reportId);
        showReports();
      },
    },
    errors: {
      kicked: stopped,
      banned: (frame) => (frame.reason !== undefined ? stopped(frame) : null),
      room_locked: stopped,
    },
  };
}

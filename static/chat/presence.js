/** Who is here: the member list and its counts, and the toggle that shows it on a phone. */
const OPEN_CLASS = "members-open";

/** The mark of a bot (a program with a token, docs/bots.md) beside its name. */
export function botBadge() {
  const badge = document.createElement("span");
  badge.className = "bot-badge";
  badge.textContent = "bot";
  return badge;
}

export function createMemberList({ list, counts, toggle, layout, me }) {
  function item(member) {
    const li = document.createElement("li");
    li.dataset.id = member.id;
    const avatar = document.createElement("img");
    Object.assign(avatar, { className: "avatar", src: member.avatar, alt: "", width: 24, height: 24 });
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = member.name;
    li.append(avatar, name);
    if (member.bot) li.append(" ", botBadge());
    if (member.id === me.id) {
      const you = document.createElement("span");
      you.className = "you";
      you.textContent = "(you)";
      li.append(" ", you);
    }
    return li;
  }

  const find = (id) => Array.from(list.children).find((li) => li.dataset.id === id);

  function showCount() {
    for (const el of counts) el.textContent = list.children.length;
  }

  function replace(members) {
    list.replaceChildren(...members.map(item));
    showCount();
  }

  function join(member) {
    if (!find(member.id)) list.append(item(member));
    showCount();
  }

  function leave(member) {
    find(member.id)?.remove();
    showCount();
  }

  function rename(member) {
    const name = find(member.id)?.querySelector(".name");
    if (name) name.textContent = member.name;
  }

  toggle.addEventListener("click", () => {
    const open = layout.classList.toggle(OPEN_CLASS);
    toggle.setAttribute("aria-expanded", String(open));
  });

  return { replace, join, leave, rename };
}

"""Pages: the home form, a room, the generated avatars."""
import logging
import math

from django import forms
from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from rooms import avatars, bans, identities, lobby, moderation, nametaken, protocol, selectors, services
from rooms.errors import ChatError
from rooms.forms import EnterForm
from rooms.live.guards import guards, request_address

log = logging.getLogger(__name__)


@require_http_methods(["GET", "POST"])
def home(request):
    if request.method == "POST":
        form = EnterForm(request.POST)
        if form.is_valid():
            if form.cleaned_data["action"] == "create":
                refusal = _room_create_refusal(request, form)
                if refusal is not None:
                    return refusal
            if form.cleaned_data["action"] == "join":
                refusal = _join_refusal(request, form)
                if refusal is not None:
                    return refusal
            try:
                return _enter(request, form.cleaned_data)
            except services.RoomCodesExhausted as exc:
                log.error("no free room code left (ROOM_CODE_LENGTH=%d): a room could not be created",
                          settings.ROOM_CODE_LENGTH)
                form.add_error(None, exc.detail)
                return _home_page(request, form, status=503)
    else:
        known = identities.known(request)  # a visitor who has been here before sees their name
        form = EnterForm(initial={"name": known.name if known else ""})
    return _home_page(request, form)


def _home_page(request, form, status=200):
    return render(request, "rooms/home.html", {"form": form, "lobby_enabled": lobby.enabled()}, status=status)


def _room_create_refusal(request, form):
    """The form again with a plain sentence and HTTP 429 past CHAT_ROOM_CREATE_LIMIT, else None."""
    shared = guards()
    address = request_address(request)
    if shared.room_create_allowed(address):
        return None
    wait = shared.room_creates.retry_after(address)
    count, seconds = shared.room_create_rate
    form.add_error(None, f"You have created {count} rooms in the last {_duration(seconds)}, which is as many as "
                         f"one address may. You can create another in {_duration(wait)}; joining a room works now.")
    response = _home_page(request, form, status=429)
    response["Retry-After"] = str(math.ceil(wait))
    return response


def _entry_refusal(request, room):
    """Why this browser may not enter the room (banned, or locked and never in it), or None."""
    return moderation.entry_refusal(room, identities.of_request(request), bans.address_key(request_address(request)))


def _join_refusal(request, form):
    """The form again with the reason and HTTP 403 for a banned browser or a locked room, else None."""
    refusal = _entry_refusal(request, selectors.room_by_code(form.cleaned_data["code"]))
    if refusal is None:
        return None
    form.add_error("code", forms.ValidationError(refusal["detail"], code=refusal["code"]))
    return _home_page(request, form, status=403)


def _refused_page(request, room, refusal):
    return render(request, "rooms/refused.html", {"room": room, "refusal": refusal}, status=403)


def _duration(seconds):
    minutes = math.ceil(seconds / 60)
    return f"{math.ceil(seconds)} seconds" if seconds < 60 else f"{minutes} minute{'s' if minutes != 1 else ''}"


def _enter(request, data):
    name = data["name"]
    target = None
    if data["action"] == "lobby":
        target = lobby.room()
    elif data["action"] == "join":
        target = selectors.room_by_code(data["code"])
    identity = identities.of_request(request)
    try:
        if name:  # a name typed on the form is an act: the identity gets its row (if new) and the name
            if name != identity.name or identity.pk is None:
                services.identity_rename(identity=identity, name=name, room=target)
                identities.remember(request, identity)
            elif target is not None:
                nametaken.name_check(name=name, rooms=[target], public_id=identity.public_id)
        elif target is not None:
            _own_name_free(request, identity, target)
    except ChatError as exc:
        if exc.code != protocol.NAME_TAKEN:
            raise
        form = EnterForm(request.POST)
        form.is_valid()
        form.add_error("name", exc.detail)
        return _home_page(request, form, status=409)  # not 200: no room code was missed
    if data["action"] == "create":
        created = services.room_create()
        identity = identities.of_request(request)
        moderation.room_created(room=created, identity=identity)  # its maker owns it
        identities.remember(request, identity)
        code = created.code
    else:
        code = target.code
    return redirect("room", code=code)


def _own_name_free(request, identity, room):
    """Joining without typing a name keeps the name the browser has, unless it looks like a
    protected name in the room: a random name (never chosen) is drawn again; a chosen one is
    refused with name_taken."""
    if not nametaken.is_taken(name=identity.name, rooms=[room], public_id=identity.public_id):
        return
    if identity.pk is None:
        identity.name = nametaken.random_free_name(rooms=[room], public_id=identity.public_id)
        identities.remember(request, identity)
        return
    nametaken.name_check(name=identity.name, rooms=[room], public_id=identity.public_id)


@require_GET
def room(request, code):
    found, answer = room_at(request, code, "room")
    if answer is not None:
        return answer
    seq = selectors.room_seq(found)
    messages, has_more = selectors.messages_latest(found, upto=seq)
    return _room_page(request, found, seq, messages, has_more)


@require_GET
def permalink(request, code, message_id):
    """The room page opened at one message, its neighbours rendered around it, however far back."""
    found, answer = room_at(request, code, "permalink", message_id=message_id)
    if answer is not None:
        return answer
    seq = selectors.room_seq(found)
    try:
        messages, has_more, has_more_after = selectors.messages_around(found, message_id, settings.CHAT_PAGE_SIZE)
    except ChatError:
        detail = "This message is not in this room, or it was deleted."
        context = {"exception": detail, "room_link": reverse("room", kwargs={"code": found.code}), "room": found}
        response = render(request, "404.html", context, status=404)
        response.room_code_missed = False  # the room exists: no code was guessed (rooms/live/guards.py)
        return response
    return _room_page(request, found, seq, messages, has_more, around=message_id, has_more_after=has_more_after)


def _room_page(request, found, seq, messages, has_more, around=None, has_more_after=False):
    identity = identities.of_request(request)
    refusal = _entry_refusal(request, found)
    if refusal is not None:
        return _refused_page(request, found, refusal)
    if identity.pk is None and nametaken.is_taken(name=identity.name, rooms=[found], public_id=identity.public_id):
        # A random name (an identity without a row never chose one) avoids the room's protected names.
        identity.name = nametaken.random_free_name(rooms=[found], public_id=identity.public_id)
        identities.remember(request, identity)
    frames = [protocol.message(m) for m in messages]
    bootstrap = {
        "code": found.code,
        "seq": seq,
        "has_more": has_more,
        "has_more_after": has_more_after,
        "around": around,
        "last_read": selectors.last_read(found, identity),
        "messages": frames,
        "you": protocol.member(identity),
        "max_length": settings.CHAT_MESSAGE_MAX_LENGTH,
        "name_max_length": settings.CHAT_NAME_MAX_LENGTH,
        "edit_window": settings.CHAT_EDIT_WINDOW_SECONDS,
        "ws_path": f"/ws/rooms/{found.code}/",
        # Moderation (static/chat/moderation.js); the hello brings them again, fresh.
        "topic": found.topic,
        "slowmode": found.slowmode,
        "locked": found.locked,
        "ignored": moderation.ignored_by(identity.pk),
    }
    context = {
        "room": found,
        "is_lobby": lobby.is_lobby_code(found.code),
        "lobby_enabled": lobby.enabled(),
        "lobby_code": lobby.code(),
        "identity": identity,
        "messages": frames,
        "members": selectors.members_present(found),
        "has_more": has_more,
        "bootstrap": bootstrap,
        "room_url": request.build_absolute_uri(reverse("room", kwargs={"code": found.code})),
    }
    return render(request, "rooms/room.html", context)


def room_at(request, code, url_name, **kwargs):
    """(room, None) for a room page's code, or (None, the answer): a 404 page for an unknown code,
    a redirect to the same page (query string kept) under the canonical code (QXRT for qxrt)."""
    found = selectors.room_by_code(code)
    if found is None:
        return None, room_not_found(request, code)
    if code != found.code:
        query = request.GET.urlencode()
        return None, redirect(reverse(url_name, kwargs={"code": found.code, **kwargs}) + (f"?{query}" if query else ""))
    return found, None


def room_not_found(request, code):
    detail = f"There is no room with the code {code.strip().upper()[:16]}."
    return render(request, "404.html", {"exception": detail}, status=404)


@require_GET
def avatar(request, public_id):
    seed = selectors.avatar_seed_of(public_id)
    if seed is None:  # the visitor's own identity, before it has a row or a socket
        known = identities.known(request)
        seed = known.avatar_seed if known is not None and known.public_id == public_id else None
    if seed is None:
        raise Http404("No such avatar.")
    response = HttpResponse(avatars.identicon_svg(seed), content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=86400, immutable"
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response

"""Pages: the home form, a room, the generated avatars."""
from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from rooms import avatars, lobby, protocol, selectors, services
from rooms.errors import ChatError
from rooms.forms import EnterForm


def _identity(request, create=True):
    return services.identity_for_session(session=request.session, create=create)


@require_http_methods(["GET", "POST"])
def home(request):
    identity = _identity(request, create=False)
    if request.method == "POST":
        form = EnterForm(request.POST)
        if form.is_valid():
            return _enter(request, identity, form.cleaned_data)
    else:
        form = EnterForm(initial={"name": identity.name if identity else ""})
    return render(request, "rooms/home.html", {"form": form, "lobby_enabled": lobby.enabled()})


def _enter(request, identity, data):
    name = data["name"]
    if identity is None:
        identity = services.identity_create(name=name)
        request.session[services.SESSION_KEY] = identity.public_id
    elif name and name != identity.name:
        services.identity_rename(identity=identity, name=name)
    if data["action"] == "create":
        code = services.room_create().code
    elif data["action"] == "lobby":
        code = lobby.room().code
    else:
        code = data["code"]
    return redirect("room", code=code)


@require_GET
def room(request, code):
    found = selectors.room_by_code(code)
    if found is None:
        return room_not_found(request, code)
    if code != found.code:
        return redirect("room", code=found.code)
    seq = selectors.room_seq(found)
    messages, has_more = selectors.messages_latest(found, upto=seq)
    return _room_page(request, found, seq, messages, has_more)


@require_GET
def permalink(request, code, message_id):
    """The room page opened at one message, its neighbours rendered around it, however far back."""
    found = selectors.room_by_code(code)
    if found is None:
        return room_not_found(request, code)
    if code != found.code:
        return redirect("permalink", code=found.code, message_id=message_id)
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
    identity = _identity(request)
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


def room_not_found(request, code):
    detail = f"There is no room with the code {code.strip().upper()[:16]}."
    return render(request, "404.html", {"exception": detail}, status=404)


@require_GET
def avatar(request, public_id):
    identity = selectors.identity_by_public_id(public_id)
    if identity is None:
        raise Http404("No such avatar.")
    response = HttpResponse(avatars.identicon_svg(identity.avatar_seed), content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=86400, immutable"
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response

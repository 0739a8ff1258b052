"""The room owner's page of bots (/rooms/<CODE>/bots/): make one (its token shown once), see them,
revoke one. Staff do the same from the admin; operators with `manage.py create_bot`."""
from django.conf import settings
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from rooms import bots, identities, moderation
from rooms.bots.models import Bot
from rooms.errors import ChatError
from rooms.views import room_at


def _may_manage(request, room):
    if request.user.is_authenticated and request.user.is_staff:
        return True
    return moderation.role_of(room, identities.of_request(request)) == moderation.OWNER


@require_http_methods(["GET", "POST"])
def room_bots(request, code):
    room, answer = room_at(request, code, "room_bots")
    if answer is not None:
        return answer
    context = {"room": room, "token": None, "error": None, "made": None,
               "limit": settings.CHAT_BOTS_PER_ROOM, "form": {"name": "", "webhook_url": "", "mentions_only": False}}
    context["bots"] = None
    if not _may_manage(request, room):
        context["error"] = "Only the room's owner can make and revoke its bots."
        return render(request, "rooms/bots.html", context, status=403)
    status = 200
    if request.method == "POST" and request.POST.get("action") == "revoke":
        bot_id = request.POST.get("bot", "")
        bot = get_object_or_404(Bot, pk=int(bot_id) if bot_id.isdigit() else 0, room=room)
        bots.revoke_bot(bot)
        return redirect("room_bots", code=room.code)
    if request.method == "POST":
        form = {"name": request.POST.get("name", "")[:200], "webhook_url": request.POST.get("webhook_url", "").strip()[:500],
                "mentions_only": request.POST.get("mentions_only") == "on"}
        context["form"] = form
        if Bot.objects.filter(room=room, revoked_at__isnull=True).count() >= settings.CHAT_BOTS_PER_ROOM:
            context["error"] = (f"This room has {settings.CHAT_BOTS_PER_ROOM} bots, as many as a room may have: "
                                "revoke one to make another.")
            status = 400
        else:
            try:
                made, token = bots.create_bot(room, form["name"], webhook_url=form["webhook_url"],
                                              mentions_only=form["mentions_only"])
            except ChatError as exc:
                context["error"] = exc.detail
                status = 400
            else:
                context.update(token=token, made=made, form={"name": "", "webhook_url": "", "mentions_only": False})
    context["bots"] = Bot.objects.filter(room=room).select_related("identity").order_by("-created_at")
    return render(request, "rooms/bots.html", context, status=status)

"""Pages that read a room's history over HTTP: search (a page, or JSON) and export (a stream).

Anyone who can open the room can use them, like the room page. Their per-address bounds are in
rooms/httplimits.py; a wrong room code counts as a guess like a room page's (rooms/live/guards.py).
"""
import math

from asgiref.sync import sync_to_async
from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from rooms import export, httplimits, protocol, search, selectors
from rooms.live.guards import request_address
from rooms.views import room_at, room_not_found


def _wants_json(request):
    return "application/json" in request.headers.get("Accept", "")


def _int_param(request, name):
    value = request.GET.get(name)
    if value in (None, ""):
        return None
    if not value.isdigit() or len(value) > 18:
        raise ValueError(f"'{name}' must be a whole number.")
    return int(value)


def _refusal(request, found, status, code, detail, query="", retry_after=None):
    if _wants_json(request):
        response = JsonResponse({"error": {"code": code, "detail": detail}}, status=status)
    else:
        response = render(request, "rooms/search.html",
                          {"room": found, "query": query, "error": detail, "hits": []}, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(math.ceil(retry_after))
    return response


def hit_json(hit, code):
    """One search hit as JSON: the message frame, its excerpts and its permalink."""
    return {
        "message": protocol.message(hit.message),
        "excerpt": hit.excerpt,
        "excerpt_html": str(hit.excerpt_html),
        "permalink": reverse("permalink", kwargs={"code": code, "message_id": hit.message.id}),
    }


@require_GET
def room_search(request, code):
    found, answer = room_at(request, code, "room_search")
    if answer is not None:
        return answer
    query = request.GET.get("q", "").strip()
    try:
        before, limit = _int_param(request, "before"), _int_param(request, "limit")
    except ValueError as exc:
        return _refusal(request, found, 400, protocol.INVALID_FIELD, str(exc), query)
    hits, next_before = [], None
    if query:
        wait = httplimits.search_wait(request_address(request))
        if wait:
            return _refusal(request, found, 429, protocol.RATE_LIMITED,
                            "You have searched a lot just now; try again in a little while.", query, wait)
        try:
            hits, next_before = search.search_room(found, query, before=before, limit=limit)
        except search.SearchQueryError as exc:
            return _refusal(request, found, 400, protocol.INVALID_FIELD, str(exc), query)
    if _wants_json(request):
        return JsonResponse({"query": query, "hits": [hit_json(h, found.code) for h in hits], "next_before": next_before},
                            json_dumps_params={"ensure_ascii": False})
    context = {"room": found, "query": query, "hits": hits, "next_before": next_before, "before": before}
    return render(request, "rooms/search.html", context)


class _ExportResponse(StreamingHttpResponse):
    """Gives its export slot back when Django closes it, even if the stream never started."""

    def __init__(self, *args, slot, **kwargs):
        super().__init__(*args, **kwargs)
        self.slot = slot

    def close(self):
        self.slot.release()
        super().close()


@require_GET
async def room_export(request, code):
    found = await sync_to_async(selectors.room_by_code)(code)
    if found is None:
        return await sync_to_async(room_not_found)(request, code)
    fmt = request.GET.get("format", "jsonl")
    if fmt not in export.FORMATS:
        return JsonResponse({"error": {"code": protocol.INVALID_FIELD, "detail": "'format' must be jsonl or md."}},
                            status=400)
    slot = httplimits.export_slot(request_address(request))
    if slot is None:
        response = JsonResponse({"error": {"code": protocol.RATE_LIMITED,
                                           "detail": "This address is already downloading as many exports as it may."}},
                                status=429)
        response["Retry-After"] = "10"
        return response
    content_type = "application/jsonl; charset=utf-8" if fmt == "jsonl" else "text/markdown; charset=utf-8"
    response = _ExportResponse(export.byte_chunks(found, fmt, on_close=slot.release), slot=slot,
                               content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="room-{found.code}.{fmt}"'
    return response

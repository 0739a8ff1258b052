"""A Flask-SocketIO room chat as beginners write it: rooms and messages in a dict, threading
mode on the Werkzeug server, `send(..., to=room)` for every message.

It follows the shape of the most-followed Flask-SocketIO chat-room tutorials (home form that
creates or joins a four-letter room, the room and name kept in the Flask session). Only the port
and the HTML are trimmed. Run: python flask_socketio_chat.py PORT
"""
import random
import sys
from string import ascii_uppercase

from flask import Flask, redirect, render_template_string, request, session, url_for
from flask_socketio import SocketIO, join_room, leave_room, send

app = Flask(__name__)
app.config["SECRET_KEY"] = "bench-only-flask-secret"
socketio = SocketIO(app, async_mode="threading")

rooms = {}

HOME = """<!doctype html><title>Chat</title>
<form method="post"><input name="name" value="{{ name }}"><input name="code" value="{{ code }}">
<button name="join" value="1">Join</button><button name="create" value="1">Create</button></form>
{% if error %}<p>{{ error }}</p>{% endif %}"""

ROOM = """<!doctype html><title>Chat</title><h2>Chat Room: {{ code }}</h2>
<div id="messages">{% for msg in messages %}<div>{{ msg.name }}: {{ msg.message }}</div>{% endfor %}</div>
<script src="https://cdnjs.cloudflare.com/ajax/libs/socket.io/4.0.1/socket.io.js"></script>"""


def generate_unique_code(length):
    while True:
        code = "".join(random.choice(ascii_uppercase) for _ in range(length))
        if code not in rooms:
            return code


@app.route("/", methods=["POST", "GET"])
def home():
    session.clear()
    if request.method == "POST":
        name = request.form.get("name")
        code = request.form.get("code")
        join = request.form.get("join", False)
        create = request.form.get("create", False)

        if not name:
            return render_template_string(HOME, error="Please enter a name.", code=code, name=name)
        if join != False and not code:  # noqa: E712 (as the tutorials write it)
            return render_template_string(HOME, error="Please enter a room code.", code=code, name=name)

        room = code
        if create != False:  # noqa: E712
            room = generate_unique_code(4)
            rooms[room] = {"members": 0, "messages": []}
        elif code not in rooms:
            return render_template_string(HOME, error="Room does not exist.", code=code, name=name)

        session["room"] = room
        session["name"] = name
        return redirect(url_for("room"))

    return render_template_string(HOME, error=None, code="", name="")


@app.route("/room")
def room():
    room = session.get("room")
    if room is None or session.get("name") is None or room not in rooms:
        return redirect(url_for("home"))
    return render_template_string(ROOM, code=room, messages=rooms[room]["messages"])


@socketio.on("message")
def message(data):
    room = session.get("room")
    if room not in rooms:
        return
    content = {"name": session.get("name"), "message": data["data"]}
    send(content, to=room)
    rooms[room]["messages"].append(content)


@socketio.on("connect")
def connect(auth):
    room = session.get("room")
    name = session.get("name")
    if not room or not name:
        return
    if room not in rooms:
        leave_room(room)
        return
    join_room(room)
    send({"name": name, "message": "has entered the room"}, to=room)
    rooms[room]["members"] += 1


@socketio.on("disconnect")
def disconnect():
    room = session.get("room")
    name = session.get("name")
    leave_room(room)
    if room in rooms:
        rooms[room]["members"] -= 1
        if rooms[room]["members"] <= 0:
            del rooms[room]
    send({"name": name, "message": "has left the room"}, to=room)


if __name__ == "__main__":
    socketio.run(app, host="127.0.0.1", port=int(sys.argv[1]), allow_unsafe_werkzeug=True)

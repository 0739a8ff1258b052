"""The home page form: a name, a room code, and which way in."""
from django import forms

from rooms import lobby, selectors, services
from rooms.codes import normalize_code
from rooms.errors import ChatError


class EnterForm(forms.Form):
    name = forms.CharField(required=False, strip=False, label="Your name")
    code = forms.CharField(required=False, label="Room code", max_length=64)
    action = forms.ChoiceField(choices=[("create", "Create"), ("join", "Join"), ("lobby", "Lobby")])

    def clean_name(self):
        try:
            return services.identity_name_clean(name=self.cleaned_data["name"])
        except ChatError as exc:
            raise forms.ValidationError(exc.detail, code=exc.code) from None

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action == "lobby" and not lobby.enabled():
            raise forms.ValidationError("The lobby is turned off on this site.")
        if action == "join":
            code = normalize_code(data.get("code"))
            if not code:
                self.add_error("code", "Type the code of the room you want to join.")
            elif selectors.room_by_code(code) is None:
                self.add_error("code", f"There is no room with the code {code}.")
            else:
                data["code"] = code
        return data

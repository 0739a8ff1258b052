"""Presence rows carry the member's name key, so an @mention reaches a member who is present but
has no identity row yet (rooms/identities.py)."""
from django.db import migrations, models


def fill_name_keys(apps, schema_editor):
    import unicodedata

    Presence = apps.get_model("rooms", "Presence")
    for row in Presence.objects.only("id", "name").iterator():
        Presence.objects.filter(pk=row.pk).update(name_key=unicodedata.normalize("NFC", row.name).casefold())


class Migration(migrations.Migration):

    dependencies = [
        ("rooms", "0003_message_life"),
    ]

    operations = [
        migrations.AddField(
            model_name="presence",
            name="name_key",
            field=models.CharField(default="", max_length=64),
        ),
        migrations.RunPython(fill_name_keys, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="presence",
            index=models.Index(fields=["room", "name_key"], name="presence_room_name_key"),
        ),
    ]

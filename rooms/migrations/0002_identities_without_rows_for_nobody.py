"""Presence carries the member (public id, name, avatar seed), so an identity without a row can be
present; Identity.acted_at tells identities that did something from those page loads made."""
import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Exists, OuterRef


def copy_members_into_presence(apps, schema_editor):
    Presence = apps.get_model("rooms", "Presence")
    for row in Presence.objects.select_related("identity").iterator():
        row.public_id, row.name, row.avatar_seed = row.identity.public_id, row.identity.name, row.identity.avatar_seed
        row.save(update_fields=["public_id", "name", "avatar_seed"])


def mark_identities_that_acted(apps, schema_editor):
    """Before this, every page load made an identity. One that wrote a message acted; so did one
    whose name is not of the random kind (someone typed it). The others never did anything."""
    from rooms.names import ADJECTIVES, ANIMALS

    Identity = apps.get_model("rooms", "Identity")
    Message = apps.get_model("rooms", "Message")
    random_names = {f"{adjective} {animal}" for adjective in ADJECTIVES for animal in ANIMALS}
    wrote = Message.objects.filter(author=OuterRef("pk"))
    for identity in Identity.objects.annotate(wrote=Exists(wrote)).iterator():
        if identity.wrote or identity.name not in random_names:
            identity.acted_at = identity.created_at
            identity.save(update_fields=["acted_at"])


class Migration(migrations.Migration):

    dependencies = [
        ("rooms", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="identity",
            name="acted_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="presence",
            name="public_id",
            field=models.CharField(default="", max_length=32),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="presence",
            name="name",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="presence",
            name="avatar_seed",
            field=models.CharField(default="", max_length=32),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="presence",
            name="identity",
            field=models.ForeignKey(
                blank=True, null=True, on_delete=django.db.models.deletion.CASCADE,
                related_name="presences", to="rooms.identity",
            ),
        ),
        migrations.RunPython(copy_members_into_presence, migrations.RunPython.noop),
        migrations.RunPython(mark_identities_that_acted, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="presence",
            index=models.Index(fields=["room", "public_id"], name="presence_room_public_id"),
        ),
        migrations.AddIndex(
            model_name="presence",
            index=models.Index(fields=["public_id"], name="presence_public_id"),
        ),
    ]

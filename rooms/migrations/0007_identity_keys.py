"""An identity's key link (rooms/carry.py), stored as the SHA-256 of its secret; one per identity."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('rooms', '0006_bots'),
    ]

    operations = [
        migrations.CreateModel(
            name='IdentityKey',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('secret_hash', models.CharField(max_length=64, unique=True)),
                ('created_at', models.DateTimeField()),
                ('identity', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='key', to='rooms.identity')),
            ],
        ),
    ]

"""The search index of message bodies, one per database vendor (rooms/search.py reads it).

PostgreSQL: a stored generated tsvector column with a GIN index; the 'simple' configuration
(no stemming, no stop words) so a room in any language is found word for word, and ASCII
punctuation is turned into spaces first, so that both databases split text into the same words.
SQLite: an FTS5 table over the bodies (external content: the text is stored once, in the
message table) kept in step by triggers on insert, update of the body, and delete.
"""
from django.db import migrations

# ASCII punctuation, as a regex class: the same set rooms/search.py strips from query terms.
_PUNCTUATION = r"[!-/:-@\[-`{-~]+"

POSTGRES_FORWARD = [
    "ALTER TABLE rooms_message ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
    f"(to_tsvector('simple'::regconfig, regexp_replace(body, '{_PUNCTUATION}', ' ', 'g'))) STORED",
    "CREATE INDEX message_search_vector ON rooms_message USING GIN (search_vector)",
    # The planner estimates a word it has no statistics for from the rarest word it tracks; with
    # the default (100) a rare word looked common enough that it walked the room backwards by
    # seq, filtering a million rows (190 ms), instead of asking the GIN index (0.6 ms).
    "ALTER TABLE rooms_message ALTER COLUMN search_vector SET STATISTICS 1000",
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS message_search_vector",
    "ALTER TABLE rooms_message DROP COLUMN IF EXISTS search_vector",
]

SQLITE_FORWARD = [
    # remove_diacritics 0: 'café' is not 'cafe', as in PostgreSQL's 'simple' configuration.
    "CREATE VIRTUAL TABLE rooms_message_fts USING fts5(body, content='rooms_message', "
    "content_rowid='id', tokenize=\"unicode61 remove_diacritics 0\")",
    "CREATE TRIGGER rooms_message_fts_insert AFTER INSERT ON rooms_message BEGIN "
    "INSERT INTO rooms_message_fts(rowid, body) VALUES (new.id, new.body); END",
    "CREATE TRIGGER rooms_message_fts_delete AFTER DELETE ON rooms_message BEGIN "
    "INSERT INTO rooms_message_fts(rooms_message_fts, rowid, body) VALUES ('delete', old.id, old.body); END",
    "CREATE TRIGGER rooms_message_fts_update AFTER UPDATE OF body ON rooms_message BEGIN "
    "INSERT INTO rooms_message_fts(rooms_message_fts, rowid, body) VALUES ('delete', old.id, old.body); "
    "INSERT INTO rooms_message_fts(rowid, body) VALUES (new.id, new.body); END",
    "INSERT INTO rooms_message_fts(rooms_message_fts) VALUES ('rebuild')",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS rooms_message_fts_insert",
    "DROP TRIGGER IF EXISTS rooms_message_fts_delete",
    "DROP TRIGGER IF EXISTS rooms_message_fts_update",
    "DROP TABLE IF EXISTS rooms_message_fts",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        statements = statements_by_vendor.get(schema_editor.connection.vendor)
        if statements is None:
            raise RuntimeError(f"search has no index for {schema_editor.connection.vendor}")
        for sql in statements:
            schema_editor.execute(sql, params=None)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ("rooms", "0004_presence_name_key"),
    ]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRES_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": POSTGRES_BACKWARD, "sqlite": SQLITE_BACKWARD}),
        ),
    ]

"""Room search (rooms/search.py, GET /rooms/<CODE>/search/): the same corpus gives the same
hits on SQLite and PostgreSQL (this file runs on both: the expected hits are written out here),
hostile queries neither crash nor reach another room, and edits and deletions keep it in step."""
import pytest
from django.db import connection

from rooms import search, services
from rooms.models import Message

pytestmark = pytest.mark.django_db

CORPUS = [
    "The quick brown fox jumps over the lazy dog",        # 1
    "A quick question: who ate the cake?",                # 2
    "brown bread and brown butter",                       # 3
    "Le café est très bon, l'école aussi",                # 4
    "The CAFE downstairs is closed",                      # 5
    "東京タワー に 行きました",                              # 6
    "party tonight 🎉🎉 bring snacks",                     # 7
    "NEAR(quick fox) AND \"MATCH\" * (the end)",          # 8
    "Fox news: the dog is not lazy",                      # 9
    "O'Brien's e-mail is obrien@example.com",             # 10
    "Ελληνικά και Русский текст",                         # 11
    "fox-trot lessons on Tuesday",                        # 12
]

# query -> seqs of the hits, newest first
EXPECTED = {
    "fox": [12, 9, 8, 1],
    "FOX": [12, 9, 8, 1],
    "quick": [8, 2, 1],
    '"quick brown"': [1],
    '"brown quick"': [],
    "brown -bread": [1],
    "fox -lazy": [12, 8],
    "cake or bread": [3, 2],
    "lazy dog": [9, 1],
    '"lazy dog"': [1],
    "café": [4],
    "cafe": [5],
    "CAFÉ": [4],
    "école": [4],
    "東京タワー": [6],
    "русский": [11],
    "ΕΛΛΗΝΙΚΆ": [11],
    "o'brien": [10],
    "example.com": [10],
    "fox-trot": [12],
    '"fox trot"': [12],
    "🎉": [],
    "party 🎉": [7],
    "-fox": [],
    "-": [],
    "": [],
    "or": [],
}

# Syntax of FTS5 and tsquery typed as text: never an error, never a hit from another room.
INJECTIONS = [
    "'", '"', '""', "'''", "*", "fox*", "NEAR", "NEAR(quick fox)", "NEAR(quick fox, 2)", "MATCH", "quick MATCH fox",
    "AND", "OR", "NOT", "fox AND", "AND fox", "(", ")", "(fox", "fox)", "((fox OR secret))", "body:fox", "{body}: fox",
    "^fox", "fox:*", "fox & secret", "fox | secret", "!fox", "fox <-> dog", "\\", "%", "_", "'; DROP TABLE rooms_message; --",
    '" OR 1=1 --', "secret\" OR \"fox", '-"', '"-', "- -", "or or or", "fox or", "🎉*", "\x00fox", "\u200bfox",
]


@pytest.fixture
def corpus(room):
    author = services.identity_create(name="Ann")
    requests = [services.MessageRequest(room, author, body) for body in CORPUS]
    services.messages_store(requests=requests)
    other = services.room_create()
    services.messages_store(requests=[services.MessageRequest(other, author, "secret fox quick brown café 東京タワー")])
    return room


def _seqs(room, query, **kwargs):
    hits, _ = search.search_room(room, query, **kwargs)
    return [hit.message.seq for hit in hits]


@pytest.mark.parametrize("query", list(EXPECTED))
def test_the_corpus_gives_the_written_hits(corpus, query):
    assert _seqs(corpus, query) == EXPECTED[query]


@pytest.mark.parametrize("query", INJECTIONS)
def test_query_syntax_is_only_text_and_never_reaches_another_room(corpus, query):
    hits, _ = search.search_room(corpus, query)
    assert all(hit.message.room_id == corpus.id for hit in hits)
    assert all("secret" not in hit.message.body for hit in hits)


def test_words_that_look_like_operators_are_found_as_words(corpus):
    assert _seqs(corpus, "NEAR") == [8]
    assert _seqs(corpus, "MATCH") == [8]
    assert _seqs(corpus, '"quick fox"') == [8]


def test_an_edited_message_is_found_by_its_new_text_only(room, alice):
    results, _ = services.messages_store(requests=[services.MessageRequest(room, alice, "meet at noon")])
    services.message_edit(room=room, identity=alice, message_id=results[0][0]["id"], body="meet at midnight")
    assert _seqs(room, "noon") == []
    assert _seqs(room, "midnight") == [1]


def test_a_deleted_message_is_never_found(room, alice):
    results, _ = services.messages_store(requests=[services.MessageRequest(room, alice, "delete this secret")])
    services.message_delete(message=Message.objects.get(id=results[0][0]["id"]))
    assert _seqs(room, "secret") == []
    assert _seqs(room, '"delete this"') == []


def test_pages_continue_newest_first_without_repeats(room, alice):
    services.messages_store(requests=[services.MessageRequest(room, alice, f"ping {n}") for n in range(1, 8)])
    first, next_before = search.search_room(room, "ping", limit=3)
    assert [h.message.seq for h in first] == [7, 6, 5] and next_before == 5
    second, next_before = search.search_room(room, "ping", before=next_before, limit=3)
    assert [h.message.seq for h in second] == [4, 3, 2] and next_before == 2
    last, next_before = search.search_room(room, "ping", before=next_before, limit=3)
    assert [h.message.seq for h in last] == [1] and next_before is None


def test_the_page_size_is_capped(room, alice, settings):
    settings.CHAT_SEARCH_PAGE_MAX = 2
    services.messages_store(requests=[services.MessageRequest(room, alice, "same") for _ in range(4)])
    assert len(search.search_room(room, "same", limit=100)[0]) == 2


def test_a_long_query_is_refused(room, settings):
    settings.CHAT_SEARCH_QUERY_MAX_LENGTH = 20
    with pytest.raises(search.SearchQueryError):
        search.search_room(room, "x" * 21)


def test_too_many_terms_are_refused(room):
    with pytest.raises(search.SearchQueryError):
        search.search_room(room, " ".join(f"w{n}" for n in range(search.TERMS_MAX + 1)))


def test_the_excerpt_marks_matched_words_and_escapes_the_rest(room, alice):
    body = '<img src=x onerror="alert(1)"> Fox & friends say fox'
    services.messages_store(requests=[services.MessageRequest(room, alice, body)])
    hit = search.search_room(room, "fox")[0][0]
    assert hit.excerpt == body
    assert "<img" not in hit.excerpt_html and "&lt;img" in hit.excerpt_html
    assert hit.excerpt_html.count("<mark>") == 2 and "<mark>Fox</mark> &amp; friends" in hit.excerpt_html


def test_a_long_body_is_cut_around_the_first_match(room, alice):
    body = "filler " * 100 + "needle " + "filler " * 100
    services.messages_store(requests=[services.MessageRequest(room, alice, body)])
    hit = search.search_room(room, "needle")[0][0]
    assert "needle" in hit.excerpt and hit.excerpt.startswith("…") and hit.excerpt.endswith("…")
    assert len(hit.excerpt) <= search.EXCERPT_CHARS + 2


def test_the_index_stays_in_step_when_messages_are_removed_from_the_table(room, alice):
    services.messages_store(requests=[services.MessageRequest(room, alice, "gone soon")])
    Message.objects.filter(room=room).delete()
    services.messages_store(requests=[services.MessageRequest(room, alice, "other words")])
    assert _seqs(room, "gone") == []


def test_the_migrations_leave_the_search_index_in_place():
    """A later migration that makes SQLite rebuild the message table would drop the triggers."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'rooms_message'")
            assert {row[0] for row in cursor.fetchall()} == {
                "rooms_message_fts_insert", "rooms_message_fts_update", "rooms_message_fts_delete"}
        else:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'message_search_vector'")
            assert "gin" in cursor.fetchone()[0].lower()


def test_the_search_page_lists_hits_linking_to_their_permalinks(client, corpus):
    response = client.get(f"/rooms/{corpus.code}/search/", {"q": "lazy dog"})
    page = response.content.decode()
    first = Message.objects.get(room=corpus, seq=1)
    assert response.status_code == 200
    assert f'href="/rooms/{corpus.code}/m/{first.id}/"' in page
    assert "<mark>lazy</mark> <mark>dog</mark>" in page
    assert page.index("Fox news") < page.index("quick brown fox")  # newest first


def test_the_search_page_escapes_bodies(client, room, alice):
    services.messages_store(requests=[services.MessageRequest(room, alice, "<script>alert(1)</script> hunt")])
    page = client.get(f"/rooms/{room.code}/search/", {"q": "hunt"}).content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page


def test_search_answers_json_when_asked(client, corpus):
    response = client.get(f"/rooms/{corpus.code}/search/", {"q": "fox", "limit": "2"}, headers={"Accept": "application/json"})
    data = response.json()
    assert [hit["message"]["seq"] for hit in data["hits"]] == [12, 9]
    assert data["next_before"] == 9
    hit = data["hits"][0]
    assert hit["message"]["author"]["name"] == "Ann" and hit["message"]["sent_at"]
    assert hit["excerpt"] == CORPUS[11] and "<mark>fox</mark>" in hit["excerpt_html"]
    assert hit["permalink"] == f"/rooms/{corpus.code}/m/{hit['message']['id']}/"
    more = client.get(f"/rooms/{corpus.code}/search/", {"q": "fox", "before": "9"}, headers={"Accept": "application/json"})
    assert [hit["message"]["seq"] for hit in more.json()["hits"]] == [8, 1]


def test_a_bad_page_parameter_is_a_400_with_a_reason(client, room):
    response = client.get(f"/rooms/{room.code}/search/", {"q": "x", "before": "soon"}, headers={"Accept": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_field"


def test_searches_past_the_rate_limit_get_429_with_retry_after(client, room, settings):
    settings.CHAT_SEARCH_RATE_LIMIT = "2/60"
    for _ in range(2):
        assert client.get(f"/rooms/{room.code}/search/", {"q": "x"}).status_code == 200
    refused = client.get(f"/rooms/{room.code}/search/", {"q": "x"}, headers={"Accept": "application/json"})
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert refused.json()["error"]["code"] == "rate_limited"


def test_searching_a_room_that_does_not_exist_is_a_404(client, db):
    assert client.get("/rooms/ZZZZ/search/", {"q": "x"}).status_code == 404


def test_the_room_page_has_a_search_box_and_an_export_link(client, room):
    page = client.get(f"/rooms/{room.code}/").content.decode()
    assert f'action="/rooms/{room.code}/search/"' in page
    assert f'href="/rooms/{room.code}/export/?format=jsonl"' in page

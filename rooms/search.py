"""Full-text search in a room's messages: one query syntax, two indexes (migration 0005_search).

The query is web-search syntax: words, `"exact phrase"`, `-word` (not), and `or` between
alternatives. It is parsed here, once, into groups of terms (a group matches when all its plain
terms do and none of its excluded ones; a message matches when a group does), and that structure
is written out for each database: for PostgreSQL as a normalized string handed to
`websearch_to_tsquery('simple', …)`, for SQLite as an FTS5 expression in which every term is a
double-quoted string. User text therefore never reaches either parser as syntax: FTS5's `*`,
`NEAR`, `AND`, `:` and parentheses inside quotes are only characters to split into words.

Both indexes split text into the same words: runs of Unicode letters and digits, ASCII
punctuation turned into spaces, case folded, accents kept ('café' is not 'cafe'), no stemming
(a room may be in any language). A term that has no word at all (an emoji, a lone `*`) is
dropped on both, and a group of only excluded terms finds nothing (SQLite's NOT needs something
to subtract from). Hits are the visible messages, newest first.
"""
import re
import string
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.utils.html import escape
from django.utils.safestring import mark_safe

from rooms.models import Message

TERMS_MAX = 16  # terms in one query: each one is a posting-list lookup
EXCERPT_CHARS = 160  # characters of a hit's body around its first matched word

_PUNCTUATION = re.compile("[" + re.escape(string.punctuation) + "]+")
_QUERY_PARTS = re.compile(r'(-?)"([^"]*)"?|(\S+)')


@dataclass(frozen=True)
class Term:
    words: tuple  # the words of the term, case folded: more than one is a phrase
    excluded: bool


@dataclass
class Hit:
    message: Message
    excerpt: str  # plain text
    excerpt_html: str  # the excerpt escaped, with the matched words in <mark>


class SearchQueryError(ValueError):
    """The query cannot be searched (too long, too many terms); the text says why."""


def _is_word_char(char):
    category = unicodedata.category(char)
    return category[0] in "LN" or category == "Co"


def words_of(text):
    """The words the indexes see in a text, case folded, in order."""
    words, current = [], []
    for char in _PUNCTUATION.sub(" ", text):
        if _is_word_char(char):
            current.append(char)
        elif current:
            words.append("".join(current).casefold())
            current = []
    if current:
        words.append("".join(current).casefold())
    return words


def parse(query):
    """Web-search syntax -> groups (lists of Terms) joined by `or`. Raises SearchQueryError."""
    query = query or ""
    if len(query) > settings.CHAT_SEARCH_QUERY_MAX_LENGTH:
        raise SearchQueryError(f"A search can be at most {settings.CHAT_SEARCH_QUERY_MAX_LENGTH} characters.")
    groups, group, count = [], [], 0
    for match in _QUERY_PARTS.finditer(query):
        quoted_minus, quoted, bare = match.groups()
        if bare is not None and bare.casefold() == "or":
            if group:
                groups.append(group)
            group = []
            continue
        if quoted is not None:
            excluded, text = bool(quoted_minus), quoted
        else:
            excluded = bare.startswith("-")
            text = bare[1:] if excluded else bare
        words = words_of(text)
        if not words:
            continue
        count += 1
        if count > TERMS_MAX:
            raise SearchQueryError(f"A search can have at most {TERMS_MAX} words or phrases.")
        group.append(Term(tuple(words), excluded))
    if group:
        groups.append(group)
    # A group that only excludes would match nearly everything; it finds nothing instead.
    return [g for g in groups if any(not t.excluded for t in g)]


def positive_words(groups):
    return {word for group in groups for term in group if not term.excluded for word in term.words}


def _fts5_string(term):
    return '"' + " ".join(term.words).replace('"', '""') + '"'


def fts5_expression(groups):
    """The groups as an FTS5 MATCH expression: every term a quoted string, operators ours."""
    alternatives = []
    for group in groups:
        wanted = " AND ".join(_fts5_string(t) for t in group if not t.excluded)
        unwanted = " OR ".join(_fts5_string(t) for t in group if t.excluded)
        alternatives.append(f"({wanted}) NOT ({unwanted})" if unwanted else f"({wanted})")
    return " OR ".join(alternatives)


def websearch_text(groups):
    """The groups as websearch_to_tsquery input: quoted words only, so nothing else is syntax."""
    def quoted(term):
        return ("-" if term.excluded else "") + '"' + " ".join(term.words) + '"'

    return " or ".join(" ".join(quoted(t) for t in group) for group in groups)


def _matching_ids(room, groups, before, limit):
    """Ids of the newest `limit` visible messages of the room that match, with seq < `before`."""
    seq_bound = "AND m.seq < %s" if before is not None else ""
    if connection.vendor == "postgresql":
        sql = (
            "SELECT m.id FROM rooms_message m "
            "WHERE m.search_vector @@ websearch_to_tsquery('simple'::regconfig, %s) "
            f"AND m.room_id = %s AND m.deleted_seq IS NULL {seq_bound} ORDER BY m.seq DESC LIMIT %s"
        )
        params = [websearch_text(groups), room.id]
    elif connection.vendor == "sqlite":
        # The FTS5 table is the outer loop (CROSS JOIN fixes the order) and walks its matches
        # newest first (FTS5 reads rowids backwards itself), so a page stops after `limit`
        # hits of this room. Left to itself, SQLite walks the room by seq and runs the MATCH
        # once per message: seconds at 100,000. Rowid order is seq order within a room here:
        # SQLite has one writer at a time, and every writer (rooms/store.py, the import) adds
        # a room's messages in seq order.
        sql = (
            "SELECT m.id FROM rooms_message_fts f CROSS JOIN rooms_message m ON m.id = f.rowid "
            "WHERE rooms_message_fts MATCH %s "
            f"AND m.room_id = %s AND m.deleted_seq IS NULL {seq_bound} ORDER BY f.rowid DESC LIMIT %s"
        )
        params = [fts5_expression(groups), room.id]
    else:
        raise NotImplementedError(f"no search index on {connection.vendor}")
    if before is not None:
        params.append(before)
    params.append(limit)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def search_room(room, query, before=None, limit=None):
    """The visible messages of `room` that match `query`, newest first: (hits, next_before).

    `before` (a seq) continues from the previous page's `next_before`; `limit` is capped at
    CHAT_SEARCH_PAGE_MAX. `next_before` is None on the last page. Raises SearchQueryError."""
    limit = max(1, min(limit or settings.CHAT_SEARCH_PAGE_SIZE, settings.CHAT_SEARCH_PAGE_MAX))
    groups = parse(query)
    if not groups:
        return [], None
    ids = _matching_ids(room, groups, before, limit + 1)
    more = len(ids) > limit
    ids = ids[:limit]
    rows = Message.objects.filter(id__in=ids).with_author().in_bulk()
    marked = positive_words(groups)
    hits = [Hit(rows[i], *excerpt(rows[i].body, marked)) for i in ids if i in rows]
    return hits, (hits[-1].message.seq if more and hits else None)


def _word_spans(text):
    """(start, end) of each word of `text`, as words_of splits it."""
    spans, start = [], None
    for i, char in enumerate(text):
        word_char = char not in string.punctuation and _is_word_char(char)
        if word_char and start is None:
            start = i
        elif not word_char and start is not None:
            spans.append((start, i))
            start = None
    if start is not None:
        spans.append((start, len(text)))
    return spans


def excerpt(body, words):
    """(plain excerpt, html excerpt) of `body` around its first word in `words`; the HTML is
    built by escaping every piece of text and adding only our own <mark> tags."""
    spans = [(s, e) for s, e in _word_spans(body) if body[s:e].casefold() in words]
    first = spans[0][0] if spans else 0
    start = max(0, first - EXCERPT_CHARS // 3)
    end = min(len(body), start + EXCERPT_CHARS)
    prefix, suffix = ("…" if start > 0 else ""), ("…" if end < len(body) else "")
    pieces, at = [], start
    for s, e in spans:
        if s < start or e > end:
            continue
        pieces.append(escape(body[at:s]))
        pieces.append("<mark>" + escape(body[s:e]) + "</mark>")
        at = e
    pieces.append(escape(body[at:end]))
    return prefix + body[start:end] + suffix, mark_safe(escape(prefix) + "".join(pieces) + escape(suffix))

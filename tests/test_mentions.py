"""Finding @mentions in a body, without a database: which names to look up and which win."""
from rooms import mentions, reactions
from rooms.names import name_key


def _resolve(body, names):
    return mentions.resolve(body, {name_key(name): [name] for name in names})


def test_a_body_without_an_at_sign_looks_nothing_up():
    assert mentions.candidate_keys("no mentions here") == set()


def test_the_names_looked_up_end_where_words_end():
    assert mentions.candidate_keys("hi @Quiet Otter!") >= {"quiet", "quiet otter", "quiet otter!"}
    assert "quiet ott" not in mentions.candidate_keys("hi @Quiet Otter!")


def test_the_longest_name_that_names_someone_wins():
    assert _resolve("@Quiet Otter hi", ["Quiet", "Quiet Otter"]) == ["Quiet Otter"]


def test_a_shorter_name_is_found_when_the_longer_names_nobody():
    assert _resolve("@Quiet Otter hi", ["Quiet"]) == ["Quiet"]


def test_case_does_not_matter_in_any_script():
    assert _resolve("@ZOË and @STRASSE", ["zoë", "Straße"]) == ["zoë", "Straße"]


def test_each_person_is_listed_once_in_order_of_first_mention():
    assert _resolve("@Bo @Al @Bo", ["Al", "Bo"]) == ["Bo", "Al"]


def test_an_at_sign_inside_a_word_is_no_mention():
    assert _resolve("ann@Bo.org", ["Bo"]) == []


def test_punctuation_after_a_name_ends_it():
    assert _resolve("(@Bo), @Bo's, @Bo:", ["Bo"]) == ["Bo"]


def test_only_the_first_twenty_at_signs_are_looked_at():
    body = " ".join(["@x"] * 20 + ["@Bo"])
    assert _resolve(body, ["Bo"]) == []


def test_a_reaction_toggle_adds_then_takes_back():
    once = reactions.toggle([], "👍", "a")
    assert once == [{"emoji": "👍", "count": 1, "members": ["a"]}]
    assert reactions.toggle(once, "👍", "a") == []


def test_a_toggle_keeps_the_order_of_emoji_and_of_members():
    state = []
    for emoji, member in [("👍", "a"), ("🎉", "b"), ("👍", "c")]:
        state = reactions.toggle(state, emoji, member)
    assert state == [{"emoji": "👍", "count": 2, "members": ["a", "c"]}, {"emoji": "🎉", "count": 1, "members": ["b"]}]

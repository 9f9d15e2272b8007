"""STS 2017 tracks: reading, the sides' languages, track 6's scored lines, and bad files."""

import pytest

from geomexp.errors import ConfigError, DataNotFoundError
from geomexp.tasks.sts.data import TRACK_ALIASES, TRACKS, load_sts_track, parse_track, track_id


@pytest.mark.parametrize("track", list(TRACKS))
def test_every_track_has_250_scored_pairs(data_root, track):
    t = load_sts_track(track, root=data_root)
    assert len(t.sentences_a) == len(t.sentences_b) == len(t.gold) == 250
    assert t.gold.min() >= 0 and t.gold.max() <= 5
    assert t.cross_lingual == (t.lang_a != t.lang_b)


def test_track6_keeps_the_first_250_of_500_lines(data_root):
    t = load_sts_track("6", root=data_root)
    lines = (
        (data_root / "multilingual sts/STS2017.eval.v1.1/STS.input.track6.tr-en.txt")
        .read_text(encoding="utf-8")
        .splitlines()
    )
    assert len(lines) == 500
    assert t.sentences_a[-1] == lines[249].split("\t")[0].strip()
    assert (t.lang_a, t.lang_b) == ("en", "tr")


def test_sides_of_cross_lingual_tracks(data_root):
    assert load_sts_track("2", root=data_root).sentences_a[0] == "two men are crying"
    assert load_sts_track("4a", root=data_root).sentences_a[1] == "Dos niños están bailando"


def test_unknown_track_lists_the_tracks():
    with pytest.raises(ConfigError, match=r"STS track '7' is not known.*'4a'"):
        load_sts_track("7")


def test_mismatched_lengths_empty_sentences_and_bad_scores():
    with pytest.raises(DataNotFoundError, match="3 input lines but 2 gold scores"):
        parse_track("x", "a\tb\nc\td\ne\tf\n", "1\n2\n", n_scored=250)
    with pytest.raises(DataNotFoundError, match="line 2: empty sentence"):
        parse_track("x", "a\tb\n \td\n", "1\n2\n")
    with pytest.raises(DataNotFoundError, match="line 1: expected"):
        parse_track("x", "no tab here\n", "1\n")
    with pytest.raises(DataNotFoundError, match=r"\[0, 5\]"):
        parse_track("x", "a\tb\n", "7\n")


def test_missing_file_in_root_names_it(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"STS.input.track5.en-en.txt not found"):
        load_sts_track("5", root=tmp_path)


@pytest.mark.parametrize("alias, number", sorted(TRACK_ALIASES.items()))
def test_track_pairs_resolve_to_the_same_files_as_the_numbers(data_root, alias, number):
    by_alias, by_number = load_sts_track(alias, root=data_root), load_sts_track(number, root=data_root)
    assert by_alias.track == by_number.track == number
    assert by_alias.sentences_a == by_number.sentences_a and (by_alias.gold == by_number.gold).all()
    assert {by_alias.lang_a, by_alias.lang_b} == set(alias.split("-")[:2])


def test_unknown_track_lists_numbers_and_pairs():
    with pytest.raises(
        ConfigError,
        match=r"'fr-en' is not known; choose one of \['1', .*'6'\], a pair \(\['ar-ar'.*'tr-en'\]\) "
        r"or a language with a monolingual track \(\['ar', 'en', 'es'\]\)",
    ):
        track_id("fr-en")
